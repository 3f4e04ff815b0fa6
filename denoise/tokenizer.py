"""SentencePiece tokenizer with fixed special ids, sentinels and byte fallback.

Special ids (the same in every denoise tokenizer):

====  ==================  ==========================================================
id    piece               role
====  ==================  ==========================================================
0     ``<pad>``           padding
1     ``<unk>``           unknown (never produced: byte fallback covers every input)
2     ``<cls>``           classification token, also beginning of sequence (bos)
3     ``<sep>``           separator, also end of sequence (eos)
4     ``<mask>``          mask token for BERT masking and BART infilling
5...  ``<extra_id_0>``... sentinels for T5 span corruption, ``<extra_id_i>`` = 5 + i
5+N   ``[NLU]``           UL2 mode token of regular span corruption (N = number of sentinels)
6+N   ``[NLG]``           UL2 mode token of extreme span corruption
7+N   ``[S2S]``           UL2 mode token of prefix language modelling
====  ==================  ==========================================================

The 256 byte pieces ``<0x00>``...``<0xFF>`` follow, then the learned pieces. Special pieces are control
symbols: text that happens to contain ``<mask>`` is encoded as ordinary characters, never as the mask id.

A tokenizer directory holds ``spm.model``, ``tokenizer.json`` (settings) and, when trained by denoise,
``punkt.json``, the sentence splitter learned on the same corpus.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Iterator, Sequence
from itertools import groupby
from pathlib import Path

import numpy as np
import sentencepiece as spm

from denoise.cache import cache_root
from denoise.data.json_lines import json_type
from denoise.data.sentences import SPLITTER_FILE, SentenceSplitter
from denoise.data.sources import describe_inputs
from denoise.errors import DenoiseError
from denoise.files import staged_folder

PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = 0, 1, 2, 3, 4
FIRST_SENTINEL_ID = 5
MODEL_FILE = "spm.model"
SETTINGS_FILE = "tokenizer.json"
MODEL_TYPES = ("unigram", "bpe")


MODE_PIECES = ("[NLU]", "[NLG]", "[S2S]")


def is_tokenizer_dir(directory: str | Path) -> bool:
    """True when ``directory`` holds a denoise tokenizer (rather than, say, a transformers one)."""
    return (Path(directory) / MODEL_FILE).is_file() and (Path(directory) / SETTINGS_FILE).is_file()


def sentinel_piece(i: int) -> str:
    return f"<extra_id_{i}>"


class Tokenizer:
    """Encode text to ids and back. Build with :meth:`train` or :meth:`load`."""

    pad_id = PAD_ID
    unk_id = UNK_ID
    cls_id = bos_id = CLS_ID
    sep_id = eos_id = SEP_ID
    mask_id = MASK_ID

    def __init__(self, model_proto: bytes, num_sentinels: int, splitter: SentenceSplitter | None = None):
        self.model_proto = model_proto
        self.processor = spm.SentencePieceProcessor(model_proto=model_proto)
        self.num_sentinels = num_sentinels
        self.splitter = splitter
        self._normalizer = spm.SentencePieceNormalizer(
            model_proto=model_proto, add_dummy_prefix=False, escape_whitespaces=False
        )
        self.sentinel_ids = list(range(FIRST_SENTINEL_ID, FIRST_SENTINEL_ID + num_sentinels))
        first_mode_id = FIRST_SENTINEL_ID + num_sentinels
        self.mode_ids = {piece: first_mode_id + i for i, piece in enumerate(MODE_PIECES)}
        self.special_ids = np.arange(first_mode_id + len(MODE_PIECES))
        self._check_layout()

    def __getstate__(self) -> dict:
        return {
            "model_proto": self.model_proto,
            "num_sentinels": self.num_sentinels,
            "splitter": self.splitter,
        }

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["model_proto"], state["num_sentinels"], state["splitter"])

    def _check_layout(self) -> None:
        expected = {PAD_ID: "<pad>", UNK_ID: "<unk>", CLS_ID: "<cls>", SEP_ID: "<sep>", MASK_ID: "<mask>"}
        expected.update({i: sentinel_piece(i - FIRST_SENTINEL_ID) for i in self.sentinel_ids})
        expected.update({i: piece for piece, i in self.mode_ids.items()})
        size = self.processor.get_piece_size()
        wrong = {i: p for i, p in expected.items() if i >= size or self.processor.id_to_piece(i) != p}
        if wrong:
            shown = ", ".join(f"{i}: {piece!r}" for i, piece in list(wrong.items())[:3])
            more = f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""
            raise DenoiseError(
                f"this SentencePiece model does not have denoise's special ids with {self.num_sentinels} "
                f"sentinels (expected {shown}{more}); train one with `denoise tokenizer train`"
            )

    # ----------------------------------------------------------------------------------------------- training

    @classmethod
    def train(
        cls,
        files: Sequence[str | Path],
        vocab_size: int,
        out_dir: str | Path,
        model_type: str = "unigram",
        num_sentinels: int = 100,
        character_coverage: float = 0.9995,
        max_sentences: int = 2_000_000,
        text_column: str = "text",
        splitter: SentenceSplitter | None = None,
        seed: int = 0,
        encoding_errors: str = "strict",
    ) -> Tokenizer:
        """Train on the sentences of ``files`` (txt, jsonl or parquet; see ``denoise.data.sources``).

        Learns a Punkt sentence splitter on the same text unless one is given, and saves both to ``out_dir``.
        ``max_sentences`` caps the sentences SentencePiece samples (uniformly) from a large corpus.
        ``encoding_errors`` is how bytes that are not UTF-8 are treated (``strict`` stops at them, ``replace``
        substitutes them), as in :meth:`bytes.decode`.
        """
        from denoise.data.sources import iter_documents

        if model_type not in MODEL_TYPES:
            raise DenoiseError(f"model_type {model_type!r} is not one of {MODEL_TYPES}")
        if num_sentinels < 0:
            raise DenoiseError(f"num_sentinels must be >= 0, got {num_sentinels}")
        minimum = FIRST_SENTINEL_ID + num_sentinels + len(MODE_PIECES) + 256 + 1
        if vocab_size < minimum:
            raise DenoiseError(
                f"vocab_size {vocab_size} leaves no room for learned pieces: the special ids, {num_sentinels} "
                f"sentinels, {len(MODE_PIECES)} mode tokens and 256 byte pieces need {minimum - 1}; "
                f"use at least {minimum}"
            )
        if splitter is None:
            splitter = SentenceSplitter.train(iter_documents(files, text_column, encoding_errors))
        documents = iter_documents(files, text_column, encoding_errors)
        failures: list[DenoiseError] = []
        sentences = _noting_failure((s for doc in documents for s in splitter.split(doc)), failures)
        model = io.BytesIO()
        options = dict(
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=character_coverage,
            byte_fallback=True,
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=CLS_ID,
            eos_id=SEP_ID,
            pad_piece="<pad>",
            unk_piece="<unk>",
            bos_piece="<cls>",
            eos_piece="<sep>",
            control_symbols=["<mask>", *(sentinel_piece(i) for i in range(num_sentinels)), *MODE_PIECES],
            normalization_rule_name="nmt_nfkc",
            input_sentence_size=max_sentences,
            shuffle_input_sentence=True,
            max_sentence_length=1 << 16,
            num_threads=os.cpu_count() or 1,
            minloglevel=2,  # warnings and errors only
        )
        spm.set_random_generator_seed(seed)  # sentencepiece keeps its sampling seed per process
        try:
            spm.SentencePieceTrainer.train(sentence_iterator=sentences, model_writer=model, **options)
        except RuntimeError as err:
            if failures:  # SentencePiece turns what the reader raised into a RuntimeError
                raise failures[0] from None
            raise _explain_training_error(err, vocab_size) from err
        tokenizer = cls(model.getvalue(), num_sentinels, splitter)
        tokenizer.save(out_dir)
        return tokenizer

    # ------------------------------------------------------------------------------------------- save / load

    def save(self, out_dir: str | Path) -> None:
        """Write the tokenizer to the folder ``out_dir``, replacing what it held only once complete."""
        with staged_folder(out_dir) as out:
            (out / MODEL_FILE).write_bytes(self.model_proto)
            settings = {"num_sentinels": self.num_sentinels, "vocab_size": self.vocab_size}
            (out / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n")
            if self.splitter is not None:
                self.splitter.save(out / SPLITTER_FILE)

    @classmethod
    def load(cls, directory: str | Path) -> Tokenizer:
        """The tokenizer saved in ``directory``, each of its files checked to be what it should be."""
        directory = Path(directory)
        if not directory.exists():
            raise FileNotFoundError(f"no tokenizer at {directory}: the folder does not exist; {TRAIN_ONE}")
        _check_tokenizer_folder(directory)
        num_sentinels, vocab_size = _read_settings(directory / SETTINGS_FILE)
        splitter_file = directory / SPLITTER_FILE
        splitter = SentenceSplitter.load(splitter_file) if splitter_file.exists() else None
        tokenizer = cls._from_model_file(directory / MODEL_FILE, num_sentinels, splitter)
        if vocab_size is not None and tokenizer.vocab_size != vocab_size:
            raise DenoiseError(
                f"{directory / MODEL_FILE} has {tokenizer.vocab_size} pieces but {directory / SETTINGS_FILE} says "
                f"{vocab_size}: the files come from different tokenizers or one is damaged; {REPAIR}"
            )
        return tokenizer

    @classmethod
    def _from_model_file(
        cls, model_file: Path, num_sentinels: int, splitter: SentenceSplitter | None
    ) -> Tokenizer:
        """The tokenizer of the SentencePiece model in ``model_file``, checked to parse and to have denoise's
        special ids."""
        proto = model_file.read_bytes()
        if not proto:
            raise DenoiseError(f"{model_file} is empty; {REPAIR}")
        try:
            return cls(proto, num_sentinels, splitter)
        except RuntimeError:
            raise DenoiseError(
                f"{model_file} is not a SentencePiece model: its {len(proto)} bytes do not parse (cut short or "
                f"damaged?); {REPAIR}"
            ) from None
        except DenoiseError as err:
            raise DenoiseError(f"{model_file}: {err}") from None

    # ----------------------------------------------------------------------------------------- encode/decode

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, text: str | list[str]) -> list[int] | list[list[int]]:
        """Ids of one text, or of each text of a list (encoded in parallel). No special ids are added."""
        return self.processor.encode(text, out_type=int, num_threads=os.cpu_count() or 1)

    def decode(
        self, ids: Sequence[int] | Sequence[Sequence[int]], skip_special: bool = False
    ) -> str | list[str]:
        """Text of one id sequence, or of each of a batch. Special ids appear as their pieces
        (``<mask>``, ``<extra_id_0>``...) unless ``skip_special``; padding is always dropped."""
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        first_special_free = len(self.special_ids)
        if ids and not isinstance(ids[0], int):
            rows = [list(row) for row in ids]
            if all(min(row, default=first_special_free) >= first_special_free for row in rows):
                return self.processor.decode(rows)  # one call, parallel in C++
            return [self._decode_with_specials(row, skip_special) for row in rows]
        if min(ids, default=first_special_free) >= first_special_free:
            return self.processor.decode(ids)
        return self._decode_with_specials(ids, skip_special)

    def _decode_with_specials(self, ids: list[int], skip_special: bool) -> str:
        pieces = []
        for special, run in groupby(ids, key=lambda i: i < len(self.special_ids)):
            if not special:
                pieces.append(self.processor.decode(list(run)))
            elif not skip_special:
                pieces.extend(self.processor.id_to_piece(i) for i in run if i != PAD_ID)
        return " ".join(p for p in pieces if p)

    def normalize(self, text: str) -> str:
        """The text as the tokenizer sees it (NFKC, whitespace collapsed): ``decode(encode(t)) == normalize(t)``."""
        return self._normalizer.normalize(text)

    def id_to_piece(self, i: int) -> str:
        return self.processor.id_to_piece(i)

    def piece_to_id(self, piece: str) -> int:
        return self.processor.piece_to_id(piece)

    def word_start_mask(self) -> np.ndarray:
        """Boolean array over the vocabulary: True for pieces that begin a word (``▁`` prefix) and for specials."""
        starts = np.array([self.processor.id_to_piece(i).startswith("▁") for i in range(self.vocab_size)])
        starts[self.special_ids] = True
        return starts


TRAIN_ONE = "train one with `denoise tokenizer train --input FILE --vocab-size N --out DIR`"
TOKENIZER_FOLDER = (
    f"a tokenizer folder holds {MODEL_FILE} and {SETTINGS_FILE} (and {SPLITTER_FILE}), as "
    "`denoise tokenizer train --out DIR` writes it and a pretraining run keeps it in its tokenizer/ folder"
)
REPAIR = f"copy the tokenizer folder again from where it was made, or {TRAIN_ONE}"
# files that say what else a folder is: a denoise model, a transformers checkpoint or tokenizer
OTHER_FOLDERS = {
    "model.json": "a denoise model folder",
    "config.json": "a transformers checkpoint",
    "tokenizer_config.json": "a transformers tokenizer",
}


def _check_tokenizer_folder(directory: Path) -> None:
    """Stop unless ``directory`` is a folder with a tokenizer's files, saying what it is instead."""
    if not directory.is_dir():
        raise DenoiseError(f"{directory} is a file, not a tokenizer folder; {TOKENIZER_FOLDER}")
    missing = [name for name in (MODEL_FILE, SETTINGS_FILE) if not (directory / name).is_file()]
    if not missing:
        return
    for near in (
        directory / "tokenizer",
        directory.parent / "tokenizer",
    ):  # a run's, or its model's neighbour
        if is_tokenizer_dir(near):
            raise DenoiseError(
                f"{directory} is not a tokenizer folder (it lacks {' and '.join(missing)}), but {near} is: "
                "give that"
            )
    held = sorted(path.name for path in directory.iterdir())
    kind = next((f" but {kind}" for name, kind in OTHER_FOLDERS.items() if name in held), "")
    listing = ", ".join(held[:8]) + (", ..." if len(held) > 8 else "") if held else "nothing"
    raise DenoiseError(
        f"{directory} is not a tokenizer folder{kind}: it lacks {' and '.join(missing)} (it holds {listing}); "
        f"{TOKENIZER_FOLDER}"
    )


