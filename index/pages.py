"""Pages in stored article text: a paged document (a PDF) keeps its page breaks as form feeds.

Each page's text ends with ``PAGE_BREAK`` (as ``pdftotext`` writes it), so the page of any character
offset is the count of form feeds before it, plus one, and no column of the store is needed for it.
A form feed is white space to every later stage: the chunker, the analyser and the formatters treat
it as a space, and it is never shown. Text without a form feed is not paged (its page is None).
"""

PAGE_BREAK = "\f"


def is_paged(text: str) -> bool:
    """Whether the text holds page breaks."""
    return PAGE_BREAK in text


def page_at(text: str, offset: int) -> int | None:
    """The page (from 1) that ``text[offset]`` is on; None when the text is not paged."""
    if not is_paged(text):
        return None
    return text.count(PAGE_BREAK, 0, max(offset, 0)) + 1


def join_pages(pages: list[str], *, continues: list[bool] | None = None) -> str:
    """Page texts as one paged text: each page followed by a page break.

    :param continues: for each page, whether its text goes on from the page before it mid-paragraph
        (then only the page break stands between them; else a line break follows it too).
    """
    out = []
    for number, page in enumerate(pages):
        if number and not (continues and continues[number]):
            out.append("\n")
        out.append(page + PAGE_BREAK)
    return "".join(out)


def split_pages(text: str) -> list[str]:
    """The text of each page of a paged text (the whole text as one page when it is not paged)."""
    pages = text.split(PAGE_BREAK)
    if len(pages) > 1 and not pages[-1].strip():
        pages.pop()  # the text ends with the last page's break
    return [page.strip("\n") for page in pages]
