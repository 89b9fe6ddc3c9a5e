"""Requests for documents on the pages (issue 19): the E-Akte's section "Anforderungen von
Unterlagen" (web/templates/_akte_requests.html) and its forms.

- GET /akte/{bg}/anforderungen: the section on a page of its own (also where a refused form
  comes back to, with the German error at its field and what was typed, 422).
- POST /akte/{bg}/anforderungen: write a request (catalogue items with their periods, the
  person, the deadline); done: back to the E-Akte at the new request (303).
- POST /akte/{bg}/anforderungen/{id}/erinnerung: a reminder with a new deadline.
- POST /akte/{bg}/anforderungen/{id}/zuruecknehmen: withdraw an open request with a reason
  (its follow-up is done; the reason shows in its history).
The confirmation of a "vermutlich Antwort" link (…/verknuepfung/{link}/bestaetigen) belongs to
records.request_replies (replies19). Everything goes through records.requests and its Gate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user, get_type_names
from core.dates import german, local_today
from core.db import run_after_commit, transaction
from core.errors import InvalidInput
from records import requests as service
from records.access import Capability, Gate
from records.models import User
from records.runtime import Runtime
from web.pages import render, require

router = APIRouter(include_in_schema=False)
SAVED = {
    "anforderung": "Mitwirkungsaufforderung geschrieben und in der Akte abgelegt.",
    "erinnerung": "Erinnerung geschrieben und in der Akte abgelegt.",
    "zurueckgenommen": "Anforderung zurückgenommen.",
}


def section(
    gate: Gate,
    runtime: Runtime,
    bg_number: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, object]:
    """The context of _akte_requests.html (the page opened the file already)."""
    today = local_today()
    household, _ = gate.household(bg_number, "request.listed", audited=False)
    due, steps = service.propose_due(today, runtime.settings)
    catalogue = service.request_catalogue(gate.session)
    period = service.default_period(today).split("-")
    return {
        "req_bg": household.bg_number,
        "req_list": service.requests_of_household(gate, bg_number, today=today),
        "req_catalogue": list(catalogue.values()),
        "req_members": [
            (m.id, f"{m.first_name} {m.last_name}") for m in service.members_of(household)
        ],
        "req_due": due.isoformat(),
        "req_steps": [(step.label, german(step.value), step.note) for step in steps],
        "req_period": [_iso(period[0]), _iso(period[1])],
        "req_errors": errors or {},
        "req_values": values or {},
        "req_today": today.isoformat(),
        "req_may_write": household.handed_over_at is None,
    }


def _iso(german_date: str) -> str:
    day, month, year = german_date.split(".")
    return f"{year}-{month}-{day}"


def _german(iso: str) -> str:
    try:
        return german(date.fromisoformat(iso))
    except ValueError:
        return iso


def _page(
    request: Request,
    runtime: Runtime,
    user: User,
    bg_number: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    with transaction(runtime.sessions, read_only=True) as session:
        context = section(Gate(session, user), runtime, bg_number, errors=errors, values=values)
    return render(request, "anforderungen.html", user, status_code, **context)


@router.get("/akte/{bg_number}/anforderungen", response_class=HTMLResponse)
async def requests_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    return await run_in_threadpool(_page, request, runtime, user, bg_number)


_FIELDS = {
    "request_items": "items",
    "request_period": "items",
    "request_due": "due",
    "request_person": "person",
}


@router.post("/akte/{bg_number}/anforderungen", response_class=HTMLResponse)
async def create_form(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    form = await request.form(max_files=0, max_fields=200)
    codes = [str(v) for v in form.getlist("item")]
    values: dict[str, Any] = {k: str(v).strip()[:200] for k, v in form.items()}
    values["item"] = codes

    def save() -> Response:
        items = []
        for code in codes:
            start, end = values.get(f"von-{code}", ""), values.get(f"bis-{code}", "")
            period = f"{_german(start)}-{_german(end)}" if start or end else ""
            items.append((code, period))
        try:
            due = date.fromisoformat(values.get("due", ""))
        except ValueError:
            return _page(
                request,
                runtime,
                user,
                bg_number,
                status_code=422,
                errors={"due": "Bitte eine Frist als Datum angeben."},
                values=values,
            )
        person = values.get("person", "")
        try:
            with transaction(runtime.sessions) as session:
                created = service.create_request(
                    Gate(session, user),
                    runtime,
                    bg_number,
                    items,
                    due,
                    member_id=int(person) if person.isdigit() else None,
                    today=local_today(),
                )
                request_id = created.request.id
            run_after_commit(session)
        except InvalidInput as error:
            field = _FIELDS.get(str(error.code), "items")
            return _page(
                request,
                runtime,
                user,
                bg_number,
                status_code=422,
                errors={field: error.message},
                values=values,
            )
        target = f"/akte/{quote(bg_number)}?gespeichert=anforderung#anforderung-{request_id}"
        return RedirectResponse(target, status_code=303)

    return await run_in_threadpool(save)


def _new_due(raw: str) -> date:
    """The reminder's new deadline as typed; a German error at the field otherwise."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("Bitte eine neue Frist als Datum angeben.") from None


