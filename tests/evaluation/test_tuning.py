"""evaluation.tuning and models.profile: a model's calibration chosen on SQuAD, kept beside it, used."""

import json
import logging
import math
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from qabot.bot.cli import cli
from qabot.evaluation.answer_test_files import AnswerCase
from qabot.evaluation.squad import SquadQuestion, load_squad
from qabot.evaluation.tuning import best_threshold, choose, metrics, outcomes, split
from qabot.models.profile import PROFILE_FILE, ReaderProfile, load_profile, save_profile, weights_digest
from qabot.retrieval.loading import BUILTIN, calibrate, load_reader, model_location
from qabot.retrieval.reader import UNTUNED_NO_ANSWER_THRESHOLD, ExtractiveReader
from qabot.retrieval.span_ranking import MAX_LEAD, Reading, Rule, Span, lead, ranked_spans
from qabot.retrieval.types import Passage
from qabot.retrieval.windows import Window
from tests.conftest import ROOT
from tests.seeded_model import build_seeded_qa_model

MINI = ROOT / "tests" / "fixtures" / "squad-mini.json"


@pytest.fixture(scope="module")
def seeded_folder(tmp_path_factory):
    """A real-architecture QA model saved to a folder of its own (profiles are written beside it)."""
    model, tokenizer = build_seeded_qa_model()
    folder = tmp_path_factory.mktemp("seeded") / "seeded-qa"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_the_threshold_maximises_f1_halfway_between_margins():
    margins = np.array([5.0, 3.0, 1.0, -2.0])
    answered = np.array([[1, 1], [1, 1], [0, 0], [0, 0]], dtype=float)  # the two best are right
    silent = np.array([[0, 0], [0, 0], [1, 1], [1, 1]], dtype=float)  # the two worst unanswerable
    assert best_threshold(margins, answered, silent) == 2.0


def _reading(text: str, logit: float, bm25: float, rival: float | None = None) -> Reading:
    """A reading of one passage whose best span has these logits (null 0) and passage score."""
    passage = Passage(1, 1, "t", None, None, 0, 40, "The answer is here and the other one there.", bm25)
    window = Window(passage, 0, passage.text, ((0, 40),), bm25)
    spans = [Span(0, 4, 10, text, logit, 0.0, bm25)]
    if rival is not None:
        spans.append(Span(0, 30, 39, "other one", rival, 0.0, bm25))
    return Reading((window,), tuple(spans), 0.0, 20)


def test_retrieval_evidence_tells_apart_what_the_margin_alone_cannot():
    questions = [SquadQuestion("a", "q", ("answer",), 0), SquadQuestion("b", "q", (), 0)]
    # the same margin; the answerable question's passage matches it far better, and its reader is sure
    readings = [_reading("answer", 4.0, bm25=20.0), _reading("answer", 4.0, bm25=2.0, rival=3.5)]
    margin_only = outcomes(questions, readings, Rule(0.0))
    assert list(margin_only[0]) == [4.0, 4.0]  # no threshold answers one and not the other
    for rule in (Rule(0.0, bm25_weight=0.2), Rule(0.0, lead_weight=1.0)):
        confidences, answered, silent = outcomes(questions, readings, rule)
        threshold = best_threshold(confidences, answered, silent)
        assert confidences[0] > threshold > confidences[1]
        assert metrics(questions, confidences, answered, silent, threshold)["f1"] == 100.0
    assert lead(readings[1], ranked_spans(readings[1], Rule(0.0))) == 0.5
    assert lead(readings[1], ranked_spans(readings[1], Rule(0.0)), 1) == MAX_LEAD  # nothing ranked after it
    assert lead(readings[0], ranked_spans(readings[0], Rule(0.0))) == MAX_LEAD  # no other answer


def test_questions_are_split_by_article_first_half_chooses():
    squad = load_squad(MINI)
    tune, held = split(squad)
    titles = lambda qs: {squad.paragraphs[q.paragraph].title for q in qs}  # noqa: E731
    assert tune and held and not titles(tune) & titles(held)


