"""The collection's consistency check, behind ``qabot check``: is what the SQLite file holds sound?

Part of ``index/``: mixed into ``index.store.Store``. It checks the file (SQLite's integrity check),
the articles against their chunks, and the embedded BM25 index (``index.bm25``) against the chunks'
stored terms; Xapian shards are checked by ``index.engine``.
"""

import sqlite3

from qabot.index import outbox


class ConsistencyCheck:
    """The ``verify`` method of ``index.store.Store`` (its ``db``, ``lock``, ``index`` and ``snapshot()``)."""

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
