"""The letter of a request for documents (Mitwirkungsaufforderung, issue 19) as a tagged PDF/A-2
(A4 portrait): the job centre, the person and address, the date, the subject, the items asked
for (with their periods), the deadline, the warning of the consequences (§ 66 Abs. 3 SGB I) and
the requester's name; a reminder (Erinnerung) is the same letter marked as such. The last page
is the return sheet (Rücksendeblatt) the client sends back on top of the documents: the request
id, the BG number, the items as a checklist and the signed code as a QR code and a Code 128,
large enough to be read from a 200 dpi scan. Nothing of the domain here: the caller hands in
the German text and the code."""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pikepdf
from pikepdf import Dictionary, Name
from PIL import Image

from pdf.barcodes import code128_image, qr_image
from pdf.fonts import EmbeddedFont, dejavu
from pdf.pages import Canvas, new_page, pdf_number
from pdf.pdfa import declare_pdfa_2, save_pdfa
from pdf.tags import StructTree

LANGUAGE = "de-DE"
PAGE_W, PAGE_H = 595.276, 841.89  # A4 portrait
MM = 72 / 25.4
LEFT, RIGHT = 25 * MM, PAGE_W - 20 * MM
TOP, BOTTOM = PAGE_H - 20 * MM, 25 * MM
SIZE = 10.5
LEADING = SIZE * 1.45
SUBJECT = "Aufforderung zur Mitwirkung – Bitte reichen Sie folgende Unterlagen ein"
REMINDER = "Erinnerung"
SHEET_TITLE = "Rücksendeblatt"
SHEET_HINT = "Bitte legen Sie dieses Blatt oben auf Ihre Unterlagen."
QR_WIDTH = 40 * MM  # at least 25 mm (the brief): 200 dpi gives ~6 px a module
CODE128_WIDTH = RIGHT - LEFT  # 165 mm: > 2 px the narrowest bar at 200 dpi
CODE128_HEIGHT = 18 * MM


@dataclass(frozen=True)
class LetterItem:
    label: str
    detail: str = ""  # e.g. "für die Zeit vom 01.10.2026 bis 31.12.2026"

    @property
    def text(self) -> str:
        return f"{self.label} {self.detail}".strip()


@dataclass(frozen=True)
class RequestLetter:
    job_centre: str
    person: str
    address: Sequence[str]
    letter_date: date
    bg_number: str
    request_id: int
    items: Sequence[LetterItem]
    due_on: date
    due_words: str  # "Montag, 21. Dezember 2026"
    warning: str  # the configured text with {frist} filled in
    requester: str
    code: str  # the signed return-sheet code (records.sheet_codes.request_code)
    created_at: datetime
    reminder: bool = False
    reminder_of: date | None = None  # the date of the first letter


