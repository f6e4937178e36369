"""Ranking a reading's candidate spans, and the no-answer rule: what ``ExtractiveReader`` does after the model.

The model (``retrieval.reader``) reads a question's windows and gives every candidate span its raw
start + end logits (a ``Span`` of a ``Reading``). Here each span also gets the evidence a reader of
the article would weigh (``with_evidence``):

- **agreement** of its kind with the question's (``retrieval.answer_types``): +1 when a "how far"
  question gets a distance, -1 when it gets a year, 0 when either is unknown;
- **coverage**: the share of the question's content terms that the span's own sentence holds.

A span that is a bare number is first **completed** by the word after it when the question asks
for that word or it is a unit of the kind asked ("212" → "212 people" for "How many people…?",
"3" → "3 metres" for "How deep…?"): the model often stops at the number, and a count is read with
what it counts.

A ``Rule`` says how much each counts. Spans are ranked by ``logits + fusion_weight * BM25 +
kind_weight * agreement + sentence_weight * coverage``; the best one is an answer when its
confidence reaches ``threshold``:
its margin over the null logit plus ``bm25_weight`` x its passage's BM25 score, ``lead_weight`` x
its lead over the next different answer (at most ``MAX_LEAD``), ``agreement_weight`` x its
agreement and ``coverage_weight`` x its coverage. ``qabot tune`` chooses the weights
(``evaluation.tuning``); a model's profile keeps them (``models.profile``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from qabot.index.analysis import question_terms, terms
from qabot.retrieval.answer_types import agreement, is_unit, question_kind, span_kinds
from qabot.retrieval.windows import Window

#: The most a top answer's lead over the next different answer counts for (logits).
MAX_LEAD = 5.0


@dataclass(frozen=True)
class Span:
    """A candidate answer read in a window, with the raw scores used to rank and accept it.

    :param window: index of its window in ``Reading.windows``.
    :param start: article offset of its first character.
    :param end: article offset just past its last character.
    :param text: ``article text[start:end]``.
    :param logit: raw start + end logit.
    :param null: the null (``[CLS]``) start + end logit of the model window it was read in.
    :param bm25: the retrieval score of its window's passage.
    :param agreement: its kind against the question's: 1, 0 or -1 (``with_evidence``).
    :param coverage: the share of the question's content terms its sentence holds (``with_evidence``).
    """

    window: int
    start: int
    end: int
    text: str
    logit: float
    null: float
    bm25: float
    agreement: float = 0.0
    coverage: float = 0.0


@dataclass(frozen=True)
class Reading:
    """What the model made of a question's windows: every candidate span and the null logit.

    :param windows: the windows read.
    :param spans: candidate spans, each window's best ``spans_per_window``.
    :param null: the lowest null logit over all model windows (``inf`` when nothing was read).
    :param tokens: tokens fed to the model, padding excluded.
    """

    windows: tuple[Window, ...]
    spans: tuple[Span, ...]
    null: float
    tokens: int


@dataclass(frozen=True)
class Rule:
    """How spans are ranked, and the confidence the best one needs (see the module docstring)."""

    fusion_weight: float = 1.0
    kind_weight: float = 0.0
    sentence_weight: float = 0.0
    threshold: float = 0.0
    bm25_weight: float = 0.0
    lead_weight: float = 0.0
    agreement_weight: float = 0.0
    coverage_weight: float = 0.0


#: The word right after a span, separated by one space.
_NEXT_WORD = re.compile(r" ([^\W\d_]+)\b")


def completed(span: Span, window: Window, asked: set[str], asked_kind: str | None) -> Span:
    """The span, a bare number extended by the next word when the question asks for it (one of its
    terms) or it is a unit of the kind asked; any other span as it is."""
    if not span.text[-1:].isdigit():
        return span
    after = _NEXT_WORD.match(window.text, span.end - window.start)
    if not after or not (asked & set(terms(after.group(1))) or is_unit(asked_kind, after.group(1))):
        return span
    end = window.start + after.end()
    return replace(span, end=end, text=window.text[span.start - window.start : after.end()])


def with_evidence(question: str, spans: list[Span], windows: list[Window]) -> list[Span]:
    """The spans, each completed (``completed``) and with its agreement and coverage (one analysis
    of each sentence)."""
    asked_kind = question_kind(question)
    asked = set(question_terms(question))
    sentences: dict[tuple[int, int], tuple[str, float]] = {}

    def sentence_of(span: Span) -> tuple[str, float]:
        window = windows[span.window]
        bounds = next(((s, e) for s, e in window.sentences if s <= span.start < e), (span.start, span.end))
        if bounds not in sentences:
            text = window.text[bounds[0] - window.start : bounds[1] - window.start]
            sentences[bounds] = (text, len(asked & set(terms(text))) / len(asked) if asked else 0.0)
        return sentences[bounds]

    evidenced = []
    for span in spans:
        span = completed(span, windows[span.window], asked, asked_kind)
        sentence, coverage = sentence_of(span)
        kind = agreement(asked_kind, span_kinds(span.text, sentence))
        evidenced.append(replace(span, agreement=kind, coverage=coverage))
    return evidenced


def rank_score(span: Span, rule: Rule) -> float:
    """What spans are ranked by: their logits plus the weighted passage BM25, agreement and coverage."""
    return (
        span.logit + rule.fusion_weight * span.bm25 + rule.kind_weight * span.agreement
        + rule.sentence_weight * span.coverage
    )


def ranked_spans(reading: Reading, rule: Rule) -> list[Span]:
    """A reading's spans, best first by ``rank_score``."""
    return sorted(reading.spans, key=lambda s: -rank_score(s, rule))


def confidence(reading: Reading, ranked: list[Span], i: int = 0, *, rule: Rule) -> float:
    """The no-answer rule's confidence in span ``ranked[i]``: its margin over the null logit plus the
    weighted evidence (passage BM25, lead over the answers ranked after it, agreement, coverage)."""
    span = ranked[i]
    value = (
        span.logit - reading.null
        + rule.bm25_weight * passage_bm25(reading, span)
        + rule.agreement_weight * span.agreement
        + rule.coverage_weight * span.coverage
    )
    return value + rule.lead_weight * lead(reading, ranked, i) if rule.lead_weight else value


def lead(reading: Reading, ranked: list[Span], i: int = 0) -> float:
    """How far the logits of span ``ranked[i]`` beat those of the next span ranked after it that is
    another answer, at most ``MAX_LEAD`` (also when there is none)."""
    if i >= len(ranked):
        return 0.0
    span = ranked[i]
    other = next((s for s in ranked[i + 1 :] if not same_answer(s, span, reading.windows)), None)
    return MAX_LEAD if other is None else min(MAX_LEAD, span.logit - other.logit)


def passage_bm25(reading: Reading, span: Span) -> float:
    """The BM25 score of the passage a span was read in, without the encoder's re-scoring."""
    return reading.windows[span.window].passage.bm25_score


def same_answer(span: Span, other: Span, windows: tuple[Window, ...]) -> bool:
    """Equal texts (ignoring case and spacing), or overlapping spans of one article."""
    if " ".join(span.text.lower().split()) == " ".join(other.text.lower().split()):
        return True
    same_article = windows[span.window].passage.article_id == windows[other.window].passage.article_id
    return same_article and span.start < other.end and other.start < span.end
