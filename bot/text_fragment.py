"""Links that open an article at the answer: a text fragment (``#:~:text=``), or a PDF's page.

``sentence_link`` builds the URL Fragment Text Directive of the WICG's Text Fragments spec, which
browsers follow by scrolling to the text and highlighting it. Every character but the spec's
``TextDirectiveExplicitChar`` (ASCII letters and digits and ``! $ ' ( ) * + . / : ; = ? @ _ ~``) is
percent-encoded as UTF-8, so ``-``, ``&`` and ``,``, which are the directive's own syntax, are encoded
too. A sentence of at most ``EXACT_MAX_CHARS`` characters (and ``EXACT_MAX_ENCODED`` encoded) is
matched whole (``text=textStart``); a longer one by its first and last ``RANGE_WORDS`` whole words
(``text=textStart,textEnd``), which keeps the link short. A URL that already has a fragment is
returned as it is: the page's own anchor wins, and a second ``#`` would break the link.

``page_link`` opens a PDF at a page (``#page=N``, the PDF fragment of RFC 8118), where text fragments
do not work.
"""

import re
import string

#: The characters a text directive may hold as they are (the spec's TextDirectiveExplicitChar).
EXPLICIT_CHARS = frozenset(string.ascii_letters + string.digits + "!$'()*+./:;=?@_~")
#: Sentences longer than this, or whose encoding is, are linked as a range (the spec suggests exact
#: matches below 300 characters; a link in a chat or a terminal is better shorter: about 25 words).
EXACT_MAX_CHARS = 150
EXACT_MAX_ENCODED = 450
#: How many whole words start and end the range of a long sentence.
RANGE_WORDS = 4
#: Words: runs without white space, also ended by CJK punctuation (always a word boundary), since
#: Chinese and Japanese put no spaces between words.
_CJK_PUNCTUATION = "、。，！？；：「」『』（）"
_WORD = re.compile(rf"[^\s{_CJK_PUNCTUATION}]+[{_CJK_PUNCTUATION}]*|[{_CJK_PUNCTUATION}]+")


def encode(text: str) -> str:
    """``text`` percent-encoded for a text directive: UTF-8, all but ``EXPLICIT_CHARS``."""
    return "".join(
        ch if ch in EXPLICIT_CHARS else "".join(f"%{byte:02X}" for byte in ch.encode("utf-8", "replace"))
        for ch in text
    )


def text_directive(sentence: str) -> str | None:
    """``text=...`` matching the sentence (white space runs as single spaces); None if it is empty."""
    text = " ".join(sentence.split())
    if not text:
        return None
    exact = encode(text)
    words = list(_WORD.finditer(text))
    count = min(RANGE_WORDS, len(words) // 2)
    if (len(text) <= EXACT_MAX_CHARS and len(exact) <= EXACT_MAX_ENCODED) or count == 0:
        return f"text={exact}"
    start, end = text[: words[count - 1].end()], text[words[-count].start() :]
    return f"text={encode(start)},{encode(end)}"


def sentence_link(url: str, sentence: str) -> str:
    """The URL with a text fragment that opens it at ``sentence``; the URL itself when it already
    has a fragment or the sentence is empty."""
    directive = text_directive(sentence)
    if "#" in url or directive is None:
        return url
    return f"{url}#:~:{directive}"


def page_link(url: str, page: int) -> str:
    """The URL of a PDF opening at ``page``; the URL itself when it already has a fragment."""
    return url if "#" in url else f"{url}#page={page}"
