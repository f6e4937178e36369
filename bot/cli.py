"""The ``qabot`` command: a thin click skin over the collection (``index/``) and the answerer.

Each command opens the store, calls one library function and prints the result, as text for people
or as JSON with ``--json``. Refused input exits 1 with a one-line reason on stderr, a usage error
exits 2. This module holds the group and the commands that ask, evaluate and serve; those that
look after the collection are in ``bot.cli_collection``, what they all share in ``bot.cli_context``.
"""

import logging
import re
import sqlite3
from pathlib import Path

import click

from qabot.bot import cli_collection, cli_feeds
from qabot.bot.cli_context import (
    ExistingPath,
    collection_path,
    echo_json,
    empty_collection,
    encoder_of,
    malformed,
    reader_of,
    settings_of,
    store_of,
)
from qabot.bot.config import InvalidSetting, Settings
from qabot.index.bm25 import EmptyIndex
from qabot.index.engine import IndexUnavailable
from qabot.index.store import SchemaTooNew, Store
from qabot.retrieval.answer import DEFAULT_ANSWERS, answer
from qabot.retrieval.search import DEFAULT_K, search

log = logging.getLogger(__name__)


class _Qabot(click.Group):
    """The ``qabot`` group: a command that reads a setting ``Settings.load`` refused ends with its one
    line, and no error message shows the bot token."""

    def invoke(self, ctx: click.Context):
        try:
            try:
                return super().invoke(ctx)
            except InvalidSetting as error:
                raise click.ClickException(str(error)) from None
        except click.ClickException as error:  # no message shows the bot token, whatever quoted it
            if ctx.obj:
                error.message = settings_of(ctx).without_token(error.message)
            raise


@click.group(cls=_Qabot)
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="The SQLite collection file [env QABOT_DB; default data/qabot.db].",
)
@click.version_option(package_name="qabot")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """Answer questions from a collection of articles, in Telegram or in the terminal."""
    settings = Settings.load()  # a variable with a bad value stops only the commands that read it
    if db:
        settings = settings.model_copy(update={"db": db})
    ctx.obj = {"settings": settings}


for command in cli_collection.COMMANDS:
    cli.add_command(command)


@cli.command("search", short_help="Show the passages BM25 finds for a query.")
@click.argument("query")
@click.option("--k", default=DEFAULT_K, show_default=True, type=click.IntRange(min=1), help="How many passages.")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@click.pass_context
def search_command(ctx, query, k, as_json) -> None:
    """Show the passages BM25 finds for a query, best first."""
    if not query.strip():
        raise click.UsageError("the query is empty: give the words to search for")
    store = store_of(ctx)
    try:
        passages = search(query, store=store, k=k)
    except EmptyIndex:
        raise click.ClickException(empty_collection(collection_path(ctx))) from None
    except IndexUnavailable as error:
        raise click.ClickException(str(error)) from None
    missing = store.search_missed()
    if as_json:
        keys = ("article_id", "title", "score", "start", "end", "text")
        echo_json({"hits": [{key: getattr(p, key) for key in keys} for p in passages], "missing": missing})
        return
    if missing:
        click.echo(f"note: part of the collection could not be searched ({missing})", err=True)
    if not passages:
        click.echo("No passage matches those words.")
    for rank, p in enumerate(passages, 1):
        click.echo(f"{rank}. [{p.score:.2f}] {p.title} (article {p.article_id}, characters {p.start}-{p.end})")
        click.echo("   " + " ".join(p.text.split()))


@cli.command(short_help="Answer a question, with its sentence and source.")
@click.argument("question")
@click.option("--k", default=DEFAULT_ANSWERS, show_default=True, type=click.IntRange(min=1), help="How many answers.")
@click.option("--json", "as_json", is_flag=True, help="Print the answers as JSON.")
@click.pass_context
def ask(ctx, question, k, as_json) -> None:
    """Answer a question from the collection, with the sentence and source."""
    from qabot.bot.formatting import result_as_json, result_as_text

    if not question.strip():
        raise click.UsageError('the question is empty: qabot ask "When did Putin last visit Pyongyang?"')
    store = store_of(ctx)
    try:
        result = answer(question, store=store, reader=reader_of(ctx), top_k=k, encoder=encoder_of(ctx))
    except EmptyIndex:
        raise click.ClickException(empty_collection(collection_path(ctx))) from None
    except IndexUnavailable as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        echo_json(result_as_json(result))
    else:
        click.echo(result_as_text(result))


