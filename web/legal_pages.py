"""Page routes of the objections office: the dashboard of open objections and appeals, one page
per objection and per appeal, and the file export (Aktenauszug) of a household's file.

The pages are frames; the data comes through the JSON API, which checks and audits every read.
The gate here decides between the page and "Kein Zugriff" (unknown and foreign ids alike),
which the product's error handler shows (web.errors).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import RuntimeDep, current_user
from core.db import transaction
from records.access import Capability, Gate
from records.runtime import Runtime
from web.pages import gated_page, render

router = APIRouter(include_in_schema=False)


@router.get("/widersprueche", response_class=HTMLResponse)
def board_page(request: Request, runtime: RuntimeDep) -> Response:
    return gated_page(request, runtime, "widersprueche.html", Capability.LEGAL, "page.objections")


def _case_page(request: Request, runtime: Runtime, kind: str, case_id: int) -> Response:
    """The page of one objection or appeal; its household decides who may open it."""
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        case = (
            gate.objection(case_id, "page.objection")
            if kind == "objection"
            else gate.appeal(case_id, "page.appeal")
        )
        bg_number = case.household.bg_number
    return render(request, "fall.html", user, kind=kind, case_id=case_id, bg_number=bg_number)


@router.get("/widersprueche/{objection_id}", response_class=HTMLResponse)
def objection_page(objection_id: int, request: Request, runtime: RuntimeDep) -> Response:
    return _case_page(request, runtime, "objection", objection_id)


@router.get("/klagen/{appeal_id}", response_class=HTMLResponse)
def appeal_page(appeal_id: int, request: Request, runtime: RuntimeDep) -> Response:
    return _case_page(request, runtime, "appeal", appeal_id)
