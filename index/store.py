"""Article store: the one module that opens SQLite. Articles, their chunks and the BM25 index.

One SQLite file managed with sqlite-utils, in WAL mode, created and migrated on open (``index.schema``).
Adding or removing an article is one transaction covering the article row, its chunk rows, their
BM25 index entries (``index.bm25``) and the outbox rows of the Xapian shards (``index.outbox``), so
the collection is never half-updated, even if the process is killed mid-way; the engine
``QABOT_INDEX`` chose (``index.engine``) pushes the outbox after the commit and answers
``search_chunks``. ``Store`` also holds the question log, the chunk embeddings and ``verify``,
mixed in from ``index.question_log``, ``index.embedding_store`` and ``index.consistency``.
"""

import contextlib
import sqlite3
import threading
from datetime import UTC, date, datetime
from pathlib import Path

from qabot.index import bm25, outbox
from qabot.index.analysis import terms
from qabot.index.chunking import chunk_text
from qabot.index.consistency import ConsistencyCheck
from qabot.index.embedding_store import EmbeddingStore
from qabot.index.engine import open_index
from qabot.index.pages import PAGE_BREAK
from qabot.index.question_log import QuestionLog
from qabot.index.records import Article, ArticleInfo, StoredChunk
from qabot.index.schema import SCHEMA_VERSION, Database, migrate
from qabot.index.text_forms import content_hash, printable

#: Articles longer than this many characters of text are refused.
MAX_TEXT_CHARS = 2_000_000
MAX_TITLE_CHARS = 300
#: Seconds a writer waits for another process's transaction to end before giving up.
BUSY_TIMEOUT = 60.0


class ArticleNotFound(LookupError):
    """No article has the given id."""


class ArticleRefused(ValueError):
    """The article was not stored; the message says why, in words for the user."""


class DuplicateArticle(ArticleRefused):
    """The article (same URL or same text) is already in the collection."""

    def __init__(self, existing_id: int, reason: str):
        super().__init__(f"already in the collection as article {existing_id} ({reason})")
        self.existing_id = existing_id


class SchemaTooNew(RuntimeError):
    """The database was written by a newer qabot than this one."""


class InvalidArticle(ArticleRefused):
    """The article cannot be stored as given (empty, too long, bad date, ...)."""


def _check_published(published: str | None) -> str | None:
    if not published:
        return None
    text = published.strip()
    try:
        if len(text) > 10:  # a full timestamp: keep its date
            return datetime.fromisoformat(text).date().isoformat()
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidArticle(f"published date {published!r} is not a date written YYYY-MM-DD") from None


