"""SQuAD as an open-domain benchmark: every paragraph of a SQuAD v1.1/v2.0 file becomes the collection.

SQuAD-open style: each question is asked of the whole collection, not of its own paragraph, through
the same ``search()`` and ``answer()`` the bot uses. Each paragraph is stored as one article (titled
after its Wikipedia article), so a retrieved chunk either comes from the question's gold paragraph or
not. What is measured (``evaluate_squad``):

* retrieval recall@1/5/10/20 of answerable questions, by two definitions: *answer*, a retrieved chunk
  contains a gold answer text; and *paragraph*, a retrieved chunk comes from the gold paragraph
  (the paragraph's text is inside the chunk, or the chunk inside the paragraph when it took several);
* end-to-end exact match and F1 (official SQuAD normalisation) of the top answer on answerable
  questions, and how often its sentence contains a gold answer;
* no-answer accuracy on unanswerable questions (SQuAD 2.0): how often the bot says the articles do
  not answer;
* time per question (``answer()``, search and reading), p50 and p95, and the reader used.
"""

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

from qabot.evaluation.metrics import exact_match, f1, percentile
from qabot.index.store import DuplicateArticle, Store
from qabot.retrieval.answer import answer
from qabot.retrieval.loading import reader_model
from qabot.retrieval.search import search

#: Recall is reported at these depths.
RECALL_AT = (1, 5, 10, 20)


class MalformedSquad(ValueError):
    """The file is not SQuAD v1.1/v2.0 JSON; the message says where it goes wrong."""


@dataclass(frozen=True)
class SquadParagraph:
    """One paragraph of a SQuAD article."""

    title: str
    context: str


@dataclass(frozen=True)
class SquadQuestion:
    """A question and its accepted answers (none for SQuAD 2.0's unanswerable questions)."""

    id: str
    question: str
    answers: tuple[str, ...]
    paragraph: int  # index into ``SquadSet.paragraphs``


@dataclass(frozen=True)
class SquadSet:
    """A SQuAD file: its paragraphs and questions, in file order."""

    version: str
    paragraphs: tuple[SquadParagraph, ...]
    questions: tuple[SquadQuestion, ...]


