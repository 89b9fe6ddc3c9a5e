from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.deps import (
    RuntimeDep,
    UserDep,
    client_address,
    session_cookie_name,
    set_session_cookie,
)
from api.schemas import LogoutOut, UserOut
from records.oidc import logout_redirect
from records.users import log_in, log_out

router = APIRouter(prefix="/api/auth", tags=["Anmeldung"])


class LoginRequest(BaseModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


@router.post("/login", response_model=UserOut, summary="Anmelden; setzt das Sitzungs-Cookie")
def login(body: LoginRequest, request: Request, response: Response, runtime: RuntimeDep) -> UserOut:
    """Failures are counted per account and per address (records.users.log_in)."""
    settings = runtime.settings
    user, token = log_in(
        runtime.sessions, settings, body.login, body.password, client_address(request)
    )
    set_session_cookie(response, settings, token)
    return UserOut.model_validate(user)


@router.post("/logout", response_model=LogoutOut, summary="Abmelden")
def logout(request: Request, response: Response, runtime: RuntimeDep) -> LogoutOut:
    """After a single sign-on session, `redirect` is the provider's sign-out address."""
    settings = runtime.settings
    name = session_cookie_name(settings)
    token = request.cookies.get(name)
    redirect = None
    if token:
        redirect = logout_redirect(runtime.sessions, settings, token, f"{request.base_url}anmelden")
        log_out(runtime.sessions, settings, token, client_address(request))
    response.delete_cookie(name, path="/", secure=settings.cookie_secure, httponly=True)
    return LogoutOut(ok=True, redirect=redirect)


@router.get("/me", response_model=UserOut, summary="Die angemeldete Person")
def me(user: UserDep) -> UserOut:
    return UserOut.model_validate(user)
