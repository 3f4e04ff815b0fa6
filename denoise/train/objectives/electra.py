"""ELECTRA's replaced-token detection as a pre-training objective (Clark et al., 2020): the data side masks
positions as for BERT (the ``electra`` corruption recipe: 15%, 85% of them ``<mask>`` and the rest kept);
the objective runs a generator beside the model (:mod:`denoise.models.bert.electra`), and the run keeps the
model as the discriminator. The generator is kept too, in ``generator/`` beside ``model/``, so a checkpoint
resumes exactly and the run can still fill masks."""

from __future__ import annotations

import warnings
from pathlib import Path

from denoise.errors import DenoiseError
from denoise.models.bert.electra import ElectraSettings
from denoise.models.checkpoint import load_model
from denoise.models.flops import electra_flops
from denoise.train.objectives.base import Counts, Objective

GENERATOR = "generator"


class ReplacedTokenDetection(Objective):
    name = "electra"
    Config = ElectraSettings

    def check(self, family, corrupter) -> None:
        if family.electra is None:
            raise DenoiseError(
                f"objective electra trains a replaced-token discriminator, which model.family "
                f"{family.name!r} has none of; use an encoder-only family (bert)"
            )
        pairs = [op.name for op in corrupter.ops if op.pairs]
        if pairs:
            raise DenoiseError(
                f"objective electra takes masked blocks, not sentence pairs; drop {pairs[0]!r} from corruption "
                f"recipe {corrupter.recipe.name!r} (the electra recipe masks 15% of tokens)"
            )
        moved = [op.name for op in corrupter.ops if op.reorders]
        if moved:
            raise DenoiseError(
                f"objective electra tells replaced tokens from original ones, and {moved[0]!r} in corruption "
                f"recipe {corrupter.recipe.name!r} moves tokens without marking them, so they would count as "
                "original; drop it (the electra recipe masks 15% of tokens)"
            )

    def trained(self, model, family):
        return family.electra(model, self.config)

    def kept(self, module):
        return module.discriminator

    def companions(self, module):
        return {GENERATOR: module.generator}

    def restore(self, module, folder: Path) -> None:
        module.generator.load_state_dict(load_model(folder / GENERATOR).state_dict())

    def adopt(self, module, folder: Path) -> None:
        """The generator an ELECTRA run or snapshot kept beside its model, when it has one of this shape."""
        saved = folder / GENERATOR
        if not saved.is_dir():
            return
        generator = load_model(saved)
        if generator.config != module.generator.config:
            warnings.warn(
                f"{saved} is not the generator these settings build (scale, layers or sizes differ); the "
                "generator starts from fresh weights",
                stacklevel=2,
            )
            return
        module.generator.load_state_dict(generator.state_dict())

    def loss(self, module, inputs: dict, counts: Counts, total: Counts):
        """The generator's loss over the global batch's masked tokens plus ``detection_weight`` times the
        discriminator's over its real tokens."""
        inputs.pop("pair_labels", None)
        inputs.pop("span_ids", None)  # no boundary head: the discriminator reads every token
        output = module(**inputs)
        generator = output.loss * (counts.tokens / max(total.tokens, 1))
        detection = output.detection_sum / max(total.positions, 1)
        loss = generator + self.config.detection_weight * detection
        return loss, {"token_loss": generator.detach(), "detection_loss": detection.detach()}

    def flops(self, family, module, batch, predicted: int) -> float:
        return electra_flops(module, batch, predicted)