def _read_settings(path: Path) -> tuple[int, int | None]:
    """The number of sentinels and the vocabulary size (None if not recorded) a settings file holds."""
    try:
        settings = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise DenoiseError(
            f"{path}: byte {err.start} is not UTF-8, so this is no settings file; {REPAIR}"
        ) from None
    except json.JSONDecodeError as err:
        raise DenoiseError(
            f"{path}, line {err.lineno}, column {err.colno}: not valid JSON ({err.msg}); {REPAIR}"
        ) from None
    if not (
        isinstance(settings, dict)
        and _is_count(settings.get("num_sentinels"))
        and _is_count(settings.get("vocab_size", 0))
    ):
        found = f"the keys {sorted(settings)}" if isinstance(settings, dict) else json_type(settings)
        raise DenoiseError(
            f"{path} does not hold a denoise tokenizer's settings (an object with the counts num_sentinels and "
            f"vocab_size; found {found}); {TOKENIZER_FOLDER}"
        )
    return settings["num_sentinels"], settings.get("vocab_size")


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _noting_failure(items: Iterator[str], failures: list[DenoiseError]) -> Iterator[str]:
    """``items``, with the DenoiseError that stops them, if one does, noted in ``failures``."""
    try:
        yield from items
    except DenoiseError as err:
        failures.append(err)
        raise


