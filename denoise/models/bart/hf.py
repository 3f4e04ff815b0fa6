"""BART checkpoints of transformers (``BartForConditionalGeneration``) to and from denoise's :class:`Bart`."""

from __future__ import annotations

import math
from pathlib import Path

from denoise.errors import DenoiseError
from denoise.models.bart.model import Bart
from denoise.models.encoder_decoder import EncoderDecoderConfig
from denoise.models.encoder_decoder_hf import (
    TOP_LEVEL,
    Seq2SeqLayout,
    activation_from_hf,
    decoder_start,
    decoder_task_class,
    differing,
    hf_state,
    load,
    require,
    save,
    shared_settings,
    single,
)
from denoise.models.key_maps import attention, weight_and_bias
from denoise.models.layers import TransformerConfig
from denoise.models.transformers_io import import_transformers, save_task_class

PROJECTIONS = {"query": "q_proj", "key": "k_proj", "value": "v_proj", "output": "out_proj"}
ACTIVATIONS_TO_HF = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu"}


def layer_map(side: str, decoder: bool) -> dict[str, str]:
    ours, theirs = f"{side}.layers.{{}}", f"{side}.layers.{{}}"
    self_name = "self_attention" if decoder else "attention"
    table = attention(f"{ours}.{self_name}", f"{theirs}.self_attn", PROJECTIONS, bias=True)
    table |= weight_and_bias(f"{ours}.{self_name}_norm", f"{theirs}.self_attn_layer_norm")
    if decoder:
        table |= attention(f"{ours}.cross_attention", f"{theirs}.encoder_attn", PROJECTIONS, bias=True)
        table |= weight_and_bias(f"{ours}.cross_attention_norm", f"{theirs}.encoder_attn_layer_norm")
    table |= weight_and_bias(f"{ours}.feed_forward.input", f"{theirs}.fc1")
    table |= weight_and_bias(f"{ours}.feed_forward.output", f"{theirs}.fc2")
    table |= weight_and_bias(f"{ours}.feed_forward_norm", f"{theirs}.final_layer_norm")
    return table


def stack_map(side: str) -> dict[str, str]:
    table = {f"{side}.embeddings.positions.weight": f"{side}.embed_positions.weight"}
    table |= weight_and_bias(f"{side}.embeddings.norm", f"{side}.layernorm_embedding")
    return table | layer_map(side, decoder=side == "decoder")


# denoise name -> BART's (inside "model.", but for the LM head and the final logits bias)
KEY_MAP = {
    "shared.weight": "shared.weight",
    **stack_map("encoder"),
    **stack_map("decoder"),
    "lm_head.weight": "lm_head.weight",
    "final_logits_bias": "final_logits_bias",
}


def stack_from_hf(config, side: str) -> TransformerConfig:
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


def check_options(config) -> None:
    """Options some BART-type configs carry (mBART's layout) that BART itself does not have."""
    for option in ("normalize_before", "add_final_layer_norm", "normalize_embedding"):
        expected = option == "normalize_embedding"
        if getattr(config, option, expected) != expected:
            raise DenoiseError(f"unsupported BART option {option}={getattr(config, option)!r}")


def config_from_hf(config, tied: bool) -> EncoderDecoderConfig:
    check_options(config)
    return EncoderDecoderConfig(
        encoder=stack_from_hf(config, "encoder"),
        decoder=stack_from_hf(config, "decoder"),
        tie_embeddings=tied,
        decoder_start_id=decoder_start(config),
        eos_id=single(config.eos_token_id),
        final_logits_bias=True,
    )


def check(config: EncoderDecoderConfig) -> None:
    """Refuse what a transformers BART cannot express."""
    for side in ("encoder", "decoder"):
        stack = getattr(config, side)
        require(stack.positions == "learned", LAYOUT, f"{side} positions={stack.positions!r}, not 'learned'")
        require(
            not stack.pre_norm and stack.norm_kind == "layer" and not stack.gated and stack.bias,
            LAYOUT,
            f"the {side} is not BART's",
        )
        require(stack.position_offset == 2, LAYOUT, f"{side} position_offset is not 2")
        require(stack.norm_eps == 1e-5, LAYOUT, f"{side} norm_eps {stack.norm_eps} is not 1e-5")
        require(stack.embedding_norm and not stack.final_norm, LAYOUT, f"the {side} norms differ")
        require(stack.scale_attention, LAYOUT, f"the {side} does not scale attention")
        require(
            stack.embedding_scale in (1.0, math.sqrt(stack.d_model)),
            LAYOUT,
            f"{side} embedding_scale {stack.embedding_scale} is neither 1 nor sqrt(d_model)",
        )
    field = differing(
        config, ("max_positions", "activation", "embedding_scale", "dropout", "attention_dropout")
    )
    require(field is None, LAYOUT, f"encoder and decoder differ in {field}")
    require(not config.rescale_output, LAYOUT, "BART does not rescale its output")


def config_to_hf(config: EncoderDecoderConfig):
    encoder, decoder = config.encoder, config.decoder
    return import_transformers().BartConfig(
        **shared_settings(config, LAYOUT),
        encoder_layers=encoder.num_layers,
        decoder_layers=decoder.num_layers,
        encoder_attention_heads=encoder.num_heads,
        decoder_attention_heads=decoder.num_heads,
        encoder_ffn_dim=encoder.d_ff,
        decoder_ffn_dim=decoder.d_ff,
        activation_function=ACTIVATIONS_TO_HF[encoder.activation],
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


LAYOUT = Seq2SeqLayout(
    model_type="bart",
    architecture="BartForConditionalGeneration",
    model=Bart,
    prefix="model.",
    key_map=lambda config: KEY_MAP,
    ignored=("encoder.version", "decoder.version"),
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    check=check,
)


def from_hf(model_or_dir) -> Bart:
    """A denoise BART with every weight of a transformers BART checkpoint (a directory or a model)."""
    return load(LAYOUT, model_or_dir)


def to_hf(model: Bart, out_dir) -> object:
    """Write ``model`` as a ``BartForConditionalGeneration`` checkpoint directory."""
    return save(LAYOUT, model, out_dir)


def task_to_hf(model: Bart, kind: str, mode: str, head, labels: list, out_dir: str | Path) -> Path:
    """A BART fine-tuned the BART way (``mode: encoder_decoder``: heads read the decoder over the input) as
    ``BartForSequenceClassification`` (the end token's state through a dense layer) or
    ``BartForQuestionAnswering``; other kinds and modes are refused by name."""
    classes = {"classification": "BartForSequenceClassification", "qa": "BartForQuestionAnswering"}
    architecture, head_names = decoder_task_class("BART", classes, kind, mode, head)
    LAYOUT.check(model.config)
    state = {k: v for k, v in hf_state(LAYOUT, model).items() if k not in TOP_LEVEL}
    return save_task_class(
        architecture, config_to_hf(model.config), state, head, head_names, kind, labels, out_dir
    )
