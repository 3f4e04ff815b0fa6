"""Each family's count of training FLOPs (``Family.flops``, or the objective's where it runs more than the
model) beside torch's FLOP counter, one row per objective.

    python -m benchmarks.flops

Every case builds a small model of its family and a batch of random blocks corrupted by a shipped recipe
and framed as the trainer frames them, then runs the trainer's own loss (its objective's ``loss`` on
``model_inputs``) and its backward under ``torch.utils.flop_counter.FlopCounterMode``. Attention runs on
the math kernel, whose products the counter sees one by one (on CPU the fused kernel is invisible to it; on
GPUs it would add the backward's recomputed scores). The ratio divides the analytic count by the counter's;
``tests/models/test_flops.py`` holds every case within 5%.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from denoise.corruption.base import Vocab
from denoise.corruption.corpus import BlockCorpus
from denoise.corruption.loader import Collator
from denoise.corruption.recipe import Recipe
from denoise.models.families import family_named
from denoise.models.settings import Ids, ModelSettings
from denoise.train.objectives import build_objective
from denoise.train.objectives.base import Counts, model_inputs

VOCAB_SIZE = 773
SENTINELS = 32
PAD_TO = 8  # the trainer pads batches to a multiple of 8
SEED = 0


@dataclass(frozen=True)
class Case:
    """A family trained with a corruption recipe on a small, deliberately uneven configuration."""

    family: str
    recipe: str  # a shipped corruption recipe
    settings: dict = field(default_factory=dict)  # ModelSettings over the family's tiny size
    block_size: int = 128
    batch_size: int = 4
    tied: bool = True  # the vocabulary projection reads the token table
    objective: str = "denoising"  # the training objective

    @property
    def name(self) -> str:
        return f"{self.family}-{self.recipe}" + ("" if self.tied else "-untied")

    def describe(self) -> str:
        s = self.settings
        shape = f"d{s['d_model']} h{s['num_heads']}" + (f"x{s['d_kv']}" if "d_kv" in s else "")
        shape += f" e{s['embedding_size']}" if "embedding_size" in s else ""
        layers = f"L{s.get('num_layers', 2)}" + (f"+{s['decoder_layers']}" if "decoder_layers" in s else "")
        extras = " gated" if s.get("gated") else ""
        head = "" if self.tied else " untied"
        return (
            f"{shape} ff{s['d_ff']} {layers}{extras}{head} V{VOCAB_SIZE}, {self.batch_size}x{self.block_size}"
        )


CASES = (
    Case("bert", "bert", dict(d_model=96, num_heads=3, d_ff=320), block_size=101, batch_size=6),
    Case("bert", "albert", dict(d_model=64, num_heads=4, d_ff=256), block_size=128, tied=False),
    Case("bert", "roberta", dict(d_model=128, num_heads=2, d_ff=512), block_size=125, batch_size=5),
    Case("bert", "spanbert", dict(d_model=80, num_heads=2, d_ff=240), block_size=117, batch_size=5),
    Case(
        "bert",
        "electra",
        dict(d_model=128, num_heads=4, d_ff=384, embedding_size=48),
        block_size=110,
        batch_size=5,
        objective="electra",
    ),
    Case("bart", "bart", dict(d_model=96, num_heads=4, d_ff=384), block_size=100, batch_size=6),
    Case("bart", "mass", dict(d_model=64, num_heads=2, d_ff=192, decoder_layers=3), block_size=120),
    Case(
        "t5",
        "t5",
        dict(d_model=80, num_heads=2, d_kv=24, d_ff=176, gated=True, activation="gelu_tanh"),
        block_size=127,
        batch_size=6,
    ),
    Case("t5", "ul2", dict(d_model=64, num_heads=4, d_ff=256, decoder_layers=1), block_size=96, batch_size=8),
    Case("gpt", "clm", dict(d_model=112, num_heads=2, d_ff=400), block_size=119, batch_size=5),
    Case(
        "gpt",
        "ul2",
        dict(d_model=96, num_heads=3, d_ff=288, num_layers=3, positions="relative"),
        block_size=93,
        batch_size=7,
    ),
)


def small_vocab() -> Vocab:
    """A vocabulary laid out as a denoise tokenizer's: pad, unk, cls, sep, mask, sentinels, mode tokens."""
    modes = ("[NLU]", "[NLG]", "[S2S]")
    first_mode = 5 + SENTINELS
    return Vocab(
        word_starts=np.arange(VOCAB_SIZE) % 3 == 0,  # a third of the ids begin a word, for whole-word ops
        size=VOCAB_SIZE,
        pad_id=0,
        mask_id=4,
        cls_id=2,
        sep_id=3,
        sentinel_ids=tuple(range(5, first_mode)),
        special_ids=tuple(range(first_mode + len(modes))),
        mode_ids={mode: first_mode + i for i, mode in enumerate(modes)},
    )


