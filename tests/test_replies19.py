"""Replies close the loop (issue 19): return and cover sheets read at scanning, documents behind
them routed and linked, recognition's supposed replies confirmed or undone, requests complete.

The filing tests hand recognition's result straight to the filing step (no OCR); the batch
tests at the end run the real pipeline and are slow."""

from __future__ import annotations

import random
import subprocess
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dates import local_today
from core.db import transaction, utcnow
from core.errors import InvalidInput
from ingest.filing import catalogue_for, file_behind_sheet, file_recognised
from ingest.pipeline import PageOutcome, sheets_of_documents, split_documents
from ingest.prepare import read_sheet_code
from ingest.recognition import Recognition
from records.access import Gate
from records.models import (
    Document,
    FollowUp,
    InboxItem,
    RequestLink,
    User,
)
from records.request_replies import (
    confirm,
    link_label,
    unassigned_documents,
    unlink,
)
from records.runtime import Runtime
from records.sheet_codes import household_code, parse_code, request_code
from tests.support import audit_rows, load_people, pages_client_for
from tests.support_replies19 import make_request, scanned, sheet_page

BG = "95401BG1388534"  # caseworker lsb.95401.2
OTHER_BG = "95402BG2654506"
REQUESTER = "lsb.95401.3"


def _secret(runtime: Runtime) -> str:
    return runtime.settings.secret_key.get_secret_value()


def _recognition(bg_number: str | None, doc_type: str) -> Recognition:
    return Recognition(
        bg_number=bg_number,
        household_confidence=0.9 if bg_number else 0.0,
        household_evidence=[],
        clearing_reason=None if bg_number else "kein Haushalt erkannt",
        doc_type=doc_type,
        type_confidence=0.9,
        type_evidence=[],
        bg_numbers_found=[],
        court_references=[],
        letter_date=None,
        received_date=None,
        person=None,
    )


def _document(session: Session, name: str) -> Document:
    document = Document(
        id=uuid.uuid4(),
        source_name=name,
        content_type="application/pdf",
        size_bytes=1000,
        original_key="originals/x",
        original_sha256="0" * 64,
        page_count=1,
        status="processed",
        received_at=utcnow(),
        receipt_date=local_today(),
    )
    session.add(document)
    session.flush()
    return document


def _behind_sheet(runtime: Runtime, session: Session, code: str, doc_type: str) -> Document:
    document = _document(session, f"{doc_type}.pdf")
    catalogue = catalogue_for(runtime.settings, session)
    recognition = _recognition(None, doc_type)  # recognition found no household itself
    file_behind_sheet(session, document, recognition, catalogue, code, settings=runtime.settings)
    session.flush()
    return document


def _recognised(runtime: Runtime, session: Session, bg: str, doc_type: str) -> Document:
    document = _document(session, f"{doc_type}.pdf")
    catalogue = catalogue_for(runtime.settings, session)
    file_recognised(session, document, _recognition(bg, doc_type), catalogue, hold_for_qa=False)
    session.flush()
    return document


def _inbox(session: Session, document: Document) -> InboxItem:
    return session.scalars(select(InboxItem).where(InboxItem.document_id == document.id)).one()


def _login(session: Session, item: InboxItem) -> str | None:
    return item.user.login if item.user else None


