"""BART and T5 checkpoints of transformers to and from denoise :class:`EncoderDecoder` models.

``seq2seq_from_hf`` reads a checkpoint directory (safetensors or ``.bin``, sharded or not) or an instantiated
``BartForConditionalGeneration`` / ``T5ForConditionalGeneration`` and maps every weight, failing with the
names of missing or unexpected weights. T5 v1.0 (ReLU) and v1.1 (gated GELU) are covered, with the LM head
tied to the token table or not; the head counts as tied when the checkpoint has no ``lm_head.weight`` or one
equal to the token table. ``seq2seq_to_hf`` writes a directory that ``from_pretrained`` loads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import torch

from denoise.errors import DenoiseError
from denoise.files import staged_folder
from denoise.models.encoder_decoder import EncoderDecoder, EncoderDecoderConfig
from denoise.models.hf import import_transformers
from denoise.models.layers import TransformerConfig

SUPPORTED = {"bart": "BartForConditionalGeneration", "t5": "T5ForConditionalGeneration"}
HF_ACTIVATIONS = {
    "relu": "relu",
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
}
IGNORED_KEYS = {
    "bart": ("encoder.version", "decoder.version"),
    "t5": ("decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight",),
}
TOP_LEVEL = ("lm_head.weight", "final_logits_bias")  # outside BART's "model." prefix
EMBEDDING_ALIASES = ("shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight")


# Reading checkpoints


def load_hf_config(model_or_dir):
    if hasattr(model_or_dir, "config") and hasattr(model_or_dir, "state_dict"):
        return model_or_dir.config
    directory = Path(model_or_dir)
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(f"no transformers checkpoint in {directory} (config.json is missing)")
    return import_transformers().AutoConfig.from_pretrained(directory)


def read_weights(directory: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint directory: ``model.safetensors``, ``pytorch_model.bin`` or their shards."""
    from safetensors.torch import load_file

    for index_name, loader in (
        ("model.safetensors.index.json", load_file),
        ("pytorch_model.bin.index.json", load_bin),
    ):
        if (directory / index_name).is_file():
            shards = sorted(set(json.loads((directory / index_name).read_text())["weight_map"].values()))
            weights = {}
            for shard in shards:
                weights.update(loader(str(directory / shard)))
            return weights
    if (directory / "model.safetensors").is_file():
        return load_file(str(directory / "model.safetensors"))
    if (directory / "pytorch_model.bin").is_file():
        return load_bin(str(directory / "pytorch_model.bin"))
    raise FileNotFoundError(f"no weights in {directory} (model.safetensors or pytorch_model.bin)")


def load_bin(path: str) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


def checkpoint_weights(model_or_dir, family: str) -> tuple[dict[str, torch.Tensor], str]:
    """The checkpoint's tensors (copies, for a model) under names without the ``model.`` prefix of BART's
    task models, and that prefix (empty when absent)."""
    if hasattr(model_or_dir, "state_dict"):
        weights = {name: tensor.clone() for name, tensor in model_or_dir.state_dict().items()}
    else:
        weights = read_weights(Path(model_or_dir))
    prefix = "model." if family == "bart" and any(k.startswith("model.") for k in weights) else ""
    return {k.removeprefix(prefix): v for k, v in weights.items()}, prefix


# Configurations


def activation_from_hf(name: str) -> str:
    if name not in HF_ACTIVATIONS:
        raise DenoiseError(f"unsupported activation {name!r}; denoise converts {', '.join(HF_ACTIVATIONS)}")
    return HF_ACTIVATIONS[name]


def single_eos(value) -> int:
    return value[0] if isinstance(value, (list, tuple)) else value


def bart_stack(config, side: str) -> TransformerConfig:
    return TransformerConfig(
        vocab_size=config.vocab_size,
        d_model=config.d_model,
        num_layers=getattr(config, f"{side}_layers"),
        num_heads=getattr(config, f"{side}_attention_heads"),
        d_ff=getattr(config, f"{side}_ffn_dim"),
        activation=activation_from_hf(config.activation_function),
        norm_eps=1e-5,
        positions="learned",
        max_positions=config.max_position_embeddings,
        position_offset=2,
        embedding_norm=True,
        embedding_scale=math.sqrt(config.d_model) if config.scale_embedding else 1.0,
        dropout=config.dropout,
        attention_dropout=config.attention_dropout,
        activation_dropout=config.activation_dropout,
        pad_id=config.pad_token_id,
    )


