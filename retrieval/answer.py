"""answer(): the one way a question is answered: search → read → cited answers.

The CLI (``qabot ask``), the console, the Telegram bot and ``qabot eval`` all call ``answer()`` and
differ only in how they print the ``Result``. In a conversation (the console, a chat, an answer
test with ``after:``) they call ``answer_in_conversation()``, which reads a follow-up question in
the light of the previous exchange (``retrieval.followup``) and hands any other question to
``answer()`` untouched.
"""

import dataclasses

from qabot.index.store import Store
from qabot.retrieval.answer_types import normalize_answer
from qabot.retrieval.followup import Exchange, resolve
from qabot.retrieval.search import DEFAULT_K, search
from qabot.retrieval.types import Passage, Result

#: How many answers to return by default.
DEFAULT_ANSWERS = 3
#: A follow-up searches this many times the passages it reads, to find the preferred article's.
FOLLOWUP_DEPTH = 3


def answer(
    question: str,
    *,
    store: Store,
    reader,
    top_k: int = DEFAULT_ANSWERS,
    passages: int = DEFAULT_K,
    encoder=None,
) -> Result:
    """Answer a question from the collection.

    :param question: the question as the user typed it.
    :param store: the collection.
    :param reader: a reader (``SentenceReader`` or ``ExtractiveReader``) with ``name`` and
        ``read_with_unsure()``.
    :param top_k: how many answers at most.
    :param passages: how many passages to retrieve and read.
    :param encoder: the sentence encoder for hybrid search (``retrieval.search``), or None for BM25.
    :raises index.bm25.EmptyIndex: the collection is empty.
    """
    found = search(question, store=store, k=passages, encoder=encoder)
    return _read(question, found, reader=reader, top_k=top_k, missing=store.search_missed())


def _read(
    asked: str, found: list[Passage], *, reader, top_k: int, understood_as: str | None = None,
    missing: str | None = None,
) -> Result:
    """The reader's answers to ``understood_as`` (or the question as asked) in the passages found."""
    answers, unsure = reader.read_with_unsure(understood_as or asked, found, top_k=top_k) if found else ([], [])
    return Result(
        question=asked,
        reader=reader.name,
        no_answer=not answers,
        answers=tuple(answers),
        passages=tuple(found),
        understood_as=understood_as,
        unsure=tuple(unsure),
        missing=missing,
    )


def answer_in_conversation(
    question: str,
    *,
    previous: Exchange | None,
    store: Store,
    reader,
    top_k: int = DEFAULT_ANSWERS,
    passages: int = DEFAULT_K,
    encoder=None,
) -> Result:
    """Answer a question asked in a conversation, after ``previous`` (None: nothing before it).

    A question that stands on its own is answered by ``answer()`` exactly as it would be alone. A
    follow-up ("How old is she?") is read as ``retrieval.followup.resolve`` rewrites it: search
    looks for the rewritten question (and the previous one's words), the passages of the article
    that answered before are read first, and the reader reads the rewritten question; the result
    keeps the question as asked, with the rewritten one in ``understood_as``. A follow-up asks
    something new, so an answer that only repeats the previous one ("3.5 million pounds" again for
    "And Kingsbury?", "July 2000" again for "When did he visit before that?") is left out; when
    nothing else is found, there is no answer. A whole-sentence answer (the sentence reader's) is
    kept: the sentence that answered before may well hold the new fact too ("How old is she?").

    :param previous: the previous exchange (``Exchange.of(result)``), or None.
    :raises retrieval.followup.UnresolvedFollowup: a follow-up with nothing before it to lean on.
    :raises index.bm25.EmptyIndex: the collection is empty.
    """
    reading = resolve(question, previous)
    if reading.standalone:
        return answer(question, store=store, reader=reader, top_k=top_k, passages=passages, encoder=encoder)
    found = search(reading.search, store=store, k=passages * FOLLOWUP_DEPTH, encoder=encoder)
    found = preferring(found, reading.prefer_article, k=passages)
    result = _read(
        question, found, reader=reader, top_k=top_k + 1, understood_as=reading.question, missing=store.search_missed()
    )
    said = previous.answer if previous else None
    fresh = tuple(
        a for a in result.answers or result.unsure if a.text == a.context or not (said and _repeats(a.text, said))
    )[:top_k]
    if not result.answers:
        return dataclasses.replace(result, unsure=fresh)
    return dataclasses.replace(result, answers=fresh, no_answer=not fresh)


def _repeats(text: str, said: str) -> bool:
    """Whether an answer says what was said before: the same words, or within them or around them."""
    new, old = f" {normalize_answer(text)} ", f" {normalize_answer(said)} "
    return bool(new.strip() and old.strip()) and (new in old or old in new)


def preferring(found: list[Passage], article_id: int | None, *, k: int) -> list[Passage]:
    """The ``k`` best passages with those of ``article_id`` first, all raised by one amount to the best
    score or above, so that their own scores still tell them apart (BM25 weighs in the reading).

    :param found: passages, best first.
    :param article_id: the article to prefer (None: the passages as found, cut to ``k``).
    """
    preferred = [p for p in found if p.article_id == article_id]
    if not preferred:
        return found[:k]
    preferred = preferred[:k]
    lift = max(0.0, found[0].score - preferred[-1].score)  # all of them at least the best score, their distances kept
    raised = [dataclasses.replace(p, score=p.score + lift) for p in preferred]
    return (raised + [p for p in found if p.article_id != article_id])[:k]
