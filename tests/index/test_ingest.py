"""index/ingest.py and index/fetch.py: URLs, files and pasted text become articles, or are refused.

Folders and JSONL files: tests/index/test_importing.py; a draft made from text: test_drafts.py.
"""

import json
import socket
from pathlib import Path

import httpcore
import pytest

import qabot.index.fetch
import qabot.index.ingest
from qabot.index.drafts import MAX_FRONT_MATTER_CHARS, IngestError, from_text, store_draft
from qabot.index.fetch import FetchError, fetch
from qabot.index.ingest import from_bytes, read_source
from qabot.index.store import MAX_TEXT_CHARS, DuplicateArticle, InvalidArticle
from tests.page_server import (
    ARTICLE_PARAGRAPHS,
    BOILERPLATE,
    PLAIN_TEXT,
    PUBLISHED,
    SITE,
    TITLE,
    PageServer,
    article_html,
    page,
    redirect_to,
)

BODY = (
    "The Lumora kettle recall covers 48,000 units sold since March. "
    "The maker said a faulty switch could let the kettle boil dry.\n\n"
    "Owners should stop using the kettle and contact the shop for a refund."
)
MENU_ONLY_HTML = (
    "<html><head><title>Aldermoor Echo</title></head><body><header><nav><ul>"
    "<li><a href='/'>Home</a></li><li><a href='/news'>News</a></li></ul></nav></header>"
    "<div id='root'></div><footer><p>Copyright 2024 Aldermoor Echo</p></footer></body></html>"
)
JS_APP_HTML = (
    "<html><head><title>Aldermoor Echo</title></head><body><div id='root'></div>"
    "<noscript>You need to enable JavaScript to run this app.</noscript></body></html>"
)


@pytest.fixture(scope="module")
def pages():
    """The test pages, served on 127.0.0.1 for the whole module."""
    with PageServer() as server:
        yield server


def add(store, source: str, **kwargs):
    """Read a source and store it, the way ``qabot add`` does."""
    return store_draft(store, read_source(source, **kwargs))


def assert_nothing_stored(store) -> None:
    assert store.counts() == {"articles": 0, "chunks": 0}


# --- URLs ---------------------------------------------------------------------------------------


def test_article_page_keeps_the_story_and_drops_menus_banners_and_footer(store, pages):
    article = add(store, pages.url("/article"), allow_private=True)
    stored = store.get_article(article.id)
    for paragraph in ARTICLE_PARAGRAPHS:
        assert paragraph in stored.text
    for junk in BOILERPLATE + ["Manage settings", "Council tax to rise"]:
        assert junk not in stored.text
    assert stored.title == TITLE
    assert not stored.text.startswith(TITLE)  # the headline is not repeated as the first line
    assert stored.published == PUBLISHED
    assert stored.site == SITE
    assert stored.url == pages.url("/article")
    assert stored.chunks >= 1


def test_same_page_twice_is_a_duplicate(store, pages):
    first = add(store, pages.url("/article"), allow_private=True)
    with pytest.raises(DuplicateArticle, match=f"article {first.id}"):
        add(store, pages.url("/article"), allow_private=True)
    assert store.counts()["articles"] == 1


def test_redirect_chain_is_followed_and_the_given_url_kept(store, pages):
    article = add(store, pages.url("/hop1"), allow_private=True)
    assert ARTICLE_PARAGRAPHS[2] in store.get_article(article.id).text
    assert article.url == pages.url("/hop1")


def test_redirect_to_another_port_is_followed_when_private_addresses_are_allowed(store, pages):
    with PageServer() as other:
        pages.routes["/elsewhere"] = redirect_to(other.url("/plain"))
        article = add(store, pages.url("/elsewhere"), allow_private=True)
        assert other.requests == ["/plain"]
    assert store.get_article(article.id).title == PLAIN_TEXT.split("\n")[0]


def test_every_redirect_hop_is_checked(store, pages, monkeypatch):
    """A page that is allowed (as if public) redirecting to a private address is refused."""
    real_address = qabot.index.fetch.public_address

    def public_address(host, port):  # the first server counts as public, nothing else does
        return host if port == pages.port else real_address(host, port)

    monkeypatch.setattr(qabot.index.fetch, "public_address", public_address)
    with PageServer() as other:
        pages.routes["/to-private"] = redirect_to(other.url("/article"))
        with pytest.raises(IngestError, match="private or local address"):
            add(store, pages.url("/to-private"))
        assert other.requests == []
    assert_nothing_stored(store)


