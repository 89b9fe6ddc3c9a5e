"""ToUnicode CMaps (ISO 32000-1, 9.10.3): which characters a font's codes stand for, so that
text can be extracted and searched. Codes are two bytes (Identity-H).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

# A CMap block may hold at most 100 entries.
_BLOCK = 100


def to_unicode_cmap(
    chars: Mapping[int, str] | None = None,
    ranges: Iterable[tuple[int, int, int]] = (),
) -> bytes:
    """The CMap program for `chars` (code -> text) and `ranges` ((first, last, first character):
    codes first..last stand for consecutive characters). A range may vary only in its low byte."""
    blocks = []
    singles = [
        f"<{code:04X}> <{text.encode('utf-16-be').hex().upper()}>"
        for code, text in sorted((chars or {}).items())
    ]
    spans = []
    for first, last, start in ranges:
        if first >> 8 != last >> 8 or first > last:
            raise ValueError(f"a bfrange may vary only in its last byte: {first:04X}-{last:04X}")
        spans.append(f"<{first:04X}> <{last:04X}> <{start:04X}>")
    for kind, entries in (("bfchar", singles), ("bfrange", spans)):
        for begin in range(0, len(entries), _BLOCK):
            chunk = entries[begin : begin + _BLOCK]
            blocks.append(f"{len(chunk)} begin{kind}\n" + "\n".join(chunk) + f"\nend{kind}")
    return (
        "/CIDInit /ProcSet findresource begin\n"
        "12 dict begin\n"
        "begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n"
        "/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\n"
        "CMapName currentdict /CMap defineresource pop\n"
        "end\n"
        "end\n"
    ).encode("ascii")


@cache
def identity_cmap() -> bytes:
    """Code = UTF-16 code unit, one bfrange per high byte; 0000, FEFF, FFFE, FFFF left out
    (PDF/A forbids them as Unicode values).

    A character beyond U+FFFF written as its two surrogates, each a code of its own, maps
    to those surrogates, and extraction puts the pair together again.
    """
    ranges = []
    for high in range(256):
        first, last = high << 8, (high << 8) | 0xFF
        if high == 0:
            first = 0x0001
        elif high == 0xFE:
            last = 0xFEFE
        elif high == 0xFF:
            last = 0xFFFD
        ranges.append((first, last, first))
    return to_unicode_cmap(ranges=ranges)
