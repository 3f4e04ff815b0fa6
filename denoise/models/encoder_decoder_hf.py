"""transformers checkpoints of encoder-decoder families to and from denoise models, family by family.

A family describes its checkpoints in a :class:`Seq2SeqLayout`: its class name in transformers, the prefix of
its base model's weights, its key map, the weights denoise has no use for, and how its configs translate.
:func:`load` reads a checkpoint directory (safetensors or ``.bin``, sharded or not) or an instantiated model
and maps every weight, failing with the names of missing or unexpected weights; :func:`save` writes a
directory that ``from_pretrained`` loads. One token table serves the encoder, the decoder and (when tied)
the LM head; the head counts as tied when the checkpoint has no ``lm_head.weight`` or one equal to the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from denoise.errors import DenoiseError
from denoise.files import staged_folder
from denoise.models.encoder_decoder import EncoderDecoder, EncoderDecoderConfig
from denoise.models.key_maps import KeyMap, theirs
from denoise.models.transformers_io import describe, import_transformers, load_hf_config, read_weights

TOP_LEVEL = ("lm_head.weight", "final_logits_bias")  # outside a base-model prefix such as BART's "model."
EMBEDDING_ALIASES = ("shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight")
ACTIVATIONS_FROM_HF = {
    "relu": "relu",
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
}


@dataclass(frozen=True)
class Seq2SeqLayout:
    """How one family's transformers checkpoints are laid out."""

    model_type: str  # transformers' model_type, e.g. "bart"
    architecture: str  # the class saved checkpoints name, e.g. "BartForConditionalGeneration"
    model: type[EncoderDecoder]  # the denoise class its checkpoints become
    prefix: str  # before the base model's weight names in the task model ("model." for BART)
    key_map: Callable[[EncoderDecoderConfig], KeyMap]  # denoise name -> name without the prefix
    ignored: tuple[str, ...]  # checkpoint weights denoise does not use
    config_from_hf: Callable[[object, bool], EncoderDecoderConfig]  # (hf config, head tied) -> config
    config_to_hf: Callable[[EncoderDecoderConfig], object]  # config -> hf config
    check: Callable[[EncoderDecoderConfig], None]  # refuse what the architecture cannot express


def activation_from_hf(name: str) -> str:
    if name not in ACTIVATIONS_FROM_HF:
        raise DenoiseError(
            f"unsupported activation {name!r}; denoise converts {', '.join(ACTIVATIONS_FROM_HF)}"
        )
    return ACTIVATIONS_FROM_HF[name]


def decoder_start(config, fallback: int | None = None) -> int:
    """The decoder start id of a transformers config, else the beginning-of-sequence id transformers falls
    back to, else ``fallback``."""
    start = getattr(config, "decoder_start_token_id", None)
    start = getattr(config, "bos_token_id", None) if start is None else start
    start = fallback if start is None else start
    if start is None:
        raise DenoiseError("the checkpoint's config names no decoder_start_token_id (nor bos_token_id)")
    return start


def single(value) -> int:
    """One id where a config may hold a list of them (several end-of-sequence ids)."""
    return value[0] if isinstance(value, (list, tuple)) else value


def shared_settings(config: EncoderDecoderConfig, layout: Seq2SeqLayout) -> dict:
    """The transformers config settings every encoder-decoder writes alike."""
    return {
        "vocab_size": config.vocab_size,
        "d_model": config.encoder.d_model,
        "pad_token_id": config.pad_id,
        "eos_token_id": config.eos_id,
        "decoder_start_token_id": config.decoder_start_id,
        "architectures": [layout.architecture],
    }


def require(condition: bool, layout: Seq2SeqLayout, what: str) -> None:
    if not condition:
        raise DenoiseError(f"cannot write this model as {layout.architecture}: {what}")


def differing(config: EncoderDecoderConfig, fields: tuple[str, ...]) -> str | None:
    """The first of ``fields`` in which the encoder and the decoder differ."""
    return next((f for f in fields if getattr(config.encoder, f) != getattr(config.decoder, f)), None)


# Reading checkpoints


