"""Windows: what of the retrieved passages the extractive reader reads (``retrieval.reader``, step 1).

Overlapping passages of one article are stitched into one stretch of text, so no sentence is read
twice. Every sentence is scored against the question: BM25 over the passages' sentences, plus a
quarter of the previous sentence's score, times ``1 + bm25 / best bm25`` of its passage, times 1.6
when it holds the kind of thing asked for (a date for "when", a number for "how many", a name for
"who"). The best sentences are taken until ``window_words`` (250) words are chosen or the next one
scores under ``min_sentence_share`` (0.4) of the best; the two best come with one neighbour on
either side. Runs of consecutive chosen sentences are the windows, cut between sentences at
``max_window_words`` (120, about a SQuAD paragraph: what extractive readers are trained on).
"""

from __future__ import annotations

from dataclasses import dataclass

from qabot.index.analysis import question_terms, terms
from qabot.index.chunking import split_sentences
from qabot.retrieval.answer_types import mentions, question_kind
from qabot.retrieval.sentence_reader import sentence_bm25
from qabot.retrieval.types import Passage

#: Words of the passages' best sentences (with their neighbours) read per question.
WINDOW_WORDS = 400
#: Most words in one window: longer runs of chosen sentences are cut between sentences (about the
#: length of a SQuAD paragraph, what extractive readers are trained on).
MAX_WINDOW_WORDS = 120
#: Sentences scoring under this share of the best sentence's score are not read.
MIN_SENTENCE_SHARE = 0.2
#: Sentences read on either side of the best sentences.
NEIGHBOURS = 1
#: How many of the best sentences are read with their neighbours (the others are read alone).
WITH_NEIGHBOURS = 2
#: A sentence holding the kind of thing asked for (a date for "when", a number for "how many", a
#: name for "who") scores this much more (as in the sentence reader).
TYPE_BONUS = 0.6
#: Share of the previous sentence's match added to a sentence's (answers follow their topic).
PREVIOUS_WEIGHT = 0.25


@dataclass(frozen=True)
class Window:
    """A stretch of one article the model reads: ``article text[start:start + len(text)] == text``.

    :param passage: the retrieved passage it was read from (the best-scored one if several overlap).
    :param start: offset of ``text`` in the article.
    :param text: whole sentences of the article.
    :param sentences: ``(start, end)`` article offsets of its sentences, in order.
    :param bm25: the best retrieval score of the passages it comes from.
    """

    passage: Passage
    start: int
    text: str
    sentences: tuple[tuple[int, int], ...]
    bm25: float

    @property
    def end(self) -> int:
        """Offset just past the window in the article."""
        return self.start + len(self.text)


def choose_windows(
    question: str,
    passages: list[Passage],
    *,
    window_words: int | None = WINDOW_WORDS,
    max_window_words: int | None = MAX_WINDOW_WORDS,
    min_sentence_share: float = MIN_SENTENCE_SHARE,
) -> list[Window]:
    """The stretches of the passages to read for ``question``, in passage order.

    With ``window_words=None`` the passages are read whole (overlaps stitched once).

    :param question: the user's question.
    :param passages: retrieved passages, best first.
    """
    segments = _segments(passages)
    if window_words is None:
        return [
            Window(s.passages[0], s.start, s.text, tuple(s.sentence_spans()), s.best_score)
            for s in segments
        ]
    sentences = [(seg, i) for seg in segments for i in range(len(seg.sentences))]
    if not sentences:
        return []
    scores = _sentence_scores(question, segments)
    chosen: set[tuple[int, int]] = set()
    ranked = sorted(range(len(sentences)), key=lambda n: -scores[n])
    best = scores[ranked[0]]
    if best <= 0:  # no word of the question found: read the best passage's start
        ranked = list(range(len(segments[0].sentences)))
    words = 0
    for rank, n in enumerate(ranked):
        if words >= window_words or (best > 0 and scores[n] < min_sentence_share * best):
            break
        seg, i = sentences[n]
        around = NEIGHBOURS if rank < WITH_NEIGHBOURS else 0
        for j in range(max(0, i - around), min(len(seg.sentences), i + around + 1)):
            if (seg.index, j) not in chosen:
                chosen.add((seg.index, j))
                words += seg.words[j]
    return [window for seg in segments for window in seg.windows(chosen, max_window_words)]


