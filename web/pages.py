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
    start = "/scanstelle" if user.role == "scanstelle" else "/suche"
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
