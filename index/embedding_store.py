"""Chunk embeddings: the vectors ``retrieval.embeddings`` computes for each chunk, stored as bytes.

Part of ``index/``: mixed into ``index.store.Store``. The vectors live in the collection's SQLite
file (schema 3, ``index.schema``) and are deleted with their chunk; ``index/`` never decodes them.
"""

from qabot.index.records import StoredChunk


class EmbeddingStore:
    """The chunk-embedding methods of ``index.store.Store`` (its ``db``, ``lock`` and ``transaction()``)."""

    def chunks_without_embedding(self, model: str, *, limit: int = 256) -> list[StoredChunk]:
        """Chunks that have no stored embedding by ``model`` yet, oldest first (schema 3).

        :param model: the embedding model's name.
        :param limit: at most this many.
        """
        with self.lock:
            rows = self.db.execute(
                "SELECT c.id, c.article_id, c.ordinal, c.char_start, c.char_end, c.text FROM chunks c"
                " LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id AND e.model = ?"
                " WHERE e.chunk_id IS NULL ORDER BY c.id LIMIT ?",
                [model, limit],
            ).fetchall()
        return [StoredChunk(*row) for row in rows]

    def set_embeddings(self, model: str, vectors: dict[int, bytes]) -> None:
        """Store chunk embeddings (replacing any older ones); chunks removed meanwhile are skipped.

        :param model: the embedding model's name.
        :param vectors: the embedding of each chunk id, as bytes (the caller's encoding).
        """
        with self.lock, self.transaction():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO chunk_embeddings (chunk_id, model, vector)"
                " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ?)",
                [(chunk_id, model, vector, chunk_id) for chunk_id, vector in vectors.items()],
            )

    def embeddings(self, model: str, chunk_ids: list[int]) -> dict[int, bytes]:
        """The stored embeddings by ``model`` of these chunks (chunks without one are left out)."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        with self.lock:
            rows = self.db.execute(
                f"SELECT chunk_id, vector FROM chunk_embeddings WHERE model = ? AND chunk_id IN ({marks})",
                [model, *chunk_ids],
            ).fetchall()
        return dict(rows)
