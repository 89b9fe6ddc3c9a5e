"""Errors as German pages, for a browser that opened a page (api.errors decides when).

The pages are templates like every other page (autoescaped); what an error says reaches them
as a value, never as markup.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.errors import ErrorAnswer
from web.pages import render, signed_in_user

log = logging.getLogger(__name__)

_HEADINGS = {
    400: "Anfrage fehlerhaft",
    401: "Nicht angemeldet",
    409: "Konflikt",
    413: "Zu groß",
    422: "Eingabe nicht verwendbar",
    429: "Zu viele Versuche",
    503: "Vorübergehend nicht verfügbar",
}


def login_redirect(request: Request) -> RedirectResponse:
    """To the login page, which leads back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/anmelden?next={quote(target, safe='/')}", status_code=303)


def error_page(request: Request, answer: ErrorAnswer) -> Response:
    if answer.kind == "login":
        return login_redirect(request)
    # After an unexpected error the database may be the cause: the page goes without the menu.
    user = signed_in_user(request) if answer.status < 500 else None
    if answer.kind == "forbidden":
        response = render(request, "forbidden.html", user, status_code=answer.status)
    elif answer.kind == "not_found":
        response = render(
            request, "not_found.html", user, status_code=answer.status, message=answer.message
        )
    else:
        heading = _HEADINGS.get(answer.status, "Fehler" if answer.status < 500 else "Störung")
        problems = answer.details.get("problems") if answer.status == 422 else None
        response = render(
            request,
            "error.html",
            user,
            status_code=answer.status,
            heading=heading,
            message=answer.message,
            code=answer.code,
            problems=problems if isinstance(problems, list) else [],
        )
    response.headers.update(answer.headers)
    return response
