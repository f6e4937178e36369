"""Importing: every article of a folder or a JSONL file into the store (``qabot import``).

A folder is walked recursively, hidden files and folders left out and links out of it never
followed; each of its files is read as ``index.ingest`` reads a file given alone, and its .jsonl
files line by line, as a .jsonl file given alone is. A JSONL file is streamed, a line at a time,
each line an article (``title``, ``text`` and optional ``url``, ``site``, ``published``) made into
a ``Draft`` (``index.drafts``) and stored. A bulk import reports each bad item with its reason and
stores every good one; only a store that cannot write (a full disk) stops it, with
``ImportStopped``.
"""

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qabot.index.drafts import Draft, IngestError, store_draft
from qabot.index.ingest import from_file, is_jsonl
from qabot.index.records import Article
from qabot.index.store import DuplicateArticle, Store

#: A JSONL line longer than this is not read: an article of ``MAX_TEXT_CHARS`` fits in it as JSON.
MAX_JSONL_LINE_BYTES = 16_000_000


class ImportStopped(Exception):
    """The store could not write (the disk is full, ...), so a bulk import stopped at item ``where``.

    ``report`` holds what the import did before it stopped; the message says where and why.
    """

    def __init__(self, where: str, error: Exception, report: "ImportReport"):
        super().__init__(f"the import stopped at {where}: {error} (the rest was not imported)")
        self.report = report


@dataclass
class ImportReport:
    """What a bulk import did: articles added, duplicates skipped, and failures with reasons."""

    added: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """``{"added": n, "skipped": n, "failed": n}``."""
        return {"added": len(self.added), "skipped": len(self.skipped), "failed": len(self.failed)}


class _Unreadable(Exception):
    """A line or file that cannot be read as it is; the message says why, for the import's report."""


class _Skipped(_Unreadable):
    """A file left out on purpose (a link out of the folder); reported as skipped, not failed."""


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str | _Unreadable]]:
    """Each non-blank line of a JSONL file with its number, streamed: its text, or why it is none.

    A line over ``MAX_JSONL_LINE_BYTES`` is passed over unread; a line that is not UTF-8 is refused
    with the place of its first bad byte (nothing is guessed, so no character is silently changed).
    """
    with path.open("rb") as lines:
        number = 0
        while line := lines.readline(MAX_JSONL_LINE_BYTES + 1):
            number += 1
            if len(line) > MAX_JSONL_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := lines.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass  # the rest of the long line, read and let go
                yield number, _Unreadable(f"the line is over {MAX_JSONL_LINE_BYTES:,} bytes; not read")
                continue
            if not line.strip():
                continue
            try:
                yield number, line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                yield number, _Unreadable(
                    f"the line is not UTF-8 text (byte 0x{line[error.start]:02x} at byte {error.start + 1});"
                    " save the file as UTF-8"
                )


def _jsonl_drafts(path: Path, name: str) -> Iterator[tuple[str, Draft | Exception]]:
    """Each line's article (or why it is none), as ``name:line``."""
    for number, line in _jsonl_lines(path):
        if isinstance(line, str):
            try:
                line = _jsonl_draft(line)
            except IngestError as error:
                line = error
        yield f"{name}:{number}", line


