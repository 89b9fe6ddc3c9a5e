"""Closing files, retention and holds on the pages (issue 17).

- /schriftgut: the records manager's list of closed files, by the filter in the address (due
  or held by default; only due, only held, still running), each with its status, business
  event, due date, rule and holds, and the documents due before their file (a shorter period
  for their type), each with its link to the destruction page. /schriftgut/liste is the list
  alone (the same address scheme): schriftgut.js fetches it and swaps it in.
- /schriftgut/akte/{bg}: one file's lifecycle for the records manager; /akte/{bg}/aufbewahrung
  the same for a caseworker who may open the file (the E-Akte shows the same section).
- POST /akte/{bg}/aufbewahrung/{schliessen,wiedereroeffnen,sperre,sperre-aufheben}: the forms of
  that section. Done: back to the page the form was on (303). Refused input: that file's
  lifecycle page again with the German error at the field and what was typed (422).

The list and the records manager's page show lifecycle metadata only: BG numbers, dates, rules,
holds and their reasons, who set them. No member's name, no address, no document content: the
records manager decides on periods and holds, which needs none of it (and the archive's offer
names the files by their numbers too). Everything goes through records.lifecycle and its Gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user, get_type_names
from core.dates import german, local_today
from core.db import transaction
from core.errors import InvalidInput, NotFound
from records import lifecycle
from records.access import Gate
from records.models import User
from records.retention import FileRetention, load_rules
from records.runtime import Runtime
from web.pages import render

router = APIRouter(include_in_schema=False)

PAGE = "/schriftgut"
DEFAULT_FILTER = "faellig"
SAVED = lifecycle.SAVED_MESSAGES
# Where a form's page lies: the E-Akte, the file's own lifecycle page, the records manager's.
BACK = {
    "akte": "/akte/{bg}",
    "seite": "/akte/{bg}/aufbewahrung",
    "schriftgut": "/schriftgut/akte/{bg}",
}


@dataclass(frozen=True)
class DueRow:
    """One file of the list, every word German."""

    bg_number: str
    href: str
    status: str
    status_code: str
    event: str
    due_from: str
    rule: str
    holds: list[str]


@dataclass(frozen=True)
class DocumentRow:
    bg_number: str
    document_id: str
    doc_type: str
    years: int
    due_from: str
    archive: str
    href: str


def _row(r: FileRetention) -> DueRow:
    return DueRow(
        bg_number=r.bg_number,
        href=f"{PAGE}/akte/{quote(r.bg_number)}",
        status=r.status_label,
        status_code=r.status,
        event=german(r.event_date),
        due_from=german(r.due_from),
        rule=r.rule,
        holds=[
            f"{h.label}{': ' + h.reason if h.reason else ''} "
            f"({'bis ' + german(h.until) if h.until else 'bis auf Weiteres'})"
            for h in r.holds
        ],
    )


def _filter(request: Request) -> str:
    wanted = request.query_params.get("filter", "")
    return wanted if wanted in lifecycle.FILTERS else DEFAULT_FILTER


def _list_context(runtime: Runtime, user: User, wanted: str) -> dict[str, object]:
    today = local_today()
    names = get_type_names(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        found = lifecycle.due_list(Gate(session, user), load_rules(runtime.settings), today, wanted)
    documents = [
        DocumentRow(
            bg_number=r.bg_number,
            document_id=d.document_id,
            doc_type=names.get(d.doc_type, d.doc_type),
            years=d.years,
            due_from=german(d.due_from),
            archive="ja" if d.offer_to_archive else "nein",
            href=f"{PAGE}/vernichtung?{urlencode({'dokument': d.document_id})}",
        )
        for r, d in found.documents
    ]
    return {
        "rows": [_row(r) for r in found.files],
        "documents": documents,
        "wanted": wanted,
        "filters": list(lifecycle.FILTER_NAMES.items()),
        "filter_name": lifecycle.FILTER_NAMES[wanted],
        "today": german(today),
    }


@router.get(PAGE, response_class=HTMLResponse)
def due_page(request: Request, runtime: RuntimeDep) -> Response:
    """The records manager's list (first paint on the server; the filter is the address's)."""
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    context = _list_context(runtime, user, _filter(request))
    return render(request, "schriftgut.html", user, 200, **context)


@router.get(f"{PAGE}/liste", response_class=HTMLResponse)
def due_part(request: Request, runtime: RuntimeDep) -> Response:
    """The list alone, for the filter in the query (schriftgut.js swaps it in)."""
    user = current_user(request, runtime)
    context = _list_context(runtime, user, _filter(request))
    response = render(request, "_schriftgut_due.html", user, 200, **context)
    response.headers["Cache-Control"] = "no-store"
    return response


# one file's lifecycle ---------------------------------------------------------------------


def _file_page(
    request: Request,
    runtime: Runtime,
    user: User,
    bg_number: str,
    back: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    with transaction(runtime.sessions, read_only=True) as session:
        rules = load_rules(runtime.settings)
        gate = Gate(session, user)
        context = lifecycle.section_context(gate, bg_number, rules, local_today())
    view = context["lc"]
    assert isinstance(view, lifecycle.Lifecycle)
    saved = SAVED.get(request.query_params.get("gespeichert", ""), "")
    return render(
        request,
        "schriftgut_akte.html",
        user,
        status_code,
        bg_number=view.bg_number,
        back=back,
        manager=back == "schriftgut",
        errors=errors or {},
        values=values or {},
        saved=saved,
        **context,
    )


@router.get(f"{PAGE}/akte/{{bg_number}}", response_class=HTMLResponse)
def records_file_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """One file's lifecycle for the records manager (lifecycle metadata only)."""
    user = current_user(request, runtime)
    return _file_page(request, runtime, user, bg_number, "schriftgut")


