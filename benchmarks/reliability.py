"""Reliability probes too slow for the unit suite: churn, concurrent writers, a bulk import killed
over and over, fuzzing, and load.

    python -m benchmarks.reliability [--churn 3000] [--writers 3] [--kills 20] [--articles 400]
                                     [--feed-kills 10] [--entries 200]
                                     [--questions 200] [--chats 50]

Churn: random adds and removes in one process; every 100 operations the collection must pass
``Store.verify()`` and the probe queries must score exactly as a brute-force BM25Okapi over the
chunks as they are.

Concurrent writers: 3 processes add and remove articles at once while a fourth searches and records
questions, then all three add the same articles at once. No write may fail, no kept article may be
missing, none may be stored twice, and the collection must check clean and score as brute force.

Decompression bomb: a page served ``Content-Encoding: gzip, gzip`` that decodes to 4 GB must be
refused at the size cap; its peak memory (tracemalloc) is reported.

Kill loop: ``qabot import`` of a JSONL file runs as a subprocess and is killed with SIGKILL at
random moments; after every kill the collection must pass ``Store.verify()`` (SQLite integrity,
BM25 index against the chunks, no article without chunks, no orphan chunk, BM25 counts) and score
the probe queries as brute force, and
re-running the import must complete the rest with no duplicates.
The same for ``qabot update-feeds`` adding a feed of 200 entries served from 127.0.0.1, killed once
some of the articles are stored, a random moment later: after every kill the collection must check clean and every entry kept as added must have its article (and every
article a feed brought its entry); the last pass must add the rest, none stored twice.

Fuzzing: the hypothesis tests (``tests/test_fuzz.py``: questions, payloads, command lines;
``tests/bot/test_bot_fuzz.py``: messages, /add texts, pages and files sent to the running bot) run
under pytest; every generated case is counted through Hypothesis' observability callbacks, and a
crash is a case that failed.

Load: the bot built as ``qabot run`` builds it (with the offline sentence reader) polls a fake Bot
API on 127.0.0.1 while 50 chats send 200 questions within two seconds, then 50 new chats do it
again. Every question must get exactly one answer; p95 is the time from a question reaching the
fake to its answer reaching it (the bot keeps Telegram's limit of 30 requests a second, "typing"
included). Memory: nothing may be kept per chat or user, and the live objects may not grow between
the rounds.

Prints ``DETAILS {json}`` and then, last, ``RESULT {json}``.
"""

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from rank_bm25 import BM25Okapi

from qabot.index import bm25
from qabot.index.bm25 import EmptyIndex
from qabot.index.importing import import_path
from qabot.index.store import DuplicateArticle, Store

ROOT = Path(__file__).resolve().parent.parent
FUZZ_TESTS = ["tests/test_fuzz.py", "tests/bot/test_bot_fuzz.py"]


def write_articles(path: Path, count: int, seed: int) -> None:
    """A JSONL file of ``count`` distinct news-like articles, several chunks each."""
    rng = random.Random(seed)
    words = "minister treaty river flood tram coins probe rate bank kettle museum city council".split()
    with path.open("w") as out:
        for i in range(count):
            sentences = [
                f"Report {i}.{j} says the {rng.choice(words)} near {rng.choice(words)} "
                f"changed {rng.randint(1, 999)} times in {rng.randint(1900, 2030)}."
                for j in range(rng.randint(20, 60))
            ]
            out.write(json.dumps({"title": f"Article {i}", "text": " ".join(sentences)}) + "\n")


def _import(db: Path, source: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from qabot.bot.cli import cli; cli()", "--db", str(db), "import", str(source), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        # no chunk embeddings: the probe is about the articles, and encoding would dominate its time
        env={**os.environ, "QABOT_QA_MODEL": "sentence", "QABOT_ENCODER": "off"},
    )