def _saved(
    request: Request,
    runtime: Runtime,
    user: User,
    bg_number: str,
    request_id: int,
    form_value: tuple[str, str],
    change: Callable[[Gate], object],
    said: str,
) -> Response:
    """One change to one request of the file in its own unit of work: back to the request
    with `said`, or the page again with the German error at the form's field
    (`form_value`: the field's id and what was typed)."""
    field, raw = form_value
    try:
        with transaction(runtime.sessions) as session:
            change(Gate(session, user))
        run_after_commit(session)
    except InvalidInput as error:
        return _page(
            request,
            runtime,
            user,
            bg_number,
            status_code=422,
            errors={field: error.message},
            values={field: raw},
        )
    target = f"/akte/{quote(bg_number)}?gespeichert={said}#anforderung-{request_id}"
    return RedirectResponse(target, status_code=303)


@router.post("/akte/{bg_number}/anforderungen/{request_id}/erinnerung", response_class=HTMLResponse)
async def remind_form(
    bg_number: str, request_id: int, request: Request, runtime: RuntimeDep
) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    form = await request.form(max_files=0, max_fields=10)
    raw = str(form.get("due", "")).strip()
    field = f"remind-{request_id}"

    def save() -> Response:
        return _saved(
            request,
            runtime,
            user,
            bg_number,
            request_id,
            (field, raw),
            lambda gate: service.remind(
                gate, runtime, request_id, _new_due(raw), today=local_today(), bg_number=bg_number
            ),
            "erinnerung",
        )

    return await run_in_threadpool(save)


@router.post(
    "/akte/{bg_number}/anforderungen/{request_id}/zuruecknehmen", response_class=HTMLResponse
)
async def withdraw_form(
    bg_number: str, request_id: int, request: Request, runtime: RuntimeDep
) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    form = await request.form(max_files=0, max_fields=10)
    reason = str(form.get("reason", "")).strip()[:1000]

    def save() -> Response:
        return _saved(
            request,
            runtime,
            user,
            bg_number,
            request_id,
            (f"withdraw-{request_id}", reason),
            lambda gate: service.withdraw(gate, request_id, reason, bg_number=bg_number),
            "zurueckgenommen",
        )

    return await run_in_threadpool(save)


# --- the administration's catalogue of requestable items ----------------------------------

CATALOGUE_PAGE = "/verwaltung/anforderungskatalog"
CATALOGUE_ACTION = "page.request_catalogue"


def _catalogue_page(
    request: Request,
    runtime: Runtime,
    user: User,
    *,
    status_code: int = 200,
    rows: list[dict[str, Any]] | None = None,
    error: str = "",
    saved: bool = False,
) -> Response:
    require(runtime, user, Capability.ADMINISTER, CATALOGUE_ACTION)
    names = get_type_names(runtime)
    if rows is None:
        with transaction(runtime.sessions, read_only=True) as session:
            catalogue = service.request_catalogue(session)
        rows = [
            {"code": e.code, "label": e.label, "types": list(e.types), "period": e.period}
            for e in catalogue.values()
        ]
    return render(
        request,
        "anforderungskatalog.html",
        user,
        status_code,
        rows=rows,
        type_choices=sorted(names.items(), key=lambda item: item[1]),
        error=error,
        saved=saved,
        page=CATALOGUE_PAGE,
    )


@router.get(CATALOGUE_PAGE, response_class=HTMLResponse)
async def catalogue_page(request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    saved = request.query_params.get("gespeichert") == "1"
    return await run_in_threadpool(lambda: _catalogue_page(request, runtime, user, saved=saved))


@router.post(CATALOGUE_PAGE, response_class=HTMLResponse)
async def catalogue_save(request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    form = await request.form(max_files=0, max_fields=2000)
    rows: list[dict[str, Any]] = []
    for index in range(int(str(form.get("count", "0")) or 0) + 1):
        code = str(form.get(f"code-{index}", "")).strip()[:60]
        label = str(form.get(f"label-{index}", "")).strip()[:300]
        if form.get(f"remove-{index}") or (not code and not label):
            continue
        rows.append(
            {
                "code": code,
                "label": label,
                "types": [str(t) for t in form.getlist(f"types-{index}")][:30],
                "period": bool(form.get(f"period-{index}")),
            }
        )

    def save() -> Response:
        try:
            with transaction(runtime.sessions) as session:
                service.save_request_catalogue(
                    Gate(session, user), rows, set(get_type_names(runtime))
                )
        except InvalidInput as error:
            return _catalogue_page(
                request, runtime, user, status_code=422, rows=rows, error=error.message
            )
        return RedirectResponse(f"{CATALOGUE_PAGE}?gespeichert=1", status_code=303)

    return await run_in_threadpool(save)
