"""Audits without copies on the pages (issue 18): the auditor's view, the administration's
grants, a caseworker's file inspection at the counter, and the report.

- /pruefung: the auditor's accesses; an active one links to its files, an ended or expired one
  says only "Der Zugang ist am … abgelaufen/beendet". /pruefung/{id}: the files of one access;
  /pruefung/{id}/akte/{bg}: its documents (withheld ones left out); /pruefung/{id}/dokument/{doc}:
  details and page images; .../seite/{n}: one page image; .../pdf: the watermarked download.
- /verwaltung/pruefungen: the administration's grant form (chosen households or a sample the
  product draws) and the list of accesses with their end form and report.
- /pruefungen/{id}/bericht (page) and /pruefungen/{id}/bericht.pdf (tagged PDF/A): what the
  auditor looked at; for the administration, the data protection officer and the caseworker
  who granted a file inspection.
- POST /akte/{bg}/einsicht: the E-Akte's form "Akteneinsicht am Empfang gewähren"
  (_akte_einsicht.html); /akte/{bg}/einsicht lists the inspections granted there.

Every read and change goes through records.inspection and its Gate; the request owns the
transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user, get_type_names
from api.downloads import pdf_answer
from core.dates import german
from core.db import transaction
from core.errors import InvalidInput
from records import inspection
from records.access import Capability, Gate
from records.models import AuditAccess, User
from records.runtime import Runtime
from web.pages import render, require, templates

router = APIRouter(include_in_schema=False)
# The E-Akte's form (_akte_einsicht.html) proposes today as the day of the inspection.
templates.env.globals["inspection_today"] = lambda: inspection.today().isoformat()

ADMIN_PAGE = "/verwaltung/pruefungen"
SAVED = {
    "gewaehrt": "Der Zugang wurde gewährt.",
    "beendet": "Der Zugang wurde beendet.",
}


@dataclass(frozen=True)
class AccessRow:
    """One access as the pages show it, every word German."""

    id: int
    kind: str
    auditor: str
    purpose: str
    period: str
    households: list[str]
    sample: str
    withheld: int
    active: bool
    state: str
    granted_by: str


def _row(access: AuditAccess) -> AccessRow:
    state = inspection.state_of(access)
    return AccessRow(
        id=access.id,
        kind=inspection.kind_label(access.kind),
        auditor=f"{access.auditor.name} ({access.auditor.login})",
        purpose=access.purpose,
        period=f"{german(access.starts_on)} bis {german(access.ends_on)}",
        households=[entry.bg_number for entry in access.households],
        sample=f"Stichprobe von {access.sample_size}" if access.sample_size else "ausgewählt",
        withheld=len(access.withheld or {}),
        active=state.active,
        state=state.text,
        granted_by=access.created_by_login,
    )


def _day(text: str, label: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"Bitte ein gültiges Datum für „{label}“ angeben.") from None


def _withheld_lines(text: str) -> dict[str, str]:
    """ "Dokumentnummer Grund" per line."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if parts:
            found[parts[0]] = parts[1] if len(parts) > 1 else ""
    return found


async def _form(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=400)
    return {k: v.strip()[:4000] for k, v in form.items() if isinstance(v, str)}


# --- the auditor -----------------------------------------------------------------------------


