"""The records the store hands out: an article as listed, an article with its text, and a chunk.

Part of ``index/``: ``index.store`` makes them from its rows; the rest of qabot reads them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ArticleInfo:
    """An article without its text, as listed."""

    id: int
    title: str
    url: str | None
    site: str | None
    published: str | None
    added_at: str
    added_by: str | None
    chunks: int


@dataclass(frozen=True)
class Article(ArticleInfo):
    """A stored article with its full text."""

    text: str


@dataclass(frozen=True)
class StoredChunk:
    """A chunk row: ``article.text[start:end] == text``."""

    id: int
    article_id: int
    ordinal: int
    start: int
    end: int
    text: str
