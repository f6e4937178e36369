"""training: SQuAD files → examples with open-domain negatives → a QA model, its card and weights."""

import json
import random

import pytest
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from training import reader as training
from training.examples import MalformedTrainingFile, load_questions, other_paragraph
from tests.conftest import ROOT

MINI = ROOT / "tests" / "fixtures" / "squad-mini.json"


def test_negatives_are_other_paragraphs_of_the_article_without_the_answer():
    questions = load_questions([MINI])
    assert any(not q.answers for q in questions)  # SQuAD 2.0's unanswerable ones are kept
    for question in questions:
        negative = other_paragraph(question)
        if negative is None:
            continue
        assert negative.context != question.article[question.paragraph]
        assert negative.answer_start is None and negative.kind == "other paragraph"
        assert not any(text.lower() in negative.context.lower() for text, _ in question.answers)


def test_a_file_twice_is_read_once_and_a_bad_file_is_refused(tmp_path):
    assert len(load_questions([MINI, MINI])) == len(load_questions([MINI]))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"data": [{"paragraphs": [{"context": "Ada.", "qas": [
        {"question": "Who?", "answers": [{"text": "Bob", "answer_start": 0}]}]}]}]}))
    with pytest.raises(MalformedTrainingFile, match="not at its offset"):
        load_questions([bad])


def test_a_window_labels_the_answer_tokens_or_cls():
    tokenizer = AutoTokenizer.from_pretrained(training.default_init())
    rng = random.Random(0)
    for example in training.build_examples(load_questions([MINI]), negatives=1.0, unanswerable_repeat=1, seed=0):
        ids, _, start, end = training.window(tokenizer, example, max_len=48, stride=16, rng=rng)
        if example.answer_start is None:
            assert (start, end) == (0, 0)
        else:
            decoded = tokenizer.decode(ids[start:end + 1])
            assert decoded.replace(" ", "").lower() == example.answer.replace(" ", "").lower()


def test_training_writes_float16_weights_tokenizer_card_and_a_resumable_checkpoint(tmp_path):
    out = tmp_path / "reader"
    args = ["--train", str(MINI), "--out", str(out), "--steps", "2", "--batch-size", "2", "--max-len", "64",
            "--stride", "16"]
    assert training.main(args) == 0
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md", "recipe.json",
            "checkpoint.pt"} <= {p.name for p in out.iterdir()}
    model = AutoModelForQuestionAnswering.from_pretrained(out)
    assert str(next(model.parameters()).dtype) == "torch.float16"
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["steps"] == 2 and recipe["windows"] == 4
    card = (out / "README.md").read_text()
    assert "--steps 2 --batch-size 2" in card and "Apache-2.0" in card and "CC BY-SA 4.0" in card
    assert training.main(args + ["--resume"]) == 0  # already at its last step: saves again
    assert json.loads((out / "recipe.json").read_text())["steps"] == 2


def test_a_malformed_training_file_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert training.main(["--train", str(bad), "--out", str(tmp_path / "o"), "--steps", "1"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
