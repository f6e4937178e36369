"""Telegram HTML messages: runs of styled text, escaped and cut into messages within Telegram's limit.

Part of the bot's output: ``bot/formatting.py`` builds answers and sources from ``Run``s (text with
one style), and the handlers send their own texts with ``text_as_html``. Runs are escaped with
``html.escape`` when rendered, and cut into messages of at most 4096 characters between paragraphs,
else sentences, else words, so a tag is never cut in two.
"""

import bisect
import html
import re
from dataclasses import dataclass
from itertools import accumulate

#: Telegram's limit on the text of one message (counted here in UTF-16 code units, tags included).
MAX_MESSAGE_CHARS = 4096
#: Where a long message may be cut, best first: between paragraphs, sentences, words.
_CUTS = (
    re.compile(r"\n\s*\n"),
    re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n"),
    re.compile(r"\s+"),
)


@dataclass(frozen=True)
class Run:
    """A stretch of message text with one style: plain, bold (``tag="b"``), italic, or a link."""

    text: str
    tag: str | None = None
    href: str | None = None


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _open_close(run: Run) -> tuple[str, str]:
    opening, closing = "", ""
    if run.href:
        opening, closing = f'<a href="{html.escape(run.href)}">', "</a>"
    if run.tag:
        opening, closing = f"{opening}<{run.tag}>", f"</{run.tag}>{closing}"
    return opening, closing


class _Message:
    """Runs joined into one text, with the HTML length of any slice of it at hand."""

    def __init__(self, runs: list[Run]):
        self.runs = [run for run in runs if run.text]
        self.text = "".join(run.text for run in self.runs)
        self.starts = [0, *accumulate(len(run.text) for run in self.runs)]
        self.tags = [sum(map(_utf16, _open_close(run))) for run in self.runs]
        self.cost = [0, *accumulate(_utf16(html.escape(c, quote=False)) for c in self.text)]

    def _touched(self, start: int, end: int) -> range:
        return range(bisect.bisect_right(self.starts, start) - 1, bisect.bisect_left(self.starts, end))

    def length(self, start: int, end: int) -> int:
        """UTF-16 length of ``render(start, end)``."""
        return self.cost[end] - self.cost[start] + sum(self.tags[i] for i in self._touched(start, end))

    def render(self, start: int, end: int) -> str:
        """The HTML of ``text[start:end]``: each piece escaped and wrapped in its run's tags."""
        out = []
        for i in self._touched(start, end):
            a, b = max(start, self.starts[i]), min(end, self.starts[i + 1])
            opening, closing = _open_close(self.runs[i])
            piece = self.runs[i].text[a - self.starts[i] : b - self.starts[i]]
            out.append(opening + html.escape(piece, quote=False) + closing)
        return "".join(out)

    def pieces(self, start: int, end: int, limit: int, level: int = 0) -> list[tuple[int, int]]:
        """``[start, end)`` cut into slices that each render within ``limit``, at the best cuts."""
        if self.length(start, end) <= limit:
            return [(start, end)]
        if level == len(_CUTS):  # one word longer than a message: cut it anywhere
            out = []
            while start < end:
                cut = start + 1
                while cut < end and self.length(start, cut + 1) <= limit:
                    cut += 1
                out.append((start, cut))
                start = cut
            return out
        bounds = [m.end() for m in _CUTS[level].finditer(self.text, start, end) if m.end() < end]
        out: list[tuple[int, int]] = []
        for a, b in zip([start, *bounds], [*bounds, end]):
            if out and self.length(out[-1][0], b) <= limit:
                out[-1] = (out[-1][0], b)
            elif self.length(a, b) <= limit:
                out.append((a, b))
            else:
                out.extend(self.pieces(a, b, limit, level + 1))
        return out


def split_html(runs: list[Run], limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Render runs as Telegram HTML messages of at most ``limit`` UTF-16 units each.

    Everything is escaped; a message is cut between paragraphs when it can, else between sentences,
    else between words, and every message closes the tags it opens.
    """
    message = _Message(runs)
    out = []
    for start, end in message.pieces(0, len(message.text), limit):
        if message.text[start:end].strip():
            out.append(message.render(start, end).strip())
    return out


def text_as_html(text: str, *, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Plain text (a refusal, a list, statistics) escaped as Telegram HTML messages."""
    return split_html([Run(text)], limit)
