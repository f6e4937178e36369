"""The question log: the questions people ask, what they were answered, and their 👍/👎 feedback.

Part of ``index/``: mixed into ``index.store.Store``, so the log is kept beside the articles in the
collection's one SQLite file (schema 2, ``index.schema``) until ``forget_questions`` deletes the old
questions. The bot and the console record each question (the bot also its votes); /stats counts them.
"""

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime


class QuestionNotFound(LookupError):
    """No asked question has the given id."""


@dataclass(frozen=True)
class AskedQuestion:
    """A question someone asked, with what it was answered (``answer_json``, as the caller saved it)."""

    id: int
    asked_at: str
    chat_id: int | None
    user_id: int | None
    question: str
    answered: bool
    reader: str | None
    answer_json: str | None
    key: str | None = None  # random and unguessable: what buttons carry instead of the id


class QuestionLog:
    """The question log's methods of ``index.store.Store`` (its ``db``, ``lock``, ``transaction()``
    and ``counts()``)."""

    def record_question(
        self,
        question: str,
        *,
        answered: bool,
        chat_id: int | None = None,
        user_id: int | None = None,
        reader: str | None = None,
        answer_json: str | None = None,
    ) -> AskedQuestion:
        """Keep a question that was asked and whether it was answered.

        Returns the row, with its ``key``: 12 random URL-safe characters that name it in button
        data (ids are sequential, so they could be enumerated).

        :param question: the question as asked.
        :param answered: whether an answer was given.
        :param chat_id: the chat it was asked in (None outside Telegram).
        :param user_id: who asked it (None outside Telegram).
        :param reader: the reader that answered (``"span"`` or ``"sentence"``).
        :param answer_json: what was answered, as the caller serialised it, to show again later.
        """
        row = {
            "asked_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "chat_id": chat_id,
            "user_id": user_id,
            "question": question,
            "answered": int(answered),
            "reader": reader,
            "answer_json": answer_json,
            "key": secrets.token_urlsafe(9),
        }
        with self.transaction():
            question_id = self.db["questions"].insert(row).last_pk
        return AskedQuestion(question_id, row["asked_at"], chat_id, user_id, question, answered,
                             reader, answer_json, row["key"])

    _QUESTION_SQL = (
        "SELECT id, asked_at, chat_id, user_id, question, answered, reader, answer_json, key"
        " FROM questions WHERE "
    )

    def question(self, question_id: int) -> AskedQuestion:
        """The asked question with this id.

        :raises QuestionNotFound: no such question.
        """
        with self.lock:
            row = self.db.execute(self._QUESTION_SQL + "id = ?", [question_id]).fetchone()
        if row is None:
            raise QuestionNotFound(f"there is no question {question_id}")
        return AskedQuestion(*row[:5], bool(row[5]), *row[6:])

    def question_by_key(self, key: str) -> AskedQuestion:
        """The asked question with this key (see :meth:`record_question`).

        :raises QuestionNotFound: no question has this key.
        """
        with self.lock:
            row = self.db.execute(self._QUESTION_SQL + "key = ?", [key]).fetchone()
        if row is None:
            raise QuestionNotFound("there is no such question")
        return AskedQuestion(*row[:5], bool(row[5]), *row[6:])

    def record_feedback(self, question_id: int, user_id: int, vote: int) -> None:
        """Keep one person's 👍 (``+1``) or 👎 (``-1``) on a question; a new vote replaces theirs.

        :raises QuestionNotFound: no such question.
        :raises ValueError: the vote is neither +1 nor -1.
        """
        if vote not in (1, -1):
            raise ValueError("a vote is +1 or -1")
        at = datetime.now(UTC).isoformat(timespec="seconds")
        with self.lock:
            try:
                with self.transaction():
                    self.db.execute(
                        "INSERT INTO feedback (question_id, user_id, vote, at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (question_id, user_id) DO UPDATE"
                        " SET vote = excluded.vote, at = excluded.at",
                        [question_id, user_id, vote, at],
                    )
            except sqlite3.IntegrityError:  # the foreign key: no such question
                raise QuestionNotFound(f"there is no question {question_id}") from None

    def stats(self, *, unanswered: int = 5, chat_id: int | None = None) -> dict:
        """Articles, chunks, questions asked and answered, votes, and the latest unanswered questions.

        :param unanswered: how many of the latest unanswered questions to list, newest first.
        :param chat_id: count only the questions asked in this chat, and their votes (the articles
            and chunks are the whole collection's); None: every question.
        """
        where, args = ("WHERE chat_id = ?", [chat_id]) if chat_id is not None else ("", [])
        with self.lock:
            stats = self.counts()
            asked, answered = self.db.execute(
                f"SELECT count(*), coalesce(sum(answered), 0) FROM questions {where}", args
            ).fetchone()
            up, down = self.db.execute(
                "SELECT coalesce(sum(vote = 1), 0), coalesce(sum(vote = -1), 0) FROM feedback"
                f" WHERE question_id IN (SELECT id FROM questions {where})",
                args,
            ).fetchone()
            latest = self.db.execute(
                f"SELECT question FROM questions {where or 'WHERE 1'} AND answered = 0 ORDER BY id DESC LIMIT ?",
                [*args, unanswered],
            ).fetchall()
        return stats | {
            "questions": asked,
            "answered": answered,
            "votes_up": up,
            "votes_down": down,
            "latest_unanswered": [question for (question,) in latest],
        }

    def forget_questions(self, *, before: datetime) -> int:
        """Delete the questions asked before ``before``, with their votes; returns how many.

        Their answers' buttons then say the answer is gone, as for any unknown key.
        """
        cutoff = before.astimezone(UTC).isoformat(timespec="seconds")
        old = "SELECT id FROM questions WHERE asked_at < ?"
        with self.transaction():
            self.db.execute(f"DELETE FROM feedback WHERE question_id IN ({old})", [cutoff])
            return self.db.execute("DELETE FROM questions WHERE asked_at < ?", [cutoff]).rowcount
