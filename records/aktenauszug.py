"""The file export (Aktenauszug): selected documents of a file as one PDF for a court
(§ 104 SGG), a file inspection (§ 25 SGB X) or an auditor.

`build_export` is a pure builder: it reads the documents' searchable PDFs and writes one PDF,
nothing else. The result, in this order:

- a cover page (Deckblatt): job centre, BG number, household, purpose, recipient, legal basis,
  number of documents and pages, who created the export and when (German local time);
- the table of contents (Inhaltsverzeichnis), as many pages as it needs: one entry per
  document with running number, date, title, sender and its pages ("Bl. 5–7"); a withheld
  document is marked "zurückgehalten: <Grund>". Every entry is a link to its first page;
- given requests for documents (Mitwirkungsaufforderungen, issue 19), the section
  "Anforderungen von Unterlagen (Mitwirkung)" right after the contents (`_history_blocks`):
  per request its dispatch date, the person written to, the requester, the deadline, the state,
  the reminders with their new deadlines, each item asked for with its status (which document
  answered it, by its number in the contents and its sheets, received when; or "fehlt") and the
  history. A document of the export is named by number, title and date, its sheets a link to
  it; a withheld one only as "zurückgehalten" (its number and sheet lead to its placeholder),
  one not in the export as "nicht in diesem Aktenauszug": the page never names what the export
  keeps back. The section is a row of the contents and an entry of the outline;
- the documents in the given order, page for page; a withheld document is replaced by one
  placeholder page naming it (title, date) and the reason. The sender of a withheld document
  is printed nowhere: who wrote it may be exactly what § 25 Abs. 3 SGB X protects.

Numbering: every page, cover and contents included, carries "Blatt N" top right and the
footer "Aktenauszug <BG> · Seite N von M", so Blatt N is also page N of the PDF viewer and
the numbers a court cites ("Bl. 12 d.A.") can be found by page number. The stamp is an
overlay in the page's visible area (CropBox within the MediaBox, turned with /Rotate) on a
white box, so it stays readable on a scan; the page's own content is only wrapped in q/Q
(and, for a rendition not tagged yet, given marked-content operators, see below), and its
text layer stays as it is (searchable).

Tagged (PDF/UA-1, `pdf.tags`; see `_Tagging` for the tree): what is printed is what a screen
reader reads, in the printed order: per page "Blatt N", then the cover's fields, the contents
as a table whose sheet numbers are links, a placeholder's heading and fields, or a document
page's scan as a Figure ("Gescannte Seite 2 von 3: Widerspruch vom 01.10.2026") and its OCR
text. The footer repeats the sheet number and is a pagination artifact. The renditions'
pages are marked in place (read once, their images never touched); the outline has one entry
per document.

Font: DejaVu Sans and DejaVu Sans Bold (Debian package fonts-dejavu-core, as the e-mail
import uses), embedded as subsets by `pdf.fonts` (Type0/Identity-H over CIDFontType2 with a
ToUnicode map, subset by fontTools): German umlauts and the names of the job centre's clients
(Yılmaz, Wiśniewski, Ștefan) print as written, and the file contains every font it uses.
Characters the font lacks print as their base letter or "?".

Archive format: the documents are the PDF/A-2b archive PDFs of ingest/archive_pdf.py, and what
is added here (embedded fonts, DeviceGray, links with the print flag, outline, structure)
stays within PDF/A-2b, so the export gets the same output intent and XMP identification from
`pdf.pdfa`, with the PDF/UA-1 identification and, being tagged throughout, PDF/A-2a (veraPDF
agrees, tests/test_aktenauszug.py, tests/test_pdfua.py and tests/test_legal15b_pdf.py). That
holds only as long as the documents handed in are PDF/A-2b. A page's figure reads "Gescannte
Seite 2 von 3: Bescheid vom 12.11.2026" (the document's type and date, not its file name).

Same input, same bytes: no clock is read (only `header.created_at` is printed and stored),
the font subsets and their names follow from the glyphs used, and the trailer /ID is derived
from the content. `ExportResult.sha256` is the hash of the written file.

Memory: the documents' pages are joined by `pdf.pdfa.joined_pages` (qpdf, `keepFilesOpen` off);
their image data is read only while the result is written, page by page.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import accumulate, pairwise
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, OutlineItem

from core.dates import LOCAL_TZ, german
from pdf.fonts import EmbeddedFont, FontFace, font_face, one_line
from pdf.pages import Canvas, inherited, new_page, pdf_number, shown_space
from pdf.pdfa import declare_pdfa_2, joined_pages, save_pdfa
from pdf.tags import StructTree, page_alt, tag_page_content

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian package fonts-dejavu-core
REGULAR_FONT = "DejaVuSans.ttf"
BOLD_FONT = "DejaVuSans-Bold.ttf"
PRODUCER = "E-Akte Jobcenter (Aktenauszug)"
LANGUAGE = "de-DE"

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
    requests_pages: tuple[int, int] | None = None  # the request section's sheets, if any


@dataclass(frozen=True)
class RequestDocument:
    """A document that came in for a request: the builder names it by its place in the export
    (or "zurückgehalten", "nicht in diesem Aktenauszug")."""

    document_id: str
    received: date | None
    how: str  # German: "mit Rücksendeblatt", "vermutlich Antwort, nicht bestätigt", ...


@dataclass(frozen=True)
class RequestEntry:
    """One item asked for: its text ("Kontoauszüge für die Zeit vom ..."), its status
    ("eingegangen", "fehlt") and the documents linked to it."""

    label: str
    status: str
    documents: tuple[RequestDocument, ...] = ()


@dataclass(frozen=True)
class RequestEvent:
    """A line of a request's history; `document_id` the letter or reply it is about."""

    on: date | None
    text: str
    document_id: str | None = None


