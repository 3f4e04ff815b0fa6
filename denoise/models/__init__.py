"""Models: the shared blocks (layers, Encoder, Decoder, EncoderDecoder), one folder per family (bert, bart,
t5) with its record, the family registry, and what every family shares (framing, FLOPs, checkpoints,
transformers interop, what ``init=`` names)."""
