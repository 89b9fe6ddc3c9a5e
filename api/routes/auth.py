from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.deps import RuntimeDep, UserDep, session_cookie_name
from api.schemas import Ok
from records import audit
from records.db import transaction
from records.errors import NotAuthenticated
from records.users import (
    LOGIN_FAILED,
    ThrottlePolicy,
    accept_login,
    clear_account_failures,
    close_login_session,
    login_wait,
    new_hash_if_outdated,
    open_login_session,
    password_matches,
    read_credentials,
    record_login_failure,
    refuse_throttled,
)

router = APIRouter(prefix="/api/auth", tags=["Anmeldung"])


class LoginRequest(BaseModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class UserOut(BaseModel):
    login: str
    name: str
    role: str
    team: str | None


def user_out(user) -> UserOut:  # type: ignore[no-untyped-def]
    return UserOut(
        login=user.login, name=user.name, role=user.role, team=user.team.name if user.team else None
    )


def client_address(request: Request) -> str:
    # uvicorn takes it from X-Forwarded-For only when the proxy is trusted (forwarded_allow_ips).
    return request.client.host if request.client else "unbekannt"


@router.post("/login", response_model=UserOut, summary="Anmelden; setzt das Sitzungs-Cookie")
def login(body: LoginRequest, request: Request, response: Response, runtime: RuntimeDep) -> UserOut:
    """Three short transactions with the Argon2 check between them, none open while it runs
    (records/users.py); failures are counted per account and per address in the database, so
    every web process of `eakte serve` sees them and a restart forgets none."""
    settings = runtime.settings
    policy = ThrottlePolicy.from_settings(settings)
    address = client_address(request)
    with transaction(runtime.sessions) as session:
        wait = login_wait(session, policy, body.login, address)
        if wait:
            audit.record(
                session,
                None,
                "auth.login",
                actor_login=body.login,
                outcome="refused",
                code="login_throttled",
                address=address,
            )
        else:
            credentials = read_credentials(session, body.login)
    if wait:
        raise refuse_throttled(wait)
    verified = password_matches(credentials, body.password)
    new_hash = new_hash_if_outdated(credentials, body.password) if verified else None
    with transaction(runtime.sessions) as session:
        try:
            if not verified:
                raise NotAuthenticated(LOGIN_FAILED, code="login_failed")
            user = accept_login(session, credentials, demo_mode=settings.demo, new_hash=new_hash)
        except NotAuthenticated as exc:
            record_login_failure(session, policy, body.login, address)
            audit.record(
                session,
                None,
                "auth.login",
                actor_login=body.login,
                outcome="refused",
                code=exc.code,
                address=address,
            )
            failure = exc
        else:
            failure = None
            clear_account_failures(session, body.login)
            token = open_login_session(
                session, user, settings.secret_key.get_secret_value(), settings.session_hours
            )
            audit.record(session, user, "auth.login", address=address)
    if failure is not None:
        raise failure
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
    return user_out(user)


@router.post("/logout", response_model=Ok, summary="Abmelden")
def logout(request: Request, response: Response, runtime: RuntimeDep) -> Ok:
    settings = runtime.settings
    name = session_cookie_name(settings)
    token = request.cookies.get(name)
    if token:
        with transaction(runtime.sessions) as session:
            user = close_login_session(session, settings.secret_key.get_secret_value(), token)
            if user is not None:
                audit.record(session, user, "auth.logout", address=client_address(request))
    response.delete_cookie(name, path="/", secure=settings.cookie_secure, httponly=True)
    return Ok(ok=True)


@router.get("/me", response_model=UserOut, summary="Die angemeldete Person")
def me(user: UserDep) -> UserOut:
    return user_out(user)
