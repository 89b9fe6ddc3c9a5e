"""Request body limits, enforced while the body arrives, and the media type of raw uploads.

Every request body is small (`max_json_kb`: JSON and forms) unless its route is one of the
upload routes named here, which take `max_upload_mb`. A body over its limit is refused with
413 as soon as the declared length or the bytes received so far pass it, so nothing large is
read into memory or spooled to disk for a route that expects a few fields. A route missing
from the list (a new or renamed one) gets the small limit: it fails closed.
"""

from __future__ import annotations

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ErrorAnswer, PageRenderer, send_refusal
from core.errors import EAkteError

# (method, route path) of the routes that take files: scans from the desk, e-mails and
# Bescheide into a file, master-data CSV.
UPLOAD_ROUTES = frozenset(
    {
        ("POST", "/api/documents"),
        ("POST", "/api/households/{bg_number}/documents"),
        ("POST", "/api/import/{kind}"),
    }
)

# Room for the multipart envelope around the file itself.
_ENVELOPE = 64 * 1024
_LIMITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UnsupportedMediaType(EAkteError, code="unsupported_media_type", status=415): ...


def require_media_type(request: Request, expected: str, message: str) -> None:
    """Refuse a raw body that is not of the expected media type (parameters like charset aside)."""
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared != expected:
        raise UnsupportedMediaType(message)


def is_upload_route(scope: Scope) -> bool:
    """Whether the request's route takes files; known once the router has chosen the route,
    which it has by the time the endpoint reads the body."""
    route = scope.get("route")
    return (scope["method"], getattr(route, "path", None)) in UPLOAD_ROUTES


class BodySizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        max_upload_bytes: int,
        page: PageRenderer | None = None,
    ) -> None:
        self.app = app
        self.page = page
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes + _ENVELOPE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _LIMITED_METHODS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        limit: int | None = None
        upload = False
        received = 0
        started = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal limit, upload, received, refused
            if limit is None:
                upload = is_upload_route(scope)
                limit = self.max_upload_bytes if upload else self.max_bytes
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    await refuse()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    await refuse()
            return message

        async def refuse() -> None:
            nonlocal refused
            # Answer now: the app may turn the exception below into an answer of its own
            # (FastAPI reports any failure while reading a body as 400).
            if not started and not refused:
                refused = True
                await self._refuse(scope, receive, send, upload)
            raise _TooLarge()

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started and not refused:
                await self._refuse(scope, receive, send, upload)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, upload: bool) -> None:
        if upload:
            limit_mb = (self.max_upload_bytes - _ENVELOPE) / 1048576
            message = (
                f"Die Datei ist zu groß (erlaubt sind {limit_mb:.0f} MB). Bitte den Stapel teilen."
            )
            code = "upload_too_large"
        else:
            message = (
                f"Die Anfrage ist zu groß (erlaubt sind {self.max_bytes // 1024} KB). "
                "Dateien bitte über das Hochladen einliefern."
            )
            code = "request_too_large"
        refusal = ErrorAnswer(413, code, message, headers={"Connection": "close"})
        await send_refusal(scope, receive, send, refusal, self.page)


class _TooLarge(Exception):
    pass
