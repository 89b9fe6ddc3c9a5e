"""The records manager's destruction page (/schriftgut/vernichtung, issue 17): the orders with
their approvals (approve, reject), the protocols with their PDF/A and JSON, a run's files to
destroy; and a document's erasure order, reached from the document page (`?dokument=<id>`)
by its caseworker or the records manager. Every label is computed here; records.destruction
does the work through the access gate. The restriction of a document (Art. 18 DSGVO) is
asked on the document page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import RuntimeDep, current_user
from core.dates import LOCAL_TZ
from core.db import transaction
from core.errors import Conflict, InvalidInput, NotFound
from records import destruction
from records.access import Capability, Gate, capabilities
from records.models import User
from records.runtime import Runtime
from storage.base import read_bytes
from web.pages import render

router = APIRouter(include_in_schema=False)
PAGE = "/schriftgut/vernichtung"
NOTICES = {
    "beantragt": "Der Auftrag ist beantragt. Er läuft nach der Freigabe durch eine zweite Person.",
    "freigegeben": "Die Freigabe ist gespeichert.",
    "gestartet": "Der Auftrag ist freigegeben; die Vernichtung läuft im Hintergrund.",
    "abgelehnt": "Der Auftrag ist abgelehnt.",
    "eingeschraenkt": "Das Dokument ist eingeschränkt: es ist in keiner Akte, keinem Postkorb "
    "und keiner Suche mehr zu sehen, bleibt aber gespeichert.",
}
KIND_LABELS = {"run": "Akten einer Aussonderung", "document": "Einzelnes Dokument"}


def german_datetime(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d.%m.%Y, %H:%M Uhr")


@dataclass(frozen=True)
class OrderRow:
    id: int
    kind: str
    target: str
    reason: str
    state: str
    state_code: str
    requested: str
    approvals: str
    open: bool
    rejected: str


@dataclass(frozen=True)
class RestrictedRow:
    id: str
    bg_number: str
    since: str
    by: str
    reason: str


@dataclass(frozen=True)
class ProtocolRow:
    id: str
    kind: str
    bg_number: str
    finished: str
    documents: int
    pages: int
    approved_by: str
    state: str


def _order_row(order: destruction.DestructionOrder) -> OrderRow:
    target = (
        f"Aussonderung Nr. {order.run_id}"
        if order.kind == "run"
        else f"Dokument {order.document_id} (Akte {order.bg_number or '–'})"
    )
    approvals = ", ".join(f"{a.approver_name} ({german_datetime(a.at)})" for a in order.approvals)
    return OrderRow(
        id=order.id,
        kind=KIND_LABELS[order.kind],
        target=target,
        reason=order.reason,
        state=destruction.ORDER_STATE_LABELS[order.state],
        state_code=order.state,
        requested=f"{order.requested_by_login}, {german_datetime(order.requested_at)}",
        approvals=approvals or "noch keine",
        open=order.state == "requested",
        rejected=(
            f"{order.rejected_by_login}: {order.rejected_reason}" if order.rejected_reason else ""
        ),
    )


def _protocol_row(protocol: destruction.DestructionProtocol) -> ProtocolRow:
    return ProtocolRow(
        id=str(protocol.id),
        kind="Akte" if protocol.kind == "file" else "Dokument",
        bg_number=protocol.bg_number or "–",
        finished=german_datetime(protocol.finished_at) if protocol.finished_at else "läuft",
        documents=protocol.document_count,
        pages=protocol.page_count,
        approved_by=", ".join(protocol.approved_by),
        state=protocol.state,
    )


def _page(
    request: Request,
    runtime: Runtime,
    user: User,
    error: str = "",
    status: int = 200,
    document: str = "",
) -> Response:
    document = document or request.query_params.get("dokument", "").strip()
    records = Capability.RECORDS in capabilities(user)
    context: dict[str, object] = {"document": document, "error": error, "records": records}
    context["notice"] = NOTICES.get(request.query_params.get("hinweis", ""), "")
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        context["restricted"] = []
        if not records:
            gate.require(Capability.CASE_FILES, "page.destruction")
            # A caseworker: the erasure form, and the restricted documents of their files.
            context.update(orders=[], protocols=[], runs=[])
            context["restricted"] = [
                RestrictedRow(
                    id=str(d.id),
                    bg_number=d.household.bg_number if d.household else "–",
                    since=german_datetime(d.restricted_at) if d.restricted_at else "",
                    by=d.restricted_by_login or "–",
                    reason=d.restriction_reason or "",
                )
                for d in destruction.restricted_in_reach(gate)
            ]
        else:
            data = destruction.overview(gate)
            context.update(
                orders=[_order_row(o) for o in data.orders],
                protocols=[_protocol_row(p) for p in data.protocols],
                runs=data.runs,
            )
    return render(request, "vernichtung.html", user, status, **context)


@router.get(PAGE, response_class=HTMLResponse)
def destruction_page(request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)
    return _page(request, runtime, user)


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=10)
    return {k: v for k, v in form.items() if isinstance(k, str) and isinstance(v, str)}


async def _act(  # type: ignore[no-untyped-def]
    request: Request, runtime: Runtime, work, notice: str, document: str = ""
) -> Response:
    """Runs `work(gate, form)` in one transaction; a refusal of the input comes back on the
    page (422); AccessDenied goes to the product's error page (audited)."""
    user = await run_in_threadpool(current_user, request, runtime)
    form = await _posted(request)

    def run() -> str | None:
        try:
            with transaction(runtime.sessions) as session:
                return work(Gate(session, user), form)
        except (InvalidInput, Conflict, NotFound) as error:
            raise _Refused(error.message) from error

    try:
        back = await run_in_threadpool(run)
    except _Refused as refused:
        document = document or form.get("dokument", "")
        return await run_in_threadpool(
            _page, request, runtime, user, refused.message, 422, document
        )
    return RedirectResponse(back or f"{PAGE}?hinweis={notice}", status_code=303)


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@router.post(PAGE + "/aussonderung/{run_id}", response_class=HTMLResponse)
async def request_run(run_id: int, request: Request, runtime: RuntimeDep) -> Response:
    def work(gate: Gate, form: dict[str, str]) -> None:
        destruction.request_run(gate, run_id, form.get("grund", ""))

    return await _act(request, runtime, work, "beantragt")


