"""index/outbox.py and the store's hooks: the embedded index as before, and rows owed to Xapian written
in the article's own transaction (no shard needed for these)."""

import sys

import pytest

from qabot.index import outbox
from qabot.index.analysis import question_terms
from qabot.index.engine import EmbeddedIndex, IndexUnavailable, open_index
from qabot.index.store import SCHEMA_VERSION, Store
from tests.index.test_schema import _back_to_schema_6


def test_a_schema_6_collection_keeps_its_embedded_index_and_writes_no_outbox(db_path):
    with Store(db_path) as store:
        store.add_article(title="Tram", text="The tram runs along the river to the old port.")
        before = store.search_chunks(question_terms("tram port"), 5)
        _back_to_schema_6(store)
        store.db.execute("PRAGMA user_version = 6")
    with Store(db_path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        assert [t.name for t in outbox.targets(store.db.conn)] == ["sqlite"]
        assert store.search_chunks(question_terms("tram port"), 5) == before
        store.add_article(title="Coins", text="A hoard of coins was found near the port.")
        store.remove_article(1)
        assert store.db.execute("SELECT count(*) FROM index_outbox").fetchone() == (0,)
        assert isinstance(store.engine, EmbeddedIndex) and store.search_missed() is None
        assert store.verify() == []


def test_a_change_is_owed_to_every_xapian_generation_in_its_own_transaction(store):
    with store.transaction():
        live = outbox.start_building(store.db.conn, 2, "xapian://a:1,b:2")
        outbox.go_live(store.db.conn, live.name)
        building = outbox.start_building(store.db.conn, 3, "xapian://c:1,d:2,e:3")
    assert not outbox.embedded_live(store.db.conn)
    article = store.add_article(title="Tram", text="The tram runs along the river.")
    with pytest.raises(RuntimeError), store.transaction():  # rolled back: nothing owed
        store.add_article(title="Gone", text="A text that never was.")
        raise RuntimeError
    store.remove_article(article.id)
    owed = store.db.execute("SELECT target, article_id FROM index_outbox ORDER BY seq").fetchall()
    assert sorted(owed) == sorted([(live.name, 1), (building.name, 1)] * 2)
    assert outbox.waiting(store.db.conn, live.name, shard=1) == 2
    assert outbox.waiting(store.db.conn, live.name, shard=0) == 0
    seqs, articles = outbox.batch(store.db.conn, building.name, 1, 3, 10)
    assert len(seqs) == 2 and articles == [1]
    with store.transaction():
        outbox.done(store.db.conn, seqs)
        outbox.keep_embedded(store.db.conn)  # (what reindex without QABOT_INDEX does, with the rebuild)
    assert store.db.execute("SELECT count(*) FROM index_outbox").fetchone() == (0,)
    assert [t.name for t in outbox.targets(store.db.conn)] == ["sqlite"]


def test_without_the_embedded_index_sqlite_search_says_where_the_collection_is(store):
    store.add_article(title="Tram", text="The tram runs along the river.")
    with store.transaction():
        outbox.go_live(store.db.conn, outbox.start_building(store.db.conn, 2, "xapian://a:1,b:2").name)
    assert store.db.execute("SELECT count(*) FROM postings").fetchone() == (0,)
    with pytest.raises(IndexUnavailable, match=r"searched on Xapian shards \(xapian://a:1,b:2\)"):
        store.search_chunks(["tram"], 5)
    assert store.verify() == []  # the chunks still agree with each other
    assert store.engine.check() and store.engine.reindex()["dropped"]
    assert store.search_chunks(["tram"], 5) and store.verify() == []


def test_no_shard_is_named_unless_configured(store):
    assert open_index(None, store).name == "sqlite" and open_index(" sqlite ", store).name == "sqlite"
    with pytest.raises(ValueError, match="expected sqlite, or xapian://"):
        Store(":memory:", engine="redis://localhost:6379")


def test_without_the_bindings_articles_are_still_stored_and_search_says_what_to_install(db_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "xapian", None)  # import xapian fails
    with Store(db_path, engine="xapian://127.0.0.1:9") as store:
        assert store.add_article(title="Tram", text="The tram runs along the river.").id == 1
        with pytest.raises(IndexUnavailable, match=r"pip install 'qabot\[xapian\]'"):
            store.search_chunks(["tram"], 5)
