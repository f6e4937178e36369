"""Search: a question → the best passages of the collection, ranked by BM25 (``index/``).

The question is analysed like the chunks (stopwords dropped), matched with OR semantics, and at most
``per_article`` chunks of one article are kept, so that one long article cannot crowd out the others.
"""

from index.analysis import question_terms
from index.store import Store
from retrieval.types import Passage

#: Default number of passages returned.
DEFAULT_K = 5
#: Default cap on the passages taken from one article.
DEFAULT_PER_ARTICLE = 2


def search(
    question: str, *, store: Store, k: int = DEFAULT_K, per_article: int = DEFAULT_PER_ARTICLE
) -> list[Passage]:
    """The ``k`` best passages for ``question``, best first.

    :param question: the user's question, as typed.
    :param store: the collection.
    :param k: how many passages at most.
    :param per_article: how many passages of one article at most.
    :raises index.bm25.EmptyIndex: the collection is empty.
    :raises ValueError: ``k`` or ``per_article`` is not positive.
    """
    if k <= 0 or per_article <= 0:
        raise ValueError("k and per_article must be positive")
    terms = question_terms(question)
    depth = k * 3
    while True:
        hits = store.search_chunks(terms, depth)
        kept, per = [], {}
        chunks = store.chunks_by_id([chunk_id for chunk_id, _ in hits])
        for chunk_id, score in hits:
            chunk = chunks.get(chunk_id)
            if chunk is None or per.get(chunk.article_id, 0) >= per_article:
                continue
            per[chunk.article_id] = per.get(chunk.article_id, 0) + 1
            kept.append((chunk, score))
            if len(kept) == k:
                break
        if len(kept) == k or len(hits) < depth:
            break
        depth *= 4
    return _with_sources(store, kept)


def _with_sources(store: Store, kept) -> list[Passage]:
    articles = {a: store.get_article_info(a) for a in {chunk.article_id for chunk, _ in kept}}
    return [
        Passage(
            chunk_id=chunk.id,
            article_id=chunk.article_id,
            title=articles[chunk.article_id].title,
            url=articles[chunk.article_id].url,
            published=articles[chunk.article_id].published,
            start=chunk.start,
            end=chunk.end,
            text=chunk.text,
            score=score,
        )
        for chunk, score in kept
    ]
