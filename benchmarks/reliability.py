"""Reliability probes too slow for the unit suite: a bulk import killed over and over, and load.

    python -m benchmarks.reliability [--kills 20] [--articles 400]

Kill loop: ``qabot import`` of a JSONL file runs as a subprocess and is killed with SIGKILL at
random moments; after every kill the collection must pass ``Store.verify()`` (SQLite integrity,
FTS5 index against the chunks, no article without chunks, no orphan chunk, BM25 counts), and
re-running the import must complete the rest with no duplicates. Prints ``RESULT {json}`` last.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from index.store import Store


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
        env={**os.environ, "QABOT_QA_MODEL": "sentence"},
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


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        result = kill_loop(Path(workdir), kills=args.kills, articles=args.articles, seed=args.seed)
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
