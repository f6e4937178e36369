"""BM25 search over the chunks' full-text index (SQLite FTS5), scored exactly like rank-bm25's BM25Okapi.

The index lives in the same SQLite file as the chunks and is kept in step by triggers, so it is
updated in the article's own transaction, survives restarts and needs no rebuild. Scores are Okapi
BM25 with k1 = 1.2, b = 0.75 over the analyser's terms, ``idf = ln((N - n + 0.5) / (n + 0.5))``:
FTS5's own ``bm25()`` formula, and BM25Okapi's when given the same terms and k1.

Negative idf. A term found in half of the chunks or more (common in a topical collection: "putin")
has an idf of zero or below; FTS5 floors it at 1e-6, so the term would stop counting. We give such
terms rank-bm25's floor instead: ``EPSILON x the mean idf of the whole vocabulary`` (EPSILON 0.25),
the same for every floored term, recomputed when the collection has changed by over 1 %.

Speed. FTS5 scores every chunk that matches any query term, so a frequent term makes a query cost
as much as its posting list. Terms are therefore split into groups: *cheap* ones (found in few
chunks) and the frequent ones, with and without floor. Candidates come from FTS5 ranking the cheap
group; each candidate's exact score is computed from its stored terms; and the frequent groups are
only ranked by FTS5 when their best possible contribution (idf x (k1 + 1)) could still lift an unseen
chunk above the k-th best (the threshold algorithm / MaxScore). The result is exact either way.
"""

import heapq
import math
import sqlite3
from collections import Counter
from dataclasses import dataclass

K1 = 1.2
B = 0.75
#: rank-bm25's epsilon: floored terms get this fraction of the vocabulary's mean idf.
EPSILON = 0.25
#: A term in more than this many chunks (or this share of them, whichever is larger) is frequent.
CHEAP_CHUNKS = 2000
CHEAP_SHARE = 0.005
#: Chunks scored one by one before the search ranks every group whole instead.
SCORE_BUDGET = 256
#: FTS5's own floor for idf <= 0, which its bm25() multiplies into a floored term's tf part.
_FTS5_IDF_FLOOR = 1e-6


class EmptyIndex(LookupError):
    """The collection has no chunks to search yet."""


def idf(n_chunks: int, df: int) -> float:
    """BM25's idf before flooring: ``ln((N - n + 0.5) / (n + 0.5))``."""
    return math.log(n_chunks - df + 0.5) - math.log(df + 0.5)


def _match(terms: list[str]) -> str:
    """An FTS5 query matching any of the terms (OR semantics)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


@dataclass(frozen=True)
class _Group:
    """Query terms that FTS5 ranks together, and the most they can add to one chunk's score."""

    terms: list[str]
    scale: float  # turns FTS5's bm25() for these terms into our score
    best: float


