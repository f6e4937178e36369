"""Reading frontier: what the extractive reader reads (windows, whole passages, k, int8) against accuracy and time.

    python -m benchmarks.reading_frontier                       # all configurations, 400 held-out questions
    python -m benchmarks.reading_frontier --questions 100 --configs "k5 w250/120 s0.4,k5 whole"

What it measures, with qabot's builtin reader (``ExtractiveReader(model_location("builtin"), threads=2,
window_words=..., max_window_words=..., min_sentence_share=..., quantize=...)``, its shipped profile
applied by ``retrieval.loading.calibrate``; one loaded model per quantisation, shared) and BM25 search
(no encoder), for every configuration (``CONFIGS``: the windows as now, 250 words cut at 120 with
sentences kept down to 0.4 of the best; wider windows, 300 to 600 words, with a lower share too so
that they really are wider; uncut windows; whole passages, ``window_words=None,
max_window_words=None``; k = 3, 5, 8 passages; int8):

1. **SQuAD 2.0**, the held-out half of the shared slice (``evaluation.tuning.split``: the articles the
   shipped profile was *not* tuned on), a seeded sample of ``--questions`` (400) of its questions,
   answerable and unanswerable as they come. Per question, per configuration: ``search(k)``, then
   ``score_spans`` once (on ``--accuracy-threads``, 1: the same logits, and no CPU lost spinning
   on a busy machine), and from that one reading:

   * ``ans_em`` / ``ans_f1``: the top span of the answerable questions when always answering
     (``answers`` with the rule's threshold at -inf: the no-answer rule off), and the
     paired difference of F1 to the configuration as shipped (``d_f1`` with its standard error);
   * ``gold_in_read``: the share of answerable questions with a gold answer text inside the text
     read (the windows); ``gold_in_passages``: inside the top-k passages;
   * ``f1`` / ``em``: SQuAD 2.0 F1 / EM (no answer counts as ``""``) with the shipped no-answer rule
     (``answers(reading, top_k=1)``), with ``has_ans_f1`` and ``declined`` (share of unanswerable
     questions declined); ``f1_margin0``: with the untuned rule (margin 0) instead;
   * ``f1_refit``: SQuAD 2.0 F1 with the shipped rule's evidence weights but its threshold re-fitted
     to this configuration, leave one article out (fitted on the sample's other held-out articles,
     maximising SQuAD 2.0 F1 as ``evaluation.tuning.best_threshold`` does): what a re-tune could give;
   * ``tokens``: tokens fed to the model.

2. **Answer tests**, ``examples/answers.yaml`` (88 cases, its own collection of ``examples/articles``):
   each case's question is searched (k passages) and read once, and checked with the answer tests'
   own rule (``evaluation.answer_tests.check_case``) on the top answer with the shipped rule
   (``yaml_passed``: what ``qabot eval`` gives, checked against ``run_answer_tests`` for the shipped
   configuration) and with the rule off (``yaml_passed_off``).

3. **Breakdown** of ``benchmarks.reader --model builtin``'s gap (EM 41.7 for ours against 51.7 for the
   naive per-passage loop, on 60 questions drawn from the whole slice, seed 0: reproduced here with
   its own sampling, its uncalibrated reader and its ``naive_read``), and the same on the held-out
   sample. Each variant reads the same top-5 passages and differs in one thing:

   * text: the windows (250/120/0.4) or the whole passages (for the fused reader, overlapping passages
     stitched once; for the per-text pipeline, each passage on its own, as ``naive_read`` does);
   * ranking: ``fused`` (ours: raw start + end logits + BM25, compared across all windows) or
     ``per-text`` (each window or passage decoded on its own by the 4.x pipeline's softmax, the best
     probability wins: the naive loop);
   * no-answer rule: ``off`` (always answer), ``margin 0`` (what ``benchmarks.reader``'s reader, without
     a profile, does), ``shipped`` (the profile's rule), ``null`` (the pipeline's: the null answer
     competes, per text, and wins when its probability is the highest).

   EM and F1 are over all questions (an unanswerable one is right with no answer), as in
   ``benchmarks.reader``; ``ans_*`` over the answerable ones.

4. **Time** of ``score_spans`` (search excluded) on the sample's first ``--timing-questions`` (40),
   made robust to a shared, busy machine (see ``timing``): CPU ms on one thread (``cpu_ms``,
   fastest of ``--repeats``), turned into an estimate of the wall time on 2 threads (``ms_p50`` /
   ``ms_p95``) by the ratio of what ``benchmarks.reader`` published for the shipped reader (38.6 ms)
   to the CPU ms measured here on its very questions; the naive loop's published 140.2 ms checks it.
   ``--wall`` also times the wall clock on ``--threads`` (2) threads, for an idle machine.

``examples/heldout/`` is never read. Prints a table and, last, ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks.squad import SLICE
from qabot.evaluation.answer_test_files import article_collection, load_answer_tests
from qabot.evaluation.answer_tests import check_case, run_answer_tests
from qabot.evaluation.metrics import exact_match, f1
from qabot.evaluation.squad import load_collection, load_squad, sample
from qabot.evaluation.tuning import best_threshold, outcomes, split
from qabot.index.store import Store
from qabot.retrieval.loading import calibrate, model_location
from qabot.retrieval.reader import ExtractiveReader
from qabot.retrieval.search import search
from qabot.retrieval.span_decoding import decode_spans, encode_windows

ROOT = Path(__file__).resolve().parent.parent
ANSWER_TESTS = ROOT / "examples" / "answers.yaml"
#: benchmarks.reader's sample: this many questions of the whole slice, numpy seed 0.
READER_BENCH_QUESTIONS = 60
#: What ``benchmarks.reader --model builtin`` published (2 threads, its 60 questions, p50 ms:
#: retrieval/builtin_reader/measured.json): the anchor of the time estimates.
PUBLISHED_MS = {"ours": 38.6, "naive": 140.2}


@dataclass(frozen=True)
class Config:
    """What the reader reads: ``k`` passages, windows of ``window_words`` (None: the passages whole)."""

    k: int
    window_words: int | None
    max_window_words: int | None
    min_sentence_share: float = 0.4
    quantize: str = "none"

    @property
    def name(self) -> str:
        if self.window_words is None:
            text = "whole"
        else:
            cut = "-" if self.max_window_words is None else self.max_window_words
            text = f"w{self.window_words}/{cut} s{self.min_sentence_share:g}"
        return f"k{self.k} {text}" + (" int8" if self.quantize == "int8" else "")


SHIPPED = Config(5, 250, 120, 0.4)
WHOLE = Config(5, None, None)
CONFIGS = (
    SHIPPED,
    Config(5, 250, 120, 0.4, "int8"),
    Config(5, 250, None, 0.4),
    Config(5, 300, 120, 0.3),
    Config(5, 400, 120, 0.4),
    Config(5, 400, 120, 0.2),
    Config(5, 600, 120, 0.0),
    WHOLE,
    Config(5, None, None, quantize="int8"),
    Config(3, 250, 120, 0.4),
    Config(3, 400, 120, 0.2),
    Config(3, None, None),
    Config(8, 250, 120, 0.4),
    Config(8, None, None),
)


# --- readers ---------------------------------------------------------------------------------------


class Readers:
    """One loaded model per quantisation, shared by the readers of every configuration."""

    def __init__(self, threads: int):
        self.threads = threads
        self._base: dict[str, ExtractiveReader] = {}

    def get(self, config: Config, *, calibrated: bool = True) -> ExtractiveReader:
        base = self._base.get(config.quantize)
        if base is None:
            base = ExtractiveReader(model_location("builtin"), threads=self.threads, quantize=config.quantize)
            base.warm_up()
            self._base[config.quantize] = base
        reader = ExtractiveReader(
            model_location("builtin"), threads=self.threads, quantize=config.quantize,
            window_words=config.window_words, max_window_words=config.max_window_words,
            min_sentence_share=config.min_sentence_share,
        )
        # the very same model and tokenizer (warm_up then has nothing left to load)
        reader._model, reader._tokenizer = base._model, base._tokenizer  # noqa: SLF001
        reader.weights_folder = base.weights_folder
        if calibrated:
            calibrate(reader)  # the shipped profile: fusion weight and no-answer rule
        return reader


def top_text(answers) -> str:
    return answers[0].text if answers else ""


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else math.nan


def pct(values) -> float | None:
    values = list(values)
    return round(100 * statistics.mean(values), 1) if values else None


# --- 1. the frontier on the held-out SQuAD questions ---------------------------------------------


def frontier(configs, readers: Readers, store: Store, squad, questions, *, progress=True):
    """Every configuration reads every question once; per configuration its measures (all but time),
    and the readings of ``SHIPPED`` and ``WHOLE`` (for the breakdown)."""
    chosen = {c: readers.get(c) for c in configs}
    rows = {c: {"tokens": [], "readings": [], "off": [], "shipped": [], "margin0": [],
                "in_read": [], "in_passages": []} for c in configs}
    started = time.perf_counter()
    for i, q in enumerate(questions):
        found = {k: search(q.question, store=store, k=k) for k in sorted({c.k for c in configs})}
        for c in configs:
            reader, passages = chosen[c], found[c.k]
            reading = reader.score_spans(q.question, passages)
            row = rows[c]
            row["tokens"].append(reading.tokens)
            row["readings"].append(reading)
            row["off"].append(top_text(reader.answers(reading, top_k=1, rule=replace(reader.rule, threshold=-math.inf))))
            row["shipped"].append(top_text(reader.answers(reading, top_k=1)))
            row["margin0"].append(top_text(reader.answers(reading, top_k=1, rule=margin_0(reader.rule))))
            if q.answers:
                row["in_read"].append(any(g in w.text for w in reading.windows for g in q.answers))
                row["in_passages"].append(any(g in p.text for p in passages for g in q.answers))
        if progress and (i + 1) % 25 == 0:
            print(f"  frontier: {i + 1}/{len(questions)} questions, {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)
    has = [bool(q.answers) for q in questions]
    ref_f1 = None
    results = {}
    for c in configs:
        row, reader = rows[c], chosen[c]
        off_f1 = [f1(t, q.answers) for t, q in zip(row["off"], questions) if q.answers]
        if c == SHIPPED or ref_f1 is None and SHIPPED not in configs:
            ref_f1 = off_f1
        results[c] = {"_off_f1": off_f1, **measures(c, row, reader, squad, questions, has)}
    for c in configs:
        diffs = np.array(results[c].pop("_off_f1")) - np.array(ref_f1)
        results[c]["d_f1"] = round(100 * float(diffs.mean()), 1)
        results[c]["d_f1_se"] = round(100 * float(diffs.std(ddof=1) / math.sqrt(len(diffs))), 1)
    kept = {c: rows[c]["readings"] for c in (SHIPPED, WHOLE) if c in rows}
    return {c.name: results[c] for c in configs}, kept


def timing(configs, readers: Readers, store: Store, questions, bench, *, repeats: int, wall_threads: int,
           wall: bool) -> dict:
    """Time of ``score_spans`` per configuration, robust to a busy machine.

    ``cpu_ms``: CPU time of the reading on one thread (``time.thread_time``: what the reading costs,
    whatever else the machine runs), the fastest of ``repeats`` readings of each question, the
    configurations in an order that rotates question by question; p50 / p95 over the questions.
    ``est_ms``: that time on ``wall_threads`` threads, estimated by the ratio of the wall time
    ``benchmarks.reader`` published for the shipped reader on its 60 questions (``PUBLISHED_MS``) to
    the CPU time measured here for the same reader on the same questions (``bench``); the naive
    loop's published time checks the ratio. With ``wall``, ``wall_ms``: the wall time on ``wall_threads``
    threads, fastest of ``repeats``, as this machine gave it (meaningless when it is busy: see the load).
    """
    import torch

    from benchmarks.reader import naive_read

    chosen = {c: readers.get(c) for c in configs}
    shipped = readers.get(SHIPPED)

    def cpu_ms(call) -> float:
        best = math.inf
        for _ in range(repeats):
            t0 = time.thread_time()
            call()
            best = min(best, (time.thread_time() - t0) * 1000)
        return best

    def wall_ms(call) -> float:
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            call()
            best = min(best, (time.perf_counter() - t0) * 1000)
        return best

    torch.set_num_threads(1)
    for c, reader in chosen.items():  # warm-up: a model's first calls are slow
        for q in questions[:2]:
            reader.score_spans(q.question, search(q.question, store=store, k=c.k))
    cpu = {c: [] for c in configs}
    walls = {c: [] for c in configs}
    for i, q in enumerate(questions):
        found = {k: search(q.question, store=store, k=k) for k in sorted({c.k for c in configs})}
        for c in list(configs[i % len(configs):]) + list(configs[: i % len(configs)]):
            cpu[c].append(cpu_ms(lambda: chosen[c].score_spans(q.question, found[c.k])))  # noqa: B023
    anchor_ours, anchor_naive = [], []
    for q in bench:
        passages = search(q.question, store=store, k=5)
        anchor_ours.append(cpu_ms(lambda: shipped.score_spans(q.question, passages)))  # noqa: B023
        anchor_naive.append(cpu_ms(lambda: naive_read(shipped._model, shipped._tokenizer, q.question, passages)))  # noqa: B023, SLF001
    torch.set_num_threads(wall_threads)
    load = os.getloadavg()[0]
    for i, q in enumerate(questions if wall else []):
        found = {k: search(q.question, store=store, k=k) for k in sorted({c.k for c in configs})}
        for c in list(configs[i % len(configs):]) + list(configs[: i % len(configs)]):
            walls[c].append(wall_ms(lambda: chosen[c].score_spans(q.question, found[c.k])))  # noqa: B023
    ratio = PUBLISHED_MS["ours"] / float(np.percentile(anchor_ours, 50))
    out = {
        "_anchor": {
            "published_ms_p50": PUBLISHED_MS,
            "cpu_ms_p50_ours": percentile(anchor_ours, 50),
            "cpu_ms_p50_naive": percentile(anchor_naive, 50),
            "ratio": round(ratio, 3),
            "naive_est_ms_p50": round(ratio * float(np.percentile(anchor_naive, 50)), 1),
            "load": round(load, 2),
        }
    }
    for c in configs:
        out[c.name] = {
            "cpu_ms_p50": percentile(cpu[c], 50), "cpu_ms_p95": percentile(cpu[c], 95),
            "ms_p50": round(ratio * float(np.percentile(cpu[c], 50)), 1),
            "ms_p95": round(ratio * float(np.percentile(cpu[c], 95)), 1),
        }
        if wall:
            out[c.name] |= {"wall_ms_p50": percentile(walls[c], 50), "wall_ms_p95": percentile(walls[c], 95)}
    return out


def measures(c: Config, row: dict, reader: ExtractiveReader, squad, questions, has) -> dict:
    answerable = [(t, q) for t, q, h in zip(row["off"], questions, has) if h]
    shipped = [(t, q) for t, q in zip(row["shipped"], questions)]
    unanswerable = [t for t, h in zip(row["shipped"], has) if not h]
    return {
        "k": c.k,
        "window_words": c.window_words,
        "max_window_words": c.max_window_words,
        "min_sentence_share": c.min_sentence_share,
        "quantize": c.quantize,
        "ans_em": pct(exact_match(t, q.answers) for t, q in answerable),
        "ans_f1": pct(f1(t, q.answers) for t, q in answerable),
        "gold_in_read": pct(row["in_read"]),
        "gold_in_passages": pct(row["in_passages"]),
        "em": pct(exact_match(t, q.answers) for t, q in shipped),
        "f1": pct(f1(t, q.answers) for t, q in shipped),
        "has_ans_f1": pct(f1(t, q.answers) for t, q in shipped if q.answers),
        "declined": pct(t == "" for t in unanswerable),
        "f1_margin0": pct(f1(t, q.answers) for t, q in zip(row["margin0"], questions)),
        "f1_refit": refit_f1(reader, squad, questions, row["readings"]),
        "tokens": round(statistics.mean(row["tokens"]), 1),
    }


def margin_0(rule):
    """The rule's ranking with the untuned no-answer rule: the span must beat the null logit."""
    return replace(rule, threshold=0.0, bm25_weight=0.0, lead_weight=0.0, agreement_weight=0.0, coverage_weight=0.0)


