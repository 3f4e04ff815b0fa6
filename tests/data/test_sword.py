import os
import struct
import zlib
from pathlib import Path

import pytest

from denoise.data.sword import Verse, osis_to_text, read_verses
from tests.paths import ROOT

SOURCES = Path(os.environ.get("DENOISE_SOURCES") or ROOT / "sources")


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        (
            'In the <w lemma="strong:H7225">beginning</w> <w lemma="strong:H0430">God</w> created.',
            "In the beginning God created.",
        ),
        (
            'the earth<note type="study" n="a">Or, <reference osisRef="Gen.2.4">land</reference></note>.',
            "the earth.",
        ),
        ('<note n="b"/>And it was so.', "And it was so."),
        (
            '<title level="1" type="main">The First Book of Moses</title> In the beginning',
            "In the beginning",
        ),
        (
            "¶ And God said , Let there be light ; and there was light .",
            "And God said, Let there be light; and there was light.",
        ),
        (
            '<w lemma="x">light</w> <transChange type="added">was</transChange> <w lemma="y">good</w> :',
            "light was good:",
        ),
        ("  spread \n  over\tlines  ", "spread over lines"),
    ],
)
def test_osis_to_text(markup, expected):
    assert osis_to_text(markup) == expected


def test_osis_to_text_drops_multiline_note_with_nested_markup():
    markup = 'word<note type="x-study">\n<hi type="italic">first</hi>\nsecond</note> after'
    assert osis_to_text(markup) == "word after"


def write_ztext(directory: Path, testament: str, slots: list[str], slots_per_block: int) -> None:
    """Write ``slots`` as the zText files ``<testament>.bzs/.bzv/.bzz`` of ``directory``."""
    blocks_index, verse_index, compressed = bytearray(), bytearray(), bytearray()
    for block_number, first in enumerate(range(0, len(slots), slots_per_block)):
        raw = bytearray()
        for slot in slots[first : first + slots_per_block]:
            data = slot.encode("utf-8")
            if data:
                verse_index += struct.pack("<IIH", block_number, len(raw), len(data))
            else:
                verse_index += struct.pack("<IIH", 0, 0, 0)
            raw += data
        packed = zlib.compress(bytes(raw))
        blocks_index += struct.pack("<III", len(compressed), len(packed), len(raw))
        compressed += packed
    (directory / f"{testament}.bzs").write_bytes(bytes(blocks_index))
    (directory / f"{testament}.bzv").write_bytes(bytes(verse_index))
    (directory / f"{testament}.bzz").write_bytes(bytes(compressed))


OT_SLOTS = [
    "",
    '<milestone type="x-importer" subType="x-osis2mod" n="$Rev: 3769 $"/>',
    '<div canonical="true" osisID="Gen" sID="b1" type="book"/> <title type="main">Genesis</title>',
    '<chapter n="1" osisID="Gen.1" sID="Gen.1"/> ',
    'In the <w lemma="strong:H7225">beginning</w> God created the heaven and the earth. ',
    "And the earth was without form, and void; ",
    '<div type="x-milestone" subType="x-preverse" sID="pv1"/>¶ And God said, Let there be light.',
    '<chapter n="2" osisID="Gen.2" sID="Gen.2"/> ',
    "Thus the heavens and the earth were finished.",
    "",
    (
        "And on the seventh day God ended his work."
        ' <chapter eID="Gen.2"/> <div canonical="true" eID="b1" osisID="Gen" type="book"/>'
    ),
    '<div canonical="true" osisID="Exod" sID="b2" type="book"/> <title type="main">Exodus</title>',
    '<chapter n="1" osisID="Exod.1" sID="Exod.1"/> ',
    "Now these are the names of the children of Israel.",
    (
        'And all the souls were seventy souls<note type="x-study">Heb. seventy</note>:'
        ' <chapter eID="Exod.1"/> <div canonical="true" eID="b2" osisID="Exod" type="book"/>'
    ),
]
NT_SLOTS = [
    "",
    '<milestone type="x-importer" subType="x-osis2mod" n="$Rev: 3769 $"/>',
    '<div canonical="true" osisID="Matt" sID="b3" type="book"/>',
    '<chapter n="1" osisID="Matt.1" sID="Matt.1"/>',
    "The book of the generation of Jesus Christ.",
    'Abraham begat Isaac. <chapter eID="Matt.1"/> <div eID="b3" osisID="Matt" type="book"/>',
]
EXPECTED = [
    Verse("Gen", 1, 1, "In the beginning God created the heaven and the earth."),
    Verse("Gen", 1, 2, "And the earth was without form, and void;"),
    Verse("Gen", 1, 3, "And God said, Let there be light."),
    Verse("Gen", 2, 1, "Thus the heavens and the earth were finished."),
    Verse("Gen", 2, 3, "And on the seventh day God ended his work."),
    Verse("Exod", 1, 1, "Now these are the names of the children of Israel."),
    Verse("Exod", 1, 2, "And all the souls were seventy souls:"),
    Verse("Matt", 1, 1, "The book of the generation of Jesus Christ."),
    Verse("Matt", 1, 2, "Abraham begat Isaac."),
]


@pytest.mark.parametrize("slots_per_block", [1, 4, 100])
def test_read_verses_of_synthetic_module(tmp_path, slots_per_block):
    write_ztext(tmp_path, "ot", OT_SLOTS, slots_per_block)
    write_ztext(tmp_path, "nt", NT_SLOTS, slots_per_block)
    assert list(read_verses(tmp_path)) == EXPECTED


def test_read_verses_finds_module_folder_below_root(tmp_path):
    module = tmp_path / "usr" / "share" / "sword" / "modules" / "texts" / "ztext" / "test"
    module.mkdir(parents=True)
    write_ztext(module, "ot", OT_SLOTS, 3)
    verses = list(read_verses(tmp_path))
    assert verses == EXPECTED[:7]
    assert [v.reference for v in verses][-1] == "Exod.1.2"


def test_read_verses_of_missing_module_names_path(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        list(read_verses(missing))


@pytest.mark.skipif(
    not (SOURCES / "kjv").is_dir(),
    reason=f"no King James module at {SOURCES / 'kjv'}: run python -m data_scripts.fetch_sources --out {SOURCES} "
    "or set DENOISE_SOURCES",
)
def test_debian_kjv_module():
    verses = list(read_verses(SOURCES / "kjv"))
    by_reference = {v.reference: v.text for v in verses}
    assert len(verses) == 31102
    assert len(by_reference) == 31102
    assert len(dict.fromkeys(v.book for v in verses)) == 66
    assert verses[0].reference == "Gen.1.1"
    assert verses[-1].reference == "Rev.22.21"
    assert by_reference["Gen.1.1"] == "In the beginning God created the heaven and the earth."
    assert by_reference["John.3.16"].startswith("For God so loved the world")
    assert not any("<" in v.text or ">" in v.text for v in verses)
