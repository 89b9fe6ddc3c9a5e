"""A TrueType font embedded in a PDF as a subset, and the text drawn with it.

The font goes in as a Type0 font with Identity-H encoding over a CIDFontType2 (ISO 32000-1,
9.7.4), with a ToUnicode map, so any character the font has prints as written (German
umlauts, and names such as Yılmaz, Wiśniewski, Ștefan) and is extracted as written, and the PDF
contains every font it uses (PDF/A; the courts' electronic filing expects it too). Characters
the font lacks print as their base letter or "?".

Text is measured and encoded while the pages are drawn: each glyph gets a two-byte code (CID)
in the order of first use, 1, 2, 3, ... `install` then fills the font dictionary with a subset
made by fontTools that holds only the glyphs used (and what composite glyphs are made of, and
glyph 0), renumbered; the /CIDToGIDMap stream maps each code to its glyph in the subset, and
/W lists the widths of codes 1..n in one run. Only the tables a TrueType program in a PDF needs
are kept (ISO 32000-1, 9.9), with the hinting.

Same input, same bytes: the codes follow the drawing order, the subset and its six-letter tag
follow from the glyphs used, and fontTools is told not to stamp the time into the font's header.
"""

from __future__ import annotations

import hashlib
import io
import struct
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pikepdf
from fontTools import subset as ft_subset
from fontTools.ttLib import TTFont
from pikepdf import Array, Dictionary, Name

from pdf.cmap import to_unicode_cmap

# Tables a TrueType program embedded in a PDF needs (ISO 32000-1, 9.9); the rest is left out.
KEPT_TABLES = frozenset(("cvt ", "fpgm", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "prep"))

_SPACES = {"Cc", "Zs", "Zl", "Zp"}  # control characters (tab, newline) and separators
_DROPPED = {"Cf", "Cs", "Co", "Cn"}  # format (soft hyphen), surrogates, private, unassigned


def one_line(text: str) -> str:
    """One line of text: composed (NFC), control characters and runs of space made one space,
    invisible and unassigned characters dropped."""
    chars = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if category in _SPACES:
            chars.append(" ")
        elif category not in _DROPPED:
            chars.append(char)
    return " ".join("".join(chars).split())


class FontFace:
    """A TrueType font file: its metrics, its Unicode map, and subsets of it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.stem.replace(" ", "")
        data = path.read_bytes()
        font = TTFont(io.BytesIO(data), lazy=True)
        head, hhea = font["head"], font["hhea"]
        self.units_per_em: int = head.unitsPerEm
        self.bbox = (head.xMin, head.yMin, head.xMax, head.yMax)
        self.ascent: int = hhea.ascent
        self.descent: int = hhea.descent
        order = font.getGlyphOrder()
        metrics = font["hmtx"].metrics
        self.advances = [metrics[name][0] for name in order]
        ids = {name: number for number, name in enumerate(order)}
        self.cmap = {code: ids[name] for code, name in (font.getBestCmap() or {}).items()}
        if ord("?") not in self.cmap or ord(" ") not in self.cmap:
            raise RuntimeError(f"{path}: no Unicode cmap with space and question mark")
        capital_h = font["glyf"][order[self.cmap.get(ord("H"), 0)]]
        self.cap_height: int = getattr(capital_h, "yMax", None) or self.ascent
        font.close()
        self._program = _only_kept_tables(data)
        self._glyph_names = list(TTFont(io.BytesIO(self._program), lazy=True).getGlyphOrder())

    def advance(self, glyph: int) -> int:
        return self.advances[glyph]

    def subset(self, glyphs: Iterable[int]) -> tuple[bytes, dict[int, int]]:
        """The font program with `glyphs` (and what they are made of, and glyph 0), renumbered
        in the font's order, and the number each of `glyphs` has in it."""
        options = ft_subset.Options()
        options.notdef_outline = True  # glyph 0 draws what the font draws for a missing glyph
        options.layout_closure = False  # no ligatures or alternates: the layout tables go
        font = ft_subset.load_font(io.BytesIO(self._program), options, lazy=True)
        names = self._glyph_names
        font.setGlyphOrder(names)  # known: not to be made up again from the (absent) cmap
        wanted = sorted({0, *glyphs})
        subsetter = ft_subset.Subsetter(options)
        subsetter.populate(gids=wanted)
        subsetter.subset(font)
        numbers = {name: number for number, name in enumerate(font.getGlyphOrder())}
        out = io.BytesIO()
        ft_subset.save_font(font, out, options)
        font.close()
        return out.getvalue(), {glyph: numbers[names[glyph]] for glyph in wanted}


def _only_kept_tables(data: bytes) -> bytes:
    """The font file with only the tables an embedded program keeps, made once per font: the
    subsetter then neither reads the layout tables nor the glyph names (about 0.1 s a subset);
    with no 'post' table the glyphs are numbered, not named, which is all a PDF needs."""
    # No time stamped into 'head' (same input, same bytes in any process, on any day).
    font = TTFont(io.BytesIO(data), lazy=True, recalcTimestamp=False, recalcBBoxes=False)
    tags = font.keys()  # a TTFont has keys() but cannot be iterated
    for tag in tags:
        if tag != "GlyphOrder" and tag not in KEPT_TABLES:
            del font[tag]
    out = io.BytesIO()
    font.save(out)  # tables never loaded are copied as they are
    font.close()
    return out.getvalue()


@cache
def font_face(path: Path) -> FontFace:
    """The font file at `path`, read once."""
    return FontFace(path)


DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian package fonts-dejavu-core


