"""The desk's take-over page (/uebernahme, web/takeover_pages.py): a 0401 whose persons match
no household waits in clearing with the persons shown, an unknown BG number is refused at its
field, the desk assigns it, the 0402 can be downloaded; other roles are refused. Once through
the pages with TestClient and once in a real browser (axe, 320 px)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from records.runtime import Runtime
from tests.support import NEIGHBOUR, OWN, load_people, pages_client_for
from tests.support_a11y import axe_violations, browser
from tests.support_browser import log_in
from tests.support_takeover18 import PersonRow, build_0401, persons_of, source_documents, zip_xml

__all__ = ["browser"]  # module-scoped fixture
PAGE = "/uebernahme"
DESK = "post.1"
STRANGER = [PersonRow("Fremdling", "Frieda", date(1980, 2, 29))]


def test_the_page_takes_over_and_assigns(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    client = pages_client_for(sqlite_runtime, DESK)
    assert "Noch keine Übernahmen" in client.get(PAGE).text
    good = build_0401(persons_of(sqlite_runtime, OWN), source_documents())
    sent = client.post(
        PAGE,
        files={"datei": (good.name, good.zip_bytes(), "application/zip")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    page = client.get(sent.headers["location"])
    assert f"in der Bedarfsgemeinschaft {OWN} abgelegt" in page.text
    link = re.search(r'href="(/uebernahme/\d+/0402)"', page.text)
    assert link is not None
    answer = client.get(link.group(1))
    assert answer.status_code == 200 and zip_xml(answer.content).getroot() is not None
    # refused: the problems in German, nothing stored
    broken = build_0401(STRANGER, source_documents())
    refused = client.post(
        PAGE,
        files={"datei": (broken.name, broken.zip_bytes({"../x.pdf": b"x"}), "application/zip")},
    )
    assert refused.status_code == 422 and "verweist mit" in refused.text
    assert refused.text.count('data-state="') == 1
    caseworker = pages_client_for(sqlite_runtime, "lsb.95401.2")
    assert caseworker.get(PAGE).status_code == 403


@pytest.fixture
def tab(browser: Browser, sqlite_runtime: Runtime, live_url: str) -> Iterator[Page]:
    context = browser.new_context(locale="de-DE", viewport={"width": 320, "height": 800})
    page = context.new_page()
    log_in(page, live_url, DESK)
    yield page
    context.close()


@pytest.mark.slow
def test_the_desk_takes_over_a_file_that_waits_in_clearing_and_assigns_it(
    tab: Page, live_url: str, tmp_path: Path
) -> None:
    page = tab
    zip_path = build_0401(STRANGER, source_documents()).write(tmp_path)
    page.goto(f"{live_url}{PAGE}")
    page.get_by_label(re.compile("Abgabe einer anderen Behörde")).set_input_files(str(zip_path))
    page.get_by_role("button", name="Abgabe übernehmen").click()
    expect(page.get_by_role("status")).to_contain_text("wartet auf die Zuordnung")
    section = page.get_by_role("region", name=re.compile("Zuordnen: Akte von"))
    expect(section.get_by_role("list", name="Genannte Personen")).to_contain_text(
        "Frieda Fremdling, geboren 29.02.1980"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert axe_violations(page, "Übernahme (Klärung)") == []
    field = page.get_by_label("BG-Nummer der Bedarfsgemeinschaft")
    field.fill("99999BG0000000")
    page.get_by_role("button", name="Akte zuordnen").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("ist nicht bekannt")
    assert axe_violations(page, "Übernahme (falsche BG-Nummer)") == []
    page.get_by_label("BG-Nummer der Bedarfsgemeinschaft").fill(NEIGHBOUR)
    page.get_by_role("button", name="Akte zuordnen").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Bedarfsgemeinschaft {NEIGHBOUR} zugeordnet"
    )
    expect(page.get_by_role("table", name=re.compile("Übernommene Akten"))).to_contain_text(
        NEIGHBOUR
    )
    expect(page.get_by_role("button", name="Akte zuordnen")).to_have_count(0)
