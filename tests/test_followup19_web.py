"""Follow-up dates in a real browser (issue 19): a caseworker sets a follow-up in the E-Akte for
a later day; it is not in the Postkorb before; the test moves the product's clock
(core.dates.set_clock; the live server runs in this process) to that day, and the open Postkorb
shows it without a reload; closed with a reason (first forgetting it), it leaves. axe finds
nothing, at 320 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from core.dates import LOCAL_TZ, set_clock
from tests.support import OWN
from tests.support_a11y import axe_violations, browser
from tests.support_browser import log_in, screenshot

__all__ = ["browser"]  # module-scoped fixture
CASEWORKER = "lsb.95401.2"
TODAY = date(2026, 12, 7)
DUE = TODAY + timedelta(days=5)
NOTE = "Nachweis über Nebenkosten prüfen"


def _at(day: date) -> None:
    set_clock(lambda: datetime(day.year, day.month, day.day, 9, 0, tzinfo=LOCAL_TZ))


@pytest.fixture
def tab(browser: Browser, polling_url: str) -> Iterator[Page]:
    _at(TODAY)
    context = browser.new_context(locale="de-DE", viewport={"width": 320, "height": 800})
    page = context.new_page()
    log_in(page, polling_url, CASEWORKER)
    yield page
    context.close()
    set_clock(None)


def _fits(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.slow
def test_a_follow_up_appears_in_the_postkorb_on_its_day(tab: Page, polling_url: str) -> None:
    page = tab
    page.goto(f"{polling_url}/akte/{OWN}#wiedervorlagen")
    section = page.locator("#wiedervorlagen")
    expect(section.get_by_label("Datum")).to_have_value((TODAY + timedelta(days=14)).isoformat())
    section.get_by_label("Datum").fill(DUE.isoformat())
    section.get_by_role("button", name="Wiedervorlage setzen").click()
    note = page.locator("#fu-note")
    expect(note).to_have_attribute("aria-invalid", "true")  # the note was forgotten
    expect(page.locator("#fu-new-note-error")).to_contain_text("Hinweis")
    assert axe_violations(page, "Wiedervorlage (Fehler)") == []
    note.fill(NOTE)
    page.get_by_role("button", name="Wiedervorlage setzen").click()
    expect(page.locator("#followups-open")).to_contain_text(NOTE)
    expect(page.locator("#followups-open")).to_contain_text(DUE.strftime("%d.%m.%Y"))
    assert axe_violations(page, "E-Akte mit Wiedervorlage") == []
    screenshot(page.locator("#wiedervorlagen"), "followup19-akte.png")
    assert _fits(page)

    page.goto(f"{polling_url}/postkorb")
    expect(page.get_by_role("heading", name=re.compile("Postkorb"))).to_be_visible()
    expect(page.locator("#wiedervorlagen-heute")).to_have_count(0)

    # The Postkorb stays open: when its day comes, the follow-up appears without a reload
    # (the list's live refresh draws the block anew; the suite polls every second).
    _at(DUE)
    block = page.locator("#wiedervorlagen-heute")
    expect(
        block.get_by_role("heading", name=re.compile("Heute fällige Wiedervorlagen"))
    ).to_be_visible()
    expect(block).to_contain_text(NOTE)
    expect(block.get_by_role("link", name=NOTE)).to_have_attribute(
        "href", f"/akte/{OWN}#wiedervorlagen"
    )
    assert axe_violations(page, "Postkorb mit Wiedervorlage") == []
    screenshot(page, "followup19-postkorb.png", full_page=True)
    assert _fits(page)

    # Keyboard only: open "erledigt", type the reason, send.
    block.locator("summary", has_text="erledigt").focus()
    page.keyboard.press("Enter")
    reason = block.get_by_label("Grund").first
    expect(reason).to_be_visible()
    reason.focus()
    page.keyboard.type("Nachweis liegt vor")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/postkorb"))
    expect(page.locator("#wiedervorlagen-heute")).to_have_count(0)

    page.goto(f"{polling_url}/akte/{OWN}")
    expect(page.locator("#followups-open")).to_contain_text("Keine offene Wiedervorlage.")
    expect(page.locator("#followups-done")).to_contain_text("Nachweis liegt vor")
