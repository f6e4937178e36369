"""bot/progress.py: the long commands report progress on stderr when it is not a terminal."""

import json

import pytest
from click.testing import CliRunner

from qabot.bot import progress as progress_module
from qabot.bot.cli import cli
from qabot.bot.progress import Progress, tracked
from tests.conftest import ROOT, SAMPLE_ARTICLES

MINI_SQUAD = ROOT / "tests" / "fixtures" / "squad-mini.json"
OFFLINE = {"QABOT_QA_MODEL": "sentence", "QABOT_ENCODER": "off"}


@pytest.fixture
def every_update(monkeypatch):
    """A progress line at every update (instead of every 10 s), so that a short run shows them."""
    monkeypatch.setattr(progress_module, "EVERY_SECONDS", 0)


def lines_of(text: str) -> list[str]:
    """The progress lines, with their times (``, 0 s``) cut off."""
    return [line.rsplit(", ", 1)[0] for line in text.splitlines()]


# (capsys: stderr as a pipe sees it, not a terminal)


def test_lines_count_up_to_the_total_and_the_last_one_is_not_repeated(every_update, capsys):
    assert list(tracked(["a", "b", "c"], 3, label="asking", unit="question")) == ["a", "b", "c"]
    printed = capsys.readouterr().err
    assert lines_of(printed) == ["asking: 1/3 questions", "asking: 2/3 questions", "asking: 3/3 questions"]
    assert printed.splitlines()[0].endswith(" s")


def test_a_run_shorter_than_the_interval_prints_nothing(capsys):
    with Progress(2, label="reading", unit="question") as progress:
        progress.update(2)
    assert capsys.readouterr().err == ""


def test_after_a_line_the_end_is_shown_too(monkeypatch, capsys):
    with Progress(None, label="importing", unit="article") as progress:
        progress.update()  # shorter than the interval: no line
        monkeypatch.setattr(progress_module, "EVERY_SECONDS", 0)
        progress.update()
        monkeypatch.setattr(progress_module, "EVERY_SECONDS", 3600)
        progress.update(3)
    assert lines_of(capsys.readouterr().err) == ["importing: 2 articles", "importing: 5 articles"]


@pytest.fixture
def qabot(monkeypatch, tmp_path, db_path):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("QABOT_DB", raising=False)

    def run(*args: str):
        return CliRunner().invoke(cli, ["--db", str(db_path), *args], env=OFFLINE)

    return run


def test_eval_squad_prints_progress_lines_on_stderr_and_json_on_stdout(qabot, every_update):
    result = qabot("eval", "--squad", str(MINI_SQUAD), "--limit", "3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["questions"] == 3
    assert lines_of(result.stderr) == [f"asking: {n}/3 questions" for n in (1, 2, 3)]


def test_import_of_a_folder_prints_progress_lines(qabot, every_update):
    articles = len(list(SAMPLE_ARTICLES.glob("*.md")))
    result = qabot("import", str(SAMPLE_ARTICLES))
    assert result.exit_code == 0, result.output
    assert lines_of(result.stderr) == [f"importing: {n}/{articles} articles" for n in range(1, articles + 1)]
    assert result.stdout == f"{articles} added, 0 skipped, 0 failed\n"
