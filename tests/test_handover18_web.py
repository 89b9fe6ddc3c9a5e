"""The hand-over in a real browser: the caseworker starts it from the E-Akte, leaves a document
out with a reason (first forgetting the reason), sees the handed-over banner on the file and
uploads the receiving side's 0402; axe finds nothing on the way, at 320 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from core.db import transaction
from records.models import Handover, Household
from records.runtime import Runtime
from tests.support import OWN
from tests.support_a11y import axe_violations, browser
from tests.support_browser import log_in
from tests.support_handover18 import CASEWORKER, RECIPIENT, answer, prepare

__all__ = ["browser"]  # module-scoped fixture
REASON = "Enthält Daten Dritter"


@pytest.fixture
def tab(
    browser: Browser, sqlite_runtime: Runtime, live_url: str, tmp_path: Path
) -> Iterator[tuple[Page, list[str]]]:
    ids = prepare(sqlite_runtime, tmp_path / "work", people=False)
    context = browser.new_context(locale="de-DE", viewport={"width": 320, "height": 800})
    page = context.new_page()
    log_in(page, live_url, CASEWORKER)
    yield page, ids
    context.close()


@pytest.mark.slow
def test_hand_a_file_over_in_the_browser(
    tab: tuple[Page, list[str]], live_url: str, tmp_path: Path, sqlite_runtime: Runtime
) -> None:
    page, ids = tab
    page.goto(f"{live_url}/akte/{OWN}")
    page.get_by_role("link", name="Akte an eine andere Behörde abgeben").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Abgabe der Akte")
    boxes = page.get_by_role("checkbox")
    expect(boxes).to_have_count(3)
    for index in range(3):
        expect(boxes.nth(index)).to_be_checked()
    assert axe_violations(page, "Abgabe (Formular)") == []

    page.get_by_label("Aufnehmende Behörde").fill(RECIPIENT)
    boxes.first.uncheck()
    page.get_by_role("button", name=re.compile("Akte abgeben")).click()
    reason = page.locator(f"#reason-{ids[0]}")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#handover-reason-{ids[0]}-error")).to_contain_text("fehlt der Grund")
    expect(page.get_by_label("Aufnehmende Behörde")).to_have_value(RECIPIENT)
    expect(page.get_by_role("checkbox").first).not_to_be_checked()
    assert axe_violations(page, "Abgabe (Fehler)") == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    reason.fill(REASON)
    page.get_by_role("button", name=re.compile("Akte abgeben")).click()
    expect(page.get_by_role("status")).to_contain_text("Die Akte ist abgegeben")
    expect(page.locator("#handover-banner")).to_contain_text("nur noch gelesen")
    expect(page.locator("#handover-list")).to_contain_text(REASON)
    expect(
        page.get_by_role("link", name=re.compile("Abgabenachricht herunterladen"))
    ).to_be_visible()

    page.goto(f"{live_url}/akte/{OWN}")
    expect(page.locator("#akte-handed-over")).to_contain_text(f"an {RECIPIENT} abgegeben")
    expect(page.get_by_role("link", name="Akte an eine andere Behörde abgeben")).to_have_count(0)

    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        handover = session.scalar(select(Handover))
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        assert handover is not None and household is not None
        process_id, file_id = handover.process_id, str(household.file_uuid)
    reply = answer("0402", process_id, tmp_path / "answer", [(file_id, True, "")])
    page.goto(f"{live_url}/akte/{OWN}/abgabe")
    page.get_by_label(re.compile("Antwort der aufnehmenden Behörde")).set_input_files(str(reply))
    page.get_by_role("button", name="Antwort einlesen").click()
    expect(page.get_by_role("status")).to_contain_text("übernommen")
    expect(page.locator("#handover-list li").first).to_contain_text("übernommen")
    assert axe_violations(page, "Abgabe (Antwort)") == []
