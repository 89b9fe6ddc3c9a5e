"""The audit log: who did what to which object, when, from where, and for whom."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from records import audit_chain  # noqa: F401 - chains every audit row at commit
from records.models import AuditEvent, User


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for every audit row it writes."""

    client_ip: str | None = None
    user_agent: str | None = None


_NO_ORIGIN = Origin()
_origin: ContextVar[Origin] = ContextVar("audit_origin", default=_NO_ORIGIN)  # noqa: B039


@contextmanager
def request_origin(client_ip: str | None, user_agent: str | None) -> Iterator[None]:
    """Every audit row written while the block runs carries this origin."""
    token = _origin.set(Origin(client_ip, (user_agent or "")[:300] or None))
    try:
        yield
    finally:
        _origin.reset(token)


def record(
    session: Session,
    actor: User | None,
    action: str,
    *,
    outcome: str = "ok",
    **fields: Any,
) -> AuditEvent:
    """An audit row in the session's unit of work."""
    row = pending(actor, action, outcome=outcome, **fields)
    row(session)
    return row.event


def pending(
    actor: User | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    bg_number: str | None = None,
    outcome: str = "denied",
    on_behalf_of: User | None = None,
    actor_login: str | None = None,
    **details: Any,
) -> PendingRow:
    """An audit row to be written later, e.g. after the unit of work rolled back (a refusal):
    the origin is taken now, while the request is still known."""
    origin = _origin.get()
    return PendingRow(
        AuditEvent(
            actor_login=actor.login if actor else actor_login,
            on_behalf_of_login=on_behalf_of.login if on_behalf_of else None,
            action=action,
            object_type=object_type,
            object_id=str(object_id) if object_id is not None else None,
            bg_number=bg_number,
            outcome=outcome,
            client_ip=origin.client_ip,
            user_agent=origin.user_agent,
            details=details,
        )
    )


@dataclass(frozen=True)
class PendingRow:
    """An audit row made now (with the request's origin) and added to a session later."""

    event: AuditEvent

    def __call__(self, session: Session) -> None:
        session.add(self.event)
