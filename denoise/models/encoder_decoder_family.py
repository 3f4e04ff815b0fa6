"""What the records of encoder-decoder families share: BART, T5 and any family built on
:class:`~denoise.models.encoder_decoder.EncoderDecoder` frame, read, generate and count alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from denoise.models.encoder_decoder import (
    EncoderDecoder,
    EncoderDecoderConfig,
    decoder_states,
    encoder_states,
)
from denoise.models.family import Family, Transformers
from denoise.models.flops import encoder_decoder_flops
from denoise.models.framing import frame_encoder_decoder
from denoise.models.generation import generate


def encoder_decoder_family(
    name: str,
    model: type[EncoderDecoder],
    sizes: Mapping[str, Mapping[str, int]],
    from_settings: Callable,
    transformers: Transformers | None,
) -> Family:
    """The record of an encoder-decoder family: heads read the encoder (mode ``encoder``, mean-pooled for
    classification) or, the BART way, the decoder over the same input (mode ``encoder_decoder``, the last
    state); batches are framed as a source and a target to write; it generates with a key/value cache."""
    return Family(
        name=name,
        kind="encoder_decoder",
        model=model,
        config=EncoderDecoderConfig,
        sizes=sizes,
        from_settings=from_settings,
        frame=frame_encoder_decoder,
        # a mode token, the block, the end token (a target is never longer)
        longest_input=lambda block_size, ops: block_size + 2,
        states={"encoder": encoder_states, "encoder_decoder": decoder_states},
        pooling={"encoder": "mean", "encoder_decoder": "last"},
        starts_with_cls=False,
        stacks=("encoder", "decoder"),
        flops=encoder_decoder_flops,
        generate=generate,
        transformers=transformers,
    )
