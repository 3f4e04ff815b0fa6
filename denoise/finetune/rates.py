"""The learning rates a fine-tuning tries: the recipe's rate or sweep, or one chosen by the model's width.

Published guidance differs by size: BERT-base and -large were fine-tuned at 2e-5 to 5e-5 (Devlin et al.,
2019), the compact BERTs of Turc et al. (2019) over 3e-5 to 3e-4 with the small ones at the high end. Below
that, a 2-layer model of width 128 learned fastest at 1e-3 on the dev splits of the offline tasks (POS
tagging after 320 steps: 70.8% at 1e-3, 68.0% at 3e-4; experiments/compare_tiny). A linear probe on frozen
states takes large steps too (only the head moves).
"""

from __future__ import annotations

# (smallest width, rate): the first row whose width the model reaches
RATES_BY_WIDTH = ((768, 3e-5), (384, 1e-4), (256, 3e-4), (0, 1e-3))
PROBE_RATE = 1e-3


def default_lr(d_model: int, probe: bool = False) -> float:
    """The rate for a backbone of width ``d_model`` when the recipe names none."""
    if probe:
        return PROBE_RATE
    return next(rate for width, rate in RATES_BY_WIDTH if d_model >= width)


def rates_to_try(lr: float | list[float] | None, d_model: int, probe: bool = False) -> list[float]:
    """The recipe's ``optimizer.lr`` as a list of rates: one, a sweep, or the default for the width."""
    if lr is None:
        return [default_lr(d_model, probe)]
    return list(lr) if isinstance(lr, list) else [lr]
