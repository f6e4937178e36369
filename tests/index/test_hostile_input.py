"""Work on hostile input is bounded: web pages are extracted in a capped worker (index/capped_worker.py,
the call in index/ingest.py's ``from_html``), feeds' pages included, and the worker's limits hold.

The tasks the worker runs in these tests are defined here: the worker imports this module.
"""

import os
import sys
import threading
import time

import pytest
import trafilatura

from qabot.index import capped_worker, feeds
from qabot.index.capped_worker import Refused
from qabot.index.drafts import IngestError
from qabot.index.ingest import from_html
from tests.page_server import ARTICLE_PARAGRAPHS, TITLE, PageServer, article_html, news_page, page, rss_feed

#: Flat repeated markup: trafilatura's work on it grows with the square of the page (74 KB: 1.1 s,
#: 592 KB: 24 s; a page under the 5 MB fetch cap, half an hour).
FLAT = "<html><body>" + "<div><p>..</p></div>" * 15_000 + "</body></html>"


@pytest.fixture
def one_cpu_second(monkeypatch):
    monkeypatch.setattr(capped_worker, "CPU_SECONDS", 1)


@pytest.fixture
def no_extraction_here(monkeypatch):
    """trafilatura, called in this process, fails the test: pages are extracted in the worker."""

    def not_here(*args, **kwargs):
        raise AssertionError("a page was extracted in the calling process, outside the worker's limits")

    monkeypatch.setattr(trafilatura, "bare_extraction", not_here)


def test_a_page_is_extracted_in_the_worker_as_before(no_extraction_here):
    draft = from_html(article_html(), url="https://news.example/tram")
    assert draft.title == TITLE and draft.site == "Aldermoor Echo" and draft.published == "2024-03-02"
    assert all(paragraph in draft.text for paragraph in ARTICLE_PARAGRAPHS)
    assert from_html(article_html().encode()).text == draft.text  # bytes or text alike


@pytest.mark.slow
def test_flat_repeated_markup_is_refused_at_the_cpu_limit(one_cpu_second, no_extraction_here):
    with pytest.raises(IngestError, match=r"^reading the page took more than 1 s of CPU time$"):
        from_html(FLAT)


@pytest.mark.slow
def test_a_feed_page_of_flat_markup_fails_alone_at_the_cpu_limit(store, one_cpu_second, no_extraction_here):
    """A feed of 8 such pages made one update pass take 315 s."""
    items = [("Flat", "/news/1", None), ("Story", "/news/2", None)]
    routes = {
        "/feed.xml": page(rss_feed(items), "application/rss+xml"),
        "/news/1": page(FLAT),
        "/news/2": page(news_page(2, "2024-02-21")),
    }
    with PageServer(routes) as server:
        feeds.follow(store, server.url("/feed.xml"), allow_private=True, added_by="test")
        (check,) = feeds.update_feeds(store, allow_private=True)
    assert len(check.added) == 1
    assert check.failed == [(server.url("/news/1"), "reading the page took more than 1 s of CPU time")]


# --- the worker's limits and answers ------------------------------------------------------------------


def sleeping(data: bytes, *, seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def hoarding(data: bytes) -> int:
    return len(bytearray(4 * 1024**3))


def crashing(data: bytes) -> None:
    raise KeyError("a bug")


def noisy(data: bytes) -> dict:
    print("to standard output")
    print("to standard error", file=sys.stderr)
    os.write(2, b"straight to the file descriptor\n")
    return {"read": data.decode()}


def refusing(data: bytes) -> None:
    raise Refused("not this one")


def run(task: str, data: bytes = b"input", **options):
    return capped_worker.run(f"{__name__}:{task}", data, what="the input", **options)


@pytest.mark.slow
def test_a_task_waiting_is_stopped_at_the_wall_time_limit():
    with pytest.raises(Refused, match=r"^reading the input took longer than 7 s$"):
        run("sleeping", cpu_seconds=1, seconds=60)


def test_running_out_of_memory_is_refused_in_one_line():
    with pytest.raises(Refused, match=r"^reading the input needs more than 1,024 MB of memory$"):
        run("hoarding", memory_bytes=1024**3)


def test_a_crash_is_logged_and_refused_in_one_line(caplog):
    with pytest.raises(Refused, match=r"^the input could not be read \(the reader stopped; see the log\)$"):
        run("crashing")
    assert "KeyError: 'a bug'" in caplog.text


def test_the_answer_and_refusals_come_back_and_nothing_is_printed(capfd):
    assert run("noisy", b"caf\xc3\xa9") == {"read": "café"}
    with pytest.raises(Refused, match=r"^not this one$"):
        run("refusing")
    assert capfd.readouterr() == ("", "")


@pytest.mark.slow
def test_calls_from_several_threads_each_get_their_answer():
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(run("sleeping", seconds=1))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["woke"] * 4
    assert len(capped_worker._idle) <= capped_worker.MAX_IDLE
