"""Keys and values kept between decoding steps, so that each step feeds one new token per row."""

from __future__ import annotations

import torch


class KVCache:
    """Per-layer keys and values and how many positions they hold. Self-attention entries grow by the tokens
    fed; cross-attention entries (an encoder-decoder's decoder) are computed from the encoder states once."""

    def __init__(self, num_layers: int, cross_attention: bool = False):
        self.self_attention: list[dict] = [{} for _ in range(num_layers)]
        self.cross_attention: list[dict] = [{} for _ in range(num_layers)] if cross_attention else []
        self.length = 0

    def select_beams(self, index: torch.Tensor) -> None:
        """Keep the self-attention rows ``index`` (beam search). Rows must stay within their example's beams:
        cross-attention entries are identical across those beams and are left as they are."""
        for entry in self.self_attention:
            for name, tensor in entry.items():
                entry[name] = tensor.index_select(0, index)
