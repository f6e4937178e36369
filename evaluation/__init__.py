"""Measuring answers: answer tests, conversation tests, SQuAD, metrics, and tuning the reader on them."""
