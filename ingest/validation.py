"""What the scanning desk may hand in, checked before anything is stored.

The checks read headers and structure only; rendering and OCR happen later in the workers.
Every refusal carries a German message the scanning desk can act on.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pikepdf
from PIL import Image, UnidentifiedImageError

from core.errors import UploadRejected

PDF = "application/pdf"
TIFF = "image/tiff"
JPEG = "image/jpeg"
PNG = "image/png"

_MAGIC = (
    (b"%PDF-", PDF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
)
_PIL_FORMATS = {TIFF: "TIFF", JPEG: "JPEG", PNG: "PNG"}


@dataclass(frozen=True)
class Inspected:
    content_type: str
    pages: int


def safe_source_name(name: str | None) -> str:
    """The file name as the desk knows it, without folders, control characters or odd lengths."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip(" .")
    return base[:200] or "unbenannt"


def inspect_upload(
    path: Path,
    *,
    max_bytes: int,
    max_pixels: int,
    max_pages: int,
    max_page_mm: float = 1200,
    dpi: int = 200,
) -> Inspected:
    """Check a file before it is stored. `dpi` is the resolution pages are read at for OCR
    (at least): a PDF page over `max_pixels` at it, or longer than `max_page_mm` on a side, is
    refused."""
    size = path.stat().st_size
    if size == 0:
        raise UploadRejected(
            "Die Datei ist leer (0 Byte). Bitte erneut scannen.", code="empty_file"
        )
    if size > max_bytes:
        raise UploadRejected(
            f"Die Datei ist zu groß ({size / 1048576:.1f} MB, erlaubt sind "
            f"{max_bytes / 1048576:.0f} MB). Bitte den Stapel teilen.",
            code="upload_too_large",
        )
    with path.open("rb") as handle:
        head = handle.read(16)
    content_type = next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)
    if content_type is None:
        raise UploadRejected(
            "Die Datei ist weder ein PDF noch ein Bild (TIFF, JPEG, PNG) noch eine E-Mail "
            "(.eml) und kann nicht verarbeitet werden.",
            code="unsupported_format",
        )
    if content_type == PDF:
        pages = _inspect_pdf(path, max_pixels=max_pixels, max_page_mm=max_page_mm, dpi=dpi)
    else:
        pages = _inspect_image(path, content_type, max_pixels)
    if pages > max_pages:
        raise UploadRejected(
            f"Der Stapel hat {pages} Seiten; erlaubt sind {max_pages} Seiten je Datei. "
            "Bitte den Stapel teilen und in mehreren Dateien einliefern.",
            code="too_many_pages",
        )
    return Inspected(content_type, pages)


def page_size_points(page: pikepdf.Page) -> tuple[float, float]:
    """Width and height of the paper a PDF page declares, in points (1/72 inch).

    The media box is what poppler renders; /UserUnit (PDF 1.6) enlarges the unit. Without a
    media box poppler assumes US Letter.
    """
    box = page.mediabox
    if box is None:
        return 612.0, 792.0
    left, bottom, right, top = (float(v) for v in box)
    unit = page.obj.get("/UserUnit")
    scale = max(1.0, float(unit)) if isinstance(unit, (int, float, Decimal)) else 1.0
    return abs(right - left) * scale, abs(top - bottom) * scale


def rendered_size(width_pt: float, height_pt: float, dpi: float) -> tuple[int, int]:
    """The page's size in pixels when rendered at `dpi`."""
    return math.ceil(width_pt / 72 * dpi), math.ceil(height_pt / 72 * dpi)


def megapixels(pixels: int) -> str:
    """A pixel count in megapixels, the German way: "200", "1,5"."""
    if pixels >= 10_000_000:
        return _de(pixels / 1_000_000)
    return f"{pixels / 1_000_000:.1f}".replace(".", ",")


def _de(number: float) -> str:
    """A whole number with German thousands separators: 35.000."""
    return f"{number:,.0f}".replace(",", ".")


