"""retrieval.answer_types: the kind of answer a question asks for, the kinds a span can be, and
whether they agree."""

import time

import pytest

from qabot.retrieval.answer_types import KINDS, agreement, mentions, question_kind, span_kinds

QUESTIONS = {
    "person": [
        "Who is the principal scientist of the Tethys mission?",
        "who got the equaliser for Harbourside?",
        "Who runs Lumora?",
        "Who led the study?",
        "Whom did the committee appoint?",
        "Whose shot hit the post?",
        "Which player scored the winning goal?",
        "Which minister announced the cuts?",
        "Which officer led the raid?",
        "Which Kremlin aide described what the document would cover?",
        "What was the name of the farmer who died in the floods?",
        "Which emperor was the newest coin minted under?",
        "Besides Rollo, who else led the Normans?",
        "The treaty was signed by whom?",
        "Who makes the kettles?",  # person accepts organisations: see agreement
    ],
    "organisation": [
        "Which company builds the Aurora-2 rocket?",
        "Which business group said high borrowing costs were holding back investment?",
        "Which rail company said trains would be out for two weeks?",
        "Which news agency quoted Putin?",
        "which bank raised its rates?",
        "Which club did he join in 2019?",
        "What team won the league?",
        "Which manufacturer supplied the new trams?",
        "Who is the parent company of Lumora?",
        "Which council approved the plan?",
    ],
    "place": [
        "Where did Tethys launch from?",
        "where is lumora based?",
        "In which city did the governor speak to reporters?",
        "Near which village was the tractor swept off the road?",
        "Which country did the Normans come from?",
        "Which stadium hosted the final?",
        "On which street were the sewers found?",
        "What region of France did the Normans settle?",
        "Which town was flooded first?",
    ],
    "date": [
        "When did Putin last visit Pyongyang?",
        "In what year did Aldermoor's old tramway close?",
        "Until when does the exhibition run?",
        "What time did her tram leave Castle Square?",
        "Which month is the vote in?",
        "On which day will the shops reopen?",
        "what date was the treaty signed?",
        "In what century did the Normans arrive?",
        "when will its services resume?",
        "Since when has he been in charge?",
    ],
    "duration": [
        "How long did the construction take?",
        "How long will the strike last?",
        "For how long was the line closed?",
        "How many years did the construction take?",
        "How many days passed between the two visits?",
        "How long is each session?",
        "How long is the trial?",
        "How long will it orbit the asteroid?",
        "How long has she been the manager?",
        "how much time did the crew spend in orbit?",
        "How many weeks will the trains be out?",
    ],
    "length": [
        "How long is the Riverside Line?",
        "How long is the route?",
        "how long is the new bridge?",
        "How far does the spacecraft travel?",
        "How far is Veranna from the Sun?",
        "How tall is the tower?",
        "How high did the River Tarrow peak?",
        "How wide is Veranna?",
        "How deep is the lake?",
        "What distance did the probe cover?",
        "What is the length of the tunnel?",
        "What is the area of the park?",
        "How many kilometres of track were laid?",
    ],
    "count": [
        "How many smart kettles is Lumora recalling?",
        "How many people did firefighters rescue by boat?",
        "how many instruments are on board tethys?",
        "How many members sit on the committee?",
        "In how many of them did the base melt?",
        "About how many people attended?",
        "What is the population of Aldermoor?",
        "How many times did he score?",
        "What number of houses were flooded?",
    ],
    "money": [
        "How much did the Tethys mission cost?",
        "How much did it cost to build the Riverside Line?",
        "how much is an adult single on the new tram?",
        "How much prize money did Harbourside win?",
        "How much money did the appeal raise?",
        "How much did the museum pay for the hoard?",
        "What is the price of a ticket?",
        "What fine did the company pay?",
        "What was her salary?",
        "How much is the hoard worth?",
        "How much will it cost?",
        "What fee does the club charge?",
        "How many pounds did the museum pay?",
    ],
    "percentage": [
        "What percentage of the vote did she win?",
        "What proportion of the kettles were sold in Europe?",
        "What share of the market does Lumora hold?",
        "What inflation rate is the Bank aiming for?",
        "At what rate did wages grow?",
        "By what percentage did its shares fall?",
    ],
    "reason": [
        "Why was the tram delayed?",
        "Why?",
        "What caused the kettle fault?",
        "For what reason did the bank hold its rate?",
        "What led to the delay?",
        "What was the reason for the recall?",
    ],
    "age": ["How old is she?", "How old was the goalkeeper when he retired?", "At what age did he retire?"],
    "frequency": ["How often do the trams run at peak times?"],
    "weight": ["How heavy was the spacecraft when it launched?"],
    None: [
        "What kind of treaty did Putin and Kim sign?",
        "What did she cut before the first departure?",
        "What model number do the recalled kettles have?",
        "What rocket carried the probe into space?",
        "What is the asteroid made of?",
        "How did the committee vote?",
        "How much rain did the weather station record?",
        "By how much did its shares fall?",  # could be a percentage or an amount: left open
        "What was the final score?",
        "Which competition will Harbourside play in?",
        "And Kingsbury?",
        "",
        "???",
        "Tell me about the floods.",
        "How fast have wages grown?",
        "What is Norland's currency called?",
    ],
}


