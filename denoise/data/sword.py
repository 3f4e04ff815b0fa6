"""Read Bible translations stored as SWORD zText modules (the format of Debian's ``sword-text-*`` packages).

A zText module keeps each testament in three files:

- ``.bzs``: one 12-byte entry per compressed block: offset in ``.bzz``, compressed size, uncompressed size;
- ``.bzv``: one 10-byte entry per slot of the versification: block number, offset in the block, size;
- ``.bzz``: the zlib-compressed blocks themselves.

Slots run testament heading, then per book a heading slot and per chapter a heading slot followed by one slot
per verse. The references are read from the module's own OSIS markers (``<div type="book" osisID=...>`` and
``<chapter osisID=... sID=...>``), so any versification works without a table.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_BLOCK_ENTRY = struct.Struct("<III")
_VERSE_ENTRY = struct.Struct("<IIH")
_DIV = re.compile(r"<div\b[^>]*>")
_START_ID = re.compile(r"\bsID=")
_OSIS_ID = re.compile(r'\bosisID="([^".]+)"')
_CHAPTER_START = re.compile(r'<chapter\b[^>]*\bosisID="([^"]+)\.(\d+)"[^>]*\bsID=')
_DROPPED_ELEMENTS = re.compile(r"<(note|title|rdg|catchWord)\b[^>]*?(?:/>|>.*?</\1>)", re.DOTALL)
_PILCROW = re.compile(r"¶\s*")
_TAG = re.compile(r"<[^>]+>")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?’”)\]])")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Verse:
    book: str  # OSIS book id, e.g. "Gen", "Matt"
    chapter: int
    verse: int
    text: str

    @property
    def reference(self) -> str:
        return f"{self.book}.{self.chapter}.{self.verse}"


def find_module_dir(root: str | Path) -> Path:
    """The folder holding ``ot.bzv``/``nt.bzv`` under ``root`` (a module folder or an unpacked package)."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"SWORD module path {root} does not exist")
    if (root / "ot.bzv").exists() or (root / "nt.bzv").exists():
        return root
    found = sorted({p.parent for p in root.rglob("*.bzv")})
    if len(found) != 1:
        raise ValueError(
            f"expected exactly one zText module under {root}, found {len(found)}: {[str(p) for p in found]}; "
            "point to the module folder itself (the one holding ot.bzv and nt.bzv)"
        )
    return found[0]


def osis_to_text(markup: str) -> str:
    """Plain text of an OSIS fragment: notes, headings and variant readings dropped, tags removed."""
    text = _DROPPED_ELEMENTS.sub(" ", markup)
    text = _PILCROW.sub("", _TAG.sub("", text))
    text = _SPACES.sub(" ", text)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text).strip()


def _book_start(markup: str) -> str | None:
    """The OSIS id of a book whose opening marker (``type="book"`` with ``sID``) is in ``markup``."""
    for div in _DIV.findall(markup):
        if 'type="book"' in div and _START_ID.search(div):
            found = _OSIS_ID.search(div)
            if found:
                return found.group(1)
    return None


def _read_slots(module_dir: Path, testament: str) -> list[str]:
    index = module_dir / f"{testament}.bzv"
    if not index.exists():
        return []
    blocks_index = (module_dir / f"{testament}.bzs").read_bytes()
    compressed = (module_dir / f"{testament}.bzz").read_bytes()
    blocks = [
        zlib.decompress(compressed[offset : offset + size])
        for offset, size, _ in _BLOCK_ENTRY.iter_unpack(blocks_index)
    ]
    return [
        blocks[block][offset : offset + size].decode("utf-8") if size else ""
        for block, offset, size in _VERSE_ENTRY.iter_unpack(index.read_bytes())
    ]


def read_verses(module: str | Path) -> Iterator[Verse]:
    """Every non-empty verse of a zText module, in canonical order, as plain text."""
    module_dir = find_module_dir(module)
    for testament in ("ot", "nt"):
        book, chapter, verse = None, 0, 0
        for markup in _read_slots(module_dir, testament):
            chapter_start = _CHAPTER_START.search(markup)
            book_start = _book_start(markup)
            if book_start:
                book, chapter, verse = book_start, 0, 0
            if chapter_start:
                book, chapter, verse = chapter_start.group(1), int(chapter_start.group(2)), 0
                continue
            if book_start or chapter == 0:
                continue  # heading slot of a testament or a book
            verse += 1
            text = osis_to_text(markup)
            if text:
                yield Verse(book, chapter, verse, text)
