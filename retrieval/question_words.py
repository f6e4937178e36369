"""The words of questions and answers, for ``retrieval.followup`` and ``retrieval.pronouns``: tokens
with their offsets, the closed word classes a follow-up is recognised by, names (runs of capitalised
words), the nouns that tell a person from an organisation or thing, and where a question's clause
begins.

Pure and small on purpose: no parser or tagger is loaded; English questions are short, and these
closed lists (question words, auxiliaries, pronouns, prepositions) are what tells a follow-up.
"""

import re
from dataclasses import dataclass

from qabot.index.analysis import STOPWORDS

WH_WORDS = frozenset("what when where who whom whose which why how".split())
#: Words that, right after "how", belong to the question word ("how many", "how old").
WH_ADJECTIVES = frozenset("many much long old often far big large high tall wide heavy deep soon".split())
AUXILIARIES = frozenset(
    "is are was were am be been being do does did has have had will would can could shall should "
    "may might must 's".split()
)
BE_FORMS = frozenset("is are was were be been being 's".split())
#: Function words inside a subject phrase ("work on the Millbridge scheme", "the price of a ticket").
SUBJECT_JOINERS = frozenset("the a an of on for".split())
PERSON_PRONOUNS = frozenset("he she him his her hers himself herself".split())
THING_PRONOUNS = frozenset("it its itself they them their theirs themselves".split())
POSSESSIVES = frozenset("his hers its their theirs".split())
PREPOSITIONS = frozenset(
    "in on at for from by during since to of with after before near under over between about into "
    "against through until".split()
)
#: Openers of an elliptic follow-up, longest first ("And Kim?", "What about the Northgate Line?").
OPENERS = ("and what about", "and how about", "what about", "how about", "what of", "and", "but")
#: Past participles that do not end in "-ed" ("When was the bridge built?").
IRREGULAR_PARTICIPLES = frozenset(
    "built held won made shown given taken found sold kept led paid set told known seen put run begun "
    "written chosen drawn grown thrown hit cut brought bought caught taught fought sent spent lent meant "
    "left lost born done gone said struck".split()
)
#: Verbs that only stand for "the event" ("When did that happen?").
EVENT_VERBS = frozenset("happen happened happens occur occurred occurs".split())
#: Capitalised words that are not names.
NOT_NAMES = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday i".split()
)
#: Lower-case words a name may hold ("Bank of Norland", "Chamber of Industry & Commerce").
NAME_JOINERS = frozenset("of & and the de du van von der da la le".split())
#: Titles before a name, left out of it ("Dr. Marcus Elwood" is Marcus Elwood).
TITLES = frozenset("mr mrs ms dr prof".split())
#: Words before a place in a sentence, to say "at Westmead Stadium" rather than "in".
PLACE_PREPOSITIONS = frozenset("in at on near from".split())

#: Words that begin a clause of its own inside a question ("... before recalling them").
SUBORDINATORS = frozenset("that when while after before because if since until although though".split())
#: Words that end (or stand in) the name of an organisation, place or thing, never a person's
#: ("Lumora Home", "Harbourside United", "Korean Central News Agency", "Outer Space Treaty").
ORGANISATION_WORDS = frozenset(
    "home homes united athletic rovers city town county group holdings ltd limited inc corp corporation "
    "company co plc llc bank association agency authority council committee commission ministry "
    "department office museum gallery university college school academy hospital trust foundation "
    "institute society union party club league federation consortium chamber services systems "
    "technologies industries airlines airways motors energy foods media news press times post records "
    "studios line lines railway railways rail station stadium airport treaty agreement act programme "
    "program mission orchestra philharmonic band government court parliament assembly army navy police "
    "brigade alliance network partners international".split()
)
#: Nouns after "which/what" that ask for a person ("Which Kremlin aide ...?") ...
PERSON_NOUNS = frozenset(
    "person people man men woman women boy girl child aide adviser advisor official spokesman "
    "spokeswoman spokesperson minister president chancellor king queen prince princess emperor empress "
    "pope leader chief chair chairman chairwoman chairperson director executive founder owner manager "
    "coach captain player striker scorer goalkeeper defender midfielder athlete driver pilot passenger "
    "scientist researcher professor doctor nurse engineer teacher student author writer journalist "
    "reporter editor artist actor actress singer musician judge lawyer mayor governor economist curator "
    "coordinator officer detective suspect victim witness worker employee candidate politician senator "
    "councillor ambassador diplomat general commander soldier detectorist presenter host".split()
)
#: ... or for an organisation, a place or a thing ("Which company ...?", "Which town ...?").
THING_NOUNS = frozenset(
    "company firm business group organisation organization agency club team side country nation city "
    "town village region state province county district party bank brand product model treaty law bill "
    "act agreement deal ship probe spacecraft mission station stadium venue building bridge line service "
    "newspaper channel network school university museum hospital airline carrier retailer manufacturer "
    "maker supplier council authority committee association union court orchestra band charity "
    "ministry department government river lake mountain island street road place".split()
)

