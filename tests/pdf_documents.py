"""Real-looking PDF documents made with fpdf2, each with the text a reader sees on every page.

For ``tests/index/test_pdf.py`` and ``benchmarks/pdf_extraction.py``. ``typeset()`` prints sections
(a heading, then paragraphs) the way a report or a newsletter is printed: A4 pages with a running
header and a "Page n of m" footer, one or two columns, lines broken between words and long words
hyphenated at the end of a line, and an optional table on a page of its own. The words of a line are
drawn as one string, or each at its own position with no space character at all (as TeX and many
layout programs write them, justified); two columns are written column by column or, as some
programs do, row by row across both. ``Document.pages`` holds each page's text without its header
and footer, so that an extraction can be scored against it.

The bad ones: ``scanned()`` (a picture of text, no text layer), ``encrypted()``, ``truncated()``
and ``bomb()`` (a page whose content stream inflates to gigabytes); and, written object by object
(``raw_pdf()``), ``letter_run()`` (a few hundred bytes printing one line of a hundred thousand
letters) and ``looping()`` (an object whose reference leads back to itself).
"""

import io
import zlib
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import EncryptionMethod

from qabot.index.ingest import from_file

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = sorted((ROOT / "examples" / "articles").glob("*.md"))
#: DejaVu ships with the machine image (fonts-dejavu-core); it has every glyph the texts use.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
#: A section in accented and typographic text (the sample articles are plain ASCII).
ACCENTED = (
    "Café Müller reopens on the Quai d’Orsay",
    [
        "The café run by Jürgen Müller and Élodie Façade reopened on Friday after a renovation "
        "that took fourteen months – twice as long as planned. “We kept the old zinc bar and the "
        "Bösendorfer piano,” Müller said, pouring the first crème brûlée of the season.",
        "Regulars queued along the quay before nine o’clock. The naïve murals of the Seine, painted "
        "in 1931 by Ångström Ødegård, were restored by specialists from Zürich and Kraków.",
    ],
)
#: A table: the header row, then one row per project.
BUDGET_TABLE = [
    ["Project", "Budget (million EUR)", "Completion"],
    ["Quay Street tram stop", "12.5", "March 2025"],
    ["Millbank bridge repairs", "4.2", "October 2024"],
    ["Northfield cycle lanes", "1.8", "June 2025"],
    ["Harbour flood barrier", "27.0", "December 2026"],
]

_PAGE_W, _MARGIN, _TOP, _BOTTOM = 210.0, 20.0, 25.0, 275.0
_GAP = 8.0  # between columns, mm
_SIZE, _LEADING = 10, 4.8  # body text: points, mm between baselines
_HEAD_SIZE, _HEAD_LEADING = 13, 7.0
_PARAGRAPH_SPACE = 2.0  # mm after a paragraph
#: Words this long or longer may be hyphenated; each part keeps at least this many letters.
_HYPHENATE_FROM, _HYPHEN_PART = 8, 3


@dataclass(frozen=True)
class Document:
    """A PDF and what is printed on it.

    :param pages: each page's text as read: headings and paragraphs (their lines joined, hyphenated
        words whole) one a line; a paragraph that goes on over a page is split between the two.
    :param running: the header and footer lines, printed on every page, not part of the text.
    :param hyphenated: the words printed broken over two lines, as they are whole.
    """

    data: bytes
    title: str
    pages: list[str]
    running: list[str]
    hyphenated: list[str]

    @property
    def text(self) -> str:
        """All of the pages' text."""
        return "\n".join(self.pages)


@dataclass
class _Line:
    words: list[str]
    heading: bool = False
    last: bool = False  # the paragraph's last line: not justified
    hyphen: str | None = None  # the whole word whose first part ends this line


def sample_sections(count: int | None = None, *, start: int = 0) -> list[tuple[str, list[str]]]:
    """The sample articles (``examples/articles``) as sections: a title and its paragraphs."""
    chosen = SAMPLE_ARTICLES[start : None if count is None else start + count]
    sections = []
    for path in chosen:
        draft = from_file(path)
        sections.append((draft.title, [p.strip() for p in draft.text.split("\n\n") if p.strip()]))
    return sections


def _pdf() -> FPDF:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creator("qabot tests")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    return pdf


def _break_lines(pdf: FPDF, text: str, width: float, *, hyphenate: bool) -> list[_Line]:
    """A paragraph broken into lines of at most ``width`` mm, long words hyphenated to fill them."""
    lines, current = [], []
    space = pdf.get_string_width(" ")
    used = 0.0
    for word in text.split():
        wide = pdf.get_string_width(word)
        if not current or used + space + wide <= width:
            used += (space if current else 0) + wide
            current.append(word)
            continue
        room = width - used - space
        split = 0
        if hyphenate and len(word) >= _HYPHENATE_FROM and word.isalpha():
            for k in range(len(word) - _HYPHEN_PART, _HYPHEN_PART - 1, -1):
                if pdf.get_string_width(word[:k] + "-") <= room:
                    split = k
                    break
        if split:
            lines.append(_Line(current + [word[:split] + "-"], hyphen=word))
            word = word[split:]
        else:
            lines.append(_Line(current))
        current, used = [word], pdf.get_string_width(word)
    lines.append(_Line(current, last=True))
    return lines


