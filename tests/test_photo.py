"""Phone photos, coloured paper with stamps over the print, and landscape pages fed sideways:
each is made an upright, white, readable page before OCR."""

from __future__ import annotations

import dataclasses
import io
import os
import random
import re
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops
from sqlalchemy import select

from core.db import transaction
from ingest import forms, pipeline, prepare
from ingest.photo import find_sheet, page_for_ocr
from ingest.recognition import HouseholdRecord, MasterData, MemberRecord, load_catalogue, recognise
from ingest.recognition.extract import find_bg_candidates
from ingest.recognition.text import ParsedDocument
from records.models import Page
from records.runtime import Runtime
from tests import lettergen
from tests.support import client_for, load_people, work_until_idle

TIMEOUT = 60
LETTERS = ("client_formal", "question", "bank_change", "objection_plain", "au_letter")


def compact(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()


def tesseract(image: Path, dpi: int) -> str:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    return subprocess.run(
        ["tesseract", str(image), "stdout", "-l", "deu+eng", "--dpi", str(dpi)],
        check=True, capture_output=True, text=True, timeout=120, env=env,
    ).stdout  # fmt: skip


def recall(printed: str, read: str) -> float:
    want, got = Counter(printed.split()), Counter(read.split())
    return sum(min(n, got[w]) for w, n in want.items()) / sum(want.values())


def letter_plan(templates: tuple[str, ...] = LETTERS, seed: int = 3) -> lettergen.Plan:
    """A generated letter that prints its household number on page 1."""
    master = lettergen.build_master(seed, 40)
    for index in range(400):
        plan = lettergen.plan_letter(master, seed, index)
        if plan.case == "bg" and plan.template.name in templates and plan.dpi == 300:
            return plan
    raise AssertionError("no such letter")


def scanned(
    plan: lettergen.Plan, stamp: list[str] | None = None, **changes: object
) -> tuple[Image.Image, lettergen.Page]:
    """Page 1 of the letter, scanned with the profile fields in `changes`."""
    pages, profile = lettergen.render(plan, random.Random(1))
    profile = dataclasses.replace(
        profile,
        **{
            "upside_down": False,
            "turn": 0,
            "note": False,
            "stamp_over_text": False,
            "level": 1,
            "noise": 1.0,
            "speckles": 0,
            "faint": False,
            "fold": False,
            "shadow": False,
            "punch_holes": False,
            **changes,
        },
    )
    image, _ = lettergen.scan_page(
        pages[0],
        plan.dpi,
        profile,
        random.Random(2),
        np.random.default_rng(3),
        stamp=stamp,
        krng=random.Random(4),
    )
    return image, pages[0]


def phone_photo() -> tuple[bytes, lettergen.Plan, str]:
    """A letter photographed on a table (perspective, uneven light, JPEG), as a phone sends it:
    a JPEG that declares 72 dpi. Also the printed text of the page."""
    plan = letter_plan()
    photo, page = scanned(
        plan, kind="photo", color=True, bilevel=False, photo_size=(2250, 3000), jpeg=85
    )
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=85, dpi=(72, 72))
    return buffer.getvalue(), plan, "\n".join(page.lines)


def test_phone_photo_is_straightened_to_a_white_a4_page_and_read(tmp_path: Path) -> None:
    data, plan, printed = phone_photo()
    source = tmp_path / "photo.jpg"
    source.write_bytes(data)
    raw, dpi = prepare.extract_image_page(source, 1, tmp_path, min_dpi=200, max_pixels=200_000_000)
    with Image.open(raw) as page:
        gray = np.asarray(page)
    # The sheet alone, upright A4 at about 300 dpi: the table top is gone ...
    assert dpi == 300
    assert gray.shape[0] / gray.shape[1] == pytest.approx(297 / 210, rel=0.01)
    corner = round(12 / 25.4 * dpi)
    for patch in (gray[:corner, :corner], gray[-corner:, -corner:], gray[:corner, -corner:]):
        assert patch.mean() > 235
    # ... and the light is even: the paper is white everywhere, not only where the lamp was.
    blocks = [gray[y : y + 40, x : x + 40] for y in range(100, 3400, 400) for x in (100, 2300)]
    assert min(float(np.percentile(b, 90)) for b in blocks) > 225
    plan_page = prepare.analyse_page(raw, TIMEOUT)
    upright = prepare.prepare_page(
        raw, tmp_path / "upright.pgm", rotation=plan_page.rotation, skew=plan_page.skew
    )
    read = tesseract(upright, dpi)
    assert plan.printed_bg and plan.printed_bg in compact(read)
    assert recall(printed, read) >= 0.85


