"""Every audit row names the client's address and user agent: bound here for each request."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from records.audit import request_origin


class AuditOrigin:
    """Pure ASGI, so that the origin is bound in the same context the routes run in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        agent = next(
            (v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"user-agent"), None
        )
        with request_origin(client[0] if client else None, agent):
            await self.app(scope, receive, send)
