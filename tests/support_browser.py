"""Helpers for the tests that drive the pages in a real browser: Debian's Chromium through
Playwright. The `live_url` and `page` fixtures are in tests/conftest.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"  # screenshots


def launch_chromium(playwright: Playwright) -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: scripts/setup.sh --dev installs it")
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )


def screenshot(target: Page | Locator, name: str, **options: Any) -> None:
    """A screenshot of a page or an element under test-artifacts/, for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / name), **options)


def log_out(page: Page, base: str) -> None:
    """Logs out through the navigation's button; the browser lands on the login page."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Abmelden").click()
    expect(page).to_have_url(f"{base}/anmelden")


def log_in(page: Page, base: str, login: str) -> None:
    """Logs in on the login page with PASSWORD and waits until the browser has left it."""
    from playwright.sync_api import expect

    page.goto(f"{base}/anmelden")
    page.get_by_label("Benutzername").fill(login)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).not_to_have_url(re.compile(r"/anmelden"))
