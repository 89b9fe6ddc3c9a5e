"""Phone photos, coloured paper and coloured stamps: a page image made fit for OCR.

`page_for_ocr` turns whatever a scanner or a phone delivered into the 8-bit gray page the rest
of the preparation (orientation, skew, OCR) works on:

- A phone photo shows the sheet on a darker or textured background, seen at an angle, lit
  unevenly. The sheet is found as the largest bright quadrilateral that leaves a clearly darker
  border, its perspective is undone to an upright A4 rectangle at the resolution asked for (a
  photo declares no useful dpi: the sheet itself gives the scale), and the light is flattened.
- Coloured paper is made white: each colour channel is divided by the paper's own colour,
  measured locally, which also evens out light gradients and shadows of a photo.
- Coloured stamp ink (red, blue, violet) is taken out where it covers printed text, so the
  words under a received stamp are read; elsewhere the stamp keeps its gray tone, so the stamp's
  own date is still read.

The clean-up is for OCR only: `pages_for_ocr_and_view` also gives the page the desk sees, with
the same geometry (the sheet of a photo straightened) but paper, light and stamps as they were
photographed or scanned; the caseworker must see the stamp that OCR looked through.

Office scans on white paper with no coloured ink come back exactly as the plain gray
conversion made them before: the costly steps run only where a cheap look at a small copy finds
a photo, tinted paper or coloured ink.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

A4_INCHES = (210 / 25.4, 297 / 25.4)
LOOK_DPI = 40  # the small copy on which the decisions are taken
BACKGROUND_DPI = 25  # paper colour estimate; light gradients are far smoother than this
PAPER_WINDOW_MM = 9.0  # larger than any printed character: the window always sees paper
# A sheet in a photo: at least this share of the frame, and a visible border around it
MIN_SHEET_AREA = 0.2
MAX_SHEET_AREA = 0.92
MIN_SHEET_CONTRAST = 25.0  # gray levels between sheet and background
SHEET_ASPECTS = (1.2, 1.65)  # long / short side: A4 (1.41) and Letter (1.29), seen at an angle
EDGE_MM = 1.5  # the straightened sheet's outermost strip, made paper
# Colour
TINTED_PAPER = 14.0  # saturation (max - min channel) of the paper that counts as coloured
# Saturation (max - min channel) of stamp ink after white balance: strokes hold some pixels
# above INK_SATURATION (black print's colour fringes stay below) and are followed down to
# INK_EDGE_SATURATION (a violet stamp in a blurred phone photo measures 40-76)
INK_SATURATION = 70
INK_EDGE_SATURATION = 40
LOOK_INK_SATURATION = (55, 30)  # the same on the small copy, where strokes are blurred
MIN_COLOURED_INK = 0.0008  # share of the page: a stamp's strokes, not JPEG colour fringes
TEXT_DARKNESS = 110  # brightest channel of black print after white balance
TOUCH_MM = 0.25  # a coloured stroke this close to black print crosses it
PRINT_UNDER_INK_RATIO = 0.55  # print under ink: at most this share of the ink's brightness
PRINT_LUMINANCE = 40.0  # black print, whatever colour JPEG gave it: at most this
INK_LUMINANCE = 62.0  # stamp ink alone (red, blue, violet): at least this


@dataclass(frozen=True)
class PageFindings:
    """What `page_for_ocr` found and did, for the scan record and the tests."""

    photo: bool = False
    tinted_paper: bool = False
    coloured_ink: bool = False


def page_for_ocr(image: Image.Image, dpi: int) -> tuple[Image.Image, PageFindings]:
    """`image` (any mode, square pixels) as the 8-bit gray page for OCR.

    A photo comes back as an upright A4 page at `dpi` (portrait or landscape as the sheet
    lies); every other page keeps its size. The scale of the input is taken from its short
    side (about A4 wide), as a photo declares no useful resolution. Bilevel pages (faxes) are
    neither photos nor coloured: they only change mode.
    """
    ocr, _view, findings = pages_for_ocr_and_view(image, dpi)
    return ocr, findings


def pages_for_ocr_and_view(
    image: Image.Image, dpi: int
) -> tuple[Image.Image, Image.Image | None, PageFindings]:
    """The gray page for OCR (as `page_for_ocr`), and the page as the desk is to see it: the
    same geometry (a photo's sheet straightened to A4), but as photographed or scanned, in
    plain gray: paper, light and stamps as they are. The view is None when it is the OCR page
    itself (nothing was cleaned)."""
    if image.mode == "1":
        return image.convert("L"), None, PageFindings()
    colour = _is_colour(image)
    pixels = np.asarray(image.convert("RGB" if colour else "L"))
    pixel_dpi = min(pixels.shape[:2]) / A4_INCHES[0]
    look = _small(pixels, LOOK_DPI / pixel_dpi)
    corners = find_sheet(_gray(look) if colour else look)
    photo = corners is not None
    if corners is not None:
        scale = look.shape[1] / pixels.shape[1]
        pixels = _straighten(pixels, corners / scale, dpi)
        pixel_dpi = dpi
        look = _small(pixels, LOOK_DPI / pixel_dpi)
    look_dpi = pixel_dpi * look.shape[1] / pixels.shape[1]
    tinted, stamps = _colour_findings(look, look_dpi) if colour else (False, [])
    findings = PageFindings(photo=photo, tinted_paper=tinted, coloured_ink=bool(stamps))
    if not (photo or tinted or stamps):
        return image.convert("L"), None, findings
    view = _gray(pixels) if pixels.ndim == 3 else pixels.copy()
    if photo or tinted:
        # The whole page: paper made white, light evened out, stamp ink lifted off the print.
        if pixels.ndim == 2:
            gray = _white_balanced(pixels, pixel_dpi)
        else:
            gray = _gray(_white_balanced(pixels, pixel_dpi))
            _lift_stamp_ink(gray, pixels, pixel_dpi, paper=255)
    else:
        # White paper: the page stays as the plain gray conversion made it, but where stamp ink
        # lies on the print it is replaced by the paper around it.
        gray = view.copy()
        factor = pixels.shape[1] / look.shape[1]
        pad = round(3 / 25.4 * pixel_dpi)
        for left, top, wide, high in stamps:
            x0, y0 = max(0, round(left * factor) - pad), max(0, round(top * factor) - pad)
            x1 = min(pixels.shape[1], round((left + wide) * factor) + pad)
            y1 = min(pixels.shape[0], round((top + high) * factor) + pad)
            part = gray[y0:y1, x0:x1]
            paper = float(np.percentile(part, 95))
            _lift_stamp_ink(part, pixels[y0:y1, x0:x1], pixel_dpi, paper=paper)
    if photo:
        # The sheet's edge, found on a small copy, may leave a sliver of the table: printers
        # leave 3 mm or more, so the outermost EDGE_MM are paper (in the view the paper's
        # own tone).
        edge = round(EDGE_MM / 25.4 * pixel_dpi)
        for page, paper in ((gray, 255), (view, int(np.percentile(view, 90)))):
            page[:edge, :] = page[-edge:, :] = paper
            page[:, :edge] = page[:, -edge:] = paper
    shown = None if np.array_equal(view, gray) else Image.fromarray(view)
    return Image.fromarray(gray), shown, findings


def looks_plain(image: Image.Image) -> bool:
    """True when `page_for_ocr` would only convert this page to gray: no sheet on a
    background, no tinted paper, no coloured ink. Meant for a small draft of a JPEG (libjpeg
    decodes 1/8 scale in a few milliseconds), so plain scans skip the colour decode."""
    if image.mode == "1":
        return True
    colour = _is_colour(image)
    pixels = np.asarray(image.convert("RGB" if colour else "L"))
    pixel_dpi = min(pixels.shape[:2]) / A4_INCHES[0]
    look = _small(pixels, LOOK_DPI / pixel_dpi)
    if find_sheet(_gray(look) if colour else look) is not None:
        return False
    if not colour:
        return True
    tinted, stamps = _colour_findings(look, pixel_dpi * look.shape[1] / pixels.shape[1])
    return not (tinted or stamps)


def _is_colour(image: Image.Image) -> bool:
    return image.mode not in ("L", "LA", "I", "I;16", "F", "1")


# --- the sheet in a photo --------------------------------------------------------------------


def find_sheet(gray: np.ndarray) -> np.ndarray | None:
    """The corners (top left, top right, bottom right, bottom left; x, y as float32) of a
    sheet of paper lying on a darker background in `gray`, or None when the image is the page
    itself (a scan) or no sheet stands out."""
    height, width = gray.shape
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    # Otsu splits bright paper from the darker background; closing fills the printed text.
    _, mask = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    size = max(3, round(min(height, width) / 40) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    outline = cv2.convexHull(max(contours, key=cv2.contourArea))
    corners = _quadrilateral(outline)
    if corners is None:
        return None
    area = cv2.contourArea(corners) / (height * width)
    if not MIN_SHEET_AREA <= area <= MAX_SHEET_AREA:
        return None
    inside = np.zeros_like(gray)
    cv2.fillConvexPoly(inside, corners.astype(np.int32), 255)
    ring = cv2.dilate(inside, kernel, iterations=2) > 0
    sheet = gray[cv2.erode(inside, kernel, iterations=2) > 0]
    border = gray[~ring]
    if sheet.size == 0 or border.size < 0.03 * gray.size:
        return None
    if float(np.median(sheet)) - float(np.median(border)) < MIN_SHEET_CONTRAST:
        return None
    ordered = _order(corners)
    long_side, short_side = sorted(_sides(ordered), reverse=True)
    if not SHEET_ASPECTS[0] <= long_side / max(short_side, 1.0) <= SHEET_ASPECTS[1]:
        return None
    return ordered


def _quadrilateral(outline: np.ndarray) -> np.ndarray | None:
    perimeter = cv2.arcLength(outline, True)
    for share in (0.01, 0.02, 0.03, 0.05, 0.08):
        approx = cv2.approxPolyDP(outline, share * perimeter, True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            return approx.reshape(4, 2).astype(np.float32)
        if len(approx) < 4:
            return None
    return None


def _order(corners: np.ndarray) -> np.ndarray:
    """Top left, top right, bottom right, bottom left."""
    total = corners.sum(axis=1)
    diff = corners[:, 1] - corners[:, 0]
    return np.array(
        [
            corners[np.argmin(total)],
            corners[np.argmin(diff)],
            corners[np.argmax(total)],
            corners[np.argmax(diff)],
        ],
        dtype=np.float32,
    )


def _sides(ordered: np.ndarray) -> tuple[float, float]:
    """Mean width and mean height of the quadrilateral."""
    tl, tr, br, bl = ordered
    wide = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    high = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    return float(wide), float(high)


def _straighten(pixels: np.ndarray, corners: np.ndarray, dpi: int) -> np.ndarray:
    """The sheet cut out of the photo as an upright A4 rectangle at `dpi`."""
    wide, high = _sides(corners)
    short, long = (round(inches * dpi) for inches in A4_INCHES)
    size = (short, long) if high >= wide else (long, short)
    target = np.array(
        [[0, 0], [size[0] - 1, 0], [size[0] - 1, size[1] - 1], [0, size[1] - 1]], np.float32
    )
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    return cv2.warpPerspective(
        pixels, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


# --- paper and ink ---------------------------------------------------------------------------


def _small(pixels: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1:
        return pixels
    size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _paper(pixels: np.ndarray, dpi: float) -> np.ndarray:
    """The colour of the paper around each pixel of a copy at BACKGROUND_DPI or below."""
    small = _small(pixels, BACKGROUND_DPI / dpi)
    window = max(3, round(PAPER_WINDOW_MM / 25.4 * min(dpi, BACKGROUND_DPI)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (window, window))
    paper = cv2.dilate(small, kernel)  # brightest nearby: the paper, never the print
    return cv2.GaussianBlur(paper, (window, window), 0)


def _paper_saturation(pixels: np.ndarray, dpi: float) -> float:
    return float(np.median(_saturation(_paper(pixels, dpi))))


def _white_balanced(pixels: np.ndarray, dpi: float) -> np.ndarray:
    """Every channel divided by the paper's colour around it: paper white, print as dark as
    it is against its own paper, light gradients gone."""
    paper = _paper(pixels, dpi)
    paper = cv2.resize(paper, (pixels.shape[1], pixels.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(pixels, np.maximum(paper, 40), scale=255.0)


def _brightest(rgb: np.ndarray) -> np.ndarray:
    red, green, blue = cv2.split(rgb)
    return cv2.max(cv2.max(red, green), blue)


def _saturation(rgb: np.ndarray) -> np.ndarray:
    """max - min channel (OpenCV's per-pixel operations: ten times numpy's axis reductions)."""
    red, green, blue = cv2.split(rgb)
    return cv2.subtract(cv2.max(cv2.max(red, green), blue), cv2.min(cv2.min(red, green), blue))


def _colour_findings(look: np.ndarray, dpi: float) -> tuple[bool, list[tuple[int, ...]]]:
    """Whether the paper is tinted, and the boxes (left, top, width, height) of the patches of
    strongly coloured ink (stamps, coloured notes) on a small copy."""
    tinted = _paper_saturation(look, dpi) > TINTED_PAPER
    # thin strokes lose saturation in the small copy: lower thresholds there
    coloured = _coloured_ink(_white_balanced(look, dpi), LOOK_INK_SATURATION).astype(np.uint8)
    if np.count_nonzero(coloured) < MIN_COLOURED_INK * coloured.size:
        return tinted, []
    reach = max(1, round(4 / 25.4 * dpi))  # the strokes of one stamp: within 4 mm
    joined = cv2.dilate(coloured, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined)
    least = max(4, MIN_COLOURED_INK * coloured.size / 4)
    boxes = [
        tuple(int(v) for v in stats[k, :4])
        for k in range(1, count)
        if np.count_nonzero(coloured[_box_slice(stats[k])]) >= least
    ]
    return tinted, boxes


def _box_slice(stat: np.ndarray) -> tuple[slice, slice]:
    left, top, wide, high = (int(v) for v in stat[:4])
    return slice(top, top + high), slice(left, left + wide)


def _lift_stamp_ink(gray: np.ndarray, rgb: np.ndarray, dpi: float, paper: float) -> None:
    """Where coloured strokes cross the print, `gray` (the page's gray copy of `rgb`) shows
    only the print: stamp ink alone becomes paper, print under the ink stays dark.

    Two signs of print, either suffices: the pixel is darker in the ink's own colour than the
    ink is (black print seen through red ink: (130, 33, 42) against the ink's (196, 32, 44)),
    or its luminance is that of print (below 40, where stamp ink alone has 65-85). The second
    is needed because JPEG stores colour at half resolution: a black stroke inside a red stamp
    gets a bright red channel."""
    balanced = _white_balanced(rgb, dpi)
    covering, coloured = _covering_ink(balanced, dpi)
    if not covering.any():
        return
    brightest = _brightest(balanced)
    ink = max(float(np.percentile(brightest[coloured], 70)), 1.0)
    ratio = brightest[covering].astype(np.float32) / ink
    by_colour = np.clip((ratio - PRINT_UNDER_INK_RATIO) / (0.9 - PRINT_UNDER_INK_RATIO), 0, 1)
    luminance = _gray(balanced)[covering].astype(np.float32)
    by_luminance = np.clip((luminance - PRINT_LUMINANCE) / (INK_LUMINANCE - PRINT_LUMINANCE), 0, 1)
    gray[covering] = np.rint(paper * np.minimum(by_colour, by_luminance)).astype(np.uint8)


def _coloured_ink(
    balanced: np.ndarray, thresholds: tuple[int, int] = (INK_SATURATION, INK_EDGE_SATURATION)
) -> np.ndarray:
    """Strongly coloured strokes: connected pixels above the second threshold of which some
    are above the first."""
    saturation = _saturation(balanced)
    weak = (saturation > thresholds[1]).astype(np.uint8)
    count, labels = cv2.connectedComponents(weak, connectivity=8)
    strong = np.zeros(count, bool)
    strong[labels[saturation > thresholds[0]]] = True
    strong[0] = False
    return strong[labels]


def _covering_ink(balanced: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """The strokes of strongly coloured ink (in a white-balanced copy) that touch black print
    (a stamp's or a coloured note's letters and frame where they cross the text), and all
    coloured ink. Strokes in free space are kept, so a received stamp beside the text still
    reads."""
    coloured = _coloured_ink(balanced).astype(np.uint8)
    if not coloured.any():
        return coloured.astype(bool), coloured.astype(bool)
    text = (_brightest(balanced) < TEXT_DARKNESS) & (coloured == 0)
    reach = max(1, round(TOUCH_MM / 25.4 * dpi))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    touching = cv2.dilate(text.astype(np.uint8), kernel) > 0
    count, labels = cv2.connectedComponents(coloured, connectivity=8)
    crossing = np.zeros(count, bool)
    crossing[labels[(coloured > 0) & touching]] = True
    crossing[0] = False
    covering = crossing[labels].astype(np.uint8)
    # Fringes of the strokes are less saturated than their core: take them too.
    return (cv2.dilate(covering, np.ones((3, 3), np.uint8)) > 0) & ~text, coloured > 0
