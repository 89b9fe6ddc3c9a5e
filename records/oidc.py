"""Single sign-on with OpenID Connect: this application as relying party of the district's
identity provider (authorization code flow with PKCE S256, state and nonce).

`begin` reads the provider's discovery document and gives the address to send the browser to,
with what must come back (state, nonce, the PKCE verifier) sealed for a short-lived cookie.
`finish` checks the answer against it, exchanges the code for tokens, verifies the ID token
against the provider's keys (signature, iss, aud, exp, nonce), maps the groups claim to role
and team (records.identity.provision, as for the directory) and opens a login session like a
password login does (auth_method "oidc", the ID token kept as id_token_hint for signing out at
the provider). Every refusal is audited as `auth.login` with method "sso" and opens no session.
The German message of a refusal is found by its code (`message_for`), so the login page shows
it without any text travelling in the address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db import transaction, utcnow
from core.errors import ConfigurationError, NotAuthenticated
from records import audit
from records.identity import NO_ROLE, ExternalIdentity, GroupMapping, provision
from records.models import User
from records.users import find_login_session, open_login_session, refuse_login

# How long a started sign-in may take at the provider (typing the password included).
PENDING_SECONDS = 600
# Signature algorithms accepted for ID tokens (never "none", never a shared-secret HMAC).
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")

UNAVAILABLE = (
    "Der Anmeldedienst (Single Sign-on) ist zurzeit nicht erreichbar. Bitte versuchen Sie es "
    "später erneut oder melden Sie sich bei der Administration."
)
MESSAGES: dict[str, str] = {
    "sso_unavailable": UNAVAILABLE,
    "sso_state": (
        "Die Anmeldung über Single Sign-on ist abgelaufen oder wurde nicht in diesem Browser "
        "begonnen. Bitte melden Sie sich erneut an."
    ),
    "sso_denied": (
        "Der Anmeldedienst hat die Anmeldung abgelehnt oder sie wurde abgebrochen. Bitte "
        "melden Sie sich erneut an."
    ),
    "sso_invalid": (
        "Die Antwort des Anmeldedienstes ist ungültig (Token nicht bestätigt). Sie wurden "
        "nicht angemeldet. Bitte melden Sie sich bei der Administration."
    ),
    "sso_off": "Die Anmeldung über Single Sign-on ist nicht eingerichtet.",
    "no_mapped_group": NO_ROLE,
    "several_mapped_roles": (
        "Anmeldung nicht möglich: Ihre Gruppen ordnen Ihnen mehrere Rollen zu. Eine Person hat "
        "hier genau eine Rolle. Bitte wenden Sie sich an die Administration."
    ),
    "login_taken": (
        "Anmeldung nicht möglich: Ihr Benutzername gehört hier zu einem Notfallkonto oder einem "
        "Konto aus einer anderen Quelle. Bitte wenden Sie sich an die Administration."
    ),
}


def message_for(code: str) -> str | None:
    """The German message of a refused single sign-on, by its code; None for an unknown code."""
    return MESSAGES.get(code)


class SsoRefused(NotAuthenticated):
    """A single sign-on that opens no session; `code` names its message in MESSAGES."""

    def __init__(self, code: str, reason: str = "") -> None:
        super().__init__(MESSAGES[code], code=code, reason=reason)


@dataclass(frozen=True)
class ProviderMetadata:
    """What the discovery document says about the provider."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


@dataclass(frozen=True)
class Pending:
    """A sign-in on its way through the provider: what must come back, and where to go after."""

    state: str
    nonce: str
    verifier: str
    next_path: str
    started: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _seal_key(settings: Settings) -> bytes:
    # A key of its own for this purpose, derived from the application's secret.
    secret = settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, b"oidc-pending", "sha256").digest()


def seal(settings: Settings, pending: Pending) -> str:
    """The pending sign-in as a cookie value: readable but not forgeable (HMAC-SHA256)."""
    body = _b64(json.dumps(pending.__dict__, separators=(",", ":")).encode())
    mac = _b64(hmac.new(_seal_key(settings), body.encode(), "sha256").digest())
    return f"{body}.{mac}"


def unseal(settings: Settings, value: str | None, *, now: float | None = None) -> Pending:
    """The pending sign-in of a cookie value; SsoRefused("sso_state") when missing, forged or
    older than PENDING_SECONDS."""
    if not value or "." not in value:
        raise SsoRefused("sso_state", "no pending sign-in")
    body, mac = value.rsplit(".", 1)
    expected = _b64(hmac.new(_seal_key(settings), body.encode(), "sha256").digest())
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        raise SsoRefused("sso_state", "pending sign-in forged")
    try:
        pending = Pending(**json.loads(_unb64(body)))
    except (ValueError, TypeError) as exc:
        raise SsoRefused("sso_state", "pending sign-in unreadable") from exc
    if (now if now is not None else time.time()) - pending.started > PENDING_SECONDS:
        raise SsoRefused("sso_state", "pending sign-in expired")
    return pending


