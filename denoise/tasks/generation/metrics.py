"""Generation scores: corpus BLEU and chrF (sacrebleu's defaults)."""

from __future__ import annotations

from collections.abc import Sequence

import sacrebleu

from denoise.tasks.metrics import check_pairs


def bleu_chrf(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU and chrF (sacrebleu's defaults) of ``predictions`` against one reference each."""
    check_pairs(references, predictions, "sentences")
    predictions, references = list(predictions), [list(references)]
    return {
        "bleu": sacrebleu.corpus_bleu(predictions, references).score,
        "chrf": sacrebleu.corpus_chrf(predictions, references).score,
    }
