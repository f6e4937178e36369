"""Reliability probes too slow for the unit suite: a bulk import killed over and over, fuzzing, and load.

    python -m benchmarks.reliability [--kills 20] [--articles 400] [--questions 200] [--chats 50]

Kill loop: ``qabot import`` of a JSONL file runs as a subprocess and is killed with SIGKILL at
random moments; after every kill the collection must pass ``Store.verify()`` (SQLite integrity,
BM25 index against the chunks, no article without chunks, no orphan chunk, BM25 counts), and
re-running the import must complete the rest with no duplicates.

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
import gc
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from index.ingest import import_path
from index.store import Store

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
        [sys.executable, "-c", "from bot.cli import cli; cli()", "--db", str(db), "import", str(source), "--json"],
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
        if problems:
            corrupt += 1
            print(f"kill {done_kills}: {problems}", file=sys.stderr)
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
    from bot.app import build_application
    from retrieval.loading import SENTENCE, load_reader
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
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--questions", type=int, default=200, help="questions a load round")
    parser.add_argument("--chats", type=int, default=50, help="chats a load round")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        killed = kill_loop(Path(workdir), kills=args.kills, articles=args.articles, seed=args.seed)
        fuzzed = fuzz_cases()
        load = load_probe(Path(workdir), questions=args.questions, chats=args.chats)
    print("DETAILS " + json.dumps(killed | fuzzed | load))
    result = {
        "kills": killed["kills"],
        "corrupt": killed["corrupt"],
        "lost": killed["lost"],
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