def safe_next(path: str | None) -> str:
    """A path on this site to go to after signing in; anything else goes to the start page."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def client_secret(settings: Settings) -> str | None:
    if settings.oidc_client_secret is not None:
        return settings.oidc_client_secret.get_secret_value()
    if settings.oidc_client_secret_file is not None:
        try:
            lines = settings.oidc_client_secret_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigurationError(
                f"Die Datei {settings.oidc_client_secret_file} mit dem Client-Geheimnis kann "
                f"nicht gelesen werden: {exc.strerror}"
            ) from exc
        return lines[0].strip() if lines else None
    return None


def _client(settings: Settings) -> httpx.Client:
    return httpx.Client(timeout=settings.oidc_timeout_seconds, follow_redirects=False)


def _get_json(client: httpx.Client, url: str) -> dict[str, Any]:
    try:
        response = client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SsoRefused("sso_unavailable", f"{url}: {exc}") from exc
    if not isinstance(data, dict):
        raise SsoRefused("sso_unavailable", f"{url}: not a JSON object")
    return data


def discover(settings: Settings, client: httpx.Client) -> ProviderMetadata:
    """The provider's endpoints from its discovery document; its issuer must be ours exactly."""
    if not settings.oidc_issuer:
        raise SsoRefused("sso_off")
    issuer = settings.oidc_issuer.rstrip("/")
    data = _get_json(client, f"{issuer}/.well-known/openid-configuration")
    try:
        metadata = ProviderMetadata(
            issuer=str(data["issuer"]),
            authorization_endpoint=str(data["authorization_endpoint"]),
            token_endpoint=str(data["token_endpoint"]),
            jwks_uri=str(data["jwks_uri"]),
            end_session_endpoint=data.get("end_session_endpoint"),
        )
    except KeyError as exc:
        raise SsoRefused("sso_unavailable", f"discovery document lacks {exc}") from exc
    if metadata.issuer.rstrip("/") != issuer:
        raise SsoRefused("sso_invalid", f"discovery names issuer {metadata.issuer}")
    return metadata


