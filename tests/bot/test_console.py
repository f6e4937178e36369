"""bot/console.py: the terminal chat driven through its input by a script of lines."""

import io

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.console import HELP, chat
from retrieval.loading import sentence_reader
from tests.page_server import TITLE, PageServer


@pytest.fixture(scope="module")
def reader():
    return sentence_reader(use_encoder=False)


def run_script(store, reader, *lines: str, **options) -> list[str]:
    """Feed the console these lines (then the end of input); the lines it printed."""
    out = io.StringIO()
    chat(store, reader, lines=io.StringIO("".join(f"{line}\n" for line in lines)), out=out, **options)
    return out.getvalue().splitlines()


def test_a_script_of_questions_and_commands(sample_store, reader, tmp_path):
    note = tmp_path / "ferry.md"
    note.write_text("---\ntitle: Ferry to stop\n---\nThe Millbank ferry stops in May after ninety years.\n")
    out = "\n".join(
        run_script(
            sample_store,
            reader,
            "Who drove the first tram?",
            "",
            f"/add {note}",
            "/add",
            "Kettle <recall> & *more*",
            "The Lumora kettle recall covers 48,000 units.",
            ".",
            "/list",
            "/remove 9",
            "/remove 9",
            "/remove nine",
            "/add /no/such/file.txt",
            "/stats",
            "/help",
            "/frobnicate",
            "When does the Millbank ferry stop?",
        )
    )
    assert out.startswith("qabot console: 8 articles. Ask a question, or /help.")
    assert "driven by Priya Nandakumar" in out and "[article 2]" in out
    assert "Added article 9: Ferry to stop (1 chunks)" in out
    assert 'Paste the article (first line: the title), then a line with only ".":' in out
    assert "Added article 10: Kettle <recall> & *more* (1 chunks)" in out  # plain text: nothing escaped
    assert "   10  " in out and "Kettle <recall> & *more*" in out
    assert "Removed article 9: Ferry to stop" in out and "There is no article 9." in out
    assert "Usage: /remove ID" in out and "Not added: /no/such/file.txt: no such file." in out
    assert "Articles: 9\nChunks: 25\nQuestions asked: 0" in out
    assert HELP in out
    assert "Unknown command /frobnicate. Type /help for the commands." in out
    assert "Millbank" not in out.split("Unknown command")[1]  # article 9 was removed before
    assert sample_store.counts()["articles"] == 9


def test_add_a_url_and_quit_before_the_end(store, reader):
    with PageServer() as pages:
        out = run_script(
            store, reader, f"/add {pages.url('/article')}", "/quit", "/add more", allow_private_urls=True
        )
    assert out[1] == f"Added article 1: {TITLE} (1 chunks)"
    assert len(out) == 2  # nothing after /quit was read


def test_an_empty_collection_and_a_refused_url(store, reader):
    out = run_script(store, reader, "Who drove the first tram?", "/add http://127.0.0.1:9/x", "/list")
    assert out[1] == "The collection is empty: add articles with /add FILE|URL."
    assert out[2].startswith("Not added: ") and "127.0.0.1" in out[2]
    assert out[3] == "The collection is empty. Add articles with /add FILE|URL."


def test_qabot_console_reads_stdin(monkeypatch, tmp_path, db_path, sample_store):
    monkeypatch.chdir(tmp_path)  # no .env
    env = {"QABOT_QA_MODEL": "sentence", "QABOT_ENCODER": "off", "TELEGRAM_BOT_TOKEN": None}
    result = CliRunner().invoke(
        cli, ["--db", str(db_path), "console"], input="Who drove the first tram?\n/stats\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert "driven by Priya Nandakumar" in result.stdout and "Articles: 8" in result.stdout


def test_articles_added_with_the_encoder_on_get_their_embeddings(store, reader, tmp_path):
    from retrieval.encoder import NAME
    from retrieval.loading import load_encoder

    encoder = load_encoder(True)
    article = tmp_path / "tram.md"
    article.write_text("Tram line opens\n\nAldermoor opened its Riverside tram line on Saturday.\n")
    replies = run_script(store, reader, f"/add {article}", "Which line opened?", encoder=encoder)
    assert any("Added article" in reply for reply in replies)
    assert store.chunks_without_embedding(NAME) == []
