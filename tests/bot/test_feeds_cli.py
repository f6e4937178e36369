"""bot/cli_feeds.py: ``qabot follow``, ``feeds``, ``unfollow`` and ``update-feeds`` on a real collection
file, with feeds served from 127.0.0.1; and ``update-feeds`` killed mid-pass loses and repeats nothing."""

import json

import pytest

from benchmarks.reliability import feed_kill_loop
from tests.bot import test_cli
from tests.page_server import PageServer, news_site, page

#: test_cli's fixtures (qabot --db <tmp file>, no settings from outside) and checks
runner, qabot, ok, refused = test_cli.runner, test_cli.qabot, test_cli.ok, test_cli.refused
PRIVATE = {"QABOT_ALLOW_PRIVATE_URLS": "1"}


@pytest.fixture
def site():
    with PageServer(news_site(4)) as served:
        yield served


@pytest.mark.slow
def test_follow_then_update_feeds_adds_the_entries_and_feeds_says_so(qabot, site):
    followed = ok(qabot("follow", site.url("/feed.xml"), env=PRIVATE)).stdout
    assert followed == (
        f"Following feed 1: Aldermoor Echo news ({site.url('/feed.xml')})\n"
        "Its articles are added by the next qabot update-feeds, or by the running bot.\n"
    )
    assert "not checked yet; 0 articles" in ok(qabot("feeds")).stdout
    updated = ok(qabot("update-feeds", env=PRIVATE))
    assert updated.stdout == "feed 1 (Aldermoor Echo news): 4 articles added, 0 already in the collection\n"
    listed = ok(qabot("list")).stdout
    assert all(f"Story {n}" in listed for n in range(4))
    lines = ok(qabot("feeds")).stdout.splitlines()
    assert lines[0] == f"1. Aldermoor Echo news  {site.url('/feed.xml')}"
    assert lines[1].startswith("   checked 20") and lines[1].endswith(" UTC; 4 articles")
    again = ok(qabot("update-feeds", env=PRIVATE)).stdout
    assert again == "feed 1 (Aldermoor Echo news): 0 articles added, 0 already in the collection\n"


def test_json_output(qabot, site):
    feed = json.loads(ok(qabot("follow", site.url("/feed.xml"), "--json", env=PRIVATE)).stdout)
    assert (feed["id"], feed["url"], feed["articles"]) == (1, site.url("/feed.xml"), 0)
    (check,) = json.loads(ok(qabot("update-feeds", "--json", env=PRIVATE)).stdout)
    assert (len(check["added"]), check["skipped"], check["failed"], check["error"]) == (4, 0, [], None)
    (listed,) = json.loads(ok(qabot("feeds", "--json")).stdout)
    assert (listed["articles"], listed["last_error"]) == (4, None) and listed["checked_at"]


@pytest.mark.slow
def test_a_feed_that_cannot_be_read_exits_1_and_the_others_are_still_updated(qabot, site):
    with PageServer({"/feed.xml": page('<rss version="2.0"><channel><title>Other</title></channel></rss>',
                                       "application/rss+xml")}) as other:
        ok(qabot("follow", other.url("/feed.xml"), env=PRIVATE))
        ok(qabot("follow", site.url("/feed.xml"), env=PRIVATE))
        other.routes["/feed.xml"] = page("down for maintenance", status=503)
        result = qabot("update-feeds", env=PRIVATE)
    assert result.exit_code == 1
    assert result.stderr == f"failed  feed 1: {other.url('/feed.xml')} answered HTTP 503\n"
    assert result.stdout.splitlines() == [
        f"feed 1 (Other): 0 articles added, 0 already in the collection; error: {other.url('/feed.xml')} answered HTTP 503",
        "feed 2 (Aldermoor Echo news): 4 articles added, 0 already in the collection",
    ]
    assert f"   last error: {other.url('/feed.xml')} answered HTTP 503" in ok(qabot("feeds")).stdout


def test_failed_entries_are_counted_and_do_not_fail_the_pass(qabot, site):
    site.routes["/news/2"] = page("gone", status=404)
    ok(qabot("follow", site.url("/feed.xml"), env=PRIVATE))
    out = ok(qabot("update-feeds", env=PRIVATE)).stdout
    assert out == "feed 1 (Aldermoor Echo news): 3 articles added, 0 already in the collection, 1 failed\n"
    listing = ok(qabot("feeds")).stdout
    assert "3 articles, 1 entry to retry" in listing
    assert ("note: 1 entry could not be added (tried again on the next checks, 5 times at most);"
            f" the first: {site.url('/news/2')} answered HTTP 404") in listing


@pytest.mark.parametrize(
    "args, reason",
    [
        (("follow", "/article"), "is a web page that links to no RSS or Atom feed"),
        (("follow", "/plain"), "is text/plain, not an RSS or Atom feed or a web page"),
        (("follow", "/huge"), "is larger than 5,000,000 bytes"),
    ],
)
def test_what_is_no_feed_is_refused_in_one_line(qabot, site, args, reason):
    command, path = args
    refused(qabot(command, site.url(path), env=PRIVATE), reason)
    assert ok(qabot("feeds")).stdout == "No feed is followed. Follow one with: qabot follow URL\n"


def test_loopback_feeds_are_refused_unless_private_urls_are_allowed(qabot, site):
    refused(qabot("follow", site.url("/feed.xml")), "is a private or local address")
    assert site.requests == []


def test_a_feed_is_followed_once_and_unfollowed_by_its_number(qabot, site):
    ok(qabot("follow", site.url("/feed.xml"), env=PRIVATE))
    refused(qabot("follow", site.url("/feed.xml"), env=PRIVATE), "this feed is already followed as feed 1")
    ok(qabot("update-feeds", env=PRIVATE))
    assert ok(qabot("unfollow", "1")).stdout == "Unfollowed feed 1: Aldermoor Echo news (the 4 articles it brought stay)\n"
    refused(qabot("unfollow", "1"), "there is no feed 1")
    assert ok(qabot("feeds")).stdout == "No feed is followed. Follow one with: qabot follow URL\n"
    assert "Story 3" in ok(qabot("list")).stdout


def test_update_feeds_without_a_collection_creates_none(qabot, db_path):
    refused(qabot("update-feeds"), "no collection at")
    assert not db_path.exists()


@pytest.mark.slow
def test_update_feeds_killed_mid_pass_loses_nothing_and_stores_nothing_twice(tmp_path):
    # each kill comes once some of the feed's articles are stored (see feed_kill_loop)
    result = feed_kill_loop(tmp_path, kills=3, entries=60, latency=0.02, seed=5)
    assert result == {"feed_kills": 3, "feed_corrupt": 0, "feed_lost": 0, "feed_duplicates": 0, "feed_articles": 60}
