"""Page routes of the objections office: the dashboard of open objections and appeals, one page
per objection and per appeal, and the file export (Aktenauszug) of a household's file.

The pages are frames; the data comes through the JSON API, which checks and audits every read.
The access check here only decides between the page, "Kein Zugriff" and "Nicht gefunden".
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import RuntimeDep
from records import audit, objections
from records.access import require_household_access
from records.db import transaction
from records.errors import AccessDenied, NotFound
from records.exports import EXPORT_ROLES
from records.files import household_by_number
from records.runtime import Runtime
from web.pages import _user, templates
from web.workplace_pages import _login_first

router = APIRouter(include_in_schema=False)


def _forbidden(request: Request, user) -> Response:  # type: ignore[no-untyped-def]
    return templates.TemplateResponse(request, "forbidden.html", {"user": user}, status_code=403)


def _not_found(request: Request, user, message: str) -> Response:  # type: ignore[no-untyped-def]
    return templates.TemplateResponse(
        request, "not_found.html", {"user": user, "message": message}, status_code=404
    )


@router.get("/widersprueche", response_class=HTMLResponse)
def board_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return _login_first(request)
    if user.role not in objections.OFFICE_ROLES:
        with transaction(runtime.sessions) as session:
            audit.record(session, user, "page.objections", outcome="denied")
        return _forbidden(request, user)
    return templates.TemplateResponse(request, "widersprueche.html", {"user": user})


def _case_page(request: Request, runtime: Runtime, kind: str, case_id: int) -> Response:
    """The page of one objection or appeal; its household decides who may open it."""
    user = _user(request, runtime)
    if user is None:
        return _login_first(request)
    getter = objections.get_objection if kind == "objection" else objections.get_appeal
    try:
        with transaction(runtime.sessions) as session:
            bg_number = getter(session, user, case_id).household.bg_number
    except NotFound as exc:
        return _not_found(request, user, exc.message)
    except AccessDenied:
        return _forbidden(request, user)
    return templates.TemplateResponse(
        request,
        "fall.html",
        {"user": user, "kind": kind, "case_id": case_id, "bg_number": bg_number},
    )


@router.get("/widersprueche/{objection_id}", response_class=HTMLResponse)
def objection_page(objection_id: int, request: Request, runtime: RuntimeDep) -> Response:
    return _case_page(request, runtime, "objection", objection_id)


@router.get("/klagen/{appeal_id}", response_class=HTMLResponse)
def appeal_page(appeal_id: int, request: Request, runtime: RuntimeDep) -> Response:
    return _case_page(request, runtime, "appeal", appeal_id)


@router.get("/akte/{bg_number}/aktenauszug", response_class=HTMLResponse)
def export_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return _login_first(request)
    with transaction(runtime.sessions) as session:
        try:
            household = household_by_number(session, bg_number)
            if user.role not in EXPORT_ROLES:
                raise AccessDenied("Aktenauszüge gehören nicht zu Ihrem Aufgabenbereich.")
            require_household_access(session, user, household)
            number = household.bg_number
        except NotFound as exc:
            return _not_found(request, user, exc.message)
        except AccessDenied:
            audit.record(
                session,
                user,
                "page.export",
                outcome="denied",
                object_type="household",
                object_id=household.bg_number,
                bg_number=household.bg_number,
            )
            return _forbidden(request, user)
    return templates.TemplateResponse(
        request, "aktenauszug.html", {"user": user, "bg_number": number}
    )
