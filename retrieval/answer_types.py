"""Answer types: the kind of answer a question asks for, the kinds a candidate answer can be, and
whether the two agree.

Place in the pipeline: search finds passages → a reader proposes answers (spans of the extractive
reader, ``retrieval/reader.py``; sentences, ``retrieval/sentence_reader.py``) → ranking orders them.
``agreement(question_kind(q), span_kinds(span, context))`` tells ranking whether a span is of the
kind asked for (+1), clearly of a kind that cannot answer (-1: a span of years for "how long is the
route?") or unknown (0). ``mentions`` is the test for a whole sentence: whether it holds anything of
the kind (the type bonus of the sentence reader and of the reading windows). ``normalize_answer``
tells two answers written differently apart from two different answers (SQuAD's normalisation).

Pure, small and fast: regular expressions (linear on any text) and closed word lists; no model.

Kinds a question asks for (``question_kind``): person, organisation, place, date (a date, time of
day, year, month or weekday), duration, length (a distance, height, width, depth or area), count,
money, percentage, reason, age, frequency, weight. "who" asks for a person, and a person question
accepts an organisation ("Who makes the kettles?", "Who did they beat?"); "who is the parent
company" asks for an organisation. Kinds only a span has (``span_kinds``): name (a proper name of no
known kind), description (common words: "a maker of kettles") and speed.
"""

import re
import string

KINDS = frozenset(
    "person organisation place date duration length count money percentage reason age frequency weight "
    "name description speed".split()
)

#: The closed word lists. head_<kind>: nouns of "which X", "what X", "what is the X of" that ask for the
#: kind; verbs: heads that are verbs after a plural ("which articles state"); identifiers: words
#: before "number" that make it no count ("model number"); of_words: "what kind of X" asks for no X;
#: time_nouns: "how long is X" asks for a duration, else a length ("how long is the route?");
#: change_verbs: "how much did X rise?" may be a percentage or an amount; units_<kind>: "how many X";
#: approximately: words before a number; numbered: words before a number that make it part of a
#: name ("article 30"); titles, org_words, place_words, both_words (organisations and places),
#: place_first, event_words: the words that tell a name's kind.
_W = {
    key: frozenset(" ".join(value).split())
    for key, *value in (entry.split(":", 1) for entry in re.split(r"\n(?! )", """
be: is are was were be 's
aux: do does did will would has have had can could should must may might shall
determiners: the a an its his her their this that these those our your my each every one
prepositions: in on at for from by during since to of with after before near under over between about into against
    through until till besides apart than , and but so else exactly roughly approximately
wh: what which who whom whose when where why how
approximately: around about approximately nearly almost over under some roughly circa only just more less least
    early late mid
place_context: in at near outside across around throughout within
chunk_breaks: who which that whose where in at for from to with on by near said says is was are were has had ,
head_person: person people man men woman women player minister officer leader president king queen emperor
    emperors empress ruler politician scientist author writer artist actor actress singer manager coach captain
    chairman chairwoman chair director spokesman spokeswoman spokesperson official governor mayor judge pope
    bishop duke prince princess lord chief executive founder inventor architect engineer doctor economist explorer
    composer philosopher poet striker goalkeeper candidate individual son daughter father mother wife husband
    brother sister boy girl aide chancellor senator monarch pharaoh prophet saint commander admiral sultan tsar
    czar curator scorer winner farmer teacher driver pilot soldier musician physicist chemist mathematician
    journalist reporter priest
head_organisation: company firm business corporation bank club team group association council organisation
    organization party union agency institution university newspaper network channel broadcaster manufacturer
    airline publisher band charity ministry department court committee league retailer supermarket label studio
    consortium operator carrier insurer brand
head_place: city country town village stadium street road region state county province continent island river
    location place venue capital port nation district neighbourhood neighborhood territory airport mountain lake
    sea ocean valley suburb borough kingdom republic colony square
head_date: year month day date century decade time weekday era
head_money: price fee fine salary cost wage fare sum rent bill bonus budget pay compensation
head_percentage: percentage percent proportion share fraction rate inflation
head_length: distance length height width depth diameter radius altitude elevation circumference
head_count: number population
head_reason: reason cause
head_age: age
head_weight: weight mass
head_duration: duration
verbs: state states rate rates price prices fine fines date dates number numbers place places time times share
    shares cost costs pay pays chair chairs head heads age ages
identifiers: model phone telephone serial registration flight shirt squad jersey reference part account route bus
    platform
of_words: kind kinds type types sort sorts form forms part parts group groups
time_nouns: session sessions meeting trial sentence term contract lease flight trip visit tour stay delay wait
    break holiday season career reign ban closure shift show film movie speech game match war strike journey
    programme program process period mission marriage campaign siege occupation ceasefire lockdown outage
    recession drought tenure interval life lifespan pregnancy treatment commute operation procedure concert
    festival exhibition hearing cycle orbit course stint spell
time_verbs: take took taken takes last lasted lasts ago spend spent remain stay wait continue serve served
money_verbs: cost costs costing pay paid pays worth spend spent charge charged charges raise raised earn earned
    earns fetch fetched owe owed borrow borrowed invest invested donate donated price priced fund funded bid lend
    lent loan grant granted afford
change_verbs: increase increased rise rose risen fall fell fallen grow grew grown drop dropped decline declined
    decrease decreased climb climbed shrink shrank shrunk change changed
reason_verbs: caused causes cause prompted triggered sparked
titles: mr mrs ms miss mx dr prof professor sir lord lady dame king queen prince princess duke duchess count
    countess earl emperor empress pope saint president chancellor minister senator governor general captain
    colonel bishop archbishop rev reverend father judge justice mayor inspector sergeant detective baron baroness
    marquis tsar czar sultan pharaoh cardinal admiral
org_words: ltd plc inc llc co company corporation corp council bank association group trust court authority
    service services club fc party committee agency ministry department institute society union league federation
    chamber board commission office foundation consortium partnership network news airlines airways rail railways
    united athletic rovers wanderers press times post limited gmbh ag sa nv
place_words: street road avenue lane square stadium park bridge station city valley river lake mountain mountains
    island islands airport port harbour harbor bay sea ocean county province coast centre center quay gardens
    estate village town district arena beach cosmodrome peninsula desert gulf isle cape strait mount canal region
    republic kingdom empire
place_first: river lake mount gulf bay isle cape port city county republic kingdom province state sea
both_words: museum university college school hospital library church cathedral abbey academy gallery theatre zoo
    prison hotel house palace castle
event_words: battle treaty edict war siege act peace revolution council declaration
numbered: article articles section chapter no number room platform route flight model level grade phase stage page
    class
units_duration: years month day year months weeks week days hours hour minutes minute seconds decades centuries
units_money: dollars euros pence cents yen francs kroner krone pounds
units_length: kilometres kilometers metres meters feet inches yards km acres hectares square miles
units_weight: tons kilograms kilos grams tonnes kg
units_percentage: percent""".strip()))
}


