"""Sentence reader: the offline reader. Picks the sentences of the retrieved passages that answer best.

No QA model needed. Each sentence of the top passages is scored by BM25 against the question
(idf from the sentences read), raised by: how close together the matched words stand, question
word pairs found side by side, part of the previous sentence's match (answers often follow the
sentence that names the topic), words the question does not already hold (a sentence that only
restates the question answers nothing), the retrieval score of its passage, and holding the kind of
thing asked for (``retrieval.answer_types``: a date for "when", a number for "how many", a name for
"who"). With the
all-MiniLM-L6-v2 encoder installed, the cosine similarity of question and sentence is added.
The best sentence answers in full, with the same fields as a span answer.

No answer: when the best sentence and its neighbour cover less than ``min_coverage`` of the
question's idf weight, the articles do not seem to answer the question.
"""

import math
from collections import Counter
from dataclasses import dataclass

from qabot.index.analysis import STOPWORDS, question_terms, terms
from qabot.index.chunking import split_sentences
from qabot.retrieval.answer_types import mentions, question_kind
from qabot.retrieval.encoder import Encoder
from qabot.retrieval.types import Answer, Passage

K1 = 1.2
B = 0.75
_STOP_TERMS = frozenset(terms(" ".join(STOPWORDS)))


@dataclass(frozen=True)
class _Sentence:
    passage: Passage
    start: int  # offsets in the article
    end: int
    text: str
    terms: tuple[str, ...]


class SentenceReader:
    """The offline reader: answers with the best sentences of the passages (``reader == "sentence"``).

    :param encoder: an ``Encoder`` to add question-sentence similarity, or None for words only.
    :param min_coverage: the share of the question's idf weight the best sentence (with its
        neighbour) must match, or the reader says the articles do not answer it.
    """

    name = "sentence"

    def __init__(
        self,
        *,
        encoder: Encoder | None = None,
        min_coverage: float = 0.25,
        type_bonus: float = 0.6,
        passage_weight: float = 1.0,
        proximity_weight: float = 0.25,
        pair_weight: float = 0.3,
        neighbour_weight: float = 0.25,
        novelty_weight: float = 1.0,
        encoder_weight: float = 2.0,
    ):
        self.encoder = encoder
        self.min_coverage = min_coverage
        self.type_bonus = type_bonus
        self.passage_weight = passage_weight
        self.proximity_weight = proximity_weight
        self.pair_weight = pair_weight
        self.neighbour_weight = neighbour_weight
        self.novelty_weight = novelty_weight
        self.encoder_weight = encoder_weight

    def warm_up(self) -> None:
        """Load the encoder, if there is one (the word features need nothing)."""
        if self.encoder:
            self.encoder.warm_up()

    def read(self, question: str, passages: list[Passage], *, top_k: int = 3) -> list[Answer]:
        """The ``top_k`` best sentences as answers, best first; empty when none answers.

        :param question: the user's question.
        :param passages: retrieved passages, best first.
        :param top_k: how many answers at most.
        """
        return self.read_with_unsure(question, passages, top_k=top_k)[0]

    def read_with_unsure(
        self, question: str, passages: list[Passage], *, top_k: int = 3
    ) -> tuple[list[Answer], list[Answer]]:
        """``read``'s answers; and when there are none, the best sentences under ``min_coverage``,
        for a front end to show as not certain."""
        answers, coverage = self.ranked(question, passages, top_k=top_k)
        return (answers, []) if answers and coverage >= self.min_coverage else ([], answers)

    def ranked(self, question: str, passages: list[Passage], *, top_k: int = 3) -> tuple[list[Answer], float]:
        """The ``top_k`` best sentences whatever ``min_coverage`` says, and the best one's coverage.

        ``read`` answers with them when the coverage reaches ``min_coverage``;
        ``benchmarks/tune_sentence_reader.py`` chooses that value from the coverages.
        """
        asked = question_terms(question)
        sentences = _sentences(passages)
        if not asked or not sentences:
            return [], 0.0
        matches, idf = sentence_bm25(asked, [s.terms for s in sentences])
        scores = self._scores(question, asked, sentences, matches, max(p.score for p in passages))
        ranked = sorted(
            (i for i in range(len(sentences)) if matches[i] > 0), key=lambda i: -scores[i]
        )
        if not ranked:
            return [], 0.0
        coverage = self._coverage(ranked[0], sentences, idf)
        answers, seen = [], set()
        for i in ranked:
            key = (sentences[i].passage.article_id, sentences[i].start)
            if key not in seen:  # the same sentence read from two overlapping chunks
                seen.add(key)
                answers.append(_answer(sentences[i], scores[i]))
            if len(answers) == top_k:
                break
        return answers, coverage

    def _scores(self, question, asked, sentences, matches, best_passage) -> list[float]:
        asked_set = set(asked)
        every_term = terms(question)
        pairs = set(zip(every_term, every_term[1:]))
        kind = question_kind(question)
        scores = []
        for i, s in enumerate(sentences):
            match = matches[i]
            if i and sentences[i - 1].passage is s.passage:
                match += self.neighbour_weight * matches[i - 1]
            novel = len({t for t in s.terms if t not in asked_set and t not in _STOP_TERMS})
            score = match * (1 + self.novelty_weight * min(novel, 6) / 6)
            score *= 1 + self.proximity_weight * _proximity(s.terms, asked_set)
            score *= 1 + self.pair_weight * len(pairs & set(zip(s.terms, s.terms[1:])))
            score *= 1 + self.passage_weight * s.passage.score / (best_passage or 1.0)
            if mentions(kind, s.text, question):
                score *= 1 + self.type_bonus
            scores.append(score)
        if self.encoder and any(scores):
            top = max(scores)
            vectors = self.encoder.encode([question] + [s.text for s in sentences])
            similarity = vectors[1:] @ vectors[0]
            scores = [s / top + self.encoder_weight * float(c) for s, c in zip(scores, similarity)]
        return scores

    @staticmethod
    def _coverage(i: int, sentences: list[_Sentence], idf: dict[str, float]) -> float:
        """The share of the question's idf weight found in sentence ``i`` and the one before it."""
        found = set(sentences[i].terms)
        if i and sentences[i - 1].passage is sentences[i].passage:
            found |= set(sentences[i - 1].terms)
        return sum(w for t, w in idf.items() if t in found) / (sum(idf.values()) or 1.0)


