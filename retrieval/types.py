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
