"""PDF documents → article text with its pages: checks, then extraction and clean-up in a child process.

pdfminer.six extracts the text (``benchmarks/pdf_extraction.py`` measured it against pypdf: cleaner
text, and in reading order even when two columns are written row by row), in
``index.pdf_worker``, run by ``index.capped_worker`` in a child process with a memory, CPU and time
limit, so no file can take the bot down. There too, ``article_text()`` makes the page texts into an
article, with work linear in their length: running headers, footers and page numbers
(lines repeated at the top or bottom of most pages, digits aside) are dropped; a word hyphenated at a
line end is joined (its hyphen kept when the document writes the word with one elsewhere); lines are
joined into paragraphs. Every page's text ends with a page break (``index.pages``), so a citation
can name the page. The title is the metadata's, unless that is empty or a file name, else the first
line.

A file that is not a PDF, is cut short, damaged, protected by a password, too large, or has no text
(a scan) raises ``PdfRefused`` with a one-line reason; nothing is stored.
"""

import re
from collections import Counter
from dataclasses import dataclass

from qabot.index import capped_worker
from qabot.index.pages import PAGE_BREAK, join_pages
from qabot.index.store import MAX_TEXT_CHARS, InvalidArticle

#: The library that extracts the text (``index.pdf_worker``).
LIBRARY = "pdfminer.six"
#: PDFs larger than this are refused before they are read (Telegram's bots get files up to 20 MB).
MAX_PDF_BYTES = 20_000_000
MAX_PAGES = 1_000
#: The reading process's limits: address space, CPU seconds (wall time: ``capped_worker.wall_seconds``).
WORKER_MEMORY_BYTES = 2 * 1024**3
WORKER_SECONDS = 120
#: Lines within this many of a page's top or bottom may be a running header or footer...
EDGE_LINES = 3
#: ... and are one when they stand there (digits aside) on at least this share of the pages.
RUNNING_SHARE = 0.6
#: A line shorter than this share of the document's usual line can end a paragraph.
SHORT_LINE = 0.75
#: A word broken by a hyphen at a line end is looked for in this many characters at the end of the
#: paragraph so far (a longer run of letters counts by its last ones), so that joining lines is
#: linear in their length.
BROKEN_WORD_CHARS = 64

_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"}
)
_SPACES = re.compile(r"[^\S\n]+")
_DIGITS = re.compile(r"\d+")
_LETTERS = re.compile(r"[^\W\d_]*")
# Words start where a letter does not follow another: a run of letters is tried once, not at each letter.
_HYPHENATED_END = re.compile(r"(?<![^\W\d_])([^\W\d_]+)[-\u00ad]$")
_HYPHENATED_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_]+-[^\W\d_]+")
_ENDS_SENTENCE = re.compile(r"[.!?:;…][\"'”’)\]]*$")
_FILE_NAME = re.compile(r"\.(?:pdf|docx?|odt|rtf|txt|tex|indd|qxd|pptx?|xlsx?)$", re.IGNORECASE)
_NO_TITLES = {"untitled", "untitled document", "document", "title", "no title"}


class PdfRefused(InvalidArticle):
    """The PDF cannot be added; the message says why in one line."""


@dataclass(frozen=True)
class PdfText:
    """A PDF read: its title, its text (every page ending in a page break) and how many pages."""

    title: str
    text: str
    pages: int


def read_pdf(data: bytes) -> PdfText:
    """The title and text of a PDF file's contents.

    :raises PdfRefused: not a PDF, cut short, damaged, protected by a password, over
        ``MAX_PDF_BYTES``, ``MAX_PAGES`` or ``index.store.MAX_TEXT_CHARS``, too costly to read, or
        without text.
    """
    if len(data) > MAX_PDF_BYTES:
        raise PdfRefused(f"the PDF is {len(data):,} bytes; the limit is {MAX_PDF_BYTES:,}")
    if b"%PDF-" not in data[:1024]:
        raise PdfRefused("this is not a PDF file (it does not begin with %PDF-)")
    if b"%%EOF" not in data[-1024:]:
        raise PdfRefused("the PDF is incomplete: its end is missing (was the download cut short?)")
    try:
        found = capped_worker.run(
            "qabot.index.pdf_worker:read", data, what="the PDF", memory_bytes=WORKER_MEMORY_BYTES,
            cpu_seconds=WORKER_SECONDS, max_pages=MAX_PAGES, max_chars=MAX_TEXT_CHARS,
        )
    except capped_worker.Refused as error:
        raise PdfRefused(str(error)) from None
    if not found["text"].strip():  # strip() takes page breaks too
        raise PdfRefused("the PDF has no text to read (is it a scan? it needs OCR first)")
    title = usable_title(found["title"]) or found["first_line"]
    return PdfText(title=title, text=found["text"], pages=found["pages"])


