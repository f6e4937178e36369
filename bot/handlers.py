"""Telegram handlers: the public commands (/start, /help, /whoami), errors, and what every handler shares.

``bot/app.py`` wires them. ``BotContext`` gives each handler the collection, the reader and the
settings of the bot; the helpers here (replying in HTML, "typing…", answering a button press,
refusing anyone but an admin) serve the questions and their answer buttons (``bot/questions.py``)
and the admin commands (``bot/admin_commands.py``, ``bot/feed_commands.py``), which check the
sender against ``QABOT_ADMIN_IDS`` on every update.
"""

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from concurrent.futures import Executor

from telegram import BotCommand, CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import CallbackContext, ExtBot

from qabot.bot.config import Settings
from qabot.bot.conversation import Conversations
from qabot.bot.delivery import unreachable
from qabot.bot.html_messages import text_as_html
from qabot.index.store import Store

log = logging.getLogger(__name__)

EXAMPLE_QUESTION = "Who drove the first tram on the Riverside line?"
NOT_ADMIN = "Sorry, only the bot's admins can do that. You can still ask me anything about the articles."
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again in a moment."
FORWARDED_COMMAND = "I do not run commands from forwarded messages: type the command yourself."
ADD_USAGE = (
    "To add an article, send one of:\n"
    "/add https://example.org/article\n"
    "/add followed by the pasted text (the first line is the title)\n"
    "a .txt, .md, .html or .pdf file with /add as its caption"
)
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


async def forwarded_command(update: Update, context: BotContext) -> None:
    """Says that the command in a forwarded message is not run: commands are what the sender types."""
    await _reply(update.effective_message, text_as_html(FORWARDED_COMMAND))


# --- buttons no other handler takes --------------------------------------------------------------


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
