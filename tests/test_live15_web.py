"""The caseworker's Postkorb and E-Akte stay current while open, and Postkorb views can be saved
(issue 15), in a real browser (Debian's Chromium, Playwright): a newly routed item is announced
without a reload and the row the user is on keeps its place and focus; an upload into the
E-Akte appears in its list; a saved view survives a reload and opens; axe finds nothing on the
Postkorb with the notice and the views open."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import delete

from core.dates import local_today
from core.db import transaction
from records.models import LoginSession
from records.runtime import Runtime
from tests.support import (
    PASSWORD,
    client_for,
    file_indexed,
    sample,
    work_until_idle,
)
from tests.support_a11y import AXE, axe_violations
from tests.support_browser import log_in, screenshot

pytestmark = pytest.mark.slow

CASEWORKER = "lsb.95401.3"  # Jan Braun, responsible for HOUSEHOLD
HOUSEHOLD = "95401BG5662133"


@pytest.fixture
def runtime(polling_runtime: Runtime) -> Runtime:
    return polling_runtime


@pytest.fixture
def url(polling_url: str) -> str:
    return polling_url


def _letters(runtime: Runtime, count: int, days_ago: int = 1) -> None:
    for n in range(count):
        file_indexed(
            runtime,
            HOUSEHOLD,
            "sonstiges",
            f"Schreiben Nummer {n}",
            source_name=f"brief-{n:02d}.pdf",
            receipt_date=local_today() - timedelta(days=days_ago + n),
        )


def _open_postkorb(runtime: Runtime, url: str, page: Page, letters: int) -> Locator:
    """`letters` letters for the caseworker, who logs in: the Postkorb's rows once shown."""
    _letters(runtime, letters)
    log_in(page, url, CASEWORKER)
    rows = page.locator("#inbox-rows tr")
    expect(rows).to_have_count(letters)
    return rows


def _new_letter(runtime: Runtime) -> None:
    file_indexed(
        runtime, HOUSEHOLD, "kontoauszug", "Kontoauszug Saldo", source_name="neu-routet.pdf"
    )


def test_open_postkorb_announces_a_new_item_and_the_focused_row_keeps_place_and_focus(
    runtime: Runtime, url: str, page: Page
) -> None:
    rows = _open_postkorb(runtime, url, page, 3)
    page.locator("body").press("j")
    on = rows.nth(1)
    chosen = on.get_attribute("data-id")
    on.get_by_role("button", name="Erledigt").focus()

    # Newest first: the new letter would go on top and push the row down. It is announced,
    # the counts follow, the list stays as it is until asked.
    _new_letter(runtime)
    notice = page.locator("#live-notice")
    expect(notice).to_have_text("1 neuer Eintrag – anzeigen")
    expect(page.locator("#scopes .tab.active")).to_contain_text("4 neu / 4")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_have_attribute("data-id", str(chosen))
    expect(rows.nth(1).get_by_role("button", name="Erledigt")).to_be_focused()
    expect(page.locator("#inbox-rows tr[aria-current='true']")).to_have_attribute(
        "data-id", str(chosen)
    )
    screenshot(page, "postkorb-live-hinweis.png")

    notice.get_by_role("button", name="anzeigen").click()
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("neu-routet.pdf")
    expect(rows.first).to_be_focused()
    expect(rows.first).to_have_attribute("aria-current", "true")
    expect(notice).to_have_text("")


def test_open_postkorb_shows_a_new_item_at_once_where_it_moves_no_row(
    runtime: Runtime, url: str, page: Page
) -> None:
    rows = _open_postkorb(runtime, url, page, 3)
    page.select_option("#filter-sort", "oldest")
    expect(page).to_have_url(re.compile("sort=oldest"))
    page.locator("body").press("j")
    chosen = rows.nth(1).get_attribute("data-id")
    rows.nth(1).get_by_role("button", name="Erledigt").focus()

    # Oldest first: the new letter goes below; the list is drawn anew, the row keeps focus.
    _new_letter(runtime)
    expect(rows).to_have_count(4)
    expect(rows.last).to_contain_text("neu-routet.pdf")
    expect(page.locator("#live-notice")).to_have_text("1 neuer Eintrag in der Liste.")
    expect(rows.nth(1)).to_have_attribute("data-id", str(chosen))
    expect(rows.nth(1).get_by_role("button", name="Erledigt")).to_be_focused()
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")


