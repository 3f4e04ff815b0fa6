"""Training checkpoints: ``OUT/checkpoints/step-NNNNNNNN/`` holds everything needed to continue exactly.

- ``model/``: the model directory (``model.safetensors`` + ``model.json``, loadable by ``load_model``), or
  ``shards/``: every process's shards of the weights and optimizer state (a sharded run's
  ``training.sharded_checkpoints``, read by :mod:`denoise.train.sharding`);
- ``optimizer.pt``, ``scheduler.pt``, ``scaler.pt`` (fp16): their state dicts;
- ``rng-rank{R}.pt``: each process's torch RNG states (dropout);
- ``trainer.json``: the step reached, tokens seen, the world size, the resolved config, the fingerprint of
  the prepared corpus and the size of every other file; written last, it is what makes a checkpoint complete.

The data position needs no file: the batches of a step follow from (seed, step). Every process writes into a
``.partial`` folder which the main process renames once all are done, so a crash mid-save leaves the previous
checkpoints intact and the partial one ignored. A checkpoint damaged afterwards (a file cut short by a copy
or a failing disk) is found by :func:`problem`, and :func:`resumable_checkpoint` falls back past it.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch

from denoise import rng
from denoise.errors import DenoiseError
from denoise.files import replace_folder
from denoise.models.checkpoint import CONFIG_FILE, WEIGHTS_FILE, load_model, save_model
from denoise.models.weights import weights_problem

CHECKPOINTS = "checkpoints"
TRAINER_FILE = "trainer.json"
SHARDS = "shards"  # a checkpoint's folder of every process's shards
NAME = re.compile(r"^step-(\d{8})$")
# Settings that may change when a run resumes; any other difference is refused.
RESUMABLE_CHANGES = {
    "training.max_steps",
    "training.max_tokens",
    "training.log_interval",
    "training.eval_interval",
    "training.eval_batches",
    "training.reconstructions",
    "training.checkpoint_interval",
    "training.keep_checkpoints",
    "training.trackers",
    "training.threads",
    "training.peak_tflops",
    "training.activation_checkpointing",
    "training.shard_processes",
    "training.sharded_checkpoints",
    "data.num_workers",
    "data.num_proc",
}


def checkpoint_dir(out: Path, step: int) -> Path:
    return Path(out) / CHECKPOINTS / f"step-{step:08d}"


def complete_checkpoints(out: Path) -> list[Path]:
    """Finished checkpoints, oldest first."""
    root = Path(out) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and NAME.match(p.name) and (p / TRAINER_FILE).exists()]
    return sorted(found, key=lambda p: int(NAME.match(p.name).group(1)))


def latest_checkpoint(out: Path) -> Path | None:
    found = complete_checkpoints(out)
    return found[-1] if found else None


def staging_dir(out: Path, step: int) -> Path:
    final = checkpoint_dir(out, step)
    return final.with_name(final.name + ".partial")


def write_shared(staging: Path, models: dict, states: dict) -> None:
    """What the main process writes: ``models`` (folder name -> model: ``model`` and those its objective
    keeps beside it) and ``states`` (name -> state dict)."""
    for name, model in models.items():
        save_model(model, staging / name)
    for name, state in states.items():
        save_state(state, staging / f"{name}.pt")


def save_state(state, path: Path) -> None:
    try:
        torch.save(state, path)
    except RuntimeError as err:  # torch's archive writer reports a failed write this way
        raise OSError(f"could not write {path} ({err}); is the disk full?") from None


def write_trainer(staging: Path, trainer: dict) -> None:
    """The trainer's position and the size of every file the processes wrote, once all have written."""
    sizes = {str(p.relative_to(staging)): p.stat().st_size for p in sorted(staging.rglob("*")) if p.is_file()}
    (staging / TRAINER_FILE).write_text(json.dumps({**trainer, "files": sizes}, indent=2) + "\n")


