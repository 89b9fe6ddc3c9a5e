"""The Vertretung page, rendered here: the form that names a deputy (colleagues to choose from,
the period starting with the job centre's today), who stands in for the user and for whom the
user stands in. The form posts to this page: an error stands at its field with what was typed
(422); a success, and ending a deputy, lead back to the page (303) with a note of what was done.
The same services and checks as the JSON API (records.files, records.inbox), through the gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user
from core.dates import german, local_today
from core.db import transaction
from core.errors import EAkteError, InvalidInput
from records import files, inbox
from records.access import Capability, Gate
from records.models import Deputy, User
from records.runtime import Runtime
from web.pages import render

router = APIRouter(include_in_schema=False)

PAGE = "/vertretung"
DONE = {"eingetragen": "Vertretung eingetragen.", "beendet": "Vertretung beendet."}
FIELDS = ("deputy", "starts_on", "ends_on")
# Which field a refusal of records.files.name_deputy is about, by its code.
ERROR_FIELDS = {
    "deputy_self": "deputy",
    "deputy_role": "deputy",
    "deputy_team": "deputy",
    "deputy_period": "ends_on",
    "deputy_backdated": "starts_on",
    "deputy_too_long": "ends_on",
}


@dataclass
class DeputyForm:
    """The form as shown: values (as typed after an error) and errors by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: str = ""


@dataclass(frozen=True)
class DeputyRow:
    """One deputy as the page lists it, every label German."""

    id: int
    name: str  # the deputy (my list) or the absent colleague (the other)
    period: str  # "07.12.2026 bis 11.12.2026"
    active: bool
    state: str  # "aktiv" / "geplant"


def _row(entry: Deputy, name: str) -> DeputyRow:
    today = local_today()
    active = entry.revoked_at is None and entry.starts_on <= today <= entry.ends_on
    return DeputyRow(
        entry.id,
        name,
        f"{german(entry.starts_on)} bis {german(entry.ends_on)}",
        active,
        "aktiv" if active else "geplant",
    )


def _page(
    request: Request,
    runtime: Runtime,
    user: User,
    form: DeputyForm | None = None,
    status: str = "",
    status_code: int = 200,
) -> Response:
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        gate.require(Capability.STAND_IN, "page.deputies")
        mine, for_others = files.list_deputies(gate)
        people, _ = inbox.forward_targets(gate)
        choices = [
            (p.login, f"{p.name} ({p.team.name if p.team else '–'})")
            for p in people
            if p.id != user.id
        ]
        my_rows = [_row(d, d.deputy.name) for d in mine]
        other_rows = [_row(d, d.absent.name) for d in for_others]
    # The period starts with the job centre's today, not the browser's UTC date (which is still
    # yesterday until 1 or 2 o'clock at night in Germany).
    today = local_today().isoformat()
    form = form or DeputyForm({"deputy": "", "starts_on": today, "ends_on": today})
    return render(
        request,
        "vertretung.html",
        user,
        status_code,
        form=form,
        choices=choices,
        mine=my_rows,
        for_others=other_rows,
        status=status,
        today=today,
    )


@router.get(PAGE, response_class=HTMLResponse)
def deputies_page(request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    done = DONE.get(request.query_params.get("erledigt", ""), "")
    return _page(request, runtime, user, status=done)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _name(runtime: Runtime, user: User, posted: dict[str, str]) -> DeputyForm | None:
    """Name the deputy the form asks for; None when done, else the form with its errors."""
    typed = {name: posted.get(name, "") for name in FIELDS}
    errors = {
        name: "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."
        for name in ("starts_on", "ends_on")
        if _day(typed[name]) is None
    }
    if not typed["deputy"]:
        errors["deputy"] = "Bitte wählen, wer Sie vertritt."
    if errors:
        return DeputyForm(typed, errors)
    starts_on, ends_on = _day(typed["starts_on"]), _day(typed["ends_on"])
    assert starts_on is not None and ends_on is not None
    try:
        with transaction(runtime.sessions) as session:
            files.name_deputy(
                Gate(session, user),
                deputy_login=typed["deputy"],
                starts_on=starts_on,
                ends_on=ends_on,
                max_days=runtime.settings.deputy_max_days,
            )
    except InvalidInput as error:
        at_field = ERROR_FIELDS.get(error.code or "", "deputy")
        return DeputyForm(typed, {at_field: error.message})
    return None


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=10)
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post(PAGE, response_class=HTMLResponse)
async def deputy_form(request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    failed = await run_in_threadpool(_name, runtime, user, await _posted(request))
    if failed is None:
        return RedirectResponse(f"{PAGE}?erledigt=eingetragen", status_code=303)
    return await run_in_threadpool(_page, request, runtime, user, failed, "", 422)


@router.post(PAGE + "/{deputy_id}/beenden", response_class=HTMLResponse)
def end_deputy(deputy_id: int, request: Request, runtime: RuntimeDep) -> Response:
    """End a deputy (the same as DELETE /api/deputies/{id}); a refusal shows on the page."""
    user = current_user(request, runtime)
    try:
        with transaction(runtime.sessions) as session:
            files.revoke_deputy(Gate(session, user), deputy_id)
    except EAkteError as error:
        return _page(request, runtime, user, status=error.message, status_code=error.status)
    return RedirectResponse(f"{PAGE}?erledigt=beendet", status_code=303)
