"""Shared by the Telegram tests: the bot built as ``qabot run`` builds it, served against a fake Bot API.

``bot`` is the application from ``build_application`` polling the ``server`` fixture (a FakeBotAPI on
127.0.0.1) with the sample collection; ``qabot_run`` starts the real ``qabot run`` in a subprocess.
The helpers wait for the bot's replies and check that what it sends is safe Telegram HTML.
"""

import asyncio
import collections
import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser

import pytest
import pytest_asyncio

from qabot.bot.app import ALLOWED_UPDATES, build_application
from qabot.bot.config import Settings
from qabot.retrieval.loading import sentence_reader
from tests.bot.fake_bot_api import DEFAULT_GROUP_ID, DEFAULT_USER_ID, FakeBotAPI

ADMIN = 4242
USER = DEFAULT_USER_ID
GROUP = DEFAULT_GROUP_ID
TRAM_TITLE = "Aldermoor opens Riverside tram line after three years of construction"
#: Questions on the sample articles, each with words only its answer's message holds.
QUESTIONS = {
    "Who drove the first tram?": "Priya Nandakumar",
    "How much does a single adult fare cost?": "2.10 pounds",
    "Who won the cup final?": "Harbourside",
    "What did the Bank of Norland decide?": "4.25%",
}


@pytest.fixture(scope="module")
def reader():
    return sentence_reader(use_encoder=False)


@pytest.fixture
def server():
    with FakeBotAPI() as fake:
        yield fake


def bot_settings(server: FakeBotAPI, db_path, **more) -> Settings:
    """Settings as `qabot run` reads them from the environment, pointed at the fake Bot API."""
    return Settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN=server.token,
        QABOT_TELEGRAM_BASE_URL=server.base_url,
        QABOT_TELEGRAM_BASE_FILE_URL=server.base_file_url,
        QABOT_ADMIN_IDS=str(ADMIN),
        QABOT_ALLOW_PRIVATE_URLS=True,
        QABOT_DB=str(db_path),
        **more,
    )


@contextlib.asynccontextmanager
async def serving(application):
    """Run the application through the steps of ``run_polling``, then stop it the same way."""
    await application.initialize()
    await application.post_init(application)
    await application.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)


@pytest_asyncio.fixture
async def bot(server, sample_store, reader, db_path):
    async with serving(build_application(bot_settings(server, db_path), sample_store, reader)) as app:
        yield app


async def replies(server: FakeBotAPI, chat_id: int, inject, count: int = 1, timeout: float = 10) -> list[dict]:
    """Inject an update, then wait for ``count`` new messages from the bot in ``chat_id``."""
    before = len(server.sent_messages(chat_id))
    inject()
    deadline = time.monotonic() + timeout
    while len(server.sent_messages(chat_id)) < before + count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no reply in chat {chat_id}; calls: {[c.method for c in server.calls[-10:]]}")
        await asyncio.sleep(0.01)
    return server.sent_messages(chat_id)[before:]


async def settled(server: FakeBotAPI, pause: float = 0.3) -> None:
    """Wait until every injected update was fetched, and a moment more for the bot to act on it."""
    while server.pending_updates:
        await asyncio.sleep(0.01)
    await asyncio.sleep(pause)


async def until(condition, timeout: float = 5, every: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(every)


class Rendered(HTMLParser):
    """What Telegram shows for a message in HTML parse mode: text, bold parts and links."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.bold: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.open: list[tuple[str, int, dict]] = []
        self.feed(markup)
        self.close()
        assert not self.open, f"unclosed tags in {markup!r}"

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def handle_starttag(self, tag, attrs):
        assert tag in ("b", "i", "a"), tag
        self.open.append((tag, len(self.text), dict(attrs)))

    def handle_endtag(self, tag):
        opened, start, attrs = self.open.pop()
        assert opened == tag
        if tag == "b":
            self.bold.append(self.text[start:])
        if tag == "a":
            self.links.append((attrs["href"], self.text[start:]))

    def handle_data(self, data):
        self.parts.append(data)


def rendered(message: dict) -> Rendered:
    """Check a sent message is safe Telegram HTML (only our tags, entities escaped) and parse it."""
    assert message["parse_mode"] == "HTML"
    markup = message["text"]
    assert len(markup.encode("utf-16-le")) // 2 <= 4096
    bare = re.sub(r'</?(b|i)>|<a href="[^"<>]*">|</a>', "", markup)
    assert "<" not in bare and ">" not in bare, markup
    assert not re.search(r"&(?!(amp|lt|gt|quot|#x?[0-9a-fA-F]+);)", markup), markup
    return Rendered(markup)


def buttons(message: dict) -> dict[str, str]:
    """Button text → callback data of a sent message."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def answered_questions(server: FakeBotAPI, chats) -> collections.Counter:
    """How many delivered messages answer each ``(chat, question)`` of ``QUESTIONS``."""
    return collections.Counter(
        (chat, question)
        for chat in chats
        for message in server.sent_messages(chat)
        for question, mark in QUESTIONS.items()
        if mark in rendered(message).text
    )


def qabot_env(server: FakeBotAPI) -> dict[str, str]:
    """The environment of a ``qabot run`` pointed at the fake Bot API, with the offline reader."""
    return os.environ | {
        "TELEGRAM_BOT_TOKEN": server.token,
        "QABOT_TELEGRAM_BASE_URL": server.base_url,
        "QABOT_TELEGRAM_BASE_FILE_URL": server.base_file_url,
        "QABOT_ADMIN_IDS": str(ADMIN),
        "QABOT_ALLOW_PRIVATE_URLS": "1",
        "QABOT_QA_MODEL": "sentence",
        "QABOT_ENCODER": "off",
    }


class QabotRun:
    """``qabot run`` in a subprocess; ``output`` collects what it logs (stdout and stderr)."""

    def __init__(self, server: FakeBotAPI, db, cwd, **env: str):
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from qabot.bot.cli import cli; cli()", "--db", str(db), "run"],
            cwd=cwd,
            env=qabot_env(server) | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=lambda: self.output.extend(self.process.stdout), daemon=True).start()

    @property
    def log(self) -> str:
        return "".join(self.output)

    def stop(self, timeout: float = 20) -> int:
        """Send SIGTERM and wait for the exit code."""
        self.process.terminate()
        return self.process.wait(timeout=timeout)


@contextlib.contextmanager
def qabot_run(server: FakeBotAPI, db, cwd, ready: str = "getUpdates", **env: str):
    """Start ``qabot run`` against the fake and wait until it polls; killed if still running at the end.

    :param ready: the Bot API call that shows it is serving (``setWebhook`` in webhook mode).
    :param env: settings added to ``qabot_env``'s.
    """
    mark = server.mark()
    run = QabotRun(server, db, cwd, **env)
    try:
        try:
            server.wait_for(ready, timeout=30, ok=None, since=mark)
        except TimeoutError as error:
            raise TimeoutError(f"{error}\nqabot run said:\n{run.log}") from None
        yield run
    finally:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()
