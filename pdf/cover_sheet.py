"""A household's cover sheet (Deckblatt, issue 19) as a one-page PDF/A-2b: documents a client
hands in at the counter go into the scanner behind it, and the scan files them into the
household's file without clearing (ingest.filing.file_behind_sheet).

The code (records.sheet_codes.household_code, handed in by the caller) is drawn twice, as a QR
code and as a Code 128, in vector rectangles: sharp at any printer's resolution. The modules are
large enough for a scan at 200 dpi (QR 0.75 mm = about 6 pixels a module, Code 128's narrowest
bar 0.4 mm = about 3 pixels), and the quiet zones are kept. Nothing of the domain here beyond
the German text of the sheet: the caller hands in the number, the job centre and the code.
"""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import pikepdf
import zxingcpp

from pdf.fonts import EmbeddedFont, dejavu
from pdf.pages import Canvas, new_page, pdf_number
from pdf.pdfa import declare_pdfa_2, save_pdfa

PAGE_W, PAGE_H = 595.276, 841.89  # A4 portrait
LEFT, RIGHT = 56.7, 538.6
MM = 72 / 25.4
QR_MODULE = 0.75 * MM
BAR_MODULE = 0.4 * MM
BAR_HEIGHT = 15 * MM
TITLE = "Deckblatt für Unterlagen – bitte oben auflegen"


def _modules(text: str, kind: zxingcpp.BarcodeFormat) -> np.ndarray:
    """True where a module is dark, one entry a module, quiet zones included."""
    code = zxingcpp.create_barcode(text, kind)
    drawn = np.asarray(code.to_image(scale=1, add_quiet_zones=True))
    return np.asarray(drawn < 128)


def _rectangles(canvas: Canvas, dark: np.ndarray, x: float, top: float, w: float, h: float) -> None:
    """Dark modules as filled rectangles (an artifact: the code's text is printed below it),
    one rectangle a run of dark modules in a row."""
    n = pdf_number
    ops = ["q 0 g"]
    for row, line in enumerate(dark):
        column = 0
        while column < len(line):
            if not line[column]:
                column += 1
                continue
            start = column
            while column < len(line) and line[column]:
                column += 1
            y = top - (row + 1) * h
            ops.append(f"{n(x + start * w)} {n(y)} {n((column - start) * w)} {n(h)} re")
    ops.append("f Q")
    canvas.ops.append("/Artifact BMC " + "\n".join(ops) + " EMC")


def build_cover_sheet_pdf(
    *, bg_number: str, job_centre: str, code: str, created_at: datetime
) -> bytes:
    """The cover sheet of one household as PDF/A-2b bytes (the same input, the same bytes)."""
    with pikepdf.new() as pdf:
        regular = EmbeddedFont(dejavu("DejaVuSans.ttf"), "EAkteR")
        bold = EmbeddedFont(dejavu("DejaVuSans-Bold.ttf"), "EAkteB")
        for font in (regular, bold):
            font.attach(pdf)
        canvas = Canvas()
        y = PAGE_H - 80
        for line in bold.wrap(TITLE, 20, RIGHT - LEFT, 3):
            canvas.text(bold, 20, LEFT, y, line)
            y -= 26
        y -= 10
        for label, value in (("Bedarfsgemeinschaft", bg_number), ("Jobcenter", job_centre)):
            canvas.text(bold, 12, LEFT, y, f"{label}:")
            canvas.text(regular, 12, LEFT + 175, y, value)
            y -= 18
        y -= 6
        hint = (
            "Dieses Blatt wird beim Scannen erkannt: die Unterlagen dahinter werden ohne "
            "Umweg in die Akte dieser Bedarfsgemeinschaft gelegt. Bitte nicht knicken und "
            "nicht beschriften. Für jede Bedarfsgemeinschaft ein eigenes Deckblatt."
        )
        for line in regular.wrap(hint, 10, RIGHT - LEFT, 6):
            canvas.text(regular, 10, LEFT, y, line)
            y -= 14
        y -= 20
        qr = _modules(code, zxingcpp.BarcodeFormat.QRCode)
        _rectangles(canvas, qr, LEFT, y, QR_MODULE, QR_MODULE)
        y -= qr.shape[0] * QR_MODULE + 20
        bars = _modules(code, zxingcpp.BarcodeFormat.Code128)[:1]
        _rectangles(canvas, bars, LEFT, y, BAR_MODULE, BAR_HEIGHT)
        y -= BAR_HEIGHT + 16
        canvas.text(regular, 9, LEFT, y, code)
        pdf.pages.append(new_page(pdf, (PAGE_W, PAGE_H), canvas, (regular, bold)))
        for font in (regular, bold):
            font.install(pdf)
        declare_pdfa_2(pdf, title=f"Deckblatt {bg_number}", producer="E-Akte", created=created_at)
        out = io.BytesIO()
        save_pdfa(pdf, out)
        return out.getvalue()
