"""A bounded, expiring mapping: the memory of the bot's conversations and inline answers.

``bot/conversation.py`` keeps each chat's previous exchange and the answer behind each answer
message in one; ``bot/inline.py`` keeps recent inline answers and each person's newest query. All of
them live on the event loop (or the console's one thread), so there is no lock.
"""

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class Expiring:
    """At most ``capacity`` entries, each forgotten ``seconds`` after it was set (None: never);
    when full, the least recently used goes first.

    :param clock: seconds, for the expiry (``time.monotonic``).
    """

    def __init__(self, capacity: int, seconds: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.capacity, self.seconds, self.clock = capacity, seconds, clock
        self.entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> Any | None:
        """The value set for ``key``, or None when there is none or it expired."""
        found = self.entries.get(key)
        if found is None:
            return None
        at, value = found
        if self.seconds is not None and self.clock() - at > self.seconds:
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return value

    def set(self, key: Hashable, value: Any) -> None:
        self.entries.pop(key, None)
        self.entries[key] = (self.clock(), value)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self.entries)
