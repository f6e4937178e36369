"""The fake Telegram Bot API speaks the protocol to the real python-telegram-bot client
over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import threading
import time
import urllib.error
import urllib.request

import pytest
import pytest_asyncio
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction
from telegram.error import BadRequest, EndPointNotFound, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)
from telegram.request import HTTPXRequest

from tests.bot.fake_bot_api import DEFAULT_USER_ID, FakeBotAPI, fake_telegram  # noqa: F401


@pytest.fixture
def server():
    with FakeBotAPI() as fake:
        yield fake


@pytest_asyncio.fixture
async def bot(server):
    async with Bot(**server.bot_kwargs()) as b:
        yield b


def _raw(server: FakeBotAPI, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body or {}).encode()
    req = urllib.request.Request(
        server.url + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# --------------------------------------------------------------------------- basics


@pytest.mark.asyncio
async def test_get_me(server, bot):
    me = await bot.get_me()
    assert me.is_bot and me.username == server.bot_username and me.id == server.bot_id
    assert bot.username == server.bot_username
    assert server.calls[0].method == "getMe" and server.calls[0].ok


@pytest.mark.asyncio
async def test_send_message_is_recorded_and_parsed(server, bot):
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    entities = [MessageEntity(MessageEntity.BOLD, 0, 5)]
    msg = await bot.send_message(42, "Hello world", entities=entities, reply_markup=markup)
    assert isinstance(msg, Message)
    assert msg.text == "Hello world" and msg.chat.id == 42 and msg.chat.type == "private"
    assert msg.from_user.id == server.bot_id and msg.from_user.is_bot
    assert msg.entities == tuple(entities)
    assert msg.reply_markup == markup
    assert isinstance(msg.date, dtm.datetime)

    second = await bot.send_message(42, "again")
    other = await bot.send_message(43, "other chat")
    assert second.message_id == msg.message_id + 1
    assert other.message_id == 1

    sent = server.sent_messages(42)
    assert [m["text"] for m in sent] == ["Hello world", "again"]
    assert sent[0]["chat_id"] == 42
    assert sent[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "more:1"
    assert sent[0]["entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    assert sent[0]["_message_id"] == msg.message_id
    assert len(server.sent_messages()) == 3
    method, params = server.calls_for("sendMessage")[0]
    assert method == "sendMessage" and params["text"] == "Hello world"


@pytest.mark.asyncio
async def test_edit_reply_markup_chat_action_and_strict_errors(server, bot):
    msg = await bot.send_message(7, "Thinking…")
    edited = await bot.edit_message_text("Answer: 42", chat_id=7, message_id=msg.message_id)
    assert edited.text == "Answer: 42" and edited.edit_date is not None
    assert [m["_method"] for m in server.sent_messages(7)] == ["sendMessage", "editMessageText"]

    with pytest.raises(BadRequest, match="(?i)not modified"):
        await bot.edit_message_text("Answer: 42", chat_id=7, message_id=msg.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=7, message_id=999)
    with pytest.raises(BadRequest, match="(?i)too long"):
        await bot.send_message(7, "x" * 5000)
    with pytest.raises(BadRequest, match="(?i)replied not found"):
        await bot.send_message(7, "reply", reply_to_message_id=12345)

    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Sources", callback_data="src")]])
    with_markup = await bot.edit_message_reply_markup(7, msg.message_id, reply_markup=markup)
    assert with_markup.reply_markup == markup

    assert await bot.send_chat_action(7, ChatAction.TYPING)
    assert server.chat_actions[0]["chat_id"] == 7 and server.chat_actions[0]["action"] == "typing"

    reply = await bot.send_message(7, "follow-up", reply_to_message_id=msg.message_id)
    assert reply.reply_to_message.message_id == msg.message_id
    assert await bot.delete_message(7, reply.message_id)
    assert len(server.bot_messages(7)) == 1


def test_exported_fixture_serves_json_and_query_string(fake_telegram):
    status, body = _raw(fake_telegram, f"/bot{fake_telegram.token}/getMe")
    assert status == 200 and body["result"]["username"] == fake_telegram.bot_username
    url = f"{fake_telegram.url}/bot{fake_telegram.token}/sendMessage?chat_id=5&text=123"
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert json.loads(resp.read())["result"]["text"] == "123"
    assert fake_telegram.sent_messages(5)[0]["text"] == "123"  # stays a string


# --------------------------------------------------------------------------- updates


@pytest.mark.asyncio
async def test_get_updates_returns_injected_update_and_confirms_offset(server, bot):
    injected = server.inject_message("What is BM25?", user_id=555, first_name="Bob")
    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 1
    update = updates[0]
    assert update.update_id == injected["update_id"]
    assert update.message.text == "What is BM25?"
    assert update.message.chat.id == 555 and update.message.chat.type == "private"
    assert update.message.from_user.first_name == "Bob"

    # Still pending until confirmed with offset = last update_id + 1.
    assert len(await bot.get_updates(timeout=0)) == 1
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert server.pending_updates == 0


@pytest.mark.slow
@pytest.mark.asyncio
async def test_long_poll_honours_timeout_and_wakes_on_injection(server, bot):
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 2.5

    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await server.wait_for_async("getUpdates", ok=None, since=server.mark())
    await asyncio.sleep(0.1)
    started = time.monotonic()
    server.inject_message("wake up")
    updates = await asyncio.wait_for(poll, 3)
    assert time.monotonic() - started < 1.0
    assert updates[0].message.text == "wake up"


@pytest.mark.asyncio
async def test_update_shapes_parse_in_ptb(server, bot):
    sent = await bot.send_message(DEFAULT_USER_ID, "An answer")
    server.inject_command("ask", "what is X?", mention_bot=True, chat_type="supergroup",
                          user_id=77, first_name="Carol")
    server.inject_message(f"{server.bot_mention} hello", chat_type="group")
    server.inject_message("thanks", reply_to=sent.message_id)
    first = server.inject_message("original")
    server.inject_edited_message(first, "edited text")
    server.inject_callback_query("more:1", message=sent.message_id)
    server.inject_channel_post("channel news")
    server.inject_forwarded_message("fwd text", origin_type="user", origin_user_id=9)
    server.inject_forwarded_message("fwd channel", origin_type="channel")

    ups: list[Update] = list(await bot.get_updates(timeout=0))
    assert len(ups) == 9
    cmd, mention, reply, orig, edited, cq, post, fwd, fwd_ch = ups

    assert cmd.message.chat.type == "supergroup" and cmd.message.from_user.id == 77
    assert cmd.message.text == f"/ask@{server.bot_username} what is X?"
    assert cmd.message.entities[0].type == MessageEntity.BOT_COMMAND
    assert cmd.message.entities[0].offset == 0 and len(cmd.message.entities) == 1

    assert mention.message.chat.type == "group"
    assert list(mention.message.parse_entities([MessageEntity.MENTION]).values()) == [
        server.bot_mention
    ]

    assert reply.message.reply_to_message.message_id == sent.message_id
    assert reply.message.reply_to_message.from_user.is_bot

    assert edited.edited_message.message_id == orig.message.message_id
    assert edited.edited_message.text == "edited text" and edited.edited_message.edit_date

    assert cq.callback_query.data == "more:1"
    assert cq.callback_query.message.message_id == sent.message_id
    assert await cq.callback_query.answer("ok")
    assert server.answered_callbacks[0]["callback_query_id"] == cq.callback_query.id
    with pytest.raises(BadRequest, match="(?i)query ID is invalid"):
        await bot.answer_callback_query("bogus-id")

    assert post.channel_post.chat.type == "channel" and post.channel_post.sender_chat
    assert fwd.message.forward_origin.type == "user"
    assert fwd.message.forward_origin.sender_user.id == 9
    assert fwd_ch.message.forward_origin.type == "channel"


@pytest.mark.asyncio
async def test_document_download_and_upload(server, bot):
    content = "Über BM25 — ranking\n".encode() * 50
    server.inject_document(content, file_name="notes.txt", caption="please index")
    (update,) = await bot.get_updates(timeout=0)
    doc = update.message.document
    assert doc.file_name == "notes.txt" and doc.mime_type == "text/plain"
    assert doc.file_size == len(content) and update.message.caption == "please index"

    tg_file = await bot.get_file(doc.file_id)
    assert tg_file.file_path.startswith(server.base_file_url)
    assert await tg_file.download_as_bytearray() == bytearray(content)
    with pytest.raises(BadRequest, match="(?i)invalid file_id"):
        await bot.get_file("nope")

    msg = await bot.send_document(5, b"a,b\n1,2\n", filename="export.csv", caption="here")
    assert msg.document.file_name == "export.csv" and msg.caption == "here"
    assert server.file_content(msg.document.file_id) == b"a,b\n1,2\n"
    assert server.sent_documents(5)[0]["caption"] == "here"


@pytest.mark.asyncio
async def test_set_my_commands_recorded_with_scope(server, bot):
    commands = [BotCommand("start", "Start"), BotCommand("ask", "Ask a question")]
    assert await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())
    assert server.commands == [
        {
            "commands": [
                {"command": "start", "description": "Start"},
                {"command": "ask", "description": "Ask a question"},
            ],
            "scope": {"type": "all_private_chats"},
            "language_code": "",
        }
    ]
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert [c.command for c in got] == ["start", "ask"]
    assert await bot.get_my_commands() == ()
    assert await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert server.commands == []


# --------------------------------------------------------------------------- errors


@pytest.mark.asyncio
async def test_wrong_token_is_rejected(server):
    bad = Bot("987654:WRONG", base_url=server.base_url, base_file_url=server.base_file_url)
    with pytest.raises(InvalidToken):
        async with bad:
            pass
    assert _raw(server, "/bot987654:WRONG/getMe") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )


@pytest.mark.asyncio
async def test_unknown_method(server, bot):
    assert _raw(server, f"/bot{server.token}/fooBar") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar")


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_surfaces_as_retry_after_and_is_not_delivered(server, bot):
    server.fail_next("sendMessage", 1, "429", retry_after=7)
    with pytest.raises(RetryAfter) as exc_info:
        await bot.send_message(1, "hi")
    assert _seconds(exc_info.value._retry_after) == 7
    failed = server.calls_for("sendMessage", ok=False)
    assert len(failed) == 1 and failed[0].status == 429 and failed[0].fault == "429"
    assert server.sent_messages() == []
    assert len(server.message_attempts(1)) == 1

    assert (await bot.send_message(1, "hi")).text == "hi"
    assert [m["text"] for m in server.sent_messages(1)] == ["hi"]
    assert len(server.message_attempts(1)) == 2


@pytest.mark.slow
@pytest.mark.asyncio
async def test_5xx_and_timeout_faults(server):
    async with Bot(
        **server.bot_kwargs(), request=HTTPXRequest(read_timeout=0.2)
    ) as bot:
        server.fail_next("sendMessage", 2, 500)
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(1, "a")
        with pytest.raises(NetworkError):
            await bot.send_message(1, "a")
        server.fail_next("sendMessage", 1, "502")
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(1, "a")

        server.fail_next("sendMessage", 1, "timeout", delay=0.5)
        with pytest.raises(TimedOut):
            await bot.send_message(1, "slow")
        assert not server.calls_for("sendMessage")[-1].done  # still held by the server
        held = server.wait_for(lambda c: c.fault == "timeout", timeout=3, ok=False)
        assert held.status == 504 and held.fault == "timeout"
        assert server.sent_messages() == []

        server.fail_next("sendMessage", 1, "timeout", delay=0.4, deliver=True)
        with pytest.raises(TimedOut):
            await bot.send_message(1, "delivered anyway")
        await server.wait_for_async("sendMessage", timeout=3)
        assert [m["text"] for m in server.sent_messages(1)] == ["delivered anyway"]


def test_stop_unblocks_long_poll_and_held_requests():
    fake = FakeBotAPI(timeout_hold=60).start()
    results: dict[str, object] = {}

    def call(name: str, path: str, body: dict) -> None:
        try:
            results[name] = _raw(fake, path, body)
        except Exception as exc:  # connection closed by the stopping server is fine too
            results[name] = exc

    fake.fail_next("sendMessage", 1, "timeout")
    threads = [
        threading.Thread(target=call, args=("poll", f"/bot{fake.token}/getUpdates", {"timeout": 30})),
        threading.Thread(
            target=call, args=("held", f"/bot{fake.token}/sendMessage", {"chat_id": 1, "text": "x"})
        ),
    ]
    for t in threads:
        t.start()
    fake.wait_for("getUpdates", ok=None)
    fake.wait_for("sendMessage", ok=None)
    started = time.monotonic()
    fake.stop()
    for t in threads:
        t.join(5)
    assert time.monotonic() - started < 2
    assert not any(t.is_alive() for t in threads)
    assert results["poll"] == (200, {"ok": True, "result": []})
    assert fake.sent_messages() == []
    fake.stop()  # idempotent


# --------------------------------------------------------------------------- full Application


@pytest.mark.asyncio
async def test_application_polling_end_to_end(server):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more")]])
        await update.message.reply_text(
            f"Hello {update.effective_user.first_name}!", reply_markup=keyboard
        )

    async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("More details")

    app = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(f"{server.url}/bot")
        .base_file_url(f"{server.url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(more, pattern="^more$"))

    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            server.inject_command("start", user_id=321, first_name="Dana")
            await server.wait_for_async("sendMessage", timeout=5)
            (reply,) = server.sent_messages(321)
            assert reply["text"] == "Hello Dana!"
            assert server.chat_actions[0]["action"] == "typing"

            mark = server.mark()
            server.inject_callback_query("more", chat_id=321, user_id=321, first_name="Dana")
            await server.wait_for_async("editMessageText", timeout=5, since=mark)
            assert server.answered_callbacks
            assert server.sent_messages(321)[-1]["text"] == "More details"
            assert server.bot_messages(321)[-1]["text"] == "More details"
        finally:
            await app.updater.stop()
            await app.stop()

    assert server.calls_for("deleteWebhook", ok=True)
    assert server.pending_updates == 0
