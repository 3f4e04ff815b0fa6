"""BERT: the shared Encoder, a token head and an optional pair head.

The token head is either BERT's masked-LM head (``cls.predictions``: dense, activation, LayerNorm, then the
token embeddings transposed plus a bias; with factorised embeddings the dense layer narrows the states to
the embedding width) or ELECTRA's replaced-token head (dense, activation, one logit per token: was this token
replaced?), which the discriminator of :mod:`denoise.models.bert.electra` trains. Given labels, the
masked-LM head runs only at the labelled positions, so the vocabulary projection costs ``num_labelled x V``
rather than ``B x L x V``. The pair head (NSP or SOP) classifies the first token through a tanh pooler.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from denoise.errors import DenoiseError
from denoise.labels import IGNORE
from denoise.models.encoder import Encoder
from denoise.models.layers import ACTIVATIONS, TransformerConfig
from denoise.models.outputs import ModelOutput

INIT_STD = 0.02
TOKEN_HEADS = ("mlm", "replaced")


@dataclass(frozen=True)
class BertConfig:
    encoder: TransformerConfig
    pair_head: bool = True  # NSP / SOP classifier on the first token, through a tanh pooler
    tie_embeddings: bool = True  # the masked-LM head projects with the input token embeddings
    # mlm: predict masked tokens (BERT); replaced: tell which tokens were replaced (ELECTRA's discriminator)
    token_head: str = "mlm"
    # SpanBERT's span boundary head: each token of a masked span predicted from the two tokens around the span
    span_head: bool = False

    def __post_init__(self):
        if self.token_head not in TOKEN_HEADS:
            raise DenoiseError(f"token_head must be one of {TOKEN_HEADS}, got {self.token_head!r}")

    @property
    def vocab_size(self) -> int:
        return self.encoder.vocab_size

    @property
    def pad_id(self) -> int:
        return self.encoder.pad_id


class MaskedLMHead(nn.Module):
    """Dense (to the embedding width), activation, LayerNorm, then a projection to the vocabulary (tied unless
    ``decoder`` is set)."""

    def __init__(self, config: TransformerConfig, tied: bool):
        super().__init__()
        width = config.embedding_width
        self.dense = nn.Linear(config.d_model, width)
        self.activation = ACTIVATIONS[config.activation]
        self.norm = nn.LayerNorm(width, config.norm_eps)
        self.decoder = None if tied else nn.Linear(width, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden: torch.Tensor, token_embeddings: torch.Tensor) -> torch.Tensor:
        weight = token_embeddings if self.decoder is None else self.decoder.weight
        return F.linear(self.norm(self.activation(self.dense(hidden))), weight, self.bias)


class ReplacedTokenHead(nn.Module):
    """ELECTRA's discriminator head: dense, activation, then one logit per token (replaced or original)."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.activation = ACTIVATIONS[config.activation]
        self.prediction = nn.Linear(config.d_model, 1)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.prediction(self.activation(self.dense(hidden))).squeeze(-1)


SPAN_POSITIONS = 32  # positions inside a span the boundary head tells apart; later ones share the last


