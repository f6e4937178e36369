"""bot/app.py, bot/handlers.py and bot/questions.py end to end: the bot built by ``build_application``
(as ``qabot run`` builds it), pointed at a fake Bot API on 127.0.0.1 through the base-URL settings,
over real HTTP."""

import asyncio
import gc
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest
from click.testing import CliRunner

from qabot.bot.app import build_application
from qabot.bot.cli import NO_TOKEN, cli
from qabot.bot.handlers import NOT_ADMIN, SOMETHING_WENT_WRONG
from qabot.bot.questions import EMPTY_COLLECTION
from qabot.index.importing import import_path
from qabot.index.store import Store
from tests.bot.conftest import (
    ADMIN,
    GROUP,
    QUESTIONS,
    TRAM_TITLE,
    USER,
    bot_settings,
    buttons,
    qabot_env,
    qabot_run,
    rendered,
    replies,
    serving,
    settled,
    until,
)
from tests.conftest import SAMPLE_ARTICLES
from tests.page_server import TITLE, PageServer, article_html, send
from tests.pdf_documents import BUDGET_TABLE, encrypted, report, scanned

# --- start, commands, questions ------------------------------------------------------------------


async def test_start_and_help_and_command_menus(bot, server):
    (reply,) = await replies(server, USER, lambda: server.inject_command("start"))
    text = rendered(reply).text
    assert "send me a question" in text and "/ask" in text and "For example:" in text

    (reply,) = await replies(server, USER, lambda: server.inject_command("help"))
    assert "/add" not in rendered(reply).text
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command("help", user_id=ADMIN))
    assert "/add" in rendered(reply).text and "/remove" in rendered(reply).text

    public = [c["command"] for c in server.get_commands()]
    assert public == ["start", "help", "ask", "whoami"]
    admin = [c["command"] for c in server.get_commands({"type": "chat", "chat_id": ADMIN})]
    assert admin == ["start", "help", "ask", "whoami", "add", "remove", "list", "stats", "follow", "feeds", "unfollow"]
    assert len(server.commands) == 2  # the default menu and the admin's: no one else sees /add


async def test_whoami_tells_a_user_their_id_and_how_to_become_an_admin(bot, server):
    (reply,) = await replies(server, USER, lambda: server.inject_command("whoami"))
    text = rendered(reply).text
    assert f"Your Telegram user id is {USER}." in text
    assert f"QABOT_ADMIN_IDS={USER}" in text and "not an admin" in text

    (reply,) = await replies(server, ADMIN, lambda: server.inject_command("whoami", user_id=ADMIN))
    text = rendered(reply).text
    assert f"Your Telegram user id is {ADMIN}." in text and "You are an admin" in text
    assert "QABOT_ADMIN_IDS=" not in text

    (reply,) = await replies(server, USER, lambda: server.inject_command("start"))
    assert "/whoami" in rendered(reply).text


async def test_private_question_answer_in_bold_with_source(bot, server, sample_store):
    mark = server.mark()
    (reply,) = await replies(server, USER, lambda: server.inject_message("Who drove the first tram?"))
    shown = rendered(reply)
    assert any("Priya Nandakumar" in bold for bold in shown.bold)
    sentence = next(bold for bold in shown.bold if "Priya Nandakumar" in bold)
    assert sentence in shown.text and f"— {TRAM_TITLE}, 2024-09-14" in shown.text
    assert set(buttons(reply)) == {"Sources", "More answers", "👍", "👎"}
    assert all(len(data.encode()) <= 64 for data in buttons(reply).values())

    typing = next(c for c in server.calls[mark:] if c.method == "sendChatAction")
    answered = next(c for c in server.calls[mark:] if c.method == "sendMessage")
    assert typing.params["action"] == "typing" and typing.index < answered.index
    stats = sample_store.stats()
    assert (stats["questions"], stats["answered"]) == (1, 1)


