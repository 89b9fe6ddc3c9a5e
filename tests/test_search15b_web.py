"""The search page in a browser (issue 15): the plain GET form without JavaScript, the state in
the address (reload), a hostile letter shown as text, an older answer never replacing a newer
one, saved searches, and axe-core finding nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from records.runtime import Runtime
from tests.support import OWN, PASSWORD, file_indexed, file_search_letters
from tests.support_a11y import axe_violations, browser
from tests.support_browser import log_in, screenshot

pytestmark = pytest.mark.slow
__all__ = ["browser"]  # module-scoped fixture

CASEWORKER = "lsb.95401.2"
HOSTILE = "<img src=x onerror=alert(1)> <mark>Fake</mark>"


@pytest.fixture
def letters(sqlite_runtime: Runtime, live_url: str) -> dict[str, str]:
    return file_search_letters(sqlite_runtime, target="caseworker")


def _tab(browser: Browser, base: str, *, script: bool = True) -> Iterator[Page]:
    context = browser.new_context(
        locale="de-DE", viewport={"width": 1366, "height": 768}, java_script_enabled=script
    )
    page = context.new_page()
    if script:
        log_in(page, base, CASEWORKER)
    else:  # the login page needs its script: the session cookie through the API
        answer = page.request.post(
            f"{base}/api/auth/login", data={"login": CASEWORKER, "password": PASSWORD}
        )
        assert answer.ok, answer.text()
    yield page
    context.close()


@pytest.fixture
def tab(browser: Browser, live_url: str) -> Iterator[Page]:
    yield from _tab(browser, live_url)


@pytest.fixture
def scriptless(browser: Browser, live_url: str) -> Iterator[Page]:
    yield from _tab(browser, live_url, script=False)


def _summary(page: Page) -> Locator:
    return page.locator("#results .summary")


def _open_with_team(page: Page, base: str, team: str) -> None:
    """The empty search page, the team chosen in its list."""
    page.goto(f"{base}/suche")
    page.get_by_role("combobox", name="Team").select_option(team)


def _saved_searches(page: Page) -> None:
    """Opens the panel "Gespeicherte Suchen" (a disclosure), unless it is open already."""
    panel = page.locator("details#views-panel")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    expect(panel).to_have_attribute("open", "")
    expect(page.get_by_role("textbox", name="Name der Suche")).to_be_visible()


def _ask(page: Page, words: str) -> None:
    """Types the words into the page's search field and sends them with Enter."""
    query = page.get_by_role("textbox", name="Suche in den Akten")
    query.fill(words)
    query.press("Enter")


def test_the_plain_form_works_without_javascript(
    letters: dict[str, str], scriptless: Page, live_url: str
) -> None:
    page = scriptless
    _open_with_team(page, live_url, "Leistung Husum")
    page.get_by_role("textbox", name="Suche in den Akten").fill("Müller")
    page.get_by_role("button", name="Suchen", exact=True).click()
    expect(page).to_have_url(re.compile(r"/suche\?q=M%C3%BCller&.*team=Leistung\+Husum"))
    expect(_summary(page)).to_have_text("5 Treffer")  # OWN's four and its neighbour's one
    expect(page.locator("#results .hit mark").first).to_be_visible()
    # A facet narrows, its chip lifts it again: links, no script needed.
    page.get_by_role("complementary", name="Treffer eingrenzen").get_by_role(
        "link", name="Widerspruch", exact=True
    ).click()
    expect(_summary(page)).to_have_text("1 Treffer")
    expect(page.get_by_role("combobox", name="Dokumentart")).to_have_value("widerspruch")
    page.get_by_role("link", name="Widerspruch ✕").click()
    expect(_summary(page)).to_have_text("5 Treffer")
    expect(page.get_by_role("combobox", name="Team")).to_have_value("Leistung Husum")
    screenshot(page, "suche-ohne-javascript.png", full_page=True)