_TOKEN = re.compile(r"[^\W_]+(?:['’.\-&][^\W_]+)*['’]?|&")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    gap: str = ""  # the text between the previous token and this one

    @property
    def lower(self) -> str:
        return self.text.lower().replace("’", "'")

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper() and self.lower not in NOT_NAMES


def tokens_of(text: str) -> list[Token]:
    tokens, last = [], 0
    for m in _TOKEN.finditer(text):
        tokens.append(Token(m.group(), m.start(), m.end(), text[last : m.start()]))
        last = m.end()
    return tokens


def is_content(token: Token) -> bool:
    """A word that carries topic (what search keeps of a question)."""
    return (
        token.lower not in STOPWORDS
        and token.lower not in WH_ADJECTIVES
        and token.lower not in AUXILIARIES
        and any(c.isalnum() for c in token.text)
    )


def without_article(text: str) -> str:
    """The text without a leading article or title ("the", "Dr.", "Ms."): the name itself."""
    words = "|".join(["the", "a", "an", *(rf"{title}\.?" for title in TITLES)])
    return re.sub(rf"^(?:(?:{words})\s+)+", "", text.strip(), flags=re.IGNORECASE)


def name_like(text: str) -> bool:
    """Whether an answer is a name ("Priya Nandakumar", "Dock Street Traders' Association", "LK-220"),
    not a date, number or phrase."""
    tokens = tokens_of(without_article(text))
    if not tokens or len(tokens) > 8 or not any(t.capitalised for t in tokens):
        return False
    return all(t.capitalised or t.lower in NAME_JOINERS or t.text[:1].isdigit() for t in tokens)


def name_runs(tokens: list[Token], *, people: bool = False) -> list[str]:
    """The names in a text, in order: runs of capitalised words (joined by "of", "&" ...), leaving
    out a sentence's first word when it is a function word ("When", "The").

    :param people: only names that may be people's: not after a preposition or "the" ("the mayor
        of Aldermoor", "in the Coastal Cup final" name places and things).
    """
    runs, current = [], []

    def close() -> None:
        while current and current[-1].lower in NAME_JOINERS:
            current.pop()
        if current:
            before = tokens.index(current[0]) - 1
            placed = before >= 0 and tokens[before].lower in PREPOSITIONS | {"the"}
            if not (people and placed):
                runs.append(" ".join(t.text for t in current))
        current.clear()

    titled = False
    for i, token in enumerate(tokens):
        gap = "" if titled else token.gap  # "Dr. Ingrid Halvorsen": the full stop of a title
        titled = token.lower in TITLES
        if titled:
            close()
            continue  # the name is the person's own ("Ingrid Halvorsen")
        first = i == 0 or bool(re.search(r"[.!?:;\"“”]", gap))
        if gap.strip():  # a comma or a full stop ends a name
            close()
        if token.capitalised and not (first and (token.lower in STOPWORDS or token.lower in WH_WORDS)):
            current.append(token)
        elif current and token.lower in NAME_JOINERS and (token.text.islower() or token.text == "&"):
            current.append(token)
        else:
            close()
    close()
    return runs


def main_auxiliary(tokens: list[Token]) -> int | None:
    """The index of the auxiliary after the question word ("did" in "When did he visit?")."""
    wh = next((i for i, t in enumerate(tokens) if t.lower in WH_WORDS), None)
    start = 0 if wh is None else wh + 1
    return next((i for i in range(start, len(tokens)) if tokens[i].lower in AUXILIARIES), None)


def clause_start(tokens: list[Token]) -> int:
    """Where the clause after the question word and its auxiliary (or its verb) begins."""
    aux = main_auxiliary(tokens)
    if aux is not None:
        return aux + 1
    wh = next((i for i, t in enumerate(tokens) if t.lower in WH_WORDS), -1)
    return wh + 2  # a subject question: skip its verb ("What happened to it?")


def wh_phrase_end(tokens: list[Token]) -> int:
    """Where the question word's phrase ends ("How many people" | "did ..."), or 0 without one."""
    wh = next((i for i, t in enumerate(tokens) if t.lower in WH_WORDS), None)
    if wh is None:
        return 0
    aux = next((i for i in range(wh + 1, min(len(tokens), wh + 5)) if tokens[i].lower in AUXILIARIES), None)
    if aux is not None:
        return aux
    end = wh + 1
    while end < len(tokens) and tokens[end].lower in WH_ADJECTIVES:
        end += 1
    return end
