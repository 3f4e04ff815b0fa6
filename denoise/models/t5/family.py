"""The T5 family's record (UL2-style recipes train the same model)."""

from __future__ import annotations

from denoise.models.encoder_decoder import (
    EncoderDecoderConfig,
    config_from_settings,
    decoder_states,
    encoder_states,
)
from denoise.models.family import Family, Transformers
from denoise.models.flops import encoder_decoder_flops
from denoise.models.framing import frame_encoder_decoder
from denoise.models.generation import generate
from denoise.models.settings import Ids, ModelSettings, stack_changes
from denoise.models.t5 import hf
from denoise.models.t5.model import T5
from denoise.models.t5.sizes import SIZES, t5_config


def from_settings(settings: ModelSettings, ids: Ids) -> EncoderDecoderConfig:
    changes = stack_changes(settings, ids)
    if "num_heads" in changes and "d_model" in changes and "d_kv" not in changes:
        changes["d_kv"] = changes["d_model"] // changes["num_heads"]  # T5 names its head size apart
    return config_from_settings(t5_config(settings.size), settings, changes, ids)


FAMILY = Family(
    name="t5",
    kind="encoder_decoder",
    model=T5,
    config=EncoderDecoderConfig,
    sizes=SIZES,
    from_settings=from_settings,
    frame=frame_encoder_decoder,
    framing_tokens=lambda pairs: 2,  # a mode token, the block, the end token
    states={"encoder": encoder_states, "encoder_decoder": decoder_states},
    pooling={"encoder": "mean", "encoder_decoder": "last"},
    starts_with_cls=False,
    stacks=("encoder", "decoder"),
    flops=encoder_decoder_flops,
    generate=generate,
    transformers=Transformers(("t5",), hf.from_hf, hf.to_hf),
)
