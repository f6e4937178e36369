"""Retrieval types: what search hands the reader (``Passage``) and what the reader hands the bot.

Frozen dataclasses; a stage that refines one returns a copy (``dataclasses.replace``).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its source: ``article text[start:end] == text``."""

    chunk_id: int
    article_id: int
    title: str
    url: str | None
    published: str | None
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class Answer:
    """An answer cited to its article: ``article text[start:end] == text``.

    ``context`` is the sentence (or sentences) holding the answer, ``article text[context_start:
    context_start + len(context)]``, so the answer can be shown in bold inside it.
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

    @classmethod
    def cited(
        cls, passage: Passage, *, text: str, score: float, start: int, end: int, context: str,
        context_start: int,
    ) -> "Answer":
        """An answer found in ``passage``, cited to its article."""
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
        )


@dataclass(frozen=True)
class Result:
    """What ``answer()`` found for a question.

    :param reader: ``"span"`` (the extractive model) or ``"sentence"`` (the offline fallback).
    :param no_answer: True when nothing read clears the no-answer threshold: the articles do not
        seem to answer the question; ``answers`` is then empty and ``passages`` shows what was read.
    :param passages: the passages that were read, best first (the "Sources").
    """

    question: str
    reader: str
    no_answer: bool
    answers: tuple[Answer, ...]
    passages: tuple[Passage, ...]