_HEAD_KIND = {w: key[5:] for key, words in _W.items() if key.startswith("head_") for w in words}
_UNITS = {key[6:]: words for key, words in _W.items() if key.startswith("units_")}
_STOP = _W["aux"] | _W["be"] | _W["determiners"] | _W["prepositions"] | _W["wh"] | {"that", "it", "they", "he", "she"}
_LEADING = _W["determiners"] | _W["prepositions"] - {"of", ","} | _W["approximately"]


# ---------------------------------------------------------------- questions
def question_kind(question: str) -> str | None:
    """What ``question`` asks for: one of ``KINDS`` (not name, description or speed), or None when
    its words do not say (most "what" questions)."""
    q = re.sub(r"\b(what|who|where|when|how)'s\b", r"\1 is", question.lower().replace("\u2019", "'"))
    words = re.findall(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|,", q)
    at = [i for i, w in enumerate(words) if w in _W["wh"]]  # the question word: first, after a preposition, or last
    starts = [i for i in at if i == 0 or words[i - 1] in _W["prepositions"] or i == len(words) - 1]
    if not at:
        return None
    i = (starts or at)[0]
    wh, rest = words[i], words[i + 1 :]
    if wh == "how":
        return _how(rest[0] if rest else "", rest[1:], words[:i])
    if wh in ("why", "when", "where"):
        return {"why": "reason", "when": "date", "where": "place"}[wh]
    if wh in ("who", "whom", "whose"):
        is_organisation = rest[:1] and rest[0] in _W["be"] and _head(rest[1:], True) == "organisation"
        return "organisation" if is_organisation else "person"
    if rest and (rest[0] in _W["reason_verbs"] or rest[:2] in (["led", "to"], ["leads", "to"])):
        return "reason"
    if wh == "what" and rest[:1] and rest[0] in _W["be"]:
        return _head(rest[1:], strict=True)
    return _head(rest)


def _head(words, strict=False):
    """The kind of the noun phrase that starts ``words``, or None. ``strict`` (after "what is"): the
    kind is its last word's ("the price of"), and "the area of" is a length."""
    while words and (words[0] in _W["determiners"] or words[0].endswith("'s")):
        words = words[1:]
    run = []
    for w in words[:4]:
        if w in _STOP or w.endswith("'s") or run and run[-1] in _HEAD_KIND and re.search(r"[^s]s$|ed$", w):
            break  # a verb after the head ends it: "which region contains"
        run.append(w)
    after = words[len(run) : len(run) + 1]
    if run[-1:] == ["name"] and after == ["of"]:
        return _head(words[len(run) + 1 :], True)
    if run and run[-1] in _W["of_words"] and after == ["of"]:
        return None
    if run and after == ["who"]:  # "the farmer who died"
        return "person"
    if strict and run[-1:] == ["area"]:
        return "length"
    for i in range(len(run) - 1, max(len(run) - 2, -1) if strict else -1, -1):
        w, before = run[i], run[i - 1] if i else ""
        kind = _HEAD_KIND.get(w) or _HEAD_KIND.get(re.sub(r"(ies|s)$", lambda m: "y" if m[1] == "ies" else "", w))
        if kind == "count" and before in _W["identifiers"]:
            return None
        if kind and not (w in _W["verbs"] and re.search(r"[^s]s$", before) and before not in _HEAD_KIND):
            return kind
    return None


def _how(word, after, before):
    """The kind "how <word> <after>" asks for; ``before``: the words before "how"."""
    simple = {"old": "age", "often": "frequency", "heavy": "weight", "come": "reason"}
    if word in simple:
        return simple[word]
    if word in ("far", "tall", "high", "wide", "deep", "thick", "broad"):
        return "length"
    verb = after[0] if after else ""
    if word == "long":
        if verb in _W["aux"] or any(w in _W["time_verbs"] for w in after) or "for" in before[-1:]:
            return "duration"
        if verb in _W["be"]:
            return "duration" if any(w in _W["time_nouns"] for w in after[1:6]) else "length"
        return "duration" if any(w in _W["time_nouns"] for w in after[:2]) else None
    if word == "many":
        for i, w in enumerate(after[:4]):
            if w in _STOP:
                break
            if w == "pounds" and after[i + 1 : i + 2] == ["of"]:
                return "weight"
            for kind, units in _UNITS.items():
                if w in units:
                    return kind
        return "count"
    if word == "much":
        if "money" in after[:3] or verb in _UNITS["money"]:
            return "money"
        if verb == "time":
            return "duration"
        if "by" in before[-1:] or verb == "of" or any(w in _W["change_verbs"] for w in after):
            return "percentage" if "percent" in after or "cent" in after else None
        if any(w in _W["money_verbs"] for w in after):
            return "money"
        if verb in _W["be"] and not any(re.search(r"(ed|ing)$", w) for w in after[1:]):
            return "money"  # "how much is an adult single?"
    return None


# ---------------------------------------------------------------- spans
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    r"eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|"
    r"trillion|dozen|dozens|hundreds|thousands|millions|billions"
)
_NUM = rf"(?:(?<![\w.])\d+(?:,\d{{3}})*(?:\.\d+)?|\b(?:{_NUMBER_WORDS})(?:[ -](?:{_NUMBER_WORDS}|and))*)"
_SCALED = rf"{_NUM}(?:[\s-]*(?:million|billion|bn|m|k|thousand))?"
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|" \
    r"twelfth|\w+teenth|twentieth|twenty-first"
