"""Answer tests in conversation: a case's ``after:`` questions are asked first, then its own.

``qabot eval`` (``evaluation.answer_tests``) asks a case without ``after:`` through ``answer()``,
exactly as a question asked on its own. A case with ``after: [...]`` is a conversation: each of
those questions is asked in turn through ``answer_in_conversation()``, each one's answer being the
previous exchange of the next, and then the case's own question, which the case's checks apply to.
A follow-up that has nothing to lean on (``UnresolvedFollowup``) counts as no answer.
"""

import time

from qabot.retrieval.answer import answer, answer_in_conversation
from qabot.retrieval.followup import Exchange, UnresolvedFollowup
from qabot.retrieval.types import Result


def parse_after(value, where: str, malformed: type[ValueError]) -> tuple[str, ...]:
    """A case's ``after:``: one question or a list of them, each non-empty text.

    :param malformed: the exception to raise, with ``where`` in its message.
    """
    if value is None:
        return ()
    questions = value if isinstance(value, list) else [value]
    if not questions or not all(isinstance(q, str) and q.strip() for q in questions):
        raise malformed(f"{where}: after must be a question or a list of questions (text)")
    return tuple(" ".join(q.split()) for q in questions)


def ask_case(question: str, after: tuple[str, ...], *, store, reader, k: int, encoder=None) -> tuple[Result, float]:
    """The result of a case's question, asked after the questions of ``after``, and its seconds.

    :param question: the case's own question.
    :param after: the questions asked before it, in order (empty: it is asked on its own).
    :param k: how many answers each question gets.
    :raises index.bm25.EmptyIndex: the collection is empty.
    """
    if not after:
        started = time.perf_counter()
        result = answer(question, store=store, reader=reader, top_k=k, encoder=encoder)
        return result, time.perf_counter() - started
    previous = None
    for before in after:
        previous = _exchange(before, previous, store=store, reader=reader, k=k, encoder=encoder)
    started = time.perf_counter()
    try:
        result = answer_in_conversation(
            question, previous=previous, store=store, reader=reader, top_k=k, encoder=encoder
        )
    except UnresolvedFollowup:
        result = Result(question=question, reader=reader.name, no_answer=True, answers=(), passages=())
    return result, time.perf_counter() - started


def _exchange(question: str, previous: Exchange | None, *, store, reader, k: int, encoder) -> Exchange | None:
    """The exchange one earlier question of a conversation makes (None when it could not be read)."""
    try:
        result = answer_in_conversation(
            question, previous=previous, store=store, reader=reader, top_k=k, encoder=encoder
        )
    except UnresolvedFollowup:
        return None
    return Exchange.of(result)
