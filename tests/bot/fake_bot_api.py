"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests of the bot.

The fake is a real HTTP server (``http.server.ThreadingHTTPServer``) that runs in a
background thread, bound to an ephemeral port on 127.0.0.1, so it is independent of
the event loop of the test.  The bot under test talks to it over real HTTP through
python-telegram-bot's ordinary client::

    with FakeBotAPI() as server:
        app = (
            ApplicationBuilder()
            .token(server.token)
            .base_url(f"{server.url}/bot")            # PTB builds {base_url}{token}/{method}
            .base_file_url(f"{server.url}/file/bot")  # and {base_file_url}{token}/{file_path}
            .build()
        )
        # or: telegram.Bot(**server.bot_kwargs()), server.configure(ApplicationBuilder())

What it does:

* answers the Bot API methods a polling bot uses (getMe, getUpdates with long polling,
  deleteWebhook, set/get/deleteMyCommands, sendMessage, editMessageText,
  editMessageReplyMarkup, deleteMessage, sendChatAction, answerCallbackQuery, answerInlineQuery,
  getFile, sendDocument, close, logOut, ...) with realistic Telegram objects; unknown methods get
  Telegram's ``404 Not Found: method not found``; a wrong token gets ``401 Unauthorized``;
  parameters are accepted as a query string, JSON body, urlencoded form or multipart form;
* serves files registered with :meth:`FakeBotAPI.add_file` at ``/file/bot<token>/<path>``;
* records every call (:attr:`FakeBotAPI.calls`), keeps what was actually delivered
  (:meth:`FakeBotAPI.sent_messages`) apart from attempts, and lets tests wait for calls
  (:meth:`FakeBotAPI.wait_for` / :meth:`FakeBotAPI.wait_for_async`);
* lets tests inject updates (``inject_*`` methods) and faults (:meth:`FakeBotAPI.fail_next`).

With ``strict=True`` (the default) it also reproduces Telegram's common 400 errors:
replying to an unknown message, editing a missing/foreign message, "message is not
modified", unknown callback query ids, too long texts/captions, bad file ids.
"""

from __future__ import annotations

import asyncio
import copy
import email.parser
import email.policy
import itertools
import json
import logging
import mimetypes
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

__all__ = [
    "ApiCall",
    "BotAPIError",
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "FakeBotAPI",
    "fake_telegram",
]

_LOG = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:AAFakeTokenForQabotTests_0123456789"
DEFAULT_USER_ID = 1001
DEFAULT_GROUP_ID = -100200300
DEFAULT_SUPERGROUP_ID = -1001002003004
DEFAULT_CHANNEL_ID = -1001999888777

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024

# Methods whose successful results count as "delivered" output of the bot.
_DELIVERY_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument"}
)

# Form fields that are plain strings even if they look like JSON (PTB sends strings raw
# and JSON-encodes everything else).
_STRING_FIELDS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "inline_query_id",
        "file_id", "action", "language_code", "url", "secret_token", "ip_address",
        "business_connection_id", "message_effect_id", "description", "short_description",
        "name", "title", "query", "emoji", "document", "photo", "audio", "video", "voice",
        "animation", "sticker", "thumbnail", "chat_id", "from_chat_id",
    }
)

_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)

_ERROR_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_API_PATH = re.compile(r"^/bot(?P<token>[^/]*)/(?P<method>[A-Za-z0-9_]+)/?$")
_FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]*)/(?P<path>.+)$")
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,64})?")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}")
_BOT_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


class BotAPIError(Exception):
    """Raised by method handlers to answer with a Telegram-style error."""

    def __init__(self, error_code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(eq=False)
class ApiCall:
    """One request the fake received.  Iterating it yields ``(method, params)``."""

    method: str  # canonical Bot API name, e.g. "sendMessage"
    params: dict  # decoded parameters (uploads described as dicts)
    index: int  # position in FakeBotAPI.calls
    time: float  # time.time() of arrival
    status: int | None = None  # HTTP status answered; None while still in flight
    result: Any = None  # the "result" of a successful answer
    error: str | None = None  # the "description" of an error answer
    fault: str | None = None  # the injected fault mode, if any

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def done(self) -> bool:
        return self.status is not None

    def __iter__(self) -> Iterator[Any]:
        yield self.method
        yield self.params


@dataclass
class _Fault:
    mode: str  # "timeout" or "http"
    status: int
    retry_after: int
    delay: float | None
    deliver: bool
    description: str | None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    content: bytes
    file_path: str


@dataclass
class _Upload:
    field: str
    file_name: str | None
    mime_type: str
    content: bytes


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _auto_entities(text: str) -> list[dict]:
    """bot_command at offset 0 and @mentions, with Telegram's UTF-16 offsets."""
    entities: list[dict] = []
    command_end = 0
    m = _COMMAND_RE.match(text)
    if m:
        command_end = m.end()
        entities.append({"type": "bot_command", "offset": 0, "length": _utf16_len(m.group())})
    for m in _MENTION_RE.finditer(text):
        if m.start() < command_end:  # the "@bot" of "/cmd@bot" belongs to the command
            continue
        entities.append(
            {
                "type": "mention",
                "offset": _utf16_len(text[: m.start()]),
                "length": _utf16_len(m.group()),
            }
        )
    return entities


def _decode_form_value(key: str, raw: str) -> Any:
    if key in _STRING_FIELDS:
        if key in ("chat_id", "from_chat_id"):
            try:
                return int(raw)
            except ValueError:
                return raw
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _as_int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BotAPIError(400, f"Bad Request: invalid integer value {value!r}") from None


