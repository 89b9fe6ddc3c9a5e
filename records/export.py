"""The file export (Aktenauszug): selected documents of a file as one PDF for a court
(§ 104 SGG), a file inspection (§ 25 SGB X) or an auditor.

`build_export` is a pure builder: it reads the documents' searchable PDFs and writes one PDF,
nothing else. The result, in this order:

- a cover page (Deckblatt): job centre, BG number, household, purpose, recipient, legal basis,
  number of documents and pages, who created the export and when (German local time);
- the table of contents (Inhaltsverzeichnis), as many pages as it needs: one entry per
  document with running number, date, title, sender and its pages ("Bl. 5–7"); a withheld
  document is marked "zurückgehalten: <Grund>". Every entry is a link to its first page;
- the documents in the given order, page for page; a withheld document is replaced by one
  placeholder page naming it (title, date) and the reason. The sender of a withheld document
  is printed nowhere: who wrote it may be exactly what § 25 Abs. 3 SGB X protects.

Numbering: every page, cover and contents included, carries "Blatt N" top right and the
footer "Aktenauszug <BG> · Seite N von M", so Blatt N is also page N of the PDF viewer and
the numbers a court cites ("Bl. 12 d.A.") can be found by page number. The stamp is an
overlay in the page's visible area (CropBox within the MediaBox, turned with /Rotate) on a
white box, so it stays readable on a scan; the page's own content is only wrapped in q/Q,
never rewritten, and its text layer stays as it is (searchable).

Font: DejaVu Sans and DejaVu Sans Bold (Debian package fonts-dejavu-core, as the e-mail
import uses), embedded as subsets (Type0/Identity-H over CIDFontType2 with a ToUnicode map):
German umlauts and the names of the job centre's clients (Yılmaz, Wiśniewski, Ștefan) print
as written, and the file contains every font it uses (PDF/A; electronic filing with the
courts expects it too). Characters the font lacks print as their base letter or "?".
The subset keeps the glyph numbering of the font and empties the glyphs not used (and drops
those above the highest one used), so no outside subsetter is needed: 10-20 kB per font.

Archive format: the documents are the PDF/A-2b renditions of ingest/pdfa.py, and what is
added here (embedded fonts, DeviceGray, links with the print flag, outline) stays within
PDF/A-2b, so the export gets the same output intent and XMP identification (veraPDF agrees,
tests/test_export.py). That holds only as long as the documents handed in are PDF/A-2b.

Same input, same bytes: no clock is read (only `header.created_at` is printed and stored),
the font subsets and their names follow from the glyphs used, and the trailer /ID is derived
from the content. `ExportResult.sha256` is the hash of the written file.

Memory: the documents' pages are joined by qpdf's job interface with `keepFilesOpen` off (as
in ingest/pdfa.py); their image data is read only while the result is written, page by page.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import struct
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from itertools import accumulate, pairwise
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, OutlineItem

# The PDF/A additions of the document renditions, shared rather than written twice.
from ingest.pdfa import _add_metadata, _add_output_intent
from records.dates import LOCAL_TZ, german

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian package fonts-dejavu-core
REGULAR_FONT = "DejaVuSans.ttf"
BOLD_FONT = "DejaVuSans-Bold.ttf"
PRODUCER = "E-Akte Jobcenter (Aktenauszug)"

# A4 portrait for the pages made here; margins leave room for punching on the left.
PAGE_W, PAGE_H = 595.276, 841.89
LEFT, RIGHT = 70.87, 552.76  # 25 mm and 15 mm margins
TOP, BOTTOM = PAGE_H - 85, 60.0

# The stamp on every page.
STAMP_INSET = 17.0  # 6 mm from the edge of the visible page
STAMP_PAD = 3.0
BLATT_SIZE = 11.0
FOOTER_SIZE = 7.5

# Table of contents: columns and line spacing.
TOC_SIZE = 9.0
TOC_LEADING = 12.0
TOC_ROW_GAP = 4.0
COL_NUMBER_RIGHT = LEFT + 20
COL_DATE = LEFT + 26
COL_TITLE = LEFT + 84
COL_SENDER = LEFT + 282
COL_RANGE = RIGHT - 62
TITLE_WIDTH = COL_SENDER - COL_TITLE - 8
SENDER_WIDTH = COL_RANGE - COL_SENDER - 8
NOTE_WIDTH = COL_RANGE - COL_TITLE - 8
MAX_CELL_LINES = 6


@dataclass(frozen=True)
class ExportItem:
    document_id: str
    title: str  # e.g. "Widerspruch" (document type) or a caseworker's title
    date: date | None  # receipt date (dispatch date for outgoing decisions)
    sender: str | None
    pdf: Path | None  # the document's searchable PDF; None when withheld
    withheld_reason: str | None = None  # German; set = a placeholder page replaces the document


@dataclass(frozen=True)
class ExportHeader:
    bg_number: str
    household_name: str  # e.g. "Kowalski, Andreas"
    purpose: str  # "Übersendung an das Sozialgericht", "Akteneinsicht (§ 25 SGB X)", "Prüfung"
    recipient: str  # e.g. "Sozialgericht Schleswig, Az. S 12 AS 345/26"
    legal_basis: str  # e.g. "§ 104 SGG" / "§ 25 SGB X"
    created_by: str  # user name
    created_at: datetime  # timezone-aware; printed in German local time
    job_centre: str = "Jobcenter"


@dataclass(frozen=True)
class ExportResult:
    pages: int
    sha256: str
    contents: list[tuple[str, int, int]]  # (document_id, first page, last page), 1-based


def build_export(items: list[ExportItem], header: ExportHeader, target: Path) -> ExportResult:
    """Write the Aktenauszug of `items` (in this order) to `target`; see the module docstring."""
    if not items:
        raise ValueError("an export needs at least one document")
    if header.created_at.tzinfo is None or header.created_at.utcoffset() is None:
        raise ValueError("header.created_at must be timezone-aware")
    sources: list[Path] = []  # the documents' PDFs, in order
    counts: list[int] = []  # pages per item in the export
    for item in items:
        if _withheld(item):
            counts.append(1)
        elif item.pdf is None:
            raise ValueError(f"document {item.document_id}: no PDF and no reason for withholding")
        else:
            sources.append(Path(item.pdf))
            counts.append(_page_count(sources[-1]))
    fonts = _Fonts(_face(REGULAR_FONT), _face(BOLD_FONT))
    toc_pages = _paginate(_toc_rows(items, fonts))
    front = 1 + len(toc_pages)  # cover and contents
    ends = list(accumulate(counts, initial=front))
    ranges = [(before + 1, last) for before, last in pairwise(ends)]
    total = ends[-1]

    target = Path(target)
    # Written next to the target and renamed: no half-written export under the target's name.
    scratch = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    job = None
    try:
        if sources:
            # As in ingest/pdfa.py: qpdf joins the pages and reads image data only while
            # saving, so `job` stays referenced until then.
            job = pikepdf.Job(
                {
                    "empty": "",
                    "outputFile": str(scratch),
                    "keepFilesOpen": "n",
                    "pages": [{"file": str(path.absolute())} for path in sources],
                }
            )
            pdf = job.create_pdf()
        else:
            pdf = pikepdf.new()
        with pdf:
            _assemble(pdf, items, header, counts, toc_pages, ranges, fonts)
            pdf.save(scratch, deterministic_id=True, min_version="1.7")
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
        del job
    contents = [
        (item.document_id, first, last) for item, (first, last) in zip(items, ranges, strict=True)
    ]
    return ExportResult(pages=total, sha256=_sha256(target), contents=contents)


def _assemble(
    pdf: pikepdf.Pdf,
    items: list[ExportItem],
    header: ExportHeader,
    counts: list[int],
    toc_pages: list[list[_Row]],
    ranges: list[tuple[int, int]],
    fonts: _Fonts,
) -> None:
    """Add cover, contents and placeholders to the joined document pages; stamp every page."""
    total, front = ranges[-1][1], 1 + len(toc_pages)
    fonts.attach(pdf)
    # Placeholders first (their positions count from the first document page) ...
    for number, (item, (first, _last)) in enumerate(zip(items, ranges, strict=True), 1):
        if _withheld(item):
            page = _new_page(pdf, _placeholder(item, number, fonts), fonts)
            pdf.pages.insert(first - front - 1, page)
    # ... then the cover and the contents in front of everything; links once all are in place.
    pdf.pages.insert(0, _new_page(pdf, _cover(header, items, counts, total, front, fonts), fonts))
    links = []
    for index, rows in enumerate(toc_pages):
        canvas, page_links = _toc_page(header, rows, ranges, index, fonts)
        pdf.pages.insert(1 + index, _new_page(pdf, canvas, fonts))
        links.append(page_links)
    for index, page_links in enumerate(links):
        _add_links(pdf, pdf.pages[1 + index], page_links)
    if len(pdf.pages) != total:
        raise RuntimeError(f"export has {len(pdf.pages)} pages, expected {total}")
    opening = pdf.make_stream(b"q\n")  # one stream, shared by all pages
    for number, page in enumerate(pdf.pages, start=1):
        _stamp(pdf, page, opening, number, total, header.bg_number, fonts)
    fonts.install(pdf)
    _add_outline(pdf, items, ranges)
    _finish(pdf, header)


def _withheld(item: ExportItem) -> bool:
    return bool(item.withheld_reason and item.withheld_reason.strip())


def _page_count(path: Path) -> int:
    with pikepdf.open(path) as pdf:
        count = len(pdf.pages)
    if count == 0:
        raise ValueError(f"{path} has no pages")
    return count


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- text in German ------------------------------------------------------------------------


def _date_text(value: date | None) -> str:
    return german(value) if value else "o. D."


def _range_text(first: int, last: int) -> str:
    return f"Bl. {first}" if first == last else f"Bl. {first}–{last}"


def _count_text(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _local_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d.%m.%Y, %H:%M Uhr")


# --- pages made here -----------------------------------------------------------------------


class _Canvas:
    """Content stream operators for one page, in PDF units from the bottom left."""

    def __init__(self) -> None:
        self.ops: list[str] = []

    def text(self, font: _Font, size: float, x: float, y: float, text: str) -> None:
        if text:
            self.ops.append(
                f"BT /{font.key} {_num(size)} Tf {_num(x)} {_num(y)} Td {font.show(text)} Tj ET"
            )

    def text_right(self, font: _Font, size: float, right: float, y: float, text: str) -> None:
        self.text(font, size, right - font.width(text, size), y, text)

    def rule(self, x0: float, x1: float, y: float, width: float = 0.5, gray: float = 0.0) -> None:
        self.ops.append(
            f"q {_num(gray)} G {_num(width)} w {_num(x0)} {_num(y)} m {_num(x1)} {_num(y)} l S Q"
        )

    def content(self) -> bytes:
        return ("\n".join(self.ops) + "\n").encode("ascii")


def _new_page(pdf: pikepdf.Pdf, canvas: _Canvas, fonts: _Fonts) -> pikepdf.Page:
    page = Dictionary(
        Type=Name.Page,
        MediaBox=Array([0, 0, PAGE_W, PAGE_H]),
        Resources=Dictionary(Font=Dictionary({f"/{f.key}": f.obj for f in fonts.all})),
        Contents=pdf.make_stream(canvas.content()),
    )
    return pikepdf.Page(pdf.make_indirect(page))


def _fields(
    canvas: _Canvas,
    fonts: _Fonts,
    y: float,
    rows: list[tuple[str, str]],
    *,
    label_width: float = 130,
    size: float = 10,
    max_lines: int = 4,
) -> float:
    """Label-value lines (values wrapped); returns the y below them."""
    leading = size * 1.4
    for label, value in rows:
        lines = fonts.regular.wrap(value, size, RIGHT - LEFT - label_width, max_lines)
        canvas.text(fonts.bold, size, LEFT, y, label)
        for line in lines:
            canvas.text(fonts.regular, size, LEFT + label_width, y, line)
            y -= leading
        y -= size * 0.6
    return y


def _paragraph(canvas: _Canvas, font: _Font, size: float, y: float, text: str) -> float:
    for line in font.wrap(text, size, RIGHT - LEFT, 12):
        canvas.text(font, size, LEFT, y, line)
        y -= size * 1.35
    return y


def _cover(
    header: ExportHeader,
    items: list[ExportItem],
    counts: list[int],
    total: int,
    front: int,
    fonts: _Fonts,
) -> _Canvas:
    canvas = _Canvas()
    withheld = sum(1 for item in items if _withheld(item))
    documents = _count_text(len(items), "Dokument", "Dokumente")
    if withheld:
        documents += f", davon {withheld} zurückgehalten"
    contents = "Bl. 2" if front == 2 else f"Bl. 2–{front}"
    extent = (
        f"{total} Blatt: Deckblatt Bl. 1, Inhaltsverzeichnis {contents}, "
        f"Dokumente {_range_text(front + 1, total)}"
    )
    y = TOP
    for line in fonts.bold.wrap(header.job_centre, 11, RIGHT - LEFT, 3):
        canvas.text(fonts.bold, 11, LEFT, y, line)
        y -= 15
    y -= 30
    canvas.text(fonts.bold, 24, LEFT, y, "Aktenauszug")
    y -= 16
    canvas.rule(LEFT, RIGHT, y, 0.8)
    y -= 30
    y = _fields(
        canvas,
        fonts,
        y,
        [
            ("Bedarfsgemeinschaft", header.bg_number),
            ("Haushalt", header.household_name),
            ("Zweck", header.purpose),
            ("Empfänger", header.recipient),
            ("Rechtsgrundlage", header.legal_basis),
            ("Dokumente", documents),
            ("Umfang", extent),
            ("Erstellt von", header.created_by),
            ("Erstellt am", _local_time(header.created_at)),
        ],
    )
    y -= 16
    note = (
        "Die Blattzahl steht oben rechts auf jeder Seite. Die Zählung ist fortlaufend und "
        "schließt Deckblatt und Inhaltsverzeichnis ein. Die Dokumente folgen in der "
        "Reihenfolge des Inhaltsverzeichnisses."
    )
    if withheld:
        note += (
            " Ein zurückgehaltenes Dokument ist durch ein Blatt ersetzt, das das Dokument "
            "und den Grund der Zurückhaltung nennt."
        )
    _paragraph(canvas, fonts.regular, 9, y, note)
    return canvas


def _placeholder(item: ExportItem, number: int, fonts: _Fonts) -> _Canvas:
    canvas = _Canvas()
    y = TOP
    canvas.text(fonts.bold, 16, LEFT, y, "Dokument zurückgehalten")
    y -= 14
    canvas.rule(LEFT, RIGHT, y, 0.8)
    y -= 30
    y = _fields(
        canvas,
        fonts,
        y,
        [
            ("Nr. im Verzeichnis", str(number)),
            ("Bezeichnung", item.title),
            ("Datum", german(item.date) if item.date else "ohne Datum"),
            ("Grund", item.withheld_reason or ""),
        ],
        max_lines=MAX_CELL_LINES,
    )
    y -= 16
    _paragraph(
        canvas,
        fonts.regular,
        9,
        y,
        "Das Dokument gehört zur Akte, ist in diesem Aktenauszug aber nicht enthalten. "
        "Dieses Blatt steht an seiner Stelle.",
    )
    return canvas


# --- table of contents ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    index: int  # into items
    number: str
    date: str
    title: list[str]
    sender: list[str]
    note: list[str]  # "zurückgehalten: ..." under title and sender

    @property
    def lines(self) -> int:
        return max(len(self.title), len(self.sender)) + len(self.note)

    @property
    def height(self) -> float:
        return self.lines * TOC_LEADING + TOC_ROW_GAP


def _toc_rows(items: list[ExportItem], fonts: _Fonts) -> list[_Row]:
    font, size = fonts.regular, TOC_SIZE
    rows = []
    for index, item in enumerate(items):
        withheld = _withheld(item)
        rows.append(
            _Row(
                index=index,
                number=f"{index + 1}.",
                date=_date_text(item.date),
                title=font.wrap(item.title, size, TITLE_WIDTH, MAX_CELL_LINES),
                # The sender of a withheld document is not printed (see the module docstring).
                sender=[] if withheld else font.wrap(item.sender or "", size, SENDER_WIDTH, 3),
                note=(
                    font.wrap(
                        f"zurückgehalten: {item.withheld_reason}", size, NOTE_WIDTH, MAX_CELL_LINES
                    )
                    if withheld
                    else []
                ),
            )
        )
    return rows


_TOC_FIRST_ROW = TOP - 52  # below the heading, the subheading and the column heads


def _paginate(rows: list[_Row]) -> list[list[_Row]]:
    pages: list[list[_Row]] = [[]]
    room = _TOC_FIRST_ROW - BOTTOM
    for row in rows:
        if pages[-1] and row.height > room:
            pages.append([])
            room = _TOC_FIRST_ROW - BOTTOM
        pages[-1].append(row)
        room -= row.height
    return pages


def _toc_page(
    header: ExportHeader,
    rows: list[_Row],
    ranges: list[tuple[int, int]],
    page_index: int,
    fonts: _Fonts,
) -> tuple[_Canvas, list[tuple[tuple[float, float, float, float], int]]]:
    """One page of the contents and its links: ((x0, y0, x1, y1), target page number)."""
    canvas = _Canvas()
    regular, bold, size = fonts.regular, fonts.bold, TOC_SIZE
    heading = "Inhaltsverzeichnis" if page_index == 0 else "Inhaltsverzeichnis (Fortsetzung)"
    canvas.text(bold, 16, LEFT, TOP, heading)
    subheading = f"Aktenauszug {header.bg_number} · {header.household_name}"
    canvas.text(regular, size, LEFT, TOP - 17, regular.fit(subheading, size, RIGHT - LEFT))
    y = TOP - 40
    canvas.text_right(bold, size, COL_NUMBER_RIGHT, y, "Nr.")
    canvas.text(bold, size, COL_DATE, y, "Datum")
    canvas.text(bold, size, COL_TITLE, y, "Bezeichnung")
    canvas.text(bold, size, COL_SENDER, y, "Absender")
    canvas.text_right(bold, size, RIGHT, y, "Blatt")
    canvas.rule(LEFT, RIGHT, y - 4, 0.6)
    top = _TOC_FIRST_ROW
    links = []
    for row in rows:
        first, last = ranges[row.index]
        baseline = top - 9.5
        canvas.text_right(regular, size, COL_NUMBER_RIGHT, baseline, row.number)
        canvas.text(regular, size, COL_DATE, baseline, row.date)
        canvas.text_right(regular, size, RIGHT, baseline, _range_text(first, last))
        for offset, line in enumerate(row.title):
            canvas.text(regular, size, COL_TITLE, baseline - offset * TOC_LEADING, line)
        for offset, line in enumerate(row.sender):
            canvas.text(regular, size, COL_SENDER, baseline - offset * TOC_LEADING, line)
        note_top = baseline - max(len(row.title), len(row.sender)) * TOC_LEADING
        for offset, line in enumerate(row.note):
            canvas.text(regular, size, COL_TITLE, note_top - offset * TOC_LEADING, line)
        bottom = top - row.height
        canvas.rule(LEFT, RIGHT, bottom + 1, 0.3, 0.7)
        links.append(((LEFT, bottom + 1, RIGHT, top), first))
        top = bottom
    return canvas, links


def _add_links(
    pdf: pikepdf.Pdf,
    page: pikepdf.Page,
    links: list[tuple[tuple[float, float, float, float], int]],
) -> None:
    annotations = Array()
    for rect, target in links:
        link = Dictionary(
            Type=Name.Annot,
            Subtype=Name.Link,
            Rect=Array(list(rect)),
            Border=Array([0, 0, 0]),
            F=4,  # print; PDF/A wants it set
            Dest=Array([pdf.pages[target - 1].obj, Name.Fit]),
        )
        annotations.append(pdf.make_indirect(link))
    page.obj.Annots = annotations


def _add_outline(pdf: pikepdf.Pdf, items: list[ExportItem], ranges: list[tuple[int, int]]) -> None:
    with pdf.open_outline() as outline:
        outline.root.append(OutlineItem("Deckblatt", 0))
        outline.root.append(OutlineItem("Inhaltsverzeichnis", 1))
        for number, (item, (first, last)) in enumerate(zip(items, ranges, strict=True), 1):
            pages = _range_text(first, last)
            title = f"{number}. {_clean(item.title)}, {_date_text(item.date)} ({pages})"
            if _withheld(item):
                title += " – zurückgehalten"
            outline.root.append(OutlineItem(title, first - 1))
    pdf.Root.PageMode = Name.UseOutlines


def _finish(pdf: pikepdf.Pdf, header: ExportHeader) -> None:
    title = _clean(f"Aktenauszug {header.bg_number} – {header.purpose}")
    _add_output_intent(pdf)
    _add_metadata(pdf, title, PRODUCER, header.created_at.astimezone(UTC).replace(microsecond=0))
    pdf.Root.Lang = pikepdf.String("de-DE")
    pdf.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)


# --- the stamp on every page ---------------------------------------------------------------


def _inherited(page: pikepdf.Dictionary, key: str) -> pikepdf.Object | None:
    node: pikepdf.Object | None = page
    for _ in range(64):  # the page tree is shallow; a loop in it must not hang us
        if node is None:
            return None
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def _box(value: pikepdf.Object | None) -> tuple[float, float, float, float] | None:
    try:
        x0, y0, x1, y1 = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    return box if box[2] > box[0] and box[3] > box[1] else None


def _visible_box(page: pikepdf.Dictionary) -> tuple[float, float, float, float]:
    media = _box(_inherited(page, "/MediaBox")) or (0.0, 0.0, 612.0, 792.0)
    crop = _box(_inherited(page, "/CropBox"))
    if crop is None:
        return media
    x0, y0 = max(media[0], crop[0]), max(media[1], crop[1])
    x1, y1 = min(media[2], crop[2]), min(media[3], crop[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else media


def _rotation(page: pikepdf.Dictionary) -> int:
    value = _inherited(page, "/Rotate")
    try:
        angle = int(value) if value is not None else 0  # type: ignore[call-overload]
    except (TypeError, ValueError):
        angle = 0
    return round(angle / 90) * 90 % 360


def _display_space(page: pikepdf.Dictionary) -> tuple[str, float, float]:
    """The `cm` that maps the page as shown (origin bottom left, upright) to user space, and
    the width and height of the page as shown."""
    x0, y0, x1, y1 = _visible_box(page)
    width, height = x1 - x0, y1 - y0
    matrix = {
        0: (1, 0, 0, 1, x0, y0),
        90: (0, 1, -1, 0, x1, y0),
        180: (-1, 0, 0, -1, x1, y1),
        270: (0, -1, 1, 0, x0, y1),
    }[_rotation(page)]
    if _rotation(page) in (90, 270):
        width, height = height, width
    return " ".join(_num(v) for v in matrix) + " cm", width, height


def _font_key(resources: pikepdf.Dictionary, font: _Font) -> str:
    """The name `font` has in this page's font resources; added if it has none."""
    if "/Font" not in resources or not isinstance(resources.Font, pikepdf.Dictionary):
        resources.Font = Dictionary()
    fonts = resources.Font
    for name, value in fonts.items():
        if value.is_indirect and value.objgen == font.obj.objgen:
            return name[1:]
    key, suffix = font.key, 1
    while f"/{key}" in fonts:
        suffix += 1
        key = f"{font.key}{suffix}"
    fonts[f"/{key}"] = font.obj
    return key


