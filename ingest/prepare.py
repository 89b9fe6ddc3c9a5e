"""Page clean-up before OCR: resolution, separator sheets, empty back sides, orientation, skew.

Every function is a plain function from files to files or values, safe to call from worker
threads. The analysis runs on small copies of the page (about 100 and 150 dpi) with numpy,
because it must cost only a small fraction of the tesseract run that follows: a second OCR-like
pass (tesseract OSD) costs about as much as OCR itself, so it is only a fallback for pages the
numpy analysis cannot decide.

Conventions:
- `rotation` is the clockwise turn in degrees (0, 90, 180, 270) that makes the page upright.
- `skew` is the angle in degrees by which the page content is turned counter-clockwise
  (text lines rising to the right are positive); deskewing turns it back clockwise. This is
  the sign of the `skew` values in the sample ground truth.
- Rotations commute, so the skew measured on the page as scanned is also the skew of the
  upright page: `prepare_page` may turn first and deskew second.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pikepdf
import zxingcpp
from PIL import Image, ImageFilter, ImageOps

from core.errors import UnreadablePage
from ingest.ocr import rasterise_pdf_page
from ingest.photo import looks_plain, pages_for_ocr_and_view
from ingest.programs import run_program
from ingest.textlayer import IDENTITY, Matrix, as_matrix, multiply
from ingest.validation import megapixels, page_size_points, rendered_size

DEFAULT_DPI = 300
# Pages are assumed to be about A4 wide on their short side; that only sets the scale of the
# analysis copies, so Letter or A5 pages merely get a slightly different analysis resolution.
SHORT_SIDE_INCHES = 8.27
ANALYSIS_DPI = 100  # enough for text lines, ascenders and skew; about 1 Mpixel per page
BARCODE_DPI = 150  # reads QR modules and 1-D bars down to ~0.33 mm (13 mil)
OSD_DPI = 150  # tesseract's orientation detection is unreliable below this
MAX_SKEW = 5.0
MIN_SKEW = 0.1  # below this a resampled page is not worth its cost
# OSD at 150 dpi turned all 40 samples right in all four orientations, confidence >= 2.5;
# its wrong answers (on 100 dpi copies) came with confidences below 2
MIN_OSD_CONFIDENCE = 2.0
QUICK_OSD_CHARACTERS = 20  # tesseract's default is 50
MIN_TEXT_PIXELS = 600  # at ANALYSIS_DPI: about three lines of text; less cannot be judged
BARCODE_FORMATS = zxingcpp.barcode_formats_from_str("QRCode,Code39,Code128")
SHEET_RETRY_FORMATS = zxingcpp.barcode_formats_from_str("QRCode")


@dataclass(frozen=True)
class PagePlan:
    """What to do with one scanned page before OCR."""

    separator: bool
    blank: bool
    rotation: int
    skew: float
    # The text of an accepted sheet code (a return or cover sheet, records.sheet_codes): the
    # page separates like a separator sheet and routes the documents behind it.
    sheet_code: str | None = None


# --- PDF pages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PageScan:
    dpi: int  # native resolution of the page's scanned image, DEFAULT_DPI if it has none
    colour: str | None  # "bilevel", "gray" or "colour" of that image, for the scan record
    # The paper the page declares (media box, what poppler renders), in points.
    width_pt: float = 0.0
    height_pt: float = 0.0
    # Pixel size of the largest image on the page, as declared: decoding it costs that much.
    largest_image: tuple[int, int] = (0, 0)


def pdf_page_scans(pdf: Path, timeout: int) -> list[PageScan]:
    """How each page of a PDF was scanned, for page 1, 2, ... in order, from one `pdfimages`.

    A page counts as scanned when one image covers at least half of it; pages without such an
    image (text, vector graphics, small logos) get DEFAULT_DPI and the colour of their largest
    image, if any.
    """
    boxes = _page_boxes(pdf)
    listing = run_program(["pdfimages", "-list", str(pdf)], timeout).stdout.decode("latin-1")
    # page -> (covered area in square points, dpi, colour)
    best: dict[int, tuple[float, int, str]] = {}
    largest: dict[int, tuple[int, int]] = {}
    for line in listing.splitlines()[2:]:
        fields = line.split()
        if len(fields) < 14 or fields[2] not in ("image", "mask", "smask", "stencil"):
            continue
        if not fields[0].isdigit():
            continue
        try:
            page, width, height = int(fields[0]), int(fields[3]), int(fields[4])
        except ValueError:
            continue
        known = largest.get(page, (0, 0))
        if width * height > known[0] * known[1]:
            largest[page] = (width, height)
        if fields[2] != "image":
            continue
        try:
            x_ppi, y_ppi = float(fields[12]), float(fields[13])
        except ValueError:
            continue
        if x_ppi <= 0 or y_ppi <= 0:
            continue
        colour_space, bits = fields[5], fields[7]
        colour = "bilevel" if bits == "1" else ("gray" if colour_space == "gray" else "colour")
        area = (width / x_ppi * 72) * (height / y_ppi * 72)
        if area > best.get(page, (0.0, 0, ""))[0]:
            best[page] = (area, round(max(x_ppi, y_ppi)), colour)
    scans = []
    for number, (page_area, width_pt, height_pt) in enumerate(boxes, start=1):
        area, dpi, colour = best.get(number, (0.0, DEFAULT_DPI, ""))
        scanned = page_area > 0 and area >= 0.5 * page_area
        scans.append(
            PageScan(
                dpi if scanned else DEFAULT_DPI,
                colour or None,
                width_pt,
                height_pt,
                largest.get(number, (0, 0)),
            )
        )
    return scans


def page_too_large(number: int, scan: PageScan, dpi: int, max_pixels: int) -> str | None:
    """Why page `number` must be set aside unread, in German; None when it may be read.

    Checked before anything is rendered or decoded: a page over the limit would take minutes
    and gigabytes (a page of a few hundred bytes can declare metres of paper or an image of
    35,000 x 35,000 pixels that compresses to nothing).
    """
    limit = f"erlaubt sind {megapixels(max_pixels)} Megapixel"
    image_wide, image_high = scan.largest_image
    if image_wide * image_high > max_pixels:
        return (
            f"Seite {number} enthält ein zu großes Bild ({image_wide} × {image_high} "
            f"Bildpunkte; {limit})"
        )
    wide, high = rendered_size(scan.width_pt, scan.height_pt, dpi)
    if wide * high > max_pixels:
        return (
            f"Seite {number} ist zu groß für die Texterkennung ({wide} × {high} Bildpunkte bei "
            f"{dpi} dpi; {limit})"
        )
    return None


def pdf_page_resolutions(pdf: Path, timeout: int) -> list[int]:
    """The native dpi of each page's scanned image (see pdf_page_scans)."""
    return [scan.dpi for scan in pdf_page_scans(pdf, timeout)]


