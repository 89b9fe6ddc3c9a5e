"""The Aussonderung page (/schriftgut/aussonderung, web/disposal_pages.py): the records manager
starts a run, downloads the 0501, uploads the archive's 0502 (a hostile file name is shown as
text with the German problems), writes the 0503; other roles are refused. Once through the
product's pages with TestClient and once in a real browser."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from core.db import transaction
from records.models import User
from records.runtime import Runtime
from tests.support import NEIGHBOUR, OWN, _password_hash, load_people, pages_client_for
from tests.support_a11y import axe_violations, browser
from tests.support_browser import log_in
from tests.support_xdomea17 import archive_message, assert_valid, prepare_files, zip_of

__all__ = ["browser"]  # module-scoped fixture
PAGE = "/schriftgut/aussonderung"
HOSTILE = "<img src=x onerror=alert(1)>.zip"


def add_records_manager(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        session.add(
            User(
                login="schriftgut",
                name="Schriftgutverwaltung",
                role="schriftgut",
                password_hash=_password_hash(),
            )
        )


def ids_of(zip_bytes: bytes, name: str) -> dict[str, str]:
    xml = zipfile.ZipFile(io.BytesIO(zip_bytes)).read(name.removesuffix(".zip") + ".xml").decode()
    pairs = re.findall(
        r"<xdomea:ID>([0-9a-f-]{36})</xdomea:ID>.*?<xdomea:Kennzeichen>(\w+)</xdomea:Kennzeichen>",
        xml,
        re.S,
    )
    return {bg: ident for ident, bg in pairs}


def test_the_page_from_the_offer_to_the_transfer(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    load_people(sqlite_runtime)
    add_records_manager(sqlite_runtime)
    prepare_files(sqlite_runtime, tmp_path / "work", people=False)
    client = pages_client_for(sqlite_runtime, "schriftgut")
    page = client.get(PAGE)
    assert page.status_code == 200 and "Noch keine Aussonderungsvorgänge" in page.text

    started = client.post(f"{PAGE}/start", follow_redirects=False)
    assert started.status_code == 303
    page = client.get(started.headers["location"])
    assert "Vorgang 1: angeboten" in page.text and OWN in page.text and NEIGHBOUR in page.text
    # labels from the server
    assert "<td>angeboten</td>" in page.text and "zu bewerten" in page.text
    link = re.search(
        r'href="(/schriftgut/aussonderung/nachricht/\d+)" download>([^<]+)<', page.text
    )
    assert link is not None
    download = client.get(link.group(1))
    assert download.status_code == 200
    offer = tmp_path / link.group(2)
    offer.write_bytes(download.content)
    assert_valid(offer)
    process_id = link.group(2)[:36]
    ids = ids_of(download.content, link.group(2))

    # a hostile upload: refused, its name shown as text, nothing changed
    good = archive_message(
        "0502", uuid.UUID(process_id), [(ids[OWN], "A"), (ids[NEIGHBOUR], "V")],
        tmp_path / "archive",
    )  # fmt: skip
    refused = client.post(f"{PAGE}/nachricht", files={"datei": (HOSTILE, good.read_bytes())})
    assert refused.status_code == 422
    assert "&lt;img src=x onerror=alert(1)&gt;" in refused.text and "<img src=x" not in refused.text
    assert "entspricht nicht dem Muster" in refused.text
    assert "zu bewerten" in refused.text and "zu vernichten" not in refused.text

    taken = client.post(f"{PAGE}/nachricht", files={"datei": (good.name, good.read_bytes())})
    assert taken.status_code == 200, taken.text
    assert "zu vernichten: 1" in taken.text
    assert "Empfangsbestätigung der Bewertung (0505)" in taken.text

    moved = client.post(f"{PAGE}/1/uebergabe", follow_redirects=False)
    assert moved.status_code == 303
    page = client.get(moved.headers["location"])
    assert "an das Archiv übergeben" in page.text and "Aussonderung (0503)" in page.text

    caseworker = pages_client_for(sqlite_runtime, "lsb.95401.2")
    assert caseworker.get(PAGE).status_code == 403
    assert caseworker.post(f"{PAGE}/start", follow_redirects=False).status_code == 403


@pytest.fixture
def tab(browser: Browser, sqlite_runtime: Runtime, live_url: str, tmp_path: Path) -> Iterator[Page]:
    add_records_manager(sqlite_runtime)
    prepare_files(sqlite_runtime, tmp_path / "work", people=False)
    context = browser.new_context(locale="de-DE", viewport={"width": 320, "height": 800})
    page = context.new_page()
    log_in(page, live_url, "schriftgut")
    yield page
    context.close()


@pytest.mark.slow
def test_start_a_run_and_upload_an_evaluation_in_a_browser(
    tab: Page, live_url: str, tmp_path: Path, sqlite_runtime: Runtime
) -> None:
    page = tab
    page.goto(f"{live_url}{PAGE}")
    expect(page.get_by_role("link", name="Aussonderung an das Archiv")).to_have_attribute(
        "aria-current", "page"
    )
    page.get_by_role("button", name=re.compile("Neuen Vorgang starten")).click()
    expect(page.get_by_role("status")).to_contain_text("Vorgang angelegt")
    expect(page.get_by_role("heading", name="Vorgang 1: angeboten")).to_be_visible()
    files = page.get_by_role("table", name="Akten des Vorgangs 1")
    expect(files.get_by_role("row")).to_have_count(3)
    # 320 px: no horizontal scrolling of the page itself
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        from sqlalchemy import select

        from records.models import DisposalItem, DisposalRun

        process_id = session.scalar(select(DisposalRun.process_id))
        ids = {i.bg_number: str(i.file_uuid) for i in session.scalars(select(DisposalItem))}
    assert process_id is not None
    good = archive_message(
        "0502", process_id, [(ids[OWN], "A"), (ids[NEIGHBOUR], "V")], tmp_path / "a"
    )
    xml_name = good.name.removesuffix(".zip") + ".xml"
    hostile = tmp_path / HOSTILE
    hostile.write_bytes(zip_of({xml_name: zipfile.ZipFile(good).read(xml_name), "../x": b"x"}))
    page.get_by_label(re.compile("Nachricht des Archivs")).set_input_files(str(hostile))
    page.get_by_role("button", name="Nachricht einlesen").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("abgewiesen")
    expect(page.locator("#disposal-uploaded")).to_have_text(HOSTILE)
    expect(page.locator("#disposal-problems li").first).to_contain_text("Muster")
    assert page.locator("main img").count() == 0
    assert axe_violations(page, "Aussonderung (Probleme)") == []

    page.get_by_label(re.compile("Nachricht des Archivs")).set_input_files(str(good))
    page.get_by_role("button", name="Nachricht einlesen").click()
    expect(page.get_by_role("status")).to_contain_text("zu vernichten: 1")
    expect(files.get_by_role("row").filter(has_text=NEIGHBOUR)).to_contain_text("zu vernichten")
    expect(
        page.get_by_role("link", name=re.compile("BewertungEmpfangBestaetigen.0505"))
    ).to_be_visible()
