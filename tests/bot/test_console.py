"""bot/console.py: the terminal chat driven through its input by a script of lines."""

import io

import pytest
from click.testing import CliRunner

from qabot.bot.cli import cli
from qabot.bot.console import HELP, PASTE_CANCELLED, PASTE_HELP, PASTE_PROMPT, PROMPT, Console, chat
from qabot.retrieval.loading import sentence_reader
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
    assert out.startswith(f"qabot console: 8 articles in {sample_store.path}. Ask a question, or /help.")
    assert "driven by Priya Nandakumar" in out and "[article 2]" in out
    assert "Added article 9: Ferry to stop (1 chunk)" in out
    assert PASTE_HELP in out
    assert "Added article 10: Kettle <recall> & *more* (1 chunk)" in out  # plain text: nothing escaped
    assert "   10  " in out and "Kettle <recall> & *more*" in out
    assert "Removed article 9: Ferry to stop" in out and "There is no article 9." in out
    assert "Usage: /remove ID" in out and "Not added: /no/such/file.txt: no such file." in out
    assert "Articles: 9\nChunks: 25\nQuestions asked: 1\nAnswered: 1 (100%)" in out  # the first question
    assert HELP in out
    assert "Unknown command /frobnicate. Type /help for the commands." in out
    assert "Millbank" not in out.split("Unknown command")[1]  # article 9 was removed before
    assert sample_store.counts()["articles"] == 9


def test_add_a_url_and_quit_before_the_end(store, reader):
    with PageServer() as pages:
        out = run_script(
            store, reader, f"/add {pages.url('/article')}", "/quit", "/add more", allow_private_urls=True
        )
    assert out[1] == f"Added article 1: {TITLE} (1 chunk)"
    assert len(out) == 2  # nothing after /quit was read


@pytest.mark.parametrize("word", ["quit", "exit", "Quit", " exit "])
def test_quit_or_exit_alone_leaves_and_is_no_question(sample_store, reader, word):
    out = run_script(sample_store, reader, word, "Who drove the first tram?")
    assert len(out) == 1  # the banner only: nothing asked, nothing after it read
    assert sample_store.stats()["questions"] == 0


def test_an_empty_collection_and_a_refused_url(store, reader):
    out = run_script(store, reader, "Who drove the first tram?", "/add http://127.0.0.1:9/x", "/list")
    assert out[1] == f"The collection {store.path} is empty: add articles with /add FILE|URL."
    assert out[2] == (
        "Not added: 127.0.0.1 is a private or local address (127.0.0.1); refused for safety "
        "(set QABOT_ALLOW_PRIVATE_URLS=1 to allow private addresses)."
    )
    assert out[3] == f"The collection {store.path} is empty. Add articles with /add FILE|URL."


