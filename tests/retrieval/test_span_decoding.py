"""Span decoding: parity with the 4.x QA pipeline (golden fixture), and on made-up logits."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from qabot.retrieval.span_decoding import (  # noqa: E402
    answer_question,
    decode_spans,
    encode_windows,
    window_spans,
)
from tests import seeded_model  # noqa: E402

GOLDEN_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "qa_golden.json"
GOLDEN = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))
SCORE_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def seeded():
    """The seeded QA model and its tokenizer, loaded once for the module.

    Torch runs on one thread meanwhile: with small batches and a busy machine, several threads
    spend most of their time waiting for each other (up to 30 times slower).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield seeded_model.build_seeded_qa_model()
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tokenizer(seeded):
    return seeded[1]


# --- parity with the 4.x pipeline ------------------------------------------------------------


def test_golden_fixture_matches_this_model_and_covers_the_cases():
    assert GOLDEN["transformers_version"].startswith("4.")
    assert GOLDEN["model"]["package"] == seeded_model.MODEL_PACKAGE
    assert GOLDEN["model"]["head_seed"] == seeded_model.SEED
    assert GOLDEN["model"]["head_weight_std"] == seeded_model.WEIGHT_STD
    assert GOLDEN["model"]["head_bias_std"] == seeded_model.BIAS_STD
    cases = GOLDEN["cases"]
    assert len(cases) >= 30
    tags = {tag for case in cases for tag in case["tags"]}
    assert {"short", "long", "very_long", "unicode", "top_k", "impossible", "null_wins"} <= tags
    assert {"window_edge", "cut_words", "no_shared_words", "align_to_words_false"} <= tags
    assert max(case["num_windows"] for case in cases) >= 10
    assert sum(case["answers_at_window_edge"] for case in cases) >= 10


def _as_list(output):
    return output if isinstance(output, list) else [output]


@pytest.mark.slow
@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[case["id"] for case in GOLDEN["cases"]])
def test_matches_transformers_4_pipeline(seeded, case):
    model, tokenizer = seeded
    kwargs = dict(case["kwargs"])
    windows = encode_windows(
        tokenizer,
        case["question"],
        case["context"],
        max_seq_len=kwargs.get("max_seq_len"),
        doc_stride=kwargs.get("doc_stride"),
    )
    assert windows.num_windows == case["num_windows"]

    ours = answer_question(model, tokenizer, case["question"], case["context"], **kwargs)
    expected = _as_list(case["output"])
    assert [(a["answer"], a["start"], a["end"]) for a in ours] == [
        (a["answer"], a["start"], a["end"]) for a in expected
    ]
    assert [a["score"] for a in ours] == pytest.approx(
        [a["score"] for a in expected], abs=SCORE_TOLERANCE
    )
    for answer in ours:
        assert answer["answer"] == case["context"][answer["start"] : answer["end"]]


# --- the decode step on made-up logits -------------------------------------------------------

QUESTION = "Where was the conference held?"
CONTEXT = "The annual conference was held in Copenhagen, and the unbelievably long keynote ran late"


def _flat_logits(windows, value=0.0):
    shape = windows.input_ids.shape
    return np.full(shape, value, dtype=np.float32), np.full(shape, value, dtype=np.float32)


def _context_tokens(windows, index=0):
    return np.flatnonzero(~windows.p_mask[index] & (np.arange(windows.p_mask.shape[1]) > 0))


def _token_at(windows, text, index=0):
    """The first context token of the window whose offsets start where ``text`` starts."""
    char = CONTEXT.index(text)
    for token in _context_tokens(windows, index):
        if windows.offsets[index, token, 0] == char:
            return int(token)
    raise AssertionError(f"no token starts at {text!r}")


