"""The objections office through the API: one-step registration from the letter with the
decision suggested, appeals from court letters with the court's data prefilled, and the file
export (Aktenauszug) with its record in the case file, its permissions and its audit trail."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import transaction
from records.models import AuditEvent, InboxItem
from records.runtime import Runtime
from tests.support import (
    ISLANDS,
    OWN,
    client_for,
    file_indexed,
    load_people,
    page_texts,
    register_appeal,
    rendition,
    while_held,
)
from tests.support_court18 import COURT_LETTER, OFFICE, OFFICE_TEAM, file_case

CASEWORKER = "lsb.95401.2"  # responsible for OWN
STRANGER = "lsb.95403.1"  # Leistung Inseln: not OWN's team


# OWN's file, by name: type, the text it is indexed with, target, its PDF's pages, details.
CASE_FILE: dict[str, tuple[str, str, str, list[str], dict[str, object]]] = {
    "old_decision": (
        "bescheid", "Bescheid", "caseworker", ["Bewilligungsbescheid Juli"],
        {"direction": "out", "dispatch_date": date(2026, 7, 1)},
    ),
    "decision": (
        "bescheid", "Bescheid", "caseworker",
        ["Änderungsbescheid Seite 1", "Änderungsbescheid Seite 2"],
        {"direction": "out", "dispatch_date": date(2026, 10, 10)},
    ),
    "payslip": (
        "verdienstabrechnung", "Lohn", "caseworker", ["Verdienstabrechnung Oktober"],
        {"receipt_date": date(2026, 10, 20), "sender": "Nordsee Fisch GmbH"},
    ),
    "objection": (
        "widerspruch", "Widerspruch", OFFICE_TEAM,
        ["Hiermit lege ich Widerspruch gegen Ihren Bescheid vom 10.10.2026 ein."],
        {"receipt_date": date(2026, 11, 16), "stamp_date": date(2026, 11, 16)},
    ),
    "court": (
        "klage", "Sozialgericht", OFFICE_TEAM, [COURT_LETTER],
        {
            "receipt_date": date(2026, 11, 2),
            "stamp_date": date(2026, 11, 2),
            "court_reference": "S 20 AS 54/26",
        },
    ),
}  # fmt: skip


@pytest.fixture
def case_file(runtime: Runtime, tmp_path: Path) -> dict[str, str]:
    """OWN's file: two decisions, a pay slip, an objection and a court letter for the office.

    On both backend sets: SQLite, local folder and embedded index; PostgreSQL, MinIO and
    OpenSearch (scripts/test.sh)."""
    load_people(runtime)
    return file_case(runtime, CASE_FILE, tmp_path)


def test_objection_registered_in_one_step_with_the_decision_the_letter_names(
    runtime: Runtime, case_file: dict[str, str]
) -> None:
    office = client_for(runtime, OFFICE)
    intake = office.get(f"/api/documents/{case_file['objection']}/legal-intake").json()
    assert intake["kind"] == "objection" and intake["objection_id"] is None
    assert intake["receipt_date"] == "2026-11-16"
    assert intake["receipt_source"] == "Eingangsstempel"
    suggested = [d["id"] for d in intake["decisions"] if d["suggested"]]
    assert suggested == [case_file["decision"]]
    assert intake["decision_suggestion"] == "im Schreiben genannt: Bescheid vom 10.10.2026"
    assert [f["name"] for f in intake["forms"]] == [
        "schriftlich",
        "zur Niederschrift",
        "elektronisch",
    ]

    created = office.post(
        "/api/objections",
        json={
            "document_id": case_file["objection"],
            "decision_id": case_file["decision"],
            "form": "zur_niederschrift",
            "close_inbox_items": True,
        },
    )
    assert created.status_code == 201, created.text
    objection = created.json()
    assert objection["form_name"] == "zur Niederschrift"
    assert objection["deadline"]["on_time"] is True
    assert objection["status_by_name"] == "Lena Herrmann"
    # The case's documents: the decision and the letter, in file order.
    assert [d["id"] for d in objection["documents"]] == [
        case_file["decision"],
        case_file["objection"],
    ]
    # The letter's team item is done: the register keeps track of it now.
    with transaction(runtime.sessions) as session:
        item = session.scalar(
            select(InboxItem).where(InboxItem.document_id == uuid.UUID(case_file["objection"]))
        )
        assert (item.state, item.done_by_login) == ("done", OFFICE)
    assert (
        office.get(f"/api/documents/{case_file['objection']}/legal-intake").json()["objection_id"]
        == objection["id"]
    )
    # A decision sent after the objection arrived cannot be the contested one.
    other = office.post(
        "/api/objections",
        json={
            "document_id": case_file["court"],
            "decision_id": case_file["decision"],
            "confirm_duplicate": True,  # a second objection against it: after the warning
        },
    )
    assert other.status_code == 201  # the court letter dates 2.11., the decision 10.10.
    board = office.get("/api/objections").json()["objections"]
    assert [o["id"] for o in board] == [other.json()["id"], objection["id"]]  # oldest first
    assert board[0]["inaction"]["level"] in ("ok", "bald", "überschritten")


def test_appeal_prefilled_from_the_court_letter_with_status_who_and_when(
    runtime: Runtime, case_file: dict[str, str]
) -> None:
    office = client_for(runtime, OFFICE)
    intake = office.get(f"/api/documents/{case_file['court']}/legal-intake").json()
    assert intake["kind"] == "appeal"
    facts = intake["appeal"]
    assert facts["court"] == "Sozialgericht Schleswig"
    assert facts["file_reference"] == "S 20 AS 54/26"
    assert facts["parties"] == "Laura Beispiel ./. Jobcenter Kreis Nordfriesland"
    assert facts["served_on"] == "2026-11-02"
    # "binnen eines Monats" from 2.11.2026: Wednesday 2.12.2026.
    assert facts["court_deadline"] == "2026-12-02"
    assert "binnen eines Monats" in facts["court_deadline_source"]

    body = register_appeal(
        office,
        case_file["court"],
        facts,
        court_deadline=facts["court_deadline"],
        close_inbox_items=True,
    )
    assert body["statement_due"] == "2026-12-02"
    assert body["file_due"] == "2026-12-02"
    assert "§ 104" in " ".join(step["label"] for step in body["deadline_steps"])
    assert (body["status_name"], body["status_by"]) == ("anhängig", OFFICE)
    again = office.post(
        "/api/appeals",
        json={
            "document_id": case_file["court"],
            "court": "x",
            "file_reference": "S 1 AS 1/26",
            "served_on": "2026-11-02",
        },
    )
    assert again.status_code == 409
    assert [a["id"] for a in office.get("/api/appeals").json()["appeals"]] == [body["id"]]

    done = office.post(f"/api/appeals/{body['id']}/status", json={"status": "erledigt"}).json()
    assert (done["status_name"], done["status_by"], done["status_by_name"]) == (
        "erledigt",
        OFFICE,
        "Lena Herrmann",
    )
    assert [h["action"] for h in done["history"]] == ["appeal.registered", "appeal.status"]
    assert office.get("/api/appeals").json()["appeals"] == []
    akte = client_for(runtime, CASEWORKER).get(f"/api/households/{OWN}/file").json()
    assert [(a["file_reference"], a["status"]) for a in akte["appeals"]] == [
        ("S 20 AS 54/26", "erledigt")
    ]
    # A caseworker reads the file but does not register appeals.
    refused = client_for(runtime, CASEWORKER).post(
        f"/api/appeals/{body['id']}/status", json={"status": "anhaengig"}
    )
    assert refused.status_code == 403


def test_export_for_the_court_is_numbered_recorded_in_the_file_and_audited(
    runtime: Runtime, case_file: dict[str, str], tmp_path: Path
) -> None:
    office = client_for(runtime, OFFICE)
    objection = office.post(
        "/api/objections",
        json={"document_id": case_file["objection"], "decision_id": case_file["decision"]},
    ).json()
    facts = office.get(f"/api/documents/{case_file['court']}/legal-intake").json()["appeal"]
    appeal = register_appeal(office, case_file["court"], facts, objection_id=objection["id"])

    options = office.get(
        f"/api/households/{OWN}/export-options", params={"appeal_id": appeal["id"]}
    ).json()
    assert options["recipient"] == "Sozialgericht Schleswig, Az. S 20 AS 54/26"
    assert options["legal_basis"] == "sgg_104"
    chosen = [d["id"] for d in options["documents"] if d["selected"]]
    # The appeal's documents: the contested decision, the court letter, the objection.
    assert chosen == [case_file["decision"], case_file["court"], case_file["objection"]]
    assert len(options["documents"]) == 5

    created = office.post(
        "/api/exports",
        json={
            "bg_number": OWN,
            "recipient": options["recipient"],
            "legal_basis": "sgg_104",
            "appeal_id": appeal["id"],
        },
    )
    assert created.status_code == 201, created.text
    record = created.json()
    # Cover, contents, 2 + 1 + 1 document pages.
    assert record["pages"] == 6
    assert [(d["document_id"], d["first_page"], d["last_page"]) for d in record["documents"]] == [
        (case_file["decision"], 3, 4),
        (case_file["court"], 5, 5),
        (case_file["objection"], 6, 6),
    ]
    assert (record["created_by"], record["legal_basis_name"]) == (
        OFFICE,
        "§ 104 SGG (Verwaltungsakte an das Gericht)",
    )
    pdf = office.get(record["pdf_url"])
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == record["sha256"]
    saved = tmp_path / "auszug.pdf"
    saved.write_bytes(pdf.content)
    pages = page_texts(saved)
    assert len(pages) == 6
    assert "Inhaltsverzeichnis" in pages[1]
    assert "Sozialgericht Schleswig, Az. S 20 AS 54/26" in pages[0]
    for number, text in enumerate(pages, 1):
        assert f"Blatt {number}" in text
    assert "Änderungsbescheid Seite 2" in pages[3]

    # The whole file for an inspection, the pay slip withheld with its reason.
    inspection = office.post(
        "/api/exports",
        json={
            "bg_number": OWN,
            "recipient": "Laura Beispiel (Beteiligte)",
            "legal_basis": "sgb_x_25",
            "withheld": [
                {
                    "document_id": case_file["payslip"],
                    "reason": "Schutz Dritter (§ 25 Abs. 3 SGB X)",
                }
            ],
        },
    ).json()
    assert [d["document_id"] for d in inspection["documents"]] == [
        case_file["old_decision"],
        case_file["decision"],
        case_file["payslip"],
        case_file["court"],
        case_file["objection"],
    ]
    assert inspection["withheld"] == 1 and inspection["pages"] == 2 + 1 + 2 + 1 + 1 + 1
    saved.write_bytes(office.get(inspection["pdf_url"]).content)
    placeholder = page_texts(saved)[5]
    assert "Schutz Dritter" in placeholder and "Verdienstabrechnung Oktober" not in placeholder

    # Filed in the case file: the section of exports and a note, visible to the caseworker.
    akte = client_for(runtime, CASEWORKER).get(f"/api/households/{OWN}/file").json()
    assert [(e["id"], e["legal_basis"], e["pages"]) for e in akte["exports"]] == [
        (inspection["id"], "sgb_x_25", 8),
        (record["id"], "sgg_104", 6),
    ]
    assert any(
        f"Aktenauszug Nr. {record['id']}" in note["text"] and record["sha256"] in note["text"]
        for note in akte["notes"]
    )
    with transaction(runtime.sessions) as session:
        event = session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "export.created", AuditEvent.object_id == str(record["id"])
            )
        )
        assert event.actor_login == OFFICE
        assert event.details["recipient"] == "Sozialgericht Schleswig, Az. S 20 AS 54/26"
        assert event.details["sha256"] == record["sha256"]
        assert event.details["documents"] == [d["document_id"] for d in record["documents"]]
        downloads = session.scalars(
            select(AuditEvent.actor_login).where(AuditEvent.action == "export.download")
        ).all()
        assert downloads == [OFFICE, OFFICE]


def test_export_refused_to_another_team_and_the_refusal_is_audited(
    runtime: Runtime, case_file: dict[str, str]
) -> None:
    own = client_for(runtime, CASEWORKER).post(
        "/api/exports",
        json={"bg_number": OWN, "recipient": "Prüfgruppe Kreis", "legal_basis": "pruefung"},
    )
    assert own.status_code == 201, own.text
    stranger = client_for(runtime, STRANGER)
    refused = stranger.post(
        "/api/exports",
        json={"bg_number": OWN, "recipient": "Sozialgericht", "legal_basis": "sgg_104"},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "access_denied"
    assert stranger.get(own.json()["pdf_url"]).status_code == 403
    assert stranger.get(f"/api/households/{OWN}/export-options").status_code == 403
    # The scanning desk sees no file content at all.
    assert (
        client_for(runtime, "post.1")
        .post(
            "/api/exports",
            json={"bg_number": OWN, "recipient": "x", "legal_basis": "sgg_104"},
        )
        .status_code
        == 403
    )
    with transaction(runtime.sessions) as session:
        denied = session.execute(
            select(AuditEvent.actor_login, AuditEvent.action, AuditEvent.bg_number).where(
                AuditEvent.outcome == "denied"
            )
        ).all()
    assert (STRANGER, "export.create", OWN) in denied
    assert (STRANGER, "export.download", OWN) in denied
    assert ("post.1", "export.create", OWN) in denied


def test_export_rejects_what_does_not_belong_or_is_not_ready(
    runtime: Runtime, case_file: dict[str, str]
) -> None:
    office = client_for(runtime, OFFICE)
    foreign = file_indexed(runtime, ISLANDS, "kontoauszug", "Konto")
    cases = [
        ({"legal_basis": "irgendwas"}, "legal_basis"),
        ({"recipient": "   "}, "recipient"),
        ({"document_ids": [foreign]}, "document_not_in_file"),
        (
            {"withheld": [{"document_id": case_file["payslip"], "reason": "  "}]},
            "withheld_reason",
        ),
    ]
    for change, code in cases:
        body = {"bg_number": OWN, "recipient": "Gericht", "legal_basis": "sgg_104"} | change
        answer = office.post("/api/exports", json=body)
        assert answer.status_code == 422, (change, answer.text)
        assert answer.json()["error"]["code"] in (code, "invalid_request"), answer.text
    # A document still being read has no PDF yet.
    unready = file_indexed(runtime, OWN, "sonstiges", "Brief")
    answer = office.post(
        "/api/exports",
        json={
            "bg_number": OWN,
            "recipient": "Gericht",
            "legal_basis": "sgg_104",
            "document_ids": [unready],
        },
    )
    assert answer.status_code == 422
    assert "noch nicht fertig verarbeitet" in answer.json()["error"]["message"]


def test_the_contested_decision_can_be_set_later_and_a_change_needs_a_reason(
    runtime: Runtime, case_file: dict[str, str]
) -> None:
    office = client_for(runtime, OFFICE)
    created = office.post("/api/objections", json={"document_id": case_file["objection"]})
    assert created.status_code == 201
    objection = created.json()
    assert objection["deadline"] is None and "nicht prüfbar" in objection["deadline_missing"]
    base = f"/api/objections/{objection['id']}/decision"

    # Chosen later from the file: the check appears (received 16.11., period ends 16.11.).
    later = office.post(base, json={"decision_id": case_file["decision"]})
    assert later.status_code == 200, later.text
    assert later.json()["deadline"]["on_time"] is True
    assert later.json()["deadline"]["deadline"] == "2026-11-16"

    # Switching to the July decision changes the verdict, so it needs a reason.
    switched = {"decision_id": case_file["old_decision"]}
    refused = office.post(base, json=switched)
    assert refused.status_code == 422 and "Begründung" in refused.json()["error"]["message"]
    assert office.get(f"/api/objections/{objection['id']}").json()["deadline"]["on_time"] is True
    changed = office.post(base, json=switched | {"reason": "Widerspruch richtet sich gegen Juli"})
    assert changed.status_code == 200
    assert changed.json()["deadline"]["on_time"] is False
    history = changed.json()["history"]
    assert [e["action"] for e in history].count("objection.decision_set") == 2
    assert history[-1]["details"]["reason"] == "Widerspruch richtet sich gegen Juli"
    assert history[-1]["by"] == OFFICE

    # A decision of another household's file is refused; so is a caseworker of another team.
    stranger = client_for(runtime, STRANGER)
    assert stranger.post(base, json={"decision_id": case_file["decision"]}).status_code == 403
    with runtime.sessions() as session:
        denied = session.scalars(
            select(AuditEvent).where(
                AuditEvent.actor_login == STRANGER,
                AuditEvent.action == "objection.decision_set",
            )
        ).all()
        assert [(e.outcome, e.object_id) for e in denied] == [("denied", str(objection["id"]))]
    foreign = office.post(base, json={"decision_id": str(uuid.uuid4()), "reason": "x"})
    assert foreign.status_code == 422


def test_building_an_export_does_not_hold_up_other_users(
    runtime: Runtime, case_file: dict[str, str]
) -> None:
    # A long file takes seconds to export. Meanwhile no database transaction of the export is
    # open (on SQLite it would hold the write lock), so a caseworker can still open the file.
    office = client_for(runtime, OFFICE)
    caseworker = client_for(runtime, CASEWORKER)
    fields = {"bg_number": OWN, "recipient": "Sozialgericht", "legal_basis": "sgg_104"}
    # Document PDFs are handed out only when released.
    export = partial(office.post, "/api/exports", json=fields)
    with while_held(runtime, "blobs", "open", export, when=rendition) as slow:
        akte = caseworker.get(f"/api/households/{OWN}/file")
        assert akte.status_code == 200, akte.text
        assert not slow.pending.done()
        created = slow.finish()
    assert created.status_code == 201, created.text
    export = created.json()
    assert len(export["documents"]) == 5
    # Recorded in the file, as every export is.
    akte = caseworker.get(f"/api/households/{OWN}/file").json()
    assert [e["id"] for e in akte["exports"]] == [export["id"]]
