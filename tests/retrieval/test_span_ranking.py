"""retrieval/span_ranking.py: the evidence a span carries (kind agreement, coverage), ranking, the no-answer rule."""

from dataclasses import replace

from qabot.retrieval.span_ranking import Reading, Rule, Span, confidence, rank_score, ranked_spans, with_evidence
from qabot.retrieval.types import Passage
from qabot.retrieval.windows import Window

TEXT = (
    "The probe is 2.5 kilometres wide. "
    "It will travel 480 million kilometres to the asteroid Tethys before it arrives in 2031."
)
QUESTION = "How far will the probe travel to reach Tethys?"


def window() -> Window:
    passage = Passage(1, 1, "Tethys probe", None, None, 0, len(TEXT), TEXT, 8.0)
    second = TEXT.index("It will")
    return Window(passage, 0, TEXT, ((0, second - 1), (second, len(TEXT))), 8.0)


def span(text: str, logit: float) -> Span:
    start = TEXT.index(text)
    return Span(0, start, start + len(text), text, logit, 0.0, 8.0)


def reading(*spans: Span) -> Reading:
    return Reading((window(),), tuple(with_evidence(QUESTION, list(spans), [window()])), -1.0, 40)


def test_each_span_gets_its_kind_agreement_and_its_sentences_coverage():
    width, distance, year = reading(span("2.5 kilometres", 1.0), span("480 million kilometres", 1.0), span("2031", 1.0)).spans
    assert (width.agreement, distance.agreement, year.agreement) == (1.0, 1.0, -1.0)  # a width is a length too
    # question terms: far, probe, travel, reach, tethys; the first sentence holds "probe", the second
    # "travel" and "Tethys"
    assert width.coverage == 1 / 5 and distance.coverage == year.coverage == 2 / 5


def test_a_near_tie_between_a_right_and_a_wrong_kind_is_decided_by_the_kind():
    year, distance = span("2031", 27.51), span("480 million kilometres", 27.49)
    found = reading(year, distance)
    assert ranked_spans(found, Rule(kind_weight=0.0))[0].text == "2031"
    assert ranked_spans(found, Rule(kind_weight=1.0))[0].text == "480 million kilometres"


def test_the_sentence_that_covers_the_question_wins_a_near_tie_of_the_same_kind():
    width, distance = span("2.5 kilometres", 27.51), span("480 million kilometres", 27.49)
    found = reading(width, distance)
    assert ranked_spans(found, Rule(sentence_weight=0.0))[0].text == "2.5 kilometres"
    assert ranked_spans(found, Rule(sentence_weight=1.0))[0].text == "480 million kilometres"
    top = ranked_spans(found, Rule(sentence_weight=1.0))[0]
    assert rank_score(top, Rule(sentence_weight=1.0)) == 27.49 + 8.0 + 2 / 5


def test_agreement_and_coverage_weigh_in_the_confidence_the_answer_needs():
    found = reading(span("480 million kilometres", 3.0))
    ranked = ranked_spans(found, Rule())
    margin = confidence(found, ranked, rule=Rule())
    assert margin == 3.0 - -1.0
    assert confidence(found, ranked, rule=Rule(agreement_weight=2.0)) == margin + 2.0
    assert confidence(found, ranked, rule=Rule(coverage_weight=5.0)) == margin + 2.0
    wrong_kind = reading(span("2031", 3.0))
    assert confidence(wrong_kind, ranked_spans(wrong_kind, Rule()), rule=Rule(agreement_weight=2.0)) == margin - 2.0


def test_a_question_of_no_known_kind_and_without_content_words_gives_no_evidence():
    (plain,) = with_evidence("What is it?", [span("2031", 1.0)], [window()])
    assert plain.agreement == 0.0
    assert replace(plain, agreement=0.0) == plain


def _one_sentence_reading(question: str, text: str, answer: str) -> Span:
    """The evidenced span ``answer`` of a reading of ``text``, one sentence, asked ``question``."""
    passage = Passage(1, 1, "Floods", None, None, 0, len(text), text, 5.0)
    window = Window(passage, 0, text, ((0, len(text)),), 5.0)
    start = text.index(answer)
    [evidenced] = with_evidence(question, [Span(0, start, start + len(answer), answer, 9.0, 0.0, 5.0)], [window])
    return evidenced


def test_a_bare_number_takes_the_word_the_question_counts_or_the_unit_of_its_kind():
    text = "Firefighters rescued 212 people by boat, and the water stood 3 metres deep for 270 days."
    people = _one_sentence_reading("How many people did firefighters rescue by boat?", text, "212")
    assert (people.text, text[people.start : people.end]) == ("212 people", "212 people")
    days = _one_sentence_reading("About how many days did the water stand?", text, "270")
    assert days.text == "270 days" and days.agreement == 1.0
    deep = _one_sentence_reading("How deep was the water?", text, "3")  # "metres": a length's unit
    assert deep.text == "3 metres" and deep.agreement == 1.0


def test_a_number_is_completed_only_by_a_word_the_question_asks_for():
    text = "Firefighters rescued 212 people by boat, and the water stood 3 metres deep for 270 days."
    boats = _one_sentence_reading("How many boats did the firefighters use?", text, "212")
    assert boats.text == "212"  # "people" is neither asked nor a unit of a count
    named = _one_sentence_reading("Who rescued 212 people?", text, "Firefighters")
    assert named.text == "Firefighters"  # not a number
