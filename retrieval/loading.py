"""Choosing the reader: the extractive QA model when it loads, else the offline sentence reader.

``QABOT_QA_MODEL=builtin`` (the default) is qabot's own small QA model, shipped inside the package
(``retrieval/builtin_reader``: weights, tokenizer, model card and profile); a hub id or a local
folder is one setting away. The span reader's threshold and fusion weight come from the model's
profile (``models.profile``) unless ``QABOT_NO_ANSWER_THRESHOLD`` is set.

``load_reader`` never fails: when the model cannot be loaded (no network and no local copy, a
broken cache, transformers missing) it logs why, once, and returns the sentence reader, whose
answers say ``reader: "sentence"``.
"""

import functools
import importlib.resources
import logging

from qabot.retrieval.encoder import Encoder, encoder_installed
from qabot.retrieval.sentence_reader import SentenceReader

log = logging.getLogger(__name__)

#: ``QABOT_QA_MODEL`` value that skips the QA model and always uses the sentence reader.
SENTENCE = "sentence"
#: ``QABOT_QA_MODEL`` value for the QA model shipped inside the package (the default).
BUILTIN = "builtin"


def builtin_folder() -> str:
    """The folder of the builtin reader's weights, tokenizer, model card and profile."""
    return str(importlib.resources.files("qabot.retrieval") / "builtin_reader")


def model_location(model: str) -> str:
    """The hub id or folder ``QABOT_QA_MODEL`` names (``builtin``: the packaged folder)."""
    return builtin_folder() if model == BUILTIN else model


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

    :param model: ``"builtin"``, a hub id or local directory of an extractive QA model, or ``"sentence"``.
    :param quantize: ``"int8"`` for dynamic int8 quantisation of the model's linear layers.
    :param use_encoder: let the sentence reader use the all-MiniLM-L6-v2 encoder if installed.
    :param no_answer_threshold: the span reader's no-answer threshold (None: its profile's).
    """
    if model != SENTENCE:
        try:
            from qabot.retrieval.reader import ExtractiveReader

            reader = ExtractiveReader(model_location(model), quantize=quantize)
            reader.warm_up()
            calibrate(reader, no_answer_threshold)
            return reader
        except (ImportError, OSError, ValueError, RuntimeError) as error:
            log.warning(
                "The QA model %s could not be loaded (%s); answering with the sentence reader.%s",
                model,
                str(error).splitlines()[0] if str(error) else type(error).__name__,
                "" if model == BUILTIN else " To use it: `qabot download-model` where the Hugging Face hub is "
                "reachable, or set QABOT_QA_MODEL to a local model folder; QABOT_QA_MODEL=sentence says this "
                "no more.",
            )
    reader = sentence_reader(use_encoder=use_encoder)
    reader.warm_up()
    return reader


def calibrate(reader, no_answer_threshold: float | None = None):
    """Give a loaded span reader its profile's no-answer rule and fusion weight (``models.profile``).

    :param no_answer_threshold: overrides the profile's threshold (``QABOT_NO_ANSWER_THRESHOLD``).
    :returns: the profile applied (``models.profile.ReaderProfile``), or None when it has none.
    """
    from qabot.models.profile import load_profile, profile_path

    profile = load_profile(reader.model, reader.weights_folder) if reader.weights_folder else None
    if profile:
        reader.fusion_weight = profile.fusion_weight
        reader.no_answer_threshold = profile.no_answer_threshold
        reader.no_answer_bm25_weight = profile.no_answer_bm25_weight
        reader.no_answer_lead_weight = profile.no_answer_lead_weight
        reader.kind_weight = profile.kind_weight
        reader.sentence_weight = profile.sentence_weight
        reader.no_answer_agreement_weight = profile.no_answer_agreement_weight
        reader.no_answer_coverage_weight = profile.no_answer_coverage_weight
        log.info("reader profile %s: %s", profile_path(reader.model), reader.rule)
    elif no_answer_threshold is None:
        log.info("the QA model %s has no profile: its no-answer threshold is untuned (margin %s); "
                 "`qabot tune --squad FILE` writes one", reader.model, reader.no_answer_threshold)
    if no_answer_threshold is not None:
        reader.no_answer_threshold = no_answer_threshold
    return profile