def dejavu(name: str) -> FontFace:
    """One of the DejaVu fonts every PDF of the product embeds (e.g. "DejaVuSans.ttf"), read
    once; a missing font names the Debian package that brings it."""
    path = DEJAVU_DIR / name
    if not path.is_file():
        raise RuntimeError(f"Schrift {path} fehlt (Debian-Paket fonts-dejavu-core).")
    return font_face(path)


class EmbeddedFont:
    """One font as a PDF uses it: measures and encodes text, collects the glyphs used, and
    finally (`install`) fills its font dictionary with the subset.

    `key` is the font's resource name on the pages; `attach` makes the (empty) dictionary
    that pages refer to while they are drawn."""

    def __init__(self, face: FontFace, key: str) -> None:
        self.face = face
        self.key = key
        self.codes: dict[int, int] = {}  # glyph -> its code (CID), in the order of first use
        self.chars: dict[int, str] = {}  # code -> the character it stands for (ToUnicode)
        self.obj: pikepdf.Object = Dictionary()

    def attach(self, pdf: pikepdf.Pdf) -> None:
        self.obj = pdf.make_indirect(Dictionary())

    def _chars(self, text: str) -> str:
        cmap = self.face.cmap
        out = []
        for char in one_line(text):
            if ord(char) not in cmap:
                base = unicodedata.normalize("NFKD", char)[:1]
                char = base if base and ord(base) in cmap else "?"
            out.append(char)
        return "".join(out)

    def width(self, text: str, size: float) -> float:
        face = self.face
        units = sum(face.advance(face.cmap[ord(c)]) for c in self._chars(text))
        return units * size / face.units_per_em

    def show(self, text: str) -> str:
        """`text` as a hex string of two-byte codes (Identity-H), for `Tj`."""
        shown = []
        for char in self._chars(text):
            glyph = self.face.cmap[ord(char)]
            code = self.codes.get(glyph)
            if code is None:
                code = self.codes[glyph] = len(self.codes) + 1
                self.chars[code] = char
            shown.append(f"{code:04X}")
        return "<" + "".join(shown) + ">"

    def fit(self, text: str, size: float, width: float) -> str:
        """`text` on one line, shortened with an ellipsis if it is too wide."""
        text = self._chars(text)
        if self.width(text, size) <= width:
            return text
        while text and self.width(text + "…", size) > width:
            text = text[:-1]
        return text.rstrip() + "…"

    def wrap(self, text: str, size: float, width: float, max_lines: int) -> list[str]:
        """`text` broken into lines at spaces (inside over-long words if need be)."""
        lines: list[str] = []
        current = ""
        for word in self._chars(text[:4000]).split(" "):
            candidate = f"{current} {word}" if current else word
            if self.width(candidate, size) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            while len(word) > 1 and self.width(word, size) > width:
                cut = len(word) - 1
                while cut > 1 and self.width(word[:cut], size) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        if current or not lines:
            lines.append(current)
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = self.fit(lines[-1] + " …", size, width - 1) if lines[-1] else "…"
        return lines

    def resource_key(self, resources: pikepdf.Dictionary) -> str:
        """The name this font has in `resources` (a page's); added if it has none."""
        if "/Font" not in resources or not isinstance(resources.Font, pikepdf.Dictionary):
            resources.Font = Dictionary()
        fonts = resources.Font
        for name, value in fonts.items():
            if value.is_indirect and value.objgen == self.obj.objgen:
                return name[1:]
        key, suffix = self.key, 1
        while f"/{key}" in fonts:
            suffix += 1
            key = f"{self.key}{suffix}"
        fonts[f"/{key}"] = self.obj
        return key

    def install(self, pdf: pikepdf.Pdf) -> None:
        face = self.face
        program, numbers = face.subset(self.codes)
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(program).digest()[:6])
        base = Name(f"/{tag}+{face.name}")
        scale = 1000 / face.units_per_em
        file = pdf.make_stream(program)
        file.Length1 = len(program)
        descriptor = Dictionary(
            Type=Name.FontDescriptor,
            FontName=base,
            Flags=4,  # symbolic: glyphs are addressed by number, not by a standard encoding
            FontBBox=Array([round(v * scale) for v in face.bbox]),
            ItalicAngle=0,
            Ascent=round(face.ascent * scale),
            Descent=round(face.descent * scale),
            CapHeight=round(face.cap_height * scale),
            StemV=80,
            FontFile2=file,
        )
        # Codes run 1..n; code 0 is glyph 0 (the font's "missing glyph").
        by_code = sorted((code, glyph) for glyph, code in self.codes.items())
        cid_to_gid = bytearray(2 * (len(by_code) + 1))
        for code, glyph in by_code:
            struct.pack_into(">H", cid_to_gid, 2 * code, numbers[glyph])
        widths = [_width_value(face.advance(glyph) * scale) for _code, glyph in by_code]
        cid_font = Dictionary(
            Type=Name.Font,
            Subtype=Name.CIDFontType2,
            BaseFont=base,
            CIDSystemInfo=Dictionary(
                Registry=pikepdf.String("Adobe"),
                Ordering=pikepdf.String("Identity"),
                Supplement=0,
            ),
            FontDescriptor=pdf.make_indirect(descriptor),
            DW=_width_value(face.advance(0) * scale),
            W=Array([1, Array(widths)]) if widths else Array(),
            CIDToGIDMap=pdf.make_stream(bytes(cid_to_gid)),
        )
        self.obj.Type = Name.Font
        self.obj.Subtype = Name.Type0
        self.obj.BaseFont = base
        self.obj.Encoding = Name("/Identity-H")
        self.obj.DescendantFonts = Array([pdf.make_indirect(cid_font)])
        self.obj.ToUnicode = pdf.make_stream(to_unicode_cmap(self.chars))


def _width_value(value: float) -> float | int:
    rounded = round(value, 3)
    return int(rounded) if rounded == int(rounded) else rounded
