"""Search: a question → the best passages of the collection, ranked by BM25 (``index/``), or hybrid.

The question is analysed like the chunks (stopwords dropped), matched with OR semantics, and at most
``per_article`` chunks of one article are kept, so that one long article cannot crowd out the others.

Hybrid, with the sentence encoder: BM25's best ``HYBRID_CANDIDATES`` chunks are re-scored as
``bm25 + SIMILARITY_WEIGHT x cosine(question, chunk) x best bm25`` (the score stays in BM25's units),
using the chunk embeddings stored at ingestion (``retrieval.embeddings``); only the question is
encoded. A candidate without a stored embedding gets the mean similarity of the others; when none
has one, BM25 alone ranks them.
"""

import numpy as np

from qabot.index.analysis import question_terms
from qabot.index.store import ArticleNotFound, Store
from qabot.retrieval.embeddings import chunk_vectors
from qabot.retrieval.types import Passage

#: Default number of passages returned.
DEFAULT_K = 5
#: Default cap on the passages taken from one article.
DEFAULT_PER_ARTICLE = 2
#: Hybrid search: how many of BM25's best chunks are re-scored (at least 3 x k).
HYBRID_CANDIDATES = 50
#: Hybrid search: the weight of the cosine similarity, against BM25 divided by the best BM25 score.
SIMILARITY_WEIGHT = 2.0


def search(
    question: str,
    *,
    store: Store,
    k: int = DEFAULT_K,
    per_article: int = DEFAULT_PER_ARTICLE,
    encoder=None,
) -> list[Passage]:
    """The ``k`` best passages for ``question``, best first.

    :param question: the user's question, as typed.
    :param store: the collection.
    :param k: how many passages at most.
    :param per_article: how many passages of one article at most.
    :param encoder: the sentence encoder (``retrieval.encoder.Encoder``) for hybrid search, or
        None for BM25 alone.
    :raises index.bm25.EmptyIndex: the collection is empty.
    :raises ValueError: ``k`` or ``per_article`` is not positive.
    """
    if k <= 0 or per_article <= 0:
        raise ValueError("k and per_article must be positive")
    terms = question_terms(question)
    depth = max(k * 3, HYBRID_CANDIDATES) if encoder is not None else k * 3
    while True:
        hits = store.search_chunks(terms, depth)
        bm25 = {}  # BM25 alone, kept when the encoder re-scores the hits
        if encoder is not None:
            rescored = _rescored(question, hits, store, encoder)
            bm25, hits = (dict(hits) if rescored is not hits else {}), rescored
        kept, per = [], {}
        chunks = store.chunks_by_id([chunk_id for chunk_id, _ in hits])
        for chunk_id, score in hits:
            chunk = chunks.get(chunk_id)
            if chunk is None or per.get(chunk.article_id, 0) >= per_article:
                continue
            per[chunk.article_id] = per.get(chunk.article_id, 0) + 1
            kept.append((chunk, score, bm25.get(chunk_id)))
            if len(kept) == k:
                break
        if len(kept) == k or len(hits) < depth:
            break
        depth *= 4
    return _with_sources(store, kept)


def _rescored(question: str, hits: list[tuple[int, float]], store: Store, encoder):
    """BM25 hits re-scored with the question's similarity to each chunk, best first."""
    vectors = chunk_vectors(store, [chunk_id for chunk_id, _ in hits])
    if not vectors:
        return hits
    asked = encoder.encode([question])[0]
    similarity = {chunk_id: float(vector @ asked) for chunk_id, vector in vectors.items()}
    neutral = float(np.mean(list(similarity.values())))
    best = max(score for _, score in hits)
    rescored = [
        (chunk_id, score + SIMILARITY_WEIGHT * similarity.get(chunk_id, neutral) * best)
        for chunk_id, score in hits
    ]
    return sorted(rescored, key=lambda hit: (-hit[1], hit[0]))


def _with_sources(store: Store, kept) -> list[Passage]:
    """The kept chunks as passages citing their articles (and, in a paged document, the page each
    begins on); chunks whose article was removed since the index found them (an admin's /remove in
    another thread or process) are left out."""
    articles = {}
    for article_id in {chunk.article_id for chunk, _, _ in kept}:
        try:
            articles[article_id] = store.get_article_info(article_id)
        except ArticleNotFound:
            continue
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
            page=store.page_at(chunk.article_id, chunk.start),
            bm25=bm25,
        )
        for chunk, score, bm25 in kept
        if chunk.article_id in articles
    ]
