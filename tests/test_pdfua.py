"""Tagged PDFs (issue 15, BITV 2.0 / EN 301 549 10.x for documents): the document renditions
(ingest/archive_pdf.py) and the Aktenauszug (records/aktenauszug.py) carry a structure tree that
screen readers follow, and their text layers read as before.

poppler's `pdfinfo -struct-text` prints the structure with the text of every element (as a
screen reader gets it); pikepdf reads the alternative texts, the parent tree and the marked
content; `pdftotext` shows that text extraction (search, copy) is unchanged. Given
EAKTE_VERAPDF (scripts/test.sh), veraPDF checks PDF/A-2b and PDF/UA-1 (`--flavour ua1`): no
rule fails, for the scans' OCR layer as well (the slow test OCRs real sample scans).
"""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pikepdf
import pytest

from ingest.archive_pdf import write_pdfa
from pdf.tags import tag_page_content
from records.aktenauszug import ExportItem, build_export
from tests.support import Sheet, page_texts, scan_pdf
from tests.support_pdf import HEADER, REASON, SCANS, failed_rules, ocr_page, verapdf

CREATED = datetime(2026, 12, 2, 8, 15, tzinfo=UTC)
TITLE = "Widerspruch Schmitt.pdf"
SHEETS = [
    Sheet("Widerspruch gegen den Bescheid"),
    Sheet("Begruendung auf Seite zwei", rotate=90),
    Sheet("Anlage Mietvertrag", size=(420.0, 298.0)),
]
# Marked content that draws: text objects, images and paths must each be inside a sequence
# with an MCID (real content) or an /Artifact (PDF/UA 7.1).
_DRAWING = {"BT", "Do", "INLINE IMAGE", "S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh"}