async def test_group_ask_reply_and_mention_are_answered_and_other_messages_ignored(bot, server, sample_store):
    group = {"chat_type": "group", "chat_id": GROUP}
    server.inject_message("Let's talk about the tram later", **group)
    asked = {}

    def ask():
        asked.update(server.inject_command("ask", "Who drove the first tram?", mention_bot=True, **group))

    (answer,) = await replies(server, GROUP, ask)
    assert any("Priya Nandakumar" in b for b in rendered(answer).bold)
    assert answer["reply_parameters"]["message_id"] == asked["message"]["message_id"]

    (reply,) = await replies(
        server,
        GROUP,
        lambda: server.inject_message(
            "How much does a single adult fare cost?", reply_to=answer["_message_id"], **group
        ),
    )
    assert "2.10 pounds" in rendered(reply).text

    (mention,) = await replies(
        server, GROUP, lambda: server.inject_message(f"{server.bot_mention} who won the cup final?", **group)
    )
    assert "Harbourside" in rendered(mention).text

    (usage,) = await replies(server, GROUP, lambda: server.inject_command("ask", mention_bot=True, **group))
    assert "Ask like this: /ask" in rendered(usage).text

    await settled(server)
    assert len(server.sent_messages(GROUP)) == 4  # nothing for the message not addressed to the bot
    asked_questions = [
        row[0] for row in sample_store.db.execute("SELECT question FROM questions ORDER BY id").fetchall()
    ]
    assert asked_questions == [
        "Who drove the first tram?",
        "How much does a single adult fare cost?",
        "who won the cup final?",
    ]


# --- admin commands ------------------------------------------------------------------------------

PASTED = (
    "Lumora kettles recalled over loose switch\n"
    "The Lumora kettle recall covers 48,000 units sold since March.\n\n"
    "Owners should stop using the kettle and contact the shop for a refund."
)
HOARD_MD = b"""---
title: Quarry find of bronze axes
published: 2024-07-01
---
Workers at the Brackley quarry found nineteen bronze axe heads in a clay pit.
The county archaeologist said the axes were about 3,000 years old.
"""


@pytest.mark.slow
async def test_admin_adds_text_url_and_documents(bot, server, sample_store):
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command("add", PASTED, user_id=ADMIN))
    assert rendered(reply).text == "Added article 9: Lumora kettles recalled over loose switch (1 chunk)."
    article = sample_store.get_article(9)
    assert article.text.startswith("The Lumora kettle recall") and article.added_by == f"telegram:{ADMIN}"

    with PageServer() as pages:
        url = pages.url("/article")
        (reply,) = await replies(server, ADMIN, lambda: server.inject_command("add", url, user_id=ADMIN))
    assert rendered(reply).text.startswith(f"Added article 10: {TITLE}")
    assert sample_store.get_article(10).url == url

    (reply,) = await replies(
        server,
        ADMIN,
        lambda: server.inject_document(HOARD_MD, file_name="axes.md", caption="/add", user_id=ADMIN),
    )
    assert rendered(reply).text.startswith("Added article 11: Quarry find of bronze axes")
    assert sample_store.get_article(11).published == "2024-07-01"

    in_group = {"chat_type": "group", "chat_id": GROUP, "user_id": ADMIN}
    page = article_html(["The Millbank ferry will stop running in May after ninety years of service."])
    (reply,) = await replies(
        server,
        GROUP,
        lambda: server.inject_document(
            page.encode(), file_name="ferry.html", caption=f"/add{server.bot_mention} Ferry to stop", **in_group
        ),
    )
    assert rendered(reply).text.startswith("Added article 12: Ferry to stop")

    (reply,) = await replies(
        server,
        ADMIN,
        lambda: server.inject_document(b"%PDF-1.7", file_name="scan.pdf", caption="/add", user_id=ADMIN),
    )
    assert rendered(reply).text == (
        "Not added: the PDF is incomplete: its end is missing (was the download cut short?)."
    )
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command("add", PASTED, user_id=ADMIN))
    assert rendered(reply).text == "Not added: already in the collection as article 9 (same text)."
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command("add", user_id=ADMIN))
    assert "To add an article" in rendered(reply).text
    assert sample_store.counts()["articles"] == 12

    (reply,) = await replies(server, USER, lambda: server.inject_message("How old are the bronze axes?"))
    assert "Quarry find of bronze axes" in rendered(reply).text

    (reply,) = await replies(server, ADMIN, lambda: server.inject_command("remove", "9", user_id=ADMIN))
    assert rendered(reply).text == "Removed article 9: Lumora kettles recalled over loose switch."
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command("remove", "9", user_id=ADMIN))
    assert rendered(reply).text == "There is no article 9."
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command("stats", user_id=ADMIN))
    stats = rendered(reply).text
    assert "Articles: 11" in stats and "Questions asked: 1" in stats and "Answered: 1 (100%)" in stats


