"""Fetching article pages for ingestion: http(s) only, public addresses only, capped in size and time.

Every hop of a redirect is checked again. The host of each connection is resolved once, at the
moment of connecting, and refused when any address it resolves to is not a global unicast one:
private, loopback, link-local, site-local, multicast, documentation or unassigned (an IPv6 address
carrying an IPv4 one, IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64 or 6to4, is judged by the
IPv4 address); the connection then goes to the address that was checked, so a host cannot answer a
public address to the check and a private one to the connection (DNS rebinding). The caller may
allow private addresses (the ``QABOT_ALLOW_PRIVATE_URLS`` setting: an intranet, or tests on 127.0.0.1).

The timeout is one deadline for the whole fetch: every connect, TLS handshake, read and write of
every hop ends by it, so a server sending its status line or headers a byte at a time is cut off
too. The size cap counts the body as it is decoded, a bounded piece at a time through each layer of
its Content-Encoding, so a small compressed bomb is stopped at the cap. A declared charset is passed
on only when it names a character set.
"""

import codecs
import functools
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

MAX_BYTES = 5_000_000
TIMEOUT_SECONDS = 15.0
MAX_REDIRECTS = 5
#: Content encodings undone (gzip and deflate, with zlib), and at most how many layers of them.
ACCEPT_ENCODING = "gzip, deflate"
MAX_ENCODINGS = 4
USER_AGENT = "qabot/0.1 (+article ingestion)"
_TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown")
#: Most bytes one decompression step may produce: a layer never holds more than this at once.
_PIECE = 64 * 1024
#: The setting that lets URLs on private and local addresses be fetched (``bot.config``).
ALLOW_PRIVATE_SETTING = "QABOT_ALLOW_PRIVATE_URLS=1"
#: The IPv6 loopback: inside ``::/96``, but it carries no IPv4 address.
_LOOPBACK_6 = ipaddress.IPv6Address("::1")
#: IPv6 networks whose last 32 bits are an IPv4 address: IPv4-compatible (RFC 4291), IPv4-translated
#: (RFC 2765's ``::ffff:0:a.b.c.d``) and NAT64 (RFC 6052's well-known prefix, RFC 8215's local-use
#: prefix, both read in the /96 layout).
_IPV4_IN_LAST_32_BITS = tuple(
    ipaddress.IPv6Network(network)
    for network in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")
)
#: IANA's global unicast space: every IPv6 address in use on the internet is in it, so this leaves
#: out site-local (fec0::/10), multicast (ff00::/8), SRv6 SIDs (5f00::/16) and unassigned space.
_GLOBAL_UNICAST_6 = ipaddress.IPv6Network("2000::/3")
#: Within it, RFC 9637's documentation range, which ``is_global`` of Python 3.11 does not know.
_DOCUMENTATION_6 = ipaddress.IPv6Network("3fff::/20")
#: Python's text codecs that are no character set: they undo escapes or host names, or always fail.
_NOT_CHARSETS = {"idna", "punycode", "raw-unicode-escape", "undefined", "unicode-escape"}


class FetchError(ValueError):
    """The URL could not be fetched as an article page."""


class PrivateAddress(FetchError):
    """The URL's host is no global unicast address (private, loopback, multicast, ...), and those are
    not allowed."""

    def with_hint(self) -> str:
        """The refusal with how to allow private addresses where qabot runs."""
        return f"{self} (set {ALLOW_PRIVATE_SETTING} to allow private addresses)"


@dataclass(frozen=True)
class Page:
    """A fetched page: the final URL after redirects, its content type, body and declared charset.

    ``charset`` is Python's name of the declared character set, None if none or not a known one.
    """

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
    if not parts.scheme:
        raise FetchError(f"{url} is not a web address: write it with https:// (or http://) in front")
    if parts.scheme not in {"http", "https"}:
        raise FetchError(f"only http and https URLs are accepted, not {parts.scheme}:")
    if not parts.hostname:
        raise FetchError("the URL has no host name")


def _carried_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: IPv4-mapped, IPv4-compatible, NAT64 or 6to4."""
    if address.version == 4:
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address != _LOOPBACK_6 and any(address in network for network in _IPV4_IN_LAST_32_BITS):
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def _is_global_unicast(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` reaches one host on the internet: global (``is_global``), not multicast,
    and for IPv6 in the global unicast space and out of the documentation range."""
    if address.is_multicast or not address.is_global:
        return False
    return address.version == 4 or (address in _GLOBAL_UNICAST_6 and address not in _DOCUMENTATION_6)


def public_address(host: str, port: int) -> str:
    """The address to connect to for ``host``: resolved once, refused unless every address is public.

    :raises FetchError: the host cannot be resolved (``PrivateAddress``: it resolves to a private or
        local address).
    """
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise FetchError(f"the host {host} could not be found") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        carried = _carried_ipv4(address)
        if not _is_global_unicast(carried or address):
            shown = f"{address}, carrying {carried}" if carried else address
            raise PrivateAddress(f"{host} is a private or local address ({shown}); refused for safety")
    return str(addresses[0])