@pytest.fixture(scope="module")
def singles(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    work = tmp_path_factory.mktemp("pages")
    return [scan_pdf(work / f"page-{n}.pdf", [sheet]) for n, sheet in enumerate(SHEETS, 1)]


@pytest.fixture(scope="module")
def rendition(singles: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("rendition") / "document.pdf"
    write_pdfa(singles, target, title=TITLE, created=CREATED)
    return target


@pytest.fixture(scope="module")
def export(rendition: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export of a tagged rendition, a withheld document and an untagged one (a rendition
    written before renditions were tagged, as the case files hold them)."""
    work = tmp_path_factory.mktemp("export")
    legacy = scan_pdf(work / "legacy.pdf", [Sheet("Lohnabrechnung Oktober"), Sheet("Seite zwei")])
    items = [
        ExportItem("a", "Widerspruch", date(2026, 12, 2), "Schmitt, Nadine", rendition),
        ExportItem("x", "Hinweis eines Dritten", None, "Nachbarin", None, REASON),
        ExportItem("b", "Verdienstabrechnung", None, "Reinigung Yılmaz", legacy),
    ]
    target = work / "auszug.pdf"
    build_export(items, HEADER, target)
    return target


def struct_text(pdf: Path) -> list[str]:
    """The structure tree as poppler prints it, one stripped line per entry."""
    result = subprocess.run(["pdfinfo", "-struct-text", str(pdf)], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # poppler prints an element's /T as the bytes it is stored in (here PDFDocEncoding).
    text = result.stdout.decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def marked_content(pdf: pikepdf.Pdf) -> dict[tuple[int, int], str]:
    """(page number, MCID) -> the tag of every marked-content sequence with an MCID; asserts
    that everything a page draws is in such a sequence or in an /Artifact."""
    found = {}
    for number, page in enumerate(pdf.pages, start=1):
        stack: list[tuple[str, int | None]] = []
        for instruction in pikepdf.parse_content_stream(page):
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                op = "INLINE IMAGE"
            else:
                op = str(instruction.operator)
            if op in ("BMC", "BDC"):
                tag = str(instruction.operands[0])[1:]
                props = instruction.operands[1] if op == "BDC" else None
                mcid = props.get("/MCID") if isinstance(props, pikepdf.Dictionary) else None
                stack.append((tag, int(mcid) if mcid is not None else None))
                if mcid is not None:
                    found[(number, int(mcid))] = tag
            elif op == "EMC":
                stack.pop()
            elif op in _DRAWING:
                assert any(mcid is not None or tag == "Artifact" for tag, mcid in stack), (
                    f"page {number}: {op} outside tagged content and artifacts"
                )
        assert not stack, f"page {number}: marked content left open"
    return found


def elements(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """All structure elements, in reading order (depth first)."""
    out = []

    def walk(node: pikepdf.Object) -> None:
        kids = node.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/StructElem":
                out.append(kid)
                walk(kid)

    walk(pdf.Root.StructTreeRoot)
    return out


def check_tree(pdf: pikepdf.Pdf) -> None:
    """Every MCID on a page belongs to exactly one element, the parent tree leads back to it,
    and each annotation of the tree is an OBJR of its element."""
    content = marked_content(pdf)
    numbers = {page.obj.objgen: n for n, page in enumerate(pdf.pages, start=1)}
    parents = dict(zip(*[iter(pdf.Root.StructTreeRoot.ParentTree.Nums)] * 2, strict=True))
    owned = {}
    for element in elements(pdf):
        for kid in element.K:
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                key = (numbers[kid.Pg.objgen], int(kid.MCID))
                assert key not in owned, key
                owned[key] = element
                page = pdf.pages[key[0] - 1]
                assert parents[page.obj.StructParents][key[1]].objgen == element.objgen
                assert content[key] == str(element.S)[1:] or element.S == "/Link"
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                assert parents[kid.Obj.StructParent].objgen == element.objgen
    assert set(owned) == set(content)
    assert pdf.Root.StructTreeRoot.ParentTreeNextKey == len(parents)


def check_catalog(pdf: pikepdf.Pdf, title: str) -> None:
    assert pdf.Root.MarkInfo.Marked is True
    assert str(pdf.Root.Lang) == "de-DE"
    assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
    meta = pdf.open_metadata()
    assert meta["dc:title"] == title
    assert meta["pdfuaid:part"] == "1"
    assert meta.pdfa_status == "2A"  # tagged throughout: PDF/A-2a (issue 15)


# --- the document rendition ----------------------------------------------------------------


def test_rendition_has_a_figure_with_alt_text_and_the_text_layer_per_page(rendition: Path) -> None:
    with pikepdf.open(rendition) as pdf:
        check_catalog(pdf, TITLE)
        check_tree(pdf)
        figures = [e for e in elements(pdf) if e.S == "/Figure"]
        assert [str(f.Alt) for f in figures] == [
            f"Gescannte Seite {n} von 3: {TITLE}" for n in (1, 2, 3)
        ]
        for number, (figure, page) in enumerate(zip(figures, pdf.pages, strict=True), 1):
            (mcr,) = figure.K
            assert mcr.Pg.objgen == page.obj.objgen, number
    # What a screen reader gets: per page the figure, then the page's OCR text as a paragraph.
    assert struct_text(rendition) == [
        "Document",
        *[line for s in SHEETS for line in ("Figure", '""', "P (block)", f'"{s.text}"')],
    ]


def test_rendition_text_extraction_is_unchanged(rendition: Path, singles: list[Path]) -> None:
    assert page_texts(rendition) == [text for page in singles for text in page_texts(page)]
    assert page_texts(rendition, "-layout") == [
        text for page in singles for text in page_texts(page, "-layout")
    ]
    with pikepdf.open(rendition) as pdf:
        tags = marked_content(pdf)
    assert tags == {(n, mcid): tag for n in (1, 2, 3) for mcid, tag in enumerate(("Figure", "P"))}


def test_rendition_links_of_a_born_digital_page_are_tagged(tmp_path: Path) -> None:
    """A letter's own link annotation (a born-digital page) becomes a Link with a description."""
    page = scan_pdf(tmp_path / "letter.pdf", [Sheet("Siehe Anlage")])
    with pikepdf.open(page, allow_overwriting_input=True) as pdf:
        link = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot,
                Subtype=pikepdf.Name.Link,
                Rect=[40, 40, 200, 60],
                F=4,
                A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://ex.org")),
            )
        )
        pdf.pages[0].obj.Annots = pikepdf.Array([link])
        pdf.save(page)
    target = tmp_path / "document.pdf"
    write_pdfa([page], target, title="Brief", created=CREATED)
    with pikepdf.open(target) as pdf:
        check_tree(pdf)
        (annotation,) = pdf.pages[0].Annots
        assert str(annotation.Contents) == "Verweis im Dokument"
        assert pdf.pages[0].obj.Tabs == "/S"
        (element,) = [e for e in elements(pdf) if e.S == "/Link"]
        assert element.K[0].Obj.objgen == annotation.objgen


def test_marking_a_page_leaves_its_drawing_and_its_own_marks_as_they_are(tmp_path: Path) -> None:
    """A page as a born-digital letter may bring it: its own artifact and optional content,
    saved graphics states, an image, a form with text, an inline image, a filled path. Each
    drawing gets marked within the page's own nesting; marking it again changes nothing."""
    path = tmp_path / "page.pdf"
    with pikepdf.new() as pdf:
        font = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
            )
        )
        image = pdf.make_stream(
            b"\x80",
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=1,
            Height=1,
            BitsPerComponent=8,
            ColorSpace=pikepdf.Name.DeviceGray,
        )
        form = pdf.make_stream(
            b"BT /F1 10 Tf 20 40 Td (Formulartext) Tj ET",
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Form,
            BBox=[0, 0, 300, 300],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        )
        layer = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.OCG, Name="Ebene"))
        content = b"""/Artifact BMC 0 0 m 10 10 l S EMC
/OC /oc1 BDC BT /F1 12 Tf 20 200 Td (Hallo Welt) Tj ET EMC
q 50 0 0 50 20 100 cm /Im1 Do Q
q /Fm1 Do Q
q 10 0 0 10 0 0 cm BI /W 1 /H 1 /BPC 8 /CS /G ID \x40 EI Q
0 0 10 10 re f
"""
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 300, 300],
            Contents=pdf.make_stream(content),
            Resources=pikepdf.Dictionary(
                Font=pikepdf.Dictionary(F1=font),
                XObject=pikepdf.Dictionary(Im1=image, Fm1=form),
                Properties=pikepdf.Dictionary(oc1=layer),
            ),
        )
        pdf.pages.append(pikepdf.Page(pdf.make_indirect(page)))
        pdf.save(path)
    before = page_texts(path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        found = tag_page_content(pdf, pdf.pages[0])
        assert found.groups == [("P", [0, 2]), ("Figure", [1, 3])]
        assert found.next_mcid == 4 and found.visible_text and not found.scanned
        pdf.save(path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        assert marked_content(pdf) == {(1, 0): "P", (1, 1): "Figure", (1, 2): "P", (1, 3): "Figure"}
        marked = pdf.pages[0].obj.Contents.read_bytes()
        again = tag_page_content(pdf, pdf.pages[0])
        assert again.groups == found.groups
        assert pdf.pages[0].obj.Contents.read_bytes() == marked
        assert b"/OC /oc1 BDC\n/P << /MCID 0 >> BDC\nBT" in marked
    assert page_texts(path) == before


def test_unreadable_page_content_is_left_alone_and_no_pdfua_is_claimed(
    tmp_path: Path, singles: list[Path]
) -> None:
    broken = tmp_path / "broken.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(595, 842))
        content = pdf.make_stream(b"not deflated at all", Filter=pikepdf.Name.FlateDecode)
        pdf.pages[0].obj.Contents = content
        pdf.save(broken)
    target = tmp_path / "document.pdf"
    write_pdfa([singles[0], broken], target, title=TITLE, created=CREATED)
    with pikepdf.open(target) as pdf:
        assert pdf.pages[1].obj.Contents.read_raw_bytes() == b"not deflated at all"
        assert [str(e.Alt) for e in elements(pdf) if e.S == "/Figure"] == [
            f"Gescannte Seite 1 von 2: {TITLE}"
        ]
        meta = pdf.open_metadata()
        assert "pdfuaid:part" not in meta and meta.pdfa_status == "2B"
    tagged = tmp_path / "tagged.pdf"
    write_pdfa([singles[0]], tagged, title=TITLE, created=CREATED)
    with pikepdf.open(tagged) as pdf:
        assert pdf.open_metadata()["pdfuaid:part"] == "1"


# --- the Aktenauszug -----------------------------------------------------------------------


def test_export_structure_reads_as_printed(export: Path) -> None:
    lines = struct_text(export)
    document = lines.index('Sect "1. Widerspruch, 02.12.2026 (Bl. 3\ufffd5)"')
    assert lines[:8] == [
        "Document",
        'Sect "Deckblatt"',
        "P (block)",
        '"Blatt 1"',
        "P (block)",
        '"Jobcenter Kiel"',
        "H1 (block)",
        '"Aktenauszug"',
    ]
    cover = lines[: lines.index('Sect "Inhaltsverzeichnis"')]
    start = cover.index('"Bedarfsgemeinschaft"')
    assert cover[start - 3 : start + 3] == [
        "TR",
        "TH:",
        "/Scope /Row",
        '"Bedarfsgemeinschaft"',
        "TD",
        f'"{HEADER.bg_number}"',
    ]
    contents = lines[len(cover) : document]
    assert contents[:6] == [
        'Sect "Inhaltsverzeichnis"',
        "P (block)",
        '"Blatt 2"',
        "H2 (block)",
        '"Inhaltsverzeichnis"',
        "P (block)",
    ]
    heads = [contents[i + 2] for i, line in enumerate(contents) if line == "TH:"]
    assert heads == ['"Nr."', '"Datum"', '"Bezeichnung"', '"Absender"', '"Blatt"']
    assert [contents[i + 1] for i, line in enumerate(contents) if line == "Link (inline)"] == [
        '"Bl. 3–5"',
        '"Bl. 6"',
        '"Bl. 7–8"',
    ]
    assert '"zurückgehalten: Schutz Dritter (§ 25 Abs. 3 SGB X)"' in contents
    first = lines[document : document + 5]
    assert first == [
        'Sect "1. Widerspruch, 02.12.2026 (Bl. 3\ufffd5)"',
        "P (block)",
        '"Blatt 3"',
        "Figure",
        '""',
    ]
    withheld = lines[lines.index('"Blatt 6"') : lines.index('"Blatt 7"')]
    assert withheld[1:3] == ["H2 (block)", '"Dokument zurückgehalten"']
    # The footer is an artifact: printed (pdftotext) but not read as content.
    assert not any("Seite 1 von" in line for line in lines)
    assert "Aktenauszug 95401BG0012345 · Seite 1 von 8" in page_texts(export)[0]
    assert not any("Nachbarin" in line for line in lines)


def test_export_figures_alt_texts_links_and_catalog(export: Path) -> None:
    with pikepdf.open(export) as pdf:
        check_catalog(pdf, f"Aktenauszug {HEADER.bg_number} – Akteneinsicht (§ 25 SGB X)")
        check_tree(pdf)
        figures = [e for e in elements(pdf) if e.S == "/Figure"]
        assert [str(f.Alt) for f in figures] == [
            "Gescannte Seite 1 von 3: Widerspruch vom 02.12.2026",
            "Gescannte Seite 2 von 3: Widerspruch vom 02.12.2026",
            "Gescannte Seite 3 von 3: Widerspruch vom 02.12.2026",
            "Gescannte Seite 1 von 2: Verdienstabrechnung",
            "Gescannte Seite 2 von 2: Verdienstabrechnung",
        ]
        numbers = {page.obj.objgen: n for n, page in enumerate(pdf.pages, start=1)}
        assert [numbers[f.K[0].Pg.objgen] for f in figures] == [3, 4, 5, 7, 8]
        sections = [e for e in elements(pdf) if e.S == "/Sect"]
        with pdf.open_outline() as outline:
            assert [str(s.T) for s in sections] == [item.title for item in outline.root]
        contents_page = pdf.pages[1]
        assert contents_page.obj.Tabs == "/S"
        descriptions = [str(link.Contents) for link in contents_page.Annots]
        assert descriptions == [
            "1. Widerspruch: Bl. 3–5",
            "2. Hinweis eines Dritten: Bl. 6",
            "3. Verdienstabrechnung: Bl. 7–8",
        ]


def test_export_keeps_the_documents_text_layers_as_tagged_text(
    export: Path, singles: list[Path]
) -> None:
    """The text layers of tagged and of untagged renditions extract as before, and each is a P
    of its page next to the scan's Figure and the stamp's "Blatt N" (a P as well)."""
    texts = page_texts(export)
    for number, page in zip((3, 4, 5), singles, strict=True):
        (own,) = page_texts(page)
        assert own.strip() and own.strip() in texts[number - 1]
    assert "Lohnabrechnung Oktober" in texts[6] and "Seite zwei" in texts[7]
    with pikepdf.open(export) as pdf:
        tags = marked_content(pdf)
    for number in (3, 4, 5, 7, 8):
        on_page = sorted(tag for (page, _), tag in tags.items() if page == number)
        assert on_page == ["Figure", "P", "P"], number


# --- veraPDF -------------------------------------------------------------------------------


def test_verapdf_pdfa_2b_and_pdfua_1(rendition: Path, export: Path) -> None:
    for flavour in ("2b", "ua1"):
        verdicts = failed_rules(flavour, rendition, export)
        assert verdicts == {rendition.resolve(): [], export.resolve(): []}, flavour


@pytest.mark.slow
def test_verapdf_pdfua_1_on_ocr_scans(tmp_path: Path) -> None:
    """tesseract's pages (JPEG and CCITT G4 scans, GlyphLessFont text layers): PDF/UA-1 and
    PDF/A-2b hold for the rendition and the export; the untagged tesseract page, the control,
    fails UA-1 (no structure), or the check would prove nothing."""

    verapdf()
    pages = [ocr_page(scan, tmp_path) for scan in SCANS]
    rendition = tmp_path / "document.pdf"
    write_pdfa(pages, rendition, title="Scan 0003.pdf", created=CREATED)
    export = tmp_path / "auszug.pdf"
    item = ExportItem("a", "Widerspruch", date(2026, 12, 2), "Schmitt, Nadine", rendition)
    build_export([item], HEADER, export)
    assert page_texts(rendition) == [text for page in pages for text in page_texts(page)]
    for flavour in ("2b", "ua1"):
        verdicts = failed_rules(flavour, rendition, export, pages[0])
        assert verdicts[rendition.resolve()] == [], flavour
        assert verdicts[export.resolve()] == [], flavour
        if flavour == "ua1":
            assert verdicts[pages[0].resolve()], "the untagged control page passed PDF/UA-1"