def test_documents_behind_a_return_sheet_go_to_the_requester_linked_without_clearing(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        request = make_request(session, BG, REQUESTER, ["kontoauszug", "verdienstabrechnung"])
        code = request_code(_secret(sqlite_runtime), request.id, BG)
        statement = _behind_sheet(sqlite_runtime, session, code, "kontoauszug")
        slip = _behind_sheet(sqlite_runtime, session, code, "verdienstabrechnung")
        for document in (statement, slip):
            assert document.household is not None and document.household.bg_number == BG
            item = _inbox(session, document)
            assert item.kind == "user" and _login(session, item) == REQUESTER
            assert "Rücksendeblatt der Anforderung Nr." in (document.recognition or {})["sheet"]
        links = session.scalars(select(RequestLink).order_by(RequestLink.id)).all()
        assert [(row.document_id, row.source, row.confirmed) for row in links] == [
            (statement.id, "sheet", True),
            (slip.id, "sheet", True),
        ]
        assert request.state == "complete" and request.completed_at is not None
        assert [i.arrived_at for i in request.items] == [statement.received_at, slip.received_at]
        follow_up = session.scalars(select(FollowUp)).one()
        assert follow_up.done_reason == "Alle Unterlagen eingegangen"
        # The requester's Postkorb says so, on the last document.
        assert "vollständig: alle Unterlagen eingegangen" in _inbox(session, slip).reason
    assert len(audit_rows(sqlite_runtime, "request.linked")) == 2
    assert len(audit_rows(sqlite_runtime, "request.completed")) == 1


def test_a_document_behind_the_sheet_of_no_requested_type_is_filed_but_not_linked(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        request = make_request(session, BG, REQUESTER, ["kontoauszug"])
        code = request_code(_secret(sqlite_runtime), request.id, BG)
        letter = _behind_sheet(sqlite_runtime, session, code, "veraenderungsmitteilung")
        assert _login(session, _inbox(session, letter)) == REQUESTER
        assert session.scalars(select(RequestLink)).all() == []
        assert request.state == "open"
        assert unassigned_documents(session, request) == [letter]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("complete", "die Anforderung ist bereits vollständig"),
        ("handed_over", "die Akte ist an"),
        ("unknown", "diese Anforderung gibt es nicht"),
        ("no_household", "den Haushalt 95401BG0000000 gibt es nicht"),
    ],
)
def test_a_return_sheet_that_cannot_route_sends_the_documents_to_clearing_with_why(
    sqlite_runtime: Runtime, case: str, reason: str
) -> None:
    load_people(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        request = make_request(session, BG, REQUESTER, ["kontoauszug"])
        request_id = request.id
        if case == "complete":
            request.state = "complete"
        elif case == "handed_over":
            request.household.handed_over_at = utcnow()
            request.household.handed_over_to = "Jobcenter Kiel"
        elif case == "unknown":
            request_id = request.id + 100
        bg = "95401BG0000000" if case == "no_household" else BG
        code = request_code(_secret(sqlite_runtime), request_id, bg)
        document = _behind_sheet(sqlite_runtime, session, code, "kontoauszug")
        item = _inbox(session, document)
        assert item.kind == "clearing" and document.household is None
        assert reason in item.reason
        assert session.scalars(select(RequestLink)).all() == []


def test_a_cover_sheet_files_to_the_household_like_recognised_mail(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        code = household_code(_secret(sqlite_runtime), BG)
        document = _behind_sheet(sqlite_runtime, session, code, "mietbescheinigung")
        assert document.household is not None and document.household.bg_number == BG
        assert _login(session, _inbox(session, document)) == "lsb.95401.2"


def test_recognition_links_a_supposed_reply_which_the_caseworker_confirms_or_undoes(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        request = make_request(
            session,
            BG,
            REQUESTER,
            ["kontoauszug", "mietbescheinigung"],
            dispatch_date=date(2026, 11, 2),
        )
        # Another household's tenancy certificate is never linked, whatever its type.
        _recognised(sqlite_runtime, session, OTHER_BG, "mietbescheinigung")
        assert session.scalars(select(RequestLink)).all() == []
        statement = _recognised(sqlite_runtime, session, BG, "kontoauszug")
        [row] = session.scalars(select(RequestLink)).all()
        assert (row.document_id, row.source, row.confirmed) == (statement.id, "recognition", False)
        assert link_label(row) == "vermutlich Antwort auf Anforderung vom 02.11.2026"
        # A supposed answer alone does not count: the item is missing until it is confirmed.
        assert [i.state for i in request.items] == ["missing", "missing"]
        user = session.scalar(select(User).where(User.login == "lsb.95401.2"))
        assert user is not None
        confirmed = confirm(Gate(session, user), BG, request.id, row.id)
        assert confirmed.confirmed and confirmed.confirmed_by_login == "lsb.95401.2"
        assert [i.state for i in request.items] == ["arrived", "missing"]
        with pytest.raises(InvalidInput):
            unlink(Gate(session, user), BG, request.id, row.id, "  ")
        unlink(Gate(session, user), BG, request.id, row.id, "Auszug eines anderen Kontos")
        session.flush()
        assert session.scalars(select(RequestLink)).all() == []
        assert [i.state for i in request.items] == ["missing", "missing"]
    assert len(audit_rows(sqlite_runtime, "request.link_confirmed")) == 1
    [undone] = audit_rows(sqlite_runtime, "request.unlinked")
    assert undone.details["reason"] == "Auszug eines anderen Kontos"


def test_partial_then_complete_by_recognition_closes_the_follow_up(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        request = make_request(session, BG, REQUESTER, ["kontoauszug", "mietbescheinigung"])
        user = session.scalars(select(User).where(User.login == "lsb.95401.2")).one()
        statement = _recognised(sqlite_runtime, session, BG, "kontoauszug")
        [first] = session.scalars(select(RequestLink)).all()
        confirm(Gate(session, user), BG, request.id, first.id)
        assert request.state == "open"
        assert session.scalars(select(FollowUp)).one().done_at is None
        lease = _recognised(sqlite_runtime, session, BG, "mietbescheinigung")
        assert request.state == "open"  # supposed, not yet confirmed
        second = session.scalars(
            select(RequestLink).where(RequestLink.document_id == lease.id)
        ).one()
        assert statement.id != lease.id
        confirm(Gate(session, user), BG, request.id, second.id)
        assert request.state == "complete"
        assert session.scalars(select(FollowUp)).one().done_at is not None
        requester_items = session.scalars(
            select(InboxItem).where(InboxItem.document_id == lease.id, InboxItem.kind == "user")
        ).all()
        reasons = {(_login(session, i), "vollständig" in i.reason) for i in requester_items}
        assert (REQUESTER, True) in reasons


def test_a_forged_code_is_not_accepted_and_a_sheet_splits_the_batch() -> None:
    secret = "geheim"
    genuine = request_code(secret, 7, BG)
    assert parse_code(secret, genuine) is not None
    assert parse_code(secret, genuine[:-1] + ("0" if genuine[-1] != "0" else "1")) is None
    assert parse_code("ein anderer Schlüssel", genuine) is None
    pages = [
        PageOutcome(1, "separator", sheet_code=genuine),
        PageOutcome(2, None),
        PageOutcome(3, None),
        PageOutcome(4, "separator"),
        PageOutcome(5, None),
    ]
    assert [[p.source_page for p in doc] for doc in split_documents(pages)] == [[2, 3], [5]]
    # A plain separator splits the client's documents behind the sheet; the sheet still
    # covers both (recognition ends its cover at another household's letter, pipeline).
    assert sheets_of_documents(pages) == [genuine, genuine]


@pytest.mark.parametrize("dpi", [200, 300])
@pytest.mark.parametrize(("skew", "upside_down"), [(0.0, False), (5.0, False), (-5.0, True)])
def test_the_return_sheet_is_read_at_scanning_resolutions_skewed_and_upside_down(
    tmp_path: Path, dpi: int, skew: float, upside_down: bool
) -> None:
    secret = "geheim"
    code = request_code(secret, 4711, BG)
    page = scanned(sheet_page(code, dpi), random.Random(dpi), skew=skew, upside_down=upside_down)
    path = tmp_path / "sheet.png"
    page.save(path, dpi=(dpi, dpi))
    accepted = read_sheet_code(path, lambda text: parse_code(secret, text) is not None)
    assert accepted == code
    # The same sheet with a code the product did not sign is read as an ordinary page.
    forged = scanned(sheet_page(request_code("gefälscht", 4711, BG), dpi), random.Random(1))
    forged.save(path, dpi=(dpi, dpi))
    assert read_sheet_code(path, lambda text: parse_code(secret, text) is not None) is None


def test_cover_sheets_for_the_caseworker_and_the_desk_are_read_back_and_audited(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    load_people(sqlite_runtime)
    caseworker = pages_client_for(sqlite_runtime, "lsb.95401.2")
    answer = caseworker.get(f"/akte/{BG}/deckblatt.pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert f"Deckblatt-{BG}.pdf" in answer.headers["content-disposition"]
    akte = caseworker.get(f"/akte/{BG}")
    assert f'href="/akte/{BG}/deckblatt.pdf"' in akte.text
    # A caseworker of another team has no need to know this file.
    assert pages_client_for(sqlite_runtime, "lsb.95402.1").get(
        f"/akte/{BG}/deckblatt.pdf"
    ).status_code in (403, 404)
    desk = pages_client_for(sqlite_runtime, "post.1")
    assert 'action="/scanstelle/deckblatt.pdf"' in desk.get("/scanstelle").text
    from_desk = desk.get("/scanstelle/deckblatt.pdf", params={"bg": BG})
    assert from_desk.status_code == 200
    assert desk.get("/scanstelle/deckblatt.pdf", params={"bg": "95401BG0000000"}).status_code == 422
    # The printed sheet, scanned at 200 dpi, is read back as this household's sheet.
    pdf = tmp_path / "deckblatt.pdf"
    pdf.write_bytes(from_desk.content)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-gray", "-png", "-singlefile", str(pdf), str(tmp_path / "s")],
        check=True,
    )
    secret = _secret(sqlite_runtime)
    text = read_sheet_code(tmp_path / "s.png", lambda t: parse_code(secret, t) is not None)
    assert text is not None and parse_code(secret, text) == parse_code(
        secret, household_code(secret, BG)
    )
    outcomes = [row.outcome for row in audit_rows(sqlite_runtime, "cover_sheet.printed")]
    assert sorted(outcomes) == ["denied", "ok", "ok"]
