"""Article store: the one module that opens SQLite. Articles, their chunks and the BM25 index.

One SQLite file managed with sqlite-utils, in WAL mode. Adding or removing an article is one
transaction covering the article row, its chunk rows and their BM25 index entries (``index.bm25``),
so the collection is never half-updated, even if the process is killed mid-way.
The schema is created and migrated on open; ``PRAGMA user_version`` records its version.
The questions people ask and their 👍/👎 feedback are kept beside the articles (schema 2), until
``forget_questions`` deletes the old ones.
Chunk embeddings, computed outside ``index/`` and stored as bytes, are deleted with their chunk
(schema 3). Schema 4 replaced the FTS5 table of schema 1 with ``index.bm25``'s postings.
Schema 6 keeps the followed news feeds and what became of each of their entries (``index.feeds``).
Schema 7 records which search indexes the collection is kept in and the outbox of what the Xapian
ones are owed (``index.outbox``): written in the article's transaction, pushed after it commits by the
engine ``QABOT_INDEX`` chose (``index.engine``), which also answers ``search_chunks``.
"""

import contextlib
import hashlib
import logging
import secrets
import sqlite3
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlite_utils

from qabot.index import bm25, outbox
from qabot.index.analysis import terms
from qabot.index.engine import open_index
from qabot.index.chunking import chunk_text
from qabot.index.pages import PAGE_BREAK

log = logging.getLogger(__name__)

#: Articles longer than this many characters of text are refused.
MAX_TEXT_CHARS = 2_000_000
MAX_TITLE_CHARS = 300
SCHEMA_VERSION = 7
#: Seconds a writer waits for another process's transaction to end before giving up.
BUSY_TIMEOUT = 60.0
#: Schema 1's FTS5 tokenizer: it saw our analyser's terms joined by spaces.
FTS_TOKENIZE = "unicode61 remove_diacritics 0"


class ArticleNotFound(LookupError):
    """No article has the given id."""


class ArticleRefused(ValueError):
    """The article was not stored; the message says why, in words for the user."""


class DuplicateArticle(ArticleRefused):
    """The article (same URL or same text) is already in the collection."""

    def __init__(self, existing_id: int, reason: str):
        super().__init__(f"already in the collection as article {existing_id} ({reason})")
        self.existing_id = existing_id


class QuestionNotFound(LookupError):
    """No asked question has the given id."""


class SchemaTooNew(RuntimeError):
    """The database was written by a newer qabot than this one."""


class InvalidArticle(ArticleRefused):
    """The article cannot be stored as given (empty, too long, bad date, ...)."""


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


@dataclass(frozen=True)
class AskedQuestion:
    """A question someone asked, with what it was answered (``answer_json``, as the caller saved it)."""

    id: int
    asked_at: str
    chat_id: int | None
    user_id: int | None
    question: str
    answered: bool
    reader: str | None
    answer_json: str | None
    key: str | None = None  # random and unguessable: what buttons carry instead of the id


