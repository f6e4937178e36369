"""Span decoding: the reader's step from start/end logits to character spans (retrieval/ layer).

An extractive reader scores every token of a (question, context) pair as the start and as the end of
the answer; this module turns those logits into answers, i.e. character spans of the context.  It
reproduces the algorithm of the transformers 4.x ``question-answering`` pipeline (gone in
transformers 5), so that a model answers here exactly as it did there:

* the pair is encoded question first, truncating only the context, into overflowing windows of at
  most ``max_seq_len`` tokens that overlap by ``doc_stride`` tokens (:func:`encode_windows`);
* in each window only context tokens may start or end an answer, plus the leading ``[CLS]`` token,
  which stands for "no answer";
* each window's start and end logits go through a softmax of their own, restricted to those tokens;
  a span ``(s, e)`` scores ``p_start[s] * p_end[e]``, with ``0 <= e - s < max_answer_len``, and the
  null answer scores ``p_start[0] * p_end[0]`` (:func:`window_spans`);
* the best spans are mapped back to characters, widened to whole words by default, and spans whose
  texts are equal (ignoring case) are merged, adding up their scores, also across windows; with
  ``handle_impossible_answer`` the null answer competes with the lowest null score over the windows
  (:func:`decode_spans`).

The one deliberate difference: when a window holds fewer valid spans than the pipeline looks at
(``2 * top_k + 10``), the 4.x pipeline fills its list with zero-score pseudo-spans (spans starting
at ``[CLS]`` or ending before they start), which can then appear as answers of score 0; here only
valid spans are ever returned.

:func:`window_spans` with ``normalize=False`` gives one window's candidates ranked by the raw sum of
start and end logits, and the raw null logit: what a reader comparing spans across passages needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: The logit given to tokens that cannot be part of an answer before the per-window softmax.
MASKED_LOGIT = -10000.0
#: The null score before any window is seen (the pipeline's "large and positive" start value).
_NO_NULL_SCORE = 1000000.0


@dataclass(frozen=True, eq=False)
class Windows:
    """A (question, context) pair encoded as overflowing windows, right-padded to one length.

    Arrays are indexed ``[window, token]``; padding tokens have attention 0 and ``p_mask`` True.

    :param input_ids: token ids, int64, shape ``(n, L)``.
    :param attention_mask: 1 for real tokens, 0 for padding, int64, shape ``(n, L)``.
    :param token_type_ids: segment ids, int64, shape ``(n, L)``; None if the model takes none.
    :param offsets: ``(start, end)`` characters of each token in its own text (question or context),
        ``(0, 0)`` for special and padding tokens, int64, shape ``(n, L, 2)``.
    :param p_mask: True for tokens that cannot be part of an answer: question, special and padding
        tokens, except ``[CLS]``, which is kept for the null answer; bool, shape ``(n, L)``.
    :param word_spans: for each context token, the ``(start, end)`` characters of its word as far
        as the window holds it (a word cut by the window edge is cut too); ``(-1, -1)`` for tokens
        outside the context or without a word; int64, shape ``(n, L, 2)``.
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray | None
    offsets: np.ndarray
    p_mask: np.ndarray
    word_spans: np.ndarray

    @property
    def num_windows(self) -> int:
        """How many windows the context was cut into."""
        return int(self.input_ids.shape[0])

    def lengths(self) -> np.ndarray:
        """The number of real (non-padding) tokens of each window, shape ``(n,)``."""
        return self.attention_mask.sum(axis=1)

    def model_inputs(self) -> dict[str, np.ndarray]:
        """The arrays to feed the model, by keyword: input ids, attention mask (and token types)."""
        inputs = {"input_ids": self.input_ids, "attention_mask": self.attention_mask}
        if self.token_type_ids is not None:
            inputs["token_type_ids"] = self.token_type_ids
        return inputs


