"""Telegram handlers: one async function per public command or kind of update; ``bot/app.py`` wires them.

Every question goes through ``retrieval.answer.answer_in_conversation()`` (a follow-up is read in
the light of the answer it replies to or the chat's previous one, ``bot/conversation.py``) on a
worker thread of the bot's executor (``QABOT_WORKERS`` threads), so the event loop keeps serving other chats while a question is read;
every store call runs on a thread too. What was answered is kept in the store under a random key,
which is all a button's callback data carries; a button works only in the chat the answer was given
in (in a private chat, only for the person it was given to), and anyone else gets a polite refusal.
An answer is sent even when the store cannot keep it (a full disk, a locked database), only then
without its buttons. The admin commands are in ``bot/admin_commands.py`` and
``bot/feed_commands.py``; they and their buttons check the sender against ``QABOT_ADMIN_IDS`` on
every update, with the helpers here.
"""

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import Executor

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import CallbackContext, ExtBot

from qabot.bot.config import Settings
from qabot.bot.conversation import Conversations, context_of, conversation_of, result_with_note_as_html
from qabot.bot.delivery import unreachable
from qabot.bot.formatting import more_answers_as_html, sources_as_html, text_as_html
from qabot.index.bm25 import EmptyIndex
from qabot.index.store import AskedQuestion, QuestionNotFound, Store
from qabot.retrieval.answer import DEFAULT_ANSWERS, answer_in_conversation
from qabot.retrieval.followup import Exchange, UnresolvedFollowup
from qabot.retrieval.types import Answer, Passage, Result

log = logging.getLogger(__name__)

EXAMPLE_QUESTION = "Who drove the first tram on the Riverside line?"
NOT_ADMIN = "Sorry, only the bot's admins can do that. You can still ask me anything about the articles."
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again in a moment."
EMPTY_COLLECTION = "I have no articles yet, so I cannot answer. An admin can add some with /add."
GONE = "Sorry, I no longer have that answer. Please ask again."
NOT_YOURS = "Sorry, this button is not for you. Ask me your own question!"
FORWARDED_COMMAND = "I do not run commands from forwarded messages: type the command yourself."
ADD_USAGE = (
    "To add an article, send one of:\n"
    "/add https://example.org/article\n"
    "/add followed by the pasted text (the first line is the title)\n"
    "a .txt, .md, .html or .pdf file with /add as its caption"
)
ASK_USAGE = f"Ask like this: /ask {EXAMPLE_QUESTION}"
#: Questions longer than this are cut (a question is a sentence, not an article).
MAX_QUESTION_CHARS = 1000
#: Seconds between two typing actions (Telegram shows one for five seconds).
TYPING_EVERY = 4.0

PUBLIC_COMMANDS = [
    BotCommand("start", "What this bot does"),
    BotCommand("help", "How to ask"),
    BotCommand("ask", "Ask a question (in groups)"),
    BotCommand("whoami", "Your Telegram user id (what QABOT_ADMIN_IDS lists)"),
]
ADMIN_COMMANDS = [
    BotCommand("add", "Add an article: pasted text, a URL, or a file"),
    BotCommand("remove", "Remove an article by its id"),
    BotCommand("list", "List the articles"),
    BotCommand("stats", "Articles and questions; in a group, that group's questions only"),
    BotCommand("follow", "Follow a news feed: its URL, or a site's page"),
    BotCommand("feeds", "The followed feeds, their last check and errors"),
    BotCommand("unfollow", "Stop following a feed by its number"),
]


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """The handlers' context, with the collection, the reader and the settings of the bot."""

    @property
    def store(self) -> Store:
        """The article collection."""
        return self.bot_data["store"]

    @property
    def reader(self):
        """The reader ``answer()`` uses."""
        return self.bot_data["reader"]

    @property
    def encoder(self):
        """The sentence encoder for hybrid search and chunk embeddings, or None (BM25 only)."""
        return self.bot_data.get("encoder")

    @property
    def settings(self) -> Settings:
        """The bot's settings."""
        return self.bot_data["settings"]

    @property
    def executor(self) -> Executor:
        """The worker threads questions are answered on (``QABOT_WORKERS`` of them)."""
        return self.bot_data["executor"]

    @property
    def conversations(self) -> Conversations:
        """Each chat's previous exchange, for follow-up questions (``bot/conversation.py``)."""
        return self.bot_data["conversations"]


# --- helpers -------------------------------------------------------------------------------------


def is_admin(update: Update, context: BotContext) -> bool:
    """Whether the sender of the update is one of ``QABOT_ADMIN_IDS``.

    A message that speaks for a chat (sent as a channel or by an anonymous group admin, or a channel
    post forwarded into its discussion group) is no one's in particular, so it is never an admin's;
    nor is a forwarded message, which says what someone else wrote.
    """
    user, message = update.effective_user, update.message
    if message is not None and (
        message.sender_chat is not None or message.is_automatic_forward or message.forward_origin is not None
    ):
        return False
    return user is not None and user.id in context.settings.admin_ids


