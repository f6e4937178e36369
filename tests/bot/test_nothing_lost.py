"""Nothing of an article is lost: every way of adding keeps every sentence, and `qabot search` finds it.

A text whose first line is no title (a paragraph on one line, a hard-wrapped one) is stored whole,
with a title made from its beginning; ``--title`` keeps all of a file's text too. Each way a user
adds an article (a file, a folder, JSONL, stdin, a URL, a PDF, Telegram's /add with text and with
a document) is followed by a `qabot search` for each sentence of the source.
"""

import json
import re

import pytest
from click.testing import CliRunner

from qabot.bot.cli import cli
from tests.bot.conftest import ADMIN, rendered, replies
from tests.page_server import PageServer, page
from tests.pdf_documents import typeset

#: A text with no title line: its first paragraph is one long line.
NO_TITLE = (
    "Velocab, the bicycle-sharing company founded in Aldermoor, will move its headquarters to Leeds "
    "next spring, its chief executive Hana Okafor said on Tuesday.\n\n"
    "The company employs 340 people and runs 12,000 bicycles in nine cities. "
    "About 120 jobs will move to the new office beside Leeds station.\n\n"
    "Okafor said the move would cut the firm's rent by 2.4 million pounds a year."
)
#: A hard-wrapped text, its first line part of the first sentence.
WRAPPED = (
    "Harbour pilots in Porthaven voted on Friday to strike for\n"
    "three days in January over a new rota that they say leaves\n"
    "ships waiting overnight in bad weather.\n\n"
    "The port authority said 46 pilots took part in the vote and\n"
    "that talks would resume at the conciliation service on Monday."
)


def sentences(text: str) -> list[str]:
    """The text's sentences (and lines standing alone between blank lines), each on one line."""
    return [
        sentence
        for paragraph in re.split(r"\n\s*\n", text)
        for sentence in re.split(r"(?<=[.!?])\s+", squash(paragraph))
        if sentence
    ]


def squash(text: str) -> str:
    return " ".join(text.split())


def unfound(run, text: str) -> list[str]:
    """The sentences of ``text`` that `qabot search` does not show in one of its first 3 passages."""
    missed = []
    for sentence in sentences(text):
        result = run("search", sentence, "--k", "3", "--json")
        assert result.exit_code == 0, result.output
        if not any(sentence in squash(hit["text"]) for hit in json.loads(result.stdout)["hits"]):
            missed.append(sentence)
    return missed


@pytest.fixture
def qabot(monkeypatch, tmp_path):
    """Run ``qabot --db <a new file> ARGS...`` (each test its own collection); returns click's Result."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QABOT_ENCODER", "off")
    monkeypatch.setenv("QABOT_ALLOW_PRIVATE_URLS", "1")
    db = tmp_path / "collection.db"

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, ["--db", str(db), *args], input=input)

    return run


def added(result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


@pytest.mark.parametrize("text", [NO_TITLE, WRAPPED], ids=["one-line paragraph", "hard-wrapped"])
def test_a_file_without_a_title_line_is_stored_whole_with_a_title_made_from_it(qabot, tmp_path, text):
    (tmp_path / "body.txt").write_text(text)
    assert added(qabot("add", "body.txt")).startswith("Added article 1: " + text.split()[0])
    assert unfound(qabot, text) == []


def test_title_given_for_a_file_keeps_all_of_its_text(qabot, tmp_path):
    (tmp_path / "body.txt").write_text("Velocab moves north\n\n" + NO_TITLE)
    assert added(qabot("add", "body.txt", "--title", "Velocab to Leeds")).startswith("Added article 1: Velocab to Leeds")
    assert unfound(qabot, "Velocab moves north\n\n" + NO_TITLE) == []


def test_a_title_line_is_still_the_title(qabot, tmp_path):
    (tmp_path / "titled.md").write_text("Velocab moves north\n\n" + NO_TITLE)
    assert added(qabot("add", "titled.md")).startswith("Added article 1: Velocab moves north (")
    assert unfound(qabot, NO_TITLE) == []


def test_a_folder_and_a_jsonl_file_keep_every_sentence(qabot, tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "velocab.txt").write_text(NO_TITLE)
    (tmp_path / "folder" / "pilots.jsonl").write_text(json.dumps({"title": "Pilots vote", "text": WRAPPED}) + "\n")
    assert added(qabot("import", "folder")).endswith("2 added, 0 skipped, 0 failed\n")
    assert unfound(qabot, NO_TITLE + "\n\n" + WRAPPED) == []


def test_stdin_without_a_title_keeps_every_sentence(qabot):
    assert added(qabot("add", "-", input=WRAPPED)).startswith("Added article 1: Harbour pilots in Porthaven")
    assert unfound(qabot, WRAPPED) == []


def test_a_plain_text_url_and_a_web_page_keep_every_sentence(qabot):
    with PageServer() as pages:
        pages.routes["/velocab.txt"] = page(NO_TITLE, "text/plain; charset=utf-8")
        assert added(qabot("add", pages.url("/velocab.txt"), "--title", "Velocab to Leeds")).startswith(
            "Added article 1: Velocab to Leeds"
        )
        paragraphs = WRAPPED.split("\n\n")
        html = "<html><head><title>Pilots vote to strike</title></head><body><article>" + "".join(
            f"<p>{p}</p>" for p in paragraphs
        ) + "</article></body></html>"
        pages.routes["/pilots"] = page(html, "text/html; charset=utf-8")
        assert added(qabot("add", pages.url("/pilots"))).startswith("Added article 2: ")
    assert unfound(qabot, NO_TITLE + "\n\n" + WRAPPED) == []


def test_a_pdf_keeps_every_sentence_and_takes_a_given_title(qabot, tmp_path):
    printed = typeset([("Velocab", NO_TITLE.split("\n\n"))], title="Company news", metadata=False)
    (tmp_path / "news.pdf").write_bytes(printed.data)
    assert added(qabot("add", "news.pdf", "--title", "Velocab to Leeds")).startswith("Added article 1: Velocab to Leeds")
    assert unfound(qabot, NO_TITLE) == []


async def test_telegram_add_text_and_document_keep_every_sentence(bot, server, db_path):
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command("add", NO_TITLE, user_id=ADMIN))
    assert rendered(reply).text.startswith("Added article 9: Velocab, the bicycle-sharing company")
    (reply,) = await replies(
        server,
        ADMIN,
        lambda: server.inject_document(WRAPPED.encode(), file_name="pilots.txt", caption="/add Pilots vote", user_id=ADMIN),
    )
    assert rendered(reply).text.startswith("Added article 10: Pilots vote")

    def run(*args):
        return CliRunner().invoke(cli, ["--db", str(db_path), *args], env={"QABOT_ENCODER": "off"})

    assert unfound(run, NO_TITLE + "\n\n" + WRAPPED) == []