def t5_stack(config, side: str) -> TransformerConfig:
    return TransformerConfig(
        vocab_size=config.vocab_size,
        d_model=config.d_model,
        num_layers=config.num_layers if side == "encoder" else config.num_decoder_layers,
        num_heads=config.num_heads,
        d_ff=config.d_ff,
        d_kv=config.d_kv,
        activation=activation_from_hf(config.dense_act_fn),
        gated=config.is_gated_act,
        pre_norm=True,
        norm_eps=config.layer_norm_epsilon,
        positions="relative",
        relative_buckets=config.relative_attention_num_buckets,
        relative_max_distance=config.relative_attention_max_distance,
        embedding_norm=False,
        final_norm=True,
        bias=False,
        scale_attention=False,
        dropout=config.dropout_rate,
        attention_dropout=config.dropout_rate,
        pad_id=config.pad_token_id,
    )


def check_bart_options(config) -> None:
    """Options some BART-type configs carry (mBART's layout) that BART itself does not have."""
    for option in ("normalize_before", "add_final_layer_norm", "normalize_embedding"):
        expected = option == "normalize_embedding"
        if getattr(config, option, expected) != expected:
            raise DenoiseError(f"unsupported BART option {option}={getattr(config, option)!r}")


def decoder_start(config) -> int:
    """The decoder start id, else the beginning-of-sequence id transformers falls back to, else (T5) the pad
    id T5 starts with."""
    start = getattr(config, "decoder_start_token_id", None)
    start = getattr(config, "bos_token_id", None) if start is None else start
    start = config.pad_token_id if start is None and config.model_type == "t5" else start
    if start is None:
        raise DenoiseError("the checkpoint's config names no decoder_start_token_id (nor bos_token_id)")
    return start


def config_from_hf(config, tied: bool) -> EncoderDecoderConfig:
    family = config.model_type
    if family == "bart":
        check_bart_options(config)
        stacks = bart_stack(config, "encoder"), bart_stack(config, "decoder")
        extra = {"final_logits_bias": True}
    else:
        stacks = t5_stack(config, "encoder"), t5_stack(config, "decoder")
        rescale = getattr(config, "scale_decoder_outputs", config.tie_word_embeddings)
        extra = {"rescale_output": bool(rescale)}
    return EncoderDecoderConfig(
        encoder=stacks[0],
        decoder=stacks[1],
        tie_embeddings=tied,
        decoder_start_id=decoder_start(config),
        eos_id=single_eos(config.eos_token_id),
        **extra,
    )


def supported_family(config) -> str:
    family = getattr(config, "model_type", None)
    if family not in SUPPORTED:
        architectures = ", ".join(getattr(config, "architectures", None) or []) or "no architecture named"
        raise DenoiseError(
            f"cannot convert a {family!r} checkpoint ({architectures}) to an encoder-decoder model; "
            f"seq2seq_from_hf converts {' and '.join(SUPPORTED.values())}"
        )
    return family


# Weight names


def attention_names(ours: str, theirs: str, family: str, bias: bool) -> Iterator[tuple[str, str]]:
    projections = (
        {"query": "q_proj", "key": "k_proj", "value": "v_proj", "output": "out_proj"}
        if family == "bart"
        else {"query": "q", "key": "k", "value": "v", "output": "o"}
    )
    for our_name, their_name in projections.items():
        yield f"{ours}.{our_name}.weight", f"{theirs}.{their_name}.weight"
        if bias:
            yield f"{ours}.{our_name}.bias", f"{theirs}.{their_name}.bias"


def weight_and_bias(ours: str, theirs: str, bias: bool) -> Iterator[tuple[str, str]]:
    yield f"{ours}.weight", f"{theirs}.weight"
    if bias:
        yield f"{ours}.bias", f"{theirs}.bias"


