"""News feeds: follow RSS and Atom feeds, and add each new entry's page to the collection.

``follow`` takes a feed URL, or a web page whose feed ``index.feed_parsing`` finds. ``update_feeds``
is one pass over every followed feed: the feed is read (``index.feed_parsing.read_feed``: the safe
fetcher, then feedparser), and each new entry's page goes through ``index.ingest.from_url``, as
``/add`` does, a few pages at a time. It is stored with its link and the entry's title and date,
the page's when the entry has none (the feed's date is the publisher's; a page's is often a guess:
trafilatura dates an undated page from a "Copyright 2024" footer as 2024-01-01).

What became of each entry is kept beside the articles (schema 6): added, skipped (the collection
already holds its link or its text), failed (tried again on the next passes) or given up (after
``MAX_ATTEMPTS`` failures). An article and its entry's row are stored in one transaction, so a pass
killed at any moment loses nothing and stores nothing twice: the next pass does what is left.
A feed that cannot be read (not a feed, too large, unreachable) keeps a one-line ``last_error``; what
was left out (entries without links, more new entries than ``MAX_ENTRIES_PER_PASS``, failures) goes
in ``last_note``. Neither stops the other feeds. Only a database that cannot write (a full disk)
ends a pass, with ``sqlite3.OperationalError``.
"""

import collections
import itertools
import logging
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from qabot.index.drafts import Draft, IngestError, store_draft
from qabot.index.feed_parsing import Entry, FeedError, read_feed
from qabot.index.ingest import from_url
from qabot.index.store import ArticleRefused, DuplicateArticle, Store

log = logging.getLogger(__name__)

#: At most this many entries of a feed are fetched a pass (retries first); the rest wait.
MAX_ENTRIES_PER_PASS = 200
#: An entry whose page failed this many times is given up.
MAX_ATTEMPTS = 5
#: Entry pages fetched at once.
FETCH_WORKERS = 4


class AlreadyFollowed(FeedError):
    """The feed is followed already."""

    def __init__(self, feed_id: int):
        super().__init__(f"this feed is already followed as feed {feed_id}")
        self.feed_id = feed_id


class FeedNotFound(LookupError):
    """No followed feed has the given number."""


@dataclass(frozen=True)
class Feed:
    """A followed feed and how its checks went: ``articles`` added, entries retrying or given up."""

    id: int
    url: str
    page_url: str | None
    title: str | None
    added_at: str
    added_by: str | None
    checked_at: str | None
    last_error: str | None
    last_note: str | None
    articles: int
    retrying: int
    given_up: int


@dataclass
class FeedCheck:
    """What one pass did with one feed: articles added, entries skipped or failed, the feed's error."""

    feed_id: int
    title: str | None
    url: str
    added: list[int] = field(default_factory=list)
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    note: str | None = None


def _entries(count: int) -> str:
    return f"{count:,} {'entry' if count == 1 else 'entries'}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- the followed feeds --------------------------------------------------------------------------

_FEED_SQL = """
    SELECT f.id, f.url, f.page_url, f.title, f.added_at, f.added_by, f.checked_at, f.last_error,
           f.last_note, coalesce(sum(e.status = 'added'), 0), coalesce(sum(e.status = 'failed'), 0),
           coalesce(sum(e.status = 'gave_up'), 0)
    FROM feeds f LEFT JOIN feed_entries e ON e.feed_id = f.id
"""


def list_feeds(store: Store) -> list[Feed]:
    """The followed feeds, in the order they were followed."""
    with store.lock:
        rows = store.db.execute(_FEED_SQL + " GROUP BY f.id ORDER BY f.id").fetchall()
    return [Feed(*row) for row in rows]


def get_feed(store: Store, feed_id: int) -> Feed:
    """The followed feed with this number.

    :raises FeedNotFound: no such feed.
    """
    with store.lock:
        row = store.db.execute(_FEED_SQL + " WHERE f.id = ? GROUP BY f.id", [feed_id]).fetchone()
    if row is None:
        raise FeedNotFound(f"there is no feed {feed_id}")
    return Feed(*row)


