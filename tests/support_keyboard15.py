"""Keyboard-only use of the pages (issue 15): where the focus is, by role and accessible name as
a screen reader says it, and moving it with the Tab key alone. A walk that needs more Tab
presses than before, or finds its control no longer in the order, fails with the names it
passed: the failure message is the page's focus order."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.support import PASSWORD

_CONTROL = """() => { const e = document.activeElement;
    const label = e.labels && e.labels[0] ? e.labels[0].cloneNode(true) : null;
    if (label) label.querySelectorAll('input, select, textarea').forEach((c) => c.remove());
    return [e.tagName.toLowerCase() + (e.type ? ':' + e.type : ''),
            (e.getAttribute('aria-label') || (label ? label.textContent : '') || '').trim()]; }"""
_KEY = re.compile(r'^(?P<role>[a-z]+)(?: "(?P<name>(?:[^"\\]|\\.)*)")?')


def focused(page: Page) -> tuple[str, str]:
    """(role, accessible name) of the element with focus; ("", "<body>") when nothing has it."""
    if not page.evaluate("!!document.activeElement && document.activeElement !== document.body"):
        return "", "<body>"
    try:
        snapshot = page.locator("*:focus").aria_snapshot(timeout=3000)
    except PlaywrightError:
        # No element matches :focus when it is inside a control's own parts (the day, month
        # or year of a date field): the control itself, with its label.
        return page.evaluate(_CONTROL)
    lines = snapshot.splitlines()
    if not lines:  # the focused element was just being drawn anew: the control itself
        return page.evaluate(_CONTROL)
    line = lines[0].removeprefix("- ")
    if line.startswith("'"):  # YAML single-quoted: the key held a colon
        line = line[1 : line.rindex("'")].replace("''", "'")
    match = _KEY.match(line)
    if match is None:
        return line, ""
    return match["role"], json.loads(f'"{match["name"] or ""}"')


def focus_name(page: Page) -> str:
    return focused(page)[1]


def focus_kept(page: Page, what: str, timeout: float = 10_000) -> None:
    """The focus is on a control of the page, not on <body>, once the page has redrawn what
    the action changed (a list answered later than the action's own message, under load)."""
    try:
        page.wait_for_function(
            "() => document.activeElement && document.activeElement !== document.body"
            " && document.activeElement.isConnected",
            timeout=timeout,
        )
    except Exception as error:
        raise AssertionError(f"the focus was lost after {what}") from error


def focus_within(page: Page, selector: str) -> bool:
    return bool(page.evaluate("s => !!document.activeElement.closest(s)", selector))


def tab_to(
    page: Page,
    name: str | re.Pattern[str],
    *,
    role: str | None = None,
    within: str | None = None,
    back: bool = False,
    limit: int = 150,
) -> int:
    """Presses Tab (Shift+Tab with `back`) until the focus is on a control with this accessible
    name (and role, and inside `within`, a CSS selector); the number of presses. Fails after
    `limit` presses with the list of what had focus on the way."""
    seen: list[str] = []
    for presses in range(1, limit + 1):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        now_role, now_name = focused(page)
        seen.append(f"{now_role} {now_name!r}")
        matches = now_name == name if isinstance(name, str) else bool(name.fullmatch(now_name))
        if (
            matches
            and (role is None or now_role == role)
            and (within is None or focus_within(page, within))
        ):
            return presses
    raise AssertionError(
        f"{name!r} not reached with {'Shift+' if back else ''}Tab in {limit} steps; "
        "the focus went to:\n  " + "\n  ".join(seen)
    )


def log_in_by_keyboard(page: Page, base: str, login: str) -> None:
    """The login page with the keyboard: user name, Tab, password, Enter."""
    page.goto(f"{base}/anmelden")
    expect(page.get_by_label("Benutzername")).to_be_focused()  # autofocus
    page.keyboard.type(login)
    tab_to(page, "Passwort")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(re.compile(r"/anmelden"))


def keyboard_page(browser: Browser, base: str, login: str) -> Page:
    """A tab of a browser context of its own at 1366×768, signed in by keyboard."""
    context = browser.new_context(
        locale="de-DE", viewport={"width": 1366, "height": 768}, accept_downloads=True
    )
    page = context.new_page()
    log_in_by_keyboard(page, base, login)
    return page
