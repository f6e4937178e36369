"""Who may change the collection: every admin command and button, in every kind of chat.

Non-admins are refused /add (text, URL, document), /remove, /list, /stats, /follow, /feeds,
/unfollow and the list's page buttons in private chats, groups, supergroups and a channel's discussion group, where a message can
also speak for a chat rather than a person (sent as the channel, a channel post forwarded there
automatically, an anonymous group admin). A command comes only from what its sender typed: a
forwarded message never runs one, whoever forwards it (an admin forwarding another user's
"/remove 2" or a channel's "/add URL" included); in a private chat the bot says so, in a group it
says nothing. Editing a message into a command does not get around the check either. Nothing in
the store changes; admins succeed everywhere.
"""

import itertools
import time

import pytest
from telegram import Update

from qabot.bot.handlers import FORWARDED_COMMAND, NOT_ADMIN
from tests.bot.conftest import ADMIN, GROUP, USER, buttons, rendered, replies, settled, until
from tests.bot.fake_bot_api import DEFAULT_CHANNEL_ID
from tests.page_server import PageServer

SUPERGROUP = -1001234500001
DISCUSSION = -1001234500002  # the discussion group linked to CHANNEL
CHANNEL = {"id": DEFAULT_CHANNEL_ID, "type": "channel", "title": "Aldermoor news"}
#: Where a message can come from: the inject_* keywords for the chat.
CHATS = {
    "private": {},
    "group": {"chat_type": "group", "chat_id": GROUP},
    "supergroup": {"chat_type": "supergroup", "chat_id": SUPERGROUP},
    "discussion group": {"chat_type": "supergroup", "chat_id": DISCUSSION, "chat_title": "Aldermoor news chat"},
}
#: Telegram's stand-ins in ``from`` when a message speaks for a chat.
CHANNEL_BOT, TELEGRAM, ANONYMOUS_ADMIN = 136817688, 777000, 1087968824

PASTED = (
    "Gorsefield library reopens after roof repairs\n"
    "The Gorsefield library reopened on Monday after eight months of roof repairs costing 1.2 million pounds."
)
NOTES_MD = b"""---
title: Kestrel Bay lifeboat gets a new station
---
The Kestrel Bay lifeboat crew moved into a new station built beside the harbour slipway.
"""
_message_ids = itertools.count(50_000)


def chat_of(where: dict, user: int) -> int:
    return where.get("chat_id", user)


def collection(store) -> tuple:
    """What the admin commands could change or reveal: the articles, their chunks and the questions."""
    return store.counts(), [a.title for a in store.list_articles()], store.stats()["questions"]


def admin_commands(server, url: str) -> dict:
    """Each admin command as a function injecting it with the given sender keywords."""
    return {
        "/add text": lambda **who: server.inject_command("add", PASTED, **who),
        "/add URL": lambda **who: server.inject_command("add", url, **who),
        "/add document": lambda **who: server.inject_document(NOTES_MD, file_name="lifeboat.md", caption="/add", **who),
        "/remove": lambda **who: server.inject_command("remove", "1", **who),
        "/list": lambda **who: server.inject_command("list", **who),
        "/stats": lambda **who: server.inject_command("stats", **who),
        "/follow": lambda **who: server.inject_command("follow", url, **who),
        "/feeds": lambda **who: server.inject_command("feeds", **who),
        "/unfollow": lambda **who: server.inject_command("unfollow", "1", **who),
    }


def for_a_chat(server, text: str, sender: dict, **extra) -> dict:
    """A discussion-group message that speaks for a chat: ``from`` is one of Telegram's stand-ins."""
    message = {
        "message_id": next(_message_ids),
        "from": sender,
        "date": int(time.time()),
        "chat": {"id": DISCUSSION, "type": "supergroup", "title": "Aldermoor news chat"},
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        **extra,
    }
    return server.inject_update({"message": message})


@pytest.fixture
def pages():
    with PageServer() as served:
        yield served


@pytest.mark.parametrize("kind", CHATS)
async def test_every_admin_command_is_refused_to_a_non_admin(bot, server, sample_store, pages, kind):
    where, before = CHATS[kind], collection(sample_store)
    for name, command in admin_commands(server, pages.url("/article")).items():
        (reply,) = await replies(server, chat_of(where, USER), lambda: command(user_id=USER, **where))
        assert rendered(reply).text == NOT_ADMIN, name
    assert collection(sample_store) == before
    assert not pages.requests and not server.calls_for("getFile")  # nothing fetched or downloaded


SPEAKING_FOR_A_CHAT = {
    "sent as the channel": (CHANNEL_BOT, {"sender_chat": CHANNEL}),
    "an anonymous group admin": (
        ANONYMOUS_ADMIN,
        {"sender_chat": {"id": DISCUSSION, "type": "supergroup", "title": "Aldermoor news chat"}},
    ),
    # Telegram puts a stand-in in `from`; even if it named an admin, the message speaks for the channel
    "the channel, with an admin's id": (ADMIN, {"sender_chat": CHANNEL}),
}


