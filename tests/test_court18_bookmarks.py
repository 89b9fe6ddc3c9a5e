"""The single PDF (Aktenauszug) keeps bookmarks that mirror its table of contents (issue 18):
one per document, in the order of the contents, with the entry's number, title, date and
sheets, pointing to the document's first page, the page the contents' link goes to too."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pikepdf

from records.aktenauszug import ExportItem, build_export
from tests.support import Sheet, page_texts, scan_pdf
from tests.support_pdf import HEADER, REASON

ENTRY = re.compile(
    r"^(\d+)\. (.+), (\d\d\.\d\d\.\d{4}|o\. D\.) \((Bl\. [\d–]+)\)( – zurückgehalten)?$"
)


def test_bookmarks_mirror_the_contents_over_several_contents_pages(tmp_path: Path) -> None:
    one = scan_pdf(tmp_path / "one.pdf", [Sheet("Einzelblatt")], dpi=10)
    two = scan_pdf(tmp_path / "two.pdf", [Sheet("Blatt eins"), Sheet("Blatt zwei")], dpi=10)
    items = [
        ExportItem(
            f"doc-{n}",
            f"Schreiben Nr. {n}",
            date(2026, 1, 1 + n % 28) if n % 7 else None,
            "Absender",
            two if n % 5 == 0 else one,
        )
        for n in range(1, 46)
    ]
    items[12] = replace(items[12], pdf=None, withheld_reason=REASON)
    target = tmp_path / "auszug.pdf"
    result = build_export(items, HEADER, target)
    first_pages = {document_id: first for document_id, first, _ in result.contents}

    with pikepdf.open(target) as pdf:
        numbers = {page.obj.objgen: n for n, page in enumerate(pdf.pages, start=1)}
        with pdf.open_outline() as outline:
            marks = [(item.title, numbers[item.destination[0].objgen]) for item in outline.root]
        contents_pages = [
            n
            for n, page in enumerate(pdf.pages, start=1)
            if "/Annots" in page.obj and n > 1 and n < first_pages["doc-1"]
        ]
        links = [
            numbers[link.Dest[0].objgen]
            for n in contents_pages
            for link in pdf.pages[n - 1].obj.Annots
        ]
    assert len(contents_pages) >= 2  # the contents span pages: order across them counts
    assert marks[:2] == [("Deckblatt", 1), ("Inhaltsverzeichnis", 2)]
    documents = marks[2:]
    assert len(documents) == len(items)
    # Each bookmark goes where the document begins and where the contents' link goes.
    assert [page for _, page in documents] == [first_pages[item.document_id] for item in items]
    assert [page for _, page in documents] == links

    texts = page_texts(target, "-layout")
    contents = "\n".join(texts[n - 1] for n in contents_pages)
    lines = [" ".join(line.split()) for line in contents.splitlines() if line.strip()]
    position = 0
    for (title, _page), item in zip(documents, items, strict=True):
        found = ENTRY.match(title)
        assert found, title
        number, name, day, sheets, held = found.groups()
        assert name == item.title and bool(held) == (item.withheld_reason is not None)
        # The same entry in the contents, after the one before: number, date, title, sheets.
        row = next(
            index
            for index in range(position, len(lines))
            if lines[index].startswith(f"{number}. {day} {name}")
        )
        assert sheets in lines[row], lines[row]
        position = row + 1
