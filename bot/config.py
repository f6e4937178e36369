"""Settings: every knob of qabot, read from the environment or a ``.env`` file (pydantic-settings).

The CLI, the console and the Telegram bot all read one ``Settings``; ``--db`` overrides ``QABOT_DB``.
Every variable is listed, with its default, in README.md and .env.example.
"""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """qabot's configuration."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    db: Path = Field(Path("data/qabot.db"), alias="QABOT_DB")
    allow_private_urls: bool = Field(False, alias="QABOT_ALLOW_PRIVATE_URLS")
