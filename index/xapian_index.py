"""Xapian shards as the search index (``QABOT_INDEX=xapian://HOST:PORT,...``): search, push, reindex.

Each shard is a database served by ``xapian-tcpsrv --writable``. A chunk is one document whose id on
its shard is the chunk's id, holding qabot's own analysed terms (``index.analysis``, as stored with the
chunk) with their counts, and a boolean term ``XA<article id>``; an article's chunks all live on shard
``article id % N``. Opening the shards as one ``xapian.Database`` makes Xapian merge their statistics,
so a query is scored as over one database, with ``BM25Weight(K1, 0, 1, B, 0)``: BM25 with the
embedded index's k1 and b (its idf differs from BM25Okapi's for terms in over a third of the chunks,
see README "Scaling out"). A shard that cannot be reached is left out of the query and retried after
``RETRY_SECONDS``; ``Hits.missing`` says so.

Each shard's metadata names the *generation* it belongs to and its place (``qabot:shard`` = ``i/N``);
a shard listed out of order, or holding an index the collection does not keep, is refused rather
than searched. Writing goes through ``index.outbox``: ``catch_up`` takes a shard's write lock first,
then reads the articles owed from SQLite, makes their documents equal to them, commits, and only
then clears their rows; ``reindex`` sweeps every article the same way, recording how far it got.
xapian is imported on first use (the ``qabot[xapian]`` extra).
"""

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

from qabot.index import outbox
from qabot.index.bm25 import K1, B, EmptyIndex
from qabot.index.engine import Hits, IndexedChunk, IndexUnavailable

log = logging.getLogger(__name__)

GENERATION_KEY = "qabot:generation"
SHARD_KEY = "qabot:shard"
#: The boolean term every document of an article carries.
ARTICLE = "XA"
#: Longer terms are indexed as ``H`` + their SHA-1 (Xapian refuses terms over 245 bytes).
MAX_TERM_BYTES = 240
#: A shard that does not answer one request in this long is taken as down.
READ_TIMEOUT_MS = 5_000
CONNECT_TIMEOUT_MS = 2_000
WRITE_TIMEOUT_MS = 120_000
#: A shard found down is tried again after this long (a search meanwhile skips it at once).
RETRY_SECONDS = 5.0
#: Articles synced per shard commit (outbox pushes and reindex).
BATCH_ARTICLES = 500


def _xapian():
    try:
        import xapian
    except ImportError:
        raise IndexUnavailable(
            "QABOT_INDEX names Xapian shards, but the Xapian bindings are not installed:"
            " pip install 'qabot[xapian]'"
        ) from None
    return xapian


def xapian_term(term: str) -> str:
    """A stored term as Xapian holds it: itself, or a hash when too long for Xapian."""
    if len(term.encode()) <= MAX_TERM_BYTES:
        return term
    return "H" + hashlib.sha1(term.encode()).hexdigest()


def document(chunk: IndexedChunk):
    """The Xapian document of a chunk: each term with its count (the length counts every term), and
    the article's boolean term."""
    xapian = _xapian()
    doc = xapian.Document()
    for term, count in Counter(xapian_term(t) for t in chunk.terms.split()).items():
        doc.add_term(term, count)
    doc.add_boolean_term(f"{ARTICLE}{chunk.article_id}")
    return doc