@router.post(PAGE + "/dokument", response_class=HTMLResponse)
async def request_document(request: Request, runtime: RuntimeDep) -> Response:
    def work(gate: Gate, form: dict[str, str]) -> str | None:
        order = destruction.request_document(gate, form.get("dokument", ""), form.get("grund", ""))
        if not gate.may(Capability.RECORDS):
            return f"/dokument/{order.document_id}?gespeichert=loeschung"
        return None

    return await _act(request, runtime, work, "beantragt")


@router.post(PAGE + "/auftraege/{order_id}/freigeben", response_class=HTMLResponse)
async def approve_order(order_id: int, request: Request, runtime: RuntimeDep) -> Response:
    started: list[int] = []

    def work(gate: Gate, form: dict[str, str]) -> str:
        started.extend(destruction.approve(gate, order_id))
        return f"{PAGE}?hinweis={'gestartet' if started else 'freigegeben'}"

    return await _act(request, runtime, work, "freigegeben")


@router.post(PAGE + "/auftraege/{order_id}/ablehnen", response_class=HTMLResponse)
async def reject_order(order_id: int, request: Request, runtime: RuntimeDep) -> Response:
    def work(gate: Gate, form: dict[str, str]) -> None:
        destruction.reject(gate, order_id, form.get("grund", ""))

    return await _act(request, runtime, work, "abgelehnt")


@router.get(PAGE + "/protokolle/{protocol_id}.{suffix}")
def download_protocol(
    protocol_id: str, suffix: str, request: Request, runtime: RuntimeDep
) -> Response:
    user = current_user(request, runtime)
    if suffix not in ("pdf", "json"):
        raise NotFound("Dieses Protokoll gibt es nicht.")
    with transaction(runtime.sessions) as session:
        protocol = destruction.protocol_for_download(Gate(session, user), protocol_id)
        key = protocol.pdf_key if suffix == "pdf" else protocol.json_key
    assert key is not None
    media = "application/pdf" if suffix == "pdf" else "application/json"
    name = f"vernichtungsprotokoll-{uuid.UUID(protocol_id)}.{suffix}"
    return Response(
        read_bytes(runtime.blobs, key),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/dokument/{document_id}/einschraenken", response_class=HTMLResponse)
async def restrict_document(document_id: str, request: Request, runtime: RuntimeDep) -> Response:
    def work(gate: Gate, form: dict[str, str]) -> str:
        document = destruction.restrict(runtime, gate, document_id, form.get("grund", ""))
        bg = document.household.bg_number if document.household else ""
        return f"/akte/{bg}?hinweis=eingeschraenkt" if bg else "/"

    return await _act(request, runtime, work, "eingeschraenkt", document_id)


@router.post("/dokument/{document_id}/einschraenkung-aufheben", response_class=HTMLResponse)
async def lift_restriction(document_id: str, request: Request, runtime: RuntimeDep) -> Response:
    def work(gate: Gate, form: dict[str, str]) -> str:
        destruction.lift_restriction(runtime, gate, document_id, form.get("grund", ""))
        return f"/dokument/{document_id}"

    return await _act(request, runtime, work, "aufgehoben")