@dataclass(frozen=True)
class RequestRecord:
    """A request for documents as the Aktenauszug prints it (records/request_history.py)."""

    number: int  # the request's id, as on its letter and return sheet
    dispatch_date: date
    person: str
    requester: str
    due_on: date  # the deadline in force
    first_due_on: date | None  # the letter's deadline (differs after a reminder)
    state: str  # German: "offen", "offen, Frist abgelaufen", "vollständig", "zurückgenommen"
    reminders: tuple[tuple[date, date], ...]  # (dispatched, new deadline)
    items: tuple[RequestEntry, ...]
    unassigned: tuple[RequestDocument, ...]  # came behind the return sheet, answer no item
    history: tuple[RequestEvent, ...]


HISTORY_TITLE = "Anforderungen von Unterlagen (Mitwirkung)"


def build_export(
    items: list[ExportItem],
    header: ExportHeader,
    target: Path,
    requests: Sequence[RequestRecord] = (),
) -> ExportResult:
    """Write the Aktenauszug of `items` (in this order) to `target`, with the section on
    `requests` after the contents when there are any; see the module docstring."""
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
    toc_pages = _paginate(_toc_rows(items, fonts, with_history=bool(requests)))
    history = _paginate_blocks(_history_blocks(requests, items, fonts)) if requests else []
    front = 1 + len(toc_pages) + len(history)  # cover, contents, requests
    ends = list(accumulate(counts, initial=front))
    ranges = [(before + 1, last) for before, last in pairwise(ends)]
    total = ends[-1]
    layout = _Layout(toc_pages, history, ranges)

    target = Path(target)
    # Written next to the target and renamed: no half-written export under the target's name.
    scratch = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    try:
        with joined_pages(sources, scratch) as pdf:
            _assemble(pdf, items, header, counts, layout, fonts)
            save_pdfa(pdf, scratch)
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    contents = [
        (item.document_id, first, last) for item, (first, last) in zip(items, ranges, strict=True)
    ]
    return ExportResult(
        pages=total,
        sha256=_sha256(target),
        contents=contents,
        requests_pages=layout.history_range,
    )


@dataclass(frozen=True)
class _Layout:
    """Where everything goes: the contents' pages (their rows), the request section's pages
    (their blocks) and each document's sheets."""

    toc_pages: list[list[_Row]]
    history_pages: list[list[_Placed]]
    ranges: list[tuple[int, int]]

    @property
    def history_range(self) -> tuple[int, int] | None:
        if not self.history_pages:
            return None
        first = 2 + len(self.toc_pages)
        return first, first + len(self.history_pages) - 1

    def targets(self) -> list[tuple[int, int]]:
        """The sheets of the contents' rows: the request section first, if any."""
        section = self.history_range
        return ([section] if section else []) + self.ranges


