"""Settings: every knob of qabot, read from the environment or a ``.env`` file (pydantic-settings).

The CLI, the console and the Telegram bot all read one ``Settings``; ``--db`` overrides ``QABOT_DB``.
Every variable is listed, with its default, in README.md and .env.example. ``Settings.load`` keeps
going past a variable whose value cannot be used: reading that setting raises ``InvalidSetting``
(one line naming the variable, its value and what it must be), so only the commands that need it
refuse to run.
"""

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, PrivateAttr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qabot.bot.ids import NotAnId, parse_id
from qabot.index.engine import normalised

DEFAULT_QA_MODEL = "builtin"
#: What stands for the bot token in any text that leaves the process (logs, error messages).
HIDDEN_TOKEN = "<TELEGRAM_BOT_TOKEN>"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class InvalidSetting(Exception):
    """A setting's value cannot be used (the message names the variable, its value and what it must be)."""


class Settings(BaseSettings):
    """qabot's configuration."""

    # a variable set but empty (``QABOT_WEBHOOK_URL=`` as in .env.example) means its default
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    db: Path = Field(Path("data/qabot.db"), alias="QABOT_DB")
    #: the search index: None, the embedded one in the collection file; else ``xapian://HOST:PORT,...``
    index: str | None = Field(None, alias="QABOT_INDEX")
    allow_private_urls: bool = Field(False, alias="QABOT_ALLOW_PRIVATE_URLS")
    telegram_token: str | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(frozenset(), alias="QABOT_ADMIN_IDS")
    #: where the Bot API lives, always ending in ``/bot`` (python-telegram-bot appends the token)
    telegram_base_url: str | None = Field(None, alias="QABOT_TELEGRAM_BASE_URL")
    telegram_base_file_url: str | None = Field(None, alias="QABOT_TELEGRAM_BASE_FILE_URL")
    webhook_url: str | None = Field(None, alias="QABOT_WEBHOOK_URL")
    webhook_port: int = Field(8443, alias="QABOT_WEBHOOK_PORT")
    qa_model: str = Field(DEFAULT_QA_MODEL, alias="QABOT_QA_MODEL")
    quantize: Literal["none", "int8"] = Field("none", alias="QABOT_QUANTIZE")
    #: how far the best span's logits must beat the model's null logit; None: the reader's tuned value
    no_answer_threshold: float | None = Field(None, alias="QABOT_NO_ANSWER_THRESHOLD")
    encoder: Literal["auto", "off"] = Field("auto", alias="QABOT_ENCODER")
    workers: int = Field(2, ge=1, le=16, alias="QABOT_WORKERS")
    log_level: str = Field("INFO", alias="QABOT_LOG_LEVEL")
    #: answer ``@bot question`` in any chat (inline mode, once enabled at @BotFather)
    inline: bool = Field(True, alias="QABOT_INLINE")
    #: minutes between the running bot's checks of the followed feeds; 0: none (cron runs qabot update-feeds)
    feed_interval_minutes: float = Field(30, ge=0, alias="QABOT_FEED_INTERVAL_MINUTES")
    #: days the questions asked (and their answers, for the buttons) are kept; 0: forever
    question_log_days: int = Field(90, ge=0, alias="QABOT_QUESTION_LOG_DAYS")

    #: field name → why its variable's value was refused (``load``); reading the field raises
    _refused: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def load(cls, **values) -> "Settings":
        """The settings, each variable whose value cannot be used left at its default and refused.

        Reading a refused setting raises ``InvalidSetting``; ``check()`` raises it for them all.

        :param values: settings given by their variable's name, over the environment's.
        """
        try:
            return cls(**values)
        except ValidationError as error:
            refused = _reasons(error)
        names = {field.alias: name for name, field in cls.model_fields.items()}
        if not refused.keys() <= names.keys():  # not about one variable: nothing can be kept
            raise InvalidSetting(_invalid(refused.values())) from None
        kept = {key: value for key, value in values.items() if key not in refused}
        defaults = {names[alias]: cls.model_fields[names[alias]].get_default() for alias in refused}
        settings = cls(**kept, **defaults)
        for alias in refused:
            del settings.__dict__[names[alias]]  # so that reading it goes to __getattr__
        settings._refused = {names[alias]: reason for alias, reason in refused.items()}
        return settings

    def __getattr__(self, name: str):
        if name in type(self).model_fields:  # a setting ``load`` refused
            raise InvalidSetting(_invalid([self._refused[name]]))
        return super().__getattr__(name)

    def check(self) -> None:
        """Refuse every setting ``load`` refused at once (``qabot run`` needs them all).

        :raises InvalidSetting: naming each refused variable.
        """
        if self._refused:
            raise InvalidSetting(_invalid(self._refused.values()))

    def reader_options(self) -> dict:
        """Keyword arguments for ``retrieval.loading.load_reader`` besides the model."""
        return {
            "quantize": self.quantize,
            "use_encoder": self.encoder == "auto",
            "no_answer_threshold": self.no_answer_threshold,
        }

    def without_token(self, text: str) -> str:
        """``text`` with the bot token replaced by ``HIDDEN_TOKEN``: whole, URL-quoted, or its secret
        part, in any case (python-telegram-bot lower-cases the rest of a message it capitalises)."""
        token = self.telegram_token
        if not token:
            return text
        secret = token.partition(":")[2]
        for shown in (token, quote(token, safe=""), secret):
            if len(shown) >= 8:  # (a secret part too short to be one would hide common words)
                text = re.sub(re.escape(shown), HIDDEN_TOKEN, text, flags=re.IGNORECASE)
        return text

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value):
        """``"123, 456"`` → ``{123, 456}``."""
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            try:
                ids = frozenset(map(parse_id, parts))
            except NotAnId:
                ids = None
            if ids is None or None in ids:  # not a number, or beyond any id
                raise ValueError("expected Telegram user ids (numbers) separated by commas")
            return ids
        return value

    @field_validator("telegram_base_url", "telegram_base_file_url")
    @classmethod
    def _bot_api_url(cls, value: str | None, info) -> str | None:
        """``http://host:8081``, ``http://host:8081/`` and ``http://host:8081/bot`` → ``http://host:8081/bot``
        (``/file/bot`` for the file URL of a bare address)."""
        if value is None:
            return None
        try:
            parts = urlsplit(value.strip())
            parts.port  # noqa: B018 (raises for a port that is not a number)
        except ValueError:  # "http://[::1", "http://host:80x"
            parts = None
        if not parts or parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.query:
            raise ValueError("expected the http(s) address of a Bot API server, such as http://127.0.0.1:8081")
        path = re.sub(r"(/bot)?/*$", "", parts.path)
        if not path and info.field_name == "telegram_base_file_url":
            path = "/file"
        return urlunsplit((parts.scheme.lower(), parts.netloc, path + "/bot", "", ""))

    @field_validator("telegram_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        """The token without the white space a paste may bring around it."""
        if value is None:
            return None
        return value.strip() or None

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        """An https:// address with a host (Telegram calls webhooks over HTTPS only)."""
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme.lower() != "https" or not parts.hostname:
            raise ValueError("expected the public https:// address Telegram calls, such as https://bot.example.org/qabot")
        return value

    @field_validator("index")
    @classmethod
    def _index(cls, value: str | None) -> str | None:
        """``sqlite`` → None; ``xapian://a:1, b:2`` → ``xapian://a:1,b:2`` (``index.engine.normalised``)."""
        return normalised(value)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        """A logging level's name, in any case."""
        if value.upper() not in _LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(level.lower() for level in _LOG_LEVELS)}")
        return value.upper()


def _reasons(error: ValidationError) -> dict[str, str]:
    """Each refused variable's name → ``NAME='value': what it must be``."""
    reasons = {}
    for problem in error.errors():
        name = ".".join(map(str, problem["loc"])) or "settings"
        what = re.sub(r"^(Value error, |Input should be )", "", problem["msg"])
        if problem["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            what = f"a number {what}"
        if problem["type"] != "value_error":
            what = f"expected {what}"
        reasons.setdefault(name, f"{name}={problem['input']!r}: {what}")
    return reasons


def _invalid(reasons) -> str:
    """The one line that refuses settings."""
    reasons = list(reasons)
    return f"invalid setting{'s' if len(reasons) > 1 else ''} {'; '.join(reasons)} (see .env.example)"

