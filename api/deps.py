"""Request-scoped dependencies: the runtime, a unit of work, and the logged-in user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import read_session, transaction, unit_of_work
from core.errors import NotAuthenticated
from ingest.filing import catalogue_for
from records.access import Gate
from records.models import User
from records.runtime import Runtime
from records.users import (
    PLEASE_LOG_IN,
    needs_touch,
    session_for_token,
    touch_login_session,
)

SESSION_COOKIE = "eakte_session"


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_type_names(runtime: RuntimeDep) -> dict[str, str]:
    """The German name of each document type of the catalogue, by code."""
    catalogue = catalogue_for(runtime.settings, runtime.sessions)
    return {rule.code: rule.name for rule in catalogue.types}


TypeNamesDep = Annotated[dict[str, str], Depends(get_type_names)]


# Requests that only read: they get a ReadSession (core.db), which never takes or waits for
# SQLite's write lock; the audit rows they record are written after the read, before the answer.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request, runtime: RuntimeDep) -> Iterator[Session]:
    """The request owns the transaction: committed when the route returns, else rolled back;
    then what the commit left to do (core.db.after_commit) runs.

    All of it happens before the answer is sent (scope "function" below): a client is never
    told "done" for a change whose commit failed, nor shown data whose audit row is missing.
    """
    if request.method in READ_METHODS:
        session: Session = read_session(runtime.sessions)
    else:
        session = runtime.sessions()
    with unit_of_work(session, runtime.sessions):
        yield session


DbDep = Annotated[Session, Depends(get_db, scope="function")]


def session_cookie_name(settings: Settings) -> str:
    """`__Host-` when the cookie is sent over TLS only: the browser then accepts it only from
    this host, for path /, and never from a sibling subdomain or plain HTTP (it requires
    Secure, so without TLS the plain name stays)."""
    return "__Host-eakte_session" if settings.cookie_secure else SESSION_COOKIE


def client_address(request: Request) -> str:
    # uvicorn takes it from X-Forwarded-For only when the proxy is trusted (forwarded_allow_ips).
    return request.client.host if request.client else "unbekannt"


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    """The session cookie of a login (password, directory or single sign-on)."""
    response.set_cookie(
        session_cookie_name(settings),
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        # Lax, not Strict: a link to a document in an e-mail or on the intranet opens it for
        # the logged-in person (Strict would show the login page although they are logged
        # in). Lax still keeps the cookie off every cross-site POST, and api/csrf.py refuses
        # changing requests from any other origin, same site included.
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


# Sent by a page's own asks in the background (live updates: the change token and what the page
# fetches after a change): they are no activity of the user's, so an open page left alone still
# ends after the idle timeout.
BACKGROUND_HEADER = "X-EAkte-Background"


def current_user(request: Request, runtime: RuntimeDep) -> User:
    """The logged-in user, read in a short read-only transaction of its own (no write lock).

    The session's last request is written (for the idle timeout) at most once a minute, in a
    transaction of its own, so reading requests do not each take the write lock; a request in
    the background (BACKGROUND_HEADER) is not written.
    """
    settings = runtime.settings
    token = request.cookies.get(session_cookie_name(settings))
    if not token:
        raise NotAuthenticated(PLEASE_LOG_IN)
    secret_key = settings.secret_key.get_secret_value()
    with transaction(runtime.sessions, read_only=True) as session:
        login_session = session_for_token(
            session, secret_key, token, idle_minutes=settings.session_idle_minutes
        )
        user, stale, token_hash = (
            login_session.user,
            needs_touch(login_session),
            login_session.token_hash,
        )
    if stale and not request.headers.get(BACKGROUND_HEADER):
        with transaction(runtime.sessions) as session:
            touch_login_session(session, token_hash)
    return user


UserDep = Annotated[User, Depends(current_user)]


def get_gate(db: DbDep, user: UserDep) -> Gate:
    """The logged-in user's way to social data in this request's unit of work."""
    return Gate(db, user)


GateDep = Annotated[Gate, Depends(get_gate)]