def checkpoint_weights(model_or_dir, prefix: str) -> tuple[dict[str, torch.Tensor], str]:
    """The checkpoint's tensors (copies, for a model) under names without ``prefix``, and the prefix as the
    checkpoint spells it (empty when its names lack it)."""
    if hasattr(model_or_dir, "state_dict"):
        weights = {name: tensor.clone() for name, tensor in model_or_dir.state_dict().items()}
    else:
        weights = read_weights(Path(model_or_dir))
    found = prefix if prefix and any(k.startswith(prefix) for k in weights) else ""
    return {k.removeprefix(found): v for k, v in weights.items()}, found


def lm_head_is_tied(weights: dict[str, torch.Tensor], table: torch.Tensor | None) -> bool:
    head = weights.get("lm_head.weight")
    return head is None or (table is not None and head.shape == table.shape and torch.equal(head, table))


def token_table(weights: dict[str, torch.Tensor], source: str) -> torch.Tensor | None:
    """The token table the stacks read: their own ``embed_tokens`` when the checkpoint has them (``shared`` is
    then unused by transformers), else ``shared``. denoise shares one table, so the two must be equal."""
    used = [weights[name] for name in EMBEDDING_ALIASES[1:] if name in weights]
    if not used:
        return weights.get("shared.weight")
    if len(used) == 2 and not (used[0].shape == used[1].shape and torch.equal(used[0], used[1])):
        raise DenoiseError(
            f"{source} has different encoder and decoder token embeddings; denoise models share one table"
        )
    return used[0]


def weight_names(layout: Seq2SeqLayout, config: EncoderDecoderConfig) -> dict[str, str]:
    """Our parameter and buffer names -> the checkpoint's (without the prefix), one name per tensor: the
    shared token table stands under ``shared.weight`` only."""
    with torch.device("meta"):
        model = layout.model(config)
    table = layout.key_map(config)
    names = {}
    for name in model.state_dict():
        if name.endswith("embeddings.tokens.weight"):
            continue  # the shared table, under shared.weight
        mapped = theirs(name, table)
        if mapped is None:
            raise DenoiseError(f"{layout.architecture} has no weight for denoise's {name}")
        names[name] = mapped
    return names


def check_names(
    weights: dict, names: dict[str, str], layout: Seq2SeqLayout, source: str, prefix: str
) -> None:
    """Fail naming (as the checkpoint spells them) the weights the model needs and the checkpoint lacks,
    and those it has that map to nothing."""

    def spelled(name: str) -> str:
        return name if name in TOP_LEVEL else prefix + name

    optional = {"final_logits_bias"}
    missing = [their for our, their in names.items() if their not in weights and our not in optional]
    known = set(names.values()) | set(EMBEDDING_ALIASES) | set(layout.ignored) | {"lm_head.weight"}
    unexpected = sorted(name for name in weights if name not in known)
    problems = []
    if missing:
        problems.append(f"missing weights: {describe([spelled(n) for n in missing])}")
    if unexpected:
        problems.append(f"unexpected weights: {describe([spelled(n) for n in unexpected])}")
    if problems:
        raise DenoiseError(
            f"{source} is not a {layout.architecture} checkpoint denoise can map ({'; '.join(problems)})"
        )


def check_model_type(hf_config, layout: Seq2SeqLayout) -> None:
    found = getattr(hf_config, "model_type", None)
    if found != layout.model_type:
        architectures = ", ".join(getattr(hf_config, "architectures", None) or []) or "no architecture named"
        raise DenoiseError(f"cannot read a {found!r} checkpoint ({architectures}) as {layout.architecture}")


def load(layout: Seq2SeqLayout, model_or_dir) -> EncoderDecoder:
    """A denoise model of ``layout``'s family with every weight of a transformers checkpoint (a directory or
    a model)."""
    hf_config = load_hf_config(model_or_dir)
    check_model_type(hf_config, layout)
    weights, prefix = checkpoint_weights(model_or_dir, layout.prefix)
    source = str(model_or_dir) if isinstance(model_or_dir, (str, Path)) else type(model_or_dir).__name__
    table = token_table(weights, source)
    if table is not None:
        weights["shared.weight"] = table
    config = layout.config_from_hf(hf_config, lm_head_is_tied(weights, table))
    names = weight_names(layout, config)
    check_names(weights, names, layout, source, prefix)
    state = {our: weights[their] for our, their in names.items() if their in weights}
    if config.final_logits_bias:
        bias = state.get("final_logits_bias", weights["shared.weight"].new_zeros(config.vocab_size))
        state["final_logits_bias"] = bias.reshape(-1)
    return model_with_state(layout.model, config, state)