@pytest.mark.slow
async def test_an_uploaded_pdf_is_added_and_its_answers_name_their_page(bot, server, sample_store):
    printed = report(table=BUDGET_TABLE)
    (reply,) = await replies(
        server,
        ADMIN,
        lambda: server.inject_document(printed.data, file_name="review.pdf", caption="/add", user_id=ADMIN),
        timeout=60,
    )
    added = rendered(reply).text
    assert re.fullmatch(r"Added article 9: Porthaven Review: the week in four stories \(\d+ chunks\)\.", added)
    assert sample_store.get_article(9).text.count("\f") == 4
    (reply,) = await replies(
        server, USER, lambda: server.inject_message("When will the harbour flood barrier be completed?")
    )
    shown = rendered(reply)
    assert "December 2026" in shown.bold[0]
    assert "\n— Porthaven Review: the week in four stories, page 4\n" in shown.text

    for data, reason in [
        (scanned(), "the PDF has no text to read (is it a scan? it needs OCR first)"),
        (encrypted(), "the PDF is protected by a password; send a copy without one"),
        (b"GIF89a" + bytes(64), "this is not a PDF file (it does not begin with %PDF-)"),
    ]:
        (reply,) = await replies(
            server, ADMIN, lambda: server.inject_document(data, file_name="bad.pdf", caption="/add", user_id=ADMIN)
        )
        assert rendered(reply).text == f"Not added: {reason}."
    assert sample_store.counts()["articles"] == 9


async def test_a_url_on_a_private_address_is_refused_saying_who_can_allow_it(server, sample_store, reader, db_path):
    settings = bot_settings(server, db_path).model_copy(update={"allow_private_urls": False})
    async with serving(build_application(settings, sample_store, reader)):
        (reply,) = await replies(
            server, ADMIN, lambda: server.inject_command("add", "http://127.0.0.1:9/x", user_id=ADMIN)
        )
    assert rendered(reply).text == (
        "Not added: 127.0.0.1 is a private or local address (127.0.0.1); refused for safety (an admin of "
        "the server the bot runs on can allow private addresses with QABOT_ALLOW_PRIVATE_URLS=1)."
    )
    assert sample_store.counts()["articles"] == 8


async def test_a_question_in_another_language_is_told_that_qabot_reads_english(bot, server):
    (reply,) = await replies(server, USER, lambda: server.inject_message("Qui a conduit le premier tramway ?"))
    assert "Questions and articles are in English only, for now: please ask in English." in rendered(reply).text
    (reply,) = await replies(server, USER, lambda: server.inject_message("Who drove the first tram?"))
    assert "English only" not in rendered(reply).text


async def test_non_admins_are_refused_in_private_and_groups_and_nothing_changes(bot, server, sample_store):
    before = sample_store.counts()
    private_attempts = [
        lambda: server.inject_command("add", PASTED),
        lambda: server.inject_command("add", "http://127.0.0.1:9/article"),
        lambda: server.inject_document(HOARD_MD, file_name="axes.md", caption="/add"),
        lambda: server.inject_command("remove", "1"),
        lambda: server.inject_command("list"),
        lambda: server.inject_command("stats"),
    ]
    for attempt in private_attempts:
        (reply,) = await replies(server, USER, attempt)
        assert rendered(reply).text == NOT_ADMIN

    group = {"chat_type": "supergroup", "chat_id": -1001234}
    for attempt in [
        lambda: server.inject_command("add", PASTED, mention_bot=True, **group),
        lambda: server.inject_document(HOARD_MD, file_name="axes.md", caption="/add", **group),
        lambda: server.inject_command("remove", "1", **group),
    ]:
        (reply,) = await replies(server, -1001234, attempt)
        assert rendered(reply).text == NOT_ADMIN

    assert sample_store.counts() == before
    assert sample_store.get_article_info(1).id == 1
    assert not server.calls_for("getFile")  # the refused document was never even downloaded