@pytest.mark.slow
def test_a_profile_applies_only_to_the_weights_it_was_tuned_for(seeded_folder, caplog):
    digest = weights_digest(seeded_folder)
    save_profile(str(seeded_folder), ReaderProfile(3.5, 0.5, digest, "test", no_answer_bm25_weight=0.2,
                                                   no_answer_lead_weight=0.25))
    assert load_profile(str(seeded_folder), seeded_folder).no_answer_threshold == 3.5
    reader = load_reader(str(seeded_folder), use_encoder=False)
    assert (reader.no_answer_threshold, reader.no_answer_bm25_weight, reader.no_answer_lead_weight) == (3.5, 0.2, 0.25)
    save_profile(str(seeded_folder), ReaderProfile(3.5, 0.5, "0" * 64, "tuned on another model"))
    with caplog.at_level(logging.WARNING):
        assert load_profile(str(seeded_folder), seeded_folder) is None
    assert "tuned for other weights" in caplog.text
    (seeded_folder / PROFILE_FILE).write_text("{not json")
    assert load_profile(str(seeded_folder), seeded_folder) is None
    (seeded_folder / PROFILE_FILE).unlink()


def test_a_model_without_a_profile_is_untuned_and_says_so(seeded_folder, caplog):
    with caplog.at_level(logging.INFO):
        reader = load_reader(str(seeded_folder), use_encoder=False)
    assert reader.name == "span" and reader.no_answer_threshold == UNTUNED_NO_ANSWER_THRESHOLD == 0.0
    assert "no profile" in caplog.text and "untuned" in caplog.text
    calibrate(reader, no_answer_threshold=-math.inf)  # QABOT_NO_ANSWER_THRESHOLD overrides
    assert reader.no_answer_threshold == -math.inf


