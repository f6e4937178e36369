"""Telegram faults (bot/delivery.py): sendMessage answered with 429, 500, 502 and timeouts for a while.

Every answer must arrive once the fake Bot API recovers, and none twice: each question the users
asked is answered by exactly one delivered message. A send whose answer never came is not resent
(it may have been delivered: see bot/delivery.py).
"""

import asyncio
import subprocess
import sys

import httpx
import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from qabot.bot import delivery
from qabot.bot.app import build_application
from qabot.bot.cli import MALFORMED_TOKEN
from tests.bot.conftest import (
    QUESTIONS,
    USER,
    answered_questions,
    bot_settings,
    qabot_env,
    rendered,
    replies,
    serving,
    settled,
    until,
)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB reads retry_after
async def test_every_answer_arrives_once_after_flood_control_server_errors_and_timeouts(bot, server):
    faults = [
        (2, 429, {"retry_after": 1}),
        (3, 500, {}),
        (2, 502, {}),
        (2, "timeout", {"delay": 0.5}),  # held, then 504: not carried out
        (2, "timeout", {"delay": 0.5, "deliver": True}),  # slow, but delivered within the read timeout
    ]
    for times, mode, options in faults:
        server.fail_next("sendMessage", times, mode, **options)
    chats = range(3001, 3007)
    asked = set()
    for chat in chats:
        for question in list(QUESTIONS)[: 1 + chat % 4]:
            server.inject_message(question, user_id=chat)
            asked.add((chat, question))

    await until(lambda: set(answered_questions(server, chats)) >= asked, timeout=60, every=0.05)
    await settled(server, pause=1.0)

    delivered = answered_questions(server, chats)
    assert set(delivered) == asked and set(delivered.values()) == {1}, delivered
    assert sum(len(server.sent_messages(chat)) for chat in chats) == len(asked)  # and nothing else
    failed = sum(times for times, _, options in faults if not options.get("deliver"))
    assert len(server.message_attempts()) == len(asked) + failed  # each fault met once, nothing more sent


@pytest.mark.slow
async def test_a_send_that_timed_out_unanswered_is_not_sent_again(server, sample_store, reader, db_path, monkeypatch):
    monkeypatch.setattr(delivery, "READ_TIMEOUT", 0.5)
    async with serving(build_application(bot_settings(server, db_path), sample_store, reader)):
        # Telegram delivers the answer, but only after the bot stopped waiting for it
        server.fail_next("sendMessage", 1, "timeout", delay=1.5, deliver=True)
        (reply,) = await replies(server, USER, lambda: server.inject_message("Who drove the first tram?"))
        assert "Priya Nandakumar" in rendered(reply).text
        await asyncio.sleep(1.0)  # longer than any resend pause
        assert len(server.message_attempts(USER)) == 1  # not resent, and no apology after it
        assert len(server.sent_messages(USER)) == 1

        # the bot still answers the next question normally
        (reply,) = await replies(server, USER, lambda: server.inject_message("How much does a single adult fare cost?"))
        assert "2.10 pounds" in rendered(reply).text


@pytest.mark.slow
async def test_telegram_down_for_longer_than_the_resend_window_costs_only_that_answer(
    server, sample_store, reader, db_path, monkeypatch
):
    monkeypatch.setattr(delivery, "RESEND_FOR", 1.0)
    async with serving(build_application(bot_settings(server, db_path), sample_store, reader)):
        server.fail_next("sendMessage", 20, 500)
        server.inject_message("Who drove the first tram?")
        await until(lambda: len(server.message_attempts(USER)) >= 3, timeout=10)
        await settled(server, pause=1.0)
        assert not server.sent_messages(USER)  # given up on, without an apology that could not get through
        server.clear_faults()
        (reply,) = await replies(server, USER, lambda: server.inject_message("Who drove the first tram?"))
        assert "Priya Nandakumar" in rendered(reply).text


def caused_by(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause  # as PTB raises it: ``raise TimedOut from httpx_error``
    return error


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter's own
@pytest.mark.parametrize(
    "error, resent",
    [
        (lambda: RetryAfter(1), True),
        (lambda: NetworkError("Internal Server Error"), True),  # Telegram answered 5xx
        (lambda: caused_by(NetworkError("httpx.ConnectError"), httpx.ConnectError("refused")), True),
        (lambda: caused_by(TimedOut(), httpx.ConnectTimeout("connect")), True),
        (lambda: caused_by(TimedOut("Pool timeout"), httpx.PoolTimeout("pool")), True),
        (lambda: caused_by(TimedOut(), httpx.ReadTimeout("read")), False),  # sent: maybe delivered
        (lambda: caused_by(TimedOut(), httpx.WriteTimeout("write")), False),
        (lambda: caused_by(NetworkError("httpx.RemoteProtocolError"), httpx.RemoteProtocolError("closed")), False),
        (lambda: BadRequest("Message is too long"), False),  # refusals: the same again gets the same answer
        (lambda: Forbidden("bot was blocked by the user"), False),
    ],
)
def test_only_what_telegram_certainly_did_not_carry_out_is_resent(error, resent):
    assert delivery.not_carried_out(error()) is resent


# --- cosmetic calls and start-up failures ----------------------------------------------------------


@pytest.mark.parametrize("status", [500, 404])
async def test_failing_menus_typing_and_button_toasts_never_keep_the_bot_from_answering(
    server, sample_store, reader, db_path, status, caplog
):
    for method in ("setMyCommands", "sendChatAction", "answerCallbackQuery"):
        server.fail_next(method, 50, status)
    async with serving(build_application(bot_settings(server, db_path), sample_store, reader)):
        (answer,) = await replies(server, USER, lambda: server.inject_message("Who drove the first tram?"))
        assert "Priya Nandakumar" in rendered(answer).text
        vote = next(b["callback_data"] for row in answer["reply_markup"]["inline_keyboard"] for b in row
                    if b["text"] == "👍")
        server.inject_callback_query(vote, message=answer["_message_id"])
        await until(lambda: sample_store.stats()["votes_up"] == 1)  # the press counts, its toast failed
    tried = [c.method for c in server.calls]
    assert tried.count("setMyCommands") == 1  # not resent, and not tried for each admin once the API fails
    assert tried.count("answerCallbackQuery") == 1
    menu_warnings = [r for r in caplog.records if "command menus" in r.getMessage()]
    assert len(menu_warnings) == 1 and "answers without them" in menu_warnings[0].getMessage()


def test_a_malformed_token_is_refused_at_once_without_asking_telegram(server, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "from qabot.bot.cli import cli; cli()", "--db", str(tmp_path / "q.db"), "run"],
        env=qabot_env(server) | {"TELEGRAM_BOT_TOKEN": "abc"}, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [MALFORMED_TOKEN]
    assert not server.calls and not (tmp_path / "q.db").exists()