def refit_f1(reader: ExtractiveReader, squad, questions, readings) -> float:
    """SQuAD 2.0 F1 with the shipped rule's weights and its threshold fitted leave one article out."""
    margins, answered, silent = outcomes(questions, readings, replace(reader.rule, threshold=0.0))
    titles = np.array([squad.paragraphs[q.paragraph].title for q in questions])
    f1s = np.zeros(len(questions))
    for title in np.unique(titles):
        inside = titles == title
        threshold = best_threshold(margins[~inside], answered[~inside], silent[~inside]) if (~inside).any() else 0.0
        f1s[inside] = np.where(margins[inside] >= threshold, answered[inside, 1], silent[inside, 1])
    return round(100 * float(f1s.mean()), 1)


# --- 2. the answer tests ---------------------------------------------------------------------------


def answer_tests(configs, readers: Readers) -> dict:
    """Passed cases of examples/answers.yaml per configuration, with the shipped rule and with it off."""
    tests = load_answer_tests(ANSWER_TESTS)
    out = {}
    with article_collection(tests) as store:
        for c in configs:
            reader = readers.get(c)
            passed = passed_off = 0
            for case in tests.cases:
                if case.after:  # a conversation: answered as qabot eval does (top 5 passages)
                    report = run_answer_tests(type(tests)(tests.path, (case,)), store=store, reader=reader)
                    passed += report.results[0].passed
                    continue
                reading = reader.score_spans(case.question, search(case.question, store=store, k=c.k))
                shipped = reader.answers(reading, top_k=1)
                off = reader.answers(reading, top_k=1, rule=replace(reader.rule, threshold=-math.inf))
                passed += check_case(case, shipped, no_answer=not shipped).passed
                passed_off += check_case(case, off, no_answer=not off).passed
            out[c.name] = {"yaml_passed": passed, "yaml_passed_off": passed_off, "yaml_cases": len(tests.cases)}
        reader = readers.get(SHIPPED)
        check = run_answer_tests(tests, store=store, reader=reader).summary()["passed"]
        out["_check_run_answer_tests"] = check
    return out


