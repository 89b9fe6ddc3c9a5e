"""Page routes of the web UI. Pages are German; they call the JSON API from the browser."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import RuntimeDep, current_user
from core.db import transaction
from core.errors import NotAuthenticated, NotFound
from records.access import Capability, Gate, capabilities
from records.models import User
from records.runtime import Runtime

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
# The pages' scripts and styles, served under /static by the product app.
STATIC_DIR = Path(__file__).resolve().parent / "static"
router = APIRouter(include_in_schema=False)


def render(
    request: Request, name: str, user: User | None, status_code: int = 200, **context: object
) -> Response:
    """A page; templates learn what the user may do as capabilities, never as a role name."""
    caps = {c.value for c in capabilities(user)}
    return templates.TemplateResponse(
        request, name, {"user": user, "caps": caps, **context}, status_code=status_code
    )


def require(runtime: Runtime, user: User, capability: Capability, action: str) -> None:
    """The user's role may open this page, else AccessDenied: the product's error handler
    shows "Kein Zugriff" (web.errors), and the refusal is in the audit log."""
    with transaction(runtime.sessions, read_only=True) as session:
        Gate(session, user).require(capability, action)


def _user(request: Request, runtime: RuntimeDep):  # type: ignore[no-untyped-def]
    try:
        return current_user(request, runtime)
    except NotAuthenticated:
        return None


def signed_in_user(request: Request) -> User | None:
    """Who is signed in, for the menu of an error page."""
    return _user(request, request.app.state.runtime)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return RedirectResponse("/anmelden", status_code=303)
    # The desk's work; for the administration, the checksum check.
    start = "/postkorb" if Capability.INBOX in capabilities(user) else "/scanstelle"
    return RedirectResponse(start, status_code=303)


@router.get("/anmelden", response_class=HTMLResponse)
def login_page(request: Request, runtime: RuntimeDep) -> Response:
    return render(request, "login.html", None, demo=runtime.settings.demo)


@router.get("/suche", response_class=HTMLResponse)
def search_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return RedirectResponse("/anmelden", status_code=303)
    if Capability.CLEARING not in capabilities(user):
        require(runtime, user, Capability.CASE_FILES, "page.search")
    return render(request, "search.html", user)


@router.get("/scanstelle", response_class=HTMLResponse)
def desk_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return RedirectResponse("/anmelden", status_code=303)
    if not capabilities(user) & {Capability.SCAN, Capability.VERIFY_STORE}:
        require(runtime, user, Capability.SCAN, "page.desk")
    return render(request, "desk.html", user)


@router.get("/klaerung", response_class=HTMLResponse)
def clearing_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return RedirectResponse("/anmelden", status_code=303)
    require(runtime, user, Capability.CLEARING, "page.clearing")
    return render(request, "clearing.html", user)


# --- viewer and deep links ---
# The viewer is a window of its own (second monitor); the main window steers it through a
# BroadcastChannel (protocol in web/static/viewer.js). /dokument/{id} is the link the
# specialist application and colleagues use to point at one document.
# (Imports kept in this block so that it can be appended without touching the top of the file.)

import uuid  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

_VIEWER_PASSED_ON = ("page", "q")


@router.get("/viewer", response_class=HTMLResponse)
def viewer_page(request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)  # none: to the login page (web.errors)
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
    return render(request, "viewer.html", user, error=None, preload=preload)


@router.get("/dokument/{document_id}", response_class=HTMLResponse)
def document_link(document_id: str, request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    try:
        wanted = uuid.UUID(document_id)
    except ValueError:
        raise NotFound("Dokument nicht gefunden.") from None
    # Unknown and foreign ids are refused alike (AccessDenied); the refusal is in the audit log.
    with transaction(runtime.sessions, read_only=True) as session:
        Gate(session, user).read_document(wanted, "document.link")
    passed_on = {k: v for k, v in request.query_params.items() if k in _VIEWER_PASSED_ON}
    return RedirectResponse(
        f"/viewer?{urlencode({'doc': str(wanted), **passed_on})}", status_code=303
    )
