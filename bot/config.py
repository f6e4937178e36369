"""Settings: every knob of qabot, read from the environment or a ``.env`` file (pydantic-settings).

The CLI, the console and the Telegram bot all read one ``Settings``; ``--db`` overrides ``QABOT_DB``.
Every variable is listed, with its default, in README.md and .env.example.
"""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_QA_MODEL = "builtin"


class Settings(BaseSettings):
    """qabot's configuration."""

    # a variable set but empty (``QABOT_WEBHOOK_URL=`` as in .env.example) means its default
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    db: Path = Field(Path("data/qabot.db"), alias="QABOT_DB")
    allow_private_urls: bool = Field(False, alias="QABOT_ALLOW_PRIVATE_URLS")
    telegram_token: str | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(frozenset(), alias="QABOT_ADMIN_IDS")
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

    def reader_options(self) -> dict:
        """Keyword arguments for ``retrieval.loading.load_reader`` besides the model."""
        return {
            "quantize": self.quantize,
            "use_encoder": self.encoder == "auto",
            "no_answer_threshold": self.no_answer_threshold,
        }

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value):
        """``"123, 456"`` → ``{123, 456}``."""
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError("QABOT_ADMIN_IDS must be Telegram user ids (numbers) separated by commas") from None
        return value
