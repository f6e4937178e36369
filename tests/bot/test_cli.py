"""bot/cli.py: the ``qabot`` command on a real collection file, as a user types it."""

import json
import sqlite3

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.store import Store
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


def test_add_url_on_loopback_is_refused_by_default(qabot, pages):
    refused(qabot("add", pages.url("/article")), "refused for safety")
    assert as_json(qabot("list", "--json")) == []


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
        (["kettle.pdf"], "unsupported file type .pdf"),
        (["kettle.txt", "--published", "next Tuesday"], "YYYY-MM-DD"),
        (["http://[::1/"], "not a valid URL"),
    ],
)
def test_add_bad_input_exits_1_with_a_reason(qabot, kettle, args, reason):
    (kettle.parent / "kettle.pdf").write_bytes(b"%PDF-1.7\n")
    refused(qabot("add", *args, input=""), reason)
    assert as_json(qabot("list", "--json")) == []


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
    assert json.loads(ok(result).stdout) == {"added": 1, "skipped": 1, "failed": 2}
    assert "batch.jsonl:3" in result.stderr and "batch.jsonl:4" in result.stderr


def test_import_of_a_plain_file_exits_1(qabot, kettle):
    refused(qabot("import", str(kettle)), "not a folder or a .jsonl file")


def test_list_json(qabot, kettle):
    assert as_json(qabot("list", "--json")) == []
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
    assert set(hits) == {"hits"} and hits["hits"]
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
    assert json.loads(ok(listed).stdout) == []  # --db wins over QABOT_DB


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
    monkeypatch.setattr("retrieval.loading.load_encoder", lambda use=True: encoder if use else None)
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