class _Letter:
    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self.regular = EmbeddedFont(dejavu("DejaVuSans.ttf"), "EAkteR")
        self.bold = EmbeddedFont(dejavu("DejaVuSans-Bold.ttf"), "EAkteB")
        for font in (self.regular, self.bold):
            font.attach(pdf)
        self.tree = StructTree(pdf)
        self.canvases: list[Canvas] = [Canvas()]
        self.images: list[list[tuple[str, Image.Image]]] = [[]]
        self.y = TOP

    @property
    def canvas(self) -> Canvas:
        return self.canvases[-1]

    def new_page(self) -> None:
        self.canvases.append(Canvas())
        self.images.append([])
        self.y = TOP

    def room(self, height: float) -> None:
        if self.y - height < BOTTOM:
            self.new_page()

    def line(
        self, text: str, into: pikepdf.Object, *, bold: bool = False, size: float = SIZE
    ) -> None:
        self.room(size * 1.45)
        font = self.bold if bold else self.regular
        self.canvas.text(font, size, LEFT, self.y, font.fit(text, size, RIGHT - LEFT), into)
        self.y -= size * 1.45

    def paragraph(
        self,
        text: str,
        *,
        role: str = "P",
        bold: bool = False,
        size: float = SIZE,
        indent: float = 0,
    ) -> pikepdf.Object:
        element = self.tree.add(self.tree.document, role)
        self.text_into(element, text, bold=bold, size=size, indent=indent)
        self.y -= size * 0.7
        return element

    def text_into(
        self,
        element: pikepdf.Object,
        text: str,
        *,
        bold: bool = False,
        size: float = SIZE,
        indent: float = 0,
        prefix: str = "",
    ) -> None:
        font = self.bold if bold else self.regular
        width = RIGHT - LEFT - indent
        for number, line in enumerate(font.wrap(text, size, width, 30)):
            self.room(size * 1.45)
            if number == 0 and prefix:
                self.canvas.text(self.regular, size, LEFT + indent - 14, self.y, prefix)
            self.canvas.text(font, size, LEFT + indent, self.y, line, element)
            self.y -= size * 1.45

    def items(self, items: Sequence[LetterItem], prefix: str) -> None:
        listing = self.tree.add(self.tree.document, "L")
        for item in items:
            entry = self.tree.add(listing, "LI")
            body = self.tree.add(entry, "LBody")
            self.text_into(body, item.text, indent=18, prefix=prefix)
            self.y -= 3
        self.y -= SIZE * 0.6

    def figure(self, image: Image.Image, x: float, y: float, w: float, h: float, alt: str) -> None:
        """A barcode image drawn at (x, y) of size (w, h) points, tagged as a Figure."""
        name = f"Im{len(self.images[-1]) + 1}"
        self.images[-1].append((name, image))
        element = self.tree.add(self.tree.document, "Figure", alt=alt)
        canvas = self.canvas
        canvas.owners.append(element)
        n = pdf_number
        ops = f"q {n(w)} 0 0 {n(h)} {n(x)} {n(y)} cm /{name} Do Q"
        canvas.ops.append(f"/Figure <</MCID {len(canvas.owners) - 1}>> BDC {ops} EMC")


def _image_stream(pdf: pikepdf.Pdf, image: Image.Image) -> pikepdf.Stream:
    gray = image.convert("L")
    stream = pdf.make_stream(zlib.compress(gray.tobytes()))
    stream.Type = Name.XObject
    stream.Subtype = Name.Image
    stream.Width, stream.Height = gray.width, gray.height
    stream.ColorSpace = Name.DeviceGray
    stream.BitsPerComponent = 8
    stream.Filter = Name.FlateDecode
    stream.Interpolate = False
    return stream


def _letter_pages(layout: _Letter, letter: RequestLetter) -> None:
    head = layout.tree.add(layout.tree.document, "P")
    layout.line(letter.job_centre, head, bold=True, size=12)
    layout.y -= 18
    address = layout.tree.add(layout.tree.document, "P")
    for text in [letter.person, *letter.address]:
        if text:
            layout.line(text, address)
    layout.y -= 12
    facts = layout.tree.add(layout.tree.document, "P")
    layout.line(f"Datum: {letter.letter_date.strftime('%d.%m.%Y')}", facts)
    layout.line(f"BG-Nummer: {letter.bg_number} · Anforderung Nr. {letter.request_id}", facts)
    layout.y -= 14
    subject = SUBJECT
    if letter.reminder:
        subject = f"{REMINDER}: {SUBJECT}"
    layout.paragraph(subject, role="H1", bold=True, size=12)
    layout.paragraph(f"Guten Tag {letter.person},")
    if letter.reminder:
        earlier = letter.reminder_of.strftime("%d.%m.%Y") if letter.reminder_of else ""
        layout.paragraph(
            f"mit Schreiben vom {earlier} haben wir Sie gebeten, Unterlagen einzureichen. "
            "Die folgenden Unterlagen liegen uns noch nicht vor. Bitte reichen Sie sie bis "
            f"zum {letter.due_words} ein:"
        )
    else:
        layout.paragraph(
            "zur Prüfung Ihres Anspruchs auf Leistungen nach dem Zweiten Buch Sozialgesetzbuch "
            "(SGB II) benötigen wir die folgenden Unterlagen (§ 60 SGB I). Bitte reichen Sie sie "
            f"bis zum {letter.due_words} ein:"
        )
    layout.items(letter.items, "•")
    layout.paragraph(
        "Legen Sie bitte das beigefügte Rücksendeblatt (letzte Seite) oben auf Ihre Unterlagen. "
        "So werden Ihre Unterlagen schnell Ihrer Akte zugeordnet."
    )
    layout.paragraph("Hinweis zu den Folgen fehlender Mitwirkung", role="H2", bold=True)
    layout.paragraph(letter.warning)
    layout.paragraph("Mit freundlichen Grüßen")
    layout.paragraph(f"Im Auftrag {letter.requester}")


