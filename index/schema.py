"""The store's schema: creating it in a new collection file and migrating an older one, step by step.

Part of ``index/``, under ``index.store``, which runs ``migrate`` when it opens a file whose
``PRAGMA user_version`` is older than SCHEMA_VERSION. Schema 2 added the question log
(``index.question_log``), 3 the chunk embeddings (``index.embedding_store``), 4 replaced schema 1's
FTS5 table with ``index.bm25``'s postings, 5 made ids never reused, 6 keeps the followed news feeds
(``index.feeds``), 7 the search indexes and their outbox (``index.outbox``).
"""

import logging
import secrets
import sqlite3

import sqlite_utils

from qabot.index import bm25, outbox

log = logging.getLogger(__name__)

SCHEMA_VERSION = 7
#: Schema 1's FTS5 tokenizer: it saw our analyser's terms joined by spaces.
FTS_TOKENIZE = "unicode61 remove_diacritics 0"


class Database(sqlite_utils.Database):
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


def migrate(db: sqlite_utils.Database, version: int) -> None:
    """Take the schema from ``version`` to SCHEMA_VERSION, inside the caller's write transaction.

    :param db: the collection, opened as a :class:`Database`.
    :param version: the file's ``PRAGMA user_version``.
    """
    for target in range(version, SCHEMA_VERSION):
        MIGRATIONS[target](db)
        db.execute(f"PRAGMA user_version = {target + 1}")
