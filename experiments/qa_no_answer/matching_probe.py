"""How fast can an encoder learn to point at the context token a question names, or at the token after it,
or to answer "no answer" when the context lacks it?

    python experiments/qa_no_answer/matching_probe.py --run runs/bert_long --steps 600 --threads 1

Extractive QA needs an encoder to find where the question's words occur in the context and then point at
the answer, which usually starts a few tokens after them, or at the first token for "no answer" (SQuAD
v2.0). This probe isolates these steps on synthetic inputs: the question is one token drawn from the
context (distinct random ids), and the target is that token's position (``shift 0``) or the next one
(``shift 1``); in the last condition half the questions name a token the context lacks, whose target is
the first token. The encoder of ``--run`` and a freshly initialised copy of it are trained with a span head
(``span_window`` 0 and 1) for ``--steps`` steps; the table gives the accuracy of the start position over the
last 50 steps, and the first step at which a running accuracy over 20 steps reached 90%. The pre-trained
encoder and its copy see the same batches, so a gap between them is what pre-training gave for matching.
"""

from __future__ import annotations

import argparse
import itertools

import torch

from denoise.finetune.backbone import Backbone, load_backbone_model
from denoise.finetune.config import FinetuneConfig
from denoise.finetune.task_model import TaskModel
from denoise.tasks.qa.head import SpanHead

CONTEXT_TOKENS = 24
BATCH = 32


def batch(
    tok, generator: torch.Generator, shift: int, unanswerable: bool = False
) -> tuple[torch.Tensor, ...]:
    """``[prefix] q [SEP] context [SEP]`` rows whose context holds q once; targets at q's position + shift.
    With ``unanswerable``, half the rows ask for a token their context lacks, with target 0 (no answer)."""
    low = tok.vocab_size // 8  # ordinary pieces, clear of the special ids
    drawn = torch.stack(
        [
            torch.randperm(tok.vocab_size - low, generator=generator)[: CONTEXT_TOKENS + 1] + low
            for _ in range(BATCH)
        ]
    )
    context, absent_token = drawn[:, :CONTEXT_TOKENS], drawn[:, CONTEXT_TOKENS]
    where = torch.randint(0, CONTEXT_TOKENS - 1, (BATCH,), generator=generator)
    question = context[torch.arange(BATCH), where]
    head = len(tok.prefix) + 2
    target = where + head + shift
    if unanswerable:
        absent = torch.rand(BATCH, generator=generator) < 0.5
        question = torch.where(absent, absent_token, question)
        target = torch.where(absent, 0, target)
    prefix = torch.tensor(tok.prefix, dtype=torch.long).expand(BATCH, len(tok.prefix))
    sep = torch.full((BATCH, 1), tok.sep_id)
    input_ids = torch.cat([prefix, question[:, None], sep, context, sep], dim=1)
    types = (torch.arange(input_ids.shape[1]) >= head).long().expand_as(input_ids)
    return input_ids, types, torch.stack([target, target], dim=1)


def probe(
    model, tok, shift: int, window: int, steps: int, lr: float, seed: int, unanswerable: bool = False
) -> tuple[float, int | None]:
    torch.manual_seed(seed)
    task_model = TaskModel(Backbone(model), SpanHead(model.d_model, window))
    optimizer = torch.optim.AdamW(task_model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    hits, first_90 = [], None
    for step in range(1, steps + 1):
        input_ids, types, targets = batch(tok, generator, shift, unanswerable)
        mask = torch.ones_like(input_ids, dtype=torch.bool)
        logits = task_model(input_ids, mask, types)  # families without token types ignore them
        loss = task_model.loss(logits, targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        hits.append((logits[..., 0].argmax(1) == targets[:, 0]).float().mean().item())
        if first_90 is None and len(hits) >= 20 and sum(hits[-20:]) / 20 >= 0.9:
            first_90 = step
    return sum(hits[-50:]) / len(hits[-50:]), first_90


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", required=True, help="a pre-training run (or anything `init=` takes)")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| encoder | target | span_window | accuracy, last 50 steps | first step at 90% |")
    print("|---|---|---:|---:|---:|")
    conditions = [(shift, window, False) for shift, window in itertools.product((0, 1), (0, 1))]
    conditions.append((0, 0, True))
    for init, (shift, window, unanswerable) in itertools.product(("pre-trained", "fresh copy"), conditions):
        model, tok = load_backbone_model(FinetuneConfig(init=args.run))
        if init == "fresh copy":
            torch.manual_seed(args.seed)
            model = type(model)(model.config)
        accuracy, first = probe(model, tok, shift, window, args.steps, args.lr, args.seed, unanswerable)
        target = "the named token" if shift == 0 else "the token after it"
        if unanswerable:
            target += ", or no answer for half the questions"
        print(f"| {init} | {target} | {window} | {accuracy:.2f} | {first or '-'} |", flush=True)


if __name__ == "__main__":
    main()