def _page_boxes(pdf: Path) -> list[tuple[float, float, float]]:
    """Each page's visible area in square points (crop box, else media box), and the width
    and height of its media box in points."""
    try:
        with pikepdf.open(pdf) as document:
            boxes = []
            for page in document.pages:
                width, height = page_size_points(page)
                area = width * height
                if page.cropbox is not None:
                    left, bottom, right, top = (float(v) for v in page.cropbox)
                    area = abs(right - left) * abs(top - bottom)
                boxes.append((area, width, height))
            return boxes
    except (pikepdf.PdfError, ValueError, TypeError) as exc:
        raise UnreadablePage(f"PDF-Seiten nicht lesbar: {exc}") from None


def render_pdf_page(pdf: Path, number: int, dpi: int, out_dir: Path, timeout: int) -> Path:
    """Page `number` (1-based) as an 8-bit grayscale PGM at `dpi` in `out_dir`, prepared for
    OCR; the page as the desk sees it beside it (`view_of`) when the two differ.

    A page that is nothing but one full-page JPEG or CCITT scan at this dpi is extracted with
    pdfimages and decoded once (measured 40-70 ms per A4 page against 160-420 ms for pdftoppm
    at 200/300 dpi); everything else (masks, text, several images, scaling, annotations) is
    rendered by pdftoppm.
    """
    target = out_dir / f"page-{number:05d}.pgm"
    turn = _extractable_scan(pdf, number, dpi)
    if turn is None:
        rasterise_pdf_page(pdf, number, dpi, target, timeout)
        with Image.open(target) as rendered:
            page, view, findings = pages_for_ocr_and_view(rendered, dpi)
        if findings.photo:
            page.save(target)
            _save_view(view, target)
        return target
    prefix = out_dir / f"page-{number:05d}-raw"
    run_program(
        ["pdfimages", "-j", "-f", str(number), "-l", str(number), str(pdf), str(prefix)], timeout
    )
    extracted = sorted(out_dir.glob(f"{prefix.name}-*"))
    try:
        if len(extracted) != 1:
            raise UnreadablePage(f"Seite {number}: Bild konnte nicht entnommen werden")
        gray, view = _scan_page_for_ocr(extracted[0], dpi)
        if turn:
            gray = gray.transpose(_CLOCKWISE[turn])
            view = view.transpose(_CLOCKWISE[turn]) if view is not None else None
        gray.save(target)
        _save_view(view, target)
    finally:
        for path in extracted:
            path.unlink(missing_ok=True)
    return target


def view_of(page: Path) -> Path:
    """Where the page as the desk sees it is kept beside the page prepared for OCR, when the
    two differ (ingest.photo: stamps lifted, paper whitened, light evened out for OCR only).
    Same size and geometry: whatever turns or deskews one must turn the other alike."""
    return page.with_name(f"{page.stem}-view.pgm")


def _save_view(view: Image.Image | None, page: Path) -> None:
    if view is not None:
        view.save(view_of(page))


