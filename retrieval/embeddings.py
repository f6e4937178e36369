"""Chunk embeddings: computed once, after articles are added, and stored beside their chunks.

Hybrid retrieval (``retrieval.search``) re-scores BM25's candidates with the cosine similarity of the
question and each candidate chunk. Only the question is encoded when it is asked; the chunks'
embeddings are read from the store, where ``embed_missing`` put them when the articles were added
(``qabot add`` and ``qabot import`` call it; so should anything else that adds articles while the
encoder is on). ``index/`` stores the vectors as bytes and never imports the encoder.
"""

import logging

import numpy as np

from qabot.index.store import Store
from qabot.retrieval.encoder import NAME, Encoder

log = logging.getLogger(__name__)

#: Chunks encoded per round (each round is stored in its own transaction).
BATCH = 256
_DTYPE = np.float32


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored: float32, little-endian."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """A stored vector back as a float32 array."""
    return np.frombuffer(data, dtype="<f4").astype(_DTYPE, copy=False)


def embed_missing(store: Store, encoder: Encoder, *, progress=None) -> int:
    """Compute and store the embedding of every chunk that has none yet; how many were computed.

    Safe to call at any time and from several processes: it only fills what is missing, and a
    chunk removed meanwhile is skipped.

    :param store: the collection.
    :param encoder: the sentence encoder (its ``encode_passages``).
    :param progress: called with the number of chunks done after each round, or None.
    """
    done = 0
    while chunks := store.chunks_without_embedding(NAME, limit=BATCH):
        vectors = encoder.encode_passages([c.text for c in chunks])
        store.set_embeddings(NAME, {c.id: to_bytes(v) for c, v in zip(chunks, vectors)})
        done += len(chunks)
        if progress:
            progress(done)
        if len(chunks) < BATCH:
            break
    if done:
        log.info("computed the embeddings of %d chunks", done)
    return done


def chunk_vectors(store: Store, chunk_ids: list[int]) -> dict[int, np.ndarray]:
    """The stored embeddings of these chunks (chunks without one are left out)."""
    return {chunk_id: from_bytes(data) for chunk_id, data in store.embeddings(NAME, chunk_ids).items()}
