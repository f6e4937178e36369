"""Is a question in English? A cheap check, so that a question in another language is told plainly that
qabot reads English, instead of "the articles do not seem to answer that".

qabot's analyser (``index.analysis``), encoder and readers are English only. A question is judged
*not English* when most of its letters are of another script than Latin (Cyrillic, Greek, Arabic,
Hebrew, Devanagari, CJK, Hangul, ...), or when its words include more function words of another
language (French, Spanish, Portuguese, Italian, German, Dutch, Polish, Turkish: articles,
auxiliaries, question words) than English stopwords of two letters or more, with at least two of
them or a question word leading ("Qui a conduit ...", "Wer fuhr ...", "Kto prowadził ...").
Keyword queries ("Putin Pyongyang visit", "La Liga winner", "El Niño forecast") have too few of
them to be judged.

Measured: none of the 88 questions of examples/answers.yaml is judged not English, nor of 3,366
SQuAD 2.0 dev questions; of the 85,953 English questions of SQuAD 1.1 train, one is ("Who composed
the La conquista della Spagne di Scipione Afriacano il giovance?"); 53 of the 57 translations of
sample questions into 17 languages in tests/retrieval/test_language.py are (the four missed are
made of words English has too: "Was hat die Bank von Norland beschlossen?").
"""

import unicodedata

from index.analysis import STOPWORDS, words

#: Question words of other languages written in the Latin script that are not English words.
FOREIGN_QUESTION_WORDS = frozenset(
    """
    qui quand quel quelle quels quelles combien où pourquoi comment
    qué quién quiénes cuándo cuánto cuánta cuántos cuántas dónde cómo cuál cuáles
    quem quando quanto quantos quantas onde porquê chi cosa dove perché
    wer wann wie warum welche welcher welches welchem wanneer hoeveel waar waarom
    kto kiedy ile gdzie dlaczego czy nerede neden nasıl kaç
    """.split()
)
#: Those and other function words of these languages (articles, auxiliaries, prepositions) that are
#: not English words either ("die", "do", "has", "hat", "was", "con", "in", "a" are left out).
FOREIGN_FUNCTION_WORDS = FOREIGN_QUESTION_WORDS | frozenset(
    """
    le la les des du au aux est sont une il elle ils elles été avec dans sur ont avait était leur
    cette ces qu que el los las por del una es fue fueron están para porque os é são foi da das dos em
    pela pelo lo gli della dello delle degli nel nella è sono ha hanno di der das ist sind haben
    wurde wurden ein eine einen und von mit für zum zur nicht het een zijn heeft hebben werd voor
    naar jest był była było dla się mı mi mu mü ne zaman
    """.split()
)


def _non_latin_share(text: str) -> float:
    """The share of the text's letters that are not of the Latin script (0 when it has none)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return 1 - latin / len(letters)


def looks_english(question: str) -> bool:
    """Whether the question may be English: False only when it is clearly in another language."""
    if _non_latin_share(question) > 0.5:
        return False
    found = [w for w in words(question) if not w.isdigit()]
    foreign = [w for w in found if w in FOREIGN_FUNCTION_WORDS]
    # (one letter: the "a", "t", "d" of "a-t-il" and "d'Aldermoor" are not English)
    english = sum(w in STOPWORDS and len(w) > 1 for w in found)
    leading = bool(found) and found[0] in FOREIGN_QUESTION_WORDS
    return not (len(foreign) > english and (len(foreign) >= 2 or leading))