def _sentences(passages: list[Passage]) -> list[_Sentence]:
    found = []
    for passage in passages:
        for span in split_sentences(passage.text):
            text = passage.text[span.start : span.end]
            found.append(
                _Sentence(passage, passage.start + span.start, passage.start + span.end, text,
                          tuple(terms(text)))
            )
    return found


def sentence_bm25(asked: list[str], sentences: list) -> tuple[list[float], dict[str, float]]:
    """BM25 of each sentence (a sequence of terms) against the question's terms, with idf counted
    over these sentences only; and that idf. Both readers choose sentences with it.
    """
    df = Counter(t for terms_ in sentences for t in set(terms_))
    n = len(sentences)
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in asked}
    avgdl = sum(len(terms_) for terms_ in sentences) / n if n else 1.0
    scores = []
    for terms_ in sentences:
        counts = Counter(terms_)
        norm = K1 * (1 - B + B * len(terms_) / (avgdl or 1.0))
        scores.append(sum(w * counts[t] * (K1 + 1) / (counts[t] + norm) for t, w in idf.items() if counts[t]))
    return scores, idf


def _proximity(sentence_terms: tuple[str, ...], asked: set[str]) -> float:
    """1 when the matched question words stand side by side, falling as they spread out."""
    positions = [i for i, t in enumerate(sentence_terms) if t in asked]
    matched = len({sentence_terms[i] for i in positions})
    if matched < 2:
        return 0.0
    return matched / (positions[-1] - positions[0] + 1)


def _answer(sentence: _Sentence, score: float) -> Answer:
    return Answer.cited(
        sentence.passage,
        text=sentence.text,
        score=score,
        start=sentence.start,
        end=sentence.end,
        context=sentence.text,
        context_start=sentence.start,
    )
