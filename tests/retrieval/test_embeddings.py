"""Chunk embeddings stored at ingestion (retrieval.embeddings, index.store schema 3) and hybrid search.

A fake encoder stands in for all-MiniLM-L6-v2: each text's vector counts words of two topics, so the
tests can say which chunk is "closer" to a question, and it records what it was asked to encode.
"""

import numpy as np
import pytest

from qabot.index.store import SCHEMA_VERSION, Store
from qabot.retrieval.embeddings import chunk_vectors, embed_missing, from_bytes, to_bytes
from qabot.retrieval.encoder import NAME
from qabot.retrieval.search import search
from tests.index.test_schema import _back_to_schema_4

ROADS = {"council", "budget", "roads", "potholes", "monday"}
TRANSPORT = {"transport", "cycle", "bus", "buses", "lanes", "routes", "trams"}


class FakeEncoder:
    """Unit vectors over (roads words, transport words, everything else x 0.1); records its inputs."""

    def __init__(self):
        self.questions: list[str] = []
        self.passages: list[str] = []

    @staticmethod
    def _vector(text: str) -> np.ndarray:
        words = [w.strip(".,?!").lower() for w in text.split()]
        v = np.array(
            [sum(w in ROADS for w in words), sum(w in TRANSPORT for w in words), 0.1 * len(words)],
            dtype=np.float32,
        )
        return v / np.linalg.norm(v)

    def encode(self, texts: list[str]) -> np.ndarray:
        self.questions += texts
        return np.stack([self._vector(t) for t in texts])

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.passages += texts
        return np.stack([self._vector(t) for t in texts])


FILLER = [
    ("Harbour news", "The harbour master reported calm seas and a busy week for the ferries."),
    ("Museum news", "The museum opened a new gallery of Roman coins found near the river."),
    ("Weather", "Forecasters expect rain on Thursday and sunshine over the weekend."),
]
ROADS_TEXT = "The council met on Monday. The council discussed the budget for roads and potholes."
TRANSPORT_TEXT = "The council agreed a plan for cycle lanes, bus routes and trams."
QUESTION = "What did the council decide about transport and buses?"


@pytest.fixture
def town(store):
    """Five short articles: two about the council, one of them about transport."""
    for title, text in FILLER:
        store.add_article(title=title, text=text)
    roads = store.add_article(title="Council and roads", text=ROADS_TEXT)
    transport = store.add_article(title="Council and transport", text=TRANSPORT_TEXT)
    return store, roads.id, transport.id


def test_vectors_round_trip_as_float32_bytes():
    vector = np.array([0.25, -1.5, 3.0], dtype=np.float64)
    assert len(to_bytes(vector)) == 12
    assert from_bytes(to_bytes(vector)).tolist() == [0.25, -1.5, 3.0]


def test_embed_missing_fills_every_chunk_once(town):
    store, _, _ = town
    encoder = FakeEncoder()
    chunks = store.counts()["chunks"]
    assert embed_missing(store, encoder) == chunks == len(encoder.passages)
    assert embed_missing(store, encoder) == 0  # nothing left to do
    ids = [row[0] for row in store.db.execute("SELECT id FROM chunks").fetchall()]
    vectors = chunk_vectors(store, ids)
    assert sorted(vectors) == sorted(ids)
    assert all(v.dtype == np.float32 and v.shape == (3,) for v in vectors.values())
    assert store.embeddings("another-model", ids) == {}


def test_embeddings_go_with_their_chunks(town):
    store, roads, _ = town
    embed_missing(store, FakeEncoder())
    before = store.db.execute("SELECT count(*) FROM chunk_embeddings").fetchone()[0]
    store.remove_article(roads)
    after = store.db.execute("SELECT count(*) FROM chunk_embeddings").fetchone()[0]
    assert after == before - 1 == store.counts()["chunks"]
    store.set_embeddings(NAME, {999_999: b"\x00" * 12})  # a chunk removed meanwhile is skipped
    assert store.embeddings(NAME, [999_999]) == {}
    assert store.verify() == []


def test_a_schema_2_collection_is_migrated(db_path):
    with Store(db_path) as store:
        store.add_article(title="T", text="Some text about trams.")
        store.db.execute("DROP TABLE chunk_embeddings")
        store.db.executescript("DROP TABLE postings; DROP TABLE pending_chunks")  # schema 4's
        _back_to_schema_4(store)
        store.db.execute("PRAGMA user_version = 2")
    with Store(db_path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [c.text for c in store.chunks_without_embedding(NAME)] == ["Some text about trams."]


def test_hybrid_search_reranks_bm25_candidates_by_similarity(town):
    store, roads, transport = town
    bm25 = search(QUESTION, store=store, k=2)
    assert [p.article_id for p in bm25] == [roads, transport]
    encoder = FakeEncoder()
    embed_missing(store, encoder)
    hybrid = search(QUESTION, store=store, k=2, encoder=encoder)
    assert [p.article_id for p in hybrid] == [transport, roads]
    assert hybrid[0].score > bm25[0].score  # in BM25's units, raised by the similarity
    # each passage keeps its BM25 score alone too (the no-answer rule weighs that)
    alone = {p.article_id: p.score for p in bm25}
    assert {p.article_id: p.bm25_score for p in hybrid} == alone != {p.article_id: p.score for p in hybrid}
    assert all(p.bm25 is None and p.bm25_score == p.score for p in bm25)


def test_only_the_question_is_encoded_when_searching(town):
    store, _, _ = town
    encoder = FakeEncoder()
    embed_missing(store, encoder)
    passages_encoded = list(encoder.passages)
    search(QUESTION, store=store, encoder=encoder)
    search("Which gallery did the museum open?", store=store, encoder=encoder)
    assert encoder.passages == passages_encoded
    assert encoder.questions == [QUESTION, "Which gallery did the museum open?"]


def test_without_stored_embeddings_bm25_ranks_alone(town):
    store, _, _ = town
    encoder = FakeEncoder()
    assert search(QUESTION, store=store, encoder=encoder) == search(QUESTION, store=store)
    assert encoder.questions == []  # nothing to compare the question with


def test_a_chunk_added_without_embedding_still_competes(town):
    store, _, transport = town
    encoder = FakeEncoder()
    embed_missing(store, encoder)
    late = store.add_article(title="Late", text="The council plan for transport was praised.")
    found = search(QUESTION, store=store, k=3, encoder=encoder)
    assert late.id in [p.article_id for p in found] and transport in [p.article_id for p in found]
