"""What the span reader's ranking and no-answer rule do on answer-test files: right answers kept,
right answers declined, wrong ones let through.

    python -m benchmarks.answer_rule examples/answers.yaml examples/heldout/answers.yaml

Each file's articles become a collection and each standalone case's question is read once
(``search``, then ``ExtractiveReader.score_spans``; a case with ``after:`` is a conversation, left
to ``qabot eval``). Then every rule compared decides on the same readings:

- ``profile``: the reader's own, from its profile (what ``qabot ask`` does);
- ``always``: the same ranking, never declining (``QABOT_NO_ANSWER_THRESHOLD=-inf``);
- ``before`` (with ``--before PROFILE``): another profile's rule, e.g. the one shipped before
  (``git show REV:retrieval/builtin_reader/qabot_profile.json``).

Per file and rule it prints how many cases pass, and of the answerable ones how many are right,
declined though their top span was right, declined with a wrong top span, and answered wrongly;
of the unanswerable ones how many are declined. The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from pathlib import Path

from qabot.evaluation.tuning import case_counts, case_readings
from qabot.models.profile import ReaderProfile
from qabot.retrieval.loading import BUILTIN, load_encoder, load_reader
from qabot.retrieval.span_ranking import Rule


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="answer-test files (YAML or JSONL) with their articles")
    parser.add_argument("--model", default=BUILTIN, help="builtin, a folder or a hub id")
    parser.add_argument("--no-encoder", action="store_true", help="BM25 search only")
    parser.add_argument("--before", help="a profile (JSON) whose rule to compare")
    args = parser.parse_args(argv)
    reader = load_reader(args.model, use_encoder=False)
    encoder = None if args.no_encoder else load_encoder(True)
    own = reader.rule
    rules = {"profile": own, "always": replace(own, threshold=-math.inf)}
    if args.before:
        before = ReaderProfile(**json.loads(Path(args.before).read_text()))
        rules["before"] = Rule(
            before.fusion_weight, before.kind_weight, before.sentence_weight, before.no_answer_threshold,
            before.no_answer_bm25_weight, before.no_answer_lead_weight, before.no_answer_agreement_weight,
            before.no_answer_coverage_weight,
        )
    result = {"model": args.model, "encoder": encoder is not None, "rule": own.__dict__, "files": {}}
    for path in args.files:
        read = case_readings(path, reader, encoder)
        result["files"][path] = {name: case_counts(reader, read, rule) for name, rule in rules.items()}
        for name, counts in result["files"][path].items():
            print(f"{path} {name:8} " + " ".join(f"{key} {value}" for key, value in counts.items()))
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