async def test_admin_buttons_are_refused_to_non_admins(bot, server, sample_store):
    for n in range(5):
        sample_store.add_article(title=f"Extra {n}", text=f"Extra article number {n} about the harbour wall.")
    in_group = {"chat_type": "group", "chat_id": GROUP}
    (listing,) = await replies(server, GROUP, lambda: server.inject_command("list", user_id=ADMIN, **in_group))
    assert rendered(listing).text.startswith("Articles 1–10 of 13:")
    assert buttons(listing) == {"Next ▶": "list:10"}

    mark = server.mark()
    server.inject_callback_query("list:10", message=listing["_message_id"], chat_id=GROUP, user_id=USER)
    refusal = await server.wait_for_async("answerCallbackQuery", since=mark)
    assert refusal.params["text"] == NOT_ADMIN and refusal.params["show_alert"] is True
    await replies(server, USER, lambda: server.inject_command("start"))
    mark = server.mark()
    server.inject_callback_query("list:0", chat_id=USER)  # a forged button in a private chat
    refusal = await server.wait_for_async("answerCallbackQuery", since=mark)
    assert refusal.params["text"] == NOT_ADMIN
    await settled(server)
    assert not server.calls_for("editMessageText")

    mark = server.mark()
    server.inject_callback_query("list:10", message=listing["_message_id"], chat_id=GROUP, user_id=ADMIN)
    edited = await server.wait_for_async("editMessageText", since=mark)
    assert edited.params["text"].startswith("Articles 11–13 of 13:")
    assert "Extra 4" in edited.params["text"]
    assert server.calls_for("answerCallbackQuery")[-1].index < edited.index  # answered at once


# --- buttons -------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_sources_more_answers_and_feedback(bot, server, sample_store):
    (answer,) = await replies(server, USER, lambda: server.inject_message("Who drove the first tram?"))
    data = buttons(answer)

    mark = server.mark()
    await replies(server, USER, lambda: server.inject_callback_query(data["Sources"], message=answer["_message_id"]))
    await settled(server)
    sources = server.sent_messages(USER)[1:]
    shown = " ".join(rendered(m).text for m in sources)
    assert shown.startswith(f"1. {TRAM_TITLE}, 2024-09-14")
    assert "driven by Priya Nandakumar" in shown
    lines = [line for m in sources for line in rendered(m).text.split("\n")]
    assert [line[:3] for line in lines if re.match(r"\d\. ", line)] == ["1. ", "2. ", "3. ", "4. ", "5. "]
    assert all(m["reply_parameters"]["message_id"] == answer["_message_id"] for m in sources)
    (answered,) = [c for c in server.calls[mark:] if c.method == "answerCallbackQuery"]
    assert answered.index < min(c.index for c in server.calls[mark:] if c.method == "sendMessage")

    (more,) = await replies(
        server, USER, lambda: server.inject_callback_query(data["More answers"], message=answer["_message_id"])
    )
    assert rendered(more).text.startswith("2. ")

    question_id = sample_store.question_by_key(data["👍"].split(":")[1]).id
    mark = server.mark()
    server.inject_callback_query(data["👍"], message=answer["_message_id"])
    thanked = await server.wait_for_async("answerCallbackQuery", since=mark)
    assert thanked.params["text"] == "Thanks for the feedback!"
    await until(lambda: sample_store.stats()["votes_up"] == 1)
    server.inject_callback_query(data["👎"], message=answer["_message_id"])  # changes their vote
    await until(lambda: (sample_store.stats()["votes_up"], sample_store.stats()["votes_down"]) == (0, 1))
    votes = sample_store.db.execute("SELECT user_id, vote FROM feedback WHERE question_id = ?", [question_id])
    assert votes.fetchall() == [(USER, -1)]

    mark = server.mark()
    server.inject_callback_query("from-an-old-version", message=answer["_message_id"])
    stale = await server.wait_for_async("answerCallbackQuery", since=mark)
    assert "no longer works" in stale.params["text"]


# --- long and unsafe text ------------------------------------------------------------------------

ZEPHYR = " ".join(
    f"The zephyr anemometer number {n} at the Oakridge meteorological observatory recorded a "
    f"consistently strengthening northwesterly breeze of {n + 10} kilometres an hour throughout "
    "the extended springtime measurement campaign across the agricultural valley."
    for n in range(40)
)