@pytest.mark.parametrize(
    "question, kind", [(q, kind) for kind, questions in QUESTIONS.items() for q in questions]
)
def test_question_kind(question, kind):
    assert question_kind(question) == kind


def test_every_question_kind_is_a_listed_kind():
    assert {k for k in QUESTIONS if k} <= KINDS


SPANS = [
    # money
    ("1.1 billion euros", {"money"}),
    ("£642m", {"money"}),
    ("642 million pounds", {"money"}),
    ("a 9-million-pound flood wall", {"money"}),
    ("$3.5bn", {"money"}),
    ("€89", {"money"}),
    ("20p", {"money"}),
    ("86,000 pounds", {"money"}),
    ("2.10 pounds", {"money"}),
    # percentage
    ("4.25%", {"percentage"}),
    ("3.1 per cent", {"percentage"}),
    ("20 percent", {"percentage"}),
    ("two-thirds", {"percentage"}),
    ("half", {"percentage"}),
    # length
    ("38 kilometres", {"length"}),
    ("5.9 metres", {"length"}),
    ("146 millimetres", {"length"}),
    ("12 km", {"length"}),
    ("300 feet", {"length"}),
    ("40 ft", {"length"}),
    ("2.4 miles", {"length"}),
    ("55 cm", {"length"}),
    ("120 m", {"length"}),
    ("1,200 square kilometres", {"length"}),
    ("3.2 billion kilometres", {"length"}),
    # speed and weight are not lengths
    ("120 km/h", {"speed"}),
    ("70 mph", {"speed"}),
    ("2,140 kilograms", {"weight"}),
    ("40 tonnes", {"weight"}),
    # duration
    ("three years", {"duration"}),
    ("20 months", {"duration"}),
    ("a decade", {"duration"}),
    ("two weeks", {"duration"}),
    ("90 minutes", {"duration"}),
    ("45 seconds", {"duration"}),
    ("six hours", {"duration"}),
    ("270 days", {"duration"}),
    # frequency
    ("every six minutes", {"frequency"}),
    ("twice a week", {"frequency"}),
    ("once a month", {"frequency"}),
    ("three times a year", {"frequency"}),
    ("weekly", {"frequency"}),
    # age
    ("aged 41", {"age"}),
    ("41 years old", {"age"}),
    ("a 41-year-old", {"age"}),
    # counts
    ("184,000", {"count"}),
    ("212 people", {"count"}),
    ("nine", {"count"}),
    ("five instruments", {"count"}),
    ("47", {"count"}),
    ("thousands", {"count"}),
    ("2-1", {"count"}),
    # dates and times
    ("July 2000", {"date"}),
    ("December 12", {"date"}),
    ("spring 2025", {"date"}),
    ("1981", {"date"}),
    ("1500 people", {"count"}),
    ("the 1990s", {"date"}),
    ("2024-03-02", {"date"}),
    ("5.42am", {"date"}),
    ("14:00", {"date"}),
    ("Tuesday", {"date"}),
    ("last year", {"date"}),
    ("late 2023", {"date"}),
    ("235 AD", {"date"}),
    ("the 11th century", {"date"}),
    ("two weeks ago", {"date", "duration"}),
    ("in two weeks", {"date", "duration"}),
    ("during the war", {"date"}),
    # names
    ("Dr Marcus Elwood", {"person"}),
    ("Mr Wilk", {"person"}),
    ("King Charles III", {"person"}),
    ("Duke of Normandy", {"person"}),
    ("Lumora Ltd", {"organisation"}),
    ("Bank of Norland", {"organisation"}),
    ("Norland Chamber of Industry & Commerce", {"organisation"}),
    ("Harbourside United", {"organisation"}),
    ("the Nordic Space Consortium", {"organisation"}),
    ("Aldermoor City Council", {"organisation"}),
    ("Dock Street", {"place"}),
    ("Westmead Stadium", {"place"}),
    ("the Tarrow Valley", {"place"}),
    ("River Tarrow", {"place"}),
    ("Pyongyang International Airport", {"place"}),
    ("Gulf of Mexico", {"place"}),
    ("Calder Museum of History", {"organisation", "place"}),
    ("Anneli Soderberg", {"name"}),
    ("Kestrel Rail", {"organisation"}),
    ("Interfax", {"name"}),
    ("the Normans", {"name"}),
    ("LK-230", {"name"}),
    # reasons and descriptions
    ("because engineers found unmapped Victorian sewers", {"reason"}),
    ("due to a software fault", {"reason"}),
    ("to protect their trade routes", {"reason"}),
    ("so that the line could open", {"reason"}),
    ("a maker of smart home appliances", {"reason", "description"}),
    ("the Eindhoven-based maker of smart home appliances", {"reason", "description"}),
    ("ribbon", {"description"}),
    ("iron and nickel", {"description"}),
    ("", set()),
    ("   ", set()),
    ("!!", set()),
]