def _page_text(lines: list[_Line]) -> str:
    """What a reader reads in these lines: paragraphs whole, hyphenated words joined."""
    out, words = [], []
    for line in lines:
        if line.heading:
            if words:
                out.append(" ".join(words))
                words = []
            out.append(" ".join(line.words))
            continue
        line_words = list(line.words)
        if words and words[-1].endswith("-") and words[-1][:-1].isalpha():
            line_words[0] = words.pop()[:-1] + line_words[0]
        words += line_words
        if line.last:
            out.append(" ".join(words))
            words = []
    if words:
        out.append(" ".join(words))
    return "\n".join(out)


def typeset(
    sections: list[tuple[str, list[str]]],
    *,
    title: str,
    columns: int = 1,
    row_order: bool = False,
    separate_words: bool = False,
    metadata: bool = True,
    table: list[list[str]] | None = None,
    header: str | None = None,
    hyphenate: bool = True,
) -> Document:
    """Sections printed as a PDF.

    :param title: the document's title, printed at the top of page 1 (and kept as its metadata
        title when ``metadata``).
    :param columns: 1 or 2.
    :param row_order: with two columns, write the lines row by row across both (else column by column).
    :param separate_words: draw each word at its own position, justified, with no space characters.
    :param table: rows of cells, printed on a page of their own after the sections.
    :param header: the running header (default: the title); the footer says "Page n of m".
    """
    pdf = _pdf()
    width = (_PAGE_W - 2 * _MARGIN - _GAP * (columns - 1)) / columns
    lines: list[_Line] = []
    for heading, paragraphs in [(title, []), *sections]:
        pdf.set_font("DejaVu", "B", _HEAD_SIZE)
        lines += [_Line(line.words, heading=True) for line in _break_lines(pdf, heading, width, hyphenate=False)]
        pdf.set_font("DejaVu", "", _SIZE)
        for paragraph in paragraphs:
            lines += _break_lines(pdf, paragraph, width, hyphenate=hyphenate)

    # flow the lines into columns and pages: (page, column, y, line)
    placed: list[tuple[int, int, float, _Line]] = []
    page, column, y = 0, 0, _TOP
    for i, line in enumerate(lines):
        step = _HEAD_LEADING if line.heading else _LEADING
        after = _PARAGRAPH_SPACE if line.last else 0.0
        following = lines[i + 1] if i + 1 < len(lines) else None
        # a hyphenated word is never split over two columns or pages
        needs = step + (_LEADING if line.hyphen and following else 0.0)
        if y + needs > _BOTTOM or (line.heading and y + step + 2 * _LEADING > _BOTTOM):
            column += 1
            if column == columns:
                page, column = page + 1, 0
            y = _TOP
        y += step
        placed.append((page, column, y, line))
        y += after
    pages = page + 1 + (1 if table else 0)

    running_header = header or title
    texts = []
    for number in range(pages):
        pdf.add_page()
        pdf.set_font("DejaVu", "", 8)
        pdf.text(_MARGIN, 14, running_header)
        footer = f"Page {number + 1} of {pages}"
        pdf.text((_PAGE_W - pdf.get_string_width(footer)) / 2, 287, footer)
        on_page = [p for p in placed if p[0] == number]
        if row_order:
            on_page.sort(key=lambda p: (p[2], p[1]))
        for _, col, baseline, line in on_page:
            x = _MARGIN + col * (width + _GAP)
            _draw_line(pdf, line, x, baseline, width, separate_words=separate_words)
        texts.append(_page_text([p[3] for p in sorted(on_page, key=lambda p: (p[1], p[2]))]))
    if table:
        pdf.set_font("DejaVu", "B", _HEAD_SIZE)
        caption = "Table 1. Projects and budgets"
        pdf.text(_MARGIN, _TOP + _HEAD_LEADING, caption)
        pdf.set_font("DejaVu", "", _SIZE)
        pdf.set_xy(_MARGIN, _TOP + 2 * _HEAD_LEADING)
        with pdf.table(width=_PAGE_W - 2 * _MARGIN, text_align="LEFT") as grid:
            for row in table:
                cells = grid.row()
                for cell in row:
                    cells.cell(cell)
        texts[-1] = "\n".join([caption, *(" ".join(row) for row in table)])
    if metadata:
        pdf.set_title(title)
    pdf.set_author("Porthaven City Council")
    footers = [f"Page {n + 1} of {pages}" for n in range(pages)]
    hyphenated = [line.hyphen for line in lines if line.hyphen]
    return Document(bytes(pdf.output()), title, texts, [running_header, *footers], hyphenated)


