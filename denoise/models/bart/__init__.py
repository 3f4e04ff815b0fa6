"""BART (Lewis et al., 2020): an encoder-decoder with learned positions and LayerNorm after each residual,
pre-trained to write corrupted text back. Its record is :data:`denoise.models.bart.family.FAMILY`."""