#: What ``qabot run`` says, exiting 2, when there is no token.
NO_TOKEN = (
    "No Telegram bot token: set TELEGRAM_BOT_TOKEN in the environment or in a .env file "
    "(the token @BotFather gives you). `qabot console` answers questions in the terminal without one."
)

#: A bot token as @BotFather gives it: the bot's id, a colon, then (today) 35 letters, digits, - or _.
BOT_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{30,}")
MALFORMED_TOKEN = (
    "TELEGRAM_BOT_TOKEN does not look like a bot token: @BotFather gives one like "
    "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw (the bot's id, a colon, 35 letters, digits, - or _)."
)


@cli.command(short_help="Run the Telegram bot (polling or a webhook).")
@click.pass_context
def run(ctx) -> None:
    """Run the Telegram bot (polling, or a webhook when QABOT_WEBHOOK_URL is set)."""
    settings = settings_of(ctx)
    settings.check()  # the bot reads them all
    if not settings.telegram_token:
        click.echo(NO_TOKEN, err=True)
        ctx.exit(2)
    if not BOT_TOKEN.fullmatch(settings.telegram_token):
        click.echo(MALFORMED_TOKEN, err=True)
        ctx.exit(2)
    from telegram.error import InvalidToken, TelegramError

    from qabot.bot.app import REJECTED_TOKEN, BotAPIUnusable, WebhookServerError, bot_api_address
    from qabot.bot.app import run as run_bot
    from qabot.bot.delivery import unreachable

    try:
        run_bot(settings)
    except (sqlite3.DatabaseError, SchemaTooNew) as error:
        raise click.ClickException(f"cannot open the collection {settings.db}: {error}") from None
    except (BotAPIUnusable, WebhookServerError) as error:
        raise click.ClickException(str(error)) from None
    except InvalidToken:  # revoked after check_bot_api's getMe
        raise click.ClickException(REJECTED_TOKEN) from None
    except TelegramError as error:  # while starting: deleteWebhook, setWebhook
        address = bot_api_address(settings)
        failed = f"cannot reach the Telegram Bot API at {address}" if unreachable(error) else (
            f"the Telegram Bot API at {address} refused"
        )
        raise click.ClickException(f"{failed}: {error}") from None
    except Exception as error:  # anything else: one line (the group hides the token), the traceback in the log
        log.debug("the bot stopped", exc_info=True)
        reason = (str(error).splitlines() or [""])[0]
        raise click.ClickException(f"the bot stopped: {type(error).__name__}{': ' + reason if reason else ''}") from None


@cli.command(short_help="Chat with the collection in the terminal.")
@click.pass_context
def console(ctx) -> None:
    """Chat with the collection in the terminal: questions, /add, /list, /remove, /stats, /help."""
    from qabot.bot.console import chat

    chat(
        store_of(ctx) if collection_path(ctx).exists() else collection_path(ctx),  # created by /add
        reader_of(ctx),
        allow_private_urls=settings_of(ctx).allow_private_urls,
        encoder=encoder_of(ctx),
        engine=settings_of(ctx).index,
    )


# --- qabot eval: answer tests and the SQuAD benchmark --------------------------------------------


@cli.command("eval", short_help="Run answer tests, or the SQuAD benchmark.")
@click.argument("file", required=False, type=ExistingPath(dir_okay=False))
@click.option("--squad", "squad_file", type=ExistingPath(dir_okay=False),
              help="Instead: ask a SQuAD v1.1/v2.0 JSON file's questions of its paragraphs.")
@click.option("--k", type=click.IntRange(min=1),
              help="A case passes when one of the first K answers meets it [default: 1, the top one].")
