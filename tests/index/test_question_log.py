"""index/question_log.py: old questions are forgotten with their votes; the stats of one chat."""

from datetime import UTC, datetime

import pytest

from qabot.index.question_log import QuestionNotFound
from qabot.index.store import Store


def asked_long_ago(store: Store, question_id: int) -> None:
    with store.transaction():
        store.db.execute("UPDATE questions SET asked_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", [question_id])


def test_old_questions_are_forgotten_with_their_votes_and_the_recent_ones_kept(store):
    old = store.record_question("Who opened the old bridge?", answered=False, chat_id=5, answer_json="{}")
    recent = store.record_question("Who opened the tram line?", answered=False, chat_id=5)
    store.record_feedback(old.id, 7, 1)
    store.record_feedback(recent.id, 7, -1)
    asked_long_ago(store, old.id)

    assert store.forget_questions(before=datetime(2021, 1, 1, tzinfo=UTC)) == 1
    stats = store.stats()
    assert (stats["questions"], stats["votes_up"], stats["votes_down"]) == (1, 0, 1)
    assert stats["latest_unanswered"] == ["Who opened the tram line?"]
    with pytest.raises(QuestionNotFound):
        store.question(old.id)
    assert store.question(recent.id).question == "Who opened the tram line?"
    assert store.forget_questions(before=datetime(2021, 1, 1, tzinfo=UTC)) == 0


def test_the_stats_of_one_chat_count_its_questions_and_votes_only(store):
    ours = store.record_question("Who drove the first tram?", answered=True, chat_id=-100)
    store.record_question("What is my secret?", answered=False, chat_id=42, user_id=42)
    store.record_question("When does the ferry stop?", answered=False, chat_id=-100)
    store.record_feedback(ours.id, 1, 1)
    group = store.stats(chat_id=-100)
    assert (group["questions"], group["answered"], group["votes_up"]) == (2, 1, 1)
    assert group["latest_unanswered"] == ["When does the ferry stop?"]
    assert group["articles"] == store.counts()["articles"]
    assert store.stats()["latest_unanswered"] == ["When does the ferry stop?", "What is my secret?"]