# --- 3. the breakdown of benchmarks.reader's gap ---------------------------------------------------


def per_text(reader: ExtractiveReader, question: str, texts: list[str]) -> tuple[str, str]:
    """The 4.x pipeline on each text on its own, best probability wins: (with the null answer
    competing, always answering). With the texts the top passages, this is ``naive_read``."""
    if not texts:
        return "", ""
    tokenizer = reader._tokenizer  # noqa: SLF001 - the reader's own model and tokenizer
    encoded = [encode_windows(tokenizer, question, t, max_seq_len=384, doc_stride=128) for t in texts]
    starts, ends = reader._logits(encoded)  # noqa: SLF001 - batched, padding masked
    best_null, best_off = {"score": -1.0, "answer": ""}, {"score": -1.0, "answer": ""}
    for enc, text, start, end in zip(encoded, texts, starts, ends, strict=True):
        with_null = decode_spans(start, end, enc, text, top_k=1, handle_impossible_answer=True)
        without = decode_spans(start, end, enc, text, top_k=1, handle_impossible_answer=False)
        if with_null and with_null[0]["score"] > best_null["score"]:
            best_null = with_null[0]
        if without and without[0]["score"] > best_off["score"]:
            best_off = without[0]
    return best_null["answer"], best_off["answer"]


