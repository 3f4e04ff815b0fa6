"""Sentence splitting with NLTK's Punkt, trained on the corpus itself.

NLTK's downloadable Punkt models need network access; Punkt is unsupervised, so denoise learns the
abbreviations, collocations and sentence starters of the corpus at hand and saves them as JSON. A user with
NLTK data installed may load a stock model instead (``SentenceSplitter.from_nltk("english")``).

A line break always ends a sentence: documents are one paragraph per line, and Punkt splits inside a line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer, PunktTrainer

from denoise.errors import DenoiseError

SPLITTER_FILE = "punkt.json"


class SentenceSplitter:
    def __init__(self, params: PunktParameters):
        self.params = params
        self._punkt = PunktSentenceTokenizer(params)

    @classmethod
    def train(cls, texts: Iterable[str], max_chars: int = 20_000_000) -> SentenceSplitter:
        """Learn Punkt's parameters from up to ``max_chars`` characters of ``texts``."""
        trainer = PunktTrainer()
        seen = 0
        for text in texts:
            trainer.train(text, finalize=False)
            seen += len(text)
            if seen >= max_chars:
                break
        if seen == 0:
            raise DenoiseError(
                "cannot train a sentence splitter on an empty corpus: give files with some text"
            )
        trainer.finalize_training()
        return cls(trainer.get_params())

    @classmethod
    def from_nltk(cls, name_or_path: str) -> SentenceSplitter:
        """A stock NLTK Punkt model by language name (needs NLTK data installed) or a saved JSON splitter."""
        if Path(name_or_path).is_file():
            return cls.load(name_or_path)
        try:
            from nltk.tokenize import PunktTokenizer

            return cls(PunktTokenizer(name_or_path)._params)
        except LookupError as err:
            raise DenoiseError(
                f"NLTK Punkt model {name_or_path!r} is not installed; install it with "
                f"`python -m nltk.downloader punkt_tab` or let denoise train one on your corpus"
            ) from err

    def state(self) -> dict:
        """The learned parameters as plain, sorted JSON-ready data."""
        p = self.params
        return {
            "abbrev_types": sorted(p.abbrev_types),
            "collocations": sorted(list(c) for c in p.collocations),
            "sent_starters": sorted(p.sent_starters),
            # Punkt's ortho_context is a defaultdict that grows zero entries as it is read; they carry nothing.
            "ortho_context": {word: flags for word, flags in sorted(p.ortho_context.items()) if flags},
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.state(), ensure_ascii=False, indent=0))

    @classmethod
    def load(cls, path: str | Path) -> SentenceSplitter:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"sentence splitter {path} does not exist")
        try:
            state = json.loads(path.read_text())
            params = PunktParameters()
            params.abbrev_types = set(state["abbrev_types"])
            params.collocations = {tuple(c) for c in state["collocations"]}
            params.sent_starters = set(state["sent_starters"])
            for word, flags in state["ortho_context"].items():
                params.ortho_context[word] = flags
        except (ValueError, KeyError, TypeError) as err:
            raise DenoiseError(
                f"{path} is not a saved sentence splitter ({err}); train one with denoise"
            ) from err
        return cls(params)

    def split(self, document: str) -> list[str]:
        """The sentences of ``document``, stripped, in order; line breaks always end a sentence."""
        sentences = []
        for line in document.splitlines():
            for start, end in self._punkt.span_tokenize(line):
                sentence = line[start:end].strip()
                if sentence:
                    sentences.append(sentence)
        return sentences
