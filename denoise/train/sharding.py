"""Fully sharded data parallel training (``training.sharding: fsdp``), through torch's ``fully_shard``.

Each process keeps a slice of every weight, of its gradient and of its optimizer state; a Transformer block
gathers its full weights just before it runs and frees them after, and so does the rest of the model (the
embeddings, final norms and heads: the root). A model, its gradients and an Adam state that do not fit one
device's memory under plain data parallelism then fit across several; the data and the losses are those of
a data-parallel run on as many processes. With ``training.shard_processes`` the processes shard in groups
(one per node, say) and the groups replicate each other (hybrid sharding).

Checkpoints gather the full weights and optimizer state onto the main process and keep denoise's format: a
sharded run resumes on any number of processes, and its model folders are those of any run. With
``training.sharded_checkpoints`` each process writes its own shards instead (``torch.distributed.checkpoint``,
in ``shards/``), for a state larger than the main process's memory; those too resume on any number of
processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from denoise.errors import DenoiseError
from denoise.models.decoder import DecoderBlock
from denoise.models.layers import EncoderBlock

SHARDINGS = ("none", "fsdp")
BLOCKS = (EncoderBlock, DecoderBlock)  # the units whose weights are gathered together


def shard(
    module: nn.Module, device: torch.device, group: int | None = None, gather_dtype: torch.dtype | None = None
) -> nn.Module:
    """``module`` sharded over every process of the default group, each block a unit and then the root with
    what is left, its shards moved to ``device``. With ``group`` (processes) each group of that many holds
    one sharded copy and the groups replicate it, averaging gradients between them (hybrid sharding: a
    group per node keeps the gathering of weights inside the node). With ``gather_dtype`` (bf16 training)
    the weights are gathered and computed with in that type, half the traffic and memory of fp32, while the
    shards, their gradients' averaging and the optimizer stay in fp32."""
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    world = dist.get_world_size()
    group = group or world
    if world % group:
        raise DenoiseError(
            f"training.shard_processes={group} does not divide the {world} processes; set a divisor of "
            f"{world} (the processes of one node), or null to shard over all of them"
        )
    if group == world:
        mesh = init_device_mesh(device.type, (world,))
    else:
        mesh = init_device_mesh(device.type, (world // group, group), mesh_dim_names=("replicate", "shard"))
    precision = MixedPrecisionPolicy(param_dtype=gather_dtype, reduce_dtype=torch.float32)
    for block in [m for m in module.modules() if isinstance(m, BLOCKS)]:
        fully_shard(block, mesh=mesh, mp_policy=precision)
    fully_shard(module, mesh=mesh, mp_policy=precision)
    return module


@contextmanager
def gradient_sync(model: nn.Module, enabled: bool, hybrid: bool) -> Iterator[None]:
    """Backward passes inside reduce-scatter their gradients into each process's shard, as every micro-batch
    does (keeping them whole until the last would hold a whole model's gradients on every process); under
    ``hybrid`` sharding, ``enabled=False`` (a micro-batch before the last) skips averaging the shards across
    the groups until the last."""
    if not hybrid:
        yield
        return
    model.set_requires_all_reduce(enabled)
    try:
        yield
    finally:
        model.set_requires_all_reduce(True)


@contextmanager
def gathered(model: nn.Module) -> Iterator[None]:
    """The root's own weights whole inside, for what calls the model's parts rather than its ``forward``
    (generation); every process must enter, with the same inputs, as each block gathers across them."""
    model.unshard()
    try:
        yield
    finally:
        model.reshard()


def full_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s state dict with whole tensors on the CPU of the main process (empty elsewhere); every
    process must call it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def weights_of(part: nn.Module, root: nn.Module, weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries of ``weights`` (``root``'s state dict) that belong to ``part``, a module inside ``root`` (or
    ``root`` itself), under ``part``'s own names."""
    prefix = next(f"{name}." if name else "" for name, module in root.named_modules() if module is part)
    return {
        name.removeprefix(prefix): whole(value) for name, value in weights.items() if name.startswith(prefix)
    }


def whole(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor``, or a contiguous copy of it when it is a view into a larger block of memory (which
    safetensors does not write)."""
    if tensor.is_contiguous() and tensor.untyped_storage().nbytes() == tensor.numel() * tensor.element_size():
        return tensor
    return tensor.clone(memory_format=torch.contiguous_format)


def clip_grad_norm(parameters, max_norm: float) -> torch.Tensor:
    """Clip the sharded gradients to a total norm of ``max_norm``; returns the norm before clipping."""
    norm = torch.nn.utils.clip_grad_norm_(list(parameters), max_norm)
    return norm.full_tensor() if hasattr(norm, "full_tensor") else norm


def save_shards(model: nn.Module, optimizer: torch.optim.Optimizer, folder) -> None:
    """Every process writes its shards of the weights and optimizer state into ``folder``."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    weights, optimizer_state = get_state_dict(model, optimizer)
    dcp.save({"model": weights, "optimizer": optimizer_state}, checkpoint_id=str(folder))


def load_shards(model: nn.Module, optimizer: torch.optim.Optimizer, folder) -> None:
    """The weights and optimizer state of ``folder`` (written by :func:`save_shards` on any number of
    processes) into ``model`` and ``optimizer``, sharded or not."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    weights, optimizer_state = get_state_dict(model, optimizer)
    state = {"model": weights, "optimizer": optimizer_state}
    dcp.load(state, checkpoint_id=str(folder))
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"])


class OptimizerState:
    """The optimizer's state as a checkpoint keeps it: whole tensors keyed by parameter name on the main
    process, which a run on any number of processes loads back into its shards."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer):
        self.model, self.optimizer = model, optimizer

    def state_dict(self) -> dict:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        return get_optimizer_state_dict(self.model, self.optimizer, options=options)

    def load_state_dict(self, state: dict) -> None:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

        options = StateDictOptions(full_state_dict=True)
        set_optimizer_state_dict(self.model, self.optimizer, optim_state_dict=state, options=options)

    def load_sharded(self, path, main: bool) -> None:
        """Load the whole state saved in ``path`` into this process's shards: the main process reads the file
        and sends each process its part, so that no other process holds the whole of it."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

        state = torch.load(path, weights_only=False) if main else {}
        options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)
        set_optimizer_state_dict(self.model, self.optimizer, optim_state_dict=state, options=options)
