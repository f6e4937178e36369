"""Progress of the long commands (``qabot eval --squad``, ``qabot tune``, ``qabot import``) on stderr.

At a terminal it is a tqdm bar. Elsewhere (a pipe, a log file, CI), where tqdm stays silent, it is a
line every ``EVERY_SECONDS`` (``asking: 20/50 questions, 41 s``) and, after those, one at the end,
so a run of minutes is never silent (and one of seconds prints nothing). stdout is left to the
command's output (``--json`` stays clean).
"""

import sys
import time
from collections.abc import Iterable, Iterator

from tqdm import tqdm

from qabot.bot.formatting import plural

#: Seconds between two progress lines when stderr is not a terminal.
EVERY_SECONDS = 10.0


class Progress:
    """Items done out of ``total``, shown on stderr until ``close()`` (or the end of a ``with``).

    :param total: how many items there are, or None when not known.
    :param label: what is being done, e.g. ``"asking"``.
    :param unit: what one item is, singular, e.g. ``"question"``.
    """

    def __init__(self, total: int | None, *, label: str, unit: str):
        self.total, self.label, self.unit = total, label, unit
        self.n = 0
        self.file = sys.stderr
        self.bar = tqdm(total=total, desc=label, unit=unit, file=self.file) if self.file.isatty() else None
        self.started = self.last_line = time.monotonic()
        self.shown = 0

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items done."""
        self.n += n
        if self.bar is not None:
            self.bar.update(n)
        elif time.monotonic() - self.last_line >= EVERY_SECONDS:
            self._line()

    def wrap(self, items: Iterable) -> Iterator:
        """The items, each counted once the caller is done with it."""
        for item in items:
            yield item
            self.update()

    def close(self) -> None:
        """End the bar; or, after lines were printed, the last one (a short run prints none)."""
        if self.bar is not None:
            self.bar.close()
        elif self.shown and self.n != self.shown:
            self._line()

    def _line(self) -> None:
        done = f"{self.n}/{plural(self.total, self.unit)}" if self.total is not None else plural(self.n, self.unit)
        seconds = time.monotonic() - self.started
        print(f"{self.label}: {done}, {seconds:.0f} s", file=self.file, flush=True)
        self.last_line, self.shown = time.monotonic(), self.n

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def tracked(items: Iterable, total: int | None, *, label: str, unit: str) -> Iterator:
    """Iterate over ``items`` (``total`` of them) with their progress shown (e.g. as ``import_path``'s
    ``progress``)."""
    with Progress(total, label=label, unit=unit) as progress:
        yield from progress.wrap(items)
