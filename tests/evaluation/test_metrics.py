"""evaluation.metrics: SQuAD's official answer normalisation, exact match and F1; percentiles."""

import pytest

from qabot.evaluation.metrics import exact_match, f1, normalize_answer, percentile


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("The Eiffel Tower!", "eiffel tower"),
        ("  a  quick, brown   fox ", "quick brown fox"),
        ("An apple a day", "apple day"),
        ("Théâtre", "théâtre"),  # letters beyond ASCII are kept, as in the official script
        ("the", ""),
        ("4.25%", "425"),
        ("anthem", "anthem"),  # "an" is removed only as a word
    ],
)
def test_normalisation_is_the_official_one(text, normalised):
    assert normalize_answer(text) == normalised


def test_exact_match_takes_the_best_gold_answer():
    assert exact_match("the Normans", ["Normandy", "Normans"]) == 1.0
    assert exact_match("Normans in France", ["Normans"]) == 0.0


def test_f1_counts_shared_words():
    # prediction: 4 words, gold: 2 words, 2 shared -> precision 0.5, recall 1.0
    assert f1("in July of 2000", ["July 2000"]) == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert f1("December", ["July 2000"]) == 0.0
    assert f1("July 2000", ["2000", "July 2000"]) == 1.0


def test_no_gold_answers_means_the_right_answer_is_none():
    assert exact_match("", []) == f1("", []) == 1.0
    assert exact_match("Paris", []) == f1("Paris", []) == 0.0
    assert f1("", ["Paris"]) == 0.0


def test_percentiles():
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([1.0] * 19 + [10.0], 95) == pytest.approx(1.45)
