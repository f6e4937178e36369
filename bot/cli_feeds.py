"""The ``qabot`` commands for news feeds: follow, feeds, unfollow and update-feeds (one pass, for cron).

A thin skin over ``index.feeds``: each command opens the store, calls one function and prints the
result, as text or as JSON with ``--json``. ``bot.cli`` adds these commands to its group.
"""

import dataclasses
import sqlite3

import click

from qabot.bot.cli_context import FEED_ID, echo_json, embed_new_chunks, settings_of, store_of
from qabot.bot.formatting import articles_kept, feed_as_text, feed_check_as_text


@click.command(short_help="Follow an RSS or Atom feed, or a web page's feed.")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print the feed as JSON.")
@click.pass_context
def follow(ctx, url, as_json) -> None:
    """Follow an RSS or Atom feed, or the feed a web page links to; update-feeds adds its articles."""
    from qabot.index.feeds import FeedError
    from qabot.index.feeds import follow as follow_feed

    try:
        feed = follow_feed(
            store_of(ctx, create=True), url, allow_private=settings_of(ctx).allow_private_urls, added_by="cli"
        )
    except FeedError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        echo_json(dataclasses.asdict(feed))
        return
    click.echo(f"Following feed {feed.id}: {feed.title or 'Untitled feed'} ({feed.url})")
    click.echo("Its articles are added by the next qabot update-feeds, or by the running bot.")


@click.command(short_help="List the followed feeds and their last checks.")
@click.option("--json", "as_json", is_flag=True, help="Print the feeds as JSON.")
@click.pass_context
def feeds(ctx, as_json) -> None:
    """List the followed feeds: when each was last checked, the articles it brought, its last error."""
    from qabot.index.feeds import list_feeds

    followed = list_feeds(store_of(ctx))
    if as_json:
        echo_json([dataclasses.asdict(feed) for feed in followed])
        return
    if not followed:
        click.echo("No feed is followed. Follow one with: qabot follow URL")
    for feed in followed:
        click.echo(feed_as_text(feed))


@click.command(short_help="Stop following a feed (its articles stay).")
@click.argument("feed_id", metavar="N", type=FEED_ID)
@click.pass_context
def unfollow(ctx, feed_id) -> None:
    """Stop following feed N (its number in qabot feeds); the articles it brought stay."""
    from qabot.index.feeds import FeedNotFound
    from qabot.index.feeds import unfollow as unfollow_feed

    try:
        feed = unfollow_feed(store_of(ctx), feed_id)
    except FeedNotFound as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Unfollowed feed {feed.id}: {feed.title or feed.url} ({articles_kept(feed.articles)})")


@click.command("update-feeds", short_help="Check every followed feed once (for cron).")
@click.option("--json", "as_json", is_flag=True, help="Print what was done with each feed as JSON.")
@click.pass_context
def update_feeds(ctx, as_json) -> None:
    """Check every followed feed once and add the new entries' pages (for cron).

    Entries already in the collection are skipped; an entry whose page cannot be added is tried
    again on the next passes (up to 5 times). Exit status: 0 when every feed was read, 1 when a
    feed could not be read (its error on stderr, and in qabot feeds) or the collection cannot be
    written.
    """
    from qabot.index.feeds import update_feeds as update_all

    store = store_of(ctx)
    try:
        checks = update_all(store, allow_private=settings_of(ctx).allow_private_urls)
    except sqlite3.OperationalError as error:  # a full disk: what was added so far is kept
        raise click.ClickException(f"the update stopped: {error}") from None
    if any(check.added for check in checks):
        embed_new_chunks(ctx)
    if as_json:
        echo_json([dataclasses.asdict(check) for check in checks])
    elif not checks:
        click.echo("No feed is followed. Follow one with: qabot follow URL")
    for check in checks:
        if not as_json:
            click.echo(feed_check_as_text(check))
        if check.error:
            click.echo(f"failed  feed {check.feed_id}: {check.error}", err=True)
    if any(check.error for check in checks):
        ctx.exit(1)


#: What ``bot.cli`` adds to the ``qabot`` group.
COMMANDS = (follow, feeds, unfollow, update_feeds)
