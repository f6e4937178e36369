"""Retrieval types: what search hands the reader (``Passage``) and what the reader hands the bot.

Frozen dataclasses; a stage that refines one returns a copy (``dataclasses.replace``).
"""

from dataclasses import dataclass

from qabot.index.pages import PAGE_BREAK


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its source: ``article text[start:end] == text``.

    ``page`` is the page of a paged document (a PDF) the chunk begins on, None for other articles.
    ``score`` ranks the passages; ``bm25`` is the BM25 score alone when hybrid search re-scored it
    with the encoder (None: ``score`` is BM25's).
    """

    chunk_id: int
    article_id: int
    title: str
    url: str | None
    published: str | None
    start: int
    end: int
    text: str
    score: float
    page: int | None = None
    bm25: float | None = None

    @property
    def bm25_score(self) -> float:
        """Its BM25 score, with or without the encoder's re-scoring."""
        return self.score if self.bm25 is None else self.bm25


@dataclass(frozen=True)
class Answer:
    """An answer cited to its article: ``article text[start:end] == text``.

    ``context`` is the sentence (or sentences) holding the answer, ``article text[context_start:
    context_start + len(context)]``, so the answer can be shown in bold inside it. ``page`` is the
    page of a paged document (a PDF) the answer is on, None for other articles.
    """

    text: str
    score: float
    article_id: int
    title: str
    url: str | None
    published: str | None
    start: int
    end: int
    context: str
    context_start: int
    page: int | None = None

    @classmethod
    def cited(
        cls, passage: Passage, *, text: str, score: float, start: int, end: int, context: str,
        context_start: int,
    ) -> "Answer":
        """An answer found in ``passage``, cited to its article (and page: the passage's, plus the page
        breaks between the passage's start and the answer's)."""
        page = None
        if passage.page is not None:
            page = passage.page + passage.text.count(PAGE_BREAK, 0, max(start - passage.start, 0))
        return cls(
            text=text,
            score=score,
            article_id=passage.article_id,
            title=passage.title,
            url=passage.url,
            published=passage.published,
            start=start,
            end=end,
            context=context,
            context_start=context_start,
            page=page,
        )


@dataclass(frozen=True)
class Result:
    """What ``answer()`` found for a question.

    :param reader: ``"span"`` (the extractive model) or ``"sentence"`` (the offline fallback).
    :param no_answer: True when nothing read clears the no-answer threshold: the articles do not
        seem to answer the question; ``answers`` is then empty and ``passages`` shows what was read.
    :param passages: the passages that were read, best first (the "Sources").
    :param understood_as: the question as it was read when it leaned on the previous exchange
        ("How old is she?" → "How old is Priya Nandakumar?"; ``retrieval.followup``), else None.
    :param unsure: with no answer, the reader's best candidates under its no-answer bar, best
        first: the sentences most likely to hold the answer, to be shown as not certain.
    :param missing: why part of the collection could not be searched (an index shard that is down,
        ``index.engine.Hits``), to be told with the answer; None when all of it was.
    """

    question: str
    reader: str
    no_answer: bool
    answers: tuple[Answer, ...]
    passages: tuple[Passage, ...]
    understood_as: str | None = None
    unsure: tuple[Answer, ...] = ()
    missing: str | None = None
