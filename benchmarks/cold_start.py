"""Cold start: a whole ``qabot ask`` and the console's banner beside ``python -c "import torch"``.

    python -m benchmarks.cold_start [--runs 5] [--model builtin]

The sample collection is imported once (``qabot import examples/articles``); then, alternately,
``python -c "import torch"``, ``qabot ask "When did Putin last visit Pyongyang?"`` (start to exit)
and ``qabot console`` (start to its banner, once the reader is loaded) run as fresh processes. What
a user waits for a first answer is the ask; torch's import is the floor any PyTorch reader pays on
the same machine, so the ratios are what the code adds, whatever the machine's speed.

Prints each run, then ``RESULT {json}``: min and median seconds of each, the ratios of the medians,
and the answer of the last ask.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "When did Putin last visit Pyongyang?"


def timed(command: list[str], env: dict) -> tuple[float, str]:
    """Seconds from start to exit of a fresh process, and what it printed."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def until_banner(command: list[str], env: dict) -> float:
    """Seconds from start until a fresh console prints its first line; the console then ends."""
    started = time.perf_counter()
    with subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as console:
        console.stdout.readline()
        seconds = time.perf_counter() - started
        console.communicate("/quit\n")
    return seconds


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds of the three processes (default 5)")
    parser.add_argument("--model", default="builtin",
                        help="QABOT_QA_MODEL for the ask and the console (default builtin)")
    args = parser.parse_args(argv)
    qabot = [sys.executable, "-c", "from qabot.bot.cli import cli; cli()"]
    with tempfile.TemporaryDirectory() as workdir:
        env = {**os.environ, "QABOT_DB": str(Path(workdir) / "cold.db"), "QABOT_QA_MODEL": args.model,
               "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": workdir}
        subprocess.run([*qabot, "import", str(ROOT / "examples" / "articles")], env=env,
                       capture_output=True, check=True)
        torch_seconds, ask_seconds, banner_seconds, answer = [], [], [], ""
        for run in range(args.runs):
            torch_seconds.append(timed([sys.executable, "-c", "import torch"], env)[0])
            seconds, answer = timed([*qabot, "ask", QUESTION, "--json"], env)
            ask_seconds.append(seconds)
            banner_seconds.append(until_banner([*qabot, "console"], env))
            print(f"run {run + 1}: import torch {torch_seconds[-1]:.2f} s, qabot ask {seconds:.2f} s, "
                  f"console banner {banner_seconds[-1]:.2f} s", file=sys.stderr)
    top = json.loads(answer)
    result = {
        "model": args.model,
        "torch_import_s_min": round(min(torch_seconds), 2),
        "torch_import_s_median": round(statistics.median(torch_seconds), 2),
        "ask_s_min": round(min(ask_seconds), 2),
        "ask_s_median": round(statistics.median(ask_seconds), 2),
        "ratio_median": round(statistics.median(ask_seconds) / statistics.median(torch_seconds), 2),
        "banner_s_min": round(min(banner_seconds), 2),
        "banner_s_median": round(statistics.median(banner_seconds), 2),
        "banner_ratio_median": round(statistics.median(banner_seconds) / statistics.median(torch_seconds), 2),
        "reader": top["reader"],
        "answer": top["answers"][0]["text"] if top["answers"] else None,
    }
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
