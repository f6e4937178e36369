"""Restart: ``qabot run`` stopped with SIGTERM and started again loses nothing and repeats nothing.

The fake Bot API keeps every update until a getUpdates offset confirms it, as Telegram does, so
what users send while the bot is down waits for it, and an update the bot fetched but did not
confirm would come back after the restart.
"""

import time

import pytest

from qabot.index.importing import import_path
from qabot.index.store import Store
from tests.bot.conftest import ADMIN, QUESTIONS, qabot_run, rendered
from tests.conftest import SAMPLE_ARTICLES

PASTED = (
    "Gorsefield library reopens after roof repairs\n"
    "The Gorsefield library reopened on Monday after eight months of roof repairs costing 1.2 million pounds."
)


def wait_until(condition, run, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, run.log
        time.sleep(0.02)


def texts(server, chat: int) -> list[str]:
    return [rendered(message).text for message in server.sent_messages(chat)]


@pytest.mark.slow
def test_a_restarted_bot_keeps_everything_answers_the_same_and_handles_what_came_meanwhile(server, tmp_path):
    db = tmp_path / "q.db"
    with Store(db) as store:
        import_path(store, SAMPLE_ARTICLES, progress=False)
    before = dict(enumerate(QUESTIONS, start=5001))
    meanwhile = dict(enumerate([*QUESTIONS, "How old is the Gorsefield library roof repair?"], start=6001))
    in_flight = 5100

    with qabot_run(server, db, tmp_path) as run:
        server.inject_command("add", PASTED, user_id=ADMIN)
        for chat, question in before.items():
            server.inject_message(question, user_id=chat)
        wait_until(lambda: all(server.sent_messages(chat) for chat in [ADMIN, *before]), run)
        first_answers = {chat: texts(server, chat) for chat in before}

        server.inject_message(next(iter(QUESTIONS)), user_id=in_flight)
        server.wait_for(lambda call: str(call.params.get("chat_id")) == str(in_flight), ok=None, timeout=10)
        assert run.stop() == 0, run.log  # SIGTERM while that question is being answered
        assert "reader as @qabot_test_bot, by polling" in run.log
    assert server.pending_updates == 0  # everything fetched was confirmed before the bot exited

    for chat, question in meanwhile.items():  # sent while the bot is down
        server.inject_message(question, user_id=chat)
    server.inject_command("stats", user_id=ADMIN)

    with qabot_run(server, db, tmp_path) as run:
        wait_until(lambda: all(server.sent_messages(chat) for chat in meanwhile), run)
        wait_until(lambda: len(server.sent_messages(ADMIN)) == 2, run)
        for chat, question in before.items():  # the same questions again
            server.inject_message(question, user_id=chat)
        wait_until(lambda: all(len(server.sent_messages(chat)) == 2 for chat in before), run)
        time.sleep(0.5)  # time for any update that would be handled twice
        assert run.stop() == 0, run.log
    assert server.pending_updates == 0

    added, stats = texts(server, ADMIN)
    assert added.startswith("Added article 9: Gorsefield library reopens")
    assert "Articles: 9" in stats
    for chat in before:
        assert texts(server, chat) == first_answers[chat] * 2  # the index answers the same after the restart
    assert len(server.sent_messages(in_flight)) == 1  # answered before the stop, and not again after
    for chat in meanwhile:
        assert len(server.sent_messages(chat)) == 1
    assert "Gorsefield" in texts(server, 6005)[0]
    with Store(db) as store:
        assert store.counts()["articles"] == 9 and store.verify() == []
        assert store.stats()["questions"] == 2 * len(before) + 1 + len(meanwhile)  # each handled once