_UNIT = r"(?:years?|months?|weeks?|days?|hours?|minutes?|decades?)"
_CURRENCIES = r"pounds?|dollars?|euros?|yen|francs?|kron[eaor]r?|crowns?|rupees?|yuan|roubles?|rubles?|pesos?|" \
    r"sterling|livres?|guineas?|shillings?|pence|cents?|lir[ae]|rand|shekels?|dinars?|riy?als?|baht|zloty|" \
    r"forints?|escudos?|drachmas?|pesetas?|guilders?|florins?|ducats?|reais|usd|gbp|eur"
_LENGTHS = r"km|kilomet(?:re|er)s?|met(?:re|er)s?|miles?|cm|mm|(?:milli|centi)met(?:re|er)s?|feet|foot|ft|" \
    r"inch(?:es)?|yards?|light[\s-]years?|au|hectares?|acres?|km2|km²|m2|m²"


def _p(pattern, flags=re.IGNORECASE):
    return re.compile(pattern, flags)


#: (kind, pattern, consumed), in this order: what a consumed match read is not read again ("41 years
#: old" is an age, not a duration; "every six minutes" a frequency; "£9m" money, not 9 metres).
_UNIT_PATTERNS = [
    ("date", _p(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{1,2}:\d{2}\b(?:\s*[ap]\.?m\.?)?|"
                r"\b\d{1,2}(?:\.\d{2})?\s*[ap]\.?m\b\.?|\b(?:noon|midday|midnight)\b"), True),
    ("age", _p(rf"\baged?\s+(?:of\s+)?{_NUM}|{_NUM}[\s-]+years?[\s-]+old\b"), True),
    ("speed", _p(rf"{_NUM}\s*(?:km/h|kph|mph|km\s+per\s+hour|miles\s+(?:per|an)\s+hour|knots|m/s)"), True),
    ("money", _p(rf"(?:US|A|C|HK)?[£$€¥]\s?{_SCALED}|{_SCALED}[\s-]+(?:{_CURRENCIES})\b|"
                 r"(?<![\w.])\d+(?:\.\d+)?p\b"), True),
    ("percentage", _p(rf"(?:{_NUM}\s*)?(?:%|\bper\s?cent\b|\bpercentage points?\b|\bbasis points?\b)|\b(?:a|one|two|"
                      r"three|four)[\s-](?:half|thirds?|quarters?|fifths?|tenths?)\b|\bhalf\b(?!\s+an?\b)"), True),
    ("weight", _p(rf"{_SCALED}\s*(?:kg|kilo(?:gram(?:me)?)?s?|(?:mega)?tonnes?|(?:mega)?tons?|grams?|lbs?|"
                  r"ounces?|oz)\b"), True),
    ("length", _p(rf"{_SCALED}\s*(?:(?:square|sq\.?|cubic)\s+)?(?:{_LENGTHS})\b|"
                  rf"{_NUM}\s*m\b(?!\s*(?:people|\w+s)\b)"), True),
    ("frequency", _p(rf"\b(?:every|each)\s+(?:other\s+|few\s+)?(?:{_NUM}\s+)?\w+|"
                     rf"\b(?:once|twice|thrice|{_NUM}\s+times)\s+(?:a|an|per|each|every)\s+\w+|"
                     r"\b(?:once|twice|thrice|hourly|daily|weekly|fortnightly|monthly|quarterly|annually|yearly|"
                     r"nightly)\b|(?:\bper|\0\s+an?)\s+(?:hour|day|week|month|year|annum)\b"),
     True),  # \0 marks what was read: "£50,000 a year"
    ("date", _p(rf"\b(?:in|within)\s+(?:{_NUM}|a|an|several|a few)\s+{_UNIT}\b|\b{_UNIT}\s+(?:ago|later|earlier)\b"),
     False),  # and a duration: "in two weeks"
    ("duration", _p(rf"(?:{_NUM}|\ban?|\bseveral|\bfew|\bhalf\s+an?)[\s-]+(?:{_UNIT[3:-1]}|yrs?|hrs?|mins?|seconds?|"
                    r"secs?|centur(?:y|ies)|millenni(?:um|a)|fortnights?|nights?)\b"), True),
    ("date", re.compile(rf"(?:\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?)?\b(?:{_MONTHS}|Jan|Feb|Mar|Apr|Jun|Jul|Aug|"
                        r"Sept?|Oct|Nov|Dec)\b\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?(?!\d))?(?:,?\s+\d{4})?|"
                        r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"), True),
    ("date", _p(rf"\b(?:spring|summer|autumn|fall|winter|early|mid|late|mid-)(?:\s+of)?[\s-]*\d{{4}}s?\b|"
                rf"\b(?:1\d{{3}}|20\d{{2}})\s*[-–]\s*(?:\d{{4}}|\d{{2}})\b|\b\d{{1,4}}\s*(?:AD|BC|BCE|CE)\b|"
                rf"\b(?:the\s+)?(?:\d{{4}}|\d0)'?s\b|\b(?:{_ORDINAL})[\s-]+(?:century|centuries|millennium)\b|"
                r"\b(?:today|yesterday|tomorrow|tonight|christmas|easter)\b|\b(?:last|next|this|earlier this|later "
                r"this)\s+(?:week|month|year|weekend|spring|summer|autumn|winter|season|morning|afternoon|evening|"
                r"night)\b|^\s*(?:during|until|till|before|after|following|since|when|while)\b"), True),
]
_YEAR = re.compile(r"^(?:1\d{3}|20\d{2})$")
_NUMBER_TOKEN = _p(rf"^[~≈]?\d[\d,]*(?:\.\d+)?(?:[-–]\d[\d,]*)?\+?$|"
                   rf"^(?:{_NUMBER_WORDS}|none|zero)(?:-(?:{_NUMBER_WORDS}))?$")
_REASON_START = _p(r"^(?:because|due to|owing to|thanks to|as a result|in order to|in (?:response|reaction|"
                   r"retaliation|protest)|so that|so as to|for fear|to (?!the\b|a\b|an\b)[a-z])")


def span_kinds(text: str, context: str = "") -> frozenset[str]:
    """The kinds a candidate answer can be (of ``KINDS``): several when it is ambiguous ("£50,000 a
    year"), empty when unknown. ``context``: the text just before the span ("in" makes a name a place)."""
    rest, kinds = " ".join(text.split())[:500], set()
    for kind, pattern, consumed in _UNIT_PATTERNS:
        if pattern.search(rest):
            kinds.add(kind)
            rest = pattern.sub(" \0 ", rest) if consumed else rest
    if re.match(r"\s*(?:after|following|since)\b", text, re.IGNORECASE):
        kinds.add("reason")
    tokens = re.findall(r"[^\s,;:()\[\]\"“”!?]+|,", rest)
    for i, token in enumerate(tokens):
        token, before = token.strip(".'"), tokens[i - 1] if i else ""
        named = before[:1].isupper() and before.lower() not in _LEADING or before.lower() in _W["numbered"]
        if named or not token[:1].isdigit() and i > 2:
            continue  # "Apollo 1", "article 30", "a sheriff and one of the founders"
        if _NUMBER_TOKEN.match(token):
            following = tokens[i + 1] if i + 1 < len(tokens) else ""  # a year, unless it counts: "1500 people"
            counts = re.fullmatch(r"[a-z]+", following) and following not in _STOP
            kinds.add("date" if _YEAR.match(token) and not counts else "count")
    words = [t for t in tokens if re.search(r"\w", t) and not _NUMBER_TOKEN.match(t.strip(".'"))]
    return frozenset(kinds | _word_kinds(words, context, not kinds))


def _word_kinds(words, context, alone):
    """The kinds of a span's words: a name of some kind, or (``alone``: nothing else found) a
    description or a reason. A name's kind is read from its head ("Bank" of "Bank of Norland", else its
    last word), a title, or a place preposition before it ("in Uppsala")."""
    if alone and _REASON_START.search(" ".join(words)):
        return {"reason"}
    ctx = [w for w in re.findall(r"[\w']+", context[-60:].lower()) if w not in ("the", "a", "an")][-1:]
    while words and words[0].lower() in _LEADING - _W["place_context"]:
        words = words[1:]
    if words and words[0].lower() in _W["place_context"] and len(words) > 1 and words[1][:1].isupper():
        ctx, words = [words[0].lower()], words[1:]
    chunk = []
    for w in words:
        if w.lower() in _W["chunk_breaks"] and chunk:
            break
        chunk.append(w)
    if not chunk:
        return set()
    lower = [w.lower().strip(".") for w in chunk]
    key = chunk[lower.index("of") - 1] if "of" in lower[1:] else chunk[-1]
    k, first = key.lower().strip("."), lower[0]
    if key[:1].isupper() or chunk[0][:1].isupper() and (key[:1].isdigit() or lower[-1] in _W["org_words"]):
        if first in _W["titles"] or k in _W["titles"]:
            return {"person"}
        if k in _W["both_words"]:
            return {"organisation", "place"}
        if k in _W["org_words"] and k != "council" or lower[-1] in _W["org_words"]:
            return {"organisation"}
        if k in _W["place_words"] or first in _W["place_first"] and len(chunk) > 1:
            return {"place"}
        if "of" in lower[1:] and k not in _W["event_words"]:
            return {"organisation"}
        return {"place"} if ctx and ctx[0] in _W["place_context"] else {"name"}
    if not alone or not any(w[:1].isalpha() for w in words):
        return set()
    return {"description", "reason"} if len(words) >= 4 else {"description"}


# ---------------------------------------------------------------- agreement
_NUMBERS = {"count", "money", "percentage", "length", "duration", "age", "weight", "speed", "frequency"}
_NAMES = {"person", "organisation", "place", "name"}
#: For each kind asked: (the span kinds that answer it: +1; those that clearly cannot: -1 when a span
#: is of no other kind). Any other kind says nothing (0): a description, for a person too ("British
#: troops"); a bare number for a date (235), a percentage or a length; an organisation for a place; a
#: duration for a date ("two weeks") or a frequency.
_AGREEMENT = {
    "person": ({"person", "organisation", "name"}, {"place", "date"} | _NUMBERS),
    "organisation": ({"organisation", "name"}, {"person", "place", "date"} | _NUMBERS),
    "place": ({"place", "name"}, {"person", "date"} | _NUMBERS),
    "date": ({"date"}, _NAMES - {"name"} | _NUMBERS - {"count", "duration", "frequency"}),
    "duration": ({"duration"}, _NAMES | _NUMBERS - {"count", "duration", "age"}),
    "length": ({"length"}, _NAMES | {"date"} | _NUMBERS - {"count", "length"}),
    "count": ({"count"}, _NAMES | {"date"} | _NUMBERS - {"count", "frequency"}),
    "money": ({"money"}, _NAMES | {"date"} | _NUMBERS - {"money"}),
    "percentage": ({"percentage"}, _NAMES | {"date"} | _NUMBERS - {"count", "percentage"}),
    "reason": ({"reason"}, _NAMES | _NUMBERS),
    "age": ({"age", "count", "duration"}, _NAMES | {"date"} | _NUMBERS - {"age", "count", "duration"}),
    "frequency": ({"frequency"}, _NAMES | {"date"} | _NUMBERS - {"count", "duration", "frequency"}),
    "weight": ({"weight"}, _NAMES | {"date"} | _NUMBERS - {"count", "weight"}),
}


def agreement(kind: str | None, kinds: frozenset[str]) -> float:
    """+1 when a span of ``kinds`` is of the ``kind`` asked, -1 when all its kinds clearly cannot
    answer (``_AGREEMENT``), 0 when unknown (no kind asked, no kinds found, or no opinion)."""
    if kind not in _AGREEMENT or not kinds:
        return 0.0
    answers, cannot = _AGREEMENT[kind]
    return 1.0 if kinds & answers else -1.0 if kinds <= cannot else 0.0


def is_unit(kind: str | None, word: str) -> bool:
    """Whether ``word`` is a unit an answer of ``kind`` is measured in ("metres" for a length)."""
    return word.lower() in _UNITS.get(kind, ())


# ---------------------------------------------------------------- sentences
_ANY_NUMBER = _p(rf"\d|\b(?:{_NUMBER_WORDS}|half|quarter)\b")
#: Not weekdays or "yesterday": news tells when it happened in most sentences ("said on Tuesday").
_ANY_DATE = _p(rf"\b(?:1\d{{3}}|20\d{{2}})s?\b|\b(?:{_MONTHS}|century|centuries|decade|\d{{1,2}}(?:st|nd|rd|th))\b|"
               r"\b\d{1,2}:\d{2}\b|\b\d{1,2}(?:\.\d{2})?\s*[ap]\.?m\b")
_CAPITALISED = re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][\w'-]+")
_PLACED = re.compile(r"\b(?:in|at|near|outside|across|around|throughout|within)\s+(?:the\s+)?([A-Z][\w'-]+)")
_CAUSE_WORDS = _p(r"\b(?:because|due to|owing to|as a result|so that|in order to|caused|led to)\b")


def mentions(kind: str | None, text: str, question: str = "") -> bool:
    """Whether ``text`` (a sentence) holds anything of ``kind``: a year, month, century, day of the
    month or time for a date; a number for every kind that is a number; a name ``question`` does not
    hold (not the first word of a sentence) for a person or organisation, one after "in", "at",
    "near"... for a place; a cause for a reason. False for no kind."""
    if kind == "date":
        return bool(_ANY_DATE.search(text))
    if kind in _NUMBERS:
        return bool(_ANY_NUMBER.search(text))
    if kind in ("person", "organisation", "place"):
        asked = set(re.findall(r"\w+", question.lower()))
        names = _PLACED.findall(text) if kind == "place" else _CAPITALISED.findall(text)
        return any(w.lower() not in asked for w in names)
    return kind == "reason" and bool(_CAUSE_WORDS.search(text))


_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text: str) -> str:
    """The official SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())
