"""A deeper model from a pre-trained one by progressive stacking (Gong et al., 2019): each layer stack is
copied on top of itself, so a two-layer model becomes four layers ordered 0, 1, 0, 1.

The copy starts where the shallow model ended instead of on masked LM's plateau, so a few more steps of
pre-training (``init=OUT``) give a deeper model at a fraction of the cost of pre-training it from scratch.
Every stack of the family is doubled (an encoder-decoder's encoder and decoder).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from torch import nn

from denoise import rng
from denoise.errors import DenoiseError
from denoise.models.checkpoint import save_model
from denoise.models.families import family_of
from denoise.models.init import resolve_init
from denoise.outputs import output_folder


def stacked(model: nn.Module) -> nn.Module:
    """``model`` with every layer stack repeated once: layer ``i + n`` starts as a copy of layer ``i``."""
    family = family_of(model)
    config = model.config
    layers = {stack: getattr(config, stack).num_layers for stack in family.stacks}
    doubled = {
        stack: dataclasses.replace(getattr(config, stack), num_layers=2 * n) for stack, n in layers.items()
    }
    with rng.isolated():  # every weight is then set from the shallow model
        deeper = family.model(dataclasses.replace(config, **doubled))
    state = {}
    for key, value in model.state_dict().items():
        stack, marker, rest = key.partition(".layers.")
        state[key] = value
        if marker and stack in layers:
            index, tail = rest.split(".", 1)
            state[f"{stack}.layers.{int(index) + layers[stack]}.{tail}"] = value.clone()
    deeper.load_state_dict(state)  # strict: every weight of the deeper model is set
    return deeper


def stack_run(run: str | Path, out: str | Path, overwrite: bool = False) -> Path:
    """Write the stacked model of a pre-training run (``run/model``, ``run/tokenizer``) to ``out/model`` with
    the run's tokenizer in ``out/tokenizer``; ``out`` is taken as :mod:`denoise.outputs` says."""
    init = resolve_init(run)
    if init.model_dir is None or init.fresh or not init.denoise_tokenizer:
        raise DenoiseError(
            f"{run} is not a pre-training run with model/ and tokenizer/; give a `denoise pretrain` output"
        )
    source = str(Path(run).resolve())
    with output_folder(out, "stack", source, inputs=[run], overwrite=overwrite) as folder:
        with rng.isolated():
            model = init.load_model()
        save_model(stacked(model), folder / "model")
        shutil.copytree(init.tokenizer_dir, folder / "tokenizer")
    return Path(out)
