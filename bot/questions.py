"""Telegram questions and the buttons under their answers: /ask, a message, Sources, More answers, 👍 / 👎.

``bot/app.py`` wires these beside ``bot/handlers.py``, whose helpers they share. Every question goes
through ``retrieval.answer.answer_in_conversation()`` (a follow-up is read in the light of the
answer it replies to or the chat's previous one, ``bot/conversation.py``) on a worker thread of the
bot's executor (``QABOT_WORKERS`` threads), so the event loop keeps serving other chats while a
question is read; every store call runs on a thread too. What was answered is kept in the store
under a random key, which is all a button's callback data carries; a button works only in the chat
the answer was given in (in a private chat, only for the person it was given to), and anyone else
gets a polite refusal. An answer is sent even when the store cannot keep it (a full disk, a locked
database), only then without its buttons.
"""

import asyncio
import dataclasses
import json
import logging
import re
import sqlite3

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType

from qabot.bot.conversation import context_of, conversation_of, result_with_note_as_html
from qabot.bot.formatting import more_answers_as_html, sources_as_html
from qabot.bot.handlers import EXAMPLE_QUESTION, BotContext, _after_command, _answer_press, _reply, _typing
from qabot.bot.html_messages import text_as_html
from qabot.index.bm25 import EmptyIndex
from qabot.index.question_log import AskedQuestion, QuestionNotFound
from qabot.index.store import Store
from qabot.retrieval.answer import DEFAULT_ANSWERS, answer_in_conversation
from qabot.retrieval.followup import Exchange, UnresolvedFollowup
from qabot.retrieval.types import Answer, Passage, Result

log = logging.getLogger(__name__)

EMPTY_COLLECTION = "I have no articles yet, so I cannot answer. An admin can add some with /add."
GONE = "Sorry, I no longer have that answer. Please ask again."
NOT_YOURS = "Sorry, this button is not for you. Ask me your own question!"
ASK_USAGE = f"Ask like this: /ask {EXAMPLE_QUESTION}"
#: Questions longer than this are cut (a question is a sentence, not an article).
MAX_QUESTION_CHARS = 1000


async def _send_below(context: BotContext, pressed: MaybeInaccessibleMessage, texts: list[str]) -> None:
    """Send HTML messages in reply to the message whose button was pressed."""
    for text in texts:
        await context.bot.send_message(
            pressed.chat.id, text, reply_parameters=ReplyParameters(pressed.message_id)
        )


def _saved(result: Result) -> str:
    """The result as JSON, to keep with the question for its buttons."""
    return json.dumps(dataclasses.asdict(result), ensure_ascii=False)


def _restored(saved: str) -> Result:
    """A result saved by ``_saved``."""
    data = json.loads(saved)
    return Result(
        question=data["question"],
        reader=data["reader"],
        no_answer=data["no_answer"],
        answers=tuple(Answer(**a) for a in data["answers"]),
        passages=tuple(Passage(**p) for p in data["passages"]),
        understood_as=data.get("understood_as"),
    )


def _kept_result(store: Store, chat_id: int, key: str) -> Result | None:
    """The result kept under a question key, if it was answered in this chat (on a worker thread)."""
    try:
        kept = store.question_by_key(key)
    except QuestionNotFound:
        return None
    return _restored(kept.answer_json) if kept.chat_id == chat_id and kept.answer_json else None


def _keep(store: Store, question: str, **fields) -> AskedQuestion | None:
    """Keep an asked question (``Store.record_question``); None, logged, when the database refuses."""
    try:
        return store.record_question(question, **fields)
    except sqlite3.OperationalError as error:  # a full disk, a locked or read-only database
        log.warning("could not keep a question: %s", error)
        return None


def _answer_and_keep(
    store: Store, reader, encoder, question: str, chat_id: int, user_id: int | None, previous: Exchange | None
) -> tuple[Result, AskedQuestion | None]:
    """Answer on a worker thread (a follow-up after ``previous``), then keep the question with what
    was answered (None if it could not)."""
    try:
        result = answer_in_conversation(
            question, previous=previous, store=store, reader=reader, top_k=DEFAULT_ANSWERS, encoder=encoder
        )
    except (EmptyIndex, UnresolvedFollowup):
        _keep(store, question, answered=False, chat_id=chat_id, user_id=user_id)
        raise
    kept = _keep(
        store,
        question,
        answered=not result.no_answer,
        chat_id=chat_id,
        user_id=user_id,
        reader=result.reader,
        answer_json=_saved(result),
    )
    return result, kept


