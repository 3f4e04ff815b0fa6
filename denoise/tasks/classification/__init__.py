"""Sequence classification and regression (sentiment, sentence pairs such as NLI or paraphrase)."""
