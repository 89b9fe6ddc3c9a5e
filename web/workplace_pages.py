"""Page routes of the caseworker's workplace: Postkorb, E-Akte (also as a deep link), Vertretung."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import RuntimeDep, current_user
from core.db import transaction
from records.access import Capability, Gate
from web.pages import gated_page, render

router = APIRouter(include_in_schema=False)


@router.get("/postkorb", response_class=HTMLResponse)
def inbox_page(request: Request, runtime: RuntimeDep) -> Response:
    return gated_page(request, runtime, "postkorb.html", Capability.INBOX, "page.inbox")


@router.get("/akte/{bg_number}", response_class=HTMLResponse)
def household_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """Deep link for the Fachverfahren: the household's file, after login and the access check."""
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    with transaction(runtime.sessions, read_only=True) as session:
        household, _ = Gate(session, user).household(bg_number, "household.read")
        number = household.bg_number
    return render(request, "akte.html", user, bg_number=number)
