"""The PDF reader's capped child process (``index.capped_worker``): pdfminer.six extracts each
page's text, and ``index.pdf.article_text`` makes the article of it.

``index.pdf`` runs ``read()`` under ``index.capped_worker.run``, which returns ``{"title": ...,
"text": ..., "first_line": ..., "pages": n}`` (the metadata title, None if none; the article text;
its first line; the number of pages), or raises ``Refused``. ``extract()`` gives the text of each
page: the text boxes pdfminer's layout analysis finds, in reading order, a blank line between boxes.
pdfminer decompresses streams without a bound and its layout analysis is pure Python, so a
decompression bomb or a pathological page ends this process (out of memory, out of CPU time), never
the bot. An object whose reference leads back to itself, which pdfminer would follow for ever, is
refused before any page is read.
"""

import io

from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LAParams, LTFigure, LTTextContainer, LTTextLine
from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import PDFObjRef, resolve1
from pdfminer.utils import decode_text

from qabot.index.capped_worker import Refused
from qabot.index.pdf import article_text


def _title(document: PDFDocument) -> str | None:
    """The Title of the document's metadata, if it has one."""
    for info in document.info:
        value = resolve1(info.get("Title"))
        if isinstance(value, bytes):
            value = decode_text(value)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _boxes(items) -> list[LTTextContainer]:
    """The text boxes among layout items, those in figures included, in order."""
    out = []
    for item in items:
        if isinstance(item, LTTextContainer):
            out.append(item)
        elif isinstance(item, LTFigure):
            out += _boxes(item)
    return out


def _middle(box) -> float:
    return (box.y0 + box.y1) / 2


def _tables(boxes: list[LTTextContainer]) -> list[list[list[LTTextContainer]]]:
    """Tables: rows of one-line boxes side by side at the same height, two or more to a row, each
    row at most two lines below the one before, two or more rows to a table; rows top to bottom,
    each left to right (pdfminer's reading order takes a table column by column)."""
    single = [b for b in boxes if sum(isinstance(line, LTTextLine) for line in b) == 1]
    rows: list[list[LTTextContainer]] = []
    for box in sorted(single, key=lambda b: -_middle(b)):
        row = rows[-1] if rows else None
        if row and abs(_middle(box) - _middle(row[0])) < min(box.height, row[0].height) / 2:
            if all(box.x0 >= other.x1 or box.x1 <= other.x0 for other in row):
                row.append(box)
                continue
        rows.append([box])
    tables: list[list[list[LTTextContainer]]] = []
    for row in (sorted(row, key=lambda b: b.x0) for row in rows if len(row) > 1):
        last = tables[-1][-1] if tables else None
        if last and _middle(last[0]) - _middle(row[0]) < 3 * max(last[0].height, row[0].height):
            tables[-1].append(row)
        else:
            tables.append([row])
    return [table for table in tables if len(table) > 1]


def _page_text(layout) -> str:
    """A page's text: its boxes in reading order, a blank line between them, a table row by row
    where its first cell is."""
    boxes = _boxes(layout)
    table_of = {id(box): table for table in _tables(boxes) for row in table for box in row}
    texts, done = [], set()
    for box in boxes:
        table = table_of.get(id(box))
        if table is None:
            texts.append(box.get_text().strip())
        elif id(table) not in done:
            texts.append("\n".join(" ".join(cell.get_text().strip() for cell in row) for row in table))
            done.add(id(table))
    return "\n\n".join(text for text in texts if text)


def _reference_loop(document: PDFDocument) -> int | None:
    """An object whose value is a reference leading, through other such objects, back to it, if any
    (``resolve1`` would follow it for ever). Each object is parsed once; pdfminer keeps it."""
    cleared: set[int] = set()
    for xref in document.xrefs:
        for first in xref.get_objids():
            chain, objid = {}, first
            while objid not in cleared:
                if objid in chain:
                    return objid
                chain[objid] = None
                try:
                    value = document.getobj(objid)
                except Exception:  # a broken object is left to pdfminer, to judge if it is used
                    break
                if not isinstance(value, PDFObjRef):
                    break
                objid = value.objid
            cleared.update(chain)
    return None


def extract(data: bytes, *, max_pages: int, max_chars: int) -> dict:
    """``{"title", "pages"}`` of a PDF.

    :raises Refused: password-protected, unsupported encryption, more than ``max_pages`` pages or
        more than ``max_chars`` characters of text.
    """
    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)), password="")
    except PDFPasswordIncorrect:
        raise Refused("the PDF is protected by a password; send a copy without one") from None
    except PDFEncryptionError as error:
        raise Refused(f"the PDF's encryption is not supported ({error})") from None
    looping = _reference_loop(document)
    if looping is not None:
        raise Refused(f"the PDF is damaged: its object {looping} refers back to itself")
    pages = list(PDFPage.create_pages(document))
    if len(pages) > max_pages:
        raise Refused(f"the PDF has {len(pages):,} pages; the limit is {max_pages:,}")
    resources = PDFResourceManager()
    device = PDFPageAggregator(resources, laparams=LAParams(all_texts=True))
    interpreter = PDFPageInterpreter(resources, device)
    texts, chars = [], 0
    for page in pages:
        interpreter.process_page(page)
        texts.append(_page_text(device.get_result()))
        chars += len(texts[-1])
        if chars > max_chars:
            raise Refused(f"the PDF holds more than {max_chars:,} characters of text, the limit")
    return {"title": _title(document), "pages": texts}


def read(data: bytes, *, max_pages: int, max_chars: int) -> dict:
    """``{"title", "text", "first_line", "pages"}`` of a PDF: ``extract()``, then ``article_text()``.

    :raises Refused: as ``extract()`` does, and "damaged" for whatever else a broken file raises.
    """
    try:
        found = extract(data, max_pages=max_pages, max_chars=max_chars)
    except (Refused, MemoryError):
        raise
    except Exception:  # pdfminer's PDFSyntaxError, PSEOF, and whatever a broken file raises
        raise Refused("the PDF is damaged and cannot be read") from None
    text, first_line = article_text(found["pages"])
    return {"title": found["title"], "text": text, "first_line": first_line, "pages": len(found["pages"])}
