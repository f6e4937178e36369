"""index/importing.py: a folder or a JSONL file imported, every good item stored and each bad one reported."""

import json
import tracemalloc
from pathlib import Path

import pytest

import qabot.index.importing
from qabot.index.drafts import IngestError
from qabot.index.importing import ImportStopped, check_importable, import_path
from qabot.index.store import Store
from tests.index.test_ingest import BODY, assert_nothing_stored, billion_laughs, write
from tests.page_server import PLAIN_TEXT, TITLE, article_html


def test_folder_import(store, tmp_path):
    folder = tmp_path / "articles"
    write(folder, "a-kettle.txt", "Kettles recalled\n" + BODY)
    write(folder, "b-tram.html", article_html())
    write(folder, "nested/deeper/c-coins.md", "# Coin hoard\n\n" + PLAIN_TEXT.split("\n", 2)[2])
    write(folder, "nested/d-copy.txt", "Kettles recalled again\n" + BODY.upper())  # same text
    write(folder, ".hidden.txt", "Hidden\nThis must not be imported.")
    write(folder, ".git/e.txt", "Git internals\nThis must not be imported either.")
    write(folder, "f-scan.pdf", b"%PDF-1.7\n")
    write(folder, "g-empty.md", "")

    report = import_path(store, folder, progress=False)

    assert report.counts() == {"added": 3, "skipped": 1, "failed": 2}
    assert {a.title for a in report.added} == {TITLE, "Coin hoard", "Kettles recalled"}
    assert report.skipped[0][0] == str(Path("nested/d-copy.txt"))
    assert "already in the collection" in report.skipped[0][1]
    failed = dict(report.failed)
    assert set(failed) == {"f-scan.pdf", "g-empty.md"}
    assert "the PDF is incomplete" in failed["f-scan.pdf"]
    assert "no article text" in failed["g-empty.md"]
    assert {a.title for a in store.list_articles()} == {TITLE, "Coin hoard", "Kettles recalled"}
    assert not any("imported" in store.get_article(a.id).text for a in store.list_articles())


def test_jsonl_import(store, tmp_path):
    good = [
        {
            "title": "Kettles recalled",
            "text": BODY,
            "url": "https://news.example/k",
            "published": "2024-05-06",
        },
        {"title": "Coin hoard", "text": PLAIN_TEXT, "site": "Wexcombe Gazette"},
    ]
    lines = [
        json.dumps(good[0]),
        "",
        json.dumps(good[1], ensure_ascii=False),
        json.dumps({"title": "Kettles again", "text": BODY}),  # duplicate text
        '{"title": "Broken", "text": "no closing brace"',
        json.dumps({"title": "No text here"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"title": "Bad date", "text": "Some other text.", "published": "soon"}),
        json.dumps({"title": "Number text", "text": 42}),
        json.dumps({"title": "Number date", "text": "Yet another text.", "published": 2024}),
        json.dumps({"title": "List site", "text": "And one more text.", "site": ["a", "b"]}),
    ]
    path = write(tmp_path, "batch.jsonl", "\n".join(lines) + "\n")

    report = import_path(store, path, progress=False)

    assert report.counts() == {"added": 2, "skipped": 1, "failed": 7}
    assert [a.title for a in report.added] == ["Kettles recalled", "Coin hoard"]
    assert report.skipped == [("batch.jsonl:4", report.skipped[0][1])]
    assert f"article {report.added[0].id}" in report.skipped[0][1]
    failed = dict(report.failed)
    assert set(failed) == {f"batch.jsonl:{line}" for line in range(5, 12)}
    assert "not valid JSON" in failed["batch.jsonl:5"]
    assert "text" in failed["batch.jsonl:6"] and "missing" in failed["batch.jsonl:6"]
    assert "not a JSON object" in failed["batch.jsonl:7"]
    assert "YYYY-MM-DD" in failed["batch.jsonl:8"]
    assert "text" in failed["batch.jsonl:9"]
    assert "published" in failed["batch.jsonl:10"] and "site" in failed["batch.jsonl:11"]

    stored = {a.title: store.get_article(a.id) for a in store.list_articles()}
    assert set(stored) == {"Kettles recalled", "Coin hoard"}
    assert stored["Kettles recalled"].url == "https://news.example/k"
    assert stored["Kettles recalled"].published == "2024-05-06"
    assert stored["Coin hoard"].site == "Wexcombe Gazette"