def bart_layer_names(side: str, index: int, decoder: bool) -> Iterator[tuple[str, str]]:
    ours, theirs = f"{side}.layers.{index}", f"{side}.layers.{index}"
    self_name = "self_attention" if decoder else "attention"
    yield from attention_names(f"{ours}.{self_name}", f"{theirs}.self_attn", "bart", True)
    yield from weight_and_bias(f"{ours}.{self_name}_norm", f"{theirs}.self_attn_layer_norm", True)
    if decoder:
        yield from attention_names(f"{ours}.cross_attention", f"{theirs}.encoder_attn", "bart", True)
        yield from weight_and_bias(f"{ours}.cross_attention_norm", f"{theirs}.encoder_attn_layer_norm", True)
    yield from weight_and_bias(f"{ours}.feed_forward.input", f"{theirs}.fc1", True)
    yield from weight_and_bias(f"{ours}.feed_forward.output", f"{theirs}.fc2", True)
    yield from weight_and_bias(f"{ours}.feed_forward_norm", f"{theirs}.final_layer_norm", True)


def t5_layer_names(side: str, index: int, decoder: bool, gated: bool) -> Iterator[tuple[str, str]]:
    ours, theirs = f"{side}.layers.{index}", f"{side}.block.{index}.layer"
    self_name = "self_attention" if decoder else "attention"
    yield from attention_names(f"{ours}.{self_name}", f"{theirs}.0.SelfAttention", "t5", False)
    yield f"{ours}.{self_name}_norm.weight", f"{theirs}.0.layer_norm.weight"
    feed_forward = f"{theirs}.{2 if decoder else 1}"
    if decoder:
        yield from attention_names(f"{ours}.cross_attention", f"{theirs}.1.EncDecAttention", "t5", False)
        yield f"{ours}.cross_attention_norm.weight", f"{theirs}.1.layer_norm.weight"
    if gated:
        yield f"{ours}.feed_forward.input.weight", f"{feed_forward}.DenseReluDense.wi_0.weight"
        yield f"{ours}.feed_forward.gate.weight", f"{feed_forward}.DenseReluDense.wi_1.weight"
    else:
        yield f"{ours}.feed_forward.input.weight", f"{feed_forward}.DenseReluDense.wi.weight"
    yield f"{ours}.feed_forward.output.weight", f"{feed_forward}.DenseReluDense.wo.weight"
    yield f"{ours}.feed_forward_norm.weight", f"{feed_forward}.layer_norm.weight"


def stack_names(family: str, side: str, config: TransformerConfig) -> Iterator[tuple[str, str]]:
    decoder = side == "decoder"
    if family == "bart":
        yield f"{side}.embeddings.positions.weight", f"{side}.embed_positions.weight"
        yield from weight_and_bias(f"{side}.embeddings.norm", f"{side}.layernorm_embedding", True)
        for index in range(config.num_layers):
            yield from bart_layer_names(side, index, decoder)
    else:
        yield (
            f"{side}.relative_bias.embedding.weight",
            f"{side}.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
        )
        for index in range(config.num_layers):
            yield from t5_layer_names(side, index, decoder, config.gated)
        yield f"{side}.final_norm.weight", f"{side}.final_layer_norm.weight"


def weight_names(family: str, config: EncoderDecoderConfig) -> dict[str, str]:
    """Our parameter and buffer names -> the checkpoint's (BART without its ``model.`` prefix), one name
    per tensor (the shared token table under ``shared.weight``)."""
    names = {"shared.weight": "shared.weight"}
    names.update(stack_names(family, "encoder", config.encoder))
    names.update(stack_names(family, "decoder", config.decoder))
    if not config.tie_embeddings:
        names["lm_head.weight"] = "lm_head.weight"
    if config.final_logits_bias:
        names["final_logits_bias"] = "final_logits_bias"
    return names


# From transformers


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


