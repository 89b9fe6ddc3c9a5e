"""Single sign-on in a real browser (Debian's Chromium, Playwright) through the real provider's
login page (services/keycloak.sh, started by scripts/test.sh): the login page's button, the
provider's form, signed in with the role and team the groups give; signing out ends the session
at the provider too, so the next single sign-on asks for the password again. A person outside
the mapped groups sees the German reason on the login page and is not signed in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from records.runtime import Runtime
from tests.support_a11y import axe_violations
from tests.support_sso16 import KARL, LENA, provider_settings, served

pytestmark = pytest.mark.services

PROVIDER_LOGIN = re.compile(
    r"^http://127\.0\.0\.1:\d+/realms/jobcenter/protocol/openid-connect/auth"
)


@pytest.fixture
def product(tmp_path: Path) -> Iterator[tuple[str, Runtime]]:
    with served(provider_settings(tmp_path / "data")) as running:
        yield running


def start_single_sign_on(page: Page, url: str) -> None:
    page.goto(f"{url}/anmelden")
    page.get_by_role("link", name="Mit Single Sign-on anmelden").click()


def sign_in_at_provider(page: Page, login: str, password: str) -> None:
    """On the provider's login page (Keycloak's, German): fill it and send it."""
    expect(page).to_have_url(PROVIDER_LOGIN)
    page.locator("#username").fill(login)
    page.locator("#password").fill(password)
    page.locator("#kc-login").click()


def test_sign_in_through_the_provider_and_sign_out_there(
    product: tuple[str, Runtime], page: Page
) -> None:
    url, _runtime = product
    start_single_sign_on(page, url)
    sign_in_at_provider(page, *LENA)

    # Back in the product, signed in: a caseworker (leistung) starts in the Postkorb.
    expect(page).to_have_url(f"{url}/postkorb")
    expect(page.locator(".who")).to_have_text("Lena Sonnenschein (lena.sso, Team Süd)")

    # Signing out goes through the provider's sign-out and back to the login page.
    page.get_by_role("button", name="Abmelden").click()
    expect(page).to_have_url(f"{url}/anmelden")
    page.goto(f"{url}/postkorb")
    expect(page).to_have_url(f"{url}/anmelden?next=/postkorb")

    # The provider's session ended too: single sign-on asks for the password again.
    page.get_by_role("link", name="Mit Single Sign-on anmelden").click()
    expect(page.locator("#password")).to_be_visible()
    # ... and after it, on to the page the sign-in was asked for.
    sign_in_at_provider(page, *LENA)
    expect(page).to_have_url(f"{url}/postkorb")


def test_a_person_outside_the_mapped_groups_sees_why_on_the_login_page(
    product: tuple[str, Runtime], page: Page
) -> None:
    url, _runtime = product
    start_single_sign_on(page, url)
    sign_in_at_provider(page, *KARL)
    expect(page).to_have_url(f"{url}/anmelden?sso=no_mapped_group")
    expect(page.get_by_role("alert").filter(has_text="keiner Gruppe")).to_contain_text(
        "Anmeldung nicht möglich"
    )
    found = axe_violations(page, "/anmelden (single sign-on refused)")
    assert not found, "axe-core found:\n" + "\n".join(found)
    page.goto(f"{url}/postkorb")
    expect(page).to_have_url(f"{url}/anmelden?next=/postkorb")