def kill_loop(workdir: Path, *, kills: int, articles: int, seed: int = 0) -> dict:
    """Kill a bulk import ``kills`` times, checking the collection after each; then finish it.

    :returns: ``{"kills", "corrupt", "lost", "duplicates", "articles"}`` (corrupt: checks failed
        after a kill; lost: articles missing after the final run; duplicates: articles stored twice).
    """
    rng = random.Random(seed)
    source, db = workdir / "articles.jsonl", workdir / "killed.db"
    write_articles(source, articles, seed)
    done_kills = corrupt = 0
    while done_kills < kills:
        process = _import(db, source)
        time.sleep(rng.uniform(0.3, 2.5))
        if process.poll() is not None:  # finished before the kill: start over on a new file
            db.unlink(missing_ok=True)
            for extra in ("-wal", "-shm"):
                Path(f"{db}{extra}").unlink(missing_ok=True)
            continue
        process.send_signal(signal.SIGKILL)
        process.wait()
        done_kills += 1
        with Store(db) as store:
            problems = store.verify()
            mismatches = score_mismatches(store, PROBE_QUERIES)
        if problems or mismatches:
            corrupt += 1
            print(f"kill {done_kills}: {problems}, {mismatches} queries scored wrong", file=sys.stderr)
    final = _import(db, source)
    final.communicate()
    with Store(db) as store:
        titles = [a.title for a in store.list_articles()]
        corrupt += bool(store.verify())
    return {
        "kills": done_kills,
        "corrupt": corrupt,
        "lost": articles - len(set(titles)),
        "duplicates": len(titles) - len(set(titles)),
        "articles": len(titles),
    }


def _update_feeds(db: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from qabot.bot.cli import cli; cli()", "--db", str(db), "update-feeds", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "QABOT_QA_MODEL": "sentence", "QABOT_ENCODER": "off", "QABOT_ALLOW_PRIVATE_URLS": "1"},
    )


def feed_problems(store: Store) -> list[str]:
    """Where the feeds' entries and the articles disagree: an entry kept as added without its
    article, an article a feed brought that no added entry accounts for, a link stored twice."""
    db, problems = store.db, []
    orphans = db.execute(
        "SELECT count(*) FROM feed_entries e WHERE e.status = 'added' AND NOT EXISTS"
        " (SELECT 1 FROM articles a WHERE a.id = e.article_id AND a.url = e.link)"
    ).fetchone()[0]
    unaccounted = db.execute(
        "SELECT count(*) FROM articles a WHERE a.added_by LIKE 'feed:%' AND NOT EXISTS"
        " (SELECT 1 FROM feed_entries e WHERE e.article_id = a.id AND e.status = 'added')"
    ).fetchone()[0]
    twice = db.execute("SELECT count(*) - count(DISTINCT url) FROM articles").fetchone()[0]
    for count, what in ((orphans, "entries kept as added have no article"),
                        (unaccounted, "articles from a feed have no entry"), (twice, "links stored twice")):
        if count:
            problems.append(f"{count} {what}")
    return problems