def _draw_line(pdf: FPDF, line: _Line, x: float, baseline: float, width: float, *, separate_words: bool):
    if line.heading:
        pdf.set_font("DejaVu", "B", _HEAD_SIZE)
    else:
        pdf.set_font("DejaVu", "", _SIZE)
    if not separate_words:
        pdf.text(x, baseline, " ".join(line.words))
        return
    widths = [pdf.get_string_width(w) for w in line.words]
    gap = pdf.get_string_width(" ")
    if not line.last and not line.heading and len(line.words) > 1:
        gap = (width - sum(widths)) / (len(line.words) - 1)
    for word, wide in zip(line.words, widths):
        pdf.text(x, baseline, word)
        x += wide + gap


def report(**options) -> Document:
    """A one-column report of four sample articles and the accented section, hyphenated, with
    running header and footer; ``options`` as for ``typeset``."""
    fields = dict(title="Porthaven Review: the week in four stories", header="Porthaven Review · Weekly digest")
    return typeset([*sample_sections(4), ACCENTED], **(fields | options))


def scanned() -> bytes:
    """A page that is only a picture of text (a scan without OCR)."""
    from PIL import Image, ImageDraw

    picture = Image.new("L", (1240, 1754), 255)
    ImageDraw.Draw(picture).text((100, 100), "A scanned page of text, as a picture.", fill=0)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    pdf = _pdf()
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=0, y=0, w=210)
    return bytes(pdf.output())


def encrypted(*, user_password: str = "secret") -> bytes:
    """A small PDF encrypted with AES-128; ``user_password=""`` opens without one (owner-restricted)."""
    pdf = _pdf()
    pdf.add_page()
    pdf.set_font("DejaVu", "", _SIZE)
    pdf.text(_MARGIN, _TOP, "The harbour flood barrier will be finished in December 2026.")
    pdf.set_encryption(owner_password="owner", user_password=user_password, encryption_method=EncryptionMethod.AES_128)
    return bytes(pdf.output())


def truncated(document: Document) -> bytes:
    """The first half of a PDF, as a download cut short leaves it."""
    return document.data[: len(document.data) // 2]


def raw_pdf(objects: list[bytes], *, trailer: bytes = b"") -> bytes:
    """A PDF of these objects, numbered from 1 (the first is the catalog), with its xref table;
    ``trailer``: more entries of the trailer (``b"/Info 6 0 R"``)."""
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def _stream(data: bytes, entries: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), entries) + data + b"\nendstream"


def _one_page(
    content: bytes, *, resources: bytes = b"<< /Font << /F1 5 0 R >> >>", kids: bytes = b"[3 0 R]",
    more: tuple[bytes, ...] = (), trailer: bytes = b"",
) -> bytes:
    """A one-page PDF: catalog 1, pages 2, page 3, its content 4, Helvetica 5, then ``more``."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids %s /Count 1 >>" % kids,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources %s /Contents 4 0 R >>" % resources,
            content,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            *more,
        ],
        trailer=trailer,
    )


def letter_run(letters: int = 100_000) -> bytes:
    """A one-page PDF of a few hundred bytes that prints ``letters`` a's on one line (in a 1-point
    font): a word no clean-up may take a time that grows with its square to read."""
    content = zlib.compress(b"BT /F1 1 Tf 0 700 Td (" + b"a" * letters + b") Tj ET", 9)
    return _one_page(_stream(content, b"/Filter /FlateDecode "))


#: The ways ``looping()`` loops: an object that refers to itself (the document's title); two that
#: refer to each other (the page's resources); a page tree listing itself among its kids.
LOOPS = ["title", "resources", "kids"]


def looping(kind: str) -> bytes:
    """A one-page PDF ("Hello world.") of a few hundred bytes with a reference loop (``LOOPS``)."""
    hello = _stream(b"BT /F1 12 Tf 72 720 Td (Hello world.) Tj ET")
    if kind == "title":
        return _one_page(hello, more=(b"<< /Title 7 0 R >>", b"7 0 R"), trailer=b"/Info 6 0 R")
    if kind == "resources":
        return _one_page(hello, resources=b"6 0 R", more=(b"7 0 R", b"6 0 R"))
    return _one_page(hello, kids=b"[2 0 R 3 0 R]")


def bomb(unpacked: int = 2**30) -> bytes:
    """A one-page PDF whose content stream is about 1 KB a megabyte and inflates to ``unpacked``
    bytes of zeros: a valid zlib stream made of one fully flushed deflate block of a megabyte of
    zeros, repeated (the checksum of n zeros is n mod 65521 then 1)."""
    megabyte = 2**20
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(bytes(megabyte)) + deflate.flush(zlib.Z_FULL_FLUSH)
    count = unpacked // megabyte
    checksum = ((count * megabyte) % 65521) << 16 | 1
    stream = b"\x78\x9c" + block * count + b"\x03\x00" + checksum.to_bytes(4, "big")
    return _one_page(_stream(stream, b"/Filter /FlateDecode "))
