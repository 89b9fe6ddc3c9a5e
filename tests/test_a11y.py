"""Accessibility (BITV 2.0 / WCAG 2.1 AA) in a real browser: keyboard use of every link and
button next to the page-wide shortcuts, reflow at 320 px, names and states of the controls,
skip link, landmarks and visible focus. axe-core's checks are in tests/test_a11y_axe.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.support_a11y import (
    CASEWORKER,
    DESK,
    HOUSEHOLD,
    Site,
    browser,
    open_as,
    pages,
    settled,
    site,
)

pytestmark = pytest.mark.slow
__all__ = ["browser", "site"]  # module-scoped fixtures


def _press_on(target: Locator, key: str = "Enter") -> None:
    """The key pressed with `target` focused, as someone without a mouse does it."""
    target.focus()
    target.page.keyboard.press(key)


@pytest.fixture
def caseworker(browser: Browser, site: Site) -> Iterator[Page]:
    """CASEWORKER signed in, in a browser context of the test's own."""
    page = open_as(browser, site, CASEWORKER)
    yield page
    page.context.close()


def test_enter_on_links_and_buttons_of_the_postkorb_does_what_a_click_does(
    caseworker: Page, site: Site
) -> None:
    page = caseworker
    expect(page).to_have_url(f"{site.url}/postkorb")
    expect(page.locator("#inbox-rows tr")).to_have_count(1)
    _press_on(page.get_by_role("link", name="Suche", exact=True))
    expect(page).to_have_url(f"{site.url}/suche")
    page.go_back()
    expect(page.locator("#inbox-rows tr")).to_have_count(1)

    _press_on(page.get_by_role("link", name=HOUSEHOLD))
    expect(page).to_have_url(f"{site.url}/akte/{HOUSEHOLD}")
    page.go_back()
    expect(page.locator("#inbox-rows tr")).to_have_count(1)

    # Space works on buttons as well.
    _press_on(page.locator("#show-help"), " ")
    expect(page.get_by_role("heading", name="Tastenkürzel")).to_be_visible()
    page.keyboard.press("Escape")

    row = page.locator("#inbox-rows tr").first
    _press_on(row.get_by_role("button", name="Erledigt"))
    expect(page.locator("#inbox-status")).to_contain_text("erledigt")
    expect(page.locator("#inbox-rows tr")).to_have_count(0)
    page.locator("#filter-state").select_option(label="alle")
    expect(page.locator("#inbox-rows tr")).to_have_count(1)
    expect(page.locator("#inbox-rows tr").first).to_contain_text("erledigt")

    _press_on(page.get_by_role("button", name="Abmelden"))
    expect(page).to_have_url(f"{site.url}/anmelden")


def test_enter_and_space_on_links_buttons_and_tabs_of_the_file(
    caseworker: Page, site: Site
) -> None:
    page = caseworker
    page.goto(f"{site.url}/akte/{HOUSEHOLD}")
    expect(page.locator("#documents li.document")).not_to_have_count(0)

    page.get_by_label("Neuer Vermerk zur Akte").fill("Rückruf der Kundin erbeten")
    _press_on(page.get_by_role("button", name="Vermerk speichern"))
    expect(page.locator("#notes")).to_contain_text("Rückruf der Kundin erbeten")

    # The tabs of the document list: state, arrow keys, Space.
    by_type = page.get_by_role("tab", name="Nach Dokumentart")
    timeline = page.get_by_role("tab", name="Zeitstrahl")
    expect(page.get_by_role("tablist")).to_have_count(1)
    expect(by_type).to_have_attribute("aria-selected", "true")
    expect(timeline).to_have_attribute("aria-selected", "false")
    by_type.focus()
    page.keyboard.press("ArrowRight")
    expect(timeline).to_be_focused()
    expect(timeline).to_have_attribute("aria-selected", "true")
    expect(by_type).to_have_attribute("aria-selected", "false")
    expect(page.locator("#documents details.group")).to_have_count(0)
    page.keyboard.press("ArrowLeft")
    expect(by_type).to_have_attribute("aria-selected", "true")
    expect(page.locator("#documents details.group")).not_to_have_count(0)

    # The document the shortcuts act on is marked for screen readers too.
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("j")
    expect(page.locator("#documents li.document[aria-current='true']")).to_have_count(1)

    with page.expect_download() as download:
        pay_slip = page.locator("#documents li.document", has_text="Verdienstabrechnung")
        _press_on(pay_slip.get_by_role("link", name="Herunterladen"))
    assert download.value.suggested_filename.endswith(".pdf")

    _press_on(page.get_by_role("link", name="Aktenauszug erstellen"))
    expect(page).to_have_url(f"{site.url}/akte/{HOUSEHOLD}/aktenauszug")


