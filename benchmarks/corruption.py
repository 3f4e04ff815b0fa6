"""Tokens per second of every corruption op and recipe, beside transformers' MLM collator, in one run.

    python benchmarks/corruption.py [--batch 64] [--block-size 512] [--repeats 30] [--threads 1]

Both sides get the same 64 x 512 blocks of the embedded corpus, each in the form it takes natively:
denoise's ops a Sample of numpy arrays (``op``), or rows from the prepared dataset through the full
``Collator`` (rows -> corruption -> framed torch tensors; ``collate``); transformers'
``DataCollatorForLanguageModeling`` the rows as lists of ids or as tensors (plain), and as lists with offset
mappings that mark the same word starts denoise uses (``whole_word_mask=True``). Each timing is the median
of ``--repeats`` runs on one thread, each run alternating with a run of the plain collator (in its faster
input form, tensor rows) so that both see the same machine; the ratio divides the two medians.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

from denoise.corruption.base import Vocab
from denoise.corruption.corpus import BlockCorpus
from denoise.corruption.loader import Collator
from denoise.corruption.preview import default_kind
from denoise.corruption.random import KeyedRandom
from denoise.corruption.recipe import Recipe, available_recipes
from denoise.corruption.registry import OPS, build_op
from denoise.corruption.sample import from_blocks
from denoise.data.prepare import stream_blocks
from denoise.models.families import first_of_kind
from denoise.tokenizer import cached_tokenizer

OP_SETUP = {
    "mask_wwm": ("mask", {"whole_word": True}),
    "infill_delete_spans": ("infill", {"replace_length": 0}),
    "infill_mask_per_token": ("infill", {"replace_length": -1}),
    "mixture": ("mixture", Recipe.load("ul2").steps[0].params),  # UL2's seven denoisers
}


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(fn, baseline, repeats: int) -> tuple[float, float]:
    """Median seconds of ``fn`` and of ``baseline``, run alternately so that a busy machine slows both alike."""
    fn(), baseline()
    pairs = [(_seconds(fn), _seconds(baseline)) for _ in range(repeats)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def hf_collators(tokenizer, vocab: Vocab):
    from tokenizers import Tokenizer as RawTokenizer
    from tokenizers import models
    from transformers import DataCollatorForLanguageModeling, PreTrainedTokenizerFast

    pieces = {tokenizer.id_to_piece(i): i for i in range(vocab.size)}
    raw = RawTokenizer(models.WordLevel(pieces, unk_token="<unk>"))
    hf = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        pad_token="<pad>",
        unk_token="<unk>",
        cls_token="<cls>",
        sep_token="<sep>",
        mask_token="<mask>",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = DataCollatorForLanguageModeling(hf, mlm_probability=0.15)
        whole_word = DataCollatorForLanguageModeling(hf, mlm_probability=0.15, whole_word_mask=True)
    return plain, whole_word


def offsets_for(ids: np.ndarray, word_starts: np.ndarray) -> list[tuple[int, int]]:
    """Character offsets whose gaps fall exactly where a word starts (what the WWM collator reads)."""
    starts = np.cumsum(1 + word_starts[ids].astype(np.int64))
    return [(int(s), int(s) + 1) for s in starts]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--block-size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    tokenizer = cached_tokenizer([])
    vocab = Vocab.from_tokenizer(tokenizer)
    rows = []
    for i, row in enumerate(stream_blocks([], tokenizer, args.block_size)):
        if i == 4 * args.batch:
            break
        rows.append(dict(row, input_ids=np.asarray(row["input_ids"], np.int32), index=i))
    batch_rows = rows[: args.batch]
    corpus = BlockCorpus(rows)
    tokens = args.batch * args.block_size

    def sample():
        return from_blocks(
            np.stack([r["input_ids"] for r in batch_rows]),
            [r["length"] for r in batch_rows],
            [r["sentence_starts"] for r in batch_rows],
            [r["document_starts"] for r in batch_rows],
        )

    blocks = sample()
    rng = KeyedRandom(0, 0, np.arange(args.batch))
    plain, whole_word = hf_collators(tokenizer, vocab)
    hf_rows = [{"input_ids": r["input_ids"].tolist()} for r in batch_rows]
    hf_tensor_rows = [{"input_ids": torch.from_numpy(r["input_ids"]).long()} for r in batch_rows]
    hf_wwm_rows = [
        dict(r, offset_mapping=offsets_for(np.asarray(r["input_ids"]), vocab.word_starts)) for r in hf_rows
    ]
    baseline = lambda: plain(hf_tensor_rows)  # noqa: E731 - the peer in its faster input form
    results = [
        (
            "transformers MLM collator (tensor rows)",
            "collate",
            *interleaved(baseline, baseline, args.repeats),
        ),
        (
            "transformers MLM collator (list rows)",
            "collate",
            *interleaved(lambda: plain(hf_rows), baseline, args.repeats),
        ),
        (
            "transformers MLM collator, whole word",
            "collate",
            *interleaved(lambda: whole_word(hf_wwm_rows), baseline, args.repeats),
        ),
    ]
    for name in sorted(set(OPS) | set(OP_SETUP)):
        op_name, params = OP_SETUP.get(name, (name, {}))
        op = build_op(op_name, params, vocab, corpus=corpus)
        results.append(
            (f"op {name}", "op", *interleaved(lambda op=op: op(blocks, rng), baseline, args.repeats))
        )
    for name in available_recipes():
        recipe = Recipe.load(name)
        family = default_kind(recipe, vocab)
        corrupter = recipe.build(vocab, family, args.block_size, corpus=corpus)
        collator = Collator(corrupter, vocab, first_of_kind(family).frame)
        run = lambda c=corrupter: c(sample(), 0, 0, np.arange(args.batch))  # noqa: E731
        results.append((f"recipe {name} ({family})", "op", *interleaved(run, baseline, args.repeats)))
        results.append(
            (
                f"recipe {name} ({family})",
                "collate",
                *interleaved(lambda c=collator: c(batch_rows), baseline, args.repeats),
            )
        )

    print(f"{args.batch} x {args.block_size} blocks, {args.threads} thread(s), median of {args.repeats}")
    print(f"| {'what':<44} | {'path':<7} | {'ms':>7} | {'Mtokens/s':>9} | {'vs collator':>11} |")
    print(f"|{'-' * 46}|{'-' * 9}|{'-' * 9}|{'-' * 11}|{'-' * 13}|")
    for what, path, seconds, peer in results:
        print(
            f"| {what:<44} | {path:<7} | {seconds * 1e3:7.2f} | {tokens / seconds / 1e6:9.1f} | "
            f"{peer / seconds:10.1f}x |"
        )


if __name__ == "__main__":
    main()