class _Segment:
    """Overlapping passages of one article stitched into one stretch of text, split into sentences."""

    def __init__(self, index: int, passages: list[Passage]):
        self.index = index
        self.passages = sorted(passages, key=lambda p: -p.score)
        first = min(passages, key=lambda p: p.start)
        self.start = first.start
        text = first.text
        for p in sorted(passages, key=lambda p: p.start):
            end = self.start + len(text)
            if p.end > end:
                text += p.text[end - p.start :]
        self.text = text
        self.best_score = self.passages[0].score
        self.sentences = [(self.start + s.start, self.start + s.end) for s in split_sentences(text)]
        self.words = [len(self.sentence_text(i).split()) for i in range(len(self.sentences))]

    def sentence_text(self, i: int) -> str:
        start, end = self.sentences[i]
        return self.text[start - self.start : end - self.start]

    def sentence_spans(self) -> list[tuple[int, int]]:
        return list(self.sentences)

    def passage_score(self, i: int) -> float:
        """The best score of the passages holding sentence ``i`` (or touching it)."""
        start, end = self.sentences[i]
        holding = [p.score for p in self.passages if p.start <= start and end <= p.end]
        return max(holding or [p.score for p in self.passages if p.start < end and start < p.end])

    def windows(self, chosen: set[tuple[int, int]], max_words: int | None = None) -> list[Window]:
        """Runs of consecutive chosen sentences, cut at sentence boundaries into windows of at
        most ``max_words`` words (a longer sentence is a window of its own)."""
        runs, run = [], []
        for i in range(len(self.sentences) + 1):
            if i < len(self.sentences) and (self.index, i) in chosen:
                run.append(i)
            elif run:
                runs.append(run)
                run = []
        return [self._window(piece) for run in runs for piece in self._pieces(run, max_words)]

    def _pieces(self, run: list[int], max_words: int | None) -> list[list[int]]:
        if max_words is None:
            return [run]
        pieces, current, count = [], [], 0
        for i in run:
            if current and count + self.words[i] > max_words:
                pieces.append(current)
                current, count = [], 0
            current.append(i)
            count += self.words[i]
        pieces.append(current)
        return pieces

    def _window(self, piece: list[int]) -> Window:
        start, end = self.sentences[piece[0]][0], self.sentences[piece[-1]][1]
        passage = max((p for p in self.passages if p.start < end and start < p.end), key=lambda p: p.score)
        return Window(
            passage=passage,
            start=start,
            text=self.text[start - self.start : end - self.start],
            sentences=tuple(self.sentences[j] for j in piece),
            bm25=max(self.passage_score(j) for j in piece),
        )


def _segments(passages: list[Passage]) -> list[_Segment]:
    """Passages grouped into stretches of article text, in the order of each stretch's best passage."""
    by_article: dict[int, list[Passage]] = {}
    for p in passages:
        by_article.setdefault(p.article_id, []).append(p)
    groups: list[list[Passage]] = []
    for article_passages in by_article.values():
        current: list[Passage] = []
        for p in sorted(article_passages, key=lambda p: p.start):
            if current and p.start < max(q.end for q in current):
                current.append(p)
            else:
                current = [p]
                groups.append(current)
    groups.sort(key=lambda g: min(passages.index(p) for p in g))
    return [_Segment(i, group) for i, group in enumerate(groups)]


def _sentence_scores(question: str, segments: list[_Segment]) -> list[float]:
    """BM25 of every sentence against the question, raised by its passage's retrieval score and
    by holding the kind of thing asked for."""
    sentence_terms = [terms(seg.sentence_text(i)) for seg in segments for i in range(len(seg.sentences))]
    matches, _ = sentence_bm25(question_terms(question), sentence_terms)
    best_passage = max(seg.best_score for seg in segments) or 1.0
    kind = question_kind(question)
    scores, n = [], 0
    for seg in segments:
        for i in range(len(seg.sentences)):
            match = matches[n] + (PREVIOUS_WEIGHT * matches[n - 1] if i else 0.0)
            score = match * (1 + seg.passage_score(i) / best_passage)
            if mentions(kind, seg.sentence_text(i), question):
                score *= 1 + TYPE_BONUS
            scores.append(score)
            n += 1
    return scores