def test_encode_windows_masks_question_and_specials_but_keeps_cls(tokenizer):
    windows = encode_windows(tokenizer, QUESTION, CONTEXT)
    assert windows.num_windows == 1
    ids = windows.input_ids[0]
    assert ids[0] == tokenizer.cls_token_id
    assert not windows.p_mask[0, 0]  # [CLS] kept for the null answer
    sep = np.flatnonzero(ids == tokenizer.sep_token_id)
    assert windows.p_mask[0, sep].all()
    question_tokens = np.arange(1, sep[0])
    assert len(question_tokens) > 0 and windows.p_mask[0, question_tokens].all()
    context_tokens = _context_tokens(windows)
    assert context_tokens[0] == sep[0] + 1 and context_tokens[-1] == sep[1] - 1
    first, last = windows.offsets[0, context_tokens[0]], windows.offsets[0, context_tokens[-1]]
    assert CONTEXT[first[0] : last[1]] == CONTEXT
    assert set(windows.model_inputs()) == {"input_ids", "attention_mask", "token_type_ids"}


def test_encode_windows_overlap_by_doc_stride_and_pad(tokenizer):
    context = " ".join(f"Sentence {i} tells about town number {i}." for i in range(30))
    windows = encode_windows(tokenizer, QUESTION, context, max_seq_len=48, doc_stride=12)
    assert windows.num_windows > 3
    lengths = windows.lengths()
    assert lengths.max() <= 48 and lengths[-1] < 48
    assert windows.p_mask[-1, lengths[-1] :].all()  # padding is never an answer
    assert (windows.attention_mask[-1, lengths[-1] :] == 0).all()
    for i in range(windows.num_windows - 1):
        this, nxt = _context_tokens(windows, i), _context_tokens(windows, i + 1)
        this_ids = windows.input_ids[i, this]
        nxt_ids = windows.input_ids[i + 1, nxt]
        assert list(this_ids[-12:]) == list(nxt_ids[:12])
        assert (windows.offsets[i + 1, nxt[0]] == windows.offsets[i, this[-12]]).all()


def test_encode_windows_rejects_bad_arguments(tokenizer):
    with pytest.raises(ValueError):
        encode_windows(tokenizer, "", CONTEXT)
    with pytest.raises(ValueError):
        encode_windows(tokenizer, QUESTION, "")
    with pytest.raises(ValueError):
        encode_windows(tokenizer, QUESTION, CONTEXT, max_seq_len=32, doc_stride=64)


def test_best_span_is_decoded_to_its_characters(tokenizer):
    windows = encode_windows(tokenizer, QUESTION, CONTEXT)
    start, end = _flat_logits(windows)
    start[0, _token_at(windows, "Copenhagen")] = 8.0
    end[0, _token_at(windows, "Copenhagen")] = 8.0
    (best,) = decode_spans(start, end, windows, CONTEXT)
    begin = CONTEXT.index("Copenhagen")
    assert best["answer"] == "Copenhagen"
    assert (best["start"], best["end"]) == (begin, begin + len("Copenhagen"))
    assert 0.0 < best["score"] <= 1.0


def test_max_answer_len_is_respected(tokenizer):
    windows = encode_windows(tokenizer, QUESTION, CONTEXT)
    start, end = _flat_logits(windows)
    s, e = _token_at(windows, "annual"), _token_at(windows, "held")  # 4 tokens: annual..held
    assert e - s == 3
    start[0, s] = end[0, e] = 10.0
    (wide,) = decode_spans(start, end, windows, CONTEXT, max_answer_len=4)
    assert wide["answer"] == "annual conference was held"
    for max_len in (1, 2, 3):
        answers = decode_spans(start, end, windows, CONTEXT, max_answer_len=max_len, top_k=50)
        assert all(a["answer"] != "annual conference was held" for a in answers)
        spans = window_spans(windows, 0, start[0], end[0], max_answer_len=max_len)
        assert len(spans) > 0
        assert ((spans.token_ends - spans.token_starts) < max_len).all()
        assert (spans.token_ends >= spans.token_starts).all()
    with pytest.raises(ValueError):
        decode_spans(start, end, windows, CONTEXT, max_answer_len=0)


