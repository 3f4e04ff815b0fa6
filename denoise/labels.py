"""The label of a position where nothing is predicted: -100, which ``torch.nn.functional.cross_entropy``
ignores by default. Corruptions write it, framings pad with it, models and metrics skip it."""

IGNORE = -100
