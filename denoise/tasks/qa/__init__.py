"""Extractive span QA (SQuAD v1.1 and v2.0): answer spans inside a context, and unanswerable questions."""