def _stored_articles(db: Path) -> int:
    """How many articles the collection holds now (read as another process writes)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]


def feed_kill_loop(workdir: Path, *, kills: int, entries: int, latency: float = 0.01, seed: int = 0) -> dict:
    """Kill ``qabot update-feeds`` ``kills`` times while it adds a feed's ``entries`` pages (served
    from 127.0.0.1, each ``latency`` s late), checking the collection after each kill; then finish.

    Each kill comes once a random number of the articles still to add are stored, a random moment
    later (within about one page's work), so it lands mid-pass.

    :returns: ``{"feed_kills", "feed_corrupt", "feed_lost", "feed_duplicates", "feed_articles"}``
        (corrupt: ``Store.verify()`` or ``feed_problems`` failed after a kill; lost: entries without
        their article after the final pass; duplicates: articles stored twice).
    """
    from qabot.index.feeds import follow
    from tests.page_server import PageServer, news_site

    rng = random.Random(seed)
    db = workdir / "feeds.db"
    with PageServer(news_site(entries, latency=latency)) as site:

        def start_over() -> None:
            for extra in ("", "-wal", "-shm"):
                Path(f"{db}{extra}").unlink(missing_ok=True)
            with Store(db) as store:
                follow(store, site.url("/feed.xml"), allow_private=True)

        start_over()
        done_kills = corrupt = 0
        while done_kills < kills:
            stored = _stored_articles(db)
            if stored >= entries - 1:
                start_over()
                stored = 0
            target = rng.randint(stored + 1, entries - 1)
            process = _update_feeds(db)
            while process.poll() is None and _stored_articles(db) < target:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.05))
            if process.poll() is not None:  # finished before the kill: start over
                start_over()
                continue
            process.send_signal(signal.SIGKILL)
            process.wait()
            done_kills += 1
            with Store(db) as store:
                problems = store.verify() + feed_problems(store)
            if problems:
                corrupt += 1
                print(f"feed kill {done_kills}: {problems}", file=sys.stderr)
        _update_feeds(db).wait()
    with Store(db) as store:
        urls = [a.url for a in store.list_articles()]
        corrupt += bool(store.verify() + feed_problems(store))
    return {
        "feed_kills": done_kills,
        "feed_corrupt": corrupt,
        "feed_lost": entries - len(set(urls)),
        "feed_duplicates": len(urls) - len(set(urls)),
        "feed_articles": len(urls),
    }


def brute_force_scores(rows: list[tuple[int, str]], query: list[str]) -> dict[int, float]:
    """BM25Okapi over ``(chunk id, terms)`` rows as they are, every chunk holding a query term.

    With ``index.bm25``'s one difference: every idf <= 0 gets the floor (rank-bm25 floors only
    negative ones, and leaves a term in exactly half of the chunks at zero).
    """
    peer = BM25Okapi([stored.split() for _, stored in rows], k1=bm25.K1, b=bm25.B)
    for term, value in peer.idf.items():
        if value <= 0:
            peer.idf[term] = bm25.EPSILON * peer.average_idf
    query = list(dict.fromkeys(query))
    scores = peer.get_scores(query)
    return {rows[i][0]: float(scores[i]) for i in range(len(rows)) if set(query) & set(rows[i][1].split())}


def score_mismatches(store: Store, queries: list[list[str]]) -> int:
    """Queries whose scores differ from :func:`brute_force_scores` over the store's chunks now."""
    rows = store.db.execute("SELECT id, terms FROM chunks ORDER BY id").fetchall()
    if not rows:
        return 0
    wrong = 0
    for query in queries:
        ours = dict(store.search_chunks(query, len(rows)))
        theirs = brute_force_scores(rows, query)
        wrong += ours.keys() != theirs.keys() or any(abs(ours[c] - theirs[c]) > 1e-6 for c in ours)
    return wrong


#: Queries the probes check against brute force: frequent, rare and mixed terms of write_articles.
PROBE_QUERIES = [["minist"], ["tram", "coin"], ["report"], ["flood", "museum", "2001"], ["kettl"]]


def _text(rng: random.Random, tag: str) -> str:
    words = "minister treaty river flood tram coins probe rate bank kettle museum city council".split()
    return " ".join(
        f"Note {tag}.{j} says the {rng.choice(words)} near {rng.choice(words)} moved {rng.randint(1, 99)} times."
        for j in range(rng.randint(3, 40))
    )


def _writer(db: str, worker: int, articles: int, same: bool, seed: int) -> dict:
    """One writing process: adds articles, removing every third one it added.

    :param same: every writer adds the same articles (all but one of each add must be refused as
        a duplicate), instead of its own.
    """
    rng = random.Random(seed if same else seed + 1000 * (worker + 1))
    failures, kept = [], []
    with Store(db) as store:
        for i in range(articles):
            title = f"Article {i}" if same else f"Writer {worker} article {i}"
            try:
                article = store.add_article(title=title, text=_text(rng, title))
                if not same and i % 3 == 2:
                    store.remove_article(article.id)
                else:
                    kept.append(title)
            except DuplicateArticle:
                if not same:
                    failures.append(f"{title}: refused as a duplicate")
            except Exception as error:  # noqa: BLE001 - every failure is counted
                failures.append(f"{title}: {type(error).__name__}: {error}")
    return {"failures": failures, "kept": kept}


