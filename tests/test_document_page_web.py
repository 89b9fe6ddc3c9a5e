"""The document page (issue 15) in a real browser (Debian's Chromium, Playwright): reached from
the Postkorb with its list, the page image beside the data, tabs used by keyboard alone, a
validation error at its field with the input kept, the history after a save, reflow at 320 px,
axe-core without a violation; and the viewer's way to the same page and history."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from core.dates import german, local_today
from tests import support_a11y as a11y
from tests.support_a11y import Site, browser, site
from tests.support_browser import screenshot

pytestmark = pytest.mark.slow
__all__ = ["browser", "site"]  # module-scoped fixtures

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _axe(page: Page) -> list[str]:
    if not a11y.AXE.exists():
        pytest.fail(f"axe-core is missing at {a11y.AXE}: scripts/setup.sh --dev installs it")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(a11y.AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
            resultTypes: ['violations']})""",
        TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}) {v['help']} at {node['target']}"
        for v in results["violations"]
        for node in v["nodes"]
    ]


def _selected(page: Page, name: str) -> None:
    tab = page.get_by_role("tab", name=re.compile(f"^{name}"))
    expect(tab).to_be_focused()
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel", name=re.compile(f"^{name}"))).to_be_visible()


def test_the_document_page_from_the_postkorb_by_keyboard_with_no_axe_violation(
    browser: Browser, site: Site
) -> None:
    page = a11y.open_as(browser, site, a11y.CASEWORKER)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # (The answer to a form with an error is the page with status 422, which Chromium logs.)
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and "422" not in m.text else None,
    )
    page.goto(f"{site.url}/postkorb")
    a11y.settled(page)
    link = page.get_by_role("link", name=re.compile("^Dokumentseite: ")).first
    link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/dokument/{site.document}\?liste=postkorb"))
    a11y.settled(page)

    # The page image beside the data, loaded through the gate.
    image = page.get_by_role("img", name=re.compile("^Seite 1 von 1"))
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(page.get_by_label("Eingangsdatum", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="Blättern in der Liste")).to_contain_text(
        "in Postkorb"
    )
    screenshot(page, "dokumentseite.png")
    assert _axe(page) == []

    # The tabs by keyboard: arrows, End, Home; Tab leads into the panel.
    page.get_by_role("tab", name="Angaben").focus()
    page.keyboard.press("ArrowRight")
    _selected(page, "Vermerke")
    expect(page.locator("#panel-angaben")).to_be_hidden()
    page.keyboard.press("End")
    _selected(page, "Verlauf")
    expect(page.locator("#panel-verlauf")).to_contain_text("Erkannt und in den Postkorb gelegt")
    page.keyboard.press("Home")
    _selected(page, "Angaben")
    page.keyboard.press("Tab")
    expect(page.locator("#panel-angaben")).to_be_focused()

    # A corrected receipt date without a reason: the error at its field, the input kept.
    earlier = local_today() - timedelta(days=2)
    page.get_by_label("Absender").fill("Ali Wolf")
    receipt = page.get_by_label("Eingangsdatum", exact=True)
    receipt.fill(earlier.isoformat())
    receipt.press("Enter")
    reason = page.get_by_label(re.compile("^Begründung der Korrektur"))
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_be_focused()
    expect(page.locator("#reason-error")).to_contain_text("bitte die Korrektur begründen")
    expect(page.get_by_label("Absender")).to_have_value("Ali Wolf")
    expect(receipt).to_have_value(earlier.isoformat())
    assert _axe(page) == []
    screenshot(page, "dokumentseite-fehler.png")

    reason.fill("Eingangsstempel des Bürgerbüros")
    reason.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Angaben gespeichert.")
    history = page.get_by_role("tab", name=re.compile("^Verlauf"))
    history.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#panel-verlauf")
    expect(panel).to_contain_text("Angaben geändert")
    expect(panel).to_contain_text(f"→ {german(earlier)}")
    expect(panel).to_contain_text("Jan Braun")
    # The tab stays across a reload.
    page.reload()
    expect(page.get_by_role("tab", name=re.compile("^Verlauf"))).to_have_attribute(
        "aria-selected", "true"
    )
    assert problems == []

    # 400 % zoom: the page reflows into one column, nothing scrolls sideways.
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.context.close()


def test_the_viewer_leads_to_the_document_page_and_shows_the_history_beside_the_page(
    browser: Browser, site: Site
) -> None:
    page = a11y.open_as(browser, site, a11y.CASEWORKER)
    page.goto(f"{site.url}/viewer?doc={site.document}")
    expect(page.locator("#page-indicator")).to_have_text("Seite 1 von 1")
    link = page.get_by_role("link", name="Dokumentseite")
    expect(link).to_have_attribute("href", f"/dokument/{site.document}")
    toggle = page.get_by_role("button", name="Verlauf")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    panel = page.get_by_role("complementary", name="Verlauf")
    expect(panel).to_contain_text("Erkannt und in den Postkorb gelegt")
    expect(panel).to_contain_text("Scanstraße (automatisch)")
    a11y.settled(page)
    assert _axe(page) == []
    screenshot(page, "viewer-verlauf.png")
    with page.expect_popup() as opening:
        link.click()
    expect(opening.value.get_by_role("tab", name="Angaben")).to_be_visible()
    page.context.close()


def test_a_search_hit_leads_to_the_document_page_within_the_results(
    browser: Browser, site: Site
) -> None:
    page = a11y.open_as(browser, site, a11y.CASEWORKER)
    page.goto(f"{site.url}/suche?q=Verdienstabrechnung")
    hit = page.locator(f'.hit[data-document="{site.document}"]')
    hit.get_by_role("link", name="Dokumentseite").click()
    expect(page).to_have_url(
        re.compile(rf"/dokument/{site.document}\?liste=suche&q=Verdienstabrechnung")
    )
    pager = page.get_by_role("navigation", name="Blättern in der Liste")
    expect(pager).to_contain_text("1 von 1 in Suchergebnis")
    pager.get_by_role("link", name="Suchergebnis").click()
    expect(page).to_have_url(re.compile(r"/suche\?q=Verdienstabrechnung"))
    page.context.close()