class Store(QuestionLog, EmbeddingStore, ConsistencyCheck):
    """The article collection in one SQLite file.

    Safe to share between threads: every operation holds the store's lock.

    :param path: the SQLite file; its folder is created if missing.
    :param engine: ``QABOT_INDEX``: None for the embedded BM25 index, or ``xapian://HOST:PORT,...``
        (``index.engine``); no shard is contacted until the collection is searched or changed.
    :raises SchemaTooNew: the file was written by a newer qabot.
    :raises sqlite3.DatabaseError: the file is not a SQLite database.
    :raises ValueError: ``engine`` names no search index.
    """

    def __init__(self, path: str | Path, *, engine: str | None = None):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT)
        self.db = Database(conn)
        self.lock = threading.RLock()
        self._owed = False  # the open transaction wrote outbox rows: push them once it commits
        self._searched = threading.local()  # what this thread's latest search could not reach
        try:
            self.db.execute("PRAGMA foreign_keys = ON")
            if str(path) != ":memory:" and self._version() < SCHEMA_VERSION:
                self.db.enable_wal()  # once: a WAL database stays in WAL
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.index = bm25.ChunkIndex(conn)
            if self._version() != SCHEMA_VERSION:
                with self.transaction():  # one process migrates; the others wait, then see it done
                    migrate(self.db, self._version())
            self.engine = open_index(engine, self)
        except BaseException:
            conn.close()
            raise

    def _version(self) -> int:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.path} was written by a newer qabot (schema {version} > {SCHEMA_VERSION})"
            )
        return version

    @contextlib.contextmanager
    def transaction(self):
        """A write transaction that holds the write lock from its start (``BEGIN IMMEDIATE``).

        Another process's writer waits up to BUSY_TIMEOUT for it, instead of failing at once as a
        deferred transaction that read first does (SQLITE_BUSY_SNAPSHOT). Nested: a savepoint.
        """
        with self.lock:
            if self.db.conn.in_transaction:
                with self.db.atomic():
                    yield
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.execute("COMMIT")
            except BaseException:
                self._owed = False
                if self.db.conn.in_transaction:
                    self.db.conn.rollback()
                raise
            if self._owed:  # articles changed: the outbox goes to the shards now that SQLite has them
                self._owed = False
                self.engine.after_commit()

    def close(self) -> None:
        """Close the database connection (and the search engine's)."""
        with self.lock:
            if hasattr(self, "engine"):
                self.engine.close()
            self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def snapshot(self):
        """Reads that see the collection as of one moment, whatever other processes write meanwhile
        (a read transaction: N, the document frequencies and the postings then agree)."""
        with self.lock:
            if self.db.conn.in_transaction:
                yield
                return
            self.db.execute("BEGIN")
            try:
                yield
            finally:
                if self.db.conn.in_transaction:
                    self.db.conn.rollback()  # it only read: ending it so cannot fail on a damaged file

    def search_chunks(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        """The ``k`` best chunks by BM25 for analysed query terms: ``(chunk_id, score)``, best first,
        from the search index ``QABOT_INDEX`` chose (``index.engine.Hits``).

        :raises EmptyIndex: the collection has no chunks.
        :raises index.engine.IndexUnavailable: the index cannot be searched at all.
        """
        self._searched.missing = None
        hits = self.engine.search(terms, k)
        self._searched.missing = hits.missing
        return hits

    def search_missed(self) -> str | None:
        """Why part of the collection could not be searched by this thread's latest search (a shard
        that is down), or None when all of it was."""
        return getattr(self._searched, "missing", None)

    def _indexed(self, article_id: int, *, added: list[int] = (), removed: list[tuple[int, str]] = ()) -> None:
        """Keep the search indexes of an article's change (inside its transaction): the embedded one
        at once when it is kept, and an outbox row for each Xapian generation."""
        if outbox.embedded_live(self.db.conn):
            if added:
                self.index.add(added)
            if removed:
                self.index.remove(removed)
        if outbox.enqueue(self.db.conn, article_id):
            self._owed = True

    def find_duplicate(self, *, url: str | None, text: str) -> DuplicateArticle | None:
        """The error to raise if an article with this URL or this (normalised) text is stored."""
        with self.lock:
            if url:
                row = self.db.execute("SELECT id FROM articles WHERE url = ?", [url]).fetchone()
                if row:
                    return DuplicateArticle(row[0], "same URL")
            row = self.db.execute(
                "SELECT id FROM articles WHERE content_hash = ?", [content_hash(text)]
            ).fetchone()
            return DuplicateArticle(row[0], "same text") if row else None

    def add_article(
        self,
        *,
        title: str,
        text: str,
        url: str | None = None,
        site: str | None = None,
        published: str | None = None,
        added_by: str | None = None,
    ) -> Article:
        """Chunk, index and store an article, all in one transaction.

        :param title: the headline (required).
        :param text: the body; chunk offsets point into it.
        :param url: where it came from; unique in the collection.
        :param site: the publication or web site name.
        :param published: publication date, YYYY-MM-DD.
        :param added_by: who added it (e.g. ``telegram:12345`` or ``cli``).
        :raises InvalidArticle: empty title or text, text over MAX_TEXT_CHARS, a chunk of more
            than ``index.bm25.MAX_CHUNK_TERMS`` terms, bad date.
        :raises DuplicateArticle: same URL or same normalised text already stored.
        """
        title = printable(title)[:MAX_TITLE_CHARS]
        if not title:
            raise InvalidArticle("the article has no title")
        if not text.strip():
            raise InvalidArticle("the article has no text")
        if len(text) > MAX_TEXT_CHARS:
            raise InvalidArticle(
                f"the article text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}"
            )
        published = _check_published(published)
        chunks = chunk_text(text)
        rows = [
            {
                "ordinal": c.ordinal,
                "char_start": c.start,
                "char_end": c.end,
                "text": c.text,
                "terms": " ".join(terms(c.text)),
            }
            for c in chunks
        ]
        longest = max(row["terms"].count(" ") + 1 for row in rows)
        if longest > bm25.MAX_CHUNK_TERMS:
            raise InvalidArticle(
                f"a passage of the article makes {longest:,} search terms;"
                f" at most {bm25.MAX_CHUNK_TERMS:,} can be indexed"
            )
        added_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.engine.before_write()
        article_id = self._insert(title, text, url, site, published, added_at, added_by, rows)
        return Article(
            id=article_id,
            title=title,
            url=url or None,
            site=site or None,
            published=published,
            added_at=added_at,
            added_by=added_by,
            chunks=len(rows),
            text=text,
        )

    def _insert(self, title, text, url, site, published, added_at, added_by, rows) -> int:
        """Insert the article, its chunks and their term counts in one transaction; its id.

        Ids come from ``id_sequences``, so an id is never given twice, even after a removal.
        """
        with self.transaction():
            duplicate = self.find_duplicate(url=url, text=text)  # again, under the write lock
            if duplicate:
                raise duplicate
            article_id = self._next_ids("articles", 1)[0]
            self.db["articles"].insert(
                {
                    "id": article_id,
                    "title": title,
                    "url": url or None,
                    "site": site or None,
                    "published": published,
                    "added_at": added_at,
                    "added_by": added_by,
                    "text": text,
                    "content_hash": content_hash(text),
                }
            )
            chunk_ids = self._next_ids("chunks", len(rows))
            for row, chunk_id in zip(rows, chunk_ids):
                row["id"], row["article_id"] = chunk_id, article_id
            self.db["chunks"].insert_all(rows)
            self._indexed(article_id, added=chunk_ids)
        return article_id

    def _next_ids(self, table: str, n: int) -> list[int]:
        """Take the next ``n`` ids of ``table`` from its sequence (inside a write transaction)."""
        (last,) = self.db.execute(
            "UPDATE id_sequences SET last = last + ? WHERE name = ? RETURNING last", [n, table]
        ).fetchone()
        return list(range(last - n + 1, last + 1))

    def remove_article(self, article_id: int) -> ArticleInfo:
        """Remove an article, its chunks and their index entries in one transaction.

        :raises ArticleNotFound: no such article.
        """
        with self.lock:
            info = self.get_article_info(article_id)
            with self.transaction():
                self._indexed(
                    article_id,
                    removed=self.db.execute(
                        "SELECT id, terms FROM chunks WHERE article_id = ?", [article_id]
                    ).fetchall(),
                )
                self.db.execute("DELETE FROM chunks WHERE article_id = ?", [article_id])
                self.db.execute("DELETE FROM articles WHERE id = ?", [article_id])
            return info

    _INFO_SQL = """
        SELECT a.id, a.title, a.url, a.site, a.published, a.added_at, a.added_by,
               (SELECT count(*) FROM chunks c WHERE c.article_id = a.id) AS chunks{extra}
        FROM articles a
    """

    def _one(self, article_id: int, extra: str) -> tuple:
        with self.lock:
            row = self.db.execute(
                self._INFO_SQL.format(extra=extra) + " WHERE a.id = ?", [article_id]
            ).fetchone()
        if row is None:
            raise ArticleNotFound(f"there is no article {article_id}")
        return row

    def get_article(self, article_id: int) -> Article:
        """The article with this id, text included.

        :raises ArticleNotFound: no such article.
        """
        return Article(*self._one(article_id, ", a.text"))

    def get_article_info(self, article_id: int) -> ArticleInfo:
        """The article with this id, without its text.

        :raises ArticleNotFound: no such article.
        """
        return ArticleInfo(*self._one(article_id, ""))

    def page_at(self, article_id: int, offset: int) -> int | None:
        """The page (from 1) of a paged article that ``offset`` falls on (``index.pages``), or None.

        Counted by SQLite, so a search never reads whole article texts; None also for no such article.
        """
        row = self.db.execute(
            "SELECT instr(text, :brk) > 0, "
            "length(substr(text, 1, :n)) - length(replace(substr(text, 1, :n), :brk, '')) "
            "FROM articles WHERE id = :id",
            {"brk": PAGE_BREAK, "n": max(offset, 0), "id": article_id},
        ).fetchone()
        return row[1] + 1 if row and row[0] else None

    def list_articles(self, *, limit: int | None = None, offset: int = 0) -> list[ArticleInfo]:
        """Articles in the order they were added, without their text.

        :param limit: at most this many (all when None).
        :param offset: skip this many first.
        """
        sql = self._INFO_SQL.format(extra="") + " ORDER BY a.id LIMIT ? OFFSET ?"
        with self.lock:
            rows = self.db.execute(sql, [-1 if limit is None else limit, offset]).fetchall()
        return [ArticleInfo(*row) for row in rows]

    def chunks_of(self, article_id: int) -> list[StoredChunk]:
        """The chunks of one article in order."""
        with self.lock:
            rows = self.db.execute(
                "SELECT id, article_id, ordinal, char_start, char_end, text FROM chunks"
                " WHERE article_id = ? ORDER BY ordinal",
                [article_id],
            ).fetchall()
        return [StoredChunk(*row) for row in rows]

    def chunks_by_id(self, chunk_ids: list[int]) -> dict[int, StoredChunk]:
        """Chunks looked up by id (missing ids are left out)."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        with self.lock:
            rows = self.db.execute(
                "SELECT id, article_id, ordinal, char_start, char_end, text FROM chunks"
                f" WHERE id IN ({marks})",
                list(chunk_ids),
            ).fetchall()
        return {row[0]: StoredChunk(*row) for row in rows}

    def counts(self) -> dict[str, int]:
        """How many articles and chunks the collection holds."""
        with self.lock:
            articles = self.db.execute("SELECT count(*) FROM articles").fetchone()[0]
            chunks = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return {"articles": articles, "chunks": chunks}
