"""Page routes of the caseworker's workplace: Postkorb, E-Akte (also as a deep link), Vertretung."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import RuntimeDep
from records.access import Capability, Gate
from records.dates import local_today
from records.db import transaction
from records.errors import AccessDenied
from web.pages import _user, allowed, forbidden, render

router = APIRouter(include_in_schema=False)


def _login_first(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/anmelden?next={quote(target, safe='')}", status_code=303)


@router.get("/postkorb", response_class=HTMLResponse)
def inbox_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return _login_first(request)
    if not allowed(runtime, user, Capability.INBOX, "page.inbox"):
        return forbidden(request, user)
    return render(request, "postkorb.html", user)


@router.get("/vertretung", response_class=HTMLResponse)
def deputies_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return _login_first(request)
    if not allowed(runtime, user, Capability.STAND_IN, "page.deputies"):
        return forbidden(request, user)
    # The form starts with the job centre's today, not the browser's UTC date (which is still
    # yesterday until 1 or 2 o'clock at night in Germany).
    today = local_today().isoformat()
    return render(request, "vertretung.html", user, today=today)


@router.get("/akte/{bg_number}", response_class=HTMLResponse)
def household_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """Deep link for the Fachverfahren: the household's file, after login and the access check."""
    user = _user(request, runtime)
    if user is None:
        return _login_first(request)
    try:
        with transaction(runtime.sessions, read_only=True) as session:
            household, _ = Gate(session, user).household(bg_number, "household.read")
            number = household.bg_number
    except AccessDenied:
        return forbidden(request, user)
    return render(request, "akte.html", user, bg_number=number)