def _stamp(
    pdf: pikepdf.Pdf,
    page: pikepdf.Page,
    opening: pikepdf.Stream,
    number: int,
    total: int,
    bg_number: str,
    fonts: _Fonts,
) -> None:
    """Overlay "Blatt N" and the footer on `page`; its own content goes inside q (`opening`)
    ... Q, so that whatever graphics state it leaves behind does not reach the stamp."""
    resources = _inherited(page.obj, "/Resources")
    if not isinstance(resources, pikepdf.Dictionary):
        resources = page.obj.Resources = Dictionary()
    regular_key = _font_key(resources, fonts.regular)
    bold_key = _font_key(resources, fonts.bold)
    matrix, width, height = _display_space(page.obj)

    blatt = f"Blatt {number}"
    blatt_size = min(BLATT_SIZE, width / 30)
    footer = f"Aktenauszug {bg_number} · Seite {number} von {total}"
    room = width - 2 * (STAMP_INSET + STAMP_PAD)
    footer_size = min(FOOTER_SIZE, room / max(fonts.regular.width(footer, 1), 1))

    blatt_width = fonts.bold.width(blatt, blatt_size)
    blatt_x = width - STAMP_INSET - blatt_width
    blatt_y = height - STAMP_INSET - 0.75 * blatt_size
    footer_width = fonts.regular.width(footer, footer_size)
    footer_x = (width - footer_width) / 2
    footer_y = STAMP_INSET

    def box(x: float, y: float, text_width: float, size: float) -> str:
        pad = STAMP_PAD
        return (
            f"{_num(x - pad)} {_num(y - 0.24 * size - pad)} "
            f"{_num(text_width + 2 * pad)} {_num(size * 0.98 + 2 * pad)} re f"
        )

    stamp = "\n".join(
        [
            "Q",  # ends the page's own content, wrapped in q ... Q
            "q",
            matrix,
            "1 g",
            box(blatt_x, blatt_y, blatt_width, blatt_size),
            box(footer_x, footer_y, footer_width, footer_size),
            "0 g",
            f"BT /{bold_key} {_num(blatt_size)} Tf {_num(blatt_x)} {_num(blatt_y)} Td "
            f"{fonts.bold.show(blatt)} Tj ET",
            f"BT /{regular_key} {_num(footer_size)} Tf {_num(footer_x)} {_num(footer_y)} Td "
            f"{fonts.regular.show(footer)} Tj ET",
            "Q",
            "",
        ]
    )
    page.contents_add(opening, prepend=True)
    page.contents_add(pdf.make_stream(stamp.encode("ascii")))


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