def describe(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_names(weights: dict, names: dict[str, str], family: str, source: str, prefix: str) -> None:
    """Fail naming (as the checkpoint spells them) the weights the model needs and the checkpoint lacks,
    and those it has that map to nothing."""

    def spelled(name: str) -> str:
        return name if name in TOP_LEVEL else prefix + name

    optional = {"final_logits_bias"}
    missing = [theirs for ours, theirs in names.items() if theirs not in weights and ours not in optional]
    known = set(names.values()) | set(EMBEDDING_ALIASES) | set(IGNORED_KEYS[family]) | {"lm_head.weight"}
    unexpected = sorted(name for name in weights if name not in known)
    problems = []
    if missing:
        problems.append(f"missing weights: {describe([spelled(n) for n in missing])}")
    if unexpected:
        problems.append(f"unexpected weights: {describe([spelled(n) for n in unexpected])}")
    if problems:
        raise DenoiseError(
            f"{source} is not a {SUPPORTED[family]} checkpoint denoise can map ({'; '.join(problems)})"
        )


def seq2seq_from_hf(model_or_dir) -> EncoderDecoder:
    """A denoise EncoderDecoder with every weight of a transformers BART or T5 checkpoint (a directory or a
    model)."""
    hf_config = load_hf_config(model_or_dir)
    family = supported_family(hf_config)
    weights, prefix = checkpoint_weights(model_or_dir, family)
    source = str(model_or_dir) if isinstance(model_or_dir, (str, Path)) else type(model_or_dir).__name__
    table = token_table(weights, source)
    if table is not None:
        weights["shared.weight"] = table
    tied = lm_head_is_tied(weights, table)
    config = config_from_hf(hf_config, tied)
    names = weight_names(family, config)

    check_names(weights, names, family, source, prefix)

    state = {ours: weights[theirs] for ours, theirs in names.items() if theirs in weights}
    if config.final_logits_bias:
        bias = state.get("final_logits_bias", weights["shared.weight"].new_zeros(config.vocab_size))
        state["final_logits_bias"] = bias.reshape(-1)
    return model_with_state(config, state)


def model_with_state(config: EncoderDecoderConfig, state: dict[str, torch.Tensor]) -> EncoderDecoder:
    """A model built on the meta device, then given ``state`` (one entry per distinct tensor; the shared
    token table under ``shared.weight``)."""
    with torch.device("meta"):
        model = EncoderDecoder(config)
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


# To transformers


def differing(config: EncoderDecoderConfig, fields: tuple[str, ...]) -> str | None:
    return next((f for f in fields if getattr(config.encoder, f) != getattr(config.decoder, f)), None)


def require(condition: bool, family: str, what: str) -> None:
    if not condition:
        raise DenoiseError(f"cannot write this model as {SUPPORTED[family]}: {what}")


def check_representable(config: EncoderDecoderConfig, family: str) -> None:
    for side in ("encoder", "decoder"):
        stack = getattr(config, side)
        require(stack.type_vocab_size == 0, family, f"the {side} has token types")
        wanted = "learned" if family == "bart" else "relative"
        require(stack.positions == wanted, family, f"{side} positions={stack.positions!r}, not {wanted!r}")
        if family == "bart":
            require(
                not stack.pre_norm and not stack.gated and stack.bias, family, f"the {side} is not BART's"
            )
            require(stack.position_offset == 2, family, f"{side} position_offset is not 2")
            require(stack.norm_eps == 1e-5, family, f"{side} norm_eps {stack.norm_eps} is not 1e-5")
            require(stack.embedding_norm and not stack.final_norm, family, f"the {side} norms differ")
            require(stack.scale_attention, family, f"the {side} does not scale attention")
            require(
                stack.embedding_scale in (1.0, math.sqrt(stack.d_model)),
                family,
                f"{side} embedding_scale {stack.embedding_scale} is neither 1 nor sqrt(d_model)",
            )
        else:
            require(stack.pre_norm and not stack.bias, family, f"the {side} is not T5's")
            require(not stack.scale_attention, family, f"the {side} scales attention")
            require(not stack.embedding_norm and stack.final_norm, family, f"the {side} norms differ")
            require(stack.embedding_scale == 1.0, family, f"the {side} scales its embeddings")
    shared = (
        ("max_positions", "activation", "embedding_scale", "dropout", "attention_dropout")
        if family == "bart"
        else (
            "num_heads",
            "d_ff",
            "head_size",
            "activation",
            "gated",
            "norm_eps",
            "relative_buckets",
            "relative_max_distance",
            "dropout",
        )
    )
    field = differing(config, shared)
    require(field is None, family, f"encoder and decoder differ in {field}")
    require(family == "bart" or not config.final_logits_bias, family, "T5 has no final logits bias")
    require(family == "t5" or not config.rescale_output, family, "BART does not rescale its output")


def hf_family(config: EncoderDecoderConfig) -> str:
    return "t5" if config.decoder.positions == "relative" else "bart"


def t5_feed_forward(stack: TransformerConfig) -> str:
    if stack.gated:
        return {"gelu_tanh": "gated-gelu", "gelu": "gated-gelu_python", "relu": "gated-relu"}[
            stack.activation
        ]
    return {"gelu_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}[stack.activation]


def hf_config(config: EncoderDecoderConfig, family: str):
    transformers = import_transformers()
    encoder, decoder = config.encoder, config.decoder
    common = {
        "vocab_size": config.vocab_size,
        "d_model": encoder.d_model,
        "pad_token_id": config.pad_id,
        "eos_token_id": config.eos_id,
        "decoder_start_token_id": config.decoder_start_id,
        "architectures": [SUPPORTED[family]],
    }
    if family == "bart":
        activation = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu"}[encoder.activation]
        return transformers.BartConfig(
            **common,
            encoder_layers=encoder.num_layers,
            decoder_layers=decoder.num_layers,
            encoder_attention_heads=encoder.num_heads,
            decoder_attention_heads=decoder.num_heads,
            encoder_ffn_dim=encoder.d_ff,
            decoder_ffn_dim=decoder.d_ff,
            activation_function=activation,
            max_position_embeddings=encoder.max_positions,
            scale_embedding=encoder.embedding_scale != 1.0,
            dropout=encoder.dropout,
            attention_dropout=encoder.attention_dropout,
            activation_dropout=encoder.dropout
            if encoder.activation_dropout is None
            else encoder.activation_dropout,
            bos_token_id=None,
            forced_eos_token_id=config.eos_id,
            tie_word_embeddings=config.tie_embeddings,
        )
    return transformers.T5Config(
        **common,
        d_kv=encoder.head_size,
        d_ff=encoder.d_ff,
        num_layers=encoder.num_layers,
        num_decoder_layers=decoder.num_layers,
        num_heads=encoder.num_heads,
        relative_attention_num_buckets=encoder.relative_buckets,
        relative_attention_max_distance=encoder.relative_max_distance,
        dropout_rate=encoder.dropout,
        layer_norm_epsilon=encoder.norm_eps,
        feed_forward_proj=t5_feed_forward(encoder),
        tie_word_embeddings=config.rescale_output,
    )


def hf_state(model: EncoderDecoder, family: str) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors. The token table is written under each stack's name and the LM head even
    when tied, so that transformers ties or unties them from the weights whatever its version makes of
    ``tie_word_embeddings``."""
    ours = model.state_dict()
    prefix = "model." if family == "bart" else ""
    state = {
        (name if name in TOP_LEVEL else prefix + name): ours[our_name]
        for our_name, name in weight_names(family, model.config).items()
    }
    if "final_logits_bias" in state:
        state["final_logits_bias"] = state["final_logits_bias"].reshape(1, -1)
    for name in EMBEDDING_ALIASES[1:]:
        state[prefix + name] = model.shared.weight
    state["lm_head.weight"] = model.shared.weight if model.lm_head is None else model.lm_head.weight
    return {name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in state.items()}


def seq2seq_to_hf(model: EncoderDecoder, out_dir: str | Path) -> Path:
    """Write ``model`` as a transformers BART or T5 checkpoint directory (replacing ``out_dir`` only once
    the new files are complete)."""
    from safetensors.torch import save_file

    if not isinstance(model, EncoderDecoder):
        raise DenoiseError(f"seq2seq_to_hf writes EncoderDecoder models, not {type(model).__name__}")
    family = hf_family(model.config)
    check_representable(model.config, family)
    config = hf_config(model.config, family)
    transformers = import_transformers()

    out = Path(out_dir)
    with staged_folder(out) as staging:
        config.save_pretrained(staging)
        transformers.GenerationConfig.from_model_config(config).save_pretrained(staging)
        save_file(hf_state(model, family), str(staging / "model.safetensors"), metadata={"format": "pt"})
    return out
