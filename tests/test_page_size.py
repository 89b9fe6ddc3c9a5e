"""Pages too large to read: refused at upload, or set aside while the rest of the batch goes on.

A PDF of a few hundred bytes can declare metres of paper, or an image of 20,000 x 20,000 pixels
that compresses to nothing; rendering either for OCR takes minutes and gigabytes.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import func, select

from app.runtime import build_runtime
from core.db import transaction
from ingest.prepare import page_too_large, pdf_page_scans
from records.models import ScanBatch
from records.runtime import Runtime
from tests.support import client_for, load_people, make_settings, sample, work_until_idle

A4 = (595.0, 842.0)
MM = 72 / 25.4


def huge_page(target: Path, width_pt: float, height_pt: float) -> bytes:
    """One empty page declaring the given paper size: a few hundred bytes."""
    with pikepdf.new() as pdf:
        page = pdf.add_blank_page()
        # Larger than the 14,400 units the specification allows: readers render it anyway.
        page.MediaBox = pikepdf.Array([0, 0, width_pt, height_pt])
        pdf.save(target)
    return target.read_bytes()


def image_bomb(pdf: pikepdf.Pdf, pixels: int, *, drawn_at: tuple[float, float] = A4) -> None:
    """Append an A4 page showing a 1-bit image of pixels x pixels, white rows compressed by
    Flate to almost nothing (the shape of OCRmyPDF's hugemono.pdf)."""
    packer = zlib.compressobj(9)
    row = b"\xff" * ((pixels + 7) // 8)
    rows_per_chunk = max(1, 1_048_576 // len(row))
    chunks = []
    for start in range(0, pixels, rows_per_chunk):
        chunks.append(packer.compress(row * min(rows_per_chunk, pixels - start)))
    chunks.append(packer.flush())
    image = pikepdf.Stream(pdf, b"".join(chunks))
    image.Type = pikepdf.Name.XObject
    image.Subtype = pikepdf.Name.Image
    image.Width = pixels
    image.Height = pixels
    image.ColorSpace = pikepdf.Name.DeviceGray
    image.BitsPerComponent = 1
    image.Filter = pikepdf.Name.FlateDecode
    page = pdf.add_blank_page(page_size=A4)
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    width, height = drawn_at
    page.Contents = pdf.make_stream(f"q {width} 0 0 {height} 0 0 cm /Im0 Do Q".encode())


def letter_and_bomb(target: Path, pixels: int = 20_000) -> Path:
    """A real letter (page 1) with an image bomb as page 2."""
    with pikepdf.open(sample("docs/0004.pdf")) as pdf:
        image_bomb(pdf, pixels)
        pdf.save(target)
    return target


@pytest.fixture
def desk_runtime(tmp_path: Path):  # type: ignore[no-untyped-def]
    runtime = build_runtime(make_settings(tmp_path / "data", ocr_dpi=600))
    load_people(runtime)
    yield runtime
    runtime.close()


def upload(runtime: Runtime, name: str, content: bytes):  # type: ignore[no-untyped-def]
    client = client_for(runtime, "post.1")
    return client, client.post("/api/documents", files={"file": (name, content, "application/pdf")})


def batch_count(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(ScanBatch)) or 0


def test_page_of_twelve_metres_is_refused_at_upload_in_german(
    desk_runtime: Runtime, tmp_path: Path
) -> None:
    content = huge_page(tmp_path / "riesig.pdf", 35_000, 35_000)
    assert len(content) < 1000
    _client, response = upload(desk_runtime, "riesig.pdf", content)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "page_too_large"
    assert error["message"] == (
        "Seite 1 ist zu groß (12.347 × 12.347 mm; erlaubt sind höchstens 1.200 mm je "
        "Seitenlänge, also etwa DIN A0). Bitte die Seite in üblicher Größe scannen."
    )
    assert batch_count(desk_runtime) == 0


def test_page_too_large_for_ocr_at_its_resolution_is_refused(
    desk_runtime: Runtime, tmp_path: Path
) -> None:
    # 1.1 m square is within the size limit, but at 600 dpi it is 676 megapixels.
    with pikepdf.open(sample("docs/0004.pdf")) as pdf:
        pdf.add_blank_page(page_size=(1100 * MM, 1100 * MM))
        pdf.save(tmp_path / "plan.pdf")
    _client, response = upload(desk_runtime, "plan.pdf", (tmp_path / "plan.pdf").read_bytes())
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "page_too_large"
    assert error["message"] == (
        "Seite 2 ist zu groß für die Texterkennung (25.985 × 25.985 Bildpunkte bei 600 dpi; "
        "erlaubt sind 200 Megapixel). Bitte die Seite in üblicher Größe scannen."
    )
    assert batch_count(desk_runtime) == 0


def test_a0_page_is_accepted(tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(tmp_path / "data"))
    load_people(runtime)
    content = huge_page(tmp_path / "a0.pdf", 841 * MM, 1189 * MM)
    _client, response = upload(runtime, "a0.pdf", content)
    assert response.status_code == 201, response.text
    runtime.close()


def test_image_bomb_is_found_before_anything_is_rendered(tmp_path: Path) -> None:
    target = tmp_path / "bombe.pdf"
    with pikepdf.open(sample("docs/0004.pdf")) as pdf:
        image_bomb(pdf, 20_000)  # drawn over the whole page: about 2400 dpi
        image_bomb(pdf, 20_000, drawn_at=(72, 72))  # drawn one inch small: still decoded whole
        pdf.save(target)
    letter, full, small = pdf_page_scans(target, timeout=60)
    assert page_too_large(1, letter, max(letter.dpi, 200), 200_000_000) is None
    assert full.largest_image == small.largest_image == (20_000, 20_000)
    expected = "enthält ein zu großes Bild (20000 × 20000 Bildpunkte; erlaubt sind 200 Megapixel)"
    assert page_too_large(2, full, max(full.dpi, 200), 200_000_000) == f"Seite 2 {expected}"
    assert page_too_large(3, small, max(small.dpi, 200), 200_000_000) == f"Seite 3 {expected}"


@pytest.mark.slow
def test_image_bomb_page_is_set_aside_and_the_letter_beside_it_is_filed(
    tmp_path: Path,
) -> None:
    runtime = build_runtime(make_settings(tmp_path / "data"))
    load_people(runtime)
    scan = letter_and_bomb(tmp_path / "stapel.pdf")
    client, response = upload(runtime, "stapel.pdf", scan.read_bytes())
    assert response.status_code == 201, response.text
    work_until_idle(runtime)
    batch = client.get(f"/api/batches/{response.json()['id']}").json()
    runtime.close()
    assert batch["status"] == "processed"
    assert batch["pages_total"] == 2
    [document] = batch["documents"]
    assert document["pages"] == 1
    assert batch["pages_dropped"] == [{"page": 2, "reason": "unreadable"}]
    assert batch["status_message"] == (
        "Zu große Seiten, nicht gelesen (im Original erhalten): Seite 2 enthält ein zu großes "
        "Bild (20000 × 20000 Bildpunkte; erlaubt sind 200 Megapixel)"
    )


def test_batch_of_only_an_image_bomb_fails_once_with_a_german_reason(tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(tmp_path / "data"))
    load_people(runtime)
    with pikepdf.new() as pdf:
        image_bomb(pdf, 20_000)
        pdf.save(tmp_path / "bombe.pdf")
    client, response = upload(runtime, "bombe.pdf", (tmp_path / "bombe.pdf").read_bytes())
    assert response.status_code == 201, response.text
    work_until_idle(runtime)
    batch = client.get(f"/api/batches/{response.json()['id']}").json()
    runtime.close()
    assert batch["status"] == "failed"
    assert batch["job"]["attempts"] == 1
    assert batch["status_message"] == (
        "Keine Seite des Stapels war lesbar (Seite 1 enthält ein zu großes Bild "
        "(20000 × 20000 Bildpunkte; erlaubt sind 200 Megapixel))."
    )
