"""``qabot eval``'s reports in plain text: one line per answer-test case, a run's summary, a SQuAD run.

Part of the bot's front end over ``evaluation``: ``bot/cli.py`` prints with these what
``evaluation.answer_tests`` and ``evaluation.squad`` measure (the words of ``bot/formatting.py``).
"""

from qabot.bot.formatting import plural, snippet


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def case_as_text(result) -> str:
    """One line for one answer-test case (``evaluation.answer_tests.CaseResult``): pass or fail,
    time, where it is, the question, what was expected, what came back and its source."""
    case = result.case
    expected = []
    if case.no_answer:
        expected.append("no answer")
    elif case.no_answer is False:
        expected.append("an answer")
    if case.expect:
        expected.append(" or ".join(f'"{e}"' for e in case.expect))
    if case.expect_regex:
        expected.append(f"/{case.expect_regex}/")
    if case.source is not None:
        expected.append(f"from {case.source!r}")
    got = "(no answer)"
    if result.top:
        got = f"“{snippet(result.top.text, 100)}” [{snippet(result.top.title, 50)}, article {result.top.article_id}]"
    line = (
        f"{'PASS' if result.passed else 'FAIL'}  {result.seconds:5.2f} s  {case.where}  {case.question}"
        f"  | expected: {', '.join(expected)}  | got: {got}"
    )
    if result.failures:
        line += "  | " + "; ".join(result.failures)
    return line


def _timing(p50: float | None, p95: float | None) -> str:
    return "n/a" if p50 is None else f"p50 {p50:.3f} s, p95 {p95:.3f} s"


def answer_tests_summary_as_text(summary: dict) -> str:
    """The summary of an answer-test run (``AnswerTestReport.summary()``) in a few lines."""
    scored = f" over {plural(summary['scored_cases'], 'case')} with expect" if summary["scored_cases"] else ""
    cited = "n/a"
    if summary["cited_cases"]:
        cited = f"{_percent(summary['citation_accuracy'])} of {plural(summary['cited_cases'], 'case')} with source"
    k = summary["k"]
    checked = "top answer checked" if k == 1 else f"top {k} answers checked"
    encoder = "on" if summary["encoder"] else "off"
    reader = summary["reader"] + (f" ({summary['model']})" if summary.get("model") else "")
    return "\n".join(
        [
            f"passed:      {summary['passed']} of {summary['cases']} ({_percent(summary['pass_rate'])})",
            f"exact match: {_percent(summary['exact_match'])}, F1 {_percent(summary['f1'])}{scored}",
            f"citations:   {cited}",
            f"time:        {_timing(summary['time_p50_s'], summary['time_p95_s'])}",
            f"reader:      {reader}, encoder {encoder}, {checked}",
        ]
    )


def squad_report_as_text(report: dict) -> str:
    """A SQuAD run (``evaluation.squad.evaluate_squad``) as a small table and a few lines."""
    recall = report["recall"]
    search = "hybrid (BM25 + encoder)" if report["encoder"] else "BM25"
    reader = report["reader"] + (f" ({report['model']})" if report.get("model") else "")
    lines = [
        (
            f"SQuAD {report['version'] or '(no version)'}: {plural(report['paragraphs'], 'paragraph')} as the "
            f"collection; {plural(report['questions'], 'question')} ({report['answerable']} answerable, "
            f"{report['unanswerable']} unanswerable)"
        ),
        f"reader: {reader}; search: {search}",
        "retrieval recall (answerable)   " + "".join(f"{depth:>8}" for depth in recall["answer"]),
    ]
    labels = {"answer": "a chunk holds a gold answer", "paragraph": "a chunk is the gold paragraph"}
    for name, label in labels.items():
        values = ("n/a" if v is None else f"{v:.3f}" for v in recall[name].values())
        lines.append(f"  {label:<30}" + "".join(f"{v:>8}" for v in values))
    lines += [
        (
            f"answerable:   EM {_percent(report['exact_match'])}, F1 {_percent(report['f1'])}, "
            f"answered {_percent(report['answered'])}, "
            f"top sentence holds a gold answer {_percent(report['sentence_accuracy'])}"
        ),
        f"unanswerable: said the articles do not answer {_percent(report['no_answer_accuracy'])}",
        f"time per question: {_timing(report['time_p50_s'], report['time_p95_s'])}",
    ]
    return "\n".join(lines)
