"""Tune the span reader's BM25 fusion weight and no-answer threshold on a real model's logits.

    python -m benchmarks.tune_reader                      # ../shared/models/minilm-squad1
    python -m benchmarks.tune_reader --model PATH --int8 --whole

The shared SQuAD 2.0 dev slice (10 Wikipedia articles, 3,366 questions, 49% unanswerable) is built
into a collection, one article per paragraph (``benchmarks/squad.py``); every question is answered
end to end: ``search`` (top 5 passages) then ``ExtractiveReader.score_spans``, once. Both values
are chosen on the questions of the first five Wikipedia articles (the "tune" half, 1,407
questions) and reported on the other five ("held-out", 1,959):

1. the fusion weight ranks spans, so it is the one that maximises the answerable questions' F1 of
   the top span when always answering;
2. the threshold decides between that span and no answer, so it is the one that maximises
   SQuAD 2.0 F1 (no answer counts as the prediction ``""``).

The ranking and the no-answer rule replayed here are ``ExtractiveReader.answers``'s, checked
against it on the held-out half.

Prints the ranking F1 per fusion weight, then ``RESULT {json}`` with the chosen values and, for both
halves, EM, F1, answerable F1, the share of unanswerable questions declined and the accuracy of the
answer / no-answer decision; also held out: always answering, and no fusion. ``--whole`` also reads
the held-out half with whole passages instead of windows, ``--int8`` with the int8-quantised model
(same weight and threshold). ``--readings FILE`` keeps the readings, so a second run only replays.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.squad import SHARED, Question, build_collection, load_slice, score
from index.store import Store
from retrieval.reader import ExtractiveReader, Reading
from retrieval.search import search

WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)
TUNE_ARTICLES = range(0, 5)


def read_all(reader: ExtractiveReader, store: Store, questions: list[Question], k: int) -> list[Reading]:
    """Every question's reading, once (this is where the model runs)."""
    from tqdm import tqdm

    readings = []
    for q in tqdm(questions, desc="reading", unit="q", file=sys.stderr, mininterval=5):
        readings.append(reader.score_spans(q.question, search(q.question, store=store, k=k)))
    return readings


def top_span(reading: Reading, weight: float):
    """The span ``ExtractiveReader.answers`` ranks first, or None."""
    if not reading.spans:
        return None
    return max(reading.spans, key=lambda s: s.logit + weight * s.bm25)


def outcomes(questions, readings, weight):
    """Per question: the top span's margin over the null logit, and (EM, F1) if answered or not."""
    margins, answered, silent = [], [], []
    for q, reading in zip(questions, readings):
        span = top_span(reading, weight)
        margins.append(span.logit - reading.null if span else -math.inf)
        answered.append(score(q, span.text) if span else score(q, ""))
        silent.append(score(q, ""))
    return np.array(margins), np.array(answered), np.array(silent)


def best_threshold(margins, answered, silent) -> float:
    """The threshold maximising total F1 when a question is answered iff margin >= threshold."""
    finite = np.unique(margins[np.isfinite(margins)])
    candidates = np.concatenate([[-np.inf], finite, [np.inf]])
    best, best_f1 = -np.inf, -1.0
    for t in candidates:
        total = np.where(margins >= t, answered[:, 1], silent[:, 1]).sum()
        if total > best_f1 + 1e-9:
            best, best_f1 = t, total
    if not np.isfinite(best):
        return float(best)
    below = finite[finite < best]  # halfway to the next margin down, so it is not tied to one question
    return float((best + below.max()) / 2 if below.size else best - 0.5)


def metrics(questions, margins, answered, silent, threshold) -> dict:
    """SQuAD 2.0 EM/F1 (%), answerable F1, unanswerable accuracy, answer/no-answer accuracy."""
    speak = margins >= threshold
    em = np.where(speak, answered[:, 0], silent[:, 0])
    f1 = np.where(speak, answered[:, 1], silent[:, 1])
    has = np.array([q.answerable for q in questions])
    return {
        "em": round(100 * float(em.mean()), 2),
        "f1": round(100 * float(f1.mean()), 2),
        "has_ans_f1": round(100 * float(f1[has].mean()), 2),
        "no_ans_acc": round(100 * float((~speak[~has]).mean()), 2),
        "no_answer_accuracy": round(100 * float((speak == has).mean()), 2),
        "questions": len(questions),
    }


