"""Helpers for the single sign-on tests (tests/test_sso16*.py): the product with single sign-on
at the provider that scripts/test.sh starts (services/keycloak.sh), and an HTTP client that
walks through the provider's login form as a browser would."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import lxml.html

from core.config import Settings
from records.runtime import Runtime
from tests.support import live_server, make_settings, service_env

GROUP_ROLES = {"eakte-leistung": "leistung", "eakte-widerspruch": "widerspruch"}
GROUP_TEAMS = {"team-sued": "Team Süd"}
LENA = ("lena.sso", "sso-passwort-lena")  # eakte-leistung, team-sued
KARL = ("karl.kantine", "sso-passwort-karl")  # only "kantine": no mapped group


def sso_settings(data_dir: Path, issuer: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "oidc_issuer": issuer,
        "oidc_client_id": "eakte",
        "identity_group_roles": GROUP_ROLES,
        "identity_group_teams": GROUP_TEAMS,
    }
    values.update(overrides)
    return make_settings(data_dir, **values)


def provider_settings(data_dir: Path) -> Settings:
    issuer = service_env("EAKTE_TEST_OIDC_ISSUER")
    return sso_settings(
        data_dir,
        issuer,
        oidc_client_id=service_env("EAKTE_TEST_OIDC_CLIENT_ID"),
        oidc_client_secret=service_env("EAKTE_TEST_OIDC_CLIENT_SECRET"),
    )


@contextmanager
def served(settings: Settings) -> Iterator[tuple[str, Runtime]]:
    from app.product import create_product_app
    from app.runtime import build_runtime

    runtime = build_runtime(settings)
    try:
        with live_server(create_product_app(runtime)) as url:
            yield url, runtime
    finally:
        runtime.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def browser_like(base_url: str) -> httpx.Client:
    """An HTTP client that keeps cookies as a browser does on this machine: http://127.0.0.1
    counts as a secure context, so the Secure cookies the provider sets (Keycloak marks its
    session cookies Secure and SameSite=None) go back to it, and their `Version=1` attribute is
    ignored (the standard library's cookie jar would hold such cookies back)."""
    client = httpx.Client(base_url=base_url)

    def keep_as_browser(response: httpx.Response) -> None:
        for cookie in client.cookies.jar:
            if cookie.domain == "127.0.0.1":
                cookie.secure = False
                cookie.version = 0

    client.event_hooks["response"] = [keep_as_browser]
    return client


def login_form_answer(client: httpx.Client, url: str, login: str, password: str) -> str:
    """Start at `url` (the product's SSO start) and fill the provider's login form (unless the
    provider still knows the browser); the address the provider sends the browser back to (the
    product's /anmelden/sso/zurueck)."""
    start = client.get(url)
    assert start.status_code == 303, start.text
    page = client.get(start.headers["location"])
    if page.status_code == 302:  # signed in at the provider already: straight back
        return page.headers["location"]
    assert page.status_code == 200, page.text
    form = lxml.html.fromstring(page.text).get_element_by_id("kc-form-login")
    answer = client.post(
        form.get("action"), data={"username": login, "password": password, "credentialId": ""}
    )
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["location"]


def asks_for_password(client: httpx.Client, url: str) -> bool:
    """Whether a sign-in started at `url` shows the provider's login form."""
    start = client.get(url)
    page = client.get(start.headers["location"])
    assert page.status_code in (200, 302)
    return page.status_code == 200 and 'id="kc-form-login"' in page.text