class SpanBoundaryHead(nn.Module):
    """SpanBERT's span boundary objective (Joshi et al., 2020, section 3.2): a token inside a masked span is
    predicted from the final states of the tokens just before and just after the span and the embedding of
    its position inside it, through two layers (dense, activation, LayerNorm each), then the token table with
    a bias of its own."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        d_model, width = config.d_model, config.embedding_width
        self.positions = nn.Embedding(SPAN_POSITIONS, d_model)
        self.hidden = nn.Linear(3 * d_model, d_model)
        self.hidden_norm = nn.LayerNorm(d_model, config.norm_eps)
        self.output = nn.Linear(d_model, width)
        self.output_norm = nn.LayerNorm(width, config.norm_eps)
        self.activation = ACTIVATIONS[config.activation]
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(
        self, left: torch.Tensor, right: torch.Tensor, offset: torch.Tensor, token_embeddings: torch.Tensor
    ) -> torch.Tensor:
        """Logits ``[N, V]`` for ``N`` tokens: the boundary states ``[N, d]`` and their offsets in their span."""
        features = torch.cat([left, right, self.positions(offset.clamp(max=SPAN_POSITIONS - 1))], dim=-1)
        hidden = self.hidden_norm(self.activation(self.hidden(features)))
        hidden = self.output_norm(self.activation(self.output(hidden)))
        return F.linear(hidden, token_embeddings, self.bias)


def span_boundaries(labelled: torch.Tensor, span_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """For every position ``[B, L]``: whether it is a labelled token inside a numbered span (``span_ids`` > 0),
    the positions just before and just after its span, and its offset inside the span."""
    length = span_ids.shape[1]
    index = torch.arange(length, device=span_ids.device).expand_as(span_ids)
    previous = torch.cat([torch.zeros_like(span_ids[:, :1]), span_ids[:, :-1]], dim=1)
    begins = span_ids != previous  # a span, or a stretch outside spans, begins here
    start = torch.cummax(torch.where(begins, index, -1), dim=1).values
    next_begins = torch.cat([begins[:, 1:], torch.ones_like(begins[:, :1])], dim=1)
    ends = torch.where(next_begins, index + 1, length)  # the position after i, where another stretch begins
    end = torch.flip(torch.cummin(torch.flip(ends, [1]), dim=1).values, [1])
    inside = (span_ids > 0) & labelled
    return inside, (start - 1).clamp(min=0), end.clamp(max=length - 1), index - start


class Bert(nn.Module):
    """Encoder-only model for masked-LM (and NSP/SOP) pre-training; takes the batch keys of
    :func:`denoise.models.framing.frame_encoder` as keyword arguments."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config.encoder)
        masked = config.token_head == "mlm"
        self.mlm = MaskedLMHead(config.encoder, tied=config.tie_embeddings) if masked else None
        self.replaced = None if masked else ReplacedTokenHead(config.encoder)
        d_model = config.encoder.d_model
        self.pooler = nn.Linear(d_model, d_model) if config.pair_head else None
        self.pair_classifier = nn.Linear(d_model, 2) if config.pair_head else None
        self.span_boundary = SpanBoundaryHead(config.encoder) if config.span_head else None
        self.apply(init_weights)

    @property
    def d_model(self) -> int:
        return self.config.encoder.d_model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        pair_labels: torch.Tensor | None = None,
        span_ids: torch.Tensor | None = None,
        return_logits: bool = True,
    ) -> ModelOutput:
        """Without ``labels``: logits ``[B, L, V]`` (``[B, L]``, one per token, with the replaced-token head).
        With them: logits ``[num_labelled, V]`` at the positions whose label is not -100 (in row-major order,
        the order of ``targets``) and the mean cross-entropy there, plus the pair loss when ``pair_labels``
        are given. With ``span_ids`` too (each masked span's tokens numbered from 1) and a span boundary
        head: its logits for the tokens inside spans, with those tokens, as ``span_logits`` and
        ``span_targets`` (the objective adds their loss). The labelled positions' logits are the loss's own,
        so ``return_logits`` changes nothing."""
        hidden = self.encoder(input_ids, attention_mask, token_type_ids)
        pair_logits = self.pair_logits(hidden) if self.pair_classifier is not None else None
        if labels is None:
            logits = self.vocabulary_logits(hidden) if self.mlm is not None else self.replaced(hidden)
            return ModelOutput(logits=logits, pair_logits=pair_logits, hidden_states=hidden)
        if self.mlm is None:
            raise DenoiseError(
                "this BERT has ELECTRA's replaced-token head and no masked-LM head, so it cannot be trained on "
                "masked tokens; pre-train it with objective: electra, or fine-tune it"
            )
        if labels.shape != input_ids.shape:
            raise DenoiseError(
                f"labels of shape {tuple(labels.shape)} do not match input_ids {tuple(input_ids.shape)}"
            )
        labelled = labels != IGNORE
        logits = self.vocabulary_logits(hidden[labelled])
        loss = mean_cross_entropy(logits, labels[labelled])
        if pair_labels is not None:
            if pair_logits is None:
                raise DenoiseError(
                    "pair_labels were given but the model has no pair head (BertConfig.pair_head)"
                )
            loss = loss + mean_cross_entropy(pair_logits, pair_labels)
        output = ModelOutput(
            logits=logits, loss=loss, targets=labels[labelled], pair_logits=pair_logits, hidden_states=hidden
        )
        if span_ids is not None and self.span_boundary is not None:
            output.span_logits, output.span_targets = self.span_logits(hidden, labels, span_ids)
        return output

    def span_logits(
        self, hidden: torch.Tensor, labels: torch.Tensor, span_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The span boundary head's logits for every token inside a masked span, and those tokens."""
        inside, left, right, offset = span_boundaries(labels != IGNORE, span_ids)
        rows = torch.arange(len(hidden), device=hidden.device)[:, None].expand_as(left)
        logits = self.span_boundary(
            hidden[rows[inside], left[inside]],
            hidden[rows[inside], right[inside]],
            offset[inside],
            self.encoder.embeddings.tokens.weight,
        )
        return logits, labels[inside]

    def vocabulary_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.mlm(hidden, self.encoder.embeddings.tokens.weight)

    def pair_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.pair_classifier(torch.tanh(self.pooler(hidden[:, 0])))


def mean_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged over the labels that are not -100; zero (not NaN) when there are none. Counts
    stay on the device, so no synchronisation."""
    total = F.cross_entropy(logits.float(), labels, ignore_index=IGNORE, reduction="sum")
    return total / (labels != IGNORE).sum().clamp(min=1)


@torch.no_grad()
def init_weights(module: nn.Module) -> None:
    """BERT's initialisation: normal(0, 0.02) weights and embeddings, zero biases, unit norms."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        module.weight.normal_(0.0, INIT_STD)
    if isinstance(module, nn.Linear) and module.bias is not None:
        module.bias.zero_()
    if isinstance(module, nn.LayerNorm):
        module.weight.fill_(1.0)
        module.bias.zero_()


def encoder_states(model: Bert, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
    """``[B, L, d]``: the encoder's last states, the first of them at [CLS]."""
    return model.encoder(input_ids, attention_mask, token_type_ids)


def with_pair_head(model: Bert) -> Bert:
    """``model`` with a sentence-pair head (pooler and classifier), freshly initialised when it has none,
    for a sentence-pair task its pre-training did not have (masked LM only, as RoBERTa)."""
    if model.config.pair_head:
        return model
    paired = Bert(replace(model.config, pair_head=True))
    missing, unexpected = paired.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all(k.startswith(("pooler.", "pair_classifier.")) for k in missing), missing
    return paired


def with_span_head(model: Bert, wanted: bool = True) -> Bert:
    """``model`` with a span boundary head (freshly initialised when it has none: span masking its
    pre-training did not have), or without one when not ``wanted`` (a head nothing would train)."""
    if model.config.span_head == wanted:
        return model
    changed = Bert(replace(model.config, span_head=wanted)).train(model.training)
    kept = {k: v for k, v in model.state_dict().items() if not k.startswith("span_boundary.")}
    missing, unexpected = changed.load_state_dict(kept, strict=False)
    assert not unexpected and all(k.startswith("span_boundary.") for k in missing), missing
    return changed


def with_token_head(model: Bert, head: str) -> Bert:
    """``model`` with ``head`` as its token head (a fresh one where it had the other), its encoder kept; the
    replaced-token head comes without a pair head (ELECTRA has no sentence-pair task). An ELECTRA
    discriminator continued as a masked LM, or a masked LM continued as ELECTRA, starts this way."""
    pair_head = model.config.pair_head and head == "mlm"
    span_head = model.config.span_head and head == "mlm"
    unchanged = (model.config.pair_head, model.config.span_head) == (pair_head, span_head)
    if model.config.token_head == head and unchanged:
        return model
    config = replace(model.config, token_head=head, pair_head=pair_head, span_head=span_head)
    changed = Bert(config).train(model.training)
    kept = {k: v for k, v in model.state_dict().items() if k in changed.state_dict()}
    missing, unexpected = changed.load_state_dict(kept, strict=False)
    fresh = "mlm." if head == "mlm" else "replaced."
    if unexpected or not all(k.startswith(fresh) for k in missing):
        raise DenoiseError(f"cannot give this BERT a {head} head: missing {missing}, unexpected {unexpected}")
    return changed


def pooler_state(model: Bert) -> dict | None:
    """The pre-trained pooler (dense layer) a classification head on [CLS] starts from; None without one."""
    return model.pooler.state_dict() if model.pooler is not None else None
