"""The model card of an exported model: ``README.md`` in the Hub's format (a YAML metadata block, then
Markdown), written from what the pre-training run recorded.

A card says what the model is (family, size, parameters, shape, vocabulary), how it was pre-trained
(corruption recipe with its settings, objective, corpus and its fingerprint, tokens, steps, final losses and
held-out accuracy beside always guessing the most frequent token) and how to load it. A model folder that is
not inside a run gets the first part only.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from torch import nn

import denoise
from denoise.models.families import family_of

CARD_FILE = "README.md"
RUN_CONFIG = "config.yaml"  # what marks a `denoise pretrain` run folder
# the transformers pipeline and class each family's exported model serves, and a fine-tuned one's by task
PIPELINES = {"encoder": "fill-mask", "encoder_decoder": "text2text-generation", "decoder": "text-generation"}
CLASSES = {
    "encoder": "AutoModelForMaskedLM",
    "encoder_decoder": "AutoModelForSeq2SeqLM",
    "decoder": "AutoModelForCausalLM",
}
TASK_PIPELINES = {
    "classification": ("text-classification", "AutoModelForSequenceClassification"),
    "regression": ("text-classification", "AutoModelForSequenceClassification"),
    "tagging": ("token-classification", "AutoModelForTokenClassification"),
    "qa": ("question-answering", "AutoModelForQuestionAnswering"),
}


def run_of(model_dir: Path) -> Path | None:
    """The pre-training run a model folder belongs to (``RUN/model``), or None."""
    run = Path(model_dir).resolve().parent
    return run if (run / RUN_CONFIG).is_file() and (run / "checkpoints").is_dir() else None


def run_record(run: Path) -> dict:
    """What the run recorded: its config, its newest checkpoint's counts and data fingerprint, its last
    training and evaluation lines."""
    from denoise.train.checkpoints import TRAINER_FILE, latest_checkpoint
    from denoise.train.metrics import read_metrics

    record = {"config": yaml.safe_load((run / RUN_CONFIG).read_text())}
    latest = latest_checkpoint(run)
    if latest is not None:
        record["trainer"] = json.loads((latest / TRAINER_FILE).read_text())
    lines = read_metrics(run) if (run / "metrics.jsonl").is_file() else []
    record["train"] = next((line for line in reversed(lines) if "loss" in line), {})
    record["first"] = next((line for line in lines if "loss" in line), {})
    record["eval"] = next((line for line in reversed(lines) if "eval_loss" in line), {})
    return record


def model_card(
    model: nn.Module, model_dir: str | Path, name: str | None = None, task: dict | None = None
) -> str:
    """The card of ``model`` (saved in ``model_dir``, perhaps inside a run); ``task``: what a fine-tuning
    recorded (``kind``, ``labels``, ``test`` metrics), for a model exported with its task head."""
    family = family_of(model)
    run = run_of(Path(model_dir))
    record = run_record(run) if run is not None else None
    config = record["config"] if record else {}
    title = name or config.get("name") or Path(model_dir).resolve().name
    tags = ["denoise", family.name]
    corruption = config.get("corruption")
    if isinstance(corruption, str):
        tags.append(corruption)
    pipeline, model_class = PIPELINES[family.kind], CLASSES[family.kind]
    if task:
        pipeline, model_class = TASK_PIPELINES[task["kind"]]
    meta = {"library_name": "transformers", "pipeline_tag": pipeline, "tags": tags}
    parts = [f"---\n{yaml.safe_dump(meta, sort_keys=False)}---", f"# {title}", model_section(model, family)]
    if record:
        parts.append(pretraining_section(record))
    if task:
        parts.append(fine_tuning_section(task))
    parts.append(usage_section(model_class))
    parts.append(f"Written by denoise {denoise.__version__}.")
    return "\n\n".join(parts) + "\n"


def model_section(model: nn.Module, family) -> str:
    stacks = family.stack_configs(model.config)
    first = stacks[0]
    layers = "+".join(str(stack.num_layers) for stack in stacks)
    positions = first.positions if first.positions != "learned" else f"learned, {first.max_positions}"
    rows = [
        ("family", f"{family.name} ({family.kind.replace('_', '-')})"),
        ("parameters", f"{sum(p.numel() for p in model.parameters()):,}"),
        ("layers", layers),
        ("width / heads / feed-forward", f"{first.d_model} / {first.num_heads} / {first.d_ff}"),
        ("vocabulary", f"{first.vocab_size:,} (denoise's SentencePiece tokenizer)"),
        ("positions", positions),
    ]
    table = "\n".join(f"| {key} | {value} |" for key, value in rows)
    return f"## Model\n\n| | |\n|---|---|\n{table}"


def pretraining_section(record: dict) -> str:
    from denoise.train.loop import corruption_recipe

    config, trainer = record["config"], record.get("trainer", {})
    recipe = corruption_recipe(config["corruption"])
    steps = "\n".join(
        f"  - `{step.op}`" + "".join(f", {k}: {flow(v)}" for k, v in step.to_mapping().items())
        for step in recipe.steps
    )
    objective = config.get("objective")
    objective = objective.get("name") if isinstance(objective, dict) else objective
    data = config["data"]
    corpus = (
        ", ".join(data["corpus"])
        if data.get("corpus")
        else "the embedded corpus (Shakespeare and the King James Bible)"
    )
    lines = [
        f"- corruption recipe `{recipe.name}`{': ' + recipe.description if recipe.description else ''}",
        steps,
        f"- objective: {objective or 'denoising'}",
        f"- corpus: {corpus}; data fingerprint `{trainer.get('data', 'unknown')}`; blocks of {data['block_size']} tokens",
    ]
    if trainer:
        lines.append(
            f"- {trainer['step']:,} steps, {trainer['tokens']:,} tokens, {trainer['flops']:.3g} model FLOPs "
            f"(forward and backward) on {trainer['processes']} process(es)"
        )
    train, evaluation = record["train"], record["eval"]
    if train:
        first = record["first"]
        lines.append(
            f"- training loss {first['loss']:.3f} at step {first['step']:,}, {train['loss']:.3f} at step "
            f"{train['step']:,}"
        )
    if evaluation:
        held_out = f"- held-out loss {evaluation['eval_loss']:.3f}"
        if "eval_accuracy" in evaluation:
            held_out += f", accuracy {100 * evaluation['eval_accuracy']:.1f}%"
            if "eval_frequent_accuracy" in evaluation:
                held_out += (
                    f" (always the most frequent token: {100 * evaluation['eval_frequent_accuracy']:.1f}%)"
                )
        lines.append(held_out)
    return "## Pre-training\n\n" + "\n".join(lines)


def flow(value) -> str:
    """A setting as a recipe writes it in one line (``{schedule: step, points: [[0.0, 0.4]]}``)."""
    return (
        yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip().removesuffix("\n...").strip()
    )


def fine_tuning_section(task: dict) -> str:
    lines = [f"- task: {task['kind']}"]
    if task.get("labels"):
        lines.append(f"- labels: {', '.join(str(label) for label in task['labels'])}")
    metrics = {k: v for k, v in (task.get("test") or {}).items() if isinstance(v, (int, float))}
    if metrics:
        lines.append("- test split: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
    return "## Fine-tuning\n\n" + "\n".join(lines)


def usage_section(model_class: str) -> str:
    return (
        "## Use\n\n```python\n"
        f"from transformers import AutoTokenizer, {model_class}\n\n"
        'tokenizer = AutoTokenizer.from_pretrained("PATH")\n'
        f'model = {model_class}.from_pretrained("PATH")\n```\n\n'
        "The tokenizer encodes text to the ids the model was trained on."
    )


def write_model_card(
    model: nn.Module, model_dir: str | Path, out_dir: str | Path, task: dict | None = None
) -> Path:
    path = Path(out_dir) / CARD_FILE
    path.write_text(model_card(model, model_dir, task=task), encoding="utf-8")
    return path