VARIANTS = (
    # name, text, ranking, rule
    ("naive loop (benchmarks.reader)", "passages", "per-text", "null"),
    ("per-passage, always answer", "passages", "per-text", "off"),
    ("per-window pipeline, null", "windows", "per-text", "null"),
    ("per-window pipeline, always answer", "windows", "per-text", "off"),
    ("fused whole, margin 0", "whole", "fused", "margin0"),
    ("fused whole, shipped rule", "whole", "fused", "shipped"),
    ("fused whole, always answer", "whole", "fused", "off"),
    ("fused whole, no BM25, always answer", "whole", "fused bm25=0", "off"),
    ("ours (benchmarks.reader): windows, margin 0", "windows", "fused", "margin0"),
    ("ours as shipped: windows, shipped rule", "windows", "fused", "shipped"),
    ("windows, always answer", "windows", "fused", "off"),
    ("windows, no BM25, always answer", "windows", "fused bm25=0", "off"),
)


def breakdown(readers: Readers, store: Store, questions, *, naive_check: bool = False, readings=None) -> dict:
    """EM/F1 of every variant of ``VARIANTS`` on ``questions`` (top 5 passages); ``readings``: the
    frontier's readings of ``SHIPPED`` and ``WHOLE`` for these questions, if it made them."""
    windows = readers.get(SHIPPED)
    whole = readers.get(WHOLE)
    answers = {name: [] for name, *_ in VARIANTS}
    mismatches = 0
    for n, q in enumerate(questions):
        passages = search(q.question, store=store, k=5)
        if readings and SHIPPED in readings and WHOLE in readings:
            read = {"windows": readings[SHIPPED][n], "whole": readings[WHOLE][n]}
        else:
            read = {"windows": windows.score_spans(q.question, passages),
                    "whole": whole.score_spans(q.question, passages)}
        fused = {"windows": windows, "whole": whole}
        window_texts = [w.text for w in read["windows"].windows]
        pipeline = {
            "passages": per_text(windows, q.question, [p.text for p in passages]),
            "windows": per_text(windows, q.question, window_texts),
        }
        if naive_check:
            from benchmarks.reader import naive_read

            mismatches += naive_read(windows._model, windows._tokenizer, q.question, passages) != pipeline["passages"][0]  # noqa: SLF001
        for name, text, ranking, rule in VARIANTS:
            if ranking == "per-text":
                answers[name].append(pipeline[text][0 if rule == "null" else 1])
                continue
            reader, reading = fused[text], read[text]
            own = replace(reader.rule, fusion_weight=0.0) if ranking.endswith("bm25=0") else reader.rule
            if rule == "off":
                got = reader.answers(reading, top_k=1, rule=replace(own, threshold=-math.inf))
            elif rule == "margin0":
                got = reader.answers(reading, top_k=1, rule=margin_0(own))
            else:
                got = reader.answers(reading, top_k=1, rule=own)
            answers[name].append(top_text(got))
    out = {}
    for name, text, ranking, rule in VARIANTS:
        pairs = list(zip(answers[name], questions))
        out[name] = {
            "text": text, "ranking": ranking, "rule": rule,
            "em": pct(exact_match(t, q.answers) for t, q in pairs),
            "f1": pct(f1(t, q.answers) for t, q in pairs),
            "ans_em": pct(exact_match(t, q.answers) for t, q in pairs if q.answers),
            "ans_f1": pct(f1(t, q.answers) for t, q in pairs if q.answers),
            "declined": pct(t == "" for t, q in pairs if not q.answers),
            "answered_answerable": pct(t != "" for t, q in pairs if q.answers),
        }
    if naive_check:
        out["_naive_read_mismatches"] = mismatches
    return out


