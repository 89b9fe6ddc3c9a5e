"""End to end (issue 19): a request is written with its letter; the letter's own return sheet
(its last page, rendered as a scanner would see it) lies on top of the client's documents in a
scanned batch, the client's documents split by a separator sheet, and another household's
letter follows in the same batch. Handed in at the desk and read by the worker with real OCR:
the documents are split, the client's go to the requester and are linked to the request, the
other household's letter is not."""

from __future__ import annotations

import random
import subprocess
import uuid
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from core.dates import local_today
from core.db import transaction
from records.access import Gate
from records.models import Document, DocumentRequest, InboxItem, RequestLink, User
from records.requests import create_request, propose_due
from records.runtime import Runtime
from records.sheet_codes import request_code
from tests.support import client_for, load_people, sample, work_until_idle
from tests.support_replies19 import (
    A4_MM,
    FONT,
    batch_pdf,
    make_request,
    scanned,
    separator_page,
    sheet_page,
)

pytestmark = pytest.mark.slow

BG = "95401BG1388534"
OTHER_BG = "95402BG2654506"  # docs/0012.pdf, a tenancy certificate of this household
REQUESTER = "lsb.95401.3"
PERIOD = "01.08.2026-31.10.2026"


def _last_page(pdf: bytes, work: Path, dpi: int = 200) -> Image.Image:
    """The letter's last page (the return sheet) as an image, as it comes out of a printer
    and back through a scanner at `dpi`."""
    letter = work / "anforderung.pdf"
    letter.write_bytes(pdf)
    prefix = work / "ruecksendeblatt"
    subprocess.run(  # noqa: S603 - fixed program, paths we made
        ["pdftoppm", "-gray", "-r", str(dpi), "-l", "99", "-png", str(letter), str(prefix)],  # noqa: S607
        check=True,
    )
    pages = sorted(work.glob("ruecksendeblatt*.png"))
    return Image.open(pages[-1]).convert("L")


def _typed_page(lines: list[str], dpi: int = 200) -> Image.Image:
    """A typed one-page letter as a 200 dpi scan sees it."""
    width, height = (round(mm / 25.4 * dpi) for mm in A4_MM)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, round(dpi * 0.16))
    for number, line in enumerate(lines):
        draw.text((round(dpi * 0.9), round(dpi * (1.0 + 0.3 * number))), line, fill=0, font=font)
    return page


PAY_SLIP = [
    "Bäckerei Hansen GmbH, Markt 3, 25821 Bredstedt",
    "Verdienstabrechnung Oktober 2026",
    "Frau Natalia Huber",
    "Königsberger Straße 6",
    "25821 Bredstedt",
    "Personalnummer 4411",
    "Grundlohn 1.450,00",
    "Lohnsteuer -38,00",
    "Sozialversicherung -290,00",
    "Auszahlungsbetrag 1.122,00",
]


def test_a_batch_with_a_return_sheet_is_split_routed_to_the_requester_and_linked(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    today = local_today()
    with transaction(sqlite_runtime.sessions) as session:
        requester = session.scalars(select(User).where(User.login == REQUESTER)).one()
        created = create_request(
            Gate(session, requester),
            sqlite_runtime,
            BG,
            [("kontoauszug", PERIOD), ("verdienstabrechnung", PERIOD), ("mietbescheinigung", "")],
            propose_due(today, sqlite_runtime.settings)[0],
            today=today,
        )
        request_id, pdf = created.request.id, created.pdf
    work = sqlite_runtime.settings.data_dir
    sheet = scanned(_last_page(pdf, work), random.Random(19), skew=2.0)
    batch = batch_pdf(
        work / "stapel.pdf",
        [
            sheet,
            sample("docs/0008.pdf"),  # a bank statement
            separator_page(),  # the desk splits the client's documents as usual
            scanned(_typed_page(PAY_SLIP), random.Random(7), skew=-1.0),  # her pay slip
            separator_page(),
            sample("docs/0012.pdf"),  # another household's tenancy certificate
        ],
    )
    desk = client_for(sqlite_runtime, "post.1")
    answer = desk.post("/api/documents", files={"file": ("stapel.pdf", batch.read_bytes())})
    assert answer.status_code in (200, 201, 202), answer.text
    work_until_idle(sqlite_runtime)
    result = desk.get(f"/api/batches/{answer.json()['id']}").json()
    assert len(result["documents"]) == 3
    with transaction(sqlite_runtime.sessions) as session:
        ids = [uuid.UUID(d["id"]) for d in result["documents"]]
        statement, slip, other = (session.get(Document, i) for i in ids)
        assert statement is not None and slip is not None and other is not None
        for document in (statement, slip):
            assert document.household is not None and document.household.bg_number == BG
            item = session.scalars(
                select(InboxItem).where(InboxItem.document_id == document.id)
            ).one()
            assert item.user is not None and item.user.login == REQUESTER
        links = session.scalars(select(RequestLink).order_by(RequestLink.id)).all()
        assert {(row.document_id, row.source, row.confirmed) for row in links} == {
            (statement.id, "sheet", True),
            (slip.id, "sheet", True),
        }
        # The tenancy certificate of another household (it would fulfil the third item) ends
        # the sheet's cover: filed by recognition into its own household, linked to nothing.
        assert other.household is not None and other.household.bg_number == OTHER_BG
        assert "sheet" not in (other.recognition or {})
        request = session.get(DocumentRequest, request_id)
        assert request is not None and request.state == "open"
        assert [i.state for i in request.items] == ["arrived", "arrived", "missing"]


def test_a_forged_return_sheet_neither_separates_nor_routes(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        request_id = make_request(session, BG, REQUESTER, ["kontoauszug"]).id
    forged = request_code("nicht der Schlüssel des Produkts", request_id, BG)
    work = sqlite_runtime.settings.data_dir
    batch = batch_pdf(
        work / "stapel.pdf",
        [scanned(sheet_page(forged, 200), random.Random(5)), sample("docs/0008.pdf")],
    )
    desk = client_for(sqlite_runtime, "post.1")
    answer = desk.post("/api/documents", files={"file": ("stapel.pdf", batch.read_bytes())})
    work_until_idle(sqlite_runtime)
    result = desk.get(f"/api/batches/{answer.json()['id']}").json()
    # The forged sheet is an ordinary page of the one document, recognised as usual.
    assert [d["pages"] for d in result["documents"]] == [2]
    assert [p["reason"] for p in result["pages_dropped"]] == []
    with transaction(sqlite_runtime.sessions) as session:
        assert session.scalars(select(RequestLink)).all() == []
        [document] = session.scalars(select(Document)).all()
        assert "sheet" not in (document.recognition or {})