@router.get("/pruefung", response_class=HTMLResponse)
def auditor_home(request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        rows = [_row(a) for a in inspection.my_accesses(Gate(session, user))]
    return render(request, "pruefung.html", user, 200, accesses=rows)


@router.get("/pruefung/{access_id}", response_class=HTMLResponse)
def auditor_access(access_id: int, request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)
    households: list[dict[str, str]] = []
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        access = inspection.auditor_access(gate, access_id)
        row = _row(access) if access else None
        if access is not None and row is not None and row.active:
            households = [
                {"bg_number": h.bg_number, "town": h.town}
                for h in inspection.access_households(gate, access_id)
            ]
    return render(
        request,
        "pruefung_zugang.html",
        user,
        200 if row else 404,
        access=row,
        households=households,
    )


@router.get("/pruefung/{access_id}/akte/{bg_number}", response_class=HTMLResponse)
def auditor_file(access_id: int, bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)
    names = get_type_names(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        found = inspection.household_documents(gate, access_id, bg_number)
        members = ", ".join(f"{m.first_name} {m.last_name}" for m in found.household.members)
        documents = [
            {
                "id": str(d.id),
                "type": names.get(d.doc_type or "", "Dokumentart offen"),
                "receipt": german(d.receipt_date),
                "pages": str(d.page_count or len(d.pages)),
                "has_pdf": d.pdf_key is not None,
            }
            for d in found.documents
        ]
        bg = found.household.bg_number
    return render(
        request,
        "pruefung_akte.html",
        user,
        200,
        access_id=access_id,
        bg_number=bg,
        members=members,
        documents=documents,
    )


@router.get("/pruefung/{access_id}/dokument/{document_id}", response_class=HTMLResponse)
def auditor_document(
    access_id: int, document_id: uuid.UUID, request: Request, runtime: RuntimeDep
) -> Response:
    user = current_user(request, runtime)
    names = get_type_names(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        document = inspection.view_document(Gate(session, user), access_id, document_id)
        view = {
            "id": str(document.id),
            "type": names.get(document.doc_type or "", "Dokumentart offen"),
            "receipt": german(document.receipt_date),
            "letter_date": german(document.letter_date),
            "sender": document.sender or "",
            "bg_number": document.household.bg_number if document.household else "",
            "pages": [p.number for p in document.pages if p.image_key],
            "page_count": len(document.pages),
            "has_pdf": document.pdf_key is not None,
        }
    return render(request, "pruefung_dokument.html", user, 200, access_id=access_id, doc=view)


@router.get("/pruefung/{access_id}/dokument/{document_id}/seite/{number}")
def auditor_page_image(
    access_id: int, document_id: uuid.UUID, number: int, request: Request, runtime: RuntimeDep
) -> Response:
    user = current_user(request, runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        image = inspection.page_image(
            runtime.blobs, Gate(session, user), access_id, document_id, number
        )
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.get("/pruefung/{access_id}/dokument/{document_id}/pdf")
def auditor_download(
    access_id: int, document_id: uuid.UUID, request: Request, runtime: RuntimeDep
) -> Response:
    user = current_user(request, runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        name, content = inspection.download(
            runtime.blobs, Gate(session, user), access_id, document_id
        )
    return pdf_answer(content, name)


# --- the administration ----------------------------------------------------------------------


def _admin_page(
    request: Request,
    runtime: Runtime,
    user: User,
    *,
    status_code: int = 200,
    error: str = "",
    end_error: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        rows = [_row(a) for a in inspection.accesses_to_manage(gate)]
        auditors = [(u.login, u.name) for u in inspection.auditors(gate)]
    today = inspection.today()
    return render(
        request,
        "pruefungen.html",
        user,
        status_code,
        accesses=rows,
        auditors=auditors,
        error=error,
        end_error=end_error,
        values=values or {"starts_on": today.isoformat(), "ends_on": today.isoformat()},
        saved=SAVED.get(request.query_params.get("gespeichert", ""), ""),
        max_days=inspection.MAX_DAYS,
        max_sample=inspection.MAX_SAMPLE,
    )


@router.get(ADMIN_PAGE, response_class=HTMLResponse)
def admin_page(request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)
    return _admin_page(request, runtime, user)


def _grant_admin(runtime: Runtime, user: User, values: dict[str, str]) -> None:
    """The administration's grant form as records.inspection.grant_access takes it."""
    starts_on = _day(values.get("starts_on", ""), "Beginn")
    ends_on = _day(values.get("ends_on", ""), "Ende")
    sample = values.get("sample_size", "")
    if sample and not sample.isdigit():
        raise InvalidInput("Die Größe der Stichprobe ist eine Zahl von 1 bis 100.")
    with transaction(runtime.sessions) as session:
        inspection.grant_access(
            Gate(session, user),
            values.get("auditor", ""),
            "pruefung",
            values.get("purpose", ""),
            starts_on,
            ends_on,
            bg_numbers=values.get("bg_numbers", "").replace(",", " ").split(),
            sample_size=int(sample) if sample else None,
            withheld=_withheld_lines(values.get("withheld", "")),
        )


@router.post(ADMIN_PAGE, response_class=HTMLResponse)
async def admin_grant(request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    values = await _form(request)

    def save() -> Response:
        try:
            _grant_admin(runtime, user, values)
        except InvalidInput as error:
            return _admin_page(
                request, runtime, user, status_code=422, error=error.message, values=values
            )
        return RedirectResponse(f"{ADMIN_PAGE}?gespeichert=gewaehrt", status_code=303)

    return await run_in_threadpool(save)


@router.post("/pruefungen/{access_id}/beenden", response_class=HTMLResponse)
async def end_access(access_id: int, request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    values = await _form(request)
    back = values.get("zurueck", "")

    def save() -> Response:
        try:
            with transaction(runtime.sessions) as session:
                access = inspection.end_access(
                    Gate(session, user), access_id, values.get("reason", "")
                )
                bg = access.households[0].bg_number if access.households else ""
        except InvalidInput as error:
            if back == "akte":
                return _counter_page(
                    request,
                    runtime,
                    user,
                    values.get("bg", ""),
                    status_code=422,
                    error=error.message,
                )
            return _admin_page(request, runtime, user, status_code=422, end_error=error.message)
        if back == "akte" and bg:
            return RedirectResponse(
                f"/akte/{quote(bg)}/einsicht?gespeichert=beendet", status_code=303
            )
        return RedirectResponse(f"{ADMIN_PAGE}?gespeichert=beendet", status_code=303)

    return await run_in_threadpool(save)


def _report(runtime: Runtime, user: User, access_id: int) -> inspection.InspectionReport:
    with transaction(runtime.sessions, read_only=True) as session:
        report = inspection.access_report(Gate(session, user), access_id)
        # Everything the page and the PDF need, read while the session is open.
        _ = (report.access.auditor.name, list(report.access.households))
        session.expunge_all()
    return report


@router.get("/pruefungen/{access_id}/bericht", response_class=HTMLResponse)
def report_page(access_id: int, request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)
    report = _report(runtime, user, access_id)
    return render(
        request,
        "pruefung_bericht.html",
        user,
        200,
        report=report,
        access=report.access,
        kind=inspection.kind_label(report.access.kind),
        period=f"{german(report.access.starts_on)} bis {german(report.access.ends_on)}",
    )


@router.get("/pruefungen/{access_id}/bericht.pdf")
def report_download(access_id: int, request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)
    report = _report(runtime, user, access_id)
    return pdf_answer(inspection.report_pdf(report), f"Pruefbericht_{access_id}.pdf")


# --- the caseworker's file inspection at the counter -----------------------------------------


def _counter_page(
    request: Request,
    runtime: Runtime,
    user: User,
    bg_number: str,
    *,
    status_code: int = 200,
    error: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    names = get_type_names(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        found = inspection.counter_file(gate, bg_number)
        bg = found.household.bg_number
        documents = [
            {
                "id": str(d.id),
                "label": f"{names.get(d.doc_type or '', 'Dokumentart offen')} vom "
                f"{german(d.receipt_date)}",
            }
            for d in found.documents
        ]
        rows = [_row(a) for a in inspection.granted_by_me(gate, bg)]
    return render(
        request,
        "einsicht.html",
        user,
        status_code,
        bg_number=bg,
        accesses=rows,
        counter_documents=documents,
        counter_error=error,
        counter_values=values or {},
        saved=SAVED.get(request.query_params.get("gespeichert", ""), ""),
    )


@router.get("/akte/{bg_number}/einsicht", response_class=HTMLResponse)
def counter_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)
    require(runtime, user, Capability.CASE_FILES, "inspection.grant")
    return _counter_page(request, runtime, user, bg_number)


@router.post("/akte/{bg_number}/einsicht", response_class=HTMLResponse)
async def counter_grant(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    values = await _form(request)
    withheld = {
        key.removeprefix("grund-"): value
        for key, value in values.items()
        if key.startswith("grund-") and value
    }

    def save() -> Response:
        try:
            starts_on = _day(values.get("starts_on", ""), "Beginn")
            ends_on = _day(values.get("ends_on", ""), "Ende")
            with transaction(runtime.sessions) as session:
                inspection.grant_access(
                    Gate(session, user),
                    values.get("auditor", ""),
                    "akteneinsicht",
                    values.get("purpose", "") or "Akteneinsicht am Empfang",
                    starts_on,
                    ends_on,
                    bg_numbers=[bg_number],
                    withheld=withheld,
                )
        except InvalidInput as error:
            return _counter_page(
                request,
                runtime,
                user,
                bg_number,
                status_code=422,
                error=error.message,
                values=values,
            )
        return RedirectResponse(
            f"/akte/{quote(bg_number)}/einsicht?gespeichert=gewaehrt", status_code=303
        )

    return await run_in_threadpool(save)
