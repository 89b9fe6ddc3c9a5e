"""Attached images as page images for the PDF: turned upright, transparency on white paper,
at a resolution that fits them on A4; black-and-white pages as CCITT G4, others as JPEG (a
JPEG that needs no change goes in byte for byte). Encoding is Pillow's."""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image, ImageOps, TiffImagePlugin, features

INK_THRESHOLD = 160  # anti-aliased gray to black and white: keeps strokes whole at 10-11 pt
_BILEVEL = [0 if value < INK_THRESHOLD else 255 for value in range(256)]
JPEG_QUALITY = 85
MAX_PAGE_INCHES = 200  # the largest page a PDF can describe (14 400 points)


@dataclass(frozen=True)
class Encoded:
    """One page image ready to be placed in the PDF."""

    data: bytes
    width: int
    height: int
    dpi_x: float
    dpi_y: float
    colour: str  # "/DeviceGray" or "/DeviceRGB"
    bits: int
    filter: str
    parms: Mapping[str, object] | None = None


def _encode_bilevel(image: Image.Image, dpi_x: float, dpi_y: float) -> Encoded:
    """CCITT G4: a text page in some 50 KB, and the pipeline takes it out of the PDF as is."""
    width, height = image.size
    if features.check("libtiff"):
        buffer = io.BytesIO()
        image.save(buffer, "TIFF", compression="group4", strip_size=math.ceil(width / 8) * height)
        raw = buffer.getvalue()
        with Image.open(io.BytesIO(raw)) as tiff:
            # Pillow reads back what it just wrote, a TIFF; otherwise the fallback below.
            tags = tiff.tag_v2 if isinstance(tiff, TiffImagePlugin.TiffImageFile) else None
            offsets = tags.get(273) if tags is not None else None
            counts = tags.get(279) if tags is not None else None
        if offsets is not None and counts is not None and len(offsets) == len(counts) == 1:
            start, length = int(offsets[0]), int(counts[0])
            parms = {"/K": -1, "/BlackIs1": True, "/Columns": width, "/Rows": height}
            return Encoded(
                raw[start : start + length],
                width,
                height,
                dpi_x,
                dpi_y,
                "/DeviceGray",
                1,
                "/CCITTFaxDecode",
                parms,
            )
    # without libtiff: the packed bits themselves (1 = white, as in /DeviceGray)
    data = zlib.compress(image.tobytes(), 9)
    return Encoded(data, width, height, dpi_x, dpi_y, "/DeviceGray", 1, "/FlateDecode")


def _encode_jpeg(image: Image.Image, dpi_x: float, dpi_y: float) -> Encoded:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    colour = "/DeviceGray" if image.mode == "L" else "/DeviceRGB"
    width, height = image.size
    return Encoded(buffer.getvalue(), width, height, dpi_x, dpi_y, colour, 8, "/DCTDecode")


def _page_dpi(image: Image.Image) -> tuple[float, float]:
    """The image's own resolution if it is plausible, else one that fits it on A4."""
    width, height = image.size
    try:
        dpi_x, dpi_y = (float(v) for v in image.info.get("dpi", (0, 0)))
    except (TypeError, ValueError):
        dpi_x = dpi_y = 0.0
    if not (96 <= dpi_x <= 1200 and 96 <= dpi_y <= 1200):
        fit = max(150.0, max(width, height) / 11.69, min(width, height) / 8.27)
        dpi_x = dpi_y = float(math.ceil(fit))
    least = max(width / MAX_PAGE_INCHES / dpi_x, height / MAX_PAGE_INCHES / dpi_y, 1.0)
    return dpi_x * least, dpi_y * least


def _flatten(image: Image.Image) -> Image.Image:
    """L, RGB or 1: transparency on white paper, 16-bit and odd colour models reduced."""
    if image.mode in ("1", "L", "RGB"):
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    if image.mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        paper = Image.new("RGB", image.size, (255, 255, 255))
        paper.paste(image, mask=image.getchannel("A"))
        return paper
    return image if image.mode in ("L", "RGB") else image.convert("RGB")


def encode_frame(frame: Image.Image, source: bytes | None) -> Encoded:
    """`source`: the JPEG file itself when it can go into the PDF unchanged."""
    dpi_x, dpi_y = _page_dpi(frame)
    orientation = frame.getexif().get(0x0112, 1)
    if source is not None and frame.mode in ("L", "RGB") and orientation in (1, None):
        colour = "/DeviceGray" if frame.mode == "L" else "/DeviceRGB"
        width, height = frame.size
        return Encoded(source, width, height, dpi_x, dpi_y, colour, 8, "/DCTDecode")
    if orientation not in (1, None):
        frame = ImageOps.exif_transpose(frame)
        if orientation in (5, 6, 7, 8):  # turned by 90 degrees
            dpi_x, dpi_y = dpi_y, dpi_x
    image = _flatten(frame)
    if image.mode == "L":
        colours = image.getcolors(2)
        if colours is not None and {value for _, value in colours} <= {0, 255}:
            image = image.point(_BILEVEL, "1")  # a black-and-white scan stored as gray
    if image.mode == "1":
        return _encode_bilevel(image, dpi_x, dpi_y)
    return _encode_jpeg(image, dpi_x, dpi_y)
