"""GPT: the shared :class:`~denoise.models.encoder.Encoder` run causally, and an LM head tied to its token
embeddings.

It writes a target after a source, as an encoder-decoder does, and takes the same batches (``input_ids`` =
the source and its end token, ``labels`` = the target and its end token): the two are read as one sequence,
``source [SEP] target``, and the states from the source's end token on predict the target. A text without a
source (``clm``) is the block after one end token, GPT-2's separator. With ``prefix_attention:
bidirectional`` (the default) the source positions see each other, as in a prefix LM and UL2's
decoder-only models; with ``causal`` every position sees only those before it, as GPT-2 does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from denoise.config import check_choice
from denoise.errors import DenoiseError
from denoise.labels import IGNORE
from denoise.models.encoder import Encoder
from denoise.models.fused_loss import linear_cross_entropy_sum
from denoise.models.layers import TransformerConfig
from denoise.models.outputs import ModelOutput

INIT_STD = 0.02
PREFIX_ATTENTION = ("bidirectional", "causal")


@dataclass(frozen=True)
class GPTConfig:
    stack: TransformerConfig
    eos_id: int  # the end token: after a source, and after the target it writes
    # bidirectional | causal: how the source's positions see each other
    prefix_attention: str = "bidirectional"

    RANGES: ClassVar[dict[str, str]] = {"eos_id": ">= 0"}

    def __post_init__(self):
        check_choice("prefix_attention", self.prefix_attention, PREFIX_ATTENTION)
        if self.stack.factorised:
            raise DenoiseError(
                f"embedding_size {self.stack.embedding_size} differs from d_model {self.stack.d_model}: a GPT's "
                "LM head is its token table, so it has no factorised embeddings; drop model.embedding_size"
            )

    @property
    def vocab_size(self) -> int:
        return self.stack.vocab_size

    @property
    def pad_id(self) -> int:
        return self.stack.pad_id


def packed(
    input_ids: torch.Tensor, attention_mask: torch.Tensor | None, labels: torch.Tensor, pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The sequence ``source target[:-1]`` of each row (``[B, S + T - 1]``, right-padded), the source
    lengths, and for each label the position whose state predicts it (``[B, T]``)."""
    batch, source_width = input_ids.shape
    target_width = labels.shape[1]
    if attention_mask is None:
        source = torch.full((batch,), source_width, device=input_ids.device)
    else:
        source = attention_mask.sum(1)
    width = source_width + target_width - 1
    positions = torch.arange(width, device=input_ids.device)[None, :]
    from_source = positions < source[:, None]
    written = labels.masked_fill(labels == IGNORE, pad_id)
    ids = torch.where(
        from_source,
        input_ids.gather(1, positions.clamp(max=source_width - 1).expand(batch, -1)),
        written.gather(1, (positions - source[:, None]).clamp(0, max(target_width - 1, 0)).expand(batch, -1)),
    )
    predicting = (source[:, None] - 1 + torch.arange(target_width, device=input_ids.device)[None, :]).clamp(
        max=width - 1
    )
    return ids, source, predicting


class GPT(nn.Module):
    """A decoder-only model; ``forward`` takes the batch keys of an encoder-decoder (source and labels)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.stack = Encoder(config.stack)
        self.initialise()

    @torch.no_grad()
    def initialise(self) -> None:
        """GPT-2's initialisation: normal(0, 0.02) weights and embeddings, zero biases, unit norms, and the
        projections back into the residual stream scaled by 1 / sqrt(2 x layers)."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.normal_(0.0, INIT_STD)
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.zero_()
            if isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
        residual_std = INIT_STD / math.sqrt(2 * self.config.stack.num_layers)
        for layer in self.stack.layers:
            layer.attention.output.weight.normal_(0.0, residual_std)
            layer.feed_forward.output.weight.normal_(0.0, residual_std)

    @property
    def d_model(self) -> int:
        return self.config.stack.d_model

    @property
    def token_embeddings(self) -> torch.Tensor:
        return self.stack.embeddings.tokens.weight

    def states(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        prefix_lengths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``[B, L, d]``: each position's state from the tokens up to it (and the whole prefix, for positions
        within ``prefix_lengths``)."""
        return self.stack(input_ids, attention_mask, causal=True, prefix_lengths=prefix_lengths)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return F.linear(hidden, self.token_embeddings)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        return_logits: bool = True,
        **unused,
    ) -> ModelOutput:
        """Without ``labels``: next-token logits ``[B, L, V]`` of ``input_ids`` read causally (a language
        model's own use). With them: ``input_ids`` is the source, the labels the target written after it,
        and the logits ``[B, T, V]`` score the labels, with their mean cross-entropy (computed in chunks
        without the logits when ``return_logits=False``). Keys of an encoder-decoder's batch that a GPT does
        not read (``decoder_input_ids``) are ignored."""
        if labels is None:
            hidden = self.states(input_ids, attention_mask)
            return ModelOutput(logits=self.logits(hidden), hidden_states=hidden)
        ids, source, predicting = packed(input_ids, attention_mask, labels, self.config.pad_id)
        # a one-token source (clm) needs no prefix: the plain causal mask serves, fused kernels apply
        bidirectional = self.config.prefix_attention == "bidirectional" and input_ids.shape[1] > 1
        # the padding trails every row, so the causal mask already hides it from the real positions: no
        # padding mask (none to build, and the fused causal kernels apply)
        hidden = self.states(ids, None, source if bidirectional else None)
        hidden = hidden.gather(1, predicting[..., None].expand(-1, -1, hidden.shape[-1]))
        if not return_logits:
            total = linear_cross_entropy_sum(hidden, self.token_embeddings, labels)
            loss = total / (labels != IGNORE).sum().clamp(min=1)
            return ModelOutput(logits=None, loss=loss, targets=labels, hidden_states=hidden)
        logits = self.logits(hidden)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE)
        return ModelOutput(logits=logits, loss=loss, targets=labels, hidden_states=hidden)

    def start_decoding(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, beams: int, max_new_tokens: int
    ):
        """The prompts read once, for ``beams`` rows per example (:mod:`denoise.models.generation`)."""
        from denoise.models.gpt.decoding import PromptDecoding

        return PromptDecoding(self, input_ids, attention_mask, beams, max_new_tokens)


def decoder_states(model: GPT, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
    """``[B, L, d]``: each token's state, which sees only the tokens before it (a causal model has no right
    context; the last real token has read the whole input)."""
    return model.states(input_ids, attention_mask)


def as_bert(model: GPT):
    """The GPT's stack as the encoder of a masked-LM BERT (a fresh masked-LM head, no pair head): causal
    pre-training continued as masked LM with the same weights (Gisserot-Boukhlef et al., 2025)."""
    from denoise.models.bert.model import Bert, BertConfig

    bert = Bert(BertConfig(encoder=model.config.stack, pair_head=False)).train(model.training)
    bert.encoder.load_state_dict(model.stack.state_dict())
    return bert
