"""Follow-up dates (Wiedervorlagen, issue 19) on the pages.

- The E-Akte's section "Wiedervorlagen" (_akte_followups.html, context from `section`): the
  file's open and done follow-ups, the form to set one, and per open one the forms to move it
  (new date and reason) and to close it (reason). /akte/{bg}/wiedervorlagen shows the same
  section on a page of its own: where a refused form comes back with its error at the field.
- /wiedervorlagen: one's open follow-ups (own, the team's, those of colleagues one stands in
  for today), overdue first.
- The Postkorb's block "Heute fällige Wiedervorlagen" (_postkorb_followups.html, lines from
  `due_in_postkorb`), above the letters.
- POST /akte/{bg}/wiedervorlagen (set), /wiedervorlagen/{id}/verschieben, /wiedervorlagen/{id}/
  erledigt: done, back to the page the form was on (303); refused input, the file's or the
  list's page again with the German error at the field and what was typed (422).

Everything goes through records.followups and its Gate.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user, get_type_names
from core.dates import local_today
from core.db import transaction
from core.errors import InvalidInput, NotFound
from records import followups
from records.access import Gate
from records.models import User
from records.runtime import Runtime
from web.pages import render

router = APIRouter(include_in_schema=False)

LIST_PAGE = "/wiedervorlagen"
SAVED = {
    "gesetzt": "Wiedervorlage gesetzt.",
    "verschoben": "Wiedervorlage verschoben.",
    "erledigt": "Wiedervorlage erledigt.",
}
BACKS = ("akte", "seite", "postkorb", "liste")


def section(gate: Gate, bg_number: str, type_names: dict[str, str]) -> dict[str, object]:
    """The E-Akte's context for _akte_followups.html (the page opened the file already)."""
    return {
        "fu": followups.file_section(gate, bg_number, type_names),
        "fu_errors": {},
        "fu_values": {},
        "fu_back": "akte",
    }


def due_in_postkorb(runtime: Runtime, user: User) -> list[followups.Line]:
    """The follow-ups due today or overdue, for the Postkorb's block."""
    with transaction(runtime.sessions, read_only=True) as session:
        return followups.due_today(Gate(session, user))


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _file_page(
    request: Request,
    runtime: Runtime,
    user: User,
    bg_number: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    names = get_type_names(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        found = followups.file_section(Gate(session, user), bg_number, names)
    return render(
        request,
        "wiedervorlage_akte.html",
        user,
        status_code,
        bg_number=bg_number,
        fu=found,
        fu_errors=errors or {},
        fu_values=values or {},
        fu_back="seite",
        saved=SAVED.get(request.query_params.get("gespeichert", ""), ""),
    )


def _list_page(
    request: Request,
    runtime: Runtime,
    user: User,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    with transaction(runtime.sessions, read_only=True) as session:
        lines = followups.upcoming(Gate(session, user))
    return render(
        request,
        "wiedervorlagen.html",
        user,
        status_code,
        lines=lines,
        fu_errors=errors or {},
        fu_values=values or {},
        fu_back="liste",
        today=local_today().isoformat(),
        saved=SAVED.get(request.query_params.get("gespeichert", ""), ""),
    )


@router.get(LIST_PAGE, response_class=HTMLResponse)
def list_page(request: Request, runtime: RuntimeDep) -> Response:
    """One's open follow-ups: own, the team's, and as deputy today."""
    user = current_user(request, runtime)
    return _list_page(request, runtime, user)


@router.get("/akte/{bg_number}/wiedervorlagen", response_class=HTMLResponse)
def file_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """The file's follow-ups on a page of their own (the E-Akte shows the same section)."""
    user = current_user(request, runtime)
    return _file_page(request, runtime, user, bg_number)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=10)
    return {k: v.strip()[:3000] for k, v in form.items() if isinstance(v, str)}


def _target(back: str, bg_number: str, saved: str) -> str:
    """Where a successful form goes back to."""
    if back == "postkorb":
        return "/postkorb#wiedervorlagen-heute"
    if back == "liste":
        return f"{LIST_PAGE}?gespeichert={saved}"
    if back == "seite":
        return f"/akte/{quote(bg_number)}/wiedervorlagen?gespeichert={saved}"
    return f"/akte/{quote(bg_number)}#wiedervorlagen"


@router.post("/akte/{bg_number}/wiedervorlagen", response_class=HTMLResponse)
async def create_form(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """Set a follow-up on the file (or one of its documents)."""
    user = await run_in_threadpool(current_user, request, runtime)
    values = await _form(request)
    back = values.get("zurueck", "akte")

    def save() -> Response:
        try:
            day = _day(values.get("due_on", ""))
            with transaction(runtime.sessions) as session:
                followups.create_follow_up(
                    Gate(session, user),
                    bg_number,
                    day,
                    values.get("note", ""),
                    document_id=values.get("document_id") or None,
                    for_team=values.get("fuer") == "team",
                )
        except InvalidInput as error:
            field = str(error.details.get("field", "note"))
            return _file_page(
                request,
                runtime,
                user,
                bg_number,
                status_code=422,
                errors={f"new-{field}": error.message},
                values={f"new-{k}": v for k, v in values.items()},
            )
        return RedirectResponse(_target(back, bg_number, "gesetzt"), status_code=303)

    return await run_in_threadpool(save)


@router.post("/wiedervorlagen/{follow_up_id}/{operation}", response_class=HTMLResponse)
async def change_form(
    follow_up_id: int, operation: str, request: Request, runtime: RuntimeDep
) -> Response:
    """Move a follow-up (new date and reason) or close it (reason)."""
    user = await run_in_threadpool(current_user, request, runtime)
    if operation not in ("verschieben", "erledigt"):
        raise NotFound("Unbekannte Aktion.")
    values = await _form(request)
    back = values.get("zurueck", "liste")
    back = back if back in BACKS else "liste"

    def save() -> Response:
        bg_number = ""
        try:
            with transaction(runtime.sessions) as session:
                gate = Gate(session, user)
                row: Any
                if operation == "verschieben":
                    row = followups.move_follow_up(
                        gate,
                        follow_up_id,
                        _day(values.get("due_on", "")),
                        values.get("reason", ""),
                    )
                else:
                    row = followups.complete_follow_up(gate, follow_up_id, values.get("reason", ""))
                bg_number = row.household.bg_number
        except InvalidInput as error:
            key = f"{'move' if operation == 'verschieben' else 'done'}-{follow_up_id}"
            kept = {f"{key}-{k}": v for k, v in values.items()}
            field = str(error.details.get("field", "reason"))
            errors = {f"{key}-{field}": error.message, key: "open"}
            number = values.get("bg", "")
            if back in ("akte", "seite") and number:
                return _file_page(
                    request,
                    runtime,
                    user,
                    number,
                    status_code=422,
                    errors=errors,
                    values=kept,
                )
            return _list_page(request, runtime, user, status_code=422, errors=errors, values=kept)
        done = "verschoben" if operation == "verschieben" else "erledigt"
        return RedirectResponse(_target(back, bg_number, done), status_code=303)

    return await run_in_threadpool(save)
