"""The objections office registers an objection against a decision and sees whether it was on
time and why; appeals from court letters; status with who and when."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from core.db import transaction
from records.models import AuditEvent, Document
from records.runtime import Runtime
from tests.support import (
    OWN,
    SCHLESWIG_APPEAL,
    client_for,
    file_indexed,
    load_people,
    register_appeal,
)


def _setup(runtime: Runtime, receipt: date) -> tuple[str, str]:
    load_people(runtime)
    decision = file_indexed(runtime, OWN, "bescheid", "Bescheid über Leistungen")
    letter = file_indexed(
        runtime,
        OWN,
        "widerspruch",
        "Widerspruch gegen den Bescheid",
        target="team:Widerspruchsstelle",
    )
    with transaction(runtime.sessions) as session:
        sent = session.get(Document, uuid.UUID(decision))
        sent.direction, sent.dispatch_date = "out", date(2026, 10, 10)  # a Saturday
        session.get(Document, uuid.UUID(letter)).receipt_date = receipt
    return decision, letter


def test_objection_on_time_with_its_computation(sqlite_runtime: Runtime) -> None:
    decision, letter = _setup(sqlite_runtime, date(2026, 11, 16))
    caseworker = client_for(sqlite_runtime, "lsb.95401.2")
    refused = caseworker.post("/api/objections", json={"document_id": letter})
    assert refused.status_code == 403

    office = client_for(sqlite_runtime, "ws.1")
    created = office.post("/api/objections", json={"document_id": letter, "decision_id": decision})
    assert created.status_code == 201, created.text
    objection = created.json()
    deadline = objection["deadline"]
    # Sent Saturday 10.10.2026; + 4 days = Wednesday 14.10.2026; one month = Saturday
    # 14.11.2026, so the period ends on Monday 16.11.2026: received that day, on time.
    assert deadline["notification_date"] == "2026-10-14"
    assert deadline["deadline"] == "2026-11-16"
    assert deadline["on_time"] is True
    assert "§ 37" in " ".join(step["label"] for step in deadline["steps"])
    assert deadline["summary"].startswith("Fristgerecht")
    assert objection["receipt_date"] == "2026-11-16" and objection["open"] is True
    again = office.post("/api/objections", json={"document_id": letter})
    assert again.status_code == 409

    # The receipt date came from intake; a correction needs a reason and is logged.
    oid = objection["id"]
    no_reason = office.post(
        f"/api/objections/{oid}/receipt-date", json={"receipt_date": "2026-11-17", "reason": ""}
    )
    assert no_reason.status_code == 422
    late = office.post(
        f"/api/objections/{oid}/receipt-date",
        json={"receipt_date": "2026-11-17", "reason": "Eingangsstempel des Bürgerbüros"},
    ).json()
    assert late["deadline"]["on_time"] is False
    assert late["deadline"]["summary"].startswith("Verspätet")

    listed = office.get("/api/objections").json()["objections"]
    assert [o["id"] for o in listed] == [oid]
    done = office.post(f"/api/objections/{oid}/status", json={"status": "zurueckgewiesen"})
    assert done.json()["status_by"] == "ws.1"
    assert [h["action"] for h in done.json()["history"]] == [
        "objection.registered",
        "objection.receipt_date_corrected",
        "objection.status",
    ]
    assert office.get("/api/objections").json()["objections"] == []
    # The household's file shows objections as a section of their own.
    akte = client_for(sqlite_runtime, "lsb.95401.2").get(f"/api/households/{OWN}/file").json()
    assert [(o["id"], o["status"]) for o in akte["objections"]] == [(oid, "zurueckgewiesen")]
    with transaction(sqlite_runtime.sessions) as session:
        corrected = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "objection.receipt_date_corrected")
        )
        assert corrected.details["reason"] == "Eingangsstempel des Bürgerbüros"


def test_without_a_linked_decision_the_deadline_is_not_guessed(sqlite_runtime: Runtime) -> None:
    _decision, letter = _setup(sqlite_runtime, date(2026, 11, 12))
    office = client_for(sqlite_runtime, "ws.1")
    objection = office.post("/api/objections", json={"document_id": letter}).json()
    assert objection["deadline"] is None
    assert "nicht prüfbar" in objection["deadline_missing"]


def test_an_appeal_is_registered_from_the_court_letter(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    court = file_indexed(
        sqlite_runtime,
        OWN,
        "klage",
        "Sozialgericht Schleswig S 12 AS 345/26",
        target="team:Widerspruchsstelle",
    )
    office = client_for(sqlite_runtime, "ws.1")
    # The reference typed with a double space is stored in its normal form.
    typed = {**SCHLESWIG_APPEAL, "file_reference": "S 12  AS 345/26"}
    body = register_appeal(office, court, typed)
    assert body["file_reference"] == "S 12 AS 345/26"
    # Served Friday 9.10.2026; four weeks = Friday 6.11.2026.
    assert body["statement_due"] == "2026-11-06"
    assert body["file_due"] <= "2026-11-09"
    assert office.get(f"/api/appeals/{body['id']}").json()["status"] == "anhaengig"
