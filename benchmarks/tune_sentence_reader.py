"""The sentence reader's no-answer rule, chosen on SQuAD 2.0 like the span reader's (``qabot tune``).

    python -m benchmarks.tune_sentence_reader [--file ../shared/eval/squad2-dev-10.json] [--encoder auto|off]
                                              [--min-answerable-right 70]

Every paragraph of the file is an article of one collection; each question is searched (top 5
passages, hybrid with the encoder unless ``--encoder off``) and read once by the sentence reader
without its rule (``SentenceReader.ranked``). A question counts as right when it is answerable and
the best sentence holds a gold answer, or unanswerable and declined. ``min_coverage`` is chosen on
the questions of the first half of the file's articles, to maximise that accuracy while the tuning
half's answerable questions stay right at least ``--min-answerable-right`` % of the time (as ``qabot
tune --min-answerable-f1`` does for the span reader: SQuAD 2.0's adversarial unanswerable questions
otherwise push the rule to decline most answerable questions), and reported on the other half (held
out), beside the shipped default and the unconstrained choice. Prints the held-out curve, then
``RESULT {json}`` last.
"""

import argparse
import json
import sys

import numpy as np
from tqdm import tqdm

from benchmarks.squad import SLICE
from qabot.evaluation.squad import load_collection, load_squad
from qabot.evaluation.tuning import split
from qabot.index.store import Store
from qabot.retrieval.embeddings import embed_missing
from qabot.retrieval.loading import load_encoder
from qabot.retrieval.search import search
from qabot.retrieval.sentence_reader import SentenceReader

CANDIDATES = np.round(np.arange(0.0, 1.0001, 0.025), 3)


def measure(answerable: np.ndarray, holds: np.ndarray, coverage: np.ndarray, min_coverage: float) -> dict:
    """Accuracy (%), answerable questions whose sentence is given and right, unanswerable declined."""
    speak = coverage >= min_coverage
    right = np.where(answerable, speak & holds, ~speak)
    return {
        "accuracy": round(100 * float(right.mean()), 2),
        "answerable_right": round(100 * float(right[answerable].mean()), 2),
        "unanswerable_declined": round(100 * float((~speak[~answerable]).mean()), 2),
        "questions": int(len(right)),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", default=str(SLICE), help="a SQuAD v2.0 file (default: the shared dev slice)")
    parser.add_argument("--encoder", choices=["auto", "off"], default="auto",
                        help="hybrid search and sentence similarity with all-MiniLM-L6-v2 (default auto)")
    parser.add_argument("--min-answerable-right", type=float, default=70.0,
                        help="keep at least this %% of the tuning half's answerable questions right (default 70)")
    args = parser.parse_args(argv)
    squad = load_squad(args.file)
    encoder = load_encoder(args.encoder == "auto")
    store = Store(":memory:")
    load_collection(squad, store)
    if encoder is not None:
        embed_missing(store, encoder)
    reader = SentenceReader(encoder=encoder)
    halves = {}
    for name, questions in zip(("tune", "heldout"), split(squad)):
        answerable, holds, coverage = [], [], []
        for q in tqdm(questions, desc=name, unit="question", file=sys.stderr, disable=None):
            best, cover = reader.ranked(q.question, search(q.question, store=store, encoder=encoder), top_k=1)
            answerable.append(bool(q.answers))
            holds.append(bool(best) and any(a in best[0].context for a in q.answers))
            coverage.append(cover if best else -1.0)
        halves[name] = tuple(np.array(values) for values in (answerable, holds, coverage))
    def best(floor: float) -> float:
        allowed = [c for c in CANDIDATES if measure(*halves["tune"], c)["answerable_right"] >= floor] or [0.0]
        return float(max(allowed, key=lambda c: (measure(*halves["tune"], c)["accuracy"], -c)))

    for c in CANDIDATES[::2]:
        print(f"min_coverage {c:.2f}: held out {measure(*halves['heldout'], c)}")
    chosen, unconstrained = best(args.min_answerable_right), best(0.0)
    default = SentenceReader().min_coverage
    result = {
        "encoder": args.encoder,
        "min_answerable_right": args.min_answerable_right,
        "chosen_min_coverage": chosen,
        "default_min_coverage": default,
        "tune_at_chosen": measure(*halves["tune"], chosen),
        "heldout_at_chosen": measure(*halves["heldout"], chosen),
        "heldout_at_default": measure(*halves["heldout"], default),
        "heldout_at_best_accuracy": measure(*halves["heldout"], unconstrained) | {"min_coverage": unconstrained},
        "heldout_always_answering": measure(*halves["heldout"], -np.inf),
    }
    store.close()
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
