"""Retrieval benchmark: our BM25 index against rank-bm25's BM25Okapi and SQLite FTS5, same run.

    python -m benchmarks.retrieval --chunks 100000
    python -m benchmarks.retrieval --chunks 1000000 --no-peer

Builds a seeded synthetic news-like collection (Zipf-distributed pseudo-words after English function
words, a few topic words found in most chunks, the way "Putin" is in a collection about Russia)
through ``Store.add_article``, then times, for ours and for the peer fed with the very same terms
and k1 = 1.2, b = 0.75: query latency (top 10), adding one article
(ours: ``Store.add_article``, chunking included; the peer: rebuilding ``BM25Okapi``), and cold open
(a new ``Store`` on the file, then its first query), and how many of the peer's top 10 are ours
(equal scores ordered by chunk id on both sides). FTS5, the engine the index replaced, is
timed on the same terms too (``ORDER BY rank`` of an OR query in an in-memory FTS5 table: its own
bm25(), without the negative-idf floor, so for speed only). Prints ``RESULT {json}`` last.
"""

import argparse
import json
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qabot.index.analysis import STOPWORDS, question_terms, terms
from qabot.index.store import Store, content_hash

WORDS_PER_SENTENCE = (8, 30)
SENTENCES_PER_PARAGRAPH = 5
PARAGRAPHS_PER_ARTICLE = 8
VOCABULARY = 60_000
#: (word, share of chunks it appears in): topical words that push idf to zero or below.
TOPIC_WORDS = [("kremlin", 0.6), ("minister", 0.35), ("report", 0.52)]
K = 10


def _pseudo_words(rng: np.random.Generator, n: int) -> list[str]:
    letters = np.array(list(string.ascii_lowercase))
    found: dict[str, None] = {}
    while len(found) < n:
        size = int(rng.integers(3, 11))
        found["".join(rng.choice(letters, size))] = None
    return list(found)


class Corpus:
    """A seeded generator of news-like sentences over a Zipfian vocabulary.

    As in English, the most frequent words are function words (the analyser's stopwords), then
    come pseudo-words of decreasing frequency.
    """

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        function_words = sorted(STOPWORDS - {w for w, _ in TOPIC_WORDS})
        self.rng.shuffle(function_words)
        self.words = np.array(function_words + _pseudo_words(self.rng, VOCABULARY))
        ranks = np.arange(1, len(self.words) + 1)
        weights = 1.0 / ranks**1.07
        self.p = weights / weights.sum()
        self._drawn = np.empty(0, dtype=np.int64)

    def _draw(self, n: int) -> np.ndarray:
        if len(self._drawn) < n:
            fresh = self.rng.choice(len(self.words), 1_000_000, p=self.p)
            self._drawn = np.concatenate([self._drawn, fresh])
        picked, self._drawn = self._drawn[:n], self._drawn[n:]
        return picked

    def sentence(self) -> str:
        n = int(self.rng.integers(*WORDS_PER_SENTENCE))
        picked = list(self.words[self._draw(n)])
        for word, share in TOPIC_WORDS:
            if self.rng.random() < share / 6:
                picked.insert(int(self.rng.integers(0, len(picked) + 1)), word)
        if self.rng.random() < 0.3:
            picked.append(str(int(self.rng.integers(1900, 2030))))
        return " ".join(picked).capitalize() + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(SENTENCES_PER_PARAGRAPH))

    def article(self) -> str:
        return "\n".join(self.paragraph() for _ in range(PARAGRAPHS_PER_ARTICLE))

    def question(self, chunk_text: str) -> str:
        """A question made of 2 to 5 distinct content words of one chunk, among function words."""
        words = sorted({w.lower() for w in chunk_text.replace(".", "").split()} - STOPWORDS)
        picked = self.rng.choice(words, min(len(words), int(self.rng.integers(2, 6))), replace=False)
        return "When did the " + " of the ".join(picked) + " happen?"


