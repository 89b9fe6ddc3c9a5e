"""Page routes of the caseworker's workplace: Postkorb, E-Akte (also as a deep link), Vertretung."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import RuntimeDep
from records import audit
from records.access import require_household_access
from records.dates import local_today
from records.db import transaction
from records.errors import AccessDenied, NotFound
from records.files import household_by_number
from web.pages import _user, templates

router = APIRouter(include_in_schema=False)


def _login_first(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/anmelden?next={quote(target, safe='')}", status_code=303)


@router.get("/postkorb", response_class=HTMLResponse)
def inbox_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return _login_first(request)
    return templates.TemplateResponse(request, "postkorb.html", {"user": user})


@router.get("/vertretung", response_class=HTMLResponse)
def deputies_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return _login_first(request)
    # The form starts with the job centre's today, not the browser's UTC date (which is still
    # yesterday until 1 or 2 o'clock at night in Germany).
    today = local_today().isoformat()
    return templates.TemplateResponse(request, "vertretung.html", {"user": user, "today": today})


@router.get("/akte/{bg_number}", response_class=HTMLResponse)
def household_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """Deep link for the Fachverfahren: the household's file, after login and the access check."""
    user = _user(request, runtime)
    if user is None:
        return _login_first(request)
    with transaction(runtime.sessions) as session:
        try:
            household = household_by_number(session, bg_number)
            require_household_access(session, user, household)
            number = household.bg_number
        except NotFound as exc:
            return templates.TemplateResponse(
                request, "not_found.html", {"user": user, "message": exc.message}, status_code=404
            )
        except AccessDenied:
            audit.record(
                session,
                user,
                "household.read",
                outcome="denied",
                object_type="household",
                object_id=household.bg_number,
                bg_number=household.bg_number,
            )
            return templates.TemplateResponse(
                request, "forbidden.html", {"user": user}, status_code=403
            )
    return templates.TemplateResponse(request, "akte.html", {"user": user, "bg_number": number})
