"""Bible verses by reference, shared by the translation and verse-pair tasks.

Debian's ``sword-text-kjv``, ``sword-text-web`` and ``sword-text-sparv`` modules are read with
``denoise.data.sword.read_verses``. The modules follow one versification, but a translation numbered
differently has some verses moved or merged; the helpers here find where two modules disagree.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from data_scripts.tasks_io import fetch_command
from denoise.data.sword import read_verses
from denoise.errors import DenoiseError

Reference = tuple[str, int, int]  # OSIS book, chapter, verse
Chapter = tuple[str, int]

_WORD = re.compile(r"\w+")
_LETTERS = re.compile(r"[a-z]+")
_SENTENCE_OPENERS = ".!?¡¿:"
_STANZA_LETTER = re.compile(r"^[A-Z]+\.?\s+")
_HALLELUJAH = "Aleluya."
_SUBSCRIPTION = re.compile(r"(Amén\.)\s+[^.]*\b(?:escrita|enviada)\b.*$", re.IGNORECASE)
_LETTER_TAIL = re.compile(r"(?:^|\s+)[^\W\d_]$")


def load_verses(sources: Path, package: str) -> dict[Reference, str]:
    """The non-empty verses of the module unpacked in ``sources/package``, in canonical order."""
    folder = sources / package
    if not folder.exists():
        raise DenoiseError(f"no {folder}; run {fetch_command(sources, package)}")
    return {(v.book, v.chapter, v.verse): v.text for v in read_verses(folder)}


def _opening_capitals(text: str) -> tuple[int, list[re.Match[str]]]:
    """The capitalised words that open a chapter in print ("EN el", "Y DESPUÉS", "A TI", "David. ¡OH"), and
    where the title before them ends (0 without a title).

    They are a run of words of two or more capitals preceded by nothing but one-letter words and opening
    marks, after a title sentence if any. Without such a run the list is empty.
    """
    run: list[re.Match[str]] = []
    for match in _WORD.finditer(text):
        capitals = len(match.group()) > 1 and match.group().isupper()
        if run and not (capitals and text[run[-1].end() : match.start()] == " "):
            break
        if capitals:
            run.append(match)
    if not run:
        return 0, []
    head = text[: run[0].start()]
    while (shorter := _LETTER_TAIL.sub("", head.rstrip(" ¡¿"), count=1)) != head:
        head = shorter
    return (len(head), run) if not head or head.endswith(".") else (0, [])


def drop_psalm_titles(verses: dict[Reference, str]) -> dict[Reference, str]:
    """Psalms without the titles Reina-Valera puts in their verses, as the KJV module does.

    A title is the sentence before the capitals opening a psalm ("Salmo de David. JEHOVÁ, ..."); Psalm 119
    also names a Hebrew letter at the head of each stanza of eight verses ("ALEPH.", "BETH"). "Aleluya." is
    no title: the KJV has it in the verse ("Praise ye the LORD.").
    """
    cleaned = dict(verses)
    for (book, chapter, verse), text in verses.items():
        if book != "Ps":
            continue
        if chapter == 119 and verse % 8 == 1:
            text = _STANZA_LETTER.sub("", text, count=1)
        title_end = _opening_capitals(text)[0] if verse == 1 else 0
        if text[:title_end].strip() != _HALLELUJAH:
            text = text[title_end:].lstrip()
        cleaned[book, chapter, verse] = text
    return cleaned


def drop_subscriptions(verses: dict[Reference, str]) -> dict[Reference, str]:
    """Verses without the note on where an epistle was written, which Reina-Valera adds after its last
    "Amén." ("... Amén. Fué escrita de Corinto á los Romanos, ..."); the KJV module keeps notes apart.
    """
    last_verses = {reference[0]: reference for reference in verses}
    cleaned = dict(verses)
    for reference in last_verses.values():
        cleaned[reference] = _SUBSCRIPTION.sub(r"\1", verses[reference])
    return cleaned


def restore_drop_caps(verses: dict[Reference, str]) -> dict[Reference, str]:
    """Verses whose chapter opening in capitals (a printing convention: ``LA SEGUNDA suerte``) is recased.

    Each capitalised word opening a chapter's first verse takes the form the module uses most often for it
    elsewhere, if that form is not in capitals and is more frequent there than the capitals (so KJV's ``LORD``
    stays), or lower case if the word appears nowhere else; the first letter of a sentence stays a capital.
    """
    openings = {r: _opening_capitals(text)[1] for r, text in verses.items() if r[2] == 1}
    forms = Counter(word for text in verses.values() for word in _WORD.findall(text))
    forms.subtract(match.group() for run in openings.values() for match in run)
    usual: dict[str, str] = {}
    for form, count in forms.most_common():
        if count > 0 and not form.isupper():
            usual.setdefault(form.lower(), form)
    restored = dict(verses)
    for reference, run in openings.items():
        text = restored[reference]
        for match in reversed(run):
            word = match.group()
            form = usual.get(word.lower())
            if form is None and forms[word] <= 0:
                form = word.lower()  # the word appears nowhere else
            elif form is None or forms[form] <= forms[word]:
                continue  # capitals are its usual form
            before = text[: match.start()].rstrip()
            if not before or before[-1] in _SENTENCE_OPENERS:
                form = form[0].upper() + form[1:]
            text = text[: match.start()] + form + text[match.end() :]
        restored[reference] = text
    return restored


def chapters_after_gaps(first: dict[Reference, str], second: dict[Reference, str]) -> set[Chapter]:
    """Chapters following a chapter of the same book where one module has a verse the other lacks.

    A verse one translation numbers into the next chapter leaves that whole next chapter shifted by one.
    """
    gaps = {reference[:2] for reference in first.keys() ^ second.keys()}
    return {(book, chapter + 1) for book, chapter in gaps}


def words(text: str) -> frozenset[str]:
    return frozenset(_LETTERS.findall(text.lower()))


def dice(first: frozenset[str], second: frozenset[str]) -> float:
    """Overlap of two word sets: 1 for equal sets, 0 for disjoint ones."""
    if not first and not second:
        return 0.0
    return 2 * len(first & second) / (len(first) + len(second))


def chapter_key(reference: Reference) -> str:
    return f"{reference[0]}.{reference[1]}"
