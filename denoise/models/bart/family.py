"""The BART family's record (MASS-style recipes train the same model)."""

from __future__ import annotations

from denoise.models.bart import hf
from denoise.models.bart.model import Bart
from denoise.models.bart.sizes import SIZES, bart_config
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


def from_settings(settings: ModelSettings, ids: Ids) -> EncoderDecoderConfig:
    return config_from_settings(bart_config(settings.size), settings, stack_changes(settings, ids), ids)


FAMILY = Family(
    name="bart",
    kind="encoder_decoder",
    model=Bart,
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
    transformers=Transformers(("bart",), hf.from_hf, hf.to_hf),
)