@click.option("--limit", type=click.IntRange(min=1), help="--squad: ask this many questions, drawn at random.")
@click.option("--seed", type=int, help="--squad: the seed of the --limit draw [default: 0].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (with a summary key).")
@click.pass_context
def eval_command(ctx, file, squad_file, k, limit, seed, as_json) -> None:
    """Run answer tests (YAML or JSONL): exit 0 if all pass, 1 if some fail, 2 if FILE is malformed."""
    if (file is None) == (squad_file is None):
        raise click.UsageError("give an answer-test FILE, or --squad FILE")
    if squad_file:
        if k is not None:
            raise click.UsageError("--k goes with an answer-test FILE, not --squad")
        _eval_squad(ctx, squad_file, limit, 0 if seed is None else seed, as_json)
        return
    if limit is not None or seed is not None:
        raise click.UsageError("--limit and --seed go with --squad")
    from qabot.bot.eval_reports import answer_tests_summary_as_text, case_as_text
    from qabot.evaluation.answer_test_files import MalformedTests, article_collection, load_answer_tests
    from qabot.evaluation.answer_tests import run_answer_tests

    try:
        tests = load_answer_tests(file)
    except MalformedTests as error:
        malformed(ctx, error)
    store = None if tests.articles else store_of(ctx)  # before the reader loads: it may be missing
    reader, encoder = reader_of(ctx), encoder_of(ctx)
    run = {
        "reader": reader,
        "k": k or 1,
        "encoder": encoder,
        "on_result": None if as_json else (lambda result: click.echo(case_as_text(result))),
    }
    try:
        if tests.articles:
            private = settings_of(ctx).allow_private_urls
            with article_collection(tests, encoder=encoder, allow_private=private) as store:
                report = run_answer_tests(tests, store=store, **run)
        else:
            report = run_answer_tests(tests, store=store, **run)
    except MalformedTests as error:
        malformed(ctx, error)
    except EmptyIndex:
        empty = empty_collection(collection_path(ctx))
        raise click.ClickException(f"{empty} (or list articles: in {file})") from None
    except IndexUnavailable as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo("")
        click.echo(answer_tests_summary_as_text(report.summary()))
    ctx.exit(0 if report.passed else 1)


def _eval_squad(ctx: click.Context, path: str, limit: int | None, seed: int, as_json: bool) -> None:
    """``qabot eval --squad``: the paragraphs as a temporary collection, the questions asked of it."""
    from qabot.bot.eval_reports import squad_report_as_text
    from qabot.bot.progress import Progress
    from qabot.evaluation.squad import MalformedSquad, evaluate_squad, load_collection, load_squad, sample
    from qabot.retrieval.embeddings import embed_missing

    try:
        squad = load_squad(path)
    except MalformedSquad as error:
        malformed(ctx, error)
    reader, encoder = reader_of(ctx), encoder_of(ctx)
    with Store(":memory:") as store:
        article_ids = load_collection(squad, store)
        if encoder is not None:
            with Progress(store.counts()["chunks"], label="embedding", unit="chunk") as bar:
                embed_missing(store, encoder, progress=lambda done: bar.update(done - bar.n))
        questions = sample(squad.questions, limit=limit, seed=seed)
        with Progress(len(questions), label="asking", unit="question") as bar:
            report = evaluate_squad(
                squad,
                store=store,
                reader=reader,
                article_ids=article_ids,
                questions=questions,
                encoder=encoder,
                progress=bar.wrap,
            )
    report = {"file": str(path), "limit": limit, "seed": seed} | report
    if as_json:
        echo_json({"summary": report})
    else:
        click.echo(squad_report_as_text(report))


@cli.command(short_help="Tune the QA model's ranking and no-answer rule.")
@click.option("--squad", "squad_file", required=True, type=ExistingPath(dir_okay=False),
              help="A SQuAD v2.0 file (with unanswerable questions) to tune on.")
@click.option("--k", type=click.IntRange(min=1), default=5, show_default=True, help="Passages read per question.")
@click.option("--min-answerable-f1", type=click.FloatRange(0, 100),
              help="Choose the threshold among those keeping answerable F1 at least this (0-100).")
@click.option("--tests", "tests_file", type=ExistingPath(dir_okay=False),
              help="Answer tests (YAML or JSONL, with their articles) the no-answer rule is also chosen on, "
                   "so that it rarely declines a right answer to your own kind of question.")
