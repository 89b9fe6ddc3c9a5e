"""Shared helpers of the court folder tests (issue 18, court18): a household's file with an
appeal, and the court folder made through the services as the page makes it."""

from __future__ import annotations

import io
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from core.db import transaction
from records import court_folder, file_exports
from records.access import Gate
from records.models import Document, FileExport, Page, User
from records.runtime import Runtime
from tests.support import (
    OWN,
    REPO,
    Sheet,
    client_for,
    file_indexed,
    load_people,
    register_appeal,
    scan_pdf,
)

XJUSTIZ_DIR = REPO.parent / "shared" / "standards" / "xjustiz-3.5.1"
OFFICE = "ws.1"
OFFICE_TEAM = "team:Widerspruchsstelle"
COURT_LETTER = (
    "Sozialgericht Schleswig\nBrockdorff-Rantzau-Straße 13, 24837 Schleswig\n"
    "Aktenzeichen: S 20 AS 54/26\nDatum: 29.10.2026\n"
    "In dem Rechtsstreit Laura Beispiel ./. Jobcenter Kreis Nordfriesland\n"
    "wird Ihnen die beigefügte Klageschrift zugestellt. Sie werden gebeten, binnen eines\n"
    "Monats zur Klage Stellung zu nehmen und die Verwaltungsakten vorzulegen (§ 104 SGG)."
)
# OWN's file, by name: type, indexed text, target, its PDF's pages, details.
CASE_FILE: dict[str, tuple[str, str, str, list[str], dict[str, object]]] = {
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
        {"receipt_date": date(2026, 11, 16), "stamp_date": date(2026, 11, 16),
         "sender": "Łukasz Nguyễn"},
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


def with_pdf(runtime: Runtime, document_id: str, texts: list[str], tmp: Path, **fields) -> None:
    """Give a filed document its searchable PDF (as the pipeline would) and details."""
    pdf = scan_pdf(tmp / f"{document_id}.pdf", [Sheet(text) for text in texts])
    key = f"renditions/{document_id}.pdf"
    stored = runtime.blobs.put(key, io.BytesIO(pdf.read_bytes()))
    with transaction(runtime.sessions) as session:
        document = session.get(Document, uuid.UUID(document_id))
        document.pdf_key, document.pdf_sha256 = key, stored.sha256
        document.page_count = len(texts)
        document.pages.clear()
        session.flush()
        document.pages.extend(Page(number=n, text=t) for n, t in enumerate(texts, 1))
        for name, value in fields.items():
            setattr(document, name, value)


def file_case(
    runtime: Runtime,
    case: dict[str, tuple[str, str, str, list[str], dict[str, object]]],
    tmp: Path,
) -> dict[str, str]:
    """OWN's documents as `case` names them (type, indexed text, target, PDF pages, details),
    filed, indexed and given their PDFs: the document ids by name."""
    docs = {
        name: file_indexed(runtime, OWN, doc_type, indexed, target=target)
        for name, (doc_type, indexed, target, _pages, _details) in case.items()
    }
    for name, (_doc_type, _indexed, _target, pages, details) in case.items():
        with_pdf(runtime, docs[name], pages, tmp, **details)
    return docs


def case_with_appeal(
    runtime: Runtime, tmp: Path, *, people: bool = True
) -> tuple[dict[str, str], int]:
    """OWN's file (decision, pay slip, objection, court letter) and the appeal the court's
    letter starts, registered by the Widerspruchsstelle: (document ids by name, appeal id).
    `people`: load the sample people first (the live server's fixture has)."""
    if people:
        load_people(runtime)
    docs = file_case(runtime, CASE_FILE, tmp)
    office = client_for(runtime, OFFICE)
    facts = office.get(f"/api/documents/{docs['court']}/legal-intake").json()["appeal"]
    appeal = register_appeal(office, docs["court"], facts)
    return docs, appeal["id"]


def make_folder(
    runtime: Runtime,
    appeal_id: int,
    *,
    document_ids: list[str] | None = None,
    withheld: dict[str, str] | None = None,
    xjustiz_dir: Path = XJUSTIZ_DIR,
    court_code: str | None = None,
    **limits: Any,
) -> FileExport:
    """The court folder as the page makes it: planned, built, recorded (three steps)."""
    names = {"bescheid": "Bescheid (Postausgang)", "widerspruch": "Widerspruch"}
    with transaction(runtime.sessions) as session:
        user = session.query(User).filter_by(login=OFFICE).one()
        plan = court_folder.plan_court_folder(
            Gate(session, user),
            runtime.blobs,
            OWN,
            names,
            appeal_id=appeal_id,
            xjustiz_dir=xjustiz_dir,
            document_ids=[uuid.UUID(d) for d in document_ids] if document_ids else None,
            withheld={uuid.UUID(k): v for k, v in (withheld or {}).items()},
            court_code=court_code,
            job_centre="Jobcenter Kreis Nordfriesland",
        )
    built = court_folder.build_court_folder(plan, runtime.blobs, **limits)
    with transaction(runtime.sessions) as session:
        user = session.query(User).filter_by(login=OFFICE).one()
        record = file_exports.record_court_folder(
            Gate(session, user), plan.export, built.parts, built.listed, built.pages
        )
        session.flush()
        session.expunge(record)
        return record
