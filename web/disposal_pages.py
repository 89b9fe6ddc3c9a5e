"""The records manager's Aussonderung page (/schriftgut/aussonderung, Capability.RECORDS): the
runs with their files and xdomea messages, starting a run (the 0501), writing the transfer
(0503), recording the archive's written refusal, uploading the archive's messages (0502, 0504,
0506, 0507) and downloading the stored ones.

Every form posts to its own address and leads back (303) with a note of what was done; an
upload the archive sent that is not right shows the page again with the German list of
problems (status 422), nothing changed. Every label (states, proposals, dates in German) is
computed here from records.disposal; the templates print it escaped. No script: the list
changes only through the page's own forms.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user
from api.downloads import zip_answer
from core.dates import LOCAL_TZ, german, local_today
from core.db import record_after_rollback, transaction
from core.errors import EAkteError
from records import disposal
from records.access import Gate
from records.models import User
from records.runtime import Runtime
from records.xdomea import MESSAGE_LABELS, MessageRefused
from web.pages import render, uploaded_file

router = APIRouter(include_in_schema=False)

PAGE = "/schriftgut/aussonderung"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # the archive's answers carry no documents
REFUSED = "Die Nachricht wurde abgewiesen; nichts wurde geändert."
DONE = {
    "start": "Vorgang angelegt: Das Anbieteverzeichnis (0501) steht zum Herunterladen bereit.",
    "leer": "Keine Akte ist zur Aussonderung fällig; kein Vorgang angelegt.",
    "uebergabe": "Die Aussonderung (0503) steht zum Herunterladen bereit.",
    "zurueckgezogen": "Keine Aussonderung geschrieben: Alle Akten wurden zurückgezogen (Gründe "
    "in der Tabelle).",
    "abgelehnt": "Die Ablehnung des Archivs ist erfasst; die Akten sind zur Vernichtung "
    "vorgesehen.",
}


@dataclass(frozen=True)
class ItemRow:
    bg_number: str
    state: str
    state_label: str
    proposal: str
    decision: str
    due_from: str
    archive_ref: str
    problem: str


@dataclass(frozen=True)
class MessageRow:
    id: int
    label: str
    direction: str
    filename: str
    at: str
    downloadable: bool


@dataclass(frozen=True)
class RunRow:
    id: int
    process_id: str
    state_label: str
    created: str
    archive: str
    counts: list[tuple[str, int]]
    items: list[ItemRow]
    messages: list[MessageRow]
    can_transfer: bool
    can_decline: bool
    note: str


def _when(moment: Any) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")


def _rows(gate: Gate) -> list[RunRow]:
    rows = []
    for view in disposal.runs(gate):
        states = {item.state for item in view.items}
        rows.append(
            RunRow(
                id=view.run.id,
                process_id=str(view.run.process_id),
                state_label=view.state_label,
                created=_when(view.run.created_at),
                archive=view.run.archive_name,
                counts=[(disposal.ITEM_LABELS[s], n) for s, n in sorted(view.counts.items())],
                items=[
                    ItemRow(
                        item.bg_number,
                        item.state,
                        disposal.ITEM_LABELS[item.state],
                        disposal.PROPOSAL_LABELS.get(item.proposal, item.proposal),
                        disposal.PROPOSAL_LABELS.get(item.decision or "", "–"),
                        german(item.due_from),
                        item.archive_ref or "",
                        item.problem or "",
                    )
                    for item in view.items
                ],
                messages=[
                    MessageRow(
                        m.id,
                        MESSAGE_LABELS.get(m.msg_type, m.msg_type),
                        "gesendet" if m.direction == "out" else "empfangen",
                        m.filename,
                        _when(m.at),
                        m.blob_key is not None,
                    )
                    for m in view.messages
                ],
                can_transfer=bool(states & {"to_archive", "import_failed"}),
                can_decline="offered" in states,
                note=view.run.note,
            )
        )
    return rows


def _page(
    request: Request,
    runtime: Runtime,
    user: User,
    *,
    status: str = "",
    error: str = "",
    problems: list[str] | None = None,
    uploaded: str = "",
    warnings: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    with transaction(runtime.sessions, read_only=True) as session:
        runs = _rows(Gate(session, user))
    done = DONE.get(request.query_params.get("erledigt", ""), "")
    return render(
        request,
        "aussonderung.html",
        user,
        status_code,
        runs=runs,
        status=status or done,
        error=error,
        problems=problems or [],
        uploaded=uploaded,
        warnings=warnings or [],
    )


@router.get(PAGE, response_class=HTMLResponse)
def disposal_page(request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)
    return _page(request, runtime, user)


def _act(runtime: Runtime, user: User, act: Any) -> tuple[Any, str]:
    """A change as the signed-in user; (result, "") or (None, the German refusal)."""
    try:
        with transaction(runtime.sessions) as session:
            return act(Gate(session, user)), ""
    except EAkteError as error:
        if error.status in (401, 403):
            raise
        record_after_rollback(runtime.sessions, error)
        return None, error.message


@router.post(PAGE + "/start", response_class=HTMLResponse)
async def start(request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)

    def act(gate: Gate) -> bool:
        with tempfile.TemporaryDirectory(prefix="eakte-0501-") as work:
            written = disposal.start_run(
                gate, runtime.blobs, runtime.settings, local_today(), Path(work)
            )
        return written is not None

    started, error = await run_in_threadpool(_act, runtime, user, act)
    if error:
        return await run_in_threadpool(
            lambda: _page(request, runtime, user, error=error, status_code=422)
        )
    return RedirectResponse(f"{PAGE}?erledigt={'start' if started else 'leer'}", status_code=303)


@router.post(PAGE + "/{run_id}/uebergabe", response_class=HTMLResponse)
async def transfer(run_id: int, request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)

    def act(gate: Gate) -> bool:
        with tempfile.TemporaryDirectory(prefix="eakte-0503-") as work:
            written = disposal.transfer(
                gate, runtime.blobs, runtime.settings, run_id, local_today(), Path(work)
            )
        return written is not None

    done, error = await run_in_threadpool(_act, runtime, user, act)
    if error:
        return await run_in_threadpool(
            lambda: _page(request, runtime, user, error=error, status_code=422)
        )
    return RedirectResponse(
        f"{PAGE}?erledigt={'uebergabe' if done else 'zurueckgezogen'}", status_code=303
    )


@router.post(PAGE + "/{run_id}/ablehnung", response_class=HTMLResponse)
async def decline(run_id: int, request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    form = await request.form(max_files=0, max_fields=3)
    reason = str(form.get("grund", ""))[:1000]
    _done, error = await run_in_threadpool(
        _act, runtime, user, lambda gate: disposal.decline_offer(gate, run_id, reason)
    )
    if error:
        return await run_in_threadpool(
            lambda: _page(request, runtime, user, error=error, status_code=422)
        )
    return RedirectResponse(f"{PAGE}?erledigt=abgelehnt", status_code=303)


@router.post(PAGE + "/nachricht", response_class=HTMLResponse)
async def upload(request: Request, runtime: RuntimeDep) -> Response:
    """One of the archive's messages (zip); its result or its problems on the page."""
    user = await run_in_threadpool(current_user, request, runtime)
    body, filename = await uploaded_file(request, MAX_UPLOAD_BYTES)
    if not body or len(body) > MAX_UPLOAD_BYTES:
        message = (
            "Bitte eine ZIP-Datei des Archivs wählen." if not body else "Die Datei ist zu groß."
        )
        return await run_in_threadpool(
            lambda: _page(request, runtime, user, error=message, status_code=422)
        )

    def answer() -> Response:
        try:
            with (
                transaction(runtime.sessions) as session,
                tempfile.TemporaryDirectory(prefix="eakte-xdomea-") as work,
            ):
                result = disposal.import_message(
                    Gate(session, user), runtime.blobs, runtime.settings, body, filename, Path(work)
                )
        except MessageRefused as refused:
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
        status = result.summary().replace("\n", "; ")
        if result.reply is not None:
            status += " Die Empfangsbestätigung (0505) steht zum Herunterladen bereit."
        return _page(request, runtime, user, status=status, warnings=result.warnings)

    return await run_in_threadpool(answer)


@router.get(PAGE + "/nachricht/{message_id}")
def download(message_id: int, request: Request, runtime: RuntimeDep) -> Response:
    """A stored message's zip (0501, 0503, 0505 and the archive's), audited."""
    user = current_user(request, runtime)
    with transaction(runtime.sessions) as session:
        data, filename = disposal.message_download(Gate(session, user), runtime.blobs, message_id)
    return zip_answer(data, filename)
