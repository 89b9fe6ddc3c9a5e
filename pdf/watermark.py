"""A watermark on every page of a PDF: the copy an auditor downloads (issue 18) names who
downloaded it and when ("Prüfung: Name · Datum · nur zur Einsicht").

The text goes twice on each page: large and light across the diagonal (so that a cut-out of the
page still carries it) and once as a band along the bottom edge on a white box (readable and
found by text extraction in reading order). The page's own content is wrapped in q ... Q so
that whatever graphics state it leaves behind does not reach the watermark; the text uses the
project's embedded font (pdf/fonts.py), subset into the copy.

The copy is a valid PDF but not PDF/A: the diagonal text is drawn with transparency, and the
source's PDF/A declaration is removed rather than claimed for a changed file. The original
passed in is never changed (the function works on its own copy of the bytes).
"""

from __future__ import annotations

import io
import math

import pikepdf
from pikepdf import Dictionary, Name

from pdf.fonts import EmbeddedFont, dejavu
from pdf.pages import inherited, pdf_number, shown_space

BAND_SIZE = 8.0
BAND_INSET = 6.0
BAND_PAD = 2.0
DIAGONAL_OPACITY = 0.25
FONT_KEY = "EAkteW"
STATE_KEY = "EAkteWGs"


def watermark_text(name: str, day: str) -> str:
    """The text stamped on each page."""
    return f"Prüfung: {name} · {day} · nur zur Einsicht"


def watermarked(original: bytes, text: str) -> bytes:
    """A copy of the PDF `original` with `text` on every page (diagonal and as a band)."""
    with pikepdf.open(io.BytesIO(original)) as pdf:
        font = EmbeddedFont(dejavu("DejaVuSans-Bold.ttf"), FONT_KEY)
        font.attach(pdf)
        state = pdf.make_indirect(
            Dictionary(Type=Name.ExtGState, ca=DIAGONAL_OPACITY, CA=DIAGONAL_OPACITY)
        )
        opening = pdf.make_stream(b"q\n")
        for page in pdf.pages:
            _stamp(pdf, page, opening, text, font, state)
        font.install(pdf)
        # A changed file is no longer the archived PDF/A: do not claim it is.
        if "/Metadata" in pdf.Root:
            del pdf.Root["/Metadata"]
        if "/OutputIntents" in pdf.Root:
            del pdf.Root["/OutputIntents"]
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def _stamp(
    pdf: pikepdf.Pdf,
    page: pikepdf.Page,
    opening: pikepdf.Stream,
    text: str,
    font: EmbeddedFont,
    state: pikepdf.Object,
) -> None:
    resources = inherited(page.obj, "/Resources")
    if not isinstance(resources, pikepdf.Dictionary):
        resources = page.obj.Resources = Dictionary()
    else:
        # Inherited resources are shared with other pages: give this page its own copy.
        resources = page.obj.Resources = Dictionary(dict(resources.items()))
    key = font.resource_key(resources)
    if "/ExtGState" not in resources or not isinstance(resources.ExtGState, pikepdf.Dictionary):
        resources.ExtGState = Dictionary()
    else:
        resources.ExtGState = Dictionary(dict(resources.ExtGState.items()))
    resources.ExtGState[f"/{STATE_KEY}"] = state
    matrix, width, height = shown_space(page.obj)
    n = pdf_number

    band_size = min(BAND_SIZE, (width - 2 * (BAND_INSET + BAND_PAD)) / max(font.width(text, 1), 1))
    band_width = font.width(text, band_size)
    band_x = (width - band_width) / 2
    band_y = BAND_INSET + BAND_PAD

    angle = math.atan2(height, width)
    diagonal = math.hypot(width, height)
    big = min(48.0, 0.8 * diagonal / max(font.width(text, 1), 1))
    big_width = font.width(text, big)
    cos, sin = math.cos(angle), math.sin(angle)
    # Start so that the text's middle sits on the page's centre.
    start_x = width / 2 - cos * big_width / 2 + sin * big * 0.35
    start_y = height / 2 - sin * big_width / 2 - cos * big * 0.35
    shown = font.show(text)
    stamp = "\n".join(
        [
            "Q",  # ends the page's own content, wrapped in q ... Q
            "q",
            matrix,
            "/Artifact BMC",  # not part of a tagged document's structure
            "q",
            f"/{STATE_KEY} gs",
            "0.8 0 0 rg",
            f"BT /{key} {n(big)} Tf {n(cos)} {n(sin)} {n(-sin)} {n(cos)} {n(start_x)} "
            f"{n(start_y)} Tm {shown} Tj ET",
            "Q",
            "1 g",
            f"{n(band_x - BAND_PAD)} {n(band_y - 0.24 * band_size - BAND_PAD)} "
            f"{n(band_width + 2 * BAND_PAD)} {n(band_size * 0.98 + 2 * BAND_PAD)} re f",
            "0 g",
            f"BT /{key} {n(band_size)} Tf {n(band_x)} {n(band_y)} Td {shown} Tj ET",
            "EMC",
            "Q",
            "",
        ]
    )
    page.contents_add(opening, prepend=True)
    page.contents_add(pdf.make_stream(stamp.encode("ascii")))
