"""The dialog that registers an incoming letter as an objection (Widerspruch) or an appeal
(Klage), rendered here as a partial: web/static/legal.js fetches it into its <dialog> (from the
Postkorb and from the viewer window) and posts the form back. The answer is the partial again:
the form with the errors at their fields and everything typed kept (422), the warning of an
objection registered already for the same letter or decision (409, which the script asks to
confirm), or the result (on time or late, the dates for the court).

Every label (the decisions, forms, states, dates, where a value was read) is made here; the
services and their checks are those of the JSON API (records.objections), through the gate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user, get_type_names
from core.dates import german
from core.db import transaction
from core.errors import Conflict, EAkteError, InvalidInput, NotFound
from records import objections
from records.access import Gate
from records.models import Document, User
from records.runtime import Runtime
from web.pages import render

router = APIRouter(include_in_schema=False)

TEMPLATE = "_legal_dialog.html"
KINDS = {"objection": "Widerspruch", "appeal": "Klage (Schreiben des Sozialgerichts)"}
EXAMPLE_REFERENCE = "S 12 AS 345/26"
# What an appeal cannot be registered without, and where the caseworker finds it.
APPEAL_NEEDS = {
    "court": "Bitte das Gericht angeben: es steht im Briefkopf des Schreibens "
    "(z. B. Sozialgericht Schleswig).",
    "file_reference": "Bitte das Aktenzeichen des Gerichts eintragen: es steht im Schreiben des "
    f"Gerichts oben, bei »Aktenzeichen« oder »Az.« (z. B. {EXAMPLE_REFERENCE}).",
    "served_on": "Bitte das Zustelldatum angeben: Eingangsstempel oder Zustellungsurkunde des "
    "Schreibens.",
}
LIMITS = {"court": 200, "file_reference": 60, "parties": 2000}
DATE_FIELDS = ("proven_notification", "served_on", "court_deadline")
# Which field a refusal of records.objections is about, by its code.
ERROR_FIELDS = {
    "decision_household": "decision_id",
    "objection_form": "form",
    "served_on": "served_on",
    "court_deadline": "court_deadline",
    "objection_household": "objection_id",
}
NO_DECISION = (
    "In der Akte liegt kein Bescheid. Bescheide werden in der E-Akte unter »Hinzufügen« mit "
    "Versanddatum abgelegt."
)


@dataclass
class Entry:
    """The form as shown: values (as read from the letter, or as typed), errors by field, a
    general error, and a warning to confirm (the same letter or decision registered already)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: str = ""
    confirm: str = ""


def _decision_label(decision: Document, names: dict[str, str]) -> str:
    kind = names.get(decision.doc_type or "", "") or "Bescheid"
    sent = (
        f"versandt am {german(decision.dispatch_date)}"
        if decision.dispatch_date
        else "ohne Versanddatum"
    )
    return f"{kind} – {sent} ({decision.source_name})"


def _first_values(intake: objections.LegalIntake) -> dict[str, str]:
    facts = intake.appeal
    return {
        "kind": intake.kind,
        "decision_id": str(intake.suggested.id) if intake.suggested else "",
        "form": next(iter(objections.FORM_NAMES)),
        "notice_missing": "",
        "proven_notification": "",
        "court": facts["court"],
        "file_reference": facts["file_reference"],
        "parties": facts["parties"],
        "served_on": facts["served_on"],
        "court_deadline": facts["court_deadline"] or "",
        "objection_id": "",
        "close_inbox_items": "on",
    }


def _form_view(intake: objections.LegalIntake, names: dict[str, str]) -> dict[str, Any]:
    """What the form shows about the letter, its household and its file, every label German."""
    document = intake.document
    facts = intake.appeal
    deadline_note = facts["court_deadline_source"]
    return {
        "id": str(document.id),
        "title": f"{names.get(document.doc_type or '', 'Dokumentart offen')} · "
        f"{document.source_name}",
        "context": f"BG {intake.bg_number} · {intake.household_name} · "
        f"Eingang {german(intake.receipt_date)} ({intake.receipt_source})",
        "decisions": [(str(d.id), _decision_label(d, names)) for d in intake.decisions],
        "suggestion": f"Vorschlag: {intake.decision_suggestion}"
        if intake.decision_suggestion
        else ("" if intake.decisions else NO_DECISION),
        "forms": list(objections.FORM_NAMES.items()),
        "objections": [
            (
                str(o.id),
                f"Widerspruch Nr. {o.id}, Eingang {german(o.receipt_date)} "
                f"({objections.STATE_NAMES.get(o.status, o.status)})",
            )
            for o in intake.objections
        ],
        "reference_hint": facts["file_reference_source"]
        or "Nicht aus dem Schreiben erkannt: bitte aus dem Schreiben des Gerichts übernehmen "
        f"(oben, bei »Aktenzeichen« oder »Az.«, z. B. {EXAMPLE_REFERENCE}).",
        "served_on_source": facts["served_on_source"],
        "deadline_hint": f"berechnet aus {deadline_note}"
        if deadline_note
        else "Ohne Datum gilt intern Zustellung + 4 Wochen.",
    }


def _dialog(
    request: Request, runtime: Runtime, user: User, document_id: uuid.UUID, entry: Entry | None
) -> Response:
    """The dialog for the letter: its form (`entry`: after a refusal), "already registered"
    with a link, or why it cannot be registered."""
    names = get_type_names(runtime)
    try:
        with transaction(runtime.sessions, read_only=True) as session:
            intake = objections.intake(Gate(session, user), document_id)
            view = _form_view(intake, names)
            first = _first_values(intake)
            existing = intake.objection_id, intake.appeal_id
    except EAkteError as error:
        return render(request, TEMPLATE, user, error.status, refused=error.message)
    if entry is None and any(existing):
        return render(request, TEMPLATE, user, objection_id=existing[0], appeal_id=existing[1])
    entry = entry or Entry(first)
    status = 409 if entry.confirm else 422 if entry.errors or entry.general else 200
    return render(
        request,
        TEMPLATE,
        user,
        status,
        letter=view,
        entry=entry,
        kinds=KINDS,
        action=f"/dokument/{document_id}/erfassen",
    )


