"""Feeds (index/feeds.py, index/feed_parsing.py): following, one update pass, bad feeds, retries.

Every feed and page is served by the local page server on 127.0.0.1.
"""

import sqlite3

import pytest

from qabot.index import feeds
from qabot.index.drafts import store_draft
from qabot.index.feed_parsing import FeedError, discover_feed, parse_feed, read_feed
from qabot.index.fetch import Page
from qabot.index.ingest import from_url
from qabot.index.store import Store
from tests.index.test_schema import _back_to_schema_5
from tests.page_server import PageServer, news_page, news_site, page, rss_feed

RSS = "application/rss+xml"
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">The &lt;b&gt;Kestrel&lt;/b&gt; Bay Courier</title>
<entry><title>Story 1</title><link rel="alternate" href="news/1"/><published>2024-04-05T23:30:00-02:00</published></entry>
<entry><title>Story 2</title><link rel="alternate" href="http://127.0.0.1:{port}/news/2"/><updated>2024-04-06T10:00:00Z</updated></entry>
</feed>"""
SITE_PAGE = """<!DOCTYPE html><html><head><title>Kestrel Bay Courier</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/atom+xml" title="All stories" href="/atom.xml">
<link rel="alternate" type="application/rss+xml" href="/feed.xml">
</head><body><p>Welcome</p></body></html>"""


@pytest.fixture
def site():
    with PageServer(news_site(5)) as served:
        yield served


def follow(store, url):
    return feeds.follow(store, url, allow_private=True, added_by="test")


def update(store, **options):
    return feeds.update_feeds(store, allow_private=True, **options)


def stories(store) -> dict[str, tuple[str, str | None]]:
    """Each stored article's URL path → (title, date)."""
    return {a.url.split(":", 2)[2].split("/", 1)[1]: (a.title, a.published) for a in store.list_articles()}


@pytest.mark.slow
def test_one_pass_adds_every_entry_with_its_title_link_and_date_and_the_next_adds_nothing(store, site):
    feed = follow(store, site.url("/feed.xml"))
    assert (feed.id, feed.title, feed.url, feed.page_url) == (1, "Aldermoor Echo news", site.url("/feed.xml"), None)
    assert feed.checked_at is None and feed.articles == 0  # following adds nothing yet

    (check,) = update(store)
    assert (len(check.added), check.skipped, check.failed, check.error, check.note) == (5, 0, [], None, None)
    assert stories(store) == {f"news/{n}": (f"Story {n}", "2024-03-01") for n in range(5)}
    tram = store.get_article(check.added[0])
    assert tram.url == site.url("/news/4") and tram.added_by == "feed:1"
    assert "spend 39 thousand pounds on story 4's bridge" in tram.text and "Copyright" not in tram.text
    assert store.verify() == []

    site.requests.clear()
    (again,) = update(store)
    assert (again.added, again.skipped, again.failed) == ([], 0, [])
    assert site.requests == ["/feed.xml"]  # the pages already added are not fetched again
    (listed,) = feeds.list_feeds(store)
    assert listed.articles == 5 and listed.checked_at and listed.last_error is None


def test_the_page_date_is_taken_when_the_entry_has_none(store):
    items = [("Dated story", "/news/1", None), (None, "/news/2", None)]
    routes = {"/feed.xml": page(rss_feed(items), RSS), "/news/1": page(news_page(1, "2024-02-20")),
              "/news/2": page(news_page(2, "2024-02-21"))}
    with PageServer(routes) as server:
        follow(store, server.url("/feed.xml"))
        update(store)
    assert stories(store) == {"news/1": ("Dated story", "2024-02-20"), "news/2": ("Story 2 from Gorsefield", "2024-02-21")}


def test_a_site_page_is_followed_through_the_first_feed_it_links_to(store):
    with PageServer() as server:
        server.routes.update({"/": page(SITE_PAGE), "/news/1": page(news_page(1)), "/news/2": page(news_page(2)),
                              "/atom.xml": page(ATOM.format(port=server.port), "application/atom+xml")})
        feed = follow(store, server.url("/"))
        assert (feed.url, feed.page_url, feed.title) == (server.url("/atom.xml"), server.url("/"), "The Kestrel Bay Courier")
        (check,) = update(store)
    # a relative link is resolved against the feed's URL; dates are those of the entries, in UTC
    assert check.error is None and stories(store) == {
        "news/1": ("Story 1", "2024-04-06"), "news/2": ("Story 2", "2024-04-06")}


def test_discovery_honours_base_and_ignores_other_links():
    html = b"""<html><head><base href="https://news.example/en/"><link rel="alternate" hreflang="fr" href="/fr/">
    <link rel="Alternate feed" type="application/RSS+xml; charset=utf-8" href="rss"></head></html>"""
    assert discover_feed(Page("https://news.example/", "text/html", html)) == "https://news.example/en/rss"
    assert discover_feed(Page("https://news.example/", "text/html", b"")) is None
    assert discover_feed(Page("https://news.example/", "text/html", SITE_PAGE.replace("alternate", "x").encode())) is None


