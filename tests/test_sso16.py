"""Single sign-on with OpenID Connect (records/oidc.py, api/routes/sso.py) against the real
provider that scripts/test.sh starts (services/keycloak.sh: Keycloak with the realm
services/keycloak/realm.json). The product runs on its real HTTP server; a plain HTTP client
fills the provider's own login form, as a browser would (tests/test_sso16_web.py clicks
through it in Chromium).

Without EAKTE_TEST_OIDC_ISSUER the provider tests are skipped (run `services/keycloak.sh start`
and `eval "$(services/keycloak.sh env)"` to run them alone); the refusals that need no provider
(provider down, a forged or missing pending sign-in) always run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import lxml.html
import pytest
from sqlalchemy import select

from core.db import transaction
from core.errors import ConfigurationError
from records import oidc
from records.models import AuditEvent, LoginSession, User
from records.runtime import Runtime
from tests.support import PASSWORD, load_people, make_settings
from tests.support_sso16 import (
    KARL,
    LENA,
    asks_for_password,
    browser_like,
    closed_port,
    login_form_answer,
    provider_settings,
    served,
    sso_settings,
)

CASEWORKER = "lsb.95401.2"  # a sample caseworker with a local password


@pytest.fixture
def product(tmp_path: Path) -> Iterator[tuple[str, Runtime]]:
    """The product with single sign-on at the test provider, on its real HTTP server."""
    with served(provider_settings(tmp_path / "data")) as running:
        yield running


def events(runtime: Runtime, action: str) -> list[AuditEvent]:
    with transaction(runtime.sessions, read_only=True) as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def sessions_of(runtime: Runtime) -> list[LoginSession]:
    with transaction(runtime.sessions, read_only=True) as session:
        return list(session.scalars(select(LoginSession)))


def refused_on_login_page(client: httpx.Client, answer: httpx.Response, code: str) -> str:
    """The product's answer sent the browser to the login page with `code`; its message."""
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location == f"/anmelden?sso={code}"
    page = client.get(location)
    message = lxml.html.fromstring(page.text).get_element_by_id("sso-error").text_content()
    assert message == oidc.MESSAGES[code]
    return message


@pytest.mark.services
def test_sign_in_maps_groups_and_sign_out_ends_the_provider_session(
    product: tuple[str, Runtime],
) -> None:
    url, runtime = product
    with browser_like(url) as client:
        page = client.get("/anmelden")
        assert 'id="sso-login"' in page.text and "Mit Single Sign-on anmelden" in page.text
        back = login_form_answer(client, f"{url}/anmelden/sso?next=/suche", *LENA)
        assert back.startswith(f"{url}/anmelden/sso/zurueck?")
        answer = client.get(back)
        assert answer.status_code == 303 and answer.headers["location"] == "/suche"
        me = client.get("/api/auth/me").json()
        assert (me["login"], me["role"]) == ("lena.sso", "leistung")

        with transaction(runtime.sessions, read_only=True) as session:
            user = session.scalars(select(User).where(User.login == "lena.sso")).one()
            assert (user.source, user.name, user.email) == (
                "oidc",
                "Lena Sonnenschein",
                "lena.sso@jobcenter.example",
            )
            assert user.team is not None and user.team.name == "Team Süd"
            assert user.external_id and user.last_login_at is not None
        [opened] = sessions_of(runtime)
        assert opened.auth_method == "oidc" and opened.id_token_hint
        [login] = events(runtime, "auth.login")
        assert (login.actor_login, login.outcome, login.details["method"]) == (
            "lena.sso",
            "ok",
            "sso",
        )

        # The provider knows the browser now: another start would not ask for the password.
        assert not asks_for_password(client, f"{url}/anmelden/sso")

        # Signing out ends the local session and sends the browser to the provider's sign-out
        # with the ID token as hint and the login page as the way back.
        out = client.post("/api/auth/logout", headers={"Origin": url}).json()
        end = urlsplit(out["redirect"])
        query = parse_qs(end.query)
        assert end.path == "/realms/jobcenter/protocol/openid-connect/logout"
        assert query["id_token_hint"] == [opened.id_token_hint]
        assert query["post_logout_redirect_uri"] == [f"{url}/anmelden"]
        assert sessions_of(runtime) == []
        assert client.get("/api/auth/me").status_code == 401
        done = client.get(out["redirect"], follow_redirects=False)
        assert done.status_code == 302 and done.headers["location"] == f"{url}/anmelden"

        # The provider's session is gone: the next sign-in asks for the password again.
        assert asks_for_password(client, f"{url}/anmelden/sso")