def test_qabot_console_reads_stdin(monkeypatch, tmp_path, db_path, sample_store):
    monkeypatch.chdir(tmp_path)  # no .env
    env = {"QABOT_QA_MODEL": "sentence", "QABOT_ENCODER": "off", "TELEGRAM_BOT_TOKEN": None}
    result = CliRunner().invoke(
        cli, ["--db", str(db_path), "console"], input="Who drove the first tram?\n/stats\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert "driven by Priya Nandakumar" in result.stdout and "Articles: 8" in result.stdout


def test_articles_added_with_the_encoder_on_get_their_embeddings(store, reader, tmp_path):
    from qabot.retrieval.encoder import NAME
    from qabot.retrieval.loading import load_encoder

    encoder = load_encoder(True)
    article = tmp_path / "tram.md"
    article.write_text("Tram line opens\n\nAldermoor opened its Riverside tram line on Saturday.\n")
    replies = run_script(store, reader, f"/add {article}", "Which line opened?", encoder=encoder)
    assert any("Added article" in reply for reply in replies)
    assert store.chunks_without_embedding(NAME) == []


def test_questions_are_kept_for_stats_as_the_bot_keeps_them(sample_store, reader):
    questions = ["Who drove the first tram?", "Who won the cup final?"] * 9 + [
        "Who drove the first tram?",
        "Who won the 2024 Nobel Prize in Literature?",
    ]
    out = "\n".join(run_script(sample_store, reader, *questions, "/stats"))
    stats = sample_store.stats()
    assert stats["questions"] == 20
    assert f"Questions asked: 20\nAnswered: {stats['answered']} " in out
    assert stats["answered"] == 19  # the last one is not in the articles
    rows = sample_store.db.execute("SELECT question, chat_id, user_id, reader FROM questions").fetchall()
    assert [row[0] for row in rows] == questions
    assert {row[1:] for row in rows} == {(None, None, "sentence")}  # in no chat, by no Telegram user
    assert out.endswith("Latest unanswered questions:\n  - Who won the 2024 Nobel Prize in Literature?")


class Typed:
    """Lines typed at a terminal: each read returns the next one (``KeyboardInterrupt`` is Ctrl-C,
    None is Ctrl-D), and the prompt it was read at is kept."""

    def __init__(self, *lines):
        self.lines, self.prompts = list(lines), []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            return ""
        line = self.lines.pop(0)
        if line is KeyboardInterrupt:
            raise KeyboardInterrupt
        return "" if line is None else line + "\n"


def typed_into(store, reader, typed: Typed) -> list[str]:
    out = io.StringIO()
    Console(store, reader, out=out).run(typed)
    return out.getvalue().splitlines()


def test_a_paste_has_its_own_prompt_and_ends_with_a_dot(store, reader):
    typed = Typed("/add", "Ferry to stop", "The Millbank ferry stops in May.", ".", "/list")
    out = typed_into(store, reader, typed)
    assert typed.prompts == [PROMPT, PASTE_PROMPT, PASTE_PROMPT, PASTE_PROMPT, PROMPT, PROMPT]
    assert out[1] == PASTE_HELP and out[2] == "Added article 1: Ferry to stop (1 chunk)"
    assert store.get_article(1).text == "The Millbank ferry stops in May."


@pytest.mark.parametrize(
    "how", ["/cancel", KeyboardInterrupt, None], ids=["cancel-line", "ctrl-c", "ctrl-d"]
)
def test_a_paste_is_cancelled_by_cancel_ctrl_c_or_ctrl_d_and_nothing_is_added(store, reader, how):
    typed = Typed("/add", "Ferry to stop", "The Millbank ferry stops in", how, "/list", "/quit")
    out = typed_into(store, reader, typed)
    empty = f"The collection {store.path} is empty. Add articles with /add FILE|URL."
    assert out[1:4] == [PASTE_HELP, PASTE_CANCELLED, empty]
    assert store.counts()["articles"] == 0
    assert typed.prompts[-2:] == [PROMPT, PROMPT]  # the console went on after the paste


def test_a_script_ending_inside_a_paste_adds_nothing(store, reader):
    out = run_script(store, reader, "/add", "Ferry to stop", "The Millbank ferry stops in")
    assert out[-1] == PASTE_CANCELLED and store.counts()["articles"] == 0


def test_without_a_collection_nothing_is_created_until_an_add(tmp_path, reader):
    path = tmp_path / "later" / "qabot.db"
    note = tmp_path / "ferry.md"
    note.write_text("Ferry to stop\n\nThe Millbank ferry stops in May after ninety years.\n")
    out = run_script(path, reader, "When does the ferry stop?", "/list", "/stats", "/remove 1")
    none_yet = f"There is no collection at {path} yet: /add FILE|URL creates it."
    banner = f"qabot console: no collection at {path} yet (/add creates it). Ask a question, or /help."
    assert out == [banner] + [none_yet] * 4
    assert not path.parent.exists()
    out = run_script(path, reader, "/add /no/such/file.txt", "/add", "Title only", "/cancel")
    assert out[1] == "Not added: /no/such/file.txt: no such file." and out[-1] == PASTE_CANCELLED
    assert not path.parent.exists()  # refused adds create nothing
    out = run_script(path, reader, f"/add {note}", "When does the Millbank ferry stop?", "/stats")
    assert out[1] == "Added article 1: Ferry to stop (1 chunk)" and "in May" in out[2]
    assert path.is_file() and "Questions asked: 1" in "\n".join(out)


def test_qabot_console_without_a_collection_creates_none(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    env = {"QABOT_QA_MODEL": "sentence", "QABOT_ENCODER": "off", "TELEGRAM_BOT_TOKEN": None, "QABOT_DB": None}
    result = CliRunner().invoke(cli, ["console"], input="Who drove the first tram?\n/list\n", env=env)
    assert result.exit_code == 0, result.output
    where = tmp_path / "data" / "qabot.db"
    assert f"no collection at {where} yet" in result.stdout
    assert not (tmp_path / "data").exists()


def test_an_empty_or_blank_line_is_ignored(store, reader):
    typed = Typed("", "   ", "\t", "/quit")
    assert typed_into(store, reader, typed) == [f"qabot console: 0 articles in {store.path}. Ask a question, or /help."]
    assert store.stats()["questions"] == 0


def test_the_console_lists_the_articles_as_qabot_list_does(store, reader, monkeypatch):
    store.add_article(title="Ferry to stop", text="The Millbank ferry stops in May.", url="https://x.example/ferry")
    monkeypatch.setenv("QABOT_ENCODER", "off")
    listed = CliRunner().invoke(cli, ["--db", str(store.path), "list"])
    assert listed.exit_code == 0, listed.output
    out = run_script(store, reader, "/list")
    assert "\n".join(out[1:]) + "\n" == listed.stdout
    assert listed.stdout.splitlines()[1].split()[-1] == "https://x.example/ferry"