def test_spans_never_start_or_end_outside_the_context(tokenizer):
    windows = encode_windows(tokenizer, QUESTION, CONTEXT)
    start, end = _flat_logits(windows)
    not_context = windows.p_mask[0].copy()
    not_context[0] = True  # the [CLS] token too: it is the null answer, never a span
    start[0, not_context] = 50.0  # question and special tokens look like perfect answers
    end[0, not_context] = 50.0
    spans = window_spans(windows, 0, start[0], end[0])
    context_tokens = set(_context_tokens(windows).tolist())
    assert len(spans) > 0
    assert set(spans.token_starts.tolist()) <= context_tokens
    assert set(spans.token_ends.tolist()) <= context_tokens
    answers = decode_spans(start, end, windows, CONTEXT, top_k=20)
    assert len(answers) == 20
    for answer in answers:
        assert answer["answer"] and answer["answer"] in CONTEXT
        assert QUESTION.lower() not in answer["answer"].lower()


def test_null_answer_wins_when_cls_scores_best(tokenizer):
    windows = encode_windows(tokenizer, QUESTION, CONTEXT)
    start, end = _flat_logits(windows)
    start[0, 0] = end[0, 0] = 6.0  # [CLS]
    start[0, _token_at(windows, "Copenhagen")] = end[0, _token_at(windows, "Copenhagen")] = 4.0
    answers = decode_spans(start, end, windows, CONTEXT, top_k=3, handle_impossible_answer=True)
    assert answers[0]["answer"] == "" and (answers[0]["start"], answers[0]["end"]) == (0, 0)
    allowed = ~windows.p_mask[0]
    z = np.exp(start[0, allowed]).sum()  # same logits for start and end
    assert answers[0]["score"] == pytest.approx((np.exp(6.0) / z) ** 2, rel=1e-5)
    assert answers[1]["answer"] == "Copenhagen"
    assert answers[0]["score"] > answers[1]["score"] >= answers[2]["score"]

    without = decode_spans(start, end, windows, CONTEXT, top_k=3)
    assert all(a["answer"] for a in without) and without[0]["answer"] == "Copenhagen"


def test_null_answer_ranks_below_a_better_span(tokenizer):
    windows = encode_windows(tokenizer, QUESTION, CONTEXT)
    start, end = _flat_logits(windows)
    start[0, 0] = end[0, 0] = 4.0
    start[0, _token_at(windows, "Copenhagen")] = end[0, _token_at(windows, "Copenhagen")] = 6.0
    answers = decode_spans(start, end, windows, CONTEXT, top_k=2, handle_impossible_answer=True)
    assert [a["answer"] for a in answers] == ["Copenhagen", ""]


def test_null_score_is_the_lowest_over_windows(tokenizer):
    context = " ".join(f"Town number {i} has a market on day {i}." for i in range(20))
    windows = encode_windows(tokenizer, QUESTION, context, max_seq_len=40, doc_stride=10)
    assert windows.num_windows >= 3
    rng = np.random.default_rng(0)
    start = rng.normal(size=windows.input_ids.shape).astype(np.float32)
    end = rng.normal(size=windows.input_ids.shape).astype(np.float32)
    start[:, 0] = end[:, 0] = 30.0  # null answer dominates every window ...
    start[1, 0] = end[1, 0] = 2.0  # ... but one
    nulls = [window_spans(windows, i, start[i], end[i]).null_score for i in range(len(start))]
    assert min(nulls) == nulls[1] < 0.5 < max(nulls)
    answers = decode_spans(start, end, windows, context, top_k=50, handle_impossible_answer=True)
    (null,) = [a for a in answers if a["answer"] == ""]
    assert null == {"score": nulls[1], "start": 0, "end": 0, "answer": ""}


def test_top_k_is_sorted_distinct_and_cut(tokenizer):
    windows = encode_windows(tokenizer, QUESTION, CONTEXT)
    rng = np.random.default_rng(1)
    start = rng.normal(scale=2.0, size=windows.input_ids.shape).astype(np.float32)
    end = rng.normal(scale=2.0, size=windows.input_ids.shape).astype(np.float32)
    for top_k in (1, 3, 5, 10):
        answers = decode_spans(start, end, windows, CONTEXT, top_k=top_k)
        assert len(answers) == top_k
        scores = [a["score"] for a in answers]
        assert scores == sorted(scores, reverse=True)
        assert len({a["answer"].lower() for a in answers}) == top_k
    with pytest.raises(ValueError):
        decode_spans(start, end, windows, CONTEXT, top_k=0)


