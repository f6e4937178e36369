"""index/fetch.py on its own: compressed bodies, the deadline, IPv4 inside IPv6, addresses that are no
global unicast ones, bad names and charsets."""

import functools
import ipaddress
import re
import socket
import time
import tracemalloc
import zlib
from itertools import repeat

import pytest

from qabot.index.drafts import IngestError
from qabot.index.fetch import FetchError, PrivateAddress, check_url, fetch, public_address
from qabot.index.ingest import read_source
from tests.page_server import (
    PLAIN_TEXT,
    PageServer,
    Route,
    article_html,
    compressed,
    encoded,
    page,
    redirect_to,
)


@pytest.fixture(scope="module")
def pages():
    """The test pages, served on 127.0.0.1 for the whole module."""
    with PageServer() as server:
        yield server


# --- compressed bodies --------------------------------------------------------------------------


def test_a_gzip_page_is_decoded(pages):
    page = fetch(pages.url("/gzip"), allow_private=True)
    assert page.body == article_html().encode()


def raw_deflate(data: bytes) -> bytes:
    """``data`` as deflate without its zlib header, as some servers send it."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    "body, encodings",
    [
        (compressed([article_html().encode()], "deflate"), "deflate"),
        (raw_deflate(article_html().encode()), "deflate"),
        (compressed([article_html().encode()], "gzip, deflate"), "gzip, deflate"),
        (compressed([article_html().encode()], "deflate, gzip"), "Deflate, identity, x-gzip"),
    ],
    ids=["deflate", "raw-deflate", "gzip-then-deflate", "deflate-then-gzip"],
)
def test_deflate_and_layered_pages_are_decoded(pages, body, encodings):
    pages.routes["/encoded"] = page(body, "text/html", headers={"Content-Encoding": encodings})
    assert fetch(pages.url("/encoded"), allow_private=True).body == article_html().encode()


@functools.cache
def bomb(encodings: str) -> Route:
    """A page of 100 MB of zeros compressed with each of ``encodings`` in turn (100 kB or less)."""
    return encoded(repeat(bytes(1_000_000), 100), encodings)


@pytest.mark.slow
@pytest.mark.parametrize("encodings", ["gzip", "gzip, gzip", "deflate, deflate", "deflate, gzip, gzip"])
def test_a_compression_bomb_is_refused_as_soon_as_it_decodes_past_the_cap(pages, encodings):
    max_bytes = 1_000_000
    pages.routes["/bomb"] = bomb(encodings)
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match=r"/bomb is larger than 1,000,000 bytes$"):
            fetch(pages.url("/bomb"), allow_private=True, max_bytes=max_bytes)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * max_bytes  # decoding all 100 MB first would need more than 100 MB


@pytest.mark.parametrize(
    "encodings, body, reason",
    [
        ("br", b"\x1b\x03\x00\xf8\xa5\x96", "compressed with br, which cannot be read"),
        ("zstd", b"\x28\xb5\x2f\xfd\x00\x00", "compressed with zstd, which cannot be read"),
        ("gzip, " * 4 + "gzip", compressed([b"<p>x</p>"], "gzip, " * 4 + "gzip"), "5 times over"),
        ("gzip", compressed([b""], "gzip")[:10] + b"\xff" * 100, "not valid gzip data"),
        ("deflate", b"\xff" * 100, "not valid deflate data"),
    ],
    ids=["br", "zstd", "five-layers", "corrupt-gzip", "corrupt-deflate"],
)
def test_a_body_that_cannot_be_decoded_is_refused_with_a_reason(pages, encodings, body, reason):
    pages.routes["/encoded"] = page(body, "text/html", headers={"Content-Encoding": encodings})
    with pytest.raises(FetchError, match=reason):
        fetch(pages.url("/encoded"), allow_private=True)


# --- the deadline -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/drip-status-line", "/drip-headers"])
def test_a_server_dripping_its_status_line_or_headers_is_cut_off_at_the_deadline(pages, path):
    # each byte comes well within the timeout, the whole head would take 20 s
    started = time.monotonic()
    with pytest.raises(FetchError, match="took longer than 1 s"):
        fetch(pages.url(path), allow_private=True, timeout=1)
    assert time.monotonic() - started < 10


# --- IPv4 addresses carried in IPv6 ones --------------------------------------------------------

CARRYING = {
    "ipv4-mapped": lambda ipv4: f"::ffff:{ipv4}",
    "ipv4-compatible": lambda ipv4: f"::{ipv4}",
    "nat64": lambda ipv4: f"64:ff9b::{ipv4}",
    "local-nat64": lambda ipv4: f"64:ff9b:1::{ipv4}",
    "6to4": lambda ipv4: f"2002:{int(ipv4) >> 16:x}:{int(ipv4) & 0xFFFF:x}::1",
    "ipv4-translated": lambda ipv4: f"::ffff:0:{ipv4}",
}


@pytest.mark.parametrize("ipv4", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "0.0.0.0"])
@pytest.mark.parametrize("form", CARRYING)
def test_an_ipv6_address_carrying_a_private_ipv4_one_is_refused(form, ipv4):
    address = CARRYING[form](ipaddress.IPv4Address(ipv4))
    with pytest.raises(FetchError, match=rf"private or local address \(.*carrying {ipv4}\)"):
        public_address(address, 80)
    with pytest.raises(FetchError, match="private or local address"):
        fetch(f"http://[{address}]/")


@pytest.mark.parametrize("form", CARRYING)
def test_an_ipv6_address_carrying_a_public_ipv4_one_is_allowed(form):
    address = CARRYING[form](ipaddress.IPv4Address("93.184.216.34"))
    assert ipaddress.ip_address(public_address(address, 80)) == ipaddress.ip_address(address)


# --- addresses that are no global unicast ones -------------------------------------------------

NOT_GLOBAL_UNICAST = {
    "site-local": "fec0::1",
    "site-local-end": "feff:ffff::1",
    "documentation-3fff": "3fff:fff::1",
    "srv6-sids": "5f00::1",
    "unassigned-6": "4000::1",
    "multicast-6-link-local": "ff02::1",
    "multicast-6-global": "ff0e::1:2",
    "multicast-4-local": "224.0.0.251",
    "multicast-4-glop": "233.252.0.1",
    "multicast-4-admin": "239.255.255.250",
}
GLOBAL_UNICAST = ["93.184.216.34", "2001:4860:4860::8888", "2606:4700:4700::1111", "2a00:1450:4001::1"]


def answering(monkeypatch, addresses: list[str]) -> None:
    """Make every host name resolve to ``addresses``, as a DNS server may answer."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        return [info for address in addresses for info in real_getaddrinfo(address, port, *args, **kwargs)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("address", NOT_GLOBAL_UNICAST.values(), ids=NOT_GLOBAL_UNICAST)
