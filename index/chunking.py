"""Chunking: article text → sentences → overlapping, sentence-aligned chunks with character offsets.

Pure functions, no I/O. Every span is a pair of offsets into the article text, so
``text[chunk.start:chunk.end] == chunk.text`` always holds and answers can be cited back to the
article. Sentences come from sentencex (Wikimedia's segmenter: it keeps "U.S.", "Mr." and quotations
whole, and is fast; it has no options, so the few honorifics it splits after, such as "Ms.", are
joined back here), run on each line separately because a line break in article text always ends
a sentence, and on a bounded window of a long line at a time, so that the work stays linear in the
length of any text.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sentencex import segment

#: Chunks are packed up to this many words (a single longer sentence makes its own chunk).
MAX_WORDS = 150
#: A "sentence" longer than this (a list or table with no full stops) is cut at word boundaries.
MAX_SENTENCE_WORDS = 120
#: A piece of a sentence longer than this many characters (a "word" of thousands of symbols) is
#: cut too, and chunks stop growing at MAX_CHUNK_CHARS: what one passage shows stays readable.
MAX_SENTENCE_CHARS = 2_000
MAX_CHUNK_CHARS = 3_000

#: Abbreviations after which sentencex ends a sentence though the sentence goes on ("Ms. Dana
#: Whitcombe"); it keeps "Mr.", "Dr.", "Sen.", "Gen." and most others whole. A piece ending in one
#: of these is joined to the next piece.
_ABBREVIATION_END = re.compile(r"(?:^|[\s(\[\"'])(?:Ms|Mx|Mmes|Cdr|Amb|Atty|Ald|Ft|Sra|Vol|approx)\.$")
#: Enough of a piece's end to hold any of those abbreviations, its dot and the character before it.
_ABBREVIATION_TAIL = 16
#: sentencex reads at most this many characters at a time: its work grows with the square of its
#: input on some texts (a long run of opening quotes). Of each window, the sentences that start in
#: its first half are kept and the next window starts where they end, so every window moves on by
#: at least half of one; a sentence longer than half a window may be cut at the window's end.
_WINDOW = MAX_SENTENCE_CHARS
_LINE = re.compile(r"[^\n]+")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Span:
    """A stretch of the article text: ``text[start:end]``."""

    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """One indexed passage: whole sentences ``text[start:end]``, numbered by ``ordinal``."""

    ordinal: int
    start: int
    end: int
    text: str


def _trimmed(text: str, start: int, end: int) -> Span | None:
    """The span with surrounding white space removed, or None when only white space is left."""
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    lead = len(piece) - len(piece.lstrip())
    return Span(start + lead, start + lead + len(stripped))


def _cut_long(text: str, span: Span) -> list[Span]:
    """Cut a sentence of more than MAX_SENTENCE_WORDS words into pieces of that many words, and
    pieces of more than MAX_SENTENCE_CHARS characters into pieces of that many."""
    words = list(_WORD.finditer(text, span.start, span.end))
    if len(words) <= MAX_SENTENCE_WORDS and span.end - span.start <= MAX_SENTENCE_CHARS:
        return [span]
    pieces = []
    for i in range(0, len(words), MAX_SENTENCE_WORDS):
        group = words[i : i + MAX_SENTENCE_WORDS]
        start, end = group[0].start(), group[-1].end()
        for cut in range(start, end, MAX_SENTENCE_CHARS):
            piece = _trimmed(text, cut, min(cut + MAX_SENTENCE_CHARS, end))
            if piece:
                pieces.append(piece)
    return pieces


def _segmented(text: str, start: int, end: int) -> Iterator[Span]:
    """sentencex's pieces of the line ``text[start:end]``, white space included, covering it whole;
    sentencex reads a window of at most _WINDOW characters at a time."""
    while start < end:
        window = text[start : min(start + _WINDOW, end)]
        pieces = list(segment("en", window))
        if "".join(pieces) != window:  # the segmenter altered the text: keep the window whole
            pieces = [window]
        last_window = start + len(window) == end
        offset = 0
        for piece in pieces:
            if offset >= _WINDOW // 2 and not last_window:
                break
            yield Span(start + offset, start + offset + len(piece))
            offset += len(piece)
        start += offset


def _joined(text: str, pieces: Iterable[Span]) -> Iterator[Span]:
    """The pieces, each one ending in an abbreviation of _ABBREVIATION_END joined to the next; only
    the end of the piece so far is searched, so the work is linear however many pieces are joined."""
    group: Span | None = None
    content_end = 0  # where the group's text ends, before any white space after it
    for piece in pieces:
        if group is not None and _ABBREVIATION_END.search(
            text[max(group.start, content_end - _ABBREVIATION_TAIL) : content_end]
        ):
            group = Span(group.start, piece.end)
        else:
            if group is not None:
                yield group
            group, content_end = piece, piece.start
        body = text[piece.start : piece.end].rstrip()
        if body:
            content_end = piece.start + len(body)
    if group is not None:
        yield group


def split_sentences(text: str) -> list[Span]:
    """Split ``text`` into sentence spans, in order, none overlapping, none empty.

    :param text: the article text.
    """
    spans: list[Span] = []
    for line in _LINE.finditer(text):
        for piece in _joined(text, _segmented(text, line.start(), line.end())):
            span = _trimmed(text, piece.start, piece.end)
            if span:
                spans.extend(_cut_long(text, span))
    return spans


def _word_count(text: str, span: Span) -> int:
    return sum(1 for _ in _WORD.finditer(text, span.start, span.end))


def chunk_text(text: str, *, max_words: int = MAX_WORDS) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_words`` words (about 100–150 for news)
    and MAX_CHUNK_CHARS characters.

    Consecutive chunks share one sentence, so an answer that straddles a chunk boundary is still
    read whole from one of them; they share none when the earlier chunk is a single sentence, or
    when the shared sentence and the one after it would not fit in one chunk (the later chunk would
    repeat part of the earlier one and add nothing). A single sentence longer than ``max_words`` is
    a chunk of its own.

    :param text: the article text.
    :param max_words: the most words a chunk of several sentences may hold.
    """
    sentences = split_sentences(text)
    counts = [_word_count(text, s) for s in sentences]
    chunks: list[Chunk] = []
    first = 0
    while first < len(sentences):
        last, words = first, counts[first]
        while last + 1 < len(sentences):
            grown = words + counts[last + 1]
            if grown > max_words or sentences[last + 1].end - sentences[first].start > MAX_CHUNK_CHARS:
                break
            last, words = last + 1, grown
        start, end = sentences[first].start, sentences[last].end
        chunks.append(Chunk(len(chunks), start, end, text[start:end]))
        if last + 1 >= len(sentences):
            break
        # one sentence of overlap, unless the chunk is that single sentence or the next chunk
        # could hold nothing beside it
        overlap = (
            last > first
            and counts[last] + counts[last + 1] <= max_words
            and sentences[last + 1].end - sentences[last].start <= MAX_CHUNK_CHARS
        )
        first = last if overlap else last + 1
    return chunks
