"""bot/cli.py: the ``qabot`` command on a real collection file, as a user types it."""

import json
import sqlite3

import pytest
from click.testing import CliRunner

from qabot.bot.cli import cli
from qabot.index.store import Store
from tests.conftest import SAMPLE_ARTICLES
from tests.page_server import ARTICLE_PARAGRAPHS, TITLE, PageServer

BODY = (
    "The Lumora kettle recall covers 48,000 units sold since March. "
    "The maker said a faulty switch could let the kettle boil dry.\n\n"
    "Owners should stop using the kettle and contact the shop for a refund."
)


@pytest.fixture
def runner(monkeypatch, tmp_path):
    """A CliRunner with no qabot settings from the environment or a .env file, encoder off."""
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    for name in ("QABOT_DB", "QABOT_ALLOW_PRIVATE_URLS"):
        monkeypatch.delenv(name, raising=False)
    # no chunk embeddings on add/import (seconds each; tests/bot/test_eval_cli.py covers them)
    monkeypatch.setenv("QABOT_ENCODER", "off")
    return CliRunner()


@pytest.fixture
def qabot(runner, db_path):
    """Run ``qabot --db <tmp file> ARGS...``; returns click's Result."""

    def run(*args: str, input: str | None = None, env: dict | None = None):
        return runner.invoke(cli, ["--db", str(db_path), *args], input=input, env=env)

    return run


@pytest.fixture(scope="module")
def pages():
    with PageServer() as server:
        yield server


def ok(result, code: int = 0):
    assert result.exit_code == code, (result.output, result.stderr, result.exception)
    return result