@pytest.mark.slow
def test_qabot_tune_keeps_a_profile_the_reader_then_uses(seeded_folder, tmp_path, monkeypatch):
    runner = CliRunner(env={"QABOT_QA_MODEL": str(seeded_folder), "QABOT_DB": str(tmp_path / "q.db")})
    monkeypatch.setattr("qabot.bot.progress.EVERY_SECONDS", 0)  # a progress line for every question read
    dry = runner.invoke(cli, ["tune", "--squad", str(MINI), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run: no profile kept" in dry.stdout and not (seeded_folder / PROFILE_FILE).exists()
    assert dry.stderr.startswith("reading: 1/") and " questions, " in dry.stderr  # stderr is no terminal
    result = runner.invoke(cli, ["tune", "--squad", str(MINI), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    kept = json.loads((seeded_folder / PROFILE_FILE).read_text())
    assert report["profile"] == str(seeded_folder / PROFILE_FILE)
    assert kept["no_answer_threshold"] == report["no_answer_threshold"]
    assert kept["weights_sha256"] == weights_digest(seeded_folder)
    assert "squad-mini.json" in kept["tuned_on"] and kept["measured"]["tune"]["questions"] > 0
    reader = load_reader(str(seeded_folder), use_encoder=False)
    assert (reader.no_answer_threshold, reader.fusion_weight) == (kept["no_answer_threshold"], kept["fusion_weight"])
    assert (reader.no_answer_bm25_weight, reader.no_answer_lead_weight) == (
        kept["no_answer_bm25_weight"], kept["no_answer_lead_weight"]) == (
        report["no_answer_bm25_weight"], report["no_answer_lead_weight"])
    assert report["heldout_margin_only"]["questions"] == report["heldout"]["questions"]
    (seeded_folder / PROFILE_FILE).unlink()


ANSWER_TESTS = """\
articles:
  - text: "Saltmere harbour\\nThe Saltmere lighthouse was built in 1871 by the engineer Agnes Whitlow. Its tower is 38 metres tall."
cases:
  - {question: "Who built the Saltmere lighthouse?", expect: Agnes Whitlow}
  - {question: "How tall is the tower of the Saltmere lighthouse?", expect: 38 metres}
  - {question: "Who painted the Saltmere lighthouse red?", no_answer: true}
  - {question: "How old is she?", after: "Who built the Saltmere lighthouse?", expect: x}
"""


def test_qabot_tune_weighs_answer_tests_into_the_rule_and_reports_them(seeded_folder, tmp_path):
    tests = tmp_path / "mine.yaml"
    tests.write_text(ANSWER_TESTS)
    runner = CliRunner(env={"QABOT_QA_MODEL": str(seeded_folder), "QABOT_DB": str(tmp_path / "q.db"),
                            "QABOT_ENCODER": "off"})
    result = runner.invoke(cli, ["tune", "--squad", str(MINI), "--tests", str(tests), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    counted = report["answer_tests"]  # the standalone cases; a follow-up is left to qabot eval
    assert counted["cases"] == 3
    assert counted["right"] + counted["right_declined"] + counted["wrong_declined"] + counted["wrong_answered"] == 2
    assert counted["no_answer_declined"] + counted["no_answer_answered"] == 1
    kept = json.loads((seeded_folder / PROFILE_FILE).read_text())
    assert "mine.yaml" in kept["tuned_on"] and kept["measured"]["answer_tests"] == counted
    # run again: the profile just kept is the one in use, measured on the same held-out half
    again = json.loads(runner.invoke(cli, ["tune", "--squad", str(MINI), "--tests", str(tests), "--json",
                                           "--dry-run"]).stdout)
    assert again["heldout_current_profile"] == report["heldout"]
    assert report["heldout_current_profile"]["questions"] == report["heldout"]["questions"]
    (seeded_folder / PROFILE_FILE).unlink()

    text = runner.invoke(cli, ["tune", "--squad", str(MINI), "--tests", str(tests), "--dry-run"])
    assert text.exit_code == 0, text.output
    assert f"answer tests ({tests.name}, 3 cases): " in text.stdout and "right answers declined" in text.stdout
    assert "the profile in use (untuned): held out: F1 " in text.stdout

    tests.write_text("cases: 3\n")
    bad = runner.invoke(cli, ["tune", "--squad", str(MINI), "--tests", str(tests)])
    assert bad.exit_code == 2 and "mine.yaml" in bad.stderr and "Traceback" not in bad.output
    assert len(bad.stderr.strip().splitlines()) == 1


def test_qabot_tune_refuses_the_sentence_reader_and_a_bad_file(tmp_path):
    runner = CliRunner(env={"QABOT_QA_MODEL": "sentence", "QABOT_DB": str(tmp_path / "q.db")})
    result = runner.invoke(cli, ["tune", "--squad", str(MINI)])
    assert result.exit_code == 1 and "no QA model to tune" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    runner = CliRunner(env={"QABOT_QA_MODEL": "builtin", "QABOT_DB": str(tmp_path / "q.db")})
    result = runner.invoke(cli, ["tune", "--squad", str(bad)])
    assert result.exit_code == 2 and "Traceback" not in result.output


@pytest.mark.slow
def test_answer_tests_weigh_into_the_ranking_that_qabot_tune_chooses():
    reader = ExtractiveReader(model_location(BUILTIN))
    reader.warm_up()  # its weights are named in the profile; the readings below are made up
    questions = [SquadQuestion("a", "q", ("answer",), 0)]  # SQuAD: the same top span whatever the weights
    readings = [_reading("answer", 4.0, bm25=5.0)]
    # a user's question whose right span, of the kind asked, nearly ties with a wrong one of a wrong kind
    right = replace(Span(0, 4, 10, "answer", 4.9, 0.0, 5.0), agreement=1.0)
    wrong = replace(Span(0, 30, 39, "other one", 5.0, 0.0, 5.0), agreement=-1.0)
    case = AnswerCase("Which one?", "t.yaml:3 (case 1)", expect=("answer",))
    cases = [(case, Reading(readings[0].windows, (wrong, right), 0.0, 20))]
    alone = choose(reader, (questions, readings), ([], []), name="t")
    weighed = choose(reader, (questions, readings), ([], []), name="t", cases=cases)
    assert alone.profile.kind_weight == 0.0  # a tie on SQuAD: the smallest weight
    assert weighed.profile.kind_weight > 0.0
    assert weighed.report["answer_tests"]["right"] == 1