def _answer_buttons(result: Result, key: str) -> InlineKeyboardMarkup | None:
    """Sources and More answers, then 👍 / 👎; callback data is a kind and the kept question's key."""
    row = []
    if result.passages:
        row.append(InlineKeyboardButton("Sources", callback_data=f"src:{key}"))
    if len(result.answers) > 1:
        row.append(InlineKeyboardButton("More answers", callback_data=f"more:{key}"))
    rows = [row] if row else []
    if not result.no_answer:
        rows.append(
            [
                InlineKeyboardButton("👍", callback_data=f"vote:{key}:up"),
                InlineKeyboardButton("👎", callback_data=f"vote:{key}:down"),
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


async def _answer_question(update: Update, context: BotContext, question: str) -> None:
    """Answer a question in the chat it came from: typing while it is read, then the answer."""
    message = update.effective_message
    question = " ".join(question.split())[:MAX_QUESTION_CHARS]
    if not question:
        await message.reply_text(ASK_USAGE)
        return
    user = update.effective_user
    previous = await context_of(
        update, context.conversations, lambda key: _kept_result(context.store, message.chat_id, key)
    )
    work = asyncio.get_running_loop().run_in_executor(
        context.executor,
        _answer_and_keep,
        context.store,
        context.reader,
        context.encoder,
        question,
        message.chat_id,
        user.id if user else None,
        previous,
    )
    async with _typing(message):
        try:
            result, kept = await work
        except EmptyIndex:
            await message.reply_text(EMPTY_COLLECTION)
            return
        except UnresolvedFollowup as unresolved:  # "Who do you mean by “he”?"
            await _reply(message, text_as_html(str(unresolved)))
            return
    exchange = context.conversations.remember(conversation_of(update), result)  # before a next question
    buttons = _answer_buttons(result, kept.key) if kept else None
    context.conversations.shown(exchange, await _reply(message, result_with_note_as_html(result), buttons))


def _given_to(kept: AskedQuestion, query: CallbackQuery) -> bool:
    """Whether the button was pressed in the chat the answer was given in (in private, by its asker).

    A button on an inline message is in no chat: the bot sends none, so its data is forged.
    """
    chat = query.message.chat if query.message else None
    if chat is None or chat.id != kept.chat_id:
        return False
    return chat.type != ChatType.PRIVATE or query.from_user.id == kept.user_id


async def _pressed(update: Update, context: BotContext, thanks: str | None = None) -> AskedQuestion | None:
    """The kept question of the pressed answer button, after answering the press with ``thanks``.

    None when the key in the button's data names no kept answer, or the answer was given to someone
    else: the press is then answered with a polite refusal.
    """
    query = update.callback_query
    try:
        kept = await asyncio.to_thread(context.store.question_by_key, context.matches[0].group(1))
    except QuestionNotFound:
        kept = None
    if kept is None or kept.answer_json is None:
        await _answer_press(query, GONE)
        return None
    if not _given_to(kept, query):
        log.info("refused user %s a button of question %s", query.from_user.id, kept.id)
        await _answer_press(query, NOT_YOURS)
        return None
    await _answer_press(query, thanks)
    return kept


# --- questions -----------------------------------------------------------------------------------


async def ask(update: Update, context: BotContext) -> None:
    """Answers the question after /ask (or the message /ask replies to), in any chat."""
    message = update.effective_message
    question = _after_command(message.text or "")
    if not question.strip() and message.reply_to_message:
        question = message.reply_to_message.text or message.reply_to_message.caption or ""
    await _answer_question(update, context, question)


async def question(update: Update, context: BotContext) -> None:
    """Answers a text message (any in private; in groups, a reply to the bot or a mention of it)."""
    text = update.effective_message.text or ""
    username = context.bot.username
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    await _answer_question(update, context, text)


# --- buttons -------------------------------------------------------------------------------------


async def sources(update: Update, context: BotContext) -> None:
    """Sends the passages the answer was read from, each with its source (in a few messages at most)."""
    kept = await _pressed(update, context)
    if kept is not None:
        texts = sources_as_html(_restored(kept.answer_json))
        await _send_below(context, update.callback_query.message, texts)


async def more_answers(update: Update, context: BotContext) -> None:
    """Sends the answers after the best one."""
    kept = await _pressed(update, context)
    if kept is not None:
        texts = more_answers_as_html(_restored(kept.answer_json))
        await _send_below(context, update.callback_query.message, texts)


async def feedback(update: Update, context: BotContext) -> None:
    """Thanks the user for their 👍 or 👎, which is kept with the question (one vote per person)."""
    kept = await _pressed(update, context, "Thanks for the feedback!")
    if kept is not None:
        user, vote = update.callback_query.from_user.id, 1 if context.matches[0].group(2) == "up" else -1
        await asyncio.to_thread(context.store.record_feedback, kept.id, user, vote)
