"""English analyser: text → search terms, shared by chunks (index time) and questions (query time).

Lower-cases, applies Unicode NFKC, splits into runs of letters and digits, and stems with the
Snowball English stemmer (PyStemmer). Numbers and years ("2000", "270") pass through unchanged.
Questions additionally drop stopwords (`question_terms`); chunks keep every term, so that BM25
document lengths count every word.
"""

import re
import unicodedata
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+")
_stemmer = Stemmer.Stemmer("english")

#: Words that carry no topic in a question: function words and question words.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom whose why will with would you your yours yourself yourselves s t don ll ve re d m
    tell know please also get got
    """.split()
)


def normalise(text: str) -> str:
    """Return ``text`` in the form the analyser reads: NFKC, lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def words(text: str) -> list[str]:
    """Split ``text`` into normalised words (letters and digits), before stemming."""
    return _WORD.findall(normalise(text))


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    """Every stemmed term of ``text`` in order, stopwords included (how chunks are indexed)."""
    return [_stem(w) for w in words(text)]


def question_terms(text: str) -> list[str]:
    """The distinct stemmed terms of a question, stopwords removed, in order of first appearance.

    A question made only of stopwords ("who are they?") keeps its words, so it can still match.
    """
    found = words(text)
    content = [w for w in found if w not in STOPWORDS] or found
    return list(dict.fromkeys(_stem(w) for w in content))