def json_line(line: str):
    """One line of JSON Lines, read; a ValueError that says in one line why it cannot be."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg})") from None
    except ValueError as error:  # an integer of more than 4,300 digits
        raise ValueError(f"not valid JSON ({error})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None


def _jsonl_draft(line: str) -> Draft:
    """The article of one JSONL line."""
    try:
        record = json_line(line)
    except ValueError as error:
        raise IngestError(str(error)) from None
    if not isinstance(record, dict):
        raise IngestError("the line is not a JSON object")
    missing = [k for k in ("title", "text") if not isinstance(record.get(k), str)]
    if missing:
        raise IngestError(f"missing or non-text field(s): {', '.join(missing)}")
    wrong = [
        k
        for k in ("url", "site", "published")
        if record.get(k) is not None and not isinstance(record[k], str)
    ]
    if wrong:
        raise IngestError(f"non-text field(s): {', '.join(wrong)}")
    return Draft(
        title=record["title"],
        text=record["text"],
        url=record.get("url") or None,
        site=record.get("site") or None,
        published=record.get("published") or None,
    )


def _folder_files(folder: Path) -> list[Path]:
    """The folder's files, recursively, in order; hidden ones (``.env``, ``.git/``) left out.

    Links to folders are not followed; a link to a file is kept, to be checked by ``_inside``.
    """
    files = []
    for parent, folders, names in os.walk(folder):
        folders[:] = [f for f in folders if not f.startswith(".")]
        files += [Path(parent, name) for name in names if not name.startswith(".")]
    return sorted(path for path in files if path.is_file() or path.is_symlink())


def _inside(path: Path, folder: Path) -> Path:
    """The real file a folder's file is, which must lie inside the folder.

    :raises _Skipped: a link to something outside the folder (``b.txt -> /etc/passwd``), which is
        never read.
    """
    real = path.resolve()
    if not real.is_relative_to(folder.resolve()):
        raise _Skipped("a link to a file outside the folder; not followed")
    if not real.is_file():
        raise _Unreadable("a link to nothing (or not to a file)")
    return real


def _folder_items(folder: Path) -> Iterator[tuple[str, Draft | Exception | Path]]:
    """The folder's files (read later, one at a time), and the lines of its JSONL files."""
    for path in _folder_files(folder):
        where = str(path.relative_to(folder))
        try:
            real = _inside(path, folder)
        except _Unreadable as error:
            yield where, error
            continue
        if is_jsonl(path):
            yield from _jsonl_drafts(real, where)
        else:
            yield where, real


def _count_items(path: Path) -> int:
    """How many items ``import_path`` goes through: files, and the non-blank lines of JSONL files."""
    if path.is_file():
        return sum(1 for _ in _jsonl_lines(path))
    count = 0
    for file in _folder_files(path):
        try:
            real = _inside(file, path)
        except _Unreadable:
            count += 1
            continue
        count += sum(1 for _ in _jsonl_lines(real)) if is_jsonl(file) else 1
    return count


def check_importable(path: Path) -> None:
    """Refuse a path that ``import_path`` cannot import.

    :raises IngestError: the path is neither a folder nor a JSONL file.
    """
    if not (path.is_dir() or (path.is_file() and is_jsonl(path))):
        raise IngestError(f"{path}: not a folder or a .jsonl file")


def import_path(
    store: Store, path: Path, *, added_by: str | None = None, progress=None
) -> ImportReport:
    """Add every article of a folder (recursively) or a JSONL file; one bad item never stops the rest.

    :param path: a folder of .txt/.md/.html and .jsonl files, or a .jsonl file with ``title``,
        ``text`` and optional ``url``, ``published``, ``site`` per line.
    :param progress: wraps the items (files and JSONL lines, read as they come) to show progress,
        called as ``progress(items, total)`` (e.g. ``bot.progress.tracked``), or None.
    :raises IngestError: the path is neither a folder nor a JSONL file.
    :raises ImportStopped: the store could not write (e.g. the disk is full); it holds the report
        of what was done before.
    """
    check_importable(path)
    items = _folder_items(path) if path.is_dir() else _jsonl_drafts(path, path.name)
    report = ImportReport()
    for where, item in progress(items, _count_items(path)) if progress else items:
        if isinstance(item, Path):
            try:
                item = from_file(item)
            except IngestError as error:
                item = error
        if isinstance(item, Exception):
            (report.skipped if isinstance(item, _Skipped) else report.failed).append((where, str(item)))
            continue
        try:
            report.added.append(store_draft(store, item, added_by=added_by))
        except DuplicateArticle as error:
            report.skipped.append((where, str(error)))
        except (sqlite3.OperationalError, OSError) as error:  # the next items would fail the same way
            raise ImportStopped(where, error, report) from None
        except (ValueError, TypeError) as error:  # InvalidArticle, or anything else wrong with this one
            report.failed.append((where, str(error)))
    return report
