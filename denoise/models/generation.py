"""Greedy and beam-search decoding for every model that writes text.

A model that generates has ``start_decoding(input_ids, attention_mask, beams, max_new_tokens)``, which
returns a :class:`Decoding`: an encoder-decoder encodes the input once and starts its decoder from the start
token; a decoder-only model reads the prompt once. Each step then feeds one token per row and reuses the
keys and values of the earlier steps (:class:`~denoise.models.kv_cache.KVCache`). Outputs hold the generated
tokens only (not the decoder start token or the prompt), padded with the pad id after each row's
end-of-sequence token.

Beam search follows transformers' (``early_stopping=False``): the ``2 * num_beams`` best continuations are
scored, those among the first ``num_beams`` that end (end-of-sequence or the last step) become hypotheses
scored ``sum of log-probabilities / length ** length_penalty`` (the length counts the generated tokens,
end-of-sequence included), the best unfinished ones continue, and an example stops once its best running beam
(at its current length) cannot beat its worst kept hypothesis.

``no_repeat_ngram_size=n`` forbids any token that would repeat an n-gram of the sequence decoded so far (the
decoder start token, or a decoder-only model's prompt, included), as transformers' option of that name does;
greedy decoding of a small model otherwise loops ("de la tierra de la tierra ...").
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F

from denoise.errors import DenoiseError

FROM_CONFIG = "config"
DROPPED = -1.0e9  # score of beams that must not be chosen (transformers' value)


class Decoding(Protocol):
    """One generation in progress: ``rows`` = examples x beams, each example's beams on adjacent rows."""

    context: torch.Tensor  # [rows, C] the tokens before the generated ones (n-gram blocking reads them)

    def first_logits(self) -> torch.Tensor:
        """``[rows, V]`` the scores of the first generated token."""

    def next_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[rows, V]`` the scores of the token after ``tokens [rows, 1]``, the last ones chosen."""

    def select_beams(self, index: torch.Tensor) -> None:
        """Keep the rows ``index`` (beam search reorders beams within each example)."""


def resolve_eos(model, eos_id: int | str | None) -> int | None:
    """The model's ``config.eos_id`` for ``"config"``; None generates ``max_new_tokens`` for every row."""
    return model.config.eos_id if eos_id == FROM_CONFIG else eos_id


def check_generation(
    input_ids: torch.Tensor, max_new_tokens: int, num_beams: int, no_repeat_ngram_size: int = 0
) -> None:
    if input_ids.dim() != 2:
        raise DenoiseError(f"input_ids must be [batch, length], got shape {tuple(input_ids.shape)}")
    if max_new_tokens < 1:
        raise DenoiseError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    if num_beams < 1:
        raise DenoiseError(f"num_beams must be at least 1, got {num_beams}")
    if no_repeat_ngram_size < 0:
        raise DenoiseError(f"no_repeat_ngram_size must be 0 (off) or more, got {no_repeat_ngram_size}")


def block_repeated_ngrams(scores: torch.Tensor, decoded: torch.Tensor, size: int) -> torch.Tensor:
    """``scores [R, V]`` with -inf for each token that would repeat a ``size``-gram of ``decoded [R, T]``."""
    length = decoded.shape[1]
    if size < 1 or length < size:
        return scores
    windows = decoded.unfold(1, size, 1)  # every size-gram so far: [R, length - size + 1, size]
    same_prefix = (windows[..., :-1] == decoded[:, None, length - size + 1 :]).all(-1)
    repeats = torch.zeros_like(scores).scatter_add_(1, windows[..., -1], same_prefix.to(scores.dtype))
    return scores.masked_fill(repeats > 0, float("-inf"))


@torch.no_grad()
def generate(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    max_new_tokens: int = 64,
    num_beams: int = 1,
    eos_id: int | str | None = FROM_CONFIG,
    length_penalty: float = 1.0,
    no_repeat_ngram_size: int = 0,
) -> torch.Tensor:
    """Generated ids ``[B, T]`` (``T <= max_new_tokens``): greedy for ``num_beams=1``, else beam search."""
    if num_beams == 1:
        return greedy_search(model, input_ids, attention_mask, max_new_tokens, eos_id, no_repeat_ngram_size)
    return beam_search(
        model,
        input_ids,
        attention_mask,
        max_new_tokens,
        num_beams,
        eos_id,
        length_penalty,
        no_repeat_ngram_size,
    )


@torch.no_grad()
def greedy_search(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    max_new_tokens: int = 64,
    eos_id: int | str | None = FROM_CONFIG,
    no_repeat_ngram_size: int = 0,
) -> torch.Tensor:
    """The most likely next token at every step until every row has produced ``eos_id``."""
    check_generation(input_ids, max_new_tokens, 1, no_repeat_ngram_size)
    eos_id = resolve_eos(model, eos_id)
    decoding = model.start_decoding(input_ids, attention_mask, 1, max_new_tokens)
    decoded = decoding.context
    finished = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
    logits = decoding.first_logits()
    for step in range(max_new_tokens):
        logits = block_repeated_ngrams(logits, decoded, no_repeat_ngram_size)
        token = logits.argmax(-1).masked_fill(finished, model.config.pad_id)[:, None]
        decoded = torch.cat([decoded, token], dim=1)
        if eos_id is not None:
            finished |= token[:, 0] == eos_id
            if bool(finished.all()):
                break
        if step + 1 < max_new_tokens:
            logits = decoding.next_logits(token)
    return decoded[:, decoding.context.shape[1] :]


