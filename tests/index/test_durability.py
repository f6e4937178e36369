"""Durability: a bulk import killed with SIGKILL leaves a sound collection, and a re-run completes it."""

from benchmarks.reliability import kill_loop


def test_killed_imports_leave_nothing_half_done_and_resume_without_duplicates(tmp_path):
    result = kill_loop(tmp_path, kills=5, articles=120, seed=3)
    assert result == {"kills": 5, "corrupt": 0, "lost": 0, "duplicates": 0, "articles": 120}
