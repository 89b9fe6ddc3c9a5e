"""The desk's take-over page (/uebernahme, Capability.CLEARING): uploading another authority's
xdomea 0401 (records.takeover.import_0401), the list of take-overs, assigning one that waits
in clearing to a household by its BG number, and downloading our 0402 answers.

Every form posts to its own address and leads back (303) with a note of what was done; a
refused message shows the page again with its German problems (status 422), nothing stored;
an unknown BG number shows the error at its field. No script.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user
from api.downloads import zip_answer
from core.dates import LOCAL_TZ, german
from core.db import record_after_rollback, transaction
from core.errors import EAkteError
from ingest.filing import catalogue_for
from records import takeover as takeovers
from records.access import Gate
from records.models import User
from records.runtime import Runtime
from web.pages import render, uploaded_file

router = APIRouter(include_in_schema=False)

PAGE = "/uebernahme"
MAX_UPLOAD_BYTES = 500 * 1024 * 1024
REFUSED = "Die Abgabe wurde abgewiesen; nichts wurde übernommen."


@dataclass(frozen=True)
class PersonRow:
    name: str
    born: str


@dataclass(frozen=True)
class TakeoverRow:
    id: int
    state: str
    state_label: str
    sender: str
    sender_file_ref: str
    documents: int
    household: str
    created: str
    filename: str
    persons: list[PersonRow]
    has_answer: bool


def _born(value: Any) -> str:
    try:
        return german(datetime.fromisoformat(str(value)).date()) if value else "unbekannt"
    except ValueError:
        return "unbekannt"


def _rows(gate: Gate) -> list[TakeoverRow]:
    return [
        TakeoverRow(
            id=t.id,
            state=t.state,
            state_label=takeovers.STATE_LABELS.get(t.state, t.state),
            sender=t.sender,
            sender_file_ref=t.sender_file_ref or "–",
            documents=t.document_count,
            household=t.household.bg_number if t.household else "",
            created=t.created_at.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M"),
            filename=t.filename,
            persons=[
                PersonRow(
                    f"{p.get('given_names') or ''} {p.get('family_name') or ''}".strip(),
                    _born(p.get("birth_date")),
                )
                for p in t.persons
            ],
            has_answer=t.answer_key is not None,
        )
        for t in takeovers.takeovers(gate)
    ]


def _page(
    request: Request,
    runtime: Runtime,
    user: User,
    *,
    status: str = "",
    error: str = "",
    problems: list[str] | None = None,
    uploaded: str = "",
    assign_error: tuple[int, str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with transaction(runtime.sessions, read_only=True) as session:
        rows = _rows(Gate(session, user))
    done = request.query_params.get("erledigt", "")
    return render(
        request,
        "takeover.html",
        user,
        status_code,
        takeovers=rows,
        status=status or _done_note(done, request.query_params.get("bg", "")),
        error=error,
        problems=problems or [],
        uploaded=uploaded,
        assign_error=assign_error,
    )


def _done_note(done: str, bg_number: str) -> str:
    if done == "abgelegt":
        return f"Die Akte ist übernommen und in der Bedarfsgemeinschaft {bg_number} abgelegt."
    if done == "klaerung":
        return (
            "Die Akte ist übernommen und wartet auf die Zuordnung zu einer "
            "Bedarfsgemeinschaft (unten)."
        )
    if done == "zugeordnet":
        return f"Die Übernahme ist der Bedarfsgemeinschaft {bg_number} zugeordnet."
    return ""


@router.get(PAGE, response_class=HTMLResponse)
def takeover_page(request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)
    return _page(request, runtime, user)


@router.post(PAGE, response_class=HTMLResponse)
async def upload(request: Request, runtime: RuntimeDep) -> Response:
    """A 0401 zip: filed, waiting in clearing, or refused with its problems."""
    user = await run_in_threadpool(current_user, request, runtime)
    body, filename = await uploaded_file(request, MAX_UPLOAD_BYTES)
    if not body or len(body) > MAX_UPLOAD_BYTES:
        message = (
            "Bitte eine ZIP-Datei der Abgabe wählen." if not body else "Die Datei ist zu groß."
        )
        return await run_in_threadpool(
            lambda: _page(request, runtime, user, error=message, status_code=422)
        )

    def answer() -> Response:
        types = catalogue_for(runtime.settings, runtime.sessions).types
        try:
            with transaction(runtime.sessions) as session:
                imported = takeovers.import_0401(
                    Gate(session, user), runtime, body, filename, datetime.now(UTC), types
                )
                household = imported.takeover.household
                bg_number = household.bg_number if household else ""
        except takeovers.TakeoverRefused as refused:
            record_after_rollback(runtime.sessions, refused)
            return _page(
                request, runtime, user, error=REFUSED, problems=refused.problems,
                uploaded=filename, status_code=422,
            )  # fmt: skip
        except EAkteError as error:
            if error.status in (401, 403):
                raise
            record_after_rollback(runtime.sessions, error)
            return _page(request, runtime, user, error=error.message, status_code=422)
        if bg_number:
            return RedirectResponse(f"{PAGE}?erledigt=abgelegt&bg={bg_number}", status_code=303)
        return RedirectResponse(f"{PAGE}?erledigt=klaerung", status_code=303)

    return await run_in_threadpool(answer)


@router.post(PAGE + "/{takeover_id}/zuordnung", response_class=HTMLResponse)
async def assign(takeover_id: int, request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    form = await request.form(max_files=0, max_fields=3)
    bg_number = str(form.get("bg_nummer", ""))[:40]

    def act() -> Response:
        types = catalogue_for(runtime.settings, runtime.sessions).types
        try:
            with transaction(runtime.sessions) as session:
                done = takeovers.assign(
                    Gate(session, user), runtime, takeover_id, bg_number, types, datetime.now(UTC)
                )
                number = done.household.bg_number if done.household else ""
        except EAkteError as error:
            if error.status in (401, 403):
                raise
            record_after_rollback(runtime.sessions, error)
            return _page(
                request,
                runtime,
                user,
                assign_error=(takeover_id, bg_number, error.message),
                status_code=422,
            )
        return RedirectResponse(f"{PAGE}?erledigt=zugeordnet&bg={number}", status_code=303)

    return await run_in_threadpool(act)


@router.get(PAGE + "/{takeover_id}/0402")
def download_answer(takeover_id: int, request: Request, runtime: RuntimeDep) -> Response:
    """Our 0402 (ImportBestaetigen) of a take-over, audited."""
    user = current_user(request, runtime)
    with transaction(runtime.sessions) as session:
        data, filename = takeovers.answer_download(Gate(session, user), runtime.blobs, takeover_id)
    return zip_answer(data, filename)