def _assemble(
    pdf: pikepdf.Pdf,
    items: list[ExportItem],
    header: ExportHeader,
    counts: list[int],
    layout: _Layout,
    fonts: _Fonts,
) -> None:
    """Add cover, contents, the request section and placeholders to the joined document
    pages; stamp every page; tag it all (see `_Tagging`)."""
    toc_pages, ranges = layout.toc_pages, layout.ranges
    total = ranges[-1][1]
    front = 1 + len(toc_pages) + len(layout.history_pages)
    fonts.attach(pdf)
    tags = _Tagging(pdf, items, ranges, history=bool(layout.history_pages))
    # Placeholders first (their positions count from the first document page) ...
    placed: list[tuple[pikepdf.Page, Canvas]] = []
    for number, (item, (first, _last)) in enumerate(zip(items, ranges, strict=True), 1):
        if _withheld(item):
            canvas = _placeholder(
                item, number, fonts, tags.section(first, tags.documents[number - 1])
            )
            page = new_page(pdf, (PAGE_W, PAGE_H), canvas, fonts.all)
            pdf.pages.insert(first - front - 1, page)
            placed.append((page, canvas))
    # ... then the cover, the contents and the request section in front of everything (their
    # structure made in that order, which is the reading order); links once all are in place.
    cover = _cover(header, items, counts, layout, fonts, tags.section(1, tags.cover))
    links = []
    toc_canvases = []
    for index, rows in enumerate(toc_pages):
        tagged = tags.section(2 + index, tags.contents)
        canvas, page_links = _toc_page(header, rows, layout.targets(), index, fonts, tagged)
        toc_canvases.append(canvas)
        links.append(page_links)
    history_canvases = []
    first_history = 2 + len(toc_pages)
    for index, blocks in enumerate(layout.history_pages):
        assert tags.history is not None
        tagged = tags.section(first_history + index, tags.history)
        canvas, page_links = _history_page(blocks, index, items, ranges, fonts, tagged)
        history_canvases.append(canvas)
        links.append(page_links)
    for index, canvas in enumerate([cover, *toc_canvases, *history_canvases]):
        pdf.pages.insert(index, new_page(pdf, (PAGE_W, PAGE_H), canvas, fonts.all))
        placed.append((pdf.pages[index], canvas))
    if len(pdf.pages) != total:
        raise RuntimeError(f"export has {len(pdf.pages)} pages, expected {total}")
    for page, canvas in placed:
        tags.tree.bind(page, canvas.owners)
        tags.next_mcid[page.obj.objgen] = len(canvas.owners)
    for index, page_links in enumerate(links):  # contents, then the request section
        if page_links:
            _add_links(pdf, pdf.pages[1 + index], page_links, tags.tree)
    tags.document_pages(items)
    opening = pdf.make_stream(b"q\n")  # one stream, shared by all pages
    for number, page in enumerate(pdf.pages, start=1):
        _stamp(pdf, page, opening, number, total, header.bg_number, fonts, tags)
    fonts.install(pdf)
    _add_outline(pdf, items, ranges, layout.history_range)
    _finish(pdf, header, tags.tree)


class _Tagging:
    """The export's structure (pdf.tags), in reading order: a Sect each for the cover, the
    contents, the request section (if any) and every document (its /T the outline's title).
    Every page's section begins with its "Blatt N" (a P, the number a court cites); then the
    cover's job centre (P), heading (H1) and fields (a Table of row headers and values) and
    note (P); a contents page's heading (H2, on later pages a P) and subheading (P) and the
    entries (a Table with column headers, the sheet numbers a Link to the document); the
    request section's heading (H2, on later pages a P) and note (P), per request a heading
    (H3), its fields (a Table of row headers and values), the headings "Unterlagen" and
    "Verlauf" (H4) with their Tables (column headers, repeated where a table goes on to a new
    page); a withheld document's placeholder (H2, Table, P); a document's page its scan
    (Figure, "Gescannte Seite 2 von 3: Widerspruch vom 01.10.2026") and its text layer (P).
    The footer, rules and the stamp's white boxes are artifacts."""

    def __init__(
        self,
        pdf: pikepdf.Pdf,
        items: list[ExportItem],
        ranges: list[tuple[int, int]],
        *,
        history: bool = False,
    ):
        self.pdf = pdf
        self.tree = tree = StructTree(pdf)
        self.ranges = ranges
        self.cover = tree.add(tree.document, "Sect", title="Deckblatt")
        self.contents = tree.add(tree.document, "Sect", title="Inhaltsverzeichnis")
        self.history = tree.add(tree.document, "Sect", title=HISTORY_TITLE) if history else None
        self.documents = [
            tree.add(tree.document, "Sect", title=_outline_title(number, item, first, last))
            for number, (item, (first, last)) in enumerate(zip(items, ranges, strict=True), 1)
        ]
        self.blatt: dict[int, pikepdf.Object] = {}  # page number -> its "Blatt N" element
        self.next_mcid: dict[tuple[int, int], int] = {}  # page -> its first free MCID

    def section(self, number: int, section: pikepdf.Object) -> tuple[StructTree, pikepdf.Object]:
        """The section page `number` begins in, after its "Blatt N"."""
        self.blatt[number] = self.tree.add(section, "P")
        return self.tree, section

    def document_pages(self, items: list[ExportItem]) -> None:
        """Mark the content of the documents' pages and give each its elements."""
        pages = self.pdf.pages
        for item, (first, last), section in zip(items, self.ranges, self.documents, strict=True):
            if _withheld(item):
                continue
            title = dated_title(item.title, item.date)
            for number in range(first, last + 1):
                page = pages[number - 1]
                self.section(number, section)
                content = tag_page_content(self.pdf, page)
                alt = page_alt(
                    number - first + 1,
                    last - first + 1,
                    title,
                    scanned=not content.visible_text,
                )
                self.tree.page_content(section, page, content, alt)
                self.tree.page_annotations(section, page)
                self.next_mcid[page.obj.objgen] = content.next_mcid


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


def dated_title(title: str, day: date | None) -> str:
    """What a page's figure names: "Bescheid vom 12.11.2026" (type and date), on one line."""
    return one_line(f"{title} vom {german(day)}" if day else title)


def _date_text(value: date | None) -> str:
    return german(value) if value else "o. D."


def _range_text(first: int, last: int) -> str:
    return f"Bl. {first}" if first == last else f"Bl. {first}–{last}"


