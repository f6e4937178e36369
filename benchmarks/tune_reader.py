"""Tune a span reader on the shared SQuAD 2.0 dev slice, as ``qabot tune --squad`` does, and report.

    python -m benchmarks.tune_reader                                # the builtin reader
    python -m benchmarks.tune_reader --model ../shared/models/minilm-squad1-null
    python -m benchmarks.tune_reader --write-profile                # keep it beside the weights
    python -m benchmarks.tune_reader --tests examples/answers.yaml --min-answerable-f1 68   # the shipped profile

The slice (10 Wikipedia articles, 3,366 questions, 49% unanswerable) becomes one collection of its
370 paragraphs and every question is read end to end once (``evaluation.tuning``): the fusion weight
and no-answer threshold are chosen on the first five articles (1,407 questions) and reported on the
other five (1,959 held out), beside always answering and the untuned margin 0.

Prints the report, then ``RESULT {json}``: the chosen values, SQuAD 2.0 EM/F1, answerable F1 and
the share of unanswerable questions declined on both halves, and the time per question.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from benchmarks.squad import SLICE
from qabot.evaluation.squad import load_squad
from qabot.evaluation.tuning import case_readings, tune
from qabot.models.profile import save_profile
from qabot.retrieval.loading import BUILTIN, calibrate, load_encoder, model_location
from qabot.retrieval.reader import ExtractiveReader


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=BUILTIN, help="builtin, a folder or a hub id")
    parser.add_argument("--k", type=int, default=5, help="passages read per question")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: %(default)s)")
    parser.add_argument("--write-profile", action="store_true", help="keep the profile for the model")
    parser.add_argument("--min-answerable-f1", type=float, help="keep the answerable F1 at least this")
    parser.add_argument("--tests", help="answer tests (YAML) the no-answer rule is also chosen on")
    args = parser.parse_args(argv)
    from tqdm import tqdm

    squad = load_squad(SLICE)
    reader = ExtractiveReader(model_location(args.model), threads=args.threads)
    reader.warm_up()
    calibrate(reader)  # its profile now: reported beside the new choice (heldout_current_profile)
    started = time.perf_counter()
    cases = case_readings(args.tests, reader, load_encoder(True)) if args.tests else None
    name = f"{SLICE.name} (and the {len(cases)} cases of {args.tests})" if cases else SLICE.name
    with tqdm(total=len(squad.questions), desc="reading", unit="q", file=sys.stderr, mininterval=5) as bar:
        tuned = tune(reader, squad, name=name, k=args.k, min_answerable_f1=args.min_answerable_f1,
                     progress=bar.update, cases=cases)
    seconds = time.perf_counter() - started
    if args.write_profile:
        print(f"profile kept in {save_profile(reader.model, tuned.profile)}", file=sys.stderr)
    result = {"model": args.model.rstrip("/").split("/")[-1]} | tuned.report | {
        "ms_per_question": round(1000 * seconds / len(squad.questions), 1)
    }
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
