"""T5 checkpoints of transformers (``T5ForConditionalGeneration``, v1.0's ReLU and v1.1's gated GELU, the
LM head tied to the token table or not) to and from denoise's :class:`T5`."""

from __future__ import annotations

from pathlib import Path

from denoise.errors import DenoiseError
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
from denoise.models.key_maps import attention
from denoise.models.layers import TransformerConfig
from denoise.models.t5.model import T5
from denoise.models.transformers_io import import_transformers, save_task_class

PROJECTIONS = {"query": "q", "key": "k", "value": "v", "output": "o"}
DECODER_CROSS_BIAS = "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"


def layer_map(side: str, gated: bool) -> dict[str, str]:
    decoder = side == "decoder"
    ours, theirs = f"{side}.layers.{{}}", f"{side}.block.{{}}.layer"
    self_name = "self_attention" if decoder else "attention"
    table = attention(f"{ours}.{self_name}", f"{theirs}.0.SelfAttention", PROJECTIONS, bias=False)
    table[f"{ours}.{self_name}_norm.weight"] = f"{theirs}.0.layer_norm.weight"
    if decoder:
        table |= attention(f"{ours}.cross_attention", f"{theirs}.1.EncDecAttention", PROJECTIONS, bias=False)
        table[f"{ours}.cross_attention_norm.weight"] = f"{theirs}.1.layer_norm.weight"
    feed_forward = f"{theirs}.{2 if decoder else 1}"
    if gated:
        table[f"{ours}.feed_forward.input.weight"] = f"{feed_forward}.DenseReluDense.wi_0.weight"
        table[f"{ours}.feed_forward.gate.weight"] = f"{feed_forward}.DenseReluDense.wi_1.weight"
    else:
        table[f"{ours}.feed_forward.input.weight"] = f"{feed_forward}.DenseReluDense.wi.weight"
    table[f"{ours}.feed_forward.output.weight"] = f"{feed_forward}.DenseReluDense.wo.weight"
    table[f"{ours}.feed_forward_norm.weight"] = f"{feed_forward}.layer_norm.weight"
    return table


def stack_map(side: str, gated: bool) -> dict[str, str]:
    table = {
        f"{side}.relative_bias.embedding.weight": f"{side}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
    }
    table |= layer_map(side, gated)
    table[f"{side}.final_norm.weight"] = f"{side}.final_layer_norm.weight"
    return table


def key_map(config: EncoderDecoderConfig) -> dict[str, str]:
    """denoise name -> T5's; v1.1's gated feed-forward has two input matrices."""
    return {
        "shared.weight": "shared.weight",
        **stack_map("encoder", config.encoder.gated),
        **stack_map("decoder", config.decoder.gated),
        "lm_head.weight": "lm_head.weight",
    }


def stack_from_hf(config, side: str) -> TransformerConfig:
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


def config_from_hf(config, tied: bool) -> EncoderDecoderConfig:
    rescale = getattr(config, "scale_decoder_outputs", config.tie_word_embeddings)
    return EncoderDecoderConfig(
        encoder=stack_from_hf(config, "encoder"),
        decoder=stack_from_hf(config, "decoder"),
        tie_embeddings=tied,
        decoder_start_id=decoder_start(config, fallback=config.pad_token_id),  # T5 starts from its pad id
        eos_id=single(config.eos_token_id),
        rescale_output=bool(rescale),
    )


def check(config: EncoderDecoderConfig) -> None:
    """Refuse what a transformers T5 cannot express."""
    for side in ("encoder", "decoder"):
        stack = getattr(config, side)
        require(
            stack.positions == "relative", LAYOUT, f"{side} positions={stack.positions!r}, not 'relative'"
        )
        require(
            stack.pre_norm and stack.norm_kind == "rms" and not stack.bias, LAYOUT, f"the {side} is not T5's"
        )
        require(not stack.scale_attention, LAYOUT, f"the {side} scales attention")
        require(not stack.embedding_norm and stack.final_norm, LAYOUT, f"the {side} norms differ")
        require(stack.embedding_scale == 1.0, LAYOUT, f"the {side} scales its embeddings")
    shared = (
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
    field = differing(config, shared)
    require(field is None, LAYOUT, f"encoder and decoder differ in {field}")
    require(not config.final_logits_bias, LAYOUT, "T5 has no final logits bias")


def feed_forward_to_hf(stack: TransformerConfig) -> str:
    if stack.gated:
        return {"gelu_tanh": "gated-gelu", "gelu": "gated-gelu_python", "relu": "gated-relu"}[
            stack.activation
        ]
    return {"gelu_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}[stack.activation]


def config_to_hf(config: EncoderDecoderConfig):
    encoder, decoder = config.encoder, config.decoder
    return import_transformers().T5Config(
        **shared_settings(config, LAYOUT),
        d_kv=encoder.head_size,
        d_ff=encoder.d_ff,
        num_layers=encoder.num_layers,
        num_decoder_layers=decoder.num_layers,
        num_heads=encoder.num_heads,
        relative_attention_num_buckets=encoder.relative_buckets,
        relative_attention_max_distance=encoder.relative_max_distance,
        dropout_rate=encoder.dropout,
        layer_norm_epsilon=encoder.norm_eps,
        feed_forward_proj=feed_forward_to_hf(encoder),
        tie_word_embeddings=config.rescale_output,
    )


LAYOUT = Seq2SeqLayout(
    model_type="t5",
    architecture="T5ForConditionalGeneration",
    model=T5,
    prefix="",
    key_map=key_map,
    ignored=(DECODER_CROSS_BIAS,),
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    check=check,
)


def from_hf(model_or_dir) -> T5:
    """A denoise T5 with every weight of a transformers T5 checkpoint (a directory or a model)."""
    return load(LAYOUT, model_or_dir)


def to_hf(model: T5, out_dir) -> object:
    """Write ``model`` as a ``T5ForConditionalGeneration`` checkpoint directory."""
    return save(LAYOUT, model, out_dir)


def task_to_hf(model: T5, kind: str, mode: str, head, labels: list, out_dir: str | Path) -> Path:
    """A fine-tuned T5 as transformers' class for its task: a tagger on the encoder's states as
    ``T5ForTokenClassification``; a classifier on the decoder's end-token state or span QA on the decoder's
    states (``mode: encoder_decoder``) as ``T5ForSequenceClassification`` or ``T5ForQuestionAnswering``;
    other kinds and modes are refused by name."""
    LAYOUT.check(model.config)
    state = {f"transformer.{k}": v for k, v in hf_state(LAYOUT, model).items() if k not in TOP_LEVEL}
    if kind == "tagging":
        if mode != "encoder":
            raise DenoiseError(
                f"T5ForTokenClassification reads the encoder's states; this tagger read the {mode} mode's: "
                "fine-tune with mode=encoder to export it, or pass --backbone-only"
            )
        encoder_side = {
            k: v for k, v in state.items() if k.startswith(("transformer.shared.", "transformer.encoder."))
        }
        return save_task_class(
            "T5ForTokenClassification", config_to_hf(model.config), encoder_side, head, {"output": "classifier"},
            kind, labels, out_dir,
        )  # fmt: skip
    classes = {"classification": "T5ForSequenceClassification", "qa": "T5ForQuestionAnswering"}
    architecture, head_names = decoder_task_class("T5", classes, kind, mode, head)
    if architecture == "T5ForQuestionAnswering":  # its weights sit at the top level, not under transformer.
        state = {k.removeprefix("transformer."): v for k, v in state.items()}
    return save_task_class(
        architecture, config_to_hf(model.config), state, head, head_names, kind, labels, out_dir
    )