def test_postkorb_rows_name_their_checkbox_and_mark_the_current_row(caseworker: Page) -> None:
    page = caseworker
    page.locator("#filter-state").select_option(label="alle")  # done by another test or not
    expect(page.locator("#inbox-rows tr")).to_have_count(1)
    pick = page.locator("#inbox-rows tr input.pick").first
    label = pick.get_attribute("aria-label") or ""
    assert re.search(r"Eingang vom \d\d\.\d\d\.\d{4}", label), label
    assert "Lohn-/Verdienstabrechnung" in label and label.endswith("markieren"), label
    expect(page.locator("#inbox-rows tr[aria-current='true']")).to_have_count(1)


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _too_wide(page: Page, width: int = 320) -> str:
    """The innermost elements that reach past the window's right edge."""
    return str(
        page.evaluate(
            """edge => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > edge
                && ![...e.children].some(c => c.getBoundingClientRect().right > edge))
            .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                + (e.className && typeof e.className === 'string' ? '.' + e.className : ''))
            .join(', ')""",
            width + 1,
        )
    )


def test_no_page_scrolls_sideways_at_320_px(browser: Browser, site: Site) -> None:
    wide: list[str] = []
    sessions: dict[str | None, Page] = {}
    for login, path in pages(site):
        if login not in sessions:
            sessions[login] = open_as(browser, site, login, width=320, height=640)
        page = sessions[login]
        page.goto(f"{site.url}{path}")
        settled(page)
        if (width := _scroll_width(page)) > 320:
            wide.append(f"{path}: {width} px ({_too_wide(page)})")
        dialogs = {
            "/postkorb": ("#help", "#forward-dialog", "#return-dialog"),
            f"/akte/{HOUSEHOLD}": ("#help", "#details-dialog"),
        }
        for dialog in dialogs.get(path, ()):
            page.evaluate("id => document.querySelector(id).showModal()", dialog)
            box = page.locator(dialog).bounding_box()
            assert box is not None
            if box["x"] < 0 or box["x"] + box["width"] > 320:
                wide.append(f"{path} {dialog}: {box['width']} px")
            page.keyboard.press("Escape")
    for page in sessions.values():
        page.context.close()
    assert not wide, "pages wider than 320 px: " + "; ".join(wide)


# WCAG 1.4.12's test values (line height 1.5, paragraphs 2 em apart, letters 0.12 em and words
# 0.16 em apart), as a user's style sheet would set them.
WIDE_TEXT_SPACING = """
* { line-height: 1.5 !important; letter-spacing: 0.12em !important;
    word-spacing: 0.16em !important; }
p { margin-bottom: 2em !important; }
"""


def test_zoomed_to_200_percent_or_with_wide_text_spacing_no_page_scrolls_sideways(
    browser: Browser, site: Site
) -> None:
    """1.4.4 resize text: the browser zoomed to 200 % on a 1366 px screen (a 683 px wide
    window in CSS pixels); 1.4.12 text spacing: WCAG's spacing at 1366 px. Neither needs
    sideways scrolling: the text wraps, nothing is cut off at the window's edge."""
    wide: list[str] = []
    for width, height, spaced in ((683, 384, False), (1366, 768, True)):
        sessions: dict[str | None, Page] = {}
        for login, path in pages(site):
            if login not in sessions:
                sessions[login] = open_as(browser, site, login, width=width, height=height)
            page = sessions[login]
            page.goto(f"{site.url}{path}")
            settled(page)
            if spaced:
                # A constructed style sheet, as a user's browser extension adds it (the CSP
                # refuses a <style> element, rightly).
                page.evaluate(
                    "css => { const sheet = new CSSStyleSheet(); sheet.replaceSync(css);"
                    " document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]; }",
                    WIDE_TEXT_SPACING,
                )
            if (scrolled := _scroll_width(page)) > width:
                how = "spacing" if spaced else "200 %"
                wide.append(f"{path} ({how}): {scrolled} px ({_too_wide(page, width)})")
        for page in sessions.values():
            page.context.close()
    assert not wide, "pages wider than the window: " + "; ".join(wide)