def _count_text(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _local_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d.%m.%Y, %H:%M Uhr")


# --- pages made here -----------------------------------------------------------------------


def _titled_fields(
    canvas: Canvas,
    fonts: _Fonts,
    y: float,
    title: tuple[str, float, float],
    rows: list[tuple[str, str]],
    section: tuple[StructTree, pikepdf.Object, str],
    *,
    max_lines: int = 4,
) -> float:
    """A sheet's title (text, size, the gap to its rule), a rule, then label-value lines;
    tagged in `section` (the tree, the parent, the title's role)."""
    text, size, gap = title
    tree, parent, role = section
    canvas.text(fonts.bold, size, LEFT, y, text, tree.add(parent, role))
    y -= gap
    canvas.rule(LEFT, RIGHT, y, 0.8)
    return _fields(
        canvas, fonts, y - 30, rows, tree.add(parent, "Table"), tree, max_lines=max_lines
    )


def _fields(
    canvas: Canvas,
    fonts: _Fonts,
    y: float,
    rows: list[tuple[str, str]],
    table: pikepdf.Object,
    tree: StructTree,
    *,
    label_width: float = 130,
    size: float = 10,
    max_lines: int = 4,
) -> float:
    """Label-value lines (values wrapped), a row of `table` each (a row header and its
    value); returns the y below them."""
    leading = size * 1.4
    for label, value in rows:
        lines = fonts.regular.wrap(value, size, RIGHT - LEFT - label_width, max_lines)
        row = tree.add(table, "TR")
        canvas.text(fonts.bold, size, LEFT, y, label, tree.add(row, "TH", scope="Row"))
        cell = tree.add(row, "TD")
        for line in lines:
            canvas.text(fonts.regular, size, LEFT + label_width, y, line, cell)
            y -= leading
        y -= size * 0.6
    return y


def _paragraph(
    canvas: Canvas, font: EmbeddedFont, size: float, y: float, text: str, into: pikepdf.Object
) -> float:
    for line in font.wrap(text, size, RIGHT - LEFT, 12):
        canvas.text(font, size, LEFT, y, line, into)
        y -= size * 1.35
    return y


def _cover(
    header: ExportHeader,
    items: list[ExportItem],
    counts: list[int],
    layout: _Layout,
    fonts: _Fonts,
    tagged: tuple[StructTree, pikepdf.Object],
) -> Canvas:
    canvas = Canvas()
    tree, section = tagged
    total, front = layout.ranges[-1][1], layout.ranges[0][0] - 1
    withheld = sum(1 for item in items if _withheld(item))
    documents = _count_text(len(items), "Dokument", "Dokumente")
    if withheld:
        documents += f", davon {withheld} zurückgehalten"
    contents = _range_text(2, 1 + len(layout.toc_pages))
    history = layout.history_range
    requests = f"Anforderungen von Unterlagen {_range_text(*history)}, " if history else ""
    extent = (
        f"{total} Blatt: Deckblatt Bl. 1, Inhaltsverzeichnis {contents}, {requests}"
        f"Dokumente {_range_text(front + 1, total)}"
    )
    y = TOP
    job_centre = tree.add(section, "P")
    for line in fonts.bold.wrap(header.job_centre, 11, RIGHT - LEFT, 3):
        canvas.text(fonts.bold, 11, LEFT, y, line, job_centre)
        y -= 15
    y -= 30
    y = _titled_fields(
        canvas,
        fonts,
        y,
        ("Aktenauszug", 24, 16),
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
        (tree, section, "H1"),
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
    _paragraph(canvas, fonts.regular, 9, y, note, tree.add(section, "P"))
    return canvas


def _placeholder(
    item: ExportItem, number: int, fonts: _Fonts, tagged: tuple[StructTree, pikepdf.Object]
) -> Canvas:
    canvas = Canvas()
    tree, section = tagged
    y = TOP
    y = _titled_fields(
        canvas,
        fonts,
        y,
        ("Dokument zurückgehalten", 16, 14),
        [
            ("Nr. im Verzeichnis", str(number)),
            ("Bezeichnung", item.title),
            ("Datum", german(item.date) if item.date else "ohne Datum"),
            ("Grund", item.withheld_reason or ""),
        ],
        (tree, section, "H2"),
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
        tree.add(section, "P"),
    )
    return canvas


# --- the request section ------------------------------------------------------------------

HISTORY_SIZE = TOC_SIZE
FIELD_LABEL_WIDTH = 120.0
ITEM_LABEL_WIDTH = 165.0
HISTORY_DATE_WIDTH = 56.0
HEAD_HEIGHT = TOC_LEADING + 6
MAX_HISTORY_LINES = 40  # a cell is cut (with "…") before it outgrows a page
_ITEM_STATUS_X = LEFT + ITEM_LABEL_WIDTH + 8
_EVENT_X = LEFT + HISTORY_DATE_WIDTH + 6
# Per table kind: the x and width of each text column; the sheets ("Blatt") are right-aligned
# at RIGHT and do not change any text's wrapping, so the section's length is known before the
# documents' sheets are.
_COLUMNS: dict[str, tuple[tuple[float, float], ...]] = {
    "fields": (
        (LEFT, FIELD_LABEL_WIDTH - 8),
        (LEFT + FIELD_LABEL_WIDTH, RIGHT - LEFT - FIELD_LABEL_WIDTH),
    ),
    "items": ((LEFT, ITEM_LABEL_WIDTH), (_ITEM_STATUS_X, COL_RANGE - 8 - _ITEM_STATUS_X)),
    "history": ((LEFT, HISTORY_DATE_WIDTH), (_EVENT_X, COL_RANGE - 8 - _EVENT_X)),
}
_HEADS = {"items": ("Unterlage", "Stand", "Blatt"), "history": ("Datum", "Ereignis", "Blatt")}
_HEADING_SIZES = {"H2": 16.0, "H3": 11.0, "H4": 9.5}


@dataclass(frozen=True)
class _Block:
    """A piece of the request section that is not split across pages: a heading (`role` H2,
    H3, H4), a paragraph, a field (label and value) or a table row (`columns` "items" or
    "history"); `cells` are the lines of each column, `refs` the documents whose sheets the
    Blatt column names (the line of the last column they stand on, the document id)."""

    kind: str
    cells: tuple[tuple[str, ...], ...]
    role: str = "P"
    table: str = ""  # fields and rows of one table share it
    columns: str = ""
    refs: tuple[tuple[int, str], ...] = ()

    @property
    def height(self) -> float:
        if self.kind == "heading":
            return _HEADING_SIZES[self.role] + 14
        if self.kind == "paragraph":
            return len(self.cells[0]) * HISTORY_SIZE * 1.35 + 8
        return max(len(cell) for cell in self.cells) * TOC_LEADING + TOC_ROW_GAP

    def heads_after(self, previous: str) -> bool:
        """A row that begins its table on a page repeats the column headers."""
        return self.kind == "row" and self.table != previous


def _history_blocks(
    requests: Sequence[RequestRecord], items: list[ExportItem], fonts: _Fonts
) -> list[_Block]:
    """The request section as blocks, in reading order (see the module docstring)."""
    font, size = fonts.regular, HISTORY_SIZE
    numbers = {item.document_id: (n, item) for n, item in enumerate(items, 1)}

    def wrap(text: str, columns: str, column: int, max_lines: int = MAX_HISTORY_LINES) -> list[str]:
        return font.wrap(text, size, _COLUMNS[columns][column][1], max_lines)

    def reference(document_id: str) -> str:
        found = numbers.get(document_id)
        if found is None:
            return "nicht in diesem Aktenauszug"
        number, item = found
        if _withheld(item):
            # Never its title: the reason it is kept back may be what it is.
            return f"Nr. {number} (zurückgehalten)"
        return f"Nr. {number} {dated_title(item.title, item.date)}"

    def answers(
        first: list[str], documents: Sequence[RequestDocument]
    ) -> tuple[list[str], tuple[tuple[int, str], ...]]:
        lines = list(first)
        refs = []
        for document in documents:
            when = f"am {german(document.received)} " if document.received else ""
            refs.append((len(lines), document.document_id))
            text = f"{when}({document.how}): {reference(document.document_id)}"
            lines += wrap(text, "items", 1)
        return lines, tuple(refs)

    intro = (
        "Aufforderungen zur Mitwirkung (§§ 60, 66 SGB I) an diesen Haushalt: Frist, "
        "Erinnerungen, welche Unterlagen eingegangen sind und welche fehlen, und der Verlauf. "
        "Ein Dokument dieses Aktenauszugs ist mit seiner Nummer im Inhaltsverzeichnis und "
        "seinem Blatt genannt, ein zurückgehaltenes nur als „zurückgehalten“."
    )
    blocks = [
        _Block("heading", ((HISTORY_TITLE,),), role="H2"),
        _Block("paragraph", (tuple(font.wrap(intro, size, RIGHT - LEFT, 12)),)),
    ]
    for request in requests:
        heading = one_line(
            f"Anforderung Nr. {request.number} vom {german(request.dispatch_date)} "
            f"an {request.person}"
        )
        blocks.append(_Block("heading", ((fonts.bold.fit(heading, 11, RIGHT - LEFT),),), "H3"))
        due = german(request.due_on)
        if request.first_due_on is not None and request.first_due_on != request.due_on:
            due += f" (Frist des Schreibens: {german(request.first_due_on)})"
        reminders = [
            f"{german(sent)}, neue Frist {german(new_due)}" for sent, new_due in request.reminders
        ] or ["keine"]
        fields = [
            ("Angeschrieben", [request.person]),
            ("Angefordert von", [request.requester]),
            ("Versandt am", [german(request.dispatch_date)]),
            ("Frist", [due]),
            ("Erinnerungen", reminders),
            ("Stand", [request.state]),
        ]
        table = f"{request.number}-fields"
        for label, values in fields:
            lines = [line for value in values for line in wrap(value, "fields", 1, 6)]
            blocks.append(_Block("field", ((label,), tuple(lines)), table=table, columns="fields"))
        blocks.append(_Block("heading", (("Unterlagen",),), "H4"))
        table = f"{request.number}-items"
        rows = [(entry.label, [entry.status], entry.documents) for entry in request.items]
        if request.unassigned:
            rows.append(("Ohne Zuordnung zu einer Unterlage", ["eingegangen"], request.unassigned))
        refs: tuple[tuple[int, str], ...]
        for label, status, documents in rows:
            lines, refs = answers(status, documents)
            blocks.append(
                _Block(
                    "row",
                    (tuple(wrap(label, "items", 0, 6)), tuple(lines)),
                    table=table,
                    columns="items",
                    refs=refs,
                )
            )
        blocks.append(_Block("heading", (("Verlauf",),), "H4"))
        table = f"{request.number}-history"
        for event in request.history:
            text = event.text
            refs = ()
            if event.document_id is not None:
                text += f": {reference(event.document_id)}"
                refs = ((0, event.document_id),)
            blocks.append(
                _Block(
                    "row",
                    ((_date_text(event.on),), tuple(wrap(text, "history", 1))),
                    table=table,
                    columns="history",
                    refs=refs,
                )
            )
    return blocks


_HISTORY_CONTINUED = TOP - 22  # below "... (Fortsetzung)" on later pages


@dataclass(frozen=True)
class _Placed:
    block: _Block
    top: float  # the y its space begins at
    heads: bool  # the column headers come first (in its space above `top`)


def _paginate_blocks(blocks: list[_Block]) -> list[list[_Placed]]:
    """The blocks on pages; a heading stays with what follows it."""
    pages: list[list[_Placed]] = [[]]
    y, table = TOP + 12, ""
    for index, block in enumerate(blocks):
        heads = block.heads_after(table)
        need = block.height + (HEAD_HEIGHT if heads else 0)
        if block.kind == "heading" and index + 1 < len(blocks):
            following = blocks[index + 1]
            need += following.height + (HEAD_HEIGHT if following.kind == "row" else 0)
        if pages[-1] and y - need < BOTTOM:
            pages.append([])
            y, table = _HISTORY_CONTINUED, ""
            heads = block.heads_after(table)
        if heads:
            y -= HEAD_HEIGHT
        pages[-1].append(_Placed(block, y, heads))
        y -= block.height
        table = block.table
    return pages


def _history_page(
    placed: list[_Placed],
    page_index: int,
    items: list[ExportItem],
    ranges: list[tuple[int, int]],
    fonts: _Fonts,
    tagged: tuple[StructTree, pikepdf.Object],
) -> tuple[Canvas, list[_Link]]:
    """One page of the request section, tagged in the section `tagged` (see `_Tagging`), and
    its links: each sheet number it names leads to that document's first page."""
    canvas = Canvas()
    links: list[_Link] = []
    tree, section = tagged
    regular, bold, size = fonts.regular, fonts.bold, HISTORY_SIZE
    sheets = {item.document_id: (n + 1, ranges[n]) for n, item in enumerate(items)}
    if page_index:
        heading = f"{HISTORY_TITLE} (Fortsetzung)"
        canvas.text(bold, 12, LEFT, TOP, heading, tree.add(section, "P"))
    table: pikepdf.Object | None = None
    table_key = ""
    for entry in placed:
        block, top = entry.block, entry.top
        if block.kind == "heading":
            element = tree.add(section, block.role)
            heading_size = _HEADING_SIZES[block.role]
            canvas.text(
                bold, heading_size, LEFT, top - 6 - heading_size, block.cells[0][0], element
            )
            if block.role == "H2":
                canvas.rule(LEFT, RIGHT, top - heading_size - 11, 0.8)
            continue
        if block.kind == "paragraph":
            element = tree.add(section, "P")
            for offset, line in enumerate(block.cells[0]):
                canvas.text(regular, size, LEFT, top - 9.5 - offset * size * 1.35, line, element)
            continue
        columns = _COLUMNS[block.columns]
        if table is None or block.table != table_key:
            table, table_key = tree.add(section, "Table"), block.table
        if entry.heads:
            heads = tree.add(table, "TR")
            baseline = top + HEAD_HEIGHT - 9.5
            texts = _HEADS[block.columns]
            for (x, _width), text in zip(columns, texts, strict=False):
                canvas.text(bold, size, x, baseline, text, tree.add(heads, "TH", scope="Column"))
            canvas.text_right(
                bold, size, RIGHT, baseline, texts[-1], tree.add(heads, "TH", scope="Column")
            )
            canvas.rule(LEFT, RIGHT, top + 2, 0.6)
        row = tree.add(table, "TR")
        baseline = top - 9.5
        for column, ((x, _width), lines) in enumerate(zip(columns, block.cells, strict=True)):
            if block.kind == "field" and column == 0:
                cell = tree.add(row, "TH", scope="Row")
                font = bold
            else:
                cell, font = tree.add(row, "TD"), regular
            for offset, line in enumerate(lines):
                canvas.text(font, size, x, baseline - offset * TOC_LEADING, line, cell)
        if block.kind == "row":
            cell = tree.add(row, "TD")
            for offset, document_id in block.refs:
                found = sheets.get(document_id)
                if found is None:
                    continue
                number, (first, last) = found
                text = _range_text(first, last)
                y = baseline - offset * TOC_LEADING
                link = tree.add(cell, "Link")
                canvas.text_right(regular, size, RIGHT, y, text, link)
                rect = (RIGHT - regular.width(text, size) - 2, y - 3, RIGHT, y + size)
                links.append(_Link(rect, first, link, f"Nr. {number} im Verzeichnis: {text}"))
            canvas.rule(LEFT, RIGHT, top - block.height + 1, 0.3, 0.7)
    return canvas, links


# --- table of contents ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    index: int  # into the contents' targets (`_Layout.targets`: the request section, items)
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


def _toc_rows(items: list[ExportItem], fonts: _Fonts, *, with_history: bool = False) -> list[_Row]:
    """The contents' rows; with the request section, that comes first (no number, no date)."""
    font, size = fonts.regular, TOC_SIZE
    rows = []
    if with_history:
        title = font.wrap(HISTORY_TITLE, size, TITLE_WIDTH, MAX_CELL_LINES)
        rows.append(_Row(index=0, number="", date="", title=title, sender=[], note=[]))
    shift = len(rows)
    for index, item in enumerate(items):
        withheld = _withheld(item)
        rows.append(
            _Row(
                index=index + shift,
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
    targets: list[tuple[int, int]],
    page_index: int,
    fonts: _Fonts,
    tagged: tuple[StructTree, pikepdf.Object],
) -> tuple[Canvas, list[_Link]]:
    """One page of the contents (its entries a Table in the section `tagged`) and its links."""
    canvas = Canvas()
    tree, section = tagged
    regular, bold, size = fonts.regular, fonts.bold, TOC_SIZE
    if page_index == 0:
        canvas.text(bold, 16, LEFT, TOP, "Inhaltsverzeichnis", tree.add(section, "H2"))
    else:
        heading = "Inhaltsverzeichnis (Fortsetzung)"
        canvas.text(bold, 16, LEFT, TOP, heading, tree.add(section, "P"))
    subheading = regular.fit(
        f"Aktenauszug {header.bg_number} · {header.household_name}", size, RIGHT - LEFT
    )
    canvas.text(regular, size, LEFT, TOP - 17, subheading, tree.add(section, "P"))
    table = tree.add(section, "Table")
    heads = tree.add(table, "TR")

    def head(text: str, x: float, right: bool = False) -> None:
        cell = tree.add(heads, "TH", scope="Column")
        (canvas.text_right if right else canvas.text)(bold, size, x, y, text, cell)

    y = TOP - 40
    head("Nr.", COL_NUMBER_RIGHT, right=True)
    head("Datum", COL_DATE)
    head("Bezeichnung", COL_TITLE)
    head("Absender", COL_SENDER)
    head("Blatt", RIGHT, right=True)
    canvas.rule(LEFT, RIGHT, y - 4, 0.6)
    top = _TOC_FIRST_ROW
    links = []
    for row in rows:
        first, last = targets[row.index]
        baseline = top - 9.5
        cells = tree.add(table, "TR")
        number, day, title, sender, sheets = (tree.add(cells, "TD") for _ in range(5))
        canvas.text_right(regular, size, COL_NUMBER_RIGHT, baseline, row.number, number)
        canvas.text(regular, size, COL_DATE, baseline, row.date, day)
        for offset, line in enumerate(row.title):
            canvas.text(regular, size, COL_TITLE, baseline - offset * TOC_LEADING, line, title)
        note_top = baseline - max(len(row.title), len(row.sender)) * TOC_LEADING
        for offset, line in enumerate(row.note):
            canvas.text(regular, size, COL_TITLE, note_top - offset * TOC_LEADING, line, title)
        for offset, line in enumerate(row.sender):
            canvas.text(regular, size, COL_SENDER, baseline - offset * TOC_LEADING, line, sender)
        link = tree.add(sheets, "Link")
        canvas.text_right(regular, size, RIGHT, baseline, _range_text(first, last), link)
        bottom = top - row.height
        canvas.rule(LEFT, RIGHT, bottom + 1, 0.3, 0.7)
        described = " ".join([row.number, *row.title]).strip() + f": {_range_text(first, last)}"
        links.append(_Link((LEFT, bottom + 1, RIGHT, top), first, link, described))
        top = bottom
    return canvas, links


@dataclass(frozen=True)
class _Link:
    rect: tuple[float, float, float, float]
    target: int  # page number
    element: pikepdf.Object  # its Link element in the structure
    description: str  # the annotation's /Contents


def _add_links(pdf: pikepdf.Pdf, page: pikepdf.Page, links: list[_Link], tree: StructTree) -> None:
    page.obj.Annots = Array()
    for entry in links:
        link = pdf.make_indirect(
            Dictionary(
                Type=Name.Annot,
                Subtype=Name.Link,
                Rect=Array(list(entry.rect)),
                Border=Array([0, 0, 0]),
                F=4,  # print; PDF/A wants it set
                Dest=Array([pdf.pages[entry.target - 1].obj, Name.Fit]),
                Contents=pikepdf.String(entry.description),
            )
        )
        page.obj.Annots.append(link)
        tree.annotation(entry.element, page, link)


def _add_outline(
    pdf: pikepdf.Pdf,
    items: list[ExportItem],
    ranges: list[tuple[int, int]],
    history: tuple[int, int] | None,
) -> None:
    with pdf.open_outline() as outline:
        outline.root.append(OutlineItem("Deckblatt", 0))
        outline.root.append(OutlineItem("Inhaltsverzeichnis", 1))
        if history is not None:
            title = f"{HISTORY_TITLE} ({_range_text(*history)})"
            outline.root.append(OutlineItem(title, history[0] - 1))
        for number, (item, (first, last)) in enumerate(zip(items, ranges, strict=True), 1):
            outline.root.append(OutlineItem(_outline_title(number, item, first, last), first - 1))
    pdf.Root.PageMode = Name.UseOutlines


def _outline_title(number: int, item: ExportItem, first: int, last: int) -> str:
    pages = _range_text(first, last)
    title = f"{number}. {one_line(item.title)}, {_date_text(item.date)} ({pages})"
    return title + " – zurückgehalten" if _withheld(item) else title


def _finish(pdf: pikepdf.Pdf, header: ExportHeader, tree: StructTree) -> None:
    title = one_line(f"Aktenauszug {header.bg_number} – {header.purpose}")
    tree.finish(LANGUAGE)
    declare_pdfa_2(
        pdf, title=title, producer=PRODUCER, created=header.created_at, pdfua=tree.complete
    )


# --- the stamp on every page ---------------------------------------------------------------


def _stamp(
    pdf: pikepdf.Pdf,
    page: pikepdf.Page,
    opening: pikepdf.Stream,
    number: int,
    total: int,
    bg_number: str,
    fonts: _Fonts,
    tags: _Tagging,
) -> None:
    """Overlay "Blatt N" and the footer on `page`; its own content goes inside q (`opening`)
    ... Q, so that whatever graphics state it leaves behind does not reach the stamp. "Blatt N"
    is the page's first element in the structure; the footer and the boxes are artifacts."""
    resources = inherited(page.obj, "/Resources")
    if not isinstance(resources, pikepdf.Dictionary):
        resources = page.obj.Resources = Dictionary()
    regular_key = fonts.regular.resource_key(resources)
    bold_key = fonts.bold.resource_key(resources)
    matrix, width, height = shown_space(page.obj)

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

    n = pdf_number

    def box(x: float, y: float, text_width: float, size: float) -> str:
        pad = STAMP_PAD
        return (
            f"{n(x - pad)} {n(y - 0.24 * size - pad)} "
            f"{n(text_width + 2 * pad)} {n(size * 0.98 + 2 * pad)} re f"
        )

    mcid = tags.next_mcid.get(page.obj.objgen, 0)
    tags.tree.content(tags.blatt[number], page, mcid)
    stamp = "\n".join(
        [
            "Q",  # ends the page's own content, wrapped in q ... Q
            "q",
            matrix,
            "/Artifact BMC",
            "1 g",
            box(blatt_x, blatt_y, blatt_width, blatt_size),
            box(footer_x, footer_y, footer_width, footer_size),
            "0 g",
            "EMC",
            f"/P <</MCID {mcid}>> BDC",
            f"BT /{bold_key} {n(blatt_size)} Tf {n(blatt_x)} {n(blatt_y)} Td "
            f"{fonts.bold.show(blatt)} Tj ET",
            "EMC",
            "/Artifact <</Type /Pagination /Subtype /Footer>> BDC",
            f"BT /{regular_key} {n(footer_size)} Tf {n(footer_x)} {n(footer_y)} Td "
            f"{fonts.regular.show(footer)} Tj ET",
            "EMC",
            "Q",
            "",
        ]
    )
    page.contents_add(opening, prepend=True)
    page.contents_add(pdf.make_stream(stamp.encode("ascii")))


# --- fonts ---------------------------------------------------------------------------------


class _Fonts:
    def __init__(self, regular: FontFace, bold: FontFace) -> None:
        self.regular = EmbeddedFont(regular, "EAkteR")
        self.bold = EmbeddedFont(bold, "EAkteB")
        self.all = (self.regular, self.bold)

    def attach(self, pdf: pikepdf.Pdf) -> None:
        for font in self.all:
            font.attach(pdf)

    def install(self, pdf: pikepdf.Pdf) -> None:
        for font in self.all:
            font.install(pdf)


def _face(name: str) -> FontFace:
    path = FONT_DIR / name
    if not path.is_file():
        raise RuntimeError(f"Schrift {path} fehlt (Debian-Paket fonts-dejavu-core).")
    return font_face(path)
