"""Telegram admin commands (/add, /remove, /list, /stats), the article list's page buttons, and the
daily JobQueue job that forgets the questions older than ``QABOT_QUESTION_LOG_DAYS``.

``bot/app.py`` wires them beside the public handlers of ``bot/handlers.py``, whose helpers they
share. Each one checks the sender against ``QABOT_ADMIN_IDS`` on every update, in every kind of
chat, and refuses anyone else politely. Adding fetches, extracts, stores and embeds on a thread, so
the event loop keeps answering questions meanwhile.
"""

import asyncio
import dataclasses
import logging
import re
import sqlite3
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import Application

from qabot.bot.formatting import article_line, plural, stats_as_text
from qabot.bot.handlers import ADD_USAGE, BotContext, _admin_or_refuse, _after_command, _answer_press, _reply, _typing
from qabot.bot.html_messages import text_as_html
from qabot.bot.ids import parse_id
from qabot.index.drafts import from_text, store_draft
from qabot.index.fetch import ALLOW_PRIVATE_SETTING
from qabot.index.ingest import FILE_SUFFIXES, PrivateURLRefused, from_bytes, max_file_bytes, read_source
from qabot.index.store import Article, ArticleNotFound, ArticleRefused, Store
from qabot.retrieval.embeddings import embed_missing

log = logging.getLogger(__name__)

#: Articles per page of /list.
LIST_PAGE = 10
#: The name of the daily job that forgets old questions, and the seconds before its first run.
QUESTION_LOG_JOB = "question log"
FIRST_FORGETTING_AFTER = 60.0


