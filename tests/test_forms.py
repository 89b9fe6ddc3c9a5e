"""Forms and separator sheets: numbers and dates in boxes, checkboxes, distorted separators.

The form pages are drawn with the letter generator's own layout code, printed into a PDF and
read the way the pipeline reads a page (render, analyse, turn and deskew, OCR through
`ingest.forms.read_page`), so every test goes through tesseract.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pikepdf
import pytest
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ingest import forms, prepare
from ingest.ocr import OcrResult
from ingest.pipeline import PageOutcome, split_documents
from ingest.recognition.extract import (
    box_runs,
    find_bg_candidates,
    find_checkboxes,
    find_dates,
    ticked_options,
)
from ingest.recognition.text import ParsedDocument
from tests.lettergen import Doc

TIMEOUT = 120
NUMBER = "35102BG5181921"


def parsed(*pages: str) -> ParsedDocument:
    return ParsedDocument.from_pages(list(pages))


def form_page(dpi: int, draw: Callable[[Doc], None], seed: int = 1) -> Image.Image:
    doc = Doc(dpi, "DejaVu Sans", 10.5, 25, random.Random(seed))
    doc.put(24, 16, "Jobcenter Landkreis Beispiel", size=9.5)
    doc.put(24, 22, "Antrag auf Weiterbewilligung", size=14, bold=True)
    draw(doc)
    return doc.page.image.convert("L")


def scanned(image: Image.Image, seed: int, skew: float = 0.4) -> Image.Image:
    """What a scanner makes of the page: a little blur, grain, grey paper and a slight skew."""
    rng = np.random.default_rng(seed)
    page = image.filter(ImageFilter.GaussianBlur(0.6))
    page = page.rotate(skew, resample=Image.Resampling.BILINEAR, fillcolor=255)
    pixels = np.asarray(page, np.float64) * 0.93 + rng.normal(6, 4, (page.height, page.width))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def read_like_the_pipeline(image: Image.Image, dpi: int, work: Path) -> OcrResult:
    """Print the page into a PDF and read it as `ingest.pipeline._read_page` does."""
    pdf = work / "scan.pdf"
    image.save(pdf, "PDF", resolution=dpi, quality=85)
    [scan] = prepare.pdf_page_scans(pdf, TIMEOUT)
    raw = prepare.render_pdf_page(pdf, 1, scan.dpi, work, TIMEOUT)
    plan = prepare.analyse_page(raw, TIMEOUT)
    assert not plan.separator and not plan.blank
    upright = prepare.prepare_page(
        raw, work / "upright.pgm", rotation=plan.rotation, skew=plan.skew
    )
    return forms.read_page(upright, work / "ocr", "deu", TIMEOUT, scan.dpi)


# --- numbers and dates in boxes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("dpi", "style", "chars"),
    [
        (200, "boxes", NUMBER),
        (300, "dark", NUMBER),
        (200, "ticks", "35102 BG 5181921"),
        (300, "boxes", "35102 BG 5181921"),
    ],
)
def test_household_number_printed_one_character_per_box_is_read(
    dpi: int, style: str, chars: str, tmp_path: Path
) -> None:
    def draw(doc: Doc) -> None:
        doc.comb(24, 34, chars, "Nummer der Bedarfsgemeinschaft", style=style, cell=5.0)
        doc.field(24, 52, 70, "Familienname", "Müller")
        doc.field(94, 52, 60, "Vorname", "Anna")

    result = read_like_the_pipeline(scanned(form_page(dpi, draw), seed=dpi), dpi, tmp_path)
    found = [candidate.value for candidate in find_bg_candidates(parsed(result.text))]
    assert NUMBER in found, result.text


def test_date_in_boxes_is_read_as_the_birth_date(tmp_path: Path) -> None:
    def draw(doc: Doc) -> None:
        doc.comb(24, 34, NUMBER, "Nummer der Bedarfsgemeinschaft", style="boxes", cell=5.0)
        doc.field(24, 52, 70, "Familienname", "Müller")
        doc.field(94, 52, 40, "Vorname", "Anna")
        doc.comb(140, 52, "17 09 1984", "Geburtsdatum", style="dark", cell=4.2)

    result = read_like_the_pipeline(scanned(form_page(300, draw), seed=7), 300, tmp_path)
    births = [d.value.isoformat() for d in find_dates(parsed(result.text)) if d.context == "birth"]
    assert births == ["1984-09-17"], result.text


def test_the_searchable_pdf_keeps_the_page_as_scanned(tmp_path: Path) -> None:
    """OCR reads the page without its box lines; the PDF the desk opens still shows them."""

    def draw(doc: Doc) -> None:
        doc.comb(24, 34, NUMBER, "Nummer der Bedarfsgemeinschaft", style="dark", cell=5.0)

    page = scanned(form_page(200, draw), seed=3, skew=0.0)
    page.save(tmp_path / "page.pgm")
    result = forms.read_page(tmp_path / "page.pgm", tmp_path / "ocr", "deu", TIMEOUT, 200)
    assert result.pdf is not None
    with pikepdf.open(result.pdf) as pdf:
        [image] = [pikepdf.PdfImage(obj) for obj in pdf.pages[0].resources.XObject.values()]
        shown = np.asarray(image.as_pil_image().convert("L"), np.float64)
    original = np.asarray(page, np.float64)
    assert shown.shape == original.shape
    assert np.abs(shown - original).mean() < 3  # the scan itself, up to JPEG
    cleaned = forms.analyse_form(np.asarray(page), 200).cleaned
    assert cleaned is not None
    assert np.abs(cleaned.astype(np.float64) - original).mean() > 0.3  # and OCR read another


# --- reading numbers box by box in the text ----------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Nummer der BG 3 5 1 0 2 B G 5 1 8 1 9 2 1",
        "|3|5|1|0|2|B|G|5|1|8|1|9|2|1|",
        "3 I 5 I 1 I 0 I 2 I B I G I 5 I 1 I 8 I 1 I 9 I 2 I 1",
        "3[5]1[0]2 [B]G [5]1[8]1[9]2[1]",
        "3 5 1 0 2 B G 5 1 8 1 9 2 1 0 1 . 0 2 . 2 0 2 6",  # the date's boxes right beside it
    ],
)
def test_numbers_read_character_by_character_are_found(line: str) -> None:
    assert [c.value for c in find_bg_candidates(parsed(line))] == [NUMBER]


@pytest.mark.parametrize(
    "text",
    [
        "Am 3. 5. 2026 kam ich um 1 2 Uhr an.",
        "Anlage 1 2 3 4 5 6 7 8 9",
        "a b c d e f g h",
        "Std. 8 8 8 8 8 0 0 | 4 0",
        "Kundennummer 15031985",
        "Telefon 0421 15031985",
    ],
)
def test_ordinary_text_gives_no_numbers_and_no_dates_from_boxes(text: str) -> None:
    doc = parsed(text)
    assert find_bg_candidates(doc) == []
    assert [d.text for d in find_dates(doc) if d.text.replace(".", "").isdigit()] == []


def test_box_rows_are_only_runs_of_single_characters() -> None:
    assert box_runs("Ihr Zeichen 35102 BG 5181921 vom 3.2.") == []
    assert box_runs("Geburtsdatum 1 7 | 0 9 | 1 9 8 4") == [(13, "17091984")]
    dates = find_dates(parsed("Geburtsdatum 1 7 | 0 9 | 1 9 8 4"))
    assert [(d.value.isoformat(), d.context) for d in dates] == [("1984-09-17", "birth")]


def test_dates_packed_from_boxes_count_under_a_date_label_only() -> None:
    doc = parsed("Familienname Vorname Geburtsdatum\nMüller Anna 17091984\nKunden-Nr. 17091984")
    assert [(d.value.isoformat(), d.context, d.line) for d in find_dates(doc)] == [
        ("1984-09-17", "birth", 1)
    ]


# --- checkboxes --------------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [200, 300])
def test_checkbox_states_become_part_of_the_page_text(dpi: int, tmp_path: Path) -> None:
    def draw(doc: Doc) -> None:
        doc.y = 40
        doc.put(24, 40, "Hat sich Ihr Einkommen geändert?")
        x = doc.option(130, "ja", True)
        doc.option(x, "nein", False)
        doc.y = 50
        doc.put(24, 50, "Wohnen Sie noch unter der bekannten Anschrift?")
        x = doc.option(130, "ja", False)
        doc.option(x, "nein", True)
        doc.y = 62
        doc.put(24, 62, "Art der Änderung:")
        x = doc.option(70, "Umzug", False)
        x = doc.option(x, "Arbeitsaufnahme", True)
        doc.option(x, "Geburt", False)

    result = read_like_the_pipeline(scanned(form_page(dpi, draw), seed=dpi + 1), dpi, tmp_path)
    doc = parsed(result.text)
    # tesseract may read the column of answers after the questions: the order may change
    states = sorted((box.label, box.ticked) for box in find_checkboxes(doc))
    assert states == sorted(
        [
            ("ja", True),
            ("nein", False),
            ("ja", False),
            ("nein", True),
            ("Umzug", False),
            ("Arbeitsaufnahme", True),
            ("Geburt", False),
        ]
    ), result.text
    assert sorted(ticked_options(doc)) == ["Arbeitsaufnahme", "ja", "nein"]
    # each mark is a word of its own, at the box, so text and word boxes stay in step
    marks = [w for w in result.words if w.text in ("☒", "☐")]
    assert len(marks) == 7
    assert result.text.split() == [w.text for w in result.words]


def test_a_letter_without_boxes_gets_no_marks(tmp_path: Path) -> None:
    def draw(doc: Doc) -> None:
        doc.y = 40
        for text in (
            "Sehr geehrte Damen und Herren,",
            "hiermit beantrage ich die Weiterbewilligung der Leistungen ab dem 1. Februar.",
            "Bei mir hat sich nichts geändert. Die Kontoauszüge lege ich bei.",
            "Mit freundlichen Grüßen",
        ):
            doc.line(text)
        doc.hline(24, 190, 80)

    result = read_like_the_pipeline(scanned(form_page(200, draw), seed=11), 200, tmp_path)
    assert "☒" not in result.text and "☐" not in result.text
    assert "Weiterbewilligung" in result.text


# --- separator sheets --------------------------------------------------------------------------

DPI = 200
A4 = (round(8.27 * DPI), round(11.69 * DPI))


def mm(value: float) -> int:
    return round(value / 25.4 * DPI)


def paper(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(244, 4.0, (A4[1], A4[0]))


def symbol(text: str, kind: zxingcpp.BarcodeFormat, module_mm: float) -> Image.Image:
    image = zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(text, kind), scale=4)
    pixels = np.asarray(image)
    if kind != zxingcpp.BarcodeFormat.QRCode:  # 1-D symbols come one module row high
        pixels = np.repeat(pixels[pixels.shape[0] // 2 : pixels.shape[0] // 2 + 1], 60, axis=0)
    image = Image.fromarray(pixels.astype(np.uint8))
    scale = mm(module_mm) / 4 if mm(module_mm) >= 1 else module_mm / 25.4 * DPI / 4
    height = mm(12) if kind != zxingcpp.BarcodeFormat.QRCode else image.height * scale
    return image.resize(
        (max(1, round(image.width * scale)), max(1, round(height))), Image.Resampling.BILINEAR
    )


def distorted_sheet(
    code: Image.Image,
    *,
    seed: int = 1,
    stretch: float = 1.0,
    contrast: float = 1.0,
    angle: float = 0.0,
    title: bool = True,
) -> Image.Image:
    """A separator sheet of another system: its own size, paleness, proportions and angle."""
    if stretch != 1.0:
        code = code.resize((round(code.width * stretch), code.height), Image.Resampling.BILINEAR)
    pixels = 255 - (255 - np.asarray(code, np.float64)) * contrast
    code = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if angle:
        code = code.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)
    page = paper(seed)
    top, left = mm(110), (A4[0] - code.width) // 2
    region = page[top : top + code.height, left : left + code.width]
    page[top : top + code.height, left : left + code.width] = np.minimum(region, np.asarray(code))
    image = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))
    if title:
        font = ImageFont.load_default(size=mm(7))
        ImageDraw.Draw(image).text((mm(55), mm(70)), "TRENNBLATT", fill=30, font=font)
    return image


QR = zxingcpp.BarcodeFormat.QRCode
CODE128 = zxingcpp.BarcodeFormat.Code128
CODE39 = zxingcpp.BarcodeFormat.Code39

DISTORTED = {
    "QR-Code verkleinert": dict(code=("PATCHT", QR, 0.22)),
    "QR-Code blass": dict(code=("PATCHT", QR, 0.6), contrast=0.3),
    "QR-Code sehr groß": dict(code=("PATCHT", QR, 4.0)),
    "Code 128 gestaucht": dict(code=("PATCHT", CODE128, 0.3), stretch=0.7),
    "Code 128 quer und blass": dict(code=("PATCHT", CODE128, 0.35), contrast=0.35, angle=90),
    "Code 39 schräg": dict(code=("PATCH T", CODE39, 0.25), angle=7),
}


@pytest.mark.parametrize("name", list(DISTORTED))
def test_distorted_separator_sheets_are_found(name: str, tmp_path: Path) -> None:
    options = dict(DISTORTED[name])
    text, kind, module = options.pop("code")
    page = distorted_sheet(symbol(text, kind, module), **options)
    page.save(tmp_path / "page.pgm")
    assert prepare.is_separator_sheet(tmp_path / "page.pgm"), name
    plan = prepare.analyse_page(tmp_path / "page.pgm", TIMEOUT)
    assert plan == prepare.PagePlan(True, False, 0, 0.0)


def test_a_distorted_separator_splits_the_batch(tmp_path: Path) -> None:
    """Letter, a pale stretched separator of another system, letter: two documents."""

    def letter(doc: Doc) -> None:
        doc.y = 40
        for k in range(12):
            doc.line(f"Zeile {k + 1} des Schreibens mit etwas Text über die Sache.")

    pages = [
        form_page(DPI, letter, seed=1),
        distorted_sheet(symbol("PATCHT", CODE128, 0.3), stretch=0.7, contrast=0.4),
        form_page(DPI, letter, seed=2),
    ]
    outcomes = []
    for number, image in enumerate(pages, start=1):
        path = tmp_path / f"page-{number}.pgm"
        image.save(path)
        plan = prepare.analyse_page(path, TIMEOUT)
        dropped = "separator" if plan.separator else ("blank" if plan.blank else None)
        outcomes.append(PageOutcome(number, dropped))
    documents = split_documents(outcomes)
    assert [[page.source_page for page in doc] for doc in documents] == [[1], [3]]


def big_other_code(tmp_path: Path) -> Path:
    page = distorted_sheet(symbol("RECHNUNG-2026-004711", CODE128, 0.5), title=False)
    return _save(page, tmp_path)


def other_qr(tmp_path: Path) -> Path:
    page = distorted_sheet(symbol("https://example.org/formular/4711", QR, 1.2), contrast=0.5)
    return _save(page, tmp_path)


def blank(tmp_path: Path) -> Path:
    return _save(Image.fromarray(np.clip(paper(5), 0, 255).astype(np.uint8)), tmp_path)


def patcht_in_running_text(tmp_path: Path) -> Path:
    def draw(doc: Doc) -> None:
        doc.y = 40
        doc.para(
            "Bitte legen Sie zwischen zwei Schreiben immer ein Trennblatt mit dem Code PATCHT. "
            "Das Trennblatt PATCHT erkennt die Scanstelle und beginnt ein neues Dokument. "
            "PATCHT PATCHT PATCHT",
            size=16,
        )

    return _save(form_page(DPI, draw), tmp_path)


def _save(image: Image.Image, tmp_path: Path) -> Path:
    image.save(tmp_path / "page.pgm")
    return tmp_path / "page.pgm"


@pytest.mark.parametrize("make", [big_other_code, other_qr, blank, patcht_in_running_text])
def test_pages_that_carry_no_separator_code_stay_content(
    make: Callable[[Path], Path], tmp_path: Path
) -> None:
    page = make(tmp_path)
    assert not prepare.is_separator_sheet(page)
    assert not prepare.analyse_page(page, TIMEOUT).separator
