"""bot/feed_commands.py: /follow, /feeds, /unfollow and the JobQueue check, on the bot as ``qabot run``
builds it, against the fake Bot API; the feeds and their pages come from the local page server."""

import asyncio
import threading

import pytest

from qabot.bot.app import build_application
from qabot.bot.feed_commands import CHECK_JOB, FOLLOW_USAGE, UNFOLLOW_USAGE
from qabot.bot.handlers import NOT_ADMIN
from qabot.index import feeds
from tests.bot.conftest import ADMIN, GROUP, QUESTIONS, USER, bot_settings, rendered, replies, serving, settled, until
from tests.page_server import PageServer, news_page, news_site, page


@pytest.fixture
def site():
    with PageServer(news_site(5)) as served:
        yield served


def texts(messages) -> list[str]:
    return [rendered(m).text for m in messages]


@pytest.mark.slow
async def test_an_admin_follows_a_feed_and_is_told_what_it_brought(bot, server, sample_store, site):
    before = sample_store.counts()["articles"]
    followed, done = texts(await replies(server, ADMIN, lambda: server.inject_command(
        "follow", site.url("/feed.xml"), user_id=ADMIN), count=2))
    assert followed == (f"Following feed 1: Aldermoor Echo news ({site.url('/feed.xml')}).\n"
                        "I am adding its articles now and will say here when that is done.")
    assert done == "Feed 1 (Aldermoor Echo news): 5 articles added, 0 already in the collection."
    assert sample_store.counts()["articles"] == before + 5
    assert {a.title for a in sample_store.list_articles()} >= {f"Story {n}" for n in range(5)}

    (listing,) = texts(await replies(server, ADMIN, lambda: server.inject_command("feeds", user_id=ADMIN)))
    lines = listing.split("\n")
    assert lines[0] == "Followed feeds (1):"
    assert lines[2] == f"1. Aldermoor Echo news  {site.url('/feed.xml')}"
    assert lines[3].startswith("   checked 20") and lines[3].endswith(" UTC; 5 articles")
    assert lines[-1] == "/unfollow N stops following one."


@pytest.mark.slow
async def test_an_admin_follows_a_sites_page_in_a_group(bot, server, sample_store, site):
    site.routes["/"] = page('<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml">'
                            "</head><body>Home</body></html>")
    where = {"user_id": ADMIN, "chat_type": "group", "chat_id": GROUP}
    followed, done = texts(await replies(server, GROUP, lambda: server.inject_command(
        "follow", site.url("/"), **where), count=2))
    assert followed.startswith(f"Following feed 1: Aldermoor Echo news ({site.url('/feed.xml')})")
    assert done.startswith("Feed 1 (Aldermoor Echo news): 5 articles added")


async def test_feeds_shows_the_last_error_of_a_bad_feed(bot, server, sample_store, site):
    feeds.follow(sample_store, site.url("/feed.xml"), allow_private=True)
    site.routes["/feed.xml"] = page("<html><body>Maintenance</body></html>")
    job = bot.job_queue.get_jobs_by_name(CHECK_JOB)[0]
    await job.run(bot)
    (listing,) = texts(await replies(server, ADMIN, lambda: server.inject_command("feeds", user_id=ADMIN)))
    assert f"   last error: {site.url('/feed.xml')} is not an RSS or Atom feed" in listing
    assert "; 0 articles" in listing


@pytest.mark.parametrize(
    "command, args, answer",
    [
        ("follow", "", FOLLOW_USAGE),
        ("follow", "two words", FOLLOW_USAGE),
        ("unfollow", "", UNFOLLOW_USAGE),
        ("unfollow", "first", UNFOLLOW_USAGE),
        ("unfollow", "9", "There is no feed 9."),
        ("feeds", "", "No feed is followed. Follow one with /follow URL."),
        ("follow", "ftp://127.0.0.1/feed.xml", "Not followed: only http and https URLs are accepted, not ftp:."),
    ],
)
async def test_bad_commands_get_one_line_answers(bot, server, command, args, answer):
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command(command, args, user_id=ADMIN))
    assert rendered(reply).text == answer


async def test_a_page_without_a_feed_is_not_followed(bot, server, sample_store, site):
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command(
        "follow", site.url("/article"), user_id=ADMIN))
    assert rendered(reply).text == f"Not followed: {site.url('/article')} is a web page that links to no RSS or Atom feed."
    assert feeds.list_feeds(sample_store) == []


@pytest.mark.slow
async def test_unfollow_keeps_the_articles(bot, server, sample_store, site):
    feeds.follow(sample_store, site.url("/feed.xml"), allow_private=True)
    feeds.update_feeds(sample_store, allow_private=True)
    count = sample_store.counts()["articles"]
    (reply,) = await replies(server, ADMIN, lambda: server.inject_command("unfollow", "1", user_id=ADMIN))
    assert rendered(reply).text == (
        "Unfollowed feed 1: Aldermoor Echo news. The 5 articles it brought stay (/remove ID removes one).")
    assert feeds.list_feeds(sample_store) == [] and sample_store.counts()["articles"] == count