def _wanted(document_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(document_id)
    except ValueError:
        raise NotFound("Dokument nicht gefunden.") from None


@router.get("/dokument/{document_id}/erfassen", response_class=HTMLResponse)
def legal_dialog(document_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """The registration dialog of a letter (a partial for legal.js)."""
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    try:
        wanted = _wanted(document_id)
    except NotFound as error:
        return render(request, TEMPLATE, user, error.status, refused=error.message)
    return _dialog(request, runtime, user, wanted, None)


def _parse(posted: dict[str, str]) -> tuple[dict[str, date | None], dict[str, str]]:
    """The dates of the form, and the errors found before anything is sent."""
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name in DATE_FIELDS:
        text = posted.get(name, "").strip()
        try:
            days[name] = date.fromisoformat(text) if text else None
        except ValueError:
            errors[name] = "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."
    if posted.get("kind") == "appeal":
        for name, message in APPEAL_NEEDS.items():
            if not posted.get(name, "").strip() and name not in errors:
                errors[name] = message
        for name, limit in LIMITS.items():
            if len(posted.get(name, "")) > limit:
                errors[name] = f"Höchstens {limit} Zeichen."
    return days, errors


@dataclass(frozen=True)
class Registered:
    """What the result view shows."""

    kind: str
    id: int
    heading: str
    verdict: str
    verdict_class: str
    link: str
    link_text: str
    file_reference: str = ""


def _register(
    runtime: Runtime, user: User, document_id: uuid.UUID, posted: dict[str, str]
) -> Registered | Entry:
    """Register what the form says; the result, or the form with the errors (input kept)."""
    typed = {name: posted.get(name, "") for name in _EMPTY}
    days, errors = _parse(posted)
    if errors:
        return Entry(typed, errors)
    close = posted.get("close_inbox_items") == "on"
    try:
        decision = uuid.UUID(posted["decision_id"]) if posted.get("decision_id") else None
    except ValueError:
        return Entry(typed, {"decision_id": "Bitte einen Bescheid aus der Liste wählen."})
    try:
        with transaction(runtime.sessions) as session:
            gate = Gate(session, user)
            if posted.get("kind") == "appeal":
                linked = posted.get("objection_id", "")
                served_on = days["served_on"]
                assert served_on is not None  # checked in _parse
                appeal = objections.register_appeal(
                    gate,
                    document_id,
                    court=posted["court"].strip(),
                    file_reference=posted["file_reference"].strip(),
                    parties=posted.get("parties", "").strip(),
                    served_on=served_on,
                    court_deadline=days["court_deadline"],
                    objection_id=int(linked) if linked.isdigit() else None,
                    close_inbox_items=close,
                )
                session.flush()
                due = objections.appeal_view(session, appeal).due
                return Registered(
                    "appeal",
                    appeal.id,
                    f"Klage {appeal.file_reference} erfasst",
                    due.summary,
                    "",
                    f"/klagen/{appeal.id}",
                    "Zur Klage",
                    appeal.file_reference,
                )
            objection = objections.register_objection(
                gate,
                document_id,
                decision_id=decision,
                form=posted.get("form", "schriftlich"),
                proven_notification=days["proven_notification"],
                legal_remedy_notice_ok=posted.get("notice_missing") != "on",
                close_inbox_items=close,
                confirm_duplicate=posted.get("confirm_duplicate") == "1",
            )
            session.flush()
            view = objections.objection_view(session, objection)
            check = view.deadline
            return Registered(
                "objection",
                objection.id,
                f"Widerspruch Nr. {objection.id} erfasst",
                check.summary if check else (view.deadline_missing or ""),
                ("on-time" if check.on_time else "late") if check else "unknown",
                f"/widersprueche/{objection.id}",
                "Zum Widerspruch (Fristberechnung Schritt für Schritt)",
            )
    except Conflict as error:
        if error.code == "objection_duplicate":
            return Entry(typed, confirm=error.message)
        return Entry(typed, general=error.message)
    except InvalidInput as error:
        at_field = ERROR_FIELDS.get(error.code or "")
        if at_field:
            return Entry(typed, {at_field: error.message})
        return Entry(typed, general=error.message)


_EMPTY = (
    "kind",
    "decision_id",
    "form",
    "notice_missing",
    "proven_notification",
    "court",
    "file_reference",
    "parties",
    "served_on",
    "court_deadline",
    "objection_id",
    "close_inbox_items",
)


@router.post("/dokument/{document_id}/erfassen", response_class=HTMLResponse)
async def legal_dialog_sent(document_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """The form sent: the result, or the form again with the errors at their fields."""
    user = await run_in_threadpool(current_user, request, runtime)
    try:
        wanted = _wanted(document_id)
    except NotFound as error:
        return render(request, TEMPLATE, user, error.status, refused=error.message)
    form = await request.form(max_files=0, max_fields=30)
    posted = {k: v for k, v in form.items() if isinstance(v, str)}
    answer = await run_in_threadpool(_register, runtime, user, wanted, posted)
    if isinstance(answer, Entry):
        return await run_in_threadpool(_dialog, request, runtime, user, wanted, answer)
    return render(request, TEMPLATE, user, 200, registered=answer)
