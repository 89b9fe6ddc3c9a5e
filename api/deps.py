"""Request-scoped dependencies: the runtime, a unit of work, and the logged-in user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from records.db import read_session, transaction, unit_of_work
from records.errors import NotAuthenticated
from records.models import User
from records.runtime import Runtime
from records.users import user_for_token

SESSION_COOKIE = "eakte_session"


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


# Requests that only read: they get a ReadSession (records.db), which never takes or waits for
# SQLite's write lock; the audit rows they record are written after the read, before the answer.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request, runtime: RuntimeDep) -> Iterator[Session]:
    """The request owns the transaction: committed when the route returns, else rolled back;
    then what the commit left to do (records.db.after_commit) runs.

    All of it happens before the answer is sent (scope "function" below): a client is never
    told "done" for a change whose commit failed, nor shown data whose audit row is missing.
    """
    if request.method in READ_METHODS:
        session: Session = read_session(runtime.sessions)
    else:
        session = runtime.sessions()
    with unit_of_work(session):
        yield session


DbDep = Annotated[Session, Depends(get_db, scope="function")]


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