def problem(checkpoint: Path) -> str | None:
    """Why ``checkpoint`` cannot be resumed (a file missing, cut short or unreadable), or None."""
    try:
        trainer = read_trainer_state(checkpoint)
    except ValueError as err:
        return f"{TRAINER_FILE} is not JSON ({err})"
    for name, size in trainer.get("files", {}).items():
        path = checkpoint / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != size:
            return f"{name} is cut short or damaged: {path.stat().st_size} bytes of the {size} written"
    models = set(checkpoint.glob(f"*/{WEIGHTS_FILE}"))
    if not is_sharded(checkpoint):
        models.add(checkpoint / "model" / WEIGHTS_FILE)
    for path in sorted(models):  # the model, and those its objective keeps beside it (ELECTRA's generator)
        weights = weights_problem(path)
        if weights:
            return weights
    for path in sorted(checkpoint.glob("*.pt")):
        if not zipfile.is_zipfile(path):
            return f"{path.name} is not a complete torch archive"
    return None


def resumable_checkpoint(out: Path, say: Callable[[str], None]) -> Path | None:
    """The newest intact checkpoint of ``out``, saying which broken ones it passed over; None when there is
    none at all."""
    found = complete_checkpoints(out)
    broken = []
    for checkpoint in reversed(found):
        reason = problem(checkpoint)
        if reason is None:
            if broken:
                say(f"resuming from {checkpoint.name}: the newer {', '.join(broken)} cannot be read")
            return checkpoint
        say(f"checkpoint {checkpoint} is broken: {reason}")
        broken.append(checkpoint.name)
    if found:
        raise DenoiseError(
            f"--resume: every checkpoint in {Path(out) / CHECKPOINTS} is broken ({', '.join(broken)}), so "
            "there is nothing to continue from; start a new run in another --out"
        )
    return None


def read_states(checkpoint: Path, states: dict) -> None:
    """Load each of ``states`` from its file in ``checkpoint``."""
    for name, owner in states.items():
        owner.load_state_dict(torch.load(state_file(checkpoint, name), weights_only=False))


def state_file(checkpoint: Path, name: str) -> Path:
    """The file of state ``name`` in ``checkpoint``; an error when it is missing."""
    path = checkpoint / f"{name}.pt"
    if not path.exists():
        raise DenoiseError(f"checkpoint {checkpoint} lacks {path.name}; it cannot be resumed exactly")
    return path


def write_rng(staging: Path, rank: int) -> None:
    save_state(rng.state(), staging / f"rng-rank{rank}.pt")


def remove_partial(out: Path) -> None:
    """Drop folders a killed save left half-written (never a finished checkpoint)."""
    root = Path(out) / CHECKPOINTS
    for partial in root.glob("*.partial") if root.is_dir() else []:
        shutil.rmtree(partial, ignore_errors=True)


def publish(staging: Path, out: Path, step: int, keep: int) -> Path:
    """Rename the finished ``staging`` folder into place, then drop all but the newest ``keep``."""
    final = replace_folder(staging, checkpoint_dir(out, step))
    for old in complete_checkpoints(out)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def read_trainer_state(checkpoint: Path) -> dict:
    return json.loads((checkpoint / TRAINER_FILE).read_text())


def is_sharded(checkpoint: Path) -> bool:
    """Whether ``checkpoint`` keeps the weights and optimizer state as every process's shards."""
    return (checkpoint / SHARDS).is_dir()


def saved_model_config(checkpoint: Path) -> dict:
    """The config of the model a checkpoint holds (``model/model.json``)."""
    return json.loads((checkpoint / "model" / CONFIG_FILE).read_text())["config"]


def load_weights_into(model, checkpoint: Path) -> None:
    saved = load_model(checkpoint / "model")
    model.load_state_dict(saved.state_dict())


def restore_rng(checkpoint: Path, rank: int) -> bool:
    """Restore this process's RNG; False when the checkpoint has no state for ``rank``."""
    path = checkpoint / f"rng-rank{rank}.pt"
    if not path.exists():
        return False
    rng.restore(torch.load(path, weights_only=False))
    return True


def flatten(mapping: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key != "corruption":
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def check_same_run(saved: dict, current: dict, checkpoint: Path) -> None:
    """Refuse to resume ``checkpoint`` with settings that would change what the run computes."""
    before, now = flatten(json.loads(json.dumps(saved))), flatten(json.loads(json.dumps(current)))
    for key in sorted(set(before) | set(now)):
        if key in RESUMABLE_CHANGES or before.get(key) == now.get(key):
            continue
        raise DenoiseError(
            f"cannot resume {checkpoint}: it was made with {key}={before.get(key)!r} but the config now says "
            f"{now.get(key)!r}; resume with the same recipe, or start a new run in another --out"
        )
