"""A denoise tokenizer as transformers' fast tokenizer files, so that ``AutoTokenizer.from_pretrained`` on an
exported model folder encodes text to denoise's ids.

The SentencePiece model becomes a ``tokenizers`` pipeline with the same pieces, ids and scores: its own
normalisation (NFKC and whitespace, from the model's precompiled character map, after a plain NFKC pass that
keeps the accents of decomposed text), the word-boundary marker ``▁`` before the text, and the same unigram
model with byte fallback (a character outside the pieces becomes its UTF-8 bytes, never ``<unk>``). Where two
segmentations of a word score exactly alike ("XCVIII": I + II or II + I) the two libraries' searches may
choose differently; the text read back is the same. The special tokens are named for transformers: ``<pad>``,
``<unk>``, ``<cls>`` (also the start), ``<sep>`` (also the end), ``<mask>``, the sentinels and UL2's mode
tokens. One difference is deliberate: transformers finds special tokens written in a text (``"The <mask>
sat."`` holds the mask id, as the fill-mask pipeline needs), where denoise encodes such text as ordinary
characters.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from denoise.errors import DenoiseError
from denoise.tokenizer import MODE_PIECES, MODEL_FILE, Tokenizer, sentinel_piece

UNIGRAM = 1  # SentencePiece's ModelProto.TrainerSpec.model_type


def fast_tokenizer(tokenizer: Tokenizer, model_file: Path, starts_with_cls: bool = True):
    """The ``tokenizers.Tokenizer`` that encodes as ``tokenizer`` does (its SentencePiece model in
    ``model_file``), and frames a text or a pair as the model's tasks do: ``<cls> A <sep> (B <sep>)`` for a
    model that reads a start token (BERT), ``A <sep> (B <sep>)`` otherwise."""
    from tokenizers import decoders, models, normalizers, pre_tokenizers, processors
    from transformers.convert_slow_tokenizer import SpmConverter

    class SentencePieceFile:
        vocab_file = str(model_file)

    with warnings.catch_warnings():  # it warns that it drops byte fallback, which is put back below
        warnings.simplefilter("ignore")
        try:
            converter = SpmConverter(SentencePieceFile())
        except ImportError as err:
            raise DenoiseError(
                f"writing transformers tokenizer files needs protobuf ({err}): pip install protobuf"
            ) from None
    if converter.proto.trainer_spec.model_type != UNIGRAM:
        raise DenoiseError(
            f"{model_file} is a BPE SentencePiece model; transformers tokenizer files are written for unigram "
            "models only (`denoise tokenizer train --model-type unigram`, the default)"
        )
    fast = converter.converted()  # its normaliser and special tokens
    if fast.normalizer is not None and converter.proto.normalizer_spec.name.startswith(("nmt_nfkc", "nfkc")):
        # tokenizers' precompiled map replaces a whole grapheme by the rule of its first character, which
        # drops the marks of decomposed (NFD) text; composing the text first gives SentencePiece's result
        fast.normalizer = normalizers.Sequence([normalizers.NFKC(), fast.normalizer])
    pieces = [
        (tokenizer.id_to_piece(i), tokenizer.processor.get_score(i)) for i in range(tokenizer.vocab_size)
    ]
    fast.model = models.Unigram(pieces, unk_id=tokenizer.unk_id, byte_fallback=True)
    fast.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    fast.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    start = "<cls> " if starts_with_cls else ""
    fast.post_processor = processors.TemplateProcessing(
        single=f"{start}$A <sep>",
        pair=f"{start}$A <sep> $B:1 <sep>:1",
        special_tokens=[("<cls>", tokenizer.cls_id), ("<sep>", tokenizer.sep_id)],
    )
    return fast


def save_hf_tokenizer(
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    starts_with_cls: bool = True,
    model_max_length: int | None = None,
) -> list[str]:
    """Write the denoise tokenizer of ``tokenizer_dir`` into ``out_dir`` as transformers' fast tokenizer files
    (``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json`` where the version writes it),
    framing texts with a start token or not (``starts_with_cls``, the model family's); returns their names."""
    from transformers import PreTrainedTokenizerFast

    tokenizer_dir = Path(tokenizer_dir)
    tokenizer = Tokenizer.load(tokenizer_dir)
    specials = [*(sentinel_piece(i) for i in range(tokenizer.num_sentinels)), *MODE_PIECES]
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=fast_tokenizer(tokenizer, tokenizer_dir / MODEL_FILE, starts_with_cls),
        pad_token="<pad>",
        unk_token="<unk>",
        cls_token="<cls>",
        bos_token="<cls>",
        sep_token="<sep>",
        eos_token="<sep>",
        mask_token="<mask>",
        additional_special_tokens=specials,
        **({"model_max_length": model_max_length} if model_max_length else {}),
        # a BERT reads the second segment's token type
        **(
            {"model_input_names": ["input_ids", "token_type_ids", "attention_mask"]}
            if starts_with_cls
            else {}
        ),
    )
    written = wrapped.save_pretrained(str(out_dir))
    return sorted({Path(name).name for name in written} & set(HF_TOKENIZER_FILES))


HF_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
