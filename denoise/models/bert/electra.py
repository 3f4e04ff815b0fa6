"""ELECTRA's replaced-token detection (Clark et al., 2020): a small masked-LM generator fills the masked
positions with its own samples, and the discriminator, the model that is kept, tells for every token whether
it was replaced.

Both are :class:`~denoise.models.bert.model.Bert` models. The generator is the discriminator scaled down in
width, heads and feed-forward size (``scale``; the paper's 1/4 for its small and large models, 1/3 for base)
with as many layers, and it shares the discriminator's whole embedding module (token, position and type
tables and their LayerNorm), as the paper's models do; each projects the shared embeddings to its own width
where they differ. Replacements are drawn from the generator's softmax without a gradient, so the
discriminator's loss trains the generator only through the shared embeddings.

The loss is the generator's masked-LM cross-entropy plus ``detection_weight`` (the paper's lambda = 50) times
the discriminator's binary cross-entropy over every real token. A sample equal to the original token counts
as original, as in the paper.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from denoise.errors import DenoiseError
from denoise.labels import IGNORE
from denoise.models.bert.model import Bert, BertConfig, with_token_head
from denoise.models.outputs import ModelOutput


@dataclass(frozen=True)
class ElectraSettings:
    scale: float = 0.25  # the generator's width, heads and feed-forward size over the discriminator's
    layers: int | None = None  # the generator's layers; null: as many as the discriminator
    detection_weight: float = 50.0  # lambda: the weight of the discriminator's loss
    temperature: float = 1.0  # replacements are drawn from softmax(logits / temperature)

    RANGES: ClassVar[dict[str, str]] = {
        "scale": "(0, 1]",
        "layers": ">= 1",
        "detection_weight": "> 0",
        "temperature": "> 0",
    }


def generator_config(discriminator: BertConfig, config: ElectraSettings) -> BertConfig:
    """The generator's config: the discriminator's stack scaled by ``config.scale`` (at least one head, and a
    width that the heads divide), with the discriminator's embedding width, a masked-LM head and no pair
    head."""
    stack = discriminator.encoder
    heads = max(1, round(stack.num_heads * config.scale))
    head_size = max(1, round(stack.d_model * config.scale / heads))
    generator = dataclasses.replace(
        stack,
        d_model=heads * head_size,
        num_heads=heads,
        d_kv=None,
        d_ff=max(1, round(stack.d_ff * config.scale)),
        num_layers=config.layers or stack.num_layers,
        embedding_size=stack.embedding_width,
    )
    return BertConfig(encoder=generator, pair_head=False, tie_embeddings=True, token_head="mlm")


@dataclass
class ElectraOutput(ModelOutput):
    detection_sum: torch.Tensor | None = None  # the discriminator's cross-entropy summed over real tokens
    detection_logits: torch.Tensor | None = None  # [B, L]: replaced (> 0) or original
    replaced: torch.Tensor | None = None  # [B, L] bool: which tokens the generator's samples changed
    real: torch.Tensor | None = None  # [B, L] bool: which positions hold tokens (not padding)


class Electra(nn.Module):
    """A generator and the discriminator it trains, sharing the discriminator's embeddings."""

    def __init__(self, discriminator: Bert, generator: Bert, config: ElectraSettings):
        super().__init__()
        if discriminator.replaced is None or discriminator.pair_classifier is not None:
            raise DenoiseError(
                "ELECTRA's discriminator has the replaced-token head and no pair head; build it with "
                "Electra.with_generator"
            )
        self.config = config
        self.discriminator = discriminator
        self.generator = generator
        self.generator.encoder.embeddings = discriminator.encoder.embeddings

    @classmethod
    def with_generator(cls, model: Bert, config: ElectraSettings) -> Electra:
        """``model`` as the discriminator, with a fresh generator (drawing from torch's global generator). A
        masked LM keeps its encoder and gets a fresh replaced-token head, and no pair head."""
        discriminator = with_token_head(model, "replaced")
        generator = Bert(generator_config(discriminator.config, config)).train(model.training)
        return cls(discriminator, generator, config)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        return_logits: bool = True,
    ) -> ElectraOutput:
        """``input_ids``: the masked blocks; ``labels``: the original tokens at the masked positions. Returns
        the generator's loss, logits and targets at those positions (as BERT's masked LM does) and the
        discriminator's summed detection loss and logits."""
        if labels is None:
            raise DenoiseError("ELECTRA trains on masked blocks with labels; a mask step gives them")
        generated = self.generator(input_ids, attention_mask, token_type_ids, labels=labels)
        labelled = labels != IGNORE
        corrupted, replaced = self.replace(input_ids, labels, labelled, generated.logits)
        hidden = self.discriminator.encoder(corrupted, attention_mask, token_type_ids)
        logits = self.discriminator.replaced(hidden)
        real = torch.ones_like(replaced) if attention_mask is None else attention_mask.bool()
        detection = F.binary_cross_entropy_with_logits(logits.float(), replaced.float(), reduction="none")
        return ElectraOutput(
            logits=generated.logits,
            loss=generated.loss,
            targets=generated.targets,
            hidden_states=hidden,
            detection_sum=(detection * real).sum(),
            detection_logits=logits,
            replaced=replaced,
            real=real,
        )

    @torch.no_grad()
    def replace(self, input_ids, labels, labelled, logits) -> tuple[torch.Tensor, torch.Tensor]:
        """The discriminator's input (each masked position holding a sample of the generator's softmax) and
        which of its tokens differ from the original. Samples are Gumbel-max draws: no synchronisation with
        the device, and non-finite logits give a non-finite loss, which stops the run cleanly."""
        uniform = torch.rand_like(logits, dtype=torch.float32).clamp(min=1e-20)
        gumbel = -torch.log((-torch.log(uniform)).clamp(min=1e-20))
        sampled = (logits.float() / self.config.temperature + gumbel).argmax(-1)
        corrupted = input_ids.clone()
        corrupted[labelled] = sampled.to(input_ids.dtype)
        replaced = torch.zeros_like(labelled)
        replaced[labelled] = sampled != labels[labelled]
        return corrupted, replaced
