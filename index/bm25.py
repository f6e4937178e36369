"""BM25 index of the chunks, kept in the store's SQLite file, scored exactly like rank-bm25's BM25Okapi.

Layout. For every term, the chunks that contain it are stored as *postings* (chunk id, how often
the term occurs in the chunk, the chunk's length in terms), packed 8 bytes each into blocks in the
``postings`` table, with each term's document frequency in ``term_stats``; ``index_stats``
(triggers on ``chunks``) holds N and the total length. Every change happens inside the store's
transaction for the article, so the index cannot drift from the chunk rows, survives restarts and
never needs a rebuild; opening it loads nothing.

Adding. A new chunk is first listed in ``pending_chunks``, and queries read pending chunks' terms
straight from their rows. Once PENDING_CHUNKS are waiting, the add that reaches it writes their
postings, one block per term. (An article's few hundred terms land in as many pages of the tables,
and SQLite writes each page it touched at commit: about 20 ms per article at 100k chunks when each
is written at once; a batch shares most of those pages, so most adds cost ~2 ms and the average
~12 ms, see ``benchmarks/retrieval.py``.) Blocks are merged the way
log-structured indexes (Lucene, FTS5) merge segments: a block's *level* is its size in powers of
FANOUT, and FANOUT blocks of one term at one level are merged into one block of the next level, so
a term keeps at most about (FANOUT - 1) blocks per level and each posting is rewritten about
log_FANOUT(df) times in its life. Removing an article rewrites the blocks that hold its chunks.

Scoring. A query reads its terms' blocks and scores all their postings at once with numpy: Okapi
BM25 with k1 = 1.2, b = 0.75 and ``idf = ln((N - n + 0.5) / (n + 0.5))``, BM25Okapi's formula term
for term. Every chunk holding a query term is scored (OR semantics): nothing is pruned, so the top k
is exact. SQLite's FTS5 ``bm25()`` computes the same scores, but at about 1 µs per matching chunk
plus a pass over each term's list to count it, so a term found in 40 % of a million chunks costs it
half a second; ``benchmarks/retrieval.py`` times it beside this index.

Negative idf. A term found in half of the chunks or more (common in a topical collection: "putin")
has an idf of zero or below, so it would stop counting or count against a chunk. We give such terms
rank-bm25's floor instead: ``EPSILON x the mean idf of the whole vocabulary`` (EPSILON 0.25), the
same for every such term. Computing it reads the whole vocabulary, so it is kept until the chunks
change. It is kept with the last chunk id given out and N, which another process's changes move
too (the store never gives an id twice, so every add raises the one and every removal lowers the
other), and dropped by this index's own adds and removals (a rolled-back add may give ids out again).
"""

import json
import math
import sqlite3
import zlib
from collections import Counter

import numpy as np

K1 = 1.2
B = 0.75
#: rank-bm25's epsilon: floored terms get this fraction of the vocabulary's mean idf.
EPSILON = 0.25
#: One posting: chunk id, term frequency in the chunk, chunk length in terms.
POSTING = np.dtype([("chunk", "<u4"), ("tf", "<u2"), ("length", "<u2")])
#: Chunks hold a few hundred terms (index.chunking caps them in words); the store refuses an
#: article with a chunk of more (65,535: a "word" of thousands of digits or symbols can make them).
MAX_CHUNK_TERMS = int(np.iinfo(POSTING["length"]).max)
#: This many blocks of one term at one level are merged into one block of the next level.
FANOUT = 8
#: New chunks are indexed in batches of at least this many (queries read pending ones directly).
PENDING_CHUNKS = 64

SCHEMA = """
CREATE TABLE postings (
  id INTEGER PRIMARY KEY,
  term TEXT NOT NULL,
  level INTEGER NOT NULL,
  first INTEGER NOT NULL,  -- the block's smallest chunk id
  last INTEGER NOT NULL,   -- and its largest
  n INTEGER NOT NULL,      -- postings in the block
  data BLOB NOT NULL       -- n POSTING records, by chunk id
);
CREATE INDEX postings_term ON postings (term, level);
CREATE TABLE pending_chunks (
  chunk_id INTEGER PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE
);
"""


class EmptyIndex(LookupError):
    """The collection has no chunks to search yet."""


def idf(n_chunks: int, df: int) -> float:
    """BM25's idf before flooring: ``ln((N - n + 0.5) / (n + 0.5))``."""
    return math.log(n_chunks - df + 0.5) - math.log(df + 0.5)


def level_of(size: int) -> int:
    """A block's level: how many times FANOUT divides into its size."""
    level = 0
    while size >= FANOUT:
        size //= FANOUT
        level += 1
    return level