def _asker(db: str, questions: int) -> dict:
    """Search and record questions the way the bot does, while the writers write."""
    failures = []
    with Store(db) as store:
        for i in range(questions):
            try:
                store.search_chunks(["tram", "minist", "flood"][i % 3:], 5)
                store.record_question(f"question {i}", answered=True)
            except EmptyIndex:
                pass
            except Exception as error:  # noqa: BLE001
                failures.append(f"question {i}: {type(error).__name__}: {error}")
            time.sleep(0.01)
    return {"failures": failures}


def concurrent_writers(workdir: Path, *, processes: int = 3, articles: int = 100, seed: int = 0) -> dict:
    """``processes`` processes add and remove articles at once while another searches and records
    questions; then the same articles are added by all of them at once.

    :returns: ``{"writers", "write_failures", "ask_failures", "lost", "stored_twice", "check_problems",
        "score_mismatches"}``; lost counts articles a writer kept that are not stored.
    """
    db = workdir / "concurrent.db"
    context = multiprocessing.get_context("spawn")
    failures, kept = [], []
    with context.Pool(processes + 1) as pool:
        asker = pool.apply_async(_asker, (str(db), 20 * articles))
        for same in (False, True):
            jobs = [pool.apply_async(_writer, (str(db), w, articles, same, seed)) for w in range(processes)]
            for job in jobs:
                result = job.get()
                failures += result["failures"]
                kept += result["kept"]
        asked = asker.get()
    for failure in (failures + asked["failures"])[:5]:
        print(f"write failed: {failure}", file=sys.stderr)
    with Store(db) as store:
        titles = collections.Counter(a.title for a in store.list_articles())
        problems = store.verify()
        mismatches = score_mismatches(store, PROBE_QUERIES)
    return {
        "writers": processes,
        "write_failures": len(failures),
        "ask_failures": len(asked["failures"]),
        "lost": len(set(kept) - set(titles)),
        "stored_twice": sum(n > 1 for n in titles.values()),
        "check_problems": len(problems),
        "score_mismatches": mismatches,
    }


def churn(workdir: Path, *, operations: int = 3000, check_every: int = 100, seed: int = 0) -> dict:
    """Random adds and removes in one process, the index checked every ``check_every`` operations
    (``Store.verify`` and every probe query against brute force).

    :returns: ``{"churn_operations", "churn_checks", "churn_mismatches"}`` (mismatches: checks with
        a problem or a wrongly scored query).
    """
    rng = random.Random(seed)
    checks = mismatches = 0
    with Store(workdir / "churn.db") as store:
        ids = []
        for operation in range(1, operations + 1):
            if ids and rng.random() < 0.4:
                store.remove_article(ids.pop(rng.randrange(len(ids))))
            else:
                ids.append(store.add_article(title=f"Churn {operation}", text=_text(rng, str(operation))).id)
            if operation % check_every == 0:
                checks += 1
                mismatches += bool(store.verify() or score_mismatches(store, PROBE_QUERIES))
    return {"churn_operations": operations, "churn_checks": checks, "churn_mismatches": mismatches}


