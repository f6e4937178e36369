"""retrieval.search: a question → ranked passages with their sources, at most a few per article."""

import pytest

from qabot.index.bm25 import EmptyIndex
from qabot.retrieval.search import search


def test_the_seed_question_finds_the_sentence_that_answers_it(sample_store):
    passages = search("When did Putin last visit Pyongyang?", store=sample_store, k=3)
    assert "Pyongyang" in passages[0].title
    assert "July 2000" in passages[0].text
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_passages_point_back_into_their_article(sample_store):
    for passage in search("flood river farmer", store=sample_store, k=5):
        article = sample_store.get_article(passage.article_id)
        assert article.text[passage.start : passage.end] == passage.text
        assert passage.title == article.title and passage.published == article.published


def test_no_article_takes_more_than_its_share(sample_store):
    passages = search("Putin Kim Pyongyang treaty visit", store=sample_store, k=5, per_article=1)
    articles = [p.article_id for p in passages]
    assert len(articles) == len(set(articles))
    two = search("Putin Kim Pyongyang treaty visit", store=sample_store, k=5, per_article=2)
    assert max(sum(p.article_id == a for p in two) for a in {p.article_id for p in two}) == 2


def test_topics_are_told_apart(sample_store):
    assert "tram" in search("How long is the new tram line?", store=sample_store)[0].text.lower()
    assert "kettle" in search("Which kettles were recalled?", store=sample_store)[0].text.lower()


def test_words_found_nowhere_find_nothing(sample_store):
    assert search("xylophone quokka", store=sample_store) == []
    assert search("?!", store=sample_store) == []


def test_an_empty_collection_is_reported(store):
    with pytest.raises(EmptyIndex):
        search("anything at all", store=store)


def test_k_must_be_positive(sample_store):
    with pytest.raises(ValueError):
        search("Putin", store=sample_store, k=0)
