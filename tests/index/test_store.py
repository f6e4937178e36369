"""index/store.py: articles round-trip, duplicates and bad input are refused, writes are atomic."""

import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sqlite_utils

from qabot.index import bm25
from qabot.index.analysis import question_terms
from qabot.index.bm25 import POSTING, EmptyIndex
from qabot.index.store import (
    MAX_TEXT_CHARS,
    SCHEMA_VERSION,
    ArticleNotFound,
    DuplicateArticle,
    InvalidArticle,
    Store,
)
from tests.conftest import ROOT

TRAM = (
    "The Aldermoor riverside tram opened on Saturday after four years of building work. "
    "Its first passengers boarded at Quay Street at dawn.\n\n"
    "The line runs for eleven kilometres along the river and has fourteen stops. "
    "Trams will run every six minutes at peak times, the operator said."
)
HOARD = (
    "A metal detectorist found a hoard of 912 silver coins in a field near Wexcombe. "
    "Experts at the county museum dated the coins to the reign of King Offa.\n"
    "The finder, a retired postman, said he had searched the field for eleven years."
)


def indexed_chunk_ids(store: Store, word: str) -> list[int]:
    """Chunk ids the BM25 index itself holds for one word (bypassing the chunks table)."""
    (term,) = question_terms(word)
    with store.db.atomic():
        store.index.flush()  # pending chunks are read from the chunks table: write their postings
    rows = store.db.execute("SELECT data FROM postings WHERE term = ?", [term]).fetchall()
    return sorted(int(c) for (data,) in rows for c in np.frombuffer(data, dtype=POSTING)["chunk"])


def hits(store: Store, question: str) -> list[int]:
    """Article ids of the chunks BM25 finds for a question, best first."""
    found = store.search_chunks(question_terms(question), 10)
    chunks = store.chunks_by_id([chunk_id for chunk_id, _ in found])
    return [chunks[chunk_id].article_id for chunk_id, _ in found]


# --- round trip ---------------------------------------------------------------------------------


def test_add_get_list_remove_round_trip(store):
    tram = store.add_article(
        title="  Riverside tram\n opens ",
        text=TRAM,
        url="https://news.example/tram",
        site="Aldermoor Echo",
        published="2024-03-02",
        added_by="cli",
    )
    hoard = store.add_article(title="Coin hoard found", text=HOARD)

    assert tram.title == "Riverside tram opens"  # white space collapsed
    assert tram.chunks >= 1 and tram.id != hoard.id

    got = store.get_article(tram.id)
    assert got.text == TRAM
    assert (got.title, got.url, got.site, got.published, got.added_by) == (
        "Riverside tram opens",
        "https://news.example/tram",
        "Aldermoor Echo",
        "2024-03-02",
        "cli",
    )
    assert got.chunks == tram.chunks
    assert got.added_at[:4].isdigit()

    listed = store.list_articles()
    assert [a.id for a in listed] == [tram.id, hoard.id]
    assert not hasattr(listed[0], "text")
    assert [a.id for a in store.list_articles(limit=1, offset=1)] == [hoard.id]

    chunks = store.chunks_of(tram.id)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert TRAM[c.start : c.end] == c.text
    assert "fourteen stops" in "".join(c.text for c in chunks)

    removed = store.remove_article(tram.id)
    assert removed.id == tram.id and removed.title == "Riverside tram opens"
    with pytest.raises(ArticleNotFound, match=str(tram.id)):
        store.get_article(tram.id)
    with pytest.raises(ArticleNotFound):
        store.remove_article(tram.id)
    assert store.chunks_of(tram.id) == []
    assert [a.id for a in store.list_articles()] == [hoard.id]


def test_unknown_article_is_not_found(store):
    with pytest.raises(ArticleNotFound, match="there is no article 42"):
        store.get_article(42)
    with pytest.raises(ArticleNotFound):
        store.get_article_info(42)


def test_articles_without_url_can_coexist(store):
    store.add_article(title="One", text=TRAM)
    store.add_article(title="Two", text=HOARD)
    assert store.counts()["articles"] == 2


def test_long_title_is_shortened(store):
    article = store.add_article(title="word " * 200, text=TRAM)
    assert 0 < len(article.title) <= 300


# --- duplicates ---------------------------------------------------------------------------------


def test_duplicate_url_is_refused_naming_the_existing_article(store):
    first = store.add_article(title="Tram", text=TRAM, url="https://news.example/tram")
    with pytest.raises(DuplicateArticle) as refused:
        store.add_article(title="Other", text=HOARD, url="https://news.example/tram")
    assert refused.value.existing_id == first.id
    assert f"article {first.id}" in str(refused.value) and "URL" in str(refused.value)
    assert store.counts()["articles"] == 1


