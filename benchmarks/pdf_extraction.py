"""PDF text extraction: pypdf against pdfminer.six on real-looking PDFs, scored against their text.

    python -m benchmarks.pdf_extraction [--repeat 3]

The documents are typeset by ``tests/pdf_documents.py`` from the sample articles: A4 pages with a
running header and a "Page n of m" footer, words hyphenated at line ends, and (one per document)
one column with each line drawn as one string; one column with each word drawn on its own,
justified, with no space characters (as TeX writes them); two columns written column by column;
two columns written row by row across both columns (as some layout programs do); and a table.

Each library's page texts are scored raw and after qabot's cleanup (``index.pdf.article_text``:
running headers and footers dropped, hyphenated words rejoined, lines joined into paragraphs),
against the text printed on each page:

- ``word_f1``: F1 of the multiset of words (lower case) over the whole document;
- ``order``: difflib's similarity of the word sequences (1.0 when the words come in reading order);
- ``page_f1``: the mean word F1 of each page against that page (what page citations rely on);
- ``hyphenated_whole``: the share of the words printed broken over two lines that come out whole;
- ``running_left``: header and footer lines still in the text, per page;
- ``ms_per_page``: extraction time (median of ``--repeat`` runs), without the cleanup.

``qabot`` is ``index.pdf.read_pdf`` end to end (checks, the extraction process, the clean-up): its
scores and time per page.

pypdf is also run in its ``layout`` mode. Prints one line per document and library, then
``RESULT {json}`` with the totals and which library qabot uses.
"""

import argparse
import difflib
import io
import json
import logging
import re
import statistics
import sys
import time
from collections import Counter

from qabot.index.pages import split_pages
from qabot.index.pdf import LIBRARY, MAX_PAGES, article_text, read_pdf
from qabot.index.pdf_worker import extract
from qabot.index.store import MAX_TEXT_CHARS
from tests.pdf_documents import BUDGET_TABLE, report, sample_sections, typeset

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def pypdf_pages(data: bytes, mode: str = "plain") -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text(extraction_mode=mode) for page in PdfReader(io.BytesIO(data)).pages]


def pdfminer_pages(data: bytes) -> list[str]:
    """The page texts as qabot's extraction process gets them (here in this process)."""
    return extract(data, max_pages=MAX_PAGES, max_chars=MAX_TEXT_CHARS)["pages"]


EXTRACTORS = {
    "pypdf": pypdf_pages,
    "pypdf-layout": lambda data: pypdf_pages(data, "layout"),
    "pdfminer.six": pdfminer_pages,
}


def documents() -> dict:
    """The benchmark's documents, by name."""
    return {
        "one-column, lines": report(),
        "one-column, words apart": typeset(
            sample_sections(4, start=4), title="Porthaven Review: four more stories", separate_words=True
        ),
        "two columns, column order": report(columns=2, separate_words=True),
        "two columns, row order": typeset(
            sample_sections(4, start=4), title="Porthaven Review: four more stories", columns=2,
            separate_words=True, row_order=True,
        ),
        "one-column with a table": typeset(sample_sections(2, start=1), title="Works programme 2024", table=BUDGET_TABLE),
    }


def words(text: str) -> list[str]:
    return [w.casefold().replace("’", "'") for w in _WORD.findall(text)]


def f1(found: list[str], expected: list[str]) -> float:
    common = sum((Counter(found) & Counter(expected)).values())
    if not common:
        return 0.0
    precision, recall = common / len(found), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def score(pages: list[str], document) -> dict:
    """How close the page texts are to the document's own."""
    found, expected = words("\n".join(pages)), words(document.text)
    per_page = [f1(words(p), words(e)) for p, e in zip(pages, document.pages)]
    per_page += [0.0] * abs(len(pages) - len(document.pages))
    broken = Counter(w.casefold() for w in document.hyphenated)
    got = Counter(found)
    whole = sum(min(got[w], n) for w, n in broken.items()) / max(sum(broken.values()), 1)
    left = 0  # running lines not printed as the page's text too (page 1's title may be the header)
    for page, printed in zip(pages, document.pages):
        running = Counter(line.strip() for line in page.split("\n") if line.strip() in document.running)
        left += sum((running - Counter(printed.split("\n"))).values())
    return {
        "word_f1": f1(found, expected),
        "order": difflib.SequenceMatcher(None, found, expected, autojunk=False).ratio(),
        "page_f1": statistics.mean(per_page),
        "hyphenated_whole": whole,
        "running_left": left / len(document.pages),
    }


def _timed(call, repeat: int):
    """``call()``'s result and the median of ``repeat`` runs' milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return result, 1000 * statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs of each extraction.")
    args = parser.parse_args(argv)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    docs = documents()
    totals = {name: {"raw": [], "cleaned": [], "ms": [], "pages": 0} for name in EXTRACTORS}
    qabot = {"ms": [], "scores": []}
    for title, document in docs.items():
        read, read_ms = _timed(lambda: read_pdf(document.data), args.repeat)
        qabot["ms"].append(read_ms)
        qabot["scores"].append((score(split_pages(read.text), document), len(document.pages)))
        for name, pages_of in EXTRACTORS.items():
            pages, file_ms = _timed(lambda: pages_of(document.data), args.repeat)
            cleaned = split_pages(article_text(pages)[0])
            raw, clean = score(pages, document), score(cleaned, document)
            ms = file_ms / len(document.pages)
            total = totals[name]
            total["raw"].append((raw, len(document.pages)))
            total["cleaned"].append((clean, len(document.pages)))
            total["ms"].append(file_ms)
            total["pages"] += len(document.pages)
            print(
                f"{title:<28} {name:<13} raw: F1 {raw['word_f1']:.3f} order {raw['order']:.3f}"
                f" | cleaned: F1 {clean['word_f1']:.3f} order {clean['order']:.3f}"
                f" page F1 {clean['page_f1']:.3f} hyphenated whole {clean['hyphenated_whole']:.2f}"
                f" running lines/page {raw['running_left']:.1f}->{clean['running_left']:.1f}"
                f" | {ms:.1f} ms/page",
                file=sys.stderr,
            )

    def weighted(scores, key):
        return round(sum(s[key] * n for s, n in scores) / sum(n for _, n in scores), 4)

    result = {
        "metric": "pdf_extraction",
        "documents": len(docs),
        "pages": totals[next(iter(totals))]["pages"],
        "chosen": LIBRARY,
    }
    for name, total in totals.items():
        result[name] = {
            **{key: weighted(total["cleaned"], key) for key in ("word_f1", "order", "page_f1", "hyphenated_whole", "running_left")},
            "raw_word_f1": weighted(total["raw"], "word_f1"),
            "raw_order": weighted(total["raw"], "order"),
            "ms_per_page": round(sum(total["ms"]) / total["pages"], 1),
        }
    result["qabot"] = {
        "word_f1": weighted(qabot["scores"], "word_f1"),
        "order": weighted(qabot["scores"], "order"),
        "ms_per_page": round(sum(qabot["ms"]) / result["pages"], 1),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
