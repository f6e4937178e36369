"""``qabot eval``: answer tests and the SQuAD benchmark from the command line, exit codes included."""

import json
import re
import textwrap

import pytest
from click.testing import CliRunner

from qabot.bot.cli import cli
from qabot.index.store import Store
from tests.conftest import ROOT, SAMPLE_ARTICLES
from tests.evaluation.test_answer_test_files import time_limit

EXAMPLES = ROOT / "examples" / "answers.yaml"
HELDOUT = ROOT / "examples" / "heldout" / "answers.yaml"
MINI_SQUAD = ROOT / "tests" / "fixtures" / "squad-mini.json"
#: The offline sentence reader, words only: fast and the same on every machine.
OFFLINE = {"QABOT_QA_MODEL": "sentence", "QABOT_ENCODER": "off"}


@pytest.fixture
def qabot(monkeypatch, tmp_path, db_path):
    """Run ``qabot --db <tmp file> ARGS...`` offline; returns click's Result."""
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.delenv("QABOT_DB", raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, ["--db", str(db_path), *args], env=OFFLINE)

    return run


def write(tmp_path, text: str):
    path = tmp_path / "answers.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return str(path)


def sample_file(tmp_path, cases: str) -> str:
    return write(tmp_path, f"articles:\n  - {SAMPLE_ARTICLES}\ncases:\n" + textwrap.indent(textwrap.dedent(cases), "  "))


