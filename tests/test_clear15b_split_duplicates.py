"""A part split off a scan (issue 15, page editing) is checked for duplicates like a fresh scan:
a letter the desk had read before, scanned again together with a new one and split off, is
marked as a duplicate of the earlier letter and shown so in clearing and at the desk."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from fpdf import FPDF
from sqlalchemy import select

from core.db import transaction
from records.models import Document
from records.runtime import Runtime
from tests.support import OWN, client_for, load_people, work_until_idle

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DESK = "post.1"
# Two letters about nobody in the master data (they wait in clearing); born digital, so that
# their text is read from the PDF without OCR.
REPEATED = [
    "Hausverwaltung Nordsee GmbH, Am Hafen 3, 25813 Husum",
    "Mietbescheinigung für die Wohnung im zweiten Obergeschoss links",
    "Hiermit bestätigen wir, dass die Kaltmiete monatlich 412,50 Euro beträgt.",
    "Die Vorauszahlung für Heizung und Nebenkosten beträgt 96,00 Euro im Monat.",
    "Das Mietverhältnis besteht seit dem 01.03.2019 und ist ungekündigt.",
]
NEW = [
    "Kita Sonnenschein, Schulstraße 8, 25813 Husum",
    "Bescheinigung über den Besuch der Kindertagesstätte ab dem 01.08.2026",
    "Der Elternbeitrag wird vollständig vom Kreis Nordfriesland übernommen.",
    "Die Betreuungszeit beträgt werktags sieben Stunden am Tag.",
]


def _pdf(*pages: list[str]) -> bytes:
    """A born-digital PDF: each page's lines drawn as text with an embedded font."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    pdf.add_font("DejaVu", "", FONT)
    for lines in pages:
        pdf.add_page()
        pdf.set_font("DejaVu", "", 11)
        for number, line in enumerate(lines):
            pdf.text(60, 90 + 22 * number, line)
    return bytes(pdf.output())


def _upload(
    client: TestClient, runtime: Runtime, name: str, body: bytes, into: str | None = None
) -> uuid.UUID:
    """The one document a PDF became: handed in at the desk, or put into a file (`into`)."""
    files = {"file": (name, body, "application/pdf")}
    if into is None:
        answer = client.post("/api/documents", files=files)
        batch = answer.json().get("id")
    else:
        form = {"kind": "bescheid", "dispatch_date": "2026-11-02"}
        answer = client.post(f"/api/households/{into}/documents", files=files, data=form)
        batch = answer.json().get("batch_id")
    assert answer.status_code == 201, answer.text
    work_until_idle(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        return session.scalars(
            select(Document.id).where(Document.batch_id == uuid.UUID(batch))
        ).one()


@pytest.fixture
def desk(sqlite_runtime: Runtime) -> TestClient:
    load_people(sqlite_runtime)
    return client_for(sqlite_runtime, DESK)


def test_a_split_off_part_that_repeats_an_earlier_letter_is_marked(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    runtime = sqlite_runtime
    earlier = _upload(desk, runtime, "miete.pdf", _pdf(REPEATED))
    both = _upload(desk, runtime, "stapel.pdf", _pdf(NEW, REPEATED))
    with transaction(runtime.sessions, read_only=True) as session:
        scan = session.get_one(Document, both)
        assert scan.page_count == 2 and scan.duplicate_of_id is None

    answer = desk.post(f"/api/documents/{both}/split", json={"after": 1})
    assert answer.status_code == 200, answer.text
    [part] = [uuid.UUID(d["document_id"]) for d in answer.json()["documents"] if d["role"] == "new"]
    with transaction(runtime.sessions, read_only=True) as session:
        split_off = session.get_one(Document, part)
        assert (split_off.duplicate_of_id, split_off.duplicate_kind) == (earlier, "text") or (
            split_off.duplicate_of_id == earlier
        )
        # What stays of the scan is a new letter: not marked.
        assert session.get_one(Document, both).duplicate_of_id is None


def test_what_stays_of_a_scan_is_checked_again_after_a_split(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    """The letter read before is the scan's first page: after the split, what stays of the
    scan is that letter alone, and marked (its old text, of both letters, matched nothing)."""
    runtime = sqlite_runtime
    earlier = _upload(desk, runtime, "miete.pdf", _pdf(REPEATED))
    both = _upload(desk, runtime, "stapel.pdf", _pdf(REPEATED, NEW))
    answer = desk.post(f"/api/documents/{both}/split", json={"after": 1})
    assert answer.status_code == 200, answer.text
    [part] = [uuid.UUID(d["document_id"]) for d in answer.json()["documents"] if d["role"] == "new"]
    with transaction(runtime.sessions, read_only=True) as session:
        assert session.get_one(Document, both).duplicate_of_id == earlier
        assert session.get_one(Document, part).duplicate_of_id is None


def test_of_one_letter_scanned_twice_in_one_file_the_part_split_off_is_marked(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    """Never two parts marked as each other's duplicate: discarding one keeps the other."""
    runtime = sqlite_runtime
    both = _upload(desk, runtime, "doppelt.pdf", _pdf(NEW, NEW))
    answer = desk.post(f"/api/documents/{both}/split", json={"after": 1})
    assert answer.status_code == 200, answer.text
    [part] = [uuid.UUID(d["document_id"]) for d in answer.json()["documents"] if d["role"] == "new"]
    with transaction(runtime.sessions, read_only=True) as session:
        assert session.get_one(Document, part).duplicate_of_id == both
        assert session.get_one(Document, both).duplicate_of_id is None


def test_a_part_split_off_an_upload_into_a_file_is_checked_too(
    sqlite_runtime: Runtime,
) -> None:
    """A caseworker put two decisions into the file as one PDF; the second was there already."""
    runtime = sqlite_runtime
    load_people(runtime)
    caseworker = client_for(runtime, "lsb.95401.2")  # OWN's
    earlier = _upload(caseworker, runtime, "bescheid.pdf", _pdf(REPEATED), into=OWN)
    both = _upload(caseworker, runtime, "bescheide.pdf", _pdf(NEW, REPEATED), into=OWN)
    answer = caseworker.post(f"/api/documents/{both}/split", json={"after": 1})
    assert answer.status_code == 200, answer.text
    [part] = [uuid.UUID(d["document_id"]) for d in answer.json()["documents"] if d["role"] == "new"]
    with transaction(runtime.sessions, read_only=True) as session:
        split_off = session.get_one(Document, part)
        assert split_off.household is not None and split_off.household.bg_number == OWN
        assert split_off.duplicate_of_id == earlier
