"""PDF documents → article text with its pages: checks, extraction in a child process, clean-up.

pdfminer.six extracts the text (``benchmarks/pdf_extraction.py`` measured it against pypdf: cleaner
text, and in reading order even when two columns are written row by row), in
``index.pdf_worker``, a child process with a memory, CPU and time limit, so no file can take the
bot down. The page texts are then made into an article: running headers, footers and page numbers
(lines repeated at the top or bottom of most pages, digits aside) are dropped; a word hyphenated at a
line end is joined (its hyphen kept when the document writes the word with one elsewhere); lines are
joined into paragraphs. Every page's text ends with a page break (``index.pages``), so a citation
can name the page. The title is the metadata's, unless that is empty or a file name, else the first
line.

A file that is not a PDF, is cut short, damaged, protected by a password, too large, or has no text
(a scan) raises ``PdfRefused`` with a one-line reason; nothing is stored.
"""

import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from index.pages import PAGE_BREAK, join_pages
from index.store import MAX_TEXT_CHARS, InvalidArticle

#: The library that extracts the text (``index.pdf_worker``).
LIBRARY = "pdfminer.six"
#: PDFs larger than this are refused before they are read (Telegram's bots get files up to 20 MB).
MAX_PDF_BYTES = 20_000_000
MAX_PAGES = 1_000
#: The extraction process's limits: address space, CPU seconds (and twice that, and 5 s, in wall time).
WORKER_MEMORY_BYTES = 2 * 1024**3
WORKER_SECONDS = 120
#: Lines within this many of a page's top or bottom may be a running header or footer...
EDGE_LINES = 3
#: ... and are one when they stand there (digits aside) on at least this share of the pages.
RUNNING_SHARE = 0.6
#: A line shorter than this share of the document's usual line can end a paragraph.
SHORT_LINE = 0.75

log = logging.getLogger(__name__)
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"}
)
_SPACES = re.compile(r"[^\S\n]+")
_DIGITS = re.compile(r"\d+")
_LETTERS = re.compile(r"[^\W\d_]*")
_HYPHENATED_END = re.compile(r"([^\W\d_]+)[-\u00ad]$")
_HYPHENATED_WORD = re.compile(r"[^\W\d_]+-[^\W\d_]+")
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
    found = _extract(data)
    text, first_line = article_text(found["pages"])
    if not text.strip():  # strip() takes page breaks too
        raise PdfRefused("the PDF has no text to read (is it a scan? it needs OCR first)")
    title = usable_title(found.get("title")) or first_line
    return PdfText(title=title, text=text, pages=len(found["pages"]))


def _extract(data: bytes) -> dict:
    """``index.pdf_worker``'s answer for the file: ``{"title", "pages"}``."""
    limits = [MAX_PAGES, MAX_TEXT_CHARS, WORKER_MEMORY_BYTES, WORKER_SECONDS]
    path = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "index.pdf_worker", *map(str, limits)],
            input=data,
            capture_output=True,
            timeout=2 * WORKER_SECONDS + 5,
            env={**os.environ, "PYTHONPATH": path},
        )
    except subprocess.TimeoutExpired:
        raise PdfRefused(f"reading the PDF took longer than {2 * WORKER_SECONDS + 5} s") from None
    if done.returncode == -signal.SIGXCPU:
        raise PdfRefused(f"reading the PDF took more than {WORKER_SECONDS} s of CPU time")
    try:
        found = json.loads(done.stdout)
    except ValueError:
        found = None
    if done.returncode or not isinstance(found, dict):  # killed (out of memory), or not installed
        problem = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        log.warning("the PDF reader process failed (exit status %s): %s", done.returncode, problem[0])
        raise PdfRefused("the PDF could not be read (the reader stopped; see the log)")
    if "refused" in found:
        raise PdfRefused(found["refused"])
    return found


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


def _rejoined(line: str, following: str, hyphenated: set[str]) -> str | None:
    """``line`` without the hyphen of a word it breaks that ``following`` finishes (the hyphen kept
    when the document writes that word with one: ``hyphenated``), else None."""
    end = _HYPHENATED_END.search(line)
    if not end or not following[:1].islower():
        return None
    word = f"{end.group(1)}-{_LETTERS.match(following).group()}".casefold()
    return line[: end.end() - 1] + ("-" if word in hyphenated else "")


def _paragraphs(lines: list[str], usual: float, hyphenated: set[str]) -> list[str]:
    """Lines joined into paragraphs. A gap ends one, and so does a short line that ends a sentence
    or is followed by a line that does not begin in lower case (a heading, a table row)."""
    paragraphs, current = [], ""
    for i, line in enumerate(lines):
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        joined = _rejoined(current, line, hyphenated) if current else None
        current = joined + line if joined is not None else f"{current} {line}".lstrip()
        following = lines[i + 1] if i + 1 < len(lines) else ""
        short = len(line) < SHORT_LINE * usual
        if following and short and (_ENDS_SENTENCE.search(line) or not following[:1].islower()):
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
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
