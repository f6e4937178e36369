"""Conversations: what each chat asked last, so a follow-up question can lean on it.

``retrieval.followup`` reads a follow-up ("How old is she?") in the light of the previous exchange;
this module finds that exchange for a question:

* in any chat, the answer the message replies to: the key of the kept question is in the answer's
  buttons (``Store.question_by_key``, so this survives a restart), and the bot also remembers the
  answer messages it sent (for an answer kept without buttons);
* in a private chat and in the console, also the chat's previous question and answer, if it came
  within ``CONTEXT_SECONDS``; in a group, the same person's previous question there (never
  someone else's).

``Conversations`` is an LRU with expiry (``bot/expiring.py``), in memory: at most ``MAX_CONVERSATIONS`` chats (or group
members) and ``MAX_ANSWER_MESSAGES`` answer messages are kept, the oldest forgotten first, and a
restart forgets them all. Each key holds one chat's (or one group member's) exchange only, so chats
never mix. The event loop (or the console's one thread) is its only user.
"""

import asyncio
import re
import time
from collections.abc import Callable, Hashable

from telegram import Message, Update
from telegram.constants import ChatType

from qabot.bot.expiring import Expiring
from qabot.bot.formatting import result_as_html
from qabot.bot.html_messages import MAX_MESSAGE_CHARS, Run, split_html
from qabot.retrieval.followup import Exchange
from qabot.retrieval.types import Result

#: How long a chat's previous exchange is a follow-up's context (seconds).
CONTEXT_SECONDS = 5 * 60
#: How many chats (or group members) have their previous exchange kept.
MAX_CONVERSATIONS = 10_000
#: How many answer messages are remembered, for replies to them.
MAX_ANSWER_MESSAGES = 20_000
#: The key of a kept question in an answer button's data (``Store.record_question``).
QUESTION_KEY = r"([A-Za-z0-9_-]{12})"
#: An answer button's data: its kind, then the kept question's key (``bot/app.py``).
BUTTON_KEY = re.compile(rf"^(?:src|more|vote):{QUESTION_KEY}(?::|$)")


class Conversations:
    """The previous exchange of each conversation, and the answer behind each answer message.

    :param max_conversations: how many conversations are kept (the least recent is forgotten).
    :param seconds: how long a previous exchange stays a follow-up's context.
    :param max_messages: how many answer messages are remembered for replies.
    :param clock: seconds, for the expiry (``time.monotonic``).
    """

    def __init__(
        self,
        *,
        max_conversations: int = MAX_CONVERSATIONS,
        seconds: float = CONTEXT_SECONDS,
        max_messages: int = MAX_ANSWER_MESSAGES,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.last = Expiring(max_conversations, seconds, clock)
        self.messages = Expiring(max_messages, None, clock)

    def previous(self, conversation: Hashable) -> Exchange | None:
        """The conversation's previous exchange, if it is recent enough."""
        return self.last.get(conversation)

    def answered(self, chat_id: int, message_id: int) -> Exchange | None:
        """The exchange an answer message of the bot showed, if it is remembered."""
        return self.messages.get((chat_id, message_id))

    def remember(self, conversation: Hashable, result: Result) -> Exchange:
        """Keep a question's result as its conversation's previous exchange, and return it."""
        exchange = Exchange.of(result)
        self.last.set(conversation, exchange)
        return exchange

    def shown(self, exchange: Exchange, sent: list[Message]) -> None:
        """Remember the answer messages an exchange was shown in, for replies to them."""
        for message in sent:
            self.messages.set((message.chat_id, message.message_id), exchange)


def conversation_of(update: Update) -> Hashable:
    """Whose conversation a message is in: the private chat's, or one member's of a group."""
    message, chat = update.effective_message, update.effective_chat
    if chat.type == ChatType.PRIVATE:
        return chat.id
    sender = message.sender_chat.id if message.sender_chat else (update.effective_user.id if update.effective_user else None)
    return chat.id, sender


def replied_key(message: Message) -> str | None:
    """The kept question's key in the buttons of the bot's answer this message replies to."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != message.get_bot().id:
        return None
    markup = replied.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            found = BUTTON_KEY.match(button.callback_data or "") if isinstance(button.callback_data, str) else None
            if found:
                return found.group(1)
    return None


def note(result: Result) -> str | None:
    """How a follow-up was read ("Read as: How old is Priya Nandakumar?"), None for a question
    answered as asked."""
    if result.understood_as and result.understood_as != result.question:
        return f"Read as: {result.understood_as}"
    return None


def result_with_note_as_html(result: Result) -> list[str]:
    """The answer as Telegram HTML messages, the first one opening with how a follow-up was read."""
    said = note(result)
    if said is None:
        return result_as_html(result)
    lead = split_html([Run(said, "i")])[0] + "\n"
    messages = result_as_html(result, limit=MAX_MESSAGE_CHARS - len(lead.encode("utf-16-le")) // 2)
    return [lead + messages[0], *messages[1:]]


async def context_of(
    update: Update, conversations: Conversations, kept_result: Callable[[str], Result | None]
) -> Exchange | None:
    """The exchange a question leans on: the answer it replies to, else its conversation's last.

    :param kept_result: the kept result of a question key (None: unknown, or not this chat's); it
        reads the store, so it runs on a thread.
    """
    message = update.effective_message
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == message.get_bot().id:
        shown = conversations.answered(message.chat_id, replied.message_id)
        if shown is not None:
            return shown
        key = replied_key(message)
        result = await asyncio.to_thread(kept_result, key) if key else None
        if result is not None:
            return Exchange.of(result)
    return conversations.previous(conversation_of(update))