@pytest.mark.parametrize("span, kinds", SPANS)
def test_span_kinds(span, kinds):
    assert span_kinds(span) == kinds


@pytest.mark.parametrize(
    "span, context, kinds",
    [
        ("Uppsala", "The study was led from a laboratory in ", {"place"}),
        ("Eindhoven", "Lumora, which is based in ", {"place"}),
        ("Ashcombe", "residents were taken to a school near ", {"place"}),
        ("Ashcombe", "", {"name"}),
        ("Anneli Soderberg", "said the principal scientist, ", {"name"}),
        ("Bank of Norland", "the governor of the ", {"organisation"}),  # an organisation stays one
        ("Dr Ellen Price", "a retired teacher from ", {"person"}),
    ],
)
def test_span_kinds_reads_the_words_before_the_span(span, context, kinds):
    assert span_kinds(span, context) == kinds


def test_span_kinds_are_listed_kinds():
    assert set().union(*(kinds for _, kinds in SPANS)) <= KINDS | {"name", "description", "speed"}
    assert {"name", "description", "speed"} <= KINDS


@pytest.mark.parametrize(
    "question, span, context, expected",
    [
        # the shapes of issue 22
        ("How long is the route?", "three years", "", -1),
        ("How long is the route?", "2019", "", -1),
        ("How long is the route?", "12.4 kilometres", "", 1),
        ("How far does the spacecraft travel?", "20 months", "", -1),
        ("How far does the spacecraft travel?", "3.2 billion kilometres", "", 1),
        # a description is no name (0) where a name answers (+1): ranking prefers the name; not -1,
        # as "who" is often answered by one ("British troops", "the courts of member states")
        ("Who runs Lumora?", "a Dutch maker of smart home appliances", "", 0),
        ("Who runs Lumora?", "Dana Whitcombe", "", 1),
        ("Who runs Lumora?", "chief executive Dana Whitcombe", "", 1),
        ("Who led the study?", "Uppsala", "carried out at a laboratory in ", -1),
        ("Who led the study?", "Professor Anna Berg", "", 1),
        ("How long is each session?", "twice a week", "", -1),
        ("How long is each session?", "every six minutes", "", -1),
        ("How long is each session?", "45 minutes", "", 1),
        # more of each kind
        ("How many people did firefighters rescue by boat?", "212 people", "", 1),
        ("How many people did firefighters rescue by boat?", "£9m", "", -1),
        ("How many people did firefighters rescue by boat?", "12%", "", -1),
        ("How many people did firefighters rescue by boat?", "Millbridge", "", -1),
        ("How much did it cost?", "642 million pounds", "", 1),
        ("How much did it cost?", "4.25%", "", -1),
        ("How much did it cost?", "212", "", -1),
        ("How much did it cost?", "the council", "", 0),
        ("What percentage of the vote did she win?", "52%", "", 1),
        ("What percentage of the vote did she win?", "£52", "", -1),
        ("What percentage of the vote did she win?", "52", "", 0),
        ("When did Putin last visit Pyongyang?", "July 2000", "", 1),
        ("When did Putin last visit Pyongyang?", "235", "", 0),
        ("When did Putin last visit Pyongyang?", "Uppsala", "in ", -1),
        ("When did Putin last visit Pyongyang?", "£3", "", -1),
        ("When will its services resume?", "two weeks", "", 0),
        ("When will its services resume?", "in two weeks", "", 1),
        ("Where did Tethys launch from?", "Sorvik Launch Centre", "", 1),
        ("Where did Tethys launch from?", "Sorvik", "", 1),
        ("Where did Tethys launch from?", "Lumora Ltd", "", 0),
        ("Where did Tethys launch from?", "Dr Aalto", "", -1),
        ("Where did Tethys launch from?", "2027", "", -1),
        ("Which company builds the rocket?", "Kestrel Rail", "", 1),
        ("Which company builds the rocket?", "Mr Aalto", "", -1),
        ("Which company builds the rocket?", "1981", "", -1),
        ("Who makes the kettles?", "Lumora Ltd", "", 1),
        ("Who did they beat?", "Kingsbury Athletic", "", 1),
        ("Who won?", "41,236", "", -1),
        ("How old is she?", "31", "", 1),
        ("How old is she?", "aged 31", "", 1),
        ("How old is she?", "£31", "", -1),
        ("Why was the tram delayed?", "because engineers found sewers", "", 1),
        ("Why was the tram delayed?", "Victorian sewers", "", 0),
        ("Why was the tram delayed?", "£5m", "", -1),
        ("How often do the trams run?", "every six minutes", "", 1),
        ("How heavy was the spacecraft?", "2,140 kilograms", "", 1),
        ("How heavy was the spacecraft?", "2,140 kilometres", "", -1),
        # unknown question or span: no opinion
        ("What kind of treaty did they sign?", "strategic partnership treaty", "", 0),
        ("What kind of treaty did they sign?", "1981", "", 0),
        ("How many people attended?", "", "", 0),
        ("How many people attended?", "???", "", 0),
    ],
)
def test_agreement(question, span, context, expected):
    assert agreement(question_kind(question), span_kinds(span, context)) == expected


