"""Tuning a span reader on a SQuAD file: its ranking and no-answer rule (``qabot tune``).

Every paragraph of the file becomes an article of an in-memory collection (``evaluation.squad``),
and every question is read end to end once: ``search`` (top ``k`` passages), then
``ExtractiveReader.score_spans``. The questions are split by Wikipedia article: values are chosen
on the first half of the articles and reported on the other half (held out):

1. the fusion, kind and sentence weights rank spans (``retrieval.span_ranking``), so they are the
   ones that maximise the answerable questions' F1 of the top span when always answering (with
   answer tests, ``cases``: plus, weighing as much, the share of their answerable cases whose top
   span is right);
2. the no-answer rule decides between that span and no answer: for each combination of evidence
   weights (``BM25_EVIDENCE`` x ``LEAD_EVIDENCE`` x ``AGREEMENT_EVIDENCE`` x ``COVERAGE_EVIDENCE``)
   the threshold that maximises SQuAD 2.0 F1 (no answer counts as the prediction ``""``), halfway
   between two observed confidences; the combination whose threshold gives the best F1 wins
   (ties: the smaller weights). The report also gives the held-out numbers of the margin alone
   (all weights 0), tuned the same way, so what the evidence adds is measured, and those of the
   rule the reader had before (``heldout_current_profile``: its profile, or the untuned margin 0).

The ranking and the no-answer rule replayed here are ``ExtractiveReader.answers``'s (checked on the
held-out half). The result is a ``models.profile.ReaderProfile``.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass, replace

import numpy as np

from qabot.evaluation.answer_test_files import article_collection, load_answer_tests
from qabot.evaluation.answer_tests import check_case
from qabot.evaluation.metrics import exact_match, f1
from qabot.evaluation.squad import SquadQuestion, SquadSet, load_collection
from qabot.index.store import Store
from qabot.models.profile import ReaderProfile, weights_digest
from qabot.retrieval.reader import ExtractiveReader
from qabot.retrieval.search import DEFAULT_K, search
from qabot.retrieval.span_ranking import Reading, Rule, confidence, lead, passage_bm25, ranked_spans

#: The ranking's weights tried: the passage's BM25 (fusion), the span's kind agreement, its
#: sentence's coverage of the question.
WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)
KIND_WEIGHTS = (0.0, 1.0, 2.0)
SENTENCE_WEIGHTS = (0.0, 1.0, 2.0, 4.0)
#: The no-answer rule's evidence weights tried: the passage's BM25, the top answer's lead, its
#: kind agreement, its sentence's coverage of the question.
BM25_EVIDENCE = (0.0, 0.1, 0.2, 0.3, 0.4)
LEAD_EVIDENCE = (0.0, 0.25, 0.5, 1.0)
AGREEMENT_EVIDENCE = (0.0, 0.5, 1.0, 2.0)
COVERAGE_EVIDENCE = (0.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True)
class Tuned:
    """What ``tune`` chose and measured."""

    profile: ReaderProfile
    report: dict


def split(squad: SquadSet) -> tuple[list[SquadQuestion], list[SquadQuestion]]:
    """The questions of the first half of the file's articles, and of the other half."""
    titles = list(dict.fromkeys(p.title for p in squad.paragraphs))
    first = set(titles[: max(1, len(titles) // 2)])
    tune = [q for q in squad.questions if squad.paragraphs[q.paragraph].title in first]
    held = [q for q in squad.questions if squad.paragraphs[q.paragraph].title not in first]
    return tune, held


def read_all(reader: ExtractiveReader, store: Store, questions, k: int, progress=None) -> list[Reading]:
    """Every question's reading, once (this is where the model runs)."""
    readings = []
    for q in questions:
        readings.append(reader.score_spans(q.question, search(q.question, store=store, k=k)))
        if progress:
            progress(1)
    return readings


def top_span(reading: Reading, rule: Rule):
    """The span ``ExtractiveReader.answers`` ranks first and its confidence, or (None, -inf)."""
    ranked = ranked_spans(reading, rule)
    if not ranked:
        return None, -math.inf
    return ranked[0], confidence(reading, ranked, rule=rule)


def evidence(reading: Reading, rule: Rule) -> np.ndarray:
    """The top span's margin, passage BM25, lead, agreement and coverage under ``rule``'s ranking
    (``confidence`` is their sum weighted by ``(1, bm25, lead, agreement, coverage)``)."""
    ranked = ranked_spans(reading, rule)
    if not ranked:
        return np.array([-math.inf, 0, 0, 0, 0])
    span = ranked[0]
    return np.array([span.logit - reading.null, passage_bm25(reading, span), lead(reading, ranked),
                     span.agreement, span.coverage])


def _score(question: SquadQuestion, text: str) -> tuple[float, float]:
    """(EM, F1) of an answer ("" for none); an unanswerable question is right only with ""."""
    if not question.answers:
        return (float(text == ""),) * 2
    return exact_match(text, question.answers), f1(text, question.answers)


def outcomes(questions, readings, rule: Rule):
    """Per question: the top span's confidence under ``rule``, (EM, F1) answered, (EM, F1) silent."""
    margins, answered, silent = [], [], []
    for q, reading in zip(questions, readings, strict=True):
        span, confidence = top_span(reading, rule)
        margins.append(confidence)
        answered.append(_score(q, span.text) if span else _score(q, ""))
        silent.append(_score(q, ""))
    return np.array(margins), np.array(answered).reshape(-1, 2), np.array(silent).reshape(-1, 2)


def best_threshold(margins, answered, silent, has=None, min_has_f1: float | None = None) -> float:
    """The threshold maximising total F1 when a question is answered iff margin >= threshold.

    :param has: which questions are answerable (needed with ``min_has_f1``).
    :param min_has_f1: only thresholds keeping the answerable questions' F1 (0-100) at least this.
    """
    finite = np.unique(margins[np.isfinite(margins)])
    candidates = np.concatenate([[-np.inf], finite, [np.inf]])
    best, best_f1 = -np.inf, -1.0
    for t in candidates:
        f1s = np.where(margins >= t, answered[:, 1], silent[:, 1])
        if min_has_f1 is not None and 100 * f1s[has].mean() < min_has_f1:
            continue
        total = f1s.sum()
        if total > best_f1 + 1e-9:
            best, best_f1 = t, total
    if not np.isfinite(best):
        return float(best)
    below = finite[finite < best]  # halfway to the next margin down, so it is not tied to one question
    return float((best + below.max()) / 2 if below.size else best - 0.5)


def metrics(questions, margins, answered, silent, threshold) -> dict:
    """SQuAD 2.0 EM/F1 (%), answerable F1, unanswerable declined, answer/no-answer accuracy; how many
    right top spans the rule declined and how many wrong ones (not an exact match) it let through."""
    speak = margins >= threshold
    em = np.where(speak, answered[:, 0], silent[:, 0])
    f1s = np.where(speak, answered[:, 1], silent[:, 1])
    has = np.array([bool(q.answers) for q in questions])

    def share(values) -> float | None:
        return round(100 * float(values.mean()), 2) if values.size else None

    return {
        "em": share(em),
        "f1": share(f1s),
        "has_ans_f1": share(f1s[has]),
        "no_ans_declined": share(~speak[~has]),
        "no_answer_accuracy": share(speak == has),
        "right_declined": int((~speak & has & (answered[:, 0] == 1)).sum()),
        "wrong_answered": int((speak & (answered[:, 0] == 0)).sum()),
        "questions": len(questions),
    }


def case_readings(path, reader: ExtractiveReader, encoder, k: int = DEFAULT_K) -> list:
    """``(case, reading)`` for each standalone case of an answer-test file, read once over its articles.

    :param path: the answer-test file (YAML or JSONL; ``evaluation.answer_test_files``), with its
        own articles (a case with ``after:`` is a conversation, left to ``qabot eval``).
    :param encoder: the sentence encoder for hybrid search, or None for BM25 alone.
    """
    tests = load_answer_tests(path)
    with article_collection(tests, encoder=encoder) as store:
        return [
            (case, reader.score_spans(case.question, search(case.question, store=store, k=k, encoder=encoder)))
            for case in tests.cases
            if not case.after
        ]


def case_counts(reader: ExtractiveReader, cases: list, rule: Rule) -> dict:
    """What ``rule`` does with answer-test readings: of the answerable cases, how many it answers
    right, declines though the top span was right, declines with a wrong top span, answers wrongly;
    of the unanswerable ones, how many it declines and answers; and the cases passed."""
    counts = dict.fromkeys(
        ("passed", "right", "right_declined", "wrong_declined", "wrong_answered", "no_answer_declined",
         "no_answer_answered"), 0)
    for case, reading in cases:
        answers = reader.answers(reading, top_k=1, rule=rule)
        counts["passed"] += check_case(case, answers, no_answer=not answers).passed
        if case.no_answer:
            counts["no_answer_declined" if not answers else "no_answer_answered"] += 1
            continue
        top = reader.answers(reading, top_k=1, rule=replace(rule, threshold=-math.inf))
        top_right = check_case(case, top, no_answer=not top).passed
        if answers:
            counts["right" if top_right else "wrong_answered"] += 1
        else:
            counts["right_declined" if top_right else "wrong_declined"] += 1
    return counts | {"cases": len(cases)}


def case_outcomes(reader: ExtractiveReader, cases: list, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """Per answer-test case: (passed, passed) when its top span is answered, and when it is declined."""
    answered, silent = [], []
    for case, reading in cases:
        top = reader.answers(reading, top_k=1, rule=replace(rule, threshold=-math.inf))
        answered.append((float(check_case(case, top, no_answer=not top).passed),) * 2)
        silent.append((float(bool(case.no_answer)),) * 2)
    return np.array(answered).reshape(-1, 2), np.array(silent).reshape(-1, 2)


def check_against_reader(reader, questions, readings, rule: Rule) -> None:
    """The replayed rule must give ``ExtractiveReader.answers``'s top answers."""
    for q, reading in zip(questions, readings, strict=True):
        got = reader.answers(reading, top_k=1, rule=rule)
        span, confidence = top_span(reading, rule)
        expected = span.text if span and confidence >= rule.threshold else None
        if (got[0].text if got else None) != expected:
            raise AssertionError(f"replayed rule differs from the reader on {q.id}")


def tune(
    reader: ExtractiveReader, squad: SquadSet, *, name: str, k: int = 5,
    min_answerable_f1: float | None = None, progress=None, cases: list | None = None,
) -> Tuned:
    """Choose the fusion weight and no-answer threshold of ``reader`` on ``squad`` (see above).

    :param reader: the span reader, its model loaded.
    :param squad: a SQuAD v2.0 file (with unanswerable questions) or v1.1 (the threshold then
        only learns when the collection lacks the answer).
    :param name: the file's name, for the profile's ``tuned_on``.
    :param k: passages read per question.
    :param min_answerable_f1: choose the threshold among those keeping the tuning half's answerable
        F1 at least this (0-100): SQuAD 2.0's adversarial unanswerable questions otherwise push
        the threshold up until the reader declines many answerable questions.
    :param progress: called with 1 after each question read.
    :param cases: ``(answer-test case, reading)`` pairs the ranking and the no-answer rule are also
        chosen on (``choose``).
    """
    with Store(":memory:") as store:
        load_collection(squad, store)
        tune_questions, held = split(squad)
        tune_readings = read_all(reader, store, tune_questions, k, progress)
        held_readings = read_all(reader, store, held, k, progress)
    return choose(reader, (tune_questions, tune_readings), (held, held_readings), name=name, k=k,
                  min_answerable_f1=min_answerable_f1, cases=cases)


def choose(
    reader: ExtractiveReader, tuning: tuple[list, list[Reading]], heldout: tuple[list, list[Reading]], *,
    name: str, k: int = 5, min_answerable_f1: float | None = None, cases: list | None = None,
) -> Tuned:
    """``tune``'s choice and report from the readings of both halves (``read_all``), read once.

    :param tuning: the tuning half's questions and their readings.
    :param heldout: the held-out half's questions and their readings (may be empty).
    :param cases: ``(answer-test case, reading)`` pairs (``evaluation.answer_test_files``) the ranking
        and the no-answer rule are also chosen on: users' paraphrased questions, whose top span
        should be right and rarely declined. Their share of answerable cases with a right top span
        weighs as much as the tuning half's answerable F1 in the ranking; their share of cases passed
        as much as the tuning half's mean F1 in the no-answer rule.
    """
    tune_questions, tune_readings = tuning
    held, held_readings = heldout
    always = {
        ranks: metrics(tune_questions, *outcomes(tune_questions, tune_readings, Rule(*ranks, -math.inf)), -math.inf)
        for ranks in itertools.product(WEIGHTS, KIND_WEIGHTS, SENTENCE_WEIGHTS)
    }
    answerable_cases = sum(not case.no_answer for case, _ in cases or ())

    def ranking_score(ranks) -> float:
        """The tuning half's answerable F1, plus (as much) the share of answerable cases whose top span is right."""
        score = always[ranks]["has_ans_f1"] or 0.0
        if answerable_cases:
            answered, _ = case_outcomes(reader, cases, Rule(*ranks))  # each case's top span, passed or not
            right = sum(passed for (case, _), (passed, _) in zip(cases, answered, strict=True) if not case.no_answer)
            score += 100 * right / answerable_cases
        return score

    weight, kind_weight, sentence_weight = max(always, key=lambda ranks: (ranking_score(ranks), -ranks[2], -ranks[1], -ranks[0]))
    ranking = Rule(weight, kind_weight, sentence_weight)
    has = np.array([bool(q.answers) for q in tune_questions])
    found = np.array([evidence(r, ranking) for r in tune_readings]).reshape(-1, 5)
    _, answered, silent = outcomes(tune_questions, tune_readings, ranking)
    if cases:  # appended as rows worth len(tuning half) / len(cases) questions each
        scale = len(tune_questions) / len(cases)
        found = np.vstack([found, [evidence(r, ranking) for _, r in cases]])
        case_answered, case_silent = case_outcomes(reader, cases, ranking)
        answered, silent = np.vstack([answered, scale * case_answered]), np.vstack([silent, scale * case_silent])
        has = np.concatenate([has, np.zeros(len(cases), dtype=bool)])

    def tuned_rule(*weights: float) -> tuple[Rule, float]:
        """The best threshold for these evidence weights, and the F1 summed over what it is chosen on."""
        margins = found @ np.array([1.0, *weights])
        threshold = best_threshold(margins, answered, silent, has=has, min_has_f1=min_answerable_f1)
        rule = Rule(weight, kind_weight, sentence_weight, threshold, *weights)
        return rule, float(np.where(margins >= threshold, answered[:, 1], silent[:, 1]).sum())

    candidates = [
        tuned_rule(b, lw, a, c)
        for b in BM25_EVIDENCE for lw in LEAD_EVIDENCE for a in AGREEMENT_EVIDENCE for c in COVERAGE_EVIDENCE
    ]
    weights = ("bm25_weight", "lead_weight", "agreement_weight", "coverage_weight")
    rule = max(candidates, key=lambda c: (c[1], *(-getattr(c[0], w) for w in weights)))[0]
    rule = replace(rule, threshold=round(rule.threshold, 3))  # as the profile keeps it
    margin_only = candidates[0][0]
    f1_rule = replace(rule, threshold=best_threshold(*outcomes(tune_questions, tune_readings, rule)))

    def scored(questions, readings, chosen: Rule) -> dict | None:
        if not questions:
            return None
        return metrics(questions, *outcomes(questions, readings, chosen), chosen.threshold)

    if held:
        check_against_reader(reader, held, held_readings, rule)
    report = {
        "fusion_weight": weight,
        "kind_weight": kind_weight,
        "sentence_weight": sentence_weight,
        "no_answer_threshold": rule.threshold,
        "no_answer_bm25_weight": rule.bm25_weight,
        "no_answer_lead_weight": rule.lead_weight,
        "no_answer_agreement_weight": rule.agreement_weight,
        "no_answer_coverage_weight": rule.coverage_weight,
        "tune": scored(tune_questions, tune_readings, rule),
        "heldout": scored(held, held_readings, rule),
        "heldout_current_profile": scored(held, held_readings, reader.rule),
        "heldout_always_answering": scored(held, held_readings, replace(ranking, threshold=-math.inf)),
        "heldout_margin_0": scored(held, held_readings, ranking),
        "heldout_margin_only": (
            scored(held, held_readings, margin_only) | {"threshold": round(margin_only.threshold, 3)}
            if held else None
        ),
        "heldout_at_best_f1_threshold": (
            scored(held, held_readings, f1_rule) | {"threshold": round(f1_rule.threshold, 3)} if held else None
        ),
        "tokens_per_question": round(statistics.mean(r.tokens for r in held_readings or tune_readings), 1),
        "answer_tests": case_counts(reader, cases, rule) if cases else None,
    }
    profile = ReaderProfile(
        no_answer_threshold=rule.threshold,
        fusion_weight=weight,
        no_answer_bm25_weight=rule.bm25_weight,
        no_answer_lead_weight=rule.lead_weight,
        kind_weight=kind_weight,
        sentence_weight=sentence_weight,
        no_answer_agreement_weight=rule.agreement_weight,
        no_answer_coverage_weight=rule.coverage_weight,
        weights_sha256=weights_digest(reader.weights_folder) or "",
        tuned_on=(
            f"{name}: chosen on {len(tune_questions)} questions of its first half of articles, "
            f"reported on {len(held)} held out; top {k} passages, end to end; threshold maximising "
            "SQuAD 2.0 F1" + (f" with answerable F1 >= {min_answerable_f1}" if min_answerable_f1 else "")
        ),
        measured={key: report[key] for key in ("tune", "heldout", "heldout_always_answering", "heldout_margin_only",
                                               "heldout_at_best_f1_threshold")}
        | ({"answer_tests": report["answer_tests"]} if cases else {}),
    )
    return Tuned(profile, report)
