"""Generation from a GPT: the prompts are read once, then each step feeds the chosen token of every row.

Prompts may come padded on either side: each row's real tokens are moved to the right end (left padding, as
transformers generates from a decoder-only model), and positions count real tokens only, so a padded prompt
continues as it would alone. The prompt is the model's prefix: with ``prefix_attention: bidirectional`` its
positions see each other, as the source did in training.
"""

from __future__ import annotations

import torch

from denoise.errors import DenoiseError


class PromptDecoding:
    """A :class:`~denoise.models.generation.Decoding` for a :class:`~denoise.models.gpt.model.GPT`."""

    def __init__(
        self, model, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, beams: int, new: int
    ):
        self.model = model
        mask = (
            torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        )
        order = torch.sort(mask.long(), dim=1, stable=True).indices  # padding first, real tokens in order
        ids = input_ids.gather(1, order).repeat_interleave(beams, dim=0)
        self.mask = mask.gather(1, order).repeat_interleave(beams, dim=0)
        lengths = self.mask.sum(1)
        stack = model.config.stack
        # the last new token is never read back, so a prompt and new tokens take one position fewer
        if (
            stack.positions == "learned"
            and ids.numel()
            and int(lengths.max()) + new - 1 > stack.max_positions
        ):
            raise DenoiseError(
                f"a prompt of {int(lengths.max())} tokens and {new} new tokens exceed the model's "
                f"{stack.max_positions} positions; shorten the prompt or lower max_new_tokens"
            )
        self.context = ids
        self.next_position = lengths
        self.cache = model.stack.new_cache()
        self.positions = (self.mask.long().cumsum(1) - 1).clamp(min=0)

    def first_logits(self) -> torch.Tensor:
        width = self.context.shape[1]
        bidirectional = self.model.config.prefix_attention == "bidirectional" and width > 1
        prefix = torch.full_like(self.next_position, width) if bidirectional else None
        hidden = self.model.stack(
            self.context,
            self.mask,
            causal=True,
            prefix_lengths=prefix,
            cache=self.cache,
            position_ids=self.positions,
        )
        return self.model.logits(hidden[:, -1])

    def next_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        self.mask = torch.cat([self.mask, torch.ones_like(tokens, dtype=torch.bool)], dim=1)
        positions = self.next_position[:, None]
        self.next_position = self.next_position + 1
        hidden = self.model.stack(tokens, self.mask, causal=True, cache=self.cache, position_ids=positions)
        return self.model.logits(hidden[:, -1])

    def select_beams(self, index: torch.Tensor) -> None:
        self.cache.select_beams(index)
        self.mask, self.next_position = self.mask[index], self.next_position[index]