def bomb_probe(decoded_bytes: int = 4_000_000_000) -> dict:
    """Fetch a page compressed twice over (``Content-Encoding: gzip, gzip``) that decodes to
    ``decoded_bytes``: it must be refused at the size cap, with little memory (tracemalloc peak).

    :returns: ``{"bomb_bytes", "bomb_decoded_bytes", "bomb_refused", "bomb_peak_mb", "bomb_seconds"}``.
    """
    import tracemalloc

    from qabot.index.fetch import FetchError, fetch
    from tests.page_server import PageServer, compressed, page

    piece = b"\0" * 1_000_000
    once = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    layer = b"".join(once.compress(piece) for _ in range(decoded_bytes // len(piece))) + once.flush()
    body = compressed([layer], "gzip")
    with PageServer({"/bomb": page(body, headers={"Content-Encoding": "gzip, gzip"})}) as server:
        tracemalloc.start()
        started = time.perf_counter()
        try:
            fetch(server.url("/bomb"), allow_private=True)
            refused = False
        except FetchError:
            refused = True
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {"bomb_bytes": len(body), "bomb_decoded_bytes": decoded_bytes, "bomb_refused": refused,
            "bomb_peak_mb": round(peak / 1e6, 1), "bomb_seconds": round(seconds, 2)}


def fuzz_cases(tests: list[str] = FUZZ_TESTS) -> dict:
    """Run the hypothesis tests with pytest and count the cases they generate.

    :returns: ``{"fuzz_cases", "crashes", "failed_tests"}`` (crashes: generated cases that failed,
        the shrinker's attempts included).
    """
    import pytest
    from hypothesis.internal import observability

    observability.OBSERVABILITY_COLLECT_COVERAGE = False  # count the cases; tracing them is slow
    statuses = collections.Counter()

    def count(observation, thread_id) -> None:
        if observation.type == "test_case":
            statuses[observation.status] += 1

    class FailedTests:
        failed = 0

        def pytest_runtest_logreport(self, report) -> None:
            self.failed += report.failed

    outcome = FailedTests()
    observability.add_observability_callback(count, all_threads=True)
    try:
        pytest.main(
            ["-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
            + [str(ROOT / test) for test in tests],
            plugins=[outcome],
        )
    finally:
        observability.remove_observability_callback(count)
    return {
        "fuzz_cases": statuses["passed"] + statuses["failed"],
        "crashes": statuses["failed"],
        "failed_tests": outcome.failed,
    }


def load_probe(workdir: Path, *, questions: int = 200, chats: int = 50, spread: float = 2.0, rounds: int = 2) -> dict:
    """Questions from many chats at once against the bot, answered through a fake Bot API.

    :param questions: questions a round (an equal share from each chat, each a different question).
    :param chats: chats a round; every round has new ones.
    :param spread: seconds over which a round's questions arrive.
    :param rounds: how many times; live objects are counted after each.
    :returns: ``{"load_questions", "answered", "duplicates", "p95_ms", "chat_data", "user_data",
        "objects_growth"}`` (over all rounds; objects_growth: live objects after the last round minus
        after the first).
    """
    return asyncio.run(_load(workdir, questions, chats, spread, rounds))


async def _load(workdir: Path, questions: int, chats: int, spread: float, rounds: int) -> dict:
    from qabot.bot.app import build_application
    from qabot.retrieval.loading import SENTENCE, load_reader
    from tests.bot.conftest import QUESTIONS, bot_settings, serving
    from tests.bot.fake_bot_api import FakeBotAPI
    from tests.conftest import SAMPLE_ARTICLES

    per_chat = questions // chats
    if questions % chats or not 1 <= per_chat <= len(QUESTIONS):
        raise ValueError(f"questions must be 1 to {len(QUESTIONS)} times chats")
    db = workdir / "load.db"
    latencies, objects = [], []
    asked_total = answered = duplicates = 0
    with Store(db) as store, FakeBotAPI() as server:
        import_path(store, SAMPLE_ARTICLES, progress=False)
        reader = load_reader(SENTENCE, use_encoder=False)
        application = build_application(bot_settings(server, db), store, reader)
        async with serving(application):
            for round_ in range(rounds):
                first = 100_000 + round_ * chats
                asked = {}
                for question in list(QUESTIONS)[:per_chat]:
                    for chat in range(first, first + chats):
                        server.inject_message(question, user_id=chat)
                        asked[(chat, question)] = time.time()
                        await asyncio.sleep(spread / questions)
                deadline = time.monotonic() + 120
                while not asked.keys() <= _answers(server, QUESTIONS).keys() and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1.0)  # time for an answer sent twice to show
                delivered = _answers(server, QUESTIONS)
                for key, at in asked.items():
                    if key in delivered:
                        answered += 1
                        duplicates += len(delivered[key]) - 1
                        latencies.append(min(delivered[key]) - at)
                asked_total += len(asked)
                server.reset()  # the fake's own records of the round
                gc.collect()
                objects.append(len(gc.get_objects()))
            state = {"chat_data": len(application.chat_data), "user_data": len(application.user_data)}
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else None
    return {
        "load_questions": asked_total,
        "answered": answered,
        "duplicates": duplicates,
        "p95_ms": round(p95 * 1000) if p95 is not None else None,
        **state,
        "objects_growth": objects[-1] - objects[0],
    }


def _answers(server, questions: dict[str, str]) -> dict[tuple[int, str], list[float]]:
    """When each ``(chat, question)`` was answered: the arrival times of the delivered answers."""
    found = collections.defaultdict(list)
    for call in server.calls_for("sendMessage", ok=True):
        for question, mark in questions.items():
            if mark in call.params["text"]:
                found[(int(call.params["chat_id"]), question)].append(call.time)
    return found


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--churn", type=int, default=3000, help="add/remove operations of the churn probe")
    parser.add_argument("--writers", type=int, default=3, help="processes writing at once")
    parser.add_argument("--kills", type=int, default=20, help="kills of a bulk import (default: %(default)s)")
    parser.add_argument("--articles", type=int, default=400, help="articles of that import (default: %(default)s)")
    parser.add_argument("--feed-kills", type=int, default=10, help="kills of qabot update-feeds")
    parser.add_argument("--entries", type=int, default=200, help="entries of the feed it updates")
    parser.add_argument("--seed", type=int, default=0, help="seed of every probe (default: %(default)s)")
    parser.add_argument("--questions", type=int, default=200, help="questions a load round")
    parser.add_argument("--chats", type=int, default=50, help="chats a load round")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        churned = churn(Path(workdir), operations=args.churn, seed=args.seed)
        writers = concurrent_writers(Path(workdir), processes=args.writers, seed=args.seed)
        bomb = bomb_probe()
        killed = kill_loop(Path(workdir), kills=args.kills, articles=args.articles, seed=args.seed)
        feed_killed = feed_kill_loop(Path(workdir), kills=args.feed_kills, entries=args.entries, seed=args.seed)
        fuzzed = fuzz_cases()
        load = load_probe(Path(workdir), questions=args.questions, chats=args.chats)
    print("DETAILS " + json.dumps(churned | writers | bomb | killed | feed_killed | fuzzed | load))
    result = {
        "churn_operations": churned["churn_operations"],
        "churn_mismatches": churned["churn_mismatches"],
        "writers": writers["writers"],
        "write_failures": writers["write_failures"] + writers["ask_failures"],
        "writers_lost": writers["lost"] + writers["stored_twice"],
        "bomb_refused": bomb["bomb_refused"],
        "bomb_peak_mb": bomb["bomb_peak_mb"],
        "kills": killed["kills"],
        "corrupt": killed["corrupt"],
        "lost": killed["lost"],
        "feed_kills": feed_killed["feed_kills"],
        "feed_corrupt": feed_killed["feed_corrupt"],
        "feed_lost": feed_killed["feed_lost"] + feed_killed["feed_duplicates"],
        "fuzz_cases": fuzzed["fuzz_cases"],
        "crashes": fuzzed["crashes"],
        "load_questions": load["load_questions"],
        "answered": load["answered"],
        "p95_ms": load["p95_ms"],
    }
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