def test_the_connection_goes_to_the_address_that_was_checked(store, pages, monkeypatch):
    """DNS rebinding: a host that resolves to a public address, then to 127.0.0.1, is not fetched."""
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34"] + ["127.0.0.1"] * 10)

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "rebinding.example":
            return real_getaddrinfo(next(answers), port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    connected = []

    def connect_tcp(self, host, port, **kwargs):
        connected.append((host, port))
        raise httpcore.ConnectError("no route (test)")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect_tcp)
    before = list(pages.requests)
    with pytest.raises(IngestError, match="could not fetch"):
        add(store, f"http://rebinding.example:{pages.port}/article")
    assert connected == [("93.184.216.34", pages.port)]
    assert pages.requests == before
    assert_nothing_stored(store)


def test_text_plain_page_is_read_as_text(store, pages):
    article = add(store, pages.url("/plain"), allow_private=True)
    stored = store.get_article(article.id)
    assert stored.title == "Wexcombe coin hoard goes on display"
    assert stored.text.startswith("A hoard of 912 silver coins")
    assert stored.site == "127.0.0.1"


def test_text_plain_page_in_its_declared_charset(store, pages):
    article = add(store, pages.url("/plain-latin1"), allow_private=True)
    assert "café" in store.get_article(article.id).text


def test_page_without_content_type_is_read_as_html(store, pages):
    article = add(store, pages.url("/no-type"), allow_private=True)
    assert ARTICLE_PARAGRAPHS[0] in store.get_article(article.id).text


@pytest.mark.parametrize(
    "path, reason",
    [
        ("/missing", "HTTP 404"),
        ("/broken", "HTTP 500"),
        ("/image.png", "image/png, not an HTML or text page"),
        ("/pdf", "application/pdf, not an HTML or text page"),
        ("/huge", "larger than 5,000,000 bytes"),
        ("/declared-huge", "larger than 5,000,000 bytes"),
        ("/loop-a", "too many redirects"),
        ("/to-ftp", "only http and https"),
        ("/to-file", "only http and https"),
        ("/to-broken-url", "could not fetch"),
        ("/empty", "no article text"),
    ],
)
def test_bad_pages_are_refused_with_a_reason(store, pages, path, reason):
    with pytest.raises(IngestError, match=reason):
        add(store, pages.url(path), allow_private=True)
    assert_nothing_stored(store)


def test_nothing_listening_is_a_clear_error(store):
    with PageServer() as gone:
        url = gone.url("/article")
    with pytest.raises(IngestError, match="could not fetch"):
        add(store, url, allow_private=True)
    assert_nothing_stored(store)


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/slow-start", "/trickle"])
def test_slow_page_times_out(pages, path):
    # /slow-start answers after 3 s; /trickle answers at once but takes 10 s to finish
    with pytest.raises(FetchError, match="took longer than 0.5 s"):
        fetch(pages.url(path), allow_private=True, timeout=0.5)


def test_size_cap_applies_to_streamed_and_declared_bodies(pages):
    with pytest.raises(FetchError, match="larger than 10,000 bytes"):
        fetch(pages.url("/huge"), allow_private=True, max_bytes=10_000)  # chunked, no length
    body = article_html().encode()
    page = fetch(pages.url("/article"), allow_private=True, max_bytes=len(body))
    assert page.content_type == "text/html" and page.body == body and page.charset == "utf-8"
    with pytest.raises(FetchError, match="larger than"):
        fetch(pages.url("/article"), allow_private=True, max_bytes=len(body) - 1)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_unless_allowed(store, pages, host):
    with pytest.raises(IngestError, match="private or local address.*refused for safety"):
        add(store, pages.url("/article", host=host))
    assert_nothing_stored(store)
    assert add(store, pages.url("/article", host=host), allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/",
        "http://192.168.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://2130706433/",  # 127.0.0.1 written as a number
    ],
)
def test_private_addresses_are_refused_before_connecting(store, url):
    with pytest.raises(IngestError, match="private or local address"):
        add(store, url)
    assert_nothing_stored(store)