def build(store: Store, corpus: Corpus, n_chunks: int) -> None:
    """Add synthetic articles through ``Store.add_article`` until the store holds ``n_chunks`` chunks."""
    from tqdm import tqdm

    with tqdm(total=n_chunks, desc="building", unit="chunk", file=sys.stderr) as bar:
        have = store.counts()["chunks"]
        while have < n_chunks:
            article = store.add_article(title=f"Synthetic article {have}", text=corpus.article())
            have += article.chunks
            bar.update(article.chunks)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks in the collection (default: %(default)s)")
    parser.add_argument("--queries", type=int, default=200, help="questions timed, one from each of as many chunks")
    parser.add_argument("--adds", type=int, default=64, help="articles added one at a time, each timed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic collection (default: %(default)s)")
    parser.add_argument("--no-peer", action="store_true", help="Skip rank-bm25 (too slow at 1M).")
    parser.add_argument("--db", type=Path, help="Keep the built collection here (reused if present).")
    args = parser.parse_args(argv)

    corpus = Corpus(args.seed)
    db = args.db or Path(tempfile.mkdtemp()) / "bench.db"
    store = Store(db)
    if store.counts()["chunks"] < args.chunks:
        started = time.perf_counter()
        build(store, corpus, args.chunks)
        print(f"built {args.chunks:,} chunks in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    n = store.counts()["chunks"]

    rows = store.db.execute("SELECT id, text, terms FROM chunks ORDER BY id").fetchall()
    sample = corpus.rng.choice(len(rows), args.queries, replace=False)
    questions = [corpus.question(rows[i][1]) for i in sample]
    queries = [question_terms(q) for q in questions]

    ours_ms, ours_top = [], []
    for q in queries:
        started = time.perf_counter()
        hits = store.search_chunks(q, K)
        ours_ms.append((time.perf_counter() - started) * 1000)
        ours_top.append([chunk_id for chunk_id, _ in hits])

    add_ms = []
    fresh = Corpus(args.seed + n)  # new text even when the collection is reused from --db
    for i in range(args.adds):
        text = fresh.article()
        started = time.perf_counter()
        store.add_article(title=f"Added {i}", text=text)
        add_ms.append((time.perf_counter() - started) * 1000)
    store.close()

    started = time.perf_counter()
    reopened = Store(db)
    reopened.search_chunks(queries[0], K)
    open_ms = (time.perf_counter() - started) * 1000
    reopened.close()

    result = {
        "chunks": n,
        "query_ms_p50": round(percentile(ours_ms, 50), 3),
        "query_ms_p95": round(percentile(ours_ms, 95), 3),
        "add_ms_p50": round(percentile(add_ms, 50), 3),
        "add_ms_mean": round(statistics.mean(add_ms), 3),  # every 8th or so add writes the batch
        "open_ms": round(open_ms, 1),
    }
    print(f"ours: query p50 {result['query_ms_p50']} ms, p95 {result['query_ms_p95']} ms; "
          f"add p50 {result['add_ms_p50']} ms, mean {result['add_ms_mean']} ms; cold open {result['open_ms']} ms", file=sys.stderr)
    if not args.no_peer:
        result |= _peer(rows, queries, ours_top, corpus)
        result |= _fts5(rows, queries)
        result["query_speedup"] = round(result["rank_bm25_query_ms_p50"] / result["query_ms_p50"], 1)
        result["add_speedup"] = round(result["rank_bm25_rebuild_ms"] / result["add_ms_p50"], 1)
    order = ["chunks", "query_ms_p50", "rank_bm25_query_ms_p50", "query_speedup", "add_ms_p50",
             "rank_bm25_rebuild_ms", "add_speedup", "open_ms", "top10_agreement", "query_ms_p95",
             "rank_bm25_query_ms_p95", "add_ms_mean", "fts5_query_ms_p50", "fts5_query_ms_p95"]
    result = {key: result[key] for key in order if key in result}
    print("RESULT " + json.dumps(result))
    return result


def _peer(rows, queries, ours_top, corpus) -> dict:
    """rank-bm25 on the very same terms: query latency, top-10 agreement, rebuild cost."""
    from rank_bm25 import BM25Okapi

    ids = np.array([chunk_id for chunk_id, _, _ in rows])
    tokenized = [stored.split() for _, _, stored in rows]
    started = time.perf_counter()
    peer = BM25Okapi(tokenized, k1=1.2, b=0.75)
    build_ms = (time.perf_counter() - started) * 1000
    peer_ms, agreement = [], []
    for q, ours in zip(queries, ours_top):
        started = time.perf_counter()
        scores = peer.get_scores(q)
        top = np.argpartition(-scores, K)[:K]
        top = top[np.argsort(-scores[top])]
        peer_ms.append((time.perf_counter() - started) * 1000)
        top = np.lexsort((ids, -scores))[:K]  # for agreement, equal scores ordered by id as ours are
        theirs = set(ids[top][scores[top] > 0].tolist())
        agreement.append(len(theirs & set(ours)) / max(len(theirs), 1))
    print(f"rank-bm25: query p50 {percentile(peer_ms, 50):.1f} ms; build {build_ms:.0f} ms", file=sys.stderr)
    # adding one article means rebuilding the peer over the grown corpus
    tokenized += [terms(paragraph) for paragraph in corpus.article().split("\n")]
    started = time.perf_counter()
    BM25Okapi(tokenized, k1=1.2, b=0.75)
    rebuild_ms = (time.perf_counter() - started) * 1000
    return {
        "rank_bm25_query_ms_p50": round(percentile(peer_ms, 50), 3),
        "rank_bm25_query_ms_p95": round(percentile(peer_ms, 95), 3),
        "rank_bm25_rebuild_ms": round(rebuild_ms, 1),
        "top10_agreement": round(statistics.mean(agreement), 4),
    }


def _fts5(rows, queries) -> dict:
    """SQLite FTS5's own bm25() ranking over the same terms: query latency (top 10)."""
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(terms, tokenize='unicode61 remove_diacritics 0')")
    conn.executemany("INSERT INTO f (rowid, terms) VALUES (?, ?)", [(i, t) for i, _, t in rows])
    conn.commit()
    fts_ms = []
    for q in queries:
        match = " OR ".join(f'"{term}"' for term in q)
        started = time.perf_counter()
        conn.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY rank LIMIT ?", [match, K]).fetchall()
        fts_ms.append((time.perf_counter() - started) * 1000)
    conn.close()
    print(f"fts5: query p50 {percentile(fts_ms, 50):.1f} ms", file=sys.stderr)
    return {
        "fts5_query_ms_p50": round(percentile(fts_ms, 50), 3),
        "fts5_query_ms_p95": round(percentile(fts_ms, 95), 3),
    }


if __name__ == "__main__":
    main()
