"""Training examples for qabot's reader: SQuAD-format files → questions paired with passages.

The first step of ``python -m qabot.training.reader``. Each :class:`Example` is a question and a passage,
with the answer's character span in it, or none when the passage does not answer. Five kinds:

* **answerable**: the question with its own paragraph and its first gold answer;
* **unanswerable** (SQuAD 2.0's ``is_impossible``): the question with its own paragraph, no answer;
* **other paragraph** (open-domain negatives, as DPR and BERTserini train their readers): the
  question with the other paragraph of its article that shares the most words with it and does not
  hold its answer. That is the passage retrieval hands the reader when the collection does not
  answer, so the model learns to put the [CLS] (no answer) score above the spans there;
* **answer removed**: the question with its own paragraph minus the sentences holding its answer,
  the passage next to the answer that retrieval also hands the reader;
* **swapped name**: the question with one of its names or numbers that the paragraph mentions
  replaced by one from another article's question that the paragraph never mentions ("When did
  Beyoncé …" → "When did Chopin …"), the entity swap that most of SQuAD 2.0's unanswerable
  questions are made of (Rajpurkar et al. 2018, table 4). It teaches the model that words of the
  question must be in the passage, not only a span of the expected type.

A question found in several files (the SQuAD 2.0 train slice repeats SQuAD 1.1 paragraphs) is kept
once, the version that says it is unanswerable winning.
"""

from __future__ import annotations

import functools
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from qabot.index.chunking import split_sentences

_WORD = re.compile(r"\w+")
#: Words too common to say two paragraphs are about the same thing.
_STOP = frozenset(
    "a an and are as at be by for from had has have he her his in is it its of on or she that the "
    "their they this to was were what when where which who whom why with how did does do".split()
)
#: A name (capitalised words, "of"/"the"/"de" allowed inside) or a number, as it appears in a question.
_NAME = re.compile(r"\b(?:\d[\d,.]*\d|\d|[A-Z][\w'’.-]*(?:\s+(?:(?:of|the|de|von|van|and)\s+){0,2}[A-Z][\w'’.-]*)*)")


@dataclass(frozen=True)
class Example:
    """A question and a passage; ``answer_start`` is None when the passage does not answer.

    ``context[answer_start:answer_start + len(answer)] == answer``.
    """

    question: str
    context: str
    answer: str = ""
    answer_start: int | None = None
    kind: str = "answerable"  # or one of NEGATIVE_KINDS


#: The kinds of example that say "this passage does not answer" (see the module docstring).
NEGATIVE_KINDS = ("unanswerable", "other paragraph", "answer removed", "swapped name")


@dataclass(frozen=True)
class Question:
    """One SQuAD question with its article's paragraphs (to draw negatives from)."""

    question: str
    paragraph: int
    answers: tuple[tuple[str, int], ...]  # (text, start) in the paragraph; empty if unanswerable
    article: tuple[str, ...]  # every paragraph of its article


class MalformedTrainingFile(ValueError):
    """A training file is not SQuAD v1.1/v2.0 JSON with answer offsets; the message says where."""


def load_questions(paths: list[str | Path]) -> list[Question]:
    """Every question of the SQuAD files, de-duplicated by (paragraph, question) text.

    :raises MalformedTrainingFile: a file is not SQuAD JSON, or an answer is not at its offset.
    """
    found: dict[tuple[str, str], Question] = {}
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise MalformedTrainingFile(f"{path}: not a SQuAD file ({error})") from None
        for a, article in enumerate(data):
            contexts = tuple(p["context"] for p in article["paragraphs"])
            for p, paragraph in enumerate(article["paragraphs"]):
                for qa in paragraph["qas"]:
                    answers = () if qa.get("is_impossible") else _answers(qa, contexts[p], path, a)
                    key = (contexts[p], qa["question"].strip())
                    if key in found and not answers:
                        found[key] = Question(key[1], p, (), contexts)
                    elif key not in found and (answers or qa.get("is_impossible")):
                        found[key] = Question(key[1], p, answers, contexts)
    return list(found.values())


def _answers(qa: dict, context: str, path, article: int) -> tuple[tuple[str, int], ...]:
    spans = []
    for answer in qa.get("answers", []):
        text, start = answer["text"], answer["answer_start"]
        stripped = text.strip()
        start += len(text) - len(text.lstrip())
        if stripped and context[start:start + len(stripped)] == stripped:
            spans.append((stripped, start))
        elif stripped:
            raise MalformedTrainingFile(
                f"{path}: data[{article}]: answer {text!r} of {qa['question']!r} is not at its offset"
            )
    return tuple(spans)


def answerable(question: Question) -> Example | None:
    """The question with its own paragraph and first answer (None if it has no answer)."""
    if not question.answers:
        return None
    text, start = question.answers[0]
    return Example(question.question, question.article[question.paragraph], text, start)


def unanswerable(question: Question) -> Example | None:
    """A SQuAD 2.0 unanswerable question with its own paragraph (None if it has an answer)."""
    if question.answers:
        return None
    return Example(question.question, question.article[question.paragraph], kind="unanswerable")


def other_paragraph(question: Question) -> Example | None:
    """The question with the most word-overlapping other paragraph lacking its answers, if any."""
    asked = _words(question.question)
    texts = [text.lower() for text, _ in question.answers]
    best, best_overlap = None, 0
    for p, context in enumerate(question.article):
        if p == question.paragraph or any(text in context.lower() for text in texts):
            continue
        overlap = len(asked & _words(context))
        if overlap > best_overlap:
            best, best_overlap = context, overlap
    if best is None:
        return None
    return Example(question.question, best, kind="other paragraph")


@functools.lru_cache(maxsize=None)
def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def answer_removed(question: Question) -> Example | None:
    """The question with its own paragraph minus the sentences that hold its answers, if any are left."""
    context = question.article[question.paragraph]
    sentences = split_sentences(context)
    kept = [s for s in sentences if not any(s.start < start + len(text) and start < s.end
                                            for text, start in question.answers)]
    if not question.answers or not kept or len(kept) == len(sentences):
        return None
    rest = " ".join(context[s.start:s.end] for s in kept)
    if any(text.lower() in rest.lower() for text, _ in question.answers):
        return None
    return Example(question.question, rest, kind="answer removed")


def names(question: str) -> list[str]:
    """The names and numbers in ``question``, its first word left out (it is capitalised anyway)."""
    return [m.group() for m in _NAME.finditer(question) if m.start() > 0]


def swapped_name(question: Question, pool: list[str], rng: random.Random) -> Example | None:
    """The question with a name of it the paragraph mentions replaced by one of ``pool`` it never does.

    A number is replaced by a number, a name by a name. None when the question has no such name or
    ten draws from the pool found no replacement.
    """
    context = question.article[question.paragraph]
    lowered = context.lower()
    mentioned = [name for name in names(question.question) if name.lower() in lowered]
    if not question.answers or not mentioned or not pool:
        return None
    old = rng.choice(mentioned)
    for _ in range(10):
        new = rng.choice(pool)
        if new[0].isdigit() == old[0].isdigit() and new.lower() not in lowered and new.lower() != old.lower():
            swapped = re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", new, question.question, count=1)
            return Example(swapped, context, kind="swapped name")
    return None
