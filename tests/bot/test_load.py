"""Load, small: many chats asking at once are all answered exactly once, and leave no state behind.

The full-size probe (200 questions from 50 chats, with the p95 time and memory over two rounds) is
in ``python -m benchmarks.reliability``; this one checks behaviour only, never timings.
"""

import pytest

from tests.bot.conftest import QUESTIONS, answered_questions, settled, until

PRIVATE = range(7001, 7016)
GROUPS = range(-7005, -7000)


@pytest.mark.slow
async def test_sixty_questions_from_twenty_chats_are_each_answered_once_and_leave_no_state(bot, server):
    asked = set()
    for question in list(QUESTIONS)[:3]:
        for chat in PRIVATE:
            server.inject_message(question, user_id=chat)
            asked.add((chat, question))
        for chat in GROUPS:  # in groups, with /ask
            server.inject_command("ask", question, user_id=chat + 10_000, chat_type="group", chat_id=chat)
            asked.add((chat, question))
    assert len(asked) == 60
    chats = [*PRIVATE, *GROUPS]

    await until(lambda: set(answered_questions(server, chats)) >= asked, timeout=60, every=0.1)
    await settled(server, pause=0.5)
    answered = answered_questions(server, chats)
    assert set(answered) == asked and set(answered.values()) == {1}
    assert sum(len(server.sent_messages(chat)) for chat in chats) == len(asked)

    # nothing kept per chat or per user but each conversation's previous exchange (bounded, expiring):
    # the bot's only other state is what it was built with
    assert not bot.chat_data and not bot.user_data
    assert set(bot.bot_data) - {"feed_lock"} == {"settings", "store", "reader", "encoder", "executor", "conversations", "inline"}
    conversations = bot.bot_data["conversations"]
    assert len(conversations.last) == len(PRIVATE) + len(GROUPS)  # one exchange per chat (group member)
