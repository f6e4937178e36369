"""Ingestion: pasted text, a file, a URL, a folder or a JSONL file → articles in the store.

Each source becomes a ``Draft`` (title, text and what is known of its origin), then
``Store.add_article`` chunks, indexes and stores it in one transaction. HTML, from a file or a URL,
goes through trafilatura, which keeps the article's main text and drops menus, footers and banners.
A PDF goes through ``index.pdf`` (its text keeps its page breaks, so citations name the page).
Front matter is read with ``index.safe_yaml`` and capped at ``MAX_FRONT_MATTER_CHARS``.
Bad input raises ``IngestError`` (or the store's ``InvalidArticle`` / ``DuplicateArticle``) with a
one-line reason, and nothing is stored. A bulk import reports each bad item with its reason and
stores every good one; only a store that cannot write (a full disk) stops it, with
``ImportStopped``. A folder's .jsonl files are imported as a .jsonl file given alone is.
"""

import json
import os
import re
import sqlite3
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from qabot.index import capped_worker
from qabot.index.fetch import FetchError, PrivateAddress, fetch
from qabot.index.pdf import MAX_PDF_BYTES, PdfRefused, read_pdf
from qabot.index.safe_yaml import SafeYamlLoader, problem
from qabot.index.store import MAX_TEXT_CHARS, Article, DuplicateArticle, InvalidArticle, Store

#: File types that can be added, by suffix.
TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
#: Every type of file that can be added.
FILE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
#: JSON Lines files, one article a line, imported alone or from a folder.
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
#: A JSONL line longer than this is not read: an article of ``MAX_TEXT_CHARS`` fits in it as JSON.
MAX_JSONL_LINE_BYTES = 16_000_000
#: Files larger than this are refused before they are read (PDFs: ``index.pdf.MAX_PDF_BYTES``).
MAX_FILE_BYTES = 10_000_000
#: Front matter (between the ``---`` lines) longer than this is refused.
MAX_FRONT_MATTER_CHARS = 16_384
#: The front matter fields read; any other key is ignored.
FRONT_MATTER_KEYS = ("title", "url", "site", "published")


class IngestError(InvalidArticle):
    """The source cannot be turned into an article (wrong type, no text, unreadable, ...)."""


class PrivateURLRefused(IngestError):
    """The URL is on a private or local address, and private addresses are not allowed.

    The message says how to allow them (where qabot runs: the CLI, the console); ``reason`` is the
    refusal alone, for a front end to say it its own way (in Telegram: an admin of the server can).
    """

    def __init__(self, refused: PrivateAddress):
        super().__init__(refused.with_hint())
        self.reason = str(refused)


class ImportStopped(Exception):
    """The store could not write (the disk is full, ...), so a bulk import stopped at item ``where``.

    ``report`` holds what the import did before it stopped; the message says where and why.
    """

    def __init__(self, where: str, error: Exception, report: "ImportReport"):
        super().__init__(f"the import stopped at {where}: {error} (the rest was not imported)")
        self.report = report


@dataclass(frozen=True)
class Draft:
    """An article read from a source, not yet stored."""

    title: str
    text: str
    url: str | None = None
    site: str | None = None
    published: str | None = None


def from_text(raw: str, *, title: str | None = None) -> Draft:
    """Pasted text or a text file: all of it is the body, unless its first line is a title.

    The title is ``title`` when given, else the front matter's, else the first line when it looks
    like one (``_title_line``), else made from the text's beginning (``_made_title``); only a title
    line is taken out of the body, so no sentence of the text is ever dropped. Markdown front
    matter (``---`` / ``title:``, ``url:``, ``published:``, ``site:`` / ``---``) is read; its values
    must be text, numbers or dates.
    """
    if "\x00" in raw:
        raise IngestError("this looks like a binary file, not text")
    meta, raw = _front_matter(raw.replace("\r\n", "\n"))
    body = raw.strip()
    if not body:
        raise IngestError("there is no article text (the text is empty)")
    title = title or meta["title"]
    if not title:
        first, _, rest = body.partition("\n")
        if not rest.strip() and _title_like(first):
            raise IngestError("there is no article text, only a title line")
        if _title_line(first, rest):
            title, body = first.strip().lstrip("#").strip(), rest.strip()
        else:
            title = _made_title(body)
    return Draft(title=title, text=body, url=meta["url"], site=meta["site"], published=meta["published"])


#: A first line longer than this many characters, or words, is not taken as a title.
MAX_TITLE_LINE_CHARS = 150
MAX_TITLE_LINE_WORDS = 20
#: A title made from the text's first sentence is cut to this many characters.
MADE_TITLE_CHARS = 80


def _title_line(first: str, rest: str) -> bool:
    """Whether a text's first line is its title rather than its first sentence.

    A Markdown heading (``# ...``) is one. Another line is one when it is short, does not end as a
    sentence does (``.``, ``!``, ``?``, ``:``, ``;``, ``,``) and is followed by a blank line or by a
    paragraph longer than itself that does not go on with its sentence (a lower-case word).
    """
    line = first.strip()
    if not _title_like(line):
        return False
    if line.startswith("#") or rest.lstrip(" \t").startswith("\n"):
        return True  # a heading, or a blank line after it
    paragraph = " ".join(rest.partition("\n\n")[0].split())
    wrapped = paragraph[:1].islower() or line.endswith("-")  # a sentence going on in the next line
    return not wrapped and len(paragraph) > len(line)