async def test_a_reply_over_4096_characters_is_split_at_sentence_ends(bot, server, sample_store):
    for site in ("North", "South", "East"):
        sample_store.add_article(title=f"{site} zephyr survey", text=f"{site} survey. {ZEPHYR}")
    (answer,) = await replies(server, USER, lambda: server.inject_message("What did the zephyr anemometer record?"))
    messages = await replies(
        server, USER, lambda: server.inject_callback_query(buttons(answer)["Sources"], message=answer["_message_id"]), 2
    )
    await settled(server)
    messages = server.sent_messages(USER)[1:]
    assert len(messages) >= 2
    texts = [rendered(m).text for m in messages]
    assert sum(map(len, texts)) > 4096
    for text in texts[:-1]:
        assert text.rstrip().endswith("."), text[-80:]
    assert "reply_markup" not in messages[0]
    assert not server.calls_for("sendMessage", ok=False)


async def test_article_text_with_markup_characters_is_rendered_safely(bot, server, sample_store):
    title = "Quillon <b>report</b> & *stars*"
    text = (
        "The Quillon committee said the <script>alert(1)</script> tag & the *asterisk* rule "
        "apply when 5 < 6 and 7 > 3.\n\nIt met on Tuesday."
    )
    sample_store.add_article(title=title, text=text, url='https://news.example/q?a=1&b="2"', published="2024-02-02")
    (reply,) = await replies(server, USER, lambda: server.inject_message("What did the Quillon committee say?"))
    shown = rendered(reply)
    assert "<script>alert(1)</script> tag & the *asterisk* rule apply when 5 < 6 and 7 > 3." in shown.bold[0]
    sentence = (
        "The%20Quillon%20committee%20said%20the%20%3Cscript%3Ealert(1)%3C/script%3E%20tag%20%26%20the%20"
        "*asterisk*%20rule%20apply%20when%205%20%3C%206%20and%207%20%3E%203."
    )
    assert (f'https://news.example/q?a=1&b="2"#:~:text={sentence}', title) in shown.links  # at the sentence

    (added,) = await replies(
        server, ADMIN, lambda: server.inject_command("add", "A <i>new</i> & bold title\n" + text + " Again.", user_id=ADMIN)
    )
    assert rendered(added).text.startswith("Added article 10: A <i>new</i> & bold title")


# --- concurrency, errors, flood control ----------------------------------------------------------


class SlowReader:
    """The sentence reader taking its time (blocking its thread); "slowly" questions wait for ``go``."""

    def __init__(self, inner, *, delay: float):
        self.inner, self.delay, self.name = inner, delay, inner.name
        self.go = threading.Event()

    def warm_up(self):
        self.inner.warm_up()

    def read_with_unsure(self, question, passages, top_k):
        if "slowly" in question:
            self.go.wait(timeout=30)
        time.sleep(self.delay)
        return self.inner.read_with_unsure(question, passages, top_k=top_k)


