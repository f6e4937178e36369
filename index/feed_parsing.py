"""Reading feeds: a feed's bytes → its entries (feedparser), a web page → the URL of its feed.

The feed is fetched with the safe fetcher (``index.fetch``: public addresses only, size cap, one
deadline) and its bytes handed to feedparser in a stream, so feedparser never touches the network or
the disk itself. A web page's feed is found through its ``<link rel="alternate"
type="application/rss+xml">`` (or Atom), read with lxml. ``index.feeds`` keeps what is followed.
"""

import io
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import feedparser
import lxml.html
from lxml import etree

from qabot.index.fetch import FetchError, Page, PrivateAddress, check_url, fetch
from qabot.index.store import MAX_TITLE_CHARS, printable

#: The content types a feed is served with.
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/x-rss+xml",
    "application/xml",
    "text/xml",
)
#: The ``type`` of a ``<link rel="alternate">`` that names a feed.
LINKED_FEED_TYPES = {"application/rss+xml", "application/atom+xml"}
_WEB_PAGE_TYPES = ("text/html", "application/xhtml+xml")


class FeedError(ValueError):
    """The URL is no feed that can be followed or read; the message says why, in one line."""


@dataclass(frozen=True)
class Entry:
    """One entry of a feed: its link (absolute, http or https), title and date (YYYY-MM-DD)."""

    link: str
    title: str | None
    published: str | None


@dataclass(frozen=True)
class ParsedFeed:
    """A feed read by feedparser: its title, its entries with a link, how many had none."""

    title: str | None
    entries: list[Entry]
    without_link: int


def _plain(value: str | None, detail: dict | None = None) -> str | None:
    """A feed's title as one printable line (HTML titles lose their tags)."""
    if value and detail and detail.get("type") in _WEB_PAGE_TYPES:
        try:
            value = lxml.html.fragment_fromstring(value, create_parent="div").text_content()
        except (etree.ParserError, ValueError):
            pass
    value = printable(value or "")[:MAX_TITLE_CHARS]
    return value or None


def _date(entry: dict) -> str | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")  # UTC, by feedparser
    return time.strftime("%Y-%m-%d", parsed) if parsed else None


def parse_feed(page: Page) -> ParsedFeed:
    """The feed in a fetched page, read by feedparser from its bytes.

    Entries without an http(s) link are counted, not kept; a link given twice is kept once.

    :raises FeedError: the page holds no RSS or Atom feed.
    """
    parsed = feedparser.parse(
        io.BytesIO(page.body),  # a stream: given bytes or a str, feedparser may open a file by that name
        response_headers={"content-location": page.url, "content-type": page.content_type},
    )
    if not parsed.version:
        reason = parsed.get("bozo_exception")
        raise FeedError(f"{page.url} is not an RSS or Atom feed" + (f" ({reason})" if reason else ""))
    entries, without_link = {}, 0
    for item in parsed.entries:
        link = (item.get("link") or "").strip()
        try:
            check_url(link)
        except FetchError:
            without_link += 1
            continue
        entries.setdefault(link, Entry(link, _plain(item.get("title"), item.get("title_detail")), _date(item)))
    title = _plain(parsed.feed.get("title"), parsed.feed.get("title_detail"))
    return ParsedFeed(title, list(entries.values()), without_link)


def discover_feed(page: Page) -> str | None:
    """The URL of the first feed a web page links to (``<link rel="alternate" type=...>``), or None."""
    try:
        document = lxml.html.document_fromstring(page.body)
    except (etree.ParserError, ValueError):  # an empty page, or no HTML at all
        return None
    base = page.url
    for tag in document.iter("base"):
        base = urljoin(base, (tag.get("href") or "").strip())
        break
    for link in document.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind in LINKED_FEED_TYPES and href:
            return urljoin(base, href)
    return None


def _fetch(url: str, allow_private: bool) -> Page:
    try:
        return fetch(
            url, allow_private=allow_private, accept=FEED_TYPES + _WEB_PAGE_TYPES,
            kind="an RSS or Atom feed or a web page",
        )
    except PrivateAddress as error:
        raise FeedError(error.with_hint()) from None
    except FetchError as error:
        raise FeedError(str(error)) from None


def read_feed(url: str, *, allow_private: bool = False, discover: bool = False) -> tuple[str, ParsedFeed]:
    """Fetch and parse a feed: ``(the feed's URL, the feed)``.

    :param discover: when ``url`` is a web page, follow its link to its feed.
    :raises FeedError: not fetched, not a feed (and, with ``discover``, linking to none).
    """
    page = _fetch(url, allow_private)
    try:
        return url, parse_feed(page)
    except FeedError:
        if not discover or page.content_type not in _WEB_PAGE_TYPES:
            raise
    found = discover_feed(page)
    if found is None:
        raise FeedError(f"{url} is a web page that links to no RSS or Atom feed") from None
    try:
        return found, parse_feed(_fetch(found, allow_private))
    except FeedError as error:
        raise FeedError(f"the feed {url} links to could not be read: {error}") from None
