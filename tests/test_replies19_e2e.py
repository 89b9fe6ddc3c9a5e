"""End to end (issue 19): a request's return sheet printed into a scanned batch, the client's
documents behind it and another household's letter after a separator sheet, handed in at the
desk and read by the worker with real OCR.

Until request19's letter is merged the test renders the return sheet itself from the
request's own signed code (records.sheet_codes.request_code), as the letter's last page prints
it; the lead switches it to the letter's real last page."""

from __future__ import annotations

import random
import uuid

import pytest
from sqlalchemy import select

from core.db import transaction
from records.models import Document, DocumentRequest, InboxItem, RequestLink
from records.runtime import Runtime
from records.sheet_codes import request_code
from tests.support import client_for, load_people, sample, work_until_idle
from tests.support_replies19 import batch_pdf, make_request, scanned, separator_page, sheet_page

pytestmark = pytest.mark.slow

BG = "95401BG1388534"
OTHER_BG = "95402BG2654506"  # docs/0012.pdf, a tenancy certificate of this household
REQUESTER = "lsb.95401.3"


def test_a_batch_with_a_return_sheet_is_split_routed_to_the_requester_and_linked(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        request = make_request(
            session, BG, REQUESTER, ["kontoauszug", "verdienstabrechnung", "mietbescheinigung"]
        )
        request_id = request.id
    code = request_code(sqlite_runtime.settings.secret_key.get_secret_value(), request_id, BG)
    sheet = scanned(sheet_page(code, 200), random.Random(19), skew=2.0)
    work = sqlite_runtime.settings.data_dir
    batch = batch_pdf(
        work / "stapel.pdf",
        [
            sheet,
            sample("docs/0008.pdf"),  # a bank statement
            # A sheet routes up to the next separator or sheet: documents the client sent
            # behind one sheet are one document unless the desk puts the sheet (a copy) in
            # front of each, as here.
            scanned(sheet_page(code, 200), random.Random(20), upside_down=True),
            sample("docs/0001.pdf"),  # a pay slip
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
        # The tenancy certificate of another household answers nothing of this request.
        assert other.household is None or other.household.bg_number != BG
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
