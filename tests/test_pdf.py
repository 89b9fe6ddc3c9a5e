"""The shared PDF package (pdf/): fonts subset by fontTools, ToUnicode CMaps, its place in the
layers. The exports' and the pipeline's own tests (test_aktenauszug.py, test_archive_pdf.py)
judge the finished files with poppler and veraPDF; here the pieces are checked on their own.
"""

from __future__ import annotations

import ast
import io
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


def embedded_program(path: Path) -> bytes:
    with pikepdf.open(path) as pdf:
        font = pdf.pages[0].Resources.Font.F1
        return font.DescendantFonts[0].FontDescriptor.FontFile2.read_bytes()


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


def test_subset_keeps_glyph_numbers_outlines_and_components(
    drawn: tuple[Path, EmbeddedFont],
) -> None:
    """The codes in the content stream are the font's glyph numbers (CIDToGIDMap Identity): the
    subset must draw the same outlines under the same numbers, components included."""
    target, font = drawn
    program = embedded_program(target)
    subset, source = TTFont(io.BytesIO(program)), TTFont(DEJAVU)
    assert set(subset.reader.keys()) <= KEPT_TABLES
    used = set(font.used)
    sub_order, source_order = subset.getGlyphOrder(), source.getGlyphOrder()
    sub_glyf, source_glyf = subset["glyf"], source["glyf"]
    components = {
        source.getGlyphID(c.glyphName)
        for gid in used
        if source_glyf[source_order[gid]].isComposite()
        for c in source_glyf[source_order[gid]].components
    }
    assert components  # Ä, ü, ș are composites in DejaVu
    drawn_glyphs = used | components | {0}
    # Nothing above the highest glyph drawn (ș's comma below is one of DejaVu's last glyphs).
    assert subset["maxp"].numGlyphs == max(drawn_glyphs) + 1
    for gid in drawn_glyphs:
        mine = sub_glyf[sub_order[gid]]
        theirs = source_glyf[source_order[gid]]
        assert mine.numberOfContours == theirs.numberOfContours, gid
        mine_coords = mine.getCoordinates(sub_glyf)[0]
        theirs_coords = theirs.getCoordinates(source_glyf)[0]
        assert list(mine_coords) == list(theirs_coords), gid
    unused = source.getGlyphID(source.getBestCmap()[ord("Z")])
    assert unused not in drawn_glyphs and unused < max(drawn_glyphs)
    assert sub_glyf[sub_order[unused]].numberOfContours == 0  # emptied, number kept
    assert len(program) < DEJAVU.stat().st_size / 10


def test_same_glyphs_same_program() -> None:
    """No clock in the font: the same glyphs give the same bytes, and so the same subset tag."""
    face = FontFace(DEJAVU)
    glyphs = [face.cmap[ord(c)] for c in "Blatt 12"]
    first = face.subset(glyphs)
    assert face.subset(list(reversed(glyphs))) == first
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
