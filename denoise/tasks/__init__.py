"""Downstream tasks: example types, file readers and writers, metrics and ready hub datasets."""
