"""What the bot and the ``qabot`` command must never do, whatever they are given (issue 21, "Trust").

The bot token never leaves the process: not in an error message, not in a log line, however
``qabot run`` fails (a wrong or unreachable Bot API, a rejected token, a refused webhook). A setting
whose value cannot be used stops only the commands that use it, in one line. /stats in a group
shows that group's questions only. Odd ids and URLs get one line, never a traceback. Old questions
are forgotten after ``QABOT_QUESTION_LOG_DAYS``.
"""

import contextlib
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from qabot.bot.app import build_application
from qabot.bot.cli import cli
from qabot.bot.handlers import SOMETHING_WENT_WRONG
from tests.bot.conftest import (
    ADMIN,
    GROUP,
    USER,
    bot_settings,
    qabot_env,
    qabot_run,
    rendered,
    replies,
    serving,
)
from tests.conftest import SAMPLE_ARTICLES

#: A well-formed token no Bot API knows; its secret part must never be shown.
TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
HUGE = "1" * 26  # beyond SQLite's 64-bit integers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def website(status: int):
    """A web server that is not a Bot API: every request gets ``status`` and an HTML page naming
    the path it asked for (as many frameworks' "Cannot POST /path" pages do)."""

    class Page(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = f"<html><body><h1>Cannot {self.command} {self.path}</h1></body></html>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_once(tmp_path, token: str = TOKEN, **env: str) -> tuple[int, str]:
    """``qabot run`` until it exits: its exit code and all it wrote (stdout and stderr)."""
    env = os.environ | {
        "TELEGRAM_BOT_TOKEN": token,
        "QABOT_QA_MODEL": "sentence",
        "QABOT_ENCODER": "off",
        "QABOT_LOG_LEVEL": "debug",  # tracebacks and library details in full
    } | env
    done = subprocess.run(
        [sys.executable, "-c", "from qabot.bot.cli import cli; cli()", "--db", str(tmp_path / "q.db"), "run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def refused_in_one_line(code: int, output: str, token: str) -> str:
    """The last line ``qabot run`` wrote, after checking it failed and kept the token to itself."""
    assert code == 1, output
    assert token.partition(":")[2].lower() not in output.lower(), output
    assert "Traceback" not in output.splitlines()[-1]
    return output.strip().splitlines()[-1]


# --- A: the token ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["", "/", "/bot/"])
def test_the_bot_api_address_may_leave_out_bot_or_end_in_a_slash(server, tmp_path, suffix):
    with qabot_run(server, tmp_path / "q.db", tmp_path, QABOT_TELEGRAM_BASE_URL=server.url + suffix) as run:
        (reply,) = replies_now(server, lambda: server.inject_command("start"))
        assert "I answer questions" in reply["text"]
        assert run.stop() == 0
    assert server.token.partition(":")[2] not in run.log


def replies_now(server, inject, timeout: float = 20) -> list[dict]:
    """``replies`` for a bot in another process (no event loop of ours to wait in)."""
    before, mark = len(server.sent_messages(USER)), server.mark()
    inject()
    server.wait_for("sendMessage", timeout=timeout, ok=True, since=mark)
    return server.sent_messages(USER)[before:]


def test_an_address_that_is_not_http_is_refused_as_a_setting(tmp_path):
    line = refused_in_one_line(*run_once(tmp_path, QABOT_TELEGRAM_BASE_URL="ftp://127.0.0.1:8081"), TOKEN)
    assert line == (
        "Error: invalid setting QABOT_TELEGRAM_BASE_URL='ftp://127.0.0.1:8081': expected the http(s) "
        "address of a Bot API server, such as http://127.0.0.1:8081 (see .env.example)"
    )


def test_a_webhook_address_that_is_not_https_is_refused_as_a_setting(tmp_path):
    line = refused_in_one_line(*run_once(tmp_path, QABOT_WEBHOOK_URL="http://bot.example.org/qabot"), TOKEN)
    assert line == (
        "Error: invalid setting QABOT_WEBHOOK_URL='http://bot.example.org/qabot': expected the public "
        "https:// address Telegram calls, such as https://bot.example.org/qabot (see .env.example)"
    )


@pytest.mark.slow
def test_an_unreachable_bot_api_is_named_without_the_token(tmp_path):
    address = f"http://127.0.0.1:{free_port()}"
    line = refused_in_one_line(*run_once(tmp_path, QABOT_TELEGRAM_BASE_URL=address), TOKEN)
    assert line.startswith(f"Error: cannot reach the Telegram Bot API at {address}: ")


@pytest.mark.slow
@pytest.mark.parametrize("status", [404, 200])
def test_a_web_server_that_is_not_a_bot_api_is_named_as_such(tmp_path, status):
    with website(status) as address:
        line = refused_in_one_line(*run_once(tmp_path, QABOT_TELEGRAM_BASE_URL=address), TOKEN)
    assert line == (
        f"Error: {address} does not answer as a Telegram Bot API (HTTP {status}); check QABOT_TELEGRAM_BASE_URL"
    )


@pytest.mark.slow
def test_a_bot_api_at_another_path_is_not_mistaken_for_a_rejected_token(server, tmp_path):
    code, output = run_once(tmp_path, server.token, QABOT_TELEGRAM_BASE_URL=server.url + "/v2")
    line = refused_in_one_line(code, output, server.token)
    assert line == (
        f"Error: the Bot API at {server.url}/v2 answered getMe with 404 Not Found; "
        "check QABOT_TELEGRAM_BASE_URL and TELEGRAM_BOT_TOKEN"
    )


@pytest.mark.slow
def test_a_rejected_token_is_named_as_such_without_showing_it(server, tmp_path):
    line = refused_in_one_line(*run_once(tmp_path, QABOT_TELEGRAM_BASE_URL=server.url), TOKEN)
    assert line == "Error: Telegram rejected the token in TELEGRAM_BOT_TOKEN; check it with @BotFather"


@pytest.mark.slow
def test_a_refused_webhook_is_one_line_even_when_telegram_quotes_the_token(server, tmp_path):
    server.fail_next("setWebhook", 1, 400, description=f"Bad Request: bad webhook: {server.token} is not a URL")
    port = free_port()
    code, output = run_once(
        tmp_path,
        server.token,
        **qabot_env(server),
        QABOT_WEBHOOK_URL=f"https://bot.example/{server.token}",
        QABOT_WEBHOOK_PORT=str(port),
    )
    line = refused_in_one_line(code, output, server.token)
    assert line == (  # (python-telegram-bot lower-cases the description, the token with it)
        f"Error: the Telegram Bot API at {server.url} refused: Bad webhook: <TELEGRAM_BOT_TOKEN> is not a url"
    )


@pytest.mark.slow
def test_errors_while_serving_are_logged_without_the_token(server, tmp_path):
    with qabot_run(server, tmp_path / "q.db", tmp_path, QABOT_LOG_LEVEL="debug") as run:
        server.fail_next("getUpdates", 1, 502, description=f"Bad Gateway: upstream {server.token} down")
        server.fail_next("sendMessage", 1, 400, description=f"Bad Request: no chat at /bot{server.token}/x")
        (apology,) = replies_now(server, lambda: server.inject_command("start"))
        assert apology["text"] == SOMETHING_WENT_WRONG
        assert run.stop() == 0
    assert server.token.partition(":")[2].lower() not in run.log.lower(), run.log
    assert "<TELEGRAM_BOT_TOKEN>" in run.log


# --- B: a bad setting -------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, tmp_path, db_path):
    """``qabot`` in a folder with no .env, on the sample collection, with the offline reader."""
    monkeypatch.chdir(tmp_path)
    for name in ("QABOT_DB", "TELEGRAM_BOT_TOKEN", "QABOT_ADMIN_IDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QABOT_ENCODER", "off")
    monkeypatch.setenv("QABOT_QA_MODEL", "sentence")
    assert CliRunner().invoke(cli, ["--db", str(db_path), "import", str(SAMPLE_ARTICLES)]).exit_code == 0
    return lambda *args, **env: CliRunner().invoke(cli, ["--db", str(db_path), *args], env=env)


def test_a_bad_admin_list_stops_only_qabot_run_naming_the_variable(cli_env):
    bad = {"QABOT_ADMIN_IDS": "alice", "TELEGRAM_BOT_TOKEN": TOKEN}
    for args in (["list"], ["search", "tram"], ["ask", "Who drove the first tram?"], ["show", "1"]):
        result = cli_env(*args, **bad)
        assert result.exit_code == 0, (args, result.output)
    result = cli_env("run", **bad)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: invalid setting QABOT_ADMIN_IDS='alice': expected Telegram user ids (numbers) "
        "separated by commas (see .env.example)"
    )


def test_a_bad_reader_setting_stops_the_commands_that_read(cli_env):
    bad = {"QABOT_QUANTIZE": "int4"}
    assert cli_env("list", **bad).exit_code == 0
    result = cli_env("ask", "Who drove the first tram?", **bad)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        "Error: invalid setting QABOT_QUANTIZE='int4': expected 'none' or 'int8' (see .env.example)"
    )


# --- C: /stats --------------------------------------------------------------------------------

PRIVATE_QUESTION = "What is the secret budget of the Quillon zeppelin club?"
GROUP_QUESTION = "What colour is the Varnholt moon festival lantern?"


async def test_stats_in_a_group_show_that_groups_questions_only(bot, server):
    await replies(server, USER, lambda: server.inject_message(PRIVATE_QUESTION))
    in_group = {"chat_type": "group", "chat_id": GROUP}
    await replies(server, GROUP, lambda: server.inject_command("ask", GROUP_QUESTION, user_id=USER, **in_group))
    await replies(server, GROUP, lambda: server.inject_command("ask", "Who won the cup final?", **in_group))

    (group_stats,) = await replies(server, GROUP, lambda: server.inject_command("stats", user_id=ADMIN, **in_group))
    shown = rendered(group_stats).text
    assert GROUP_QUESTION in shown and "Questions asked: 2" in shown
    assert "Quillon" not in shown  # asked in a private chat

    (all_stats,) = await replies(server, ADMIN, lambda: server.inject_command("stats", user_id=ADMIN))
    shown = rendered(all_stats).text
    assert PRIVATE_QUESTION in shown and GROUP_QUESTION in shown and "Questions asked: 3" in shown


async def test_help_tells_admins_what_stats_shows_in_a_group(bot, server):
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command("help", user_id=ADMIN))
    assert "/stats — Articles and questions; in a group, that group's questions only" in rendered(reply).text


