"""BERT, RoBERTa and ELECTRA checkpoints of transformers to and from a denoise :class:`Bert`, by one key map.

Every weight is mapped by name; a checkpoint with missing, unexpected or misshapen weights stops with an error
naming them. RoBERTa numbers positions from ``pad_id + 1``, which becomes ``position_offset``; transformers
also skips pad tokens when numbering, so outputs agree wherever pads only trail the real tokens. ELECTRA's
discriminator is a Bert with the replaced-token head (``ElectraForPreTraining``), its generator a Bert with
factorised embeddings and a masked-LM head (``ElectraForMaskedLM``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch

from denoise.errors import DenoiseError
from denoise.files import staged_folder
from denoise.models.bert.model import Bert, BertConfig
from denoise.models.key_maps import attention, prefixed, theirs, weight_and_bias
from denoise.models.layers import TransformerConfig
from denoise.models.transformers_io import import_transformers, save_task_class
from denoise.models.weights import check_checkpoint_weights


@dataclass(frozen=True)
class Layout:
    """Where a transformers architecture keeps its weights."""

    config_class: str  # BertConfig | RobertaConfig | ElectraConfig
    prefix: str  # before the encoder's weight names
    head: str | None  # before the masked-LM head's weight names; None when there is no head
    pair: bool  # has BERT's NSP classifier, cls.seq_relationship
    positions_after_pad: bool  # positions are numbered from pad_id + 1 (RoBERTa)


LAYOUTS = {
    "BertForPreTraining": Layout("BertConfig", "bert.", "cls.predictions.", True, False),
    "BertForMaskedLM": Layout("BertConfig", "bert.", "cls.predictions.", False, False),
    "BertModel": Layout("BertConfig", "", None, False, False),
    "RobertaForMaskedLM": Layout("RobertaConfig", "roberta.", "lm_head.", False, True),
    "RobertaModel": Layout("RobertaConfig", "", None, False, True),
    "ElectraForPreTraining": Layout("ElectraConfig", "electra.", "discriminator_predictions.", False, False),
    "ElectraForMaskedLM": Layout("ElectraConfig", "electra.", "generator_predictions.", False, False),
    "ElectraModel": Layout("ElectraConfig", "", None, False, False),
}
LAYER = "encoder.layers.{}"
HF_LAYER = "encoder.layer.{}"
# denoise name -> transformers name inside the architecture's prefix
ENCODER_MAP = {
    "encoder.embeddings.tokens.weight": "embeddings.word_embeddings.weight",
    "encoder.embeddings.positions.weight": "embeddings.position_embeddings.weight",
    "encoder.embeddings.token_types.weight": "embeddings.token_type_embeddings.weight",
    **weight_and_bias("encoder.embeddings.norm", "embeddings.LayerNorm"),
    **weight_and_bias("encoder.embedding_projection", "embeddings_project"),  # factorised embeddings
    **attention(
        f"{LAYER}.attention",
        f"{HF_LAYER}.attention",
        {"query": "self.query", "key": "self.key", "value": "self.value", "output": "output.dense"},
        bias=True,
    ),
    **weight_and_bias(f"{LAYER}.attention_norm", f"{HF_LAYER}.attention.output.LayerNorm"),
    **weight_and_bias(f"{LAYER}.feed_forward.input", f"{HF_LAYER}.intermediate.dense"),
    **weight_and_bias(f"{LAYER}.feed_forward.output", f"{HF_LAYER}.output.dense"),
    **weight_and_bias(f"{LAYER}.feed_forward_norm", f"{HF_LAYER}.output.LayerNorm"),
    **weight_and_bias("pooler", "pooler.dense"),
}
HEAD_MAPS = {
    "cls.predictions.": {
        **weight_and_bias("mlm.dense", "cls.predictions.transform.dense"),
        **weight_and_bias("mlm.norm", "cls.predictions.transform.LayerNorm"),
        "mlm.decoder.weight": "cls.predictions.decoder.weight",
        "mlm.bias": "cls.predictions.decoder.bias",
    },
    "lm_head.": {
        **weight_and_bias("mlm.dense", "lm_head.dense"),
        **weight_and_bias("mlm.norm", "lm_head.layer_norm"),
        "mlm.decoder.weight": "lm_head.decoder.weight",
        "mlm.bias": "lm_head.decoder.bias",
    },
    "generator_predictions.": {
        **weight_and_bias("mlm.dense", "generator_predictions.dense"),
        **weight_and_bias("mlm.norm", "generator_predictions.LayerNorm"),
        "mlm.decoder.weight": "generator_lm_head.weight",
        "mlm.bias": "generator_lm_head.bias",
    },
    "discriminator_predictions.": {
        **weight_and_bias("replaced.dense", "discriminator_predictions.dense"),
        **weight_and_bias("replaced.prediction", "discriminator_predictions.dense_prediction"),
    },
}
# transformers names that repeat another weight: head -> (a second name of the vocabulary bias, the name of a
# tied decoder's weight), None where the head has none
HEAD_ALIASES = {
    "cls.predictions.": ("cls.predictions.bias", "cls.predictions.decoder.weight"),
    "lm_head.": ("lm_head.bias", "lm_head.decoder.weight"),
    "generator_predictions.": (None, "generator_lm_head.weight"),
    "discriminator_predictions.": (None, None),
}
PAIR_MAP = weight_and_bias("pair_classifier", "cls.seq_relationship")


@cache
def key_map(layout: Layout) -> dict[str, str]:
    """denoise name -> transformers name for every weight ``layout`` has."""
    table = prefixed(ENCODER_MAP, theirs_prefix=layout.prefix)
    if layout.head is not None:
        table |= HEAD_MAPS[layout.head]
    if layout.pair:
        table |= PAIR_MAP
    return table


ACTIVATIONS_FROM_HF = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
}
ACTIVATIONS_TO_HF = {"gelu": "gelu", "gelu_tanh": "gelu_pytorch_tanh", "relu": "relu"}


def from_hf(model_or_dir) -> Bert:
    """A denoise Bert with the weights of a transformers BERT, RoBERTa or ELECTRA (a local checkpoint directory
    or a model). Heads a headless ``BertModel``, ``RobertaModel`` or ``ElectraModel`` lacks are freshly
    initialised, with a warning."""
    hf_model = load_hf_model(model_or_dir)
    architecture = architecture_of(hf_model)
    layout = LAYOUTS[architecture]
    state = hf_model.state_dict()
    pair_head = layout.pair or (layout.head is None and f"{layout.prefix}pooler.dense.weight" in state)
    token_head = "replaced" if layout.head == "discriminator_predictions." else "mlm"
    model = Bert(bert_config_from_hf(hf_model.config, layout, pair_head, token_head))
    fresh = load_hf_state(model, state, architecture)
    if fresh:
        warnings.warn(
            f"{architecture} has no weights for {', '.join(fresh)}; they are freshly initialised",
            stacklevel=2,
        )
    return model.train(hf_model.training)


def load_hf_model(model_or_dir):
    """The transformers model itself, or the one saved in a directory, loaded as the architecture its
    config.json names; missing, unexpected or misshapen weights are an error rather than a random init."""
    if not isinstance(model_or_dir, (str, os.PathLike)):
        return model_or_dir
    transformers = import_transformers()
    directory = Path(model_or_dir)
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(f"no transformers checkpoint in {directory} (config.json is missing)")
    config = transformers.AutoConfig.from_pretrained(directory)
    check_checkpoint_weights(directory)
    architectures = config.architectures or []
    supported = [name for name in architectures if name in LAYOUTS]
    if not supported:
        raise DenoiseError(
            f"{directory} holds a {config.model_type!r} checkpoint ({', '.join(architectures) or 'no architecture'}); "
            f"denoise converts {', '.join(LAYOUTS)}"
        )
    model, info = getattr(transformers, supported[0]).from_pretrained(directory, output_loading_info=True)
    problems = [
        f"{kind} {sorted(map(str, keys))}" for kind, keys in info.items() if keys and kind != "error_msgs"
    ]
    if problems or info.get("error_msgs"):
        raise DenoiseError(
            f"{directory}: the weights do not fit {supported[0]}: {'; '.join(problems + info.get('error_msgs', []))}"
        )
    return model


def architecture_of(hf_model) -> str:
    name = type(hf_model).__name__
    if name not in LAYOUTS:
        kind = getattr(getattr(hf_model, "config", None), "model_type", "unknown")
        raise DenoiseError(f"cannot convert a {name} ({kind!r}); denoise converts {', '.join(LAYOUTS)}")
    return name


def bert_config_from_hf(hf_config, layout: Layout, pair_head: bool, token_head: str = "mlm") -> BertConfig:
    """The denoise config of a transformers BERT, RoBERTa or ELECTRA config; settings denoise lacks are an
    error."""
    check_hf_config(hf_config, layout)
    pad_id = hf_config.pad_token_id if hf_config.pad_token_id is not None else 0
    offset = pad_id + 1 if layout.positions_after_pad else 0
    encoder = TransformerConfig(
        vocab_size=hf_config.vocab_size,
        d_model=hf_config.hidden_size,
        embedding_size=getattr(hf_config, "embedding_size", None),
        num_layers=hf_config.num_hidden_layers,
        num_heads=hf_config.num_attention_heads,
        d_ff=hf_config.intermediate_size,
        activation=ACTIVATIONS_FROM_HF[hf_config.hidden_act],
        norm_eps=hf_config.layer_norm_eps,
        max_positions=hf_config.max_position_embeddings - offset,
        position_offset=offset,
        type_vocab_size=hf_config.type_vocab_size,
        dropout=hf_config.hidden_dropout_prob,
        attention_dropout=hf_config.attention_probs_dropout_prob,
        pad_id=pad_id,
    )
    return BertConfig(
        encoder=encoder,
        pair_head=pair_head,
        tie_embeddings=getattr(hf_config, "tie_word_embeddings", True),
        token_head=token_head,
    )


def check_hf_config(hf_config, layout: Layout) -> None:
    problems = []
    if getattr(hf_config, "is_decoder", False) or getattr(hf_config, "add_cross_attention", False):
        problems.append("is_decoder / add_cross_attention (a causal or cross-attending BERT)")
    if getattr(hf_config, "position_embedding_type", None) not in (None, "absolute"):
        problems.append(f"position_embedding_type={hf_config.position_embedding_type!r}")
    if hf_config.hidden_act not in ACTIVATIONS_FROM_HF:
        problems.append(f"hidden_act={hf_config.hidden_act!r} (supported: {', '.join(ACTIVATIONS_FROM_HF)})")
    elif layout.head in ALWAYS_GELU and hf_config.hidden_act != "gelu":
        problems.append(
            f"hidden_act={hf_config.hidden_act!r} with {ALWAYS_GELU[layout.head]}, which always uses gelu"
        )
    if problems:
        raise DenoiseError(f"cannot convert this {hf_config.model_type!r} checkpoint: {'; '.join(problems)}")


ALWAYS_GELU = {"lm_head.": "RoBERTa's lm_head", "generator_predictions.": "ELECTRA's generator head"}


def hf_name(name: str, layout: Layout) -> str | None:
    """The transformers name of a denoise Bert weight, or None when ``layout`` has no such weight."""
    return theirs(name, key_map(layout))


def alias_names(layout: Layout, tied: bool) -> dict[str, str]:
    """transformers names that repeat another weight (the head's second bias name, a tied decoder), each
    with the denoise name of the weight they repeat."""
    if layout.head is None:
        return {}
    bias, decoder = HEAD_ALIASES[layout.head]
    aliases = {bias: "mlm.bias"} if bias else {}
    if tied and decoder:
        aliases[decoder] = "encoder.embeddings.tokens.weight"
    return aliases


def load_hf_state(model: Bert, hf_state: dict[str, torch.Tensor], architecture: str) -> list[str]:
    """Copy a transformers state dict of ``architecture`` into ``model``; returns the denoise weights the
    architecture has none for (left as initialised). Missing, unexpected or misshapen weights are an error."""
    layout = LAYOUTS[architecture]
    ours = model.state_dict()
    names = {name: hf_name(name, layout) for name in ours}
    expected = {hf for hf in names.values() if hf}
    missing = sorted(expected - set(hf_state))
    unexpected = sorted(set(hf_state) - expected - set(alias_names(layout, model.config.tie_embeddings)))
    if missing or unexpected:
        raise DenoiseError(
            f"the {architecture} weights do not fit a denoise Bert of its config: "
            f"missing {missing or 'none'}; unexpected {unexpected or 'none'}"
        )
    misshapen = [
        f"{hf} {tuple(hf_state[hf].shape)} (expected {tuple(ours[name].shape)})"
        for name, hf in names.items()
        if hf and hf_state[hf].shape != ours[name].shape
    ]
    if misshapen:
        raise DenoiseError(f"the {architecture} weights have unexpected shapes: {', '.join(misshapen)}")
    model.load_state_dict({name: hf_state[hf] for name, hf in names.items() if hf}, strict=False)
    return [name for name, hf in names.items() if not hf]


def to_hf(model: Bert, out_dir: str | Path) -> Path:
    """Write ``model`` as a transformers checkpoint: BertForPreTraining with a pair head, else
    BertForMaskedLM, or RobertaForMaskedLM for a RoBERTa-shaped model (positions from ``pad_id + 1``);
    ElectraForPreTraining for ELECTRA's discriminator (the replaced-token head), ElectraForMaskedLM for a
    masked LM with factorised embeddings (ELECTRA's generator). The folder is replaced only once the new one
    is complete."""
    transformers = import_transformers()
    check_exportable(model.config.encoder)
    architecture = hf_architecture(model.config)
    check_layout_holds(model.config, architecture)
    if model.config.span_head:
        warnings.warn(
            f"the span boundary head (SpanBERT's, a pre-training head) has no place in {architecture}; it is "
            "left out",
            stacklevel=2,
        )
    hf_model = getattr(transformers, architecture)(hf_config_of(model.config, architecture))
    hf_model.load_state_dict(state_to_hf(model, architecture), strict=True)
    out = Path(out_dir)
    with staged_folder(out) as staging:
        hf_model.save_pretrained(staging)
    return out


def check_exportable(config: TransformerConfig) -> None:
    """Refuse settings a transformers BERT cannot express."""
    bert_like = {
        "pre_norm": False,
        "positions": "learned",
        "gated": False,
        "bias": True,
        "scale_attention": True,
        "embedding_norm": True,
        "embedding_scale": 1.0,
        "final_norm": False,
    }
    problems = [
        f"{key}={getattr(config, key)!r}" for key, value in bert_like.items() if getattr(config, key) != value
    ]
    if config.norm_kind != "layer":
        problems.append(f"norm={config.norm_kind!r}")
    if config.head_size * config.num_heads != config.d_model:
        problems.append(f"d_kv={config.d_kv} (transformers needs d_model / num_heads)")
    if problems:
        raise DenoiseError(f"a transformers BERT cannot express this model: {', '.join(problems)}")


def hf_architecture(config: BertConfig) -> str:
    encoder = config.encoder
    if config.token_head == "replaced":
        return "ElectraForPreTraining"
    if encoder.factorised:
        return "ElectraForMaskedLM"
    if not config.pair_head and encoder.position_offset == encoder.pad_id + 1:
        return "RobertaForMaskedLM"
    return "BertForPreTraining" if config.pair_head else "BertForMaskedLM"


def check_layout_holds(config: BertConfig, architecture: str) -> None:
    """Refuse a model whose parts ``architecture`` has no place for (ELECTRA's classes, which factorised
    embeddings need, have no pair head; its generator head always uses gelu)."""
    layout, encoder = LAYOUTS[architecture], config.encoder
    problems = []
    if config.pair_head and not layout.pair:
        problems.append("has a sentence-pair (NSP/SOP) head, which it has no place for")
    if layout.head in ALWAYS_GELU and encoder.activation != "gelu":
        problems.append(
            f"uses {encoder.activation!r} in its head, where {ALWAYS_GELU[layout.head]} uses gelu"
        )
    if problems:
        raise DenoiseError(
            f"this model exports as transformers' {architecture}, but it {' and '.join(problems)}; a model "
            "trained without them (model.pair_head=false, model.activation=gelu) exports"
        )


def hf_config_of(config: BertConfig, architecture: str):
    transformers = import_transformers()
    encoder = config.encoder
    layout = LAYOUTS[architecture]
    settings = dict(
        vocab_size=encoder.vocab_size,
        hidden_size=encoder.d_model,
        num_hidden_layers=encoder.num_layers,
        num_attention_heads=encoder.num_heads,
        intermediate_size=encoder.d_ff,
        hidden_act=ACTIVATIONS_TO_HF[encoder.activation],
        hidden_dropout_prob=encoder.dropout,
        attention_probs_dropout_prob=encoder.attention_dropout,
        max_position_embeddings=encoder.max_positions
        + (encoder.position_offset if layout.positions_after_pad else 0),
        type_vocab_size=max(encoder.type_vocab_size, 1),
        layer_norm_eps=encoder.norm_eps,
        pad_token_id=encoder.pad_id,
        tie_word_embeddings=config.tie_embeddings,
        architectures=[architecture],
    )
    if layout.config_class == "ElectraConfig":
        settings["embedding_size"] = encoder.embedding_width
    return getattr(transformers, layout.config_class)(**settings)


def state_to_hf(model: Bert, architecture: str) -> dict[str, torch.Tensor]:
    """``model``'s weights under transformers names, aliases included, for ``load_state_dict(strict=True)``."""
    layout = LAYOUTS[architecture]
    ours = model.state_dict()
    heads = {
        name: value for name, value in ours.items() if not name.startswith(("encoder.", "span_boundary."))
    }
    state = {hf_name(name, layout): value for name, value in heads.items()}
    state |= encoder_state(model, layout)
    for alias, name in alias_names(layout, model.config.tie_embeddings).items():
        state[alias] = ours[name]
    return state


def encoder_state(model: Bert, layout: Layout) -> dict[str, torch.Tensor]:
    """The encoder's weights (embeddings and layers; no pooler, no head) under ``layout``'s names."""
    encoder = model.config.encoder
    state = {
        hf_name(name, layout): value
        for name, value in model.state_dict().items()
        if name.startswith("encoder.")
    }
    if not layout.positions_after_pad and encoder.position_offset:
        positions = hf_name("encoder.embeddings.positions.weight", layout)
        state[positions] = state[positions][encoder.position_offset :]
    if not encoder.type_vocab_size:
        type_table = hf_name("encoder.embeddings.token_types.weight", layout)
        state[type_table] = torch.zeros(1, encoder.embedding_width)
    return state


# by the architecture a model exports as (its first word: Bert, Roberta, Electra), the transformers class of
# each task kind a fine-tuned model exports as and where its head's weights go (denoise layer -> transformers)
TASK_CLASSES = {
    "Bert": {
        "classification": (
            "BertForSequenceClassification",
            {"dense": "bert.pooler.dense", "output": "classifier"},
        ),
        "tagging": ("BertForTokenClassification", {"output": "classifier"}),
        "qa": ("BertForQuestionAnswering", {"output": "qa_outputs"}),
    },
    "Roberta": {
        "classification": (
            "RobertaForSequenceClassification",
            {"dense": "classifier.dense", "output": "classifier.out_proj"},
        ),
        "tagging": ("RobertaForTokenClassification", {"output": "classifier"}),
        "qa": ("RobertaForQuestionAnswering", {"output": "qa_outputs"}),
    },
    "Electra": {  # no classification: ElectraForSequenceClassification's head uses gelu, denoise's tanh
        "tagging": ("ElectraForTokenClassification", {"output": "classifier"}),
        "qa": ("ElectraForQuestionAnswering", {"output": "qa_outputs"}),
    },
}
MASKED_LM = {"Bert": "BertForMaskedLM", "Roberta": "RobertaForMaskedLM", "Electra": "ElectraForMaskedLM"}


def task_to_hf(model: Bert, kind: str, mode: str, head, labels: list, out_dir: str | Path) -> Path:
    """Write a fine-tuned BERT, RoBERTa or ELECTRA (``model`` and its task ``head``) as transformers' class for
    the task, with ``id2label`` from ``labels``. Refused by name: a classifier that does not read the first
    token through a dense layer (mean pooling, a linear probe: transformers' classes read [CLS] or <s>), an
    ELECTRA classifier (transformers' head uses gelu where denoise's uses tanh), a QA head over a window of
    tokens."""
    config = model.config
    check_exportable(config.encoder)
    architecture = hf_architecture(config)
    base = next(name for name in MASKED_LM if architecture.startswith(name))
    task = "classification" if kind == "regression" else kind
    if task not in TASK_CLASSES[base]:
        why = (
            "ElectraForSequenceClassification's head applies gelu where denoise's applies tanh"
            if base == "Electra" and task == "classification"
            else f"denoise writes {', '.join(name for name, _ in TASK_CLASSES[base].values())}"
        )
        raise DenoiseError(
            f"a {kind} head on a model that exports as {architecture} has no transformers class to export to "
            f"({why}); pass --backbone-only"
        )
    task_class, head_names = TASK_CLASSES[base][task]
    if task == "classification" and (head.pooling != "first" or head.dense is None):
        how = "a linear probe" if head.dense is None else f"{head.pooling} pooling"
        raise DenoiseError(
            f"this classifier reads the states by {how}; transformers' {task_class} reads the first token "
            "through a dense layer: fine-tune with classification.pooling=first (and no probe) to export it, "
            "or pass --backbone-only"
        )
    if kind == "qa" and head.window:
        raise DenoiseError(
            f"this QA head reads a window of {head.window} tokens each side; {task_class} reads one: "
            "fine-tune with qa.window=0 to export it, or pass --backbone-only"
        )
    masked_lm = MASKED_LM[base]
    state = encoder_state(model, LAYOUTS[masked_lm])
    return save_task_class(
        task_class, hf_config_of(config, masked_lm), state, head, head_names, kind, labels, out_dir
    )
