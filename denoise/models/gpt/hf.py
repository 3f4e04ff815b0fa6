"""GPT-2 checkpoints of transformers (``GPT2LMHeadModel``, or a headless ``GPT2Model``) to and from
denoise's :class:`GPT`, by one key map.

GPT-2's layers are ``Conv1D``: a weight is stored ``[in, out]``, the transpose of a linear layer's, and one
``c_attn`` layer holds the query, key and value projections side by side. The table below names each of
denoise's weights by GPT-2's; :data:`FUSED` says which third of ``c_attn`` a projection is. GPT-2 has no
notion of a bidirectional prefix: a model converted from it attends causally throughout
(``prefix_attention: causal``), and a prefix LM written as GPT-2 is read causally by transformers.
"""

from __future__ import annotations

from pathlib import Path

import torch

from denoise.errors import DenoiseError
from denoise.files import staged_folder
from denoise.models.gpt.model import GPT, GPTConfig
from denoise.models.key_maps import theirs, weight_and_bias
from denoise.models.layers import TransformerConfig
from denoise.models.transformers_io import (
    describe,
    import_transformers,
    load_hf_config,
    read_weights,
    save_task_class,
)

ARCHITECTURE = "GPT2LMHeadModel"
PREFIX = "transformer."  # before the stack's names in GPT2LMHeadModel (a headless GPT2Model has none)
LAYER, HF_LAYER = "stack.layers.{}", "h.{}"
KEY_MAP = {
    "stack.embeddings.tokens.weight": "wte.weight",
    "stack.embeddings.positions.weight": "wpe.weight",
    **weight_and_bias(f"{LAYER}.attention_norm", f"{HF_LAYER}.ln_1"),
    **weight_and_bias(f"{LAYER}.attention.query", f"{HF_LAYER}.attn.c_attn"),
    **weight_and_bias(f"{LAYER}.attention.key", f"{HF_LAYER}.attn.c_attn"),
    **weight_and_bias(f"{LAYER}.attention.value", f"{HF_LAYER}.attn.c_attn"),
    **weight_and_bias(f"{LAYER}.attention.output", f"{HF_LAYER}.attn.c_proj"),
    **weight_and_bias(f"{LAYER}.feed_forward_norm", f"{HF_LAYER}.ln_2"),
    **weight_and_bias(f"{LAYER}.feed_forward.input", f"{HF_LAYER}.mlp.c_fc"),
    **weight_and_bias(f"{LAYER}.feed_forward.output", f"{HF_LAYER}.mlp.c_proj"),
    **weight_and_bias("stack.final_norm", "ln_f"),
}
FUSED = {".attention.query.": 0, ".attention.key.": 1, ".attention.value.": 2}  # thirds of c_attn
CONV1D = (".c_attn.weight", ".c_proj.weight", ".c_fc.weight")  # stored [in, out]
# what a checkpoint may hold beyond the table: the LM head (the token table again) and old attention buffers
IGNORED_SUFFIXES = ("lm_head.weight", ".attn.bias", ".attn.masked_bias")
ACTIVATIONS_FROM_HF = {
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu": "gelu",
    "relu": "relu",
}
ACTIVATIONS_TO_HF = {"gelu_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}


def third(name: str) -> int | None:
    """Which third of ``c_attn`` the denoise weight ``name`` is, or None for an unfused weight."""
    return next((index for part, index in FUSED.items() if part in name), None)


def config_from_hf(hf_config) -> GPTConfig:
    """The denoise config of a transformers GPT-2 config; settings denoise lacks are an error."""
    problems = []
    if hf_config.model_type != "gpt2":
        problems.append(f"model_type {hf_config.model_type!r} is not 'gpt2'")
    if getattr(hf_config, "add_cross_attention", False):
        problems.append("add_cross_attention (a GPT-2 with cross-attention)")
    if not getattr(hf_config, "scale_attn_weights", True):
        problems.append("scale_attn_weights=False")
    for flag in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
        if getattr(hf_config, flag, False):
            problems.append(f"{flag}=True")
    if hf_config.activation_function not in ACTIVATIONS_FROM_HF:
        problems.append(f"activation_function={hf_config.activation_function!r}")
    if problems:
        raise DenoiseError(f"cannot convert this GPT-2 checkpoint: {'; '.join(problems)}")
    eos = hf_config.eos_token_id if hf_config.eos_token_id is not None else hf_config.vocab_size - 1
    stack = TransformerConfig(
        vocab_size=hf_config.vocab_size,
        d_model=hf_config.n_embd,
        num_layers=hf_config.n_layer,
        num_heads=hf_config.n_head,
        d_ff=hf_config.n_inner or 4 * hf_config.n_embd,
        activation=ACTIVATIONS_FROM_HF[hf_config.activation_function],
        pre_norm=True,
        norm="layer",
        norm_eps=hf_config.layer_norm_epsilon,
        max_positions=hf_config.n_positions,
        embedding_norm=False,
        final_norm=True,
        final_dropout=False,
        dropout=hf_config.resid_pdrop,
        attention_dropout=hf_config.attn_pdrop,
        pad_id=hf_config.pad_token_id if hf_config.pad_token_id is not None else eos,
    )
    return GPTConfig(stack=stack, eos_id=eos, prefix_attention="causal")


def checkpoint_weights(model_or_dir) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors under names without ``transformer.``."""
    if hasattr(model_or_dir, "state_dict"):
        weights = {name: tensor.detach().clone() for name, tensor in model_or_dir.state_dict().items()}
    else:
        weights = read_weights(Path(model_or_dir))
    return {name.removeprefix(PREFIX): tensor for name, tensor in weights.items()}


def from_hf(model_or_dir) -> GPT:
    """A denoise GPT with every weight of a transformers GPT-2 (a local checkpoint directory or a model)."""
    config = config_from_hf(load_hf_config(model_or_dir))
    weights = checkpoint_weights(model_or_dir)
    source = str(model_or_dir) if isinstance(model_or_dir, (str, Path)) else type(model_or_dir).__name__
    head = weights.get("lm_head.weight")
    if head is not None and not torch.equal(head, weights.get("wte.weight", head)):
        raise DenoiseError(f"{source} has an LM head apart from its token table; a denoise GPT ties the two")
    with torch.device("meta"):
        model = GPT(config)
    names = {ours: theirs(ours, KEY_MAP) for ours in model.state_dict()}
    missing = sorted({their for their in names.values() if their not in weights})
    unexpected = sorted(
        name for name in weights if name not in set(names.values()) and not name.endswith(IGNORED_SUFFIXES)
    )
    if missing or unexpected:
        raise DenoiseError(
            f"{source} is not a GPT-2 checkpoint denoise can map (missing: {describe(missing) or 'none'}; "
            f"unexpected: {describe(unexpected) or 'none'})"
        )
    state = {}
    for ours, their in names.items():
        tensor = weights[their]
        if their.endswith(CONV1D):
            tensor = tensor.t()
        if third(ours) is not None:
            tensor = tensor.chunk(3, dim=0)[third(ours)]
        state[ours] = tensor.clone()  # a third of c_attn would share its storage (refused by safetensors)
    misshapen = [
        f"{names[name]} {tuple(state[name].shape)} (expected {tuple(expected.shape)})"
        for name, expected in model.state_dict().items()
        if state[name].shape != expected.shape
    ]
    if misshapen:
        raise DenoiseError(f"{source}: weights of unexpected shapes: {describe(misshapen)}")
    model.load_state_dict(state, strict=True, assign=True)
    return model


def check_exportable(config: GPTConfig) -> None:
    """Refuse settings a transformers GPT-2 cannot express."""
    stack = config.stack
    gpt2_like = {
        "positions": "learned",
        "pre_norm": True,
        "norm_kind": "layer",
        "final_norm": True,
        "embedding_norm": False,
        "gated": False,
        "bias": True,
        "scale_attention": True,
        "embedding_scale": 1.0,
        "position_offset": 0,
        "type_vocab_size": 0,
    }
    problems = [
        f"{key}={getattr(stack, key)!r}" for key, value in gpt2_like.items() if getattr(stack, key) != value
    ]
    if stack.head_size * stack.num_heads != stack.d_model:
        problems.append(f"d_kv={stack.d_kv} (GPT-2 needs d_model / num_heads)")
    if problems:
        raise DenoiseError(f"a transformers GPT-2 cannot express this model: {', '.join(problems)}")


def config_to_hf(config: GPTConfig):
    stack = config.stack
    return import_transformers().GPT2Config(
        vocab_size=stack.vocab_size,
        n_positions=stack.max_positions,
        n_embd=stack.d_model,
        n_layer=stack.num_layers,
        n_head=stack.num_heads,
        n_inner=stack.d_ff,
        activation_function=ACTIVATIONS_TO_HF[stack.activation],
        resid_pdrop=stack.dropout,
        embd_pdrop=stack.dropout,
        attn_pdrop=stack.attention_dropout,
        layer_norm_epsilon=stack.norm_eps,
        bos_token_id=config.eos_id,  # GPT-2 begins and ends a text with the same token
        eos_token_id=config.eos_id,
        pad_token_id=stack.pad_id,
        tie_word_embeddings=True,
        architectures=[ARCHITECTURE],
    )


def hf_state(model: GPT) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors, under ``GPT2LMHeadModel``'s names (the LM head written as the token table)."""
    state, fused = {}, {}
    for ours, tensor in model.state_dict().items():
        their = PREFIX + theirs(ours, KEY_MAP)
        if third(ours) is not None:
            fused.setdefault(their, [None, None, None])[third(ours)] = tensor
            continue
        state[their] = tensor.t() if their.endswith(CONV1D) else tensor
    for their, parts in fused.items():
        joined = torch.cat(parts, dim=0)
        state[their] = joined.t() if their.endswith(CONV1D) else joined
    state["lm_head.weight"] = model.token_embeddings
    return {name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in state.items()}


def to_hf(model: GPT, out_dir: str | Path) -> Path:
    """Write ``model`` as a ``GPT2LMHeadModel`` checkpoint (replacing ``out_dir`` only once the new files are
    complete)."""
    from safetensors.torch import save_file

    check_exportable(model.config)
    hf_config = config_to_hf(model.config)
    transformers = import_transformers()
    out = Path(out_dir)
    with staged_folder(out) as staging:
        hf_config.save_pretrained(staging)
        transformers.GenerationConfig.from_model_config(hf_config).save_pretrained(staging)
        save_file(hf_state(model), str(staging / "model.safetensors"), metadata={"format": "pt"})
    return out


# the transformers class of each task kind a fine-tuned GPT exports as, and where its head's weights go
TASK_CLASSES = {"tagging": "GPT2ForTokenClassification", "qa": "GPT2ForQuestionAnswering"}
TASK_HEADS = {"tagging": "classifier", "qa": "qa_outputs"}


def task_to_hf(model: GPT, kind: str, mode: str, head, labels: list, out_dir: str | Path) -> Path:
    """Write a fine-tuned GPT (``model`` and its task ``head``) as transformers' GPT-2 class for the task:
    ``GPT2ForTokenClassification`` (with ``id2label``) or ``GPT2ForQuestionAnswering``. A classifier is refused
    by name: ``GPT2ForSequenceClassification`` scores the last token with one linear layer without a bias,
    where denoise's head has a dense layer; so is a QA head over a window of tokens."""
    if kind not in TASK_CLASSES:
        raise DenoiseError(
            f"a fine-tuned GPT's {kind} head has no GPT-2 class that holds it (GPT2ForSequenceClassification "
            "scores the last token with one linear layer and no bias); pass --backbone-only"
        )
    if kind == "qa" and head.window:
        raise DenoiseError(
            f"this QA head reads a window of {head.window} tokens each side; GPT2ForQuestionAnswering reads one: "
            "fine-tune with qa.window=0 to export it, or pass --backbone-only"
        )
    check_exportable(model.config)
    state = {name: tensor for name, tensor in hf_state(model).items() if name != "lm_head.weight"}
    head_names = {"output": TASK_HEADS[kind]}
    return save_task_class(
        TASK_CLASSES[kind], config_to_hf(model.config), state, head, head_names, kind, labels, out_dir
    )
