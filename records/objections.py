"""The objection register (Widerspruch) and appeals (Klage): registration from an incoming
document, the deadline check with its computation, status with who and when, the overview."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from records import audit
from records.access import require_document_access
from records.dates import local_today
from records.db import utcnow
from records.deadlines import appeal_deadlines, inaction_warning, objection_deadline
from records.errors import AccessDenied, Conflict, InvalidInput, NotFound
from records.models import (
    OBJECTION_FORMS,
    OBJECTION_STATES,
    Appeal,
    AuditEvent,
    Document,
    Objection,
    User,
)

OPEN_STATES = ("eingegangen", "in_bearbeitung")
STATE_NAMES = {
    "eingegangen": "eingegangen",
    "in_bearbeitung": "in Bearbeitung",
    "abhilfe": "Abhilfe",
    "teilabhilfe": "Teilabhilfe",
    "zurueckgewiesen": "zurückgewiesen (Widerspruchsbescheid)",
    "zurueckgenommen": "zurückgenommen",
}
OFFICE_ROLES = ("widerspruch",)


def _require_office(user: User) -> None:
    if user.role not in OFFICE_ROLES:
        raise AccessDenied("Widersprüche und Klagen erfasst die Widerspruchsstelle.")


def _document(session: Session, user: User, document_id: uuid.UUID) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound("Dokument nicht gefunden.")
    require_document_access(session, user, document)
    if document.household is None:
        raise Conflict(
            "Das Dokument ist keinem Haushalt zugeordnet; bitte zuerst in der Klärung zuordnen.",
            code="no_household",
        )
    return document


def register_objection(
    session: Session,
    user: User,
    document_id: uuid.UUID,
    *,
    decision_id: uuid.UUID | None,
    form: str = "schriftlich",
    proven_notification: date | None = None,
    legal_remedy_notice_ok: bool = True,
    land: str = "SH",
) -> Objection:
    """One step from the incoming letter; the receipt date comes from intake, not from the user."""
    _require_office(user)
    if form not in OBJECTION_FORMS:
        raise InvalidInput(f"Unbekannte Form »{form}«.", code="objection_form")
    document = _document(session, user, document_id)
    if session.scalar(select(Objection).where(Objection.document_id == document.id)):
        raise Conflict("Zu diesem Schreiben ist bereits ein Widerspruch erfasst.", code="exists")
    decision = None
    if decision_id is not None:
        decision = session.get(Document, decision_id)
        if decision is None or decision.household_id != document.household_id:
            raise InvalidInput(
                "Der angefochtene Bescheid muss in der Akte desselben Haushalts liegen.",
                code="decision_household",
            )
    receipt = document.receipt_date or document.received_at.date()
    objection = Objection(
        household_id=document.household_id,
        document_id=document.id,
        decision_id=decision.id if decision else None,
        form=form,
        receipt_date=receipt,
        proven_notification=proven_notification,
        legal_remedy_notice_ok=legal_remedy_notice_ok,
        land=land,
        status="eingegangen",
        status_by_login=user.login,
        created_by_login=user.login,
    )
    session.add(objection)
    session.flush()
    check = deadline_of(objection, decision)
    audit.record(
        session,
        user,
        "objection.registered",
        object_type="objection",
        object_id=objection.id,
        bg_number=document.household.bg_number,
        document=str(document.id),
        decision=str(decision.id) if decision else None,
        receipt_date=receipt.isoformat(),
        on_time=check.on_time if check else None,
    )
    return objection


def deadline_of(objection: Objection, decision: Document | None = None):  # type: ignore[no-untyped-def]
    decision = decision or objection.decision
    if decision is None or decision.dispatch_date is None:
        return None
    return objection_deadline(
        dispatch_date=decision.dispatch_date,
        receipt_date=objection.receipt_date,
        land=objection.land,
        proven_notification=objection.proven_notification,
        legal_remedy_notice_ok=objection.legal_remedy_notice_ok,
    )


def correct_receipt_date(
    session: Session, user: User, objection_id: int, new_date: date, reason: str
) -> Objection:
    _require_office(user)
    objection = _objection(session, user, objection_id)
    if not reason.strip():
        raise InvalidInput("Eine Korrektur des Eingangsdatums braucht eine Begründung.")
    if new_date > local_today():
        raise InvalidInput("Das Eingangsdatum liegt in der Zukunft.")
    before = objection.receipt_date
    objection.receipt_date = new_date
    audit.record(
        session,
        user,
        "objection.receipt_date_corrected",
        object_type="objection",
        object_id=objection.id,
        bg_number=objection.household.bg_number,
        before=before.isoformat(),
        after=new_date.isoformat(),
        reason=reason.strip(),
    )
    return objection


def set_status(session: Session, user: User, objection_id: int, status: str) -> Objection:
    _require_office(user)
    if status not in OBJECTION_STATES:
        raise InvalidInput(f"Unbekannter Status »{status}«.", code="objection_status")
    objection = _objection(session, user, objection_id)
    before = objection.status
    objection.status, objection.status_by_login, objection.status_at = status, user.login, utcnow()
    audit.record(
        session,
        user,
        "objection.status",
        object_type="objection",
        object_id=objection.id,
        bg_number=objection.household.bg_number,
        before=before,
        after=status,
    )
    return objection


def _objection(session: Session, user: User, objection_id: int) -> Objection:
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise NotFound("Widerspruch nicht gefunden.")
    require_document_access(session, user, objection.document)
    return objection


def objection_out(
    session: Session, objection: Objection, today: date | None = None
) -> dict[str, Any]:
    today = today or local_today()
    check = deadline_of(objection)
    level, three_months = inaction_warning(objection.receipt_date, today)
    history = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == "objection",
            AuditEvent.object_id == str(objection.id),
        )
        .order_by(AuditEvent.at)
    ).all()
    return {
        "id": objection.id,
        "bg_number": objection.household.bg_number,
        "document_id": str(objection.document_id),
        "decision_id": str(objection.decision_id) if objection.decision_id else None,
        "form": objection.form,
        "receipt_date": objection.receipt_date.isoformat(),
        "status": objection.status,
        "status_name": STATE_NAMES[objection.status],
        "status_by": objection.status_by_login,
        "status_at": objection.status_at.isoformat(),
        "open": objection.status in OPEN_STATES,
        "age_days": (today - objection.receipt_date).days,
        "inaction": {"level": level, "three_months_end": three_months.isoformat()}
        if objection.status in OPEN_STATES
        else None,
        "deadline": None
        if check is None
        else {
            "on_time": check.on_time,
            "notification_date": check.notification_date.isoformat(),
            "deadline": check.deadline.isoformat(),
            "period": check.period,
            "summary": check.summary,
            "steps": [asdict(step) | {"value": step.value.isoformat()} for step in check.steps],
        },
        "deadline_missing": None
        if check is not None
        else "Kein angefochtener Bescheid mit Versanddatum verknüpft: die Frist ist nicht prüfbar.",
        "history": [
            {"action": e.action, "by": e.actor_login, "at": e.at.isoformat(), "details": e.details}
            for e in history
        ],
    }


def overview(session: Session, user: User, *, open_only: bool = True) -> list[Objection]:
    _require_office(user)
    query = select(Objection).options(selectinload(Objection.household))
    if open_only:
        query = query.where(Objection.status.in_(OPEN_STATES))
    objections = session.scalars(query.order_by(Objection.receipt_date)).all()
    visible = []
    for objection in objections:
        try:
            require_document_access(session, user, objection.document)
        except AccessDenied:
            continue
        visible.append(objection)
    return visible


def register_appeal(
    session: Session,
    user: User,
    document_id: uuid.UUID,
    *,
    court: str,
    file_reference: str,
    parties: str,
    served_on: date,
    court_deadline: date | None = None,
    objection_id: int | None = None,
) -> Appeal:
    _require_office(user)
    document = _document(session, user, document_id)
    if not court.strip() or not file_reference.strip():
        raise InvalidInput("Gericht und Aktenzeichen sind nötig.", code="appeal_fields")
    appeal = Appeal(
        household_id=document.household_id,
        document_id=document.id,
        objection_id=objection_id,
        court=court.strip(),
        file_reference=" ".join(file_reference.split()),
        parties=parties.strip(),
        served_on=served_on,
        court_deadline=court_deadline,
        created_by_login=user.login,
    )
    session.add(appeal)
    session.flush()
    audit.record(
        session,
        user,
        "appeal.registered",
        object_type="appeal",
        object_id=appeal.id,
        bg_number=document.household.bg_number,
        file_reference=appeal.file_reference,
    )
    return appeal


def appeal_out(appeal: Appeal) -> dict[str, Any]:
    due = appeal_deadlines(served_on=appeal.served_on, court_deadline=appeal.court_deadline)
    return {
        "id": appeal.id,
        "bg_number": appeal.household.bg_number,
        "document_id": str(appeal.document_id),
        "court": appeal.court,
        "file_reference": appeal.file_reference,
        "parties": appeal.parties,
        "served_on": appeal.served_on.isoformat(),
        "statement_due": due.statement_due.isoformat(),
        "file_due": due.file_due.isoformat(),
        "deadline_summary": due.summary,
        "status": appeal.status,
        "status_name": {"anhaengig": "anhängig", "erledigt": "erledigt"}[appeal.status],
    }
