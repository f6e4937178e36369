"""A small real HTTP server on 127.0.0.1 for ingestion tests: article pages, redirects and bad cases.

``PageServer`` runs a ``ThreadingHTTPServer`` on a free port in a thread. Routes are paths mapped to
functions that write the whole response; ``_routes()`` makes the standard ones, and a test can add
its own (``server.routes["/x"] = redirect_to(other.url("/article"))``).
"""

import html
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from qabot.index.fetch import MAX_BYTES

Route = Callable[[BaseHTTPRequestHandler], None]

#: Paragraphs of the article page; each must end up in the stored text.
ARTICLE_PARAGRAPHS = [
    "The Aldermoor riverside tram carried its first passengers on Saturday morning, four years "
    "after work began on the eleven-kilometre line along the River Alder.",
    "Crowds gathered at Quay Street before dawn to board the first tram, which left at 5.42am. "
    "The city council said about 18,000 people had ridden the line by the end of the day.",
    "The route has fourteen stops between Quay Street and the university campus at Northfield. "
    "Trams will run every six minutes at peak times and every twelve minutes in the evening.",
    "Councillor Maria Benton, who chairs the transport committee, said the tram would take "
    "around 4,000 cars a day off the riverside road. \"This is the biggest change to how people "
    "move around Aldermoor in fifty years,\" she said.",
    "The project cost 312 million pounds, 40 million more than planned, after flooding in 2022 "
    "delayed work on the bridge over the Alder at Millbank.",
]
#: Text of the page's menus, cookie banner, sidebar and footer; none of it may be stored.
BOILERPLATE = [
    "Accept all cookies",
    "We use cookies to improve your experience and show personalised advertising",
    "Subscribe to our newsletter",
    "Copyright 2024 Aldermoor Echo Media Group",
    "Privacy policy",
    "Most read this week",
]
TITLE = "Riverside tram opens to passengers after four-year build"
SITE = "Aldermoor Echo"
PUBLISHED = "2024-03-02"
PLAIN_TEXT = (
    "Wexcombe coin hoard goes on display\n\n"
    "A hoard of 912 silver coins found near Wexcombe goes on display at the county museum today. "
    "Experts dated the coins to the reign of King Offa."
)


