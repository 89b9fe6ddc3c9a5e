"""The figures of a downloaded document and of the Aktenauszug name the document by its type and
date ("Gescannte Seite 2 von 3: Bescheid vom 12.11.2026"), never by the scanned file's name; the
tagged files claim PDF/A-2a, and veraPDF finds no failed rule for 2a, 2b and PDF/UA-1 (issue 15).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pikepdf
import pytest

from core.db import transaction
from ingest.archive_pdf import write_pdfa
from pdf.tags import relabel_figures
from records.aktenauszug import ExportItem, build_export
from records.models import Household
from records.runtime import Runtime
from tests.support import Sheet, client_for, file_letter, load_people, page_texts, scan_pdf
from tests.support_pdf import HEADER, SCANS, failed_rules, ocr_page, verapdf

FILE_NAME = "Scan 2026-11-12 0815.pdf"
CREATED = datetime(2026, 11, 12, 8, 15, tzinfo=UTC)
HOUSEHOLD = "95401BG5662133"
CASEWORKER = "lsb.95401.3"  # responsible for the household


def _figure_alts(pdf_bytes: bytes) -> list[str]:
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        found = []
        stack = [pdf.Root.StructTreeRoot]
        while stack:
            element = stack.pop(0)
            kids = element.get("/K")
            for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
                if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                    if pikepdf.Name.Figure == kid.S:
                        found.append(str(kid.Alt))
                    stack.append(kid)
        return found


def _conformance(pdf_bytes: bytes) -> str:
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        return str(pdf.open_metadata().get("pdfaid:conformance"))


@pytest.fixture(scope="module")
def rendition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A three-page scan written as the pipeline writes it: under its file name."""
    work = tmp_path_factory.mktemp("rendition")
    sheets = [Sheet("Bescheid ueber Leistungen"), Sheet("Berechnung"), Sheet("Rechtsbehelf")]
    pages = [scan_pdf(work / f"page-{n}.pdf", [sheet]) for n, sheet in enumerate(sheets, 1)]
    target = work / "document.pdf"
    write_pdfa(pages, target, title=FILE_NAME, created=CREATED)
    return target


def test_relabelled_figures_name_type_and_date_and_nothing_else_changes(rendition: Path) -> None:
    stored = rendition.read_bytes()
    assert all(FILE_NAME in alt for alt in _figure_alts(stored))  # as the pipeline wrote it

    labelled = relabel_figures(stored, "Bescheid vom 12.11.2026")

    assert _figure_alts(labelled) == [
        f"Gescannte Seite {n} von 3: Bescheid vom 12.11.2026" for n in (1, 2, 3)
    ]
    assert relabel_figures(stored, "Bescheid vom 12.11.2026") == labelled  # same bytes again
    copy = rendition.with_name("labelled.pdf")
    copy.write_bytes(labelled)
    assert page_texts(copy) == page_texts(rendition)  # the text layer is untouched
    assert _conformance(labelled) == "A"  # tagged throughout: PDF/A-2a


def test_an_untagged_pdf_is_downloaded_as_it_is(tmp_path: Path) -> None:
    legacy = scan_pdf(tmp_path / "legacy.pdf", [Sheet("Lohnabrechnung")]).read_bytes()
    assert relabel_figures(legacy, "Lohnabrechnung vom 01.11.2026") == legacy


def test_a_damaged_stored_pdf_is_still_downloaded_as_it_is() -> None:
    # The figures' texts are a courtesy: a file the PDF library cannot read is served as stored.
    damaged = b"%PDF-1.4\n% nothing else\n%%EOF\n"
    assert relabel_figures(damaged, "Bescheid vom 12.11.2026") == damaged


def test_downloaded_document_pdf_names_type_and_date_in_its_figures(
    sqlite_runtime: Runtime, rendition: Path
) -> None:
    load_people(sqlite_runtime)
    key = "renditions/test-legal15b/document.pdf"
    sqlite_runtime.blobs.put(key, io.BytesIO(rendition.read_bytes()))
    with transaction(sqlite_runtime.sessions) as session:
        household = session.query(Household).filter_by(bg_number=HOUSEHOLD).one()
        document = file_letter(
            session,
            household,
            "bescheid",
            "Bescheid",
            "Berechnung",
            "Rechtsbehelf",
            source_name=FILE_NAME,
            direction="out",
            dispatch_date=date(2026, 11, 12),
            pdf_key=key,
        )
        session.flush()
        document_id = str(document.id)

    answer = client_for(sqlite_runtime, CASEWORKER).get(f"/api/documents/{document_id}/pdf")

    assert answer.status_code == 200, answer.text
    alts = _figure_alts(answer.content)
    assert alts == [f"Gescannte Seite {n} von 3: Bescheid vom 12.11.2026" for n in (1, 2, 3)]
    assert not any("Scan" in alt or ".pdf" in alt for alt in alts)


def test_export_pages_name_each_document_by_type_and_date(rendition: Path, tmp_path: Path) -> None:
    export = tmp_path / "auszug.pdf"
    item = ExportItem("a", "Bescheid", date(2026, 11, 12), "Jobcenter (Postausgang)", rendition)
    build_export([item], HEADER, export)
    alts = _figure_alts(export.read_bytes())
    assert [a for a in alts if "Bescheid" in a] == [
        f"Gescannte Seite {n} von 3: Bescheid vom 12.11.2026" for n in (1, 2, 3)
    ]
    assert not any(FILE_NAME in alt for alt in alts)
    assert _conformance(export.read_bytes()) == "A"


def test_verapdf_pdfa_2a_2b_and_pdfua_1_for_download_and_export(
    rendition: Path, tmp_path: Path
) -> None:
    verapdf()
    download = tmp_path / "download.pdf"
    download.write_bytes(relabel_figures(rendition.read_bytes(), "Bescheid vom 12.11.2026"))
    export = tmp_path / "export.pdf"
    items = [
        ExportItem("a", "Bescheid", date(2026, 11, 12), "Jobcenter", rendition),
        ExportItem("b", "Mietvertrag", date(2026, 11, 13), "Vermieter", None, "Schutz Dritter"),
    ]
    build_export(items, HEADER, export)
    for flavour in ("2a", "2b", "ua1"):
        verdicts = failed_rules(flavour, download, export)
        assert verdicts == {download.resolve(): [], export.resolve(): []}, flavour


@pytest.mark.slow
def test_verapdf_pdfa_2a_on_ocr_scans(tmp_path: Path) -> None:
    """tesseract's pages (JPEG and CCITT G4 scans, GlyphLessFont text layers) hold PDF/A-2a as
    a downloaded rendition and in an export."""
    verapdf()
    pages = [ocr_page(scan, tmp_path) for scan in SCANS]
    rendition = tmp_path / "document.pdf"
    write_pdfa(pages, rendition, title="Scan 0003.pdf", created=CREATED)
    download = tmp_path / "download.pdf"
    download.write_bytes(relabel_figures(rendition.read_bytes(), "Widerspruch vom 02.12.2026"))
    export = tmp_path / "export.pdf"
    item = ExportItem("a", "Widerspruch", date(2026, 12, 2), "Schmitt, Nadine", rendition)
    build_export([item], HEADER, export)
    assert _conformance(download.read_bytes()) == _conformance(export.read_bytes()) == "A"
    for flavour in ("2a", "ua1"):
        verdicts = failed_rules(flavour, download, export)
        assert verdicts == {download.resolve(): [], export.resolve(): []}, flavour