@pytest.mark.services
def test_a_user_outside_the_mapped_groups_gets_no_session(product: tuple[str, Runtime]) -> None:
    url, runtime = product
    with browser_like(url) as client:
        back = login_form_answer(client, f"{url}/anmelden/sso", *KARL)
        message = refused_on_login_page(client, client.get(back), "no_mapped_group")
        assert "keiner Gruppe" in message
        assert client.get("/api/auth/me").status_code == 401
    assert sessions_of(runtime) == []
    [refused] = events(runtime, "auth.login")
    assert (refused.actor_login, refused.outcome, refused.details["code"]) == (
        "karl.kantine",
        "refused",
        "no_mapped_group",
    )
    with transaction(runtime.sessions, read_only=True) as session:
        assert session.scalars(select(User).where(User.login == "karl.kantine")).first() is None


@pytest.mark.services
def test_a_foreign_state_nonce_or_verifier_opens_no_session(product: tuple[str, Runtime]) -> None:
    url, runtime = product
    settings = runtime.settings
    with browser_like(url) as client:
        # The browser comes back with the answer to another sign-in than the one it started.
        first = login_form_answer(client, f"{url}/anmelden/sso", *LENA)
        client.cookies.delete("eakte_sso")
        client.get("/anmelden/sso", follow_redirects=False)  # a second start: a new state
        refused_on_login_page(client, client.get(first), "sso_state")

        # A real code of the provider, but the ID token carries another nonce than the one
        # this browser's sign-in was started with: refused after verifying the token.
        back = login_form_answer(client, f"{url}/anmelden/sso", *LENA)
        pending = oidc.unseal(settings, client.cookies.get("eakte_sso", path="/anmelden/sso"))
        forged = oidc.seal(settings, replace(pending, nonce="ein-anderer-nonce"))
        client.cookies.set("eakte_sso", forged, domain="127.0.0.1", path="/anmelden/sso")
        refused_on_login_page(client, client.get(back), "sso_invalid")

        # A real code, but another PKCE verifier than the challenge it was asked with: the
        # provider refuses to exchange it (PKCE S256 is what the realm requires).
        back = login_form_answer(client, f"{url}/anmelden/sso", *LENA)
        pending = oidc.unseal(settings, client.cookies.get("eakte_sso", path="/anmelden/sso"))
        forged = oidc.seal(settings, replace(pending, verifier="x" * 64))
        client.cookies.set("eakte_sso", forged, domain="127.0.0.1", path="/anmelden/sso")
        refused_on_login_page(client, client.get(back), "sso_invalid")

        # The provider refused (the person cancelled): error=access_denied with the state.
        client.get("/anmelden/sso", follow_redirects=False)
        state = oidc.unseal(settings, client.cookies.get("eakte_sso", path="/anmelden/sso")).state
        answer = client.get(
            "/anmelden/sso/zurueck", params={"error": "access_denied", "state": state}
        )
        refused_on_login_page(client, answer, "sso_denied")
        assert client.get("/api/auth/me").status_code == 401
    assert sessions_of(runtime) == []
    codes = [(e.outcome, e.details["code"]) for e in events(runtime, "auth.login")]
    assert codes == [
        ("refused", "sso_state"),
        ("refused", "sso_invalid"),
        ("refused", "sso_invalid"),
        ("refused", "sso_denied"),
    ]
    reasons = [e.details["reason"] for e in events(runtime, "auth.login")]
    assert "nonce" in reasons[1] and "invalid_grant" in reasons[2]


def test_provider_down_gives_a_german_message_and_no_session(tmp_path: Path) -> None:
    issuer = f"http://127.0.0.1:{closed_port()}/realms/jobcenter"
    with served(sso_settings(tmp_path / "data", issuer, oidc_timeout_seconds=2)) as (url, runtime):
        with browser_like(url) as client:
            answer = client.get("/anmelden/sso")
            message = refused_on_login_page(client, answer, "sso_unavailable")
            assert "nicht erreichbar" in message
            assert "eakte_sso" not in client.cookies
        assert sessions_of(runtime) == []
        [refused] = events(runtime, "auth.login")
        assert (refused.outcome, refused.details["code"], refused.details["method"]) == (
            "refused",
            "sso_unavailable",
            "sso",
        )


