"""The ``qabot`` commands that look after the collection: add, import, list, show, check, reindex, remove.

Each opens the store, calls one library function (``index.ingest``, ``index.importing``,
``index.store``) and prints the result, as text for people or as JSON with ``--json``. ``add`` and
``import`` create the collection when there is none; the others refuse a missing one, naming its
path. Refused input exits 1 with a one-line reason on stderr; a usage error exits 2. ``bot.cli``
adds these commands to its group.
"""

import sys
from pathlib import Path

import click

from qabot.bot.cli_context import (
    ARTICLE_ID,
    ExistingPath,
    collection_path,
    echo_json,
    embed_new_chunks,
    settings_of,
    store_of,
)
from qabot.bot.formatting import articles_table, plural
from qabot.index.engine import IndexUnavailable
from qabot.index.pages import is_paged, page_at, split_pages
from qabot.index.store import ArticleNotFound, ArticleRefused


@click.command(short_help="Add one article: a file, an http(s) URL, or - for stdin.")
@click.argument("source")
@click.option("--title", help="The title, instead of the one found (a text's first line is then part of its text).")
@click.option("--url", help="The article's URL (for text and files).")
@click.option("--published", metavar="YYYY-MM-DD", help="Publication date.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def add(ctx, source, title, url, published, as_json) -> None:
    """Add one article from a file, an http(s) URL, or - for stdin.

    A text's first line is its title when it looks like one (a heading, or a short line without a
    full stop before a blank line); otherwise a title is made from the text and all of it is kept.
    """
    from qabot.index.drafts import store_draft  # not loaded for questions
    from qabot.index.ingest import read_source

    stdin_text = sys.stdin.read() if source == "-" else None
    try:
        draft = read_source(
            source, stdin_text=stdin_text, title=title, allow_private=settings_of(ctx).allow_private_urls
        )
        article = store_draft(
            store_of(ctx, create=True), draft, title=title, url=url, published=published, added_by="cli"
        )
    except ArticleRefused as error:
        raise click.ClickException(str(error)) from None
    embed_new_chunks(ctx)
    if as_json:
        echo_json({"id": article.id, "title": article.title, "chunks": article.chunks})
    else:
        click.echo(f"Added article {article.id}: {article.title} ({plural(article.chunks, 'chunk')})")


@click.command("import", short_help="Add every article of a folder or a JSONL file.")
@click.argument("path", type=ExistingPath())
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def import_command(ctx, path, as_json) -> None:
    """Add every article of a folder or a JSONL file.

    A folder is read recursively: its .txt, .md, .html, .pdf and .jsonl files. Each file or line that cannot be added is reported on stderr with its reason; duplicates are
    skipped. Exit status: 0 when every article was added or skipped as a duplicate, 1 when some
    failed, the import stopped (a full disk) or PATH is neither a folder nor a .jsonl file, 2 on a
    usage error (no such PATH).
    """
    from qabot.bot.progress import tracked
    from qabot.index.drafts import IngestError
    from qabot.index.importing import ImportStopped, check_importable, import_path

    stopped = None
    try:
        check_importable(Path(path))  # before the collection is created
        report = import_path(
            store_of(ctx, create=True),
            Path(path),
            added_by="cli",
            progress=lambda items, total: tracked(items, total, label="importing", unit="article"),
        )
    except IngestError as error:
        raise click.ClickException(str(error)) from None
    except ImportStopped as error:  # e.g. the disk is full: report what was added, then the reason
        report, stopped = error.report, error
    if not stopped:  # (a full disk would refuse them too; the next add, import or run computes them)
        embed_new_chunks(ctx)
    for where, reason in report.failed:
        click.echo(f"failed  {where}: {reason}", err=True)
    if as_json:
        echo_json(report.counts())
    else:
        for where, reason in report.skipped:
            click.echo(f"skipped {where}: {reason}")
        counts = report.counts()
        click.echo(f"{counts['added']} added, {counts['skipped']} skipped, {counts['failed']} failed")
    if stopped:
        raise click.ClickException(str(stopped))
    if report.failed:
        ctx.exit(1)


@click.command("list", short_help="List the articles.")
@click.option("--json", "as_json", is_flag=True, help="Print the articles as JSON.")
@click.pass_context
def list_command(ctx, as_json) -> None:
    """List the articles: id, publication date, date added, chunks, title and URL."""
    articles = store_of(ctx).list_articles()
    if as_json:
        keys = ("id", "title", "url", "published", "chunks", "added_at")
        echo_json([{k: getattr(a, k) for k in keys} for a in articles])
        return
    if not articles:
        click.echo(
            f"The collection {collection_path(ctx)} is empty. "
            "Add articles with: qabot add FILE|URL or qabot import FOLDER"
        )
        return
    click.echo(articles_table(articles))


@click.command(short_help="Show an article's text and its chunks.")
@click.argument("article_id", type=ARTICLE_ID)
@click.option("--json", "as_json", is_flag=True, help="Print the article and its chunks as JSON.")
@click.pass_context
def show(ctx, article_id, as_json) -> None:
    """Show an article's text and how it was chunked."""
    store = store_of(ctx)
    try:
        article = store.get_article(article_id)
    except ArticleNotFound as error:
        raise click.ClickException(str(error)) from None
    chunks = store.chunks_of(article_id)
    if as_json:
        echo_json(
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
    labels = {"url": "url", "site": "site", "published": "published", "added_at": "added", "added_by": "added by"}
    for key, label in labels.items():
        if getattr(article, key):
            click.echo(f"{label}: {getattr(article, key)}")
    click.echo("")
    if is_paged(article.text):  # a PDF: each page under its number, no form feeds on the terminal
        click.echo("\n\n".join(f"[page {n}]\n{page}" for n, page in enumerate(split_pages(article.text), 1)))
    else:
        click.echo(article.text)
    click.echo("")
    for c in chunks:
        page = f", page {page_at(article.text, c.start)}" if is_paged(article.text) else ""
        click.echo(f"--- chunk {c.ordinal}: characters {c.start}-{c.end}{page}, {plural(len(c.text.split()), 'word')}")


@click.command(short_help="Check that the collection and its index agree.")
@click.option("--sample", default=200, show_default=True, type=click.IntRange(min=0),
              help="With Xapian shards: chunks compared with their documents one by one.")
@click.pass_context
def check(ctx, sample) -> None:
    """Check that the collection and its search index are consistent (exit 1 if not).

    With QABOT_INDEX naming Xapian shards, what the outbox owes them is pushed first (as at
    start-up); then each shard's chunks and terms are counted against the store's, nothing may wait
    in the outbox, and SAMPLE chunks drawn at random are compared with their documents.
    """
    store = store_of(ctx)
    problems = store.verify()
    engine = store.engine
    try:
        engine.catch_up()
        problems += engine.check(sample=sample)
        parts = engine.count() if engine.name != "sqlite" else {}
    except IndexUnavailable as error:
        problems, parts = [*problems, str(error)], {}
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        raise click.exceptions.Exit(1)
    counts = store.counts()
    click.echo(
        f"ok: {collection_path(ctx)}: {plural(counts['articles'], 'article')}, "
        f"{plural(counts['chunks'], 'chunk')}, index consistent"
        + (f" on {engine.name}" if parts else "")
    )
    for number, (address, held) in enumerate(parts.items(), 1):
        click.echo(f"  shard {number} {address}: {plural(held, 'chunk')}")


@click.command(short_help="Build the search index afresh from the collection.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def reindex(ctx, as_json) -> None:
    """Build the search index QABOT_INDEX names from the collection, and search with it from now on.

    Xapian shards must all be up. An interrupted reindex resumes where it stopped; an index the
    shards already hold for this collection is refreshed in place (searches stay whole meanwhile);
    shards holding anything else are emptied first. Without QABOT_INDEX the SQLite index is rebuilt
    in one transaction (run it again if interrupted). Either way any other index is dropped, with
    what the outbox owed it. Progress goes to stderr.
    """
    from qabot.bot.progress import Progress

    store = store_of(ctx)
    with Progress(store.counts()["chunks"], label="reindexing", unit="chunk") as bar:
        try:
            summary = store.engine.reindex(lambda done, total: bar.update(done - bar.n))
        except IndexUnavailable as error:
            raise click.ClickException(str(error)) from None
    if as_json:
        echo_json(summary)
        return
    dropped = [
        "the SQLite index is no longer kept" if name == "sqlite" else f"Xapian index {name} dropped"
        for name in summary["dropped"]
    ]
    if summary["index"] == "sqlite":
        click.echo(f"Rebuilt the SQLite index of {plural(summary['chunks'], 'chunk')}; "
                   f"the collection is searched in {collection_path(ctx)}.")
    else:
        how = f", resumed after article {summary['resumed_from']}" if summary["resumed_from"] else (
            ", refreshed in place" if summary["in_place"] else "")
        click.echo(
            f"Indexed {plural(summary['articles'], 'article')} ({plural(summary['chunks'], 'chunk')})"
            f" on {summary['index']} ({summary['shards']} shards{how}); the collection is searched there."
        )
    if dropped:
        said = "; ".join(dropped)
        click.echo(said[0].upper() + said[1:] + ".")


@click.command(short_help="Remove an article and its chunks.")
@click.argument("article_id", type=ARTICLE_ID)
@click.pass_context
def remove(ctx, article_id) -> None:
    """Remove an article and its chunks from the collection."""
    try:
        info = store_of(ctx).remove_article(article_id)
    except ArticleNotFound as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Removed article {info.id}: {info.title}")


#: The commands of this module, added to the ``qabot`` group by ``bot.cli``.
COMMANDS = (add, import_command, list_command, show, check, reindex, remove)
