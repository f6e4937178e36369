"""The ``qabot`` command: a thin click skin over the collection (``index/``) and the answerer.

Each command opens the store, calls one library function and prints the result, as text for people
or as JSON with ``--json``. Refused input exits 1 with a one-line reason on stderr.
"""

import json
import sqlite3
import sys
from pathlib import Path

import click

from bot.config import Settings
from index.bm25 import EmptyIndex
from index.ingest import IngestError, import_path, read_source, store_draft
from index.store import ArticleNotFound, ArticleRefused, SchemaTooNew, Store
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
    settings = Settings()
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
    try:
        report = import_path(_store(ctx), Path(path), added_by="cli")
    except IngestError as error:
        raise click.ClickException(str(error)) from None
    for where, reason in report.failed:
        click.echo(f"failed  {where}: {reason}", err=True)
    if as_json:
        _echo_json(report.counts())
        return
    for where, reason in report.skipped:
        click.echo(f"skipped {where}: {reason}")
    counts = report.counts()
    click.echo(f"{counts['added']} added, {counts['skipped']} skipped, {counts['failed']} failed")


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
        click.echo(f"{a.id:>5}  {when}  {a.title}  ({a.chunks} chunks){'  ' + a.url if a.url else ''}")


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
    return load_reader(
        settings.qa_model, quantize=settings.quantize, use_encoder=settings.encoder == "auto"
    )


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
        result = answer(question, store=store, reader=_reader(ctx), top_k=k)
    except EmptyIndex as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        _echo_json(result_as_json(result))
    else:
        click.echo(result_as_text(result))