def _scan_page_for_ocr(image_file: Path, dpi: int) -> tuple[Image.Image, Image.Image | None]:
    """The extracted scan as the gray page for OCR: photos straightened, coloured paper
    whitened, stamps lifted off the print (ingest.photo); and the page as the desk sees it
    when that differs. A 1/8-scale draft decides first, so a plain scan costs only its gray
    decode, as before."""
    with Image.open(image_file) as probe:
        plain = probe.mode == "1"
        if not plain:
            wanted = "L" if probe.mode == "L" else "RGB"
            probe.draft(wanted, (max(1, probe.width // 8), max(1, probe.height // 8)))
            plain = looks_plain(probe)
    with Image.open(image_file) as image:
        if plain:
            image.draft("L", image.size)  # JPEG: let libjpeg produce gray, no RGB pass
            return image.convert("L"), None
        page, view, _findings = pages_for_ocr_and_view(image, dpi)
        return page, view


_CLOCKWISE = {
    90: Image.Transpose.ROTATE_270,  # Pillow names counter-clockwise turns
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


def _extractable_scan(pdf: Path, number: int, dpi: int) -> int | None:
    """The page's /Rotate if its embedded image is exactly what pdftoppm would draw, else None.

    That holds when the page draws one opaque JPEG or CCITT image, unflipped and unrotated,
    over the whole crop box at `dpi`, with nothing else on the page.
    """
    try:
        with pikepdf.open(pdf) as document:
            page = document.pages[number - 1]
            if "/Annots" in page.obj:
                return None
            box = [float(v) for v in page.cropbox]
            if [float(v) for v in page.mediabox] != box:
                return None
            matrix = _single_image_matrix(page)
            if matrix is None:
                return None
            name, (a, b, c, d, e, f) = matrix
            image = page.resources.XObject[name]
            if not _plain_scan_image(image):
                return None
            width, height = box[2] - box[0], box[3] - box[1]
            tolerance = 0.01 * max(width, height)
            if (
                abs(b) > 1e-6
                or abs(c) > 1e-6
                or abs(a - width) > tolerance
                or abs(d - height) > tolerance
                or abs(e - box[0]) > tolerance
                or abs(f - box[1]) > tolerance
            ):
                return None
            # Both directions: a fax's image has its own resolution across and down the page
            # (204 x 98 dpi), and only pdftoppm draws it to the page's proportions.
            if (
                abs(int(image.Width) * 72 / a - dpi) > 0.01 * dpi
                or abs(int(image.Height) * 72 / d - dpi) > 0.01 * dpi
            ):
                return None
            rotate = _inherited_rotate(page.obj) % 360
            return rotate if rotate in (0, 90, 180, 270) else None
    except (pikepdf.PdfError, KeyError, AttributeError, ValueError, IndexError, TypeError):
        return None


def _single_image_matrix(page: pikepdf.Page) -> tuple[str, Matrix] | None:
    """(XObject name, CTM) of the only thing the page draws, or None for anything richer."""
    ctm = IDENTITY
    stack: list[Matrix] = []
    found: tuple[str, Matrix] | None = None
    for instruction in pikepdf.parse_content_stream(page):
        operands = instruction.operands
        op = str(instruction.operator)
        if op == "q":
            stack.append(ctm)
        elif op == "Q":
            if not stack:
                return None
            ctm = stack.pop()
        elif op == "cm":
            ctm = multiply(as_matrix(operands), ctm)
        elif op == "Do" and found is None:
            found = (str(operands[0]), ctm)
        else:
            return None
    return found


def _plain_scan_image(image: pikepdf.Object) -> bool:
    if image.get("/Subtype") != "/Image" or any(
        key in image for key in ("/SMask", "/Mask", "/Decode", "/ImageMask")
    ):
        return False
    filters = image.get("/Filter")
    if isinstance(filters, pikepdf.Array):
        if len(filters) != 1:
            return False
        filters = filters[0]
    space = image.get("/ColorSpace")
    if isinstance(space, pikepdf.Array) and len(space) == 2 and space[0] == "/ICCBased":
        channels = int(space[1].get("/N", 0))
    else:
        channels = {"/DeviceGray": 1, "/DeviceRGB": 3}.get(str(space), 0)
    bits = int(image.get("/BitsPerComponent", 0))
    if filters == "/DCTDecode":
        # CMYK JPEGs are often stored inverted, and /ColorTransform overrides what the JPEG
        # itself says about its colours: both are pdftoppm's business
        return channels in (1, 3) and bits == 8 and "/DecodeParms" not in image
    return filters == "/CCITTFaxDecode" and channels == 1 and bits == 1


def _inherited_rotate(node: pikepdf.Object) -> int:
    for _ in range(64):  # /Rotate may sit on any ancestor in the page tree
        if "/Rotate" in node:
            return int(node.Rotate)
        if "/Parent" not in node:
            break
        node = node.Parent
    return 0


# --- image files ---------------------------------------------------------------------------

PHOTO_DPI = 300  # a straightened phone photo: enough for tesseract on 8 pt type
MIN_DECLARED_DPI = 72  # below this a declared resolution is taken for no declaration
MAX_PIXEL_ASPECT = 4.0  # fax modes are about 2:1; a wilder declaration is not believed


def declared_resolution(image: Image.Image) -> tuple[float, float] | None:
    """The (across, down) dpi an opened TIFF, JPEG or PNG declares, None when it declares none
    that can be believed. Faxes declare different resolutions in the two directions: 204 x 98
    dpi (standard) or 204 x 196 dpi (fine)."""
    declared = image.info.get("dpi")
    if not isinstance(declared, tuple) or len(declared) != 2:
        return None
    try:
        x_dpi, y_dpi = float(declared[0]), float(declared[1])
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(x_dpi) and math.isfinite(y_dpi)):
        return None
    if x_dpi < MIN_DECLARED_DPI:
        return None
    if y_dpi < MIN_DECLARED_DPI or max(x_dpi, y_dpi) / min(x_dpi, y_dpi) > MAX_PIXEL_ASPECT:
        return (x_dpi, x_dpi)  # the resolution across the page, as it always was read
    return (x_dpi, y_dpi)


def square_pixels(
    image: Image.Image, x_dpi: float, y_dpi: float, min_dpi: int, max_pixels: int
) -> tuple[Image.Image, int]:
    """`image` as 8-bit gray with square pixels, and their dpi.

    An image whose pixels are not square (a fax: 204 x 98 dpi) is resampled to the higher of
    its two resolutions, or up to `min_dpi` when both are coarser, never beyond `max_pixels`:
    otherwise the page comes out squashed and tesseract reads letters half their height.
    """
    gray = image.convert("L")
    if abs(x_dpi - y_dpi) <= 0.01 * max(x_dpi, y_dpi):
        return gray, round(x_dpi)
    target = max(x_dpi, y_dpi, float(min_dpi))
    wide, high = image.width / x_dpi, image.height / y_dpi  # inches
    if wide * high * target * target > max_pixels:
        target = max(math.sqrt(max_pixels / (wide * high)), 1.0)
    size = (max(1, round(wide * target)), max(1, round(high * target)))
    return gray.resize(size, Image.Resampling.BICUBIC), round(target)


def extract_image_page(
    image_file: Path, number: int, out_dir: Path, *, min_dpi: int, max_pixels: int
) -> tuple[Path, int]:
    """Frame `number` (1-based) of a TIFF, JPEG or PNG as an 8-bit grayscale PGM with square
    pixels in `out_dir`, and its dpi (DEFAULT_DPI when the file declares none); the page as
    the desk sees it beside it (`view_of`) when OCR reads a cleaned copy."""
    target = out_dir / f"page-{number:05d}.pgm"
    with Image.open(image_file) as image:
        image.seek(number - 1)
        x_dpi, y_dpi = declared_resolution(image) or (DEFAULT_DPI, DEFAULT_DPI)
        if abs(x_dpi - y_dpi) > 0.01 * max(x_dpi, y_dpi):
            page, dpi = square_pixels(image, x_dpi, y_dpi, min_dpi, max_pixels)
        else:
            # A photo's declared dpi (72 from most phones) says nothing about the sheet: it is
            # straightened to A4 at PHOTO_DPI, which is what the sheet itself gives the scale for.
            # Phones store the sensor's pixels and say in EXIF which way up they belong.
            photo_dpi = max(min_dpi, PHOTO_DPI)
            upright = ImageOps.exif_transpose(image) if image.format == "JPEG" else image
            page, view, findings = pages_for_ocr_and_view(upright, photo_dpi)
            dpi = photo_dpi if findings.photo else round(x_dpi)
            _save_view(view, target)
    page.save(target)
    return target, dpi


# --- page analysis -------------------------------------------------------------------------


def _reduced(image: Image.Image, dpi: float, low: float, high: float) -> tuple[Image.Image, float]:
    """A copy between `low` and `high` dpi (never upscaled) and its dpi. An integer box
    reduction is 2-3x cheaper than a resize, so it is used whenever one lands in the range."""
    for factor in range(1, 65):
        if dpi / factor < low:
            break
        if dpi / factor <= high:
            return (image.reduce(factor) if factor > 1 else image), dpi / factor
    if dpi <= low:
        return image, dpi
    scale = low / dpi
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BOX), low


class _PageImage:
    """One page loaded once, with the small copies and masks the checks share."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with Image.open(path) as image:
            self.full = image.convert("L")
        self.pixel_dpi = min(self.full.size) / SHORT_SIDE_INCHES

    @cached_property
    def barcode_copy(self) -> Image.Image:
        return _reduced(self.full, self.pixel_dpi, BARCODE_DPI, 1.5 * BARCODE_DPI)[0]

    @cached_property
    def _analysis(self) -> tuple[np.ndarray, float]:
        image, dpi = _reduced(self.full, self.pixel_dpi, 0.9 * ANALYSIS_DPI, 1.3 * ANALYSIS_DPI)
        return np.asarray(image), dpi

    @property
    def small(self) -> np.ndarray:
        return self._analysis[0]

    @property
    def dpi(self) -> float:
        return self._analysis[1]

    def px(self, mm: float) -> int:
        """A length on paper in pixels of the analysis copy."""
        return max(1, round(mm / 25.4 * self.dpi))

    @cached_property
    def ink(self) -> np.ndarray:
        """Pixels clearly darker than the paper around them.

        The paper level is the brightest 16-pixel block within ~2 cm, so shadows, grey paper
        and uneven lighting do not count as ink; the threshold rises with the page's contrast
        so that JPEG halos around black text stay out, but never below 40 grey levels, well
        above scanner noise and show-through from the back side.
        """
        darkness, strong = self.darkness()
        return darkness > max(40, 0.35 * strong)

    def darkness(self) -> tuple[np.ndarray, int]:
        """How much darker each pixel is than the paper around it (the brightest 16-pixel
        block within ~2 cm), and the darkness of the page's strongest marks (the 99.9th
        percentile), which thresholds scale with. Computed on each call, not kept: a page
        image lives as long as its batch, and keeping this int16 copy of every page raised a
        12-page batch's worker peak by some 45 MiB (bench/ocr_pipeline.py --memory-pages)."""
        gray = self.small
        height, width = gray.shape
        blocks = Image.fromarray(gray).reduce(16).filter(ImageFilter.MaxFilter(5))
        paper = np.repeat(np.repeat(np.asarray(blocks), 16, axis=0), 16, axis=1)[:height, :width]
        darkness = np.clip(paper.astype(np.int16) - gray, 0, 255)
        counts = np.cumsum(np.bincount(darkness.ravel(), minlength=256))
        return darkness, int(np.searchsorted(counts, 0.999 * counts[-1]))

    @cached_property
    def text_ink(self) -> np.ndarray:
        """Ink without long straight strokes (rules, stamp frames), which mislead skew and
        orientation: a stamp's frame is straighter than any text line but set at its own angle."""
        run = self.px(6)
        mask = self.ink
        return mask & ~_long_runs(mask, run, axis=1) & ~_long_runs(mask, run, axis=0)

    @cached_property
    def text_axis(self) -> float:
        """> 0 when text lines run horizontally, < 0 when vertically (log ratio of run lengths).

        Closing gaps of up to ~1 mm joins letters into words along the line direction but not
        across lines. (Projection profiles cannot tell: monospaced tables, such as bank
        statements, make the column profile as jagged as the row profile.)
        """
        gap = self.px(1)
        along = _mean_closed_run(self.text_ink, gap, axis=1)
        across = _mean_closed_run(self.text_ink, gap, axis=0)
        return math.log((along + 1e-3) / (across + 1e-3))

    def upright_text(self, quarter_turns: int) -> np.ndarray:
        """text_ink turned clockwise by quarter_turns * 90 degrees."""
        return np.rot90(self.text_ink, k=-quarter_turns)


def _row_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Runs of set pixels along each row: flat start and end offsets in a copy padded with
    one clear pixel on either side of every row (so no run crosses rows), and its row width.
    Run-length arithmetic is ~5x cheaper than sliding windows for morphology on 1 Mpixel."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), np.int8)
    padded[:, 1:-1] = mask
    change = np.diff(padded.ravel())
    return np.flatnonzero(change == 1), np.flatnonzero(change == -1), width + 2


def _long_runs(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Pixels that belong to a straight run of at least `length` set pixels along axis."""
    rows = np.ascontiguousarray(mask.T) if axis == 0 else mask
    starts, ends, stride = _row_runs(rows)
    long = ends - starts >= length
    marks = np.zeros(rows.shape[0] * stride + 1, np.int16)
    np.add.at(marks, starts[long] + 1, 1)
    np.add.at(marks, ends[long] + 1, -1)
    covered = np.cumsum(marks[:-1]).reshape(rows.shape[0], stride)[:, 1:-1] > 0
    return covered.T if axis == 0 else covered


def _mean_closed_run(mask: np.ndarray, gap: int, axis: int) -> float:
    """Mean length of runs along axis once gaps of up to `gap` pixels inside a row are closed."""
    starts, ends, stride = _row_runs(np.ascontiguousarray(mask.T) if axis == 0 else mask)
    if len(starts) == 0:
        return 0.0
    gaps = starts[1:] - ends[:-1]
    closed = (gaps <= gap) & (starts[1:] // stride == ends[:-1] // stride)
    total = float(np.sum(ends - starts) + np.sum(gaps[closed]))
    return total / (len(starts) - int(np.count_nonzero(closed)))


# --- separator sheets ----------------------------------------------------------------------


def is_separator_sheet(image: Path, value: str = "PATCHT") -> bool:
    """True if the page carries a QR code, Code 39 or Code 128 whose text is `value`.

    Spaces and case are ignored, so a Code 39 "PATCH T" counts as "PATCHT".
    """
    return _is_separator(_PageImage(image), value)


def _is_separator(page: _PageImage, value: str) -> bool:
    return _find_codes(page, value, None) == (True, None)


def _find_codes(
    page: _PageImage, value: str, accept_code: Callable[[str], bool] | None
) -> tuple[bool, str | None]:
    """(separator, sheet code): whether the page is a separator sheet, and the text of a code
    `accept_code` accepts (a signed return or cover sheet), if any. Every page pays for one
    quick reading; only pages that look like a code sheet are read harder."""
    wanted = _normalise_code(value)
    found = zxingcpp.read_barcodes(
        page.barcode_copy, formats=BARCODE_FORMATS, try_invert=False, try_downscale=False
    )
    if any(_normalise_code(code.text) == wanted for code in found):
        return True, None
    if accept_code is not None:
        # A scan's specks and JPEG noise can hide a QR code's modules at full size: once more
        # on zxing's downscaled copies, QR codes only (a few milliseconds a page).
        found += zxingcpp.read_barcodes(
            page.barcode_copy, formats=SHEET_RETRY_FORMATS, try_invert=False, try_rotate=False
        )
        for code in found:
            if accept_code(code.text):
                return True, _normalise_code(code.text)
    # A sheet printed smaller, larger, paler, stretched or turned than the scanner's own is read
    # again harder; only pages that look like one pay for it, not letters or empty back sides.
    region = _code_region(page)
    if region is None:
        return False, None

    def accepted(text: str) -> bool:
        return _normalise_code(text) == wanted or (accept_code is not None and accept_code(text))

    text = _read_harder(page, region, accepted)
    if text is None:
        return False, None
    return True, (None if _normalise_code(text) == wanted else _normalise_code(text))


def read_sheet_code(image: Path, accept_code: Callable[[str], bool]) -> str | None:
    """The text of the code `accept_code` accepts on a page image (a return or cover sheet),
    read as the pipeline reads it; None if there is none."""
    return _find_codes(_PageImage(image), "PATCHT", accept_code)[1]


def _normalise_code(text: str) -> str:
    return "".join(text.split()).upper()


# A page "looks like" a separator sheet: a large block of dense marks (a 2-D symbol or bars)
# and little else; at ANALYSIS_DPI, in cells of CODE_CELL_MM.
CODE_CELL_MM = 3.0
MIN_CODE_DENSITY = 0.35  # share of a cell that is ink inside a symbol; text stays below
MAX_CODE_AREA = 0.25  # of the page: a symbol, not a photo or a page of dense print
MIN_CODE_CELLS = 9  # about 9 x 9 mm of symbol
MAX_OTHER_CELLS = 160  # inked cells outside it: a title and a few lines of words
RETRY_FORMATS = zxingcpp.barcode_formats_from_str(
    "QRCode,MicroQRCode,DataMatrix,Aztec,PDF417,Code39,Code93,Code128,Codabar"
)


def _code_region(page: _PageImage) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the densest block of marks on the analysis copy, when
    the page looks like a separator sheet; None otherwise."""
    height, width = page.small.shape
    # Paler marks than `ink` counts: a pale print of a code is what is being looked for,
    # and the sheet's printed title may be far darker than its code.
    darkness, strong = page.darkness()
    marks = darkness > max(20, 0.3 * strong)
    cell = max(2, page.px(CODE_CELL_MM))
    rows, cols = height // cell, width // cell
    if rows == 0 or cols == 0:
        return None
    density = marks[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell).mean(axis=(1, 3))
    dense = density >= MIN_CODE_DENSITY
    if np.count_nonzero(dense) < MIN_CODE_CELLS:
        return None
    group = _largest_group(dense)
    if len(group) < MIN_CODE_CELLS:
        return None
    inked = density >= 0.02
    for r, c in group:
        inked[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2] = False
    if np.count_nonzero(inked) > MAX_OTHER_CELLS:
        return None
    ys = [r for r, _ in group]
    xs = [c for _, c in group]
    if (max(ys) - min(ys) + 1) * (max(xs) - min(xs) + 1) > MAX_CODE_AREA * rows * cols:
        return None
    margin = page.px(8)  # the quiet zone and a cell the density missed
    return (
        max(0, min(ys) * cell - margin),
        min(height, (max(ys) + 1) * cell + margin),
        max(0, min(xs) * cell - margin),
        min(width, (max(xs) + 1) * cell + margin),
    )


def _largest_group(cells: np.ndarray) -> list[tuple[int, int]]:
    """The largest group of set cells, neighbours up to two cells apart counted together (the
    bars of a 1-D symbol and the modules of a 2-D one leave pale cells between them)."""
    seen = np.zeros_like(cells)
    rows, cols = cells.shape
    best: list[tuple[int, int]] = []
    for start in zip(*np.nonzero(cells), strict=True):
        if seen[start]:
            continue
        seen[start] = True
        queue, group = deque([start]), []
        while queue:
            r, c = queue.popleft()
            group.append((int(r), int(c)))
            for nr in range(r - 2, r + 3):
                for nc in range(c - 2, c + 3):
                    if 0 <= nr < rows and 0 <= nc < cols and cells[nr, nc] and not seen[nr, nc]:
                        seen[nr, nc] = True
                        queue.append((nr, nc))
        if len(group) > len(best):
            best = group
    return best


def _read_harder(
    page: _PageImage, region: tuple[int, int, int, int], accepted: Callable[[str], bool]
) -> str | None:
    """The code in `region` read from the full-resolution page: contrast stretched,
    binarised at several thresholds, rescaled, stretched, turned and deskewed, until one
    reading gives a text `accepted` takes (returned); None if none does."""
    scale = page.pixel_dpi / page.dpi
    top, bottom, left, right = (round(v * scale) for v in region)
    crop = np.asarray(page.full)[top:bottom, left:right]
    if crop.size == 0:
        return None
    low, high = np.percentile(crop, 1), np.percentile(crop, 99)
    if high - low < 8:
        return None
    stretched = np.clip((crop.astype(np.float32) - low) * (255.0 / (high - low)), 0, 255)
    base = Image.fromarray(stretched.astype(np.uint8))
    # about 300 dpi: a module of 0.15 mm is then still 1.8 pixels
    if page.pixel_dpi < 280:
        factor = 300 / page.pixel_dpi
        base = base.resize(
            (round(base.width * factor), round(base.height * factor)), Image.Resampling.BICUBIC
        )

    def found(image: Image.Image) -> str | None:
        codes = zxingcpp.read_barcodes(image, formats=RETRY_FORMATS)
        return next((code.text for code in codes if accepted(code.text)), None)

    def variants() -> Iterator[Image.Image]:
        yield base
        yield base.filter(ImageFilter.MedianFilter(3))  # specks and JPEG noise between bars
        for fraction in (0.5, 0.3, 0.7):
            threshold = round(255 * fraction)
            yield base.point(lambda v, t=threshold: 0 if v < t else 255)
        for size in (0.5, 0.75, 1.5):
            yield base.resize(
                (max(1, round(base.width * size)), max(1, round(base.height * size))),
                Image.Resampling.BOX if size < 1 else Image.Resampling.BICUBIC,
            )
        for wide in (0.75, 1.33):  # printed stretched in one direction
            yield base.resize((max(1, round(base.width * wide)), base.height))
            yield base.resize((base.width, max(1, round(base.height * wide))))
        for turn in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180):
            yield base.transpose(turn)
        for angle in (-3.0, 3.0, -6.0, 6.0, -10.0, 10.0):
            yield base.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)

    return next((text for image in variants() if (text := found(image)) is not None), None)