def test_every_case_passing_exits_0_with_a_line_per_case_and_a_summary(qabot, tmp_path):
    path = sample_file(
        tmp_path,
        """
        - question: When did Putin last visit Pyongyang?
          expect: July 2000
          source: Pyongyang
        - question: Who won the men's singles title at Wimbledon in 2024?
          no_answer: true
        """,
    )
    result = qabot("eval", path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("PASS") and "answers.yaml:5 (case 1)" in lines[0]
    assert 'expected: "July 2000", from \'Pyongyang\'' in lines[0] and "July 2000" in lines[0].split("got:")[1]
    assert "Putin and Kim sign strategic partnership treaty" in lines[0] and " s  " in lines[0]
    assert lines[1].startswith("PASS") and "expected: no answer  | got: (no answer)" in lines[1]
    summary = "\n".join(lines[2:])
    assert "passed:      2 of 2 (100.0%)" in summary and "citations:   100.0% of 1 case with source" in summary
    assert "exact match:" in summary and "F1" in summary and "p50" in summary and "p95" in summary
    assert "reader:      sentence, encoder off" in summary


def test_a_failing_case_exits_1_and_says_why(qabot, tmp_path):
    path = sample_file(
        tmp_path,
        """
        - question: When did Putin last visit Pyongyang?
          expect: March 1999
        - question: How many smart kettles is Lumora recalling?
          expect: 184,000
        """,
    )
    result = qabot("eval", path)
    assert result.exit_code == 1, result.output
    first, second = result.stdout.splitlines()[:2]
    assert first.startswith("FAIL") and first.endswith('| expected "March 1999"')
    assert second.startswith("PASS")
    assert "passed:      1 of 2 (50.0%)" in result.stdout


@pytest.mark.slow
def test_a_catastrophic_expect_regex_fails_its_case_and_the_run_goes_on(qabot, tmp_path):
    path = sample_file(
        tmp_path,
        r"""
        - question: When did Putin last visit Pyongyang?
          expect_regex: '^(.|.)*\d{5}$'
        - question: When did Putin last visit Pyongyang?
          expect_regex: 'July \d{4}'
        """,
    )
    with time_limit(90):
        result = qabot("eval", path)
    assert result.exit_code == 1, result.output
    first, second = result.stdout.splitlines()[:2]
    assert first.startswith("FAIL") and first.endswith("(catastrophic backtracking: simplify it)")
    assert second.startswith("PASS")


def test_k_lets_a_case_pass_on_a_later_answer(qabot, tmp_path):
    path = sample_file(
        tmp_path,
        """
        - question: How many stops does the Riverside Line have?
          expect: 17 stops
        """,
    )
    assert qabot("eval", path).exit_code == 1  # the sentence reader puts it third
    result = qabot("eval", path, "--k", "3")
    assert result.exit_code == 0 and "top 3 answers checked" in result.stdout


def test_a_malformed_file_exits_2_naming_the_line_and_case(qabot, tmp_path):
    path = write(
        tmp_path,
        """
        cases:
          - question: When did Putin last visit Pyongyang?
            expect: July 2000
          - question: Where?
            expected: Pyongyang
        """,
    )
    result = qabot("eval", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "answers.yaml:4 (case 2): unknown key 'expected'" in result.stderr


def test_an_article_that_cannot_be_loaded_exits_2(qabot, tmp_path):
    path = write(tmp_path, "articles:\n  - nowhere.md\ncases:\n  - {question: 'Q?', expect: x}\n")
    result = qabot("eval", path)
    assert result.exit_code == 2 and "answers.yaml:2 (article 1): nowhere.md: no such file" in result.stderr


def test_json_is_one_object_with_a_summary(qabot, tmp_path):
    path = sample_file(
        tmp_path,
        """
        - question: When did Putin last visit Pyongyang?
          expect: [July 2000, "2000"]
          source: Pyongyang
        - question: What was the magnitude of the earthquake that struck Taiwan in April 2024?
          no_answer: true
        - question: How many smart kettles is Lumora recalling?
          expect: "1"
          source: Tethys
        """,
    )
    result = qabot("eval", path, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert set(data) == {"cases", "summary"}
    assert data["summary"]["cases"] == 3 and data["summary"]["passed"] == 2
    assert data["summary"]["citation_accuracy"] == 0.5 and data["summary"]["scored_cases"] == 2
    first = data["cases"][0]
    assert set(first) == {
        "where", "question", "passed", "expected", "got", "no_answer", "cited", "seconds",
        "exact_match", "f1", "failures",
    }
    assert first["expected"] == {"expect": ["July 2000", "2000"], "source": "Pyongyang"}
    assert first["cited"]["title"].startswith("Putin and Kim")
    assert data["cases"][2]["failures"] == ["expected the source 'Tethys'"]


def test_the_configured_collection_is_used_without_articles(qabot, tmp_path, db_path):
    path = write(tmp_path, "- question: How many smart kettles is Lumora recalling?\n  expect: 184,000\n")
    missing = qabot("eval", path)
    assert missing.exit_code == 1 and f"no collection at {db_path} (set QABOT_DB or --db" in missing.stderr
    assert not db_path.exists()  # eval without articles: only reads
    Store(db_path).close()
    empty = qabot("eval", path)
    assert empty.exit_code == 1 and f"the collection {db_path} is empty" in empty.stderr
    assert f"(or list articles: in {path})" in empty.stderr
    assert qabot("import", str(SAMPLE_ARTICLES)).exit_code == 0
    assert qabot("eval", path).exit_code == 0


#: Cases of examples/answers.yaml the builtin reader passed, encoder off, when this was written
#: (of 88; the stage-1 reader passed 69 and 71, the second-run reader 66, 68 with the encoder; 72
#: and 74 reading wider windows with the ranking and no-answer rule of retrieval.span_ranking, whose
#: threshold was chosen on this file too: not a held-out measure, examples/heldout/ is). 74 (76
#: with the encoder) since a bare number takes the word the question counts ("212 people").
#: Every case is kept; a change that loses cases fails here.
BUILTIN_PASSED = 74


#: Cases of examples/heldout/answers.yaml (116: 86 answerable, 30 close but unanswered) the builtin
#: reader passed, encoder off, when this test was written: 81 (80 with the encoder). The set is a
#: measurement only: nothing was ever tuned on it (CONTRIBUTING.md).
HELDOUT_PASSED = 81


def builtin_eval(path, db_path) -> tuple[int, str]:
    """``qabot eval PATH`` with the builtin reader, encoder off: the cases passed, and the output."""
    result = CliRunner().invoke(cli, ["--db", str(db_path), "eval", str(path)],
                                env={"QABOT_QA_MODEL": "builtin", "QABOT_ENCODER": "off"})
    assert result.exit_code in (0, 1), result.output
    return result.stdout.count("\nPASS") + result.stdout.startswith("PASS"), result.stdout


@pytest.mark.slow
def test_the_heldout_set_with_the_builtin_reader_passes_what_it_measured(tmp_path, db_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    passed, output = builtin_eval(HELDOUT, db_path)
    assert passed >= HELDOUT_PASSED and "of 116 (" in output


@pytest.mark.slow
def test_the_example_file_with_the_builtin_reader_passes_what_it_measured(tmp_path, db_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    passed, output = builtin_eval(EXAMPLES, db_path)
    cases = len([line for line in EXAMPLES.read_text().splitlines() if "question:" in line])
    assert passed >= BUILTIN_PASSED
    assert f"of {cases} (" in output and "reader:      span (" in output


@pytest.mark.parametrize(
    "args",
    [
        ["eval"],
        ["eval", "a.yaml", "--squad", str(MINI_SQUAD)],
        ["eval", "--squad", str(MINI_SQUAD), "--k", "2"],
        ["eval", str(EXAMPLES), "--limit", "3"],
        ["eval", "no-such-file.yaml"],
    ],
)
def test_wrong_usage_exits_2(qabot, args):
    assert qabot(*args).exit_code == 2


def test_squad_json_shape(qabot):
    result = qabot("eval", "--squad", str(MINI_SQUAD), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert set(summary) == {
        "file", "limit", "seed", "version", "paragraphs", "questions", "answerable", "unanswerable",
        "reader", "model", "encoder", "recall", "exact_match", "f1", "answered", "sentence_accuracy",
        "no_answer_accuracy", "time_p50_s", "time_p95_s",
    }
    assert summary["version"] == "v2.0" and summary["paragraphs"] == 3
    assert (summary["questions"], summary["answerable"], summary["unanswerable"]) == (8, 6, 2)
    assert summary["reader"] == "sentence" and summary["model"] is None and summary["encoder"] is False
    assert set(summary["recall"]) == {"answer", "paragraph"}
    assert list(summary["recall"]["answer"]) == ["@1", "@5", "@10", "@20"]


def test_squad_limit_and_seed_draw_a_sample(qabot):
    result = qabot("eval", "--squad", str(MINI_SQUAD), "--limit", "3", "--seed", "7")
    assert result.exit_code == 0, result.output
    assert "8 questions" not in result.stdout and "3 questions" in result.stdout
    assert "retrieval recall" in result.stdout and "unanswerable" in result.stdout
    assert "reader: sentence; search: BM25" in result.stdout


def test_a_malformed_squad_file_exits_2(qabot, tmp_path):
    (tmp_path / "bad.json").write_text('{"data": [{"paragraphs": [{"qas": []}]}]}')
    result = qabot("eval", "--squad", str(tmp_path / "bad.json"))
    assert result.exit_code == 2 and "data[0].paragraphs[0]" in result.stderr


def test_the_readme_example_passes(qabot, tmp_path):
    """The answer-test example in README.md, run beside the sample articles."""
    block = re.search(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    (tmp_path / "articles").symlink_to(SAMPLE_ARTICLES, target_is_directory=True)
    result = qabot("eval", write(tmp_path, block.group(1)))
    assert result.exit_code == 0, result.output
