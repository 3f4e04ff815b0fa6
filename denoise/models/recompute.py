"""Activation checkpointing: a stack of Transformer blocks keeps only each block's input for the backward
pass, and runs the block again there to get the rest, trading about a third more compute for the memory
of every activation inside the blocks (the dropout draws are repeated, so the gradients are the same)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


class BlockStack(nn.Module):
    """A module that runs Transformer blocks (the encoder's, the decoder's) through :meth:`run_block`."""

    recompute = False  # set by :func:`recompute_activations`; not a part of the model's config

    def run_block(self, block: nn.Module, *args):
        if self.recompute and self.training and torch.is_grad_enabled():
            return checkpoint(block, *args, use_reentrant=False)
        return block(*args)


def recompute_activations(model: nn.Module) -> nn.Module:
    """``model`` with every block stack in it recomputing its activations in the backward pass."""
    for module in model.modules():
        if isinstance(module, BlockStack):
            module.recompute = True
    return model
