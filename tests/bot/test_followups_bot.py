"""Follow-up questions through the running bot (fake Bot API): the context of a question is the answer
it replies to, or the chat's previous exchange for a few minutes; chats and group members never mix.

The bot reads with the builtin reader here: a follow-up's "she" is the name the previous answer
gave, and the sentence reader answers with whole sentences.
"""

import pytest

from qabot.bot.conversation import CONTEXT_SECONDS, Conversations
from qabot.retrieval.loading import load_reader
from tests.bot.conftest import GROUP, USER, rendered, replies

pytestmark = pytest.mark.asyncio

TRAM = "Who drove the first tram on the Riverside Line?"


@pytest.fixture(scope="module")
def reader():
    """The builtin reader (overrides conftest's sentence reader for this module's bot)."""
    return load_reader("builtin", use_encoder=False)
OTHER_USER = 2002


async def ask(server, text: str, chat: int = USER, **sender) -> dict:
    """Send a message into ``chat`` and return the bot's one reply."""
    (reply,) = await replies(server, chat, lambda: server.inject_message(text, **sender))
    return reply


@pytest.mark.slow
async def test_a_follow_up_in_a_private_chat_is_read_with_the_previous_answer(bot, server):
    first = rendered(await ask(server, TRAM))
    assert "Priya Nandakumar" in first.text and "Read as" not in first.text
    follow_up = rendered(await ask(server, "How old is she?"))
    assert "Read as: How old is Priya Nandakumar?" in follow_up.text.splitlines()[0]
    assert any("31-year-old" in bold or "31-year-old" in follow_up.text for bold in follow_up.bold)
    assert "Aldermoor opens Riverside tram line" in follow_up.text


async def test_a_follow_up_with_nothing_before_it_is_asked_back_instead_of_answered(bot, server):
    reply = rendered(await ask(server, "When did he visit?"))
    assert reply.text == "Who do you mean by “he”? Please ask again with the name."
    assert rendered(await ask(server, "And Kim?")).text == "What are you asking about? Please ask the whole question."


async def test_the_context_expires_after_a_few_minutes(bot, server):
    now = [1000.0]
    bot.bot_data["conversations"] = Conversations(clock=lambda: now[0])
    await ask(server, TRAM)
    now[0] += CONTEXT_SECONDS + 1
    reply = rendered(await ask(server, "How old is she?"))
    assert reply.text.startswith("Who do you mean by “she”?")


async def test_chats_never_share_their_context(bot, server):
    await ask(server, TRAM)
    reply = rendered(await ask(server, "How old is she?", OTHER_USER, user_id=OTHER_USER, first_name="Bob"))
    assert reply.text.startswith("Who do you mean by “she”?")


async def test_a_standalone_question_after_another_is_answered_as_on_its_own(bot, server):
    await ask(server, "When did Putin last visit Pyongyang?")
    reply = rendered(await ask(server, "How much does a single adult fare cost?"))
    assert "2.10 pounds" in reply.text and "Read as" not in reply.text


async def test_in_a_group_a_reply_to_an_answer_is_its_follow_up_for_anyone(bot, server):
    group = {"chat_type": "group", "chat_id": GROUP}
    answer = await ask(server, f"/ask {TRAM}", GROUP, **group)
    reply = rendered(
        await ask(
            server, "How old is she?", GROUP, reply_to=answer["_message_id"], user_id=OTHER_USER,
            first_name="Bob", **group,
        )
    )
    assert "Read as: How old is Priya Nandakumar?" in reply.text


async def test_in_a_group_each_member_has_their_own_context(bot, server):
    group = {"chat_type": "group", "chat_id": GROUP}
    await ask(server, f"/ask {TRAM}", GROUP, **group)
    mine = rendered(await ask(server, "/ask How old is she?", GROUP, **group))
    assert "Read as: How old is Priya Nandakumar?" in mine.text
    bob = rendered(await ask(server, "/ask How old is she?", GROUP, user_id=OTHER_USER, first_name="Bob", **group))
    assert bob.text.startswith("Who do you mean by “she”?")


async def test_a_reply_to_an_answer_finds_it_after_the_bot_forgot_its_conversations(bot, server):
    answer = await ask(server, TRAM)
    bot.bot_data["conversations"] = Conversations()  # as after a restart: only the store remembers
    reply = rendered(await ask(server, "How old is she?", reply_to=answer["_message_id"]))
    assert "Read as: How old is Priya Nandakumar?" in reply.text
    unreplied = rendered(await ask(server, "How old is she?"))
    assert "Read as: How old is Priya Nandakumar?" in unreplied.text  # the follow-up became the context
