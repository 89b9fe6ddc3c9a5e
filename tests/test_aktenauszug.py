"""The file export (Aktenauszug, records/aktenauszug.py).

The documents are built the way the renditions look (tests/support.py, scan_pdf): per page a
JPEG scan (Pillow) and an invisible text layer, some pages turned (/Rotate), cropped or of
another size. poppler's pdftotext, pdftoppm and pdffonts judge the result. Given EAKTE_VERAPDF
(scripts/test.sh), veraPDF checks that an export of PDF/A-2b renditions is PDF/A-2b itself.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree

import pikepdf
import pytest
from PIL import Image

from ingest.archive_pdf import write_pdfa
from records.aktenauszug import ExportItem, ExportResult, build_export
from tests.support import Sheet, page_texts, scan_pdf
from tests.support_pdf import BG, HEADER, REASON, failed_rules, verapdf

TIMEOUT = 60


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    return result


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[ExportItem]:
    work = tmp_path_factory.mktemp("documents")
    one = scan_pdf(work / "widerspruch.pdf", [Sheet("Widerspruch gegen den Bescheid")])
    two = scan_pdf(
        work / "lohn.pdf",
        [Sheet("Lohnabrechnung Oktober Seite eins"), Sheet("Lohnabrechnung Oktober Seite zwei")],
    )
    turned = scan_pdf(work / "miete.pdf", [Sheet("Mietvertrag quer gescannt", rotate=90)])
    mixed = scan_pdf(
        work / "konto.pdf",
        [
            # A5 landscape, its MediaBox off the origin and cropped.
            Sheet(
                "Kontoauszug kleine Seite",
                size=(595.0, 420.0),
                origin=(-100.0, 50.0),
                crop=(-80.0, 60.0, 480.0, 450.0),
            ),
            Sheet("Kontoauszug Letter kopfstehend", size=(612.0, 792.0), rotate=180),
            Sheet("Kontoauszug Anlage gedreht", rotate=270),
        ],
    )
    return [
        ExportItem("doc-1", "Widerspruch", date(2026, 10, 1), "Müller, Jürgen", one),
        ExportItem("doc-2", "Verdienstabrechnung", date(2026, 10, 5), "Reinigung Yılmaz", two),
        ExportItem(
            "doc-3", "Hinweis eines Dritten", date(2026, 10, 7), "Nachbarin Geheim", None, REASON
        ),
        ExportItem("doc-4", "Mietvertrag", None, "Wiśniewski, Łukasz", turned),
        ExportItem("doc-5", "Kontoauszüge", date(2026, 10, 9), None, mixed),
    ]


# cover + contents + 1 + 2 pages + 1 placeholder + 1 + 3 pages
PAGES = 1 + 1 + 1 + 2 + 1 + 1 + 3
CONTENTS = [
    ("doc-1", 3, 3),
    ("doc-2", 4, 5),
    ("doc-3", 6, 6),
    ("doc-4", 7, 7),
    ("doc-5", 8, 10),
]


Exported = tuple[ExportResult, Path]


@pytest.fixture(scope="module")
def exported(
    items: list[ExportItem], tmp_path_factory: pytest.TempPathFactory
) -> tuple[ExportResult, Path]:
    target = tmp_path_factory.mktemp("export") / "auszug.pdf"
    return build_export(items, HEADER, target), target


def test_pages_contents_and_hash(exported: Exported) -> None:
    result, target = exported
    assert result.pages == PAGES
    assert result.contents == CONTENTS
    assert result.sha256 == sha256(target)
    info = run(["pdfinfo", str(target)]).stdout
    assert re.search(rf"^Pages:\s+{PAGES}$", info, re.M)
    assert not list(target.parent.glob(".*.part"))  # no scratch file left behind


def test_every_page_is_stamped_in_order(exported: Exported) -> None:
    _, target = exported
    texts = page_texts(target)
    assert len(texts) == PAGES
    for number, text in enumerate(texts, start=1):
        assert re.findall(r"Blatt (\d+)", text) == [str(number)], text
        assert f"Aktenauszug {BG} · Seite {number} von {PAGES}" in text


def test_text_layers_stay_on_their_pages(exported: Exported) -> None:
    _, target = exported
    texts = page_texts(target)
    expected = {
        3: "Widerspruch gegen den Bescheid",
        4: "Lohnabrechnung Oktober Seite eins",
        5: "Lohnabrechnung Oktober Seite zwei",
        7: "Mietvertrag quer gescannt",
        8: "Kontoauszug kleine Seite",
        9: "Kontoauszug Letter kopfstehend",
        10: "Kontoauszug Anlage gedreht",
    }
    for number, text in expected.items():
        assert text in texts[number - 1]


def test_cover_page(exported: Exported) -> None:
    _, target = exported
    cover = " ".join(page_texts(target, "-layout")[0].split())
    for text in (
        "Jobcenter Kiel",
        "Aktenauszug",
        f"Bedarfsgemeinschaft {BG}",
        "Haushalt Kowalski, Andreas",
        "Zweck Akteneinsicht (§ 25 SGB X)",
        "Empfänger Rechtsanwältin Schäfer, Kiel, Az. 17/26",
        "Rechtsgrundlage § 25 SGB X",
        "Dokumente 5 Dokumente, davon 1 zurückgehalten",
        "Umfang 10 Blatt: Deckblatt Bl. 1, Inhaltsverzeichnis Bl. 2, Dokumente Bl. 3–10",
        "Erstellt von Özdemir, Ayşe",
        "Erstellt am 05.11.2026, 10:41 Uhr",  # German local time (CET)
    ):
        assert text in cover, cover


def test_table_of_contents(exported: Exported) -> None:
    _, target = exported
    lines = [" ".join(line.split()) for line in page_texts(target, "-layout")[1].splitlines()]
    assert "Nr. Datum Bezeichnung Absender Blatt" in lines
    for row in (
        "1. 01.10.2026 Widerspruch Müller, Jürgen Bl. 3",
        "2. 05.10.2026 Verdienstabrechnung Reinigung Yılmaz Bl. 4–5",
        "3. 07.10.2026 Hinweis eines Dritten Bl. 6",
        "zurückgehalten: Schutz Dritter (§ 25 Abs. 3 SGB X)",
        "4. o. D. Mietvertrag Wiśniewski, Łukasz Bl. 7",
        "5. 09.10.2026 Kontoauszüge Bl. 8–10",
    ):
        assert row in lines, lines
    # The sender of a withheld document is printed nowhere.
    assert not any("Nachbarin Geheim" in text for text in page_texts(target))


def test_placeholder_replaces_the_withheld_document(exported: Exported) -> None:
    _, target = exported
    page = " ".join(page_texts(target, "-layout")[5].split())
    for text in (
        "Dokument zurückgehalten",
        "Nr. im Verzeichnis 3",
        "Bezeichnung Hinweis eines Dritten",
        "Datum 07.10.2026",
        f"Grund {REASON}",
        "Blatt 6",
    ):
        assert text in page, page


def test_stamp_is_upright_top_right_and_readable_on_every_page(
    exported: Exported, tmp_path: Path
) -> None:
    """In the page as a viewer shows it (CropBox, /Rotate): "Blatt N" top right, the footer at
    the bottom, both horizontal, on white boxes over the dark scans; every page renders."""
    _, target = exported
    dpi = 50
    render = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-cropbox", str(target), str(tmp_path / "p")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert render.returncode == 0 and not render.stderr, render.stderr
    images = sorted(tmp_path.glob("p-*.pgm"))
    assert len(images) == PAGES
    bbox = run(["pdftotext", "-cropbox", "-bbox", str(target), "-"]).stdout
    xhtml = "{http://www.w3.org/1999/xhtml}"
    pages = ElementTree.fromstring(bbox).iter(f"{xhtml}page")
    for number, (page, image_path) in enumerate(zip(pages, images, strict=True), start=1):
        image = Image.open(image_path)
        width, height = (side * 72 / dpi for side in image.size)  # as shown, in points
        words = [
            (w.text, *(float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")))
            for w in page.iter(f"{xhtml}word")
        ]
        pairs = zip(words, words[1:], strict=False)
        (blatt,) = [w for w, n in pairs if (w[0], n[0]) == ("Blatt", str(number))]
        _, x0, y0, x1, y1 = blatt
        assert x1 - x0 > y1 - y0  # horizontal
        assert width - 40 < x1 <= width and 0 <= y0 < 30, (number, blatt, width, height)
        footer = [w for w in words if w[0] == "Aktenauszug" and w[2] > height - 40]
        assert len(footer) == 1, (number, words)
        _, x0, y0, x1, y1 = footer[0]
        assert x1 - x0 > y1 - y0 and y1 <= height and x0 > 10
        if number in (3, 4, 5, 7, 8, 9, 10):  # scans: the stamp's box is white on dark gray
            x0, y0, x1, y1 = (round(v * dpi / 72) for v in blatt[1:])
            box = image.crop((x0 - 2, y0 - 2, x1 + 2, y1 + 2))
            assert box.getextrema()[1] >= 250
            centre = image.crop(
                (image.width // 3, image.height // 3, image.width // 2, image.height // 2)
            )
            assert centre.getextrema()[1] < 120  # the scan itself is still there, dark


def test_umlauts_fonts_embedded(exported: Exported) -> None:
    _, target = exported
    fonts = run(["pdffonts", str(target)]).stdout.splitlines()[2:]
    ours = [line for line in fonts if "DejaVuSans" in line]
    assert {line.split()[0].split("+")[1] for line in ours} == {"DejaVuSans", "DejaVuSans-Bold"}
    for line in ours:
        name, *kind, encoding, emb, sub, uni, _obj, _gen = line.split()
        assert re.fullmatch(r"[A-Z]{6}\+DejaVuSans(-Bold)?", name)  # a subset
        assert (kind, encoding, emb, sub, uni) == (
            ["CID", "TrueType"],
            "Identity-H",
            "yes",
            "yes",
            "yes",
        )
    text = "\n".join(page_texts(target))
    for word in ("Akteneinsicht (§ 25 SGB X)", "Müller", "Rechtsanwältin Schäfer", "Ayşe"):
        assert word in text


def test_outline_and_links(exported: Exported) -> None:
    _, target = exported
    with pikepdf.open(target) as pdf:
        pages = {page.obj.objgen: number for number, page in enumerate(pdf.pages, start=1)}
        with pdf.open_outline() as outline:
            entries = [(item.title, pages[item.destination[0].objgen]) for item in outline.root]
        assert entries == [
            ("Deckblatt", 1),
            ("Inhaltsverzeichnis", 2),
            ("1. Widerspruch, 01.10.2026 (Bl. 3)", 3),
            ("2. Verdienstabrechnung, 05.10.2026 (Bl. 4–5)", 4),
            ("3. Hinweis eines Dritten, 07.10.2026 (Bl. 6) – zurückgehalten", 6),
            ("4. Mietvertrag, o. D. (Bl. 7)", 7),
            ("5. Kontoauszüge, 09.10.2026 (Bl. 8–10)", 8),
        ]
        links = [pages[link.Dest[0].objgen] for link in pdf.pages[1].obj.Annots]
        assert links == [3, 4, 6, 7, 8]
        assert str(pdf.docinfo["/Title"]) == f"Aktenauszug {BG} – Akteneinsicht (§ 25 SGB X)"
        assert pdf.open_metadata().pdfa_status == "2A"  # tagged: PDF/A-2a (issue 15)


def test_same_input_same_bytes_and_changes_show(
    exported: Exported, items: list[ExportItem], tmp_path: Path
) -> None:
    result, target = exported
    again = build_export(items, HEADER, tmp_path / "again.pdf")
    assert again == result
    assert (tmp_path / "again.pdf").read_bytes() == target.read_bytes()
    renamed = [replace(items[0], title="Widerspruch vom 01.10."), *items[1:]]
    changed = build_export(renamed, HEADER, tmp_path / "changed.pdf")
    assert changed.sha256 != result.sha256 and changed.contents == result.contents
    later = replace(HEADER, created_at=datetime(2026, 11, 5, 9, 42, tzinfo=UTC))
    assert build_export(items, later, tmp_path / "later.pdf").sha256 != result.sha256


def test_long_contents_span_pages_and_repeat_a_document(tmp_path: Path) -> None:
    pdf = scan_pdf(tmp_path / "one.pdf", [Sheet("Einzelblatt")], dpi=10)
    items = [
        ExportItem(f"doc-{n}", f"Schreiben Nr. {n}", date(2026, 1, 1 + n % 28), "Absender", pdf)
        for n in range(1, 71)
    ]
    items[41] = replace(items[41], pdf=None, withheld_reason="Schutz von Sozialdaten Dritter")
    result = build_export(items, HEADER, tmp_path / "long.pdf")
    toc = result.contents[0][1] - 2  # pages between cover and the first document
    assert toc >= 2
    assert result.pages == 1 + toc + 70
    assert result.contents == [(f"doc-{n}", 1 + toc + n, 1 + toc + n) for n in range(1, 71)]
    texts = page_texts(tmp_path / "long.pdf", "-layout")
    for number, text in enumerate(texts, start=1):
        assert re.findall(r"Blatt (\d+)", text) == [str(number)]
    assert "Inhaltsverzeichnis (Fortsetzung)" in texts[2]
    listed = " ".join(" ".join(texts[1 : 1 + toc]).split())
    assert f"70. 15.01.2026 Schreiben Nr. 70 Absender Bl. {result.pages}" in listed
    assert "zurückgehalten: Schutz von Sozialdaten Dritter" in listed
    with pikepdf.open(tmp_path / "long.pdf") as out:
        numbers = {page.obj.objgen: n for n, page in enumerate(out.pages, start=1)}
        targets = [
            numbers[link.Dest[0].objgen] for page in out.pages[1 : 1 + toc] for link in page.Annots
        ]
    assert targets == [first for _, first, _ in result.contents]


def test_only_withheld_documents(tmp_path: Path) -> None:
    item = ExportItem("doc-1", "Vermerk", None, None, None, REASON)
    result = build_export([item], HEADER, tmp_path / "x.pdf")
    assert result.pages == 3 and result.contents == [("doc-1", 3, 3)]
    assert "ohne Datum" in page_texts(tmp_path / "x.pdf")[2]


def test_refusals(tmp_path: Path, items: list[ExportItem]) -> None:
    with pytest.raises(ValueError):
        build_export([], HEADER, tmp_path / "x.pdf")
    with pytest.raises(ValueError):
        build_export(items, replace(HEADER, created_at=datetime(2026, 1, 1)), tmp_path / "x.pdf")
    with pytest.raises(ValueError):
        build_export([replace(items[0], pdf=None)], HEADER, tmp_path / "x.pdf")
    assert not list(tmp_path.iterdir())


def test_export_of_pdfa_renditions_is_pdfa_2b(tmp_path: Path) -> None:
    verapdf()  # skips (fails in CI) before any work when veraPDF is missing
    documents = []
    for name, sheets in (
        ("a", [Sheet("Widerspruch")]),
        ("b", [Sheet("eins"), Sheet("zwei", rotate=90)]),
        ("c", [Sheet("klein", size=(420.0, 298.0))]),
    ):
        singles = [scan_pdf(tmp_path / f"{name}-{n}.pdf", [s]) for n, s in enumerate(sheets)]
        documents.append(tmp_path / f"{name}.pdf")
        write_pdfa(singles, documents[-1], title=name, created=HEADER.created_at)
    items = [
        ExportItem("a", "Widerspruch", date(2026, 1, 2), "Müller", documents[0]),
        ExportItem("x", "Hinweis", None, None, None, REASON),
        ExportItem("b", "Lohn", date(2026, 1, 3), "Yılmaz", documents[1]),
        ExportItem("c", "Kontoauszug", None, None, documents[2]),
    ]
    target = tmp_path / "export.pdf"
    build_export(items, HEADER, target)
    failed = failed_rules("2b", target)[target.resolve()]
    assert failed == [], "\n".join(failed)
