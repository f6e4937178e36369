"""retrieval/reader.py: the span reader on real models, loaded from folders, over real collections.

The seeded model (tests/seeded_model.py: the packaged MiniLM encoder with a seeded random span
head, real tokenizer) checks the mechanics: offsets, merging, batching, the no-answer path.
The builtin reader (retrieval/builtin_reader, loaded with its profile) checks real answers.
"""

import math
import threading
from dataclasses import replace

import pytest

from qabot.index.store import Store
from qabot.models import qa_model
from qabot.retrieval.answer import answer
from qabot.retrieval.loading import load_reader
from qabot.retrieval.reader import ExtractiveReader
from qabot.retrieval.search import search
from qabot.retrieval.span_ranking import MAX_LEAD, Reading, lead, passage_bm25, ranked_spans
from qabot.retrieval.types import Passage

PUTIN = "When did Putin last visit Pyongyang?"


@pytest.fixture(scope="module")
def seeded_dir(tmp_path_factory):
    """The seeded test model saved as a model folder, as a user would point QABOT_QA_MODEL at it."""
    from tests.seeded_model import build_seeded_qa_model

    model, tokenizer = build_seeded_qa_model()
    folder = tmp_path_factory.mktemp("seeded-qa")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def seeded(seeded_dir):
    """The seeded model loaded through ExtractiveReader, answering whatever clears no bar."""
    reader = ExtractiveReader(str(seeded_dir), no_answer_threshold=-math.inf, threads=1)
    reader.warm_up()
    return reader


@pytest.fixture(scope="module")
def builtin():
    """The builtin reader as qabot loads it: its weights and its profile."""
    reader = load_reader("builtin", use_encoder=False)
    assert reader.name == "span"
    return reader


@pytest.fixture
def forward_calls(seeded):
    """The batch sizes and lengths of every forward pass of the seeded model, as a list."""
    calls = []
    handle = seeded._model.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    yield calls
    handle.remove()


def article_text(store: Store, article_id: int) -> str:
    return store.get_article(article_id).text


def overlapping_chunks(store: Store) -> tuple[Passage, Passage]:
    """Two consecutive chunks of one sample article that share a sentence, as passages."""
    for info in store.list_articles():
        chunks = store.chunks_of(info.id)
        for first, second in zip(chunks, chunks[1:]):
            if second.start < first.end:
                return tuple(
                    Passage(
                        c.id, info.id, info.title, info.url, info.published, c.start, c.end, c.text, 5.0 - i
                    )
                    for i, c in enumerate((first, second))
                )
    raise AssertionError("no overlapping chunks in the sample collection")


# --- mechanics, with the seeded model -------------------------------------------------------------


def test_answers_point_into_the_article_text(seeded, sample_store):
    passages = search(PUTIN, store=sample_store, k=5)
    answers = seeded.read(PUTIN, passages, top_k=5)
    assert answers
    by_article = {p.article_id: p for p in passages}
    for a in answers:
        text = article_text(sample_store, a.article_id)
        assert text[a.start : a.end] == a.text and a.text.strip() == a.text
        assert text[a.context_start : a.context_start + len(a.context)] == a.context
        assert a.context_start <= a.start and a.end <= a.context_start + len(a.context)
        assert a.title == by_article[a.article_id].title


def test_context_is_the_sentence_holding_the_answer(seeded, sample_store):
    passages = search(PUTIN, store=sample_store, k=3)
    for a in seeded.read(PUTIN, passages, top_k=5):
        # whole sentences: the context starts at a sentence start and ends with its full stop
        text = article_text(sample_store, a.article_id)
        assert a.context_start == 0 or text[a.context_start - 1] in " \n"
        assert a.context.rstrip()[-1] in '.!?"”'


def test_overlapping_chunks_are_read_once_and_answers_merged(seeded, sample_store):
    first, second = overlapping_chunks(sample_store)
    question = "What happened?"
    whole = ExtractiveReader(seeded.model, window_words=None)
    [window] = whole.windows(question, [first, second])
    text = article_text(sample_store, first.article_id)
    assert (window.start, window.text) == (first.start, text[first.start : second.end])

    windows = seeded.windows(question, [first, second])
    covered = [(w.start, w.end) for w in windows]
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(covered, covered[1:]))

    answers = seeded.read(question, [first, second, first], top_k=10)  # the same chunk twice, too
    assert answers
    texts = [" ".join(a.text.lower().split()) for a in answers]
    assert len(texts) == len(set(texts))
    for i, a in enumerate(answers):
        for b in answers[i + 1 :]:
            assert a.end <= b.start or b.end <= a.start, (a.text, b.text)
    assert answers == seeded.read(question, [first, second], top_k=10)


def sharing(seeded: ExtractiveReader, **settings) -> ExtractiveReader:
    """Another reader with other settings over the seeded reader's loaded model and tokenizer."""
    reader = ExtractiveReader(seeded.model, **({"no_answer_threshold": -math.inf} | settings))
    reader._model, reader._tokenizer = seeded._model, seeded._tokenizer
    return reader


def test_all_windows_of_all_passages_go_through_one_forward_pass(seeded, sample_store, forward_calls):
    question = "Who said what about the plan on Saturday?"
    passages = search(question, store=sample_store, k=5)
    reading = sharing(seeded, max_padding=math.inf).score_spans(question, passages)
    assert len({w.passage.article_id for w in reading.windows}) >= 3
    assert len(forward_calls) == 1
    assert forward_calls[0][0] == len(reading.windows)
    assert reading.tokens < sum(len(p.text) for p in passages) / 3  # windows, not whole passages