def test_reload_and_back_keep_the_query_and_the_filters(
    letters: dict[str, str], tab: Page, live_url: str
) -> None:
    page = tab
    page.goto(f"{live_url}/suche")
    page.get_by_role("combobox", name="Stand").select_option(label="offen im Postkorb")
    page.get_by_role("combobox", name="Dokumentart").select_option(
        label="Neben-/Betriebskostenabrechnung"
    )
    _ask(page, "Müller")
    expect(_summary(page)).to_have_text("3 Treffer")
    expect(page).to_have_url(re.compile(r"doc_type=nebenkostenabrechnung&status=routed"))
    expect(page.locator("#results .active-filters")).to_contain_text("offen im Postkorb ✕")

    page.reload()
    expect(page.get_by_role("textbox", name="Suche in den Akten")).to_have_value("Müller")
    expect(page.get_by_role("combobox", name="Stand")).to_have_value("routed")
    expect(page.get_by_role("combobox", name="Dokumentart")).to_have_value("nebenkostenabrechnung")
    expect(_summary(page)).to_have_text("3 Treffer")

    # Off to a hit's household and back: the same search on screen.
    page.locator("#results .hit").first.get_by_role("link", name=f"BG {OWN}").click()
    expect(page).to_have_url(f"{live_url}/akte/{OWN}")
    page.go_back()
    expect(page.get_by_role("combobox", name="Stand")).to_have_value("routed")
    expect(_summary(page)).to_have_text("3 Treffer")


def test_a_hostile_letter_is_shown_as_text_and_its_hit_marked(
    sqlite_runtime: Runtime, live_url: str, tab: Page
) -> None:
    file_indexed(sqlite_runtime, OWN, "sonstiges", f"Schimmelbefall im Bad {HOSTILE} bitte")
    page = tab
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    for how in ("address", "script"):
        if how == "address":  # rendered with the page
            page.goto(f"{live_url}/suche?q=Schimmelbefall")
        else:  # fetched by search.js and swapped in
            page.goto(f"{live_url}/suche")
            _ask(page, "Schimmelbefall")
        snippet = page.locator("#results .hit .snippet")
        expect(snippet).to_have_count(1)
        expect(snippet).to_contain_text(HOSTILE)
        expect(snippet.locator("mark")).to_have_text(["Schimmelbefall"])
        expect(page.locator("#results img")).to_have_count(0)
    assert alerts == []


def test_an_older_answer_never_replaces_a_newer_one(
    letters: dict[str, str], tab: Page, live_url: str
) -> None:
    page = tab
    page.goto(f"{live_url}/suche")
    held: list[Route] = []

    def hold_first(route: Route) -> None:
        if "Widerspruch" in route.request.url and not held:
            held.append(route)  # answered only later, after the newer search's answer
        else:
            route.continue_()

    page.route(re.compile(r"/suche/treffer\?"), hold_first)
    _ask(page, "Widerspruch")
    for _ in range(200):  # the request reaches the route while the browser is waited on
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    _ask(page, "Verdienstabrechnung")
    expect(_summary(page)).to_have_text("1 Treffer")
    expect(page.locator("#results .hit")).to_contain_text("Verdienstabrechnung")
    held[0].continue_()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#results .hit")).to_contain_text("Verdienstabrechnung")
    expect(page).to_have_url(re.compile(r"q=Verdienstabrechnung"))