def refused(result, reason: str) -> str:
    """The command failed with exit 1 and a one-line reason on stderr, nothing on stdout."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert reason in message
    assert result.stdout == ""
    return message


def as_json(result):
    return json.loads(ok(result).stdout)


@pytest.fixture
def kettle(tmp_path):
    path = tmp_path / "kettle.txt"
    path.write_text("Lumora kettles recalled\n\n" + BODY, encoding="utf-8")
    return path


# --- add ----------------------------------------------------------------------------------------


def test_add_file(qabot, kettle):
    result = ok(qabot("add", str(kettle)))
    assert "Added article 1: Lumora kettles recalled" in result.stdout
    shown = as_json(qabot("show", "1", "--json"))
    assert shown["title"] == "Lumora kettles recalled" and shown["text"] == BODY


def test_add_json_prints_id_title_and_chunks(qabot, kettle):
    added = as_json(qabot("add", str(kettle), "--json"))
    assert set(added) == {"id", "title", "chunks"}
    assert isinstance(added["id"], int) and isinstance(added["chunks"], int) and added["chunks"] >= 1
    assert added["title"] == "Lumora kettles recalled"


def test_add_stdin(qabot):
    added = as_json(qabot("add", "-", "--json", input="Pasted headline\n" + BODY))
    assert added["title"] == "Pasted headline"
    assert as_json(qabot("show", str(added["id"]), "--json"))["text"] == BODY


def test_add_with_title_url_and_date(qabot, kettle):
    added = as_json(
        qabot(
            "add", str(kettle), "--json", "--title", "Kettle recall widened",
            "--url", "https://news.example/kettle", "--published", "2024-05-06",
        )
    )
    shown = as_json(qabot("show", str(added["id"]), "--json"))
    assert (shown["title"], shown["url"], shown["published"]) == (
        "Kettle recall widened",
        "https://news.example/kettle",
        "2024-05-06",
    )


def test_add_url_when_private_urls_are_allowed(qabot, pages):
    added = as_json(
        qabot("add", pages.url("/article"), "--json", env={"QABOT_ALLOW_PRIVATE_URLS": "1"})
    )
    assert added["title"] == TITLE
    shown = as_json(qabot("show", str(added["id"]), "--json"))
    assert shown["url"] == pages.url("/article")
    assert ARTICLE_PARAGRAPHS[1] in shown["text"]


def test_add_url_on_loopback_is_refused_by_default_saying_how_to_allow_it(qabot, pages, db_path):
    message = refused(qabot("add", pages.url("/article")), "refused for safety")
    assert message.endswith("(set QABOT_ALLOW_PRIVATE_URLS=1 to allow private addresses)")
    assert not db_path.exists()  # nothing stored, no collection created


def test_add_duplicate_exits_1_naming_the_article(qabot, kettle, tmp_path):
    ok(qabot("add", str(kettle)))
    copy = tmp_path / "copy.md"
    copy.write_text("# Another title\n\n" + BODY.upper(), encoding="utf-8")
    refused(qabot("add", str(copy)), "already in the collection as article 1")
    assert len(as_json(qabot("list", "--json"))) == 1


@pytest.mark.parametrize(
    "args, reason",
    [
        (["missing.txt"], "no such file"),
        (["ftp://example.com/a.txt"], "only http and https"),
        (["-"], "no article text"),
        (["kettle.docx"], "kettle.docx: unsupported file type .docx"),
        (["kettle.txt", "--published", "next Tuesday"], "YYYY-MM-DD"),
        (["http://[::1/"], "not a valid URL"),
    ],
)
def test_add_bad_input_exits_1_with_a_reason(qabot, kettle, db_path, args, reason):
    (kettle.parent / "kettle.docx").write_bytes(b"PK\x03\x04" + bytes(100))
    refused(qabot("add", *args, input=""), reason)
    assert not db_path.exists() or as_json(qabot("list", "--json")) == []


# --- import, list, show, remove -----------------------------------------------------------------


def test_import_folder_json_counts(qabot):
    counts = as_json(qabot("import", str(SAMPLE_ARTICLES), "--json"))
    assert counts == {"added": len(list(SAMPLE_ARTICLES.glob("*.md"))), "skipped": 0, "failed": 0}
    again = as_json(qabot("import", str(SAMPLE_ARTICLES), "--json"))
    assert again == {"added": 0, "skipped": counts["added"], "failed": 0}


def test_import_jsonl_reports_skipped_and_failed(qabot, tmp_path):
    lines = [
        json.dumps({"title": "Kettles recalled", "text": BODY}),
        json.dumps({"title": "Kettles again", "text": BODY}),
        "{not json",
        json.dumps({"title": "No text"}),
    ]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = qabot("import", str(path), "--json")
    assert json.loads(ok(result, 1).stdout) == {"added": 1, "skipped": 1, "failed": 2}  # 1: some failed
    assert "batch.jsonl:3" in result.stderr and "batch.jsonl:4" in result.stderr


def test_import_of_a_plain_file_exits_1(qabot, kettle):
    refused(qabot("import", str(kettle)), "not a folder or a .jsonl file")


def test_list_json(qabot, kettle):
    ok(qabot("add", str(kettle), "--url", "https://news.example/k", "--published", "2024-05-06"))
    ok(qabot("add", "-", input="Second\n" + "A different article about trams."))
    items = as_json(qabot("list", "--json"))
    assert [item["id"] for item in items] == [1, 2]
    for item in items:
        assert set(item) == {"id", "title", "url", "published", "chunks", "added_at"}
        assert isinstance(item["chunks"], int) and item["chunks"] >= 1
        assert isinstance(item["added_at"], str) and item["added_at"][:2] == "20"
    assert (items[0]["url"], items[0]["published"]) == ("https://news.example/k", "2024-05-06")
    assert (items[1]["url"], items[1]["published"]) == (None, None)
    text = ok(qabot("list")).stdout
    assert "Lumora kettles recalled" in text and "Second" in text


def test_show_json_offsets_point_into_the_text(qabot):
    ok(qabot("import", str(SAMPLE_ARTICLES)))
    shown = as_json(qabot("show", "1", "--json"))
    assert set(shown) == {"id", "title", "url", "published", "text", "chunks"}
    assert shown["id"] == 1 and len(shown["chunks"]) >= 2
    for ordinal, chunk in enumerate(shown["chunks"]):
        assert set(chunk) == {"ordinal", "start", "end", "text"}
        assert chunk["ordinal"] == ordinal
        assert shown["text"][chunk["start"] : chunk["end"]] == chunk["text"]
    assert shown["title"] in ok(qabot("show", "1")).stdout


def test_remove_then_show_fails(qabot, kettle):
    ok(qabot("add", str(kettle)))
    assert "Removed article 1" in ok(qabot("remove", "1")).stdout
    refused(qabot("show", "1"), "there is no article 1")
    assert as_json(qabot("list", "--json")) == []
    ok(qabot("add", str(kettle)))  # no longer a duplicate


@pytest.mark.parametrize("command", ["show", "remove"])
def test_unknown_id_exits_1(qabot, kettle, command):
    ok(qabot("add", str(kettle)))
    refused(qabot(command, "99"), "there is no article 99")


# --- search -------------------------------------------------------------------------------------


def test_search_ranks_the_putin_article_first(qabot):
    ok(qabot("import", str(SAMPLE_ARTICLES)))
    hits = as_json(qabot("search", "When did Putin last visit Pyongyang?", "--json"))
    assert set(hits) == {"hits", "missing"} and hits["hits"] and hits["missing"] is None
    for hit in hits["hits"]:
        assert set(hit) == {"article_id", "title", "score", "start", "end", "text"}
        assert isinstance(hit["score"], float) and isinstance(hit["start"], int)
    top = hits["hits"][0]
    assert "Putin" in top["title"] and "Pyongyang" in top["title"]
    article = as_json(qabot("show", str(top["article_id"]), "--json"))
    assert article["text"][top["start"] : top["end"]] == top["text"]
    scores = [hit["score"] for hit in hits["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert len(as_json(qabot("search", "Putin", "--k", "1", "--json"))["hits"]) == 1


def test_search_on_an_empty_collection_exits_1(qabot):
    refused(qabot("search", "anything"), "empty")


# --- help and settings --------------------------------------------------------------------------


def test_help_lists_every_command_with_a_one_line_help(runner):
    result = ok(runner.invoke(cli, ["--help"]))
    assert {"add", "import", "list", "show", "remove", "search"} <= set(cli.commands)
    for name, command in cli.commands.items():
        assert name in result.stdout
        short = command.get_short_help_str(limit=200)
        assert short and "\n" not in short, f"{name} has no one-line help"
        assert short in " ".join(result.stdout.split()) or short[:30] in result.stdout
        ok(runner.invoke(cli, [name, "--help"]))
    assert "--db" in result.stdout


@pytest.mark.parametrize("width", [80, 60])
def test_help_never_cuts_a_commands_description_short(runner, width):
    result = ok(runner.invoke(cli, ["--help"], terminal_width=width))
    listed = result.stdout.partition("Commands:")[2].splitlines()
    assert len(listed) >= len(cli.commands)
    assert [line for line in listed if line.rstrip().endswith("...")] == []


def test_version(runner):
    assert ok(runner.invoke(cli, ["--version"], prog_name="qabot")).stdout.startswith("qabot, version ")


def test_qabot_db_env_is_used_without_db_option(runner, tmp_path, kettle):
    db = tmp_path / "from-env" / "collection.db"
    ok(runner.invoke(cli, ["add", str(kettle)], env={"QABOT_DB": str(db)}))
    assert db.is_file()
    items = json.loads(ok(runner.invoke(cli, ["list", "--json"], env={"QABOT_DB": str(db)})).stdout)
    assert [item["title"] for item in items] == ["Lumora kettles recalled"]
    other = tmp_path / "other.db"
    listed = runner.invoke(cli, ["--db", str(other), "list", "--json"], env={"QABOT_DB": str(db)})
    refused(listed, f"no collection at {other} ")  # --db wins over QABOT_DB


def test_check_reports_a_sound_collection_and_fails_on_damage(tmp_path):
    db = tmp_path / "check.db"
    runner = CliRunner(env={"QABOT_ENCODER": "off"})  # no chunk embeddings: seconds, not the point
    assert runner.invoke(cli, ["--db", str(db), "import", str(SAMPLE_ARTICLES)]).exit_code == 0
    sound = runner.invoke(cli, ["--db", str(db), "check"])
    assert sound.exit_code == 0 and "index consistent" in sound.output
    with Store(db) as store:
        store.db.executescript("DELETE FROM postings; DELETE FROM pending_chunks")  # index lost
    damaged = runner.invoke(cli, ["--db", str(db), "check"])
    assert damaged.exit_code == 1 and "problem:" in damaged.stderr


def test_add_and_import_store_chunk_embeddings_when_the_encoder_is_on(qabot, monkeypatch, tmp_path, db_path):
    from tests.retrieval.test_embeddings import FakeEncoder

    encoder = FakeEncoder()
    monkeypatch.setattr("qabot.retrieval.loading.load_encoder", lambda use=True: encoder if use else None)
    ok(qabot("import", str(SAMPLE_ARTICLES), env={"QABOT_ENCODER": "auto"}))
    kettle = tmp_path / "kettle.txt"
    kettle.write_text("Lumora kettles recalled\n" + BODY, encoding="utf-8")
    ok(qabot("add", str(kettle), env={"QABOT_ENCODER": "auto"}))
    ok(qabot("add", "-", input="Off\nStored without an embedding.", env={"QABOT_ENCODER": "off"}))
    with Store(db_path) as store:
        chunks = store.counts()["chunks"]
        assert len(encoder.passages) == chunks - 1
        assert [c.text for c in store.chunks_without_embedding("all-MiniLM-L6-v2")] == ["Stored without an embedding."]


@pytest.mark.parametrize("flags", [(), ("--json",)])
def test_import_on_a_full_disk_prints_what_was_added_and_the_reason(qabot, tmp_path, monkeypatch, flags):
    real_add = Store.add_article

    def add_article(self, **fields):
        if fields["title"] == "Story 2":
            raise sqlite3.OperationalError("database or disk is full")
        return real_add(self, **fields)

    monkeypatch.setattr(Store, "add_article", add_article)
    path = tmp_path / "batch.jsonl"
    lines = [json.dumps({"title": f"Story {i}", "text": f"Story {i}. {BODY}"}) for i in range(4)]
    path.write_text("\n".join(lines), encoding="utf-8")
    result = qabot("import", str(path), *flags)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr == (
        "Error: the import stopped at batch.jsonl:3: database or disk is full (the rest was not imported)\n"
    )
    if flags:
        assert json.loads(result.stdout) == {"added": 2, "skipped": 0, "failed": 0}
    else:
        assert result.stdout == "2 added, 0 skipped, 0 failed\n"
    assert [a["title"] for a in as_json(qabot("list", "--json"))] == ["Story 0", "Story 1"]


def test_list_never_prints_terminal_escapes_or_bidi_overrides(qabot, db_path):
    hostile = "Tram\x1b]0;owned\x07\x1b[2J news \u202eevil\u202c"
    assert qabot("add", "-", "--title", hostile, input=f"Body. {BODY}").exit_code == 0
    with Store(db_path) as store:  # as an older qabot stored it: raw
        store.db.execute("UPDATE articles SET title = ?, url = ? WHERE id = 1", [hostile, "https://x.example/\x1b[2J"])
    shown = qabot("list").stdout
    assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
    assert "Tram]0;owned[2J news evil" in shown


def test_check_on_a_damaged_file_is_one_line_per_problem(qabot, db_path):
    assert qabot("import", str(SAMPLE_ARTICLES), env={"QABOT_ENCODER": "off"}).exit_code == 0
    data = bytearray(db_path.read_bytes())
    data[8192:40960] = b"\xff" * (40960 - 8192)  # clobber pages after the header
    db_path.write_bytes(bytes(data))
    for name in ("qabot.db-wal", "qabot.db-shm"):
        (db_path.parent / name).unlink(missing_ok=True)
    result = qabot("check")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("problem: ") or result.stderr.startswith("Error: ")


# --- issue 13: what a newcomer meets --------------------------------------------------------------


def test_add_stdin_with_a_title_keeps_all_of_the_input_as_the_text(qabot):
    added = as_json(qabot("add", "-", "--title", "My title", "--json", input="One line of text.\n"))
    shown = as_json(qabot("show", str(added["id"]), "--json"))
    assert (shown["title"], shown["text"]) == ("My title", "One line of text.")
    two = as_json(qabot("add", "-", "--title", "Other", "--json", input="First line.\nSecond line.\n"))
    assert as_json(qabot("show", str(two["id"]), "--json"))["text"] == "First line.\nSecond line."


@pytest.mark.slow
def test_the_readme_stdin_examples_work_as_written(tmp_path):
    import os
    import re
    import shutil
    import subprocess
    import sys

    from tests.conftest import ROOT

    commands = re.findall(r"^((?:printf|echo) .*\| qabot add - .*?)(?:\s+#.*)?$", (ROOT / "README.md").read_text(), re.M)
    assert len(commands) == 2, commands
    scripts = os.path.dirname(sys.executable)  # where pip install -e . put the qabot command
    path = scripts + os.pathsep + os.environ.get("PATH", "")
    assert shutil.which("qabot", path=path), "the qabot command is not installed (pip install -e .)"
    env = os.environ | {"QABOT_DB": str(tmp_path / "readme.db"), "QABOT_ENCODER": "off", "PATH": path}
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    with Store(tmp_path / "readme.db") as store:
        first, second = (store.get_article(a.id) for a in store.list_articles())
    assert "\n" not in first.title and first.text and "\\n" not in first.text + first.title
    assert (first.published, first.url) == ("2024-06-19", "https://example.org/x")
    assert (second.title, second.text) == ("My title", "One line of text.")


@pytest.mark.parametrize("question", ["", "   ", "\t\n"])
@pytest.mark.parametrize("command", ["ask", "search"])
def test_an_empty_question_is_a_usage_error_before_the_reader_loads(qabot, monkeypatch, command, question):
    def no_reader(*args, **kwargs):
        raise AssertionError("the reader was loaded")

    monkeypatch.setattr("qabot.retrieval.loading.load_reader", no_reader)
    result = qabot(command, question)
    assert result.exit_code == 2 and "is empty" in result.stderr and "Traceback" not in result.output


def test_import_of_a_folder_imports_its_jsonl_names_each_failure_once_and_exits_1(qabot, tmp_path):
    folder = tmp_path / "mixed"
    (folder / "more").mkdir(parents=True)
    (folder / "kettle.md").write_text("# Kettles recalled\n\n" + BODY, encoding="utf-8")
    lines = [json.dumps({"title": "Tram opens", "text": "The Riverside tram line opened on Saturday."}), "{broken"]
    (folder / "more" / "batch.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "scan.docx").write_bytes(b"PK\x03\x04" + bytes(100))
    result = qabot("import", str(folder))
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout.endswith("2 added, 0 skipped, 2 failed\n")
    failed = result.stderr.splitlines()
    assert failed[0].startswith("failed  more/batch.jsonl:2: not valid JSON")
    assert failed[1].startswith("failed  scan.docx: unsupported file type .docx; use ")
    assert all(line.count("scan.docx") + line.count("batch.jsonl") == 1 for line in failed)
    assert sorted(a["title"] for a in as_json(qabot("list", "--json"))) == ["Kettles recalled", "Tram opens"]
    again = qabot("import", str(folder), "--json")
    assert again.exit_code == 1 and json.loads(again.stdout) == {"added": 0, "skipped": 2, "failed": 2}
    good = tmp_path / "good"
    good.mkdir()
    (good / "kettle.md").write_text("# Kettles recalled\n\n" + BODY, encoding="utf-8")
    assert ok(qabot("import", str(good))).stdout.startswith("skipped kettle.md: ")  # 0: skipped is fine


def test_import_help_states_the_exit_codes(runner):
    text = " ".join(ok(runner.invoke(cli, ["import", "--help"])).stdout.split())
    assert "Exit status: 0 when every article was added or skipped as a duplicate, 1 when some failed" in text
    assert "2 on a usage error" in text
    assert runner.invoke(cli, ["import", "no/such/folder"]).exit_code == 2


@pytest.mark.parametrize(
    "args",
    [["list"], ["list", "--json"], ["show", "1"], ["search", "tram"], ["ask", "Who drove the first tram?"],
     ["check"], ["remove", "1"], ["eval", "cases.yaml"], ["import", "kettle.txt"]],
    ids=lambda args: " ".join(args),
)
def test_read_only_commands_in_another_folder_create_no_collection_and_name_the_path(runner, tmp_path, kettle, args):
    (tmp_path / "cases.yaml").write_text("- question: Who drove the first tram?\n  expect: Priya\n")
    result = runner.invoke(cli, args, env={"QABOT_QA_MODEL": "sentence"})  # no --db, no QABOT_DB
    where = tmp_path / "data" / "qabot.db"
    expected = f"no collection at {where} (set QABOT_DB or --db, or add an article with qabot add)"
    if args[0] == "import":  # a writing command, refused before it creates anything
        expected = "not a folder or a .jsonl file"
    refused(result, expected)
    assert not (tmp_path / "data").exists()


def test_messages_about_an_empty_collection_name_its_path(qabot, db_path):
    Store(db_path).close()
    assert ok(qabot("list")).stdout.startswith(f"The collection {db_path} is empty. Add articles with: ")
    refused(qabot("ask", "Who drove the first tram?"), f"the collection {db_path} is empty: add articles with qabot add")
    refused(qabot("search", "tram"), f"the collection {db_path} is empty")
    assert ok(qabot("check")).stdout == f"ok: {db_path}: 0 articles, 0 chunks, index consistent\n"


def test_list_labels_its_columns_and_leaves_an_unknown_publication_date_empty(qabot, kettle):
    ok(qabot("add", str(kettle), "--published", "2024-05-06"))
    ok(qabot("add", "-", input="Second\nA different article about trams."))
    header, first, second = ok(qabot("list")).stdout.splitlines()
    assert header.split() == ["id", "published", "added", "chunks", "title,", "url"]
    added = as_json(qabot("list", "--json"))[1]["added_at"][:10]
    assert first.split()[:4] == ["1", "2024-05-06", added, "1"]
    assert second.split()[:4] == ["2", added, "1", "Second"]  # no publication date: that column is blank
    assert second.index(added) == first.index(added)  # the date added stands in its own column
    shown = ok(qabot("show", "2")).stdout
    assert "published:" not in shown and f"added: {added}" in shown and "added by: cli" in shown
    assert "published: 2024-05-06" in ok(qabot("show", "1")).stdout


def test_one_chunk_one_article_one_word_are_singular(qabot, db_path):
    assert ok(qabot("add", "-", input="Short\n\nWord")).stdout == "Added article 1: Short (1 chunk)\n"
    assert ok(qabot("check")).stdout == f"ok: {db_path}: 1 article, 1 chunk, index consistent\n"
    assert ok(qabot("show", "1")).stdout.endswith("--- chunk 0: characters 0-4, 1 word\n")


def test_a_question_in_another_language_is_told_that_qabot_reads_english(qabot):
    ok(qabot("import", str(SAMPLE_ARTICLES)))
    env = {"QABOT_QA_MODEL": "sentence"}
    french = ok(qabot("ask", "Qui a conduit le premier tramway ?", env=env)).stdout
    assert "Questions and articles are in English only, for now: please ask in English." in french
    assert "English only" not in ok(qabot("ask", "Who drove the first tram?", env=env)).stdout


@pytest.mark.parametrize(
    "args", [["import", "\x00"], ["eval", "a\x00.yaml"], ["eval", "--squad", "\x00"], ["tune", "--squad", "\x00"]]
)
def test_a_path_no_file_can_have_is_a_usage_error(qabot, args):
    result = qabot(*args)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    assert "embedded null byte" in result.stderr and "Traceback" not in result.output
