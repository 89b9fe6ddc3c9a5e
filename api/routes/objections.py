"""The objections office: objection register with deadline check, appeals, overview."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import DbDep, UserDep
from records import objections
from records.errors import NotFound
from records.models import Appeal

router = APIRouter(prefix="/api", tags=["Widerspruchsstelle"])


class ObjectionIn(BaseModel):
    document_id: uuid.UUID
    decision_id: uuid.UUID | None = None
    form: str = "schriftlich"
    proven_notification: date | None = None
    legal_remedy_notice_ok: bool = True


@router.post("/objections", status_code=201, summary="Widerspruch aus einem Schreiben erfassen")
def create_objection(body: ObjectionIn, db: DbDep, user: UserDep) -> dict[str, Any]:
    objection = objections.register_objection(
        db,
        user,
        body.document_id,
        decision_id=body.decision_id,
        form=body.form,
        proven_notification=body.proven_notification,
        legal_remedy_notice_ok=body.legal_remedy_notice_ok,
    )
    db.flush()
    return objections.objection_out(db, objection)


@router.get("/objections", summary="Offene Widersprüche nach Alter, mit Fristen und Warnungen")
def list_objections(
    db: DbDep, user: UserDep, all: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    found = objections.overview(db, user, open_only=not all)
    return {"objections": [objections.objection_out(db, o) for o in found]}


@router.get("/objections/{objection_id}", summary="Widerspruch mit Fristberechnung")
def get_objection(objection_id: int, db: DbDep, user: UserDep) -> dict[str, Any]:
    return objections.objection_out(db, objections._objection(db, user, objection_id))


class StatusIn(BaseModel):
    status: str


@router.post("/objections/{objection_id}/status", summary="Status setzen")
def change_status(objection_id: int, body: StatusIn, db: DbDep, user: UserDep) -> dict[str, Any]:
    objection = objections.set_status(db, user, objection_id, body.status)
    db.flush()
    return objections.objection_out(db, objection)


class ReceiptIn(BaseModel):
    receipt_date: date
    reason: str = Field(min_length=1, max_length=1000)


@router.post("/objections/{objection_id}/receipt-date", summary="Eingangsdatum berichtigen")
def correct_receipt(objection_id: int, body: ReceiptIn, db: DbDep, user: UserDep) -> dict[str, Any]:
    objection = objections.correct_receipt_date(
        db, user, objection_id, body.receipt_date, body.reason
    )
    db.flush()
    return objections.objection_out(db, objection)


class AppealIn(BaseModel):
    document_id: uuid.UUID
    court: str = Field(min_length=1, max_length=200)
    file_reference: str = Field(min_length=1, max_length=60)
    parties: str = Field(default="", max_length=2000)
    served_on: date
    court_deadline: date | None = None
    objection_id: int | None = None


@router.post("/appeals", status_code=201, summary="Klage aus einem Gerichtsschreiben erfassen")
def create_appeal(body: AppealIn, db: DbDep, user: UserDep) -> dict[str, Any]:
    appeal = objections.register_appeal(
        db,
        user,
        body.document_id,
        court=body.court,
        file_reference=body.file_reference,
        parties=body.parties,
        served_on=body.served_on,
        court_deadline=body.court_deadline,
        objection_id=body.objection_id,
    )
    return objections.appeal_out(appeal)


@router.get("/appeals/{appeal_id}", summary="Klage mit Fristen")
def get_appeal(appeal_id: int, db: DbDep, user: UserDep) -> dict[str, Any]:
    appeal = db.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound("Klage nicht gefunden.")
    objections._document(db, user, appeal.document_id)
    return objections.appeal_out(appeal)
