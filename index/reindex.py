"""Building the Xapian index from the store (``qabot reindex``) and comparing it with the store (``qabot check``).

Reindex takes every shard's write lock, then either goes on with the index the shards already hold
for this collection (a build that was interrupted resumes from the last article it recorded; a live
index is refreshed in place, so searches stay whole meanwhile) or starts a new generation: recorded
in SQLite first (so every change from then on is owed to it), then the shards are emptied and
marked with it. It then syncs the articles in id order, ``BATCH_ARTICLES`` at a time, committing every
shard before recording how far it got, deletes any document the store does not hold, makes the
generation the one kept (dropping the others, the embedded index's postings included) and pushes
what the outbox owes it. Every step replaces rather than appends, so running it again is harmless.
"""

import logging
import random
from collections import Counter
from collections.abc import Callable

from qabot.index import outbox
from qabot.index.engine import IndexedChunk, IndexUnavailable
from qabot.index.xapian_index import (
    ARTICLE,
    BATCH_ARTICLES,
    CONNECT_TIMEOUT_MS,
    GENERATION_KEY,
    READ_TIMEOUT_MS,
    SHARD_KEY,
    XapianIndex,
    _xapian,
    xapian_term,
)

log = logging.getLogger(__name__)

#: SQL: a chunk's length in terms (as BM25 counts it), from its stored terms.
_LENGTH = "CASE terms WHEN '' THEN 0 ELSE length(terms) - length(replace(terms, ' ', '')) + 1 END"


def _writers(index: XapianIndex) -> list:
    """Every shard opened for writing.

    :raises IndexUnavailable: a shard is down or written by another process (saying which).
    """
    xapian = _xapian()
    writers = []
    try:
        for shard, address in enumerate(index.addresses):
            try:
                writers.append(index._writer(shard))
            except xapian.DatabaseLockError:
                raise IndexUnavailable(f"the shard {address} is being written by another process: try again") from None
            except xapian.NetworkError as error:
                raise IndexUnavailable(f"the shard {address} cannot be reached: {error}") from None
    except BaseException:
        for writer in writers:
            writer.close()
        raise
    return writers


def is_blank(index: XapianIndex) -> bool:
    """Whether every shard can be reached and holds nothing: no document, no qabot index.

    :raises IndexUnavailable: a shard cannot be reached.
    """
    xapian = _xapian()
    for (host, port), address in zip(index.shards, index.addresses):
        try:
            database = xapian.remote_open(host, port, READ_TIMEOUT_MS, CONNECT_TIMEOUT_MS)
        except xapian.NetworkError as error:
            raise IndexUnavailable(f"the shard {address} cannot be reached: {error}") from None
        try:
            if database.get_doccount() or database.get_metadata(GENERATION_KEY):
                return False
        finally:
            database.close()
    return True


def _clear(writer) -> None:
    """Delete every document of a shard (article by article, then any left one by one)."""
    for item in list(writer.allterms(ARTICLE)):
        writer.delete_document(item.term.decode())
    for docid in [item.docid for item in writer.postlist("")]:
        writer.delete_document(docid)


def _prune(index: XapianIndex, writer, shard: int) -> int:
    """Delete the documents of one shard that the store does not hold there; how many."""
    xapian = _xapian()
    held = {item.docid for item in writer.postlist("")}
    shards = len(index.shards)
    stored = {
        chunk_id
        for (chunk_id,) in index.store.db.execute(
            "SELECT id FROM chunks WHERE article_id % ? = ?", [shards, shard]
        )
    }
    strays = sorted(held - stored)
    for docid in strays:
        try:
            writer.delete_document(docid)
        except xapian.DocNotFoundError:
            pass
    return len(strays)


