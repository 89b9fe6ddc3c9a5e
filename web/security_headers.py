"""Security headers on every response of the product: pages, JSON, static files and errors.

A pure ASGI middleware around the whole application (see `app.product.create_product_app`), so the
API, the pages, the static files and the error answers all carry the same headers:

- a strict Content-Security-Policy: scripts, styles, images and connections only from our own
  origin, no inline script or style, no `eval`, no plugins, no framing, no <base>, forms only to
  ourselves; `require-trusted-types-for 'script'` with the one policy `eakte` that
  web/static/format.js creates for its escaping helper, so a script that assigns a string to
  innerHTML throws instead of running a letter's text;
- `img-src` also allows `data:` for the viewer's empty favicon (`<link rel="icon" href="data:,">`,
  which keeps the browser from asking for /favicon.ico); a data: image cannot run script;
- PDF answers (download, "Drucken" in a tab of its own) get a policy of their own: no script,
  style, image or connection at all (`default-src 'none'`), only the browser's own PDF viewer
  (`object-src 'self'`, which older Chrome versions need for the <embed> of the page they make
  around a PDF), no framing. Debian's Chromium shows the PDF under it (checked by hand);
- nosniff, a referrer for our own origin only (addresses carry BG numbers and search terms,
  so nothing goes to another site; our server-rendered forms need the browser to send our
  Origin for the cross-site guard), no framing, and HSTS only when the session cookie is
  marked secure (the product is then served over TLS).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TRUSTED_TYPES_POLICY = "eakte"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        f"trusted-types {TRUSTED_TYPES_POLICY}",
    )
)

PDF_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "object-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

HSTS = "max-age=31536000; includeSubDomains"


def _headers(*, pdf: bool, hsts: bool) -> list[tuple[bytes, bytes]]:
    policy = PDF_CONTENT_SECURITY_POLICY if pdf else CONTENT_SECURITY_POLICY
    headers = [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    ]
    if hsts:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


OURS = {
    b"content-security-policy",
    b"x-content-type-options",
    b"referrer-policy",
    b"x-frame-options",
    b"strict-transport-security",
}


def _is_pdf(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/pdf"
    return False


class SecurityHeaders:
    """Adds the headers above to every HTTP response; replaces any a route set itself."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in OURS
                ]
                raw.extend(_headers(pdf=_is_pdf(raw), hsts=self.hsts))
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, with_headers)
