"""The Telegram bot's wiring: ``build_application()`` adds every handler; ``run()`` serves it.

Reading ``build_application`` shows every command and what each handler accepts. ``qabot run`` and
the end-to-end tests build the bot with the same function.
"""

import asyncio
import gc
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
from telegram import BotCommandScopeChat, LinkPreviewOptions, Message, MessageEntity, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from qabot.bot import admin_commands, delivery, feed_commands, handlers, inline, questions
from qabot.bot.config import Settings
from qabot.bot.conversation import QUESTION_KEY, Conversations
from qabot.bot.inline import InlineAnswers
from qabot.index.store import Store

log = logging.getLogger(__name__)

#: The update kinds the bot asks Telegram for.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY, Update.CHOSEN_INLINE_RESULT]
#: A document whose caption is the /add command (with or without @botname, and a title after it).
ADD_CAPTION = r"(?i)^/add(@\w+)?(\s|$)"
#: Where the Bot API lives unless QABOT_TELEGRAM_BASE_URL says otherwise (PTB's default).
TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
REJECTED_TOKEN = "Telegram rejected the token in TELEGRAM_BOT_TOKEN; check it with @BotFather"


class WebhookServerError(RuntimeError):
    """The webhook server could not listen on its port."""


class BotAPIUnusable(RuntimeError):
    """The Bot API cannot serve the bot: unreachable, not a Bot API, or the token refused."""