def _as_json(value: Any, what: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise BotAPIError(400, f"Bad Request: can't parse {what} JSON object") from None
    return value


def _update_type(update: dict) -> str | None:
    for key in update:
        if key != "update_id":
            return key
    return None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    fake: FakeBotAPI

    def __init__(self, *args: Any, **kwargs: Any):
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeTelegramBotAPI/1.0"
    timeout = 120  # idle keep-alive connections die eventually
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # headers and body are separate writes: without this, Nagle + delayed ACK add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802
        self.server.fake._serve(self)

    do_GET = do_POST  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        _LOG.debug("fake bot api: " + format, *args)


class FakeBotAPI:
    """Fake Telegram Bot API server.  See the module docstring."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "qabot_test_bot",
        bot_first_name: str = "QA Bot",
        bot_id: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        strict: bool = True,
        timeout_hold: float = 6.0,
        max_hold: float = 30.0,
        max_long_poll: float = 30.0,
    ):
        """
        token: the only token accepted (others get 401).  bot_id defaults to the
        numeric part of the token.  timeout_hold: default seconds a "timeout" fault
        holds a request (PTB's default read timeout is 5 s); max_hold caps any hold;
        max_long_poll caps getUpdates' ``timeout``.
        """
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = bot_id if bot_id is not None else (int(prefix) if prefix.isdigit() else 123456789)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.host = host
        self.port = port
        self.strict = strict
        self.timeout_hold = timeout_hold
        self.max_hold = max_hold
        self.max_long_poll = max_long_poll

        self._cond = threading.Condition(threading.RLock())
        self._stopping = threading.Event()
        self._inflight = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, tuple[str, Callable[[dict, dict], Any]]] = {}
        # never reset: a bot's getUpdates offset must keep matching after reset(), and a long poll
        # in flight must not be told another instance took over (409)
        self._update_ids = itertools.count(100_000_001)
        self._poll_generation = 0
        self._register_builtin_methods()
        self._reset_state()

    # ------------------------------------------------------------------ lifecycle

    def _reset_state(self) -> None:
        with self._cond:
            self._calls: list[ApiCall] = []
            self._delivered: list[tuple[str, dict, Any]] = []
            self._chat_actions: list[dict] = []
            self._answered_callbacks: list[dict] = []
            self._answered_inline: list[dict] = []
            self._inline_query_ids: set[str] = set()
            self._inline_counter = itertools.count(1)
            self._faults: dict[str, list[_Fault]] = {}
            self._updates: list[dict] = []
            self._messages: dict[tuple[int, int], dict] = {}
            self._message_counters: dict[int, int] = {}
            self._chats: dict[int, dict] = {}
            self._callback_ids: set[str] = set()
            self._callback_counter = itertools.count(1)
            self._files: dict[str, _StoredFile] = {}
            self._files_by_path: dict[str, _StoredFile] = {}
            self._file_counter = itertools.count(1)
            self._commands: dict[tuple[str, str], dict] = {}
            self._webhook_url = ""
            self._cond.notify_all()

    def reset(self) -> None:
        """Forget all recorded calls, queued updates, messages, files, commands and faults."""
        self._reset_state()

    def start(self) -> FakeBotAPI:
        """Bind 127.0.0.1:<port> (0 = ephemeral) and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeBotAPI:{httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving; wakes pending long polls and held requests. Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        deadline = time.monotonic() + min(timeout, 2.0)
        with self._cond:
            self._cond.notify_all()
            # let woken long polls / held requests write their answers before closing sockets
            while self._inflight and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if thread is not None:
            thread.join(timeout)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (server must be started)."""
        if self._httpd is None:
            raise RuntimeError("FakeBotAPI is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def bot_kwargs(self) -> dict[str, str]:
        """``telegram.Bot(**server.bot_kwargs())``."""
        return {"token": self.token, "base_url": self.base_url, "base_file_url": self.base_file_url}

    def configure(self, builder: Any) -> Any:
        """Point a PTB ``ApplicationBuilder`` at this server (token, base_url, base_file_url)."""
        return builder.token(self.token).base_url(self.base_url).base_file_url(self.base_file_url)

    # ------------------------------------------------------------------ bot identity

    @property
    def bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    @property
    def bot_mention(self) -> str:
        return f"@{self.bot_username}"

    # ------------------------------------------------------------------ recording

    @property
    def calls(self) -> list[ApiCall]:
        """Every request received (attempts included, in arrival order)."""
        with self._cond:
            return list(self._calls)

    def calls_for(self, method: str, *, ok: bool | None = None) -> list[ApiCall]:
        """Calls of one method; ok=True only successful, False only failed, None all."""
        match = self._matcher(method, ok)
        with self._cond:
            return [c for c in self._calls if match(c)]

    def mark(self) -> int:
        """Current number of calls; pass as ``since=`` to wait_for to ignore older calls."""
        with self._cond:
            return len(self._calls)

    def sent_messages(self, chat_id: int | str | None = None) -> list[dict]:
        """Delivered sendMessage/editMessageText payloads (copies of the request params,
        plus ``_method`` and ``_message_id``). Failed attempts are not included."""
        return self._delivered_payloads({"sendMessage", "editMessageText"}, chat_id)

    def sent_documents(self, chat_id: int | str | None = None) -> list[dict]:
        """Delivered sendDocument payloads (``document`` describes the upload)."""
        return self._delivered_payloads({"sendDocument"}, chat_id)

    def message_attempts(self, chat_id: int | str | None = None) -> list[ApiCall]:
        """All sendMessage calls, failed ones included."""
        return [
            c
            for c in self.calls_for("sendMessage")
            if chat_id is None or self._same_chat(c.params.get("chat_id"), chat_id)
        ]

    def last_message(self, chat_id: int | str | None = None) -> dict | None:
        msgs = self.sent_messages(chat_id)
        return msgs[-1] if msgs else None

    @property
    def chat_actions(self) -> list[dict]:
        """Successful sendChatAction params, in order."""
        with self._cond:
            return copy.deepcopy(self._chat_actions)

    @property
    def answered_callbacks(self) -> list[dict]:
        """Successful answerCallbackQuery params, in order."""
        with self._cond:
            return copy.deepcopy(self._answered_callbacks)

    @property
    def answered_inline_queries(self) -> list[dict]:
        """Successful answerInlineQuery params (``results`` decoded), in order."""
        with self._cond:
            return copy.deepcopy(self._answered_inline)

    @property
    def commands(self) -> list[dict]:
        """Current command lists: ``[{"commands": [...], "scope": {...}, "language_code": ""}]``."""
        with self._cond:
            return copy.deepcopy(list(self._commands.values()))

    def get_commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        """The command list set for one scope (default scope ``{"type": "default"}``)."""
        key = self._commands_key(scope, language_code)
        with self._cond:
            entry = self._commands.get(key)
            return copy.deepcopy(entry["commands"]) if entry else []

    def message(self, chat_id: int | str, message_id: int) -> dict | None:
        """Current state of a stored message (bot's or injected)."""
        with self._cond:
            msg = self._messages.get((self._resolve_chat_id(chat_id), int(message_id)))
            return copy.deepcopy(msg) if msg else None

    def bot_messages(self, chat_id: int | str) -> list[dict]:
        """Current (edited, not deleted) bot messages of a chat, oldest first."""
        cid = self._resolve_chat_id(chat_id)
        with self._cond:
            found = [
                m
                for (c, _), m in self._messages.items()
                if c == cid and m.get("from", {}).get("id") == self.bot_id
            ]
            return copy.deepcopy(sorted(found, key=lambda m: m["message_id"]))

    @property
    def pending_updates(self) -> int:
        """Queued updates not yet confirmed by a getUpdates offset."""
        with self._cond:
            return len(self._updates)

    def wait_for(
        self,
        match: str | Callable[[ApiCall], bool],
        timeout: float = 5.0,
        *,
        since: int = 0,
        ok: bool | None = True,
    ) -> ApiCall:
        """Block until a call matching ``match`` (method name or predicate) with index >=
        ``since`` exists; ok=True (default) only successful calls, False failed, None any
        (even in flight).  Raises TimeoutError.  Don't call it from a running event loop
        that the bot also needs - use wait_for_async there."""
        pred = self._matcher(match, ok)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._find_call(pred, since)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(match, timeout))
                self._cond.wait(remaining)

    async def wait_for_async(
        self,
        match: str | Callable[[ApiCall], bool],
        timeout: float = 5.0,
        *,
        since: int = 0,
        ok: bool | None = True,
        interval: float = 0.01,
    ) -> ApiCall:
        """Like wait_for, but polls with asyncio.sleep so the event loop keeps running."""
        pred = self._matcher(match, ok)
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                found = self._find_call(pred, since)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(self._timeout_message(match, timeout))
            await asyncio.sleep(interval)

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        times: int = 1,
        mode: str | int = 429,
        *,
        retry_after: int = 1,
        delay: float | None = None,
        deliver: bool = False,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*" = any method) fail.

        mode: 429 / "429" / "flood" -> HTTP 429 with parameters.retry_after;
        500, 502 (or any other HTTP status, e.g. 403) -> Telegram-style error;
        "timeout" -> hold the request ``delay`` seconds (default ``timeout_hold``, capped
        by ``max_hold``, cut short by stop()) then answer 504 - or, with deliver=True,
        process it normally (the "sent but the client timed out" case).
        Failed calls are recorded in ``calls`` but never count as delivered.
        """
        kind, status = self._normalize_mode(mode)
        fault = _Fault(kind, status, int(retry_after), delay, deliver, description)
        key = "*" if method == "*" else method.lower()
        with self._cond:
            self._faults.setdefault(key, []).extend(copy.copy(fault) for _ in range(times))

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    @staticmethod
    def _normalize_mode(mode: str | int) -> tuple[str, int]:
        text = str(mode).strip().lower()
        if text in ("timeout", "hang", "slow"):
            return "timeout", 504
        if text in ("429", "flood", "retry_after", "too_many_requests", "rate_limit"):
            return "http", 429
        if text.isdigit() and 400 <= int(text) <= 599:
            return "http", int(text)
        raise ValueError(f"unknown fault mode {mode!r}")

    def _take_fault(self, method: str) -> _Fault | None:
        with self._cond:
            for key in (method.lower(), "*"):
                queue = self._faults.get(key)
                if queue:
                    return queue.pop(0)
        return None

    # ------------------------------------------------------------------ files

    def add_file(
        self, content: bytes, file_name: str = "file.bin", mime_type: str | None = None
    ) -> str:
        """Register a downloadable file; returns its file_id (getFile gives its file_path)."""
        if mime_type is None:
            mime_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        with self._cond:
            n = next(self._file_counter)
            suffix = re.sub(r"[^A-Za-z0-9.]", "", file_name.rsplit(".", 1)[-1]) if "." in file_name else ""
            file_path = f"documents/file_{n}.{suffix}" if suffix else f"documents/file_{n}"
            stored = _StoredFile(
                file_id=f"BQACAgIAAxkBAAIFake{n:04d}{uuid.uuid4().hex[:16]}",
                file_unique_id=f"AgADFake{n:04d}",
                file_name=file_name,
                mime_type=mime_type,
                content=bytes(content),
                file_path=file_path,
            )
            self._files[stored.file_id] = stored
            self._files_by_path[file_path] = stored
            return stored.file_id

    def file_content(self, file_id: str) -> bytes:
        """Bytes of a registered or uploaded file."""
        with self._cond:
            return self._files[file_id].content

    def _document_obj(self, stored: _StoredFile) -> dict:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "file_size": len(stored.content),
        }

    # ------------------------------------------------------------------ update injection

    def make_user(
        self,
        user_id: int = DEFAULT_USER_ID,
        first_name: str = "Alice",
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        is_bot: bool = False,
    ) -> dict:
        user: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def inject_update(self, update: dict) -> dict:
        """Queue a raw update (update_id assigned if missing); returns a copy."""
        update = copy.deepcopy(update)
        with self._cond:
            if "update_id" not in update:
                update["update_id"] = next(self._update_ids)
            for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
                if isinstance(update.get(key), dict):
                    self._store_message(update[key])
            cq = update.get("callback_query")
            if isinstance(cq, dict) and "id" in cq:
                self._callback_ids.add(str(cq["id"]))
            iq = update.get("inline_query")
            if isinstance(iq, dict) and "id" in iq:
                self._inline_query_ids.add(str(iq["id"]))
            self._updates.append(update)
            self._cond.notify_all()
            return copy.deepcopy(update)

    def inject_message(
        self,
        text: str,
        *,
        entities: list[dict] | None = None,
        auto_entities: bool = True,
        **sender: Any,
    ) -> dict:
        """Queue a text message update; returns the update.

        sender/chat keywords (all inject_* helpers): user_id, first_name, username,
        last_name, language_code, chat_id (default: user_id for private chats),
        chat_type ("private" | "group" | "supergroup"), chat_title, reply_to (a message
        dict / update dict / message_id of a stored message, e.g. a bot message),
        message_thread_id, date.  Entities default to an auto-detected bot_command at
        offset 0 and @mentions (pass ``entities`` to override).
        """
        content: dict[str, Any] = {"text": text}
        ents = entities if entities is not None else (_auto_entities(text) if auto_entities else [])
        if ents:
            content["entities"] = ents
        with self._cond:
            msg = self._new_user_message(content, **sender)
            return self.inject_update({"message": msg})

    def inject_command(
        self, command: str, args: str = "", *, mention_bot: bool = False, **sender: Any
    ) -> dict:
        """``/command[@bot] args`` with its bot_command entity."""
        text = "/" + command.lstrip("/")
        if mention_bot:
            text += self.bot_mention
        if args:
            text += " " + args
        return self.inject_message(text, **sender)

    def inject_edited_message(
        self,
        message: dict | int,
        text: str,
        *,
        chat_id: int | str | None = None,
        entities: list[dict] | None = None,
        auto_entities: bool = True,
        edit_date: int | None = None,
    ) -> dict:
        """Queue an edited_message update for an earlier (injected) message."""
        with self._cond:
            original = self._lookup_message(message, chat_id)
            edited = copy.deepcopy(original)
            edited["text"] = text
            edited.pop("entities", None)
            ents = entities if entities is not None else (_auto_entities(text) if auto_entities else [])
            if ents:
                edited["entities"] = ents
            edited["edit_date"] = edit_date or max(int(time.time()), int(edited.get("date", 0)))
            return self.inject_update({"edited_message": edited})

    def inject_callback_query(
        self,
        data: str,
        *,
        message: dict | int | None = None,
        chat_id: int | str | None = None,
        user_id: int = DEFAULT_USER_ID,
        first_name: str = "Alice",
        username: str | None = "alice",
        inline_message_id: str | None = None,
    ) -> dict:
        """Queue a callback_query update (button press).  ``message`` is the message the
        keyboard belongs to (dict / update / message_id); default: the bot's last message
        in ``chat_id`` (default the user's private chat)."""
        with self._cond:
            query: dict[str, Any] = {
                "id": f"{self.bot_id % 10_000}{next(self._callback_counter):012d}",
                "from": self.make_user(user_id, first_name, username=username),
                "chat_instance": str(abs(hash((self.bot_id, chat_id or user_id))) % 10**18),
                "data": data,
            }
            if inline_message_id is not None:
                query["inline_message_id"] = inline_message_id
            else:
                if message is None:
                    cid = chat_id if chat_id is not None else user_id
                    msgs = self.bot_messages(cid)
                    if not msgs:
                        raise LookupError(f"no bot message in chat {cid} to attach the callback to")
                    query["message"] = msgs[-1]
                else:
                    query["message"] = copy.deepcopy(
                        self._lookup_message(message, chat_id if chat_id is not None else user_id)
                    )
                query["message"].pop("reply_to_message", None)
            return self.inject_update({"callback_query": query})

    def inject_inline_query(
        self,
        query: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        first_name: str = "Alice",
        username: str | None = "alice",
        chat_type: str = "private",
        offset: str = "",
    ) -> dict:
        """Queue an inline_query update (``@bot query`` typed in a chat of ``chat_type``)."""
        with self._cond:
            inline_query = {
                "id": f"{self.bot_id % 10_000}{next(self._inline_counter):010d}",
                "from": self.make_user(user_id, first_name, username=username),
                "query": query,
                "offset": offset,
                "chat_type": chat_type,
            }
            return self.inject_update({"inline_query": inline_query})

    def inject_chosen_inline_result(
        self, result_id: str, query: str, *, user_id: int = DEFAULT_USER_ID, first_name: str = "Alice"
    ) -> dict:
        """Queue a chosen_inline_result update: the user sent the inline result ``result_id``."""
        with self._cond:
            chosen = {
                "result_id": result_id,
                "from": self.make_user(user_id, first_name),
                "query": query,
                "inline_message_id": f"AgAAAFake{next(self._inline_counter):08d}",
            }
            return self.inject_update({"chosen_inline_result": chosen})

    def inject_document(
        self,
        content: bytes | None = None,
        *,
        file_name: str = "document.txt",
        mime_type: str | None = None,
        caption: str | None = None,
        caption_entities: list[dict] | None = None,
        file_id: str | None = None,
        **sender: Any,
    ) -> dict:
        """Queue a document message; the file is registered (or ``file_id`` reused) so
        getFile + download work."""
        with self._cond:
            if file_id is None:
                if content is None:
                    raise ValueError("inject_document needs content or file_id")
                file_id = self.add_file(content, file_name, mime_type)
            stored = self._files[file_id]
            msg_content: dict[str, Any] = {"document": self._document_obj(stored)}
            if caption is not None:
                msg_content["caption"] = caption
                ents = caption_entities if caption_entities is not None else _auto_entities(caption)
                if ents:
                    msg_content["caption_entities"] = ents
            msg = self._new_user_message(msg_content, **sender)
            return self.inject_update({"message": msg})

    def inject_channel_post(
        self,
        text: str,
        *,
        chat_id: int = DEFAULT_CHANNEL_ID,
        title: str = "QA Channel",
        username: str | None = None,
        author_signature: str | None = None,
        entities: list[dict] | None = None,
    ) -> dict:
        """Queue a channel_post update (no ``from``; sender_chat = the channel)."""
        with self._cond:
            chat: dict[str, Any] = {"id": chat_id, "type": "channel", "title": title}
            if username:
                chat["username"] = username
            self._chats[chat_id] = chat
            msg: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id),
                "sender_chat": dict(chat),
                "date": int(time.time()),
                "chat": dict(chat),
                "text": text,
            }
            ents = entities if entities is not None else _auto_entities(text)
            if ents:
                msg["entities"] = ents
            if author_signature:
                msg["author_signature"] = author_signature
            return self.inject_update({"channel_post": msg})

    def inject_forwarded_message(
        self,
        text: str,
        *,
        origin_type: str = "user",
        origin_user_id: int = 2002,
        origin_first_name: str = "Bob",
        origin_username: str | None = None,
        origin_sender_name: str = "Hidden Sender",
        origin_chat_id: int = DEFAULT_CHANNEL_ID,
        origin_chat_title: str = "QA Channel",
        origin_message_id: int = 1,
        origin_date: int | None = None,
        **sender: Any,
    ) -> dict:
        """Queue a forwarded text message with ``forward_origin`` of type "user",
        "hidden_user", "chat" or "channel"."""
        date = origin_date or int(time.time()) - 3600
        origin: dict[str, Any] = {"type": origin_type, "date": date}
        if origin_type == "user":
            origin["sender_user"] = self.make_user(
                origin_user_id, origin_first_name, username=origin_username
            )
        elif origin_type == "hidden_user":
            origin["sender_user_name"] = origin_sender_name
        elif origin_type == "chat":
            origin["sender_chat"] = {
                "id": origin_chat_id, "type": "supergroup", "title": origin_chat_title
            }
        elif origin_type == "channel":
            origin["chat"] = {"id": origin_chat_id, "type": "channel", "title": origin_chat_title}
            origin["message_id"] = origin_message_id
        else:
            raise ValueError(f"unknown forward origin type {origin_type!r}")
        content: dict[str, Any] = {"text": text, "forward_origin": origin}
        ents = _auto_entities(text)
        if ents:
            content["entities"] = ents
        with self._cond:
            msg = self._new_user_message(content, **sender)
            return self.inject_update({"message": msg})

    # ------------------------------------------------------------------ message/chat state

    def _resolve_chat_id(self, chat_id: int | str) -> int:
        if isinstance(chat_id, int):
            return chat_id
        text = str(chat_id).strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        name = text.lstrip("@").lower()
        with self._cond:
            for cid, chat in self._chats.items():
                if str(chat.get("username", "")).lower() == name:
                    return cid
            cid = -1_000_000_000_000 - (abs(hash(name)) % 1_000_000_000)
            self._chats[cid] = {"id": cid, "type": "channel", "title": name, "username": name}
            return cid

    def _chat_obj(self, chat_id: int | str) -> dict:
        cid = self._resolve_chat_id(chat_id)
        with self._cond:
            if cid in self._chats:
                return dict(self._chats[cid])
        if cid > 0:
            return {"id": cid, "type": "private", "first_name": "User"}
        if str(cid).startswith("-100"):
            return {"id": cid, "type": "supergroup", "title": "Supergroup"}
        return {"id": cid, "type": "group", "title": "Group"}

    def _next_message_id(self, chat_id: int) -> int:
        with self._cond:
            n = self._message_counters.get(chat_id, 0) + 1
            self._message_counters[chat_id] = n
            return n

    def _store_message(self, msg: dict) -> None:
        chat = msg.get("chat") or {}
        if "id" not in chat or "message_id" not in msg:
            return
        cid = int(chat["id"])
        with self._cond:
            self._messages[(cid, int(msg["message_id"]))] = copy.deepcopy(msg)
            if cid not in self._chats:
                self._chats[cid] = dict(chat)
            if self._message_counters.get(cid, 0) < int(msg["message_id"]):
                self._message_counters[cid] = int(msg["message_id"])

    def _lookup_message(self, message: dict | int, chat_id: int | str | None) -> dict:
        if isinstance(message, dict):
            if "update_id" in message:
                for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
                    if key in message:
                        return message[key]
                if "callback_query" in message and "message" in message["callback_query"]:
                    return message["callback_query"]["message"]
                raise LookupError("update has no message")
            stored = self._messages.get((int(message["chat"]["id"]), int(message["message_id"])))
            return stored if stored is not None else message
        cid = self._resolve_chat_id(chat_id if chat_id is not None else DEFAULT_USER_ID)
        stored = self._messages.get((cid, int(message)))
        if stored is None:
            raise LookupError(f"no message {message} in chat {cid}")
        return stored

    def _new_user_message(
        self,
        content: dict,
        *,
        user_id: int = DEFAULT_USER_ID,
        first_name: str = "Alice",
        username: str | None = "alice",
        last_name: str | None = None,
        language_code: str | None = "en",
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to: dict | int | None = None,
        message_thread_id: int | None = None,
        date: int | None = None,
    ) -> dict:
        user = self.make_user(
            user_id, first_name, username=username, last_name=last_name, language_code=language_code
        )
        if chat_type == "private":
            cid = chat_id if chat_id is not None else user_id
            chat: dict[str, Any] = {"id": cid, "type": "private", "first_name": first_name}
            if last_name:
                chat["last_name"] = last_name
            if username:
                chat["username"] = username
        elif chat_type in ("group", "supergroup"):
            default = DEFAULT_GROUP_ID if chat_type == "group" else DEFAULT_SUPERGROUP_ID
            cid = chat_id if chat_id is not None else default
            chat = {"id": cid, "type": chat_type, "title": chat_title or f"Test {chat_type}"}
        else:
            raise ValueError(f"unsupported chat_type {chat_type!r} (use inject_channel_post)")
        with self._cond:
            self._chats[cid] = dict(chat)
            msg: dict[str, Any] = {
                "message_id": self._next_message_id(cid),
                "from": user,
                "date": date or int(time.time()),
                "chat": chat,
            }
            if message_thread_id is not None:
                msg["message_thread_id"] = message_thread_id
            if reply_to is not None:
                replied = copy.deepcopy(self._lookup_message(reply_to, cid))
                replied.pop("reply_to_message", None)
                msg["reply_to_message"] = replied
            msg.update(copy.deepcopy(content))
            return msg

    def _new_bot_message(self, chat_id: int | str, params: dict, content: dict) -> dict:
        chat = self._chat_obj(chat_id)
        cid = chat["id"]
        with self._cond:
            reply_to = self._resolve_reply(cid, params)
            msg: dict[str, Any] = {"message_id": self._next_message_id(cid)}
            if chat["type"] == "channel":
                msg["sender_chat"] = dict(chat)
            else:
                msg["from"] = self.bot_user
            msg["date"] = int(time.time())
            msg["chat"] = chat
            thread_id = params.get("message_thread_id")
            if thread_id is not None:
                msg["message_thread_id"] = _as_int(thread_id)
                msg["is_topic_message"] = True
            if reply_to is not None:
                msg["reply_to_message"] = reply_to
            msg.update(content)
            markup = self._inline_markup(params)
            if markup is not None:
                msg["reply_markup"] = markup
            self._store_message(msg)
            return copy.deepcopy(msg)

    def _resolve_reply(self, chat_id: int, params: dict) -> dict | None:
        rp = params.get("reply_parameters")
        rp = _as_json(rp, "reply_parameters") if rp is not None else {}
        if not isinstance(rp, dict):
            raise BotAPIError(400, "Bad Request: can't parse reply parameters JSON object")
        message_id = rp.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        target = self._resolve_chat_id(rp.get("chat_id", chat_id))
        stored = self._messages.get((target, _as_int(message_id)))
        if stored is None:
            allow = rp.get("allow_sending_without_reply", params.get("allow_sending_without_reply"))
            if self.strict and not allow:
                raise BotAPIError(400, "Bad Request: message to be replied not found")
            return None
        replied = copy.deepcopy(stored)
        replied.pop("reply_to_message", None)
        return replied

    @staticmethod
    def _inline_markup(params: dict) -> dict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        markup = _as_json(markup, "reply markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            return markup
        return None  # reply keyboards / force_reply / remove are not part of Message

    def _same_chat(self, a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False
        if str(a) == str(b):
            return True
        try:
            return self._resolve_chat_id(a) == self._resolve_chat_id(b)
        except Exception:  # pragma: no cover - defensive
            return False

    def _delivered_payloads(self, methods: set[str], chat_id: int | str | None) -> list[dict]:
        with self._cond:
            delivered = list(self._delivered)
        out = []
        for method, params, result in delivered:
            if method not in methods:
                continue
            if chat_id is not None:
                result_chat = result.get("chat", {}).get("id") if isinstance(result, dict) else None
                if not (
                    self._same_chat(result_chat, chat_id)
                    or self._same_chat(params.get("chat_id"), chat_id)
                ):
                    continue
            payload = copy.deepcopy(params)
            payload["_method"] = method
            payload["_message_id"] = (
                result.get("message_id") if isinstance(result, dict) else params.get("message_id")
            )
            out.append(payload)
        return out

    # ------------------------------------------------------------------ matching helpers

    @staticmethod
    def _matcher(match: str | Callable[[ApiCall], bool], ok: bool | None) -> Callable[[ApiCall], bool]:
        if isinstance(match, str):
            name = match.lower()

            def base(call: ApiCall) -> bool:
                return call.method.lower() == name
        else:
            base = match

        def pred(call: ApiCall) -> bool:
            if ok is True and not call.ok:
                return False
            if ok is False and (call.status is None or call.ok):
                return False
            return bool(base(call))

        return pred

    def _find_call(self, pred: Callable[[ApiCall], bool], since: int) -> ApiCall | None:
        for call in self._calls[since:]:
            if pred(call):
                return call
        return None

    def _timeout_message(self, match: Any, timeout: float) -> str:
        with self._cond:
            recent = [f"{c.method}:{c.status}" for c in self._calls[-15:]]
        return f"no call matching {match!r} within {timeout}s; recent calls: {recent}"

    # ------------------------------------------------------------------ HTTP layer

    def _serve(self, handler: _Handler) -> None:
        with self._cond:
            self._inflight += 1
        try:
            self._serve_request(handler)
        finally:
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()

    def _serve_request(self, handler: _Handler) -> None:
        try:
            body = self._read_body(handler)
        except (OSError, ValueError):
            handler.close_connection = True
            return
        split = urlsplit(handler.path)
        path = unquote(split.path)
        api = _API_PATH.match(path)
        file_match = _FILE_PATH.match(path)
        if api:
            if api["token"] != self.token:
                self._send_json(handler, 401, BotAPIError(401, "Unauthorized").payload())
                return
            try:
                params, uploads = self._parse_params(handler, split.query, body)
            except BotAPIError as exc:
                self._send_json(handler, exc.error_code, exc.payload())
                return
            status, payload = self._dispatch(api["method"], params, uploads)
            self._send_json(handler, status, payload)
        elif file_match and handler.command == "GET":
            if file_match["token"] != self.token:
                self._send_json(handler, 401, BotAPIError(401, "Unauthorized").payload())
                return
            with self._cond:
                stored = self._files_by_path.get(file_match["path"])
            if stored is None:
                self._send_json(handler, 404, BotAPIError(404, "Not Found").payload())
                return
            self._send_bytes(handler, 200, stored.content, "application/octet-stream")
        else:
            self._send_json(handler, 404, BotAPIError(404, "Not Found").payload())

    @staticmethod
    def _read_body(handler: _Handler) -> bytes:
        if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = handler.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline(65537)
            return b"".join(chunks)
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length > 0 else b""

    def _parse_params(
        self, handler: _Handler, query: str, body: bytes
    ) -> tuple[dict[str, Any], dict[str, _Upload]]:
        params: dict[str, Any] = {}
        uploads: dict[str, _Upload] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params[key] = _decode_form_value(key, value)
        if not body:
            return params, uploads
        ctype = handler.headers.get_content_type()
        try:
            if ctype == "application/json":
                data = json.loads(body.decode("utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("JSON body must be an object")
                params.update(data)
            elif ctype == "application/x-www-form-urlencoded":
                for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
                    params[key] = _decode_form_value(key, value)
            elif ctype == "multipart/form-data":
                raw = (
                    b"Content-Type: " + handler.headers["Content-Type"].encode("latin-1")
                    + b"\r\n\r\n" + body
                )
                parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
                for part in parsed.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    if not name:
                        continue
                    payload = part.get_payload(decode=True) or b""
                    filename = part.get_filename()
                    if filename is not None or part.get("Content-Type") is not None:
                        uploads[name] = _Upload(name, filename, part.get_content_type(), payload)
                    else:
                        params[name] = _decode_form_value(name, payload.decode("utf-8"))
            else:
                raise ValueError(f"unsupported content type {ctype}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BotAPIError(400, f"Bad Request: can't parse request body: {exc}") from None
        return params, uploads

    @staticmethod
    def _send_json(handler: _Handler, status: int, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        FakeBotAPI._send_bytes(handler, status, body, "application/json")

    @staticmethod
    def _send_bytes(handler: _Handler, status: int, body: bytes, ctype: str) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(body)))
            if status == 429:
                handler.send_header("Retry-After", "1")
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:  # client went away (e.g. it timed out or was cancelled)
            handler.close_connection = True

    def _dispatch(self, method: str, params: dict, uploads: dict[str, _Upload]) -> tuple[int, dict]:
        entry = self._methods.get(method.lower())
        canonical = entry[0] if entry else method
        recorded = copy.deepcopy(params)
        for name, up in uploads.items():
            recorded.setdefault(
                name, {"file_name": up.file_name, "mime_type": up.mime_type, "size": len(up.content)}
            )
        with self._cond:
            call = ApiCall(canonical, recorded, len(self._calls), time.time())
            self._calls.append(call)
            self._cond.notify_all()

        fault = self._take_fault(canonical)
        result: Any = None
        run_handler = fault is None
        status, payload = 200, {}
        if fault is not None:
            if fault.mode == "timeout":
                hold = fault.delay if fault.delay is not None else self.timeout_hold
                self._stopping.wait(max(0.0, min(hold, self.max_hold)))
                if fault.deliver and not self._stopping.is_set():
                    run_handler = True
                else:
                    err = BotAPIError(504, fault.description or "Gateway Timeout")
                    status, payload = err.error_code, err.payload()
            elif fault.status == 429:
                err = BotAPIError(
                    429,
                    fault.description or f"Too Many Requests: retry after {fault.retry_after}",
                    {"retry_after": fault.retry_after},
                )
                status, payload = 429, err.payload()
            else:
                text = fault.description or _ERROR_TEXT.get(fault.status, HTTPStatus(fault.status).phrase)
                status, payload = fault.status, BotAPIError(fault.status, text).payload()

        if run_handler:
            if entry is None:
                err = BotAPIError(404, "Not Found: method not found")
                status, payload = 404, err.payload()
            else:
                try:
                    result = entry[1](params, uploads)
                    status, payload = 200, {"ok": True, "result": result}
                except BotAPIError as exc:
                    status, payload = exc.error_code, exc.payload()
                except Exception as exc:  # a bug in the fake: tell the client loudly
                    _LOG.exception("fake bot api: %s failed", canonical)
                    status = 500
                    payload = BotAPIError(500, f"Internal Server Error: fake: {exc!r}").payload()

        with self._cond:
            call.status = status
            if fault is not None:
                call.fault = "timeout" if fault.mode == "timeout" else str(fault.status)
            if status == 200:
                call.result = copy.deepcopy(result)
                if canonical in _DELIVERY_METHODS:
                    self._delivered.append((canonical, copy.deepcopy(recorded), copy.deepcopy(result)))
            else:
                call.error = payload.get("description")
            self._cond.notify_all()
        return status, payload

    # ------------------------------------------------------------------ Bot API methods

    def register_method(self, name: str, handler: Callable[[dict], Any]) -> None:
        """Add/override a Bot API method: ``handler(params) -> result`` (raise BotAPIError
        for an error answer)."""
        self._methods[name.lower()] = (name, lambda params, uploads: handler(params))

    def _register_builtin_methods(self) -> None:
        true = lambda params, uploads: True  # noqa: E731
        for name, fn in [
            ("getMe", self._m_get_me),
            ("getUpdates", self._m_get_updates),
            ("deleteWebhook", self._m_delete_webhook),
            ("setWebhook", self._m_set_webhook),
            ("getWebhookInfo", self._m_get_webhook_info),
            ("setMyCommands", self._m_set_my_commands),
            ("deleteMyCommands", self._m_delete_my_commands),
            ("getMyCommands", self._m_get_my_commands),
            ("sendMessage", self._m_send_message),
            ("editMessageText", self._m_edit_message_text),
            ("editMessageReplyMarkup", self._m_edit_message_reply_markup),
            ("deleteMessage", self._m_delete_message),
            ("sendChatAction", self._m_send_chat_action),
            ("answerCallbackQuery", self._m_answer_callback_query),
            ("answerInlineQuery", self._m_answer_inline_query),
            ("getFile", self._m_get_file),
            ("sendDocument", self._m_send_document),
            ("setMessageReaction", true),
            ("setMyDescription", true),
            ("setMyShortDescription", true),
            ("setMyName", true),
            ("close", true),
            ("logOut", true),
        ]:
            self._methods[name.lower()] = (name, fn)

    def _require_chat(self, params: dict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise BotAPIError(400, "Bad Request: chat_id is empty")
        return self._resolve_chat_id(chat_id)

    def _m_get_me(self, params: dict, uploads: dict) -> dict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_get_updates(self, params: dict, uploads: dict) -> list[dict]:
        offset = _as_int(params.get("offset"))
        limit = max(1, min(100, _as_int(params.get("limit"), 100) or 100))
        timeout = max(0.0, min(float(params.get("timeout") or 0), self.max_long_poll))
        allowed = params.get("allowed_updates")
        allowed = _as_json(allowed, "allowed_updates") if allowed else None
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._webhook_url:
                raise BotAPIError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()
            if offset is not None and offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset is not None and offset < 0:
                self._updates = self._updates[offset:]
            while True:
                if self._stopping.is_set():
                    return []
                if self._poll_generation != generation:
                    raise BotAPIError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                batch = [
                    u for u in self._updates if not allowed or _update_type(u) in allowed
                ][:limit]
                if batch:
                    return copy.deepcopy(batch)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)

    def _m_delete_webhook(self, params: dict, uploads: dict) -> bool:
        with self._cond:
            self._webhook_url = ""
            if params.get("drop_pending_updates") in (True, "true", "True", 1):
                self._updates.clear()
        return True

    def _m_set_webhook(self, params: dict, uploads: dict) -> bool:
        url = params.get("url") or ""
        with self._cond:
            self._webhook_url = str(url)
            if params.get("drop_pending_updates") in (True, "true", "True", 1):
                self._updates.clear()
        return True

    def _m_get_webhook_info(self, params: dict, uploads: dict) -> dict:
        with self._cond:
            return {
                "url": self._webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = _as_json(scope, "scope") if scope else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def _m_set_my_commands(self, params: dict, uploads: dict) -> bool:
        commands = _as_json(params.get("commands"), "commands")
        if not isinstance(commands, list):
            raise BotAPIError(400, "Bad Request: parameter \"commands\" is required")
        for cmd in commands:
            if not isinstance(cmd, dict) or not _BOT_COMMAND_NAME.match(str(cmd.get("command", ""))):
                raise BotAPIError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise BotAPIError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = _as_json(params.get("scope"), "scope") if params.get("scope") else {"type": "default"}
        key = self._commands_key(scope, params.get("language_code"))
        with self._cond:
            if commands:
                self._commands[key] = {
                    "commands": copy.deepcopy(commands),
                    "scope": scope,
                    "language_code": key[1],
                }
            else:
                self._commands.pop(key, None)
        return True

    def _m_delete_my_commands(self, params: dict, uploads: dict) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        with self._cond:
            self._commands.pop(key, None)
        return True

    def _m_get_my_commands(self, params: dict, uploads: dict) -> list[dict]:
        return self.get_commands(
            _as_json(params.get("scope"), "scope") if params.get("scope") else None,
            params.get("language_code") or "",
        )

    def _check_text(self, text: Any, *, caption: bool = False) -> str:
        if caption:
            text = "" if text is None else str(text)
            if len(text) > MAX_CAPTION_LENGTH:
                raise BotAPIError(400, "Bad Request: message caption is too long")
            return text
        if text is None or str(text).strip() == "":
            raise BotAPIError(400, "Bad Request: message text is empty")
        text = str(text)
        if len(text) > MAX_MESSAGE_LENGTH:
            raise BotAPIError(400, "Bad Request: message is too long")
        return text

    def _m_send_message(self, params: dict, uploads: dict) -> dict:
        chat_id = self._require_chat(params)
        text = self._check_text(params.get("text"))
        content: dict[str, Any] = {"text": text}
        entities = params.get("entities")
        if entities:
            content["entities"] = _as_json(entities, "entities")
        if params.get("link_preview_options"):
            content["link_preview_options"] = _as_json(params["link_preview_options"], "link preview")
        return self._new_bot_message(chat_id, params, content)

    def _editable_message(self, params: dict) -> tuple[int, int, dict] | None:
        """(chat, message_id, stored message) or None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._require_chat(params)
        message_id = _as_int(params.get("message_id"))
        if message_id is None:
            raise BotAPIError(400, "Bad Request: message identifier is not specified")
        msg = self._messages.get((chat_id, message_id))
        if msg is None:
            if self.strict:
                raise BotAPIError(400, "Bad Request: message to edit not found")
            msg = {
                "message_id": message_id,
                "from": self.bot_user,
                "date": int(time.time()),
                "chat": self._chat_obj(chat_id),
            }
        if self.strict and msg.get("from", {}).get("id", self.bot_id) != self.bot_id:
            raise BotAPIError(400, "Bad Request: message can't be edited")
        return chat_id, message_id, msg

    def _m_edit_message_text(self, params: dict, uploads: dict) -> dict | bool:
        text = self._check_text(params.get("text"))
        entities = _as_json(params.get("entities"), "entities") if params.get("entities") else None
        markup = self._inline_markup(params)
        with self._cond:
            found = self._editable_message(params)
            if found is None:
                return True
            _, _, msg = found
            if (
                self.strict
                and msg.get("text") == text
                and msg.get("entities") == entities
                and msg.get("reply_markup") == markup
            ):
                raise BotAPIError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            msg = copy.deepcopy(msg)
            msg["text"] = text
            msg.pop("entities", None)
            if entities:
                msg["entities"] = entities
            msg.pop("reply_markup", None)
            if markup is not None:
                msg["reply_markup"] = markup
            msg["edit_date"] = int(time.time())
            self._store_message(msg)
            return copy.deepcopy(msg)

    def _m_edit_message_reply_markup(self, params: dict, uploads: dict) -> dict | bool:
        markup = self._inline_markup(params)
        with self._cond:
            found = self._editable_message(params)
            if found is None:
                return True
            _, _, msg = found
            if self.strict and msg.get("reply_markup") == markup:
                raise BotAPIError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            msg = copy.deepcopy(msg)
            msg.pop("reply_markup", None)
            if markup is not None:
                msg["reply_markup"] = markup
            msg["edit_date"] = int(time.time())
            self._store_message(msg)
            return copy.deepcopy(msg)

    def _m_delete_message(self, params: dict, uploads: dict) -> bool:
        chat_id = self._require_chat(params)
        message_id = _as_int(params.get("message_id"))
        with self._cond:
            if self._messages.pop((chat_id, message_id or 0), None) is None and self.strict:
                raise BotAPIError(400, "Bad Request: message to delete not found")
        return True

    def _m_send_chat_action(self, params: dict, uploads: dict) -> bool:
        chat_id = self._require_chat(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise BotAPIError(400, "Bad Request: wrong parameter action in request")
        entry: dict[str, Any] = {"chat_id": chat_id, "action": action, "time": time.time()}
        if params.get("message_thread_id") is not None:
            entry["message_thread_id"] = _as_int(params["message_thread_id"])
        with self._cond:
            self._chat_actions.append(entry)
        return True

    def _m_answer_callback_query(self, params: dict, uploads: dict) -> bool:
        query_id = params.get("callback_query_id")
        if not query_id:
            raise BotAPIError(400, "Bad Request: query_id is empty")
        with self._cond:
            if self.strict and str(query_id) not in self._callback_ids:
                raise BotAPIError(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID is invalid",
                )
            self._answered_callbacks.append(copy.deepcopy(params))
        return True

    def _m_answer_inline_query(self, params: dict, uploads: dict) -> bool:
        """Telegram's checks: a known query, at most 50 results with distinct ids of 1-64 bytes, an
        article with a title and a message text of at most 4096 characters, a button's start
        parameter of 1-64 of A-Z a-z 0-9 _ -."""
        query_id = params.get("inline_query_id")
        if not query_id:
            raise BotAPIError(400, "Bad Request: query_id is empty")
        results = _as_json(params.get("results"), "results")
        if not isinstance(results, list):
            raise BotAPIError(400, "Bad Request: can't parse inline query results JSON object")
        if len(results) > 50:
            raise BotAPIError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [str(r.get("id", "")) for r in results if isinstance(r, dict)]
        if len(ids) != len(results) or len(set(ids)) != len(ids):
            raise BotAPIError(400, "Bad Request: RESULT_ID_DUPLICATE")
        for result in results:
            if not 1 <= len(str(result["id"]).encode()) <= 64:
                raise BotAPIError(400, "Bad Request: RESULT_ID_INVALID")
            if result.get("type") == "article":
                content = result.get("input_message_content") or {}
                if not result.get("title") or not str(content.get("message_text", "")).strip():
                    raise BotAPIError(400, "Bad Request: MESSAGE_EMPTY")
                if len(content["message_text"]) > MAX_MESSAGE_LENGTH:
                    raise BotAPIError(400, "Bad Request: MESSAGE_TOO_LONG")
        button = _as_json(params.get("button"), "button") if params.get("button") else None
        if button is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(button.get("start_parameter", ""))):
            raise BotAPIError(400, "Bad Request: START_PARAM_INVALID")
        with self._cond:
            if self.strict and str(query_id) not in self._inline_query_ids:
                raise BotAPIError(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID is invalid",
                )
            answered = copy.deepcopy(params)
            answered["results"] = results
            if button is not None:
                answered["button"] = button
            self._answered_inline.append(answered)
        return True

    def _m_get_file(self, params: dict, uploads: dict) -> dict:
        file_id = params.get("file_id")
        with self._cond:
            stored = self._files.get(str(file_id)) if file_id else None
        if stored is None:
            raise BotAPIError(400, "Bad Request: invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_SIZE:
            raise BotAPIError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _m_send_document(self, params: dict, uploads: dict) -> dict:
        chat_id = self._require_chat(params)
        caption = self._check_text(params.get("caption"), caption=True)
        doc = params.get("document")
        upload = None
        if isinstance(doc, str) and doc.startswith("attach://"):
            upload = uploads.get(doc[len("attach://"):])
        elif "document" in uploads:
            upload = uploads["document"]
        with self._cond:
            if upload is not None:
                file_id = self.add_file(
                    upload.content, upload.file_name or "document", upload.mime_type or None
                )
            elif isinstance(doc, str) and doc in self._files:
                file_id = doc
            elif isinstance(doc, str) and doc.startswith(("http://", "https://")) and not self.strict:
                file_id = self.add_file(b"", doc.rsplit("/", 1)[-1] or "document")
            else:
                raise BotAPIError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            content: dict[str, Any] = {"document": self._document_obj(self._files[file_id])}
            if caption:
                content["caption"] = caption
                if params.get("caption_entities"):
                    content["caption_entities"] = _as_json(params["caption_entities"], "entities")
            return self._new_bot_message(chat_id, params, content)


@pytest.fixture
def fake_telegram() -> Iterator[FakeBotAPI]:
    """A started FakeBotAPI, stopped after the test.  Use it by importing it into a
    test module or conftest: ``from tests.bot.fake_bot_api import fake_telegram``."""
    with FakeBotAPI() as server:
        yield server