def _title_like(line: str) -> bool:
    """A Markdown heading, or a short line that does not end as a sentence does."""
    line = line.strip()
    if line.startswith("#"):
        return bool(line.lstrip("#").strip())
    if not line or len(line) > MAX_TITLE_LINE_CHARS or len(line.split()) > MAX_TITLE_LINE_WORDS:
        return False
    return not line.rstrip("\"'”’)»").endswith((".", "!", "?", ":", ";", ",", "…"))


def _made_title(text: str) -> str:
    """A title for a text that has none: its first sentence (or line), cut at a word to ``MADE_TITLE_CHARS``."""
    first = re.split(r"(?<=[.!?])\s", " ".join(text.strip().partition("\n")[0].split()), maxsplit=1)[0]
    return textwrap.shorten(first, width=MADE_TITLE_CHARS, placeholder=" …") or first[:MADE_TITLE_CHARS]


def _front_matter(raw: str) -> tuple[dict[str, str | None], str]:
    """The front matter's fields (``FRONT_MATTER_KEYS``, None when not given) and the text after it."""
    meta = dict.fromkeys(FRONT_MATTER_KEYS)
    if not raw.startswith("---\n"):
        return meta, raw
    head, marker, rest = raw[4:].partition("\n---")
    if not marker:
        return meta, raw
    if len(head) > MAX_FRONT_MATTER_CHARS:
        raise IngestError(
            f"the front matter is {len(head):,} characters; the limit is {MAX_FRONT_MATTER_CHARS:,}"
        )
    try:
        found = yaml.load(head, Loader=SafeYamlLoader)
    except yaml.YAMLError as error:
        raise IngestError(f"the front matter is not valid YAML: {problem(error)}") from None
    if not isinstance(found, dict):
        return meta, raw
    for key in FRONT_MATTER_KEYS:
        value = found.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int, float, date, type(None))):
            kind = "true/false" if isinstance(value, bool) else f"a {type(value).__name__}"
            raise IngestError(f"the front matter's {key}: must be text or a date, not {kind}")
        meta[key] = None if value is None or value == "" else str(value)
    return meta, rest.partition("\n")[2]


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
    if _is_jsonl(path):
        raise IngestError(f"{source} holds one article a line: add them with qabot import {source}")
    try:
        return from_file(path, title=title)
    except IngestError as error:
        raise IngestError(f"{source}: {error}") from None


def store_draft(
    store: Store,
    draft: Draft,
    *,
    title: str | None = None,
    url: str | None = None,
    published: str | None = None,
    added_by: str | None = None,
) -> Article:
    """Store a draft, with any of title, URL and date overridden.

    :raises IngestError: a field holds a lone surrogate (JSON's ``"\\ud800"``), which is not UTF-8.
    """
    fields = {
        "title": title or draft.title,
        "text": draft.text,
        "url": url or draft.url,
        "site": draft.site,
        "published": published or draft.published,
    }
    for name, value in fields.items():
        try:
            (value or "").encode()
        except UnicodeEncodeError as error:
            raise IngestError(
                f"the {name} is not valid Unicode: {value[error.start]!r} is a lone surrogate"
            ) from None
    return store.add_article(**fields, added_by=added_by)


@dataclass
class ImportReport:
    """What a bulk import did: articles added, duplicates skipped, and failures with reasons."""

    added: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """``{"added": n, "skipped": n, "failed": n}``."""
        return {"added": len(self.added), "skipped": len(self.skipped), "failed": len(self.failed)}


class _Unreadable(Exception):
    """A line or file that cannot be read as it is; the message says why, for the import's report."""


class _Skipped(_Unreadable):
    """A file left out on purpose (a link out of the folder); reported as skipped, not failed."""


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str | _Unreadable]]:
    """Each non-blank line of a JSONL file with its number, streamed: its text, or why it is none.

    A line over ``MAX_JSONL_LINE_BYTES`` is passed over unread; a line that is not UTF-8 is refused
    with the place of its first bad byte (nothing is guessed, so no character is silently changed).
    """
    with path.open("rb") as lines:
        number = 0
        while line := lines.readline(MAX_JSONL_LINE_BYTES + 1):
            number += 1
            if len(line) > MAX_JSONL_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := lines.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass  # the rest of the long line, read and let go
                yield number, _Unreadable(f"the line is over {MAX_JSONL_LINE_BYTES:,} bytes; not read")
                continue
            if not line.strip():
                continue
            try:
                yield number, line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                yield number, _Unreadable(
                    f"the line is not UTF-8 text (byte 0x{line[error.start]:02x} at byte {error.start + 1});"
                    " save the file as UTF-8"
                )


