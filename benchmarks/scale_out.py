"""Scale-out benchmark: one synthetic collection searched by the embedded index, 1 Xapian shard and 2 shards.

    python -m benchmarks.scale_out --chunks 100000
    python -m benchmarks.scale_out --chunks 1000000 --db /tmp/scale-1m.db     # kept, reused next time
    python -m benchmarks.scale_out --squad [--limit 500] [--encoder off]       # end to end on the SQuAD slice

The collection is ``benchmarks.retrieval``'s seeded news-like one, built through ``Store.add_article``
(or reused from ``--db``). For each engine, on the same stored terms and the same questions:

* indexing throughput, chunks a second: ``qabot reindex`` (``engine.reindex``) from the store; for
  the embedded index that rebuilds its postings, for Xapian it fills fresh shards over loopback;
* query latency of ``Store.search_chunks`` (top 10, the path the bot takes: shard reopen included),
  p50 and p95, after one warm-up query;
* top-10 agreement with the embedded index: the share of its top 10 the engine also returns;
* adding and removing one article (``add_article`` / ``remove_article``, the push to the shards
  included), p50 in ms.

The shards are ``xapian-tcpsrv --writable`` on 127.0.0.1 (this machine: they share its cores with the
client), started in their own sessions and stopped by pid. The collection is left searched by the
embedded index, as found. ``--squad`` instead answers the shared SQuAD v2.0 slice end to end
(``evaluation.squad.evaluate_squad``, the builtin reader, hybrid search when the encoder is installed)
once on the embedded index and once on 2 shards, with SQuAD 2.0 F1 (answerable F1 and declined
unanswerable questions together). Prints ``RESULT {json}`` last.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.retrieval import Corpus, build
from qabot.index.analysis import question_terms
from qabot.index.store import Store

K = 10


def _shards(folder: Path, n: int):
    """``n`` xapian-tcpsrv on loopback (``tests.xapian_servers``, which skips nothing here)."""
    from tests.xapian_servers import Shard

    return [Shard(folder / f"shard{i}").start() for i in range(1, n + 1)]


def _url(shards) -> str:
    return "xapian://" + ",".join(shard.address for shard in shards)


def _ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


def measure(store: Store, queries: list[list[str]], reference: list[list[int]] | None, adds: int, seed: int) -> dict:
    """Reindex, query and add/remove timings of the store's engine (see the module docstring)."""
    started = time.perf_counter()
    summary = store.engine.reindex()
    seconds = time.perf_counter() - started
    store.search_chunks(queries[0], K)  # warm: connections, caches
    times, tops = [], []
    for query in queries:
        started = time.perf_counter()
        hits = store.search_chunks(query, K)
        times.append((time.perf_counter() - started) * 1000)
        tops.append([chunk for chunk, _ in hits])
    result = {
        "index_chunks_per_s": round(summary["chunks"] / seconds),
        "query_ms_p50": _ms(times, 50),
        "query_ms_p95": _ms(times, 95),
    }
    if reference is not None:
        shared = [len(set(ours) & set(theirs)) / max(len(theirs), 1) for ours, theirs in zip(tops, reference)]
        result["top10_agreement"] = round(statistics.mean(shared), 4)
    fresh = Corpus(seed)
    add_ms, remove_ms, added = [], [], []
    for i in range(adds):
        text = fresh.article()
        started = time.perf_counter()
        added.append(store.add_article(title=f"Timed add {i}", text=text).id)
        add_ms.append((time.perf_counter() - started) * 1000)
    for article_id in added:
        started = time.perf_counter()
        store.remove_article(article_id)
        remove_ms.append((time.perf_counter() - started) * 1000)
    if adds:
        result |= {"add_ms_p50": _ms(add_ms, 50), "remove_ms_p50": _ms(remove_ms, 50)}
    return result, tops


