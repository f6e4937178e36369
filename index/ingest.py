"""Ingestion: pasted text, a file or a URL → a ``Draft`` (``index.drafts``), for ``qabot add`` and /add.

A source is a path, an http(s) URL or ``-`` (the text given on stdin); ``read_source`` tells them
apart and reads the file by its type. Text becomes a draft through ``index.drafts.from_text`` (its
front matter, and its first line as the title only when it looks like one). HTML, from a file or
a URL, goes through trafilatura, which keeps the article's main text and drops menus, footers and
banners. A PDF goes through ``index.pdf`` (its text keeps its page breaks, so citations name the
page). A URL is fetched safely (``index.fetch``). Bad input raises ``IngestError`` with a one-line
reason. A folder or a .jsonl file is refused here: ``index.importing`` imports it.
"""

from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from qabot.index import capped_worker
from qabot.index.drafts import Draft, IngestError, from_text
from qabot.index.fetch import FetchError, PrivateAddress, fetch
from qabot.index.pdf import MAX_PDF_BYTES, PdfRefused, read_pdf
from qabot.index.store import MAX_TEXT_CHARS

#: File types that can be added, by suffix.
TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
#: Every type of file that can be added.
FILE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
#: JSON Lines files, one article a line, imported alone or from a folder (``index.importing``).
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
#: Files larger than this are refused before they are read (PDFs: ``index.pdf.MAX_PDF_BYTES``).
MAX_FILE_BYTES = 10_000_000


class PrivateURLRefused(IngestError):
    """The URL is on a private or local address, and private addresses are not allowed.

    The message says how to allow them (where qabot runs: the CLI, the console); ``reason`` is the
    refusal alone, for a front end to say it its own way (in Telegram: an admin of the server can).
    """

    def __init__(self, refused: PrivateAddress):
        super().__init__(refused.with_hint())
        self.reason = str(refused)


def from_html(html: bytes | str, *, url: str | None = None) -> Draft:
    """An HTML page: title, date, site name and main text extracted with trafilatura, in a capped
    worker process (``index.capped_worker``): on some markup trafilatura's work grows with the
    square of the page."""
    # favor_precision: without it, a page with no article (only a menu, or "enable JavaScript")
    # comes back as that menu text instead of nothing
    try:
        document = capped_worker.run(
            "trafilatura:bare_extraction",
            html,
            what="the page",
            fields=["text", "title", "sitename", "date"],
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            favor_precision=True,
        )
    except capped_worker.Refused as error:
        raise IngestError(str(error)) from None
    text = (document["text"] or "").strip() if document else ""
    if not text:
        raise IngestError("no article text could be found in this page")
    title = (document["title"] or "").strip()
    lines = text.split("\n")
    if title and lines[0].strip() == title and len(lines) > 1:
        text = "\n".join(lines[1:]).strip()  # the headline repeated as the first line
    if not title:
        title = lines[0][:120]
    site = document["sitename"] or (urlsplit(url).hostname if url else None)
    return Draft(title=title, text=text, url=url, site=site, published=document["date"])


def max_file_bytes(suffix: str) -> int:
    """The largest file of this type (``.pdf``, ``.txt``, ...) that is read."""
    return MAX_PDF_BYTES if suffix in PDF_SUFFIXES else MAX_FILE_BYTES


def is_jsonl(path: Path) -> bool:
    """Whether the file is a JSON Lines file (``JSONL_SUFFIXES``), one article a line."""
    return path.suffix.lower() in JSONL_SUFFIXES


def from_file(path: Path, *, title: str | None = None) -> Draft:
    """A .txt, .md, .html or .pdf file (the reasons it is refused for do not name it).

    :param title: the article's title; a text file's first line is then part of its text.
    """
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        kinds = ", ".join(sorted(FILE_SUFFIXES))
        raise IngestError(f"unsupported file type {suffix or '(none)'}; use {kinds}")
    try:
        size = path.stat().st_size
        if size > max_file_bytes(suffix):
            raise IngestError(f"the file is {size:,} bytes; the limit is {max_file_bytes(suffix):,}")
        data = path.read_bytes()
    except OSError as error:
        raise IngestError(f"cannot be read: {error.strerror}") from None
    return from_bytes(data, suffix, title=title)