# --- empty back sides ----------------------------------------------------------------------

# Scanner edges, shadows and punch holes (12 mm from the edge, 6 mm wide) live in the margins.
BLANK_MARGIN_X = 0.08
BLANK_MARGIN_Y = 0.05
CELL_MM = 1.5
MIN_CELL_INK = 3  # pixels at ANALYSIS_DPI, ~0.2 mm^2: a dust speck stays below
MIN_MARK_CELLS = 6  # connected inked cells: a word, a signature, a stamp; not a speck


def is_blank_page(image: Path) -> bool:
    """True for an empty back side: no mark bigger than a speck inside the margins."""
    return _is_blank(_PageImage(image))


def _is_blank(page: _PageImage) -> bool:
    mask = page.ink
    height, width = mask.shape
    top, left = round(BLANK_MARGIN_Y * height), round(BLANK_MARGIN_X * width)
    inner = mask[top : height - top, left : width - left]
    cell = max(2, page.px(CELL_MM))
    rows, cols = inner.shape[0] // cell, inner.shape[1] // cell
    counts = inner[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell).sum(axis=(1, 3))
    inked = counts >= MIN_CELL_INK * (page.dpi / ANALYSIS_DPI) ** 2
    return not _has_component(inked, MIN_MARK_CELLS)