def _return_sheet(layout: _Letter, letter: RequestLetter) -> None:
    layout.new_page()
    title = SHEET_TITLE + (f" ({REMINDER})" if letter.reminder else "")
    layout.paragraph(title, role="H1", bold=True, size=16)
    layout.paragraph(SHEET_HINT, bold=True, size=12)
    facts = layout.tree.add(layout.tree.document, "P")
    layout.line(f"An: {letter.job_centre}", facts)
    layout.line(f"Anforderung Nr. {letter.request_id} · BG-Nummer {letter.bg_number}", facts)
    layout.line(f"Von: {letter.person} · Frist: {letter.due_on.strftime('%d.%m.%Y')}", facts)
    layout.y -= 10
    # The codes first, high on the page, where a scanner's feed keeps the page straightest.
    qr = qr_image(letter.code, scale=1)
    layout.figure(
        qr, LEFT, layout.y - QR_WIDTH, QR_WIDTH, QR_WIDTH, f"QR-Code der Anforderung {letter.code}"
    )
    layout.y -= QR_WIDTH + 12
    bar = code128_image(letter.code, scale=1)
    layout.figure(
        bar,
        LEFT,
        layout.y - CODE128_HEIGHT,
        CODE128_WIDTH,
        CODE128_HEIGHT,
        f"Strichcode (Code 128) der Anforderung {letter.code}",
    )
    layout.y -= CODE128_HEIGHT + 12
    code = layout.tree.add(layout.tree.document, "P")
    layout.line(letter.code, code, size=8)
    layout.y -= 10
    layout.paragraph("Beigefügte Unterlagen (bitte ankreuzen):", role="H2", bold=True)
    layout.items(letter.items, "☐")


def build_request_letter(letter: RequestLetter) -> bytes:
    """The letter and its return sheet (the last page) as PDF/A-2 bytes."""
    with pikepdf.new() as pdf:
        layout = _Letter(pdf)
        _letter_pages(layout, letter)
        _return_sheet(layout, letter)
        fonts = (layout.regular, layout.bold)
        total = len(layout.canvases)
        for number, (canvas, images) in enumerate(
            zip(layout.canvases, layout.images, strict=True), start=1
        ):
            footer = (
                f"{letter.job_centre} · Anforderung Nr. {letter.request_id} "
                f"· Seite {number} von {total}"
            )
            canvas.text(
                layout.regular, 7.5, LEFT, 30, layout.regular.fit(footer, 7.5, RIGHT - LEFT)
            )
            page = new_page(pdf, (PAGE_W, PAGE_H), canvas, fonts)
            if images:
                page.obj.Resources.XObject = Dictionary(
                    {
                        f"/{name}": pdf.make_indirect(_image_stream(pdf, image))
                        for name, image in images
                    }
                )
            pdf.pages.append(page)
            layout.tree.bind(pdf.pages[-1], canvas.owners)
        for font in fonts:
            font.install(pdf)
        layout.tree.finish(LANGUAGE)
        title = f"{REMINDER}: {SUBJECT}" if letter.reminder else SUBJECT
        declare_pdfa_2(
            pdf,
            title=title,
            producer="E-Akte",
            created=letter.created_at,
            pdfua=layout.tree.complete,
        )
        out = io.BytesIO()
        save_pdfa(pdf, out)
        return out.getvalue()