def _jsonl_drafts(path: Path, name: str) -> Iterator[tuple[str, Draft | Exception]]:
    """Each line's article (or why it is none), as ``name:line``."""
    for number, line in _jsonl_lines(path):
        if isinstance(line, str):
            try:
                line = _jsonl_draft(line)
            except IngestError as error:
                line = error
        yield f"{name}:{number}", line


def json_line(line: str):
    """One line of JSON Lines, read; a ValueError that says in one line why it cannot be."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg})") from None
    except ValueError as error:  # an integer of more than 4,300 digits
        raise ValueError(f"not valid JSON ({error})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None


def _jsonl_draft(line: str) -> Draft:
    """The article of one JSONL line."""
    try:
        record = json_line(line)
    except ValueError as error:
        raise IngestError(str(error)) from None
    if not isinstance(record, dict):
        raise IngestError("the line is not a JSON object")
    missing = [k for k in ("title", "text") if not isinstance(record.get(k), str)]
    if missing:
        raise IngestError(f"missing or non-text field(s): {', '.join(missing)}")
    wrong = [
        k
        for k in ("url", "site", "published")
        if record.get(k) is not None and not isinstance(record[k], str)
    ]
    if wrong:
        raise IngestError(f"non-text field(s): {', '.join(wrong)}")
    return Draft(
        title=record["title"],
        text=record["text"],
        url=record.get("url") or None,
        site=record.get("site") or None,
        published=record.get("published") or None,
    )


def _is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in JSONL_SUFFIXES


def _folder_files(folder: Path) -> list[Path]:
    """The folder's files, recursively, in order; hidden ones (``.env``, ``.git/``) left out.

    Links to folders are not followed; a link to a file is kept, to be checked by ``_inside``.
    """
    files = []
    for parent, folders, names in os.walk(folder):
        folders[:] = [f for f in folders if not f.startswith(".")]
        files += [Path(parent, name) for name in names if not name.startswith(".")]
    return sorted(path for path in files if path.is_file() or path.is_symlink())


def _inside(path: Path, folder: Path) -> Path:
    """The real file a folder's file is, which must lie inside the folder.

    :raises _Skipped: a link to something outside the folder (``b.txt -> /etc/passwd``), which is
        never read.
    """
    real = path.resolve()
    if not real.is_relative_to(folder.resolve()):
        raise _Skipped("a link to a file outside the folder; not followed")
    if not real.is_file():
        raise _Unreadable("a link to nothing (or not to a file)")
    return real


def _folder_items(folder: Path) -> Iterator[tuple[str, Draft | Exception | Path]]:
    """The folder's files (read later, one at a time), and the lines of its JSONL files."""
    for path in _folder_files(folder):
        where = str(path.relative_to(folder))
        try:
            real = _inside(path, folder)
        except _Unreadable as error:
            yield where, error
            continue
        if _is_jsonl(path):
            yield from _jsonl_drafts(real, where)
        else:
            yield where, real


def _count_items(path: Path) -> int:
    """How many items ``import_path`` goes through: files, and the non-blank lines of JSONL files."""
    if path.is_file():
        return sum(1 for _ in _jsonl_lines(path))
    count = 0
    for file in _folder_files(path):
        try:
            real = _inside(file, path)
        except _Unreadable:
            count += 1
            continue
        count += sum(1 for _ in _jsonl_lines(real)) if _is_jsonl(file) else 1
    return count


def check_importable(path: Path) -> None:
    """Refuse a path that ``import_path`` cannot import.

    :raises IngestError: the path is neither a folder nor a JSONL file.
    """
    if not (path.is_dir() or (path.is_file() and _is_jsonl(path))):
        raise IngestError(f"{path}: not a folder or a .jsonl file")


def import_path(
    store: Store, path: Path, *, added_by: str | None = None, progress=None
) -> ImportReport:
    """Add every article of a folder (recursively) or a JSONL file; one bad item never stops the rest.

    :param path: a folder of .txt/.md/.html and .jsonl files, or a .jsonl file with ``title``,
        ``text`` and optional ``url``, ``published``, ``site`` per line.
    :param progress: wraps the items (files and JSONL lines, read as they come) to show progress,
        called as ``progress(items, total)`` (e.g. ``bot.progress.tracked``), or None.
    :raises IngestError: the path is neither a folder nor a JSONL file.
    :raises ImportStopped: the store could not write (e.g. the disk is full); it holds the report
        of what was done before.
    """
    check_importable(path)
    items = _folder_items(path) if path.is_dir() else _jsonl_drafts(path, path.name)
    report = ImportReport()
    for where, item in progress(items, _count_items(path)) if progress else items:
        if isinstance(item, Path):
            try:
                item = from_file(item)
            except IngestError as error:
                item = error
        if isinstance(item, Exception):
            (report.skipped if isinstance(item, _Skipped) else report.failed).append((where, str(item)))
            continue
        try:
            report.added.append(store_draft(store, item, added_by=added_by))
        except DuplicateArticle as error:
            report.skipped.append((where, str(error)))
        except (sqlite3.OperationalError, OSError) as error:  # the next items would fail the same way
            raise ImportStopped(where, error, report) from None
        except (ValueError, TypeError) as error:  # InvalidArticle, or anything else wrong with this one
            report.failed.append((where, str(error)))
    return report
