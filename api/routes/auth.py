from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.deps import RuntimeDep, UserDep, session_cookie_name
from api.schemas import Ok, UserOut
from records.users import log_in, log_out

router = APIRouter(prefix="/api/auth", tags=["Anmeldung"])


class LoginRequest(BaseModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


def client_address(request: Request) -> str:
    # uvicorn takes it from X-Forwarded-For only when the proxy is trusted (forwarded_allow_ips).
    return request.client.host if request.client else "unbekannt"


@router.post("/login", response_model=UserOut, summary="Anmelden; setzt das Sitzungs-Cookie")
def login(body: LoginRequest, request: Request, response: Response, runtime: RuntimeDep) -> UserOut:
    """Failures are counted per account and per address (records.users.log_in)."""
    settings = runtime.settings
    user, token = log_in(
        runtime.sessions, settings, body.login, body.password, client_address(request)
    )
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
    return UserOut.model_validate(user)


@router.post("/logout", response_model=Ok, summary="Abmelden")
def logout(request: Request, response: Response, runtime: RuntimeDep) -> Ok:
    settings = runtime.settings
    name = session_cookie_name(settings)
    token = request.cookies.get(name)
    if token:
        log_out(runtime.sessions, settings, token, client_address(request))
    response.delete_cookie(name, path="/", secure=settings.cookie_secure, httponly=True)
    return Ok(ok=True)


@router.get("/me", response_model=UserOut, summary="Die angemeldete Person")
def me(user: UserDep) -> UserOut:
    return UserOut.model_validate(user)
