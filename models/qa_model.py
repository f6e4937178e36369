"""The span reader's QA model: loaded once from a folder, the local cache or the hub, ready to run.

Part of ``models/``: ``retrieval.reader``'s ``warm_up`` calls ``load_qa_model`` once. Where a hub
id's files come from is ``models.model_files``; a plain BERT model runs on ``models.bert`` (torch,
without transformers' slow import), any other ``...ForQuestionAnswering`` model on transformers.
The model must have a trained span head, and its tokenizer must be a fast, right-padding one.

**int8.** ``quantize="int8"`` applies ``torch.ao.quantization.quantize_dynamic`` to the Linear
layers (int8 weights, float activations): 2-3.5x faster here (``benchmarks/reader.py``). Its
published cost for BERT-base is under a point of F1 on MRPC in PyTorch's dynamic quantisation
tutorial; Q8BERT (Zafrir et al. 2019) keeps 87.7 of 88.5 SQuAD 1.1 F1, but with quantisation-aware
training, which this does not do. On the small minilm-squad1 it costs more: answerable F1
66.2 → 63.3, and its logits shift, so a threshold tuned in float32 no longer fits (held out it
declines 89% of the unanswerable questions, but most answerable ones too).
"""

from __future__ import annotations

import os
import warnings

from qabot.models import model_files

#: The ``quantize`` settings: float32 weights as they are, or int8 (above).
QUANTIZE = ("none", "int8")


class NotAQuestionAnsweringModel(ValueError):
    """The model has no trained question-answering (span) head."""


def load_qa_model(
    name: str,
    *,
    quantize: str = "none",
    threads: int | None = None,
    hub_timeout: float = model_files.PROBE_TIMEOUT,
):
    """``(model, tokenizer, where, folder)``: the model and its tokenizer, ready to run; where they
    were loaded from, for the log; and the folder of the weights, which profiles are bound to.

    A local folder is loaded as it is. A hub id is loaded from the local Hugging Face cache; when it
    is not there the hub is asked once, with a short timeout, unless offline mode is on or the hub
    was found unreachable in the last hour (``models.model_files``).

    :param name: a hub id (``deepset/tinyroberta-squad2``) or a local folder of a
        ``...ForQuestionAnswering`` model with a fast tokenizer.
    :param quantize: ``"int8"`` for dynamic int8 quantisation of the Linear layers, or ``"none"``.
    :param threads: torch threads; None keeps torch's default, capped at the CPUs this process may use.
    :param hub_timeout: seconds to wait for the hub when the model is not cached.
    :raises models.model_files.ModelUnavailable: (an OSError) the model is not on disk and cannot
        be downloaded now; the message is one line.
    :raises NotAQuestionAnsweringModel: (a ValueError) the model has no trained span head.
    :raises ValueError: the tokenizer is not a fast, right-padding one.
    """
    model, tokenizer, where, folder = _load(name, hub_timeout)
    if not getattr(tokenizer, "is_fast", False) or tokenizer.padding_side != "right":
        raise ValueError(f"{name}: the reader needs a fast, right-padding tokenizer")
    if quantize == "int8":
        model = _quantize_int8(model)
    _set_threads(threads)
    return model, tokenizer, where, folder


def _load(name: str, hub_timeout: float):
    """``(model, tokenizer, where, folder)``: from a folder, the local cache, or the hub once."""
    if model_files.is_local(name):
        folder = os.path.expanduser(name)
        if not os.path.isdir(folder):
            raise model_files.ModelUnavailable(f"no model folder at {folder}")
        return (*_from_pretrained(name, folder), folder, folder)
    if model_files.cached(name):
        try:
            return (*_from_pretrained(name, name), "the local Hugging Face cache",
                    model_files.cached_folder(name))
        except NotAQuestionAnsweringModel:
            raise
        except OSError:
            pass  # cached in part only: the hub is asked once, below
    model_files.obtainable(name)
    try:
        files = model_files.probe(name, timeout=hub_timeout)
    except model_files.ModelUnavailable as error:
        raise model_files.ModelUnavailable(
            f"{name} is not in the local Hugging Face cache, and {error}"
        ) from None
    folder = model_files.download(name, files, timeout=hub_timeout)
    return (*_from_pretrained(name, str(folder)), "the Hugging Face hub", str(folder))


def _from_pretrained(name: str, source: str):
    """``(model, tokenizer)`` of the model ``name`` from ``source``, a folder or a cached hub id."""
    from qabot.models import bert  # torch is imported once a span reader is needed

    if bert.supported(source):
        try:
            return bert.load_question_answering(source)
        except KeyError as missing:
            raise NotAQuestionAnsweringModel(
                f"{name} has no trained question-answering head (it lacks {missing.args[0]})"
            ) from None
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # missing heads are reported below, in one line
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        model, info = AutoModelForQuestionAnswering.from_pretrained(
            source, local_files_only=True, output_loading_info=True
        )
    finally:
        transformers_logging.set_verbosity(verbosity)
    untrained = [key for key in info.get("missing_keys", ()) if "qa_outputs" in key]
    if untrained:
        raise NotAQuestionAnsweringModel(
            f"{name} has no trained question-answering head ({', '.join(sorted(untrained))})"
        )
    return model.float().eval(), tokenizer


def _set_threads(threads: int | None) -> None:
    """Torch's threads: ``threads``, or torch's default capped at the CPUs this process may use."""
    import torch

    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    wanted = threads or min(torch.get_num_threads(), available)
    if wanted != torch.get_num_threads():
        torch.set_num_threads(wanted)


def _quantize_int8(model):
    """Dynamic int8 quantisation of the model's Linear layers (weights int8, activations float)."""
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its move to torchao
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
