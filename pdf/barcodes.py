"""Barcodes for sheets the product prints and reads back at scanning (issue 19): a QR code and
a Code 128 of the same text, drawn by zxing-cpp (the library that reads them in
ingest/prepare.py) as black-on-white PIL images with their quiet zones."""

from __future__ import annotations

import numpy as np
import zxingcpp
from PIL import Image


def _image(text: str, kind: zxingcpp.BarcodeFormat, scale: int) -> Image.Image:
    code = zxingcpp.create_barcode(text, kind)
    drawn = np.asarray(code.to_image(scale=scale, add_quiet_zones=True))
    return Image.fromarray(drawn.astype(np.uint8))


def qr_image(text: str, scale: int = 8) -> Image.Image:
    """The text as a QR code, `scale` pixels a module."""
    return _image(text, zxingcpp.BarcodeFormat.QRCode, scale)


def code128_image(text: str, scale: int = 3) -> Image.Image:
    """The text as a Code 128, `scale` pixels the narrowest bar (height as zxing-cpp draws)."""
    return _image(text, zxingcpp.BarcodeFormat.Code128, scale)
