"""The scanning desk's quality check in a real browser (issue 15): no axe-core violation on the
page or in the rejection dialog; approve and reject from the keyboard alone; a live refresh
keeps the row being worked on where it is, with what was typed into it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Literal

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from core.db import transaction
from records.models import AuditEvent, Document
from tests import support_a11y as a11y
from tests.support import client_for, sample, work_until_idle
from tests.support_a11y import DESK, Site, axe_violations, browser, site
from tests.support_browser import screenshot

pytestmark = pytest.mark.slow
__all__ = ["browser", "site"]  # module-scoped fixtures

MORE = (
    "docs/0002.pdf",
    "docs/0004.pdf",
    "docs/0005.pdf",
    "docs/0006.pdf",
    "docs/0007.pdf",
)


@pytest.fixture(scope="module")
def desk(site: Site) -> Iterator[Site]:
    """The accessibility site with four more letters waiting for the desk's check."""
    client = client_for(site.runtime, DESK)
    for name in MORE:
        letter = sample(name)
        answer = client.post("/api/documents", files={"file": (letter.name, letter.read_bytes())})
        assert answer.status_code == 201, answer.text
    work_until_idle(site.runtime)
    yield site


def _open_desk(browser: Browser, site: Site, scheme: Literal["light", "dark"] = "light") -> Page:
    page = a11y.open_as(browser, site, DESK, color_scheme=scheme)
    page.goto(f"{site.url}/scanstelle")
    expect(page.locator("#qa-list .qa-entry").first).to_be_visible()
    expect(page.locator("#batch-rows tr").first).to_be_visible()
    return page


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_on_the_desk_and_in_its_rejection_dialog(
    browser: Browser, desk: Site, scheme: Literal["light", "dark"]
) -> None:
    page = _open_desk(browser, desk, scheme)
    a11y.settled(page)
    found = axe_violations(page, f"/scanstelle ({scheme})")
    entry = page.locator("#qa-list .qa-entry").first
    entry.get_by_label("Seiten auf Papier").fill("9")
    entry.get_by_role("button", name="Freigeben").click()
    expect(entry.get_by_role("alert")).to_contain_text("Seitenzahl stimmt nicht")
    found += axe_violations(page, f"/scanstelle with a refusal ({scheme})")
    entry.get_by_role("button", name="Ablehnen …").click()
    dialog = page.get_by_role("dialog", name="Zur Neuerfassung ablehnen")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Ablehnen", exact=True).click()
    expect(dialog.get_by_role("alert")).to_contain_text("Bitte begründen")
    found += axe_violations(page, f"rejection dialog ({scheme})", "#reject-dialog")
    screenshot(page, f"scanstelle-ablehnen-{scheme}.png")
    dialog.get_by_role("button", name="Abbrechen").click()
    expect(dialog).to_be_hidden()
    page.context.close()
    assert not found, "axe-core found:\n" + "\n".join(found)


