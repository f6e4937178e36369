"""``qabot reindex`` and ``qabot check`` with QABOT_INDEX: on Xapian shards and back, as an operator types them."""

import json

import pytest

from tests.bot.test_cli import ok, qabot, refused, runner  # noqa: F401 (fixtures)
from tests.conftest import SAMPLE_ARTICLES


@pytest.fixture
def sharded(qabot, xapian_shards):  # noqa: F811
    """Run qabot with QABOT_INDEX naming the two shards (and the sentence reader)."""

    def run(*args, **kwargs):
        return qabot(*args, env={"QABOT_INDEX": xapian_shards.url, "QABOT_QA_MODEL": "sentence"}, **kwargs)

    return run


def test_reindex_moves_a_collection_onto_the_shards_and_check_compares_them(qabot, sharded, xapian_shards):  # noqa: F811
    ok(qabot("import", str(SAMPLE_ARTICLES)))
    done = ok(sharded("reindex"))
    assert f"on {xapian_shards.url} (2 shards)" in done.stdout and "8 articles" in done.stdout
    checked = ok(sharded("check"))
    assert "index consistent" in checked.stdout
    for shard in xapian_shards:
        assert f"{shard.address}: " in checked.stdout
    hits = json.loads(ok(sharded("search", "Who drove the first tram?", "--json")).stdout)
    assert hits["hits"] and hits["missing"] is None
    refused(qabot("search", "tram"), "searched on Xapian shards")
    refused(qabot("check"), "set QABOT_INDEX")  # without the setting the shards are not checked


def test_reindex_json_and_back_to_sqlite(qabot, sharded):  # noqa: F811
    ok(qabot("import", str(SAMPLE_ARTICLES)))
    summary = json.loads(ok(sharded("reindex", "--json")).stdout)
    assert summary["articles"] == 8 and summary["shards"] == 2 and summary["dropped"] == ["sqlite"]
    back = json.loads(ok(qabot("reindex", "--json")).stdout)
    assert back["index"] == "sqlite" and back["dropped"] == [summary["generation"]]
    assert "index consistent" in ok(qabot("check")).stdout
    assert ok(qabot("search", "tram")).stdout.startswith("1. ")
    refused(sharded("search", "tram"), "does not keep")


@pytest.mark.slow
def test_check_finds_a_shard_behind_and_a_shard_down(qabot, sharded, xapian_shards):  # noqa: F811
    import xapian

    ok(sharded("import", str(SAMPLE_ARTICLES)))  # a new collection on blank shards: indexed there at once
    assert "index consistent" in ok(sharded("check")).stdout
    writer = xapian.remote_open_writable("127.0.0.1", xapian_shards[1].port)
    writer.delete_document("XA1")
    writer.commit()
    writer.close()
    drift = sharded("check", "--sample", "1000")
    assert drift.exit_code == 1 and f"the shard {xapian_shards[1].address} holds" in drift.stderr
    ok(sharded("reindex"))
    ok(sharded("check"))
    xapian_shards[0].stop()
    down = sharded("check")
    assert down.exit_code == 1 and f"{xapian_shards[0].address} could not be reached" in down.stderr


def test_answers_say_when_part_of_the_collection_could_not_be_searched(sharded, xapian_shards):
    ok(sharded("import", str(SAMPLE_ARTICLES)))
    xapian_shards[1].stop()
    asked = ok(sharded("ask", "Who drove the first tram?"))
    assert "1 of 2 index shards could not be reached" in asked.stdout
    answered = json.loads(ok(sharded("ask", "Who drove the first tram?", "--json")).stdout)
    assert answered["notes"]["missing"].startswith("Part of the collection could not be searched")
    searched = ok(sharded("search", "tram"))
    assert "1 of 2 index shards could not be reached" in searched.stderr
    xapian_shards[0].stop()
    refused(sharded("ask", "Who drove the first tram?"), "no index shard could be reached")


def test_a_wrong_index_setting_is_one_line(qabot):  # noqa: F811
    ok(qabot("import", str(SAMPLE_ARTICLES)))
    refused(
        qabot("search", "tram", env={"QABOT_INDEX": "xapian://shard-1"}),
        "QABOT_INDEX='xapian://shard-1': expected sqlite, or xapian://HOST:PORT,HOST:PORT",
    )


def test_telegram_says_it_too_under_the_answer_or_the_decline():
    from qabot.bot.formatting import result_as_html
    from qabot.retrieval.types import Answer, Result

    said = "1 of 2 index shards could not be reached"
    tram = Answer(text="Priya Nandakumar", score=1.0, article_id=2, title="Trams", url=None, published=None,
                  start=0, end=16, context="Priya Nandakumar drove the first tram.", context_start=0)
    for answers in ((), (tram,)):
        result = Result(question="Who drove the first tram?", reader="span", no_answer=not answers,
                        answers=answers, passages=(), missing=said)
        (message,) = result_as_html(result)
        assert f"Part of the collection could not be searched just now ({said})" in message
