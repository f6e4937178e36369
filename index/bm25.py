"""BM25 search over the chunks' full-text index (SQLite FTS5), scored exactly like rank-bm25's BM25Okapi.

The index lives in the same SQLite file as the chunks and is kept in step by triggers, so it is
updated in the article's own transaction, survives restarts and needs no rebuild. FTS5's ``bm25()``
is Okapi BM25 (k1 = 1.2, b = 0.75) over the analyser's terms, with
``idf = ln((N - n + 0.5) / (n + 0.5))``.

Negative idf. A term found in half of the chunks or more (common in a topical collection: "putin")
gets an idf of zero or below, which FTS5 floors at 1e-6, so the term would stop counting. We give such
terms rank-bm25's floor instead: ``epsilon * average idf over the whole vocabulary`` (epsilon 0.25),
the same constant for every floored term. Since FTS5 scores each floored term as
``1e-6 * tf-part``, a query is split into its rare and its common terms, each half is ranked by FTS5,
and the two lists are merged with Fagin's threshold algorithm, which stops once no unseen chunk can
beat the k-th best: the result is exact, and equal to BM25Okapi's scores with the same terms.
"""

import json
import math
import sqlite3

#: rank-bm25's epsilon: floored terms get this fraction of the average idf.
EPSILON = 0.25
#: FTS5's own floor for idf <= 0, which its bm25() multiplies into a common term's tf-part.
_FTS5_IDF_FLOOR = 1e-6


class EmptyIndex(LookupError):
    """The collection has no chunks to search yet."""


def _match(terms: list[str]) -> str:
    """An FTS5 query matching any of the terms (OR semantics)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def idf(n_chunks: int, df: int) -> float:
    """BM25's idf before flooring: ``ln((N - n + 0.5) / (n + 0.5))``."""
    return math.log(n_chunks - df + 0.5) - math.log(df + 0.5)


class ChunkIndex:
    """BM25 search over the ``chunks_fts`` table of one connection.

    :param conn: a connection to the store's database (the store serialises access to it).
    """

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._floor_key: tuple = ()
        self._floor = 0.0

    def chunk_count(self) -> int:
        """How many chunks the index holds (N), kept by triggers in ``index_stats``."""
        return self.conn.execute("SELECT chunks FROM index_stats WHERE id = 1").fetchone()[0]

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many chunks contain each term; terms that no chunk contains are left out."""
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        rows = self.conn.execute(
            f"SELECT term, doc FROM chunks_fts_vocab WHERE term IN ({marks})", terms
        ).fetchall()
        return dict(rows)

    def floor_idf(self, n_chunks: int) -> float:
        """The idf of terms in half of the chunks or more: EPSILON x the vocabulary's mean idf.

        Cached until the collection changes (``PRAGMA data_version`` sees other connections'
        writes, ``total_changes`` this connection's own).
        """
        key = (
            n_chunks,
            self.conn.execute("PRAGMA data_version").fetchone()[0],
            self.conn.total_changes,
        )
        if key != self._floor_key:
            total, count = self.conn.execute(
                "SELECT sum(ln((? - doc + 0.5) / (doc + 0.5))), count(*) FROM chunks_fts_vocab",
                [n_chunks],
            ).fetchone()
            self._floor_key, self._floor = key, EPSILON * (total or 0.0) / max(count, 1)
        return self._floor

    def search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        """The ``k`` best chunks for the query terms, best first: ``(chunk_id, score)``.

        Chunks need not contain every term (OR semantics). Repeated terms count once.

        :param terms: analysed query terms (``index.analysis.question_terms``).
        :param k: how many chunks to return at most.
        :raises EmptyIndex: the collection has no chunks.
        """
        if k <= 0:
            raise ValueError("k must be positive")
        n_chunks = self.chunk_count()
        if n_chunks == 0:
            raise EmptyIndex("the collection is empty: add articles first")
        df = self.document_frequencies(list(dict.fromkeys(terms)))
        rare = [t for t in df if idf(n_chunks, df[t]) > 0]
        common = [t for t in df if t not in rare]
        if not common:
            return self._ranked(rare, k) if rare else []
        weight = self.floor_idf(n_chunks) / _FTS5_IDF_FLOOR
        if not rare:
            return [(rowid, s * weight) for rowid, s in self._ranked(common, k)]
        return self._threshold_merge(rare, common, weight, k)

    def _ranked(self, terms: list[str], limit: int) -> list[tuple[int, float]]:
        """The top ``limit`` chunks by FTS5's bm25() for these terms: (chunk id, positive score)."""
        rows = self.conn.execute(
            "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?"
            " ORDER BY rank LIMIT ?",
            [_match(terms), limit],
        ).fetchall()
        return [(rowid, -score) for rowid, score in rows]

    def _scores_of(self, terms: list[str], ids: list[int]) -> dict[int, float]:
        """FTS5's bm25() for these terms, for the given chunks only (those without them left out)."""
        if not ids:
            return {}
        rows = self.conn.execute(
            "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?"
            " AND rowid IN (SELECT value FROM json_each(?))",
            [_match(terms), json.dumps(ids)],
        ).fetchall()
        return {rowid: -score for rowid, score in rows}

    def _threshold_merge(
        self, rare: list[str], common: list[str], weight: float, k: int
    ) -> list[tuple[int, float]]:
        """Exact top k of ``rare score + weight x common score`` (Fagin's threshold algorithm)."""
        depth = max(4 * k, 50)
        while True:
            top_rare = self._ranked(rare, depth)
            top_common = self._ranked(common, depth)
            by_rare, by_common = dict(top_rare), dict(top_common)
            seen = list(by_rare.keys() | by_common.keys())
            by_rare |= self._scores_of(rare, [i for i in seen if i not in by_rare])
            by_common |= self._scores_of(common, [i for i in seen if i not in by_common])
            scored = sorted(
                ((i, by_rare.get(i, 0.0) + weight * by_common.get(i, 0.0)) for i in seen),
                key=lambda hit: -hit[1],
            )
            rare_cut = len(top_rare) == depth
            common_cut = len(top_common) == depth
            # a chunk in neither list scores at most the last score of each list that was cut off
            bound = (top_rare[-1][1] if rare_cut else 0.0) + weight * (
                top_common[-1][1] if common_cut else 0.0
            )
            if not (rare_cut or common_cut) or (len(scored) >= k and scored[k - 1][1] >= bound):
                return scored[:k]
            depth *= 4
