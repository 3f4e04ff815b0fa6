"""T5 (Raffel et al., 2020): an encoder-decoder with relative position buckets and RMSNorm before each
sub-layer, pre-trained on span corruption. Its record is :data:`denoise.models.t5.family.FAMILY`."""