def _postings(chunks: list[tuple[int, str]], only: set[str] | None = None) -> dict[str, np.ndarray]:
    """Each term's postings in these chunks, ``(chunk id, stored terms)``, by chunk id.

    :param only: just these terms (all when None).
    """
    vocabulary: dict[str, int] = {}
    term_numbers, ids, tfs, lengths = [], [], [], []
    for chunk_id, stored in chunks:
        words = stored.split()
        if only is None:
            counts = Counter(words)
        else:
            counts = {term: words.count(term) for term in only.intersection(words)}
        term_numbers += [vocabulary.setdefault(term, len(vocabulary)) for term in counts]
        tfs += counts.values()
        ids += [chunk_id] * len(counts)
        lengths += [len(words)] * len(counts)
    if not ids:
        return {}
    records = np.empty(len(ids), dtype=POSTING)
    records["chunk"], records["tf"], records["length"] = ids, tfs, lengths
    numbers = np.array(term_numbers)
    order = np.lexsort((records["chunk"], numbers))
    records, numbers = records[order], numbers[order]
    starts = [0, *(np.flatnonzero(np.diff(numbers)) + 1).tolist()]
    ends = starts[1:] + [len(records)]
    names, numbers = list(vocabulary), numbers.tolist()
    return {names[numbers[a]]: records[a:b] for a, b in zip(starts, ends)}


