"""SQuAD benchmark: our search and readers against the rank-bm25 paragraph baseline, side by side.

    python -m benchmarks.squad                                    # ../shared/eval/squad2-dev-10.json
    python -m benchmarks.squad --encoder off                      # BM25 alone, no MiniLM anywhere
    python -m benchmarks.squad --model ../shared/models/minilm-squad1

SQuAD-open style, on the answerable questions: every paragraph is an article of one collection and
each question is asked of all of them (``evaluation.squad``).

* Ours: ``search()`` over 150-word chunks (hybrid with the all-MiniLM-L6-v2 encoder unless
  ``--encoder off``), and the offline sentence reader's best sentence of the top 5 passages.
* Baseline: rank-bm25's ``BM25Okapi`` over whole paragraphs, with the same analyser (Snowball
  stemming; question stopwords dropped); its "reader" is plain BM25 over the sentences of its top-5
  paragraphs, best sentence first.

Recall@k: one of the first k passages contains a gold answer. Sentence accuracy: the best sentence
contains one; like the baseline's, ours is the best sentence whether or not the reader's no-answer
rule would withhold it (how often it does, and the accuracy of what ``answer()`` actually answers,
are printed beside). With ``--model PATH`` the span reader is measured too: its best span reading
each question's gold paragraph (``rc_em``, ``rc_f1``, reading comprehension) and end to end over the
collection (``span_em``, ``span_f1``: search, windows, fusion and de-duplication as ``answer()``
does them), with the no-answer rule off on both sides, so that their ratio shows what retrieval,
windowing and fusion lose; EM with the rule on is printed beside. EM and F1 use SQuAD's
normalisation. Prints ``RESULT {json}`` last.
"""

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qabot.evaluation.metrics import exact_match, f1
from qabot.evaluation.squad import evaluate_squad, load_collection, load_squad, sample
from qabot.index.analysis import question_terms, terms
from qabot.index.chunking import split_sentences
from qabot.index.store import DuplicateArticle, Store
from qabot.retrieval.embeddings import embed_missing
from qabot.retrieval.loading import load_encoder, load_reader, sentence_reader
from qabot.retrieval.search import DEFAULT_K, search
from qabot.retrieval.sentence_reader import SentenceReader
from qabot.retrieval.types import Passage

#: Material shared beside the checkout: the SQuAD slice and a small real QA model.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SLICE = SHARED / "eval" / "squad2-dev-10.json"


# --- the slice as benchmarks/reader.py and benchmarks/tune_reader.py read it ---------------------


@dataclass(frozen=True)
class Question:
    """A SQuAD question with where its answers stand in the collection ``build_collection`` made.

    :param answers: the gold answer texts (none when unanswerable).
    :param spans: ``(start, end)`` of each gold answer in its article's text.
    :param article_id: the article holding the question's paragraph.
    :param squad_article: the index of the SQuAD (Wikipedia) article the question belongs to.
    """

    id: str
    question: str
    answers: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    article_id: int
    squad_article: int

    @property
    def answerable(self) -> bool:
        """Whether the question has gold answers (SQuAD 2.0 has unanswerable ones)."""
        return bool(self.answers)


def load_slice(path: Path = SLICE) -> list[dict]:
    """The ``data`` list (articles with their paragraphs) of a SQuAD JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["data"]


def build_collection(store: Store, data: list[dict]) -> list[Question]:
    """Store every paragraph as an article (as ``evaluation.squad.load_collection`` does); all questions."""
    questions = []
    for index, article in enumerate(data):
        title = article["title"].replace("_", " ")
        for number, paragraph in enumerate(article["paragraphs"], 1):
            try:
                article_id = store.add_article(
                    title=f"{title}, paragraph {number}", text=paragraph["context"], added_by="squad"
                ).id
            except DuplicateArticle as duplicate:
                article_id = duplicate.existing_id
            for qa in paragraph["qas"]:
                golds = [] if qa.get("is_impossible") else [a for a in qa["answers"] if a["text"].strip()]
                questions.append(
                    Question(
                        id=qa["id"],
                        question=qa["question"],
                        answers=tuple(dict.fromkeys(a["text"] for a in golds)),
                        spans=tuple((a["answer_start"], a["answer_start"] + len(a["text"])) for a in golds),
                        article_id=article_id,
                        squad_article=index,
                    )
                )
    return questions


def score(question: Question, text: str) -> tuple[float, float]:
    """(EM, F1) of an answer ("" for none) against the question's gold answers, from 0 to 1."""
    return exact_match(text, question.answers), f1(text, question.answers)