def _has_component(cells: np.ndarray, size: int) -> bool:
    """Whether 8-connected set cells form a group of at least `size`; stops at the first."""
    seen = np.zeros_like(cells)
    rows, cols = cells.shape
    for start in zip(*np.nonzero(cells), strict=True):
        if seen[start]:
            continue
        seen[start] = True
        queue, count = deque([start]), 0
        while queue:
            r, c = queue.popleft()
            count += 1
            if count >= size:
                return True
            for nr in (r - 1, r, r + 1):
                for nc in (c - 1, c, c + 1):
                    if 0 <= nr < rows and 0 <= nc < cols and cells[nr, nc] and not seen[nr, nc]:
                        seen[nr, nc] = True
                        queue.append((nr, nc))
    return False


# --- skew ----------------------------------------------------------------------------------


def estimate_skew(image: Path) -> float:
    """Counter-clockwise skew of the text in degrees (within ±5, ~0.1 precise); 0.0 when the
    page has too little text to tell. Vertical text lines are measured across the page."""
    return _page_skew(_PageImage(image))


def _page_skew(page: _PageImage) -> float:
    # Measured along the text lines; turning the page by quarter turns does not change it.
    return _skew(page.upright_text(0 if page.text_axis >= 0 else 1), page.dpi)


def _skew(mask: np.ndarray, dpi: float) -> float:
    """The angle that makes the row profile of the ink most jagged (lines and gaps).

    The score is the sum of squared differences between neighbouring rows; a stamp or a
    table rule at its own angle moves it far less than the many text lines.
    """
    ys, xs = np.nonzero(mask)
    if len(ys) < MIN_TEXT_PIXELS * (dpi / ANALYSIS_DPI) ** 2:
        return 0.0
    ys, xs = ys.astype(np.float64), xs.astype(np.float64)

    def score(angle: float) -> float:
        rows = np.rint(ys + xs * math.tan(math.radians(angle))).astype(np.int64)
        profile = np.bincount(rows - rows.min()).astype(np.float64)
        return float(np.sum(np.diff(profile) ** 2))

    coarse = np.arange(-MAX_SKEW - 0.5, MAX_SKEW + 0.5001, 0.25)
    scores = np.array([score(a) for a in coarse])
    if scores.max() < 1.1 * np.median(scores):
        return 0.0  # no angle stands out: no text lines to go by
    best = float(coarse[int(np.argmax(scores))])
    step = 0.02
    fine = np.arange(best - 0.3, best + 0.3001, step)
    scores = np.array([score(a) for a in fine])
    i = int(np.argmax(scores))
    angle = float(fine[i])
    if 0 < i < len(fine) - 1:  # parabola through the peak for the last fraction of a step
        curve = scores[i - 1] - 2 * scores[i] + scores[i + 1]
        if curve < 0:
            angle += step * 0.5 * (scores[i - 1] - scores[i + 1]) / curve
    return round(float(max(-MAX_SKEW, min(MAX_SKEW, angle))), 2)