@pytest.mark.parametrize(
    "path, routes, reason",
    [
        ("/plain", {}, "is text/plain, not an RSS or Atom feed or a web page"),
        ("/xml", {"/xml": page("this is not { xml", "application/xml")}, "is not an RSS or Atom feed"),
        ("/article", {}, "is a web page that links to no RSS or Atom feed"),
        ("/site", {"/site": page(SITE_PAGE.replace("/atom.xml", "/article"))}, "could not be read: "),
        ("/huge", {}, "is larger than 5,000,000 bytes"),
        ("/missing", {}, "answered HTTP 404"),
        ("/image.png", {}, "is image/png"),
    ],
)
def test_what_is_no_feed_is_refused_in_one_line_and_nothing_is_kept(store, path, routes, reason):
    with PageServer(routes) as server:
        with pytest.raises(FeedError, match=reason) as refused:
            follow(store, server.url(path))
    assert "\n" not in str(refused.value) and feeds.list_feeds(store) == []


def test_private_addresses_and_other_schemes_are_refused(store, site):
    with pytest.raises(FeedError, match=r"private or local address.*\(set QABOT_ALLOW_PRIVATE_URLS=1 to allow private addresses\)$"):
        feeds.follow(store, site.url("/feed.xml"))  # allow_private is off by default
    with pytest.raises(FeedError, match="only http and https"):
        follow(store, "ftp://127.0.0.1/feed.xml")
    assert feeds.list_feeds(store) == [] and site.requests == []


def test_a_feed_is_followed_once(store, site):
    first = follow(store, site.url("/feed.xml"))
    site.routes["/"] = page(SITE_PAGE.replace("/atom.xml", "/feed.xml"))
    with pytest.raises(feeds.AlreadyFollowed, match="already followed as feed 1") as refused:
        follow(store, site.url("/"))  # the page's feed is the same one
    assert refused.value.feed_id == first.id and len(feeds.list_feeds(store)) == 1


