"""``qabot ask --json`` and ``qabot download-model``, run as a user types them, on the sample collection."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from qabot.bot.cli import cli
from qabot.bot.formatting import ANSWER_KEYS, NO_ANSWER
from tests.conftest import SAMPLE_ARTICLES

PUTIN = "When did Putin last visit Pyongyang?"


@pytest.fixture
def qabot(monkeypatch, tmp_path, db_path):
    """Run ``qabot --db <tmp file> ARGS...`` offline, with QABOT_* settings given per call only."""
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("QABOT_ENCODER", "off")
    for name in ("QABOT_DB", "QABOT_QA_MODEL", "QABOT_QUANTIZE", "QABOT_NO_ANSWER_THRESHOLD"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str, **env: str):
        return runner.invoke(cli, ["--db", str(db_path), *args], env=env)

    return run


@pytest.fixture
def sample(qabot):
    result = qabot("import", str(SAMPLE_ARTICLES))
    assert result.exit_code == 0, result.output
    return qabot


def asked(result) -> dict:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    body = json.loads(result.stdout)
    assert set(body) == {"question", "reader", "no_answer", "answers", "unsure", "notes"}
    assert isinstance(body["no_answer"], bool) and body["no_answer"] == (body["answers"] == [])
    assert body["unsure"] == [] or body["no_answer"]
    assert set(body["notes"]) == {"language", "unsure", "missing"}
    for a in body["answers"] + body["unsure"]:
        assert tuple(a) == ANSWER_KEYS
        assert isinstance(a["score"], float) and isinstance(a["article_id"], int)
        assert a["start"] < a["end"] and a["text"] in a["context"]
    return body


def test_ask_json_with_the_sentence_reader(sample):
    body = asked(sample("ask", PUTIN, "--json", QABOT_QA_MODEL="sentence"))
    assert body["question"] == PUTIN and body["reader"] == "sentence"
    assert "July 2000" in body["answers"][0]["text"]


def test_ask_falls_back_to_the_sentence_reader_when_the_model_is_missing(sample):
    result = sample("ask", PUTIN, "--json", QABOT_QA_MODEL="some-org/not-a-model")
    body = asked(result)
    assert body["reader"] == "sentence" and body["answers"]


@pytest.mark.slow
def test_a_model_that_cannot_be_loaded_is_said_once_in_one_line_with_what_to_do(sample, db_path, tmp_path):
    env = os.environ | {"QABOT_QA_MODEL": "some-org/not-a-model", "QABOT_ENCODER": "off", "HF_HUB_OFFLINE": "1",
                        "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", "from qabot.bot.cli import cli; cli()", "--db", str(db_path), "ask", PUTIN],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0 and "July 2000" in done.stdout
    (warning,) = done.stderr.strip().splitlines()
    assert "some-org/not-a-model could not be loaded" in warning and "HF_HUB_OFFLINE is set" in warning
    for remedy in ("qabot download-model", "local model folder", "QABOT_QA_MODEL=sentence"):
        assert remedy in warning


def test_ask_json_with_the_builtin_span_reader(sample):
    body = asked(sample("ask", PUTIN, "--json", "--k", "2"))
    assert body["reader"] == "span" and not body["no_answer"]
    assert 1 <= len(body["answers"]) <= 2
    best = body["answers"][0]
    assert best["text"] == "July 2000" and "Putin" in best["title"]  # the exact answer
    shown = json.loads(sample("show", str(best["article_id"]), "--json").stdout)
    assert shown["text"][best["start"] : best["end"]] == best["text"]


def test_ask_json_says_when_nothing_answers(sample):
    question = "What is the boiling point of liquid nitrogen?"
    body = asked(sample("ask", question, "--json"))
    assert (body["question"], body["reader"], body["no_answer"], body["answers"]) == (question, "span", True, [])


def test_ask_plain_text_shows_answer_sentence_and_source(sample):
    result = sample("ask", PUTIN)
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert "July 2000" in first
    assert "Before this trip, Putin had been to Pyongyang only once" in result.stdout
    assert "[article 1]" in result.stdout


def test_ask_plain_text_no_answer_shows_the_closest_passages(sample):
    result = sample("ask", "What is the boiling point of liquid nitrogen?")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(NO_ANSWER)


@pytest.mark.slow
def test_a_declined_question_shows_the_sentence_holding_the_likely_answer_marked_not_certain(sample):
    settings = {"QABOT_NO_ANSWER_THRESHOLD": "inf"}  # the builtin reader declines everything
    body = asked(sample("ask", PUTIN, "--json", **settings))
    assert body["no_answer"] and body["notes"] == {"language": None, "unsure": "Not certain, but these come closest:", "missing": None}
    assert body["unsure"][0]["text"] == "July 2000" and body["unsure"][0]["article_id"] == 1
    assert len({(a["article_id"], a["context"]) for a in body["unsure"]}) == len(body["unsure"])  # a sentence each
    shown = sample("ask", PUTIN, **settings).stdout.splitlines()
    assert shown[:2] == [NO_ANSWER, "Not certain, but these come closest:"]
    assert "Before this trip, Putin had been to Pyongyang only once, in [July 2000]" in shown[2]
    assert shown[3].strip().startswith("Putin and Kim sign") and shown[3].endswith("[article 1]")


@pytest.mark.slow
def test_the_no_answer_threshold_setting_reaches_the_span_reader(sample, tmp_path):
    from tests.seeded_model import build_seeded_qa_model

    model, tokenizer = build_seeded_qa_model()
    folder = tmp_path / "seeded-qa"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    ask = lambda threshold: asked(sample(  # noqa: E731
        "ask", PUTIN, "--json", QABOT_QA_MODEL=str(folder), QABOT_NO_ANSWER_THRESHOLD=threshold
    ))
    assert ask("-inf")["answers"] and ask("-inf")["reader"] == "span"
    declined = ask("inf")
    assert declined["no_answer"] and declined["answers"] == [] and declined["unsure"]
    refused = sample("ask", PUTIN, QABOT_NO_ANSWER_THRESHOLD="high")
    assert refused.exit_code == 1 and refused.stdout == "" and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("Error: invalid setting QABOT_NO_ANSWER_THRESHOLD='high'")


def test_ask_on_an_empty_collection_is_refused(qabot):
    result = qabot("ask", PUTIN, "--json", QABOT_QA_MODEL="sentence")
    assert result.exit_code == 1 and result.stdout == ""


# --- download-model -----------------------------------------------------------------------------


def test_download_model_offline_fails_fast_with_one_line(qabot):
    result = qabot("download-model", "deepset/tinyroberta-squad2")
    assert result.exit_code == 1 and result.stdout == ""
    message = result.stderr.strip()
    assert message == "Error: cannot download deepset/tinyroberta-squad2: HF_HUB_OFFLINE is set"


def test_the_builtin_reader_needs_no_download(qabot):
    result = qabot("download-model")
    assert result.exit_code == 0 and "shipped inside qabot: nothing to download" in result.stdout


def test_download_model_takes_the_model_argument(qabot):
    result = qabot("download-model", "some-org/not-a-model")
    assert result.exit_code == 1 and "cannot download some-org/not-a-model" in result.stderr


def test_download_model_of_a_local_folder_has_nothing_to_do(qabot, tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    result = qabot("download-model", QABOT_QA_MODEL=str(folder))
    assert result.exit_code == 0 and "nothing to download" in result.stdout
    missing = qabot("download-model", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "no model folder" in missing.stderr