def scale_out(args) -> dict:
    corpus = Corpus(args.seed)
    db = args.db or Path(tempfile.mkdtemp(prefix="qabot-scale-")) / "scale.db"
    with Store(db) as store:
        if store.engine.check():  # a run stopped while the collection was on shards: back to SQLite
            store.engine.reindex()
        have = store.counts()["chunks"]
        if have < args.chunks:  # (a collection grown from a smaller one goes on with other text)
            started = time.perf_counter()
            build(store, Corpus(args.seed + have) if have else corpus, args.chunks)
            print(f"built {args.chunks:,} chunks in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        rows = store.db.execute("SELECT text FROM chunks ORDER BY id").fetchall()
    n = len(rows)
    picked = corpus.rng.choice(n, args.queries, replace=False)
    queries = [question_terms(corpus.question(rows[i][0])) for i in picked]
    del rows
    result = {"chunks": n, "queries": len(queries)}
    with Store(db) as store:
        embedded, reference = measure(store, queries, None, args.adds, args.seed + 1)
    result["embedded"] = embedded
    print(f"embedded: {embedded}", file=sys.stderr)
    for count in (1, 2):
        folder = Path(tempfile.mkdtemp(prefix="qabot-shards-"))
        shards = _shards(folder, count)
        try:
            with Store(db, engine=_url(shards)) as store:
                measured, _ = measure(store, queries, reference, args.adds, args.seed + 1 + count)
        finally:
            for shard in shards:
                shard.stop()
        result[f"xapian_{count}_shard{'s' if count > 1 else ''}"] = measured
        print(f"xapian, {count} shard(s): {measured}", file=sys.stderr)
    with Store(db) as store:  # searched by the embedded index again, as it was found
        store.engine.reindex()
    return result


def squad(args) -> dict:
    """The shared SQuAD slice answered end to end on the embedded index and on 2 shards."""
    from benchmarks.squad import SLICE
    from qabot.evaluation.squad import evaluate_squad, load_collection, load_squad, sample
    from qabot.retrieval.embeddings import embed_missing
    from qabot.retrieval.loading import load_encoder, load_reader
    from qabot.retrieval.search import search

    data = load_squad(args.file or SLICE)
    questions = sample(list(data.questions), limit=args.limit, seed=args.seed)
    reader = load_reader("builtin")
    encoder = load_encoder(args.encoder == "auto")
    folder = Path(tempfile.mkdtemp(prefix="qabot-squad-shards-"))
    shards = _shards(folder, 2)
    result = {"questions": len(questions), "reader": reader.name, "encoder": encoder is not None}
    found = {}
    try:
        for name, engine in (("embedded", None), ("xapian_2_shards", _url(shards))):
            with Store(folder / f"{name}.db", engine=engine) as store:
                article_ids = load_collection(data, store)
                if encoder is not None:
                    embed_missing(store, encoder)
                report = evaluate_squad(data, store=store, reader=reader, article_ids=article_ids,
                                        questions=questions, encoder=encoder)
                found[name] = [[p.chunk_id for p in search(q.question, store=store, k=K, encoder=encoder)]
                               for q in questions]
            answerable, unanswerable = report["answerable"], report["unanswerable"]
            squad2_f1 = ((report["f1"] or 0) * answerable + (report["no_answer_accuracy"] or 0) * unanswerable) / (
                answerable + unanswerable)
            result[name] = {
                "squad2_f1": round(100 * squad2_f1, 2),
                "answerable_f1": round(100 * (report["f1"] or 0), 2),
                "no_answer_accuracy": round(100 * (report["no_answer_accuracy"] or 0), 2),
                "recall_at_5": report["recall"]["answer"]["@5"],
                "time_p50_s": report["time_p50_s"],
            }
            print(f"{name}: {result[name]}", file=sys.stderr)
    finally:
        for shard in shards:
            shard.stop()
    shared = [len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(found["embedded"], found["xapian_2_shards"])]
    result["top10_agreement"] = round(statistics.mean(shared), 4)
    result["squad2_f1_difference"] = round(result["xapian_2_shards"]["squad2_f1"] - result["embedded"]["squad2_f1"], 2)
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=1_000_000, help="chunks in the collection (default: %(default)s)")
    parser.add_argument("--queries", type=int, default=200, help="questions timed, one from each of as many chunks")
    parser.add_argument("--adds", type=int, default=16, help="articles added (then removed) one at a time, each timed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the collection and of --limit (default: %(default)s)")
    parser.add_argument("--db", type=Path, help="Keep the built collection here (reused if present).")
    parser.add_argument("--squad", action="store_true", help="Instead: the SQuAD slice end to end on both engines.")
    parser.add_argument("--file", type=Path, help="--squad: a SQuAD v2.0 file (default: the shared slice).")
    parser.add_argument("--limit", type=int, help="--squad: ask this many questions, drawn at random.")
    parser.add_argument("--encoder", choices=("auto", "off"), default="auto",
                        help="--squad: auto: hybrid search with all-MiniLM-L6-v2 if installed; off: BM25 alone.")
    args = parser.parse_args(argv)
    result = squad(args) if args.squad else scale_out(args)
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