def _check_page_size(
    number: int, page: pikepdf.Page, *, max_pixels: int, max_page_mm: float, dpi: int
) -> None:
    width, height = page_size_points(page)
    if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
        raise UploadRejected(
            f"Die PDF-Datei ist beschädigt: Seite {number} hat keine gültige Größe. Bitte "
            "erneut scannen.",
            code="pdf_corrupt",
        )
    width_mm, height_mm = width / 72 * 25.4, height / 72 * 25.4
    if max(width_mm, height_mm) > max_page_mm:
        raise UploadRejected(
            f"Seite {number} ist zu groß ({_de(width_mm)} × {_de(height_mm)} mm; erlaubt sind "
            f"höchstens {_de(max_page_mm)} mm je Seitenlänge, also etwa DIN A0). Bitte die "
            "Seite in üblicher Größe scannen.",
            code="page_too_large",
        )
    pixels_wide, pixels_high = rendered_size(width, height, dpi)
    if pixels_wide * pixels_high > max_pixels:
        raise UploadRejected(
            f"Seite {number} ist zu groß für die Texterkennung ({_de(pixels_wide)} × "
            f"{_de(pixels_high)} Bildpunkte bei {dpi} dpi; erlaubt sind "
            f"{megapixels(max_pixels)} Megapixel). "
            "Bitte die Seite in üblicher Größe scannen.",
            code="page_too_large",
        )


def _inspect_pdf(path: Path, *, max_pixels: int, max_page_mm: float, dpi: int) -> int:
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 2048))
        tail = handle.read()
    if b"%%EOF" not in tail:
        raise UploadRejected(
            "Die PDF-Datei ist unvollständig (abgeschnitten). Bitte die Übertragung oder den "
            "Scan wiederholen.",
            code="pdf_truncated",
        )
    try:
        with pikepdf.open(path) as pdf:
            if pdf.is_encrypted:
                raise UploadRejected(
                    "Die PDF-Datei ist verschlüsselt. Verschlüsselte Dateien können nicht "
                    "archiviert werden; bitte ohne Kennwort erneut scannen.",
                    code="pdf_encrypted",
                )
            pages = len(pdf.pages)
            for number, page in enumerate(pdf.pages, start=1):
                _check_page_size(
                    number, page, max_pixels=max_pixels, max_page_mm=max_page_mm, dpi=dpi
                )
    except pikepdf.PasswordError:
        raise UploadRejected(
            "Die PDF-Datei ist mit einem Kennwort geschützt und kann nicht geöffnet werden. "
            "Bitte ohne Kennwort erneut scannen.",
            code="pdf_encrypted",
        ) from None
    except (pikepdf.PdfError, ValueError, TypeError):
        raise UploadRejected(
            "Die PDF-Datei ist beschädigt und kann nicht gelesen werden. Bitte erneut scannen.",
            code="pdf_corrupt",
        ) from None
    if pages == 0:
        raise UploadRejected("Die PDF-Datei enthält keine Seiten.", code="pdf_no_pages")
    return pages


def _inspect_image(path: Path, content_type: str, max_pixels: int) -> int:
    try:
        with Image.open(path, formats=[_PIL_FORMATS[content_type]]) as image:
            frames = getattr(image, "n_frames", 1)
            for frame in range(frames):
                image.seek(frame)
                width, height = image.size
                if width * height > max_pixels:
                    raise UploadRejected(
                        f"Das Bild ist zu groß ({width}×{height} Bildpunkte; erlaubt sind "
                        f"{max_pixels // 1_000_000} Megapixel). Bitte mit üblicher Auflösung "
                        "scannen.",
                        code="image_too_large",
                    )
        with Image.open(path, formats=[_PIL_FORMATS[content_type]]) as image:
            image.verify()
    except UploadRejected:
        raise
    except Image.DecompressionBombError:
        raise UploadRejected(
            f"Das Bild ist zu groß (mehr als {max_pixels // 1_000_000} Megapixel). Bitte mit "
            "üblicher Auflösung scannen.",
            code="image_too_large",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UploadRejected(
            "Die Bilddatei ist beschädigt und kann nicht gelesen werden. Bitte erneut scannen.",
            code="image_corrupt",
            reason=str(exc)[:200],
        ) from None
    if content_type == JPEG:
        with path.open("rb") as handle:
            handle.seek(-16, 2)
            if b"\xff\xd9" not in handle.read():
                raise UploadRejected(
                    "Die Bilddatei ist unvollständig (abgeschnitten). Bitte erneut scannen.",
                    code="image_truncated",
                )
    return frames