class XapianIndex:
    """The collection's search index on Xapian shards (see the module docstring).

    :param url: ``xapian://HOST:PORT,...`` as normalised by ``index.engine.normalised``.
    :param shards: its ``(host, port)`` pairs, in order.
    :param store: the collection (its lock serialises this index's work too).
    :param retry_seconds: how long a shard found down is skipped before it is tried again.
    """

    def __init__(self, url: str, shards: list[tuple[str, int]], store, *, retry_seconds: float = RETRY_SECONDS):
        self.name = url
        self.shards = shards
        self.addresses = [f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in shards]
        self.store = store
        self.retry_seconds = retry_seconds
        self._readers: dict[int, object] = {}
        self._down: dict[int, tuple[float, str]] = {}  # shard: (when it was found down, why)
        self._generation: str | None = None  # what the shards' metadata names
        self._held: dict[int, str] = {}  # the generation each connected shard holds
        self._pushed_at = float("-inf")
        self._initialised = False

    # --- reading ----------------------------------------------------------------------------------

    def search(self, terms: list[str], k: int) -> Hits:
        """The ``k`` best chunks over the shards that can be reached, best first (see ``SearchIndex``).

        :raises EmptyIndex: the collection has no chunks.
        :raises IndexUnavailable: no shard can be reached, or the shards hold no live index of this
            collection (the message says what to do).
        """
        if k <= 0:
            raise ValueError("k must be positive")
        xapian = _xapian()
        with self.store.lock:
            if self.store.index.stats()[0] == 0:
                raise EmptyIndex("the collection is empty: add articles first")
            readers = self._connected()
            name = self._serving()
            if outbox.waiting(self.store.db.conn, name) and time.monotonic() - self._pushed_at >= self.retry_seconds:
                if self.after_commit():  # (a question is answered whatever the push meets)
                    readers = self._connected()  # reopened: the shards' new commits seen
            query = xapian.Query(xapian.Query.OP_OR, [xapian_term(t) for t in dict.fromkeys(terms)])
            while True:
                order = sorted(readers)
                if not order:
                    raise IndexUnavailable(self._unreachable())
                database = xapian.Database()
                for shard in order:
                    database.add_database(readers[shard])
                enquire = xapian.Enquire(database)
                enquire.set_query(query)
                enquire.set_weighting_scheme(xapian.BM25Weight(K1, 0, 1, B, 0))
                try:
                    found = enquire.get_mset(0, k)
                    break
                except xapian.NetworkError as error:  # a shard went down during the query
                    if not self._drop_dead(readers, error):
                        raise IndexUnavailable(f"the search failed: {error}") from None
            hits = Hits(((match.docid - 1) // len(order) + 1, match.weight) for match in found)
            if self._down:
                hits.missing = (
                    f"{len(self._down)} of {len(self.shards)} index shards could not be reached"
                )
            return hits

    def _connected(self) -> dict:
        """The shards that answer, each reopened to its latest commit; a shard found down is tried
        again only after ``retry_seconds``."""
        xapian = _xapian()
        now = time.monotonic()
        for shard, (host, port) in enumerate(self.shards):
            reader = self._readers.get(shard)
            if reader is not None:
                try:
                    if reader.reopen():  # a new commit: qabot reindex may have made it another index
                        self._held[shard] = self._place(shard, reader)
                    continue
                except xapian.NetworkError as error:
                    self._lost(shard, error)
                    continue
            if shard in self._down and now - self._down[shard][0] < self.retry_seconds:
                continue
            try:
                reader = xapian.remote_open(host, port, READ_TIMEOUT_MS, CONNECT_TIMEOUT_MS)
                self._held[shard] = self._place(shard, reader)
            except xapian.NetworkError as error:
                self._lost(shard, error)
                continue
            self._readers[shard] = reader
            if self._down.pop(shard, None):
                log.warning("index shard %s is back", self.addresses[shard])
        held = {self._held[shard] for shard in self._readers}
        if len(held) > 1:
            raise IndexUnavailable(
                "the shards of QABOT_INDEX hold parts of different indexes: run qabot reindex"
            )
        if held:
            self._generation = held.pop()
        return self._readers

    def _lost(self, shard: int, error: Exception) -> None:
        """Take a shard as down: skipped until ``retry_seconds`` have passed."""
        self._readers.pop(shard, None)
        self._held.pop(shard, None)
        if shard not in self._down:
            log.warning("index shard %s cannot be reached: %s", self.addresses[shard], error)
        self._down[shard] = (time.monotonic(), str(error))

    def _drop_dead(self, readers: dict, error: Exception) -> bool:
        """After a query failed: take the shards that no longer answer as down; whether any was."""
        xapian = _xapian()
        dead = []
        for shard, reader in list(readers.items()):
            try:
                reader.reopen()
            except xapian.NetworkError:
                dead.append(shard)
        for shard in dead:
            self._lost(shard, error)
        return bool(dead)

    def _unreachable(self) -> str:
        """Why nothing could be searched: each shard and why it could not be reached."""
        why = "; ".join(f"{self.addresses[s]}: {reason}" for s, (_, reason) in sorted(self._down.items()))
        return f"no index shard could be reached ({why})"

    def _place(self, shard: int, database) -> str:
        """The generation a shard holds, once its metadata shows it in its place in QABOT_INDEX.

        :raises IndexUnavailable: it holds no index, or another part of one (saying which).
        """
        generation = database.get_metadata(GENERATION_KEY).decode()
        place = database.get_metadata(SHARD_KEY).decode()
        address = self.addresses[shard]
        if not generation:
            raise IndexUnavailable(f"the shard {address} holds no qabot index: run qabot reindex")
        if place != f"{shard + 1}/{len(self.shards)}":
            raise IndexUnavailable(
                f"the shard {address} holds part {place} of its index, but QABOT_INDEX lists it as part"
                f" {shard + 1} of {len(self.shards)}: list the shards as qabot reindex was given them,"
                " or run qabot reindex"
            )
        return generation

    def _serving(self) -> str:
        """The generation the shards hold, checked to be the one the collection keeps and searches.

        :raises IndexUnavailable: it is not (still being built, replaced, another collection's).
        """
        if self._generation is None:
            raise IndexUnavailable(self._unreachable())
        kept = outbox.target(self.store.db.conn, self._generation)
        if kept is None:
            now = [t.url for t in outbox.targets(self.store.db.conn) if t.live and t.url and t.url != self.name]
            elsewhere = f"; it is kept on {now[0]}: set QABOT_INDEX to it" if now else ""
            raise IndexUnavailable(
                f"the shards of QABOT_INDEX hold an index this collection ({self.store.path}) does not"
                f" keep (another collection's, or one qabot reindex has replaced){elsewhere}, or run qabot reindex"
            )
        if kept.shards != len(self.shards):
            raise IndexUnavailable(
                f"the index on these shards is spread over {kept.shards}, but QABOT_INDEX lists"
                f" {len(self.shards)}: run qabot reindex"
            )
        if not kept.live:
            raise IndexUnavailable(
                f"the index on these shards is still being built (qabot reindex reached article"
                f" {kept.built_up_to}): run qabot reindex again to finish it"
            )
        return kept.name

    def count(self) -> dict[str, int | None]:
        """Documents on each shard (None: a shard that could not be reached), whatever index it holds."""
        xapian = _xapian()
        counts = {}
        for (host, port), address in zip(self.shards, self.addresses):
            try:
                database = xapian.remote_open(host, port, READ_TIMEOUT_MS, CONNECT_TIMEOUT_MS)
            except xapian.NetworkError:
                counts[address] = None
                continue
            counts[address] = database.get_doccount()
            database.close()
        return counts

    # --- writing ----------------------------------------------------------------------------------

    def _writer(self, shard: int):
        """The shard opened for writing (holding its write lock until closed).

        :raises xapian.NetworkError: down. :raises xapian.DatabaseLockError: another writer has it.
        """
        host, port = self.shards[shard]
        return _xapian().remote_open_writable(host, port, WRITE_TIMEOUT_MS, CONNECT_TIMEOUT_MS)

    def _chunks(self, article_ids: list[int]) -> list[IndexedChunk]:
        """The stored chunks of these articles (those that still exist)."""
        if not article_ids:
            return []
        marks = ",".join("?" * len(article_ids))
        rows = self.store.db.execute(
            f"SELECT id, article_id, terms FROM chunks WHERE article_id IN ({marks}) ORDER BY id",
            list(article_ids),
        ).fetchall()
        return [IndexedChunk(*row) for row in rows]

    def _sync(self, writer, article_ids: list[int]) -> int:
        """Make these articles' documents on one shard equal to the store now (under its write
        lock, before its commit): all of them deleted, the existing articles' chunks added again.

        :returns: how many chunks were written.
        """
        for article_id in article_ids:
            writer.delete_document(f"{ARTICLE}{article_id}")
        chunks = self._chunks(article_ids)
        for chunk in chunks:
            writer.replace_document(chunk.id, document(chunk))
        return len(chunks)

    def add(self, chunks: Sequence[IndexedChunk]) -> None:
        """Write these chunks' documents to their shards (replacing what is there), one commit each."""
        self._each_shard(chunks, lambda writer, chunk: writer.replace_document(chunk.id, document(chunk)))

    def remove(self, chunks: Sequence[IndexedChunk]) -> None:
        """Delete these chunks' documents from their shards, one commit each."""
        xapian = _xapian()

        def delete(writer, chunk):
            try:
                writer.delete_document(chunk.id)
            except xapian.DocNotFoundError:
                pass

        self._each_shard(chunks, delete)

    def _each_shard(self, chunks: Sequence[IndexedChunk], write) -> None:
        for shard in sorted({chunk.article_id % len(self.shards) for chunk in chunks}):
            writer = self._writer(shard)
            try:
                for chunk in chunks:
                    if chunk.article_id % len(self.shards) == shard:
                        write(writer, chunk)
                writer.commit()
            finally:
                writer.close()

    def before_write(self) -> None:
        """A new collection (no article yet) with shards that hold nothing: make them its index at once,
        so that what is added next goes to them (done once per process; a failure is logged)."""
        if self._initialised:
            return
        self._initialised = True
        with self.store.lock:
            conn = self.store.db.conn
            if [t.name for t in outbox.targets(conn)] != [outbox.EMBEDDED]:
                return
            if conn.execute("SELECT count(*) FROM articles").fetchone()[0]:
                return
        from qabot.index.reindex import is_blank, reindex_xapian

        try:
            if is_blank(self):
                reindex_xapian(self)
            else:
                log.warning("the shards of QABOT_INDEX hold another index: run qabot reindex to use them")
        except IndexUnavailable as error:  # down, busy, or no bindings: the article goes to SQLite's index
            log.warning("the Xapian shards could not be made this collection's index: %s", error)
        except Exception as error:  # a xapian.Error
            if type(error).__module__ != "xapian":
                raise
            log.warning("the Xapian shards could not be made this collection's index: %s", error)

    def after_commit(self) -> int:
        """Push what the commit owed the shards; a shard down or busy keeps its rows, and any
        failure is logged, never raised (the article is stored; the outbox keeps what the shards
        lack). How many articles were pushed."""
        try:
            return self.catch_up()
        except Exception as error:
            log.warning("the index outbox could not be pushed (it is kept): %s", error)
            return 0

    def catch_up(self) -> int:
        """Push the outbox rows of the generation these shards hold, shard by shard: a shard that is
        down or written by another process keeps its rows for the next write or start-up.

        :returns: how many articles were pushed.
        """
        xapian = _xapian()
        pushed = 0
        with self.store.lock:
            self._pushed_at = time.monotonic()
            conn = self.store.db.conn
            if not conn.execute("SELECT 1 FROM index_outbox LIMIT 1").fetchone():
                return 0
            for shard in range(len(self.shards)):
                if self._generation and not outbox.waiting(conn, self._generation, shard=shard):
                    continue
                try:
                    writer = self._writer(shard)
                except (xapian.NetworkError, xapian.DatabaseLockError) as error:
                    log.info("index shard %s not pushed to now: %s", self.addresses[shard], error)
                    continue
                try:
                    pushed += self._push(writer, shard, self._place(shard, writer))
                except IndexUnavailable as error:  # nothing of this collection's is owed to it
                    log.warning("index shard %s not pushed to: %s", self.addresses[shard], error)
                except xapian.NetworkError as error:
                    log.warning("pushing to index shard %s failed (the outbox keeps it): %s", self.addresses[shard], error)
                finally:
                    writer.close()
        return pushed

    def _push(self, writer, shard: int, generation: str) -> int:
        """Push one shard's outbox rows in batches, each committed before its rows are cleared."""
        pushed = 0
        while True:
            seqs, article_ids = outbox.batch(
                self.store.db.conn, generation, shard, len(self.shards), BATCH_ARTICLES
            )
            if not seqs:
                return pushed
            self._sync(writer, article_ids)
            writer.commit()
            with self.store.transaction():
                outbox.done(self.store.db.conn, seqs)
            pushed += len(article_ids)

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> dict:
        """Build the index on these shards from the store (``index.reindex.reindex_xapian``)."""
        from qabot.index.reindex import reindex_xapian

        return reindex_xapian(self, progress)

    def check(self, *, sample: int = 200) -> list[str]:
        """Compare the shards with the store (``index.reindex.check_xapian``)."""
        from qabot.index.reindex import check_xapian

        return check_xapian(self, sample=sample)

    def close(self) -> None:
        """Close the shard connections."""
        for reader in self._readers.values():
            try:
                reader.close()
            except Exception:  # a connection already lost
                pass
        self._readers.clear()
