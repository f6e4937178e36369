"""Scoring answers: SQuAD's exact match and F1 (its official answer normalisation), and time percentiles.

``exact_match`` and ``f1`` (with ``retrieval.answer_types.normalize_answer``) follow the official evaluation script
(``evaluate-v2.0.py``): lower case, punctuation and the articles "a", "an", "the" removed, white
space collapsed; F1 over the bag of normalised words. Against several gold answers, the best one counts.
"""

from collections import Counter

import numpy as np

from qabot.retrieval.answer_types import normalize_answer


def _exact(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def _f1(prediction: str, gold: str) -> float:
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    same = sum((Counter(predicted) & Counter(expected)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(expected)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: list[str] | tuple[str, ...]) -> float:
    """1.0 when the prediction equals one of the gold answers once normalised, else 0.0.

    :param prediction: the answer given ("" for no answer).
    :param golds: the accepted answers; empty means the question has no answer.
    """
    return max((_exact(prediction, g) for g in golds), default=_exact(prediction, ""))


def f1(prediction: str, golds: list[str] | tuple[str, ...]) -> float:
    """The best word-overlap F1 of the prediction against the gold answers (0.0 to 1.0).

    :param prediction: the answer given ("" for no answer).
    :param golds: the accepted answers; empty means the question has no answer.
    """
    return max((_f1(prediction, g) for g in golds), default=_f1(prediction, ""))


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) of the values, linearly interpolated; None when there are none."""
    return float(np.percentile(values, q)) if values else None