# --- orientation ---------------------------------------------------------------------------

MIN_AXIS_EVIDENCE = 0.25  # log ratio of run lengths; text pages measure 0.7 to 1.2
MIN_UPRIGHT_EVIDENCE = 0.2  # log ratio of ascender to descender ink; upright pages 0.5 to 2
MAX_RAGGED_LEFT = 0.2  # share of lines; upright samples measure 0 to 0.9 for aligned left


def detect_orientation(image: Path, timeout: int) -> int:
    """Clockwise turn (0, 90, 180, 270) that makes the page upright; 0 when unsure."""
    return _orientation(_PageImage(image), timeout)[0]


def _orientation(page: _PageImage, timeout: int) -> tuple[int, float | None]:
    """The turn, and the skew when it was measured on the way."""
    if np.count_nonzero(page.text_ink) < MIN_TEXT_PIXELS * (page.dpi / ANALYSIS_DPI) ** 2:
        return 0, None  # too little text for any method to judge
    skew = _upright_skew(page)
    if skew is not None:
        return 0, skew
    turn = _osd_turn(page, timeout)
    if turn is None and page.text_axis <= -MIN_AXIS_EVIDENCE:
        # The lines run down the page (a landscape table fed upright), and too few of them
        # for tesseract: leaving it sideways would lose the whole page. The ascenders decide
        # between a quarter turn either way; should they err, the page reads upside down, and
        # that the reading catches (a second OCR the other way up).
        return _sideways_turn(page), None
    return turn or 0, None