def follow(store: Store, url: str, *, allow_private: bool = False, added_by: str | None = None) -> Feed:
    """Follow the feed at ``url``, or the feed a web page at ``url`` links to; its entries are
    added by the next ``update_feeds``.

    :param allow_private: accept private and loopback addresses (``QABOT_ALLOW_PRIVATE_URLS``).
    :param added_by: who follows it (e.g. ``telegram:12345`` or ``cli``).
    :raises FeedError: no feed could be read there.
    :raises AlreadyFollowed: that feed is followed already.
    """
    url = url.strip()
    feed_url, parsed = read_feed(url, allow_private=allow_private, discover=True)
    with store.transaction():
        row = store.db.execute("SELECT id FROM feeds WHERE url = ?", [feed_url]).fetchone()
        if row:
            raise AlreadyFollowed(row[0])
        feed_id = store.db.execute(
            "INSERT INTO feeds (url, page_url, title, added_at, added_by) VALUES (?, ?, ?, ?, ?)",
            [feed_url, url if url != feed_url else None, parsed.title, _now(), added_by],
        ).lastrowid
    return get_feed(store, feed_id)


def unfollow(store: Store, feed_id: int) -> Feed:
    """Stop following a feed (and forget its entries); the articles it brought stay.

    :raises FeedNotFound: no such feed.
    """
    with store.lock, store.transaction():
        feed = get_feed(store, feed_id)
        store.db.execute("DELETE FROM feeds WHERE id = ?", [feed_id])
    return feed


# --- one pass ------------------------------------------------------------------------------------


def update_feeds(
    store: Store,
    *,
    allow_private: bool = False,
    max_entries: int = MAX_ENTRIES_PER_PASS,
    should_stop: Callable[[], bool] = lambda: False,
) -> list[FeedCheck]:
    """Check every followed feed once and add its new entries; one feed's trouble never stops the rest.

    :param allow_private: accept private and loopback addresses (``QABOT_ALLOW_PRIVATE_URLS``).
    :param max_entries: at most this many entry pages fetched per feed.
    :param should_stop: asked between entries; True ends the pass there (the rest waits for the next).
    :raises sqlite3.OperationalError: the database cannot be written (a full disk, ...).
    """
    checks = []
    for feed in list_feeds(store):
        if should_stop():
            break
        try:
            checks.append(update_feed(store, feed.id, allow_private=allow_private,
                                      max_entries=max_entries, should_stop=should_stop))
        except FeedNotFound:  # unfollowed meanwhile
            continue
    return checks


def update_feed(
    store: Store,
    feed_id: int,
    *,
    allow_private: bool = False,
    max_entries: int = MAX_ENTRIES_PER_PASS,
    should_stop: Callable[[], bool] = lambda: False,
) -> FeedCheck:
    """Check one feed: retry its failed entries, add its new ones, keep what happened.

    :raises FeedNotFound: no such feed.
    :raises sqlite3.OperationalError: the database cannot be written (a full disk, ...).
    """
    feed = get_feed(store, feed_id)
    check = FeedCheck(feed.id, feed.title, feed.url)
    parsed = None
    try:
        parsed = read_feed(feed.url, allow_private=allow_private)[1]
    except FeedError as error:
        check.error = str(error)
    except Exception as error:  # feedparser or lxml tripping on a feed: this feed's problem only
        log.exception("could not read feed %s", feed.id)
        check.error = f"the feed could not be read ({type(error).__name__}: {error})"
    notes = []
    with store.lock:
        retries = [Entry(*row) for row in store.db.execute(
            "SELECT link, title, published FROM feed_entries WHERE feed_id = ? AND status = 'failed'"
            " ORDER BY seen_at, rowid", [feed_id])]
        seen = {link for (link,) in store.db.execute("SELECT link FROM feed_entries WHERE feed_id = ?", [feed_id])}
    new = [entry for entry in (parsed.entries if parsed else []) if entry.link not in seen]
    if parsed and parsed.without_link:
        notes.append(f"{_entries(parsed.without_link)} without a web link left out")
    work = retries + new
    if len(work) > max_entries:
        notes.append(f"{_entries(len(work) - max_entries)} left for the next checks"
                     f" (at most {max_entries:,} are fetched a check)")
    try:
        for entry, outcome in _fetched(work[:max_entries], allow_private, should_stop):
            _settle(store, feed_id, entry, outcome, check)
    except sqlite3.IntegrityError:  # the feed was unfollowed meanwhile: its entries have no row to go to
        raise FeedNotFound(f"there is no feed {feed_id}") from None
    if check.failed:
        notes.append(f"{_entries(len(check.failed))} could not be added (tried again on the next checks,"
                     f" {MAX_ATTEMPTS} times at most); the first: {check.failed[0][1]}")
    check.note = "; ".join(notes) or None
    check.title = (parsed.title if parsed else None) or feed.title
    with store.transaction():
        store.db.execute(
            "UPDATE feeds SET checked_at = ?, last_error = ?, last_note = ?, title = ? WHERE id = ?",
            [_now(), check.error, check.note, check.title, feed_id],
        )
    return check