@pytest.mark.parametrize("speaker", SPEAKING_FOR_A_CHAT)
async def test_a_message_speaking_for_a_chat_is_not_an_admin(bot, server, sample_store, speaker):
    sender_id, fields = SPEAKING_FOR_A_CHAT[speaker]
    sender = {"id": sender_id, "is_bot": sender_id != TELEGRAM, "first_name": "Stand-in"}
    before = collection(sample_store)
    for text in (f"/add {PASTED}", "/remove 1", "/list", "/stats"):
        (reply,) = await replies(server, DISCUSSION, lambda: for_a_chat(server, text, sender, **fields))
        assert rendered(reply).text == NOT_ADMIN, text
    document = server.add_file(NOTES_MD, "lifeboat.md")
    (reply,) = await replies(
        server,
        DISCUSSION,
        lambda: for_a_chat(
            server,
            "/add",
            sender,
            document={"file_id": document, "file_unique_id": "lifeboat", "file_name": "lifeboat.md"},
            caption="/add",
            **fields,
        ),
    )
    assert rendered(reply).text == NOT_ADMIN
    assert collection(sample_store) == before and not server.calls_for("getFile")


def forwarded_document(server, where: dict, sender: int) -> dict:
    """A .md file with the caption /add, forwarded by ``sender`` from someone else."""
    document = server.add_file(NOTES_MD, "lifeboat.md")
    chat_id = chat_of(where, sender)
    chat = {"id": chat_id, "type": "private", "first_name": "Admin"} if chat_id == sender else {
        "id": chat_id, "type": where["chat_type"], "title": "Aldermoor chat"}
    message = {
        "message_id": next(_message_ids),
        "from": server.make_user(sender, "Admin"),
        "date": int(time.time()),
        "chat": chat,
        "document": {"file_id": document, "file_unique_id": "lifeboat", "file_name": "lifeboat.md"},
        "caption": "/add",
        "caption_entities": [{"type": "bot_command", "offset": 0, "length": 4}],
        "forward_origin": {"type": "user", "sender_user": server.make_user(USER), "date": int(time.time()) - 60},
    }
    return server.inject_update({"message": message})


async def test_a_channel_post_forwarded_automatically_runs_no_command(bot, server, sample_store):
    before = collection(sample_store)
    sender = {"id": TELEGRAM, "is_bot": False, "first_name": "Telegram"}
    automatic = {
        "sender_chat": CHANNEL,
        "is_automatic_forward": True,
        "forward_origin": {"type": "channel", "chat": CHANNEL, "message_id": 7, "date": int(time.time())},
    }
    for text in (f"/add {PASTED}", "/remove 1", "/list", "/stats"):
        for_a_chat(server, text, sender, **automatic)
    await replies(server, DISCUSSION, lambda: server.inject_command("start", user_id=USER, **CHATS["discussion group"]))
    await settled(server)
    assert len(server.sent_messages(DISCUSSION)) == 1  # the reply to /start alone
    assert collection(sample_store) == before


@pytest.mark.slow
@pytest.mark.parametrize("sender", [ADMIN, USER], ids=["admin", "non-admin"])
@pytest.mark.parametrize("kind", CHATS)
async def test_a_forwarded_command_is_never_run(bot, server, sample_store, pages, kind, sender):
    where, before = CHATS[kind], collection(sample_store)
    chat = chat_of(where, sender)
    commands = (f"/add {PASTED}", f"/add {pages.url('/article')}", "/remove 2", "/list", "/stats",
                f"/follow {pages.url('/article')}", "/feeds", "/unfollow 1", "/ask Who drove the first tram?")

    def forward_them() -> None:
        for text in commands:
            server.inject_forwarded_message(text, origin_user_id=ADMIN if sender == USER else USER,
                                            user_id=sender, **where)
            server.inject_forwarded_message(text, origin_type="channel", user_id=sender, **where)
        forwarded_document(server, where, sender)

    if kind == "private":
        said = await replies(server, chat, forward_them, count=2 * len(commands) + 1)
        assert {rendered(reply).text for reply in said} == {FORWARDED_COMMAND}
    else:
        forward_them()
        await replies(server, chat, lambda: server.inject_command("start", user_id=sender, **where))
        await settled(server)
        assert len(server.sent_messages(chat)) == 1  # the reply to /start alone
    assert collection(sample_store) == before
    assert not pages.requests and not server.calls_for("getFile")