def random_rows(vocab: Vocab, count: int, block_size: int, seed: int) -> list[dict]:
    """Packed blocks of random regular ids with sentence and document starts; every third one is short, as
    the last block of a corpus is."""
    rng = np.random.default_rng(seed)
    regular = vocab.regular_ids()
    rows = []
    for index in range(count):
        length = block_size - (index % 3 == 2) * rng.integers(1, block_size // 2)
        sentences = np.unique(np.concatenate([[0], rng.integers(1, length, size=max(length // 14, 1))]))
        rows.append(
            {
                "index": index,
                "input_ids": regular[rng.integers(0, len(regular), size=length)].tolist(),
                "length": int(length),
                "sentence_starts": sentences.tolist(),
                "document_starts": sentences[:: max(len(sentences) // 2, 1)].tolist(),
            }
        )
    return rows


def build(case: Case):
    """The case's trained module (the model, or the model with its objective's companions; in training mode)
    and one framed batch of its corrupted blocks."""
    family = family_named(case.family)
    vocab = small_vocab()
    settings = ModelSettings(family=case.family, max_positions=256, **case.settings)
    config = family.from_settings(settings, Ids(VOCAB_SIZE, vocab.pad_id, vocab.cls_id, vocab.sep_id))
    if not case.tied:
        config = dataclasses.replace(config, tie_embeddings=False)
    recipe = Recipe.load(case.recipe)
    if case.family == "bert":
        config = dataclasses.replace(
            config,
            pair_head=any(step.op in ("nsp", "sop") for step in recipe.steps),
            span_head=any(step.op == "span_mask" for step in recipe.steps),
        )
    torch.manual_seed(SEED)
    model = build_objective(case.objective).trained(family.model(config), family).train()
    rows = random_rows(vocab, 4 * case.batch_size, case.block_size, SEED)
    corrupter = recipe.build(vocab, family.kind, case.block_size, corpus=BlockCorpus(rows))
    collator = Collator(corrupter, vocab, family.frame, seed=SEED, pad_to_multiple_of=PAD_TO)
    return model, collator(rows[: case.batch_size])


def counted_flops(model, batch, objective: str = "denoising") -> int:
    """FLOPs torch's counter sees in the trainer's loss of ``batch`` (under ``objective``) and its backward
    (math attention)."""
    counts = Counts.of(batch)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        loss, _ = build_objective(objective).loss(model, model_inputs(batch, "cpu"), counts, counts)
        loss.backward()
    return counter.get_total_flops()


def measure(case: Case) -> dict:
    """The case's analytic count, the counter's, and their ratio."""
    model, batch = build(case)
    family = family_named(case.family)
    analytic = build_objective(case.objective).flops(family, model, batch, Counts.of(batch).tokens)
    counted = counted_flops(model, batch, case.objective)
    return {"case": case, "analytic": analytic, "counted": counted, "ratio": analytic / counted}


def main() -> None:
    torch.set_num_threads(1)
    print("| family | recipe | objective | config | analytic FLOPs | counter FLOPs | ratio |")
    print("|---|---|---|---|---:|---:|---:|")
    for case in CASES:
        row = measure(case)
        print(
            f"| {case.family} | {case.recipe}{'' if case.tied else ' (untied head)'} | {case.objective} | "
            f"{case.describe()} | "
            f"{row['analytic']:.4g} | {row['counted']:.4g} | {row['ratio']:.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
