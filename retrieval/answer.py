"""answer(): the one way a question is answered: search → read → cited answers.

The CLI (``qabot ask``), the console, the Telegram bot and ``qabot eval`` all call ``answer()`` and
differ only in how they print the ``Result``.
"""

from index.store import Store
from retrieval.search import DEFAULT_K, search
from retrieval.types import Result

#: How many answers to return by default.
DEFAULT_ANSWERS = 3


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
    :param reader: a reader (``SentenceReader`` or ``ExtractiveReader``) with ``name`` and ``read()``.
    :param top_k: how many answers at most.
    :param passages: how many passages to retrieve and read.
    :param encoder: the sentence encoder for hybrid search (``retrieval.search``), or None for BM25.
    :raises index.bm25.EmptyIndex: the collection is empty.
    """
    found = search(question, store=store, k=passages, encoder=encoder)
    answers = reader.read(question, found, top_k=top_k) if found else []
    return Result(
        question=question,
        reader=reader.name,
        no_answer=not answers,
        answers=tuple(answers),
        passages=tuple(found),
    )