def test_agreement_without_a_kind_or_kinds_is_zero():
    assert agreement(None, frozenset({"date"})) == 0
    assert agreement("date", frozenset()) == 0
    assert agreement("no such kind", frozenset({"date"})) == 0
    for kind in KINDS:
        assert agreement(kind, frozenset()) == 0
        assert agreement(kind, frozenset({kind})) in (0, 1)


def test_a_span_of_two_kinds_agrees_when_one_is_asked():
    assert span_kinds("£50,000 a year") == {"money", "frequency"}
    assert agreement("money", span_kinds("£50,000 a year")) == 1
    assert agreement("frequency", span_kinds("£50,000 a year")) == 1
    assert agreement("length", span_kinds("£50,000 a year")) == -1
    assert agreement("length", span_kinds("1981")) == -1


@pytest.mark.parametrize(
    "kind, text, expected",
    [
        ("date", "The line opened in July 2000 after delays.", True),
        ("date", "The line opened after long delays.", False),
        ("count", "Firefighters rescued 212 people.", True),
        ("money", "It cost nine million pounds.", True),
        ("count", "Firefighters rescued people.", False),
        ("person", "The scheme is led by Anneli Soderberg.", True),
        ("person", "the scheme is led by a scientist.", False),
        ("person", "Tethys is run by a scientist.", False),  # the first word of a sentence
        (None, "Anything 12 in July.", False),
    ],
)
def test_mentions(kind, text, expected):
    assert mentions(kind, text) is expected


def test_mentions_leaves_out_names_the_question_holds():
    assert not mentions("person", "The probe is run by Tethys.", "Who runs Tethys?")
    assert mentions("person", "The probe is run by Tethys and Soderberg.", "Who runs Tethys?")


def test_types_are_frozensets_and_fast():
    assert isinstance(span_kinds("12 km"), frozenset)
    long_text = "Dr Marcus Elwood said 12 km " * 2000 + "(" * 5000
    start = time.perf_counter()
    for _ in range(200):
        question_kind("How long is the Riverside Line from Castle Square to the docks?")
        span_kinds("642 million pounds", "The line cost ")
    span_kinds(long_text)
    mentions("date", long_text)
    assert time.perf_counter() - start < 2.0


def test_mentions_a_time_and_a_place():
    assert mentions("date", "Her tram left Castle Square at 5:42.")
    assert mentions("date", "The tram left at 5.42am.")
    assert not mentions("date", "The tram left on Tuesday.")  # news says when in most sentences
    assert not mentions("date", "Rates stayed at 4.25 per cent.")
    assert mentions("place", "The governor spoke to reporters in Brennholm.", "Where did the governor speak?")
    assert not mentions("place", "Ingrid Halvorsen spoke to reporters.", "Where did she speak?")
    assert not mentions("place", "She spoke in Brennholm.", "Why did she speak in Brennholm?")
    assert mentions("reason", "The line was late because engineers found sewers.")
