"""Getting the bot's messages to Telegram through its faults, without sending any of them twice.

Telegram's Bot API has no idempotency key: when a request gets no answer, it may or may not have
been carried out, and sending it again may show the user the same message twice. So a request is
sent again only when Telegram certainly did not carry it out:

* Telegram answered 429 (flood control): ``AIORateLimiter`` waits ``retry_after`` and resends;
* Telegram answered with a server error (500, 502, 503, 504, ...): it did not do it;
* no connection could be made, or none was free in the pool: nothing was sent.

Those are resent with a growing pause (``FIRST_PAUSE`` doubling up to ``MAX_PAUSE``) for up to
``RESEND_FOR`` seconds, so an answer outlives a short outage and arrives once the API recovers.

A request that was sent but whose answer never came (a read timeout, a connection dropped before
the answer) is **not** resent: the message is probably delivered, and the bot cannot ask Telegram
(bots cannot read a chat's history). The bot prefers a rare lost message to a duplicate, and makes
the case rare by waiting ``READ_TIMEOUT`` seconds for an answer, longer than PTB's default of 5 s:
a slow Telegram then answers (with the result, or a 5xx that is safe to resend) before the bot
gives up. Chat actions ("typing…") are never resent: a late one is worthless and would hold up the
answer behind it.
"""

import asyncio
import logging
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

#: Seconds to wait for Telegram's answer to a request (PTB's default is 5).
READ_TIMEOUT = 15.0
#: Seconds during which a request Telegram did not carry out is sent again.
RESEND_FOR = 60.0
#: Pause before the first resend; it doubles each time, up to ``MAX_PAUSE``.
FIRST_PAUSE = 0.25
MAX_PAUSE = 8.0
#: How often flood control (429) is waited out before the error reaches the resend loop.
FLOOD_RETRIES = 3
#: Calls that only decorate the chat (the command menu, "typing…", a button's toast): never resent,
#: since a late one is worthless, and callers go on without them when they fail.
COSMETIC = frozenset({"sendChatAction", "setMyCommands", "answerCallbackQuery"})

#: httpx errors raised before any byte of the request reached Telegram.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def not_carried_out(error: BaseException) -> bool:
    """Whether Telegram certainly did not carry out the request that failed with ``error``."""
    if isinstance(error, RetryAfter):
        return True
    if not isinstance(error, NetworkError) or isinstance(error, BadRequest):
        return False  # a refusal (bad request, forbidden, ...) is an answer: sending again changes nothing
    cause = error.__cause__
    if isinstance(cause, httpx.HTTPError):
        return isinstance(cause, _NOT_SENT)  # sent, and the answer was lost: maybe carried out
    return cause is None or isinstance(cause, TelegramError)  # Telegram answered with a server error


def unreachable(error: BaseException) -> bool:
    """Whether ``error`` means Telegram could not be reached or did not answer (not a refusal)."""
    return isinstance(error, RetryAfter) or (isinstance(error, NetworkError) and not isinstance(error, BadRequest))


class ResendingRateLimiter(AIORateLimiter):
    """``AIORateLimiter`` that also resends the requests Telegram did not carry out (see the module).

    :param resend_for: seconds during which such a request is sent again [default: ``RESEND_FOR``].
    :param max_retries: times flood control is waited out in a row [default: ``FLOOD_RETRIES``].
    :param limits: ``AIORateLimiter``'s own rate limits.
    """

    def __init__(self, *, resend_for: float | None = None, max_retries: int | None = None, **limits: Any):
        super().__init__(max_retries=FLOOD_RETRIES if max_retries is None else max_retries, **limits)
        self.resend_for = RESEND_FOR if resend_for is None else resend_for

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        """Send through the rate limiter; resend while Telegram did not carry the request out."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.resend_for
        pause = FIRST_PAUSE
        while True:
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except TelegramError as error:
                if endpoint in COSMETIC or not not_carried_out(error) or loop.time() + pause > give_up:
                    raise
                log.warning("%s failed (%s); sending it again in %.2f s", endpoint, error, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)
