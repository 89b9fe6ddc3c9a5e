"""The objections office: objection register with deadline check, appeals, overview."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import DbDep, GateDep, RuntimeDep
from ingest.routing import catalogue_for
from records import objections

router = APIRouter(prefix="/api", tags=["Widerspruchsstelle"])


def type_names(runtime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {rule.code: rule.name for rule in catalogue_for(runtime.settings).types}


@router.get(
    "/documents/{document_id}/legal-intake",
    summary="Erfassung aus dem Schreiben: Bescheide der Akte, Vorschläge, Angaben des Gerichts",
)
def legal_intake(
    document_id: uuid.UUID, db: DbDep, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    return objections.intake(gate, document_id, type_names(runtime))


class ObjectionIn(BaseModel):
    document_id: uuid.UUID
    decision_id: uuid.UUID | None = None
    form: str = "schriftlich"
    proven_notification: date | None = None
    legal_remedy_notice_ok: bool = True
    close_inbox_items: bool = False


@router.post("/objections", status_code=201, summary="Widerspruch aus einem Schreiben erfassen")
def create_objection(
    body: ObjectionIn, db: DbDep, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    objection = objections.register_objection(
        gate,
        body.document_id,
        decision_id=body.decision_id,
        form=body.form,
        proven_notification=body.proven_notification,
        legal_remedy_notice_ok=body.legal_remedy_notice_ok,
        close_inbox_items=body.close_inbox_items,
    )
    db.flush()
    return objections.objection_out(db, objection, names=type_names(runtime))


@router.get("/objections", summary="Offene Widersprüche nach Alter, mit Fristen und Warnungen")
def list_objections(
    db: DbDep, runtime: RuntimeDep, gate: GateDep, all: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    found = objections.overview(gate, open_only=not all)
    names = type_names(runtime)
    return {"objections": [objections.objection_out(db, o, names=names, full=False) for o in found]}


@router.get("/objections/{objection_id}", summary="Widerspruch mit Fristberechnung")
def get_objection(
    objection_id: int, db: DbDep, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    objection = objections.get_objection(gate, objection_id)
    return objections.objection_out(db, objection, names=type_names(runtime))


class StatusIn(BaseModel):
    status: str


@router.post("/objections/{objection_id}/status", summary="Status setzen")
def change_status(
    objection_id: int, body: StatusIn, db: DbDep, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    objection = objections.set_status(gate, objection_id, body.status)
    db.flush()
    return objections.objection_out(db, objection, names=type_names(runtime))


class ReceiptIn(BaseModel):
    receipt_date: date
    reason: str = Field(min_length=1, max_length=1000)


@router.post("/objections/{objection_id}/receipt-date", summary="Eingangsdatum berichtigen")
def correct_receipt(
    objection_id: int, body: ReceiptIn, db: DbDep, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    objection = objections.correct_receipt_date(gate, objection_id, body.receipt_date, body.reason)
    db.flush()
    return objections.objection_out(db, objection, names=type_names(runtime))


class DecisionIn(BaseModel):
    decision_id: uuid.UUID | None = None
    proven_notification: date | None = None
    legal_remedy_notice_ok: bool = True
    reason: str = Field(default="", max_length=1000)


@router.post(
    "/objections/{objection_id}/decision",
    summary="Angefochtenen Bescheid und Bekanntgabe nachtragen oder ändern",
)
def set_decision(
    objection_id: int, body: DecisionIn, db: DbDep, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    objection = objections.set_decision(
        gate,
        objection_id,
        decision_id=body.decision_id,
        proven_notification=body.proven_notification,
        legal_remedy_notice_ok=body.legal_remedy_notice_ok,
        reason=body.reason,
    )
    db.flush()
    return objections.objection_out(db, objection, names=type_names(runtime))


class AppealIn(BaseModel):
    document_id: uuid.UUID
    court: str = Field(min_length=1, max_length=200)
    file_reference: str = Field(min_length=1, max_length=60)
    parties: str = Field(default="", max_length=2000)
    served_on: date
    court_deadline: date | None = None
    objection_id: int | None = None
    close_inbox_items: bool = False


@router.post("/appeals", status_code=201, summary="Klage aus einem Gerichtsschreiben erfassen")
def create_appeal(body: AppealIn, db: DbDep, runtime: RuntimeDep, gate: GateDep) -> dict[str, Any]:
    appeal = objections.register_appeal(
        gate,
        body.document_id,
        court=body.court,
        file_reference=body.file_reference,
        parties=body.parties,
        served_on=body.served_on,
        court_deadline=body.court_deadline,
        objection_id=body.objection_id,
        close_inbox_items=body.close_inbox_items,
    )
    db.flush()
    return objections.appeal_out(appeal, db, type_names(runtime), full=True)


@router.get("/appeals", summary="Anhängige Klagen mit den Fristen nach § 104 SGG")
def list_appeals(
    db: DbDep, runtime: RuntimeDep, gate: GateDep, all: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    names = type_names(runtime)
    found = objections.appeals_overview(gate, open_only=not all)
    return {"appeals": [objections.appeal_out(a, db, names) for a in found]}


@router.get("/appeals/{appeal_id}", summary="Klage mit Fristen")
def get_appeal(appeal_id: int, db: DbDep, runtime: RuntimeDep, gate: GateDep) -> dict[str, Any]:
    appeal = objections.get_appeal(gate, appeal_id)
    return objections.appeal_out(appeal, db, type_names(runtime), full=True)


@router.post("/appeals/{appeal_id}/status", summary="Status der Klage setzen")
def change_appeal_status(
    appeal_id: int, body: StatusIn, db: DbDep, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    appeal = objections.set_appeal_status(gate, appeal_id, body.status)
    db.flush()
    return objections.appeal_out(appeal, db, type_names(runtime), full=True)