def test_an_address_that_is_no_global_unicast_one_is_refused_as_a_literal(address):
    with pytest.raises(PrivateAddress, match=re.escape(f"({address})")):
        public_address(address, 80)
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(PrivateAddress):
        fetch(f"http://{host}/")


@pytest.mark.parametrize("address", NOT_GLOBAL_UNICAST.values(), ids=NOT_GLOBAL_UNICAST)
def test_an_address_that_is_no_global_unicast_one_is_refused_as_a_dns_answer(address, monkeypatch):
    answering(monkeypatch, ["93.184.216.34", address])
    with pytest.raises(PrivateAddress, match=re.escape(f"articles.example is a private or local address ({address})")):
        public_address("articles.example", 80)
    with pytest.raises(PrivateAddress):
        fetch("http://articles.example/")


@pytest.mark.parametrize("ipv4", ["127.0.0.1", "10.1.2.3"])
def test_a_dns_answer_carrying_a_private_ipv4_address_in_a_translated_one_is_refused(ipv4, monkeypatch):
    answering(monkeypatch, [f"::ffff:0:{ipv4}"])
    with pytest.raises(PrivateAddress, match=rf"carrying {ipv4}\)"):
        public_address("articles.example", 443)


@pytest.mark.parametrize("address", GLOBAL_UNICAST)
def test_a_global_unicast_address_is_allowed_as_a_literal_and_as_a_dns_answer(address, monkeypatch):
    assert public_address(address, 80) == address
    answering(monkeypatch, [address])
    assert public_address("articles.example", 80) == address


# --- bad host names and charsets ----------------------------------------------------------------


def test_a_host_name_that_is_not_valid_idna_is_refused_with_a_reason(pages):
    reason = r"could not fetch .*: Codepoint U\+1F4A9 at position 1 of '💩' not allowed$"
    with pytest.raises(FetchError, match=reason):
        fetch("http://xn--ls8h.example/")
    pages.routes["/to-bad-idna"] = redirect_to("http://xn--ls8h.example/")
    with pytest.raises(FetchError, match=reason):
        fetch(pages.url("/to-bad-idna"), allow_private=True)
    with pytest.raises(IngestError, match=reason):
        read_source("https://xn--ls8h.example/article")


@pytest.mark.parametrize(
    "declared, charset",
    [
        ("utf-8", "utf-8"),
        ("ISO-8859-1", "iso8859-1"),
        ("windows-1252", "cp1252"),
        ("unicode_escape", None),
        ("raw-unicode-escape", None),
        ("punycode", None),
        ("idna", None),
        ("undefined", None),
        ("base64", None),
        ("rot13", None),
        ("no-such-charset", None),
    ],
)
def test_only_a_declared_character_set_is_passed_on(pages, declared, charset):
    pages.routes["/declared"] = page(PLAIN_TEXT, f"text/plain; charset={declared}")
    assert fetch(pages.url("/declared"), allow_private=True).charset == charset


@pytest.mark.parametrize("declared", ["unicode_escape", "punycode", "undefined", "base64"])
def test_a_text_page_declaring_a_codec_that_is_no_charset_is_read_as_utf8(pages, declared):
    text = "Caf\\xe9 \\N{BLACK STAR} opens\n\nThe caf\u00e9 at 12\\u0041 Quay Street opened today."
    pages.routes["/odd-charset"] = page(text, f"text/plain; charset={declared}")
    draft = read_source(pages.url("/odd-charset"), allow_private=True)
    assert (draft.title, draft.text) == tuple(text.split("\n\n"))  # the escapes are text, kept as sent


def test_a_url_without_a_scheme_is_refused_saying_what_to_write():
    with pytest.raises(FetchError, match=r"^example.org/feed is not a web address: write it with https:// \(or http://\) in front$"):
        check_url("example.org/feed")


def test_the_ipv6_loopback_is_refused_as_itself_not_as_a_carried_ipv4_address():
    with pytest.raises(PrivateAddress) as refused:
        fetch("http://[::1]:9/x")
    assert "carrying" not in str(refused.value) and "::1" in str(refused.value)