class _HideToken(logging.Filter):
    """Hide the bot token in every log line and traceback (``Settings.without_token``): PTB, httpx
    and the Bot API's own answers may quote a URL or a body with it."""

    def __init__(self, settings: Settings):
        super().__init__()
        self.hide = settings.without_token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.hide(message) != message:
            record.msg, record.args = self.hide(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.hide(record.exc_text)
        if record.stack_info:
            record.stack_info = self.hide(record.stack_info)
        return True


class _OneLineErrors(logging.Filter):
    """Turn a log record's traceback into one line (``TypeName: message``) unless debugging.

    python-telegram-bot logs a failed bootstrap or a failed update with the whole traceback; a bot
    operator needs the reason, and ``QABOT_LOG_LEVEL=debug`` shows the rest.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and not logging.getLogger().isEnabledFor(logging.DEBUG):
            error = record.exc_info[1]
            reason = (str(error).splitlines() or [""])[0]
            record.msg = f"{record.getMessage()} ({type(error).__name__}{': ' + reason if reason else ''})"
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


class _ButtonHandler(CallbackQueryHandler):
    """The handler of the buttons whose callback data matches ``pattern``.

    python-telegram-bot hands a press without data (no data, empty data, a game's button) to every
    pattern handler, with no match to read; this one leaves it to ``handlers.stale_button``.
    """

    def check_update(self, update: object):
        if isinstance(update, Update) and update.callback_query and not update.callback_query.data:
            return None
        return super().check_update(update)


class _RepliesToBot(filters.MessageFilter):
    """Messages that reply to one of the bot's own messages."""

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return bool(replied and replied.from_user and replied.from_user.id == message.get_bot().id)


class _MentionsBot(filters.MessageFilter):
    """Messages that mention the bot (``@botname``, or a text mention of its user)."""

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        name = f"@{bot.username}".lower()
        for entity, text in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
            if entity.type == MessageEntity.MENTION and text.lower() == name:
                return True
            if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id:
                return True
        return False


async def post_init(application: Application) -> None:
    """Warm the reader on a thread, then publish the command menus (admin commands to admins only)."""
    settings: Settings = application.bot_data["settings"]
    await asyncio.to_thread(application.bot_data["reader"].warm_up)
    await _publish_menus(application.bot, settings.admin_ids)


async def _publish_menus(bot, admin_ids) -> None:
    """Set the command menus; the menu is cosmetic, so a failure is logged once and the bot goes on."""
    menus = [(handlers.PUBLIC_COMMANDS, None)] + [
        (handlers.PUBLIC_COMMANDS + handlers.ADMIN_COMMANDS, BotCommandScopeChat(admin_id))
        for admin_id in sorted(admin_ids)
    ]
    for commands, scope in menus:
        try:
            await bot.set_my_commands(commands, scope=scope)
        except BadRequest as error:  # e.g. an admin who has never opened a chat with the bot
            log.warning("could not set the command menu of user %s: %s", scope and scope.chat_id, error)
        except TelegramError as error:  # the API does not do it now (a 5xx, a partial emulator)
            log.warning("could not set the command menus (%s); the bot answers without them", error)
            return


async def post_shutdown(application: Application) -> None:
    """Stop the worker threads once the questions they are answering are done."""
    await asyncio.to_thread(application.bot_data["executor"].shutdown, wait=True)
    await asyncio.to_thread(application.bot_data["inline"].executor.shutdown, wait=True)


def build_application(settings: Settings, store: Store, reader, encoder=None) -> Application:
    """The bot with all its handlers, ready for polling or a webhook.

    :param settings: token, Bot API base URLs, admin ids and worker count are read from it.
    :param store: the collection (left open: the caller closes it after the bot stops).
    :param reader: the reader ``answer()`` uses; warmed up in ``post_init``.
    :param encoder: the sentence encoder for hybrid search and the embeddings of added articles,
        or None for BM25 alone.
    :raises ValueError: no ``TELEGRAM_BOT_TOKEN`` in the settings.
    """
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .context_types(ContextTypes(context=handlers.BotContext))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,
            )
        )
        .rate_limiter(delivery.ResendingRateLimiter())  # flood control, and resends (bot/delivery.py)
        .read_timeout(delivery.READ_TIMEOUT)
        .concurrent_updates(True)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url)
    if settings.telegram_base_file_url:
        builder = builder.base_file_url(settings.telegram_base_file_url)
    application = builder.build()
    application.bot_data.update(
        settings=settings,
        store=store,
        reader=reader,
        encoder=encoder,
        executor=ThreadPoolExecutor(settings.workers, thread_name_prefix="qabot-answer"),
        conversations=Conversations(),
        inline=InlineAnswers(),
    )

    new = filters.UpdateType.MESSAGE  # edited messages and channel posts are not questions
    # a command is what its sender typed: never a forwarded message (whoever forwards it, admin or
    # not), nor one sent through an inline bot
    typed = new & ~filters.FORWARDED & ~filters.VIA_BOT
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    question = filters.TEXT & ~filters.COMMAND & (private | (groups & (_RepliesToBot() | _MentionsBot())))
    add_caption = filters.Document.ALL & filters.CaptionRegex(ADD_CAPTION)

    application.add_handler(CommandHandler("start", handlers.start, filters=typed))
    application.add_handler(CommandHandler("help", handlers.help_command, filters=typed))
    application.add_handler(CommandHandler("ask", questions.ask, filters=typed))
    application.add_handler(CommandHandler("whoami", handlers.whoami, filters=typed))
    application.add_handler(MessageHandler(new & question, questions.question))
    # a forwarded command is said to be ignored in private; a group hears nothing
    application.add_handler(
        MessageHandler(new & private & filters.FORWARDED & (filters.COMMAND | add_caption), handlers.forwarded_command)
    )
    # admin only: each handler checks the sender and refuses anyone else
    application.add_handler(CommandHandler("add", admin_commands.add, filters=typed))
    application.add_handler(MessageHandler(typed & add_caption, admin_commands.add_document))
    application.add_handler(CommandHandler("remove", admin_commands.remove, filters=typed))
    application.add_handler(CommandHandler("list", admin_commands.list_command, filters=typed))
    application.add_handler(CommandHandler("stats", admin_commands.stats, filters=typed))
    application.add_handler(CommandHandler("follow", feed_commands.follow, filters=typed))
    application.add_handler(CommandHandler("feeds", feed_commands.feeds_command, filters=typed))
    application.add_handler(CommandHandler("unfollow", feed_commands.unfollow, filters=typed))
    feed_commands.schedule_checks(application)  # the JobQueue checks the feeds every QABOT_FEED_INTERVAL_MINUTES
    admin_commands.schedule_forgetting(application)  # and forgets questions older than QABOT_QUESTION_LOG_DAYS
    # buttons: an answer's carry a kind and the question's key, looked up in the store; the list's
    # an offset; any other data or none (an older version's buttons, forged data) no longer works
    application.add_handler(_ButtonHandler(questions.sources, pattern=rf"^src:{QUESTION_KEY}$"))
    application.add_handler(_ButtonHandler(questions.more_answers, pattern=rf"^more:{QUESTION_KEY}$"))
    application.add_handler(_ButtonHandler(questions.feedback, pattern=rf"^vote:{QUESTION_KEY}:(up|down)$"))
    application.add_handler(_ButtonHandler(admin_commands.list_page, pattern=r"^list:(\d+)$"))
    application.add_handler(CallbackQueryHandler(handlers.stale_button))

    if settings.inline:  # @bot question in any chat (QABOT_INLINE)
        application.add_handler(InlineQueryHandler(inline.inline_query))
        application.add_handler(ChosenInlineResultHandler(inline.chosen))

    application.add_error_handler(handlers.error_handler)
    return application


def allowed_updates(settings: Settings) -> list[str]:
    """The update kinds to ask Telegram for: inline queries only with ``QABOT_INLINE`` on."""
    inline_kinds = (Update.INLINE_QUERY, Update.CHOSEN_INLINE_RESULT)
    return [kind for kind in ALLOWED_UPDATES if settings.inline or kind not in inline_kinds]