@dataclass(frozen=True, eq=False)
class WindowSpans:
    """The candidate answer spans of one window, best first.

    :param token_starts: first token of each span, int64, shape ``(k,)``.
    :param token_ends: last token of each span (inclusive), int64, shape ``(k,)``.
    :param char_starts: first character of each span in the context, int64, shape ``(k,)``.
    :param char_ends: character after the span's last one in the context, int64, shape ``(k,)``.
    :param scores: probability products (``normalize=True``) or raw start + end logit sums,
        float32, shape ``(k,)``, non-increasing.
    :param null_score: the same score for the null answer (the ``[CLS]`` token as start and end).
    """

    token_starts: np.ndarray
    token_ends: np.ndarray
    char_starts: np.ndarray
    char_ends: np.ndarray
    scores: np.ndarray
    null_score: float

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def encode_windows(
    tokenizer: Any,
    question: str,
    context: str,
    *,
    max_seq_len: int | None = None,
    doc_stride: int | None = None,
) -> Windows:
    """Encode a (question, context) pair into overflowing windows, as the 4.x QA pipeline does.

    :param tokenizer: a fast (``tokenizers``-backed) Hugging Face tokenizer padding on the right.
    :param question: the question, non-empty.
    :param context: the text to find the answer in, non-empty.
    :param max_seq_len: most tokens in a window, special tokens included; default
        ``min(tokenizer.model_max_length, 384)``.
    :param doc_stride: tokens of context shared by consecutive windows; default
        ``min(max_seq_len // 2, 128)``.
    :raises ValueError: empty question or context, a slow or left-padding tokenizer, or
        ``doc_stride > max_seq_len``.
    """
    if not question or not context:
        raise ValueError("question and context must be non-empty")
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("span decoding needs a fast tokenizer (offsets and word ids)")
    if tokenizer.padding_side != "right":
        raise ValueError("span decoding supports question-first (right-padding) tokenizers only")
    if max_seq_len is None:
        max_seq_len = min(tokenizer.model_max_length, 384)
    if doc_stride is None:
        doc_stride = min(max_seq_len // 2, 128)
    if doc_stride > max_seq_len:
        raise ValueError(f"doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len})")

    encoded = tokenizer(
        text=question,
        text_pair=context,
        truncation="only_second",
        max_length=max_seq_len,
        stride=doc_stride,
        return_token_type_ids=True,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    encodings = encoded.encodings
    n = len(encodings)
    width = max(len(enc.ids) for enc in encodings)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    input_ids = np.full((n, width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((n, width), dtype=np.int64)
    token_type_ids = np.zeros((n, width), dtype=np.int64)
    offsets = np.zeros((n, width, 2), dtype=np.int64)
    p_mask = np.ones((n, width), dtype=bool)
    word_spans = np.full((n, width, 2), -1, dtype=np.int64)

    for i, enc in enumerate(encodings):
        length = len(enc.ids)
        input_ids[i, :length] = enc.ids
        attention_mask[i, :length] = enc.attention_mask
        token_type_ids[i, :length] = enc.type_ids
        if length:
            offsets[i, :length] = enc.offsets
        in_context = np.array([seq == 1 for seq in enc.sequence_ids], dtype=bool)
        p_mask[i, :length] = ~in_context
        word_spans[i] = _word_spans(enc.word_ids, offsets[i], in_context, width)

    # The pipeline keeps every [CLS] token unmasked: it stands for "no answer".
    if tokenizer.cls_token_id is not None:
        p_mask[input_ids == tokenizer.cls_token_id] = False
    p_mask[attention_mask == 0] = True

    return Windows(
        input_ids=input_ids,
        attention_mask=attention_mask,
        token_type_ids=token_type_ids if "token_type_ids" in tokenizer.model_input_names else None,
        offsets=offsets,
        p_mask=p_mask,
        word_spans=word_spans,
    )


def _word_spans(
    word_ids: list[int | None], offsets: np.ndarray, in_context: np.ndarray, width: int
) -> np.ndarray:
    """Character span of the word of each context token, limited to the window's tokens.

    A word runs from the start of its first token in the window to the end of its last one (what
    ``tokenizers.Encoding.word_to_chars`` answers for the context sequence).

    :param word_ids: the word index of each token of the window (None for special tokens).
    :param offsets: the window's token offsets, shape ``(width, 2)``.
    :param in_context: True for the window's context tokens, shape ``(length,)``.
    :param width: padded window length.
    """
    spans = np.full((width, 2), -1, dtype=np.int64)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for token, word in enumerate(word_ids):
        if word is None or not in_context[token]:
            continue
        first.setdefault(word, token)
        last[word] = token
    for token, word in enumerate(word_ids):
        if word is None or not in_context[token]:
            continue
        spans[token] = (offsets[first[word], 0], offsets[last[word], 1])
    return spans


def window_spans(
    windows: Windows,
    index: int,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    *,
    max_answer_len: int = 15,
    limit: int | None = None,
    normalize: bool = True,
    align_to_words: bool = True,
) -> WindowSpans:
    """The valid answer spans of one window, best first, in token and character coordinates.

    A valid span starts and ends on tokens that may be part of an answer (not ``p_mask``, not
    padding, not the leading ``[CLS]``) and holds fewer than ``max_answer_len`` tokens.  Equal
    scores keep the order of their start, then end token.

    :param windows: the encoded pair.
    :param index: which window.
    :param start_logits: the window's start logits, shape ``(L,)`` (padding positions ignored).
    :param end_logits: the window's end logits, shape ``(L,)``.
    :param max_answer_len: most tokens in a span, at least 1.
    :param limit: keep only the best ``limit`` spans; None keeps all.
    :param normalize: score spans as the pipeline does, by the product of the start and end
        probabilities of a softmax over the window's context tokens and ``[CLS]``; if False, by the
        raw sum of start and end logits (comparable across windows and passages).
    :param align_to_words: widen spans to whole words (as far as the window holds them); else keep
        token offsets.
    :raises ValueError: ``max_answer_len`` below 1.
    """
    if max_answer_len < 1:
        raise ValueError(f"max_answer_len must be >= 1 (got {max_answer_len})")
    length = int(windows.attention_mask[index].sum())
    start = np.asarray(start_logits, dtype=np.float32)[:length]
    end = np.asarray(end_logits, dtype=np.float32)[:length]
    allowed = ~windows.p_mask[index, :length]
    if normalize:
        start = _masked_softmax(start, allowed)
        end = _masked_softmax(end, allowed)
        null_score = float(start[0] * end[0])
    else:
        null_score = float(start[0] + end[0])

    candidate = allowed.copy()
    candidate[0] = False  # the first token is the null answer, never part of a span
    starts = np.arange(length)[:, None]
    ends = starts + np.arange(max_answer_len)[None, :]
    valid = (ends < length) & candidate[:, None]
    valid[valid] = candidate[ends[valid]]
    # row-major order: by start, then end
    starts, ends = np.broadcast_to(starts, ends.shape)[valid], ends[valid]

    scores = start[starts] * end[ends] if normalize else start[starts] + end[ends]
    order = np.argsort(-scores, kind="stable")
    if limit is not None:
        order = order[:limit]
    starts, ends, scores = starts[order], ends[order], scores[order]

    offsets = windows.offsets[index]
    char_starts, char_ends = offsets[starts, 0], offsets[ends, 1]
    if align_to_words:
        word_starts = windows.word_spans[index, starts, 0]
        word_ends = windows.word_spans[index, ends, 1]
        # Like the pipeline: if either end has no word, both keep their token offsets.
        has_words = (word_starts >= 0) & (word_ends >= 0)
        char_starts = np.where(has_words, word_starts, char_starts)
        char_ends = np.where(has_words, word_ends, char_ends)

    return WindowSpans(
        token_starts=starts.astype(np.int64),
        token_ends=ends.astype(np.int64),
        char_starts=char_starts.astype(np.int64),
        char_ends=char_ends.astype(np.int64),
        scores=scores.astype(np.float32),
        null_score=null_score,
    )


def _masked_softmax(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Softmax of float32 ``logits`` where disallowed tokens get :data:`MASKED_LOGIT` (so ~0).

    :param logits: one window's logits, float32.
    :param allowed: True for the tokens that take part.
    """
    masked = np.where(allowed, logits, np.float32(MASKED_LOGIT)).astype(np.float32)
    exp = np.exp(masked - masked.max())
    return exp / exp.sum()


def decode_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    windows: Windows,
    context: str,
    *,
    top_k: int = 1,
    handle_impossible_answer: bool = False,
    max_answer_len: int = 15,
    align_to_words: bool = True,
) -> list[dict[str, Any]]:
    """Answers of one (question, context) pair, best first, as the 4.x QA pipeline gives them.

    Each window contributes its best ``2 * top_k + 10`` spans (``top_k`` without word alignment),
    in window order; a span whose text equals (ignoring case) an earlier answer's adds its score to
    that answer, which keeps the earlier offsets.  With ``handle_impossible_answer`` the null answer
    ``{"score": s, "start": 0, "end": 0, "answer": ""}`` joins them, ``s`` being the lowest null
    score of the windows.  The answers are sorted by score (ties keep that order) and cut to
    ``top_k``.  Unlike the pipeline, a single answer is still returned in a list.

    :param start_logits: start logits, shape ``(n, L)`` as ``windows.input_ids``.
    :param end_logits: end logits, shape ``(n, L)``.
    :param windows: the encoded pair (see :func:`encode_windows`).
    :param context: the context the windows were encoded from.
    :param top_k: most answers returned, at least 1.
    :param handle_impossible_answer: let the null answer compete.
    :param max_answer_len: most tokens in an answer, at least 1.
    :param align_to_words: widen answers to whole words.
    :returns: dicts with ``score`` (float), ``start``, ``end`` (characters of ``context``) and
        ``answer`` (``context[start:end]``).
    :raises ValueError: ``top_k`` or ``max_answer_len`` below 1, or logits of the wrong shape.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1 (got {top_k})")
    start_logits = np.asarray(start_logits)
    end_logits = np.asarray(end_logits)
    if start_logits.shape != windows.input_ids.shape or end_logits.shape != windows.input_ids.shape:
        raise ValueError(
            f"logits of shape {start_logits.shape} / {end_logits.shape} "
            f"do not match windows of shape {windows.input_ids.shape}"
        )
    per_window = 2 * top_k + 10 if align_to_words else top_k  # alignment can merge spans

    answers: list[dict[str, Any]] = []
    by_text: dict[str, dict[str, Any]] = {}
    null_score = _NO_NULL_SCORE
    for index in range(windows.num_windows):
        spans = window_spans(
            windows,
            index,
            start_logits[index],
            end_logits[index],
            max_answer_len=max_answer_len,
            limit=per_window,
            align_to_words=align_to_words,
        )
        null_score = min(null_score, spans.null_score)
        for char_start, char_end, score in zip(
            spans.char_starts.tolist(), spans.char_ends.tolist(), spans.scores.tolist(), strict=True
        ):
            text = context[char_start:char_end]
            same = by_text.get(text.lower())
            if same is not None:
                same["score"] += score
                continue
            answer = {"score": score, "start": char_start, "end": char_end, "answer": text}
            by_text[text.lower()] = answer
            answers.append(answer)

    if handle_impossible_answer:
        answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
    answers.sort(key=lambda answer: answer["score"], reverse=True)
    return answers[:top_k]


def answer_question(
    model: Any,
    tokenizer: Any,
    question: str,
    context: str,
    *,
    max_seq_len: int | None = None,
    doc_stride: int | None = None,
    **decode_kwargs: Any,
) -> list[dict[str, Any]]:
    """Run an extractive QA model over all windows of the pair at once and decode its answers.

    :param model: a Hugging Face ``...ForQuestionAnswering`` torch model (start/end logits).
    :param tokenizer: its fast tokenizer.
    :param question: the question.
    :param context: the text to answer from.
    :param max_seq_len: window size, see :func:`encode_windows`.
    :param doc_stride: window overlap, see :func:`encode_windows`.
    :param decode_kwargs: ``top_k``, ``handle_impossible_answer``, ``max_answer_len``,
        ``align_to_words``, see :func:`decode_spans`.
    """
    import torch

    windows = encode_windows(
        tokenizer, question, context, max_seq_len=max_seq_len, doc_stride=doc_stride
    )
    inputs = {
        name: torch.from_numpy(array).to(model.device)
        for name, array in windows.model_inputs().items()
    }
    with torch.no_grad():
        output = model(**inputs)
    start = output.start_logits.float().cpu().numpy()
    end = output.end_logits.float().cpu().numpy()
    return decode_spans(start, end, windows, context, **decode_kwargs)