def model_with_state(
    model_type: type[EncoderDecoder], config: EncoderDecoderConfig, state: dict[str, torch.Tensor]
) -> EncoderDecoder:
    """A model built on the meta device, then given ``state`` (one entry per distinct tensor; the shared
    token table under ``shared.weight``)."""
    with torch.device("meta"):
        model = model_type(config)
    full = {}
    for name, expected in model.state_dict(keep_vars=True).items():
        source = state["shared.weight"] if name.endswith("embeddings.tokens.weight") else state[name]
        if source.shape != expected.shape:
            raise DenoiseError(
                f"weight {name} has shape {tuple(source.shape)}; the config asks for {tuple(expected.shape)}"
            )
        full[name] = source
    model.load_state_dict(full, strict=True, assign=True)
    return model


# Writing checkpoints


def hf_state(layout: Seq2SeqLayout, model: EncoderDecoder) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors. The token table is written under each stack's name and the LM head even
    when tied, so that transformers ties or unties them from the weights whatever its version makes of
    ``tie_word_embeddings``."""
    ours = model.state_dict()
    state = {
        (name if name in TOP_LEVEL else layout.prefix + name): ours[our_name]
        for our_name, name in weight_names(layout, model.config).items()
    }
    if "final_logits_bias" in state:
        state["final_logits_bias"] = state["final_logits_bias"].reshape(1, -1)
    for name in EMBEDDING_ALIASES[1:]:
        state[layout.prefix + name] = model.shared.weight
    state["lm_head.weight"] = model.shared.weight if model.lm_head is None else model.lm_head.weight
    return {name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in state.items()}


def save(layout: Seq2SeqLayout, model: EncoderDecoder, out_dir: str | Path) -> Path:
    """Write ``model`` as a transformers checkpoint directory (replacing ``out_dir`` only once the new files
    are complete)."""
    from safetensors.torch import save_file

    if not isinstance(model, layout.model):
        raise DenoiseError(
            f"{layout.architecture} is written from {layout.model.__name__} models, not {type(model).__name__}"
        )
    config = model.config
    for side in ("encoder", "decoder"):
        stack = getattr(config, side)
        require(stack.type_vocab_size == 0, layout, f"the {side} has token types")
    layout.check(config)
    hf_config = layout.config_to_hf(config)
    transformers = import_transformers()
    out = Path(out_dir)
    with staged_folder(out) as staging:
        hf_config.save_pretrained(staging)
        transformers.GenerationConfig.from_model_config(hf_config).save_pretrained(staging)
        save_file(hf_state(layout, model), str(staging / "model.safetensors"), metadata={"format": "pt"})
    return out


# Fine-tuned models


def decoder_task_class(family: str, classes: dict[str, str], kind: str, mode: str, head) -> tuple[str, dict]:
    """The transformers class (``classes``: task kind -> class) that a fine-tuned encoder-decoder exports as
    when its head reads the decoder over the input shifted right (mode ``encoder_decoder``, as transformers'
    classes read it), with where the head's weights go; refuses by name what that class cannot hold: another
    kind or mode, a classifier other than the end token's state through a dense layer, a QA head over a
    window of tokens."""
    task = "classification" if kind == "regression" else kind
    if task not in classes or mode != "encoder_decoder":
        writes = "; ".join(f"{name}: {task} in mode encoder_decoder" for task, name in classes.items())
        raise DenoiseError(
            f"a {family} fine-tuned for {kind} in mode {mode} has no transformers class denoise writes "
            f"({writes}); pass --backbone-only"
        )
    architecture = classes[task]
    if task == "qa":
        if head.window:
            raise DenoiseError(
                f"this QA head reads a window of {head.window} tokens each side; {architecture} reads one: "
                "fine-tune with qa.window=0 to export it, or pass --backbone-only"
            )
        return architecture, {"output": "qa_outputs"}
    if head.pooling != "last" or head.dense is None:
        how = "a linear probe" if head.dense is None else f"{head.pooling} pooling"
        raise DenoiseError(
            f"this classifier reads the decoder states by {how}; {architecture} reads the end token's through a "
            "dense layer: fine-tune with classification.pooling=last (and no probe) to export it, or pass "
            "--backbone-only"
        )
    return architecture, {"dense": "classification_head.dense", "output": "classification_head.out_proj"}
