"""The E-Akte in a real browser (issue 15, akte15b; Debian's Chromium, Playwright): the lists
come from the server and are swapped in for a tab or filter; tab, filter, order and the row
survive a reload; a saved view opens them again; a change in the file is drawn without taking
the user's place; an answer for an older request never replaces the list of a newer one;
hostile strings are text; axe finds nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, Route, expect

from core.dates import local_today
from records.runtime import Runtime
from tests.support import client_for, file_indexed
from tests.support_a11y import AXE, axe_violations
from tests.support_browser import log_in, screenshot

pytestmark = pytest.mark.slow

CASEWORKER = "lsb.95401.3"  # Jan Braun, responsible for HOUSEHOLD
HOUSEHOLD = "95401BG5662133"
HOSTILE = "<img src=x onerror=alert(1)>"
ROWS = "#documents li.document"


@pytest.fixture
def runtime(polling_runtime: Runtime) -> Runtime:
    return polling_runtime


@pytest.fixture
def url(polling_url: str) -> str:
    return polling_url


def _letter(runtime: Runtime, doc_type: str, name: str, days_ago: int, **fields: object) -> str:
    return file_indexed(
        runtime,
        HOUSEHOLD,
        doc_type,
        f"Schreiben {name}",
        source_name=f"{name}.pdf",
        receipt_date=local_today() - timedelta(days=days_ago),
        **fields,
    )


def _file(runtime: Runtime) -> dict[str, str]:
    return {
        "lohn": _letter(runtime, "verdienstabrechnung", "lohn", 10),
        "konto": _letter(runtime, "kontoauszug", "konto", 5, sender=HOSTILE),
        "konto2": _letter(runtime, "kontoauszug", "konto-2", 3),
        "brief": _letter(runtime, "sonstiges", "brief", 1),
    }


def _ids(page: Page) -> list[str]:
    return [row.get_attribute("data-id") or "" for row in page.locator(ROWS).all()]


def test_tab_filter_and_row_survive_a_reload_and_a_saved_view_restores_them(
    runtime: Runtime, url: str, page: Page
) -> None:
    ids = _file(runtime)
    log_in(page, url, CASEWORKER)
    page.goto(f"{url}/akte/{HOUSEHOLD}")
    expect(page.locator("#documents details.group")).to_have_count(3)

    timeline = page.get_by_role("tab", name="Zeitstrahl")
    timeline.click()
    expect(timeline).to_have_attribute("aria-selected", "true")
    expect(page.locator("#documents details.group")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"tab=timeline"))
    page.locator("#filter-type").select_option(label="Kontoauszug")
    expect(page.locator(ROWS)).to_have_count(2)
    page.locator("#filter-sort").select_option(label="älteste zuerst")
    expect(page).to_have_url(re.compile(r"sort=oldest"))
    expect(page.locator(ROWS).first).to_have_attribute("data-id", ids["konto"])
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    page.keyboard.press("j")
    current = page.locator(f"{ROWS}[aria-current='true']")
    expect(current).to_have_attribute("data-id", ids["konto2"])
    expect(page).to_have_url(re.compile(f"doc={ids['konto2']}"))

    page.reload()
    expect(page.get_by_role("tab", name="Zeitstrahl")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#filter-type")).to_have_value("kontoauszug")
    expect(page.locator("#filter-sort")).to_have_value("oldest")
    assert _ids(page) == [ids["konto"], ids["konto2"]]
    expect(current).to_have_attribute("data-id", ids["konto2"])
    # The shortcuts go on from the row kept.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("k")
    expect(current).to_have_attribute("data-id", ids["konto"])
    # To the document page and Back: the same list, the same row.
    current.get_by_role("link", name="Dokumentseite").click()
    expect(page).to_have_url(re.compile(f"/dokument/{ids['konto']}"))
    page.go_back()
    expect(page).to_have_url(re.compile(f"doc={ids['konto']}"))
    expect(page.get_by_role("tab", name="Zeitstrahl")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#filter-type")).to_have_value("kontoauszug")
    expect(current).to_have_attribute("data-id", ids["konto"])

    # Saved under a name, opened later from the plain file.
    toggle = page.get_by_role("button", name="Gespeicherte Ansichten")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    panel = page.locator("#views-panel")
    save = panel.get_by_role("button", name="Aktuelle Ansicht speichern")
    save.click()  # no name: the server's words at the field
    expect(panel.locator(".field-error")).to_have_text("Bitte einen Namen für die Ansicht angeben.")
    panel.get_by_label("Name der Ansicht").fill("Kontoauszüge alt zuerst")
    save.click()
    expect(panel.locator("#views-status")).to_have_text(
        "Ansicht »Kontoauszüge alt zuerst« gespeichert."
    )
    expect(panel.get_by_role("link", name="Kontoauszüge alt zuerst")).to_have_attribute(
        "aria-current", "page"
    )

    page.goto(f"{url}/akte/{HOUSEHOLD}")
    expect(page.locator(ROWS)).to_have_count(4)
    expect(page.locator("#views-count")).to_have_text("1")
    page.get_by_role("button", name="Gespeicherte Ansichten").click()
    page.get_by_role("link", name="Kontoauszüge alt zuerst").click()
    expect(page).to_have_url(re.compile(r"tab=timeline"))
    expect(page.get_by_role("tab", name="Zeitstrahl")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#filter-type")).to_have_value("kontoauszug")
    expect(page.locator("#filter-sort")).to_have_value("oldest")
    assert _ids(page) == [ids["konto"], ids["konto2"]]

    page.get_by_role("button", name="Gespeicherte Ansichten").click()
    page.get_by_role("button", name="Ansicht »Kontoauszüge alt zuerst« löschen").click()
    said = page.locator("#views-status")
    expect(said).to_have_text("Ansicht »Kontoauszüge alt zuerst« gelöscht.")
    expect(page.locator("#views-list")).to_have_text("Noch keine gespeicherten Ansichten.")
    expect(page.get_by_label("Name der Ansicht")).to_be_focused()


def test_a_slow_answer_for_an_older_tab_never_replaces_the_newer_list(
    runtime: Runtime, url: str, page: Page
) -> None:
    ids = _file(runtime)
    log_in(page, url, CASEWORKER)
    page.goto(f"{url}/akte/{HOUSEHOLD}")
    expect(page.locator("#documents details.group")).to_have_count(3)
    held: list[Route] = []

    def hold(route: Route) -> None:
        if "tab=timeline" in route.request.url:
            held.append(route)  # answered only after the newer request
        else:
            route.continue_()

    page.route(re.compile(r"/akte/[^/]+/liste"), hold)
    page.get_by_role("tab", name="Zeitstrahl").click()
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the request for the timeline was not made"
    page.get_by_role("tab", name="Nach Dokumentart").click()
    expect(page).to_have_url(re.compile(r"tab=by_type"))
    expect(page.locator("#documents details.group")).to_have_count(3)
    held[0].continue_()
    page.wait_for_timeout(1000)  # the old answer has arrived by now; it must change nothing
    expect(page.locator("#documents details.group")).to_have_count(3)
    expect(page.get_by_role("tab", name="Nach Dokumentart")).to_have_attribute(
        "aria-selected", "true"
    )
    page.unroute(re.compile(r"/akte/[^/]+/liste"))

    # Moving the row while the answer for a new order is on its way: the answer is still shown.
    late: list[Route] = []

    def hold_all(route: Route) -> None:
        late.append(route)

    page.route(re.compile(r"/akte/[^/]+/liste"), hold_all)
    expect(page.locator(ROWS).first).to_have_attribute("data-id", ids["konto2"])
    page.locator("#filter-sort").select_option(label="älteste zuerst")
    for _ in range(100):
        if late:
            break
        page.wait_for_timeout(100)
    assert late, "the request for the new order was not made"
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(r"doc="))
    selected = page.locator(f"{ROWS}[aria-current='true']").get_attribute("data-id")
    late[0].continue_()
    # By type, oldest first: the older bank statement heads the first group (Kontoauszug).
    expect(page.locator(ROWS).first).to_have_attribute("data-id", ids["konto"])
    marked = page.locator(f"{ROWS}[aria-current='true']")
    expect(marked).to_have_attribute("data-id", selected or "")
    page.unroute(re.compile(r"/akte/[^/]+/liste"))


def test_a_change_in_the_file_keeps_the_users_place_and_hostile_strings_are_text(
    runtime: Runtime, url: str, page: Page
) -> None:
    ids = _file(runtime)
    client = client_for(runtime, CASEWORKER)
    assert client.post(f"/api/households/{HOUSEHOLD}/notes", json={"text": HOSTILE}).is_success
    log_in(page, url, CASEWORKER)
    page.goto(f"{url}/akte/{HOUSEHOLD}?tab=timeline")
    expect(page.locator(ROWS)).to_have_count(4)
    # Hostile strings as text: no image was made of them.
    expect(page.locator("#notes")).to_contain_text(HOSTILE)
    expect(page.locator("#documents")).to_contain_text(HOSTILE)
    assert page.locator("#notes img, #documents img").count() == 0

    # On the second row; an older letter arrives at the end: drawn at once, focus kept.
    second = page.locator(f"{ROWS}[data-id='{ids['konto2']}']")
    second.get_by_role("button", name="Angaben").focus()
    _letter(runtime, "sonstiges", "alt", 30)
    expect(page.locator(ROWS)).to_have_count(5, timeout=15_000)
    expect(page.locator("#akte-live")).to_contain_text("Neu in der Akte: Sonstiger Schriftverkehr")
    assert (
        page.evaluate("document.activeElement.closest('li.document').dataset.id") == ids["konto2"]
    )
    assert page.evaluate("document.activeElement.textContent") == "Angaben"

    # A letter of today would move the row: a quiet notice, the list unchanged until asked.
    newest = _letter(runtime, "bescheid", "heute", 0)
    notice = page.locator("#akte-live")
    expect(notice.get_by_role("button", name="anzeigen")).to_be_visible(timeout=15_000)
    expect(page.locator(ROWS)).to_have_count(5)
    assert page.evaluate("document.activeElement.textContent") == "Angaben"
    notice.get_by_role("button", name="anzeigen").click()
    expect(page.locator(ROWS)).to_have_count(6)
    expect(page.locator(f"{ROWS}[aria-current='true']")).to_have_attribute("data-id", newest)
    assert page.evaluate("document.activeElement.dataset.id") == newest

    # A note saved from the page: the list redrawn, the field empty again.
    page.get_by_label("Neuer Vermerk zur Akte").fill("Rückruf am Montag")
    page.get_by_role("button", name="Vermerk speichern").click()
    expect(page.locator("#notes li").first).to_contain_text("Rückruf am Montag")
    expect(page.get_by_label("Neuer Vermerk zur Akte")).to_have_value("")
    # An empty one: the server's words at the field.
    page.get_by_role("button", name="Vermerk speichern").click()
    expect(page.locator("#note-form .field-error")).to_have_text("Der Vermerk ist leer.")


def test_axe_finds_no_violation_on_the_e_akte_with_views_and_a_notice(
    runtime: Runtime, url: str, page: Page
) -> None:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: scripts/setup.sh --dev installs it")
    _file(runtime)
    log_in(page, url, CASEWORKER)
    page.goto(f"{url}/akte/{HOUSEHOLD}?tab=timeline&doc_type=kontoauszug")
    expect(page.locator(ROWS)).to_have_count(2)
    page.get_by_role("button", name="Gespeicherte Ansichten").click()
    page.get_by_label("Name der Ansicht").fill("Konto")
    page.get_by_role("button", name="Aktuelle Ansicht speichern").click()
    expect(page.locator("#views-status")).to_contain_text("gespeichert")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    _letter(runtime, "kontoauszug", "neu", 0)
    expect(page.locator("#akte-live")).to_contain_text("Neu in der Akte", timeout=15_000)
    found = axe_violations(page, "/akte with views, a notice and a selected row")
    screenshot(page, "akte15b-akte.png", full_page=True)
    assert not found, "axe-core found:\n" + "\n".join(found)
