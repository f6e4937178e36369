"""Formatting answers for people: plain text (CLI, console) and JSON (``--json``).

Every front end prints the same ``Result`` from ``retrieval.answer``; only the markup differs.
"""

import textwrap

from retrieval.types import Answer, Passage, Result

#: JSON keys of one answer, as documented for ``qabot ask --json``.
ANSWER_KEYS = ("text", "score", "article_id", "title", "url", "start", "end", "context")
NO_ANSWER = "The articles do not seem to answer that."
SENTENCE_NOTE = "(answered by the sentence reader: no QA model is loaded)"


def result_as_json(result: Result) -> dict:
    """``{"question", "reader", "no_answer", "answers": [...]}`` for ``--json`` output."""
    return {
        "question": result.question,
        "reader": result.reader,
        "no_answer": result.no_answer,
        "answers": [{key: getattr(a, key) for key in ANSWER_KEYS} for a in result.answers],
    }


def source_line(item: Answer | Passage) -> str:
    """``title, date, url`` of where an answer or passage comes from."""
    parts = [item.title]
    if item.published:
        parts.append(item.published)
    if item.url:
        parts.append(item.url)
    return ", ".join(parts) + f" [article {item.article_id}]"


def _snippet(text: str, width: int = 200) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" …")


def result_as_text(result: Result) -> str:
    """The answers as plain text: the answer, its sentence, its source; or the closest passages."""
    lines = []
    if result.no_answer:
        lines.append(NO_ANSWER)
        if result.passages:
            lines.append("Closest passages:")
            for p in result.passages[:3]:
                lines.append(f"  - {_snippet(p.text)}")
                lines.append(f"    {source_line(p)}")
        return "\n".join(lines)
    for rank, a in enumerate(result.answers, 1):
        prefix = f"{rank}. " if len(result.answers) > 1 else ""
        lines.append(f"{prefix}{' '.join(a.text.split())}")
        if " ".join(a.context.split()) != " ".join(a.text.split()):
            lines.append(f"   “{' '.join(a.context.split())}”")
        lines.append(f"   — {source_line(a)}")
    if result.reader == "sentence":
        lines.append(SENTENCE_NOTE)
    return "\n".join(lines)