# --- printing --------------------------------------------------------------------------------------


def print_frontier(table: dict, yaml: dict) -> None:
    head = (f"{'config':24} {'tok':>5} {'gold%':>6} {'ansEM':>6} {'ansF1':>6} {'dF1(se)':>10} "
            f"{'F1rule':>6} {'ansF1r':>6} {'decl%':>6} {'F1m0':>6} {'F1refit':>7} {'yaml':>5} {'off':>4} "
            f"{'p50':>6} {'p95':>6} {'cpu1':>6} {'wall2':>6}")
    print(head)
    print("-" * len(head))
    for name, r in table.items():
        y = yaml.get(name, {})
        print(f"{name:24} {r['tokens']:>5.0f} {r['gold_in_read']:>6} {r['ans_em']:>6} {r['ans_f1']:>6} "
              f"{r['d_f1']:>+5.1f}({r['d_f1_se']:>3}) {r['f1']:>6} {r['has_ans_f1']:>6} {r['declined']:>6} "
              f"{r['f1_margin0']:>6} {r['f1_refit']:>7} {y.get('yaml_passed', '-'):>5} "
              f"{y.get('yaml_passed_off', '-'):>4} {r.get('ms_p50', '-'):>6} {r.get('ms_p95', '-'):>6} "
              f"{r.get('cpu_ms_p50', '-'):>6} {r.get('wall_ms_p50', '-'):>6}")


