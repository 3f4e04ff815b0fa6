"""The T5 model: the shared encoder-decoder body with T5's initialisation."""

from __future__ import annotations

import torch

from denoise.models.encoder_decoder import EncoderDecoder
from denoise.models.layers import Attention, FeedForward, RelativePositionBias


class T5(EncoderDecoder):
    """An encoder-decoder initialised as T5 was, with scaled normals: token table 1.0, query
    (d_model x d_kv)^-0.5, key/value and feed-forward input d_model^-0.5, attention output
    (heads x d_kv)^-0.5, feed-forward output d_ff^-0.5."""

    @torch.no_grad()
    def initialise(self) -> None:
        config = self.config.encoder
        d_model, inner = config.d_model, config.num_heads * config.head_size
        self.shared.weight.normal_(0.0, 1.0)
        if self.lm_head is not None:
            self.lm_head.weight.normal_(0.0, 1.0)
        for module in self.modules():
            if isinstance(module, Attention):
                module.query.weight.normal_(0.0, (d_model * config.head_size) ** -0.5)
                module.key.weight.normal_(0.0, d_model**-0.5)
                module.value.weight.normal_(0.0, d_model**-0.5)
                module.output.weight.normal_(0.0, inner**-0.5)
            elif isinstance(module, FeedForward):
                module.input.weight.normal_(0.0, d_model**-0.5)
                if module.gate is not None:
                    module.gate.weight.normal_(0.0, d_model**-0.5)
                module.output.weight.normal_(0.0, config.d_ff**-0.5)
            elif isinstance(module, RelativePositionBias):
                module.embedding.weight.normal_(0.0, d_model**-0.5)