@pytest.mark.slow
@pytest.mark.parametrize("where", [{}, {"chat_type": "group", "chat_id": GROUP}], ids=["private", "group"])
async def test_a_non_admin_is_refused_every_feed_command(bot, server, sample_store, site, where):
    feeds.follow(sample_store, site.url("/feed.xml"), allow_private=True)
    site.requests.clear()
    before = feeds.list_feeds(sample_store), sample_store.counts()
    for command, args in (("follow", site.url("/feed.xml")), ("feeds", ""), ("unfollow", "1")):
        (reply,) = await replies(server, where.get("chat_id", USER), lambda: server.inject_command(
            command, args, user_id=USER, **where))
        assert rendered(reply).text == NOT_ADMIN, command
    await settled(server)
    assert (feeds.list_feeds(sample_store), sample_store.counts()) == before and site.requests == []


async def test_help_names_the_feed_commands_to_admins_only(bot, server):
    (admin,) = await replies(server, ADMIN, lambda: server.inject_command("help", user_id=ADMIN))
    (user,) = await replies(server, USER, lambda: server.inject_command("help", user_id=USER))
    for command in ("/follow", "/feeds", "/unfollow"):
        assert command in rendered(admin).text and command not in rendered(user).text


@pytest.mark.slow
async def test_a_pass_runs_off_the_event_loop(bot, server, sample_store, site):
    gate = threading.Event()
    served = page(news_page(3))
    site.routes["/news/3"] = lambda handler: (gate.wait(20), served(handler))
    feeds.follow(sample_store, site.url("/feed.xml"), allow_private=True)
    job = bot.job_queue.get_jobs_by_name(CHECK_JOB)[0]
    checking = asyncio.create_task(job.run(bot))
    await until(lambda: "/news/3" in site.requests)  # the pass waits for the page
    question, mark = next(iter(QUESTIONS.items()))
    (answer,) = await replies(server, USER, lambda: server.inject_message(question, user_id=USER))
    assert mark in rendered(answer).text and not checking.done()
    gate.set()
    await checking
    assert feeds.get_feed(sample_store, 1).articles == 5


@pytest.mark.slow
async def test_a_pass_running_when_the_bot_stops_ends_after_the_entry_in_hand(
    server, sample_store, reader, db_path, site
):
    gate = threading.Event()
    served = page(news_page(3))
    site.routes["/news/3"] = lambda handler: (gate.wait(20), served(handler))  # the second entry
    feeds.follow(sample_store, site.url("/feed.xml"), allow_private=True)
    before = sample_store.counts()["articles"]
    app = build_application(bot_settings(server, db_path), sample_store, reader)
    async with serving(app):
        checking = asyncio.create_task(app.job_queue.get_jobs_by_name(CHECK_JOB)[0].run(app))
        await until(lambda: "/news/3" in site.requests and sample_store.counts()["articles"] == before + 1)

        async def open_once_stopping() -> None:
            await until(lambda: not app.running)
            gate.set()

        opening = asyncio.create_task(open_once_stopping())
    await opening
    await checking
    assert sample_store.counts()["articles"] == before + 1  # story 4 only: the pass stopped there
    (check,) = feeds.update_feeds(sample_store, allow_private=True)
    assert len(check.added) == 4 and sample_store.verify() == []


@pytest.mark.slow
async def test_the_job_queue_checks_the_feeds_on_schedule(server, sample_store, reader, db_path, site):
    feeds.follow(sample_store, site.url("/feed.xml"), allow_private=True)
    settings = bot_settings(server, db_path, QABOT_FEED_INTERVAL_MINUTES=0.002)  # every 0.12 s
    async with serving(build_application(settings, sample_store, reader)) as app:
        (job,) = app.job_queue.get_jobs_by_name(CHECK_JOB)
        assert job.trigger.interval.total_seconds() == pytest.approx(0.12)
        await until(lambda: feeds.get_feed(sample_store, 1).articles == 5, timeout=30)
        site.routes["/feed.xml"] = page("{not a feed", "application/xml")
        await until(lambda: feeds.get_feed(sample_store, 1).last_error is not None, timeout=30)
        question, mark = next(iter(QUESTIONS.items()))  # a bad feed does not stop the bot
        (answer,) = await replies(server, USER, lambda: server.inject_message(question, user_id=USER))
        assert mark in rendered(answer).text


async def test_no_checks_are_scheduled_at_interval_zero(server, sample_store, reader, db_path):
    app = build_application(bot_settings(server, db_path, QABOT_FEED_INTERVAL_MINUTES=0), sample_store, reader)
    assert app.job_queue.get_jobs_by_name(CHECK_JOB) == ()
