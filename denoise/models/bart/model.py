"""The BART model: the shared encoder-decoder body with BART's initialisation."""

from __future__ import annotations

import torch
from torch import nn

from denoise.models.encoder_decoder import EncoderDecoder


class Bart(EncoderDecoder):
    """An encoder-decoder initialised as BART was: normal(0, 0.02) weights and embeddings, zero biases."""

    @torch.no_grad()
    def initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.normal_(0.0, 0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.zero_()
