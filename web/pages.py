"""Page routes of the web UI. Pages are German; they call the JSON API from the browser."""

from __future__ import annotations

from collections.abc import Callable
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


def gated_page(
    request: Request,
    runtime: Runtime,
    name: str,
    capability: Capability,
    action: str,
    **context: object,
) -> Response:
    """A page for the signed-in user whose role has `capability` (nobody signed in: the login
    page, by web.errors; a role without it: "Kein Zugriff", audited as `action`)."""
    user = current_user(request, runtime)
    require(runtime, user, capability, action)
    return render(request, name, user, 200, **context)


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


# The pages of search, desk and clearing: path, template, the capability the page needs, the
# audited action of a refusal, and the capabilities that are enough on their own (the scanning
# desk searches too, to file what is in clearing; the administration checks the stored files'
# checksums on the desk's page).
_SIGNED_IN_PAGES: tuple[tuple[str, str, Capability, str, set[Capability]], ...] = (
    ("/suche", "search.html", Capability.CASE_FILES, "page.search", {Capability.CLEARING}),
    (
        "/scanstelle",
        "desk.html",
        Capability.SCAN,
        "page.desk",
        {Capability.SCAN, Capability.VERIFY_STORE},
    ),
    ("/klaerung", "clearing.html", Capability.CLEARING, "page.clearing", set()),
)


def _signed_in_page(
    name: str, capability: Capability, action: str, enough: set[Capability]
) -> Callable[[Request, Runtime], Response]:
    """A page route: nobody signed in goes to the login page; a role with one of `enough` opens
    it at once, any other needs `capability` (else "Kein Zugriff", audited as `action`)."""

    def page(request: Request, runtime: RuntimeDep) -> Response:
        user = _user(request, runtime)
        if user is None:
            return RedirectResponse("/anmelden", status_code=303)
        if not capabilities(user) & enough:
            require(runtime, user, capability, action)
        return render(request, name, user)

    return page


for _path, _name, _capability, _action, _enough in _SIGNED_IN_PAGES:
    router.add_api_route(
        _path, _signed_in_page(_name, _capability, _action, _enough), response_class=HTMLResponse
    )


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
