"""Durability: a bulk import killed with SIGKILL leaves a sound collection, and a re-run completes it."""

import pytest

from benchmarks.reliability import churn, concurrent_writers, kill_loop


@pytest.mark.slow
def test_killed_imports_leave_nothing_half_done_and_resume_without_duplicates(tmp_path):
    result = kill_loop(tmp_path, kills=5, articles=120, seed=3)
    assert result == {"kills": 5, "corrupt": 0, "lost": 0, "duplicates": 0, "articles": 120}


@pytest.mark.slow
def test_writers_in_several_processes_wait_their_turn_and_lose_nothing(tmp_path):
    """Deferred transactions failed at once with "database is locked" (267 of 600 adds)."""
    result = concurrent_writers(tmp_path, processes=3, articles=40)
    assert result == {"writers": 3, "write_failures": 0, "ask_failures": 0, "lost": 0, "stored_twice": 0,
                      "check_problems": 0, "score_mismatches": 0}


@pytest.mark.slow
def test_churn_keeps_the_index_exact(tmp_path):
    assert churn(tmp_path, operations=600, check_every=50) == {
        "churn_operations": 600, "churn_checks": 12, "churn_mismatches": 0}