def article_html(paragraphs: list[str] = ARTICLE_PARAGRAPHS) -> str:
    """A news page as sites serve it: head metadata, menus, a cookie banner, sidebar and footer."""
    body = "\n".join(f"      <p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{TITLE} | {SITE}</title>
  <meta property="og:title" content="{TITLE}">
  <meta property="og:site_name" content="{SITE}">
  <meta property="og:type" content="article">
  <meta property="article:published_time" content="{PUBLISHED}T08:15:00+00:00">
  <meta name="author" content="Sam Hollis">
</head>
<body>
  <div id="cookie-banner" class="cookie-consent">
    <p>{BOILERPLATE[1]}. <button>{BOILERPLATE[0]}</button> <a href="/privacy">Manage settings</a></p>
  </div>
  <header>
    <nav class="main-menu">
      <ul>
        <li><a href="/">Home</a></li><li><a href="/news">News</a></li>
        <li><a href="/sport">Sport</a></li><li><a href="/business">Business</a></li>
        <li><a href="/newsletter">{BOILERPLATE[2]}</a></li>
      </ul>
    </nav>
  </header>
  <main>
    <article>
      <h1>{TITLE}</h1>
      <p class="byline">By Sam Hollis, <time datetime="{PUBLISHED}">2 March 2024</time></p>
{body}
    </article>
    <aside class="sidebar">
      <h2>{BOILERPLATE[5]}</h2>
      <ul><li><a href="/a">Council tax to rise</a></li><li><a href="/b">Bridge closed</a></li></ul>
    </aside>
  </main>
  <footer>
    <p>{BOILERPLATE[3]}</p>
    <ul><li><a href="/privacy">{BOILERPLATE[4]}</a></li><li><a href="/terms">Terms</a></li></ul>
  </footer>
</body>
</html>
"""


EMPTY_HTML = """<!DOCTYPE html><html><head><title>Nothing here</title></head>
<body><nav><a href="/">Home</a></nav><main></main><footer></footer></body></html>"""


def send(
    handler: BaseHTTPRequestHandler,
    body: bytes,
    content_type: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> None:
    """A complete response with a Content-Length (and any other ``headers``)."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def page(
    body: str | bytes,
    content_type: str = "text/html; charset=utf-8",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Route:
    """A route answering with this body."""
    data = body.encode() if isinstance(body, str) else body
    return lambda handler: send(handler, data, content_type, status, headers)


#: zlib's window bits for each content encoding: the gzip wrapper, the zlib one.
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


def compressed(pieces: Iterable[bytes], encodings: str) -> bytes:
    """The bytes of ``pieces`` compressed with each of ``encodings`` ("gzip, deflate") in turn."""
    for encoding in encodings.split(","):
        compressor = zlib.compressobj(9, zlib.DEFLATED, _WBITS[encoding.strip()])
        pieces = [b"".join(map(compressor.compress, pieces)) + compressor.flush()]
    return b"".join(pieces)


def encoded(pieces: Iterable[bytes], encodings: str, content_type: str = "text/html") -> Route:
    """A route answering with ``pieces`` compressed, declaring ``Content-Encoding: encodings``."""
    return page(compressed(pieces, encodings), content_type, headers={"Content-Encoding": encodings})


def redirect_to(location: str, status: int = 302) -> Route:
    """A route redirecting to ``location`` (absolute or relative)."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def chunked(total_bytes: int, piece: bytes = b"<p>" + b"filler text " * 700 + b"</p>\n") -> Route:
    """An HTML page of ``total_bytes`` streamed with chunked encoding and no Content-Length."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        sent = 0
        while sent < total_bytes:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
        handler.wfile.write(b"0\r\n\r\n")

    return route


def declared_large(total_bytes: int) -> Route:
    """Headers declaring a body of ``total_bytes`` (then only a little of it is sent)."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(total_bytes))
        handler.end_headers()
        handler.wfile.write(b"<html>")
        handler.close_connection = True

    return route


def slow(first_byte_after: float = 0.0, trickle_every: float = 0.05, pieces: int = 200) -> Route:
    """A page that waits before answering, then sends its body a few bytes at a time."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(first_byte_after)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.flush()
        for _ in range(pieces):
            handler.wfile.write(b"5\r\n<p>x \r\n")
            handler.wfile.flush()
            time.sleep(trickle_every)
        handler.wfile.write(b"0\r\n\r\n")

    return route


def drip(seconds: float, every: float) -> Route:
    """A page written a byte every ``every`` s, its status line and headers taking ``seconds``."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        body = article_html().encode()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n" % len(body)
        head += b"X-Padding: " + b"x" * (int(seconds / every) - len(head) - 15) + b"\r\n\r\n"
        for byte in head:
            handler.wfile.write(bytes([byte]))
            time.sleep(every)
        handler.wfile.write(body)

    return route


_TOWNS = "Aldermoor Wexcombe Gorsefield Kestrel Millbank Northfield Harbourside Quayhaven".split()


def news_page(number: int, published: str | None = None) -> str:
    """News story ``number``: a page whose text no other story shares, dated only if ``published``."""
    town = _TOWNS[number % len(_TOWNS)]
    dated = f'<meta property="article:published_time" content="{published}T09:00:00+00:00">' if published else ""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Story {number} from {town}</title>{dated}</head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav><main><article><h1>Story {number} from {town}</h1>
<p>The {town} council voted on Tuesday to spend {number * 7 + 11} thousand pounds on story {number}'s bridge,
after residents complained for {number % 9 + 2} years about the crossing over the river.</p>
<p>Engineers said repairs to bridge number {number} would begin in the spring and take about
{number % 5 + 3} months, with the footpath kept open for people walking to the market square.</p>
<p>A spokesperson for the {town} residents group said the decision on story {number} was welcome news.</p>
</article></main><footer><p>{BOILERPLATE[3]}</p></footer></body></html>"""


def rss_feed(items: Iterable[tuple[str | None, str | None, str | None]], title: str = "Aldermoor Echo news") -> str:
    """An RSS 2.0 feed of ``(title, link, RFC 822 date)`` items (None leaves that element out)."""
    def element(tag: str, value: str | None) -> str:
        return f"<{tag}>{html.escape(value)}</{tag}>" if value is not None else ""

    entries = "\n".join(
        f"<item>{element('title', t)}{element('link', link)}{element('pubDate', when)}</item>"
        for t, link, when in items
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{html.escape(title)}</title><link>http://127.0.0.1/</link>
<description>News</description>
{entries}
</channel></rss>"""


def delayed(route: Route, seconds: float) -> Route:
    """The route, answered ``seconds`` late (a server far away)."""

    def late(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        route(handler)

    return late


def news_site(count: int, *, dated: bool = False, latency: float = 0.0) -> dict[str, Route]:
    """Routes of a site with ``count`` stories at /news/N and their RSS feed at /feed.xml (newest
    first, dated 1 March 2024 plus N minutes), its pages dated 2 March 2024 when ``dated``, each
    story answered ``latency`` seconds late."""
    when = "Fri, 01 Mar 2024 {:02d}:{:02d}:00 GMT"
    items = [(f"Story {n}", f"/news/{n}", when.format(n // 60 % 24, n % 60)) for n in reversed(range(count))]
    routes = {
        f"/news/{n}": delayed(page(news_page(n, PUBLISHED if dated else None)), latency) for n in range(count)
    }
    return routes | {"/feed.xml": page(rss_feed(items), "application/rss+xml; charset=utf-8")}


def _routes() -> dict[str, Route]:
    return {
        "/article": page(article_html()),
        "/plain": page(PLAIN_TEXT, "text/plain; charset=utf-8"),
        "/plain-latin1": page(
            PLAIN_TEXT.replace("display", "display at the café").encode("latin-1"),
            "text/plain; charset=iso-8859-1",
        ),
        "/empty": page(EMPTY_HTML),
        "/missing": page("<html><body><h1>Not found</h1></body></html>", status=404),
        "/broken": page("<html><body><h1>Server error</h1></body></html>", status=500),
        "/image.png": page(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "image/png"),
        "/pdf": page(b"%PDF-1.7\n" + bytes(200), "application/pdf"),
        "/no-type": page(article_html(), ""),
        "/gzip": encoded([article_html().encode()], "gzip"),
        "/huge": chunked(MAX_BYTES + 1_000_000),
        "/declared-huge": declared_large(MAX_BYTES + 1),
        "/slow-start": slow(first_byte_after=3.0, pieces=1),
        "/trickle": slow(trickle_every=0.05, pieces=200),
        "/drip-status-line": drip(seconds=20, every=0.25),  # 4 s for "HTTP/1.1 200 OK"
        "/drip-headers": drip(seconds=20, every=0.02),
        "/hop1": redirect_to("/hop2", 301),
        "/hop2": redirect_to("/hop3", 302),
        "/hop3": redirect_to("/article", 307),
        "/loop-a": redirect_to("/loop-b"),
        "/loop-b": redirect_to("/loop-a"),
        "/to-ftp": redirect_to("ftp://127.0.0.1/article.txt"),
        "/to-file": redirect_to("file:///etc/passwd"),
        "/to-broken-url": redirect_to("http://[::1/article"),
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (size cap, timeout)
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        path = self.path.split("?")[0]
        self.server.requests.append(path)
        route = self.server.routes.get(path)
        if route is None:
            send(self, b"<html><body>no such page</body></html>", "text/html", 404)
        else:
            route(self)

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    requests: list[str]


class PageServer:
    """The test pages served on 127.0.0.1 from a thread; use as a context manager.

    :param routes: extra or replacement routes, path → function writing the response.
    """

    def __init__(self, routes: dict[str, Route] | None = None):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.routes = _routes() | (routes or {})
        self._server.requests = []
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def routes(self) -> dict[str, Route]:
        """The served routes (may be changed while serving)."""
        return self._server.routes

    @property
    def requests(self) -> list[str]:
        """Paths requested so far, in order."""
        return self._server.requests

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._server.server_address[1]

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        """The full URL of a path on this server."""
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> "PageServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
