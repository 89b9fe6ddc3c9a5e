"""Faxes: pixels that are not square (204 x 98 dpi) are resampled before OCR and viewing."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from core.db import transaction
from ingest.prepare import declared_resolution, extract_image_page
from records.models import Page
from records.runtime import Runtime
from tests.support import client_for, load_people, work_until_idle

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
A4_INCHES = (210 / 25.4, 297 / 25.4)
SENTENCES = [
    "Sehr geehrte Damen und Herren,",
    "hiermit übersende ich Ihnen die Nebenkostenabrechnung für die Wohnung",
    "in der Bahnhofstraße zwölf sowie den neuen Mietvertrag meines Vermieters.",
    "Bitte berücksichtigen Sie die höheren Heizkosten bei der Berechnung",
    "meiner Leistungen ab dem ersten Januar des kommenden Jahres.",
    "Die Unterlagen zur Einkommensbescheinigung reiche ich nächste Woche nach.",
    "Mit freundlichen Grüßen",
]
WORDS = {word.strip(",.") for line in SENTENCES for word in line.split()}


def fax_page(turn: int = 0, lines: int = 98) -> Image.Image:
    """An A4 letter as a standard-resolution fax sends it, bilevel at 204 x 98 dpi: drawn with
    square pixels at 204 dpi, turned counter-clockwise by `turn` degrees as the sheet was fed,
    then only every other scan line kept."""
    dpi = 204
    sheet = Image.new("L", (round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)), 255)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype(str(FONT), round(11 / 72 * dpi))  # 11 pt type
    y = round(1.5 * dpi)
    for line in SENTENCES:
        draw.text((round(0.9 * dpi), y), line, font=font, fill=0)
        y += round(0.3 * dpi)
    if turn:
        sheet = sheet.rotate(turn, expand=True)
    standard = sheet.resize((sheet.width, round(sheet.height * lines / dpi)), Image.Resampling.BOX)
    return standard.point(lambda v: 255 if v >= 160 else 0).convert("1")


def fax_tiff(turn: int = 0) -> bytes:
    buffer = io.BytesIO()
    fax_page(turn).save(buffer, "TIFF", compression="group4", dpi=(204, 98))
    return buffer.getvalue()


def fax_pdf(turn: int = 0) -> bytes:
    """The fax as a fax server's PDF: one bilevel image stretched over the page (A4)."""
    buffer = io.BytesIO()
    fax_page(turn).save(buffer, "PDF", dpi=(204, 98))
    return buffer.getvalue()


def test_declared_resolution_of_fax_images_in_both_directions(tmp_path: Path) -> None:
    page = fax_page()
    for fmt, name in (("TIFF", "fax.tif"), ("PNG", "fax.png"), ("JPEG", "fax.jpg")):
        path = tmp_path / name
        page.convert("L").save(path, fmt, dpi=(204, 98))
        with Image.open(path) as opened:
            x_dpi, y_dpi = declared_resolution(opened)  # type: ignore[misc]
        assert (round(x_dpi), round(y_dpi)) == (204, 98), fmt
    square = tmp_path / "square.png"
    page.save(square, dpi=(300, 300))
    with Image.open(square) as opened:
        assert declared_resolution(opened) == pytest.approx((300, 300), abs=0.01)
    undeclared = tmp_path / "undeclared.png"
    page.save(undeclared)
    with Image.open(undeclared) as opened:
        assert declared_resolution(opened) is None


def test_fax_tiff_page_comes_out_with_square_pixels_and_a4_proportions(tmp_path: Path) -> None:
    source = tmp_path / "fax.tif"
    source.write_bytes(fax_tiff())
    raw, dpi = extract_image_page(source, 1, tmp_path, min_dpi=200, max_pixels=40_000_000)
    with Image.open(raw) as page:
        width, height = page.size
    assert dpi == 204
    assert height / width == pytest.approx(297 / 210, rel=0.01)
    assert width / dpi == pytest.approx(A4_INCHES[0], rel=0.01)


def _read(runtime: Runtime, name: str, data: bytes) -> Page:
    load_people(runtime)
    desk = client_for(runtime, "post.1")
    uploaded = desk.post("/api/documents", files={"file": (name, data)})
    assert uploaded.status_code < 300, uploaded.text
    work_until_idle(runtime)
    with transaction(runtime.sessions) as session:
        [page] = session.scalars(select(Page)).all()
        session.expunge(page)
    return page


@pytest.mark.slow
@pytest.mark.parametrize(("name", "make"), [("fax.tif", fax_tiff), ("fax.pdf", fax_pdf)])
def test_standard_resolution_fax_is_read_and_shown_in_a4_proportions(
    sqlite_runtime: Runtime, name: str, make
) -> None:  # type: ignore[no-untyped-def]
    page = _read(sqlite_runtime, name, make())
    read = {word.strip(",.") for word in page.text.split()}
    assert len(WORDS & read) / len(WORDS) >= 0.9, page.text
    # The stored page image (viewer, thumbnail, searchable PDF) has the paper's proportions.
    assert page.height / page.width == pytest.approx(297 / 210, rel=0.02)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "make"), [("fax.tif", fax_tiff), ("fax.pdf", fax_pdf)])
def test_fax_of_a_sheet_fed_sideways_is_turned_upright_and_read(
    sqlite_runtime: Runtime, name: str, make
) -> None:  # type: ignore[no-untyped-def]
    # Squashed to half its height, the text defeats the orientation analysis.
    page = _read(sqlite_runtime, name, make(turn=90))
    read = {word.strip(",.") for word in page.text.split()}
    assert page.rotation == 90
    assert len(WORDS & read) / len(WORDS) >= 0.9, page.text
    assert page.height / page.width == pytest.approx(297 / 210, rel=0.02)


def test_image_with_square_pixels_is_taken_as_it_is(tmp_path: Path) -> None:
    page = Image.new("L", (1654, 2339), 255)
    for name, dpi in (("square.png", (200, 200)), ("undeclared.png", None)):
        source = tmp_path / name
        page.save(source, **({"dpi": dpi} if dpi else {}))
        raw, found = extract_image_page(source, 1, tmp_path, min_dpi=300, max_pixels=40_000_000)
        with Image.open(raw) as extracted:
            assert extracted.size == page.size
        assert found == (200 if dpi else 300)


def test_fine_resolution_fax_in_a_pdf_is_read_in_a4_proportions(tmp_path: Path) -> None:
    """204 x 196 dpi ("fine"): the PDF's image is drawn to the page's proportions."""
    from ingest.prepare import pdf_page_scans, render_pdf_page

    pdf = tmp_path / "fine.pdf"
    buffer = io.BytesIO()
    fax_page(lines=196).save(buffer, "PDF", dpi=(204, 196))
    pdf.write_bytes(buffer.getvalue())
    [scan] = pdf_page_scans(pdf, 60)
    assert scan.colour == "bilevel"
    raw = render_pdf_page(pdf, 1, max(scan.dpi, 200), tmp_path, 60)
    with Image.open(raw) as page:
        assert page.height / page.width == pytest.approx(297 / 210, rel=0.01)
    text = subprocess.run(
        ["tesseract", str(raw), "stdout", "-l", "deu"], capture_output=True, text=True, check=True
    ).stdout
    read = {word.strip(",.") for word in text.split()}
    assert len(WORDS & read) / len(WORDS) >= 0.9, text
