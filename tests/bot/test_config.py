"""Settings: .env.example is a working .env, and every setting is listed in it and in the README."""

import re
import shutil

from qabot.bot.config import Settings
from tests.conftest import ROOT


def aliases() -> set[str]:
    return {field.alias for field in Settings.model_fields.values()}


def test_env_example_works_as_a_dot_env_file(tmp_path, monkeypatch):
    for name in aliases():
        monkeypatch.delenv(name, raising=False)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings == Settings(_env_file=None)  # the example holds the defaults


def test_every_setting_is_in_env_example_and_the_readme():
    example = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    readme = set(re.findall(r"^\| `([A-Z_]+)` \|", (ROOT / "README.md").read_text(), re.MULTILINE))
    assert example == aliases()
    assert readme == aliases()


def test_a_token_pasted_with_white_space_around_it_is_the_token(monkeypatch):
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", f"  {token} \n")
    assert Settings(_env_file=None).telegram_token == token