def _list_page(store: Store, offset: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the article list and its Previous / Next buttons (on a worker thread).

    Titles are shortened so that a page always fits in one message.
    """
    total = store.counts()["articles"]
    offset = max(0, min(offset, (max(total, 1) - 1) // LIST_PAGE * LIST_PAGE))
    articles = store.list_articles(limit=LIST_PAGE, offset=offset)
    if not articles:
        return text_as_html("The collection is empty. Add articles with /add.")[0], None
    lines = [f"Articles {offset + 1}–{offset + len(articles)} of {total}:"]
    short = [dataclasses.replace(a, title=textwrap.shorten(a.title, 70, placeholder=" …")) for a in articles]
    lines += [article_line(a, url=False) for a in short]
    buttons = []
    if offset > 0:
        buttons.append(InlineKeyboardButton("◀ Previous", callback_data=f"list:{offset - LIST_PAGE}"))
    if offset + LIST_PAGE < total:
        buttons.append(InlineKeyboardButton("Next ▶", callback_data=f"list:{offset + LIST_PAGE}"))
    return text_as_html("\n".join(lines))[0], InlineKeyboardMarkup([buttons]) if buttons else None


def _add_from(store: Store, source: str, *, allow_private: bool, added_by: str, encoder) -> Article:
    """Store pasted text, or the page at a URL when the text is one address (``scheme:...``).

    ``read_source`` fetches an http(s) address and refuses any other scheme (``file:``, ``ftp:``)
    or a malformed URL; it is given nothing else, since it would read a path on the server.
    """
    address = source.strip()
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]+:\S*", address):  # one word with a scheme
        draft = read_source(address, allow_private=allow_private)
    else:
        draft = from_text(source)
    return _stored(store, draft, encoder, added_by=added_by)


def _stored(store: Store, draft, encoder, **overrides) -> Article:
    """Store a draft, then the embeddings of its chunks when hybrid search is on."""
    article = store_draft(store, draft, **overrides)
    if encoder is not None:
        embed_missing(store, encoder)
    return article


def _added(article: Article) -> list[str]:
    return text_as_html(f"Added article {article.id}: {article.title} ({plural(article.chunks, 'chunk')}).")


def _not_added(error: ArticleRefused) -> list[str]:
    if isinstance(error, PrivateURLRefused):  # the setting is the server's, not the chat's
        return text_as_html(
            f"Not added: {error.reason} (an admin of the server the bot runs on can allow private "
            f"addresses with {ALLOW_PRIVATE_SETTING})."
        )
    return text_as_html(f"Not added: {error}.")


# --- commands ----------------------------------------------------------------------------------


async def add(update: Update, context: BotContext) -> None:
    """Admins: adds the pasted text, or the page at the URL, after /add and says what was added."""
    if not await _admin_or_refuse(update, context):
        return
    message = update.effective_message
    source = _after_command(message.text or "")
    if not source.strip():
        await _reply(message, text_as_html(ADD_USAGE))
        return
    async with _typing(message):
        try:
            article = await asyncio.to_thread(
                _add_from,
                context.store,
                source,
                allow_private=context.settings.allow_private_urls,
                added_by=f"telegram:{update.effective_user.id}",
                encoder=context.encoder,
            )
        except ArticleRefused as error:
            await _reply(message, _not_added(error))
            return
    log.info("article %s added by %s", article.id, update.effective_user.id)
    await _reply(message, _added(article))


async def add_document(update: Update, context: BotContext) -> None:
    """Admins: adds an uploaded .txt, .md, .html or .pdf file sent with /add as caption (rest = title)."""
    message = update.effective_message
    target = re.match(r"^/add(?:@(\w+))?", message.caption or "", flags=re.IGNORECASE)
    addressed_to = target.group(1) if target else None
    if target is None or (addressed_to and addressed_to.lower() != (context.bot.username or "").lower()):
        return  # "/add@otherbot": not for us
    if not await _admin_or_refuse(update, context):
        return
    document = message.document
    suffix = Path(document.file_name or "").suffix.lower()
    if not suffix and document.mime_type == "application/pdf":
        suffix = ".pdf"
    if suffix not in FILE_SUFFIXES:
        kinds = ", ".join(sorted(FILE_SUFFIXES))
        await _reply(message, text_as_html(f"Not added: I can read {kinds} files, not {suffix or 'this file'}."))
        return
    if document.file_size and document.file_size > max_file_bytes(suffix):
        await _reply(message, text_as_html(f"Not added: the file is larger than {max_file_bytes(suffix):,} bytes."))
        return
    title = " ".join(_after_command(message.caption or "").split()) or None
    async with _typing(message):
        data = bytes(await (await document.get_file()).download_as_bytearray())

        def store_file() -> Article:
            return _stored(
                context.store,
                from_bytes(data, suffix),
                context.encoder,
                title=title,
                added_by=f"telegram:{update.effective_user.id}",
            )

        try:
            article = await asyncio.to_thread(store_file)
        except ArticleRefused as error:
            await _reply(message, _not_added(error))
            return
    log.info("article %s added from a file by %s", article.id, update.effective_user.id)
    await _reply(message, _added(article))


async def remove(update: Update, context: BotContext) -> None:
    """Admins: removes the article with the given id and names it."""
    if not await _admin_or_refuse(update, context):
        return
    message = update.effective_message
    try:
        (text,) = context.args
        article_id = parse_id(text)
    except ValueError:  # not one argument, or not an id
        await _reply(message, text_as_html("Usage: /remove ID (the ids are in /list)."))
        return
    try:
        info = None if article_id is None else await asyncio.to_thread(context.store.remove_article, article_id)
    except ArticleNotFound:
        info = None
    if info is None:
        await _reply(message, text_as_html(f"There is no article {text}."))
        return
    log.info("article %s removed by %s", info.id, update.effective_user.id)
    await _reply(message, text_as_html(f"Removed article {info.id}: {info.title}."))


async def list_command(update: Update, context: BotContext) -> None:
    """Admins: shows the first page of articles, with Previous / Next buttons."""
    if not await _admin_or_refuse(update, context):
        return
    text, buttons = await asyncio.to_thread(_list_page, context.store, 0)
    await update.effective_message.reply_text(text, reply_markup=buttons)


async def stats(update: Update, context: BotContext) -> None:
    """Admins: shows articles, chunks, questions asked, the share answered, the latest unanswered.

    In a group only the questions asked in that group are counted and shown, so that no one's
    private question is read out there; in a private chat with the bot, every chat's.
    """
    if not await _admin_or_refuse(update, context):
        return
    chat = update.effective_chat
    in_group = chat.type != ChatType.PRIVATE
    numbers = await asyncio.to_thread(context.store.stats, chat_id=chat.id if in_group else None)
    text = stats_as_text(numbers)
    if in_group:
        text += "\n\nThe questions are this chat's only; /stats in a private chat with me counts every chat's."
    await _reply(update.effective_message, text_as_html(text))


# --- buttons -----------------------------------------------------------------------------------


async def list_page(update: Update, context: BotContext) -> None:
    """Admins: turns the article list to the page of the pressed button."""
    if not await _admin_or_refuse(update, context):
        return
    query = update.callback_query
    await _answer_press(query)
    text, buttons = await asyncio.to_thread(_list_page, context.store, int(context.matches[0].group(1)))
    try:
        await query.edit_message_text(text, reply_markup=buttons)
    except BadRequest as error:  # pressed twice: the page is already shown
        if "not modified" not in str(error).lower():
            raise


# --- the question log ----------------------------------------------------------------------------


async def forget_old_questions(context: BotContext) -> None:
    """The daily job: deletes the questions asked more than ``QABOT_QUESTION_LOG_DAYS`` ago, with their votes."""
    before = datetime.now(UTC) - timedelta(days=context.settings.question_log_days)
    try:
        forgotten = await asyncio.to_thread(context.store.forget_questions, before=before)
    except sqlite3.OperationalError as error:  # a locked or full database: tomorrow's run tries again
        log.warning("could not forget the old questions: %s", error)
        return
    log.info("forgot %s questions asked before %s", forgotten, before.date())


def schedule_forgetting(application: Application) -> None:
    """Have the JobQueue forget old questions once a day (never when ``QABOT_QUESTION_LOG_DAYS`` is 0)."""
    if application.bot_data["settings"].question_log_days:
        application.job_queue.run_repeating(
            forget_old_questions, interval=timedelta(days=1), first=FIRST_FORGETTING_AFTER, name=QUESTION_LOG_JOB
        )