@pytest.mark.parametrize(
    "variant",
    [
        TRAM,
        TRAM.upper(),
        "  " + TRAM.replace(" ", "   ").replace("\n\n", "\n") + "\n",
        TRAM.replace("Saturday", "SATURDAY").replace(". ", ".\n"),
    ],
    ids=["same", "upper-case", "extra-white-space", "case-and-line-breaks"],
)
def test_duplicate_text_is_refused_naming_the_existing_article(store, variant):
    store.add_article(title="Coins", text=HOARD)
    first = store.add_article(title="Tram", text=TRAM, url="https://news.example/tram")
    with pytest.raises(DuplicateArticle) as refused:
        store.add_article(title="Tram again", text=variant, url="https://other.example/copy")
    assert refused.value.existing_id == first.id
    assert f"article {first.id}" in str(refused.value) and "text" in str(refused.value)
    assert store.counts()["articles"] == 2


def test_different_text_is_not_a_duplicate(store):
    store.add_article(title="Tram", text=TRAM)
    store.add_article(title="Tram, updated", text=TRAM + " A second depot will open in 2026.")
    assert store.counts()["articles"] == 2


# --- invalid input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"title": "", "text": TRAM}, "no title"),
        ({"title": " \n\t ", "text": TRAM}, "no title"),
        ({"title": "Tram", "text": ""}, "no text"),
        ({"title": "Tram", "text": " \n\n  "}, "no text"),
        ({"title": "Tram", "text": "x" * (MAX_TEXT_CHARS + 1)}, "limit"),
        ({"title": "Tram", "text": TRAM, "published": "yesterday"}, "YYYY-MM-DD"),
        ({"title": "Tram", "text": TRAM, "published": "2024-13-45"}, "YYYY-MM-DD"),
        ({"title": "Tram", "text": TRAM, "published": "02/03/2024"}, "YYYY-MM-DD"),
    ],
    ids=[
        "empty-title", "blank-title", "empty-text", "blank-text", "text-too-long",
        "date-in-words", "impossible-date", "date-in-other-format",
    ],
)
def test_invalid_article_is_refused_and_nothing_stored(store, fields, reason):
    with pytest.raises(InvalidArticle, match=reason):
        store.add_article(**fields)
    assert store.counts() == {"articles": 0, "chunks": 0}
    assert store.list_articles() == []


def test_a_run_of_symbols_is_stored_in_passages_the_index_can_count(store):
    """"½" x 70,000 normalises (NFKC) to 140,000 terms: once one chunk, more than a posting counts."""
    article = store.add_article(title="Halves", text="½" * 70_000)
    lengths = [len(terms.split()) for (terms,) in store.db.execute("SELECT terms FROM chunks")]
    assert article.chunks == len(lengths) > 1 and max(lengths) <= bm25.MAX_CHUNK_TERMS
    for i in range(70):  # enough to write the pending chunks into the index
        store.add_article(title=f"Tram {i}", text=f"{TRAM}\nDeparture {i}.")
    assert store.db.execute("SELECT count(*) FROM postings").fetchone()[0]
    assert store.verify() == []


def test_a_chunk_of_more_terms_than_a_posting_counts_is_refused(store, monkeypatch):
    monkeypatch.setattr(bm25, "MAX_CHUNK_TERMS", 10)
    with pytest.raises(InvalidArticle, match="at most 10 can be indexed"):
        store.add_article(title="Tram", text=TRAM)
    assert store.counts() == {"articles": 0, "chunks": 0}


def test_published_timestamp_is_stored_as_a_date(store):
    article = store.add_article(title="Tram", text=TRAM, published="2024-03-02T09:30:00+00:00")
    assert store.get_article(article.id).published == "2024-03-02"


# --- atomicity ----------------------------------------------------------------------------------


def assert_only_hoard_is_stored(store: Store, hoard_id: int) -> None:
    assert [a.id for a in store.list_articles()] == [hoard_id]
    assert store.db.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    chunk_articles = {row[0] for row in store.db.execute("SELECT article_id FROM chunks")}
    assert chunk_articles == {hoard_id}
    assert indexed_chunk_ids(store, "tram") == [] and indexed_chunk_ids(store, "fourteen") == []
    assert set(hits(store, "riverside tram fourteen stops")) <= {hoard_id}
    assert hits(store, "silver coins") and set(hits(store, "silver coins")) == {hoard_id}


