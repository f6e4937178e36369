"""Inline mode end to end through the fake Bot API: ``@bot question`` → answerInlineQuery results,
keystrokes debounced, answers cached, the chosen result counted, and chat questions never held up."""

import asyncio
import threading

import pytest
import pytest_asyncio

from qabot.bot.app import allowed_updates, build_application
from qabot.bot.formatting import NO_ANSWER
from tests.bot.conftest import USER, bot_settings, rendered, replies, serving, settled, until

pytestmark = pytest.mark.asyncio

PUTIN = "When did Putin last visit Pyongyang?"
PUTIN_TITLE = "Putin and Kim sign strategic partnership treaty during Pyongyang state visit"


class CountingReader:
    """The test's reader, counting its reads; reads on the inline thread wait for ``inline_may_go``."""

    def __init__(self, reader):
        self.reader, self.name = reader, reader.name
        self.reads = 0
        self.inline_may_go = threading.Event()
        self.inline_may_go.set()

    def warm_up(self):
        self.reader.warm_up()

    def read_with_unsure(self, question, passages, top_k=3):
        self.reads += 1
        if threading.current_thread().name.startswith("qabot-inline"):
            assert self.inline_may_go.wait(30)
        return self.reader.read_with_unsure(question, passages, top_k=top_k)


@pytest.fixture
def counting(reader):
    return CountingReader(reader)


@pytest_asyncio.fixture
async def bot(server, sample_store, counting, db_path):
    async with serving(build_application(bot_settings(server, db_path), sample_store, counting)) as app:
        yield app


async def answered(server, count: int = 1, timeout: float = 15) -> list[dict]:
    """Wait until answerInlineQuery was called ``count`` times; its calls' params."""
    await until(lambda: len(server.answered_inline_queries) >= count, timeout=timeout)
    return server.answered_inline_queries


@pytest.mark.slow
async def test_a_question_shows_its_answers_and_choosing_one_sends_it_with_its_source(bot, server):
    update = server.inject_inline_query(PUTIN)
    (call,) = await answered(server)
    assert str(call["inline_query_id"]) == update["inline_query"]["id"]
    results = call["results"]
    assert results and all(r["type"] == "article" for r in results)
    top = results[0]
    assert "July 2000" in top["title"]
    assert "Before this trip, Putin had been to Pyongyang only once" in top["description"]
    assert PUTIN_TITLE in top["description"]
    sent = top["input_message_content"]
    assert sent["parse_mode"] == "HTML"
    shown = rendered({"parse_mode": sent["parse_mode"], "text": sent["message_text"]})
    assert shown.text.startswith(PUTIN) and any("July 2000" in bold for bold in shown.bold)
    assert PUTIN_TITLE in shown.text
    assert len({r["id"] for r in results}) == len(results)


@pytest.mark.slow
async def test_keystrokes_are_answered_only_once_the_question_is_complete_and_newest(bot, server):
    for typed in ("When", "When did Putin", "When did Putin last visit", "When did Putin last visit Pyong"):
        server.inject_inline_query(typed)
    last = server.inject_inline_query(PUTIN)
    (call,) = await answered(server)
    await settled(server, pause=1.0)
    assert len(server.answered_inline_queries) == 1  # the prefixes were never answered
    assert str(call["inline_query_id"]) == last["inline_query"]["id"]


@pytest.mark.slow
async def test_an_incomplete_question_gets_no_answer(bot, server, counting):
    server.inject_inline_query("Putin Pyongyang")
    await settled(server, pause=1.0)
    assert server.answered_inline_queries == [] and counting.reads == 0


@pytest.mark.slow
async def test_a_question_asked_again_is_answered_from_the_cache(bot, server, counting):
    server.inject_inline_query(PUTIN)
    (first,) = await answered(server)
    reads = counting.reads
    server.inject_inline_query(PUTIN.lower().rstrip("?") + " ?", user_id=2002, first_name="Bob")
    second = (await answered(server, 2))[1]
    assert counting.reads == reads
    assert [r["title"] for r in second["results"]] == [r["title"] for r in first["results"]]


@pytest.mark.slow
async def test_a_follow_up_or_an_unanswered_question_gets_a_button_saying_why(bot, server):
    server.inject_inline_query("When did he visit?")
    (call,) = await answered(server)
    assert call["results"] == []
    assert call["button"]["text"].startswith("Who do you mean by “he”?")
    assert call["button"]["start_parameter"] == "inline"
    server.inject_inline_query("Who won the men's singles title at Wimbledon in 2024?")
    call = (await answered(server, 2))[1]
    assert call["results"] == [] and call["button"]["text"] == NO_ANSWER


@pytest.mark.slow
async def test_the_chosen_result_counts_as_a_question_asked(bot, server, sample_store):
    before = sample_store.stats()["questions"]
    server.inject_inline_query(PUTIN)
    (call,) = await answered(server)
    server.inject_chosen_inline_result(call["results"][0]["id"], PUTIN)
    await until(lambda: sample_store.stats()["questions"] == before + 1)


@pytest.mark.slow
async def test_chat_questions_are_answered_while_inline_reading_is_busy(bot, server, counting):
    counting.inline_may_go.clear()  # the inline worker is stuck in its read
    server.inject_inline_query(PUTIN)
    await until(lambda: counting.reads == 1)
    (reply,) = await replies(server, USER, lambda: server.inject_message("Who drove the first tram?"))
    assert "Priya Nandakumar" in rendered(reply).text
    assert server.answered_inline_queries == []
    counting.inline_may_go.set()
    await answered(server)


@pytest.mark.slow
async def test_inline_answers_can_be_turned_off(server, sample_store, counting, db_path):
    settings = bot_settings(server, db_path, QABOT_INLINE="off")
    assert "inline_query" not in allowed_updates(settings)
    async with serving(build_application(settings, sample_store, counting)):
        server.inject_inline_query(PUTIN)
        await settled(server, pause=1.0)
        await asyncio.sleep(0)
    assert server.answered_inline_queries == [] and counting.reads == 0