def test_a_folder_import_stores_every_good_file_and_reports_each_bad_one(store, tmp_path):
    folder = tmp_path / "articles"
    for i in range(4):
        write(folder, f"good-{i}.md", f"---\ntitle: Good {i}\npublished: 2024-05-0{i + 1}\n---\n{i}. {BODY}")
    write(folder, "bad-date.md", f"---\ntitle: Bad date\npublished: 2024-02-30\n---\n{BODY} Bad date.")
    write(folder, "bad-url.md", f"---\ntitle: Bad URL\nurl: [1, 2]\n---\n{BODY} Bad URL.")
    write(folder, "bomb.md", billion_laughs())

    report = import_path(store, folder, progress=False)

    assert report.counts() == {"added": 4, "skipped": 0, "failed": 3}
    failed = dict(report.failed)
    assert "day is out of range for month" in failed["bad-date.md"]
    assert "url: must be text or a date, not a list" in failed["bad-url.md"]
    assert "anchors and aliases" in failed["bomb.md"]
    assert sorted(a.title for a in store.list_articles()) == [f"Good {i}" for i in range(4)]


def test_a_jsonl_import_stores_every_good_line_and_reports_each_bad_one(store, tmp_path):
    good = [json.dumps({"title": f"Good {i}", "text": f"Story {i}. {BODY}"}) for i in range(5)]
    bad = [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"title": "Surrogate title \ud800", "text": "A text of its own."}),
        json.dumps({"title": "Surrogate text", "text": "Another text \udc80 of its own."}),
        '{"title": "Huge number", "text": "x", "n": ' + "9" * 5000 + "}",
    ]
    lines = [good[0], bad[0], good[1], bad[1], good[2], bad[2], good[3], bad[3], good[4]]
    path = write(tmp_path, "batch.jsonl", "\n".join(lines) + "\n")

    report = import_path(store, path, progress=False)

    assert report.counts() == {"added": 5, "skipped": 0, "failed": 4}
    failed = dict(report.failed)
    assert failed["batch.jsonl:2"] == "not valid JSON (nested too deeply)"
    assert "the title is not valid Unicode: '\\ud800' is a lone surrogate" in failed["batch.jsonl:4"]
    assert "the text is not valid Unicode: '\\udc80' is a lone surrogate" in failed["batch.jsonl:6"]
    assert "not valid JSON (Exceeds the limit" in failed["batch.jsonl:8"]
    assert [a.title for a in report.added] == [f"Good {i}" for i in range(5)]
    assert store.counts()["articles"] == 5


@pytest.mark.parametrize("error", [ValueError("no good (test)"), TypeError("wrong type (test)")])
def test_an_error_of_the_store_for_one_item_fails_that_item_only(store, tmp_path, monkeypatch, error):
    real_add = store.add_article

    def add_article(**fields):
        if fields["title"] == "Good 1":
            raise error
        return real_add(**fields)

    monkeypatch.setattr(store, "add_article", add_article)
    lines = [json.dumps({"title": f"Good {i}", "text": f"Story {i}. {BODY}"}) for i in range(3)]
    report = import_path(store, write(tmp_path, "batch.jsonl", "\n".join(lines)), progress=False)
    assert report.failed == [("batch.jsonl:2", str(error))]
    assert [a.title for a in report.added] == ["Good 0", "Good 2"]


def test_a_full_database_stops_the_import_with_what_was_added(db_path, tmp_path):
    lines = [json.dumps({"title": f"Story {i}", "text": f"Story {i}. {BODY * 20}"}) for i in range(40)]
    path = write(tmp_path, "batch.jsonl", "\n".join(lines))
    with Store(db_path) as store:
        pages_now = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages_now + 12}")  # a few articles' worth
        full = r"stopped at batch\.jsonl:\d+: database or disk is full"
        with pytest.raises(ImportStopped, match=full) as stop:
            import_path(store, path, progress=False)
        added = stop.value.report.added
        assert 0 < len(added) < 40 and not stop.value.report.failed
        assert store.counts()["articles"] == len(added)  # the item that hit the limit left nothing
    with Store(db_path) as store:
        assert [a.title for a in store.list_articles()] == [a.title for a in added]
        assert store.get_article(added[-1].id).text == added[-1].text


def test_an_os_error_of_the_store_stops_the_import(store, tmp_path, monkeypatch):
    real_add = store.add_article
    calls = []

    def add_article(**fields):
        calls.append(fields["title"])
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_add(**fields)

    monkeypatch.setattr(store, "add_article", add_article)
    lines = [json.dumps({"title": f"Good {i}", "text": f"Story {i}. {BODY}"}) for i in range(5)]
    with pytest.raises(ImportStopped, match=r"stopped at batch\.jsonl:3: .*No space left on device") as stop:
        import_path(store, write(tmp_path, "batch.jsonl", "\n".join(lines)), progress=False)
    assert [a.title for a in stop.value.report.added] == ["Good 0", "Good 1"]
    assert len(calls) == 3  # nothing after it was tried


def test_import_of_something_else_is_refused(store, tmp_path):
    path = write(tmp_path, "notes.txt", "Title\nBody.")
    with pytest.raises(IngestError, match="not a folder or a .jsonl file"):
        import_path(store, path, progress=False)
    assert_nothing_stored(store)


