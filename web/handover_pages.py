"""The hand-over of a file to another authority on the pages (issue 18, records.handover).

- The E-Akte shows the section "Abgabe" (templates/_akte_handover.html): the banner of a
  handed-over file, its hand-overs with their state, and the way to this page;
- GET /akte/{bg}/abgabe: the form (receiving authority; the documents in file order, each
  chosen by default, with a reason field for each left out), the hand-overs with the receiving
  side's answers, the 0401 to download and the upload of a 0402/0403;
- POST /akte/{bg}/abgabe: starts the hand-over. Done: back to this page (303) with the download;
  refused: the page again with the German error at its field and what was chosen (422);
- POST /akte/{bg}/abgabe/antwort: a 0402/0403 zip; refused messages show their problems;
- GET /akte/{bg}/abgabe/{id}/nachricht: the 0401 as sent (audited).

Every read and change goes through records.handover and its Gate.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user, get_type_names
from api.downloads import zip_answer
from core.dates import LOCAL_TZ, german
from core.db import record_after_rollback, transaction, utcnow
from core.errors import EAkteError, InvalidInput
from records import handover
from records.access import Gate
from records.models import Handover, User
from records.runtime import Runtime
from records.xdomea import MessageRefused
from web.pages import render, uploaded_file

router = APIRouter(include_in_schema=False)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # an answer is a few kB; a 0401 is not uploaded here
MAX_DOCUMENTS = 2000
SAVED = {
    "abgegeben": "Die Akte ist abgegeben. Die Abgabenachricht (0401) steht zum Herunterladen"
    " bereit; bitte sie der aufnehmenden Behörde übermitteln.",
}


@dataclass(frozen=True)
class HandoverRow:
    """One hand-over as the page shows it, every word German."""

    id: int
    recipient: str
    state: str
    state_label: str
    when: str
    who: str
    sent: int
    left_out: list[tuple[str, str]]
    received: str
    imported: str
    problem: str
    filename: str
    href: str


def _when(moment: Any) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M") if moment else ""


def rows_of(handovers: list[Handover], bg_number: str) -> list[HandoverRow]:
    return [
        HandoverRow(
            id=h.id,
            recipient=h.recipient,
            state=h.state,
            state_label=handover.STATE_LABELS.get(h.state, h.state),
            when=_when(h.created_at),
            who=h.created_by_name,
            sent=len(h.documents or []),
            left_out=sorted((h.left_out or {}).items()),
            received=_when(h.received_at),
            imported=_when(h.imported_at),
            problem=h.problem or "",
            filename=h.filename,
            href=f"/akte/{quote(bg_number)}/abgabe/{h.id}/nachricht",
        )
        for h in handovers
    ]


def section(gate: Gate, bg_number: str) -> dict[str, object]:
    """The E-Akte's context for _akte_handover.html (the page opened the file already)."""
    found = handover.file_section(gate, bg_number)
    return {
        "handover_banner": found.banner,
        "handover_may_start": found.may_start,
        "handover_rows": rows_of(found.handovers, bg_number),
    }


def _page(
    request: Request,
    runtime: Runtime,
    user: User,
    bg_number: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: str = "",
    problems: list[str] | None = None,
) -> Response:
    names = get_type_names(runtime)
    with transaction(runtime.sessions) as session:
        found = handover.plan(Gate(session, user), bg_number, names)
        number = found.household.bg_number
        context = {
            "bg_number": number,
            "banner": found.banner,
            "documents": [
                {**d.__dict__, "received": german(d.receipt_date) if d.receipt_date else "–"}
                for d in found.documents
            ],
            "rows": rows_of(found.handovers, number),
        }
    values = values or {}
    return render(
        request,
        "handover.html",
        user,
        status_code,
        errors=errors or {},
        values=values,
        left=values.get("left", {}),
        status=status or SAVED.get(request.query_params.get("gespeichert", ""), ""),
        problems=problems or [],
        **context,
    )