def test_a_saved_search_is_saved_opened_and_deleted(
    letters: dict[str, str], tab: Page, live_url: str
) -> None:
    page = tab
    _open_with_team(page, live_url, "Leistung Husum")
    _ask(page, "Nebenkosten")  # through the script: the address and the saved query follow
    expect(_summary(page)).to_have_text(re.compile(r"\d+ Treffer"))
    _saved_searches(page)
    page.get_by_role("textbox", name="Name der Suche").fill("Nebenkosten Husum")
    page.get_by_role("button", name="Aktuelle Suche speichern").click()
    expect(page.get_by_role("status").filter(has_text="Suche gespeichert.")).to_be_visible()
    saved = page.get_by_role("link", name="Nebenkosten Husum")
    expect(saved).to_have_attribute("aria-current", "page")

    page.goto(f"{live_url}/suche")
    _saved_searches(page)
    page.get_by_role("link", name="Nebenkosten Husum").click()
    expect(page.get_by_role("textbox", name="Suche in den Akten")).to_have_value("Nebenkosten")
    expect(page.get_by_role("combobox", name="Team")).to_have_value("Leistung Husum")
    expect(_summary(page)).to_have_text(re.compile(r"\d+ Treffer"))
    _saved_searches(page)
    expect(page.get_by_role("link", name="Nebenkosten Husum")).to_have_attribute(
        "aria-current", "page"
    )
    # Another search through the script: the saved one is no longer the one shown.
    _ask(page, "Müller")
    expect(page).to_have_url(re.compile(r"q=M%C3%BCller"))
    expect(page.get_by_role("link", name="Nebenkosten Husum")).not_to_have_attribute(
        "aria-current", "page"
    )
    # Deleting leads back to the search on screen.
    page.get_by_role("button", name="Suche »Nebenkosten Husum« löschen").click()
    expect(page.get_by_role("status").filter(has_text="gelöscht")).to_be_visible()
    expect(page.get_by_role("textbox", name="Suche in den Akten")).to_have_value("Müller")
    expect(page.get_by_role("link", name="Nebenkosten Husum")).to_have_count(0)


def test_axe_finds_no_violation_on_the_search_page(
    letters: dict[str, str], tab: Page, live_url: str
) -> None:
    page = tab
    page.goto(f"{live_url}/suche?q=M%C3%BCller&status=routed")
    _saved_searches(page)
    page.get_by_role("textbox", name="Name der Suche").fill("Müller offen")
    page.get_by_role("button", name="Aktuelle Suche speichern").click()
    expect(page.get_by_role("link", name="Müller offen")).to_be_visible()
    page.get_by_role("textbox", name="Name der Suche").fill("Müller offen")
    page.get_by_role("button", name="Aktuelle Suche speichern").click()  # refused: the name
    expect(page.get_by_role("alert")).to_contain_text("gibt es schon")
    assert axe_violations(page, "/suche") == []
    # A swapped-in answer with facets chosen, too.
    page.get_by_role("complementary", name="Treffer eingrenzen").get_by_role(
        "link", name="2026"
    ).click()
    expect(page).to_have_url(re.compile(r"from=2026-01-01"))
    expect(page.get_by_role("link", name="ab 01.01.2026 ✕")).to_be_visible()
    assert axe_violations(page, "/suche after a facet") == []
    screenshot(page, "suche-gespeichert.png", full_page=True)


def test_the_files_search_box_narrows_by_facet_in_place(
    letters: dict[str, str], tab: Page, live_url: str
) -> None:
    """The E-Akte's box fetches the same results part, its household fixed: a facet link loads
    in place, and the household's facet and filter are not offered."""
    page = tab
    page.goto(f"{live_url}/akte/{OWN}")
    box = page.get_by_role("textbox", name="In dieser Akte suchen")
    box.fill("Müller")
    box.press("Enter")
    results = page.locator("#akte-results")
    expect(results.locator(".summary")).to_have_text("4 Treffer")
    facets = page.locator("#akte-facets")
    expect(facets).to_be_visible()
    expect(facets.locator("[data-facet-group=household]")).to_have_count(0)
    facets.get_by_role("link", name="Widerspruch", exact=True).click()
    expect(results.locator(".summary")).to_have_text("1 Treffer")
    expect(page).to_have_url(f"{live_url}/akte/{OWN}")
    expect(results.get_by_role("link", name=re.compile(r"^BG "))).to_have_count(1)  # the hit's
    expect(results.locator(".active-filters")).not_to_contain_text("BG")
    # The focus stays on the facet's link, now chosen.
    expect(facets.get_by_role("link", name="Widerspruch", exact=True)).to_be_focused()