class ChunkIndex:
    """BM25 search over the ``chunks_fts`` table of one connection.

    :param conn: a connection to the store's database (the store serialises access to it).
    """

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._floor_at = 0  # the chunk count the floor was computed at
        self._floor = 0.0

    def stats(self) -> tuple[int, int]:
        """(N chunks, total terms), kept by triggers in ``index_stats``."""
        return self.conn.execute("SELECT chunks, tokens FROM index_stats WHERE id = 1").fetchone()

    def count_terms(self, chunk_terms: list[str], sign: int) -> None:
        """Update ``term_stats`` (each term's document frequency) for chunks added (+1) or removed (-1).

        Called by the store inside the transaction that adds or removes the chunk rows. FTS5 can
        count a term's chunks too, but only by reading its whole posting list.

        :param chunk_terms: each chunk's stored terms (space-separated).
        """
        counts = Counter(t for stored in chunk_terms for t in set(stored.split()))
        self.conn.executemany(
            "INSERT INTO term_stats (term, df) VALUES (?, ?)"
            " ON CONFLICT (term) DO UPDATE SET df = df + excluded.df",
            [(term, sign * n) for term, n in counts.items()],
        )
        if sign < 0:
            self.conn.execute("DELETE FROM term_stats WHERE df <= 0")

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many chunks contain each term; terms that no chunk contains are left out."""
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        rows = self.conn.execute(
            f"SELECT term, df FROM term_stats WHERE term IN ({marks})", terms
        ).fetchall()
        return dict(rows)

    def floor_idf(self, n_chunks: int) -> float:
        """The idf of terms in half of the chunks or more: EPSILON x the vocabulary's mean idf.

        Computed over the whole vocabulary, again only once N has changed by more than 1 %.
        """
        if not self._floor_at or abs(n_chunks - self._floor_at) > 0.01 * self._floor_at:
            total, count = self.conn.execute(
                "SELECT sum(ln((? - df + 0.5) / (df + 0.5))), count(*) FROM term_stats",
                [n_chunks],
            ).fetchone()
            self._floor_at, self._floor = n_chunks, EPSILON * (total or 0.0) / max(count, 1)
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
        n_chunks, n_terms = self.stats()
        if n_chunks == 0:
            raise EmptyIndex("the collection is empty: add articles first")
        df = self.document_frequencies(list(dict.fromkeys(terms)))
        if not df:
            return []
        weights = {t: idf(n_chunks, n) for t, n in df.items()}
        floored = [t for t, w in weights.items() if w <= 0]
        if floored:
            floor = self.floor_idf(n_chunks)
            weights |= {t: floor for t in floored}
        cheap_limit = max(CHEAP_CHUNKS, CHEAP_SHARE * n_chunks)
        cheap = [t for t in df if t not in floored and df[t] <= cheap_limit]
        frequent = [t for t in df if t not in floored and t not in cheap]
        floor_scale = weights[floored[0]] / _FTS5_IDF_FLOOR if floored else 1.0
        groups = [
            _Group(group, scale, sum(weights[t] for t in group) * (K1 + 1))
            for group, scale in ((cheap, 1.0), (frequent, 1.0), (floored, floor_scale))
            if group
        ]
        return self._threshold_search(groups, _Scorer(self.conn, weights, n_terms / n_chunks), k)

    def _threshold_search(
        self, groups: list[_Group], scorer: "_Scorer", k: int
    ) -> list[tuple[int, float]]:
        """Walk the groups' rankings, cheapest group first, until no unseen chunk can enter the top k.

        A chunk not scored yet has nothing from the groups already walked to the end, at most the
        next score of the group being walked, and at most ``best`` from each group not yet begun.
        Each group's ranking is first read SCORE_BUDGET deep. Once that many chunks have been scored
        one by one without settling it, every group is ranked whole by FTS5 and the scores are added
        up per chunk instead (exact as well, and cheaper than scoring thousands of chunks in Python).
        """
        for position, group in enumerate(groups):
            later = sum(g.best for g in groups[position + 1 :])
            ranking = self._ranked(group.terms, SCORE_BUDGET)
            whole = len(ranking) < SCORE_BUDGET
            start, size = 0, max(4 * k, 64)
            while start < len(ranking):
                if len(scorer.scores) >= SCORE_BUDGET:
                    return self._summed(groups, k)
                scorer.add([chunk_id for chunk_id, _ in ranking[start : start + size]])
                start, size = start + size, size * 2
                if start >= len(ranking) and not whole:  # read past the first page: fetch the rest
                    return self._summed(groups, k)
                unseen = ranking[start][1] * group.scale if start < len(ranking) else 0.0
                best = scorer.top(k)
                if len(best) == k and best[-1][1] >= unseen + later:
                    return best
        return scorer.top(k)

    def _summed(self, groups: list[_Group], k: int) -> list[tuple[int, float]]:
        """The top k by the sum of every group's FTS5 score, each group ranked whole."""
        totals: dict[int, float] = {}
        for group in groups:
            for chunk_id, score in self._ranked(group.terms):
                totals[chunk_id] = totals.get(chunk_id, 0.0) + score * group.scale
        return heapq.nsmallest(k, totals.items(), key=lambda hit: (-hit[1], hit[0]))

    def _ranked(self, terms: list[str], limit: int = -1) -> list[tuple[int, float]]:
        """The chunks with any of these terms by FTS5's bm25(), best first: (chunk id, score).

        :param limit: at most this many (all when negative).
        """
        rows = self.conn.execute(
            "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?"
            " ORDER BY rank LIMIT ?",
            [_match(terms), limit],
        ).fetchall()
        return [(rowid, -score) for rowid, score in rows]


class _Scorer:
    """Exact BM25 scores of candidate chunks, from their stored terms."""

    def __init__(self, conn: sqlite3.Connection, weights: dict[str, float], avgdl: float):
        self.conn = conn
        self.weights = weights
        self.avgdl = avgdl
        self.scores: dict[int, float] = {}

    def add(self, chunk_ids: list[int]) -> None:
        """Score the chunks not scored yet."""
        new = [i for i in chunk_ids if i not in self.scores]
        if not new:
            return
        marks = ",".join("?" * len(new))
        rows = self.conn.execute(f"SELECT id, terms FROM chunks WHERE id IN ({marks})", new)
        for chunk_id, stored in rows:
            self.scores[chunk_id] = self.score(stored)

    def score(self, stored: str) -> float:
        """BM25 of one chunk given its stored terms (space-separated)."""
        padded = f" {stored} ".replace(" ", "  ")  # so that repeated terms don't share a space
        length = stored.count(" ") + 1 if stored else 0
        norm = K1 * (1 - B + B * length / self.avgdl)
        total = 0.0
        for term, weight in self.weights.items():
            tf = padded.count(f" {term} ")
            if tf:
                total += weight * tf * (K1 + 1) / (tf + norm)
        return total

    def top(self, k: int) -> list[tuple[int, float]]:
        """The k best scored so far, best first (ties by chunk id)."""
        return heapq.nsmallest(k, self.scores.items(), key=lambda hit: (-hit[1], hit[0]))
