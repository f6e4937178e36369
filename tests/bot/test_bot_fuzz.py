"""Bad input through Telegram: generated messages, /add payloads, pages and files sent to the running bot.

One bot, built as ``qabot run`` builds it, polls the fake Bot API from its own thread while
hypothesis sends it a few hundred cases, reusing the generators of ``tests/test_fuzz.py``. Every
case gets a reply, or is ignored when the chat's rules say so (a group message not addressed to the
bot); no reply shows a traceback or anything but safe Telegram HTML, no handler fails, and nothing
is half-stored.
"""

import asyncio
import itertools
import logging
import re
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qabot.bot.app import build_application
from qabot.bot.handlers import ADD_USAGE, NOT_ADMIN, SOMETHING_WENT_WRONG
from qabot.index.ingest import HTML_SUFFIXES, TEXT_SUFFIXES
from tests.bot.conftest import ADMIN, bot_settings, rendered, serving
from tests.page_server import PageServer, page
from tests.test_fuzz import fuzz, nasty_text, payloads

#: Telegram strips a message's surrounding white space, delivers none that is empty, and cuts at 4096.
message_text = nasty_text.map(lambda text: text.strip()[:4000]).filter(bool)
#: Routes of the page server that fail in their own ways (loops, sizes, types, schemes), none slow.
BAD_ROUTES = [
    "/loop-a", "/hop1", "/huge", "/declared-huge", "/image.png", "/pdf", "/no-type", "/empty",
    "/missing", "/broken", "/to-ftp", "/to-file", "/to-broken-url", "/plain-latin1", "/article",
]
CONTENT_TYPES = [
    "text/html; charset=utf-8", "text/html", "text/plain", "text/plain; charset=bogus",
    "text/html; charset=utf-16", "application/octet-stream", "image/png", "", "text/markdown",
]
SUFFIXES = sorted(TEXT_SUFFIXES | HTML_SUFFIXES) + [".pdf", ".exe", ""]
ADDED = ("Added article ", "Not added: ", ADD_USAGE.split("\n")[0])

questions = st.tuples(
    st.just("question"), st.sampled_from(["private", "mention", "ask", "group chatter"]), message_text
)
cases = st.one_of(
    questions,
    questions,  # twice as likely as each kind of /add
    st.tuples(st.just("add text"), st.booleans(), message_text),
    st.tuples(st.just("add page"), st.booleans(), st.tuples(payloads, st.sampled_from(CONTENT_TYPES))),
    st.tuples(st.just("add bad page"), st.booleans(), st.sampled_from(BAD_ROUTES)),
    st.tuples(st.just("add file"), st.booleans(), st.tuples(payloads, st.sampled_from(SUFFIXES))),
)


@pytest.fixture
def running_bot(server, sample_store, reader, db_path):
    """The bot polling the fake from its own thread and event loop, as a separate process would."""
    application = build_application(bot_settings(server, db_path), sample_store, reader)
    ready, stopping = threading.Event(), threading.Event()

    async def serve():
        async with serving(application):
            ready.set()
            while not stopping.is_set():
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the bot did not start"
    yield application
    stopping.set()
    thread.join(30)


def wait_for_messages(server, chat: int, count: int, timeout: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(server.sent_messages(chat)) < count:
        assert time.monotonic() < deadline, f"no reply in chat {chat}"
        time.sleep(0.005)
    return server.sent_messages(chat)


@pytest.mark.slow
def test_generated_messages_and_payloads_get_a_clear_reply_or_are_ignored(
    running_bot, server, sample_store, caplog
):
    caplog.set_level(logging.WARNING)
    chats = itertools.count(900_001)
    ignored, counted = [], []

    with PageServer() as pages:

        @fuzz(300)
        @given(case=cases)
        def one_case(case):
            kind, how, data = case
            chat = next(chats)
            if kind == "question":
                reply_chat = chat if how == "private" else -chat
                in_group = {"user_id": chat, "chat_type": "group", "chat_id": -chat}
                if how == "private":
                    server.inject_message(data, user_id=chat)
                elif how == "mention":
                    server.inject_message(f"{server.bot_mention} {data}", **in_group)
                elif how == "ask":
                    server.inject_command("ask", data, **in_group)
                else:
                    server.inject_message(data, **in_group)
                if how == "group chatter":
                    ignored.append(reply_chat)
                    return  # not addressed to the bot: checked at the end that it got no reply
                if how == "private" and re.match(r"/\w", data):
                    return  # command-like: one of the bot's commands, or an unknown one it ignores
            else:  # an /add: by an admin in a group, or by anyone else in private
                admin = how
                where = {"user_id": ADMIN, "chat_type": "group", "chat_id": -chat} if admin else {"user_id": chat}
                reply_chat = -chat if admin else chat
                if kind == "add text":
                    server.inject_message(f"/add\n{data}", **where)
                elif kind == "add page":
                    pages.routes[f"/fuzz/{chat}"] = page(*data)
                    server.inject_command("add", pages.url(f"/fuzz/{chat}"), **where)
                elif kind == "add bad page":
                    server.inject_command("add", pages.url(data), **where)
                else:
                    body, suffix = data
                    server.inject_document(body, file_name=f"upload{suffix}", caption="/add", **where)

            (reply, *more) = wait_for_messages(server, reply_chat, 1)
            shown = rendered(reply).text  # safe HTML: only the bot's own tags, everything else escaped
            assert "Traceback" not in shown and 'File "' not in shown and shown != SOMETHING_WENT_WRONG
            if kind != "question":
                assert not more
                if admin:
                    assert shown.startswith(ADDED), shown
                else:
                    assert shown == NOT_ADMIN
            counted.append(reply_chat)

        one_case()

    deadline = time.monotonic() + 10
    while server.pending_updates and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(1.0)  # a moment for anything still being handled
    assert len(counted) + len(ignored) >= 250
    assert not [chat for chat in ignored if server.sent_messages(chat)]  # group chatter is not answered
    for message in server.sent_messages():
        rendered(message)
        assert "Traceback" not in message["text"] and message["text"] != SOMETHING_WENT_WRONG
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith(("bot.", "telegram."))]
    assert not failures, [r.getMessage() for r in failures]
    assert sample_store.verify() == []