def reindex_xapian(index: XapianIndex, progress: Callable[[int, int], None] | None = None) -> dict:
    """Build (or resume, or refresh in place) the collection's index on the shards, make it the one
    kept and push the outbox (see the module docstring).

    :param progress: called with ``(chunks done, chunks in all)``.
    :returns: ``index``, ``generation``, ``shards``, ``articles``, ``chunks``, ``resumed_from`` (an
        article id), ``in_place``, ``removed`` (stray documents) and ``dropped`` (indexes no longer kept).
    :raises IndexUnavailable: a shard is down or busy.
    """
    store, shards = index.store, len(index.shards)
    conn = store.db.conn
    places = [f"{shard + 1}/{shards}" for shard in range(shards)]
    writers = _writers(index)
    try:
        held = [writer.get_metadata(GENERATION_KEY).decode() for writer in writers]
        found = [writer.get_metadata(SHARD_KEY).decode() for writer in writers]
        with store.lock:
            kept = outbox.target(conn, held[0]) if held[0] and len(set(held)) == 1 else None
            in_place = kept is not None and kept.shards == shards and found == places
            if not in_place:
                with store.transaction():
                    kept = outbox.start_building(conn, shards, index.name)
        if not in_place:
            for writer, place in zip(writers, places):
                _clear(writer)
                writer.set_metadata(GENERATION_KEY, kept.name)
                writer.set_metadata(SHARD_KEY, place)
                writer.commit()
        resumed_from = last = kept.built_up_to
        with store.lock:
            total = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
            done = conn.execute(
                "SELECT count(*) FROM chunks WHERE article_id <= ?", [last]
            ).fetchone()[0]
            articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        if progress:
            progress(done, total)
        while True:
            with store.lock:
                ids = [i for (i,) in conn.execute(
                    "SELECT id FROM articles WHERE id > ? ORDER BY id LIMIT ?", [last, BATCH_ARTICLES]
                )]
                if not ids:
                    break
                for shard, writer in enumerate(writers):
                    done += index._sync(writer, [i for i in ids if i % shards == shard])
                for writer in writers:
                    writer.commit()
                last = ids[-1]
                with store.transaction():
                    outbox.built_up_to(conn, kept.name, last)
            if progress:
                progress(min(done, total), total)
        with store.lock:
            removed = 0
            for shard, writer in enumerate(writers):
                removed += _prune(index, writer, shard)
                writer.commit()
            with store.transaction():
                dropped = outbox.go_live(conn, kept.name)
    finally:
        for writer in writers:
            writer.close()
    index.close()  # the next search reads the shards' metadata again
    index.catch_up()
    if removed:
        log.info("reindex removed %s documents the store does not hold", removed)
    return {
        "index": index.name,
        "generation": kept.name,
        "shards": shards,
        "articles": articles,
        "chunks": total,
        "resumed_from": resumed_from,
        "in_place": in_place,
        "removed": removed,
        "dropped": dropped,
    }


def check_xapian(index: XapianIndex, *, sample: int = 200) -> list[str]:
    """Compare the shards with the store: the shards can be reached and hold this collection's live
    index in QABOT_INDEX's order; each holds as many documents, and as many terms in all, as the
    store's chunks placed on it; nothing waits in the outbox; and ``sample`` chunks picked at random
    each have their document, with their terms and counts, and their article as many documents as
    it has chunks.

    :returns: the differences, in words (empty when the shards agree with the store).
    """
    xapian = _xapian()
    store, shards = index.store, len(index.shards)
    problems = []
    with store.lock:
        conn = store.db.conn
        try:
            readers = index._connected()
            name = index._serving()
        except IndexUnavailable as error:
            empty = not conn.execute("SELECT 1 FROM chunks LIMIT 1").fetchone()
            return [] if empty and not index._down and is_blank(index) else [str(error)]
        for shard, (_, why) in sorted(index._down.items()):
            problems.append(f"the shard {index.addresses[shard]} could not be reached: {why}")
        expected = {
            shard: (count, length)
            for shard, count, length in conn.execute(
                f"SELECT article_id % ?, count(*), sum({_LENGTH}) FROM chunks GROUP BY 1", [shards]
            )
        }
        for shard, reader in sorted(readers.items()):
            want = expected.get(shard, (0, 0))
            got = (reader.get_doccount(), reader.get_total_length())
            if got != want:
                problems.append(
                    f"the shard {index.addresses[shard]} holds {got[0]} chunks of {got[1]} terms;"
                    f" the store has {want[0]} chunks of {want[1]} terms for it"
                )
            owed = outbox.waiting(conn, name, shard=shard)
            if owed:
                problems.append(f"{owed} changes of articles are not yet pushed to the shard {index.addresses[shard]}")
        ids = [i for (i,) in conn.execute("SELECT id FROM chunks")]
        picked = random.sample(ids, min(sample, len(ids)))
        chunks = [
            IndexedChunk(*row)
            for row in conn.execute(
                "SELECT id, article_id, terms FROM chunks WHERE id IN (SELECT value FROM json_each(?))",
                [str(picked)],
            )
        ]
        per_article = dict(conn.execute(
            "SELECT article_id, count(*) FROM chunks WHERE article_id IN (SELECT value FROM json_each(?))"
            " GROUP BY article_id",
            [str(sorted({c.article_id for c in chunks}))],
        ).fetchall())
    missing, differ, miscounted = [], [], []
    for chunk in chunks:
        reader = readers.get(chunk.article_id % shards)
        if reader is None:
            continue
        try:
            held = {item.term.decode(): item.wdf for item in reader.get_document(chunk.id).termlist()}
        except xapian.DocNotFoundError:
            missing.append(chunk.id)
            continue
        want = dict(Counter(xapian_term(t) for t in chunk.terms.split()))
        want[f"{ARTICLE}{chunk.article_id}"] = 0
        if held != want:
            differ.append(chunk.id)
        if reader.get_termfreq(f"{ARTICLE}{chunk.article_id}") != per_article.get(chunk.article_id):
            miscounted.append(chunk.article_id)
    if missing:
        problems.append(f"{len(missing)} of {len(chunks)} chunks sampled have no document (first: {sorted(missing)[:5]})")
    if differ:
        problems.append(f"{len(differ)} of {len(chunks)} chunks sampled differ from their document (first: {sorted(differ)[:5]})")
    if miscounted:
        problems.append(
            f"{len(set(miscounted))} articles sampled have another number of documents than chunks"
            f" (first: {sorted(set(miscounted))[:5]})"
        )
    return problems
