"""Answer tests: a test file's questions asked through ``answer()``, each case checked and scored.

Part of ``evaluation``, under ``qabot eval FILE``: ``evaluation.answer_test_files`` reads the file
and its articles; here each case is asked (after its ``after:`` questions, in conversation:
``evaluation.conversation_tests``) and checked. A case passes when one of the first ``k`` answers
(the top one by default) meets all its checks.

Besides pass or fail, each case with ``expect`` is scored by exact match and F1 of the top answer
against it (SQuAD's normalisation), each case with ``source`` by whether the top answer cites it.
"""

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import regex

from qabot.evaluation.answer_test_files import AnswerCase, AnswerTests
from qabot.evaluation.conversation_tests import ask_case
from qabot.evaluation.metrics import exact_match, f1, percentile
from qabot.index.store import Store
from qabot.retrieval.loading import reader_model
from qabot.retrieval.types import Answer

#: An ``expect_regex`` search taking longer than this (catastrophic backtracking) fails the case.
REGEX_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class CaseResult:
    """What one case got, and whether it passed.

    :param failures: why it failed, in words (empty when it passed).
    :param top: the top answer (None when the bot gave none).
    :param exact_match: EM of the top answer against ``expect`` (None when the case has none).
    :param f1: F1 of the top answer against ``expect`` (None when the case has none).
    :param cited: whether the top answer cites ``source`` (None when the case has none).
    """

    case: AnswerCase
    passed: bool
    failures: tuple[str, ...]
    no_answer: bool
    top: Answer | None
    seconds: float
    exact_match: float | None
    f1: float | None
    cited: bool | None

    def as_dict(self) -> dict:
        """The result as JSON-ready data."""
        return {
            "where": self.case.where,
            "question": self.case.question,
            **({"after": list(self.case.after)} if self.case.after else {}),
            "passed": self.passed,
            "expected": self.case.expected(),
            "got": self.top.text if self.top else None,
            "no_answer": self.no_answer,
            "cited": {"article_id": self.top.article_id, "title": self.top.title} if self.top else None,
            "seconds": round(self.seconds, 4),
            "exact_match": self.exact_match,
            "f1": None if self.f1 is None else round(self.f1, 4),
            "failures": list(self.failures),
        }


@dataclass
class AnswerTestReport:
    """The results of a test file, in the order of its cases."""

    reader: str
    encoder: bool
    k: int
    model: str | None = None
    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every case passed."""
        return all(r.passed for r in self.results)

    def summary(self) -> dict:
        """Pass rate, exact match and F1 (cases with ``expect``), citation accuracy, p50/p95 time."""
        n = len(self.results)
        passed = sum(r.passed for r in self.results)
        scored = [r for r in self.results if r.exact_match is not None]
        cited = [r for r in self.results if r.cited is not None]
        seconds = [r.seconds for r in self.results]

        def mean(values) -> float | None:
            values = list(values)
            return round(sum(values) / len(values), 4) if values else None

        return {
            "cases": n,
            "passed": passed,
            "failed": n - passed,
            "pass_rate": round(passed / n, 4) if n else None,
            "exact_match": mean(r.exact_match for r in scored),
            "f1": mean(r.f1 for r in scored),
            "scored_cases": len(scored),
            "citation_accuracy": mean(float(r.cited) for r in cited),
            "cited_cases": len(cited),
            "time_p50_s": _rounded(percentile(seconds, 50)),
            "time_p95_s": _rounded(percentile(seconds, 95)),
            "reader": self.reader,
            "model": self.model,
            "encoder": self.encoder,
            "k": self.k,
        }

    def as_dict(self) -> dict:
        """``{"cases": [...], "summary": {...}}``, JSON-ready."""
        return {"cases": [r.as_dict() for r in self.results], "summary": self.summary()}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def run_answer_tests(
    tests: AnswerTests,
    *,
    store: Store,
    reader,
    k: int = 1,
    encoder=None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> AnswerTestReport:
    """Ask every case's question through ``answer()`` (after its ``after:`` questions, in
    conversation) and check what comes back.

    :param tests: the loaded test file.
    :param store: the collection to ask (``article_collection`` for the file's own).
    :param reader: the reader ``answer()`` uses.
    :param k: a case passes when one of the first ``k`` answers meets all its checks.
    :param encoder: the sentence encoder for hybrid search, or None.
    :param on_result: called with each result as soon as it is known (to print progress).
    :raises index.bm25.EmptyIndex: the collection is empty.
    :raises ValueError: ``k`` is not positive.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    report = AnswerTestReport(
        reader=reader.name, encoder=encoder is not None, k=k, model=reader_model(reader)
    )
    for case in tests.cases:
        result, seconds = ask_case(case.question, case.after, store=store, reader=reader, k=k, encoder=encoder)
        checked = check_case(case, result.answers[:k], no_answer=result.no_answer, seconds=seconds)
        report.results.append(checked)
        if on_result:
            on_result(checked)
    return report


def check_case(
    case: AnswerCase, answers: tuple[Answer, ...] | list[Answer], *, no_answer: bool, seconds: float = 0.0
) -> CaseResult:
    """Whether the answers meet the case's checks (one of them must meet all), and its scores.

    :param answers: the answers to consider, best first.
    :param no_answer: whether the bot said the articles do not answer.
    """
    top = answers[0] if answers else None
    if case.no_answer:
        failures = () if no_answer else ("answered, but the articles should not answer this",)
    elif no_answer or top is None:
        failures = ("no answer",)
    else:
        misses = [_misses(case, a) for a in answers]
        failures = () if not all(misses) else tuple(misses[0])
    scores = (None, None)
    if case.expect:
        predicted = top.text if top else ""
        scores = (exact_match(predicted, case.expect), f1(predicted, case.expect))
    return CaseResult(
        case=case,
        passed=not failures,
        failures=failures,
        no_answer=no_answer,
        top=top,
        seconds=seconds,
        exact_match=scores[0],
        f1=scores[1],
        cited=None if case.source is None else (top is not None and cites(top, case.source)),
    )


def _misses(case: AnswerCase, found: Answer) -> list[str]:
    """The checks this answer fails, in words."""
    misses = []
    if case.expect and not any(_folded(e) in _folded(found.text) for e in case.expect):
        misses.append("expected " + " or ".join(f'"{e}"' for e in case.expect))
    if case.expect_regex and (miss := _regex_miss(case.expect_regex, found.text)):
        misses.append(miss)
    if case.source is not None and not cites(found, case.source):
        misses.append(f"expected the source {case.source!r}")
    return misses


def _regex_miss(pattern: str, text: str) -> str | None:
    """Why the text does not match ``expect_regex`` (None: it does), in words."""
    try:
        if regex.search(pattern, " ".join(text.split()), regex.IGNORECASE, timeout=REGEX_TIMEOUT_S):
            return None
    except TimeoutError:
        return (
            f"/{pattern}/ took over {REGEX_TIMEOUT_S:g} s to search the answer"
            " (catastrophic backtracking: simplify it)"
        )
    return f"expected a match of /{pattern}/"


def cites(found: Answer, source: str | int) -> bool:
    """Whether an answer cites ``source``: its article id (int), or a substring of its title."""
    if isinstance(source, int):
        return found.article_id == source
    return _folded(source) in _folded(found.title)


def _folded(text: str) -> str:
    """Case, Unicode form and spacing folded: what "case- and whitespace-insensitive" compares."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
