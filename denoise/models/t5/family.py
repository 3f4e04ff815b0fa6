"""The T5 family's record (UL2-style recipes train the same model)."""

from __future__ import annotations

from denoise.models.encoder_decoder import EncoderDecoderConfig, config_from_settings
from denoise.models.encoder_decoder_family import encoder_decoder_family
from denoise.models.family import Transformers
from denoise.models.settings import Ids, ModelSettings, stack_changes
from denoise.models.t5 import hf
from denoise.models.t5.model import T5
from denoise.models.t5.sizes import SIZES, t5_config


def from_settings(settings: ModelSettings, ids: Ids) -> EncoderDecoderConfig:
    changes = stack_changes(settings, ids)
    if "num_heads" in changes and "d_model" in changes and "d_kv" not in changes:
        changes["d_kv"] = changes["d_model"] // changes["num_heads"]  # T5 names its head size apart
    return config_from_settings(t5_config(settings.size), settings, changes, ids)


FAMILY = encoder_decoder_family(
    "t5", T5, SIZES, from_settings, Transformers(("t5",), hf.from_hf, hf.to_hf, hf.task_to_hf)
)
