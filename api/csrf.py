"""The one guard against cross-site request forgery, for the API and the web pages alike.

Every request that may change something (POST, PUT, PATCH, DELETE) must come from the
product's own pages. A browser says where a request comes from in two headers that a page
cannot set or remove: `Sec-Fetch-Site` (sent by every current browser) and `Origin` (sent on
every cross-origin request and on every POST, also by older browsers). So:

- `Sec-Fetch-Site` present: only `same-origin` passes (and `none`, a navigation the person
  started themselves, for example from a bookmark). `same-site` is refused too: a page on
  another port or another intranet host of the same site is not the E-Akte, and the session
  cookie's SameSite rule does not stop it.
- `Origin` present: it must be the request's own origin (scheme, host and port as the
  browser reached the product) or one of the configured `trusted_origins`.
- Neither header: not a browser (the command line, scripts, monitoring). Such a client holds
  its own cookie, so no other site can ride on it; a browser never sends a cross-site POST
  without at least `Origin`, so letting these requests pass opens nothing.

This needs no token in the pages, so a form or script added later is guarded without doing
anything. Read-only requests are not checked: they change nothing, and another site cannot
read their answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import ErrorAnswer, PageRenderer, send_refusal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

REFUSAL_MESSAGE = (
    "Die Anfrage kam nicht von einer Seite der E-Akte und wurde abgelehnt. "
    "Bitte die E-Akte direkt aufrufen und die Aktion dort wiederholen."
)


def normal_origin(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, with the default port filled in; None if malformed."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def own_origin(scope: Scope, headers: Headers) -> tuple[str, str, int] | None:
    """The origin the browser reached: the scheme (uvicorn takes it from a trusted proxy's
    X-Forwarded-Proto) and the Host header."""
    host = headers.get("host")
    if not host:
        return None
    return normal_origin(f"{scope.get('scheme', 'http')}://{host}")


class CrossSiteGuard:
    def __init__(
        self, app: ASGIApp, trusted_origins: Iterable[str] = (), page: PageRenderer | None = None
    ) -> None:
        self.app = app
        self.page = page
        self.trusted = {found for o in trusted_origins if (found := normal_origin(o)) is not None}

    def allowed(self, scope: Scope) -> bool:
        headers = Headers(scope=scope)
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site.strip().lower() not in ALLOWED_FETCH_SITES:
            return False
        origin = headers.get("origin")
        if origin is not None:
            claimed = normal_origin(origin)  # "null" (sandboxed frames, file://) is None
            if claimed is None:
                return False
            if claimed != own_origin(scope, headers) and claimed not in self.trusted:
                return False
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS or self.allowed(scope):
            await self.app(scope, receive, send)
            return
        refusal = ErrorAnswer(
            403, "cross_site_request", REFUSAL_MESSAGE, headers={"Vary": "Origin, Sec-Fetch-Site"}
        )
        await send_refusal(scope, receive, send, refusal, self.page)