def from_bytes(data: bytes, suffix: str, *, charset: str | None = None, title: str | None = None) -> Draft:
    """File contents of the given type (.txt, .md, .html or .pdf), e.g. a document uploaded to the bot.

    :param charset: the declared encoding of a text type (e.g. from an HTTP header); UTF-8 if None.
    :param title: the article's title instead of the one found; a text's first line is then part
        of its text.
    """
    if suffix in HTML_SUFFIXES:
        return _titled(from_html(data), title)
    if suffix in PDF_SUFFIXES:
        return _titled(from_pdf(data), title)
    if b"\x00" in data:
        raise IngestError("this looks like a binary file, not text")
    try:
        text = data.decode(charset or "utf-8-sig").removeprefix("\ufeff")
    except (UnicodeError, LookupError):
        raise IngestError(f"the file is not {charset or 'UTF-8'} text") from None
    if len(text) > MAX_TEXT_CHARS:
        raise IngestError(f"the text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")
    return from_text(text, title=title)


def _titled(draft: Draft, title: str | None) -> Draft:
    return replace(draft, title=title) if title else draft


def from_pdf(data: bytes) -> Draft:
    """A PDF document (``index.pdf``): its text with a page break ending each page, so that
    citations name the page; its title from the metadata, else its first line."""
    try:
        document = read_pdf(data)
    except PdfRefused as error:
        raise IngestError(str(error)) from None
    return Draft(title=document.title, text=document.text)


def from_url(url: str, *, allow_private: bool = False, title: str | None = None) -> Draft:
    """A web page, fetched safely (``index.fetch``) and extracted.

    :param allow_private: accept private and loopback addresses (``QABOT_ALLOW_PRIVATE_URLS``).
    :param title: the article's title instead of the page's.
    """
    try:
        page = fetch(url, allow_private=allow_private)
    except PrivateAddress as error:
        raise PrivateURLRefused(error) from None
    except FetchError as error:
        raise IngestError(str(error)) from None
    if page.content_type in {"text/plain", "text/markdown"}:
        draft = from_bytes(page.body, ".txt", charset=page.charset, title=title)
    else:
        draft = _titled(from_html(page.body, url=page.url), title)
    return replace(draft, url=url, site=draft.site or urlsplit(url).hostname)


def read_source(
    source: str, *, stdin_text: str | None = None, title: str | None = None, allow_private: bool = False
) -> Draft:
    """A draft from a path, an http(s) URL, or ``-`` (then ``stdin_text``).

    :param title: the article's title instead of the one found; the text is then all of a text
        file's or ``stdin_text``'s, from its first line.
    :raises IngestError: with the reason, naming the file when it is about a file.
    """
    if source == "-":
        return from_text(stdin_text or "", title=title)
    try:
        scheme = urlsplit(source).scheme.lower()
    except ValueError:  # "http://[::1" and the like
        raise IngestError(f"{source} is not a valid URL") from None
    if scheme in {"http", "https"}:
        return from_url(source, allow_private=allow_private, title=title)
    if scheme and len(scheme) > 1:  # "C:" is a drive letter, not a scheme
        raise IngestError(f"only http and https URLs can be added, not {scheme}:")
    path = Path(source)
    try:
        found = path.is_file()
    except OSError as error:  # a name too long for the file system, and the like
        raise IngestError(f"{source}: {error.strerror or error}") from None
    if not found:
        if path.is_dir():
            raise IngestError(f"{source} is a folder: add its articles with qabot import {source}")
        raise IngestError(f"{source}: no such file")
    if is_jsonl(path):
        raise IngestError(f"{source} holds one article a line: add them with qabot import {source}")
    try:
        return from_file(path, title=title)
    except IngestError as error:
        raise IngestError(f"{source}: {error}") from None

