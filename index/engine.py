"""Search engines behind one small interface: the embedded SQLite BM25 index, or Xapian shards.

``QABOT_INDEX`` chooses (``open_index``): unset (or ``sqlite``), the embedded index of
``index.bm25``, kept in the article's own transaction; ``xapian://HOST:PORT,HOST:PORT`` (any number of
shards), Xapian's remote backend (``index.xapian_index``), kept through the outbox (``index.outbox``).
Both answer the store's ``search_chunks`` with ``Hits``, best first, and say in ``Hits.missing`` when
part of the collection could not be searched (a shard that is down). Nothing here contacts a shard:
only the Xapian engine does, and only the addresses it was given.
"""

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from qabot.index import outbox


class IndexUnavailable(LookupError):
    """The configured search index cannot be searched; the message says why and what to do."""


class IndexedChunk(NamedTuple):
    """What an index holds of a chunk: its id, its article's id and its analysed terms (space-separated)."""

    id: int
    article_id: int
    terms: str


class Hits(list):
    """``(chunk_id, score)`` pairs, best first; ``missing`` says why part of the collection was not
    searched (None: all of it was)."""

    missing: str | None = None


class SearchIndex(Protocol):
    """What the store asks of a search index."""

    #: ``sqlite`` or the ``xapian://`` address list.
    name: str

    def add(self, chunks: Sequence[IndexedChunk]) -> None:
        """Index these chunks (replacing what an index holds under their ids)."""

    def remove(self, chunks: Sequence[IndexedChunk]) -> None:
        """Take these chunks out of the index."""

    def search(self, terms: list[str], k: int) -> Hits:
        """The ``k`` best chunks for analysed query terms (OR), best first; equal scores by chunk id.

        :raises index.bm25.EmptyIndex: the collection has no chunks.
        :raises IndexUnavailable: no part of the index can be searched.
        """

    def count(self) -> dict[str, int | None]:
        """Documents held by each part of the index (None: a part that could not be reached)."""

    def check(self, *, sample: int) -> list[str]:
        """Compare the index with the store; the differences, in words (empty when they agree).

        :param sample: how many chunks to compare document by document.
        """

    def before_write(self) -> None:
        """Called before an article is stored."""

    def after_commit(self) -> int:
        """Called after a transaction that changed articles committed: push what it owes the index
        (``catch_up``); never raises. How many articles were pushed."""

    def catch_up(self) -> int:
        """Push what the outbox owes this index; how many articles were pushed."""

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> dict:
        """Build this index afresh from the store (resumable) and make it the one kept; a summary.

        :param progress: called with ``(articles done, articles in all)`` as it goes.
        """

    def close(self) -> None:
        """Let go of any connection."""


#: ``QABOT_INDEX`` values that mean the embedded index.
EMBEDDED_NAMES = ("", "sqlite")
_SHARD = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})")


def shards_of(url: str) -> list[tuple[str, int]]:
    """The ``(host, port)`` of each shard of ``xapian://HOST:PORT,HOST:PORT``, in order.

    :raises ValueError: not such a list (the message says what it must be).
    """
    expected = "expected sqlite, or xapian://HOST:PORT,HOST:PORT (one address per shard)"
    scheme, _, rest = url.strip().partition("://")
    if scheme.lower() != "xapian" or not rest:
        raise ValueError(expected)
    shards = []
    for part in rest.rstrip("/").split(","):
        found = _SHARD.fullmatch(part.strip())
        if not found or not 0 < int(found["port"]) < 65536:
            raise ValueError(f"{expected}; {part.strip()!r} is not HOST:PORT")
        shards.append((found["host"].strip("[]"), int(found["port"])))
    if len(set(shards)) != len(shards):
        raise ValueError(f"{expected}; a shard is listed twice")
    return shards


def normalised(url: str | None) -> str | None:
    """``QABOT_INDEX`` as the store takes it: None for the embedded index, else ``xapian://h:p,h:p``.

    :raises ValueError: neither (see ``shards_of``).
    """
    if url is None or url.strip().lower() in EMBEDDED_NAMES:
        return None
    return "xapian://" + ",".join(
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in shards_of(url)
    )


def open_index(url: str | None, store) -> SearchIndex:
    """The search index ``url`` names, for this store (nothing is contacted yet).

    :param url: ``QABOT_INDEX``: None or ``sqlite`` for the embedded index, else Xapian shards.
    :raises ValueError: ``url`` names neither.
    """
    url = normalised(url)
    if url is None:
        return EmbeddedIndex(store)
    from qabot.index.xapian_index import XapianIndex

    return XapianIndex(url, shards_of(url), store)


class EmbeddedIndex:
    """The BM25 index in the store's own SQLite file (``index.bm25``), unchanged: written inside the
    article's transaction, searched inside a read snapshot."""

    name = outbox.EMBEDDED

    def __init__(self, store):
        self.store = store

    def add(self, chunks: Sequence[IndexedChunk]) -> None:
        """Index chunks just stored (inside the store's transaction)."""
        self.store.index.add([chunk.id for chunk in chunks])

    def remove(self, chunks: Sequence[IndexedChunk]) -> None:
        """Take chunks about to be deleted out of the index (inside the store's transaction)."""
        self.store.index.remove([(chunk.id, chunk.terms) for chunk in chunks])

    def search(self, terms: list[str], k: int) -> Hits:
        """``bm25.ChunkIndex.search`` in a read snapshot.

        :raises IndexUnavailable: the collection is kept on Xapian shards instead.
        """
        with self.store.snapshot():
            if not outbox.embedded_live(self.store.db.conn):
                raise IndexUnavailable(self._elsewhere())
            return Hits(self.store.index.search(terms, k))

    def _elsewhere(self) -> str:
        """What to do when the collection is searched on Xapian shards, not here."""
        kept = [t for t in outbox.targets(self.store.db.conn) if t.live]
        where = f" ({kept[0].url})" if kept and kept[0].url else ""
        return (
            f"the collection {self.store.path} is searched on Xapian shards{where}: set QABOT_INDEX to"
            " them, or run qabot reindex without QABOT_INDEX to search it in SQLite again"
        )

    def count(self) -> dict[str, int | None]:
        """``{"sqlite": chunks indexed}``."""
        with self.store.lock:
            return {self.name: self.store.index.stats()[0]}

    def check(self, *, sample: int = 0) -> list[str]:
        """Nothing beyond ``Store.verify`` (which checks this index), unless the collection is kept
        on Xapian instead."""
        with self.store.lock:
            if outbox.embedded_live(self.store.db.conn):
                return []
            return [f"the search index was not checked: {self._elsewhere()}"]

    def before_write(self) -> None:
        """Nothing: the index is written in the article's transaction."""

    def after_commit(self) -> int:
        """Nothing: the index was written in the article's transaction."""
        return 0

    def catch_up(self) -> int:
        """Nothing to push: 0."""
        return 0

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> dict:
        """Rebuild the postings from the chunks' stored terms in one transaction (an interrupted
        rebuild rolls back: run it again), make this index the one searched and drop any Xapian
        generation with what its outbox owed it."""
        store = self.store
        with store.lock, store.transaction():
            total = store.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            rows = store.db.execute("SELECT id, terms FROM chunks ORDER BY id")

            def counted():
                for done, row in enumerate(rows, 1):
                    yield row
                    if progress and (done % 5000 == 0 or done == total):
                        progress(done, total)

            store.index.rebuild(counted())
            dropped = outbox.keep_embedded(store.db.conn)
        return {"index": self.name, "chunks": total, "dropped": dropped}

    def close(self) -> None:
        """Nothing to let go of (the store closes the file)."""