def begin(settings: Settings, redirect_uri: str, next_path: str | None) -> tuple[str, Pending]:
    """Where to send the browser to sign in at the provider, and the pending sign-in to keep
    (sealed in a cookie) until it comes back. SsoRefused("sso_unavailable") when the provider
    does not answer."""
    with _client(settings) as client:
        metadata = discover(settings, client)
    pending = Pending(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
        next_path=safe_next(next_path),
        started=int(time.time()),
    )
    challenge = _b64(hashlib.sha256(pending.verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": settings.oidc_scopes,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{separator}{query}", pending


def _exchange(
    settings: Settings,
    client: httpx.Client,
    metadata: ProviderMetadata,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> str:
    """The ID token for an authorization code (the token endpoint, client_secret_basic for a
    confidential client)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    try:
        secret = client_secret(settings)
    except ConfigurationError as exc:  # the secret's file is unreadable: an operator's task
        raise SsoRefused("sso_unavailable", exc.message) from exc
    if not secret:
        form["client_id"] = settings.oidc_client_id
    try:
        if secret:
            auth = httpx.BasicAuth(settings.oidc_client_id, secret)
            response = client.post(metadata.token_endpoint, data=form, auth=auth)
        else:
            response = client.post(metadata.token_endpoint, data=form)
    except httpx.HTTPError as exc:
        raise SsoRefused("sso_unavailable", f"token endpoint: {exc}") from exc
    if response.status_code >= 500:
        raise SsoRefused("sso_unavailable", f"token endpoint answered {response.status_code}")
    try:
        tokens = response.json()
    except ValueError as exc:
        raise SsoRefused("sso_invalid", "token endpoint answered no JSON") from exc
    if response.status_code != 200 or not isinstance(tokens, dict):
        error = tokens.get("error") if isinstance(tokens, dict) else None
        raise SsoRefused("sso_invalid", f"token endpoint refused the code: {error}")
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise SsoRefused("sso_invalid", "no ID token (is the scope openid requested?)")
    return id_token


def verify_id_token(
    settings: Settings, metadata: ProviderMetadata, keys: KeySet, id_token: str, nonce: str
) -> dict[str, Any]:
    """The ID token's claims after checking its signature against the provider's keys and
    iss, aud (and azp), exp, iat and nonce (OpenID Connect Core 3.1.3.7)."""
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
        registry = jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": metadata.issuer},
            aud={"essential": True, "value": settings.oidc_client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise SsoRefused("sso_invalid", f"ID token: {exc}") from exc
    claims = dict(token.claims)
    audience = claims["aud"]
    several = isinstance(audience, list) and len(audience) > 1
    if several and claims.get("azp") != settings.oidc_client_id:
        raise SsoRefused("sso_invalid", "ID token: azp is not this client")
    return claims


def identity_from_claims(settings: Settings, claims: dict[str, Any]) -> ExternalIdentity:
    """Who signed in, from the verified claims; groups from the configured claim (a list of
    names or paths: "/eakte-leistung" counts as "eakte-leistung")."""
    raw_groups = claims.get(settings.oidc_groups_claim) or []
    if isinstance(raw_groups, str):
        raw_groups = [raw_groups]
    groups = tuple(str(group).rsplit("/", 1)[-1] for group in raw_groups if str(group).strip())
    login = str(claims.get(settings.oidc_login_claim) or claims["sub"])
    name = str(claims.get("name") or login)
    email = claims.get("email")
    return ExternalIdentity(
        source="oidc",
        external_id=str(claims["sub"]),
        login=login[:100],
        name=name[:200],
        email=str(email) if email else None,
        groups=groups,
    )


def _refused(session: Session, refusal: SsoRefused, address: str, login: str | None) -> None:
    reason = str(refusal.details.get("reason", ""))[:500]
    refuse_login(session, login, refusal.code, address, method="sso", reason=reason)


def audit_refusal(
    sessions: sessionmaker[Session], refusal: SsoRefused, address: str, login: str | None = None
) -> None:
    """Record a refused single sign-on (a unit of work of its own)."""
    with transaction(sessions) as session:
        _refused(session, refusal, address, login)


@dataclass(frozen=True)
class Callback:
    """What the provider sent the browser back with."""

    state: str | None
    code: str | None
    error: str | None


def finish(
    sessions: sessionmaker[Session],
    settings: Settings,
    callback: Callback,
    sealed: str | None,
    redirect_uri: str,
    address: str,
) -> tuple[User, str, str]:
    """The user, a new session token and the path to go to, after the provider sent the
    browser back; SsoRefused (audited, no session) otherwise."""
    login: str | None = None
    try:
        pending = unseal(settings, sealed)
        state = (callback.state or "").encode()
        if not hmac.compare_digest(state, pending.state.encode()):
            raise SsoRefused("sso_state", "state does not match")
        if callback.error:
            raise SsoRefused("sso_denied", f"provider answered error={callback.error[:100]}")
        if not callback.code:
            raise SsoRefused("sso_invalid", "no code in the answer")
        with _client(settings) as client:
            metadata = discover(settings, client)
            id_token = _exchange(
                settings, client, metadata, callback.code, redirect_uri, pending.verifier
            )
            keys = KeySet.import_key_set(_get_json(client, metadata.jwks_uri))  # type: ignore[arg-type]
        claims = verify_id_token(settings, metadata, keys, id_token, pending.nonce)
        identity = identity_from_claims(settings, claims)
        login = identity.login
        mapping = GroupMapping(settings.identity_group_roles, settings.identity_group_teams)
    except SsoRefused as refusal:
        audit_refusal(sessions, refusal, address, login)
        raise
    key = settings.secret_key.get_secret_value()
    try:
        with transaction(sessions) as session:
            user = provision(session, identity, mapping)
            token = open_login_session(
                session,
                user,
                key,
                settings.session_hours,
                auth_method="oidc",
                id_token_hint=id_token,
            )
            user.last_login_at = utcnow()
            audit.record(session, user, "auth.login", method="sso", address=address)
    except NotAuthenticated as exc:  # no mapped group, several roles, a login taken
        refused = SsoRefused(exc.code if exc.code in MESSAGES else "sso_invalid", exc.message)
        audit_refusal(sessions, refused, address, login)
        raise refused from exc
    return user, token, pending.next_path


def end_session_url(
    settings: Settings, id_token_hint: str | None, post_logout_redirect_uri: str
) -> str | None:
    """Where to send the browser to sign out at the provider too (RP-initiated logout), after
    the local session ended; None when the provider offers none or does not answer (then the
    local sign-out is all there is)."""
    if not settings.oidc_enabled:
        return None
    try:
        with _client(settings) as client:
            metadata = discover(settings, client)
    except SsoRefused:
        return None
    if not metadata.end_session_endpoint:
        return None
    params = {
        "client_id": settings.oidc_client_id,
        "post_logout_redirect_uri": post_logout_redirect_uri,
    }
    if id_token_hint:
        params["id_token_hint"] = id_token_hint
    separator = "&" if "?" in metadata.end_session_endpoint else "?"
    return f"{metadata.end_session_endpoint}{separator}{urlencode(params)}"


def logout_redirect(
    sessions: sessionmaker[Session], settings: Settings, token: str, post_logout_redirect_uri: str
) -> str | None:
    """For a single sign-on session (read before it ends): where to sign out at the provider;
    None for a password session. No transaction is open while the provider is asked."""
    if not settings.oidc_enabled:
        return None
    with transaction(sessions, read_only=True) as session:
        found = find_login_session(session, settings.secret_key.get_secret_value(), token)
        if found is None or found.auth_method != "oidc":
            return None
        hint = found.id_token_hint
    return end_session_url(settings, hint, post_logout_redirect_uri)
