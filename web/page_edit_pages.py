"""The page editor (issue 15): /dokument/{id}/seiten, where the desk and caseworkers split a
document, move, remove and turn its pages (web/static/seiten.js, through api/routes/pages.py).

The page is the frame; the gate decides between the page and "Kein Zugriff" (unknown and
foreign ids alike, audited), which the product's error handler shows (web.errors)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import RuntimeDep, current_user
from core.db import transaction
from records.access import Gate
from records.page_edit import editable
from web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/dokument/{document_id}/seiten", response_class=HTMLResponse)
def page_editor(document_id: str, request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    # Malformed, unknown and foreign ids are refused alike by the gate (and audited).
    with transaction(runtime.sessions, read_only=True) as session:
        document, grant = editable(Gate(session, user), document_id, "page.page_editor")
        title, wanted = document.source_name, document.id
        back = _BACK.get(grant.via)
        if back is None and document.household is not None:
            back = (f"/akte/{document.household.bg_number}", "Zurück zur Akte")
    return render(request, "seiten.html", user, document_id=str(wanted), title=title, back=back)


# Where the desk came from: clearing, or the quality check of its batches.
_BACK = {
    "clearing": ("/klaerung", "Zurück zur Klärung"),
    "desk": ("/scanstelle", "Zurück zur Scanstelle"),
}
