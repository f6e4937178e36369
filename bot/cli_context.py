"""What every ``qabot`` command shares: the settings, the collection, the reader, the encoder, JSON.

The collection is opened once per command. Only the commands that add articles create it; the
others refuse a missing one, naming the path they looked at, so that ``qabot list`` run in the
wrong folder says so instead of creating an empty ``data/qabot.db`` there.
"""

import json
import sqlite3
from pathlib import Path

import click

from qabot.bot.config import Settings
from qabot.bot.ids import NotAnId, parse_id
from qabot.index.store import SchemaTooNew, Store


class ExistingPath(click.Path):
    """``click.Path(exists=True)``, refusing as a usage error a name no file can have (a NUL in it)."""

    def __init__(self, **kwargs):
        super().__init__(exists=True, **kwargs)

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except ValueError as error:  # os.stat: "embedded null byte"
            self.fail(f"{value!r}: {error}", param, ctx)


class IdOf(click.ParamType):
    """An article's or a feed's id (``bot.ids.parse_id``): ASCII digits, else a usage error; one
    beyond SQLite's integers names no row, and is refused as not found before the store is opened."""

    name = "id"

    def __init__(self, kind: str):
        self.kind = kind

    def convert(self, value, param, ctx):
        try:
            number = parse_id(value)
        except NotAnId as error:
            self.fail(str(error), param, ctx)
        if number is None:
            raise click.ClickException(f"there is no {self.kind} {value}")
        return number


ARTICLE_ID, FEED_ID = IdOf("article"), IdOf("feed")


def settings_of(ctx: click.Context) -> Settings:
    """The settings the ``qabot`` group read (``--db`` applied)."""
    return ctx.obj["settings"]


def collection_path(ctx: click.Context) -> Path:
    """The collection file's absolute path, as the messages name it."""
    return Path(settings_of(ctx).db).absolute()  # (--db sets a str)


def no_collection(path: Path) -> str:
    """What a command that only reads says when there is no collection at ``path``."""
    return f"no collection at {path} (set QABOT_DB or --db, or add an article with qabot add)"


def empty_collection(path: Path) -> str:
    """What a command says when the collection at ``path`` holds no article."""
    return f"the collection {path} is empty: add articles with qabot add FILE|URL or qabot import FOLDER"


def store_of(ctx: click.Context, *, create: bool = False) -> Store:
    """The collection, opened once and closed when the command ends, searched with QABOT_INDEX's index.

    :param create: create it when there is none (the commands that add articles); otherwise a
        missing collection is refused with ``no_collection`` and nothing is created.
    """
    if "store" not in ctx.obj:
        path = collection_path(ctx)
        if not create and not path.exists():
            raise click.ClickException(no_collection(path))
        engine = settings_of(ctx).index  # QABOT_INDEX: no shard is contacted until searched or changed
        try:
            ctx.obj["store"] = ctx.with_resource(Store(path, engine=engine))
        except (sqlite3.DatabaseError, SchemaTooNew, OSError) as error:
            raise click.ClickException(f"cannot open the collection {path}: {error}") from None
    return ctx.obj["store"]


def echo_json(value) -> None:
    """Print a value as indented JSON (non-ASCII kept as is)."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def reader_of(ctx: click.Context):
    """The reader QABOT_QA_MODEL names (the sentence reader when the model cannot be loaded)."""
    from qabot.retrieval.loading import load_reader

    settings = settings_of(ctx)
    return load_reader(settings.qa_model, **settings.reader_options())


def encoder_of(ctx: click.Context):
    """The sentence encoder for hybrid search when QABOT_ENCODER=auto and it is installed, else None."""
    from qabot.retrieval.loading import load_encoder

    return load_encoder(settings_of(ctx).encoder == "auto")


def embed_new_chunks(ctx: click.Context) -> None:
    """Store the embeddings of chunks that have none (hybrid search), when the encoder is on."""
    encoder = encoder_of(ctx)
    if encoder is not None:
        from qabot.retrieval.embeddings import embed_missing

        embed_missing(store_of(ctx), encoder)


def malformed(ctx: click.Context, error: Exception) -> None:
    """Exit 2 with ``Error: <reason>``: a file given to the command cannot be read as it must be."""
    click.echo(f"Error: {error}", err=True)
    ctx.exit(2)
