"""Inline mode: ``@bot question`` typed in any chat shows the bot's answers as inline results.

Each answer is an ``InlineQueryResultArticle``: the answer as its title, its sentence and source as
its description; choosing one sends the question and the answer in its sentence with its source
(``bot/formatting.py``, as an answer in a chat) into that chat, "via @bot". Telegram sends an
inline query for every keystroke, so:

* only a reasonably complete question is answered: one ending with "?" of at least
  ``MIN_WORDS`` words, or any of ``COMPLETE_WORDS`` words; the others get no answer at all (no
  request is spent on them);
* a question waits ``DEBOUNCE_SECONDS`` first, and is dropped when the same person has typed on
  since (a newer query), or when it could not be read within ``ANSWER_WITHIN`` seconds (Telegram
  no longer takes the answer then);
* answers are kept ``CACHE_SECONDS`` for the last ``CACHE_SIZE`` questions, so a question asked
  again (by anyone) is answered without reading, and Telegram may cache them too (``cache_time``);
* reading runs on its own single worker thread, one question at a time, with at most
  ``MAX_WAITING`` waiting: chat questions have their own workers (``QABOT_WORKERS``), so inline
  traffic never holds them up.

A question that leans on an earlier answer ("When did he visit?") has none here: the results are
empty and a button says what to ask (``retrieval.followup``), as it does for no answer.
``QABOT_INLINE=off`` turns inline answers off: inline queries are then neither asked for nor answered.
Choosing a result (``chosen_inline_result``, with inline feedback on at @BotFather) counts the
question in ``/stats``.
"""

import asyncio
import dataclasses
import hashlib
import logging
import sqlite3
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)

from qabot.bot.expiring import Expiring
from qabot.bot.formatting import NO_ANSWER, result_as_html, source_line
from qabot.bot.handlers import BotContext
from qabot.bot.html_messages import MAX_MESSAGE_CHARS, Run, split_html
from qabot.index.bm25 import EmptyIndex
from qabot.retrieval.answer import DEFAULT_ANSWERS, answer_in_conversation
from qabot.retrieval.followup import UnresolvedFollowup
from qabot.retrieval.types import Result

log = logging.getLogger(__name__)

#: A question ending with "?" is complete from this many words on; any is from ``COMPLETE_WORDS``.
MIN_WORDS = 3
COMPLETE_WORDS = 6
#: Seconds a question waits for the next keystroke before it is read.
DEBOUNCE_SECONDS = 0.4
#: Seconds after which an inline query is no longer answered (Telegram's limit is about 10).
ANSWER_WITHIN = 8.0
#: Questions kept with their answers, and for how long (seconds).
CACHE_SIZE = 256
CACHE_SECONDS = 300
#: Questions that may wait to be read; more are dropped.
MAX_WAITING = 4
#: Inline queries are at most 256 characters; results' titles and descriptions are cut to these.
TITLE_CHARS = 100
DESCRIPTION_CHARS = 250
#: The button under results that are not answers; it opens a private chat with the bot.
START_PARAMETER = "inline"
EMPTY_COLLECTION = "I have no articles yet"


def complete(question: str) -> bool:
    """Whether an inline query reads as a whole question (not one still being typed)."""
    words = len(question.split())
    return (question.endswith("?") and words >= MIN_WORDS) or words >= COMPLETE_WORDS


def cache_key(question: str) -> str:
    """What equal questions share: case, spacing and the final "?" ignored."""
    return " ".join(question.casefold().rstrip("?").split())


class InlineAnswers:
    """What inline mode keeps: recent answers, each person's newest query, and the reading slot.

    :param cache_size: how many questions' answers are kept.
    :param cache_seconds: how long an answer is kept.
    """

    def __init__(self, *, cache_size: int = CACHE_SIZE, cache_seconds: float = CACHE_SECONDS):
        self.answers = Expiring(cache_size, cache_seconds)
        self.newest = Expiring(cache_size)  # user id → their newest query id
        self.slot = asyncio.Semaphore(1)
        self.waiting = 0
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="qabot-inline")

    def cached(self, key: str) -> Result | str | None:
        """A recent answer to the question (a ``Result``, or what to say instead), or None."""
        return self.answers.get(key)

    def keep(self, key: str, answered: Result | str) -> None:
        self.answers.set(key, answered)

    def arrived(self, user_id: int, query_id: str) -> None:
        """Note a person's newest query (older ones of theirs are then stale)."""
        self.newest.set(user_id, query_id)

    def stale(self, user_id: int, query_id: str) -> bool:
        """Whether the person has sent a newer query since this one."""
        return self.newest.get(user_id) != query_id