def test_a_folder_imports_its_jsonl_files_line_by_line(store, tmp_path):
    folder = tmp_path / "mixed"
    write(folder, "a-kettle.txt", "Kettles recalled\n" + BODY)
    lines = [json.dumps({"title": "Coin hoard", "text": PLAIN_TEXT}), "{broken", json.dumps({"title": "No text"})]
    write(folder, "feeds/batch.jsonl", "\n".join(lines) + "\n")
    write(folder, "old/export.ndjson", json.dumps({"title": "Tram opens", "text": "The tram line opened."}) + "\n")
    write(folder, "notes.docx", b"PK\x03\x04" + bytes(100))

    report = import_path(store, folder)

    assert sorted(a.title for a in report.added) == ["Coin hoard", "Kettles recalled", "Tram opens"]
    failed = dict(report.failed)
    batch = str(Path("feeds/batch.jsonl"))
    assert set(failed) == {f"{batch}:2", f"{batch}:3", "notes.docx"}
    assert "not valid JSON" in failed[f"{batch}:2"] and "missing" in failed[f"{batch}:3"]
    assert failed["notes.docx"].startswith("unsupported file type .docx")  # the name is said once, as where


def test_import_progress_wraps_every_item_and_a_plain_file_is_refused_before_anything(store, tmp_path):
    seen = []

    def progress(items, total):
        seen.append(total)
        return items

    folder = tmp_path / "two"
    write(folder, "a.txt", "Kettles recalled\n" + BODY)
    write(folder, "b.jsonl", json.dumps({"title": "Tram opens", "text": "The tram line opened."}) + "\n{bad\n")
    assert import_path(store, folder, progress=progress).counts() == {"added": 2, "skipped": 0, "failed": 1}
    assert seen == [3]  # the file and the two lines
    with pytest.raises(IngestError, match="not a folder or a .jsonl file"):
        check_importable(write(tmp_path, "kettle.txt", "Kettles\n" + BODY))


def test_import_never_follows_a_link_out_of_the_folder(store, tmp_path):
    secret = write(tmp_path, "outside/.env", "TELEGRAM_BOT_TOKEN=123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw\n")
    folder = tmp_path / "articles"
    write(folder, "kettles.txt", "Kettles recalled\n\n" + BODY)
    (folder / "token.txt").symlink_to(secret)
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    (folder / "lines.jsonl").symlink_to(write(tmp_path, "outside/batch.jsonl", json.dumps({"title": "T", "text": "Secret."})))
    (folder / "nested").symlink_to(tmp_path / "outside", target_is_directory=True)
    (folder / "same-kettles.txt").symlink_to(folder / "kettles.txt")  # inside the folder: read (a duplicate)
    report = import_path(store, folder, progress=False)
    assert report.counts() == {"added": 1, "skipped": 4, "failed": 0}
    skipped = dict(report.skipped)
    for name in ("token.txt", "passwd.txt", "lines.jsonl"):
        assert skipped[name] == "a link to a file outside the folder; not followed"
    assert skipped["same-kettles.txt"].startswith("already in the collection as article 1")
    assert [a.title for a in store.list_articles()] == ["Kettles recalled"]
    assert "AAHdq" not in store.get_article(1).text


def test_a_jsonl_import_is_streamed_and_a_long_line_is_passed_over(store, tmp_path, monkeypatch):
    monkeypatch.setattr(qabot.index.importing, "MAX_JSONL_LINE_BYTES", 200)
    path = write(tmp_path, "batch.jsonl", "\n".join([
        json.dumps({"title": "Kettles", "text": "Kettles recalled."}),
        json.dumps({"title": "Long", "text": "word " * 100}),
        json.dumps({"title": "Trams", "text": "The tram line opened."}),
    ]))
    report = import_path(store, path, progress=False)
    assert report.counts() == {"added": 2, "skipped": 0, "failed": 1}
    assert report.failed == [("batch.jsonl:2", "the line is over 200 bytes; not read")]

    monkeypatch.undo()
    big = write(tmp_path, "big.jsonl", "".join(
        json.dumps({"title": f"Item {n}", "body": "x" * 2000}) + "\n" for n in range(5000)
    ))  # 10 MB of lines, each refused (no "text") without touching the store
    tracemalloc.start()
    report = import_path(store, big, progress=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.counts()["failed"] == 5000
    assert peak < big.stat().st_size // 8  # read a line at a time, never the whole file


def test_a_jsonl_line_that_is_not_utf8_is_refused_with_its_number(store, tmp_path):
    path = write(tmp_path, "latin1.jsonl", "\n".join([
        json.dumps({"title": "Kettles", "text": "Kettles recalled."}),
        json.dumps({"title": "Café opens", "text": "The café opened."}, ensure_ascii=False),
    ]).encode("latin-1"))
    report = import_path(store, path, progress=False)
    assert report.counts() == {"added": 1, "skipped": 0, "failed": 1}
    assert report.failed == [
        ("latin1.jsonl:2", "the line is not UTF-8 text (byte 0xe9 at byte 15); save the file as UTF-8")
    ]
    assert [a.title for a in store.list_articles()] == ["Kettles"]
