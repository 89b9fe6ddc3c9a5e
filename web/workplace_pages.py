"""Page routes of the caseworker's workplace: Postkorb, Vertretung (the E-Akte: web.akte_pages)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import RuntimeDep
from core.dates import local_today
from records.access import Capability
from web.pages import gated_page

router = APIRouter(include_in_schema=False)


@router.get("/postkorb", response_class=HTMLResponse)
def inbox_page(request: Request, runtime: RuntimeDep) -> Response:
    return gated_page(request, runtime, "postkorb.html", Capability.INBOX, "page.inbox")


@router.get("/vertretung", response_class=HTMLResponse)
def deputies_page(request: Request, runtime: RuntimeDep) -> Response:
    # The form starts with the job centre's today, not the browser's UTC date (which is still
    # yesterday until 1 or 2 o'clock at night in Germany).
    today = local_today().isoformat()
    return gated_page(
        request, runtime, "vertretung.html", Capability.STAND_IN, "page.deputies", today=today
    )
