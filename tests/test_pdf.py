"""The shared PDF package (pdf/): fonts subset by fontTools, ToUnicode CMaps, its place in the
layers. The exports' and the pipeline's own tests (test_aktenauszug.py, test_archive_pdf.py)
judge the finished files with poppler and veraPDF; here the pieces are checked on their own.
"""

from __future__ import annotations

import ast
import io
import struct
import subprocess
from pathlib import Path

import pikepdf
import pytest
from fontTools.ttLib import TTFont

from pdf.cmap import identity_cmap, to_unicode_cmap
from pdf.fonts import KEPT_TABLES, EmbeddedFont, FontFace, font_face
from pdf.pages import Canvas, new_page

ROOT = Path(__file__).resolve().parents[1]
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# Composite glyphs (Ä = A + dieresis, ș = s + comma below), a decomposed ü (u + U+0308), a
# character beyond U+FFFF (two UTF-16 units in the CMap) and one DejaVu lacks (printed as "?").
TEXT = "Änderung für Ștefan Yılmaz, Mu\u0308ller \U0001f600 \u4e2d"
SHOWN = "Änderung für Ștefan Yılmaz, Müller \U0001f600 ?"


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EmbeddedFont]:
    """A one-page PDF with TEXT drawn in DejaVu Sans, embedded as a subset."""
    font = EmbeddedFont(font_face(DEJAVU), "F1")
    target = tmp_path_factory.mktemp("pdf") / "text.pdf"
    with pikepdf.new() as pdf:
        font.attach(pdf)
        canvas = Canvas()
        canvas.text(font, 12, 50, 700, TEXT)
        pdf.pages.append(new_page(pdf, (595.0, 842.0), canvas, [font]))
        font.install(pdf)
        pdf.save(target)
    return target, font


def embedded(path: Path) -> tuple[bytes, bytes, list[float]]:
    """The F1 font's program, its CIDToGIDMap and its widths of codes 1..n."""
    with pikepdf.open(path) as pdf:
        cid_font = pdf.pages[0].Resources.Font.F1.DescendantFonts[0]
        first, widths = cid_font.W
        assert first == 1
        return (
            cid_font.FontDescriptor.FontFile2.read_bytes(),
            cid_font.CIDToGIDMap.read_bytes(),
            [float(w) for w in widths],
        )


def test_text_extracts_as_written(drawn: tuple[Path, EmbeddedFont]) -> None:
    target, _ = drawn
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(target), "-"], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == SHOWN
    fonts = subprocess.run(
        ["pdffonts", str(target)], capture_output=True, text=True, timeout=60
    ).stdout.splitlines()[2:]
    (line,) = fonts
    name, *_kind, encoding, emb, sub, uni, _obj, _gen = line.split()
    assert name.endswith("+DejaVuSans") and (encoding, emb, sub, uni) == (
        "Identity-H",
        "yes",
        "yes",
        "yes",
    )


def test_subset_draws_each_code_with_its_glyph(drawn: tuple[Path, EmbeddedFont]) -> None:
    """Code n in the content stream leads through /CIDToGIDMap to a glyph of the subset that
    has the outline and the width of the font's glyph; composites keep their components; the
    subset holds nothing else."""
    target, font = drawn
    program, cid_to_gid, widths = embedded(target)
    subset, source = TTFont(io.BytesIO(program)), TTFont(DEJAVU)
    assert set(subset.reader.keys()) <= KEPT_TABLES
    sub_order, source_order = subset.getGlyphOrder(), source.getGlyphOrder()
    sub_glyf, source_glyf = subset["glyf"], source["glyf"]
    composites = 0
    for glyph, code in font.codes.items():
        (number,) = struct.unpack_from(">H", cid_to_gid, 2 * code)
        mine, theirs = sub_glyf[sub_order[number]], source_glyf[source_order[glyph]]
        assert mine.numberOfContours == theirs.numberOfContours, code
        assert list(mine.getCoordinates(sub_glyf)[0]) == list(
            theirs.getCoordinates(source_glyf)[0]
        ), code
        composites += theirs.isComposite()
        advance = source["hmtx"][source_order[glyph]][0]
        assert subset["hmtx"][sub_order[number]][0] == advance
        assert widths[code - 1] == pytest.approx(advance * 1000 / 2048, abs=0.001)
    assert composites >= 3  # Ä, ü, ș are composites in DejaVu
    components = {
        c.glyphName
        for g in font.codes
        if source_glyf[source_order[g]].isComposite()
        for c in source_glyf[source_order[g]].components
    }
    drawn_glyphs = {source_order[g] for g in font.codes} | components | {".notdef"}
    assert subset["maxp"].numGlyphs == len(drawn_glyphs)
    assert len(cid_to_gid) == 2 * (len(font.codes) + 1)
    assert len(program) < DEJAVU.stat().st_size / 20


def test_same_glyphs_same_program() -> None:
    """No clock in the font: the same glyphs give the same bytes, and so the same subset tag."""
    face = FontFace(DEJAVU)
    glyphs = [face.cmap[ord(c)] for c in "Blatt 12"]
    first, numbers = face.subset(glyphs)
    assert face.subset(list(reversed(glyphs))) == (first, numbers)
    assert sorted(numbers.values()) == list(range(len(set(glyphs)) + 1))  # with glyph 0
    assert TTFont(io.BytesIO(first))["head"].modified == TTFont(DEJAVU)["head"].modified


def test_cmap_ranges_vary_only_in_the_last_byte() -> None:
    with pytest.raises(ValueError):
        to_unicode_cmap(ranges=[(0x00F0, 0x0110, 0x00F0)])
    cmap = identity_cmap().decode("ascii")
    assert cmap.count("beginbfrange") == 3  # 256 ranges, at most 100 a block
    assert "<0001> <00FF> <0001>" in cmap and "<FF00> <FFFD> <FF00>" in cmap
    assert "<FE00> <FEFE> <FE00>" in cmap  # FEFF, FFFE, FFFF are no characters for PDF/A
    chars = to_unicode_cmap({0x0102: "Ä", 0x0005: "\U0001f600"}).decode("ascii")
    assert "2 beginbfchar\n<0005> <D83DDE00>\n<0102> <00C4>\nendbfchar" in chars


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


OURS = ("records", "storage", "search", "ingest", "api", "web", "pdf", "tests", "bench")


def test_pdf_package_imports_nothing_but_itself() -> None:
    for path in sorted((ROOT / "pdf").glob("*.py")):
        ours = {m for m in imported_modules(path) if m.split(".")[0] in OURS}
        assert all(m.split(".")[0] == "pdf" for m in ours), (path.name, ours)


def test_exports_and_pipeline_share_pdf_not_each_other() -> None:
    """The Aktenauszug (records) takes its PDF/A and fonts from pdf/, never from ingest/."""
    for path in sorted((ROOT / "records").glob("*.py")):
        assert not any(m.split(".")[0] == "ingest" for m in imported_modules(path)), path.name
    assert {"pdf.pdfa", "pdf.fonts"} <= imported_modules(ROOT / "records" / "aktenauszug.py")
    assert "pdf.pdfa" in imported_modules(ROOT / "ingest" / "archive_pdf.py")
