"""The one place where an error becomes an answer: JSON for programs, a German page for a
browser that opened a page.

Every error the application raises comes here: the product's error family (`EAkteError`),
Starlette's own (an unknown address, a method the route does not take), a request that does
not parse, and anything unexpected (500). `install_error_handlers` registers them; the product
app passes a page renderer (web.errors), the bare API has none and always answers JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from core.errors import (
    AccessDenied,
    BlobCorrupted,
    BlobExists,
    BlobMissing,
    EAkteError,
    NotAuthenticated,
    NotFound,
)

log = logging.getLogger(__name__)

# Details that describe the installation, not the request: logged, never sent.
_INTERNAL = (BlobExists, BlobMissing, BlobCorrupted)

_HTTP_ERRORS: dict[int, tuple[str, str]] = {
    404: ("not_found", "Diese Adresse gibt es nicht."),
    405: ("method_not_allowed", "Diese Aktion ist unter dieser Adresse nicht möglich."),
}


@dataclass(frozen=True)
class ErrorAnswer:
    """What is said about an error, whoever it is said to."""

    status: int
    code: str
    message: str
    details: dict[str, object] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # The kind of error, for a page to choose its wording: "forbidden", "not_found",
    # "login" (the session is missing or over), "error".
    kind: str = "error"


PageRenderer = Callable[[Request, ErrorAnswer], Response]


def error_body(code: str, message: str, **details: object) -> dict[str, object]:
    extra = {"details": details} if details else {}
    return {"error": {"code": code, "message": message, **extra}}


async def send_refusal(
    scope: Scope, receive: Receive, send: Send, answer: ErrorAnswer, page: PageRenderer | None
) -> None:
    """A refusal by ASGI middleware (before or while the body is read), answered like every
    other error: the German page for a browser that wants one, else the same JSON."""
    request = Request(scope, receive)
    await (await _answer(request, answer, page))(scope, receive, send)


def answer_for(exc: BaseException) -> ErrorAnswer:
    """The answer to any exception; what the client must not learn is left out."""
    if isinstance(exc, EAkteError):
        if exc.status >= 500:
            log.error("%s: %s %s", exc.code, exc.message, exc.details or "")
        details = {} if exc.status >= 500 or isinstance(exc, _INTERNAL) else dict(exc.details)
        headers = {}
        retry_after = exc.details.get("retry_after")
        if isinstance(retry_after, int):
            headers["Retry-After"] = str(retry_after)
        kind = "error"
        if isinstance(exc, AccessDenied):
            kind = "forbidden"
        elif isinstance(exc, NotFound):
            kind = "not_found"
        elif isinstance(exc, NotAuthenticated):
            kind = "login"
        return ErrorAnswer(exc.status, exc.code, exc.message, details, headers, kind)
    if isinstance(exc, RequestValidationError):
        problems = [
            f"{'.'.join(str(p) for p in err['loc'][1:]) or 'Anfrage'}: {err['msg']}"
            for err in exc.errors()
        ]
        return ErrorAnswer(
            422,
            "invalid_request",
            "Die Anfrage ist unvollständig oder fehlerhaft.",
            {"problems": problems},
        )
    if isinstance(exc, HTTPException):
        code, message = _HTTP_ERRORS.get(
            exc.status_code, ("http_error", "Die Anfrage konnte nicht bearbeitet werden.")
        )
        return ErrorAnswer(
            exc.status_code,
            code,
            message,
            headers=dict(exc.headers or {}),
            kind="not_found" if exc.status_code == 404 else "error",
        )
    # Starlette's ServerErrorMiddleware logs the exception and raises it on after the answer.
    return ErrorAnswer(
        500,
        "internal_error",
        "Ein technischer Fehler ist aufgetreten. Bitte versuchen Sie es später erneut; "
        "bleibt der Fehler, verständigen Sie die Administration.",
    )


def _json(answer: ErrorAnswer) -> JSONResponse:
    return JSONResponse(
        error_body(answer.code, answer.message, **answer.details),
        status_code=answer.status,
        headers=answer.headers or None,
    )


def wants_page(request: Request) -> bool:
    """A page route, or a browser that opened an address; never the API."""
    path = request.url.path
    if path.startswith("/api/") or path in ("/api", "/health", "/openapi.json"):
        return False
    route_answers = getattr(request.scope.get("route"), "response_class", None)
    if isinstance(route_answers, type) and issubclass(route_answers, HTMLResponse):
        return True
    return "text/html" in request.headers.get("accept", "")


async def _answer(request: Request, answer: ErrorAnswer, page: PageRenderer | None) -> Response:
    if page is not None and wants_page(request):
        # The page looks up who is signed in: database work, off the event loop.
        return await run_in_threadpool(page, request, answer)
    return _json(answer)


def install_error_handlers(app: FastAPI, page: PageRenderer | None = None) -> None:
    """Every error of `app` is answered here, as a page when `page` is given and the request
    wants one, else as JSON."""

    async def handle(request: Request, exc: Exception) -> Response:
        return await _answer(request, answer_for(exc), page)

    for kind in (EAkteError, RequestValidationError, HTTPException, Exception):
        app.add_exception_handler(kind, handle)