def _page_of(entry: Entry, allow_private: bool) -> Draft | Exception:
    """The entry's page read as ``/add`` reads one, or why it could not be."""
    try:
        return from_url(entry.link, allow_private=allow_private)
    except ArticleRefused as error:
        return error
    except Exception as error:  # anything else going wrong with one page: this entry's problem only
        log.exception("could not read %s", entry.link)
        return IngestError(f"the page could not be read ({type(error).__name__}: {error})")


def _fetched(entries: list[Entry], allow_private: bool, should_stop: Callable[[], bool]) -> Iterator[tuple]:
    """``(entry, its page's draft or the error)`` in order, ``FETCH_WORKERS`` pages fetched at once."""
    pool = ThreadPoolExecutor(FETCH_WORKERS, thread_name_prefix="qabot-feed")
    waiting = iter(entries)
    running = collections.deque(
        (entry, pool.submit(_page_of, entry, allow_private)) for entry in itertools.islice(waiting, FETCH_WORKERS)
    )
    try:
        while running:
            entry, page = running.popleft()
            outcome = page.result()
            if should_stop():  # asked while the page was fetched: it waits for the next pass
                return
            running.extend((more, pool.submit(_page_of, more, allow_private)) for more in itertools.islice(waiting, 1))
            yield entry, outcome
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _settle(store: Store, feed_id: int, entry: Entry, outcome: Draft | Exception, check: FeedCheck) -> None:
    """Store the entry's article and its row in one transaction, or keep why it was not stored."""
    if isinstance(outcome, Exception):
        _failed(store, feed_id, entry, str(outcome), check)
        return
    try:
        with store.transaction():
            article = store_draft(
                store, outcome, title=entry.title, published=entry.published or outcome.published,
                added_by=f"feed:{feed_id}",
            )
            _keep(store, feed_id, entry, "added", article_id=article.id)
        check.added.append(article.id)
    except DuplicateArticle as error:
        with store.transaction():
            _keep(store, feed_id, entry, "skipped", error=str(error))
        check.skipped += 1
    except ArticleRefused as error:  # too long, a bad date, ...: retried, in case the page changes
        _failed(store, feed_id, entry, str(error), check)


def _failed(store: Store, feed_id: int, entry: Entry, reason: str, check: FeedCheck) -> None:
    with store.transaction():
        row = store.db.execute(
            "SELECT attempts FROM feed_entries WHERE feed_id = ? AND link = ?", [feed_id, entry.link]
        ).fetchone()
        attempts = (row[0] if row else 0) + 1
        _keep(store, feed_id, entry, "gave_up" if attempts >= MAX_ATTEMPTS else "failed",
              error=reason, attempts=attempts)
    check.failed.append((entry.link, reason))


def _keep(store, feed_id, entry, status, *, error=None, article_id=None, attempts=None) -> None:
    """Write the entry's row (inside a transaction); an entry added or skipped stays so."""
    store.db.execute(
        "INSERT INTO feed_entries (feed_id, link, title, published, status, attempts, last_error,"
        " article_id, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (feed_id, link) DO UPDATE SET status = excluded.status,"
        " attempts = excluded.attempts, last_error = excluded.last_error, article_id = excluded.article_id"
        " WHERE feed_entries.status NOT IN ('added', 'skipped')",
        [feed_id, entry.link, entry.title, entry.published, status, attempts or 1, error, article_id, _now()],
    )