@click.option("--dry-run", is_flag=True, help="Show what would be chosen; keep no profile.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def tune(ctx, squad_file, k, min_answerable_f1, tests_file, dry_run, as_json) -> None:
    """Tune QABOT_QA_MODEL's ranking and no-answer rule on a SQuAD file (and answer tests); keep them in its profile."""
    from qabot.bot.progress import Progress
    from qabot.evaluation.answer_test_files import MalformedTests
    from qabot.evaluation.squad import MalformedSquad, load_squad
    from qabot.evaluation.tuning import case_readings
    from qabot.evaluation.tuning import tune as tune_reader  # (the command is named tune too)
    from qabot.models.profile import save_profile
    from qabot.retrieval.loading import SENTENCE, calibrate, model_location
    from qabot.retrieval.reader import ExtractiveReader

    settings = settings_of(ctx)
    if settings.qa_model == SENTENCE:
        raise click.ClickException("QABOT_QA_MODEL is 'sentence': there is no QA model to tune")
    try:
        squad = load_squad(squad_file)
    except MalformedSquad as error:
        malformed(ctx, error)
    reader = ExtractiveReader(model_location(settings.qa_model), quantize=settings.quantize)
    try:
        reader.warm_up()
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot load the QA model {settings.qa_model}: {error}") from None
    in_use = "tuned" if calibrate(reader) else "untuned"  # the profile in use, measured beside the new one
    cases, name = None, Path(squad_file).name
    if tests_file:
        try:
            cases = case_readings(tests_file, reader, encoder_of(ctx), k=k)
        except MalformedTests as error:
            malformed(ctx, error)
        name += f" and the {len(cases)} cases of {Path(tests_file).name}"
    with Progress(len(squad.questions), label="reading", unit="question") as bar:
        tuned = tune_reader(reader, squad, name=name, k=k, min_answerable_f1=min_answerable_f1,
                            progress=bar.update, cases=cases)
    kept = None if dry_run else str(save_profile(reader.model, tuned.profile))
    if as_json:
        echo_json(tuned.report | {"profile": kept})
        return
    held, chosen = tuned.report["heldout"] or tuned.report["tune"], tuned.profile
    click.echo(
        f"ranking: fusion weight {chosen.fusion_weight}, kind weight {chosen.kind_weight}, "
        f"sentence weight {chosen.sentence_weight}\n"
        f"no-answer threshold {chosen.no_answer_threshold} (BM25 weight {chosen.no_answer_bm25_weight}, "
        f"lead weight {chosen.no_answer_lead_weight}, agreement weight {chosen.no_answer_agreement_weight}, "
        f"coverage weight {chosen.no_answer_coverage_weight})\n"
        f"held out: F1 {held['f1']}, answerable F1 {held['has_ans_f1']}, "
        f"unanswerable declined {held['no_ans_declined']}% ({held['questions']} questions); "
        f"{held['right_declined']} right answers declined, {held['wrong_answered']} wrong ones given"
    )
    current = tuned.report["heldout_current_profile"]
    if current:
        click.echo(
            f"the profile in use ({in_use}): held out: F1 {current['f1']}, answerable F1 {current['has_ans_f1']}, "
            f"unanswerable declined {current['no_ans_declined']}%"
        )
    if cases:
        counts = tuned.report["answer_tests"]
        click.echo(
            f"answer tests ({Path(tests_file).name}, {counts['cases']} cases): {counts['passed']} passed; "
            f"{counts['right']} right, {counts['right_declined']} right answers declined, "
            f"{counts['wrong_answered']} wrong ones given; {counts['no_answer_declined']} of "
            f"{counts['no_answer_declined'] + counts['no_answer_answered']} unanswerable declined"
        )
    click.echo(f"profile kept in {kept}" if kept else "dry run: no profile kept")


@cli.command("download-model", short_help="Fetch the QA model into the Hugging Face cache.")
@click.argument("model", required=False)
@click.pass_context
def download_model(ctx, model) -> None:
    """Fetch the QA model (tokenizer and weights) into the Hugging Face cache [default: QABOT_QA_MODEL]."""
    from qabot.models import model_files

    model = model or settings_of(ctx).qa_model
    if model == "sentence":
        raise click.ClickException("QABOT_QA_MODEL is 'sentence': there is no model to download")
    if model == "builtin":
        click.echo("The builtin reader is shipped inside qabot: nothing to download.")
        return
    if model_files.is_local(model):
        if not Path(model).expanduser().is_dir():
            raise click.ClickException(f"no model folder at {model}")
        click.echo(f"{model} is a local folder: nothing to download.")
        return
    try:
        folder = model_files.fetch(model, progress=True)
    except model_files.ModelUnavailable as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Downloaded {model} to {folder}")


for command in cli_feeds.COMMANDS:  # follow, feeds, unfollow, update-feeds
    cli.add_command(command)