def test_phone_photo_stored_sideways_with_exif_orientation_comes_out_upright(
    tmp_path: Path,
) -> None:
    """Phones store the sensor's landscape pixels and an EXIF tag saying "turn 90 degrees"."""
    data, plan, _ = phone_photo()
    with Image.open(io.BytesIO(data)) as photo:
        sideways = photo.transpose(Image.Transpose.ROTATE_90)  # counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6  # the stored image must be turned 90 degrees clockwise to be upright
    source = tmp_path / "IMG_0001.jpg"
    sideways.save(source, "JPEG", quality=85, exif=exif)
    raw, dpi = prepare.extract_image_page(source, 1, tmp_path, min_dpi=200, max_pixels=200_000_000)
    with Image.open(raw) as page:
        assert page.height > page.width  # portrait A4, as the sheet lies
    assert prepare.analyse_page(raw, TIMEOUT).rotation == 0
    assert plan.printed_bg and plan.printed_bg in compact(tesseract(raw, dpi))


def test_violet_stamp_on_the_print_of_a_phone_photo_is_lifted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Violet ink loses much of its colour in a blurred, warmly lit photo: still found."""
    monkeypatch.setattr(lettergen, "STAMP_COLORS", ((120, 40, 140),))
    plan = letter_plan()
    photo, printed = scanned(
        plan,
        stamp=["EINGEGANGEN", "30.10.2026", "Poststelle"],
        kind="photo",
        color=True,
        bilevel=False,
        photo_size=(2250, 3000),
        stamp_over_text=True,
    )
    page, findings = page_for_ocr(photo, 300)
    assert findings.photo and findings.coloured_ink
    path = tmp_path / "photo.png"
    page.save(path)
    assert recall("\n".join(printed.lines), tesseract(path, 300)) >= 0.9


def test_photo_finder_leaves_office_scans_alone() -> None:
    """A scan is the page itself: no sheet on a background, even with a dark scanner edge."""
    plan = letter_plan()
    scan, _ = scanned(plan, kind="office", color=True, bilevel=False, shadow=True)
    gray = np.asarray(scan.convert("L").reduce(8))
    assert find_sheet(gray) is None
    out, findings = page_for_ocr(scan.convert("L"), plan.dpi)
    assert not findings.photo
    assert out.size == scan.size
    assert np.array_equal(np.asarray(out), np.asarray(scan.convert("L")))


def stamped_page(
    opaque: bool = False,
) -> tuple[Image.Image, list[str], tuple[int, int, Image.Image]]:
    """A letter on pale yellow paper with a big red received stamp on two printed lines; the
    words the stamp covers; and where the stamp is (left, top, its ink as a mask). The ink
    darkens the print under it, or (`opaque`) covers it by two thirds, so that the print shows
    through dark red."""
    plan = letter_plan()
    image, page = scanned(plan, kind="office", color=True, bilevel=False, level=0, noise=0.5)
    image = ImageChops.multiply(image.convert("RGB"), Image.new("RGB", image.size, (250, 238, 170)))
    stamp = lettergen._stamp_image(
        plan.dpi, ["EINGEGANGEN", "12. MRZ. 2026", "Jobcenter"], random.Random(5)
    )
    stamp = stamp.resize((stamp.width * 2, stamp.height * 2))
    lines = [b for b in page.boxes if not b[4] and b[2] - b[0] > stamp.width]
    x0, y0, _, _, _ = lines[len(lines) // 2]
    x, y = x0 + 40, y0 - stamp.height // 3
    if opaque:
        pixels = np.asarray(image, dtype=np.float32).copy()
        cover = np.asarray(stamp, dtype=np.float32)[:, :, None] / 255 * 0.65
        part = pixels[y : y + stamp.height, x : x + stamp.width]
        part[:] = part * (1 - cover) + np.array([196, 32, 44], np.float32) * cover
        image = Image.fromarray(pixels.astype(np.uint8))
        buffer = io.BytesIO()  # as a scanner stores it: JPEG, colour at half resolution
        image.save(buffer, "JPEG", quality=85)
        image = Image.open(buffer)
    else:
        image = lettergen._ink_over(image, stamp, (x, y), (196, 32, 44))
    covered = []
    for (bx0, by0, bx1, by1, _), text in zip(page.boxes, page.lines, strict=False):
        if bx0 < x + stamp.width and x < bx1 and by0 < y + stamp.height and y < by1:
            covered.append(text)
    return image, covered, (x, y, stamp)


@pytest.mark.parametrize("opaque", [False, True])
def test_red_stamp_over_print_on_coloured_paper_is_lifted_for_ocr(
    tmp_path: Path, opaque: bool
) -> None:
    image, covered, _ = stamped_page(opaque)
    assert covered
    source = tmp_path / "letter.png"
    image.save(source, dpi=(300, 300))
    raw, dpi = prepare.extract_image_page(source, 1, tmp_path, min_dpi=200, max_pixels=10**9)
    with Image.open(raw) as page:
        gray = np.asarray(page)
    # The yellow paper is white.
    assert np.median(gray) >= 250
    read = tesseract(raw, dpi)
    words = [w for line in covered for w in line.split() if len(w) > 2]
    found = [w for w in words if w in read.split()]
    assert len(found) >= 0.8 * len(words), (words, read)


@pytest.mark.parametrize("opaque", [False, True])
def test_the_page_image_shows_the_stamp_that_ocr_reads_through(
    sqlite_runtime: Runtime, tmp_path: Path, opaque: bool
) -> None:
    """The stamp is lifted off the print only in the copy OCR reads: the page image the
    caseworker sees (and the searchable PDF) shows the page as scanned, stamp and all, with
    the same geometry, so the word boxes still land on it."""
    image, covered, (x, y, stamp) = stamped_page(opaque)
    source = tmp_path / "letter.png"
    image.save(source, dpi=(300, 300))
    work = tmp_path / "work"
    work.mkdir()
    outcome = pipeline._read_page(source, "image/png", 1, 300, work, sqlite_runtime, lambda: True)
    assert outcome.ocr is not None and outcome.image is not None and outcome.ocr.pdf is not None
    # OCR reads the words under the stamp ...
    read = outcome.ocr.text.split()
    words = [w for line in covered for w in line.split() if len(w) > 2]
    assert len([w for w in words if w in read]) >= 0.8 * len(words), (words, read)
    # ... and the page is as large as scanned: the viewer's image is that page, scaled.
    assert (outcome.width, outcome.height) == image.size
    # Where the stamp's ink lies on the page, deskewed as the page was.
    where = Image.new("L", image.size, 0)
    where.paste(stamp, (x, y))
    where = where.rotate(-outcome.skew, resample=Image.Resampling.NEAREST, fillcolor=0)
    ink = np.asarray(where) > 128
    with Image.open(outcome.image) as view:
        assert view.width < outcome.width
        shown = np.asarray(view.convert("L").resize(image.size, Image.Resampling.BILINEAR))
    # Red ink (196, 32, 44) is about 85 in gray; the yellow paper around it about 230.
    assert float(np.median(shown[ink])) < 160
    # The searchable PDF shows the stamp too.
    subprocess.run(
        ["pdfimages", "-all", str(outcome.ocr.pdf), str(tmp_path / "pdfimage")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    [embedded] = sorted(tmp_path.glob("pdfimage-*"))
    with Image.open(embedded) as pdf_image:
        in_pdf = np.asarray(pdf_image.convert("L"))
    assert in_pdf.shape == (image.height, image.width)
    assert float(np.median(in_pdf[ink])) < 160


def test_received_stamp_on_free_paper_keeps_its_date(tmp_path: Path) -> None:
    """Only the ink on the print is lifted: a stamp in the margin is still read."""
    image = Image.new("RGB", (2480, 1200), (245, 232, 225))
    stamp = lettergen._stamp_image(
        300, ["EINGEGANGEN", "12.03.2026", "Jobcenter"], random.Random(1)
    )
    image = lettergen._ink_over(image, stamp, (900, 400), (34, 62, 170))
    out, findings = page_for_ocr(image, 300)
    assert findings.coloured_ink
    path = tmp_path / "stamp.png"
    out.save(path)
    assert "12.03.2026" in tesseract(path, 300)


def landscape_table(rows: int, turn: int) -> tuple[Image.Image, str]:
    """A job-search record printed across an A4 page in a condensed type and fed upright into
    the scanner: turned by `turn` degrees counter-clockwise. Tesseract's orientation detection
    gives up on such a table (confidence 0.1, often with the wrong answer)."""
    doc = lettergen.Doc(300, "DejaVu Sans Condensed", 11.0, 10, random.Random(1), landscape=True)
    doc.table(
        [("Nr.", 9, "r"), ("Datum", 22, "l"), ("Arbeitgeber", 50, "l"), ("Stelle", 35, "l"),
         ("Art", 22, "l"), ("Ergebnis", 28, "l")],
        [[str(k + 1), f"{10 + k}.03.2026", "Bäckerei Sonnenschein", "Verkäuferin", "schriftlich",
          "Absage erhalten"] for k in range(rows)],
        size=9,
        grid="box",
    )  # fmt: skip
    page = doc.pages[0]
    assert page.image.width > page.image.height
    return page.image.rotate(turn, expand=True), "\n".join(page.lines)


@pytest.mark.parametrize("turn", [90, 270])
@pytest.mark.parametrize("rows", [2, 12])
def test_landscape_table_fed_sideways_is_turned_upright(
    tmp_path: Path, rows: int, turn: int
) -> None:
    image, printed = landscape_table(rows, turn)
    raw = tmp_path / "page.pgm"
    image.convert("L").save(raw)
    plan = prepare.analyse_page(raw, TIMEOUT)
    # Turning back: clockwise by the turn it was fed with.
    assert plan.rotation == turn
    upright = prepare.prepare_page(raw, tmp_path / "up.pgm", rotation=plan.rotation, skew=0)
    with Image.open(upright) as page:
        assert page.width > page.height
    read = tesseract(upright, 300).replace("|", " ")
    words = " ".join(w for w in printed.split() if w.isalpha())  # table rules join numbers
    assert recall(words, read) >= 0.8


@pytest.mark.slow
def test_phone_photo_uploaded_at_the_desk_is_read_and_filed(sqlite_runtime: Runtime) -> None:
    data, plan, _ = phone_photo()
    load_people(sqlite_runtime)
    desk = client_for(sqlite_runtime, "post.1")
    uploaded = desk.post("/api/documents", files={"file": ("IMG_2041.jpg", data)})
    assert uploaded.status_code < 300, uploaded.text
    work_until_idle(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        [page] = session.scalars(select(Page)).all()
        text, width, height = page.text, page.width, page.height
    assert plan.printed_bg and plan.printed_bg in compact(text)
    assert height / width == pytest.approx(297 / 210, rel=0.02)


def test_phone_photo_of_a_boxed_form_reads_its_household_number_and_person(
    tmp_path: Path,
) -> None:
    """A change notice photographed on a table: the household number printed one character
    per box and the applicant's name in the "Familienname" and "Vorname" fields are read.

    In this photo the characters touch their boxes (the blur closes the gap): their strokes
    must not be taken for box walls and painted over, a speck in a box must not stick to the
    number, and the fields' frames stay, so that the two names are read on one line. (Letter
    30 of the generator's seed 55117, which the pipeline sent to clearing with "CON HNC 55".)"""
    master = lettergen.build_master(55117, 300)
    truth = lettergen.make_letter(master, 55117, 30, tmp_path)
    assert truth["scan_kind"] == "photo" and truth["template_name"] == "vaem_form"
    pdf = tmp_path / Path(str(truth["file"])).name
    [scan] = prepare.pdf_page_scans(pdf, TIMEOUT)
    raw = prepare.render_pdf_page(pdf, 1, scan.dpi, tmp_path, TIMEOUT)
    page_plan = prepare.analyse_page(raw, TIMEOUT)
    upright = prepare.prepare_page(
        raw, tmp_path / "upright.pgm", rotation=page_plan.rotation, skew=page_plan.skew
    )
    text = forms.read_page(upright, tmp_path / "ocr", "deu+eng", TIMEOUT, scan.dpi).text

    numbers = [c.value for c in find_bg_candidates(ParsedDocument.from_pages([text]))]
    assert truth["printed_bg"] in numbers, text
    [household] = [h for h in master.households if h.bg_number == truth["bg_number"]]
    record = HouseholdRecord(
        household.bg_number,
        f"{household.street} {household.number}",
        household.postcode,
        household.town,
        tuple(MemberRecord(p.last_name, p.first_name, p.birth_date) for p in household.members),
    )
    result = recognise([text], MasterData([record]), load_catalogue())
    details = [evidence.detail for evidence in result.household_evidence]
    assert result.bg_number == household.bg_number, text
    assert any(d.startswith(f"Name „{truth['person']}“") for d in details), (details, text)
