"""Drafts: an article read from a source, not yet stored, made from text and then stored.

Every way in (``index.ingest`` for a file, a URL or pasted text; ``index.importing`` for a folder
or a JSONL file) ends in a ``Draft``. ``from_text`` makes one from text: its front matter is read
with ``index.safe_yaml`` and capped at ``MAX_FRONT_MATTER_CHARS``, and its first line is the title
only when it looks like one, else a title is made from its beginning, so no sentence is dropped.
``store_draft`` hands a draft to ``Store.add_article``, which chunks, indexes and stores it in one
transaction. Bad input raises ``IngestError`` (or the store's ``InvalidArticle`` /
``DuplicateArticle``) with a one-line reason, and nothing is stored.
"""

import re
import textwrap
from dataclasses import dataclass
from datetime import date

import yaml

from qabot.index.records import Article
from qabot.index.safe_yaml import SafeYamlLoader, problem
from qabot.index.store import InvalidArticle, Store

#: Front matter (between the ``---`` lines) longer than this is refused.
MAX_FRONT_MATTER_CHARS = 16_384
#: The front matter fields read; any other key is ignored.
FRONT_MATTER_KEYS = ("title", "url", "site", "published")
#: A first line longer than this many characters, or words, is not taken as a title.
MAX_TITLE_LINE_CHARS = 150
MAX_TITLE_LINE_WORDS = 20
#: A title made from the text's first sentence is cut to this many characters.
MADE_TITLE_CHARS = 80


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
