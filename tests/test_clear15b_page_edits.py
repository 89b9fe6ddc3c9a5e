"""Page editing seen from clearing (issue 15): a part split off a scan is checked for duplicates
like a fresh scan (a letter the desk had read before, scanned again together with a new one and
split off, is marked as a duplicate of the earlier letter and shown so in clearing), and the
clearing page asks for a turned page under new URLs, so no browser shows the stale image.

The letters are born digital (their text is read from the PDF, no OCR) and name nobody of the
master data: they wait in clearing."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.product import create_product_app
from core.db import transaction
from records.models import Document
from records.runtime import Runtime
from tests.support import OWN, PASSWORD, client_for, digital_pdf, load_people, work_until_idle

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
    return digital_pdf(list(pages))


def _split_second_off(client: TestClient, document_id: uuid.UUID) -> uuid.UUID:
    """Splits the document after its first page; the part split off."""
    answer = client.post(f"/api/documents/{document_id}/split", json={"after": 1})
    assert answer.status_code == 200, answer.text
    documents = answer.json()["documents"]
    [part] = [uuid.UUID(d["document_id"]) for d in documents if d["role"] == "new"]
    return part


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
    """The desk, signed in to the product (API and pages)."""
    load_people(sqlite_runtime)
    client = TestClient(create_product_app(sqlite_runtime))
    answer = client.post("/api/auth/login", json={"login": DESK, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


@dataclass(frozen=True)
class Split:
    scan: uuid.UUID  # what stays of it
    part: uuid.UUID  # split off
    scan_marked: uuid.UUID | None  # the earlier document each is marked a duplicate of
    part_marked: uuid.UUID | None
    said: str  # the batch's message at the desk


def _split_and_marks(desk: TestClient, runtime: Runtime, *pages: list[str]) -> Split:
    """A scan of these pages handed in and split after its first page; the marks then."""
    scan = _upload(desk, runtime, "stapel.pdf", _pdf(*pages))
    with transaction(runtime.sessions, read_only=True) as session:
        whole = session.get_one(Document, scan)  # as a whole it repeats nothing
        assert whole.page_count == len(pages) and whole.duplicate_of_id is None
    part = _split_second_off(desk, scan)
    with transaction(runtime.sessions, read_only=True) as session:
        marks = [session.get_one(Document, d).duplicate_of_id for d in (scan, part)]
        batch = session.get_one(Document, scan).batch
        said = (batch.status_message if batch else None) or ""
    return Split(scan, part, *marks, said)


def test_a_split_off_part_that_repeats_an_earlier_letter_is_marked(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    earlier = _upload(desk, sqlite_runtime, "miete.pdf", _pdf(REPEATED))
    split = _split_and_marks(desk, sqlite_runtime, NEW, REPEATED)
    # What stays of the scan is a new letter: not marked.
    assert (split.scan_marked, split.part_marked) == (None, earlier)
    # The desk's batch says so, like a batch that brought a letter read before.
    note = "Bereits eingelesen, als Duplikat markiert und trotzdem zugestellt: Dokument 2 "
    assert re.fullmatch(re.escape(note) + r"\(gleicher (Inhalt|Text)\)", split.said), split.said


def test_what_stays_of_a_scan_is_checked_again_after_a_split(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    """The letter read before is the scan's first page: after the split, what stays of the
    scan is that letter alone, and marked (its old text, of both letters, matched nothing)."""
    earlier = _upload(desk, sqlite_runtime, "miete.pdf", _pdf(REPEATED))
    split = _split_and_marks(desk, sqlite_runtime, REPEATED, NEW)
    assert (split.scan_marked, split.part_marked) == (earlier, None)
    assert re.search(r"trotzdem zugestellt: Dokument 1 \(gleicher (Inhalt|Text)\)$", split.said)


def test_of_one_letter_scanned_twice_in_one_file_the_part_split_off_is_marked(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    """Never two parts marked as each other's duplicate: discarding one keeps the other."""
    split = _split_and_marks(desk, sqlite_runtime, NEW, NEW)
    assert (split.scan_marked, split.part_marked) == (None, split.scan)


