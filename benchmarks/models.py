"""Training-step speed and peak memory of denoise's models beside transformers', in one run.

    python benchmarks/models.py [--steps 20] [--threads 2] [--device cpu|cuda]

For small BERT, BART, T5 and GPT-2 configurations, a transformers model is built, its weights are copied into
the denoise model (``denoise.models.hf.from_hf``) and both losses are checked equal on the same batch first.
Then training steps (forward, backward, AdamW) alternate between the two, in fp32 and under bf16 autocast,
and the medians give tokens/s. Peak memory is measured in a fresh process per model (resident set on CPU,
allocated memory on CUDA). Greedy generation with the key/value cache is timed against transformers'
``generate``. The same script runs on a GPU with ``--device cuda``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from contextlib import nullcontext

import torch

from denoise.models.families import family_of

BATCH, LENGTH, TARGET_LENGTH = 16, 128, 128
MASKED = 0.15


def hf_models(only: str | None = None) -> dict:
    """Transformers models of small configurations, by name (with the published vocabularies but GPT's)."""
    import transformers as tf

    builders = {
        "bert": lambda: tf.BertForPreTraining(
            tf.BertConfig(
                vocab_size=30522,
                hidden_size=256,
                num_hidden_layers=4,
                num_attention_heads=4,
                intermediate_size=1024,
            )
        ),
        "bart": lambda: tf.BartForConditionalGeneration(
            tf.BartConfig(
                vocab_size=50265,
                d_model=256,
                encoder_layers=3,
                decoder_layers=3,
                encoder_attention_heads=4,
                decoder_attention_heads=4,
                encoder_ffn_dim=1024,
                decoder_ffn_dim=1024,
                max_position_embeddings=256,
            )
        ),
        "t5": lambda: tf.T5ForConditionalGeneration(
            tf.T5Config(vocab_size=32128, d_model=256, d_kv=64, d_ff=1024, num_layers=4, num_heads=4)
        ),
        # tiny_gpt's shape at the 8,000 tokens of the tiny recipes' tokenizer, its end token last as GPT-2's:
        # at GPT-2's 50,257 the LM head alone makes a step several times slower on CPUs
        "gpt": lambda: tf.GPT2LMHeadModel(
            tf.GPT2Config(
                vocab_size=8000,
                n_embd=128,
                n_layer=2,
                n_head=2,
                n_inner=512,
                n_positions=256,
                bos_token_id=7999,
                eos_token_id=7999,
            )
        ),
    }
    return {name: build() for name, build in builders.items() if only in (None, name)}


def batch_for(ours, device: str, generator: torch.Generator) -> dict:
    """A batch as denoise's trainer gives the model: aligned labels and a pair label for an encoder-only
    model, a target to write for one that generates, and for a decoder-only one the ``clm`` framing (a
    source of one end token, the block and its end token as the target: ``LENGTH`` tokens read, each one
    predicted)."""
    vocab = ours.config.vocab_size
    ids = torch.randint(10, vocab, (BATCH, LENGTH), generator=generator)
    if family_of(ours).kind == "decoder":
        end = torch.full((BATCH, 1), ours.config.eos_id)
        batch = {
            "input_ids": end,
            "attention_mask": torch.ones_like(end),
            "labels": torch.cat([ids[:, 1:], end], dim=1),
        }
    elif not family_of(ours).generates:
        labels = torch.full_like(ids, -100)
        chosen = torch.rand(ids.shape, generator=generator) < MASKED
        labels[chosen] = ids[chosen]
        batch = {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "token_type_ids": torch.zeros_like(ids),
            "labels": labels,
            "pair_labels": torch.randint(0, 2, (BATCH,), generator=generator),
        }
    else:
        labels = torch.randint(10, vocab, (BATCH, TARGET_LENGTH), generator=generator)
        start = torch.full((BATCH, 1), ours.config.decoder_start_id)
        batch = {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "labels": labels,
            "decoder_input_ids": torch.cat([start, labels[:, :-1]], dim=1),
        }
    return {k: v.to(device) for k, v in batch.items()}


def hf_kwargs(batch: dict) -> dict:
    """The same batch under transformers' names (BERT's pair labels are its next-sentence labels; a
    decoder-only model reads the source and the target less its last token as one sequence, every position
    predicting the next target token: transformers' ``shift_labels``, which it does not shift again)."""
    if "pair_labels" in batch:
        kwargs = {k: v for k, v in batch.items() if k != "pair_labels"}
        return dict(kwargs, next_sentence_label=batch["pair_labels"])
    if "decoder_input_ids" not in batch:
        labels = batch["labels"]
        ids = torch.cat([batch["input_ids"], labels[:, :-1]], dim=1)
        return {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "labels": labels,
            "shift_labels": labels,
        }
    return batch


def step(model, kwargs: dict, optimizer, precision: str, device: str) -> None:
    if model.__module__.startswith("denoise"):
        kwargs = dict(kwargs, return_logits=False)  # as denoise's trainer runs it: the chunked loss
    autocast = torch.autocast(device, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
    with autocast:
        loss = model(**kwargs).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def compare_training(name: str, hf, ours, batch: dict, steps: int, device: str) -> list[dict]:
    with torch.no_grad():
        hf.eval(), ours.eval()
        hf_loss = hf(**hf_kwargs(batch)).loss.item()
        our_losses = [ours(**batch).loss.item(), ours(**batch, return_logits=False).loss.item()]
    for our_loss in our_losses:
        if abs(hf_loss - our_loss) > 1e-3 * max(1.0, abs(hf_loss)):
            raise SystemExit(f"{name}: losses differ before timing ({hf_loss} vs {our_loss}); not comparing")
    hf.train(), ours.train()
    rows = []
    for precision in ("fp32", "bf16"):
        hf_opt = torch.optim.AdamW(hf.parameters(), lr=1e-5)
        our_opt = torch.optim.AdamW(ours.parameters(), lr=1e-5)
        pairs = []
        for _ in range(steps + 1):
            pairs.append(
                (
                    timed(step, hf, hf_kwargs(batch), hf_opt, precision, device),
                    timed(step, ours, batch, our_opt, precision, device),
                )
            )
        hf_time = statistics.median(p[0] for p in pairs[1:])
        our_time = statistics.median(p[1] for p in pairs[1:])
        tokens = BATCH * LENGTH
        rows.append(
            {
                "model": name,
                "what": f"train step {precision}",
                "transformers tok/s": tokens / hf_time,
                "denoise tok/s": tokens / our_time,
                "speedup": hf_time / our_time,
            }
        )
    return rows


def compare_generation(name: str, hf, ours, device: str, repeats: int) -> dict:
    from denoise.models.generation import generate

    hf.eval(), ours.eval()
    ids = torch.randint(10, 1000, (8, 64)).to(device)
    mask = torch.ones_like(ids)
    new = 32
    if hf.config.is_encoder_decoder:
        hf.generation_config.decoder_start_token_id = ours.config.decoder_start_id
    hf.generation_config.update(
        min_length=0,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        no_repeat_ngram_size=0,
        num_beams=1,
        do_sample=False,
        eos_token_id=None,
    )

    def run_hf():
        with torch.no_grad():
            return hf.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new, min_new_tokens=new)

    def run_ours():
        with torch.no_grad():
            return generate(ours, ids, mask, max_new_tokens=new, eos_id=None)

    pairs = [(timed(run_hf), timed(run_ours)) for _ in range(repeats + 1)][1:]
    hf_time, our_time = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    tokens = 8 * new
    return {
        "model": name,
        "what": "greedy generate (cache)",
        "transformers tok/s": tokens / hf_time,
        "denoise tok/s": tokens / our_time,
        "speedup": hf_time / our_time,
    }


def peak_memory(name: str, implementation: str, device: str) -> float:
    """MB of peak memory over 3 fp32 training steps, in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--memory-worker", name, implementation, "--device", device],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"]


def resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_worker(name: str, implementation: str, device: str) -> None:
    """Peak memory of 3 training steps above what the model and optimizer hold before them."""
    from denoise.models.hf import from_hf

    torch.manual_seed(0)
    hf = hf_models(only=name)[name]
    ours = from_hf(hf)
    model = ours if implementation == "denoise" else hf
    batch = batch_for(ours, device, torch.Generator().manual_seed(0))
    kwargs = batch if implementation == "denoise" else hf_kwargs(batch)
    del hf, ours
    gc.collect()
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    step(model, kwargs, optimizer, "fp32", device)  # optimizer state exists from here on
    gc.collect()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() / 2**20
    else:
        base = resident_mb()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], resident_mb())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    if device != "cuda":
        sampler.start()
    for _ in range(3):
        step(model, kwargs, optimizer, "fp32", device)
    done.set()
    if device == "cuda":
        peak[0] = torch.cuda.max_memory_allocated() / 2**20
    else:
        sampler.join()
    print(json.dumps({"peak_mb": peak[0] - base}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", choices=["bert", "bart", "t5", "gpt"], help="measure one model")
    parser.add_argument("--memory-worker", nargs=2, metavar=("MODEL", "IMPLEMENTATION"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_worker:
        memory_worker(*args.memory_worker, args.device)
        return

    from denoise.models.hf import from_hf

    torch.manual_seed(0)
    print(f"batch {BATCH} x {LENGTH}, {args.threads} thread(s), device {args.device}, median of {args.steps}")
    print("| model | what | transformers | denoise | ratio |")
    print("|---|---|---:|---:|---:|", flush=True)
    for name, hf in hf_models(only=args.only).items():
        hf.to(args.device)
        ours = from_hf(hf).to(args.device)
        batch = batch_for(ours, args.device, torch.Generator().manual_seed(1))
        rows = compare_training(name, hf, ours, batch, args.steps, args.device)
        if family_of(ours).generates:
            rows.append(compare_generation(name, hf, ours, args.device, max(3, args.steps // 4)))
        hf_mb, our_mb = (
            peak_memory(name, "transformers", args.device),
            peak_memory(name, "denoise", args.device),
        )
        rows.append(
            {
                "model": name,
                "what": "peak memory MB of a step (ratio: theirs / ours)",
                "transformers tok/s": hf_mb,
                "denoise tok/s": our_mb,
                "speedup": hf_mb / max(our_mb, 1e-9),
            }
        )
        for r in rows:
            print(
                f"| {r['model']} | {r['what']} | {r['transformers tok/s']:.0f} | {r['denoise tok/s']:.0f} | "
                f"{r['speedup']:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