def test_a_return_without_a_started_sign_in_is_refused(tmp_path: Path) -> None:
    issuer = f"http://127.0.0.1:{closed_port()}/realms/jobcenter"
    with served(sso_settings(tmp_path / "data", issuer)) as (url, runtime):
        with browser_like(url) as client:
            answer = client.get("/anmelden/sso/zurueck", params={"code": "x", "state": "y"})
            refused_on_login_page(client, answer, "sso_state")
            # A state that is no ASCII is refused the same way (no error page).
            pending = oidc.Pending("s", "n", "v", "/", int(time.time()))
            sealed = oidc.seal(runtime.settings, pending)
            client.cookies.set("eakte_sso", sealed, domain="127.0.0.1", path="/anmelden/sso")
            answer = client.get("/anmelden/sso/zurueck", params={"code": "x", "state": "zurück"})
            refused_on_login_page(client, answer, "sso_state")
        assert sessions_of(runtime) == []


def test_pending_sign_in_cannot_be_forged_or_kept(tmp_path: Path) -> None:
    settings = sso_settings(tmp_path, "http://127.0.0.1:1/realms/x")
    pending = oidc.Pending("s", "n", "v", "/", int(time.time()))
    sealed = oidc.seal(settings, pending)
    assert oidc.unseal(settings, sealed) == pending
    body, mac = sealed.rsplit(".", 1)
    other = oidc.seal(settings, replace(pending, nonce="m")).rsplit(".", 1)[0]
    changed = ("A" if mac[0] != "A" else "B") + mac[1:]
    for bad in (f"{other}.{mac}", f"{body}.{changed}", f"{body}.ä{mac[1:]}", "", None):
        with pytest.raises(oidc.SsoRefused) as refused:
            oidc.unseal(settings, bad)
        assert refused.value.code == "sso_state"
    with pytest.raises(oidc.SsoRefused):
        oidc.unseal(settings, sealed, now=time.time() + oidc.PENDING_SECONDS + 1)
    assert [oidc.safe_next(p) for p in ("/akte/1?x=2", "//evil.example", "https://e", None)] == [
        "/akte/1?x=2",
        "/",
        "/",
        "/",
    ]


def test_login_page_without_sso_shows_no_button(tmp_path: Path) -> None:
    with served(make_settings(tmp_path / "data")) as (url, runtime):
        page = httpx.get(f"{url}/anmelden?sso=no_mapped_group")
        assert 'id="sso-login"' not in page.text
        # A code it does not know shows nothing (no text travels in the address).
        page = httpx.get(f"{url}/anmelden?sso=%3Cb%3Ehallo")
        assert 'id="sso-error"' not in page.text and "hallo" not in page.text


def test_a_password_session_signs_out_here_only(tmp_path: Path) -> None:
    """With single sign-on set up, a password login's sign-out stays in the product (no
    redirect to the provider, which is not even asked)."""
    issuer = f"http://127.0.0.1:{closed_port()}/realms/jobcenter"
    with served(sso_settings(tmp_path / "data", issuer)) as (url, runtime):
        load_people(runtime)
        with browser_like(url) as client:
            signed_in = client.post(
                "/api/auth/login", json={"login": CASEWORKER, "password": PASSWORD}
            )
            assert signed_in.status_code == 200
            [opened] = sessions_of(runtime)
            assert (opened.auth_method, opened.id_token_hint) == ("local", None)
            out = client.post("/api/auth/logout", headers={"Origin": url})
            assert out.json() == {"ok": True, "redirect": None}
        assert sessions_of(runtime) == []


def test_client_secret_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "oidc-secret"
    secret_file.write_text("geheim-aus-datei\nzweite Zeile\n", encoding="utf-8")
    issuer = "http://127.0.0.1:1/realms/x"
    settings = sso_settings(tmp_path, issuer, oidc_client_secret_file=secret_file)
    assert oidc.client_secret(settings) == "geheim-aus-datei"
    assert oidc.client_secret(sso_settings(tmp_path, issuer)) is None
    with pytest.raises(ConfigurationError, match="at most one"):
        sso_settings(tmp_path, issuer, oidc_client_secret="x", oidc_client_secret_file=secret_file)
