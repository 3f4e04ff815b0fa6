"""What a kind of downstream task is: how its splits are read, what the training split defines (label
names), how examples become features, the head that scores them, how predictions are scored, the one
metric a comparison ranks it by, and a baseline that needs no pre-training, where it has one. Each kind is a
subclass in ``denoise/tasks/<kind>/kind.py``, registered in :mod:`denoise.tasks.kinds`;
``docs/adding_a_task_kind.md`` walks through a new one.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from denoise.errors import DenoiseError
from denoise.tasks.example_scores import ExampleScores
from denoise.tasks.framing import collate
from denoise.tasks.text import TaskTokenizer


class Kind:
    """Base: reading a split from files or the hub; subclasses add features, head, targets and scores."""

    name: ClassVar[str]
    target_key: ClassVar[str] = "label"  # the feature the head's loss is trained against
    settings_key: ClassVar[str | None] = None  # the recipe's block of this kind's own settings, if it has one
    writes_text: ClassVar[bool] = False  # needs a model that generates (a family with ``generates``)

    def __init__(self, config):
        self.config = config  # a FinetuneConfig

    @property
    def settings(self):
        """This kind's block of the recipe (``qa:``, ``generation:``...)."""
        return getattr(self.config, self.settings_key)

    def read(self, split: str) -> list:
        task = self.config.task
        if task.hub:
            from denoise.tasks.hub import hub_examples

            return hub_examples(task.hub, {"dev": "validation"}.get(split, split))
        path = getattr(task, split)
        if path is None:
            return []
        examples = self.read_file(Path(path), split)
        if not examples:
            raise DenoiseError(f"the {split} split {path} holds no examples")
        return examples

    def read_file(self, path: Path, split: str) -> list:
        raise NotImplementedError

    def fit(self, train: list) -> None:
        """Learn what the training split defines (label names); ``state`` saves it."""

    def check(self, examples: list, split: str) -> None:
        """Refuse a dev or test split the training split does not cover (an unseen label)."""

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        pass

    def features(self, examples: list, tok: TaskTokenizer) -> list[dict]:
        raise NotImplementedError

    def head(self, backbone) -> nn.Module | None:
        """The head on ``backbone``'s states (a :class:`~denoise.finetune.backbone.Backbone`); None for a
        kind that uses the model's own output layer."""
        raise NotImplementedError

    def targets(self, batch: dict) -> torch.Tensor:
        return batch[self.target_key]

    def tune(self, model, examples: list, features: list[dict], tok: TaskTokenizer, device, autocast) -> None:
        """Choose decoding settings on the dev split after training, before the final scores (``state``
        saves them); nothing by default."""

    def score(self, model, examples: list, features: list[dict], tok: TaskTokenizer, device, autocast):
        """Metrics and one prediction per example (``autocast()`` gives the run's precision)."""
        raise NotImplementedError

    def baseline(self, train: list, examples: list) -> tuple[str, dict] | None:
        """A reference score that needs no pre-training: a simple model fitted on ``train`` in seconds, and
        its name and metrics on ``examples``, under the keys ``score`` gives (so ``headline`` reads them);
        None for a kind without one (the default)."""
        return None

    def example_scores(self, examples: list, predictions: list) -> ExampleScores | None:
        """Each example's part of the headline, as the headline shows it, when the headline is a mean or a
        ratio of sums over examples (:mod:`denoise.tasks.example_scores`), so that comparisons can resample
        test examples; None where it is neither (macro F1, correlations, BLEU), the default."""
        return None

    @classmethod
    def headline(cls, metrics: dict) -> tuple[str, float]:
        """The metric a comparison ranks this kind by, and its value as tables show it."""
        raise NotImplementedError


@torch.no_grad()
def outputs(model, features: list[dict], tok: TaskTokenizer, batch_size: int, device, autocast) -> list:
    """The model's output for each feature, on the CPU, in order."""
    model.eval()
    results = []
    for start in range(0, len(features), batch_size):
        chunk = features[start : start + batch_size]
        batch = {k: v.to(device) for k, v in collate(chunk, tok.pad_id).items()}
        with autocast():
            logits = model(**batch)
        results.extend(logits.float().cpu().unbind(0))
    return results