def test_batches_are_sorted_by_length_and_barely_padded(seeded, sample_store):
    lengths = []
    handle = seeded._model.register_forward_pre_hook(
        lambda module, args, kwargs: lengths.append(kwargs["attention_mask"].sum(1).tolist()),
        with_kwargs=True,
    )
    question = "Who said what about the plan on Saturday?"
    try:
        passages = search(question, store=sample_store, k=5)
        reading = sharing(seeded, batch_size=2).score_spans(question, passages)
    finally:
        handle.remove()
    assert 1 < len(lengths) <= len(reading.windows)
    flat = [n for batch in lengths for n in batch]
    assert flat == sorted(flat, reverse=True) and len(flat) == len(reading.windows)
    for batch in lengths:
        assert len(batch) <= 2 and len(batch) * batch[0] <= 1.2 * sum(batch)


def test_no_answer_when_nothing_beats_the_null_logit(seeded, sample_store):
    passages = search(PUTIN, store=sample_store, k=5)
    reading = seeded.score_spans(PUTIN, passages)
    assert reading.spans and math.isfinite(reading.null)
    assert seeded.answers(reading, rule=replace(seeded.rule, threshold=math.inf)) == []
    best = ranked_spans(reading, seeded.rule)[0].logit
    bar = best - reading.null + 1e-3  # just out of reach of the best-ranked span
    assert seeded.answers(reading, rule=replace(seeded.rule, threshold=bar)) == []
    assert seeded.answers(reading, rule=replace(seeded.rule, threshold=bar - 2e-3))

    result = answer(PUTIN, store=sample_store, reader=sharing(seeded, no_answer_threshold=math.inf))
    assert result.no_answer and result.answers == () and result.passages
    assert result.reader == "span"


def test_retrieval_evidence_can_lift_a_span_over_the_no_answer_bar_or_keep_it_under(seeded, sample_store):
    passages = search(PUTIN, store=sample_store, k=5)
    reading = seeded.score_spans(PUTIN, passages)
    by_logits = replace(seeded.rule, fusion_weight=0.0)  # the top span has the best logits: a lead >= 0
    top = ranked_spans(reading, by_logits)[0]
    margin = top.logit - reading.null
    bar = margin + 0.5  # out of reach of the logits alone
    assert seeded.answers(reading, rule=replace(by_logits, threshold=bar)) == []
    # its passage's BM25 score, weighted, brings it over the bar
    weight = 1.0 / passage_bm25(reading, top)
    lifted = seeded.answers(reading, top_k=1, rule=replace(by_logits, threshold=bar, bm25_weight=weight))
    assert [a.text for a in lifted] == [top.text]
    # so does its lead over the next different answer, which is at most MAX_LEAD
    ahead = lead(reading, ranked_spans(reading, by_logits))
    assert 0 < ahead <= MAX_LEAD
    by_lead = seeded.answers(reading, top_k=1, rule=replace(by_logits, threshold=bar, lead_weight=1.0 / ahead))
    assert [a.text for a in by_lead] == [top.text]
    # and a negative weight takes a weakly retrieved answer away
    assert seeded.answers(reading, rule=replace(by_logits, threshold=margin - 0.5, bm25_weight=-1.0 / passage_bm25(reading, top))) == []


def test_a_very_long_question_is_cut_to_fit(seeded, sample_store):
    question = PUTIN + " " + "Tell me everything about it, please. " * 80
    answers = seeded.read(question, search(PUTIN, store=sample_store, k=3))
    assert answers and all(a.text for a in answers)


def test_nothing_to_read(seeded):
    assert seeded.read("Anything?", []) == []
    assert seeded.score_spans("  ", []) == Reading((), (), math.inf, 0)


def test_fusion_weight_lets_the_passage_score_decide(seeded, sample_store):
    passages = search(PUTIN, store=sample_store, k=5)
    reading = seeded.score_spans(PUTIN, passages)
    top = seeded.answers(reading, top_k=1, rule=replace(seeded.rule, fusion_weight=1000.0))[0]
    assert top.article_id == max(passages, key=lambda p: p.score).article_id


def test_warm_up_loads_once_from_several_threads(seeded_dir, monkeypatch):
    reader = ExtractiveReader(str(seeded_dir), threads=1)
    loads = []
    real = qa_model._from_pretrained
    monkeypatch.setattr(qa_model, "_from_pretrained", lambda name, source: loads.append(source) or real(name, source))
    threads = [threading.Thread(target=reader.warm_up) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader.warm_up()
    assert len(loads) == 1


def test_settings_are_checked_at_construction():
    with pytest.raises(ValueError, match="quantize"):
        ExtractiveReader("x", quantize="fp16")
    with pytest.raises(ValueError, match="batch_size"):
        ExtractiveReader("x", batch_size=0)


# --- a real model: the builtin reader -------------------------------------------------------------------


def test_the_builtin_reader_answers_when_putin_last_visited(builtin, sample_store):
    result = answer(PUTIN, store=sample_store, reader=builtin)
    assert result.reader == "span" and not result.no_answer
    best = result.answers[0]
    assert best.text == "July 2000"
    assert "Putin" in best.title and "Pyongyang" in best.context
    assert article_text(sample_store, best.article_id)[best.start : best.end] == best.text


def test_the_builtin_reader_answers_across_articles(builtin, sample_store):
    result = answer("How many kettles did Lumora recall?", store=sample_store, reader=builtin)
    assert "184,000" in result.answers[0].text and "kettle" in result.answers[0].title.lower()


def test_the_builtin_reader_says_when_the_collection_does_not_answer(builtin, sample_store):
    result = answer("What is the boiling point of liquid nitrogen?", store=sample_store, reader=builtin)
    assert result.no_answer and result.answers == ()
    assert result.passages  # the closest passages are still shown
