"""Reader benchmark: our cross-passage reader against the naive per-passage loop, same model, same run.

    python -m benchmarks.reader                          # random 6-layer RoBERTa, SQuAD slice
    python -m benchmarks.reader --collection sample      # the sample articles instead
    python -m benchmarks.reader --model ../shared/models/minilm-squad1   # a real model, end to end

Random weights cannot tell what a model would answer, so the default run measures what they can:
the same questions and the same top-5 passages (``retrieval.search``) are read

* by ours, ``ExtractiveReader.read``: windows around the passages' best-matching sentences, every
  window of every passage in one pass, longest first, in batches kept nearly free of padding,
  spans ranked across passages;
* by the naive loop: one 4.x-pipeline-style call per passage (``span_decoding.answer_question``,
  384-token windows, stride 128, ``handle_impossible_answer``), fp32, best probability wins;

both with the very same randomly initialised model of the default model's architecture
(``deepset/tinyroberta-squad2``: ``RobertaForQuestionAnswering``, 6 layers, hidden 768, 12 heads,
vocabulary 50,265, seed 0), loaded by ``ExtractiveReader`` from a folder, and its tokenizer. Ours and
the naive loop alternate question by question, so a busy machine slows both alike; torch uses
``--threads`` (2) threads. The same is repeated, on fewer questions, with a 12-layer roberta-base
sized model for reference, and ours with dynamic int8 quantisation.

The tokenizer: the hub's RoBERTa BPE files cannot be downloaded here, so a byte-level BPE with
RoBERTa's special tokens and post-processing (``<s> question </s></s> context </s>``, offsets
trimmed) is trained with ``tokenizers`` on the collection's own texts, vocabulary 8,000, which
cuts the SQuAD slice into 1.35 tokens per word (printed; the rule of thumb for the GPT-2 BPE that
RoBERTa uses is 4 tokens for 3 English words), so token counts and timings are close to the real
tokenizer's, not flattered.
Token ids stay far below the model's vocabulary of 50,265.

``window_recall``: on the SQuAD slice (all 1,715 answerable questions, no model needed), the share
of questions a gold answer text of which is inside the text ours feeds the model; the same for the
whole top-5 passages (``chunk_recall``), and both again with the gold answer's own offsets
(``..._span``: the answer where it stands, not the same words elsewhere).

Prints details on stderr and, last, ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.squad import SLICE, Question, build_collection, load_slice, score
from qabot.index.importing import import_path
from qabot.index.store import Store
from qabot.retrieval.loading import calibrate, model_location
from qabot.retrieval.reader import ExtractiveReader
from qabot.retrieval.search import search
from qabot.retrieval.span_decoding import answer_question, encode_windows
from qabot.retrieval.types import Passage

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = ROOT / "examples" / "articles"
K = 5
BPE_VOCABULARY = 8000
SAMPLE_QUESTIONS = [
    "When did Putin last visit Pyongyang?",
    "What did Putin and Kim sign?",
    "How much did the Aldermoor tram line cost?",
    "Who scored the winning goal in the Coastal Cup final?",
    "At what level did the Bank of Norland hold its interest rate?",
    "How many people were forced from their homes by the floods?",
    "When will the Tethys probe reach the asteroid?",
    "How many Roman coins were found near Wexcombe?",
    "How many kettles did Lumora recall?",
    "Why were the kettles recalled?",
]


def roberta_tokenizer(texts: list[str]):
    """A RoBERTa-compatible fast tokenizer: byte-level BPE trained on ``texts`` (see the docstring)."""
    from tokenizers import ByteLevelBPETokenizer, processors
    from transformers import RobertaTokenizer

    bpe = ByteLevelBPETokenizer(add_prefix_space=False, trim_offsets=True)
    bpe.train_from_iterator(
        texts, vocab_size=BPE_VOCABULARY, min_frequency=2, show_progress=False,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    )
    inner = bpe._tokenizer  # noqa: SLF001 - the tokenizers.Tokenizer the wrapper trains
    inner.post_processor = processors.RobertaProcessing(
        ("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False
    )
    return RobertaTokenizer(tokenizer_object=inner, model_max_length=512)


def random_roberta(folder: Path, tokenizer, *, layers: int) -> Path:
    """Save a seeded random ``RobertaForQuestionAnswering`` of tinyroberta's shape (or deeper)."""
    import torch
    from transformers import RobertaConfig, RobertaForQuestionAnswering

    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=50265, hidden_size=768, num_hidden_layers=layers, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1,
        pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
    )
    model = RobertaForQuestionAnswering(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def naive_read(model, tokenizer, question: str, passages: list[Passage]) -> str:
    """The peer: one pipeline call per passage; the best probability (or the null answer) wins."""
    best = {"score": -1.0, "answer": ""}
    for p in passages:
        found = answer_question(
            model, tokenizer, question, p.text, max_seq_len=384, doc_stride=128,
            top_k=1, handle_impossible_answer=True,
        )
        if found and found[0]["score"] > best["score"]:
            best = found[0]
    return best["answer"]


def naive_tokens(tokenizer, question: str, passages: list[Passage]) -> int:
    return int(sum(
        encode_windows(tokenizer, question, p.text, max_seq_len=384, doc_stride=128).lengths().sum()
        for p in passages
    ))


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def race(reader: ExtractiveReader, cases: list[tuple[str, list[Passage]]], *, naive: bool = True) -> dict:
    """Time ours (and the naive loop), alternating question by question, after two warm-up rounds."""
    model, tokenizer = reader._model, reader._tokenizer  # noqa: SLF001 - the very same model
    for question, passages in cases[:2]:
        reader.read(question, passages)
        if naive:
            naive_read(model, tokenizer, question, passages)
    ours_ms, naive_ms, ours_text, naive_text = [], [], [], []
    for i, (question, passages) in enumerate(cases):
        order = ("ours", "naive") if i % 2 == 0 else ("naive", "ours")
        for who in order:
            if who == "naive" and not naive:
                continue
            started = time.perf_counter()
            if who == "ours":
                answers = reader.read(question, passages, top_k=1)
                ours_ms.append((time.perf_counter() - started) * 1000)
                ours_text.append(answers[0].text if answers else "")
            else:
                naive_text.append(naive_read(model, tokenizer, question, passages))
                naive_ms.append((time.perf_counter() - started) * 1000)
    result = {"ours_ms_p50": percentile(ours_ms, 50), "ours_ms_p95": percentile(ours_ms, 95)}
    if naive:
        result |= {"naive_ms_p50": percentile(naive_ms, 50), "naive_ms_p95": percentile(naive_ms, 95)}
        result["speedup"] = round(result["naive_ms_p50"] / result["ours_ms_p50"], 2)
    return result | {"_ours": ours_text, "_naive": naive_text}


def recall(reader: ExtractiveReader, store: Store, questions: list[Question]) -> dict:
    """Whether the gold answer is inside what ours reads, and inside the whole top-5 passages."""
    counts = dict.fromkeys(("window", "window_span", "chunk", "chunk_span"), 0)
    answerable = [q for q in questions if q.answerable]
    for q in answerable:
        passages = search(q.question, store=store, k=K)
        windows = reader.windows(q.question, passages)
        counts["window"] += any(g in w.text for w in windows for g in q.answers)
        counts["chunk"] += any(g in p.text for p in passages for g in q.answers)
        counts["window_span"] += any(
            w.passage.article_id == q.article_id and w.start <= s and e <= w.end
            for w in windows for s, e in q.spans
        )
        counts["chunk_span"] += any(
            p.article_id == q.article_id and p.start <= s and e <= p.end for p in passages for s, e in q.spans
        )
    return {f"{key}_recall": round(value / len(answerable), 4) for key, value in counts.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--collection", choices=("squad", "sample"), default="squad" if SLICE.exists() else "sample",
        help="the SQuAD dev slice's paragraphs (when present), or the sample articles (default: %(default)s)",
    )
    parser.add_argument("--questions", type=int, default=60, help="questions timed (SQuAD: a seeded sample)")
    parser.add_argument("--reference-questions", type=int, default=20, help="questions for roberta-base")
    parser.add_argument("--model", help="a real QA model: builtin, a folder or a hub id, instead of the random RoBERTa")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: %(default)s)")
    parser.add_argument("--no-reference", action="store_true", help="skip the roberta-base reference")
    parser.add_argument("--seed", type=int, default=0, help="seed of the question sample (default: %(default)s)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    store = Store(":memory:")
    questions: list[Question] = []
    if args.collection == "squad":
        data = load_slice()
        questions = build_collection(store, data)
        texts = [p["context"] for article in data for p in article["paragraphs"]]
        rng = np.random.default_rng(args.seed)
        picked = [questions[i] for i in sorted(rng.choice(len(questions), args.questions, replace=False))]
        asked = [q.question for q in picked]
    else:
        import_path(store, SAMPLE_ARTICLES, progress=False)
        texts = [store.get_article(a.id).text for a in store.list_articles()]
        picked, asked = [], SAMPLE_QUESTIONS[: args.questions]
    cases = [(question, search(question, store=store, k=K)) for question in asked]

    work = Path(tempfile.mkdtemp(prefix="qabot-bench-"))
    if args.model:
        folder = str(model_location(args.model))  # "builtin" is the folder inside the package
        name = folder.rstrip("/").split("/")[-1]
    else:
        tokenizer = roberta_tokenizer(texts)
        words = sum(len(t.split()) for t in texts)
        per_word = sum(len(e) for e in tokenizer(texts, verbose=False)["input_ids"]) / words
        print(f"BPE tokenizer: {len(tokenizer)} tokens, {per_word:.2f} tokens per word", file=sys.stderr)
        folder = random_roberta(work / "roberta-6", tokenizer, layers=6)
        name = "random RoBERTa 6 layers (tinyroberta shape)"

    reader = ExtractiveReader(str(folder), threads=args.threads)
    reader.warm_up()
    calibrate(reader)  # a real model answers with its profile's ranking and no-answer rule, as qabot does
    tokens_ours = statistics.mean(reader.score_spans(q, ps).tokens for q, ps in cases)
    tokens_naive = statistics.mean(naive_tokens(reader._tokenizer, q, ps) for q, ps in cases)  # noqa: SLF001
    timed = race(reader, cases)
    result = {
        "model": name,
        "ours_ms_p50": timed["ours_ms_p50"],
        "naive_ms_p50": timed["naive_ms_p50"],
        "speedup": timed["speedup"],
        "tokens_ours": round(tokens_ours, 1),
        "tokens_naive": round(tokens_naive, 1),
        "ours_ms_p95": timed["ours_ms_p95"],
        "naive_ms_p95": timed["naive_ms_p95"],
        "questions": len(cases),
        "collection": args.collection,
        "threads": args.threads,
    }
    print(
        f"ours {timed['ours_ms_p50']} ms p50 / {timed['ours_ms_p95']} p95, {tokens_ours:.0f} tokens; "
        f"naive {timed['naive_ms_p50']} / {timed['naive_ms_p95']}, {tokens_naive:.0f} tokens",
        file=sys.stderr,
    )
    if picked and args.model:
        for who in ("ours", "naive"):
            scores = [score(q, text) for q, text in zip(picked, timed[f"_{who}"])]
            result[f"{who}_em"] = round(100 * statistics.mean(s[0] for s in scores), 1)
            result[f"{who}_f1"] = round(100 * statistics.mean(s[1] for s in scores), 1)
    if args.collection == "squad":
        result |= recall(reader, store, questions)
    int8 = ExtractiveReader(str(folder), quantize="int8", threads=args.threads)
    int8.warm_up()
    result["int8_ms_p50"] = race(int8, cases, naive=False)["ours_ms_p50"]
    del int8
    if not args.model and not args.no_reference:
        base = random_roberta(work / "roberta-12", reader._tokenizer, layers=12)  # noqa: SLF001
        del reader
        reference = ExtractiveReader(str(base), threads=args.threads)
        reference.warm_up()
        timed = race(reference, cases[: args.reference_questions])
        result |= {
            "roberta_base_ours_ms_p50": timed["ours_ms_p50"],
            "roberta_base_naive_ms_p50": timed["naive_ms_p50"],
            "roberta_base_speedup": timed["speedup"],
        }
    order = ["model", "ours_ms_p50", "naive_ms_p50", "speedup", "tokens_ours", "tokens_naive",
             "window_recall", "int8_ms_p50"]
    result = {key: result[key] for key in order if key in result} | {
        key: value for key, value in result.items() if key not in order
    }
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
