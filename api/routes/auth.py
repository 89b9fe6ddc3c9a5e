from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.deps import SESSION_COOKIE, DbDep, RuntimeDep, UserDep
from records import audit
from records.errors import NotAuthenticated
from records.users import authenticate, close_login_session, open_login_session

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


@router.post("/login", summary="Anmelden; setzt das Sitzungs-Cookie")
def login(body: LoginRequest, response: Response, runtime: RuntimeDep, db: DbDep) -> UserOut:
    settings = runtime.settings
    try:
        user = authenticate(db, body.login, body.password, demo_mode=settings.demo)
    except NotAuthenticated as exc:
        exc.after_rollback = audit.pending(
            None, "auth.login", actor_login=body.login, outcome="refused", code=exc.code
        )
        raise
    token = open_login_session(
        db, user, settings.secret_key.get_secret_value(), settings.session_hours
    )
    audit.record(db, user, "auth.login")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return user_out(user)


@router.post("/logout", summary="Abmelden")
def logout(request: Request, response: Response, runtime: RuntimeDep, db: DbDep) -> dict[str, bool]:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        close_login_session(db, runtime.settings.secret_key.get_secret_value(), token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"ok": True}


@router.get("/me", summary="Die angemeldete Person")
def me(user: UserDep) -> UserOut:
    return user_out(user)