def _sideways_turn(page: _PageImage) -> int:
    """90 or 270: the quarter turn after which the text has more ascender evidence and
    aligns better on the left."""
    evidence = []
    for quarter_turns in (1, 3):
        lines = page.upright_text(quarter_turns)
        skew = _skew(lines, page.dpi)
        evidence.append(
            _updown_evidence(lines, skew, page.dpi) + _alignment_evidence(lines, skew, page.dpi)
        )
    return 90 if evidence[0] >= evidence[1] else 270


def _upright_skew(page: _PageImage) -> float | None:
    """The skew if the page is clearly upright, else None.

    The numpy analysis only ever concludes "upright": ascender statistics hold for Latin
    script, but upright Cyrillic text has more descenders than ascenders, and right-aligned
    (Arabic) text looks like upside-down left-aligned text. Turning an upright page would
    ruin its OCR, so every other case goes to tesseract's orientation detection, which
    knows the scripts, at the price of about one more OCR run for these pages only.
    """
    if page.text_axis < MIN_AXIS_EVIDENCE:
        return None
    lines = page.upright_text(0)
    skew = _skew(lines, page.dpi)
    if (
        _updown_evidence(lines, skew, page.dpi) >= MIN_UPRIGHT_EVIDENCE
        and _alignment_evidence(lines, skew, page.dpi) > -MAX_RAGGED_LEFT
    ):
        return skew
    return None


def _alignment_evidence(mask: np.ndarray, skew: float, dpi: float) -> float:
    """Share of text lines that start at a common left edge minus the share that end at a
    common right edge: positive for left-aligned text, negative when upside down or
    right-aligned, near 0 for justified text or too few lines."""
    slope = math.tan(math.radians(skew))
    ys, xs = np.nonzero(mask)
    rows = np.rint(ys + xs * slope).astype(np.int64)
    rows -= rows.min()
    profile = np.bincount(rows)
    inside = profile > max(1.0, 0.02 * profile.max())
    change = np.diff(np.concatenate([[0], inside.astype(np.int8), [0]]))
    starts = np.flatnonzero(change == 1)
    if len(starts) < 4:
        return 0.0
    line_of_row = np.cumsum(change[:-1] == 1) - 1  # index of the line a row belongs to
    counted = inside[rows]  # faint rows between lines belong to none
    lines, xs = line_of_row[rows[counted]], xs[counted]
    lefts = np.full(len(starts), np.inf)
    rights = np.full(len(starts), -np.inf)
    np.minimum.at(lefts, lines, xs)
    np.maximum.at(rights, lines, xs)
    tolerance = 3 / 25.4 * dpi  # edges within 3 mm count as aligned
    return _largest_cluster(lefts, tolerance) - _largest_cluster(rights, tolerance)


def _largest_cluster(values: np.ndarray, width: float) -> float:
    """The largest share of values that fit into one interval of `width`."""
    ordered = np.sort(values)
    ends = np.searchsorted(ordered, ordered + width, side="right")
    return float(np.max(ends - np.arange(len(ordered)))) / len(ordered)