def webhook_secret(token: str) -> str:
    """The secret Telegram sends with each webhook call, derived from the token."""
    return hashlib.sha256(f"qabot-webhook:{token}".encode()).hexdigest()


def bot_api_address(settings: Settings) -> str:
    """The Bot API's address as messages name it (the base URL without its ``/bot``)."""
    return (settings.telegram_base_url or TELEGRAM_BASE_URL).removesuffix("/bot")


def check_bot_api(settings: Settings) -> str:
    """Ask the Bot API who the bot is (``getMe``) before anything loads, to name what is wrong.

    :returns: the bot's username.

    :raises BotAPIUnusable: the address cannot be reached, does not answer as a Bot API, or the
        Bot API rejects the token; the reason is one line, without the token.
    """
    address = bot_api_address(settings)
    base = settings.telegram_base_url or TELEGRAM_BASE_URL
    try:
        response = httpx.post(f"{base}{settings.telegram_token}/getMe", timeout=delivery.READ_TIMEOUT)
    except httpx.HTTPError as error:
        reason = settings.without_token(str(error)) or type(error).__name__
        raise BotAPIUnusable(f"cannot reach the Telegram Bot API at {address}: {reason}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
        raise BotAPIUnusable(
            f"{address} does not answer as a Telegram Bot API (HTTP {response.status_code}); "
            "check QABOT_TELEGRAM_BASE_URL"
        )
    if answer["ok"]:
        return str((answer.get("result") or {}).get("username") or "")
    if response.status_code == 401:
        raise BotAPIUnusable(REJECTED_TOKEN)
    said = settings.without_token(str(answer.get("description") or ""))
    raise BotAPIUnusable(
        f"the Bot API at {address} answered getMe with {response.status_code} {said}".rstrip()
        + "; check QABOT_TELEGRAM_BASE_URL and TELEGRAM_BOT_TOKEN"
    )


def run(settings: Settings) -> None:
    """Serve the bot until SIGINT or SIGTERM: long polling, or a webhook if QABOT_WEBHOOK_URL is set.

    On a stop signal the updates already received are handled to the end (an article being added
    is stored and confirmed), the worker threads finish, and then the collection is closed.

    :raises ValueError: no token in the settings.
    :raises BotAPIUnusable: the Bot API cannot serve the bot (``check_bot_api``).
    :raises WebhookServerError: the webhook server cannot listen on QABOT_WEBHOOK_PORT.
    :raises index.store.SchemaTooNew: the collection was written by a newer qabot.
    """
    from qabot.retrieval.embeddings import embed_missing
    from qabot.retrieval.loading import load_encoder, load_reader

    if not settings.telegram_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=settings.log_level.upper()
    )
    logging.captureWarnings(True)  # libraries' warnings go through the handlers, and their filters
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request, each URL with the token
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # the JobQueue's own notes on each job
    for handler in logging.getLogger().handlers:  # every logger's records end here, the libraries' too
        handler.addFilter(_OneLineErrors())
        handler.addFilter(_HideToken(settings))
    username = check_bot_api(settings)
    store = Store(settings.db, engine=settings.index)
    try:
        if store.engine.catch_up():  # what a killed process committed but never pushed to the shards
            log.info("pushed the index outbox to %s", store.engine.name)
        reader = load_reader(settings.qa_model, **settings.reader_options())
        encoder = load_encoder(settings.encoder == "auto")
        if encoder is not None and embed_missing(store, encoder):
            log.info("stored the embeddings of chunks added without them")
        application = build_application(settings, store, reader, encoder)
        how = (f"by webhook at {settings.webhook_url} (listening on port {settings.webhook_port})"
               if settings.webhook_url else "by polling")
        log.info("serving %s articles with the %s reader as @%s, %s", store.counts()["articles"], reader.name,
                 username, how)
        # what is loaded now lives as long as the bot: keep it out of the garbage collector's full
        # scans, which would otherwise pause the event loop for longer as the model grows the heap
        gc.collect()
        gc.freeze()
        if settings.webhook_url:
            try:
                application.run_webhook(
                    listen="0.0.0.0",
                    port=settings.webhook_port,
                    url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
                    webhook_url=settings.webhook_url,
                    secret_token=webhook_secret(settings.telegram_token),
                    allowed_updates=allowed_updates(settings),
                )
            except OSError as error:  # the port is taken, or not ours to open
                raise WebhookServerError(
                    f"cannot serve the webhook on port {settings.webhook_port}:"
                    f" {error.strerror or error} (QABOT_WEBHOOK_PORT)"
                ) from None
        else:
            application.run_polling(allowed_updates=allowed_updates(settings))
    finally:
        store.close()
