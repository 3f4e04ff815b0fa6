"""Continued pre-training: start from the model and tokenizer of an earlier run (``init``) instead of fresh
weights, to adapt it to a domain or to a task's unlabelled text (Gururangan et al., 2020)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from denoise.errors import DenoiseError
from denoise.models.checkpoint import CONFIG_FILE, load_model, locate_model
from denoise.models.families import Family, family_of
from denoise.tokenizer import Tokenizer


@dataclass(frozen=True)
class Init:
    model_dir: Path
    tokenizer_dir: Path

    @classmethod
    def find(cls, init: str | Path) -> Init:
        """A `denoise pretrain` run (``model/`` and ``tokenizer/``) or a denoise model directory with a
        ``tokenizer/`` inside or beside it."""
        root = Path(init)
        found = locate_model(root)
        if found is None:
            raise DenoiseError(
                f"init {root} is neither a pre-training run (model/ and tokenizer/) nor a denoise model "
                f"directory ({CONFIG_FILE}); give the output folder of `denoise pretrain`"
            )
        model_dir, tokenizer_dir = found
        if tokenizer_dir is None:
            raise DenoiseError(
                f"init {root} has no denoise tokenizer beside its model; continued pre-training needs the "
                "tokenizer the model was trained with"
            )
        return cls(model_dir, tokenizer_dir)

    def check_tokenizer(self, tokenizer: Tokenizer, where: str) -> None:
        """Refuse a corpus tokenized with another tokenizer than the model's."""
        own = Tokenizer.load(self.tokenizer_dir)
        if (own.model_proto, own.num_sentinels) != (tokenizer.model_proto, tokenizer.num_sentinels):
            raise DenoiseError(
                f"{where} was tokenized with another tokenizer than init's ({self.tokenizer_dir}); prepare the "
                f"corpus with --tokenizer {self.tokenizer_dir}, or leave data.tokenizer and data.prepared unset"
            )

    def model(self, family: Family, pairs: bool) -> nn.Module:
        """The init's model, checked to be of ``family``; with a sentence-pair head when ``pairs``."""
        model = load_model(self.model_dir)
        found = family_of(model)
        if found is not family:
            raise DenoiseError(
                f"init {self.model_dir} holds a {found.name} model but model.family is {family.name!r}; "
                f"set model.family={found.name}"
            )
        return family.pair_head(model) if pairs else model
