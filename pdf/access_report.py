"""A report of label-value fields and tables as a tagged PDF/A-2 (level A): the data subject's
access report (Art. 15 DSGVO, § 83 SGB X) of records/privacy.py.

The layout flows: a title (H1) and its fields (a Table of row headers and values), then each
section's heading (H2) with its fields, its paragraph or its table (a Table whose first row
holds the column headers, TH with scope Column). A table that reaches the bottom of a page goes
on with the next one, its column headers drawn again there as an artifact (the structure keeps
one header row). A cell is wrapped within its column. Every page's footer ("Seite N von M") is
an artifact, drawn once the number of pages is known. Nothing of the domain here: the caller
hands in the German text.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pikepdf

from pdf.fonts import EmbeddedFont, dejavu
from pdf.pages import Canvas, new_page
from pdf.pdfa import declare_pdfa_2, save_pdfa
from pdf.tags import StructTree

LANGUAGE = "de-DE"
PAGE_W, PAGE_H = 841.89, 595.276  # A4 landscape: the tables of accesses are wide
LEFT, RIGHT = 56.7, 799.37  # 20 mm and 15 mm margins
TOP, BOTTOM = PAGE_H - 50, 50.0
SIZE = 8.5  # table text
LEADING = 11.0
FIELD_SIZE = 10.0
LABEL_WIDTH = 150.0
MAX_CELL_LINES = 12


@dataclass(frozen=True)
class Table:
    """Columns (header, share of the width) and rows of cell texts; `empty` when none."""

    columns: Sequence[tuple[str, float]]
    rows: Sequence[Sequence[str]]
    empty: str = "Keine Einträge."


@dataclass(frozen=True)
class Section:
    heading: str
    fields: Sequence[tuple[str, str]] = ()
    text: str = ""
    table: Table | None = None


@dataclass(frozen=True)
class Report:
    title: str
    fields: Sequence[tuple[str, str]]
    sections: Sequence[Section]
    footer: str  # before "· Seite N von M"
    producer: str
    created_at: datetime
    intro: str = ""


class _Layout:
    """The pages as they are drawn: a canvas each, and where the next line goes."""

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.regular = EmbeddedFont(dejavu("DejaVuSans.ttf"), "EAkteR")
        self.bold = EmbeddedFont(dejavu("DejaVuSans-Bold.ttf"), "EAkteB")
        for font in (self.regular, self.bold):
            font.attach(pdf)
        self.tree = StructTree(pdf)
        self.canvases: list[Canvas] = [Canvas()]
        self.y = TOP

    @property
    def canvas(self) -> Canvas:
        return self.canvases[-1]

    def room(self, height: float) -> bool:
        """Make room for `height` below the current line (a new page if need be); True if a
        new page was begun."""
        if self.y - height >= BOTTOM:
            return False
        self.canvases.append(Canvas())
        self.y = TOP
        return True

    def heading(self, text: str, size: float, role: str) -> None:
        self.room(size * 3)
        self.canvas.text(
            self.bold, size, LEFT, self.y, text, self.tree.add(self.tree.document, role)
        )
        self.y -= size * 0.6
        self.canvas.rule(LEFT, RIGHT, self.y, 0.6)
        self.y -= size * 1.6

    def paragraph(self, text: str, size: float = 9.0) -> None:
        element = self.tree.add(self.tree.document, "P")
        for line in self.regular.wrap(text, size, RIGHT - LEFT, 40):
            self.room(size * 1.4)
            self.canvas.text(self.regular, size, LEFT, self.y, line, element)
            self.y -= size * 1.4
        self.y -= size * 0.8

    def fields(self, rows: Sequence[tuple[str, str]]) -> None:
        if not rows:
            return
        table = self.tree.add(self.tree.document, "Table")
        size, leading = FIELD_SIZE, FIELD_SIZE * 1.4
        for label, value in rows:
            lines = self.regular.wrap(value, size, RIGHT - LEFT - LABEL_WIDTH, MAX_CELL_LINES)
            self.room(leading * len(lines))
            row = self.tree.add(table, "TR")
            header = self.tree.add(row, "TH", scope="Row")
            self.canvas.text(self.bold, size, LEFT, self.y, label, header)
            cell = self.tree.add(row, "TD")
            for line in lines:
                self.canvas.text(self.regular, size, LEFT + LABEL_WIDTH, self.y, line, cell)
                self.y -= leading
            self.y -= size * 0.5
        self.y -= 6

    def table(self, table: Table) -> None:
        if not table.rows:
            self.paragraph(table.empty)
            return
        total = sum(share for _, share in table.columns) or 1
        widths = [(RIGHT - LEFT) * share / total for _, share in table.columns]
        xs = [LEFT + sum(widths[:i]) for i in range(len(widths))]
        element = self.tree.add(self.tree.document, "Table")
        heads = self.tree.add(element, "TR")
        self.room(LEADING * 3)
        self._column_heads(
            table, xs, widths, [self.tree.add(heads, "TH", scope="Column") for _ in xs]
        )
        for cells in table.rows:
            wrapped = [
                self.regular.wrap(text, SIZE, width - 6, MAX_CELL_LINES)
                for text, width in zip(cells, widths, strict=True)
            ]
            height = max(len(lines) for lines in wrapped) * LEADING + 4
            if self.room(height):
                self._column_heads(table, xs, widths, None)
            row = self.tree.add(element, "TR")
            for lines, x in zip(wrapped, xs, strict=True):
                cell = self.tree.add(row, "TD")
                for offset, line in enumerate(lines):
                    self.canvas.text(self.regular, SIZE, x, self.y - offset * LEADING, line, cell)
            self.y -= height
            self.canvas.rule(LEFT, RIGHT, self.y + LEADING - 2, 0.3, 0.7)
        self.y -= 10

    def _column_heads(
        self,
        table: Table,
        xs: list[float],
        widths: list[float],
        cells: list[pikepdf.Object] | None,
    ) -> None:
        """The column headers: tagged the first time, an artifact on later pages."""
        lines = 1
        for index, ((text, _), x, width) in enumerate(zip(table.columns, xs, widths, strict=True)):
            wrapped = self.bold.wrap(text, SIZE, width - 6, 3)
            lines = max(lines, len(wrapped))
            into = cells[index] if cells is not None else None
            for offset, line in enumerate(wrapped):
                self.canvas.text(self.bold, SIZE, x, self.y - offset * LEADING, line, into)
        self.y -= lines * LEADING - LEADING + 4
        self.canvas.rule(LEFT, RIGHT, self.y, 0.6)
        self.y -= LEADING


def build_report(report: Report) -> bytes:
    """The report as PDF/A-2a bytes (the same report giving the same bytes)."""
    with pikepdf.new() as pdf:
        layout = _Layout(pdf)
        layout.heading(report.title, 16, "H1")
        layout.fields(report.fields)
        if report.intro:
            layout.paragraph(report.intro)
        for section in report.sections:
            layout.y -= 8
            layout.heading(section.heading, 12, "H2")
            layout.fields(section.fields)
            if section.text:
                layout.paragraph(section.text)
            if section.table is not None:
                layout.table(section.table)
        fonts = (layout.regular, layout.bold)
        total = len(layout.canvases)
        for number, canvas in enumerate(layout.canvases, start=1):
            footer = f"{report.footer} · Seite {number} von {total}"
            canvas.text(
                layout.regular, 7.5, LEFT, 30, layout.regular.fit(footer, 7.5, RIGHT - LEFT)
            )
            page = new_page(pdf, (PAGE_W, PAGE_H), canvas, fonts)
            pdf.pages.append(page)
            layout.tree.bind(pdf.pages[-1], canvas.owners)
        for font in fonts:
            font.install(pdf)
        layout.tree.finish(LANGUAGE)
        declare_pdfa_2(
            pdf,
            title=report.title,
            producer=report.producer,
            created=report.created_at,
            pdfua=layout.tree.complete,
        )
        out = io.BytesIO()
        save_pdfa(pdf, out)
        return out.getvalue()
