"""Single sign-on with OpenID Connect (records/oidc.py): the start, which sends the browser to
the provider, and the return from it, which opens the session. Both answer with redirects; a
refusal goes to the login page with its code (`?sso=...`), where the German message is shown.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from api.deps import RuntimeDep, client_address, set_session_cookie
from core.config import Settings
from records.oidc import PENDING_SECONDS, Callback, SsoRefused, audit_refusal, begin, finish, seal

router = APIRouter(prefix="/anmelden/sso", tags=["Anmeldung"], include_in_schema=False)

# The sign-in on its way through the provider (state, nonce, PKCE verifier), sealed; only sent
# back to this path. Lax: the provider's redirect back is a top-level GET from another site.
PENDING_COOKIE = "eakte_sso"
PENDING_PATH = "/anmelden/sso"


def _callback_uri(request: Request) -> str:
    return str(request.url_for("sso_return"))


def _to_login_page(code: str) -> RedirectResponse:
    return RedirectResponse(f"/anmelden?{urlencode({'sso': code})}", status_code=303)


def _forget_pending(response: RedirectResponse, settings: Settings) -> None:
    response.delete_cookie(
        PENDING_COOKIE, path=PENDING_PATH, secure=settings.cookie_secure, httponly=True
    )


@router.get("", name="sso_start")
def sso_start(request: Request, runtime: RuntimeDep, next: str | None = None) -> RedirectResponse:
    """To the provider's sign-in page (authorization code flow with PKCE S256)."""
    settings = runtime.settings
    try:
        url, pending = begin(settings, _callback_uri(request), next)
    except SsoRefused as refusal:
        audit_refusal(runtime.sessions, refusal, client_address(request))
        return _to_login_page(refusal.code)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        seal(settings, pending),
        max_age=PENDING_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path=PENDING_PATH,
    )
    return response


@router.get("/zurueck", name="sso_return")
def sso_return(
    request: Request,
    runtime: RuntimeDep,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
) -> RedirectResponse:
    """Back from the provider: signed in and on to where the sign-in started, or the login
    page with the reason."""
    settings = runtime.settings
    try:
        _user, token, next_path = finish(
            runtime.sessions,
            settings,
            Callback(state=state, code=code, error=error),
            request.cookies.get(PENDING_COOKIE),
            _callback_uri(request),
            client_address(request),
        )
    except SsoRefused as refusal:
        response = _to_login_page(refusal.code)
    else:
        response = RedirectResponse(next_path, status_code=303)
        set_session_cookie(response, settings, token)
    _forget_pending(response, settings)
    return response
