"""A deeper model from a pre-trained one by progressive stacking (Gong et al., 2019): each layer stack is
copied on top of itself, so a two-layer run becomes four layers ordered 0, 1, 0, 1.

    python benchmarks/stack_layers.py --run runs/bert_long --out runs/bert_long_x2
    denoise pretrain recipes/tiny_roberta_long.yaml init=runs/bert_long_x2 training.max_steps=1500 \
        optimizer.lr=1e-3 --out runs/bert_long_4layers

The copy starts where the shallow model ended instead of on masked LM's plateau, so a few more steps of
pre-training (``init=OUT``) give a deeper model at a fraction of the cost of pre-training it from scratch.
The output is a model directory with the run's tokenizer beside it, which ``init`` takes for pre-training
and fine-tuning alike. In an encoder-decoder both stacks are doubled.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path

from torch import nn

from denoise.models.bert import Bert
from denoise.models.checkpoint import load_model, locate_model, save_model


def stacked(model: nn.Module) -> nn.Module:
    """``model`` with every layer stack repeated once: layer ``i + n`` starts as a copy of layer ``i``."""
    config = model.config
    layers = {"encoder": config.encoder.num_layers}
    if not isinstance(model, Bert):
        layers["decoder"] = config.decoder.num_layers
    doubled = {
        stack: dataclasses.replace(getattr(config, stack), num_layers=2 * n) for stack, n in layers.items()
    }
    deeper = type(model)(dataclasses.replace(config, **doubled))
    state = {}
    for key, value in model.state_dict().items():
        stack, marker, rest = key.partition(".layers.")
        state[key] = value
        if marker and stack in layers:
            index, tail = rest.split(".", 1)
            state[f"{stack}.layers.{int(index) + layers[stack]}.{tail}"] = value.clone()
    deeper.load_state_dict(state)  # strict: every weight of the deeper model is set
    return deeper


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", required=True, help="a pre-training run (model/ and tokenizer/)")
    parser.add_argument("--out", required=True, help="where to write the deeper model and its tokenizer")
    args = parser.parse_args()
    found = locate_model(args.run)
    if found is None or found[1] is None:
        raise SystemExit(f"--run {args.run}: not a pre-training run with model/ and tokenizer/")
    model_dir, tokenizer_dir = found
    out = Path(args.out)
    if (out / "model").exists():
        raise SystemExit(f"--out {out}: already holds a model; name a new folder so nothing is overwritten")
    save_model(stacked(load_model(model_dir)), out / "model")
    shutil.copytree(tokenizer_dir, out / "tokenizer", dirs_exist_ok=True)
    print(f"{out}: {model_dir} with each layer stack repeated; pre-train it further with init={out}")


if __name__ == "__main__":
    main()
