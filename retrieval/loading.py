"""Choosing the reader: the extractive QA model when it loads, else the offline sentence reader.

``load_reader`` never fails: when the model cannot be loaded (no network and no local copy, a
broken cache, transformers missing) it logs why, once, and returns the sentence reader, whose
answers say ``reader: "sentence"``.
"""

import functools
import logging

from retrieval.encoder import Encoder, encoder_installed
from retrieval.sentence_reader import SentenceReader

log = logging.getLogger(__name__)

#: ``QABOT_QA_MODEL`` value that skips the QA model and always uses the sentence reader.
SENTENCE = "sentence"


def load_encoder(use_encoder: bool = True) -> Encoder | None:
    """The all-MiniLM-L6-v2 encoder when it is installed and wanted (``QABOT_ENCODER``), else None.

    One instance per process, shared by hybrid search, ingestion and the sentence reader; it loads
    its weights on first use.
    """
    return _shared_encoder() if use_encoder and encoder_installed() else None


@functools.cache
def _shared_encoder() -> Encoder:
    return Encoder()


def reader_model(reader) -> str | None:
    """The model a reader reads with (a hub id or a folder), or None for the sentence reader."""
    model = getattr(reader, "model", None)
    return model if isinstance(model, str) else None


def sentence_reader(*, use_encoder: bool = True) -> SentenceReader:
    """The offline reader, with the all-MiniLM-L6-v2 encoder when it is installed and wanted."""
    return SentenceReader(encoder=load_encoder(use_encoder))


def load_reader(
    model: str,
    *,
    quantize: str = "none",
    use_encoder: bool = True,
    no_answer_threshold: float | None = None,
):
    """The span reader for ``model`` (a hub id or a local folder), warmed up; or the sentence reader.

    :param model: hub id or local directory of an extractive QA model, or ``"sentence"``.
    :param quantize: ``"int8"`` for dynamic int8 quantisation of the model's linear layers.
    :param use_encoder: let the sentence reader use the all-MiniLM-L6-v2 encoder if installed.
    :param no_answer_threshold: the span reader's no-answer threshold (None: its tuned default).
    """
    if model != SENTENCE:
        try:
            from retrieval.reader import DEFAULT_NO_ANSWER_THRESHOLD, ExtractiveReader

            if no_answer_threshold is None:
                no_answer_threshold = DEFAULT_NO_ANSWER_THRESHOLD
            reader = ExtractiveReader(
                model, quantize=quantize, no_answer_threshold=no_answer_threshold
            )
            reader.warm_up()
            return reader
        except (ImportError, OSError, ValueError, RuntimeError) as error:
            log.warning(
                "The QA model %s could not be loaded (%s); answering with the sentence reader. "
                "Run `qabot download-model` where the Hugging Face hub is reachable.",
                model,
                str(error).splitlines()[0] if str(error) else type(error).__name__,
            )
    reader = sentence_reader(use_encoder=use_encoder)
    reader.warm_up()
    return reader