@pytest.mark.parametrize(
    "source",
    ["ftp://127.0.0.1/a.txt", "file:///etc/passwd", "data:text/plain,Hi%20there", "javascript:alert(1)"],
)
def test_other_schemes_are_refused(store, source):
    with pytest.raises(IngestError, match="only http and https"):
        add(store, source, allow_private=True)
    assert_nothing_stored(store)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999/", "http://127.0.0.1:port/", "http://[::1/", "http:///nohost"]
)
def test_malformed_urls_are_refused_with_a_reason(store, url):
    with pytest.raises(IngestError, match="not a valid URL|no host name"):
        add(store, url, allow_private=True)
    assert_nothing_stored(store)


# --- files --------------------------------------------------------------------------------------


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_txt_file_first_line_is_the_title(store, tmp_path):
    path = write(tmp_path, "kettle.txt", "\n\nLumora kettles recalled\n\n" + BODY + "\n")
    article = add(store, str(path))
    stored = store.get_article(article.id)
    assert stored.title == "Lumora kettles recalled"
    assert stored.text == BODY
    assert stored.url is None


def test_markdown_heading_is_the_title(store, tmp_path):
    path = write(tmp_path, "kettle.md", "# Lumora kettles recalled\n\n" + BODY)
    stored = store.get_article(add(store, str(path)).id)
    assert stored.title == "Lumora kettles recalled" and stored.text == BODY


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_markdown_front_matter_gives_title_url_date_and_site(store, tmp_path, newline):
    front = (
        "---\ntitle: Lumora kettles recalled\nurl: https://news.example/kettle\n"
        "published: 2024-05-06\nsite: Consumer Desk\n---\n"
    )
    path = write(tmp_path, "kettle.md", (front + BODY).replace("\n", newline))
    stored = store.get_article(add(store, str(path)).id)
    assert (stored.title, stored.url, stored.published, stored.site) == (
        "Lumora kettles recalled",
        "https://news.example/kettle",
        "2024-05-06",
        "Consumer Desk",
    )
    assert stored.text.startswith("The Lumora kettle recall") and "title:" not in stored.text


def test_utf8_bom_is_not_part_of_the_title(store, tmp_path):
    path = write(tmp_path, "kettle.txt", "\ufeffLumora kettles recalled\n" + BODY)
    assert store.get_article(add(store, str(path)).id).title == "Lumora kettles recalled"


def test_html_file_is_extracted(store, tmp_path):
    path = write(tmp_path, "tram.html", article_html())
    stored = store.get_article(add(store, str(path)).id)
    assert stored.title == TITLE and stored.published == PUBLISHED
    assert ARTICLE_PARAGRAPHS[3] in stored.text
    assert not any(junk in stored.text for junk in BOILERPLATE)


def test_stdin_text(store):
    article = store_draft(store, read_source("-", stdin_text="Pasted headline\n" + BODY))
    assert store.get_article(article.id).title == "Pasted headline"


BAD_FILES = [
    ("report.pdf", b"%PDF-1.7\n" + bytes(100), "the PDF is incomplete: its end is missing"),
    ("report.docx", b"PK\x03\x04" + bytes(100), "unsupported file type .docx"),
    ("README", "Title\nBody text.", r"unsupported file type \(none\)"),
    ("empty.txt", "", "the text is empty"),
    ("blank.md", "  \n\n \t\n", "the text is empty"),
    ("title-only.txt", "Just a headline\n\n", "only a title line"),
    ("front-matter-only.md", "---\ntitle: A title\n---\n", "no article text"),
    ("latin1.txt", "Café opens\nThe café opened today.".encode("latin-1"), "not UTF-8"),
    ("binary.txt", b"Title\nsome\x00binary\x00data", "binary"),
    ("huge.txt", "Title\n" + "x" * MAX_TEXT_CHARS, "limit is 2,000,000"),
    ("bad-yaml.md", "---\ntitle: [unclosed\n---\nBody text.", "front matter is not valid YAML"),
    ("menu-only.html", MENU_ONLY_HTML, "no article text"),
    ("js-app.html", JS_APP_HTML, "no article text"),
]


@pytest.mark.parametrize("name, content, reason", BAD_FILES, ids=[case[0] for case in BAD_FILES])
def test_bad_files_are_refused_with_a_reason(store, tmp_path, name, content, reason):
    path = write(tmp_path, name, content)
    with pytest.raises(IngestError, match=reason):
        add(store, str(path))
    assert_nothing_stored(store)


def test_bad_date_in_front_matter_is_refused(store, tmp_path):
    path = write(tmp_path, "bad-date.md", "---\ntitle: T\npublished: last week\n---\nBody text.")
    with pytest.raises(InvalidArticle, match="YYYY-MM-DD"):
        add(store, str(path))
    assert_nothing_stored(store)