def _time_left(deadline: float, timeout: float | None, error: type[httpcore.TimeoutException]) -> float:
    """The timeout for one network operation: ``timeout``, cut to what is left before the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the time for the fetch is up")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write (and TLS handshake) ends by the fetch's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float):
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes, timeout=None):
        return self._stream.read(max_bytes, _time_left(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer, timeout=None):
        self._stream.write(buffer, _time_left(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self):
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        timeout = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info):
        return self._stream.get_extra_info(info)


class _Network(httpcore.SyncBackend):
    """The connections of one fetch: to the very public address it checked (unless private ones are
    allowed), each ending by the fetch's deadline."""

    def __init__(self, deadline: float, allow_private: bool):
        self._deadline = deadline
        self._allow_private = allow_private

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = super().connect_tcp(
            host if self._allow_private else public_address(host, port),
            port,
            timeout=_time_left(self._deadline, timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream, self._deadline)


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS settings of every fetch, made once: loading the CA certificates takes ~40 ms."""
    return httpx.create_ssl_context(trust_env=False)


class _Transport(httpx.HTTPTransport):
    """httpx's transport with its connection pool connecting through ``_Network``."""

    def __init__(self, network: _Network):
        super().__init__(verify=_tls(), trust_env=False)
        self._pool = httpcore.ConnectionPool(ssl_context=_tls(), network_backend=network)


def fetch(
    url: str,
    *,
    allow_private: bool = False,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT_SECONDS,
    accept: Collection[str] = _TEXT_TYPES,
    kind: str = "an HTML or text page",
) -> Page:
    """Download a page, following at most MAX_REDIRECTS redirects, each one checked.

    :param url: an http or https URL.
    :param allow_private: accept private, loopback and link-local addresses too.
    :param max_bytes: refuse bodies larger than this, once decoded.
    :param timeout: seconds for the whole fetch, redirects included.
    :param accept: the content types taken (a page without one is taken as HTML).
    :param kind: what they are, in the refusal of another type ("not an HTML or text page").
    :raises FetchError: refused URL, network error, HTTP error, wrong content type, too large, too slow.
    """
    deadline = time.monotonic() + timeout
    with httpx.Client(
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
        timeout=timeout,
        trust_env=False,
        transport=_Transport(_Network(deadline, allow_private)),
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url)
            try:
                with client.stream("GET", url) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    return _read(response, url, max_bytes, deadline, timeout, accept, kind)
            except httpx.TimeoutException:
                raise FetchError(f"fetching {url} took longer than {timeout:g} s") from None
            except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as error:  # UnicodeError: IDNA
                raise FetchError(f"could not fetch {url}: {error}") from None
        raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})")


def _read(
    response: httpx.Response, url: str, max_bytes: int, deadline: float, timeout: float,
    accept: Collection[str], kind: str,
) -> Page:
    if response.status_code >= 400:
        raise FetchError(f"{url} answered HTTP {response.status_code}")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in accept:
        raise FetchError(f"{url} is {content_type}, not {kind}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{url} is larger than {max_bytes:,} bytes")
    encodings = [
        encoding
        for encoding in map(str.strip, response.headers.get("content-encoding", "").lower().split(","))
        if encoding not in {"", "identity"}
    ]
    if len(encodings) > MAX_ENCODINGS:
        raise FetchError(f"{url} is compressed {len(encodings)} times over; at most {MAX_ENCODINGS}")
    pieces = response.iter_raw()
    for encoding in reversed(encodings):  # the encoding applied last is listed last
        if encoding not in {"gzip", "x-gzip", "deflate"}:
            raise FetchError(f"{url} is compressed with {encoding}, which cannot be read")
        pieces = _decoded(pieces, encoding)
    body = bytearray()
    try:
        for piece in pieces:
            body += piece
            if len(body) > max_bytes:
                raise FetchError(f"{url} is larger than {max_bytes:,} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"fetching {url} took longer than {timeout:g} s")
    except zlib.error as error:
        raise FetchError(f"{url} is not valid {', '.join(encodings)} data ({error})") from None
    return Page(
        url=str(response.url),
        content_type=content_type or "text/html",
        body=bytes(body),
        charset=_charset(response.charset_encoding),
    )


def _decoded(pieces: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    """One layer of content encoding undone, at most ``_PIECE`` bytes a step, up to its stream's end.

    A step is yielded even when it is empty, so that the reader checks size and time after each.
    """
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 32)  # a gzip or a zlib header
    headerless = encoding == "deflate"  # until its first bytes: some servers send raw deflate
    for data in pieces:
        while True:
            try:
                out = decompressor.decompress(data, _PIECE)
            except zlib.error:
                if not headerless:
                    raise
                decompressor, headerless = zlib.decompressobj(-zlib.MAX_WBITS), False
                continue
            headerless = headerless and not data
            yield out
            if decompressor.eof:
                return
            data = decompressor.unconsumed_tail
            if not data and len(out) < _PIECE:  # all taken in, nothing left to put out
                break


def _charset(declared: str | None) -> str | None:
    """Python's name of a declared charset; None when it is not a character set Python knows."""
    if not declared:
        return None
    try:
        codec = codecs.lookup(declared)
    except (LookupError, ValueError):  # an unknown name, or one with a NUL in it
        return None
    # _is_text_encoding is what bytes.decode checks: false for base64, zlib, rot13 and the like
    return codec.name if codec._is_text_encoding and codec.name not in _NOT_CHARSETS else None
