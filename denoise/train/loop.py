"""The pre-training loop, the same code on one CPU or on many GPUs through accelerate.

    from denoise.train.config import load_config
    from denoise.train.loop import pretrain
    summary = pretrain(load_config("recipes/tiny_bart.yaml", ["training.max_steps=50"]), "runs/bart")

Each optimizer step reads one global batch (see ``denoise.train.data``), runs its micro-batches with the
gradient synchronised only on the last, clips, steps, then logs, evaluates and checkpoints at their
intervals. A non-finite loss stops the run before the optimizer touches the weights.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import yaml

from denoise import rng
from denoise.corruption.base import Vocab, numbers_spans
from denoise.corruption.corpus import BlockCorpus
from denoise.corruption.loader import Collator
from denoise.corruption.recipe import Recipe
from denoise.data.prepare import load_blocks
from denoise.errors import DenoiseError
from denoise.files import replace_folder, staged_folder, write_json
from denoise.models.checkpoint import save_model
from denoise.models.families import (
    build_model,
    check_positions,
    family_named,
    family_of,
    learned_positions,
)
from denoise.models.init import Init
from denoise.models.recompute import recompute_activations
from denoise.models.settings import Ids
from denoise.optim.optimizers import make_optimizer, parameter_groups
from denoise.optim.schedules import make_scheduler
from denoise.optim.step import Precision, Stepper
from denoise.outputs import NEW, Marker, check_output, write_marker
from denoise.train import checkpoints as ckpt
from denoise.train import sharding
from denoise.train.config import PretrainConfig, normalised_config
from denoise.train.data import (
    EvalSampler,
    Layout,
    StepSampler,
    corpus_fingerprint,
    make_loader,
    prepare_data,
    split_blocks,
)
from denoise.train.evaluate import evaluate, masked_fills, reconstructions
from denoise.train.init import check_tokenizer, init_model, pretraining_init
from denoise.train.metrics import MetricsLog, TrainingFlops, available_trackers, peak_flops
from denoise.train.objectives import build_objective
from denoise.train.objectives.base import Counts, model_inputs
from denoise.train.snapshots import SNAPSHOT_FILE, snapshot_dir, snapshot_steps


class NonFiniteLoss(DenoiseError):
    pass


def total_steps(config: PretrainConfig) -> int:
    t = config.training
    if t.max_steps is not None:
        return t.max_steps
    return math.ceil(t.max_tokens / (t.global_batch * config.data.block_size))


def corruption_recipe(value) -> Recipe:
    if isinstance(value, dict):
        return Recipe.from_mapping(value, where="corruption")
    if isinstance(value, str):
        return Recipe.load(value)
    raise DenoiseError(
        f"corruption must be a recipe name, a .yaml path or a mapping with steps, got {value!r}"
    )


def padding_multiple(longest: int, compile: bool, limit: int | None) -> int:
    """Batches are padded to a multiple of 8 (tensor-core friendly) when that still fits the position table;
    compiled models get every sequence padded to ``longest``, so shapes never change."""
    if compile:
        return longest
    return 8 if limit is None or -(-longest // 8) * 8 <= limit else 1


COMMAND = "pretrain"


def legacy_run(folder: Path) -> Marker | None:
    """A run written before output folders were marked: it has checkpoints, or a config and metrics."""
    if (folder / ckpt.CHECKPOINTS).is_dir() or (folder / "config.yaml").is_file():
        return Marker(COMMAND)
    return None


def pretraining_inputs(config: PretrainConfig) -> list[str | None]:
    """The folders and files a run reads, none of which its output may hold."""
    data = config.data
    init = config.init.removeprefix("scratch:") if config.init else None
    return [*data.corpus, data.prepared, data.tokenizer, init]


class Pretraining:
    """One run: built from a config and an output directory, then ``run()``. With ``overwrite``, a finished
    run in ``out`` is replaced only once the new one has finished (it trains in ``OUT.overwrite`` beside)."""

    def __init__(
        self,
        config: PretrainConfig,
        out: str | Path,
        resume: bool = False,
        progress: bool = True,
        overwrite: bool = False,
    ):
        from accelerate import Accelerator

        self.config, self.final_out, self.progress = config, Path(out), progress
        corruption_recipe(config.corruption).check_settings()  # before the corpus is prepared for it
        self.objective = build_objective(config.objective)
        self.out = self._output_folder(resume, overwrite)
        t = config.training
        trackers = available_trackers(list(t.trackers))
        # Several processes without a GPU (torchrun or accelerate launch on CPUs) need cpu=True for accelerate
        # to join them into one gloo process group.
        distributed_cpu = not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1
        self.accelerator = Accelerator(
            cpu=distributed_cpu, log_with=trackers or None, project_dir=str(self.out / "logs")
        )
        self.precision = Precision(t.precision, self.accelerator.device.type)
        if self.accelerator.distributed_type.value == "FSDP":
            raise DenoiseError(
                "denoise shards a model itself: launch with plain data parallelism (accelerate launch "
                "--multi_gpu, or torchrun) and set training.sharding=fsdp, rather than accelerate's FSDP plugin"
            )
        self.sharded = t.sharding == "fsdp" and self.accelerator.num_processes > 1
        self.shard_group = t.shard_processes or self.accelerator.num_processes  # processes sharing one copy
        if t.sharding == "fsdp" and not self.sharded:
            self.accelerator.print("training.sharding=fsdp on one process: the model is not sharded")
        self.resume_from = self._checkpoint_to_resume(resume)
        self.layout = Layout.of(t.global_batch, t.micro_batch, self.accelerator.num_processes)
        self.total_steps = total_steps(config)
        with rng.isolated(t.seed):  # fresh weights and dropout draw from the run's own generators
            self._build()
            self.rng_state = rng.state()

    # -- setup ---------------------------------------------------------------------------------------------

    def _output_folder(self, resume: bool, overwrite: bool) -> Path:
        """Where the run writes: ``out`` itself, or with ``overwrite`` a folder beside it that replaces it at
        the end."""
        if resume and overwrite:
            raise DenoiseError(
                "--resume continues the run in --out and --overwrite replaces it; pass one of them"
            )
        out = self.final_out
        state = check_output(
            out, COMMAND, inputs=pretraining_inputs(self.config), overwrite=overwrite, legacy=legacy_run
        )
        if overwrite and state != NEW:
            return out.with_name(out.name + ".overwrite")
        if not resume and (out / "model").is_dir():
            raise DenoiseError(
                f"{out} already holds a finished run; pass --resume to extend it (with a larger "
                "training.max_steps), --overwrite to train a new one in its place, or choose another --out "
                "(nothing was changed)"
            )
        return out

    def _checkpoint_to_resume(self, resume: bool) -> Path | None:
        if self.accelerator.is_main_process:
            ckpt.remove_partial(self.out)
            if self.out != self.final_out:
                shutil.rmtree(self.out, ignore_errors=True)  # what an interrupted --overwrite left
        self.accelerator.wait_for_everyone()
        if not resume:
            latest = ckpt.latest_checkpoint(self.out)
            if latest is not None:
                raise DenoiseError(
                    f"{self.out} already holds checkpoints of a run (latest {latest.name}); pass --resume to "
                    "continue it, --overwrite to start a new one in its place, or choose another --out "
                    "(nothing was changed)"
                )
            return None
        latest = ckpt.resumable_checkpoint(self.out, self.accelerator.print)
        if latest is None:
            raise DenoiseError(f"--resume: {self.out} holds no finished checkpoint to continue from")
        return latest

    def _build(self) -> None:
        self.family = family_named(self.config.model.family)
        init = pretraining_init(self.config.init) if self.config.init else None
        corrupter = self._setup_data(init)
        self.objective.check(self.family, corrupter)
        pairs = any(op.pairs for op in corrupter.ops)
        spans = (
            numbers_spans(corrupter.ops) and self.family.span_head is not None and self.objective.reads_spans
        )
        module = self._setup_model(init, pairs, spans, corrupter.recipe.name)
        model = self.objective.kept(module)
        longest = self.family.longest_input(self.config.data.block_size, corrupter.ops)
        check_positions(model, longest)
        self._setup_optimizer(module)
        self.start_step, self.tokens = 0, 0
        self.flops = TrainingFlops(self.accelerator)
        if self.resume_from is not None:
            self._restore(self.resume_from)
        t = self.config.training
        multiple = padding_multiple(longest, t.compile, learned_positions(model, self.family))
        vocab, frame = self.vocab, self.family.frame
        steps = self.total_steps  # the corruption's schedules read each batch's step against it
        self.collator = Collator(corrupter, vocab, frame, t.seed, multiple, total_steps=steps)
        self.eval_collator = Collator(corrupter, vocab, frame, t.seed + 1, multiple, steps, evaluation=True)

    def _setup_data(self, init: Init | None):
        """The tokenizer and its ids, the prepared blocks and their split, and the corruption recipe built for
        them."""
        config, acc, t = self.config, self.accelerator, self.config.training
        data = config.data
        if init is not None and not (data.tokenizer or data.prepared):
            data = dataclasses.replace(data, tokenizer=str(init.tokenizer_dir))
        with acc.main_process_first():
            self.tokenizer, data_dir = prepare_data(data, acc.is_main_process)
        self.data_fingerprint = corpus_fingerprint(data_dir)
        if self.resume_from is not None:
            self._check_same_data(data_dir)
        if init is not None:
            check_tokenizer(init, self.tokenizer, f"the corpus of {data_dir}")
        self.blocks = load_blocks(data_dir)
        self.split = split_blocks(len(self.blocks), data.validation_blocks, t.global_batch, t.seed)
        recipe = corruption_recipe(config.corruption)
        self.vocab = Vocab.from_tokenizer(self.tokenizer)
        return recipe.build(self.vocab, self.family.kind, data.block_size, corpus=BlockCorpus(self.blocks))

    def _check_same_data(self, data_dir: Path) -> None:
        saved = ckpt.read_trainer_state(self.resume_from).get("data")
        if saved is not None and saved != self.data_fingerprint:
            raise DenoiseError(
                f"cannot resume {self.resume_from}: it was trained on a prepared corpus with fingerprint "
                f"{saved}, but {data_dir} now holds {self.data_fingerprint} (prepared again from other text or "
                "settings); resume with the corpus the run was trained on, or start a new run in another --out"
            )

    def _setup_model(self, init: Init | None, pairs: bool, spans: bool, recipe: str):
        """The module the objective trains around the init's model or a fresh one (with a pair head when the
        recipe builds sentence pairs, a span boundary head when it marks masked spans, unless the settings say
        otherwise), with a resumed checkpoint's weights."""
        settings = self.config.model
        settings = dataclasses.replace(settings, span_head=self._span_head(spans, recipe))
        if settings.pair_head is None:
            settings = dataclasses.replace(settings, pair_head=pairs)
        elif pairs and not settings.pair_head:
            raise DenoiseError(
                f"corruption recipe {recipe!r} builds sentence pairs but model.pair_head is false; drop the "
                "pair step or enable the pair head"
            )
        if init is not None:
            model = init_model(init, self.family, pairs, self.config.training.seed, settings.span_head)
        else:
            model = build_model(settings, Ids.of(self.tokenizer))
        module = self.objective.trained(model, self.family).train()
        if init is not None and init.model_dir is not None and not init.fresh:
            self.objective.adopt(module, init.model_dir.parent)
        if self.resume_from is not None:
            saved = ckpt.read_trainer_state(self.resume_from)
            ckpt.check_same_run(
                normalised_config(saved["config"]), self.config.to_mapping(), self.resume_from
            )
            if not ckpt.is_sharded(self.resume_from):  # shards are read into the model once it is sharded
                ckpt.load_weights_into(self.objective.kept(module), self.resume_from)
                self.objective.restore(module, self.resume_from)
        return module

    def _span_head(self, spans: bool, recipe: str) -> bool:
        """Whether the model has a span boundary head: as the settings say, else when the recipe leaves numbered
        spans that the objective reads (as the checkpoint it resumes has it, for one saved before the head)."""
        wanted = self.config.model.span_head
        if wanted and not spans:
            raise DenoiseError(
                f"model.span_head=true, but corruption recipe {recipe!r} with objective "
                f"{self.objective.name!r} trains no span boundary head (it needs span_mask, followed only by ops "
                "that keep tokens in place, and the denoising objective); drop the setting"
            )
        if wanted is None and self.resume_from is not None and not ckpt.is_sharded(self.resume_from):
            return ckpt.saved_model_config(self.resume_from).get("span_head", False)
        return spans if wanted is None else wanted

    def _setup_optimizer(self, model) -> None:
        """The optimizer and schedule, the model and optimizer prepared by accelerate (or the model sharded),
        and the step."""
        acc, o = self.accelerator, self.config.optimizer
        fused = o.fused if o.fused is not None else acc.device.type == "cuda"
        if self.config.training.activation_checkpointing:
            recompute_activations(model)
        if self.sharded:  # before the optimizer, which then holds the shards
            group = self.shard_group
            gather = torch.bfloat16 if self.config.training.precision == "bf16" else None
            model = sharding.shard(model, acc.device, group, gather)
            replicas = f" (in {acc.num_processes // group} groups that replicate it)" if self.hybrid else ""
            acc.print(f"each process holds 1/{group} of the weights, gradients and optimizer state{replicas}")
        optimizer = make_optimizer(
            parameter_groups(model, o.weight_decay), o.name, o.lr, o.betas, o.eps, fused=fused
        )
        self.scheduler = make_scheduler(
            optimizer, o.schedule, o.warmup_steps, self.total_steps, o.min_lr_ratio
        )
        if self.sharded:
            self.model = model
        else:
            self.model, prepared = acc.prepare(model, optimizer)
            optimizer = prepared.optimizer
        if self.config.training.compile:
            self.model = torch.compile(self.model)
        self.stepper = Stepper(
            optimizer,
            self.scheduler,
            self.precision,
            o.clip_norm,
            parameters=lambda: self.model.parameters(),
            clip=sharding.clip_grad_norm if self.sharded else acc.clip_grad_norm_,
        )
        self.states = self.stepper.state()  # what a checkpoint keeps of the step
        if self.config.training.sharding == "fsdp":  # kept whole, by parameter name, on any processes
            self.states["optimizer"] = sharding.OptimizerState(model, optimizer)

    def _restore(self, checkpoint: Path) -> None:
        state = ckpt.read_trainer_state(checkpoint)
        states = dict(self.states)
        if ckpt.is_sharded(checkpoint):
            sharding.load_shards(self.unwrapped, self.stepper.optimizer, checkpoint / ckpt.SHARDS)
            del states["optimizer"]
        elif self.sharded:  # the main process reads the whole optimizer state and hands out the shards
            path = ckpt.state_file(checkpoint, "optimizer")  # every process stops if it is missing
            states.pop("optimizer").load_sharded(path, self.accelerator.is_main_process)
        ckpt.read_states(checkpoint, states)
        self.start_step, self.tokens = state["step"], state["tokens"]
        self.flops.done = state.get("flops", 0.0)  # absent from checkpoints written before it was counted
        same_world = state.get("processes") == self.accelerator.num_processes
        if not (same_world and ckpt.restore_rng(checkpoint, self.accelerator.process_index)):
            self.accelerator.print(
                f"resuming on {self.accelerator.num_processes} process(es) from a checkpoint made on "
                f"{state.get('processes')}: data order is kept, dropout draws differ"
            )

    @property
    def unwrapped(self):
        """The module the optimizer trains (the model, or the model with its objective's companions)."""
        return self.accelerator.unwrap_model(self.model, keep_torch_compile=False)

    @property
    def kept(self):
        """The model the run keeps and exports."""
        return self.objective.kept(self.unwrapped)

    # -- one step ------------------------------------------------------------------------------------------

    def global_counts(self, counts: list[Counts]) -> Counts:
        local = Counts(0, 0)
        for each in counts:
            local = local + each
        if self.accelerator.num_processes == 1:
            return local
        summed = self.accelerator.reduce(
            torch.tensor([local.tokens, local.pairs, local.positions], device=self.accelerator.device), "sum"
        )
        return Counts(*(int(n) for n in summed))

    def train_step(self, micro_batches, counts: list[Counts]) -> dict:
        """Forward and backward of one global batch's micro-batches (``counts``: their predicted tokens)."""
        acc, world = self.accelerator, self.accelerator.num_processes
        total = self.global_counts(counts)
        losses = {}
        for j, batch in enumerate(micro_batches):
            inputs = model_inputs(batch, acc.device)
            last = j == len(micro_batches) - 1
            with self._gradient_sync(last):
                with self.precision.autocast():
                    loss, parts = self.objective.loss(self.model, inputs, counts[j], total)
                self.stepper.backward(loss * world)
            for name, value in {"loss": loss.detach(), **parts}.items():
                losses[name] = losses.get(name, 0.0) + value
        names = sorted(losses)
        summed = torch.stack([torch.as_tensor(losses[name], device=acc.device) for name in names])
        if world > 1:  # every process has the same parts: the objective's, for every micro-batch
            summed = acc.reduce(summed, "sum")
        return {**dict(zip(names, summed)), "counts": total}

    @property
    def hybrid(self) -> bool:
        """Whether groups of processes each hold a sharded copy and replicate each other."""
        return self.sharded and self.shard_group < self.accelerator.num_processes

    def _gradient_sync(self, enabled: bool):
        """Inside, backward passes average the gradients over all processes (``enabled``: the last
        micro-batch of a step) or, for the micro-batches before, keep them local; sharded gradients are
        reduce-scattered into each process's shard every time, and only their average across the groups of
        hybrid sharding waits for the last."""
        if self.sharded:
            return sharding.gradient_sync(self.unwrapped, enabled, self.hybrid)
        return nullcontext() if enabled else self.accelerator.no_sync(self.model)

    def _whole(self) -> dict[str, torch.nn.Module] | None:
        """The models a run keeps, with whole weights, on the main process (None elsewhere): ``model`` and the
        objective's companions (ELECTRA's generator) by folder name. Under sharding they are copies on the
        CPU gathered from the shards, which every process must call for."""
        parts = {"model": self.kept, **self.objective.companions(self.unwrapped)}
        if not self.sharded:
            return parts if self.accelerator.is_main_process else None
        weights = sharding.full_weights(self.unwrapped)
        if not self.accelerator.is_main_process:
            return None
        copies = {}
        for name, part in parts.items():
            with torch.device("meta"):  # no memory of its own: it takes the gathered tensors as they are
                copies[name] = family_of(part).model(part.config)
            copies[name].load_state_dict(sharding.weights_of(part, self.unwrapped, weights), assign=True)
        return copies

    # -- the run -------------------------------------------------------------------------------------------

    def run(self) -> dict:
        with rng.isolated():
            rng.restore(self.rng_state)
            return self._run()

    def _run(self) -> dict:
        acc, t = self.accelerator, self.config.training
        if acc.is_main_process:
            self.out.mkdir(parents=True, exist_ok=True)
            write_marker(self.out, COMMAND, self.config.name)
            (self.out / "config.yaml").write_text(yaml.safe_dump(self.config.to_mapping(), sort_keys=False))
        log = (
            MetricsLog(self.out, self.start_step if self.resume_from else None)
            if acc.is_main_process
            else None
        )
        acc.init_trackers(self.config.name, config=tracker_config(self.config.to_mapping()))
        sampler = StepSampler(
            self.split.train, self.layout, acc.process_index, t.seed, self.start_step, self.total_steps
        )
        loader = make_loader(self.blocks, sampler, self.collator, self.config.data.num_workers, t.seed)
        batches = iter(loader)
        bar = self._progress_bar()
        window = {"start": time.perf_counter(), "tokens": 0, "flops": 0.0}
        peak = peak_flops(
            torch.cuda.get_device_name() if acc.device.type == "cuda" else None, t.precision, t.peak_tflops
        )
        record, evaluation = {}, {}
        started = time.perf_counter()
        first_loss = None
        for step in range(self.start_step, self.total_steps):
            micro_batches = [next(batches) for _ in range(self.layout.accumulation)]
            # block tokens of the global batch, the unit of token budgets (not the tokens a model reads: a
            # GPT's source is one token, an encoder-decoder's is shorter than the block after infilling)
            window["tokens"] += self.layout.global_batch * self.config.data.block_size
            counts = [Counts.of(b) for b in micro_batches]
            step_flops = sum(self._flops(b, c.tokens) for b, c in zip(micro_batches, counts))
            window["flops"] += step_flops
            self.flops.add(step_flops)
            result = self.train_step(micro_batches, counts)
            loss = float(result["loss"])
            if not math.isfinite(loss):
                self._stop_non_finite(step + 1, loss)
            first_loss = loss if first_loss is None else first_loss
            grad_norm = self.stepper.step()
            self.tokens += self.layout.global_batch * self.config.data.block_size
            done = step + 1
            last = done == self.total_steps
            if bar is not None:
                bar.update(1)
            if done % t.log_interval == 0 or last:
                record = self._log_record(done, result, grad_norm, window, peak)
                window = {"start": time.perf_counter(), "tokens": 0, "flops": 0.0}
                self._emit(log, record, bar)
            if done % t.eval_interval == 0 or last:
                evaluation = self._evaluate(done)
                self._emit(log, evaluation, None)
            if done in snapshot_steps(t.snapshots, self.total_steps):
                self._snapshot(done)
            if done % t.checkpoint_interval == 0 or last:
                self._save(done)
        if bar is not None:
            bar.close()
        flops = self.flops.total()  # while the processes can still sum it
        self._export()
        acc.end_training()
        self._take_place()
        return {
            "out": str(self.final_out),
            "steps": self.total_steps,
            "tokens": self.tokens,
            "flops": flops,
            "first_loss": first_loss,
            "final_loss": record.get("loss"),
            "seconds": time.perf_counter() - started,
            **{k: v for k, v in evaluation.items() if k != "examples"},
        }

    def _flops(self, batch, predicted: int) -> float:
        return self.objective.flops(self.family, self.unwrapped, batch, predicted)

    def _log_record(self, step: int, result: dict, grad_norm, window: dict, peak: float | None) -> dict:
        elapsed = max(time.perf_counter() - window["start"], 1e-9)
        tokens = window["tokens"]
        record = {
            "step": step,
            "loss": float(result["loss"]),
            **{name: float(result[name]) for name in sorted(result) if name.endswith("_loss")},
            "lr": self.scheduler.get_last_lr()[0],
            "tokens": self.tokens,
            "flops": self.flops.total(),
            "tokens_per_s": tokens / elapsed,
            "model_tflops_per_s": window["flops"] / elapsed / 1e12,
        }
        if grad_norm is not None:
            record["grad_norm"] = float(grad_norm)
        if peak:
            record["mfu"] = window["flops"] / elapsed / peak
        # what the corruption's schedules gave this step (step - 1, counted from 0), e.g. corruption.mask.rate
        record.update({f"corruption.{k}": v for k, v in self.collator.scheduled_values(step - 1).items()})
        return record

    def _emit(self, log: MetricsLog | None, record: dict, bar) -> None:
        if log is not None:
            log.write(record)
        scalars = {k: v for k, v in record.items() if isinstance(v, (int, float)) and k != "step"}
        self.accelerator.log(scalars, step=record["step"])
        if bar is not None:
            bar.set_postfix(
                loss=f"{record['loss']:.3f}", lr=f"{record['lr']:.2e}", tok_s=f"{record['tokens_per_s']:.0f}"
            )

    def _evaluate(self, step: int) -> dict:
        acc, t = self.accelerator, self.config.training
        if not len(self.split.validation) or not t.eval_batches:
            return {"step": step}
        sampler = EvalSampler(
            self.split.validation,
            self.layout.micro_batch,
            t.eval_batches,
            acc.process_index,
            acc.num_processes,
            step,
            equal_shares=self.sharded,  # every process runs each forward: the shards gather together
        )
        loader = make_loader(self.blocks, sampler, self.eval_collator, 0, t.seed)
        with rng.isolated(t.seed + acc.process_index):  # the same draws at every evaluation (ELECTRA's
            # generator samples), and none taken from the training's generators
            metrics = {
                "step": step,
                **evaluate(self.model, loader, acc, self.precision.autocast, self.vocab.size),
            }
        if t.reconstructions and (acc.is_main_process or self.sharded) and len(sampler):
            shown = self._examples(step)
            if acc.is_main_process:
                metrics.update(shown)
        return metrics

    def _examples(self, step: int) -> dict:
        """Held-out blocks beside what the model makes of them (the main process's first evaluation batch);
        under sharding every process runs them, on the same blocks."""
        t, device = self.config.training, self.accelerator.device
        first_batch = EvalSampler(self.split.validation, self.layout.micro_batch, 1, 0, 1, step)
        first = next(iter(make_loader(self.blocks, first_batch, self.eval_collator, 0, t.seed)))
        with sharding.gathered(self.unwrapped) if self.sharded else nullcontext():
            if self.family.generates:
                shown = t.reconstructions
                return reconstructions(self.kept, first, self.tokenizer, shown, device, not self.sharded)
            with rng.isolated(t.seed):
                return masked_fills(self.unwrapped, first, self.tokenizer, t.reconstructions, device)

    def _stop_non_finite(self, step: int, loss: float) -> None:
        latest = ckpt.latest_checkpoint(self.out)
        kept = (
            f"the last good checkpoint, {latest}, is intact"
            if latest
            else "no checkpoint had been written yet"
        )
        self.accelerator.end_training()
        raise NonFiniteLoss(
            f"loss is {loss} at step {step}; stopped before the optimizer step, {kept}. Lower optimizer.lr, "
            "raise warmup, or train in bf16 rather than fp16, then resume with --resume"
        )

    def _save(self, step: int) -> None:
        acc = self.accelerator
        flops = self.flops.total()  # every process takes part
        staging = ckpt.staging_dir(self.out, step)
        if acc.is_main_process:
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
        acc.wait_for_everyone()
        ckpt.write_rng(staging, acc.process_index)
        owners = self.states
        if self.sharded and self.config.training.sharded_checkpoints:  # each process writes its own shards
            sharding.save_shards(self.unwrapped, self.stepper.optimizer, staging / ckpt.SHARDS)
            owners = {name: owner for name, owner in owners.items() if name != "optimizer"}
            models = {}
        else:
            models = self._whole()
        states = {
            name: owner.state_dict()
            for name, owner in owners.items()
            if acc.is_main_process or self.sharded  # gathering a sharded state takes every process
        }
        if acc.is_main_process:
            ckpt.write_shared(staging, models, states)
        acc.wait_for_everyone()
        if acc.is_main_process:
            state = {
                "step": step,
                "tokens": self.tokens,
                "flops": flops,
                "processes": acc.num_processes,
                "config": self.config.to_mapping(),
                "data": self.data_fingerprint,
            }
            ckpt.write_trainer(staging, state)
            ckpt.publish(staging, self.out, step, self.config.training.keep_checkpoints)
        acc.wait_for_everyone()

    def _snapshot(self, step: int) -> None:
        """The model and tokenizer as they are at ``step``, in ``OUT/snapshots/step-N/`` with what it cost."""
        flops = self.flops.total()  # every process takes part
        models = self._whole()
        if self.accelerator.is_main_process:
            record = {
                "step": step,
                "fraction": step / self.total_steps,
                "tokens": self.tokens,
                "flops": flops,
            }
            with staged_folder(snapshot_dir(self.out, step)) as staging:
                save_models(models, staging)
                self.tokenizer.save(staging / "tokenizer")
                write_json(staging / SNAPSHOT_FILE, record)
        self.accelerator.wait_for_everyone()

    def _export(self) -> None:
        """The final model and its tokenizer, ready for fine-tuning: ``OUT/model`` and ``OUT/tokenizer``."""
        models = self._whole()
        if self.accelerator.is_main_process:
            save_models(models, self.out)
            self.tokenizer.save(self.out / "tokenizer")
        self.accelerator.wait_for_everyone()

    def _take_place(self) -> None:
        """A run trained with ``overwrite`` beside ``out`` replaces it, now that it is complete."""
        if self.out != self.final_out:
            if self.accelerator.is_main_process:
                replace_folder(self.out, self.final_out)
            self.accelerator.wait_for_everyone()

    def _progress_bar(self):
        if not (self.progress and self.accelerator.is_main_process):
            return None
        from tqdm.auto import tqdm

        return tqdm(
            total=self.total_steps,
            initial=self.start_step,
            desc=self.config.name,
            unit="step",
            dynamic_ncols=True,
        )


def save_models(models: dict, folder: Path) -> None:
    """Each model in its own folder of ``folder``: ``model/``, and the objective's companions beside it."""
    for name, model in models.items():
        save_model(model, folder / name)


def tracker_config(mapping: dict) -> dict:
    """Hyperparameters as TensorBoard takes them: flat keys, scalar or string values."""
    flat = ckpt.flatten(mapping)
    return {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in flat.items()}


def pretrain(
    config: PretrainConfig,
    out: str | Path,
    resume: bool = False,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Pre-train as ``config`` says, writing to ``out`` (see :mod:`denoise.outputs` for which folders it
    takes); returns a summary (steps, losses, eval metrics)."""
    return Pretraining(config, out, resume=resume, progress=progress, overwrite=overwrite).run()
