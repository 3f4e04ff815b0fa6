"""Downstream tasks: one folder per kind (classification, tagging, qa, generation) with its examples, files,
features, head, metrics and record; the kind registry; task tokenizers and ready hub datasets."""
