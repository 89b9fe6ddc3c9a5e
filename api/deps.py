"""Request-scoped dependencies: the runtime, a unit of work, and the logged-in user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from records.access import Gate
from records.db import record_after_rollback, transaction
from records.errors import NotAuthenticated
from records.models import User
from records.runtime import Runtime
from records.users import user_for_token

SESSION_COOKIE = "eakte_session"


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_db(runtime: RuntimeDep) -> Iterator[Session]:
    """The request owns the transaction: committed when the route returns, else rolled back."""
    session = runtime.sessions()
    try:
        yield session
        session.commit()
    except BaseException as exc:
        session.rollback()
        session.close()
        record_after_rollback(runtime.sessions, exc)
        raise
    finally:
        session.close()


DbDep = Annotated[Session, Depends(get_db)]


def current_user(request: Request, runtime: RuntimeDep) -> User:
    """The logged-in user, read in a short transaction of its own.

    A thread never holds two transactions at once: on SQLite each one holds the write lock.
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotAuthenticated("Bitte melden Sie sich an.")
    with transaction(runtime.sessions) as session:
        return user_for_token(session, runtime.settings.secret_key.get_secret_value(), token)


UserDep = Annotated[User, Depends(current_user)]


def get_gate(db: DbDep, user: UserDep) -> Gate:
    """The logged-in user's way to social data in this request's unit of work."""
    return Gate(db, user)


GateDep = Annotated[Gate, Depends(get_gate)]