async def _admin_or_refuse(update: Update, context: BotContext) -> bool:
    """True for an admin; anyone else gets a polite refusal (an alert, for a button)."""
    if is_admin(update, context):
        return True
    user = update.effective_user
    log.info("refused an admin update from user %s", user.id if user else None)
    if update.callback_query:
        await _answer_press(update.callback_query, NOT_ADMIN, show_alert=True)
    elif update.effective_message:
        await update.effective_message.reply_text(NOT_ADMIN)
    return False


async def _answer_press(query: CallbackQuery, text: str | None = None, **options) -> None:
    """Answer a button press (its toast or alert); when Telegram fails that, the press is handled anyway."""
    try:
        await query.answer(text, **options)
    except TelegramError as error:
        log.info("could not answer a button press: %s", error)


def _after_command(text: str) -> str:
    """The text after a leading ``/command`` or ``/command@bot``, line breaks kept."""
    return re.sub(r"^/\w+(@\w+)?[ \t]*\n?", "", text, count=1)


async def _reply(message: Message, texts: list[str], markup: InlineKeyboardMarkup | None = None) -> list[Message]:
    """Send HTML messages in reply; the buttons go under the last one. Returns the messages sent."""
    return [
        await message.reply_text(text, reply_markup=markup if i == len(texts) - 1 else None)
        for i, text in enumerate(texts)
    ]


async def _send_below(context: BotContext, pressed: MaybeInaccessibleMessage, texts: list[str]) -> None:
    """Send HTML messages in reply to the message whose button was pressed."""
    for text in texts:
        await context.bot.send_message(
            pressed.chat.id, text, reply_parameters=ReplyParameters(pressed.message_id)
        )


@contextlib.asynccontextmanager
async def _typing(message: Message) -> AsyncIterator[None]:
    """Show "typing…" in the chat while the block runs (sent at once, then every few seconds)."""

    async def send() -> None:
        try:
            await message.reply_chat_action(ChatAction.TYPING)
        except TelegramError as error:
            log.debug("typing action failed: %s", error)

    async def keep_typing() -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY)
            await send()

    await send()
    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


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


# --- commands and messages -----------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> None:
    """Says what the bot does, how to ask in private and in groups, with an example question."""
    text = (
        "I answer questions from a collection of news articles, with the exact answer, "
        "the sentence it comes from and a link to the article.\n\n"
        "Here, just send me a question. In a group, use /ask, reply to one of my messages, "
        "or mention me.\n\n"
        f"For example: {EXAMPLE_QUESTION}\n\n"
        "Under each answer: Sources shows the passages I read, More answers the next best, "
        "and 👍 / 👎 tell me how I did. /help shows this again; /whoami tells you your Telegram user id."
    )
    await _reply(update.effective_message, text_as_html(text))


async def whoami(update: Update, context: BotContext) -> None:
    """Tells the sender their Telegram user id, whether they are an admin, and how one becomes one."""
    user_id = update.effective_user.id
    lines = [f"Your Telegram user id is {user_id}."]
    if is_admin(update, context):
        lines.append("You are an admin of this bot: /help lists the admin commands.")
    else:
        lines.append(
            "You are not an admin of this bot. To become one, whoever runs it adds your id to its "
            f"settings (QABOT_ADMIN_IDS={user_id}, several ids comma-separated) and restarts it."
        )
    await _reply(update.effective_message, text_as_html("\n".join(lines)))


async def help_command(update: Update, context: BotContext) -> None:
    """Explains how to ask; admins also see the commands that change the collection."""
    lines = [
        "Send me a question in a private chat. In a group: /ask your question, a reply to one of "
        "my messages, or a message mentioning me.",
        f"Example: /ask {EXAMPLE_QUESTION}",
    ]
    if is_admin(update, context):
        lines.append("\nAdmin commands:")
        lines += [f"/{c.command} — {c.description}" for c in ADMIN_COMMANDS]
        lines.append("\n" + ADD_USAGE)
    await _reply(update.effective_message, text_as_html("\n".join(lines)))


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


async def forwarded_command(update: Update, context: BotContext) -> None:
    """Says that the command in a forwarded message is not run: commands are what the sender types."""
    await _reply(update.effective_message, text_as_html(FORWARDED_COMMAND))


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


async def stale_button(update: Update, context: BotContext) -> None:
    """Tells the user a button no other handler takes (an older version's, forged, without data) no longer works."""
    await _answer_press(update.callback_query, "This button no longer works. Please ask again.")


# --- errors ---------------------------------------------------------------


async def error_handler(update: object, context: BotContext) -> None:
    """Logs the traceback; tells the user something went wrong, without any details.

    When Telegram itself could not be reached, or did not answer, the user is not told: the message
    would not get through either, or the reply that timed out may well have arrived.
    """
    if unreachable(context.error):
        log.warning("could not reach Telegram while handling an update: %s", context.error)
        return
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(update.effective_chat.id, SOMETHING_WENT_WRONG)
        except TelegramError as error:
            log.warning("could not tell chat %s about the error: %s", update.effective_chat.id, error)
