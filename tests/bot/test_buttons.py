"""The buttons under an answer: whose they are, what they carry, what one press may send.

Callback data can be forged (a client may send any data for a button of a message it sees), so an
answer's buttons carry its question's random key, not its sequential id, and act only in the chat
the answer was given in (in a private chat, only for the person who asked). Malformed, overlong and
inline-message presses get a polite answer and no traceback; one Sources press sends a few
messages at most, however long the passages.
"""

import logging
import re

import pytest

from qabot.bot.formatting import MAX_SOURCE_MESSAGES, SHORTENED
from qabot.bot.questions import GONE, NOT_YOURS
from tests.bot.conftest import ADMIN, GROUP, USER, buttons, rendered, replies, settled, until

OTHER_USER = 7777
OTHER_GROUP = -100987654
KEY = re.compile(r"[A-Za-z0-9_-]{12}")


@pytest.fixture
def errors(caplog):
    """The error lines the bot and PTB log during the test."""
    caplog.set_level(logging.WARNING)
    return lambda: [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def ask(server, question: str = "Who drove the first tram?", **where) -> dict:
    """The bot's answer to a question, asked in private (or in a group with ``/ask``)."""
    chat = where.get("chat_id", where.get("user_id", USER))
    if "chat_type" in where:
        (answer,) = await replies(server, chat, lambda: server.inject_command("ask", question, **where))
    else:
        (answer,) = await replies(server, chat, lambda: server.inject_message(question, **where))
    return answer


async def press(server, data: str, **where) -> dict:
    """Press a button with ``data`` (``inject_callback_query``'s keywords); how the press was answered."""
    mark = server.mark()
    server.inject_callback_query(data, **where)
    return (await server.wait_for_async("answerCallbackQuery", since=mark)).params


async def a_message_in(server, chat: int, user: int, **where) -> None:
    """Have the bot send a message in ``chat``, for a forged press to be attached to."""
    await replies(server, chat, lambda: server.inject_command("start", user_id=user, **where))


def votes(store) -> list[tuple[int, int, int]]:
    return sorted(store.db.execute("SELECT question_id, user_id, vote FROM feedback").fetchall())


async def test_an_answers_buttons_carry_its_questions_random_key(bot, server, sample_store):
    first, second = await ask(server), await ask(server, "Who won the cup final?")
    data = buttons(first)
    key = data["Sources"].removeprefix("src:")
    assert KEY.fullmatch(key)
    assert data == {
        "Sources": f"src:{key}", "More answers": f"more:{key}", "👍": f"vote:{key}:up", "👎": f"vote:{key}:down"
    }
    kept = sample_store.question_by_key(key)
    assert (kept.question, kept.chat_id, kept.user_id) == ("Who drove the first tram?", USER, USER)
    assert buttons(second)["Sources"] != data["Sources"]


@pytest.mark.slow
async def test_a_private_answers_buttons_do_nothing_for_anyone_else(bot, server, sample_store, errors):
    answer = await ask(server)
    data = buttons(answer)
    await a_message_in(server, OTHER_USER, OTHER_USER)
    forged = [
        {"chat_id": OTHER_USER, "user_id": OTHER_USER},  # the data sent from their own chat with the bot
        {"message": answer["_message_id"], "chat_id": USER, "user_id": OTHER_USER},  # on the asker's message
    ]
    for where in forged:
        for name in ("Sources", "More answers", "👍", "👎"):
            assert (await press(server, data[name], **where))["text"] == NOT_YOURS, (name, where)
    await settled(server)
    assert len(server.sent_messages(OTHER_USER)) == 1 and len(server.sent_messages(USER)) == 1
    assert votes(sample_store) == [] and errors() == []

    await replies(server, USER, lambda: server.inject_callback_query(data["Sources"]))
    assert "Priya Nandakumar" in " ".join(rendered(m).text for m in server.sent_messages(USER)[1:])
    assert (await press(server, data["👍"], message=answer["_message_id"]))["text"] == "Thanks for the feedback!"
    question = sample_store.question_by_key(data["👍"].split(":")[1])
    await until(lambda: votes(sample_store) == [(question.id, USER, 1)], timeout=30)


@pytest.mark.slow
async def test_a_group_answers_buttons_work_for_the_group_and_only_there(bot, server, sample_store, errors):
    in_group = {"chat_type": "group", "chat_id": GROUP}
    answer = await ask(server, **in_group, user_id=USER)
    data = buttons(answer)
    question = sample_store.question_by_key(data["Sources"].removeprefix("src:"))

    (shown, *_) = await replies(
        server, GROUP, lambda: server.inject_callback_query(data["More answers"], chat_id=GROUP, user_id=OTHER_USER)
    )
    assert rendered(shown).text.startswith("2. ")  # another member may read them
    for user, name in ((USER, "👍"), (OTHER_USER, "👎")):  # and vote: one vote each
        pressed = await press(server, data[name], message=answer["_message_id"], chat_id=GROUP, user_id=user)
        assert pressed["text"] == "Thanks for the feedback!"
    await until(lambda: votes(sample_store) == [(question.id, USER, 1), (question.id, OTHER_USER, -1)], timeout=30)

    await a_message_in(server, OTHER_GROUP, OTHER_USER, chat_type="group", chat_id=OTHER_GROUP)
    await a_message_in(server, OTHER_USER, OTHER_USER)
    before = len(server.sent_messages())
    for where in ({"chat_id": OTHER_GROUP}, {"chat_id": OTHER_USER}):
        for name in ("Sources", "More answers", "👎"):
            assert (await press(server, data[name], user_id=OTHER_USER, **where))["text"] == NOT_YOURS
    await settled(server)
    assert len(server.sent_messages()) == before
    assert votes(sample_store) == [(question.id, USER, 1), (question.id, OTHER_USER, -1)]
    assert errors() == []


@pytest.mark.slow
async def test_malformed_and_overlong_button_data_gets_a_polite_answer(bot, server, sample_store, errors):
    answer = await ask(server)
    huge = "9" * 20
    no_longer_works = [
        f"src:{huge}", f"more:{huge}", f"vote:{huge}:down", "src:1", "src:", "vote:", "src:abc:def",
        f"vote:{buttons(answer)['👍'].split(':')[1]}:sideways", "src:ĀĀĀĀĀĀĀĀĀĀĀĀ", "x" * 64, "\n",
    ]
    for data in no_longer_works:
        pressed = await press(server, data, message=answer["_message_id"])
        assert "no longer works" in pressed["text"], data
    for data in ("src:AAAAAAAAAAAA", "more:------------", "vote:____________:up"):  # well formed, unknown
        assert (await press(server, data, message=answer["_message_id"]))["text"] == GONE
    await settled(server)
    assert len(server.sent_messages(USER)) == 1 and votes(sample_store) == []

    (listing,) = await replies(server, ADMIN, lambda: server.inject_command("list", user_id=ADMIN))
    mark = server.mark()
    await press(server, f"list:{huge}", message=listing["_message_id"], chat_id=ADMIN, user_id=ADMIN)
    await settled(server)
    assert not [c for c in server.calls[mark:] if c.method == "sendMessage"]  # the last page, shown already
    assert errors() == []


async def test_a_press_without_data_gets_a_polite_answer(bot, server, sample_store, errors):
    answer = await ask(server)
    for extra in ({}, {"data": ""}, {"game_short_name": "tram_quiz"}):
        mark = server.mark()
        server.inject_update({"callback_query": {
            "id": f"77{len(extra)}{len(str(extra))}",
            "from": server.make_user(USER),
            "chat_instance": "42",
            "message": server.message(USER, answer["_message_id"]),
            **extra,
        }})
        pressed = (await server.wait_for_async("answerCallbackQuery", since=mark)).params
        assert "no longer works" in pressed["text"], extra
    await settled(server)
    assert len(server.sent_messages(USER)) == 1 and votes(sample_store) == []
    assert errors() == []


@pytest.mark.slow
async def test_presses_on_inline_messages_get_a_polite_answer(bot, server, sample_store, errors):
    data = buttons(await ask(server))
    for name in ("Sources", "More answers", "👍"):
        pressed = await press(server, data[name], inline_message_id="AgAAAFake-inline-message")
        assert pressed["text"] == NOT_YOURS, name
    assert "no longer works" in (await press(server, "src:1", inline_message_id="AgAAAFake"))["text"]
    assert (await press(server, "list:0", inline_message_id="AgAAAFake", user_id=USER))["show_alert"] is True
    mark = server.mark()
    server.inject_callback_query("list:0", inline_message_id="AgAAAFake", user_id=ADMIN)
    edited = await server.wait_for_async("editMessageText", since=mark)
    assert edited.params["inline_message_id"] == "AgAAAFake" and edited.params["text"].startswith("Articles 1–8")
    await settled(server)
    assert len(server.sent_messages(USER)) == 1 and votes(sample_store) == [] and errors() == []


@pytest.mark.slow
async def test_one_sources_press_sends_a_few_messages_however_long_the_passages(bot, server, sample_store):
    article = sample_store.add_article(title="Glacier survey", text="The Morvane glacier moved nine metres.")
    # a collection chunked before chunks were capped: one passage of 280,000 characters
    sample_store.db.execute(
        "UPDATE chunks SET text = ? WHERE article_id = ?",
        ["The Morvane glacier moved nine metres. " + "Its ice cracked and groaned all winter. " * 7000, article.id],
    )
    answer = await ask(server, "How far did the Morvane glacier move?")
    assert "nine metres" in rendered(answer).text
    await replies(server, USER, lambda: server.inject_callback_query(buttons(answer)["Sources"]))
    await settled(server, pause=1.0)
    sources = [rendered(m).text for m in server.sent_messages(USER)[1:]]
    assert 1 <= len(sources) <= MAX_SOURCE_MESSAGES
    assert sources[0].startswith("1. Glacier survey\nThe Morvane glacier moved nine metres.")
    assert f" …\n{SHORTENED}" in "\n".join(sources)
