"""index/schema.py: a new file gets the schema once, and older collections are migrated to it."""

import numpy as np

from qabot.index.analysis import question_terms
from qabot.index.bm25 import POSTING
from qabot.index.schema import FTS_TOKENIZE, SCHEMA_VERSION
from qabot.index.store import Store
from tests.index.test_store import HOARD, TRAM


def test_reopening_does_not_migrate_again(db_path):
    Store(db_path).close()
    with Store(db_path) as store:  # would fail on "table articles already exists"
        store.add_article(title="Tram", text=TRAM)
        assert store.counts()["articles"] == 1


def test_a_schema_3_collection_moves_from_fts5_to_postings(db_path):
    with Store(db_path) as store:
        store.add_article(title="Tram", text=TRAM)
        store.add_article(title="Coins", text=HOARD)
        before = store.search_chunks(question_terms("tram stops silver coins"), 10)
        # back to schema 3: the chunks' terms in an FTS5 table kept by triggers, no postings
        store.db.execute("DROP TABLE postings")
        store.db.execute("DROP TABLE pending_chunks")
        store.db["chunks"].enable_fts(["terms"], create_triggers=True, tokenize=FTS_TOKENIZE)
        store.db["chunks"].populate_fts(["terms"])
        _back_to_schema_4(store)
        store.db.execute("PRAGMA user_version = 3")
    with Store(db_path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        assert not store.db["chunks"].detect_fts()
        assert not store.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                    " AND sql LIKE '%chunks_fts%'").fetchall()
        assert store.search_chunks(question_terms("tram stops silver coins"), 10) == before
        assert store.verify() == []
        store.add_article(title="More", text="The tram depot at Quay Street got a new roof.")
        assert store.verify() == []


def _back_to_schema_6(store):
    """Undo schema 7: no record of the search indexes, no outbox (the embedded index kept)."""
    store.db.executescript("DROP TABLE index_outbox; DROP TABLE search_indexes")


def _back_to_schema_5(store):
    """Undo schemas 7 and 6: no outbox, no feeds."""
    _back_to_schema_6(store)
    store.db.executescript("DROP TABLE feed_entries; DROP TABLE feeds")


def _back_to_schema_4(store):
    """Undo schemas 7 to 5: no outbox, no feeds, no id sequences, no question keys."""
    _back_to_schema_5(store)
    store.db.execute("DROP TABLE id_sequences")
    store.db.execute("DROP INDEX questions_key")
    store.db.execute("ALTER TABLE questions DROP COLUMN key")


def test_a_schema_4_collection_gets_a_sound_index_and_ids_that_are_never_reused(db_path):
    with Store(db_path) as store:
        store.add_article(title="Tram", text=TRAM)
        coins = store.add_article(title="Coins", text=HOARD)
        store.record_question("When did the tram stop?", answered=True)
        before = store.search_chunks(question_terms("tram stops silver coins"), 10)
        with store.transaction():
            store.index.flush()
        # schema 4's merges could leave a block unsorted, with wrong bounds: damage one that way
        term, data = store.db.execute("SELECT term, data FROM postings WHERE n > 1 LIMIT 1").fetchone()
        block = np.frombuffer(data, dtype=POSTING)[::-1].copy()
        store.db.execute("UPDATE postings SET data = ? WHERE term = ?", [block.tobytes(), term])
        assert any("out of order" in problem for problem in store.verify())
        _back_to_schema_4(store)
        store.db.execute("PRAGMA user_version = 4")
    with Store(db_path) as store:
        assert store.verify() == []
        assert store.search_chunks(question_terms("tram stops silver coins"), 10) == before
        store.remove_article(coins.id)
        again = store.add_article(title="Coins again", text=HOARD)
        assert again.id > coins.id
        last_chunk = store.db.execute("SELECT max(id) FROM chunks").fetchone()[0]
        assert min(c.id for c in store.chunks_of(again.id)) > last_chunk - again.chunks
        assert store.question(1).question == "When did the tram stop?"