def load_squad(path: str | Path) -> SquadSet:
    """Read a SQuAD v1.1 or v2.0 JSON file.

    :param path: the file, e.g. ``dev-v2.0.json``.
    :raises MalformedSquad: not JSON, or not SQuAD's shape (the message names the item at fault).
    :raises OSError: the file cannot be read.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MalformedSquad(f"{path}: not valid JSON (line {error.lineno}: {error.msg})") from None
    except UnicodeDecodeError:
        raise MalformedSquad(f"{path}: not UTF-8 text") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise MalformedSquad(f'{path}: expected an object with a "data" list of articles')
    paragraphs, questions = [], []
    for a, article in enumerate(data["data"]):
        where = f"{path}: data[{a}]"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise MalformedSquad(f'{where}: expected an object with a "paragraphs" list')
        title = str(article.get("title") or f"article {a}").replace("_", " ")
        for p, paragraph in enumerate(article["paragraphs"]):
            here = f"{where}.paragraphs[{p}]"
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str):
                raise MalformedSquad(f'{here}: expected an object with a "context" text')
            if not isinstance(paragraph.get("qas", []), list):
                raise MalformedSquad(f'{here}: "qas" is not a list')
            for q, qa in enumerate(paragraph.get("qas", [])):
                questions.append(_question(qa, len(paragraphs), f"{here}.qas[{q}]"))
            paragraphs.append(SquadParagraph(title, paragraph["context"]))
    if not paragraphs:
        raise MalformedSquad(f"{path}: no paragraphs")
    return SquadSet(str(data.get("version", "")), tuple(paragraphs), tuple(questions))


def _question(qa, paragraph: int, where: str) -> SquadQuestion:
    if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
        raise MalformedSquad(f'{where}: expected an object with a "question" text')
    answers = qa.get("answers", [])
    if not isinstance(answers, list) or not all(
        isinstance(a, dict) and isinstance(a.get("text"), str) for a in answers
    ):
        raise MalformedSquad(f'{where}: "answers" must be a list of objects with a "text"')
    texts = tuple(dict.fromkeys(a["text"] for a in answers if a["text"].strip()))
    if qa.get("is_impossible"):
        texts = ()
    elif not texts:
        raise MalformedSquad(f"{where}: no answers, and not marked is_impossible")
    return SquadQuestion(str(qa.get("id", where)), qa["question"], texts, paragraph)


def sample(questions, *, limit: int | None = None, seed: int = 0) -> list[SquadQuestion]:
    """``limit`` questions drawn at random (seeded), kept in file order; all of them when None."""
    questions = list(questions)
    if limit is None or limit >= len(questions):
        return questions
    picked = set(random.Random(seed).sample(range(len(questions)), limit))
    return [q for i, q in enumerate(questions) if i in picked]


def load_collection(squad: SquadSet, store: Store) -> list[int]:
    """Store each paragraph as an article; the article id of each paragraph, in order.

    A paragraph whose text is already stored (SQuAD repeats a few) maps to the stored article.
    """
    ids, counts = [], {}
    for paragraph in squad.paragraphs:
        counts[paragraph.title] = counts.get(paragraph.title, 0) + 1
        try:
            article = store.add_article(
                title=f"{paragraph.title}, paragraph {counts[paragraph.title]}",
                text=paragraph.context,
                added_by="squad",
            )
            ids.append(article.id)
        except DuplicateArticle as duplicate:
            ids.append(duplicate.existing_id)
    return ids


def evaluate_squad(
    squad: SquadSet,
    *,
    store: Store,
    reader,
    article_ids: list[int],
    questions: list[SquadQuestion] | None = None,
    encoder=None,
    progress=None,
) -> dict:
    """Ask every question of the collection; retrieval recall, EM/F1, no-answer accuracy and time.

    :param squad: the SQuAD set whose paragraphs ``store`` holds (``load_collection``).
    :param store: the collection.
    :param reader: the reader ``answer()`` uses.
    :param article_ids: the article id of each paragraph, from ``load_collection``.
    :param questions: the questions to ask (default: all of them; see ``sample``).
    :param encoder: the sentence encoder for hybrid retrieval, or None for BM25 alone.
    :param progress: wraps the question list (e.g. ``tqdm``), or None.
    :returns: a JSON-ready report (see the module docstring); rates are fractions from 0 to 1.
    """
    questions = list(squad.questions if questions is None else questions)
    depth = max(RECALL_AT)
    hits = {"answer": {k: 0 for k in RECALL_AT}, "paragraph": {k: 0 for k in RECALL_AT}}
    em = f1_total = answered = sentence_hits = no_answer_right = 0.0
    seconds = []
    for q in progress(questions) if progress else questions:
        if q.answers:
            found = search(q.question, store=store, k=depth, encoder=encoder)
            firsts = {
                "answer": _first([any(a in p.text for a in q.answers) for p in found]),
                "paragraph": _first([p.article_id == article_ids[q.paragraph] for p in found]),
            }
            for name, first in firsts.items():
                for k in RECALL_AT:
                    hits[name][k] += first is not None and first < k
        started = time.perf_counter()
        result = answer(q.question, store=store, reader=reader, top_k=1, encoder=encoder)
        seconds.append(time.perf_counter() - started)
        if not q.answers:
            no_answer_right += result.no_answer
            continue
        top = result.answers[0] if result.answers else None
        predicted = top.text if top else ""
        em += exact_match(predicted, q.answers)
        f1_total += f1(predicted, q.answers)
        answered += top is not None
        sentence_hits += top is not None and any(a in top.context for a in q.answers)
    n_answerable = sum(1 for q in questions if q.answers)
    n_unanswerable = len(questions) - n_answerable

    def rate(count: float, total: int) -> float | None:
        return round(count / total, 4) if total else None

    return {
        "version": squad.version,
        "paragraphs": len(squad.paragraphs),
        "questions": len(questions),
        "answerable": n_answerable,
        "unanswerable": n_unanswerable,
        "reader": reader.name,
        "model": reader_model(reader),
        "encoder": encoder is not None,
        "recall": {
            name: {f"@{k}": rate(counts[k], n_answerable) for k in RECALL_AT}
            for name, counts in hits.items()
        },
        "exact_match": rate(em, n_answerable),
        "f1": rate(f1_total, n_answerable),
        "answered": rate(answered, n_answerable),
        "sentence_accuracy": rate(sentence_hits, n_answerable),
        "no_answer_accuracy": rate(no_answer_right, n_unanswerable),
        "time_p50_s": _rounded(percentile(seconds, 50)),
        "time_p95_s": _rounded(percentile(seconds, 95)),
    }


def _first(hits: list[bool]) -> int | None:
    """The rank of the first hit, or None."""
    return hits.index(True) if True in hits else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