def check_against_reader(reader, questions, readings, weight, threshold) -> None:
    """The replayed rule must give ``ExtractiveReader.answers``'s top answers."""
    for q, reading in zip(questions, readings):
        got = reader.answers(reading, top_k=1, fusion_weight=weight, no_answer_threshold=threshold)
        span = top_span(reading, weight)
        expected = span.text if span and span.logit - reading.null >= threshold else None
        assert (got[0].text if got else None) == expected, (q.id, got, expected)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(SHARED / "models" / "minilm-squad1"))
    parser.add_argument("--k", type=int, default=5, help="passages read per question")
    parser.add_argument("--limit", type=int, help="read only the first N questions of each half")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--int8", action="store_true", help="also read the held-out half with int8")
    parser.add_argument("--whole", action="store_true", help="also read the held-out half whole")
    parser.add_argument("--readings", type=Path, help="cache of the readings (pickle), reused when present")
    args = parser.parse_args(argv)

    store = Store(":memory:")
    questions = build_collection(store, load_slice())
    tune = [q for q in questions if q.squad_article in TUNE_ARTICLES]
    held = [q for q in questions if q.squad_article not in TUNE_ARTICLES]
    if args.limit:
        tune, held = tune[: args.limit], held[: args.limit]
    cache = pickle.loads(args.readings.read_bytes()) if args.readings and args.readings.exists() else {}

    def readings(name: str, reader: ExtractiveReader, asked: list[Question]) -> list[Reading]:
        if name not in cache:
            started = time.perf_counter()
            cache[name] = read_all(reader, store, asked, args.k)
            cache[f"{name}_seconds"] = time.perf_counter() - started
            if args.readings:
                args.readings.write_bytes(pickle.dumps(cache))
        return cache[name]

    reader = ExtractiveReader(args.model, threads=args.threads)
    tune_readings = readings("tune", reader, tune)
    held_readings = readings("held", reader, held)

    # 1. the fusion weight ranks spans: pick it by the answerable questions' F1 when always answering
    print(f"{'weight':>6} {'HasAns F1 (always answering): tune':>35} {'held-out':>9}", file=sys.stderr)
    ranking = []
    for weight in WEIGHTS:
        tune_f1 = metrics(tune, *outcomes(tune, tune_readings, weight), -math.inf)["has_ans_f1"]
        held_f1 = metrics(held, *outcomes(held, held_readings, weight), -math.inf)["has_ans_f1"]
        ranking.append((tune_f1, weight))
        print(f"{weight:>6} {tune_f1:>35} {held_f1:>9}", file=sys.stderr)
    weight = max(ranking)[1]
    # 2. the threshold decides between the best span and no answer: pick it by SQuAD 2.0 F1
    tuned = outcomes(tune, tune_readings, weight)
    threshold = best_threshold(*tuned)
    held_outcomes = outcomes(held, held_readings, weight)
    check_against_reader(reader, held, held_readings, weight, threshold)
    result = {
        "model": args.model.rstrip("/").split("/")[-1],
        "fusion_weight": weight,
        "no_answer_threshold": round(threshold, 2),
        "tune": metrics(tune, *tuned, threshold),
        "heldout": metrics(held, *held_outcomes, threshold),
        "heldout_always_answering": metrics(held, *held_outcomes, -math.inf),
        "heldout_no_fusion": metrics(
            held, *outcomes(held, held_readings, 0.0), best_threshold(*outcomes(tune, tune_readings, 0.0))
        ),
        "tokens_per_question": round(statistics.mean(r.tokens for r in held_readings), 1),
        "ms_per_question": round(
            1000 * (cache["tune_seconds"] + cache["held_seconds"]) / (len(tune) + len(held)), 1
        ),
    }
    extra = []
    if args.whole:
        whole = ExtractiveReader(args.model, window_words=None, threads=args.threads)
        extra.append(("heldout_whole_passages", whole))
    if args.int8:
        extra.append(("heldout_int8", ExtractiveReader(args.model, quantize="int8", threads=args.threads)))
    for name, other in extra:
        found = readings(name, other, held)
        found_outcomes = outcomes(held, found, weight)
        result[name] = metrics(held, *found_outcomes, threshold) | {
            "always_answering_has_ans_f1": metrics(held, *found_outcomes, -math.inf)["has_ans_f1"],
            "tokens_per_question": round(statistics.mean(r.tokens for r in found), 1),
        }
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