def _updown_evidence(mask: np.ndarray, skew: float, dpi: float) -> float:
    """log(ink above the x-height band / ink below it), summed over clean text lines.

    Latin text has far more ascenders, capitals, digits and i-dots above the x-height band than
    descenders below it, so the ratio is well above 1 for upright and below 1 for upside-down
    lines. The band is found per line from edge profiles: the row with the most tops of ink and
    the row with the most bottoms of ink (x-line and baseline, in either order). Lines are cut
    into 2-inch strips so that a stamp at its own angle spoils only a few of them.
    """
    height, width = mask.shape
    slope = math.tan(math.radians(skew))
    tops = mask & ~np.roll(mask, 1, axis=0)
    bottoms = mask & ~np.roll(mask, -1, axis=0)
    pad = int(width * abs(slope)) + 2  # deskewed rows may reach this far beyond the page
    above = below = 0.0
    strip = round(2 * dpi)
    min_band = max(3, round(0.03 * dpi))  # x-height of 5 pt type and up
    for left in range(0, width, strip):
        columns = slice(left, min(width, left + strip))
        ink, top_edges, bottom_edges = (
            _row_profile(part[:, columns], left, slope, pad, height + 2 * pad)
            for part in (mask, tops, bottoms)
        )
        if ink.sum() < 50:
            continue
        inside = ink > max(1.0, 0.05 * ink.max())
        change = np.diff(np.concatenate([[0], inside.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(change == 1), np.flatnonzero(change == -1)
        for start, end in zip(starts, ends, strict=True):
            if end - start < min_band + 2:
                continue
            first = start + int(np.argmax(top_edges[start:end]))
            second = start + int(np.argmax(bottom_edges[start:end]))
            upper, lower = min(first, second), max(first, second)
            band = lower - upper
            sharp = max(
                top_edges[first] / top_edges[start:end].sum(),
                bottom_edges[second] / bottom_edges[start:end].sum(),
            )
            # merged or tilted lines (stamps) have no clear band: leave them out
            if band < min_band or end - start > 3 * band or sharp <= 0.15:
                continue
            above += ink[start:upper].sum()
            below += ink[lower + 1 : end].sum()
    return math.log((above + 1) / (below + 1))


def _row_profile(part: np.ndarray, left: int, slope: float, pad: int, length: int) -> np.ndarray:
    """Set pixels per deskewed row of a vertical strip that starts at column `left`."""
    ys, xs = np.nonzero(part)
    rows = np.rint(ys + (xs + left) * slope).astype(np.int64) + pad
    return np.bincount(rows, minlength=length).astype(np.float64)


def _osd_orientation(page: _PageImage, timeout: int) -> int:
    """Tesseract's orientation detection on a 150 dpi copy; 0 unless it is confident."""
    return _osd_turn(page, timeout) or 0


def _osd_turn(page: _PageImage, timeout: int) -> int | None:
    """Tesseract's orientation detection on a 150 dpi copy; None unless it is confident.

    A quick pass that stops after QUICK_OSD_CHARACTERS characters costs about 0.4 s; only when
    it is unsure does the full pass (about 0.9 s, as much as OCR) run. On the 40 samples in all
    four orientations both passes gave the same answer every time; the quick one with about
    half the confidence.
    """
    image, dpi = _reduced(page.full, page.pixel_dpi, OSD_DPI, 1.3 * OSD_DPI)
    handle, name = tempfile.mkstemp(suffix=".osd.pgm", dir=page.path.parent)
    os.close(handle)
    copy = Path(name)
    try:
        image.save(copy)
        for extra in (["-c", f"min_characters_to_try={QUICK_OSD_CHARACTERS}"], []):
            rotate = _run_osd(copy, dpi, extra, timeout)
            if rotate is not None:
                return rotate
        return None
    finally:
        copy.unlink(missing_ok=True)


def _run_osd(copy: Path, dpi: float, extra: list[str], timeout: int) -> int | None:
    """The clockwise turn tesseract proposes, or None where it is not confident."""
    try:
        result = run_program(
            ["tesseract", str(copy), "stdout", "--psm", "0", "--dpi", str(round(dpi)), *extra],
            timeout,
        )
    except UnreadablePage:
        return None  # tesseract gives up on pages with too few characters
    text = result.stdout.decode("utf-8", "replace")
    rotate = re.search(r"Rotate:\s*(\d+)", text)
    confidence = re.search(r"Orientation confidence:\s*([\d.]+)", text)
    if not rotate or not confidence or float(confidence[1]) < MIN_OSD_CONFIDENCE:
        return None
    return int(rotate[1]) % 360


# --- output --------------------------------------------------------------------------------


def prepare_page(image: Path, out: Path, *, rotation: int, skew: float) -> Path:
    """Write the upright, deskewed page (8-bit gray, white corners) to `out` and return it.

    Returns `image` itself, writing nothing, when there is nothing to do. Deskewing uses
    nearest-neighbour resampling like Leptonica's shear rotation: 25 ms for an A4 page at
    300 dpi instead of 160 ms bilinear, with no measurable cost to OCR.
    """
    if rotation % 360 not in _CLOCKWISE and rotation % 360 != 0:
        raise ValueError(f"rotation must be a multiple of 90, not {rotation}")
    turn = rotation % 360
    if turn == 0 and abs(skew) < MIN_SKEW:
        return image
    with Image.open(image) as opened:
        page = opened.convert("L")
    if turn:
        page = page.transpose(_CLOCKWISE[turn])
    if abs(skew) >= MIN_SKEW:
        page = page.rotate(-skew, resample=Image.Resampling.NEAREST, fillcolor=255)
    page.save(out)
    return out


# --- everything at once --------------------------------------------------------------------


def analyse_page(
    image: Path,
    timeout: int,
    separator_value: str = "PATCHT",
    accept_code: Callable[[str], bool] | None = None,
) -> PagePlan:
    """Separator (or a sheet whose code `accept_code` accepts), empty back side, orientation
    and skew of one page, loading it once."""
    page = _PageImage(image)
    separator, sheet_code = _find_codes(page, separator_value, accept_code)
    if separator:
        return PagePlan(separator=True, blank=False, rotation=0, skew=0.0, sheet_code=sheet_code)
    if _is_blank(page):
        return PagePlan(separator=False, blank=True, rotation=0, skew=0.0)
    rotation, skew = _orientation(page, timeout)
    if skew is None:
        skew = _page_skew(page)
    return PagePlan(separator=False, blank=False, rotation=rotation, skew=skew)