def _tab_is(page: Page, visibility: str) -> None:
    """The browser says the tab is in the background ("hidden") or in front ("visible")."""
    page.evaluate(
        """(visibility) => {
            Object.defineProperty(document, 'visibilityState', {
                configurable: true, get: () => visibility,
            });
            document.dispatchEvent(new Event('visibilitychange'));
        }""",
        visibility,
    )


def test_a_hidden_postkorb_asks_nothing_and_catches_up_when_shown(
    runtime: Runtime, url: str, page: Page
) -> None:
    _open_postkorb(runtime, url, page, 1)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/inbox/changes" in r.url else None)
    # The browser tab goes into the background (as the browser says it when another tab is
    # in front): nothing is asked while it is, however much changes.
    _tab_is(page, "hidden")
    asked.clear()
    _new_letter(runtime)
    page.wait_for_timeout(3_000)  # three of the test's one-second intervals
    assert asked == []
    expect(page.locator("#live-notice")).to_have_text("")

    _tab_is(page, "visible")
    expect(page.locator("#live-notice")).to_have_text("1 neuer Eintrag – anzeigen")
    assert asked


def test_an_item_the_desk_rejects_meanwhile_is_explained_in_place_and_keeps_focus(
    runtime: Runtime, url: str, page: Page
) -> None:
    rows = _open_postkorb(runtime, url, page, 2)
    rows.first.get_by_role("button", name="Erledigt").focus()
    letter = rows.nth(1).get_attribute("data-id")
    [item] = [
        i
        for i in client_for(runtime, CASEWORKER).get("/api/inbox").json()["items"]
        if str(i["id"]) == letter
    ]
    rejected = client_for(runtime, "post.1").post(
        f"/api/documents/{item['document']['id']}/qa",
        json={"decision": "reject", "note": "Seite 1 unscharf, bitte neu scannen"},
    )
    assert rejected.status_code == 200, rejected.text

    # The row stays where it is, says why, and the focus stays on the row the user is on.
    expect(rows.nth(1).locator(".badge.rejected")).to_have_text("zur Neuerfassung abgelehnt")
    expect(page.locator("#inbox-status")).to_contain_text("Seite 1 unscharf, bitte neu scannen")
    expect(rows).to_have_count(2)
    expect(rows.first.get_by_role("button", name="Erledigt")).to_be_focused()


def test_an_open_postkorb_says_when_its_session_has_ended_and_leads_back_after_login(
    runtime: Runtime, url: str, page: Page
) -> None:
    _open_postkorb(runtime, url, page, 1)
    page.select_option("#filter-state", "any")
    expect(page).to_have_url(re.compile("state=any"))
    # Logged out in another window (or ended by the idle timeout): the page says so.
    with transaction(runtime.sessions) as session:
        session.execute(delete(LoginSession))
    notice = page.locator("#live-notice")
    expect(notice).to_have_text("Bitte melden Sie sich an. – neu anmelden")
    notice.get_by_role("button", name="neu anmelden").click()
    expect(page).to_have_url(re.compile(r"/anmelden\?next="))
    page.get_by_label("Benutzername").fill(CASEWORKER)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(re.compile(r"/postkorb\?state=any"))
    expect(page.locator("#filter-state")).to_have_value("any")


