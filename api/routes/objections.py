"""The objections office: objection register with deadline check, appeals, overview."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import DbDep, GateDep, TypeNamesDep
from api.schemas import (
    AppealOut,
    AppealsOut,
    LegalIntakeOut,
    ObjectionOut,
    ObjectionsOut,
)
from records import objections
from records.models import Appeal, Objection

router = APIRouter(prefix="/api", tags=["Widerspruchsstelle"])


def _objection(db: Session, objection: Objection, names: dict[str, str]) -> ObjectionOut:
    view = objections.objection_view(db, objection)
    return ObjectionOut.model_validate(view, context={"names": names})


def _appeal(db: Session, appeal: Appeal, names: dict[str, str]) -> AppealOut:
    return AppealOut.model_validate(objections.appeal_view(db, appeal), context={"names": names})


@router.get(
    "/documents/{document_id}/legal-intake",
    response_model=LegalIntakeOut,
    summary="Erfassung aus dem Schreiben: Bescheide der Akte, Vorschläge, Angaben des Gerichts",
)
def legal_intake(document_id: uuid.UUID, names: TypeNamesDep, gate: GateDep) -> LegalIntakeOut:
    return LegalIntakeOut.of(objections.intake(gate, document_id), names)


class ObjectionIn(BaseModel):
    document_id: uuid.UUID
    decision_id: uuid.UUID | None = None
    form: str = "schriftlich"
    proven_notification: date | None = None
    legal_remedy_notice_ok: bool = True
    close_inbox_items: bool = False
    # Register although the same letter (read twice) or the same decision has an objection.
    confirm_duplicate: bool = False


@router.post(
    "/objections",
    response_model=ObjectionOut,
    status_code=201,
    summary="Widerspruch aus einem Schreiben erfassen",
)
def create_objection(
    body: ObjectionIn, db: DbDep, names: TypeNamesDep, gate: GateDep
) -> ObjectionOut:
    objection = objections.register_objection(gate, **body.model_dump())
    return _objection(db, objection, names)


@router.get(
    "/objections",
    response_model=ObjectionsOut,
    summary="Offene Widersprüche nach Alter, mit Fristen und Warnungen",
)
def list_objections(
    db: DbDep, names: TypeNamesDep, gate: GateDep, all: Annotated[bool, Query()] = False
) -> ObjectionsOut:
    found = objections.overview(gate, open_only=not all)
    views = objections.case_views(db, found, full=False)
    return ObjectionsOut.model_validate({"objections": views}, context={"names": names})


@router.get(
    "/objections/{objection_id}",
    response_model=ObjectionOut,
    summary="Widerspruch mit Fristberechnung",
)
def get_objection(objection_id: int, db: DbDep, names: TypeNamesDep, gate: GateDep) -> ObjectionOut:
    objection = objections.get_objection(gate, objection_id)
    return _objection(db, objection, names)


class StatusIn(BaseModel):
    status: str


@router.post(
    "/objections/{objection_id}/status", response_model=ObjectionOut, summary="Status setzen"
)
def change_status(
    objection_id: int, body: StatusIn, db: DbDep, names: TypeNamesDep, gate: GateDep
) -> ObjectionOut:
    objection = objections.set_status(gate, objection_id, body.status)
    return _objection(db, objection, names)


class ReceiptIn(BaseModel):
    receipt_date: date
    reason: str = Field(min_length=1, max_length=1000)


@router.post(
    "/objections/{objection_id}/receipt-date",
    response_model=ObjectionOut,
    summary="Eingangsdatum berichtigen",
)
def correct_receipt(
    objection_id: int, body: ReceiptIn, db: DbDep, names: TypeNamesDep, gate: GateDep
) -> ObjectionOut:
    objection = objections.correct_receipt_date(gate, objection_id, body.receipt_date, body.reason)
    return _objection(db, objection, names)


class DecisionIn(BaseModel):
    decision_id: uuid.UUID | None = None
    proven_notification: date | None = None
    legal_remedy_notice_ok: bool = True
    reason: str = Field(default="", max_length=1000)


@router.post(
    "/objections/{objection_id}/decision",
    response_model=ObjectionOut,
    summary="Angefochtenen Bescheid und Bekanntgabe nachtragen oder ändern",
)
def set_decision(
    objection_id: int, body: DecisionIn, db: DbDep, names: TypeNamesDep, gate: GateDep
) -> ObjectionOut:
    objection = objections.set_decision(gate, objection_id, **body.model_dump())
    return _objection(db, objection, names)


class AppealIn(BaseModel):
    document_id: uuid.UUID
    court: str = Field(min_length=1, max_length=200)
    file_reference: str = Field(min_length=1, max_length=60)
    parties: str = Field(default="", max_length=2000)
    served_on: date
    court_deadline: date | None = None
    objection_id: int | None = None
    close_inbox_items: bool = False


@router.post(
    "/appeals",
    response_model=AppealOut,
    status_code=201,
    summary="Klage aus einem Gerichtsschreiben erfassen",
)
def create_appeal(body: AppealIn, db: DbDep, names: TypeNamesDep, gate: GateDep) -> AppealOut:
    appeal = objections.register_appeal(gate, **body.model_dump())
    return _appeal(db, appeal, names)


@router.get(
    "/appeals", response_model=AppealsOut, summary="Anhängige Klagen mit den Fristen nach § 104 SGG"
)
def list_appeals(
    db: DbDep, names: TypeNamesDep, gate: GateDep, all: Annotated[bool, Query()] = False
) -> AppealsOut:
    found = objections.appeals_overview(gate, open_only=not all)
    views = objections.case_views(db, found, full=False)
    return AppealsOut.model_validate({"appeals": views}, context={"names": names})


@router.get("/appeals/{appeal_id}", response_model=AppealOut, summary="Klage mit Fristen")
def get_appeal(appeal_id: int, db: DbDep, names: TypeNamesDep, gate: GateDep) -> AppealOut:
    appeal = objections.get_appeal(gate, appeal_id)
    return _appeal(db, appeal, names)


@router.post(
    "/appeals/{appeal_id}/status", response_model=AppealOut, summary="Status der Klage setzen"
)
def change_appeal_status(
    appeal_id: int, body: StatusIn, db: DbDep, names: TypeNamesDep, gate: GateDep
) -> AppealOut:
    appeal = objections.set_appeal_status(gate, appeal_id, body.status)
    return _appeal(db, appeal, names)


class CourtDataIn(BaseModel):
    # Empty court or file reference: the service says in German where on the letter they are.
    court: str = Field(max_length=200)
    file_reference: str = Field(max_length=60)
    parties: str = Field(default="", max_length=2000)
    court_deadline: date | None = None
    reason: str = Field(default="", max_length=1000)


@router.post(
    "/appeals/{appeal_id}/court",
    response_model=AppealOut,
    summary="Angaben des Gerichts berichtigen (Gericht, Aktenzeichen, Beteiligte, Frist)",
)
def correct_court_data(
    appeal_id: int, body: CourtDataIn, db: DbDep, names: TypeNamesDep, gate: GateDep
) -> AppealOut:
    appeal = objections.set_court_data(gate, appeal_id, **body.model_dump())
    return _appeal(db, appeal, names)