def _explain_training_error(err: RuntimeError, vocab_size: int) -> Exception:
    message = str(err)
    too_high = re.search(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)", message)
    if too_high:
        return DenoiseError(
            f"vocab_size {vocab_size} is larger than this corpus can support; the largest it allows is "
            f"{too_high.group(2)}: lower --vocab-size or add text"
        )
    if "Not found" in message or "empty" in message.lower():
        return DenoiseError(f"cannot train a tokenizer: the corpus has no usable sentences ({message})")
    return DenoiseError(f"SentencePiece training failed: {message}")


DEFAULT_VOCAB_SIZE = 8000


def cached_tokenizer(
    inputs: Sequence[str],
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    model_type: str = "unigram",
    encoding_errors: str = "strict",
    **train_options,
) -> Tokenizer:
    """The tokenizer trained on ``inputs`` with these settings (the options of :meth:`Tokenizer.train`),
    trained now if the cache lacks it."""
    options = dict(train_options)
    if encoding_errors != "strict":  # left out by default, so that tokenizers cached before keep their key
        options["encoding_errors"] = encoding_errors
    key = json.dumps([describe_inputs(inputs), vocab_size, model_type, sorted(options.items())])
    directory = cache_root() / "tokenizers" / hashlib.sha256(key.encode()).hexdigest()[:16]
    if (directory / SETTINGS_FILE).exists():
        return Tokenizer.load(directory)
    with staged_folder(directory) as staging:
        Tokenizer.train(list(inputs), vocab_size, staging, model_type=model_type, **options)
    return Tokenizer.load(directory)
