"""training: SQuAD files → examples with open-domain negatives → a QA model, its card and weights."""

import json
import random

import pytest
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from qabot.training import card
from qabot.training import reader as training
from qabot.training.examples import (
    MalformedTrainingFile,
    answer_removed,
    load_questions,
    names,
    other_paragraph,
    split_sentences,
    swapped_name,
)
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


def test_answer_removed_negatives_are_the_own_paragraph_without_the_answer_sentences():
    made = 0
    for question in load_questions([MINI]):
        negative = answer_removed(question)
        if negative is None:
            continue
        made += 1
        paragraph = question.article[question.paragraph]
        sentences = {paragraph[s.start:s.end] for s in split_sentences(paragraph)}
        kept = {negative.context[s.start:s.end] for s in split_sentences(negative.context)}
        assert kept < sentences and negative.answer_start is None and negative.kind == "answer removed"
        assert not any(text.lower() in negative.context.lower() for text, _ in question.answers)
    assert made == 6  # every answerable question (the other two are SQuAD 2.0 unanswerable)


def test_swapped_name_negatives_ask_about_a_name_the_paragraph_never_mentions():
    questions = load_questions([MINI])
    pool = [name for question in questions for name in names(question.question)] + ["1871", "2024"]
    assert names("How tall is the Saltmere lighthouse of Vale of Pellan in 1994?") == [
        "Saltmere", "Vale of Pellan", "1994"]
    rng = random.Random(0)
    made = 0
    for question in questions:
        negative = swapped_name(question, pool, rng)
        if negative is None:
            continue
        made += 1
        paragraph = question.article[question.paragraph].lower()
        old = [n for n in names(question.question) if n not in negative.question]
        new = [n for n in names(negative.question) if n not in question.question]
        assert len(old) == 1 and old[0].lower() in paragraph  # one name the paragraph has ...
        assert new and all(n.lower() not in paragraph for n in new)  # ... became one it never mentions
        assert negative.context == question.article[question.paragraph] and negative.answer_start is None
    assert made == 4


def test_every_kind_of_negative_is_in_the_mix_when_asked_for_and_none_when_not():
    questions = load_questions([MINI])
    mixed = training.build_examples(questions, negatives=1.0, removed=1.0, swapped=1.0, unanswerable_repeat=1, seed=0)
    assert {e.kind for e in mixed} == {"answerable", "unanswerable", "other paragraph", "answer removed", "swapped name"}
    plain = training.build_examples(questions, negatives=0.0, unanswerable_repeat=1, seed=0)
    assert {e.kind for e in plain} == {"answerable", "unanswerable"}


def test_the_card_of_a_model_trained_on_from_an_earlier_run_shows_both_runs(tmp_path):
    stage = {"init": "encoder", "train": ["a.json"], "steps": 3, "batch_size": 2, "windows": 6, "lr": 4e-05,
             "weight_decay": 0.01, "warmup": 0.05, "max_len": 64, "stride": 16, "negatives": 0.3,
             "unanswerable_repeat": 2, "seed": 1, "minutes": 1.0, "threads": 2, "examples": 10,
             "kinds": {"answerable": 5, "other paragraph": 1, "unanswerable": 0},
             "loss_first_50": 2.0, "loss_last_50": 1.0}
    later = {**stage, "init": "stage1", "seed": 2, "removed": 0.3, "swapped": 0.4, "init_recipe": stage,
             "kinds": {"answerable": 4, "other paragraph": 1, "answer removed": 2, "swapped name": 3, "unanswerable": 1}}
    (tmp_path / "recipe.json").write_text(json.dumps(later))
    text = card.write(tmp_path).read_text()
    assert "### Stage 1 of 2" in text and "### Stage 2 of 2" in text
    assert text.index("--init encoder") < text.index("--out stage1`") < text.index("--init stage1 ")
    assert "3 asked with a name swapped" in text and "--removed 0.3 --swapped 0.4" in text


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


@pytest.mark.slow
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