def _read(context: BotContext, question: str) -> Result | str:
    """Answer on the inline worker thread: a ``Result``, or what to say instead of answers."""
    try:
        return answer_in_conversation(
            question,
            previous=None,
            store=context.store,
            reader=context.reader,
            top_k=DEFAULT_ANSWERS,
            encoder=context.encoder,
        )
    except UnresolvedFollowup as unresolved:
        return str(unresolved)
    except EmptyIndex:
        return EMPTY_COLLECTION


def _results(key: str, question: str, result: Result) -> list[InlineQueryResultArticle]:
    """One inline result per answer: choosing it sends the question, then the answer as in a chat."""
    asked = split_html([Run(question, "i")])[0] + "\n"
    room = MAX_MESSAGE_CHARS - len(asked.encode("utf-16-le")) // 2
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    results = []
    for rank, found in enumerate(result.answers):
        text = result_as_html(dataclasses.replace(result, answers=(found,)), limit=room)[0]
        sentence = textwrap.shorten(" ".join(found.context.split()), DESCRIPTION_CHARS - 60, placeholder=" …")
        results.append(
            InlineQueryResultArticle(
                id=f"{digest}-{rank}",
                title=textwrap.shorten(" ".join(found.text.split()), TITLE_CHARS, placeholder=" …"),
                description=textwrap.shorten(f"{sentence}\n{source_line(found)}", DESCRIPTION_CHARS, placeholder=" …"),
                input_message_content=InputTextMessageContent(
                    asked + text, link_preview_options=LinkPreviewOptions(is_disabled=True)
                ),
            )
        )
    return results


async def inline_query(update: Update, context: BotContext) -> None:
    """Shows the answers to a complete question typed after @bot, or a button saying why not."""
    query = update.inline_query
    question = " ".join(query.query.split())
    if not complete(question):
        return  # still being typed: nothing to answer yet
    answers: InlineAnswers = context.bot_data["inline"]
    key = cache_key(question)
    answers.arrived(query.from_user.id, query.id)
    found = answers.cached(key)
    if found is None:
        found = await _read_in_turn(context, answers, query.from_user.id, query.id, question)
        if found is None:
            return  # typed on since, or waited too long: a newer query (or none) is answered
        answers.keep(key, found)
    if isinstance(found, str) or found.no_answer:
        said = found if isinstance(found, str) else NO_ANSWER
        button = InlineQueryResultsButton(textwrap.shorten(said, 64, placeholder="…"), start_parameter=START_PARAMETER)
        await query.answer([], cache_time=10, is_personal=False, button=button)
        return
    await query.answer(_results(key, question, found), cache_time=CACHE_SECONDS, is_personal=False)


async def _read_in_turn(
    context: BotContext, answers: InlineAnswers, user_id: int, query_id: str, question: str
) -> Result | str | None:
    """Read the question on the inline worker, in turn; None when it was dropped (stale or late)."""
    arrived = time.monotonic()
    await asyncio.sleep(DEBOUNCE_SECONDS)
    if answers.stale(user_id, query_id) or answers.waiting >= MAX_WAITING:
        return None
    answers.waiting += 1
    try:
        remaining = ANSWER_WITHIN - (time.monotonic() - arrived)
        await asyncio.wait_for(answers.slot.acquire(), timeout=max(remaining, 0.001))
    except TimeoutError:
        log.info("an inline question waited too long and was dropped")
        return None
    finally:
        answers.waiting -= 1
    try:
        if answers.stale(user_id, query_id):
            return None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(answers.executor, _read, context, question)
    finally:
        answers.slot.release()


async def chosen(update: Update, context: BotContext) -> None:
    """Counts a question whose inline answer was sent into a chat (``/stats``)."""
    picked = update.chosen_inline_result
    question = " ".join(picked.query.split())

    def keep() -> None:
        try:
            context.store.record_question(question, answered=True, user_id=picked.from_user.id)
        except sqlite3.OperationalError as error:  # a full disk, a locked or read-only database
            log.warning("could not keep an inline question: %s", error)

    await asyncio.to_thread(keep)
