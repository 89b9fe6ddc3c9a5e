"""Conditional answers for the pages a user keeps open (Postkorb, E-Akte, the scanning desk):
the one place that turns a change token into an ETag and answers 304 without a body while the
browser's copy (If-None-Match) still carries it, so that nothing is read or drawn for an
unchanged page. The tokens come from the domain (records.inbox.change_token, records.live,
records.desk); web/static/live.js is the browser's side.

Two kinds of answer share this: the "…/changes" routes (a JSON token: api.routes.workplace),
whose callers are held to a floor between asks per user and page (PollFloor), and the desk's
HTML partials (web.desk_pages), whose ETag is the token of what they show.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse, Response

from api.deps import RuntimeDep, UserDep
from api.schemas import ChangesOut
from core.config import Settings
from core.errors import EAkteError

# Every conditional answer: the user's own (never in a shared cache), asked again each time.
CACHE_CONTROL = "private, no-cache"

CHANGES_RESPONSES: dict[int | str, dict[str, object]] = {
    304: {"description": "Nichts geändert seit dem Stand in If-None-Match"},
    429: {"description": "Zu oft gefragt; Retry-After sagt, wann wieder"},
}


class AskedTooOften(EAkteError, code="poll_too_often", status=429): ...


class PollFloor:
    """When each user last asked about each open page, in this web process: a user's page
    (or a script) asking faster than the floor is told to wait instead of costing a query."""

    def __init__(self) -> None:
        self._last: dict[tuple[int, str], float] = {}
        self._lock = threading.Lock()

    def admit(self, user_id: int, page: str, floor: float, *, repeat: bool = True) -> None:
        """`repeat`: the page asks again (If-None-Match). A page's first question, when it is
        opened or reloaded, is answered like the page's own list would be, and starts the
        clock: going back to the Postkorb within the floor is no error."""
        if floor <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._last) > 10_000:  # forget who has not asked for a while
                self._last = {k: t for k, t in self._last.items() if now - t < floor}
            previous = self._last.get((user_id, page))
            if repeat and previous is not None and now - previous < floor:
                wait = max(1, math.ceil(floor - (now - previous)))
                raise AskedTooOften(
                    f"Zu viele Abfragen: Bitte in {wait} Sekunden erneut versuchen.",
                    retry_after=wait,
                )
            self._last[(user_id, page)] = now


def poll_floor(request: Request) -> PollFloor:
    """The web process's floor (one per app)."""
    state = request.app.state
    floor = getattr(state, "live_poll_floor", None)
    if floor is None:
        floor = state.live_poll_floor = PollFloor()
    return floor


def conditional(token: str, if_none_match: str | None, answer: Callable[[], Response]) -> Response:
    """`answer()` with the token as its ETag, or 304 without a body (and without calling
    `answer`) when the browser has that token already."""
    etag = f'"{token}"'
    known = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
    if etag in known:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})
    response = answer()
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@dataclass(frozen=True)
class ChangesAsked:
    """A "…/changes" ask: who asks, with which ETag (a dependency of those routes)."""

    request: Request
    settings: Settings
    user_id: int
    if_none_match: str | None

    def answer(self, page: str, token: Callable[[], str]) -> Response:
        """The user asks about `page` (held to the floor between asks); the token comes as
        ETag and in the body with how often to ask, or 304 while the browser has it."""
        floor = self.settings.live_min_poll_seconds
        repeat = self.if_none_match is not None
        poll_floor(self.request).admit(self.user_id, page, floor, repeat=repeat)
        current = token()
        body = ChangesOut(token=current, poll_seconds=self.settings.live_poll_seconds)
        return conditional(current, self.if_none_match, lambda: JSONResponse(body.model_dump()))


def changes_asked(
    request: Request,
    runtime: RuntimeDep,
    user: UserDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> ChangesAsked:
    return ChangesAsked(request, runtime.settings, user.id, if_none_match)


ChangesDep = Annotated[ChangesAsked, Depends(changes_asked)]