def test_answers_with_the_same_text_are_merged(tokenizer):
    context = "Berlin hosted the summit. Later, berlin hosted the final."
    windows = encode_windows(tokenizer, QUESTION, context)
    start, end = _flat_logits(windows)
    first, second = (
        int(t) for t in _context_tokens(windows) if windows.offsets[0, t, 0] in (0, 33)
    )
    start[0, first] = end[0, first] = 5.0
    start[0, second] = end[0, second] = 5.5
    spans = window_spans(windows, 0, start[0], end[0], limit=2, max_answer_len=3)
    assert spans.token_starts.tolist() == [second, first]  # the lowercase one scores higher
    answers = decode_spans(start, end, windows, context, top_k=3, max_answer_len=3)
    # one answer for both, at the offsets of the better-scored span, with the scores added up
    assert answers[0]["answer"] == "berlin" and (answers[0]["start"], answers[0]["end"]) == (33, 39)
    assert answers[0]["score"] == pytest.approx(float(spans.scores.sum()), rel=1e-6)
    assert sum(a["answer"].lower() == "berlin" for a in answers) == 1


def test_align_to_words_widens_subword_spans(tokenizer):
    windows = encode_windows(tokenizer, QUESTION, CONTEXT)
    word_start = CONTEXT.index("unbelievably")
    pieces = [
        int(t)
        for t in _context_tokens(windows)
        if word_start <= windows.offsets[0, t, 0] < word_start + len("unbelievably")
    ]
    assert len(pieces) >= 2  # the word is cut into several tokens
    middle = pieces[1]
    start, end = _flat_logits(windows)
    start[0, middle] = end[0, middle] = 9.0
    (aligned,) = decode_spans(start, end, windows, CONTEXT)
    assert aligned["answer"] == "unbelievably" and aligned["start"] == word_start
    (raw,) = decode_spans(start, end, windows, CONTEXT, align_to_words=False)
    piece_start, piece_end = windows.offsets[0, middle]
    assert (raw["start"], raw["end"]) == (piece_start, piece_end)
    assert raw["answer"] == CONTEXT[piece_start:piece_end] != "unbelievably"


def test_raw_logit_spans_for_cross_passage_ranking(tokenizer):
    windows = encode_windows(tokenizer, QUESTION, CONTEXT)
    rng = np.random.default_rng(2)
    start = rng.normal(size=windows.input_ids.shape[1]).astype(np.float32)
    end = rng.normal(size=windows.input_ids.shape[1]).astype(np.float32)
    raw = window_spans(windows, 0, start, end, normalize=False, max_answer_len=5)
    assert raw.null_score == pytest.approx(float(start[0] + end[0]))
    assert np.allclose(raw.scores, start[raw.token_starts] + end[raw.token_ends])
    assert (np.diff(raw.scores) <= 0).all()
    prob = window_spans(windows, 0, start, end, max_answer_len=5)
    # the softmax is monotonic: same spans in the same order, only the scores differ
    assert len(raw) == len(prob)
    raw_spans = set(zip(raw.token_starts.tolist(), raw.token_ends.tolist(), strict=True))
    prob_spans = set(zip(prob.token_starts.tolist(), prob.token_ends.tolist(), strict=True))
    assert raw_spans == prob_spans
    assert raw.token_starts[0] == prob.token_starts[0] and raw.token_ends[0] == prob.token_ends[0]
    for s, e, cs, ce in zip(
        raw.token_starts, raw.token_ends, raw.char_starts, raw.char_ends, strict=True
    ):
        assert cs <= windows.offsets[0, s, 0] and ce >= windows.offsets[0, e, 1]


def test_decode_spans_checks_logit_shapes(tokenizer):
    windows = encode_windows(tokenizer, QUESTION, CONTEXT)
    start, end = _flat_logits(windows)
    with pytest.raises(ValueError):
        decode_spans(start[:, :-1], end[:, :-1], windows, CONTEXT)
