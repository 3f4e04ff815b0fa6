"""BERT (Devlin et al., 2019): an encoder-only model, pre-trained by masked-LM (and sentence-pair)
prediction at the input's own positions. Its record is :data:`denoise.models.bert.family.FAMILY`."""
