"""Feed updates: one pass over a feed of 200 entries beside the same pages added one by one.

    python -m benchmarks.feeds [--entries 200] [--latencies 0,50]

The local page server (127.0.0.1) serves an RSS feed of ``--entries`` entries and their pages, each
page answered ``latency`` ms late (0: the loopback as it is; 50: a server some way off). For each
latency, in fresh collections: ours follows the feed and times one ``index.feeds.update_feeds``
pass (``qabot update-feeds`` without the process start), then a second pass (nothing new); the
peer adds the same pages one by one through ``qabot add``'s code path (``index.ingest.from_url``,
then ``store_draft``). Both must hold the same URLs. Also timed: feedparser reading a feed of 10,000
entries (what a pass pays for a very long feed before the entry cap).

Prints a line per latency, then ``RESULT {json}``.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from qabot.index import feeds
from qabot.index.drafts import store_draft
from qabot.index.feed_parsing import parse_feed
from qabot.index.fetch import Page
from qabot.index.ingest import from_url
from qabot.index.store import Store
from tests.page_server import PageServer, news_site, rss_feed


def ours(store: Store, feed_url: str) -> dict:
    """Follow the feed, then time one pass and a second one."""
    feeds.follow(store, feed_url, allow_private=True)
    started = time.perf_counter()
    (check,) = feeds.update_feeds(store, allow_private=True)
    first = time.perf_counter() - started
    started = time.perf_counter()
    (again,) = feeds.update_feeds(store, allow_private=True)
    second = time.perf_counter() - started
    assert not check.failed and not again.added, (check.failed, again.added)
    return {"added": len(check.added), "pass_s": round(first, 3), "second_pass_s": round(second, 3)}


def one_by_one(store: Store, links: list[str]) -> dict:
    """Add each page as ``qabot add URL`` does, one after another."""
    started = time.perf_counter()
    for link in links:
        store_draft(store, from_url(link, allow_private=True), added_by="cli")
    return {"one_by_one_s": round(time.perf_counter() - started, 3)}


def parse_seconds(entries: int = 10_000) -> float:
    """Seconds feedparser takes to read a feed of ``entries`` entries (best of 3)."""
    items = [(f"Story {n}", f"https://news.example/{n}", "Fri, 01 Mar 2024 10:00:00 GMT") for n in range(entries)]
    body = rss_feed(items).encode()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        parsed = parse_feed(Page("https://news.example/feed.xml", "application/rss+xml", body))
        times.append(time.perf_counter() - started)
    assert len(parsed.entries) == entries
    return round(min(times), 2)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=200, help="entries of the feed (default 200)")
    parser.add_argument("--latencies", default="0,50", help="page latencies in ms, comma-separated (default 0,50)")
    args = parser.parse_args(argv)
    runs = []
    for latency_ms in (float(x) for x in args.latencies.split(",")):
        with PageServer(news_site(args.entries, latency=latency_ms / 1000)) as site, \
                tempfile.TemporaryDirectory() as workdir:
            links = [site.url(f"/news/{n}") for n in reversed(range(args.entries))]
            with Store(Path(workdir) / "ours.db") as store:
                run = {"latency_ms": latency_ms} | ours(store, site.url("/feed.xml"))
                ours_urls = {a.url for a in store.list_articles()}
            with Store(Path(workdir) / "peer.db") as store:
                run |= one_by_one(store, links)
                assert {a.url for a in store.list_articles()} == ours_urls == set(links)
        run["speedup"] = round(run["one_by_one_s"] / run["pass_s"], 2)
        print(f"latency {latency_ms:g} ms: one pass added {run['added']} in {run['pass_s']} s"
              f" (again: {run['second_pass_s']} s); one by one {run['one_by_one_s']} s", file=sys.stderr)
        runs.append(run)
    result = {"entries": args.entries, "runs": runs, "parse_10000_entries_s": parse_seconds()}
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