# --- fonts ---------------------------------------------------------------------------------


_SPACES = {"Cc", "Zs", "Zl", "Zp"}  # control characters (tab, newline) and separators
_DROPPED = {"Cf", "Cs", "Co", "Cn"}  # format (soft hyphen), surrogates, private, unassigned


def _clean(text: str) -> str:
    """One line of text: composed (NFC), control characters and runs of space made one space."""
    chars = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if category in _SPACES:
            chars.append(" ")
        elif category not in _DROPPED:
            chars.append(char)
    return " ".join("".join(chars).split())


class _Fonts:
    def __init__(self, regular: _Face, bold: _Face) -> None:
        self.regular = _Font(regular, "EAkteR")
        self.bold = _Font(bold, "EAkteB")
        self.all = (self.regular, self.bold)

    def attach(self, pdf: pikepdf.Pdf) -> None:
        for font in self.all:
            font.obj = pdf.make_indirect(Dictionary())

    def install(self, pdf: pikepdf.Pdf) -> None:
        for font in self.all:
            font.install(pdf)


class _Font:
    """One font as this export uses it: measures and encodes text, collects the glyphs used,
    and finally fills its PDF font dictionary with the subset."""

    def __init__(self, face: _Face, key: str) -> None:
        self.face = face
        self.key = key
        self.used: dict[int, str] = {}  # glyph -> the character it stands for (ToUnicode)
        self.obj: pikepdf.Object = Dictionary()

    def _chars(self, text: str) -> str:
        out = []
        for char in _clean(text):
            if ord(char) not in self.face.cmap:
                base = unicodedata.normalize("NFKD", char)[:1]
                char = base if base and ord(base) in self.face.cmap else "?"
            out.append(char)
        return "".join(out)

    def width(self, text: str, size: float) -> float:
        face = self.face
        units = sum(face.advance(face.cmap[ord(c)]) for c in self._chars(text))
        return units * size / face.units_per_em

    def show(self, text: str) -> str:
        """`text` as a hex string of glyph numbers (Identity-H)."""
        codes = []
        for char in self._chars(text):
            glyph = self.face.cmap[ord(char)]
            self.used.setdefault(glyph, char)
            codes.append(f"{glyph:04X}")
        return "<" + "".join(codes) + ">"

    def fit(self, text: str, size: float, width: float) -> str:
        """`text` on one line, shortened with an ellipsis if it is too wide."""
        text = self._chars(text)
        if self.width(text, size) <= width:
            return text
        while text and self.width(text + "…", size) > width:
            text = text[:-1]
        return text.rstrip() + "…"

    def wrap(self, text: str, size: float, width: float, max_lines: int) -> list[str]:
        """`text` broken into lines at spaces (inside over-long words if need be)."""
        lines: list[str] = []
        current = ""
        for word in self._chars(text[:4000]).split(" "):
            candidate = f"{current} {word}" if current else word
            if self.width(candidate, size) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            while len(word) > 1 and self.width(word, size) > width:
                cut = len(word) - 1
                while cut > 1 and self.width(word[:cut], size) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        if current or not lines:
            lines.append(current)
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = self.fit(lines[-1] + " …", size, width - 1) if lines[-1] else "…"
        return lines

    def install(self, pdf: pikepdf.Pdf) -> None:
        face = self.face
        glyphs = sorted(self.used)
        program = face.subset(glyphs)
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(program).digest()[:6])
        base = Name(f"/{tag}+{face.name}")
        scale = 1000 / face.units_per_em
        file = pdf.make_stream(program)
        file.Length1 = len(program)
        descriptor = Dictionary(
            Type=Name.FontDescriptor,
            FontName=base,
            Flags=4,  # symbolic: glyphs are addressed by number, not by a standard encoding
            FontBBox=Array([round(v * scale) for v in face.bbox]),
            ItalicAngle=0,
            Ascent=round(face.ascent * scale),
            Descent=round(face.descent * scale),
            CapHeight=round(face.cap_height * scale),
            StemV=80,
            FontFile2=file,
        )
        widths = Array()
        for glyph in glyphs:
            widths.extend([glyph, Array([_width_value(face.advance(glyph) * scale)])])
        cid_font = Dictionary(
            Type=Name.Font,
            Subtype=Name.CIDFontType2,
            BaseFont=base,
            CIDSystemInfo=Dictionary(
                Registry=pikepdf.String("Adobe"),
                Ordering=pikepdf.String("Identity"),
                Supplement=0,
            ),
            FontDescriptor=pdf.make_indirect(descriptor),
            DW=_width_value(face.advance(0) * scale),
            W=widths,
            CIDToGIDMap=Name.Identity,
        )
        self.obj.Type = Name.Font
        self.obj.Subtype = Name.Type0
        self.obj.BaseFont = base
        self.obj.Encoding = Name("/Identity-H")
        self.obj.DescendantFonts = Array([pdf.make_indirect(cid_font)])
        self.obj.ToUnicode = pdf.make_stream(_to_unicode(self.used))