def test_feedparser_reads_only_the_bytes_it_is_given(site):
    entity = f"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY story SYSTEM "{site.url('/secret')}">]>
    <rss version="2.0"><channel><title>&story;</title></channel></rss>"""
    parsed = parse_feed(Page(site.url("/feed.xml"), "application/rss+xml", entity.encode()))
    assert parsed.entries == [] and site.requests == []  # the external entity was not fetched
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):  # not read as a file name
        parse_feed(Page(site.url("/feed.xml"), "application/xml", b"/etc/hostname"))


def test_entries_without_a_web_link_are_left_out_with_a_note(store):
    items = [("Story 1", "/news/1", None), ("No link", None, None), ("Script", "javascript:alert(1)", None),
             ("Story 1 again", "/news/1", None)]
    with PageServer({"/feed.xml": page(rss_feed(items), RSS), "/news/1": page(news_page(1))}) as server:
        follow(store, server.url("/feed.xml"))
        (check,) = update(store)
    assert len(check.added) == 1 and check.note == "2 entries without a web link left out"
    assert feeds.list_feeds(store)[0].last_note == check.note


@pytest.mark.slow
def test_a_feed_of_ten_thousand_entries_is_taken_a_few_at_a_time(store):
    items = [(f"Story {n}", f"/news/{n}", None) for n in range(10_000)]
    routes = {"/feed.xml": page(rss_feed(items), RSS)} | {f"/news/{n}": page(news_page(n)) for n in range(12)}
    with PageServer(routes) as server:
        follow(store, server.url("/feed.xml"))
        (first,) = update(store, max_entries=5)
        assert len(first.added) == 5 and len(server.requests) == 2 + 5  # the feed, when followed and now
        assert first.note == "9,995 entries left for the next checks (at most 5 are fetched a check)"
        (second,) = update(store, max_entries=5)
    assert len(second.added) == 5 and sorted(stories(store)) == sorted(f"news/{n}" for n in range(10))


@pytest.mark.slow
def test_entries_already_in_the_collection_are_skipped(store, site):
    store_draft(store, from_url(site.url("/news/1"), allow_private=True))  # same link, added by hand
    site.routes["/copy"] = page(news_page(2))  # same text as /news/2, under another link
    store_draft(store, from_url(site.url("/copy"), allow_private=True))
    follow(store, site.url("/feed.xml"))
    (check,) = update(store)
    assert (len(check.added), check.skipped, check.failed) == (3, 2, [])
    assert store.counts()["articles"] == 5 and store.verify() == []


def test_a_failed_entry_is_retried_on_the_next_passes_and_given_up_after_a_few(store, site):
    site.routes["/news/1"] = page("<h1>Server error</h1>", status=500)
    site.routes["/news/2"] = page("<h1>Gone</h1>", status=404)
    follow(store, site.url("/feed.xml"))
    (check,) = update(store)
    assert len(check.added) == 3 and [link for link, _ in check.failed] == [site.url("/news/2"), site.url("/news/1")]
    assert check.note == ("2 entries could not be added (tried again on the next checks, 5 times at most);"
                          f" the first: {site.url('/news/2')} answered HTTP 404")
    assert feeds.list_feeds(store)[0].retrying == 2

    site.routes["/news/1"] = page(news_page(1))  # back up
    (check,) = update(store)
    assert len(check.added) == 1 and stories(store)["news/1"] == ("Story 1", "2024-03-01")
    for _ in range(feeds.MAX_ATTEMPTS - 2):
        update(store)
    (listed,) = feeds.list_feeds(store)
    assert (listed.articles, listed.retrying, listed.given_up) == (4, 0, 1)
    site.requests.clear()
    update(store)
    assert site.requests == ["/feed.xml"]  # given up: not fetched again


def test_a_bad_feed_keeps_its_error_and_never_stops_the_others(store, site):
    with PageServer({"/feed.xml": page(rss_feed([("Story 0", "/news/0", None)]), RSS)}) as other:
        follow(store, other.url("/feed.xml"))
        follow(store, site.url("/feed.xml"))
        other.routes["/feed.xml"] = page("<html><body>We moved!</body></html>")  # the feed became a web page
        broken, working = update(store)
    assert broken.added == [] and broken.error.startswith(f"{other.url('/feed.xml')} is not an RSS or Atom feed")
    assert len(working.added) == 5 and working.error is None
    assert [f.last_error for f in feeds.list_feeds(store)] == [broken.error, None]


@pytest.mark.slow
def test_unfollowing_forgets_the_feed_but_keeps_its_articles(store, site):
    follow(store, site.url("/feed.xml"))
    update(store)
    gone = feeds.unfollow(store, 1)
    assert (gone.id, gone.articles) == (1, 5)
    assert feeds.list_feeds(store) == [] and store.counts()["articles"] == 5
    assert store.db.execute("SELECT count(*) FROM feed_entries").fetchone()[0] == 0
    with pytest.raises(feeds.FeedNotFound, match="there is no feed 1"):
        feeds.unfollow(store, 1)
    assert follow(store, site.url("/feed.xml")).id == 2  # a number is never given twice
    (check,) = update(store)
    assert check.added == [] and check.skipped == 5  # its articles are still in the collection


@pytest.mark.slow
def test_removing_an_article_a_feed_brought_does_not_bring_it_back(store, site):
    follow(store, site.url("/feed.xml"))
    (check,) = update(store)
    store.remove_article(check.added[0])
    (again,) = update(store)
    assert again.added == [] and store.counts()["articles"] == 4
    assert feeds.list_feeds(store)[0].articles == 5  # what it brought, removed since or not


@pytest.mark.slow
def test_a_pass_asked_to_stop_ends_between_entries_and_the_next_completes_it(store, site):
    follow(store, site.url("/feed.xml"))
    asked = []
    (check,) = update(store, should_stop=lambda: len(asked.append(1) or asked) > 2)
    assert 0 < len(check.added) < 5
    update(store)
    assert sorted(stories(store)) == [f"news/{n}" for n in range(5)] and store.verify() == []


@pytest.mark.slow
def test_follows_and_their_state_survive_reopening(db_path, site):
    with Store(db_path) as store:
        follow(store, site.url("/feed.xml"))
        site.routes["/news/3"] = page("down", status=503)
        update(store)
        before = feeds.list_feeds(store)
    with Store(db_path) as store:
        assert feeds.list_feeds(store) == before and before[0].retrying == 1
        site.routes["/news/3"] = page(news_page(3))
        (check,) = update(store)
        assert len(check.added) == 1 and feeds.get_feed(store, 1).articles == 5


def test_a_schema_5_collection_gets_the_feed_tables(db_path):
    with Store(db_path) as store:
        store.add_article(title="Tram", text="The tram runs along the river.")
        _back_to_schema_5(store)
        store.db.execute("PRAGMA user_version = 5")
    with Store(db_path) as store:
        assert feeds.list_feeds(store) == [] and store.counts()["articles"] == 1


@pytest.mark.slow
def test_a_full_disk_ends_the_pass_with_nothing_half_stored(store, site, monkeypatch):
    follow(store, site.url("/feed.xml"))
    real = store_draft

    def full(*args, **kwargs):
        real(*args, **kwargs)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(feeds, "store_draft", full)
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        update(store)
    assert store.counts()["articles"] == 0 and store.verify() == []
    monkeypatch.undo()
    (check,) = update(store)
    assert len(check.added) == 5


def test_read_feed_reads_a_feed_served_as_xml(site):
    site.routes["/text-xml"] = page(rss_feed([("One", "https://news.example/1", None)]), "text/xml")
    url, parsed = read_feed(site.url("/text-xml"), allow_private=True)
    assert url == site.url("/text-xml") and [e.link for e in parsed.entries] == ["https://news.example/1"]
