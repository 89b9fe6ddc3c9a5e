"""The e-mail's PDF drawn from its plan: text pages with real text (fpdf2, DejaVu embedded with
a ToUnicode map), image pages, the attachments' own PDF pages, in page order."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pikepdf

from ingest.email_pdf.images import Encoded
from ingest.email_pdf.layout import (
    DPI,
    FONT_DIR,
    FONT_PX,
    FOOTER_Y,
    LEFT,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    RIGHT,
    Page,
    font,
    width,
)
from ingest.email_pdf.limits import Deadline
from ingest.email_pdf.plan import Chunk, Document

PT_PER_PX = 72 / DPI  # the layout is measured in pixels at DPI; PDF pages in points
_FONT_FAMILY = "DejaVu"
_FONT_STYLES = {"regular": "", "footer": "", "bold": "B", "heading": "B"}
_CREATED = datetime(2000, 1, 1, tzinfo=UTC)  # the text pages' own PDF is never kept as such
CREATOR = "E-Akte E-Mail-Import"


def write_pdf(document: Document, target: Path, deadline: Deadline, keep_dir: Path | None) -> None:
    """The document's pages as one PDF at `target` (written whole or not at all); the long
    text attachments it shows only in part go whole into `keep_dir`."""
    output = pikepdf.new()
    try:
        text_pdf = pikepdf.open(io.BytesIO(text_pages(_numbered(document.chunks, document.pages))))
        document.planner.opened.append(text_pdf)
        drawn = iter(text_pdf.pages)
        for chunk in document.chunks:
            if chunk.kind == "text":
                for _page in chunk.pages:
                    deadline.check()
                    output.pages.append(next(drawn))
            elif chunk.kind == "image" and chunk.image is not None:
                add_image_page(output, chunk.image)
            elif chunk.pdf is not None:
                for page in chunk.pdf.pages:
                    deadline.check()
                    output.pages.append(page)
        output.docinfo["/Title"] = document.plan.subject or "E-Mail"
        output.docinfo["/Creator"] = CREATOR
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            output.save(
                temporary,
                deterministic_id=True,
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
            )
            if keep_dir is not None:
                for sha256, data in document.planner.kept.items():
                    (keep_dir / sha256).write_bytes(data)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
    finally:
        output.close()


def _numbered(chunks: list[Chunk], total: int) -> list[tuple[Page, int, int]]:
    """The text pages in page order, each with its page number in the whole document."""
    numbered = []
    number = 0
    for chunk in chunks:
        if chunk.kind == "text":
            for page in chunk.pages:
                number += 1
                numbered.append((page, number, total))
        else:
            number += chunk.count
    return numbered


def add_image_page(pdf: pikepdf.Pdf, page_image: Encoded) -> None:
    width = round(page_image.width * 72 / page_image.dpi_x, 4)
    height = round(page_image.height * 72 / page_image.dpi_y, 4)
    xobject = pikepdf.Stream(pdf, page_image.data)
    xobject.Type = pikepdf.Name.XObject
    xobject.Subtype = pikepdf.Name.Image
    xobject.Width = page_image.width
    xobject.Height = page_image.height
    xobject.ColorSpace = pikepdf.Name(page_image.colour)
    xobject.BitsPerComponent = page_image.bits
    xobject.Filter = pikepdf.Name(page_image.filter)
    if page_image.parms:
        xobject.DecodeParms = pikepdf.Dictionary(page_image.parms)
    content = pikepdf.Stream(pdf, f"q {width} 0 0 {height} 0 0 cm /Im0 Do Q\n".encode())
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=pikepdf.Array([0, 0, width, height]),
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobject)),
        Contents=content,
    )
    pdf.pages.append(pikepdf.Page(page))


@lru_cache(maxsize=2)
def _covered(style: str) -> frozenset[int]:
    """The code points the font has glyphs for (DejaVu covers Latin, Greek, Cyrillic)."""
    from fontTools.ttLib import TTFont

    name = "DejaVuSans.ttf" if style == "" else "DejaVuSans-Bold.ttf"
    with TTFont(str(FONT_DIR / name), lazy=True) as face:
        return frozenset(face.getBestCmap())


def _drawable(text: str, style: str) -> str:
    """Characters the font lacks become U+FFFD: visibly missing, never silently dropped."""
    covered = _covered(style)
    return "".join(ch if ord(ch) in covered or ch == " " else "\ufffd" for ch in text)


def text_pages(pages: list[tuple[Page, int, int]]) -> bytes:
    """The laid-out text pages as a PDF with real text: DejaVu embedded (subset, with a
    ToUnicode map), drawn where the layout put it, so the text is selectable and is taken
    from the page as it is, never by rasterising and OCR. Same input, same bytes."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format=(PAGE_WIDTH * PT_PER_PX, PAGE_HEIGHT * PT_PER_PX))
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creation_date(_CREATED)
    pdf.set_producer(CREATOR)
    for style, name in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")):
        path = FONT_DIR / name
        if not path.exists():
            raise RuntimeError(f"Schrift {path} fehlt (Debian-Paket fonts-dejavu-core).")
        pdf.add_font(_FONT_FAMILY, style, str(path))
    pdf.set_line_width(2 * PT_PER_PX)

    def draw(x: float, top: float, text: str, role: str) -> None:
        style = _FONT_STYLES[role]
        pdf.set_font(_FONT_FAMILY, style, FONT_PX[role] * PT_PER_PX)
        baseline = top + font(role).getmetrics()[0]  # PIL's layout: top at the ascender
        pdf.text(x * PT_PER_PX, baseline * PT_PER_PX, _drawable(text, style))

    for page, number, total in pages:
        pdf.add_page()
        for y, line in page:
            if line.rule:
                middle = (y + line.height // 2) * PT_PER_PX
                pdf.line(LEFT * PT_PER_PX, middle, RIGHT * PT_PER_PX, middle)
            for x, text, role in line.segments:
                if text.strip():
                    draw(x, y, text, role)
        footer = f"Seite {number} von {total}"
        draw((PAGE_WIDTH - width("footer", footer)) / 2, FOOTER_Y, footer, "footer")
    return bytes(pdf.output())
