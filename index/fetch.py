"""Fetching article pages for ingestion: http(s) only, public addresses only, capped in size and time.

Every hop of a redirect is checked again. The host of each connection is resolved once, at the
moment of connecting, and refused when any address it resolves to is private, loopback, link-local
or otherwise not public; the connection then goes to the address that was checked, so a host cannot
answer a public address to the check and a private one to the connection (DNS rebinding). The
caller may allow private addresses (the ``QABOT_ALLOW_PRIVATE_URLS`` setting: an intranet, or
tests on 127.0.0.1). The size cap is enforced while the body streams in, and the timeout covers the
whole fetch.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
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


def check_url(url: str) -> None:
    """Refuse a URL that is not http(s) or has no host.

    :raises FetchError: with the reason.
    """
    try:
        parts = urlsplit(url)
        parts.port  # reading the port raises ValueError when it is not a number in range
    except ValueError as error:  # a bad port or a broken [IPv6] host
        raise FetchError(f"{url} is not a valid URL ({error})") from None
    if parts.scheme not in {"http", "https"}:
        raise FetchError(f"only http and https URLs can be added, not {parts.scheme or 'this'}:")
    if not parts.hostname:
        raise FetchError("the URL has no host name")


def public_address(host: str, port: int) -> str:
    """The address to connect to for ``host``: resolved once, refused unless every address is public.

    :raises FetchError: the host cannot be resolved, or resolves to a private or local address.
    """
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise FetchError(f"the host {host} could not be found") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if not address.is_global:
            raise FetchError(f"{host} is a private or local address ({address}); refused for safety")
    return str(addresses[0])


class _PublicOnly(httpcore.SyncBackend):
    """Opens connections only to public addresses, to the very address it checked."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return super().connect_tcp(
            public_address(host, port),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )


class _PublicOnlyTransport(httpx.HTTPTransport):
    """httpx's transport with its connection pool connecting through ``_PublicOnly``."""

    def __init__(self):
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=_PublicOnly()
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
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
        transport=None if allow_private else _PublicOnlyTransport(),
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url)
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