def content_hash(text: str) -> str:
    """Hash of the text with case, Unicode form and white space normalised (finds re-pasted copies)."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(folded.encode()).hexdigest()


#: Bidirectional-text controls, which can make a title display as something else.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """One line safe to show in a terminal or chat: no control characters or bidi overrides.

    White space runs become one space; other control, surrogate and unassigned characters and
    the bidi controls are dropped (terminal escape sequences lose their ESC and show as text).
    """
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or not (unicodedata.category(ch) in ("Cc", "Cs", "Cn") or ch in _BIDI_CONTROLS)
    )
    return " ".join(kept.split())


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


class _Database(sqlite_utils.Database):
    """sqlite-utils' Database whose ``executescript`` runs inside the open transaction.

    (``sqlite3``'s own commits first, which would split a migration, and sqlite-utils calls it
    in ``enable_fts``.)
    """

    def executescript(self, sql: str):
        statement = ""
        for piece in sql.split(";"):
            statement += piece + ";"
            if sqlite3.complete_statement(statement) and statement.strip(" \n\t;"):
                self.execute(statement)
                statement = ""
        if statement.strip(" \n\t;"):
            self.execute(statement)


def _migrate_to_1(db: sqlite_utils.Database) -> None:
    db["articles"].create(
        {
            "id": int,
            "title": str,
            "url": str,
            "site": str,
            "published": str,
            "added_at": str,
            "added_by": str,
            "text": str,
            "content_hash": str,
        },
        pk="id",
        not_null={"title", "text", "content_hash", "added_at"},
    )
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["content_hash"], unique=True)
    db["chunks"].create(
        {
            "id": int,
            "article_id": int,
            "ordinal": int,
            "char_start": int,
            "char_end": int,
            "text": str,
            "terms": str,
        },
        pk="id",
        foreign_keys=[("article_id", "articles", "id")],
        not_null={"article_id", "ordinal", "char_start", "char_end", "text", "terms"},
    )
    db["chunks"].create_index(["article_id", "ordinal"], unique=True)
    db["chunks"].enable_fts(["terms"], create_triggers=True, tokenize=FTS_TOKENIZE)
    db.executescript(
        """
        CREATE TABLE term_stats (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE index_stats (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          chunks INTEGER NOT NULL,
          tokens INTEGER NOT NULL
        );
        INSERT INTO index_stats VALUES (1, 0, 0);
        CREATE TRIGGER chunks_stats_ai AFTER INSERT ON chunks BEGIN
          UPDATE index_stats SET chunks = chunks + 1, tokens = tokens + (
            CASE new.terms WHEN '' THEN 0
            ELSE length(new.terms) - length(replace(new.terms, ' ', '')) + 1 END) WHERE id = 1;
        END;
        CREATE TRIGGER chunks_stats_ad AFTER DELETE ON chunks BEGIN
          UPDATE index_stats SET chunks = chunks - 1, tokens = tokens - (
            CASE old.terms WHEN '' THEN 0
            ELSE length(old.terms) - length(replace(old.terms, ' ', '')) + 1 END) WHERE id = 1;
        END;
        """
    )


def _migrate_to_2(db: sqlite_utils.Database) -> None:
    db["questions"].create(
        {
            "id": int,
            "asked_at": str,
            "chat_id": int,
            "user_id": int,
            "question": str,
            "answered": int,
            "reader": str,
            "answer_json": str,
        },
        pk="id",
        not_null={"asked_at", "question", "answered"},
    )
    db["questions"].create_index(["answered", "id"])
    db["feedback"].create(
        {"question_id": int, "user_id": int, "vote": int, "at": str},
        pk=("question_id", "user_id"),
        foreign_keys=[("question_id", "questions", "id")],
        not_null={"vote", "at"},
    )


def _migrate_to_3(db: sqlite_utils.Database) -> None:
    # chunk embeddings, computed by retrieval/ at ingestion; deleted with their chunk
    db.executescript(
        """
        CREATE TABLE chunk_embeddings (
          chunk_id INTEGER PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
          model TEXT NOT NULL,
          vector BLOB NOT NULL
        );
        """
    )


def _migrate_to_4(db: sqlite_utils.Database) -> None:
    # postings blocks scored with numpy instead of FTS5, built from the stored terms
    chunks = db["chunks"].count
    if chunks:
        log.info("rebuilding the search index of %s chunks (once, for this version)", chunks)
    db["chunks"].disable_fts()
    db.executescript(bm25.SCHEMA)
    bm25.ChunkIndex(db.conn).rebuild(db.execute("SELECT id, terms FROM chunks"))


def _migrate_to_5(db: sqlite_utils.Database) -> None:
    # ids are never reused (a removed chunk's id stayed in stale postings); buttons carry a random key;
    # the index is rebuilt, since schema 4's merges could leave blocks unsorted with wrong bounds
    db.executescript(
        """
        CREATE TABLE id_sequences (name TEXT PRIMARY KEY, last INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO id_sequences SELECT 'articles', coalesce(max(id), 0) FROM articles;
        INSERT INTO id_sequences SELECT 'chunks', coalesce(max(id), 0) FROM chunks;
        ALTER TABLE questions ADD COLUMN key TEXT;
        CREATE UNIQUE INDEX questions_key ON questions (key);
        """
    )
    db.conn.executemany(
        "UPDATE questions SET key = ? WHERE id = ?",
        [(secrets.token_urlsafe(9), i) for (i,) in db.execute("SELECT id FROM questions")],
    )
    bm25.ChunkIndex(db.conn).rebuild(db.execute("SELECT id, terms FROM chunks"))


def _migrate_to_6(db: sqlite_utils.Database) -> None:
    # followed feeds (ids never reused, so /unfollow N cannot hit a newer feed), and each entry seen:
    # added (its article, NULL once removed), skipped (already stored), failed (retried), gave_up
    db.executescript(
        """
        CREATE TABLE feeds (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          url TEXT NOT NULL UNIQUE,
          page_url TEXT,
          title TEXT,
          added_at TEXT NOT NULL,
          added_by TEXT,
          checked_at TEXT,
          last_error TEXT,
          last_note TEXT
        );
        CREATE TABLE feed_entries (
          feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
          link TEXT NOT NULL,
          title TEXT,
          published TEXT,
          status TEXT NOT NULL CHECK (status IN ('added', 'skipped', 'failed', 'gave_up')),
          attempts INTEGER NOT NULL DEFAULT 0,
          last_error TEXT,
          article_id INTEGER REFERENCES articles (id) ON DELETE SET NULL,
          seen_at TEXT NOT NULL,
          PRIMARY KEY (feed_id, link)
        );
        CREATE INDEX feed_entries_status ON feed_entries (feed_id, status);
        CREATE INDEX feed_entries_article ON feed_entries (article_id);
        """
    )


def _migrate_to_7(db: sqlite_utils.Database) -> None:
    # the search indexes the collection is kept in (the embedded one, as before) and the outbox of
    # what Xapian shards are owed
    db.executescript(outbox.schema())


#: MIGRATIONS[i] takes the schema from version i to version i + 1.
MIGRATIONS = [
    _migrate_to_1, _migrate_to_2, _migrate_to_3, _migrate_to_4, _migrate_to_5, _migrate_to_6, _migrate_to_7,
]


class Store:
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
        self.db = _Database(conn)
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
                    for target in range(self._version(), SCHEMA_VERSION):
                        MIGRATIONS[target](self.db)
                        self.db.execute(f"PRAGMA user_version = {target + 1}")
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

    def verify(self) -> list[str]:
        """Check the collection's consistency; the problems found, in words (empty when sound).

        SQLite's integrity check, no article without chunks, no chunk without its article, the BM25
        index against the chunks' stored terms (when the collection is searched with it), and the
        counts kept for BM25 (chunks, terms, document frequencies) equal to a recount. Xapian shards
        are checked by ``engine.check``.
        """
        with self.snapshot():
            try:
                status = self.db.execute("PRAGMA integrity_check").fetchone()[0]
                if status != "ok":  # the checks below would read what the damaged file holds
                    return [f"SQLite integrity check: {status}"]
                return self._verify_contents()
            except sqlite3.DatabaseError as error:
                return [f"the database file is damaged: {error}"]

    def _verify_contents(self) -> list[str]:
        """The consistency checks of :meth:`verify` after SQLite's own."""
        problems = []
        with self.lock:
            db = self.db
            bare = db.execute(
                "SELECT id FROM articles WHERE id NOT IN (SELECT article_id FROM chunks)"
            ).fetchall()
            if bare:
                problems.append(f"articles without chunks: {[row[0] for row in bare]}")
            orphans = db.execute(
                "SELECT count(*) FROM chunks WHERE article_id NOT IN (SELECT id FROM articles)"
            ).fetchone()[0]
            if orphans:
                problems.append(f"{orphans} chunks belong to no article")
            rows = db.execute("SELECT id, terms FROM chunks").fetchall()
            counted = (len(rows), sum(len(terms.split()) for _, terms in rows))
            if tuple(self.index.stats()) != counted:
                problems.append(f"index statistics {tuple(self.index.stats())} != recount {counted}")
            if outbox.embedded_live(db.conn):
                problems += self.index.check(rows)
        return problems

    def record_question(
        self,
        question: str,
        *,
        answered: bool,
        chat_id: int | None = None,
        user_id: int | None = None,
        reader: str | None = None,
        answer_json: str | None = None,
    ) -> AskedQuestion:
        """Keep a question that was asked and whether it was answered.

        Returns the row, with its ``key``: 12 random URL-safe characters that name it in button
        data (ids are sequential, so they could be enumerated).

        :param question: the question as asked.
        :param answered: whether an answer was given.
        :param chat_id: the chat it was asked in (None outside Telegram).
        :param user_id: who asked it (None outside Telegram).
        :param reader: the reader that answered (``"span"`` or ``"sentence"``).
        :param answer_json: what was answered, as the caller serialised it, to show again later.
        """
        row = {
            "asked_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "chat_id": chat_id,
            "user_id": user_id,
            "question": question,
            "answered": int(answered),
            "reader": reader,
            "answer_json": answer_json,
            "key": secrets.token_urlsafe(9),
        }
        with self.transaction():
            question_id = self.db["questions"].insert(row).last_pk
        return AskedQuestion(question_id, row["asked_at"], chat_id, user_id, question, answered,
                             reader, answer_json, row["key"])

    _QUESTION_SQL = (
        "SELECT id, asked_at, chat_id, user_id, question, answered, reader, answer_json, key"
        " FROM questions WHERE "
    )

    def question(self, question_id: int) -> AskedQuestion:
        """The asked question with this id.

        :raises QuestionNotFound: no such question.
        """
        with self.lock:
            row = self.db.execute(self._QUESTION_SQL + "id = ?", [question_id]).fetchone()
        if row is None:
            raise QuestionNotFound(f"there is no question {question_id}")
        return AskedQuestion(*row[:5], bool(row[5]), *row[6:])

    def question_by_key(self, key: str) -> AskedQuestion:
        """The asked question with this key (see :meth:`record_question`).

        :raises QuestionNotFound: no question has this key.
        """
        with self.lock:
            row = self.db.execute(self._QUESTION_SQL + "key = ?", [key]).fetchone()
        if row is None:
            raise QuestionNotFound("there is no such question")
        return AskedQuestion(*row[:5], bool(row[5]), *row[6:])

    def record_feedback(self, question_id: int, user_id: int, vote: int) -> None:
        """Keep one person's 👍 (``+1``) or 👎 (``-1``) on a question; a new vote replaces theirs.

        :raises QuestionNotFound: no such question.
        :raises ValueError: the vote is neither +1 nor -1.
        """
        if vote not in (1, -1):
            raise ValueError("a vote is +1 or -1")
        at = datetime.now(UTC).isoformat(timespec="seconds")
        with self.lock:
            try:
                with self.transaction():
                    self.db.execute(
                        "INSERT INTO feedback (question_id, user_id, vote, at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (question_id, user_id) DO UPDATE"
                        " SET vote = excluded.vote, at = excluded.at",
                        [question_id, user_id, vote, at],
                    )
            except sqlite3.IntegrityError:  # the foreign key: no such question
                raise QuestionNotFound(f"there is no question {question_id}") from None

    def stats(self, *, unanswered: int = 5, chat_id: int | None = None) -> dict:
        """Articles, chunks, questions asked and answered, votes, and the latest unanswered questions.

        :param unanswered: how many of the latest unanswered questions to list, newest first.
        :param chat_id: count only the questions asked in this chat, and their votes (the articles
            and chunks are the whole collection's); None: every question.
        """
        where, args = ("WHERE chat_id = ?", [chat_id]) if chat_id is not None else ("", [])
        with self.lock:
            stats = self.counts()
            asked, answered = self.db.execute(
                f"SELECT count(*), coalesce(sum(answered), 0) FROM questions {where}", args
            ).fetchone()
            up, down = self.db.execute(
                "SELECT coalesce(sum(vote = 1), 0), coalesce(sum(vote = -1), 0) FROM feedback"
                f" WHERE question_id IN (SELECT id FROM questions {where})",
                args,
            ).fetchone()
            latest = self.db.execute(
                f"SELECT question FROM questions {where or 'WHERE 1'} AND answered = 0 ORDER BY id DESC LIMIT ?",
                [*args, unanswered],
            ).fetchall()
        return stats | {
            "questions": asked,
            "answered": answered,
            "votes_up": up,
            "votes_down": down,
            "latest_unanswered": [question for (question,) in latest],
        }

    def forget_questions(self, *, before: datetime) -> int:
        """Delete the questions asked before ``before``, with their votes; returns how many.

        Their answers' buttons then say the answer is gone, as for any unknown key.
        """
        cutoff = before.astimezone(UTC).isoformat(timespec="seconds")
        old = "SELECT id FROM questions WHERE asked_at < ?"
        with self.transaction():
            self.db.execute(f"DELETE FROM feedback WHERE question_id IN ({old})", [cutoff])
            return self.db.execute("DELETE FROM questions WHERE asked_at < ?", [cutoff]).rowcount

    def chunks_without_embedding(self, model: str, *, limit: int = 256) -> list[StoredChunk]:
        """Chunks that have no stored embedding by ``model`` yet, oldest first (schema 3).

        :param model: the embedding model's name.
        :param limit: at most this many.
        """
        with self.lock:
            rows = self.db.execute(
                "SELECT c.id, c.article_id, c.ordinal, c.char_start, c.char_end, c.text FROM chunks c"
                " LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id AND e.model = ?"
                " WHERE e.chunk_id IS NULL ORDER BY c.id LIMIT ?",
                [model, limit],
            ).fetchall()
        return [StoredChunk(*row) for row in rows]

    def set_embeddings(self, model: str, vectors: dict[int, bytes]) -> None:
        """Store chunk embeddings (replacing any older ones); chunks removed meanwhile are skipped.

        :param model: the embedding model's name.
        :param vectors: the embedding of each chunk id, as bytes (the caller's encoding).
        """
        with self.lock, self.transaction():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO chunk_embeddings (chunk_id, model, vector)"
                " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ?)",
                [(chunk_id, model, vector, chunk_id) for chunk_id, vector in vectors.items()],
            )

    def embeddings(self, model: str, chunk_ids: list[int]) -> dict[int, bytes]:
        """The stored embeddings by ``model`` of these chunks (chunks without one are left out)."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        with self.lock:
            rows = self.db.execute(
                f"SELECT chunk_id, vector FROM chunk_embeddings WHERE model = ? AND chunk_id IN ({marks})",
                [model, *chunk_ids],
            ).fetchall()
        return dict(rows)
