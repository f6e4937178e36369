"""Ingestion: pasted text, a file, a URL, a folder or a JSONL file → articles in the store.

Each source becomes a ``Draft`` (title, text and what is known of its origin), then
``Store.add_article`` chunks, indexes and stores it in one transaction. HTML, from a file or a URL,
goes through trafilatura, which keeps the article's main text and drops menus, footers and banners.
Bad input raises ``IngestError`` (or the store's ``InvalidArticle`` / ``DuplicateArticle``) with a
one-line reason, and nothing is stored.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import trafilatura
import yaml
from tqdm import tqdm

from index.fetch import FetchError, fetch
from index.store import MAX_TEXT_CHARS, Article, ArticleRefused, DuplicateArticle, InvalidArticle, Store

#: File types that can be added, by suffix.
TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
#: Files larger than this are refused before they are read.
MAX_FILE_BYTES = 10_000_000


class IngestError(InvalidArticle):
    """The source cannot be turned into an article (wrong type, no text, unreadable, ...)."""


@dataclass(frozen=True)
class Draft:
    """An article read from a source, not yet stored."""

    title: str
    text: str
    url: str | None = None
    site: str | None = None
    published: str | None = None


def from_text(raw: str, *, title: str | None = None) -> Draft:
    """Pasted text: the first non-empty line is the title (unless ``title`` is given), the rest the body.

    Markdown front matter (``---`` / ``title:``, ``url:``, ``published:``, ``site:`` / ``---``) is read.
    """
    if "\x00" in raw:
        raise IngestError("this looks like a binary file, not text")
    meta, raw = _front_matter(raw.replace("\r\n", "\n"))
    body = raw.strip()
    if not body:
        raise IngestError("there is no article text (the text is empty)")
    title = title or meta.get("title")
    if not title:
        first, _, rest = body.partition("\n")
        title, body = first.strip().lstrip("#").strip(), rest.strip()
    if not body:
        raise IngestError("there is no article text (only a title line)")
    return Draft(
        title=str(title),
        text=body,
        url=meta.get("url"),
        site=meta.get("site"),
        published=str(meta["published"]) if meta.get("published") else None,
    )


def _front_matter(raw: str) -> tuple[dict, str]:
    if not raw.startswith("---\n"):
        return {}, raw
    head, marker, rest = raw[4:].partition("\n---")
    if not marker:
        return {}, raw
    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError as error:
        raise IngestError(f"the front matter is not valid YAML: {error.problem}") from None
    if not isinstance(meta, dict):
        return {}, raw
    return meta, rest.partition("\n")[2]


def from_html(html: bytes | str, *, url: str | None = None) -> Draft:
    """An HTML page: title, date, site name and main text extracted with trafilatura."""
    # favor_precision: without it, a page with no article (only a menu, or "enable JavaScript")
    # comes back as that menu text instead of nothing
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
    )
    text = (document.text or "").strip() if document else ""
    if not text:
        raise IngestError("no article text could be found in this page")
    title = (document.title or "").strip()
    lines = text.split("\n")
    if title and lines[0].strip() == title and len(lines) > 1:
        text = "\n".join(lines[1:]).strip()  # the headline repeated as the first line
    if not title:
        title = lines[0][:120]
    site = document.sitename or (urlsplit(url).hostname if url else None)
    return Draft(title=title, text=text, url=url, site=site, published=document.date)


def from_file(path: Path) -> Draft:
    """A .txt, .md or .html file."""
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES | HTML_SUFFIXES:
        kinds = ", ".join(sorted(TEXT_SUFFIXES | HTML_SUFFIXES))
        raise IngestError(f"{path.name}: unsupported file type {suffix or '(none)'}; use {kinds}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IngestError(f"{path.name} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
        data = path.read_bytes()
    except OSError as error:
        raise IngestError(f"cannot read {path}: {error.strerror}") from None
    return from_bytes(data, suffix)


def from_bytes(data: bytes, suffix: str, *, charset: str | None = None) -> Draft:
    """File contents of the given type (.txt, .md or .html), e.g. a document uploaded to the bot.

    :param charset: the declared encoding of a text type (e.g. from an HTTP header); UTF-8 if None.
    """
    if suffix in HTML_SUFFIXES:
        return from_html(data)
    if b"\x00" in data:
        raise IngestError("this looks like a binary file, not text")
    try:
        text = data.decode(charset or "utf-8-sig").removeprefix("\ufeff")
    except (UnicodeDecodeError, LookupError):
        raise IngestError(f"the file is not {charset or 'UTF-8'} text") from None
    if len(text) > MAX_TEXT_CHARS:
        raise IngestError(f"the text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")
    return from_text(text)


def from_url(url: str, *, allow_private: bool = False) -> Draft:
    """A web page, fetched safely (``index.fetch``) and extracted.

    :param allow_private: accept private and loopback addresses (``QABOT_ALLOW_PRIVATE_URLS``).
    """
    try:
        page = fetch(url, allow_private=allow_private)
    except FetchError as error:
        raise IngestError(str(error)) from None
    if page.content_type in {"text/plain", "text/markdown"}:
        draft = from_bytes(page.body, ".txt", charset=page.charset)
    else:
        draft = from_html(page.body, url=page.url)
    return replace(draft, url=url, site=draft.site or urlsplit(url).hostname)


def read_source(source: str, *, stdin_text: str | None = None, allow_private: bool = False) -> Draft:
    """A draft from a path, an http(s) URL, or ``-`` (then ``stdin_text``)."""
    if source == "-":
        return from_text(stdin_text or "")
    try:
        scheme = urlsplit(source).scheme.lower()
    except ValueError:  # "http://[::1" and the like
        raise IngestError(f"{source} is not a valid URL") from None
    if scheme in {"http", "https"}:
        return from_url(source, allow_private=allow_private)
    if scheme and len(scheme) > 1:  # "C:" is a drive letter, not a scheme
        raise IngestError(f"only http and https URLs can be added, not {scheme}:")
    path = Path(source)
    try:
        found = path.is_file()
    except OSError as error:  # a name too long for the file system, and the like
        raise IngestError(f"{source}: {error.strerror or error}") from None
    if not found:
        raise IngestError(f"{source}: no such file")
    return from_file(path)


def store_draft(
    store: Store,
    draft: Draft,
    *,
    title: str | None = None,
    url: str | None = None,
    published: str | None = None,
    added_by: str | None = None,
) -> Article:
    """Store a draft, with any of title, URL and date overridden."""
    return store.add_article(
        title=title or draft.title,
        text=draft.text,
        url=url or draft.url,
        site=draft.site,
        published=published or draft.published,
        added_by=added_by,
    )


@dataclass
class ImportReport:
    """What a bulk import did: articles added, duplicates skipped, and failures with reasons."""

    added: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """``{"added": n, "skipped": n, "failed": n}``."""
        return {"added": len(self.added), "skipped": len(self.skipped), "failed": len(self.failed)}


def _jsonl_drafts(path: Path) -> Iterator[tuple[str, Draft | Exception]]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            where = f"{path.name}:{number}"
            if not line.strip():
                continue
            try:
                record = json.loads(line)
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
                yield where, Draft(
                    title=record["title"],
                    text=record["text"],
                    url=record.get("url") or None,
                    site=record.get("site") or None,
                    published=record.get("published") or None,
                )
            except json.JSONDecodeError as error:
                yield where, IngestError(f"not valid JSON ({error.msg})")
            except IngestError as error:
                yield where, error


def _folder_drafts(folder: Path) -> Iterator[tuple[str, Draft | Exception]]:
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    for path in files:
        try:
            yield str(path.relative_to(folder)), from_file(path)
        except IngestError as error:
            yield str(path.relative_to(folder)), error


def import_path(
    store: Store, path: Path, *, added_by: str | None = None, progress: bool | None = None
) -> ImportReport:
    """Add every article of a folder (recursively) or a JSONL file; one bad item never stops the rest.

    :param path: a folder of .txt/.md/.html files, or a .jsonl file with ``title``, ``text`` and
        optional ``url``, ``published``, ``site`` per line.
    :param progress: show a progress bar (None: only on a terminal).
    :raises IngestError: the path is neither a folder nor a JSONL file.
    """
    if path.is_dir():
        items = list(_folder_drafts(path))
    elif path.is_file() and path.suffix.lower() in {".jsonl", ".ndjson"}:
        items = list(_jsonl_drafts(path))
    else:
        raise IngestError(f"{path}: not a folder or a .jsonl file")
    report = ImportReport()
    disable = None if progress is None else not progress
    for where, item in tqdm(items, desc="importing", unit="article", disable=disable):
        if isinstance(item, Exception):
            report.failed.append((where, str(item)))
            continue
        try:
            report.added.append(store_draft(store, item, added_by=added_by))
        except DuplicateArticle as error:
            report.skipped.append((where, str(error)))
        except ArticleRefused as error:
            report.failed.append((where, str(error)))
    return report
