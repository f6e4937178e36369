"""Normal forms of the text the store keeps: a title made printable, and an article's hash for duplicates.

Part of ``index/``: ``index.store`` stores an article's title as ``printable`` makes it and keys its
text by ``content_hash``; what shows a title or feed text elsewhere uses the same ``printable``.
"""

import hashlib
import unicodedata


def content_hash(text: str) -> str:
    """Hash of the text with case, Unicode form and white space normalised (finds re-pasted copies)."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(folded.encode()).hexdigest()


#: Bidirectional-text controls, which can make a title display as something else.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """One line safe to show in a terminal or chat: no control characters or bidi overrides.

    White space runs become one space; other control, surrogate and unassigned characters and
    the bidi controls are dropped (terminal escape sequences lose their ESC and show as text).
    """
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or not (unicodedata.category(ch) in ("Cc", "Cs", "Cn") or ch in _BIDI_CONTROLS)
    )
    return " ".join(kept.split())
