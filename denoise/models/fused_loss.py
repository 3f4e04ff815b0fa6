"""Cross-entropy of a linear projection to the vocabulary without holding the ``[N, V]`` logits.

Rows are processed in chunks: each chunk's logits are computed, turned into the loss and straight away into
the gradients of the hidden states and of the projection, then dropped. Forward and backward together do the
same matrix products as ``F.cross_entropy(F.linear(h, W))``, but memory traffic and peak memory no longer grow
with ``N x V`` (for BART's 50k vocabulary and 2k target tokens, 400 MB of logits in fp32 and as much again for
their gradient).
"""

from __future__ import annotations

import torch

from denoise.labels import IGNORE


def _chunk_losses(logits: torch.Tensor, target: torch.Tensor):
    """Per-row losses of fp32 ``logits`` (0 where ignored), the log-normalisers, and the kept rows."""
    kept = target != IGNORE
    safe = target.clamp(min=0)
    log_normaliser = torch.logsumexp(logits, dim=-1)
    picked = logits.gather(1, safe[:, None]).squeeze(1)
    return (log_normaliser - picked) * kept, log_normaliser, safe, kept


def _chunk_logits(rows, weight, bias):
    logits = torch.nn.functional.linear(rows, weight).float()
    return logits if bias is None else logits + bias.float()


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, bias, labels, chunk_rows):
        compute_weight = weight.to(hidden.dtype)
        total = hidden.new_zeros((), dtype=torch.float32)
        grad_hidden = torch.empty_like(hidden)
        grad_weight = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device)
        for start in range(0, hidden.shape[0], chunk_rows):
            rows = hidden[start : start + chunk_rows]
            logits = _chunk_logits(rows, compute_weight, bias)
            losses, log_normaliser, safe, kept = _chunk_losses(logits, labels[start : start + chunk_rows])
            total = total + losses.sum()
            grad_logits = logits.sub_(log_normaliser[:, None]).exp_()  # softmax, in the logits' buffer
            grad_logits[torch.arange(len(safe), device=safe.device), safe] -= 1.0
            grad_logits = grad_logits.mul_(kept[:, None]).to(hidden.dtype)
            grad_hidden[start : start + chunk_rows] = grad_logits @ compute_weight
            grad_weight.add_((grad_logits.t() @ rows).float())
        ctx.save_for_backward(grad_hidden, grad_weight)
        ctx.weight_dtype = weight.dtype
        return total

    @staticmethod
    def backward(ctx, grad_output):
        grad_hidden, grad_weight = ctx.saved_tensors
        hidden_grad = grad_hidden * grad_output.to(grad_hidden.dtype)
        weight_grad = (grad_weight * grad_output).to(ctx.weight_dtype)
        return hidden_grad, weight_grad, None, None, None


def linear_cross_entropy_sum(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    bias: torch.Tensor | None = None,
    chunk_rows: int = 1024,
) -> torch.Tensor:
    """Sum over rows whose label is not -100 of ``cross_entropy(hidden @ weight.T + bias, label)``, in fp32.

    ``hidden`` is ``[..., d]`` and ``labels`` the matching ``[...]``; ``bias`` is a constant (no gradient).
    Under autocast the products run in the autocast dtype.
    """
    device = hidden.device.type
    if torch.is_autocast_enabled(device):
        hidden = hidden.to(torch.get_autocast_dtype(device))
    hidden, labels = hidden.reshape(-1, hidden.shape[-1]), labels.reshape(-1)
    with torch.autocast(device, enabled=False):
        if torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad):
            return _LinearCrossEntropy.apply(hidden, weight, bias, labels, chunk_rows)
        weight = weight.to(hidden.dtype)
        total = hidden.new_zeros((), dtype=torch.float32)
        for i in range(0, hidden.shape[0], chunk_rows):
            logits = _chunk_logits(hidden[i : i + chunk_rows], weight, bias)
            total = total + _chunk_losses(logits, labels[i : i + chunk_rows])[0].sum()
        return total
