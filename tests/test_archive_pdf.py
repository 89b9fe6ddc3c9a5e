"""The searchable document PDF as PDF/A-2b (ingest/archive_pdf.py).

The slow tests OCR three sample scans with tesseract as the worker does (200 and 300 dpi, and a
bilevel fax-like scan that tesseract stores as CCITT G4), merge them with `write_pdfa` and let
veraPDF judge the result. scripts/test.sh installs veraPDF (services/verapdf.sh) and exports
EAKTE_VERAPDF; without it the veraPDF test is skipped. The fast tests use blank pages.
"""

from __future__ import annotations

import json
import os
import struct
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pikepdf
import pytest

from ingest.archive_pdf import DEFAULT_PRODUCER, write_pdfa
from tests.support_pdf import SCANS, ocr_page, run

CREATED = datetime(2026, 11, 5, 9, 41, 7, tzinfo=UTC)
TITLE = "Widerspruch <Schmitt> & Söhne"


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    work = tmp_path_factory.mktemp("pdfa-pages")
    return [ocr_page(scan, work) for scan in SCANS]


@pytest.fixture(scope="module")
def document(pages: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("pdfa") / "document.pdf"
    write_pdfa(pages, target, title=TITLE, created=CREATED)
    return target


def verapdf() -> Path:
    value = os.environ.get("EAKTE_VERAPDF")
    if not value:
        message = (
            "EAKTE_VERAPDF is not set: scripts/test.sh installs veraPDF "
            "(bash services/verapdf.sh path) and exports it"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    path = Path(value)
    assert path.is_file(), f"EAKTE_VERAPDF={value} does not exist"
    return path


@pytest.mark.slow
def test_verapdf_finds_the_document_pdfa_2b_compliant(document: Path, pages: list[Path]) -> None:
    validator = verapdf()
    # tesseract's own page goes along as a control: veraPDF must find it lacking (metadata,
    # output intent, /ID), else the check below would prove nothing.
    control = pages[0]
    args = [str(validator), "--flavour", "2b", "--format", "json", str(document), str(control)]
    result = run(args)
    # Exit status 1 means "not compliant" (the control); anything else is an error.
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)["report"]
    jobs = {Path(job["itemDetails"]["name"]).resolve(): job for job in report["jobs"]}
    assert set(jobs) == {document.resolve(), control.resolve()}
    verdicts = {}
    for path, job in jobs.items():
        assert "taskException" not in job, job.get("taskException")
        (validation,) = job["validationResult"]
        assert validation["profileName"].startswith("PDF/A-2B")
        failed = [
            f"{rule['clause']}-{rule['testNumber']}: {rule['description']} "
            f"({rule['checks'][0].get('errorMessage', '') if rule['checks'] else ''})"
            for rule in validation["details"]["ruleSummaries"]
            if rule["status"] == "failed"
        ]
        verdicts[path] = (validation["compliant"], failed)
    compliant, failed = verdicts[document.resolve()]
    assert compliant, "veraPDF (PDF/A-2b) finds:\n" + "\n".join(failed)
    assert failed == []
    compliant, failed = verdicts[control.resolve()]
    assert not compliant
    assert any(rule.startswith("6.6.2.1-1:") for rule in failed), failed  # no XMP metadata


@pytest.mark.slow
def test_text_layer_page_count_and_pdfa_identification(document: Path, pages: list[Path]) -> None:
    for number, scan in enumerate(SCANS, start=1):
        text = run(["pdftotext", "-f", str(number), "-l", str(number), str(document), "-"])
        assert text.returncode == 0, text.stderr
        for expected in scan.text:
            assert expected in text.stdout, f"page {number} ({scan.sample})"
    with pikepdf.open(document) as pdf:
        assert len(pdf.pages) == len(SCANS)
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2A"  # tagged: PDF/A-2a (issue 15)
        assert meta["dc:title"] == TITLE
        assert meta["pdf:Producer"] == DEFAULT_PRODUCER
        assert str(pdf.docinfo["/Title"]) == TITLE
        assert str(pdf.docinfo["/CreationDate"]) == "D:20261105094107+00'00'"
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1"
        assert intent.DestOutputProfile.N == 3
        assert len(pdf.trailer.ID) == 2
        # The scans go in untouched: the same image bytes (JPEG, CCITT G4) in the same boxes.
        for page, source in zip(pdf.pages, pages, strict=True):
            with pikepdf.open(source) as single:
                (original,) = single.pages[0].Resources.XObject.values()
                (merged,) = page.Resources.XObject.values()
                assert merged.read_raw_bytes() == original.read_raw_bytes()
                assert merged.Filter == original.Filter
                assert list(page.mediabox) == list(single.pages[0].mediabox)
                assert "/Group" not in page.obj
        assert {page.Resources.XObject["/Im1"].Filter for page in pdf.pages} == {
            "/DCTDecode",
            "/CCITTFaxDecode",
        }


@pytest.mark.slow
def test_glyphless_font_is_embedded_once_and_consistent(document: Path) -> None:
    with pikepdf.open(document) as pdf:
        fonts = {page.Resources.Font["/f-0-0"].objgen for page in pdf.pages}
        assert len(fonts) == 1, "tesseract's font is written once for the whole document"
        font = pdf.pages[0].Resources.Font["/f-0-0"]
        (cid_font,) = font.DescendantFonts
        assert cid_font.Subtype == "/CIDFontType2"
        program = cid_font.FontDescriptor.FontFile2.read_bytes()
        assert "/CIDSet" not in cid_font.FontDescriptor  # optional in PDF/A-2, and absent
        cid_to_gid = cid_font.CIDToGIDMap.read_bytes()
        glyphs = set(struct.unpack(f">{len(cid_to_gid) // 2}H", cid_to_gid))
        assert glyphs == {1}
        # /DW must match the advance of that glyph in the font program (hmtx / unitsPerEm).
        tables = _sfnt_tables(program)
        units_per_em = struct.unpack_from(">H", program, tables["head"] + 18)[0]
        advance = struct.unpack_from(">H", program, tables["hmtx"] + 4 * 1)[0]
        default_width = cid_font.DW
        assert default_width == advance * 1000 // units_per_em
        # Every code maps to itself; ‘ (U+2018) is beyond tesseract's one-range CMap.
        to_unicode = font.ToUnicode.read_bytes()
        assert b"<2000> <20FF> <2000>" in to_unicode
        assert b"<0000> <FFFF> <0000>" not in to_unicode


def _sfnt_tables(program: bytes) -> dict[str, int]:
    (count,) = struct.unpack_from(">H", program, 4)
    tables = {}
    for index in range(count):
        tag, _checksum, offset, _length = struct.unpack_from(">4sIII", program, 12 + 16 * index)
        tables[tag.decode("latin-1")] = offset
    return tables


@pytest.mark.slow
def test_same_input_gives_the_same_bytes(document: Path, pages: list[Path], tmp_path: Path) -> None:
    again = tmp_path / "again.pdf"
    write_pdfa(pages, again, title=TITLE, created=CREATED)
    assert again.read_bytes() == document.read_bytes()
    later = tmp_path / "later.pdf"
    write_pdfa(pages, later, title=TITLE, created=CREATED + timedelta(seconds=1))
    assert later.read_bytes() != document.read_bytes()


# --- fast: blank pages ----------------------------------------------------------------------


def blank_pages(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for number in range(count):
        path = tmp_path / f"blank-{number}.pdf"
        with pikepdf.new() as pdf:
            pdf.add_blank_page(page_size=(595, 842))
            pdf.save(path)
        paths.append(path)
    return paths


def test_metadata_and_info_agree(tmp_path: Path) -> None:
    target = tmp_path / "out.pdf"
    # Local time and a control character, as a file name could bring them.
    created = datetime(2026, 3, 1, 12, 0, 30, 999, tzinfo=timezone(timedelta(hours=1)))
    write_pdfa(
        blank_pages(tmp_path, 2),
        target,
        title="Brief\x07 an <Müller> & Co",
        created=created,
        producer="Test",
    )
    with pikepdf.open(target) as pdf:
        assert len(pdf.pages) == 2
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2A"
        assert meta["dc:title"] == "Brief an <Müller> & Co"
        assert str(pdf.docinfo["/Title"]) == "Brief an <Müller> & Co"
        assert meta["xmp:CreateDate"] == "2026-03-01T11:00:30+00:00"
        assert str(pdf.docinfo["/ModDate"]) == "D:20260301110030+00'00'"
        assert meta["pdf:Producer"] == str(pdf.docinfo["/Producer"]) == "Test"
        assert "/Filter" not in pdf.Root.Metadata  # XMP stays readable as plain text


def test_naive_time_is_utc_and_no_pages_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "out.pdf"
    write_pdfa(blank_pages(tmp_path, 1), target, title="", created=datetime(2026, 1, 2, 3, 4, 5))
    with pikepdf.open(target) as pdf:
        assert str(pdf.docinfo["/CreationDate"]) == "D:20260102030405+00'00'"
        assert "/Title" not in pdf.docinfo
    with pytest.raises(ValueError):
        write_pdfa([], tmp_path / "none.pdf", title="x", created=CREATED)