def test_a_part_split_off_an_upload_into_a_file_is_checked_too(
    sqlite_runtime: Runtime,
) -> None:
    """A caseworker put two decisions into the file as one PDF; the second was there already."""
    runtime = sqlite_runtime
    load_people(runtime)
    caseworker = client_for(runtime, "lsb.95401.2")  # OWN's
    earlier = _upload(caseworker, runtime, "bescheid.pdf", _pdf(REPEATED), into=OWN)
    both = _upload(caseworker, runtime, "bescheide.pdf", _pdf(NEW, REPEATED), into=OWN)
    part = _split_second_off(caseworker, both)
    with transaction(runtime.sessions, read_only=True) as session:
        split_off = session.get_one(Document, part)
        assert split_off.household is not None and split_off.household.bg_number == OWN
        assert split_off.duplicate_of_id == earlier


# --- shown in clearing --------------------------------------------------------------------------


def _card(html: str, document_id: uuid.UUID) -> str:
    """The clearing card of a document in the server's list."""
    start = html.index(f'<article class="card clearing-item" id="case-{document_id}"')
    return html[start : html.index("</article>", start)]


def test_clearing_shows_the_split_off_part_as_a_duplicate_with_the_earlier_letter(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    earlier = _upload(desk, sqlite_runtime, "miete.pdf", _pdf(REPEATED))
    split = _split_and_marks(desk, sqlite_runtime, NEW, REPEATED)
    part, both = split.part, split.scan
    listed = desk.get("/klaerung/liste")
    assert listed.status_code == 200, listed.text
    card = _card(listed.text, part)
    assert "Bereits eingelesen:" in card
    assert f'<a href="/dokument/{earlier}"' in card and "Duplikat von »miete.pdf«" in card
    assert "Als Duplikat verwerfen" in card
    assert "Bereits eingelesen" not in _card(listed.text, both)
    # Only duplicates, as the page's address asks: the split-off part alone.
    only = desk.get("/klaerung/liste", params={"duplikate": "1"}).text
    assert f'id="case-{part}"' in only and f'id="case-{both}"' not in only


def _thumbs(desk: TestClient, document_id: uuid.UUID) -> list[str]:
    card = _card(desk.get("/klaerung/liste").text, document_id)
    return re.findall(r'(?:src|href)="(/api/documents/[^"]+/pages/[^"]+)"', card)


def _page_image(client: TestClient, document_id: uuid.UUID) -> str:
    page = client.get(f"/dokument/{document_id}")
    assert page.status_code == 200, page.text
    [src] = re.findall(r'<img class="page-image" src="([^"]+)"', page.text)
    return str(src)


def test_a_turned_page_gets_new_thumbnail_and_image_urls_in_clearing(
    desk: TestClient, sqlite_runtime: Runtime
) -> None:
    runtime = sqlite_runtime
    letter = _upload(desk, runtime, "quer.pdf", _pdf(NEW))
    before = _thumbs(desk, letter)
    assert len(before) == 2 and all("?v=" in url for url in before)  # the image, the thumbnail
    shown = _page_image(desk, letter)  # the document page clearing links to
    old_thumb = desk.get(before[1]).content
    turned = desk.post(f"/api/documents/{letter}/rotate-page", json={"page": 1, "degrees": 90})
    assert turned.status_code == 200, turned.text
    after = _thumbs(desk, letter)
    assert len(after) == 2
    assert after[0] != before[0] and after[1] != before[1]
    assert after[0].split("?")[0] == before[0].split("?")[0]  # the same page, a new version
    new_thumb = desk.get(after[1])
    assert new_thumb.status_code == 200 and new_thumb.content != old_thumb
    assert _page_image(desk, letter) not in (shown, after[0].split("?")[0])
    assert _page_image(desk, letter) == after[0]
