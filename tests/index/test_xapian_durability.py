"""Nothing is lost on the way to the shards: kill -9 after SQLite's commit, a shard that is down, an
interrupted reindex, a shard changed behind qabot's back; each ends with the check clean."""

import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from qabot.bot.cli import cli
from qabot.index import outbox, reindex
from qabot.index.importing import import_path
from qabot.index.store import Store
from qabot.retrieval.answer import answer
from qabot.retrieval.loading import sentence_reader
from tests.conftest import ROOT, SAMPLE_ARTICLES

KILLED = "Harbour pilots in Porthaven voted on Friday to strike for three days in January."


def killed_while_adding(db_path, url: str, where: str) -> None:
    """Add an article in another process that kill -9s itself at ``where``: ``after_commit`` (SQLite
    committed, nothing pushed) or ``outbox.done`` (the shard committed, its outbox rows not cleared)."""
    patch = {
        "after_commit": "XapianIndex.catch_up = lambda self: os.kill(os.getpid(), signal.SIGKILL)",
        "outbox.done": "outbox.done = lambda *a: os.kill(os.getpid(), signal.SIGKILL)",
    }[where]
    script = textwrap.dedent(f"""
        import os, signal
        from qabot.index import outbox
        from qabot.index.xapian_index import XapianIndex
        from qabot.index.store import Store
        {patch}
        Store({str(db_path)!r}, engine={url!r}).add_article(title="Pilots strike", text={KILLED!r})
        print("not killed")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == -9, (done.stdout, done.stderr)


@pytest.mark.parametrize("where", ["after_commit", "outbox.done"])
def test_kill_9_between_the_sqlite_commit_and_the_shard_push_loses_nothing(db_path, xapian_shards, where):
    with Store(db_path, engine=xapian_shards.url) as store:
        store.add_article(title="Trams", text="The Riverside tram line opened on Sunday.")
    killed_while_adding(db_path, xapian_shards.url, where)
    with Store(db_path, engine=xapian_shards.url) as store:
        (article_id,) = store.db.execute("SELECT id FROM articles WHERE title = 'Pilots strike'").fetchone()
        assert store.db.execute("SELECT article_id FROM index_outbox").fetchall() == [(article_id,)]
        assert store.engine.catch_up() == 1  # at start-up (qabot run, qabot check) or the next search
        hits = store.search_chunks(["pilot", "porthaven"], 5)
        assert [chunk for chunk, _ in hits] == [c.id for c in store.chunks_of(article_id)]
        assert store.db.execute("SELECT count(*) FROM index_outbox").fetchone() == (0,)
        assert store.engine.check(sample=50) == [] and store.verify() == []
    checked = CliRunner().invoke(cli, ["--db", str(db_path), "check"], env={"QABOT_INDEX": xapian_shards.url})
    assert checked.exit_code == 0 and "index consistent" in checked.stdout, checked.output


def test_a_search_pushes_what_the_outbox_holds_first(db_path, xapian_shards):
    with Store(db_path, engine=xapian_shards.url) as store:
        store.add_article(title="Trams", text="The Riverside tram line opened on Sunday.")
    killed_while_adding(db_path, xapian_shards.url, "after_commit")
    with Store(db_path, engine=xapian_shards.url) as store:
        assert store.search_chunks(["porthaven"], 5)


def test_one_shard_down_answers_from_the_other_says_so_and_catches_up_when_it_returns(db_path, xapian_shards):
    reader = sentence_reader(use_encoder=False)
    with Store(db_path, engine=xapian_shards.url) as store:
        store.engine.retry_seconds = 0
        import_path(store, SAMPLE_ARTICLES, progress=False)
        titles = {a.id: a.title for a in store.list_articles()}
        xapian_shards[1].stop()  # it holds the odd articles
        up = {i for i in titles if i % 2 == 0}

        result = answer("Who drove the first tram?", store=store, reader=reader)
        assert result.missing == "1 of 2 index shards could not be reached"
        assert {p.article_id for p in result.passages} <= up and result.passages
        assert store.search_missed() == result.missing
        assert store.engine.count()[xapian_shards[1].address] is None

        added = store.add_article(title="Pilots strike", text=KILLED)  # goes to the outbox, kept
        removed = next(i for i in titles if i % 2)
        store.remove_article(removed)
        owed = outbox.waiting(store.db.conn, store.engine._generation)
        assert owed == 1 + (added.id % 2)
        problems = store.engine.check(sample=30)
        assert any("could not be reached" in p for p in problems)

        xapian_shards[1].start()
        hits = store.search_chunks(["pilot", "porthaven"], 5)  # reconnects, pushes what was owed
        assert hits.missing is None and hits[0][0] == store.chunks_of(added.id)[0].id
        assert outbox.waiting(store.db.conn, store.engine._generation) == 0
        result = answer("Who drove the first tram?", store=store, reader=reader)
        assert result.missing is None
        assert store.engine.check(sample=100) == [] and store.verify() == []
    checked = CliRunner().invoke(cli, ["--db", str(db_path), "check"], env={"QABOT_INDEX": xapian_shards.url})
    assert checked.exit_code == 0 and "index consistent" in checked.stdout, checked.output


def test_every_shard_down_is_one_clear_error(db_path, xapian_shards):
    with Store(db_path, engine=xapian_shards.url) as store:
        store.add_article(title="Trams", text="The Riverside tram line opened on Sunday.")
        for shard in xapian_shards:
            shard.stop()
        store.engine.close()
        with pytest.raises(reindex.IndexUnavailable, match="no index shard could be reached"):
            store.search_chunks(["tram"], 5)


def test_an_interrupted_reindex_resumes_where_it_stopped(db_path, xapian_shards, monkeypatch):
    with Store(db_path) as store:
        for i in range(12):
            store.add_article(title=f"Article {i}", text=f"Report number {i} on the tram works.")
    monkeypatch.setattr(reindex, "BATCH_ARTICLES", 5)
    with Store(db_path, engine=xapian_shards.url) as store:
        calls = []

        def interrupted(done, total):
            calls.append(done)
            if len(calls) == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            store.engine.reindex(interrupted)
        (building,) = [t for t in outbox.targets(store.db.conn) if not t.live]
        assert building.built_up_to == 5 and outbox.embedded_live(store.db.conn)
        with pytest.raises(reindex.IndexUnavailable, match="still being built"):
            store.search_chunks(["tram"], 20)
    with Store(db_path) as store:  # a process without QABOT_INDEX still searches SQLite meanwhile
        assert len(store.search_chunks(["tram"], 20)) == 12
        store.add_article(title="During", text="A tram report added while the index was being built.")
    with Store(db_path, engine=xapian_shards.url) as store:
        progress = []
        summary = store.engine.reindex(lambda done, total: progress.append((done, total)))
        assert summary["resumed_from"] == 5 and summary["in_place"]
        assert progress[0] == (5, 13) and progress[-1] == (13, 13)
        assert [t.name for t in outbox.targets(store.db.conn)] == [summary["generation"]]
        assert len(store.search_chunks(["tram"], 20)) == 13
        assert store.engine.check(sample=20) == [] and store.verify() == []


def test_reindex_repairs_a_shard_changed_behind_qabots_back(db_path, xapian_shards):
    import xapian

    with Store(db_path, engine=xapian_shards.url) as store:
        import_path(store, SAMPLE_ARTICLES, progress=False)
        chunk = store.chunks_of(2)[0]
        host, port = store.engine.shards[0]
        writer = xapian.remote_open_writable(host, port)
        writer.delete_document(chunk.id)
        stray = xapian.Document()
        stray.add_term("tram", 3)
        writer.replace_document(999_999, stray)
        writer.commit()
        writer.close()
        problems = store.engine.check(sample=1000)
        assert any("holds" in p for p in problems) and any("have no document" in p for p in problems)
        summary = store.engine.reindex()
        assert summary["in_place"] and summary["removed"] == 1
        assert store.engine.check(sample=1000) == []


def test_reindex_without_the_setting_brings_the_collection_back_to_sqlite(db_path, xapian_shards):
    with Store(db_path, engine=xapian_shards.url) as store:
        import_path(store, SAMPLE_ARTICLES, progress=False)
        store.engine.retry_seconds = 0
        xapian_shards[0].stop()
        store.add_article(title="Pilots strike", text=KILLED)  # owed to a shard that is down
    with Store(db_path) as store:
        summary = store.engine.reindex()
        assert summary["chunks"] == store.counts()["chunks"] and len(summary["dropped"]) == 1
        assert store.db.execute("SELECT count(*) FROM index_outbox").fetchone() == (0,)
        assert store.search_chunks(["porthaven"], 5) and store.verify() == []
