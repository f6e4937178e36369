"""The words of questions and answers, for ``retrieval.followup``: tokens with their offsets, the
closed word classes a follow-up is recognised by, and names (runs of capitalised words).

Pure and small on purpose: no parser or tagger is loaded; English questions are short, and these
closed lists (question words, auxiliaries, pronouns, prepositions) are what tells a follow-up.
"""

import re
from dataclasses import dataclass

from index.analysis import STOPWORDS

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
