"""Replies to requests for documents and cover sheets on the pages (issue 19).

- POST /akte/{bg}/anforderungen/{request_id}/verknuepfung/{link_id}/bestaetigen: the caseworker
  confirms a supposed reply ("vermutlich Antwort auf Anforderung vom …"); back to the E-Akte.
- POST /akte/{bg}/anforderungen/{request_id}/verknuepfung/{link_id}/loesen (field `grund`):
  the caseworker undoes a link, with a reason; a missing reason is refused with a German
  message (the error page, 422). The buttons are on the request's section (request19).
- GET /akte/{bg}/deckblatt.pdf: the household's cover sheet for the caseworker who may work
  the file; GET /scanstelle/deckblatt.pdf?bg=…: the same for the scanning desk (the form on the
  desk page), for documents a client hands in at the counter.
Each calls one service of records.request_replies through its Gate.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user
from core.db import transaction
from records import request_replies
from records.access import Gate

router = APIRouter(include_in_schema=False)

LINK = "/akte/{bg_number}/anforderungen/{request_id}/verknuepfung/{link_id}"


@router.post(LINK + "/bestaetigen")
async def confirm_link(
    bg_number: str, request_id: int, link_id: int, request: Request, runtime: RuntimeDep
) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)

    def save() -> None:
        with transaction(runtime.sessions) as session:
            request_replies.confirm(Gate(session, user), bg_number, request_id, link_id)

    await run_in_threadpool(save)
    return RedirectResponse(f"/akte/{quote(bg_number)}#anforderungen", status_code=303)


@router.post(LINK + "/loesen")
async def undo_link(
    bg_number: str, request_id: int, link_id: int, request: Request, runtime: RuntimeDep
) -> Response:
    user = await run_in_threadpool(current_user, request, runtime)
    form = await request.form(max_files=0, max_fields=5)
    reason = form.get("grund", "")
    reason = reason[:2000] if isinstance(reason, str) else ""

    def save() -> None:
        with transaction(runtime.sessions) as session:
            request_replies.unlink(Gate(session, user), bg_number, request_id, link_id, reason)

    await run_in_threadpool(save)
    return RedirectResponse(f"/akte/{quote(bg_number)}#anforderungen", status_code=303)


def _cover_sheet(request: Request, runtime: RuntimeDep, bg_number: str) -> Response:
    user = current_user(request, runtime)
    with transaction(runtime.sessions) as session:
        name, data = request_replies.cover_sheet(Gate(session, user), bg_number, runtime.settings)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/akte/{bg_number}/deckblatt.pdf")
def file_cover_sheet(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    return _cover_sheet(request, runtime, bg_number)


@router.get("/scanstelle/deckblatt.pdf")
def desk_cover_sheet(request: Request, runtime: RuntimeDep, bg: str = "") -> Response:
    return _cover_sheet(request, runtime, bg.strip()[:40])