def _width_value(value: float) -> float | int:
    rounded = round(value, 3)
    return int(rounded) if rounded == int(rounded) else rounded


def _to_unicode(used: dict[int, str]) -> bytes:
    entries = [
        f"<{glyph:04X}> <{char.encode('utf-16-be').hex().upper()}>"
        for glyph, char in sorted(used.items())
    ]
    blocks = []
    for start in range(0, len(entries), 100):  # at most 100 entries per block
        chunk = entries[start : start + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n"
        "12 dict begin\n"
        "begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n"
        "/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\n"
        "CMapName currentdict /CMap defineresource pop\n"
        "end\n"
        "end\n"
    ).encode("ascii")


@cache
def _face(name: str) -> _Face:
    path = FONT_DIR / name
    if not path.is_file():
        raise RuntimeError(f"Schrift {path} fehlt (Debian-Paket fonts-dejavu-core).")
    return _Face(path)


# Tables a TrueType program embedded in a PDF needs (ISO 32000-1, 9.9); the rest is left out.
_KEPT_TABLES = ("cvt ", "fpgm", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "prep")


class _Face:
    """The parts of a TrueType font file this module reads, and the subset it writes."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        self.name = path.stem.replace(" ", "")
        self.data = data
        (count,) = struct.unpack_from(">H", data, 4)
        self.tables: dict[str, tuple[int, int]] = {}
        for index in range(count):
            tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * index)
            self.tables[tag.decode("latin-1")] = (offset, length)
        head = self.table("head")
        self.units_per_em = struct.unpack_from(">H", head, 18)[0]
        self.bbox = struct.unpack_from(">4h", head, 36)
        long_loca = struct.unpack_from(">h", head, 50)[0] == 1
        self.glyph_count = struct.unpack_from(">H", self.table("maxp"), 4)[0]
        hhea = self.table("hhea")
        self.ascent, self.descent = struct.unpack_from(">hh", hhea, 4)
        self.metric_count = struct.unpack_from(">H", hhea, 34)[0]
        hmtx = self.table("hmtx")
        advances = [struct.unpack_from(">H", hmtx, 4 * i)[0] for i in range(self.metric_count)]
        self.advances = advances + [advances[-1]] * (self.glyph_count - self.metric_count)
        loca = self.table("loca")
        if long_loca:
            self.loca = list(struct.unpack_from(f">{self.glyph_count + 1}I", loca))
        else:
            self.loca = [2 * v for v in struct.unpack_from(f">{self.glyph_count + 1}H", loca)]
        self.cmap = _read_cmap(self.table("cmap"))
        capital_h = self.glyph(self.cmap.get(ord("H"), 0))
        self.cap_height = struct.unpack_from(">h", capital_h, 8)[0] if capital_h else self.ascent

    def table(self, tag: str) -> bytes:
        offset, length = self.tables[tag]
        return self.data[offset : offset + length]

    def advance(self, glyph: int) -> int:
        return self.advances[glyph]

    def glyph(self, glyph: int) -> bytes:
        start = self.tables["glyf"][0]
        return self.data[start + self.loca[glyph] : start + self.loca[glyph + 1]]

    def components(self, glyph: int) -> list[int]:
        """The glyphs a composite glyph is made of."""
        data = self.glyph(glyph)
        if len(data) < 10 or struct.unpack_from(">h", data, 0)[0] >= 0:
            return []
        found, offset = [], 10
        while True:
            flags, component = struct.unpack_from(">HH", data, offset)
            found.append(component)
            offset += 4 + (4 if flags & 0x0001 else 2)  # ARG_1_AND_2_ARE_WORDS
            if flags & 0x0008:  # WE_HAVE_A_SCALE
                offset += 2
            elif flags & 0x0040:  # WE_HAVE_AN_X_AND_Y_SCALE
                offset += 4
            elif flags & 0x0080:  # WE_HAVE_A_TWO_BY_TWO
                offset += 8
            if not flags & 0x0020:  # MORE_COMPONENTS
                return found

    def subset(self, glyphs: Iterable[int]) -> bytes:
        """A font program with the same glyph numbers in which only `glyphs` (and what they are
        made of, and glyph 0) have outlines; glyphs above the highest are left out."""
        keep = {0, *glyphs}
        pending = list(keep)
        while pending:
            for component in self.components(pending.pop()):
                if component not in keep:
                    keep.add(component)
                    pending.append(component)
        count = max(keep) + 1
        glyf = bytearray()
        offsets = []
        for glyph in range(count):
            offsets.append(len(glyf))
            if glyph in keep:
                glyf += self.glyph(glyph)
                glyf += bytes(-len(glyf) % 4)
        offsets.append(len(glyf))
        metrics = min(self.metric_count, count)
        hmtx = self.table("hmtx")[: 4 * metrics]
        if count > metrics:  # left side bearings of the glyphs after the last full metric
            start = 4 * self.metric_count
            hmtx += self.table("hmtx")[start : start + 2 * (count - metrics)]
        head = bytearray(self.table("head"))
        head[8:12] = bytes(4)  # checkSumAdjustment, set below
        head[50:52] = struct.pack(">h", 1)  # long loca
        hhea = bytearray(self.table("hhea"))
        hhea[34:36] = struct.pack(">H", metrics)
        maxp = bytearray(self.table("maxp"))
        maxp[4:6] = struct.pack(">H", count)
        tables = {tag: self.table(tag) for tag in _KEPT_TABLES if tag in self.tables}
        tables.update(
            glyf=bytes(glyf),
            loca=struct.pack(f">{len(offsets)}I", *offsets),
            hmtx=bytes(hmtx),
            head=bytes(head),
            hhea=bytes(hhea),
            maxp=bytes(maxp),
        )
        return _sfnt(tables)


def _checksum(data: bytes) -> int:
    data += bytes(-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def _sfnt(tables: dict[str, bytes]) -> bytes:
    tags = sorted(tables)
    selector = int(math.log2(len(tags)))
    search_range = 16 * 2**selector
    header = struct.pack(
        ">IHHHH", 0x00010000, len(tags), search_range, selector, 16 * len(tags) - search_range
    )
    directory, body = bytearray(), bytearray()
    offset = 12 + 16 * len(tags)
    head_offset = 0
    for tag in tags:
        data = tables[tag]
        if tag == "head":
            head_offset = offset + len(body)
        directory += struct.pack(
            ">4sIII", tag.encode("latin-1"), _checksum(data), offset + len(body), len(data)
        )
        body += data + bytes(-len(data) % 4)
    font = bytearray(header + directory + body)
    adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
    font[head_offset + 8 : head_offset + 12] = struct.pack(">I", adjustment)
    return bytes(font)


def _read_cmap(table: bytes) -> dict[int, int]:
    """Unicode code point -> glyph, from the Windows Unicode subtable (format 12, else 4)."""
    subtables = {}
    (count,) = struct.unpack_from(">H", table, 2)
    for index in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", table, 4 + 8 * index)
        subtables[(platform, encoding)] = offset
    mapping: dict[int, int] = {}
    for key in ((3, 10), (0, 4), (3, 1), (0, 3)):
        offset = subtables.get(key)
        if offset is None:
            continue
        (fmt,) = struct.unpack_from(">H", table, offset)
        if fmt == 12:
            (groups,) = struct.unpack_from(">I", table, offset + 12)
            for group in range(groups):
                first, last, glyph = struct.unpack_from(">III", table, offset + 16 + 12 * group)
                for code in range(first, last + 1):
                    mapping[code] = glyph + code - first
            break
        if fmt == 4:
            segments = struct.unpack_from(">H", table, offset + 6)[0] // 2
            ends = struct.unpack_from(f">{segments}H", table, offset + 14)
            starts = struct.unpack_from(f">{segments}H", table, offset + 16 + 2 * segments)
            deltas = struct.unpack_from(f">{segments}h", table, offset + 16 + 4 * segments)
            range_at = offset + 16 + 6 * segments
            ranges = struct.unpack_from(f">{segments}H", table, range_at)
            for seg in range(segments):
                for code in range(starts[seg], min(ends[seg], 0xFFFE) + 1):
                    if ranges[seg] == 0:
                        glyph = (code + deltas[seg]) & 0xFFFF
                    else:
                        at = range_at + 2 * seg + ranges[seg] + 2 * (code - starts[seg])
                        glyph = struct.unpack_from(">H", table, at)[0]
                        glyph = (glyph + deltas[seg]) & 0xFFFF if glyph else 0
                    if glyph:
                        mapping[code] = glyph
            break
    if ord("?") not in mapping or ord(" ") not in mapping:
        raise RuntimeError("the font has no Unicode cmap with space and question mark")
    return mapping
