"""IBANs in OCR text (issue 13): an account the master data knows is strong evidence.

A German IBAN is 20 digits after the country code; OCR reads some digits as letters ("O" for 0,
"S" for 5 or 8). Such slips are undone only where the ISO 13616 checksum then holds, and only
when exactly one reading holds: a digit read as another digit fails the checksum and the IBAN
is ignored, never guessed.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ingest.recognition.text import ParsedDocument
from records.iban import IBAN_LENGTHS, format_iban, iban_checksum_ok

# What OCR makes of a digit in a printed IBAN, and the digits each glyph may have been.
_GLYPH_DIGITS: dict[str, tuple[str, ...]] = {
    "O": ("0",),
    "o": ("0",),
    "Q": ("0",),
    "D": ("0",),
    "I": ("1",),
    "l": ("1",),
    "i": ("1",),
    "|": ("1",),
    "!": ("1",),
    "S": ("5", "8"),
    "s": ("5", "8"),
    "B": ("8", "3"),
    "Z": ("2", "7"),
    "z": ("2", "7"),
    "G": ("6", "0"),
    "b": ("6",),
}
_MAX_READINGS = 64  # more uncertain glyphs than that: too unsure to be evidence

_START = re.compile(
    r"(?:(?<=IBAN)|(?<=IBAN:)|(?<![A-Za-z0-9]))(?P<cc>[A-Z]{2})(?=[ ]?[0-9OoQDIli|!SsBZzGb])"
)


@dataclass(frozen=True)
class FoundIban:
    value: str  # compact and checked: "DE89370400440532013000"
    page: int
    line: int
    raw: str  # as read on the page
    corrected: bool  # OCR letters were read back as digits

    @property
    def shown(self) -> str:
        return format_iban(self.value)


def _glyphs(text: str, start: int, count: int) -> tuple[str, int] | None:
    """`count` glyphs from `start`, single or double spaces between them skipped."""
    out: list[str] = []
    pos = start
    spaces = 0
    while pos < len(text) and len(out) < count:
        ch = text[pos]
        if ch == " ":
            spaces += 1
            if spaces > 2 or not out and spaces > 1:
                return None
        elif ch.isalnum() or ch in "|!":
            out.append(ch)
            spaces = 0
        else:
            return None
        pos += 1
    if len(out) < count:
        return None
    if pos < len(text) and text[pos].isdigit():
        return None  # more digits follow: a longer number, not this IBAN
    return "".join(out), pos


def _readings(country: str, glyphs: str) -> list[str]:
    """Valid IBANs the glyphs can be read as (German ones: every glyph a digit)."""
    if country != "DE":
        iban = (country + glyphs).upper()
        return [iban] if iban_checksum_ok(iban) else []
    options: list[tuple[str, ...]] = []
    total = 1
    for ch in glyphs:
        if ch.isdigit():
            options.append((ch,))
            continue
        digits = _GLYPH_DIGITS.get(ch)
        if digits is None:
            return []
        options.append(digits)
        total *= len(digits)
        if total > _MAX_READINGS:
            return []
    return [
        iban
        for iban in ("DE" + "".join(choice) for choice in itertools.product(*options))
        if iban_checksum_ok(iban)
    ]


def find_ibans(doc: ParsedDocument) -> list[FoundIban]:
    """Every IBAN on the paper that is valid as printed or after undoing OCR letter slips;
    one whose slips allow more than one valid reading is left out."""
    found: list[FoundIban] = []
    seen: set[tuple[str, int]] = set()
    for line in doc.lines:
        text = line.text
        for match in _START.finditer(text):
            country = match.group("cc")
            length = IBAN_LENGTHS.get(country)
            if length is None:
                continue
            taken = _glyphs(text, match.end(), length - 2)
            if taken is None:
                continue
            glyphs, end = taken
            readings = _readings(country, glyphs)
            if len(readings) != 1:
                continue
            value = readings[0]
            if (value, line.page) in seen:
                continue
            seen.add((value, line.page))
            corrected = not glyphs.isdigit() and country == "DE"
            found.append(
                FoundIban(value, line.page, line.number, text[match.start() : end], corrected)
            )
    return found