# --- F: odd ids and URLs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command, args, answer",
    [
        ("remove", HUGE, f"There is no article {HUGE}."),
        ("unfollow", HUGE, f"There is no feed {HUGE}."),
        ("remove", "²", "Usage: /remove ID (the ids are in /list)."),
        ("unfollow", "²", "Usage: /unfollow N (the feed numbers are in /feeds)."),
        ("remove", "-1", "Usage: /remove ID (the ids are in /list)."),
        ("add", "http://[::1", "Not added: http://[::1 is not a valid URL."),
        ("add", "file:///etc/passwd", "Not added: only http and https URLs can be added, not file:."),
        ("add", "ftp://example.org/story.txt", "Not added: only http and https URLs can be added, not ftp:."),
    ],
)
async def test_odd_ids_and_urls_get_one_line_answers(bot, server, sample_store, command, args, answer):
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command(command, args, user_id=ADMIN))
    assert rendered(reply).text == answer
    assert "--" not in rendered(reply).text  # no CLI option in a Telegram reply
    assert sample_store.counts()["articles"] == 8


@pytest.mark.parametrize(
    "args, reason",
    [
        (["show", "1" * 23], f"there is no article {'1' * 23}"),
        (["remove", "1" * 23], f"there is no article {'1' * 23}"),
        (["unfollow", "1" * 23], f"there is no feed {'1' * 23}"),
        (["show", "9" * 5000], "there is no article 999"),
    ],
)
def test_cli_ids_beyond_sqlites_integers_are_not_found(cli_env, args, reason):
    result = cli_env(*args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: {reason}") and "\n" not in result.stderr.strip()


@pytest.mark.parametrize("command", ["show", "remove", "unfollow"])
@pytest.mark.parametrize("text", ["²", "٣", "1_0", "+1"])
def test_cli_ids_in_other_digits_are_usage_errors(cli_env, command, text):
    result = cli_env(command, text)
    assert result.exit_code == 2
    assert f"{text!r} is not an id (a number such as 12)" in result.stderr


# --- G: the question log ------------------------------------------------------------------------


async def test_questions_older_than_the_log_days_are_forgotten_once_a_day(server, sample_store, reader, db_path):
    settings = bot_settings(server, db_path, QABOT_QUESTION_LOG_DAYS=30)
    application = build_application(settings, sample_store, reader)
    async with serving(application):
        await replies(server, USER, lambda: server.inject_message(PRIVATE_QUESTION))
        await replies(server, USER, lambda: server.inject_message(GROUP_QUESTION))
        with sample_store.transaction():
            sample_store.db.execute(
                "UPDATE questions SET asked_at = '2020-01-01T00:00:00+00:00' WHERE question = ?", [PRIVATE_QUESTION]
            )
        (job,) = [j for j in application.job_queue.jobs() if j.name == "question log"]
        assert job.job.trigger.interval_length == 24 * 3600
        await job.run(application)
        (stats,) = await replies(server, ADMIN, lambda: server.inject_command("stats", user_id=ADMIN))
    shown = rendered(stats).text
    assert "Questions asked: 1" in shown and GROUP_QUESTION in shown and "Quillon" not in shown


def test_an_unexpected_error_of_the_running_bot_is_one_line_without_the_token(tmp_path, monkeypatch):
    def crash(settings):
        raise RuntimeError(f"internal detail: https://api.telegram.org/bot{TOKEN}/getUpdates\nmore lines")

    monkeypatch.setattr("qabot.bot.app.run", crash)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "q.db"), "run"], env={
        "TELEGRAM_BOT_TOKEN": TOKEN, "QABOT_QA_MODEL": "sentence", "QABOT_ENCODER": "off"})
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: the bot stopped: RuntimeError: internal detail: https://api.telegram.org/bot<TELEGRAM_BOT_TOKEN>/getUpdates"
    ], result.stderr