@router.get("/akte/{bg_number}/aufbewahrung", response_class=HTMLResponse)
def file_retention_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """The same for whoever may open the file (the E-Akte's section on a page of its own)."""
    user = current_user(request, runtime)
    return _file_page(request, runtime, user, bg_number, "seite")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


OPERATIONS = ("schliessen", "wiedereroeffnen", "sperre", "sperre-aufheben")


def _carry_out(
    gate: Gate, bg_number: str, operation: str, values: dict[str, str], today: date
) -> str:
    """The operation; what the page then says (a SAVED key). InvalidInput carries the field."""
    if operation == "schliessen":
        day = _day(values.get("event_date", ""))
        if values.get("event_date") and day is None:
            raise InvalidInput("Bitte ein gültiges Datum angeben.", field="event_date")
        lifecycle.close_file(gate, bg_number, day, values.get("reason", ""), today)
        return "geschlossen"
    if operation == "wiedereroeffnen":
        lifecycle.reopen_file(gate, bg_number, values.get("reason", ""))
        return "wiedereroeffnet"
    if operation == "sperre":
        until = _day(values.get("until", ""))
        if values.get("until") and until is None:
            raise InvalidInput("Bitte ein gültiges Datum angeben.", field="until")
        text = values.get("text", "")
        lifecycle.set_hold(gate, bg_number, values.get("reason_code", ""), text, until, today)
        return "gesperrt"
    hold = values.get("sperre", "")
    if not hold.isdigit():
        raise NotFound("Diese Sperre gibt es in dieser Akte nicht.")
    lifecycle.lift_hold(gate, bg_number, int(hold), values.get("reason", ""))
    return "entsperrt"


def _error_field(operation: str, error: InvalidInput, values: dict[str, str]) -> str:
    """The form field an error belongs to, as _akte_retention.html names it."""
    field = str(error.details.get("field", ""))
    if operation == "sperre":
        return field if field in ("reason_code", "until") else "text"
    if operation == "sperre-aufheben":
        return f"lift-{values.get('sperre', '')}"
    if operation == "schliessen":
        return "event_date" if field == "event_date" else "close"
    return "reopen"


@router.post("/akte/{bg_number}/aufbewahrung/{operation}", response_class=HTMLResponse)
async def lifecycle_form(
    bg_number: str, operation: str, request: Request, runtime: RuntimeDep
) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    if operation not in OPERATIONS:
        raise NotFound("Unbekannte Aktion.")
    form = await request.form(max_files=0, max_fields=10)
    values = {k: v.strip()[:3000] for k, v in form.items() if isinstance(v, str)}
    back = values.get("zurueck", "")
    back = back if back in BACK else "seite"

    def save() -> Response:
        try:
            with transaction(runtime.sessions) as session:
                done = _carry_out(Gate(session, user), bg_number, operation, values, local_today())
        except InvalidInput as error:
            field = _error_field(operation, error, values)
            kept = dict(values)
            if operation == "schliessen":
                kept["close_reason"] = values.get("reason", "")
            elif operation == "wiedereroeffnen":
                kept["reopen_reason"] = values.get("reason", "")
            page = "schriftgut" if back == "schriftgut" else "seite"
            return _file_page(
                request,
                runtime,
                user,
                bg_number,
                page,
                status_code=422,
                errors={field: error.message},
                values=kept,
            )
        target = BACK[back].format(bg=quote(bg_number))
        return RedirectResponse(f"{target}?gespeichert={done}#aufbewahrung", status_code=303)

    return await run_in_threadpool(save)
