"""Fetching article pages for ingestion: http(s) only, public addresses only, capped in size and time.

Every hop of a redirect is checked again, and host names are resolved and refused when any address
they resolve to is private, loopback, link-local or otherwise not public, unless the caller allows
private addresses (the ``QABOT_ALLOW_PRIVATE_URLS`` setting: an intranet, or tests on 127.0.0.1).
The size cap is enforced while the body streams in, and the timeout covers the whole fetch.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

MAX_BYTES = 5_000_000
TIMEOUT_SECONDS = 15.0
MAX_REDIRECTS = 5
USER_AGENT = "qabot/0.1 (+article ingestion)"
_TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown")


class FetchError(ValueError):
    """The URL could not be fetched as an article page."""


@dataclass(frozen=True)
class Page:
    """A fetched page: the final URL after redirects, its content type, body and declared charset."""

    url: str
    content_type: str
    body: bytes
    charset: str | None = None


def check_url(url: str, *, allow_private: bool = False) -> None:
    """Refuse a URL that is not http(s) or whose host is not a public address.

    :param allow_private: accept private, loopback and link-local addresses too.
    :raises FetchError: with the reason.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:  # a bad port or a broken [IPv6] host
        raise FetchError(f"{url} is not a valid URL ({error})") from None
    if parts.scheme not in {"http", "https"}:
        raise FetchError(f"only http and https URLs can be added, not {parts.scheme or 'this'}:")
    if not parts.hostname:
        raise FetchError("the URL has no host name")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 80, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise FetchError(f"the host {parts.hostname} could not be found") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise FetchError(
                f"{parts.hostname} is a private or local address ({address}); refused for safety"
            )


def fetch(
    url: str,
    *,
    allow_private: bool = False,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT_SECONDS,
) -> Page:
    """Download a page, following at most MAX_REDIRECTS redirects, each one checked.

    :param url: an http or https URL.
    :param allow_private: accept private, loopback and link-local addresses too.
    :param max_bytes: refuse bodies larger than this.
    :param timeout: seconds for the whole fetch, redirects included.
    :raises FetchError: refused URL, network error, HTTP error, wrong content type, too large, too slow.
    """
    deadline = time.monotonic() + timeout
    with httpx.Client(
        follow_redirects=False, headers={"User-Agent": USER_AGENT}, trust_env=False
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, allow_private=allow_private)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError(f"fetching {url} took longer than {timeout:g} s")
            try:
                with client.stream("GET", url, timeout=remaining) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    return _read(response, url, max_bytes, deadline, timeout)
            except httpx.TimeoutException:
                raise FetchError(f"fetching {url} took longer than {timeout:g} s") from None
            except (httpx.HTTPError, httpx.InvalidURL) as error:
                raise FetchError(f"could not fetch {url}: {error}") from None
        raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})")


def _read(response: httpx.Response, url: str, max_bytes: int, deadline: float, timeout: float) -> Page:
    if response.status_code >= 400:
        raise FetchError(f"{url} answered HTTP {response.status_code}")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in _TEXT_TYPES:
        raise FetchError(f"{url} is {content_type}, not an HTML or text page")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{url} is larger than {max_bytes:,} bytes")
    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        if len(body) > max_bytes:
            raise FetchError(f"{url} is larger than {max_bytes:,} bytes")
        if time.monotonic() > deadline:
            raise FetchError(f"fetching {url} took longer than {timeout:g} s")
    return Page(
        url=str(response.url),
        content_type=content_type or "text/html",
        body=bytes(body),
        charset=response.charset_encoding,
    )