def print_breakdown(title: str, table: dict) -> None:
    print(f"\n{title}")
    head = f"{'variant':46} {'EM':>6} {'F1':>6} {'ansEM':>6} {'ansF1':>6} {'decl%':>6} {'spoke%':>6}"
    print(head)
    print("-" * len(head))
    for name, r in table.items():
        if name.startswith("_"):
            continue
        print(f"{name:46} {r['em']:>6} {r['f1']:>6} {r['ans_em']:>6} {r['ans_f1']:>6} {r['declined']!s:>6} "
              f"{r['answered_answerable']:>6}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=400,
                        help="held-out questions sampled, seeded (default: %(default)s; 0: all 1,959)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads when timing (default: %(default)s)")
    parser.add_argument("--accuracy-threads", type=int, default=1,
                        help="torch threads for the accuracy passes (the same logits; 1 wastes no CPU "
                             "spinning on a busy machine) (default: %(default)s)")
    parser.add_argument("--timing-questions", type=int, default=40,
                        help="the sample's first questions timed (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=2, help="readings per timed question, the fastest kept")
    parser.add_argument("--wall", action="store_true",
                        help="also time the wall clock on --threads threads (only worth it on an idle machine)")
    parser.add_argument("--configs", help="comma-separated configuration names (default: all; see CONFIGS)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: yaml, breakdown, timing")
    parser.add_argument("--json", type=Path, help="also write the full result here")
    args = parser.parse_args(argv)

    import torch

    configs = CONFIGS
    if args.configs:
        wanted = [name.strip() for name in args.configs.split(",")]
        by_name = {c.name: c for c in CONFIGS}
        unknown = [name for name in wanted if name not in by_name]
        if unknown:
            sys.exit(f"unknown configurations {unknown}; known: {list(by_name)}")
        configs = tuple(by_name[name] for name in wanted)
    skip = set(filter(None, args.skip.split(",")))
    readers = Readers(args.threads)
    for quantize in sorted({c.quantize for c in configs}):
        readers.get(Config(5, None, None, quantize=quantize), calibrated=False)  # load the models now
    torch.set_num_threads(args.accuracy_threads)

    squad = load_squad(SLICE)
    store = Store(":memory:")
    load_collection(squad, store)
    _, held = split(squad)
    questions = sample(held, limit=args.questions or None, seed=args.seed)
    n_ans = sum(bool(q.answers) for q in questions)
    print(f"held-out half: {len(held)} questions; sample of {len(questions)} (seed {args.seed}): "
          f"{n_ans} answerable, {len(questions) - n_ans} unanswerable", file=sys.stderr)
    result: dict = {"questions": len(questions), "answerable": n_ans, "seed": args.seed, "threads": args.threads}
    started = time.perf_counter()

    table, kept = frontier(configs, readers, store, squad, questions)
    result["frontier_s"] = round(time.perf_counter() - started)
    print(f"frontier read in {result['frontier_s']} s", file=sys.stderr)
    yaml = answer_tests(configs, readers) if "yaml" not in skip else {}
    for name in table:
        table[name] |= {key: value for key, value in yaml.get(name, {}).items() if key != "yaml_cases"}
    result["yaml_check_run_answer_tests"] = yaml.get("_check_run_answer_tests")
    print(f"answer tests done at {time.perf_counter() - started:.0f} s", file=sys.stderr)

    rng = np.random.default_rng(0)  # benchmarks.reader's draw over the whole slice, in file order
    drawn = sorted(rng.choice(len(squad.questions), READER_BENCH_QUESTIONS, replace=False))
    picked = [squad.questions[i] for i in drawn]
    if "breakdown" not in skip:
        result["breakdown_reader_bench"] = breakdown(readers, store, picked, naive_check=True)
        result["breakdown_heldout"] = breakdown(readers, store, questions, readings=kept)
        print(f"breakdown done at {time.perf_counter() - started:.0f} s", file=sys.stderr)

    if "timing" not in skip:
        timed = timing(configs, readers, store, questions[: args.timing_questions], picked,
                       repeats=args.repeats, wall_threads=args.threads, wall=args.wall)
        result["timing"] = {"questions": min(args.timing_questions, len(questions)), "repeats": args.repeats,
                            "threads": args.threads, **timed.pop("_anchor")}
        for name, value in timed.items():
            table[name] |= value
        print(f"timing done at {time.perf_counter() - started:.0f} s", file=sys.stderr)

    print(f"\nFrontier: {len(questions)} held-out SQuAD 2.0 questions ({n_ans} answerable), builtin reader, BM25; "
          f"rule = the shipped profile's")
    if "timing" in result:
        t = result["timing"]
        print(f"ms of score_spans on {t['questions']} of them, fastest of {t['repeats']}: cpu1 = CPU ms on 1 thread; "
              f"p50/p95 = cpu1 x {t['ratio']}, the ratio of benchmarks.reader's published {PUBLISHED_MS['ours']} ms "
              f"(2 threads) to cpu1 on its 60 questions ({t['cpu_ms_p50_ours']}); the naive loop estimated so: "
              f"{t['naive_est_ms_p50']} ms (published {PUBLISHED_MS['naive']}); load average {t['load']}"
              + (f"; wall2 = wall ms on {args.threads} threads here" if args.wall else ""))
    print_frontier(table, yaml)
    if yaml:
        print(f"answers.yaml: run_answer_tests with the shipped configuration passes "
              f"{yaml['_check_run_answer_tests']} (this script's count: {yaml.get(SHIPPED.name, {}).get('yaml_passed')})")
    if "breakdown_reader_bench" in result:
        bench = result["breakdown_reader_bench"]
        print_breakdown(f"Breakdown on benchmarks.reader's {READER_BENCH_QUESTIONS} questions (whole slice, seed 0; "
                        "EM/F1 over all, an unanswerable one right when declined); naive_read mismatches: "
                        f"{bench['_naive_read_mismatches']}", bench)
        print_breakdown(f"Breakdown on the {len(questions)} held-out questions", result["breakdown_heldout"])

    within = {n: r for n, r in table.items() if r["k"] == 5 and r.get("ms_p50", math.inf) <= 150}
    if within:
        result["most_accurate_k5_within_150ms"] = max(within, key=lambda n: (within[n]["ans_f1"], within[n]["f1"]))
    result["frontier"] = table
    result["total_s"] = round(time.perf_counter() - started)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
