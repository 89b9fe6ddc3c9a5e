"""axe-core (npm, pinned in package-lock.json) on every page and every dialog: no violation of
WCAG 2.0/2.1 A and AA. The pages' Content-Security-Policy stays as it is: axe's source is run
as a string through the DevTools protocol (page.evaluate), which the policy does not govern."""

from __future__ import annotations

import re
from typing import Literal

import pytest
from playwright.sync_api import Browser, Page

from tests import support_a11y as a11y
from tests.support_a11y import Site, browser, site
from tests.support_browser import screenshot

pytestmark = pytest.mark.slow
__all__ = ["browser", "site"]  # module-scoped fixtures

_axe = a11y.axe_violations


def _shot_name(login: str | None, path: str, scheme: str) -> str:
    """test-artifacts/seite-<who>-<path>-<scheme>.png, one per page and colour scheme."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0].lower()).strip("-") or "start"
    return f"seite-{(login or 'gast').replace('.', '')}-{slug}-{scheme}.png"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_on_any_page(
    browser: Browser, site: Site, scheme: Literal["light", "dark"]
) -> None:
    """Light and dark (the pages follow the system's prefers-color-scheme): no violation, the
    contrast included; a screenshot of each page at 1366×768 for a person to look at."""
    if not a11y.AXE.exists():
        pytest.fail(f"axe-core is missing at {a11y.AXE}: scripts/setup.sh --dev installs it")
    found: list[str] = []
    sessions: dict[str | None, Page] = {}
    for login, path in a11y.pages(site):
        if login not in sessions:
            sessions[login] = a11y.open_as(browser, site, login, color_scheme=scheme)
        page = sessions[login]
        page.goto(f"{site.url}{path}")
        a11y.settled(page)
        screenshot(page, _shot_name(login, path, scheme))
        found += _axe(page, f"{path} ({scheme})")
    for page in sessions.values():
        page.context.close()
    assert not found, "axe-core found:\n" + "\n".join(found)


def _opened(page: Page, selector: str) -> None:
    page.wait_for_selector(f"{selector}[open]", state="attached")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_in_any_dialog(
    browser: Browser, site: Site, scheme: Literal["light", "dark"]
) -> None:
    found: list[str] = []
    page = a11y.open_as(browser, site, a11y.CASEWORKER, color_scheme=scheme)
    a11y.settled(page)
    # A row's routing reason opened on demand (issue 15).
    page.locator("#inbox-rows .disclosure").first.click()
    found += _axe(page, "/postkorb with a reason open")
    for key, dialog in (("?", "#help"), ("w", "#forward-dialog")):
        page.locator("body").press(key)
        _opened(page, dialog)
        a11y.settled(page)
        found += _axe(page, f"/postkorb {dialog}")
        page.keyboard.press("Escape")
    # The forward dialog with its error next to the field.
    page.locator("body").press("w")
    _opened(page, "#forward-dialog")
    page.locator("#forward-dialog").get_by_role("button", name="Weiterleiten").click()
    page.wait_for_selector("#forward-dialog .field-error")
    found += _axe(page, "/postkorb #forward-dialog with an error")
    screenshot(page, f"dialog-weiterleiten-fehler-{scheme}.png")
    page.keyboard.press("Escape")
    page.evaluate("document.getElementById('return-dialog').showModal()")
    found += _axe(page, "/postkorb #return-dialog")
    page.keyboard.press("Escape")

    page.goto(f"{site.url}/akte/{a11y.HOUSEHOLD}")
    a11y.settled(page)
    page.locator("#documents").get_by_role("button", name="Angaben").first.click()
    _opened(page, "#details-dialog")
    found += _axe(page, "/akte #details-dialog")
    page.locator("#details-dialog").get_by_label("Eingangsdatum", exact=True).fill("2026-01-02")
    page.locator("#details-dialog").get_by_role("button", name="Speichern").click()
    page.wait_for_selector("#details-dialog .field-error")
    found += _axe(page, "/akte #details-dialog with an error")
    screenshot(page, f"dialog-angaben-fehler-{scheme}.png")
    page.keyboard.press("Escape")
    page.locator("#show-help").click()
    _opened(page, "#help")
    found += _axe(page, "/akte #help")
    page.keyboard.press("Escape")

    page.goto(f"{site.url}/viewer?doc={site.document}")
    a11y.settled(page)
    page.locator("#help-button").click()
    page.wait_for_selector("#help:not([hidden])")
    found += _axe(page, "/viewer help")
    page.context.close()

    # The objections office registers a letter from the team's Postkorb.
    page = a11y.open_as(browser, site, a11y.OFFICE, color_scheme=scheme)
    a11y.settled(page)
    page.locator("#scopes .tab", has_text="Team").click()
    page.get_by_role("button", name="Widerspruch erfassen").first.click()
    _opened(page, "#legal-dialog")
    a11y.settled(page)
    found += _axe(page, "/postkorb #legal-dialog")
    # As an appeal without the court's file number: the message says where to find it.
    dialog = page.locator("#legal-dialog")
    dialog.get_by_label("Klage (Schreiben des Sozialgerichts)").check()
    dialog.get_by_label("Aktenzeichen des Gerichts").fill("")
    dialog.get_by_role("button", name="Erfassen").click()
    page.wait_for_selector("#legal-dialog .field-error")
    found += _axe(page, "/postkorb #legal-dialog with an error")
    screenshot(page, f"dialog-klage-fehler-{scheme}.png")
    page.context.close()

    # Clearing: the households a search at the desk offers.
    page = a11y.open_as(browser, site, a11y.DESK, color_scheme=scheme)
    page.goto(f"{site.url}/klaerung")
    a11y.settled(page)
    page.get_by_label("Haushalt suchen").fill("Wolf")
    page.get_by_label("Haushalt suchen").press("Enter")
    page.wait_for_selector(".candidates li")
    found += _axe(page, "/klaerung with candidates")
    page.context.close()
    assert not found, "axe-core found:\n" + "\n".join(found)
