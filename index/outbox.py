"""The index outbox: what the store owes an external search index (Xapian shards), kept in SQLite.

SQLite is the source of truth. Each search index the collection is kept in is a row of
``search_indexes``: ``sqlite`` (the embedded BM25 index of ``index.bm25``, written in the article's
own transaction) or a Xapian *generation* (a random name, written into its shards' metadata by
``qabot reindex``), ``building`` while reindex fills it and ``live`` once it holds everything. Adding
or removing an article writes, in the same transaction, one ``index_outbox`` row per Xapian
generation: the article's id. A pusher (``index.xapian_index``) later makes that article's documents
on its shard equal to what the store holds *then* (replace, or delete when it is gone) and clears
the rows only after the shard committed, so a crash or a shard that is down leaves them for the next
write or start-up, and pushing twice changes nothing.

Which indexes are kept is recorded in the file, not in a process's settings, so that a process
started without ``QABOT_INDEX`` still writes the outbox rows of a collection searched on Xapian.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

#: The embedded index's row in ``search_indexes``.
EMBEDDED = "sqlite"

SCHEMA = """
CREATE TABLE search_indexes (
  name TEXT PRIMARY KEY,          -- 'sqlite', or a Xapian generation's name
  shards INTEGER NOT NULL,        -- how many shards it is spread over (1 for sqlite)
  url TEXT,                       -- the QABOT_INDEX qabot reindex built it on (shown in messages)
  state TEXT NOT NULL CHECK (state IN ('building', 'live')),
  built_up_to INTEGER NOT NULL DEFAULT 0,  -- qabot reindex: articles up to this id are in it
  created_at TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO search_indexes (name, shards, state, created_at) VALUES ('sqlite', 1, 'live', '{now}');
CREATE TABLE index_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  target TEXT NOT NULL REFERENCES search_indexes (name) ON DELETE CASCADE,
  article_id INTEGER NOT NULL
);
CREATE INDEX index_outbox_target ON index_outbox (target, seq);
"""


@dataclass(frozen=True)
class Target:
    """A search index the collection is kept in (a row of ``search_indexes``)."""

    name: str
    shards: int
    state: str
    built_up_to: int
    url: str | None = None

    @property
    def live(self) -> bool:
        """Whether it holds the whole collection (else ``qabot reindex`` is still filling it)."""
        return self.state == "live"


def schema() -> str:
    """The SQL of the migration that adds the outbox (the embedded index live, as before it)."""
    return SCHEMA.replace("{now}", _now())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def embedded_live(conn) -> bool:
    """Whether the embedded BM25 index is kept (inside the article's transaction)."""
    return conn.execute(f"SELECT 1 FROM search_indexes WHERE name = '{EMBEDDED}'").fetchone() is not None


def enqueue(conn, article_id: int) -> int:
    """Owe every Xapian generation this article's new state (inside the article's transaction).

    :returns: how many rows were written (0 when the collection is searched in SQLite alone).
    """
    return conn.execute(
        "INSERT INTO index_outbox (target, article_id)"
        f" SELECT name, ? FROM search_indexes WHERE name != '{EMBEDDED}'",
        [article_id],
    ).rowcount


def targets(conn) -> list[Target]:
    """Every search index the collection is kept in, oldest first."""
    rows = conn.execute(
        "SELECT name, shards, state, built_up_to, url FROM search_indexes ORDER BY created_at, name"
    ).fetchall()
    return [Target(*row) for row in rows]


def target(conn, name: str) -> Target | None:
    """The search index of this name, or None when the collection is not kept in it."""
    row = conn.execute(
        "SELECT name, shards, state, built_up_to, url FROM search_indexes WHERE name = ?", [name]
    ).fetchone()
    return Target(*row) if row else None


def waiting(conn, name: str, *, shard: int | None = None) -> int:
    """How many outbox rows wait for this generation (for one of its shards when ``shard`` is given)."""
    if shard is None:
        return conn.execute("SELECT count(*) FROM index_outbox WHERE target = ?", [name]).fetchone()[0]
    return conn.execute(
        "SELECT count(*) FROM index_outbox o JOIN search_indexes s ON s.name = o.target"
        " WHERE o.target = ? AND o.article_id % s.shards = ?",
        [name, shard],
    ).fetchone()[0]


def batch(conn, name: str, shard: int, shards: int, limit: int) -> tuple[list[int], list[int]]:
    """The oldest outbox rows of one shard of a generation: ``(seqs, distinct article ids)``."""
    rows = conn.execute(
        "SELECT seq, article_id FROM index_outbox WHERE target = ? AND article_id % ? = ?"
        " ORDER BY seq LIMIT ?",
        [name, shards, shard, limit],
    ).fetchall()
    return [seq for seq, _ in rows], list(dict.fromkeys(article for _, article in rows))


def done(conn, seqs: list[int]) -> None:
    """Clear outbox rows whose articles a shard has committed (inside a write transaction)."""
    conn.executemany("DELETE FROM index_outbox WHERE seq = ?", [(seq,) for seq in seqs])


def start_building(conn, shards: int, url: str) -> Target:
    """A new Xapian generation, empty and building (inside a write transaction); from now on every
    change of an article is owed to it too.

    :param shards: how many shards it is spread over.
    :param url: the ``QABOT_INDEX`` naming them (kept to be shown in messages).
    """
    name = "x" + secrets.token_hex(8)
    conn.execute(
        "INSERT INTO search_indexes (name, shards, url, state, created_at) VALUES (?, ?, ?, 'building', ?)",
        [name, shards, url, _now()],
    )
    return Target(name, shards, "building", 0, url)


def built_up_to(conn, name: str, article_id: int) -> None:
    """Record that reindex has put every article up to ``article_id`` in the index (a write transaction)."""
    conn.execute("UPDATE search_indexes SET built_up_to = ? WHERE name = ?", [article_id, name])


def go_live(conn, name: str) -> list[str]:
    """Make this index the one kept and searched, dropping every other one with its outbox rows
    (inside a write transaction); the embedded index's postings are emptied when it is dropped.

    :returns: the names of the indexes dropped.
    """
    dropped = [t.name for t in targets(conn) if t.name != name]
    conn.execute("UPDATE search_indexes SET state = 'live', built_up_to = 0 WHERE name = ?", [name])
    conn.execute("DELETE FROM search_indexes WHERE name != ?", [name])
    if EMBEDDED in dropped:
        for table in ("postings", "term_stats", "pending_chunks"):
            conn.execute(f"DELETE FROM {table}")
    return dropped


def keep_embedded(conn) -> list[str]:
    """Make the embedded index live again (its postings rebuilt by the caller in the same
    transaction), dropping every Xapian generation and its outbox rows.

    :returns: the names of the generations dropped.
    """
    if not embedded_live(conn):
        conn.execute(
            "INSERT INTO search_indexes (name, shards, state, created_at) VALUES (?, 1, 'live', ?)",
            [EMBEDDED, _now()],
        )
    return go_live(conn, EMBEDDED)
