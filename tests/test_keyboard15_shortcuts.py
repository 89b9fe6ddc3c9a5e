"""Single-key shortcuts can be switched off (issue 15, WCAG 2.1.4 Character Key Shortcuts): the
check box "Tastenkürzel aus Einzeltasten verwenden" in the help, kept per browser. Off, no
single character does anything on the Postkorb, the E-Akte or in the viewer window; arrows,
Enter and Escape still work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import file_indexed
from tests.support_a11y import AXE, CASEWORKER, DESK, HOUSEHOLD, Site, browser, site
from tests.support_browser import screenshot
from tests.support_keyboard15 import focused, keyboard_page, tab_to

pytestmark = pytest.mark.slow
__all__ = ["browser", "site"]  # module-scoped fixtures

SWITCH = "Tastenkürzel aus Einzeltasten verwenden"


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    for number in range(2):
        file_indexed(site.runtime, HOUSEHOLD, "sonstiges", f"Brief {number}")
    opened = keyboard_page(browser, site.url, CASEWORKER)
    yield opened
    opened.context.close()


def _switch(page: Page, on: bool) -> None:
    """Opens the help with its button, sets the check box with Space, closes with Escape."""
    tab_to(page, "?", role="button")
    page.keyboard.press("Enter")
    help_dialog = page.locator("#help")
    expect(help_dialog).to_be_visible()
    tab_to(page, SWITCH, role="checkbox")
    box = help_dialog.get_by_label(SWITCH)
    if box.is_checked() != on:
        page.keyboard.press("Space")
    expect(box).to_be_checked(checked=on)
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    assert focused(page) == ("button", "?")


def test_single_key_shortcuts_can_be_switched_off_and_on_again(page: Page, site: Site) -> None:
    rows = page.locator("#inbox-rows tr")
    expect(rows).to_have_count(3)
    current = page.locator("#inbox-rows tr[aria-current='true']")
    first = rows.nth(0).get_attribute("data-id")
    second = rows.nth(1).get_attribute("data-id")
    # On (the default): j moves down, k up.
    page.keyboard.press("j")
    expect(current).to_have_attribute("data-id", str(second))
    page.keyboard.press("k")
    expect(current).to_have_attribute("data-id", str(first))

    _switch(page, on=False)
    count = rows.count()
    for key in ("j", "e", "w", "?", "2"):
        page.keyboard.press(key)
    expect(current).to_have_attribute("data-id", str(first))
    expect(page.locator("#forward-dialog")).to_be_hidden()
    expect(page.locator("#help")).to_be_hidden()
    expect(page.locator("#scopes .tab.active")).to_contain_text("Mein Postkorb")
    expect(rows).to_have_count(count)
    # The arrows are no character keys: they still move.
    page.keyboard.press("ArrowDown")
    expect(current).to_have_attribute("data-id", str(second))

    # Kept in this browser: after reloading, in the file and in the viewer window.
    page.reload()
    expect(rows).to_have_count(count)
    expect(current).to_have_attribute("data-id", str(second))  # the row is kept in the address
    page.keyboard.press("j")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_hidden()
    expect(current).to_have_attribute("data-id", str(second))
    page.goto(f"{site.url}/akte/{HOUSEHOLD}")
    expect(page.locator("#documents li.document").first).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_hidden()
    tab_to(page, "Anzeigefenster öffnen", role="button")
    with page.context.expect_page() as opened:
        page.keyboard.press("Enter")
    viewer = opened.value
    viewer.wait_for_load_state()
    reset = viewer.locator("#zoom-reset")
    expect(reset).to_have_text("100 %")
    viewer.keyboard.press("+")
    viewer.keyboard.press("?")
    expect(reset).to_have_text("100 %")
    expect(viewer.locator("#help")).to_be_hidden()
    viewer.close()

    # On again: the letters work again.
    page.goto(f"{site.url}/postkorb")
    expect(rows).to_have_count(count)
    _switch(page, on=True)
    expect(current).to_have_attribute("data-id", str(first))
    page.keyboard.press("j")
    expect(current).to_have_attribute("data-id", str(second))


def test_every_page_has_the_keyboard_help_with_its_focus_order(
    browser: Browser, site: Site
) -> None:
    """ "Tastaturhilfe" in the header: the focus order of the pages this user may open and the
    switch for single-key shortcuts, from the keyboard, without axe-core violations."""
    page = keyboard_page(browser, site.url, DESK)
    page.goto(f"{site.url}/scanstelle")
    tab_to(page, "Tastaturhilfe", role="button")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Tastaturhilfe")
    expect(dialog).to_be_visible()
    order = dialog.locator("dl")
    expect(order).to_contain_text("Ablagefeld (Enter oder Leertaste öffnet die Dateiauswahl)")
    expect(order).to_contain_text("Haushalt suchen")
    expect(order.locator("dt")).to_have_text(["Scanstelle", "Klärung", "Dialoge"])
    expect(dialog.get_by_label(SWITCH)).to_be_checked()
    screenshot(page, "tastaturhilfe-scanstelle.png")
    if AXE.exists():
        page.evaluate(AXE.read_text(encoding="utf-8"))
        found = page.evaluate(
            """() => axe.run(document.getElementById('keyboard-order'),
                {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                .then((r) => r.violations.map((v) => v.id + ': ' + v.help))"""
        )
        assert not found, found
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused(page) == ("button", "Tastaturhilfe")
    page.context.close()