async def test_a_reply_runs_no_command_it_replies_to(bot, server, sample_store):
    where = CHATS["group"]
    before = collection(sample_store)
    sent = []
    (refused,) = await replies(
        server, GROUP, lambda: sent.append(server.inject_command("remove", "2", user_id=USER, **where))
    )
    assert rendered(refused).text == NOT_ADMIN
    command = sent[0]["message"]  # the user's "/remove 2"
    for text in ("/ask", "Yes, do that", f"{server.bot_mention} go ahead"):  # the admin answers it
        server.inject_message(text, user_id=ADMIN, reply_to=command, **where)
    await replies(server, GROUP, lambda: server.inject_command("start", user_id=ADMIN, **where))
    await settled(server)
    assert not any(rendered(m).text.startswith("Removed") for m in server.sent_messages(GROUP))
    assert collection(sample_store)[:2] == before[:2]  # the articles: the questions asked may have grown


async def test_an_edit_into_an_admin_command_does_nothing(bot, server, sample_store):
    asked = server.inject_message("Who drove the first tram?")
    own = server.inject_message("A note to myself", user_id=ADMIN)
    in_group = server.inject_message("nice weather", user_id=USER, **CHATS["group"])
    await until(lambda: server.sent_messages(USER) and server.sent_messages(ADMIN))
    before = collection(sample_store)
    edits = [
        server.inject_edited_message(asked, f"/add {PASTED}"),
        server.inject_edited_message(asked, "/remove 1"),
        server.inject_edited_message(own, f"/add {PASTED}", chat_id=ADMIN),  # even an admin's edit
        server.inject_edited_message(in_group, "/remove 2", chat_id=GROUP),
    ]
    channel_post = server.inject_channel_post("/remove 3")
    sent = len(server.sent_messages())
    await replies(server, USER, lambda: server.inject_command("start"))  # the bot went on past them
    await settled(server)
    assert len(server.sent_messages()) == sent + 1

    # Telegram is not asked for edits or channel posts; were they delivered anyway, no handler takes them
    mark = server.mark()
    for update in [*edits, channel_post]:
        await bot.process_update(Update.de_json(update, bot.bot))
    assert server.calls[mark:] == []
    assert collection(sample_store) == before


@pytest.mark.parametrize("kind", CHATS)
async def test_the_list_buttons_are_refused_to_a_non_admin(bot, server, sample_store, kind):
    where = CHATS[kind]
    for n in range(5):
        sample_store.add_article(title=f"Extra {n}", text=f"Extra article number {n} about the harbour wall.")
    if kind == "private":  # a non-admin never gets a list: they can only forge the button's data
        await replies(server, USER, lambda: server.inject_command("start"))
        pressed = {"chat_id": USER}
    else:
        (listing,) = await replies(
            server, where["chat_id"], lambda: server.inject_command("list", user_id=ADMIN, **where)
        )
        pressed = {"chat_id": where["chat_id"], "message": listing["_message_id"]}
    for data in ("list:10", "list:0"):
        mark = server.mark()
        server.inject_callback_query(data, user_id=USER, **pressed)
        refusal = await server.wait_for_async("answerCallbackQuery", since=mark)
        assert refusal.params["text"] == NOT_ADMIN and refusal.params["show_alert"] is True
    await settled(server)
    assert not server.calls_for("editMessageText")


@pytest.mark.slow
@pytest.mark.parametrize("kind", CHATS)
async def test_an_admin_can_use_every_admin_command_and_button(bot, server, sample_store, pages, kind):
    where = CHATS[kind]
    chat = chat_of(where, ADMIN)
    commands = admin_commands(server, pages.url("/article"))

    async def reply_to(name: str) -> str:
        (reply,) = await replies(server, chat, lambda: commands[name](user_id=ADMIN, **where))
        return rendered(reply)

    assert (await reply_to("/add text")).text.startswith("Added article 9: Gorsefield library reopens")
    assert (await reply_to("/add URL")).text.startswith("Added article 10: Riverside tram opens")
    assert (await reply_to("/add document")).text.startswith("Added article 11: Kestrel Bay lifeboat")
    assert sample_store.counts()["articles"] == 11

    (listing,) = await replies(server, chat, lambda: commands["/list"](user_id=ADMIN, **where))
    assert rendered(listing).text.startswith("Articles 1–10 of 11:")
    mark = server.mark()
    next_page = buttons(listing)["Next ▶"]
    server.inject_callback_query(next_page, message=listing["_message_id"], chat_id=chat, user_id=ADMIN)
    turned = await server.wait_for_async("editMessageText", since=mark)
    assert turned.params["text"].startswith("Articles 11–11 of 11:")

    assert "Articles: 11" in (await reply_to("/stats")).text
    assert (await reply_to("/remove")).text.startswith("Removed article 1:")
    assert sample_store.counts()["articles"] == 10 and sample_store.verify() == []