def waiting_for_cpu() -> float:
    """Seconds this thread has been ready to run but waiting for a free CPU (Linux; else 0).

    Subtracted from the loop's lag: a machine busy with other work delays every thread, and that
    says nothing about whether the bot blocks its event loop.
    """
    try:
        with open("/proc/thread-self/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


@pytest.fixture
def frozen_heap():
    """Keep the objects alive so far out of garbage collection during the test, as ``qabot run`` does.

    A full collection scans the whole heap of the test process (pytest and every module the other
    tests imported) and can hold every thread for a few hundred milliseconds.
    """
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.mark.slow
async def test_twenty_chats_at_once_all_answered_without_blocking_the_loop(
    server, sample_store, reader, db_path, frozen_heap
):
    slow = SlowReader(reader, delay=0.1)
    settings = bot_settings(server, db_path, QABOT_WORKERS=4)
    async with serving(build_application(settings, sample_store, slow)):
        lag, stop = [0.0], asyncio.Event()

        async def ticker():
            while not stop.is_set():
                started, queued = time.perf_counter(), waiting_for_cpu()
                await asyncio.sleep(0.005)
                late = time.perf_counter() - started - 0.005 - (waiting_for_cpu() - queued)
                lag[0] = max(lag[0], late)

        ticking = asyncio.create_task(ticker())
        server.inject_message("Tell me slowly: who drove the first tram?", user_id=999)
        await server.wait_for_async("sendChatAction")
        chats = range(2000, 2020)
        for chat in chats:
            server.inject_message("How many stops does the Riverside line have?", user_id=chat)

        def answered() -> set[int]:  # one cheap look at the fake per poll: the test must not load the loop
            return {m["chat_id"] for m in server.sent_messages()}

        await until(lambda: answered() >= set(chats), timeout=20, every=0.05)
        stop.set()
        await ticking
        assert 999 not in answered()  # the slow question holds one worker; the others went on
        slow.go.set()
        await until(lambda: 999 in answered(), timeout=10, every=0.05)
    for chat in chats:
        (reply,) = server.sent_messages(chat)
        assert TRAM_TITLE in rendered(reply).text
    assert {a["chat_id"] for a in server.chat_actions} >= set(chats)
    assert lag[0] < 0.1, f"the event loop was blocked for {lag[0] * 1000:.0f} ms"


class FailingReader:
    name = "sentence"

    def warm_up(self):
        pass

    def read_with_unsure(self, question, passages, top_k):
        raise RuntimeError("internal detail: /srv/qabot/secret.db is locked")


async def test_an_error_is_logged_and_the_user_told_without_details(server, sample_store, db_path, caplog):
    async with serving(build_application(bot_settings(server, db_path), sample_store, FailingReader())):
        (reply,) = await replies(server, USER, lambda: server.inject_message("Who drove the first tram?"))
        assert reply["text"] == SOMETHING_WENT_WRONG
        (reply,) = await replies(server, USER, lambda: server.inject_command("start"))
        assert "send me a question" in reply["text"]  # still serving
    logged = [r for r in caplog.records if r.name == "qabot.bot.handlers" and r.exc_info]
    assert logged and "secret.db" in str(logged[0].exc_info[1])


def full_disk(*args, **kwargs):
    """``Store.record_question`` on a full disk (or a database locked past its busy timeout)."""
    raise sqlite3.OperationalError("database or disk is full")


async def test_an_answer_is_sent_without_its_buttons_when_the_question_cannot_be_kept(
    bot, server, sample_store, monkeypatch, caplog
):
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(sample_store, "record_question", full_disk)
    for question, mark in QUESTIONS.items():
        (reply,) = await replies(server, USER, lambda: server.inject_message(question))
        assert mark in rendered(reply).text and "reply_markup" not in reply  # no record for buttons to name
    logged = [r for r in caplog.records if r.name == "qabot.bot.questions"]
    assert [(r.levelno, r.getMessage(), r.exc_info) for r in logged] == [
        (logging.WARNING, "could not keep a question: database or disk is full", None)
    ] * len(QUESTIONS)


async def test_an_empty_collection_is_said_so_when_the_question_cannot_be_kept(
    server, store, reader, db_path, monkeypatch, caplog
):
    monkeypatch.setattr(store, "record_question", full_disk)
    async with serving(build_application(bot_settings(server, db_path), store, reader)):
        (reply,) = await replies(server, USER, lambda: server.inject_message("Who drove the first tram?"))
    assert reply["text"] == EMPTY_COLLECTION
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB reads retry_after
async def test_flood_control_is_waited_out(bot, server):
    server.fail_next("sendMessage", 1, 429, retry_after=1)
    (reply,) = await replies(server, USER, lambda: server.inject_message("Who drove the first tram?"))
    assert "Priya Nandakumar" in rendered(reply).text
    assert len(server.message_attempts(USER)) == 2


# --- qabot run -----------------------------------------------------------------------------------


def test_qabot_run_without_a_token_exits_2_and_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "q.db"), "run"])
    assert result.exit_code == 2
    assert result.stderr.strip() == NO_TOKEN
    assert "TELEGRAM_BOT_TOKEN" in NO_TOKEN and ".env" in NO_TOKEN and "qabot console" in NO_TOKEN


