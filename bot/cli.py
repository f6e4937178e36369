"""The ``qabot`` command: a thin click skin over the collection (``index/``) and the answerer.

Each command opens the store, calls one library function and prints the result, as text for people
or as JSON with ``--json``. Refused input exits 1 with a one-line reason on stderr.
"""

import json
import sqlite3
import sys
from pathlib import Path

import click
from pydantic import ValidationError

from bot.config import Settings
from index.bm25 import EmptyIndex
from index.store import ArticleNotFound, ArticleRefused, SchemaTooNew, Store, printable
from retrieval.answer import DEFAULT_ANSWERS, answer
from retrieval.search import DEFAULT_K, search


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def _store(ctx: click.Context) -> Store:
    if "store" not in ctx.obj:
        path = _settings(ctx).db
        try:
            ctx.obj["store"] = ctx.with_resource(Store(path))
        except (sqlite3.DatabaseError, SchemaTooNew, OSError) as error:
            raise click.ClickException(f"cannot open the collection {path}: {error}") from None
    return ctx.obj["store"]


def _echo_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


@click.group()
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="The SQLite collection file [env QABOT_DB; default data/qabot.db].",
)
@click.version_option(package_name="qabot")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """Answer questions from a collection of articles, in Telegram or in the terminal."""
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}={e['input']!r}: {e['msg']}" for e in error.errors()
        )
        raise click.ClickException(f"invalid setting {problems} (see .env.example)") from None
    if db:
        settings = settings.model_copy(update={"db": db})
    ctx.obj = {"settings": settings}


