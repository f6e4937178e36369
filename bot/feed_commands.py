"""Telegram commands for news feeds (/follow, /feeds, /unfollow) and the JobQueue job that checks them.

``bot/app.py`` wires the handlers and calls ``schedule_checks``, which has python-telegram-bot's
JobQueue run ``check_feeds`` every ``QABOT_FEED_INTERVAL_MINUTES``. A pass (``index.feeds``) runs on
a thread, so the event loop keeps answering questions meanwhile, and one pass runs at a time: a
check that comes due while one runs waits for it. When the bot stops, a running pass ends after the
entry it is storing; the next pass does the rest. A feed just followed is checked at once, and the
admin who followed it is told what it brought. Every command checks the sender against
``QABOT_ADMIN_IDS`` on every update, in every kind of chat.
"""

import asyncio
import logging
import sqlite3

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from qabot.bot.formatting import articles_kept, feed_as_text, feed_check_as_text
from qabot.bot.handlers import BotContext, _admin_or_refuse, _reply
from qabot.bot.html_messages import text_as_html
from qabot.bot.ids import parse_id
from qabot.index import feeds
from qabot.retrieval.embeddings import embed_missing

log = logging.getLogger(__name__)

FOLLOW_USAGE = "Usage: /follow URL (an RSS or Atom feed, or a site's page that links to its feed)."
UNFOLLOW_USAGE = "Usage: /unfollow N (the feed numbers are in /feeds)."
#: The name of the repeating job in the JobQueue.
CHECK_JOB = "feed checks"
#: Seconds after the bot starts before its first check (at most the interval).
FIRST_CHECK_AFTER = 60.0


def _pass(application: Application, feed_id: int | None = None) -> list[feeds.FeedCheck]:
    """One pass over every feed (or one feed), then the new chunks' embeddings; on a worker thread."""
    store, settings = application.bot_data["store"], application.bot_data["settings"]
    options = {"allow_private": settings.allow_private_urls, "should_stop": lambda: not application.running}
    if feed_id is None:
        checks = feeds.update_feeds(store, **options)
    else:
        checks = [feeds.update_feed(store, feed_id, **options)]
    encoder = application.bot_data.get("encoder")
    if encoder is not None and any(check.added for check in checks):
        embed_missing(store, encoder)
    return checks


async def _checked(context: BotContext, feed_id: int | None = None) -> list[feeds.FeedCheck]:
    """Run a pass off the event loop, one at a time."""
    async with context.bot_data["feed_lock"]:
        return await asyncio.to_thread(_pass, context.application, feed_id)


async def check_feeds(context: BotContext) -> None:
    """The scheduled job: checks every followed feed and adds its new entries (nothing is sent)."""
    try:
        checks = await _checked(context)
    except sqlite3.OperationalError as error:  # a full disk: the next check tries again
        log.warning("the feed check stopped: %s", error)
        return
    added = sum(len(check.added) for check in checks)
    failed = [check.feed_id for check in checks if check.error]
    log.info("checked %s feeds: %s articles added; feeds that failed: %s", len(checks), added, failed or "none")


async def _first_check(context: BotContext) -> None:
    """Checks a feed just followed, then tells the chat it was followed in what it added."""
    feed_id = context.job.data
    try:
        (check,) = await _checked(context, feed_id)
    except feeds.FeedNotFound:  # unfollowed meanwhile
        return
    except sqlite3.OperationalError as error:
        text = f"Feed {feed_id} could not be checked ({error}); the next check tries again."
    else:
        text = feed_check_as_text(check)
        text = text[0].upper() + text[1:] + "."
    try:
        for part in text_as_html(text):
            await context.bot.send_message(context.job.chat_id, part)
    except TelegramError as error:
        log.warning("could not tell chat %s about feed %s: %s", context.job.chat_id, feed_id, error)


async def follow(update: Update, context: BotContext) -> None:
    """Admins: follows the feed at the URL (or the feed the page links to), checks it at once, and
    says what it added when done."""
    if not await _admin_or_refuse(update, context):
        return
    message = update.effective_message
    if len(context.args) != 1:
        await _reply(message, text_as_html(FOLLOW_USAGE))
        return
    try:
        feed = await asyncio.to_thread(
            feeds.follow,
            context.store,
            context.args[0],
            allow_private=context.settings.allow_private_urls,
            added_by=f"telegram:{update.effective_user.id}",
        )
    except feeds.FeedError as error:
        await _reply(message, text_as_html(f"Not followed: {error}."))
        return
    log.info("feed %s followed by %s", feed.id, update.effective_user.id)
    await _reply(message, text_as_html(
        f"Following feed {feed.id}: {feed.title or 'Untitled feed'} ({feed.url}).\n"
        "I am adding its articles now and will say here when that is done."
    ))
    context.job_queue.run_once(_first_check, 0, data=feed.id, chat_id=message.chat_id, name=f"feed {feed.id}")


async def feeds_command(update: Update, context: BotContext) -> None:
    """Admins: lists the followed feeds: last checked, articles brought, entries to retry, last error."""
    if not await _admin_or_refuse(update, context):
        return
    followed = await asyncio.to_thread(feeds.list_feeds, context.store)
    if not followed:
        text = "No feed is followed. Follow one with /follow URL."
    else:
        text = "\n\n".join(
            [f"Followed feeds ({len(followed)}):", *map(feed_as_text, followed), "/unfollow N stops following one."]
        )
    await _reply(update.effective_message, text_as_html(text))


async def unfollow(update: Update, context: BotContext) -> None:
    """Admins: stops following feed N; the articles it brought stay in the collection."""
    if not await _admin_or_refuse(update, context):
        return
    message = update.effective_message
    try:
        (text,) = context.args
        feed_id = parse_id(text)
    except ValueError:  # not one argument, or not a number
        await _reply(message, text_as_html(UNFOLLOW_USAGE))
        return
    try:
        feed = None if feed_id is None else await asyncio.to_thread(feeds.unfollow, context.store, feed_id)
    except feeds.FeedNotFound:
        feed = None
    if feed is None:
        await _reply(message, text_as_html(f"There is no feed {text}."))
        return
    log.info("feed %s unfollowed by %s", feed.id, update.effective_user.id)
    kept = articles_kept(feed.articles)
    await _reply(message, text_as_html(
        f"Unfollowed feed {feed.id}: {feed.title or feed.url}. {kept[0].upper()}{kept[1:]} (/remove ID removes one)."
    ))


def schedule_checks(application: Application) -> None:
    """Have the JobQueue check the feeds every ``QABOT_FEED_INTERVAL_MINUTES`` (never when 0)."""
    application.bot_data["feed_lock"] = asyncio.Lock()
    minutes = application.bot_data["settings"].feed_interval_minutes
    if minutes:
        application.job_queue.run_repeating(
            check_feeds, interval=minutes * 60, first=min(minutes * 60, FIRST_CHECK_AFTER), name=CHECK_JOB
        )
