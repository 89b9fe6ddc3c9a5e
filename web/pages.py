"""Page routes of the web UI. Pages are German; they call the JSON API from the browser."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import RuntimeDep, current_user
from records import audit
from records.db import transaction
from records.errors import NotAuthenticated

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
router = APIRouter(include_in_schema=False)


def _user(request: Request, runtime: RuntimeDep):  # type: ignore[no-untyped-def]
    try:
        return current_user(request, runtime)
    except NotAuthenticated:
        return None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return RedirectResponse("/anmelden", status_code=303)
    start = {"scanstelle": "/scanstelle", "admin": "/scanstelle"}.get(user.role, "/postkorb")
    return RedirectResponse(start, status_code=303)


@router.get("/anmelden", response_class=HTMLResponse)
def login_page(request: Request, runtime: RuntimeDep) -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"demo": runtime.settings.demo, "user": None}
    )


@router.get("/suche", response_class=HTMLResponse)
def search_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return RedirectResponse("/anmelden", status_code=303)
    return templates.TemplateResponse(request, "search.html", {"user": user})


@router.get("/scanstelle", response_class=HTMLResponse)
def desk_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return RedirectResponse("/anmelden", status_code=303)
    if user.role not in ("scanstelle", "admin"):
        with transaction(runtime.sessions) as session:
            audit.record(session, user, "page.desk", outcome="denied")
        return templates.TemplateResponse(
            request, "forbidden.html", {"user": user}, status_code=403
        )
    return templates.TemplateResponse(request, "desk.html", {"user": user})


@router.get("/klaerung", response_class=HTMLResponse)
def clearing_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return RedirectResponse("/anmelden", status_code=303)
    if user.role not in ("scanstelle", "admin"):
        with transaction(runtime.sessions) as session:
            audit.record(session, user, "page.clearing", outcome="denied")
        return templates.TemplateResponse(
            request, "forbidden.html", {"user": user}, status_code=403
        )
    return templates.TemplateResponse(request, "clearing.html", {"user": user})


# --- viewer and deep links ---
# The viewer is a window of its own (second monitor); the main window steers it through a
# BroadcastChannel (protocol in web/static/viewer.js). /dokument/{id} is the link the
# specialist application and colleagues use to point at one document.
# (Imports kept in this block so that it can be appended without touching the top of the file.)

import uuid  # noqa: E402
from urllib.parse import quote, urlencode  # noqa: E402

from api.routes.documents import readable_document  # noqa: E402
from records.errors import AccessDenied, NotFound  # noqa: E402

_VIEWER_PASSED_ON = ("page", "q")


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/anmelden?next={quote(target, safe='/')}", status_code=303)


@router.get("/viewer", response_class=HTMLResponse)
def viewer_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return _to_login(request)
    # The page is only the frame: the document comes through the API, checked and audited.
    # The browser may start on the document and its first page while it reads the script.
    preload = None
    try:
        wanted = uuid.UUID(request.query_params.get("doc", ""))
        page = int(request.query_params.get("page") or 1)
    except ValueError:
        pass
    else:
        if page >= 1:
            base = f"/api/documents/{wanted}"
            preload = {"view": f"{base}/view", "image": f"{base}/pages/{page}/image"}
    return templates.TemplateResponse(
        request, "viewer.html", {"user": user, "error": None, "preload": preload}
    )


@router.get("/dokument/{document_id}", response_class=HTMLResponse)
def document_link(document_id: str, request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return _to_login(request)
    try:
        wanted = uuid.UUID(document_id)
        with transaction(runtime.sessions) as session:
            readable_document(session, user, wanted, action="document.link")
    except (ValueError, NotFound):
        return templates.TemplateResponse(
            request,
            "viewer.html",
            {"user": user, "error": "Dokument nicht gefunden"},
            status_code=404,
        )
    except AccessDenied:
        # readable_document has already committed the refusal to the audit log.
        return templates.TemplateResponse(
            request, "forbidden.html", {"user": user}, status_code=403
        )
    passed_on = {k: v for k, v in request.query_params.items() if k in _VIEWER_PASSED_ON}
    return RedirectResponse(
        f"/viewer?{urlencode({'doc': str(wanted), **passed_on})}", status_code=303
    )