@cli.command()
@click.argument("source")
@click.option("--title", help="Title to use instead of the one found.")
@click.option("--url", help="The article's URL (for text and files).")
@click.option("--published", metavar="YYYY-MM-DD", help="Publication date.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def add(ctx, source, title, url, published, as_json) -> None:
    """Add one article from a file, an http(s) URL, or - for stdin."""
    from index.ingest import read_source, store_draft  # trafilatura: not loaded for questions

    stdin_text = sys.stdin.read() if source == "-" else None
    try:
        draft = read_source(
            source, stdin_text=stdin_text, allow_private=_settings(ctx).allow_private_urls
        )
        article = store_draft(
            _store(ctx), draft, title=title, url=url, published=published, added_by="cli"
        )
    except ArticleRefused as error:
        raise click.ClickException(str(error)) from None
    _embed_new_chunks(ctx)
    if as_json:
        _echo_json({"id": article.id, "title": article.title, "chunks": article.chunks})
    else:
        click.echo(f"Added article {article.id}: {article.title} ({article.chunks} chunks)")


@cli.command("import")
@click.argument("path", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def import_command(ctx, path, as_json) -> None:
    """Add every article of a folder (.txt/.md/.html) or a JSONL file."""
    from index.ingest import ImportStopped, IngestError, import_path

    stopped = None
    try:
        report = import_path(_store(ctx), Path(path), added_by="cli")
    except IngestError as error:
        raise click.ClickException(str(error)) from None
    except ImportStopped as error:  # e.g. the disk is full: report what was added, then the reason
        report, stopped = error.report, error
    if not stopped:  # (a full disk would refuse them too; the next add, import or run computes them)
        _embed_new_chunks(ctx)
    for where, reason in report.failed:
        click.echo(f"failed  {where}: {reason}", err=True)
    if as_json:
        _echo_json(report.counts())
    else:
        for where, reason in report.skipped:
            click.echo(f"skipped {where}: {reason}")
        counts = report.counts()
        click.echo(f"{counts['added']} added, {counts['skipped']} skipped, {counts['failed']} failed")
    if stopped:
        raise click.ClickException(str(stopped))


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the articles as JSON.")
@click.pass_context
def list_command(ctx, as_json) -> None:
    """List the articles in the collection."""
    articles = _store(ctx).list_articles()
    if as_json:
        keys = ("id", "title", "url", "published", "chunks", "added_at")
        _echo_json([{k: getattr(a, k) for k in keys} for a in articles])
        return
    if not articles:
        click.echo("The collection is empty. Add articles with: qabot add FILE|URL or qabot import FOLDER")
    for a in articles:
        when = a.published or a.added_at[:10]
        url = "  " + printable(a.url) if a.url else ""  # printable: stored by an older qabot, maybe raw
        click.echo(f"{a.id:>5}  {when}  {printable(a.title)}  ({a.chunks} chunks){url}")


@cli.command()
@click.argument("article_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the article and its chunks as JSON.")
@click.pass_context
def show(ctx, article_id, as_json) -> None:
    """Show an article's text and how it was chunked."""
    store = _store(ctx)
    try:
        article = store.get_article(article_id)
    except ArticleNotFound as error:
        raise click.ClickException(str(error)) from None
    chunks = store.chunks_of(article_id)
    if as_json:
        _echo_json(
            {
                "id": article.id,
                "title": article.title,
                "url": article.url,
                "published": article.published,
                "text": article.text,
                "chunks": [
                    {"ordinal": c.ordinal, "start": c.start, "end": c.end, "text": c.text}
                    for c in chunks
                ],
            }
        )
        return
    click.echo(f"# {article.title}")
    for key in ("url", "site", "published", "added_at", "added_by"):
        if getattr(article, key):
            click.echo(f"{key}: {getattr(article, key)}")
    click.echo("")
    click.echo(article.text)
    click.echo("")
    for c in chunks:
        click.echo(f"--- chunk {c.ordinal}: characters {c.start}-{c.end}, {len(c.text.split())} words")


@cli.command()
@click.pass_context
def check(ctx) -> None:
    """Check that the collection and its index are consistent (exit 1 if not)."""
    problems = _store(ctx).verify()
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        raise click.exceptions.Exit(1)
    counts = _store(ctx).counts()
    click.echo(f"ok: {counts['articles']} articles, {counts['chunks']} chunks, index consistent")


@cli.command()
@click.argument("article_id", type=int)
@click.pass_context
def remove(ctx, article_id) -> None:
    """Remove an article and its chunks from the collection."""
    try:
        info = _store(ctx).remove_article(article_id)
    except ArticleNotFound as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Removed article {info.id}: {info.title}")


@cli.command("search")
@click.argument("query")
@click.option("--k", default=DEFAULT_K, show_default=True, type=click.IntRange(min=1), help="How many passages.")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@click.pass_context
def search_command(ctx, query, k, as_json) -> None:
    """Show the passages BM25 finds for a query, best first."""
    try:
        passages = search(query, store=_store(ctx), k=k)
    except EmptyIndex as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        keys = ("article_id", "title", "score", "start", "end", "text")
        _echo_json({"hits": [{key: getattr(p, key) for key in keys} for p in passages]})
        return
    if not passages:
        click.echo("No passage matches those words.")
    for rank, p in enumerate(passages, 1):
        click.echo(f"{rank}. [{p.score:.2f}] {p.title} (article {p.article_id}, characters {p.start}-{p.end})")
        click.echo("   " + " ".join(p.text.split()))


def _reader(ctx: click.Context):
    from retrieval.loading import load_reader

    settings = _settings(ctx)
    return load_reader(settings.qa_model, **settings.reader_options())


@cli.command()
@click.argument("question")
@click.option("--k", default=DEFAULT_ANSWERS, show_default=True, type=click.IntRange(min=1), help="How many answers.")
@click.option("--json", "as_json", is_flag=True, help="Print the answers as JSON.")
@click.pass_context
def ask(ctx, question, k, as_json) -> None:
    """Answer a question from the collection, with the sentence and source."""
    from bot.formatting import result_as_json, result_as_text

    store = _store(ctx)
    try:
        result = answer(question, store=store, reader=_reader(ctx), top_k=k, encoder=_encoder(ctx))
    except EmptyIndex as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        _echo_json(result_as_json(result))
    else:
        click.echo(result_as_text(result))


#: What ``qabot run`` says, exiting 2, when there is no token.
NO_TOKEN = (
    "No Telegram bot token: set TELEGRAM_BOT_TOKEN in the environment or in a .env file "
    "(the token @BotFather gives you). `qabot console` answers questions in the terminal without one."
)


@cli.command()
@click.pass_context
def run(ctx) -> None:
    """Run the Telegram bot (polling, or a webhook when QABOT_WEBHOOK_URL is set)."""
    settings = _settings(ctx)
    if not settings.telegram_token:
        click.echo(NO_TOKEN, err=True)
        ctx.exit(2)
    from telegram.error import InvalidToken, NetworkError

    from bot.app import WebhookServerError
    from bot.app import run as run_bot

    try:
        run_bot(settings)
    except (sqlite3.DatabaseError, SchemaTooNew) as error:
        raise click.ClickException(f"cannot open the collection {settings.db}: {error}") from None
    except InvalidToken:
        raise click.ClickException("Telegram rejected the token in TELEGRAM_BOT_TOKEN; check it with @BotFather") from None
    except NetworkError as error:
        raise click.ClickException(f"cannot reach the Telegram Bot API: {error}") from None
    except WebhookServerError as error:
        raise click.ClickException(str(error)) from None


@cli.command()
@click.pass_context
def console(ctx) -> None:
    """Chat with the collection in the terminal: questions, /add, /list, /remove, /stats, /help."""
    from bot.console import chat

    chat(
        _store(ctx),
        _reader(ctx),
        allow_private_urls=_settings(ctx).allow_private_urls,
        encoder=_encoder(ctx),
    )


# --- qabot eval: answer tests and the SQuAD benchmark --------------------------------------------


def _encoder(ctx: click.Context):
    """The sentence encoder for hybrid search when QABOT_ENCODER=auto and it is installed, else None."""
    from retrieval.loading import load_encoder

    return load_encoder(_settings(ctx).encoder == "auto")


def _embed_new_chunks(ctx: click.Context) -> None:
    """Store the embeddings of chunks that have none (hybrid search), when the encoder is on."""
    encoder = _encoder(ctx)
    if encoder is not None:
        from retrieval.embeddings import embed_missing

        embed_missing(_store(ctx), encoder)


def _malformed(ctx: click.Context, error: Exception) -> None:
    click.echo(f"Error: {error}", err=True)
    ctx.exit(2)


@cli.command("eval")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--squad", "squad_file", type=click.Path(exists=True, dir_okay=False),
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
    from bot.formatting import answer_tests_summary_as_text, case_as_text
    from retrieval.answer_tests import (
        MalformedTests,
        article_collection,
        load_answer_tests,
        run_answer_tests,
    )

    try:
        tests = load_answer_tests(file)
    except MalformedTests as error:
        _malformed(ctx, error)
    reader, encoder = _reader(ctx), _encoder(ctx)
    run = {
        "reader": reader,
        "k": k or 1,
        "encoder": encoder,
        "on_result": None if as_json else (lambda result: click.echo(case_as_text(result))),
    }
    try:
        if tests.articles:
            private = _settings(ctx).allow_private_urls
            with article_collection(tests, encoder=encoder, allow_private=private) as store:
                report = run_answer_tests(tests, store=store, **run)
        else:
            report = run_answer_tests(tests, store=_store(ctx), **run)
    except MalformedTests as error:
        _malformed(ctx, error)
    except EmptyIndex as error:
        raise click.ClickException(f"{error} (or list articles: in {file})") from None
    if as_json:
        _echo_json(report.as_dict())
    else:
        click.echo("")
        click.echo(answer_tests_summary_as_text(report.summary()))
    ctx.exit(0 if report.passed else 1)


def _eval_squad(ctx: click.Context, path: str, limit: int | None, seed: int, as_json: bool) -> None:
    """``qabot eval --squad``: the paragraphs as a temporary collection, the questions asked of it."""
    from tqdm import tqdm

    from bot.formatting import squad_report_as_text
    from retrieval.embeddings import embed_missing
    from retrieval.squad import MalformedSquad, evaluate_squad, load_collection, load_squad, sample

    try:
        squad = load_squad(path)
    except MalformedSquad as error:
        _malformed(ctx, error)
    reader, encoder = _reader(ctx), _encoder(ctx)
    with Store(":memory:") as store:
        article_ids = load_collection(squad, store)
        if encoder is not None:
            with tqdm(total=store.counts()["chunks"], desc="embedding", unit="chunk", disable=None) as bar:
                embed_missing(store, encoder, progress=lambda done: bar.update(done - bar.n))
        questions = sample(squad.questions, limit=limit, seed=seed)
        report = evaluate_squad(
            squad,
            store=store,
            reader=reader,
            article_ids=article_ids,
            questions=questions,
            encoder=encoder,
            progress=lambda items: tqdm(items, desc="asking", unit="question", disable=None),
        )
    report = {"file": str(path), "limit": limit, "seed": seed} | report
    if as_json:
        _echo_json({"summary": report})
    else:
        click.echo(squad_report_as_text(report))


@cli.command()
@click.option("--squad", "squad_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A SQuAD v2.0 file (with unanswerable questions) to tune on.")
@click.option("--k", type=click.IntRange(min=1), default=5, show_default=True, help="Passages read per question.")
@click.option("--min-answerable-f1", type=click.FloatRange(0, 100),
              help="Choose the threshold among those keeping answerable F1 at least this (0-100).")
@click.option("--dry-run", is_flag=True, help="Show what would be chosen; keep no profile.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def tune(ctx, squad_file, k, min_answerable_f1, dry_run, as_json) -> None:
    """Tune QABOT_QA_MODEL's no-answer threshold and fusion weight on a SQuAD file; keep them in its profile."""
    from tqdm import tqdm

    from retrieval.loading import SENTENCE, model_location
    from retrieval.profile import save_profile
    from retrieval.reader import ExtractiveReader
    from retrieval.squad import MalformedSquad, load_squad
    from retrieval.tuning import tune as tune_reader

    settings = _settings(ctx)
    if settings.qa_model == SENTENCE:
        raise click.ClickException("QABOT_QA_MODEL is 'sentence': there is no QA model to tune")
    try:
        squad = load_squad(squad_file)
    except MalformedSquad as error:
        _malformed(ctx, error)
    reader = ExtractiveReader(model_location(settings.qa_model), quantize=settings.quantize)
    try:
        reader.warm_up()
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot load the QA model {settings.qa_model}: {error}") from None
    with tqdm(total=len(squad.questions), desc="reading", unit="question", disable=None) as bar:
        tuned = tune_reader(reader, squad, name=Path(squad_file).name, k=k,
                            min_answerable_f1=min_answerable_f1, progress=bar.update)
    kept = None if dry_run else str(save_profile(reader.model, tuned.profile))
    if as_json:
        _echo_json(tuned.report | {"profile": kept})
        return
    held = tuned.report["heldout"] or tuned.report["tune"]
    click.echo(
        f"no-answer threshold {tuned.profile.no_answer_threshold}, fusion weight {tuned.profile.fusion_weight}\n"
        f"held out: F1 {held['f1']}, answerable F1 {held['has_ans_f1']}, "
        f"unanswerable declined {held['no_ans_declined']}% ({held['questions']} questions)"
    )
    click.echo(f"profile kept in {kept}" if kept else "dry run: no profile kept")


@cli.command("download-model")
@click.argument("model", required=False)
@click.pass_context
def download_model(ctx, model) -> None:
    """Fetch the QA model (tokenizer and weights) into the Hugging Face cache [default: QABOT_QA_MODEL]."""
    from retrieval import model_files

    model = model or _settings(ctx).qa_model
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
