"""denoise: denoising pre-training of language models (BERT, BART, T5, MASS) on one shared Encoder."""

from denoise.errors import DenoiseError

__version__ = "0.1.0"
__all__ = ["DenoiseError", "__version__"]
