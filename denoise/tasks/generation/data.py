"""Generation examples (a source and its target) and parallel files: two UTF-8 files, a sentence per line,
line ``n`` of one translating line ``n`` of the other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from denoise.errors import DenoiseError
from denoise.tasks.files import check_single_line, output_path, read_lines, write_lines


@dataclass(frozen=True)
class TranslationExample:
    """A source sentence and its translation."""

    source: str
    target: str


def read_parallel(source_path: str | Path, target_path: str | Path) -> list[TranslationExample]:
    """Sentence pairs of two line-aligned text files."""
    source_path, target_path = Path(source_path), Path(target_path)
    sources, targets = read_lines(source_path), read_lines(target_path)
    if not sources and not targets:
        raise DenoiseError(f"no examples in {source_path} and {target_path}; both files are empty")
    if len(sources) != len(targets):
        raise DenoiseError(
            f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)}; "
            "the files must be line-aligned, a sentence and its translation on the same line number"
        )
    for line, (source, target) in enumerate(zip(sources, targets), 1):
        for path, text in ((source_path, source), (target_path, target)):
            if not text.strip():
                raise DenoiseError(
                    f"{path}, line {line}: empty line; remove the pair from both files or fill it in"
                )
    return [TranslationExample(source, target) for source, target in zip(sources, targets)]


def write_parallel(
    examples: Sequence[TranslationExample], source_path: str | Path, target_path: str | Path
) -> None:
    """Sources to one file and targets to the other, a sentence per line."""
    output_path(source_path, examples)
    for number, example in enumerate(examples, 1):
        for text in (example.source, example.target):
            check_single_line(text, f"example {number}")
    write_lines([example.source for example in examples], Path(source_path))
    write_lines([example.target for example in examples], Path(target_path))