def gather_rows(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[b, index[b, j]]`` for ``values`` of shape ``[B, N, ...]`` and ``index`` of shape ``[B, M]``."""
    expanded = index.reshape(*index.shape, *([1] * (values.dim() - 2))).expand(
        *index.shape, *values.shape[2:]
    )
    return values.gather(1, expanded)


class Hypotheses:
    """The ``num_beams`` best finished sequences of each example, best first."""

    def __init__(self, batch: int, num_beams: int, max_new_tokens: int, pad_id: int, device):
        self.tokens = torch.full((batch, num_beams, max_new_tokens), pad_id, dtype=torch.long, device=device)
        self.scores = torch.full((batch, num_beams), DROPPED, device=device)
        self.lengths = torch.zeros((batch, num_beams), dtype=torch.long, device=device)
        self.kept = torch.zeros((batch, num_beams), dtype=torch.bool, device=device)

    def add(self, tokens: torch.Tensor, scores: torch.Tensor, length: int, eligible: torch.Tensor) -> None:
        """Merge candidates (``tokens [B, C, max_new_tokens]``, length-normalised ``scores [B, C]``); only
        ``eligible`` ones can be kept."""
        scores = torch.where(eligible, scores, scores + DROPPED)
        merged_scores = torch.cat([self.scores, scores], dim=1)
        best = merged_scores.topk(self.scores.shape[1], dim=1).indices
        self.scores = merged_scores.gather(1, best)
        self.tokens = gather_rows(torch.cat([self.tokens, tokens], dim=1), best)
        self.lengths = torch.cat([self.lengths, torch.full_like(scores, length, dtype=torch.long)], 1).gather(
            1, best
        )
        self.kept = torch.cat([self.kept, eligible], dim=1).gather(1, best)

    def worst_kept(self) -> torch.Tensor:
        """``[B, num_beams]``: the lowest kept score where a slot is kept, else the dropped score."""
        lowest = self.scores.min(dim=1, keepdim=True).values
        return torch.where(self.kept, lowest, torch.full_like(self.scores, DROPPED))

    def best(self) -> torch.Tensor:
        length = int(self.lengths[:, 0].max())
        return self.tokens[:, 0, :length]


@torch.no_grad()
def beam_search(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    max_new_tokens: int = 64,
    num_beams: int = 4,
    eos_id: int | str | None = FROM_CONFIG,
    length_penalty: float = 1.0,
    no_repeat_ngram_size: int = 0,
) -> torch.Tensor:
    """The best hypothesis of a beam search of ``num_beams`` beams per example (see the module docstring)."""
    check_generation(input_ids, max_new_tokens, num_beams, no_repeat_ngram_size)
    eos_id = resolve_eos(model, eos_id)
    batch, beams, device = input_ids.shape[0], num_beams, input_ids.device
    pad_id = model.config.pad_id
    decoding = model.start_decoding(input_ids, attention_mask, beams, max_new_tokens)
    running = torch.full((batch, beams, max_new_tokens), pad_id, dtype=torch.long, device=device)
    running_scores = torch.zeros((batch, beams), device=device)
    running_scores[:, 1:] = DROPPED
    hypotheses = Hypotheses(batch, beams, max_new_tokens, pad_id, device)
    improvable = torch.ones(batch, dtype=torch.bool, device=device)
    in_first_beams = torch.arange(2 * beams, device=device) < beams
    row_offsets = torch.arange(batch, device=device)[:, None] * beams

    logits = decoding.first_logits()
    for step in range(max_new_tokens):
        length = step + 1
        log_probs = F.log_softmax(logits.float(), dim=-1)
        if no_repeat_ngram_size:
            decoded = torch.cat([decoding.context, running[:, :, :step].reshape(batch * beams, step)], dim=1)
            log_probs = block_repeated_ngrams(log_probs, decoded, no_repeat_ngram_size)
        vocab = log_probs.shape[-1]
        totals = (log_probs.view(batch, beams, vocab) + running_scores[..., None]).view(batch, -1)
        scores, index = totals.topk(2 * beams, dim=1)
        source, tokens = index // vocab, index % vocab
        candidates = gather_rows(running, source)
        candidates[:, :, step] = tokens
        ends = (tokens == eos_id) if eos_id is not None else torch.zeros_like(tokens, dtype=torch.bool)
        if length == max_new_tokens:
            ends = torch.ones_like(ends)

        continuing = scores + DROPPED * ends
        chosen = continuing.topk(beams, dim=1).indices
        running, running_scores = gather_rows(candidates, chosen), continuing.gather(1, chosen)
        hypotheses.add(
            candidates,
            scores / length**length_penalty,
            length,
            ends & in_first_beams & improvable[:, None],
        )
        if length == max_new_tokens:
            break
        decoding.select_beams((row_offsets + source.gather(1, chosen)).view(-1))
        best_running = running_scores[:, :1] / length**length_penalty
        improvable &= (best_running > hypotheses.worst_kept()).any(dim=1)
        if not bool(improvable.any()):
            break
        logits = decoding.next_logits(running[:, :, step].reshape(-1, 1))
    return hypotheses.best()