@router.get("/akte/{bg_number}/abgabe", response_class=HTMLResponse)
def handover_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)
    return _page(request, runtime, user, bg_number)


def _error_field(error: InvalidInput) -> str:
    field = str(error.details.get("field", ""))
    return field if field.startswith(("reason-", "recipient")) else "form"


@router.post("/akte/{bg_number}/abgabe", response_class=HTMLResponse)
async def start(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """The form: `empfaenger`, the chosen `dokument` ids, `alle` (every id on the form) and a
    `grund-<id>` for each; an id on the form and not chosen is left out with its reason."""
    user = await run_in_threadpool(current_user, request, runtime)
    form = await request.form(max_files=0, max_fields=3 * MAX_DOCUMENTS + 10)
    recipient = str(form.get("empfaenger", ""))[:1000]
    every = [str(v)[:64] for v in form.getlist("alle")]
    chosen = {str(v)[:64] for v in form.getlist("dokument")}
    left = {doc: str(form.get(f"grund-{doc}", ""))[:1000] for doc in every if doc not in chosen}

    def save() -> Response:
        try:
            with (
                transaction(runtime.sessions) as session,
                tempfile.TemporaryDirectory(prefix="eakte-0401-") as work,
            ):
                handover.start_handover(
                    Gate(session, user),
                    runtime.blobs,
                    runtime.settings,
                    bg_number,
                    recipient,
                    left,
                    Path(work),
                    utcnow(),
                    get_type_names(runtime),
                )
        except EAkteError as error:
            if error.status in (401, 403):
                raise
            record_after_rollback(runtime.sessions, error)
            field = _error_field(error) if isinstance(error, InvalidInput) else "form"
            return _page(
                request,
                runtime,
                user,
                bg_number,
                status_code=422,
                errors={field: error.message},
                values={"recipient": recipient, "chosen": chosen, "left": left, "sent": True},
            )
        target = f"/akte/{quote(bg_number)}/abgabe?gespeichert=abgegeben#abgaben"
        return RedirectResponse(target, status_code=303)

    return await run_in_threadpool(save)


@router.post("/akte/{bg_number}/abgabe/antwort", response_class=HTMLResponse)
async def upload_answer(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """The receiving side's 0402 or 0403 (zip); what changed, or its problems."""
    user = await run_in_threadpool(current_user, request, runtime)
    body, filename = await uploaded_file(request, MAX_UPLOAD_BYTES)

    def answer() -> Response:
        if not body or len(body) > MAX_UPLOAD_BYTES:
            message = (
                "Bitte die ZIP-Datei der aufnehmenden Behörde wählen (0402 oder 0403)."
                if not body
                else "Die Datei ist zu groß."
            )
            return _page(
                request, runtime, user, bg_number, status_code=422, errors={"datei": message}
            )
        try:
            with transaction(runtime.sessions) as session:
                result = handover.import_answer(
                    Gate(session, user), runtime.blobs, runtime.settings, body, filename
                )
                summary = result.summary().replace("\n", " ")
        except MessageRefused as refused:
            record_after_rollback(runtime.sessions, refused)
            return _page(
                request, runtime, user, bg_number, status_code=422,
                errors={"datei": "Die Antwort wurde abgewiesen, nichts geändert."},
                problems=refused.problems,
            )  # fmt: skip
        except EAkteError as error:
            if error.status in (401, 403):
                raise
            record_after_rollback(runtime.sessions, error)
            return _page(
                request, runtime, user, bg_number, status_code=422, errors={"datei": error.message}
            )
        return _page(request, runtime, user, bg_number, status=summary)

    return await run_in_threadpool(answer)


@router.get("/akte/{bg_number}/abgabe/{handover_id}/nachricht")
def download(bg_number: str, handover_id: int, request: Request, runtime: RuntimeDep) -> Response:
    """The 0401 as it was sent, audited."""
    user = current_user(request, runtime)
    with transaction(runtime.sessions) as session:
        data, filename = handover.handover_download(Gate(session, user), runtime.blobs, handover_id)
    return zip_answer(data, filename)
