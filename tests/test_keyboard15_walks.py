"""Keyboard-only walks through a day's work (issue 15, BITV 2.0 / WCAG 2.1.1, 2.4.3): the
Postkorb (open, forward, done, reopen, open the file), the scanning desk (upload, quality
check, clearing) and the objections office (register, status, export). After the page has
loaded only keys are pressed: Tab, Shift+Tab, Enter, Space, letters typed into the field that
has focus. Each step says where the focus is (by accessible name) and what the user sees.

The focus order these walks follow is the one the help (web/templates/help.html) describes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import file_indexed, sample, work_until_idle
from tests.support_a11y import CASEWORKER, DESK, HOUSEHOLD, OFFICE, Site, browser, site
from tests.support_keyboard15 import (
    focus_kept,
    focus_within,
    focused,
    keyboard_page,
    tab_to,
)

pytestmark = pytest.mark.slow
__all__ = ["browser", "site"]  # module-scoped fixtures

ROWS = "#inbox-rows"


@pytest.fixture
def pages(browser: Browser) -> Iterator[list[Page]]:
    """The pages a test opens; their contexts are closed after it."""
    opened: list[Page] = []
    yield opened
    for page in opened:
        page.context.close()


def _open(pages: list[Page], browser: Browser, site: Site, login: str) -> Page:
    page = keyboard_page(browser, site.url, login)
    pages.append(page)
    return page


def test_postkorb_by_keyboard_open_forward_done_reopen_and_open_the_file(
    browser: Browser, site: Site, pages: list[Page]
) -> None:
    for number in range(3):
        file_indexed(
            site.runtime,
            HOUSEHOLD,
            "sonstiges",
            f"Schreiben Nummer {number}",
            source_name=f"tastatur-{number}.pdf",
        )
    page = _open(pages, browser, site, CASEWORKER)
    expect(page).to_have_url(f"{site.url}/postkorb")
    rows = page.locator(f"{ROWS} tr")
    expect(rows).to_have_count(4)

    # The skip link leads past the menu into the page.
    tab_to(page, "Zum Inhalt springen", role="link")
    page.keyboard.press("Enter")
    assert focus_within(page, "main")

    # Open: "Anzeigen" of the first row shows the letter in the viewer window.
    tab_to(page, "Anzeigen", within=ROWS)
    with page.context.expect_page() as opened:
        page.keyboard.press("Enter")
    viewer = opened.value
    expect(viewer.locator("#page-indicator")).to_contain_text("Seite 1 von")
    page.bring_to_front()
    assert focused(page) == ("button", "Anzeigen")
    expect(rows.first).to_have_attribute("aria-current", "true")

    # Forward: mark the row with Space, then "Weiterleiten …" of the marked entries.
    first = rows.first.get_attribute("data-id")
    tab_to(page, re.compile(r".* markieren"), role="checkbox", within=ROWS, back=True)
    page.keyboard.press("Space")
    expect(page.locator("#selected-count")).to_have_text("1 markiert")
    tab_to(page, "Weiterleiten …", back=True)
    page.keyboard.press("Enter")
    dialog = page.locator("#forward-dialog")
    expect(dialog).to_be_visible()
    assert focused(page) == ("combobox", "An Person")
    page.keyboard.type("Laura")
    expect(dialog.get_by_label("An Person")).to_have_value("lsb.95401.2")
    tab_to(page, "Kommentar")
    page.keyboard.type("Bitte übernehmen")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#inbox-status")).to_contain_text("1 Einträge bearbeitet")
    expect(rows).to_have_count(3)
    expect(page.locator(f"{ROWS} tr[data-id='{first}']")).to_have_count(0)
    # Back where the dialog was opened from.
    assert focused(page) == ("button", "Weiterleiten …")

    # Done: "Erledigt" of a row; the focus goes on to "Erledigt" of the next one.
    tab_to(page, "Erledigt", within=ROWS)
    done = page.evaluate("document.activeElement.closest('tr').dataset.id")
    page.keyboard.press("Enter")
    expect(page.locator("#inbox-status")).to_contain_text("erledigt")
    expect(rows).to_have_count(2)
    expect(page.locator(f"{ROWS} tr[data-id='{done}']")).to_have_count(0)
    assert focused(page) == ("button", "Erledigt"), focused(page)
    assert focus_within(page, ROWS)

    # Reopen: the status filter chosen by typing, then "Wieder öffnen" of the done entry.
    tab_to(page, "Status", role="combobox", back=True)
    page.keyboard.type("erl")
    expect(page.locator("#filter-state")).to_have_value("done")
    expect(rows).to_have_count(1)
    tab_to(page, "Wieder öffnen", within=ROWS)
    page.keyboard.press("Enter")
    expect(page.locator("#inbox-status")).to_contain_text("wieder geöffnet")
    expect(rows).to_have_count(0)
    focus_kept(page, "reopening")
    tab_to(page, "Status", role="combobox", back=True)
    page.keyboard.type("off")
    expect(page.locator("#filter-state")).to_have_value("open")
    expect(rows).to_have_count(3)
    expect(page.locator(f"{ROWS} tr[data-id='{done}']")).to_have_count(1)

    # Open the file: the household's link of a row, Enter.
    tab_to(page, HOUSEHOLD, role="link", within=ROWS)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{site.url}/akte/{HOUSEHOLD}")
    expect(page.locator("#documents li.document").first).to_be_visible()
    # A note on the file, typed and saved from the keyboard.
    tab_to(page, "Neuer Vermerk zur Akte")
    page.keyboard.type("Rückruf am Montag")
    tab_to(page, "Vermerk speichern")
    page.keyboard.press("Enter")
    expect(page.locator("#notes")).to_contain_text("Rückruf am Montag")


def test_scanning_desk_by_keyboard_upload_quality_check_and_clearing(
    browser: Browser, site: Site, pages: list[Page]
) -> None:
    page = _open(pages, browser, site, DESK)
    # File choosers are caught from now on (catching them only at the key press is a race).
    page.on("filechooser", lambda _: None)
    page.goto(f"{site.url}/scanstelle")

    # Upload: the drop zone opens the file chooser on Enter.
    tab_to(page, re.compile(r"Scans hierher ziehen.*"), role="group")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(str(sample("docs/0002.pdf")))
    expect(page.locator("#uploads")).to_contain_text("0002.pdf: angenommen", timeout=20_000)
    work_until_idle(site.runtime)
    # The quality check lists the letter once it is read (the list refreshes by itself).
    entry = page.locator("#qa-list .qa-entry", has_text="0002.pdf")
    expect(entry.get_by_role("button", name="Freigeben")).to_be_visible(timeout=20_000)
    row = f"#qa-{entry.get_attribute('data-id')}"
    sheets = int(entry.locator("dt:text-is('Seiten im Scan') + dd").inner_text())

    # Quality check: the pages counted on paper, then "Freigeben"; the focus stays in the list.
    tab_to(page, "Seiten auf Papier", within=row)
    page.keyboard.type(str(sheets))
    tab_to(page, "Freigeben", within=row)
    page.keyboard.press("Enter")
    expect(page.locator("#qa-results")).to_contain_text("0002.pdf", timeout=20_000)
    expect(page.locator("#qa-results")).to_contain_text("freigegeben")
    focus_kept(page, "approving")
    assert focus_within(page, "main")

    # Clearing: to the page through the menu, a household searched and taken over, filed.
    tab_to(page, "Klärung", role="link", back=True)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{site.url}/klaerung")
    items = page.locator("#clearing-items article")
    expect(items.first).to_be_visible()
    before = items.count()
    tab_to(page, "Haushalt suchen")
    page.keyboard.type("Wolf")
    page.keyboard.press("Enter")
    expect(items.first.locator(".candidates li").first).to_contain_text("Wolf")
    tab_to(page, "Übernehmen", role="button")
    page.keyboard.press("Enter")
    assert focused(page) == ("textbox", "BG-Nummer")
    chosen = items.first.get_by_label("BG-Nummer").input_value()
    assert re.fullmatch(r"\d{5}BG\d{7}", chosen), chosen
    tab_to(page, "Zuordnen", role="button")
    page.keyboard.press("Enter")
    expect(page.locator("#clearing-status")).to_contain_text(f"zugeordnet zu {chosen}")
    expect(items).to_have_count(before - 1)
    # The filed item is gone; the focus is on the page, not lost.
    focus_kept(page, "filing")
    assert focus_within(page, "main")


def test_objections_office_by_keyboard_register_status_and_export(
    browser: Browser, site: Site, pages: list[Page]
) -> None:
    file_indexed(
        site.runtime,
        HOUSEHOLD,
        "widerspruch",
        "Hiermit lege ich Widerspruch ein.",
        target="team:Widerspruchsstelle",
        source_name="widerspruch-tastatur.pdf",
    )
    page = _open(pages, browser, site, OFFICE)
    page.goto(f"{site.url}/postkorb")
    expect(page.locator("#scopes .tab").first).to_be_visible()

    # Register: the team's Postkorb, the letter's "Widerspruch erfassen", the dialog.
    tab_to(page, re.compile(r"Team.*"), role="button")
    page.keyboard.press("Enter")
    letter = page.locator(f"{ROWS} tr", has_text="widerspruch-tastatur.pdf")
    expect(letter).to_have_count(1)
    assert focused(page)[1].startswith("Team"), focused(page)
    row = f"{ROWS} tr[data-id='{letter.get_attribute('data-id')}']"
    tab_to(page, "Widerspruch erfassen", within=row)
    page.keyboard.press("Enter")
    dialog = page.locator("#legal-dialog")
    expect(dialog).to_be_visible()
    assert focused(page) == ("radio", "Widerspruch")
    # The decision proposed may be contested already (an objection of another test): the
    # browser's own confirmation warns, and Enter on it (accept) registers all the same.
    warned: list[str] = []
    page.once("dialog", lambda d: (warned.append(d.message), d.accept()))
    tab_to(page, "Erfassen", role="button")
    page.keyboard.press("Enter")
    heading = dialog.get_by_role("heading", name=re.compile(r"Widerspruch Nr\. \d+ erfasst"))
    expect(heading).to_be_visible()
    number = re.findall(r"\d+", heading.inner_text())[0]
    assert all("bereits ein Widerspruch erfasst" in message for message in warned), warned
    # The result replaced the form: the focus is on its link, still in the dialog.
    assert focused(page) == ("link", "Zum Widerspruch (Fristberechnung Schritt für Schritt)")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{site.url}/widersprueche/{number}")
    expect(page.locator("#status-now")).to_contain_text("eingegangen")

    # Status: chosen by typing in the list, set with the button.
    tab_to(page, "Neuer Status", role="combobox")
    page.keyboard.type("in b")
    expect(page.locator("#status-form select")).to_have_value("in_bearbeitung")
    tab_to(page, "Status setzen", role="button")
    page.keyboard.press("Enter")
    expect(page.locator("#case-status")).to_have_text("Status gesetzt: in Bearbeitung.")
    expect(page.locator("#status-now")).to_contain_text("in Bearbeitung")
    assert focused(page) == ("button", "Status setzen")

    # Export: the extract of the case's documents, made and downloaded from the keyboard.
    tab_to(page, "Aktenauszug erstellen", role="link", back=True)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/akte/{HOUSEHOLD}/aktenauszug\?widerspruch={number}"))
    expect(page.locator("#export-documents tr").first).to_be_visible()
    tab_to(page, "Empfänger")
    page.keyboard.type("Sozialgericht Schleswig, Az. S 12 AS 345/26")
    tab_to(page, "Rechtsgrundlage", role="combobox")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Rechtsgrundlage")).not_to_have_value("")
    # Only the scanned pay slip (the letters of this test site have no PDF of their own).
    tab_to(page, "Keine", role="button")
    page.keyboard.press("Enter")
    tab_to(page, "Lohn-/Verdienstabrechnung aufnehmen", role="checkbox")
    page.keyboard.press("Space")
    expect(page.locator("#selection-count")).to_contain_text("1 von")
    tab_to(page, "Aktenauszug erstellen", role="button")
    page.keyboard.press("Enter")
    expect(page.locator("#export-result")).to_contain_text("PDF herunterladen", timeout=60_000)
    # The button was disabled while the extract was made; the focus is back on it.
    expect(page.get_by_role("button", name="Aktenauszug erstellen")).to_be_focused()
    tab_to(page, "PDF herunterladen", role="link", back=True)
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename.endswith(".pdf")


def test_file_details_saved_by_keyboard_return_the_focus_to_their_document(
    browser: Browser, site: Site, pages: list[Page]
) -> None:
    """The list of the file is drawn anew after saving; the focus goes back to "Angaben" of
    the same document, not to the top of the page."""
    page = _open(pages, browser, site, CASEWORKER)
    page.goto(f"{site.url}/akte/{HOUSEHOLD}")
    pay_slip = page.locator("#documents li.document", has_text="Verdienstabrechnung").first
    expect(pay_slip).to_be_visible()
    item = f"#documents li.document[data-id='{pay_slip.get_attribute('data-id')}']"
    tab_to(page, "Angaben", within=item)
    page.keyboard.press("Enter")
    dialog = page.locator("#details-dialog")
    expect(dialog).to_be_visible()
    tab_to(page, "Absender")
    page.keyboard.press("Control+A")
    page.keyboard.type("Fischerei Husum GmbH")
    tab_to(page, "Speichern", role="button")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#akte-status")).to_have_text("Angaben gespeichert.")
    expect(page.locator(item)).to_contain_text("Fischerei Husum GmbH")
    assert focused(page) == ("button", "Angaben")
    assert focus_within(page, item)
