"""Ids typed by people (``/remove 12``, ``qabot show 12``, ``QABOT_ADMIN_IDS``): one parser for all.

An id is written in ASCII digits only (``int()`` would also take ``²``'s neighbours ``٣`` or
``1_000``); one beyond SQLite's 64-bit integers names no row, so it is answered as not found
instead of reaching the database, which would refuse to bind it.
"""

import re

#: The largest id a row can have (SQLite's INTEGER is a signed 64-bit number).
MAX_ID = 2**63 - 1


class NotAnId(ValueError):
    """The text is not a number written in ASCII digits."""


def parse_id(text: str) -> int | None:
    """The number ``text`` writes, or None when it is larger than any row's id (``MAX_ID``).

    :raises NotAnId: ``text`` is not ASCII digits alone (a sign, a space, ``²`` or ``٣``).
    """
    if not re.fullmatch(r"[0-9]+", text):
        raise NotAnId(f"{text!r} is not an id (a number such as 12)")
    if len(text.lstrip("0")) > len(str(MAX_ID)):  # (and int() refuses over 4,300 digits)
        return None
    number = int(text)
    return number if number <= MAX_ID else None