class ChunkIndex:
    """The BM25 index in the store's database.

    :param conn: a connection to the store's database (the store serialises access to it and
        wraps every change in its transaction).
    """

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._floor: tuple[tuple[int, int], float] | None = None  # (the chunks' key, the floor)

    def stats(self) -> tuple[int, int]:
        """(N chunks, total terms), kept by triggers in ``index_stats``."""
        return self.conn.execute("SELECT chunks, tokens FROM index_stats WHERE id = 1").fetchone()

    def add(self, chunk_ids: list[int]) -> None:
        """Index chunks just stored: list them as pending; write the pending ones once enough wait."""
        self._floor = None
        self.conn.executemany(
            "INSERT INTO pending_chunks (chunk_id) VALUES (?)", [(i,) for i in chunk_ids]
        )
        waiting = self.conn.execute("SELECT count(*) FROM pending_chunks").fetchone()[0]
        if waiting >= PENDING_CHUNKS:
            self.flush()

    def flush(self) -> None:
        """Write the pending chunks' postings into the blocks."""
        self._index(self._pending())
        self.conn.execute("DELETE FROM pending_chunks")

    def remove(self, chunks: list[tuple[int, str]]) -> None:
        """Take chunks about to be deleted out of the index: ``(chunk id, stored terms)``."""
        self._floor = None
        pending = self._pending_ids()
        chunks = [(i, stored) for i, stored in chunks if i not in pending]
        if not chunks:
            return
        ids = np.array(sorted(chunk_id for chunk_id, _ in chunks), dtype=POSTING["chunk"])
        counts = Counter(t for _, stored in chunks for t in set(stored.split()))
        self._count(counts, -1)
        for term in counts:
            rows = self.conn.execute(
                "SELECT id, data FROM postings WHERE term = ? AND first <= ? AND last >= ?",
                [term, int(ids[-1]), int(ids[0])],
            ).fetchall()
            for block_id, data in rows:
                block = np.frombuffer(data, dtype=POSTING)
                kept = block[~np.isin(block["chunk"], ids)]
                if len(kept) == len(block):
                    continue
                self.conn.execute("DELETE FROM postings WHERE id = ?", [block_id])
                if len(kept):
                    self._write([(term, kept)])

    def rebuild(self, chunks) -> None:
        """Index every chunk again from its stored terms: an iterable of ``(chunk id, terms)``.

        Used by the migration that introduced this index; reads the chunks in batches.
        """
        for table in ("postings", "term_stats", "pending_chunks"):
            self.conn.execute(f"DELETE FROM {table}")
        batch = []
        for chunk in chunks:
            batch.append(chunk)
            if len(batch) == 20_000:
                self._index(batch)
                batch = []
        self._index(batch)

    def _pending_ids(self) -> set[int]:
        """The ids of the chunks waiting to be written into the blocks."""
        return {i for (i,) in self.conn.execute("SELECT chunk_id FROM pending_chunks")}

    def _pending(self) -> list[tuple[int, str]]:
        """The pending chunks: ``(chunk id, stored terms)``."""
        return self.conn.execute(
            "SELECT c.id, c.terms FROM pending_chunks p JOIN chunks c ON c.id = p.chunk_id"
        ).fetchall()

    def _index(self, chunks: list[tuple[int, str]]) -> None:
        """Write these chunks' postings, one new block per term, and merge the levels that fill."""
        blocks = _postings(chunks)
        if not blocks:
            return
        self._count({term: len(block) for term, block in blocks.items()}, +1)
        self._write(blocks.items())
        pairs = json.dumps([[term, level_of(len(block))] for term, block in blocks.items()])
        full = self.conn.execute(
            "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)"
            " WHERE (SELECT count(*) FROM postings WHERE term = json_extract(value, '$[0]')"
            "        AND level = json_extract(value, '$[1]')) >= ?",
            [pairs, FANOUT],
        ).fetchall()
        for term, level in full:
            self._merge(term, level)

    def _count(self, counts: dict[str, int], sign: int) -> None:
        """Add (+1) or take away (-1) document frequencies in ``term_stats``."""
        self.conn.executemany(
            "INSERT INTO term_stats (term, df) VALUES (?, ?)"
            " ON CONFLICT (term) DO UPDATE SET df = df + excluded.df",
            [(term, sign * n) for term, n in counts.items()],
        )
        if sign < 0:
            self.conn.execute("DELETE FROM term_stats WHERE df <= 0")

    def _write(self, blocks) -> None:
        """Insert ``(term, postings)`` blocks, each at the level its size gives it."""
        self.conn.executemany(
            "INSERT INTO postings (term, level, first, last, n, data) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (term, level_of(len(block)), int(block["chunk"][0]), int(block["chunk"][-1]),
                 len(block), block.tobytes())
                for term, block in blocks
            ],
        )

    def _merge(self, term: str, level: int) -> None:
        """Merge a term's blocks at one level into one block, and on up while levels fill."""
        while True:
            rows = self.conn.execute(
                "SELECT data FROM postings WHERE term = ? AND level = ? ORDER BY first",
                [term, level],
            ).fetchall()
            if len(rows) < FANOUT:
                return
            merged = np.concatenate([np.frombuffer(data, dtype=POSTING) for (data,) in rows])
            # blocks of one level may interleave (a batch can write straight to a higher level)
            merged = merged[np.argsort(merged["chunk"], kind="stable")]
            self.conn.execute("DELETE FROM postings WHERE term = ? AND level = ?", [term, level])
            self._write([(term, merged)])
            level = level_of(len(merged))

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many chunks contain each term; terms that no chunk contains are left out."""
        return self._frequencies(terms, _postings(self._pending(), set(terms)))

    def _frequencies(self, terms: list[str], pending: dict[str, np.ndarray]) -> dict[str, int]:
        """Document frequencies: the indexed chunks' from ``term_stats``, plus the pending postings'."""
        df = Counter(dict(self.conn.execute(
            "SELECT term, df FROM term_stats WHERE term IN (SELECT value FROM json_each(?))",
            [json.dumps(terms)],
        ).fetchall()))
        df.update({term: len(block) for term, block in pending.items()})
        return dict(df)

    def floor_idf(self, n_chunks: int) -> float:
        """The idf of terms in half of the chunks or more: EPSILON x the vocabulary's mean idf.

        Computed over the whole vocabulary, again only once the chunks have changed.
        """
        (last_id,) = self.conn.execute("SELECT last FROM id_sequences WHERE name = 'chunks'").fetchone()
        key = (n_chunks, last_id)
        if self._floor is None or self._floor[0] != key:
            total, count = self.conn.execute(
                "SELECT sum(ln((? - df + 0.5) / (df + 0.5))), count(*) FROM term_stats",
                [n_chunks],
            ).fetchone()
            total = total or 0.0
            pending = {t: len(block) for t, block in _postings(self._pending()).items()}
            indexed = self._frequencies(list(pending), {})
            for term, n in pending.items():  # pending chunks change these terms' idf (or add them)
                if term in indexed:
                    total -= idf(n_chunks, indexed[term])
                else:
                    count += 1
                total += idf(n_chunks, indexed.get(term, 0) + n)
            self._floor = key, EPSILON * total / max(count, 1)
        return self._floor[1]

    def search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        """The ``k`` best chunks for the query terms, best first: ``(chunk_id, score)``.

        Chunks need not contain every term (OR semantics). Repeated terms count once. Equal
        scores are ordered by chunk id.

        :param terms: analysed query terms (``index.analysis.question_terms``).
        :param k: how many chunks to return at most.
        :raises EmptyIndex: the collection has no chunks.
        """
        if k <= 0:
            raise ValueError("k must be positive")
        n_chunks, n_terms = self.stats()
        if n_chunks == 0:
            raise EmptyIndex("the collection is empty: add articles first")
        terms = list(dict.fromkeys(terms))
        pending = _postings(self._pending(), set(terms))
        df = self._frequencies(terms, pending)
        if not df:
            return []
        weights = {t: idf(n_chunks, n) for t, n in df.items()}
        if any(w <= 0 for w in weights.values()):
            floor = self.floor_idf(n_chunks)
            weights = {t: w if w > 0 else floor for t, w in weights.items()}
        rows = self.conn.execute(
            "SELECT term, data FROM postings WHERE term IN (SELECT value FROM json_each(?))",
            [json.dumps(list(df))],
        )
        blocks = [(term, np.frombuffer(data, dtype=POSTING)) for term, data in rows]
        blocks += pending.items()
        postings = np.concatenate([block for _, block in blocks])
        weight = np.repeat([weights[term] for term, _ in blocks], [len(b) for _, b in blocks])
        tf = postings["tf"].astype(np.float64)
        norm = K1 * (1 - B + B * postings["length"] / (n_terms / n_chunks))
        chunk_ids = postings["chunk"]
        size = int(chunk_ids.max()) + 1
        scores = np.bincount(chunk_ids, weights=weight * (tf * (K1 + 1) / (tf + norm)), minlength=size)
        matched = np.flatnonzero(np.bincount(chunk_ids, minlength=size))
        best = scores[matched]
        if len(matched) > k:  # keep the k best, and everything tied with the k-th
            kth = np.partition(best, len(best) - k)[len(best) - k]
            matched, best = matched[best >= kth], best[best >= kth]
        order = np.lexsort((matched, -best))[:k]
        return [(int(matched[i]), float(best[i])) for i in order]

    def check(self, chunks: list[tuple[int, str]]) -> list[str]:
        """Compare the index with the chunks' stored terms; the differences, in words.

        Each block must hold its postings sorted by chunk id, with true bounds (``first``,
        ``last``), count and level. Each chunk not pending must have a posting for each of its
        terms, with its count and the chunk's length (checked through per-chunk sums of term
        hashes); no posting may name a chunk that does not exist or is pending; and each term's
        postings must add up to its document frequency. Linear in the size of the index: the
        postings are summed a batch of blocks at a time.
        """
        problems = []
        pending = self._pending_ids()
        size = max([chunk_id for chunk_id, _ in chunks], default=0) + 1
        expected = np.zeros((3, size))
        for chunk_id, stored in chunks:
            if chunk_id in pending:
                continue
            words = stored.split()
            tfs = Counter(words)
            expected[:, chunk_id] = (
                len(tfs),
                len(tfs) * len(words),
                sum(_hash(t) * tf for t, tf in tfs.items()),
            )
        found = np.zeros((3, size))
        df: Counter[str] = Counter()
        batch, hashes, held = [], [], 0
        misplaced = set()

        def add_batch():
            postings = np.concatenate(batch)
            found[0] += np.bincount(postings["chunk"], minlength=size)
            found[1] += np.bincount(postings["chunk"], weights=postings["length"], minlength=size)
            weights = postings["tf"] * np.repeat(hashes, [len(b) for b in batch])
            found[2] += np.bincount(postings["chunk"], weights=weights, minlength=size)
            batch.clear()
            hashes.clear()

        rows = self.conn.execute("SELECT term, level, first, last, n, data FROM postings")
        for term, level, first, last, n, data in rows:
            block = np.frombuffer(data, dtype=POSTING)
            df[term] += len(block)
            ids = block["chunk"]
            if len(ids) == 0 or (
                (np.diff(ids.astype(np.int64)) <= 0).any()
                or (first, last, n, level) != (int(ids[0]), int(ids[-1]), len(ids), level_of(len(ids)))
            ):
                misplaced.add(term)
            if len(ids) and int(ids.max()) >= size:
                problems.append(f"the index names chunks that do not exist (term {term!r})")
                continue
            batch.append(block)
            hashes.append(float(_hash(term)))
            held += len(block)
            if held > 4_000_000:
                add_batch()
                held = 0
        if batch:
            add_batch()
        if misplaced:
            problems.append(
                f"{len(misplaced)} terms have blocks out of order or with wrong bounds"
                f" (first: {sorted(misplaced)[:5]})"
            )
        wrong = np.flatnonzero((found != expected).any(axis=0))
        if len(wrong):
            problems.append(
                f"the index does not match the terms of {len(wrong)} chunks"
                f" (first: {wrong[:5].tolist()})"
            )
        stored = dict(self.conn.execute("SELECT term, df FROM term_stats").fetchall())
        if stored != dict(df):
            differ = sum(1 for t in stored.keys() | df.keys() if stored.get(t) != df.get(t))
            problems.append(f"{differ} terms' postings do not match their document frequency")
        return problems


def _hash(term: str) -> int:
    """A stable 20-bit hash of a term (sums of them stay exact in floating point)."""
    return zlib.crc32(term.encode()) & 0xFFFFF
