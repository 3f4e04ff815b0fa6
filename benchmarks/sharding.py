"""Memory and step time of fully sharded training (``training.sharding=fsdp``, also with
``training.activation_checkpointing``) beside data parallelism (torch's DistributedDataParallel, what an
unsharded run uses), in one run.

    python benchmarks/sharding.py [--processes 2] [--steps 6] [--device cpu|cuda]

Each mode trains the same denoise BERT (8 layers, 512 wide, a 32,000-token vocabulary: 41M parameters) with
AdamW on the same random batches, in a fresh set of processes (torchrun; gloo on CPUs, NCCL on GPUs). Each
process reports what it holds after the steps: the bytes of its weights, gradients and optimizer state
(local shards under FSDP), of the activations autograd keeps for the backward pass, its peak resident set
(CPU) or peak allocated memory (CUDA), and the median step time. On CPU processes the step times mostly measure gloo; the held bytes are what carries to GPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

BATCH, LENGTH = 8, 128
MODES = ("ddp", "fsdp", "fsdp+recompute")
SHAPE = dict(num_layers=8, d_model=512, num_heads=8, d_ff=2048)


def held_bytes(model, optimizer) -> dict[str, int]:
    """Bytes of this process's weights, gradients and optimizer state (local shards of DTensors)."""

    def local(tensor):
        return tensor.to_local() if hasattr(tensor, "to_local") else tensor

    def size(tensors):
        return sum(local(t).numel() * local(t).element_size() for t in tensors if t is not None)

    state = [v for per_param in optimizer.state.values() for v in per_param.values() if torch.is_tensor(v)]
    return {
        "weights": size(model.parameters()),
        "gradients": size(p.grad for p in model.parameters()),
        "optimizer": size(state),
    }


def keeping(sizes: list):
    """Autograd's saved-tensor hooks, adding the bytes of each tensor kept for the backward pass to ``sizes``."""

    def pack(tensor):
        sizes.append(tensor.numel() * tensor.element_size())
        return tensor

    return torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor)


def worker(mode: str, steps: int, device_type: str) -> None:
    import torch.distributed as dist

    from denoise.models.families import build_model
    from denoise.models.recompute import recompute_activations
    from denoise.models.settings import Ids, ModelSettings
    from denoise.train import sharding

    dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device("cuda", rank) if device_type == "cuda" else torch.device("cpu")
    if device_type == "cuda":
        torch.cuda.set_device(device)
    torch.manual_seed(0)
    ids = Ids(32000, pad_id=0, start_id=2, eos_id=3)
    model = build_model(ModelSettings(family="bert", pair_head=False, **SHAPE), ids)
    if mode == "fsdp+recompute":
        recompute_activations(model)
    if mode.startswith("fsdp"):
        model = sharding.shard(model, device)
    else:
        model = torch.nn.parallel.DistributedDataParallel(model.to(device))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(rank)
    times = []
    for _ in range(steps):
        tokens = torch.randint(5, 32000, (BATCH, LENGTH), generator=generator)
        labels = torch.where(torch.rand(BATCH, LENGTH, generator=generator) < 0.15, tokens, -100)
        start = time.perf_counter()
        kept = []
        with keeping(kept):
            loss = model(input_ids=tokens.to(device), labels=labels.to(device)).loss
        loss.backward()
        optimizer.step()
        if device_type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        held = {**held_bytes(model, optimizer), "activations": sum(kept)}  # before the gradients are cleared
        optimizer.zero_grad(set_to_none=True)
    if device_type == "cuda":
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    report = {"mode": mode, "rank": rank, "processes": world, "peak": peak, **held}
    report["step_s"] = statistics.median(times[1:])
    reports = [None] * world
    dist.all_gather_object(reports, report)
    if rank == 0:
        print("REPORT " + json.dumps(reports))
    dist.destroy_process_group()


def launch(mode: str, processes: int, steps: int, device: str, port: int) -> list[dict]:
    command = [
        sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}", f"--master_port={port}",
        __file__, "--worker", mode, "--steps", str(steps), "--device", device,
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.getcwd())
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    line = next(line for line in done.stdout.splitlines() if line.startswith("REPORT "))
    return json.loads(line.removeprefix("REPORT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.steps, args.device)
    results = {
        mode: launch(mode, args.processes, args.steps, args.device, 29561 + i) for i, mode in enumerate(MODES)
    }
    print(f"{args.processes} processes on {args.device}, BERT {SHAPE}, batch {BATCH}x{LENGTH} per process")
    print("| per process | " + " | ".join(MODES) + " | DDP / " + " | DDP / ".join(MODES[1:]) + " |")
    print("|---|" + "---:|" * (2 * len(MODES) - 1))
    for key in ("weights", "gradients", "optimizer", "activations", "peak", "step_s"):
        values = [max(r[key] for r in results[mode]) for mode in MODES]
        unit, scale = ("s", 1) if key == "step_s" else ("MiB", 2**20)
        shown = [f"{v / scale:.3f}" if key == "step_s" else f"{v / scale:.1f}" for v in values]
        ratios = [f"{values[0] / v:.2f}x" for v in values[1:]]
        print(f"| {key.removesuffix('_s')} ({unit}) | " + " | ".join(shown + ratios) + " |")


if __name__ == "__main__":
    main()
