"""Extractive reader: an extractive QA model reads the best sentences of the top passages at once.

``ExtractiveReader.read(question, passages)`` turns retrieved passages into cited answers, with a
model ``models.qa_model`` loads on first use (``warm_up``), int8 when asked:

1. **Windows** (``retrieval.windows``). The passages' best sentences, with their neighbours, in
   runs cut at about a SQuAD paragraph's length; overlapping passages are read once. How much
   they hold is the most accurate setting within 150 ms for 5 passages on 2 threads
   (``python -m benchmarks.reading_frontier``: wider windows, whole passages, 3 or 8 passages,
   int8 measured side by side on the shared slice's held-out half and the answer tests).
2. **One pass.** All windows of all passages are encoded as the 4.x QA pipeline does
   (``retrieval.span_decoding.encode_windows``; a window longer than ``max_seq_len`` overflows into
   several), sorted by length and run through the model longest first, in batches of up to
   ``batch_size`` whose padding stays under ``max_padding`` (20%) of their tokens: on a CPU a
   padded token costs as much as a real one, so a batch is only worth what it saves.
3. **Cross-passage ranking** (``retrieval.span_ranking``). Per-window softmax probabilities cannot
   be compared across passages, so spans are ranked by their raw start + end logits fused with the
   retrieval (BM25) score of their passage, as in BERTserini (Yang et al. 2019: ``(1 - mu) * bm25 +
   mu * reader``, here the equivalent ``logits + fusion_weight * bm25``), plus ``kind_weight`` x
   the agreement of the span's kind with the question's (``retrieval.answer_types``) and
   ``sentence_weight`` x how much of the question the span's sentence covers.
4. **No answer.** The best span's confidence must reach ``no_answer_threshold``; when it does
   not, ``read`` returns no answer. The confidence is how far its logits beat the null logit
   (``[CLS]`` start + end, the lowest over all windows, as the pipeline's
   ``handle_impossible_answer`` takes it), plus, when the profile says so, weighted evidence: its
   passage's BM25 score (without the encoder's re-scoring, so the rule is the same with the
   encoder on or off), its lead over the next different answer (a reader torn between two answers
   is more often wrong), its kind's agreement with the question's, and how much of the question
   its sentence covers. Every answer returned clears the same bar, each with its own lead over
   the answers ranked after it.
5. **Answers.** Spans are mapped to character offsets into the article
   (``article.text[answer.start:answer.end] == answer.text``), with the sentence(s) holding them as
   context; equal answers (same text, ignoring case) and overlapping ones in one article are merged,
   keeping the best-scored one. ``Answer.score`` is the fused score.

**Calibration belongs to the model.** The fusion weight and the no-answer rule are read from
the model's profile (``models.profile``: ``qabot tune`` writes it, the builtin reader ships one),
chosen end to end on a SQuAD 2.0 file's first half of articles and reported on the other half.
A model without a profile gets ``fusion_weight`` 1.0 and ``no_answer_threshold`` 0: the span must
beat the null logit, a SQuAD 2.0 model's own decision (the 4.x pipeline's
``handle_impossible_answer``); the log says it is untuned. ``QABOT_NO_ANSWER_THRESHOLD`` overrides.
The windows read better than the whole passages, not only faster: with minilm-squad1 the top
span's answerable F1 on the shared slice's held-out half was 66.2 from the windows and 61.3 from
the whole passages.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import replace

import numpy as np

from qabot.models import model_files
from qabot.models.qa_model import QUANTIZE, load_qa_model
from qabot.retrieval.span_decoding import Windows, encode_windows, window_spans
from qabot.retrieval.span_ranking import (
    Reading,
    Rule,
    Span,
    confidence,
    rank_score,
    ranked_spans,
    same_answer,
    with_evidence,
)
from qabot.retrieval.types import Answer, Passage
from qabot.retrieval.windows import (
    MAX_WINDOW_WORDS,
    MIN_SENTENCE_SHARE,
    WINDOW_WORDS,
    Window,
    choose_windows,
)

log = logging.getLogger(__name__)

#: Weight of the passage's BM25 score added to a span's raw start + end logits, without a profile.
DEFAULT_FUSION_WEIGHT = 1.0
#: How far the best span's logits must beat the null logit, without a profile: SQuAD 2.0's rule.
UNTUNED_NO_ANSWER_THRESHOLD = 0.0
#: Padding a batch may hold, as a share of its real tokens (on a CPU padding costs like real tokens).
MAX_PADDING = 0.2
#: Longer questions are cut to this many tokens (BERT's SQuAD reader's ``max_query_length``).
MAX_QUESTION_TOKENS = 64


class ExtractiveReader:
    """Answers with spans an extractive QA model finds in the top passages (``reader == "span"``).

    :param model: a hub id (``deepset/tinyroberta-squad2``) or a local folder of a
        ``...ForQuestionAnswering`` model with a fast tokenizer.
    :param quantize: ``"int8"`` for dynamic int8 quantisation of the Linear layers, or ``"none"``.
    :param fusion_weight: weight of the passage's BM25 score added to a span's raw logits.
    :param no_answer_threshold: the confidence the best span must reach (see the module docstring).
    :param no_answer_bm25_weight: weight of its passage's BM25 score in that confidence.
    :param no_answer_lead_weight: weight of its lead over the next different answer in it.
    :param kind_weight: weight of a span's kind agreement with the question's in its ranking.
    :param sentence_weight: weight of its sentence's coverage of the question in its ranking.
    :param no_answer_agreement_weight: weight of that agreement in the confidence.
    :param no_answer_coverage_weight: weight of the span's sentence's coverage of the question in it.
    :param window_words: words read per question; None reads the passages whole.
    :param max_window_words: most words in one window (runs of sentences are cut between
        sentences); None leaves runs whole.
    :param min_sentence_share: sentences scoring under this share of the best one are not read.
    :param max_seq_len: most tokens in one model window (question and special tokens included).
    :param doc_stride: tokens shared by consecutive model windows of one long text.
    :param max_answer_len: most tokens in an answer.
    :param spans_per_window: candidate spans kept per model window.
    :param batch_size: most model windows in one forward pass.
    :param max_padding: padding tokens a batch may hold, as a share of its real tokens; a window
        that would bring more starts the next batch (``math.inf``: all windows in one batch).
    :param threads: torch threads; None keeps torch's default, capped at the CPUs this process may use.
    :param hub_timeout: seconds to wait for the hub when the model is not cached.
    :raises ValueError: an unknown ``quantize`` value or a non-positive size.
    """

    name = "span"

    def __init__(
        self,
        model: str,
        *,
        quantize: str = "none",
        fusion_weight: float = DEFAULT_FUSION_WEIGHT,
        no_answer_threshold: float = UNTUNED_NO_ANSWER_THRESHOLD,
        no_answer_bm25_weight: float = 0.0,
        no_answer_lead_weight: float = 0.0,
        kind_weight: float = 0.0,
        sentence_weight: float = 0.0,
        no_answer_agreement_weight: float = 0.0,
        no_answer_coverage_weight: float = 0.0,
        window_words: int | None = WINDOW_WORDS,
        max_window_words: int | None = MAX_WINDOW_WORDS,
        min_sentence_share: float = MIN_SENTENCE_SHARE,
        max_seq_len: int = 384,
        doc_stride: int = 128,
        max_answer_len: int = 15,
        spans_per_window: int = 20,
        batch_size: int = 16,
        max_padding: float = MAX_PADDING,
        threads: int | None = None,
        hub_timeout: float = model_files.PROBE_TIMEOUT,
    ):
        if quantize not in QUANTIZE:
            raise ValueError(f"quantize must be one of {', '.join(QUANTIZE)} (got {quantize!r})")
        sizes = {
            "max_seq_len": max_seq_len,
            "doc_stride": doc_stride,
            "max_answer_len": max_answer_len,
            "spans_per_window": spans_per_window,
            "batch_size": batch_size,
            "window_words": 1 if window_words is None else window_words,
            "max_window_words": 1 if max_window_words is None else max_window_words,
            "threads": 1 if threads is None else threads,
        }
        for key, value in sizes.items():
            if value <= 0:
                raise ValueError(f"{key} must be positive (got {value})")
        if max_padding < 0:
            raise ValueError(f"max_padding must not be negative (got {max_padding})")
        if doc_stride >= max_seq_len - MAX_QUESTION_TOKENS - 4:
            raise ValueError("doc_stride must leave room for the question within max_seq_len")
        self.model = model
        self.quantize = quantize
        self.fusion_weight = fusion_weight
        self.no_answer_threshold = no_answer_threshold
        self.no_answer_bm25_weight = no_answer_bm25_weight
        self.no_answer_lead_weight = no_answer_lead_weight
        self.kind_weight = kind_weight
        self.sentence_weight = sentence_weight
        self.no_answer_agreement_weight = no_answer_agreement_weight
        self.no_answer_coverage_weight = no_answer_coverage_weight
        self.window_words = window_words
        self.max_window_words = max_window_words
        self.min_sentence_share = min_sentence_share
        self.max_seq_len = max_seq_len
        self.doc_stride = doc_stride
        self.max_answer_len = max_answer_len
        self.spans_per_window = spans_per_window
        self.batch_size = batch_size
        self.max_padding = max_padding
        self.threads = threads
        self.hub_timeout = hub_timeout
        self._model = None
        self._tokenizer = None
        #: the folder the weights were loaded from (set by warm_up); profiles are bound to them
        self.weights_folder: str | None = None
        self._lock = threading.Lock()
        self._tokenizer_lock = threading.Lock()  # a fast tokenizer's settings are not thread-safe

    # --- loading ---------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the tokenizer and model once (later calls do nothing); safe from several threads.

        :raises models.model_files.ModelUnavailable: (an OSError) the model is not on disk and
            cannot be downloaded now (``models.qa_model.load_qa_model`` says where it looks).
        :raises ValueError: the model has no trained span head (``NotAQuestionAnsweringModel``), or
            its tokenizer is not a fast, right-padding one.
        """
        with self._lock:
            if self._model is not None:
                return
            started = time.perf_counter()
            model, tokenizer, where, folder = load_qa_model(
                self.model, quantize=self.quantize, threads=self.threads, hub_timeout=self.hub_timeout
            )
            self._tokenizer, self._model, self.weights_folder = tokenizer, model, folder
            log.info(
                "QA model %s loaded from %s in %.1f s%s",
                self.model, where, time.perf_counter() - started,
                " (int8)" if self.quantize == "int8" else "",
            )

    # --- reading ---------------------------------------------------------------------------------

    def read(self, question: str, passages: list[Passage], *, top_k: int = 3) -> list[Answer]:
        """The ``top_k`` best answers found in the passages, best first; empty when none clears
        the no-answer threshold.

        :param question: the user's question.
        :param passages: retrieved passages, best first.
        :param top_k: how many answers at most.
        """
        return self.read_with_unsure(question, passages, top_k=top_k)[0]

    def read_with_unsure(
        self, question: str, passages: list[Passage], *, top_k: int = 3
    ) -> tuple[list[Answer], list[Answer]]:
        """``read``'s answers; and when there are none, the best spans under the no-answer bar, one
        a sentence, ``top_k`` sentences at most (the passages are read once), for a front end to
        show as not certain."""
        reading = self.score_spans(question, passages)
        answers = self.answers(reading, top_k=top_k)
        if answers or not reading.spans:
            return answers, []
        unsure: dict[tuple[int, int], Answer] = {}
        always = replace(self.rule, threshold=-math.inf)
        for span in self.answers(reading, top_k=len(reading.spans), rule=always):
            unsure.setdefault((span.article_id, span.context_start), span)
        return [], list(unsure.values())[:top_k]

    def windows(self, question: str, passages: list[Passage]) -> list[Window]:
        """The stretches of the passages the model reads for ``question`` (``retrieval.windows``)."""
        return choose_windows(
            question, passages, window_words=self.window_words, max_window_words=self.max_window_words,
            min_sentence_share=self.min_sentence_share,
        )

    def score_spans(self, question: str, passages: list[Passage]) -> Reading:
        """Read the question's windows in one batched pass and list every candidate span.

        :param question: the user's question.
        :param passages: retrieved passages, best first.
        """
        windows = self.windows(question, passages) if question.strip() else []
        if not windows:
            return Reading((), (), math.inf, 0)
        self.warm_up()
        with self._tokenizer_lock:
            question = self._clipped(question)
            encoded = [
                encode_windows(
                    self._tokenizer, question, w.text,
                    max_seq_len=self.max_seq_len, doc_stride=self.doc_stride,
                )
                for w in windows
            ]
        starts, ends = self._logits(encoded)
        spans, null = [], math.inf
        for w, (window, enc) in enumerate(zip(windows, encoded, strict=True)):
            for row in range(enc.num_windows):
                found = window_spans(
                    enc, row, starts[w][row], ends[w][row],
                    max_answer_len=self.max_answer_len, limit=self.spans_per_window,
                    normalize=False,
                )
                null = min(null, found.null_score)
                for char_start, char_end, logit in zip(
                    found.char_starts.tolist(), found.char_ends.tolist(), found.scores.tolist(), strict=True
                ):
                    span = _span(window, w, char_start, char_end, logit, found.null_score)
                    if span is not None:
                        spans.append(span)
        tokens = int(sum(enc.lengths().sum() for enc in encoded))
        return Reading(tuple(windows), tuple(with_evidence(question, spans, windows)), null, tokens)

    def _clipped(self, question: str) -> str:
        """The question cut to its first MAX_QUESTION_TOKENS tokens (so context still fits)."""
        offsets = self._tokenizer(
            question, add_special_tokens=False, return_offsets_mapping=True,
            truncation=True, max_length=MAX_QUESTION_TOKENS + 1,
        )["offset_mapping"]
        if len(offsets) <= MAX_QUESTION_TOKENS:
            return question
        return question[: offsets[MAX_QUESTION_TOKENS - 1][1]]

    def _logits(self, encoded: list[Windows]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Start and end logits of every model window, run longest first in padded batches."""
        import torch

        rows = [(w, r) for w, enc in enumerate(encoded) for r in range(enc.num_windows)]
        lengths = {(w, r): int(encoded[w].attention_mask[r].sum()) for w, r in rows}
        rows.sort(key=lambda row: -lengths[row])
        starts = [np.zeros(enc.input_ids.shape, dtype=np.float32) for enc in encoded]
        ends = [np.zeros(enc.input_ids.shape, dtype=np.float32) for enc in encoded]
        pad = self._tokenizer.pad_token_id or 0
        for batch in self._batches(rows, lengths):
            width = lengths[batch[0]]
            inputs = {
                name: np.full((len(batch), width), pad if name == "input_ids" else 0, dtype=np.int64)
                for name in encoded[0].model_inputs()
            }
            for b, (w, r) in enumerate(batch):
                for name, array in encoded[w].model_inputs().items():
                    inputs[name][b, : lengths[(w, r)]] = array[r, : lengths[(w, r)]]
            with torch.inference_mode():
                output = self._model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
            start = output.start_logits.float().numpy()
            end = output.end_logits.float().numpy()
            for b, (w, r) in enumerate(batch):
                length = lengths[(w, r)]
                starts[w][r, :length] = start[b, :length]
                ends[w][r, :length] = end[b, :length]
        return starts, ends

    def _batches(self, rows: list, lengths: dict) -> list[list]:
        """Rows (longest first) grouped into batches whose padding stays within ``max_padding``.

        On a CPU a batch costs what its padded tokens cost, so a short window joins a batch of
        longer ones only when the padding it brings is small.
        """
        batches: list[list] = []
        real = 0
        for row in rows:
            if batches and len(batches[-1]) < self.batch_size:
                width = lengths[batches[-1][0]]
                if (len(batches[-1]) + 1) * width <= (real + lengths[row]) * (1 + self.max_padding):
                    batches[-1].append(row)
                    real += lengths[row]
                    continue
            batches.append([row])
            real = lengths[row]
        return batches

    @property
    def rule(self) -> Rule:
        """The reader's ranking and no-answer rule (``retrieval.span_ranking``), from its settings."""
        return Rule(
            fusion_weight=self.fusion_weight,
            kind_weight=self.kind_weight,
            sentence_weight=self.sentence_weight,
            threshold=self.no_answer_threshold,
            bm25_weight=self.no_answer_bm25_weight,
            lead_weight=self.no_answer_lead_weight,
            agreement_weight=self.no_answer_agreement_weight,
            coverage_weight=self.no_answer_coverage_weight,
        )

    def answers(self, reading: Reading, *, top_k: int = 3, rule: Rule | None = None) -> list[Answer]:
        """Rank a reading's spans, drop those under the no-answer bar, merge, cite.

        :param reading: from :meth:`score_spans`.
        :param top_k: how many answers at most.
        :param rule: instead of the reader's own ``rule`` for this call.
        """
        rule = rule or self.rule
        ranked = ranked_spans(reading, rule)
        kept: list[Span] = []
        for i, span in enumerate(ranked):
            if any(same_answer(span, other, reading.windows) for other in kept):
                continue
            if confidence(reading, ranked, i, rule=rule) < rule.threshold:
                if not kept:
                    return []  # the best span does not beat the null answer: no answer
                continue
            kept.append(span)
            if len(kept) == top_k:
                break
        return [_answer(span, reading.windows[span.window], rank_score(span, rule)) for span in kept]


# --- helpers ---------------------------------------------------------------------------------------


def _span(
    window: Window, index: int, char_start: int, char_end: int, logit: float, null: float
) -> Span | None:
    """A decoded span in article coordinates, white space trimmed; None if nothing is left."""
    text = window.text[char_start:char_end]
    stripped = text.strip()
    if not stripped:
        return None
    char_start += len(text) - len(text.lstrip())
    return Span(
        window=index,
        start=window.start + char_start,
        end=window.start + char_start + len(stripped),
        text=stripped,
        logit=float(logit),
        null=float(null),
        bm25=window.bm25,
    )


def _answer(span: Span, window: Window, score: float) -> Answer:
    """The span as a cited answer, with the window's sentences that hold it as context."""
    holding = [(s, e) for s, e in window.sentences if s < span.end and span.start < e]
    start = holding[0][0] if holding else span.start
    end = holding[-1][1] if holding else span.end
    return Answer.cited(
        window.passage,
        text=span.text,
        score=score,
        start=span.start,
        end=span.end,
        context=window.text[start - window.start : end - window.start],
        context_start=start,
    )