def billion_laughs() -> str:
    """An article whose front matter, under 500 bytes, holds aliases that expand to 9**9 strings."""
    lines = ['lol0: &a0 "lol"']
    lines += [f"lol{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    # (none is a field read: expanded, e.g. as the title, it took minutes and gigabytes before the fix)
    return "---\ntitle: Laughs\n" + "\n".join(lines) + "\n---\n" + BODY


def test_a_yaml_bomb_in_front_matter_is_refused_by_every_path(store, tmp_path, pages):
    text = billion_laughs()
    pages.routes["/bomb"] = page(text, "text/plain; charset=utf-8")
    reads = [
        lambda: from_text(text),  # pasted /add text, qabot add -
        lambda: from_bytes(text.encode(), ".md"),  # an uploaded document
        lambda: read_source(str(write(tmp_path, "bomb.md", text))),
        lambda: read_source(pages.url("/bomb"), allow_private=True),  # a plain-text URL
    ]
    for read in reads:
        with pytest.raises(IngestError, match=r"front matter .*anchors and aliases \(&name, \*name\)"):
            read()
    assert_nothing_stored(store)


def test_front_matter_over_the_size_cap_is_refused(store, tmp_path):
    filler = "".join(f"note{i}: {'x' * 70}\n" for i in range(MAX_FRONT_MATTER_CHARS // 70))
    path = write(tmp_path, "long.md", f"---\ntitle: T\n{filler}---\n{BODY}")
    with pytest.raises(IngestError, match=f"front matter is .*; the limit is {MAX_FRONT_MATTER_CHARS:,}"):
        add(store, str(path))
    assert_nothing_stored(store)


def test_missing_file(store, tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        add(store, str(tmp_path / "nope.txt"))


def test_a_file_name_too_long_for_the_file_system_is_refused_with_the_reason(store):
    with pytest.raises(IngestError, match="File name too long"):
        add(store, "x" * 300)
    assert_nothing_stored(store)


def test_file_over_the_byte_cap_is_refused_before_reading(store, tmp_path, monkeypatch):
    monkeypatch.setattr(qabot.index.ingest, "MAX_FILE_BYTES", 100)
    path = write(tmp_path, "long.txt", "Title\n" + BODY)
    with pytest.raises(IngestError, match="the limit is 100"):
        add(store, str(path))
    assert_nothing_stored(store)


# --- issue 13: what a newcomer meets --------------------------------------------------------------


def test_a_private_url_is_refused_naming_the_setting_that_allows_it(store, pages):
    with pytest.raises(qabot.index.ingest.PrivateURLRefused) as refused:
        add(store, pages.url("/article"))
    assert str(refused.value) == (
        "127.0.0.1 is a private or local address (127.0.0.1); refused for safety "
        "(set QABOT_ALLOW_PRIVATE_URLS=1 to allow private addresses)"
    )
    assert refused.value.reason == "127.0.0.1 is a private or local address (127.0.0.1); refused for safety"
    assert_nothing_stored(store)


def test_stdin_with_a_title_is_all_text(store):
    draft = read_source("-", stdin_text="One line of text.\n", title="My title")
    assert (draft.title, draft.text) == ("My title", "One line of text.")
    assert read_source("-", stdin_text="Headline\n\nBody.\n").text == "Body."  # no title: the first line


def test_a_file_refused_by_add_is_named_once(store, tmp_path):
    path = write(tmp_path, "notes.docx", b"PK\x03\x04" + bytes(100))
    with pytest.raises(IngestError) as refused:
        add(store, str(path))
    assert str(refused.value).startswith(f"{path}: unsupported file type .docx; use ")
    assert str(refused.value).count("notes.docx") == 1


def test_adding_a_folder_or_a_jsonl_file_says_to_import_it(tmp_path):
    folder = tmp_path / "articles"
    write(folder, "kettles.txt", "Kettles recalled\n\n" + BODY)
    with pytest.raises(IngestError, match=f"^{folder} is a folder: add its articles with qabot import {folder}$"):
        read_source(str(folder))
    batch = write(tmp_path, "batch.jsonl", json.dumps({"title": "T", "text": "Text."}))
    with pytest.raises(IngestError, match="holds one article a line: add them with qabot import"):
        read_source(str(batch))