@pytest.mark.slow
def test_qabot_run_serves_a_webhook_and_refuses_calls_without_its_secret(server, tmp_path):
    db = tmp_path / "q.db"
    with Store(db) as store:
        import_path(store, SAMPLE_ARTICLES, progress=False)
    with socket.socket() as probe:  # a free port for the webhook server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = "https://bot.example.org/telegram-hook"  # the public address, its TLS ended by a proxy ...
    local = f"http://127.0.0.1:{port}/telegram-hook"  # ... that forwards the path to the bot's port
    question = server.inject_message("When did Putin last visit Pyongyang?", user_id=777)
    with qabot_run(
        server, db, tmp_path, ready="setWebhook",
        QABOT_WEBHOOK_URL=hook, QABOT_WEBHOOK_PORT=str(port),
    ) as run:
        (registered,) = server.calls_for("setWebhook")
        assert registered.params["url"] == hook and registered.params["secret_token"]
        secret = registered.params["secret_token"]
        assert server.token not in secret

        def post(update: dict, token: str | None) -> int:
            headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
            for _ in range(100):  # the server starts listening just after setWebhook
                try:
                    return httpx.post(local, json=update, headers=headers, timeout=5).status_code
                except httpx.ConnectError:
                    time.sleep(0.05)
            raise AssertionError(run.log)

        assert post(question, None) == 403 and post(question, "guess") == 403
        assert post(question, secret) == 200
        deadline = time.monotonic() + 20
        while not server.sent_messages(777):
            assert time.monotonic() < deadline, run.log
            time.sleep(0.02)
        (reply,) = server.sent_messages(777)
        assert "July 2000" in rendered(reply).text
        assert run.stop() == 0, run.log
    assert server.calls_for("getUpdates") == []
    assert f"reader as @qabot_test_bot, by webhook at {hook} (listening on port {port})" in run.log


@pytest.mark.slow
def test_qabot_run_with_its_webhook_port_taken_says_so(server, tmp_path):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = qabot_env(server) | {
            "QABOT_WEBHOOK_URL": f"https://bot.example:{port}/hook", "QABOT_WEBHOOK_PORT": str(port),
        }
        done = subprocess.run(
            [sys.executable, "-c", "from qabot.bot.cli import cli; cli()", "--db", str(tmp_path / "q.db"), "run"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"Error: cannot serve the webhook on port {port}: Address already in use (QABOT_WEBHOOK_PORT)"
    )


def slow_article(handler) -> None:
    time.sleep(1.0)
    send(handler, article_html().encode(), "text/html; charset=utf-8")


@pytest.mark.slow
def test_qabot_run_stops_on_sigterm_without_losing_the_article_being_added(server, tmp_path):
    db = tmp_path / "q.db"
    with PageServer({"/slow-article": slow_article}) as pages, qabot_run(server, db, tmp_path) as run:
        server.inject_command("add", pages.url("/slow-article"), user_id=ADMIN)
        deadline = time.monotonic() + 10
        while "/slow-article" not in pages.requests:
            assert time.monotonic() < deadline, run.log
            time.sleep(0.01)
        assert run.stop() == 0, run.log  # SIGTERM while the page is still being fetched
    (reply,) = server.sent_messages(ADMIN)
    assert reply["text"].startswith(f"Added article 1: {TITLE}")
    assert server.get_commands({"type": "chat", "chat_id": ADMIN})
    with Store(db) as store:
        assert store.counts()["articles"] == 1 and store.verify() == []
    assert server.token not in run.log  # the token never reaches the log


@pytest.mark.slow
def test_qabot_run_with_a_rejected_token_says_so_in_one_line_without_showing_it(server, tmp_path):
    env = os.environ | {
        "TELEGRAM_BOT_TOKEN": "111:WRONG-token-but-well-formed_0123456789",
        "QABOT_TELEGRAM_BASE_URL": server.base_url,
        "QABOT_QA_MODEL": "sentence",
        "QABOT_ENCODER": "off",
    }
    done = subprocess.run(
        [sys.executable, "-c", "from qabot.bot.cli import cli; cli()", "--db", str(tmp_path / "q.db"), "run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: Telegram rejected the token in TELEGRAM_BOT_TOKEN; check it with @BotFather"
    )
    assert "WRONG-token" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1  # asked before anything loads: no log, no traceback
