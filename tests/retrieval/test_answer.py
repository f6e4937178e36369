"""retrieval.answer: a question answered from the collection, even while articles are removed."""

import pytest

from qabot.retrieval.answer import answer
from qabot.retrieval.loading import sentence_reader
from qabot.retrieval.sentence_reader import SentenceReader

QUESTION = "Who drove the first tram on the Riverside line?"


@pytest.fixture(scope="module")
def reader():
    return sentence_reader(use_encoder=False)


def remove_while_searching(store, monkeypatch, times: int) -> list[int]:
    """Remove the article of the best chunk each search finds, right after it found it (``times`` times).

    That is between the index giving the chunks and the search looking up their articles' titles,
    where an admin's /remove (another thread, or another process) can land. The ids removed.
    """
    chunks_by_id, removed = store.chunks_by_id, []

    def then_remove(chunk_ids):
        chunks = chunks_by_id(chunk_ids)
        if chunks and len(removed) < times:
            removed.append(store.remove_article(chunks[chunk_ids[0]].article_id).id)
        return chunks

    monkeypatch.setattr(store, "chunks_by_id", then_remove)
    return removed


def test_an_article_removed_while_it_is_found_is_left_out_of_the_answer(sample_store, reader, monkeypatch):
    removed = remove_while_searching(sample_store, monkeypatch, times=1)
    result = answer(QUESTION, store=sample_store, reader=reader)
    assert len(removed) == 1  # the tram article, the best match, went while it was being found
    assert result.passages and all(p.article_id not in removed for p in result.passages)
    assert all(a.article_id not in removed for a in result.answers)


def test_articles_removed_one_after_another_while_found_never_fail_the_question(sample_store, reader, monkeypatch):
    removed = remove_while_searching(sample_store, monkeypatch, times=3)
    for _ in range(3):
        result = answer(QUESTION, store=sample_store, reader=reader)
        assert all(p.article_id not in removed for p in result.passages)
    assert len(removed) == 3


def test_the_sentence_reader_declines_with_its_best_sentences_as_unsure(sample_store):
    strict = SentenceReader(min_coverage=1.01)  # no sentence covers more than all of a question
    result = answer("When did Putin last visit Pyongyang?", store=sample_store, reader=strict)
    assert result.no_answer and result.answers == ()
    assert "July 2000" in result.unsure[0].context and result.unsure[0].article_id == 1
    assert answer("When did Putin last visit Pyongyang?", store=sample_store, reader=SentenceReader()).unsure == ()
