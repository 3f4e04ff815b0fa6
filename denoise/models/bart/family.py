"""The BART family's record (MASS-style recipes train the same model)."""

from __future__ import annotations

from denoise.models.bart import hf
from denoise.models.bart.model import Bart
from denoise.models.bart.sizes import SIZES, bart_config
from denoise.models.encoder_decoder import EncoderDecoderConfig, config_from_settings
from denoise.models.encoder_decoder_family import encoder_decoder_family
from denoise.models.family import Transformers
from denoise.models.settings import Ids, ModelSettings, stack_changes


def from_settings(settings: ModelSettings, ids: Ids) -> EncoderDecoderConfig:
    return config_from_settings(bart_config(settings.size), settings, stack_changes(settings, ids), ids)


FAMILY = encoder_decoder_family(
    "bart", Bart, SIZES, from_settings, Transformers(("bart",), hf.from_hf, hf.to_hf, hf.task_to_hf)
)