def _tab_to(page: Page, wanted: str, limit: int = 80) -> str:
    """Presses Tab until the focused element's id starts with `wanted`; returns that id."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id || ''")
        if focused.startswith(wanted):
            return focused
    raise AssertionError(f"Tab never reached #{wanted}…")


def test_keyboard_alone_approves_and_rejects_with_a_reason(browser: Browser, desk: Site) -> None:
    page = _open_desk(browser, desk)
    part = page.locator("#qa-part")
    # Names where the old page showed logins ("→ lsb.95401.3").
    expect(part).to_contain_text("Sachbearbeitung Jan Braun")
    assert "lsb." not in part.inner_text()

    counted = _tab_to(page, "counted-")
    approved = counted.removeprefix("counted-")
    label = page.locator(f"#qa-{approved}").get_attribute("data-label")
    page.keyboard.press("Enter")  # nothing counted yet: refused
    expect(page.locator(f"#qa-error-{approved}")).to_contain_text(
        "Bitte die auf Papier gezählte Seitenzahl eingeben"
    )
    page.keyboard.type("1")
    page.keyboard.press("Enter")
    expect(page.locator("#qa-results")).to_contain_text(f"{label}: freigegeben")
    expect(page.locator(f"#qa-{approved}")).to_have_count(0)
    # The focus went on to the next entry's page count.
    focused = page.evaluate("document.activeElement.id")
    assert focused.startswith("counted-"), focused
    rejected = focused.removeprefix("counted-")

    # Ablehnen … opens the confirmation; Escape cancels it, and nothing happened.
    _tab_to(page, "reject-")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Zur Neuerfassung ablehnen")
    expect(dialog).to_be_visible()
    expect(page.locator("#reject-reason")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#reject-{rejected}")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator("#reject-confirm")).to_be_focused()
    page.keyboard.press("Enter")  # no reason: refused, the dialog stays
    expect(page.locator("#reject-error")).to_contain_text("Bitte begründen")
    expect(page.locator("#reject-reason")).to_be_focused()
    page.keyboard.type("Blatt 2 fehlt, bitte neu scannen")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#qa-results")).to_contain_text("zur Neuerfassung abgelehnt")
    expect(page.locator(f"#qa-{rejected}")).to_have_count(0)
    page.context.close()

    with transaction(desk.runtime.sessions) as session:
        done = session.get(Document, uuid.UUID(approved))
        sent_back = session.get(Document, uuid.UUID(rejected))
        assert done is not None and sent_back is not None
        assert done.qa_status == "approved"
        assert (sent_back.qa_status, sent_back.qa_note) == (
            "rejected",
            "Blatt 2 fehlt, bitte neu scannen",
        )
        [audited] = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "document.qa.reject", AuditEvent.object_id == rejected
            )
        ).all()
    assert (audited.actor_login, audited.details["note"]) == (
        DESK,
        "Blatt 2 fehlt, bitte neu scannen",
    )


def test_a_live_refresh_keeps_the_row_in_place_with_its_typed_count(
    browser: Browser, desk: Site
) -> None:
    page = _open_desk(browser, desk)
    page.set_viewport_size({"width": 1366, "height": 420})
    entries = page.locator("#qa-list .qa-entry")
    expect(entries.nth(1)).to_be_visible()
    above = entries.nth(0).get_attribute("data-id")
    worked = entries.nth(1).get_attribute("data-id")
    field = page.locator(f"#counted-{worked}")
    field.focus()
    field.fill("7")
    page.evaluate(
        "id => window.scrollBy(0, document.getElementById(id).getBoundingClientRect().top - 200)",
        f"counted-{worked}",
    )
    top = field.evaluate("e => e.getBoundingClientRect().top")
    # Nothing changed: the polls are answered 304 and nothing is redrawn.
    for part in ("/scanstelle/stapel", "/scanstelle/pruefung"):
        page.wait_for_event(
            "response",
            predicate=lambda r, part=part: part in r.url and r.status == 304,  # type: ignore[misc]
            timeout=10_000,
        )

    # Someone else approves the entry above: the list is redrawn without it.
    client = client_for(desk.runtime, DESK)
    answer = client.post(
        f"/api/documents/{above}/qa", json={"decision": "approve", "counted_pages": 1}
    )
    assert answer.status_code == 200, answer.text
    expect(page.locator(f"#qa-{above}")).to_have_count(0, timeout=10_000)
    expect(page.locator("#desk-live")).to_contain_text("aktualisiert")
    expect(field).to_be_focused()
    expect(field).to_have_value("7")
    moved = field.evaluate("e => e.getBoundingClientRect().top")
    assert abs(moved - top) <= 2, (top, moved)
    page.context.close()


def test_bulk_approval_answers_one_line_per_selected_entry(browser: Browser, desk: Site) -> None:
    page = _open_desk(browser, desk)
    entries = page.locator("#qa-list .qa-entry")
    expect(entries.nth(1)).to_be_visible()
    counted, forgotten = entries.nth(0), entries.nth(1)
    labels = [entry.get_attribute("data-label") for entry in (counted, forgotten)]
    ids = [entry.get_attribute("data-id") for entry in (counted, forgotten)]
    counted.get_by_label("Seiten auf Papier").fill("1")
    # Each box is named after its entry (not "markieren" for all).
    page.get_by_role("checkbox", name=f"{labels[0]} auswählen").check()
    page.get_by_role("checkbox", name=f"{labels[1]} auswählen").check()
    page.get_by_role("button", name="Ausgewählte freigeben").click()
    results = page.locator("#qa-results li")
    expect(results).to_have_count(2)
    expect(results.nth(0)).to_have_text(f"{labels[0]}: freigegeben")
    expect(results.nth(1)).to_contain_text(
        f"{labels[1]}: Bitte die auf Papier gezählte Seitenzahl eingeben"
    )
    expect(results.nth(1)).to_have_class("failed")
    expect(page.locator(f"#qa-{ids[0]}")).to_have_count(0)
    expect(page.locator(f"#qa-{ids[1]}")).to_have_count(1)
    page.context.close()