def usable_title(title: str | None) -> str | None:
    """The metadata title, unless it is empty, a placeholder or a file name ("report.docx")."""
    title = " ".join((title or "").split())
    if not any(ch.isalpha() for ch in title):
        return None
    if title.casefold() in _NO_TITLES or _FILE_NAME.search(title) or title.casefold().startswith("microsoft word - "):
        return None
    return title


# --- clean-up: page texts → article text --------------------------------------------------------


def _lines(page: str) -> list[str]:
    """The page's lines, spaces collapsed; an empty string stands for a gap (a new paragraph)."""
    text = page.translate(_LIGATURES).replace("\r\n", "\n").replace("\r", "\n").replace(PAGE_BREAK, "\n")
    return [_SPACES.sub(" ", line).strip() for line in text.split("\n")]


def _edges(lines: list[str]) -> set[int]:
    """Indices of the first and last EDGE_LINES non-empty lines."""
    full = [i for i, line in enumerate(lines) if line]
    return set(full[:EDGE_LINES] + full[-EDGE_LINES:])


def _shape(line: str) -> str:
    return _DIGITS.sub("#", line.casefold())


def _without_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Pages without the lines repeated at the top or bottom of most pages: headers, footers, page
    numbers (digits are ignored, so "Page 3 of 9" repeats)."""
    if len(pages) < 2:
        return pages
    seen = Counter()
    for lines in pages:
        seen.update({_shape(lines[i]) for i in _edges(lines)})
    needed = max(2, RUNNING_SHARE * len(pages))
    running = {shape for shape, count in seen.items() if count >= needed}
    out = []
    for lines in pages:
        drop, dropped = set(), set()
        for i in sorted(_edges(lines)):
            shape = _shape(lines[i])
            if shape in running and shape not in dropped:  # once a page: page 1's title may repeat it
                drop.add(i)
                dropped.add(shape)
        out.append([line for i, line in enumerate(lines) if i not in drop])
    return out


def _kept_hyphen(end: str, following: str, hyphenated: set[str]) -> bool | None:
    """None unless a paragraph ending in ``end`` ends in a word broken by a hyphen that the line
    ``following`` finishes; else whether the hyphen is kept (the document writes that word with one:
    ``hyphenated``)."""
    broken = _HYPHENATED_END.search(end)
    if not broken or not following[:1].islower():
        return None
    return f"{broken.group(1)}-{_LETTERS.match(following).group()}".casefold() in hyphenated


def _end(parts: list[str]) -> str:
    """The last BROKEN_WORD_CHARS + 1 characters of the parts joined."""
    size, last = BROKEN_WORD_CHARS + 1, []
    for part in reversed(parts):
        last.append(part[-size:])
        size -= len(last[-1])
        if size <= 0:
            break
    return "".join(reversed(last))


def _paragraphs(lines: list[str], usual: float, hyphenated: set[str]) -> list[str]:
    """Lines joined into paragraphs. A gap ends one, and so does a short line that ends a sentence
    or is followed by a line that does not begin in lower case (a heading, a table row)."""
    paragraphs, parts = [], []  # the lines of the paragraph so far, and the spaces between them
    for i, line in enumerate(lines):
        if not line:
            if parts:
                paragraphs.append("".join(parts))
            parts = []
            continue
        if parts:
            kept = _kept_hyphen(_end(parts), line, hyphenated)
            if kept is None:
                parts.append(" ")
            else:  # a soft hyphen that is kept becomes a hyphen
                parts[-1] = parts[-1][:-1] + ("-" if kept else "")
        parts.append(line)
        following = lines[i + 1] if i + 1 < len(lines) else ""
        short = len(line) < SHORT_LINE * usual
        if following and short and (_ENDS_SENTENCE.search(line) or not following[:1].islower()):
            paragraphs.append("".join(parts))
            parts = []
    if parts:
        paragraphs.append("".join(parts))
    return paragraphs


def article_text(pages: list[str]) -> tuple[str, str]:
    """Extracted page texts → the article text (each page ending in a page break) and its first line.

    :param pages: each page's text: lines, with a blank line where the extraction saw a gap.
    """
    cleaned = _without_running_lines([_lines(page) for page in pages])
    lengths = sorted(len(line) for lines in cleaned for line in lines if line)
    usual = lengths[int(0.8 * (len(lengths) - 1))] if lengths else 0
    hyphenated = {w.casefold() for lines in cleaned for line in lines for w in _HYPHENATED_WORD.findall(line)}
    texts, continues, before = [], [], ""
    for lines in cleaned:
        paragraphs = _paragraphs(lines, usual, hyphenated)
        first = paragraphs[0] if paragraphs else ""
        continues.append(bool(before) and not _ENDS_SENTENCE.search(before) and first[:1].islower())
        before = paragraphs[-1] if paragraphs else before
        texts.append("\n".join(paragraphs))
    first_line = next((line for lines in cleaned for line in lines if line), "")
    return join_pages(texts, continues=continues), first_line