def test_failure_while_inserting_chunks_leaves_nothing_behind(store, monkeypatch):
    hoard = store.add_article(title="Coins", text=HOARD)
    original = sqlite_utils.db.Table.insert_all

    def failing_insert_all(table, records, *args, **kwargs):
        if table.name == "chunks":
            assert store.db.execute("SELECT count(*) FROM articles").fetchone()[0] == 2
            raise OSError("disk on fire")
        return original(table, records, *args, **kwargs)

    monkeypatch.setattr(sqlite_utils.db.Table, "insert_all", failing_insert_all)
    with pytest.raises(OSError, match="disk on fire"):
        store.add_article(title="Tram", text=TRAM, url="https://news.example/tram")
    monkeypatch.undo()

    assert_only_hoard_is_stored(store, hoard.id)
    # nothing half-stored blocks a retry as a "duplicate"
    again = store.add_article(title="Tram", text=TRAM, url="https://news.example/tram")
    assert store.get_article(again.id).text == TRAM
    assert set(hits(store, "riverside tram")) >= {again.id}


def test_database_error_after_some_chunks_rolls_back_everything(store):
    hoard = store.add_article(title="Coins", text=HOARD)
    long_tram = " ".join([TRAM] * 6)  # several chunks
    # the second chunk row fails after the article row, the first chunk and its index entry
    store.db.execute(
        "CREATE TRIGGER fail_second_chunk BEFORE INSERT ON chunks WHEN new.ordinal = 1"
        " BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    )
    with pytest.raises(sqlite3.DatabaseError, match="injected failure"):
        store.add_article(title="Tram", text=long_tram)
    store.db.execute("DROP TRIGGER fail_second_chunk")

    assert_only_hoard_is_stored(store, hoard.id)


def test_process_killed_mid_add_leaves_nothing_behind(db_path):
    with Store(db_path) as store:
        hoard = store.add_article(title="Coins", text=HOARD)
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        import sqlite_utils
        from qabot.index.store import Store

        original = sqlite_utils.db.Table.insert_all
        def insert_all(table, records, *args, **kwargs):
            if table.name == "chunks":
                records = list(records)
                original(table, records[:1], *args, **kwargs)
                os._exit(9)  # killed after the article row and one chunk were written
            return original(table, records, *args, **kwargs)
        sqlite_utils.db.Table.insert_all = insert_all

        store = Store({str(db_path)!r})
        store.add_article(title="Tram", text={" ".join([TRAM] * 6)!r})
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 9, result.stderr
    with Store(db_path) as store:
        assert_only_hoard_is_stored(store, hoard.id)


# --- removal ------------------------------------------------------------------------------------


def test_remove_deletes_chunks_and_their_index_entries(store):
    tram = store.add_article(title="Tram", text=TRAM)
    hoard = store.add_article(title="Coins", text=HOARD)
    assert indexed_chunk_ids(store, "tram")
    assert hits(store, "riverside tram")[0] == tram.id

    store.remove_article(tram.id)

    assert store.db.execute("SELECT count(*) FROM chunks WHERE article_id = ?", [tram.id]).fetchone()[
        0
    ] == 0
    assert indexed_chunk_ids(store, "tram") == [] and indexed_chunk_ids(store, "fourteen") == []
    assert store.index.document_frequencies(question_terms("tram fourteen")) == {}
    assert tram.id not in hits(store, "riverside tram fourteen stops")
    assert hits(store, "silver coins")[0] == hoard.id


def test_removing_the_last_article_empties_the_index(store):
    tram = store.add_article(title="Tram", text=TRAM)
    store.remove_article(tram.id)
    assert store.counts() == {"articles": 0, "chunks": 0}
    with pytest.raises(EmptyIndex):
        store.search_chunks(question_terms("tram"), 5)


# --- the file -----------------------------------------------------------------------------------


def test_schema_version_wal_and_persistence(db_path):
    with Store(db_path) as store:
        tram = store.add_article(title="Tram", text=TRAM, url="https://news.example/tram")
        chunks = store.chunks_of(tram.id)

    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()

    with Store(db_path) as store:
        got = store.get_article(tram.id)
        assert (got.title, got.text, got.url) == ("Tram", TRAM, "https://news.example/tram")
        assert store.chunks_of(tram.id) == chunks
        assert hits(store, "riverside tram")[0] == tram.id
        with pytest.raises(DuplicateArticle):
            store.add_article(title="Tram", text=TRAM)


def test_missing_folder_is_created(tmp_path):
    with Store(tmp_path / "new" / "folder" / "qabot.db") as store:
        store.add_article(title="Tram", text=TRAM)
    assert (tmp_path / "new" / "folder" / "qabot.db").is_file()


def test_newer_schema_is_refused_with_a_clear_error(db_path):
    Store(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(RuntimeError, match="newer") as refused:
        Store(db_path)
    assert str(db_path) in str(refused.value)
