"""The one shape of an error answer, for routes and for the guards that answer before them."""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import Send


def error_body(code: str, message: str, **details: object) -> dict[str, object]:
    extra = {"details": details} if details else {}
    return {"error": {"code": code, "message": message, **extra}}


async def send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """An error answered by ASGI middleware, in the same JSON as every other error."""
    body = json.dumps(error_body(code, message), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