# --- the benchmark -------------------------------------------------------------------------------


def baseline(squad, questions) -> dict:
    """rank-bm25 over whole paragraphs: recall@1/5, and BM25's best sentence of the top 5."""
    from rank_bm25 import BM25Okapi

    contexts = [p.context for p in squad.paragraphs]
    bm25 = BM25Okapi([terms(c) for c in contexts])
    at1 = at5 = sentence = 0
    for q in tqdm(questions, desc="baseline", unit="question", file=sys.stderr, disable=None):
        asked = question_terms(q.question)
        scores = bm25.get_scores(asked)
        top = np.argsort(-scores, kind="stable")[:5]
        holds = [any(a in contexts[i] for a in q.answers) for i in top]
        at1 += holds[0]
        at5 += any(holds)
        sentences = [contexts[i][s.start : s.end] for i in top for s in split_sentences(contexts[i])]
        best = int(np.argmax(BM25Okapi([terms(s) for s in sentences]).get_scores(asked)))
        sentence += any(a in sentences[best] for a in q.answers)
    n = len(questions)
    return {
        "recall_at_1": round(at1 / n, 4),
        "recall_at_5": round(at5 / n, 4),
        "sentence_accuracy": round(sentence / n, 4),
    }


def span_reading(squad, questions, *, store, reader, article_ids, encoder) -> dict:
    """The span reader on each gold paragraph (rc) and over the whole collection (span): EM and F1.

    Each question is read once per setting (``score_spans``); its best fused span is scored as is
    (``rc_*``, ``span_*``: what the model can read, no-answer rule off), and as ``answers()`` with the
    reader's no-answer threshold would answer (``*_answered``: a withheld answer scores 0).
    """
    totals = dict.fromkeys(
        ("rc_em", "rc_f1", "span_em", "span_f1", "rc_em_answered", "span_em_answered"), 0.0
    )
    for q in tqdm(questions, desc="span reader", unit="question", file=sys.stderr, disable=None):
        paragraph = squad.paragraphs[q.paragraph]
        gold = Passage(
            chunk_id=0,
            article_id=article_ids[q.paragraph],
            title=paragraph.title,
            url=None,
            published=None,
            start=0,
            end=len(paragraph.context),
            text=paragraph.context,
            score=1.0,
        )
        found = search(q.question, store=store, k=DEFAULT_K, encoder=encoder)  # as answer() does
        for name, passages in (("rc", [gold]), ("span", found)):
            reading = reader.score_spans(q.question, passages) if passages else None
            best = reader.answers(reading, top_k=1, rule=replace(reader.rule, threshold=-math.inf)) if reading else []
            answered = reader.answers(reading, top_k=1) if reading else []
            predicted = best[0].text if best else ""
            totals[f"{name}_em"] += exact_match(predicted, q.answers)
            totals[f"{name}_f1"] += f1(predicted, q.answers)
            totals[f"{name}_em_answered"] += exact_match(answered[0].text if answered else "", q.answers)
    return {key: round(value / len(questions), 4) for key, value in totals.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=SLICE, help="A SQuAD v1.1/v2.0 JSON file.")
    parser.add_argument("--model", help="An extractive QA model (folder or hub id) to measure as well.")
    parser.add_argument("--encoder", choices=("auto", "off"), default="auto",
                        help="auto: hybrid search and the sentence reader use all-MiniLM-L6-v2 if installed.")
    parser.add_argument("--limit", type=int, help="Ask this many answerable questions, drawn at random.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the --limit draw (default: %(default)s).")
    args = parser.parse_args(argv)

    squad = load_squad(args.file)
    questions = sample([q for q in squad.questions if q.answers], limit=args.limit, seed=args.seed)
    encoder = load_encoder(args.encoder == "auto")
    store = Store(":memory:")
    article_ids = load_collection(squad, store)
    if encoder is not None:
        started = time.perf_counter()
        embed_missing(store, encoder)
        print(f"embedded {store.counts()['chunks']} chunks in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)

    theirs = baseline(squad, questions)
    reader = sentence_reader(use_encoder=encoder is not None)
    ours = evaluate_squad(
        squad, store=store, reader=reader, article_ids=article_ids, questions=questions,
        encoder=encoder,
        progress=lambda items: tqdm(items, desc="ours", unit="question", file=sys.stderr, disable=None),
    )
    best_sentence = SentenceReader(encoder=reader.encoder, min_coverage=0.0)  # never withholds
    found = 0
    for q in questions:
        read = best_sentence.read(q.question, search(q.question, store=store, encoder=encoder), top_k=1)
        found += bool(read) and any(a in read[0].context for a in q.answers)
    result = {
        "recall_at_1": ours["recall"]["answer"]["@1"],
        "recall_at_5": ours["recall"]["answer"]["@5"],
        "baseline_recall_at_1": theirs["recall_at_1"],
        "baseline_recall_at_5": theirs["recall_at_5"],
        "sentence_accuracy": round(found / len(questions), 4),
        "baseline_sentence_accuracy": theirs["sentence_accuracy"],
        "questions": len(questions),
    }
    search_kind = "hybrid (BM25 + all-MiniLM-L6-v2)" if encoder is not None else "BM25"
    print(f"SQuAD {squad.version}: {len(questions)} answerable questions over {len(squad.paragraphs)} "
          f"paragraphs ({store.counts()['chunks']} chunks)")
    print(f"{'':28}{'ours: ' + search_kind:>36}  {'rank-bm25 paragraphs':>22}")
    for label, key in (("recall@1", "recall_at_1"), ("recall@5", "recall_at_5"),
                       ("best sentence holds answer", "sentence_accuracy")):
        print(f"{label:28}{result[key]:>36.4f}  {result['baseline_' + key]:>22.4f}")
    print(f"ours: recall@10 {ours['recall']['answer']['@10']}, @20 {ours['recall']['answer']['@20']}; "
          f"gold paragraph @1 {ours['recall']['paragraph']['@1']}, @5 {ours['recall']['paragraph']['@5']}")
    print(f"ours, as answer() answers: {ours['answered']} answered (the no-answer rule withholds the "
          f"rest), top sentence holds a gold answer {ours['sentence_accuracy']}; "
          f"time p50 {ours['time_p50_s']} s, p95 {ours['time_p95_s']} s")

    if args.model:
        span = load_reader(args.model)
        if span.name != "span":
            sys.exit(f"the model {args.model} could not be loaded (see the log above)")
        started = time.perf_counter()
        read = span_reading(
            squad, questions, store=store, reader=span, article_ids=article_ids, encoder=encoder
        )
        seconds = (time.perf_counter() - started) / max(len(questions), 1)
        result |= {key: read[key] for key in ("rc_em", "rc_f1", "span_em", "span_f1")}
        print(f"span reader {args.model}, best span: gold paragraph EM {read['rc_em']}, F1 {read['rc_f1']}; "
              f"end to end EM {read['span_em']}, F1 {read['span_f1']} "
              f"({read['span_em'] / read['rc_em'] if read['rc_em'] else 0:.2f} of rc EM); "
              f"{seconds:.2f} s per question for both")
        print(f"  as answered, with its no-answer threshold {span.no_answer_threshold}: gold paragraph EM "
              f"{read['rc_em_answered']}, end to end EM {read['span_em_answered']}")
    store.close()
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