def test_every_page_has_a_skip_link_landmarks_and_visible_focus(
    browser: Browser, site: Site
) -> None:
    missing: list[str] = []
    sessions: dict[str | None, Page] = {}
    for login, path in pages(site):
        if login not in sessions:
            sessions[login] = open_as(browser, site, login)
        page = sessions[login]
        page.goto(f"{site.url}{path}")
        settled(page)
        for role in ("banner", "main"):
            if page.get_by_role(role).count() != 1:
                missing.append(f"{path}: landmark {role}")
        if login is not None and page.get_by_role("navigation").count() < 1:
            missing.append(f"{path}: navigation")
        first = page.evaluate(
            """() => document.querySelector("a[href], button, input, select, textarea,"
                + " [tabindex]:not([tabindex='-1'])").textContent.trim()"""
        )
        if first != "Zum Inhalt springen":
            missing.append(f"{path}: first stop is {first!r}, not the skip link")
            continue
        skip = page.get_by_role("link", name="Zum Inhalt springen")
        skip.focus()
        box = skip.bounding_box()
        if box is None or box["y"] < 0:
            missing.append(f"{path}: the skip link is not shown when it has focus")
        page.keyboard.press("Enter")
        inside = page.evaluate("!!document.activeElement.closest('main')")
        if not inside:
            missing.append(f"{path}: the skip link does not lead into main")
        # Every control shows where the focus is.
        for _ in range(40):
            page.keyboard.press("Tab")
            shown = page.evaluate(
                """() => { const e = document.activeElement;
                if (!e || e === document.body) return null;
                const s = getComputedStyle(e);
                const ring = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
                return [ring || s.boxShadow !== 'none', e.tagName + ' ' + (e.name || e.id) + ' '
                        + (e.getAttribute('aria-label') || e.textContent.trim().slice(0, 30))]; }"""
            )
            if shown is None:
                break
            if not shown[0]:
                missing.append(f"{path}: no visible focus on {shown[1]!r}")
    for page in sessions.values():
        page.context.close()
    assert not missing, "\n".join(missing)


def test_viewer_names_its_controls_and_scrolls_by_keys(browser: Browser, site: Site) -> None:
    page = open_as(browser, site, CASEWORKER, width=1000, height=700)
    page.goto(f"{site.url}/viewer?doc={site.document}")
    expect(page.locator("#page-indicator")).to_have_text("Seite 1 von 1")
    expect(page.get_by_role("main")).to_have_count(1)
    reset = page.locator("#zoom-reset")
    name = reset.get_attribute("aria-label") or ""
    assert name.startswith(reset.inner_text().strip()) and "Zoom" in name, name

    stage = page.locator("#stage")
    assert stage.get_attribute("tabindex") == "0"
    assert stage.get_attribute("aria-label")
    page.keyboard.press("+")
    page.keyboard.press("+")
    page.keyboard.press("+")
    stage.focus()
    before = stage.evaluate("e => e.scrollTop")
    page.keyboard.press("ArrowDown")
    page.wait_for_function("top => document.getElementById('stage').scrollTop > top", arg=before)
    page.context.close()


def test_the_drop_zone_opens_the_file_chooser_on_enter_and_space(
    browser: Browser, site: Site
) -> None:
    page = open_as(browser, site, DESK)
    zone = page.locator("#drop-zone")
    page.goto(f"{site.url}/scanstelle")
    # A click on the file field is what opens the browser's file chooser.
    page.evaluate(
        """() => { window.choosing = 0;
        document.getElementById('files').addEventListener('click', (e) => {
            window.choosing += 1; e.preventDefault(); }); }"""
    )
    for count, key in enumerate(("Enter", " "), start=1):
        _press_on(zone, key)
        page.wait_for_function("n => window.choosing === n", arg=count)
    # Keys on the fields inside the zone stay theirs.
    page.get_by_label("Scanplatz").fill("Scanner 1")
    page.get_by_label("Scanplatz").press("Enter")
    page.get_by_label("Scanplatz").press(" ")
    assert page.evaluate("window.choosing") == 2
    page.context.close()
