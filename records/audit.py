"""The audit log: who did what to which object, when, and for whom."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from records import audit_chain  # noqa: F401 - chains every audit row at commit
from records.models import AuditEvent, User


def record(
    session: Session,
    actor: User | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    bg_number: str | None = None,
    outcome: str = "ok",
    on_behalf_of: User | None = None,
    actor_login: str | None = None,
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        actor_login=actor.login if actor else actor_login,
        on_behalf_of_login=on_behalf_of.login if on_behalf_of else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        bg_number=bg_number,
        outcome=outcome,
        details=details,
    )
    session.add(event)
    return event


def record_refusal(session: Session, actor: User | None, action: str, **kwargs: Any) -> None:
    """Record a refused attempt and commit it at once: the refusal rolls back everything else."""
    session.rollback()
    kwargs.setdefault("outcome", "denied")
    record(session, actor, action, **kwargs)
    session.commit()