def test_upload_into_the_e_akte_appears_in_its_list_without_reload(
    runtime: Runtime, url: str, page: Page
) -> None:
    _letters(runtime, 1)
    log_in(page, url, CASEWORKER)
    page.goto(f"{url}/akte/{HOUSEHOLD}")
    documents = page.locator("#documents li.document")
    expect(documents).to_have_count(1)

    form = page.locator("#upload-form")
    form.get_by_label("Art").select_option("bescheid")
    form.get_by_label("Datei").set_input_files(
        {
            "name": "Bescheid-Oktober.pdf",
            "mimeType": "application/pdf",
            "buffer": sample("docs/0001.pdf").read_bytes(),
        }
    )
    form.get_by_label("Versanddatum").fill((local_today() - timedelta(days=2)).isoformat())
    form.get_by_role("button", name="Hochladen").click()
    status = page.locator("#upload-status")
    expect(status).to_contain_text("angenommen")
    work_until_idle(runtime)

    expect(documents).to_have_count(2, timeout=15_000)
    expect(page.locator("#documents")).to_contain_text("Postausgang")
    expect(page.locator("#akte-live")).to_contain_text("Neu in der Akte: Bescheid")
    expect(status).to_have_text("Bescheid-Oktober.pdf: in der Akte abgelegt.")


def test_saved_view_survives_a_reload_and_opens_the_postkorb_as_saved(
    runtime: Runtime, url: str, page: Page
) -> None:
    _open_postkorb(runtime, url, page, 2)
    page.select_option("#filter-state", "any")
    page.select_option("#filter-sort", "oldest")
    expect(page).to_have_url(re.compile("sort=oldest"))

    toggle = page.get_by_role("button", name="Gespeicherte Ansichten")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    panel = page.locator("#views-panel")
    name = panel.get_by_label("Name der Ansicht")
    save = panel.get_by_role("button", name="Aktuelle Ansicht speichern")
    save.click()  # no name: said at the field
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(panel.locator(".field-error")).to_have_text("Bitte einen Namen für die Ansicht angeben.")
    name.fill("Alle, älteste zuerst")
    save.click()
    expect(panel.locator("#views-status")).to_have_text(
        "Ansicht »Alle, älteste zuerst« gespeichert."
    )
    link = panel.get_by_role("link", name="Alle, älteste zuerst")
    expect(link).to_have_attribute("aria-current", "page")
    name.fill("alle, Älteste zuerst")
    save.click()  # the same name again (in other letters): refused by the server, at the field
    expect(panel.locator(".field-error")).to_contain_text("gibt es schon")
    expect(name).to_have_value("alle, Älteste zuerst")

    page.goto(f"{url}/postkorb")
    expect(page.locator("#filter-state")).to_have_value("open")
    page.get_by_role("button", name="Gespeicherte Ansichten").click()
    expect(page.locator("#views-count")).to_have_text("1")
    page.get_by_role("link", name="Alle, älteste zuerst").click()
    expect(page).to_have_url(re.compile(r"state=any"))
    expect(page.locator("#filter-state")).to_have_value("any")
    expect(page.locator("#filter-sort")).to_have_value("oldest")
    expect(page.locator("#inbox-rows tr")).to_have_count(2)

    page.get_by_role("button", name="Gespeicherte Ansichten").click()
    page.get_by_role("button", name="Ansicht »Alle, älteste zuerst« löschen").click()
    expect(page.locator("#views-status")).to_have_text("Ansicht »Alle, älteste zuerst« gelöscht.")
    expect(page.locator("#views-list")).to_have_text("Noch keine gespeicherten Ansichten.")
    expect(page.get_by_label("Name der Ansicht")).to_be_focused()


def test_axe_finds_nothing_on_the_postkorb_with_the_notice_and_the_views_open(
    runtime: Runtime, url: str, page: Page
) -> None:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: scripts/setup.sh --dev installs it")
    page.set_viewport_size({"width": 1366, "height": 768})
    _open_postkorb(runtime, url, page, 2)
    page.get_by_role("button", name="Gespeicherte Ansichten").click()
    page.get_by_label("Name der Ansicht").fill("Alles")
    page.get_by_role("button", name="Aktuelle Ansicht speichern").click()
    expect(page.get_by_role("link", name="Alles")).to_be_visible()
    _new_letter(runtime)
    expect(page.locator("#live-notice")).to_have_text("1 neuer Eintrag – anzeigen")
    screenshot(page, "postkorb-live-ansichten.png")
    found = axe_violations(page, "/postkorb (notice, views)")
    assert not found, "axe-core found:\n" + "\n".join(found)
