"""axe-core (npm, pinned in package-lock.json) on every page and every dialog: no violation of
WCAG 2.0/2.1 A and AA. The pages' Content-Security-Policy stays as it is: axe's source is run
as a string through the DevTools protocol (page.evaluate), which the policy does not govern."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests import support_a11y as a11y
from tests.support_a11y import Site, browser, site

pytestmark = pytest.mark.slow
__all__ = ["browser", "site"]  # module-scoped fixtures

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _axe(page: Page, where: str, context: str = "document") -> list[str]:
    """axe's violations on the page (or inside `context`, a CSS selector) as readable lines."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(a11y.AXE.read_text(encoding="utf-8"))
    results: dict[str, Any] = page.evaluate(
        """([context, tags]) => axe.run(context === 'document' ? document : context,
            {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
        [context, TAGS],
    )
    return [
        f"{where}: {v['id']} ({v['impact']}) {v['help']} at {node['target']}"
        for v in results["violations"]
        for node in v["nodes"]
    ]


def test_axe_finds_no_violation_on_any_page(browser: Browser, site: Site) -> None:
    if not a11y.AXE.exists():
        pytest.fail(f"axe-core is missing at {a11y.AXE}: scripts/setup.sh --dev installs it")
    found: list[str] = []
    sessions: dict[str | None, Page] = {}
    for login, path in a11y.pages(site):
        if login not in sessions:
            sessions[login] = a11y.open_as(browser, site, login)
        page = sessions[login]
        page.goto(f"{site.url}{path}")
        a11y.settled(page)
        found += _axe(page, path)
    for page in sessions.values():
        page.context.close()
    assert not found, "axe-core found:\n" + "\n".join(found)


def _opened(page: Page, selector: str) -> None:
    page.wait_for_selector(f"{selector}[open]", state="attached")


def test_axe_finds_no_violation_in_any_dialog(browser: Browser, site: Site) -> None:
    found: list[str] = []
    page = a11y.open_as(browser, site, a11y.CASEWORKER)
    a11y.settled(page)
    for key, dialog in (("?", "#help"), ("w", "#forward-dialog")):
        page.locator("body").press(key)
        _opened(page, dialog)
        a11y.settled(page)
        found += _axe(page, f"/postkorb {dialog}")
        page.keyboard.press("Escape")
    page.evaluate("document.getElementById('return-dialog').showModal()")
    found += _axe(page, "/postkorb #return-dialog")
    page.keyboard.press("Escape")

    page.goto(f"{site.url}/akte/{a11y.HOUSEHOLD}")
    a11y.settled(page)
    page.locator("#documents").get_by_role("button", name="Angaben").first.click()
    _opened(page, "#details-dialog")
    found += _axe(page, "/akte #details-dialog")
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
    page = a11y.open_as(browser, site, a11y.OFFICE)
    a11y.settled(page)
    page.locator("#scopes .tab", has_text="Team").click()
    page.get_by_role("button", name="Widerspruch erfassen").first.click()
    _opened(page, "#legal-dialog")
    a11y.settled(page)
    found += _axe(page, "/postkorb #legal-dialog")
    page.context.close()

    # Clearing: the households a search at the desk offers.
    page = a11y.open_as(browser, site, a11y.DESK)
    page.goto(f"{site.url}/klaerung")
    a11y.settled(page)
    page.get_by_label("Haushalt suchen").fill("Wolf")
    page.get_by_label("Haushalt suchen").press("Enter")
    page.wait_for_selector(".candidates li")
    found += _axe(page, "/klaerung with candidates")
    page.context.close()
    assert not found, "axe-core found:\n" + "\n".join(found)
