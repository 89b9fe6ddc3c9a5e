"""The viewer on the second monitor, steered by the main window, and deep links to documents.

Real OCR on sample scans, a real server, Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pikepdf
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from sqlalchemy import select

from api.downloads import content_disposition, pdf_filename
from app.product import create_product_app
from app.runtime import build_runtime
from core.dates import local_date
from core.db import transaction
from records.models import AuditEvent, Document, InboxItem
from records.runtime import Runtime
from tests.support import (
    PASSWORD,
    client_for,
    live_server,
    load_people,
    make_settings,
    sample,
    work_until_idle,
)
from tests.support_browser import launch_chromium, log_in, screenshot

pytestmark = pytest.mark.slow

CASEWORKER = "lsb.95401.3"  # responsible for Ali Wolf's household, 95401BG5662133
STRANGER = "lsb.95403.1"  # a caseworker of another office
TWO_PAGES = "lohn-zweiseitig.pdf"


@dataclass(frozen=True)
class Filed:
    runtime: Runtime
    url: str
    single: str  # docs/0001.pdf, one page
    double: str  # the same pay slip scanned twice: one document of two pages


@pytest.fixture(scope="module")
def filed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filed]:
    """Two pay slips of one household, read and routed once for the whole module."""
    work = tmp_path_factory.mktemp("viewer")
    runtime = build_runtime(make_settings(work / "data"))
    load_people(runtime)
    two_pages = work / TWO_PAGES
    with pikepdf.open(sample("docs/0001.pdf")) as source, pikepdf.new() as merged:
        merged.pages.append(source.pages[0])
        merged.pages.append(source.pages[0])
        merged.save(two_pages)
    desk = client_for(runtime, "post.1")
    for path in (sample("docs/0001.pdf"), two_pages):
        response = desk.post("/api/documents", files={"file": (path.name, path.read_bytes())})
        assert response.status_code == 201, response.text
    work_until_idle(runtime)
    with transaction(runtime.sessions) as session:
        documents = {d.source_name: d for d in session.scalars(select(Document))}
        for document in documents.values():
            item = session.scalar(select(InboxItem).where(InboxItem.document_id == document.id))
            assert item is not None and item.user is not None, item and item.reason
            assert item.user.login == CASEWORKER, item.reason
        single, double = documents["0001.pdf"], documents[TWO_PAGES]
        assert (single.page_count, double.page_count) == (1, 2)
        ids = str(single.id), str(double.id)

    with live_server(create_product_app(runtime)) as url:
        yield Filed(runtime, url, *ids)
    runtime.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


def _new_page(browser: Browser) -> Page:
    context = browser.new_context(
        locale="de-DE", accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    return context.new_page()


def _with_viewer_link(page: Page) -> None:
    """The main window's helper; loaded here in case the main page does not carry it yet."""
    if not page.evaluate("typeof window.EAkteViewer !== 'undefined'"):
        page.add_script_tag(url="/static/viewer-link.js")
        page.wait_for_function("typeof window.EAkteViewer !== 'undefined'")


def _page_loaded(viewer: Page) -> None:
    viewer.wait_for_function(
        "() => { const i = document.getElementById('page-image');"
        " return i.complete && i.naturalWidth > 0 && i.offsetWidth > 0"
        " && !document.getElementById('sheet-box').classList.contains('loading'); }"
    )


def _size(viewer: Page) -> tuple[float, float]:
    box = viewer.locator("#page-image").bounding_box()
    assert box is not None
    return box["width"], box["height"]


def _audit(runtime: Runtime, login: str) -> list[tuple[str, str | None, str]]:
    with transaction(runtime.sessions) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.actor_login == login).order_by(AuditEvent.id)
        ).all()
        return [(e.action, e.object_id, e.outcome) for e in events]


def test_the_viewer_follows_the_main_window(filed: Filed, browser: Browser) -> None:
    main = _new_page(browser)
    log_in(main, filed.url, CASEWORKER)
    viewer = main.context.new_page()
    viewer.goto(f"{filed.url}/viewer")
    expect(viewer.get_by_role("status")).to_contain_text("Kein Dokument ausgewählt")

    _with_viewer_link(main)
    assert main.evaluate("EAkteViewer.isOpen()") is True
    shown = main.evaluate(
        "id => EAkteViewer.show(id, {page: 2, terms: ['verdienstabrechnung']})", filed.double
    )
    assert shown == "posted"
    indicator = viewer.locator("#page-indicator")
    expect(indicator).to_have_text("Seite 2 von 2")
    expect(viewer.locator("#doc-title")).to_have_text(TWO_PAGES)
    expect(viewer.locator("#doc-meta")).to_contain_text("BG 95401BG5662133")
    expect(viewer.locator("#doc-meta")).to_contain_text("Lohn-/Verdienstabrechnung")
    _page_loaded(viewer)
    marks = viewer.locator("#marks .mark")
    expect(marks.first).to_be_visible()
    titles = marks.evaluate_all("boxes => boxes.map(b => b.title)")
    assert titles and all(t.lower().startswith("verdienstabrechnung") for t in titles), titles
    expect(viewer.locator("#hit-info")).to_contain_text("Treffer auf 2 Seiten")
    expect(viewer.locator(".thumb")).to_have_count(2)
    expect(viewer.locator(".thumb.has-hits")).to_have_count(2)
    assert "page=2" in viewer.url and f"doc={filed.double}" in viewer.url

    # Umlauts however they are typed, on word prefixes: "Zuschlaege" and "zuschlag" both find
    # the printed "Zuschläge". The same document stays on its page.
    for term in ("Zuschlaege", "zuschlag"):
        main.evaluate("([id, t]) => EAkteViewer.show(id, {terms: [t]})", [filed.double, term])
        expect(viewer.locator("#marks .mark")).to_have_count(1)
        expect(viewer.locator("#marks .mark[title^='Zuschl']")).to_have_count(1)
    expect(indicator).to_have_text("Seite 2 von 2")
    main.evaluate("id => EAkteViewer.show(id, {terms: ['Widerspruch']})", filed.double)
    expect(viewer.locator("#hit-info")).to_contain_text("keine Treffer in diesem Dokument")
    expect(viewer.locator("#marks .mark")).to_have_count(0)
    main.evaluate("id => EAkteViewer.show(id, {terms: ['Verdienstabrechnung']})", filed.double)
    expect(viewer.locator("#marks .mark").first).to_be_visible()

    # Keyboard: pages.
    viewer.keyboard.press("Home")
    expect(indicator).to_have_text("Seite 1 von 2")
    viewer.keyboard.press("PageDown")
    expect(indicator).to_have_text("Seite 2 von 2")
    viewer.keyboard.press("ArrowLeft")
    expect(indicator).to_have_text("Seite 1 von 2")
    viewer.keyboard.press("End")
    expect(indicator).to_have_text("Seite 2 von 2")
    viewer.get_by_role("button", name=re.compile(r"^Seite 1(,|$)")).click()
    expect(indicator).to_have_text("Seite 1 von 2")
    expect(viewer.get_by_role("button", name="Vorherige Seite")).to_be_disabled()
    viewer.get_by_role("button", name="Nächste Seite").click()
    expect(indicator).to_have_text("Seite 2 von 2")
    _page_loaded(viewer)

    screenshot(viewer, "viewer.png")

    # Zoom and rotation change what is drawn, never the stored page.
    width, height = _size(viewer)
    assert height > width  # an upright A4 page
    viewer.keyboard.press("+")
    wider = _size(viewer)
    assert wider[0] > width * 1.1
    expect(viewer.get_by_role("button", name="Seitenbreite (Zoom zurücksetzen)")).to_have_text(
        "125 %"
    )
    viewer.keyboard.press("0")
    assert _size(viewer) == pytest.approx((width, height), abs=1)
    viewer.get_by_role("button", name="Verkleinern").click()
    assert _size(viewer)[0] < width * 0.9
    viewer.get_by_role("button", name="Seitenbreite (Zoom zurücksetzen)").click()
    viewer.keyboard.press("r")
    turned = _size(viewer)
    assert turned[0] > turned[1]  # lying on its side, fitted to the width
    assert viewer.locator("#sheet-box").get_attribute("data-rotation") == "90"
    expect(viewer.locator("#marks .mark").first).to_be_visible()
    screenshot(viewer, "viewer-gedreht.png")
    viewer.get_by_role("button", name="Nach links drehen").click()
    assert _size(viewer) == pytest.approx((width, height), abs=1)

    # The shortcuts, in German.
    viewer.keyboard.press("?")
    help_dialog = viewer.get_by_role("dialog", name="Tastenkürzel")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Nächste Seite")
    expect(help_dialog).to_contain_text("Ansicht nach rechts bzw. links drehen")
    viewer.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # Download and print: the searchable PDF.
    with viewer.expect_download() as downloading:
        viewer.get_by_role("link", name="Herunterladen").click()
    download = downloading.value
    assert download.suggested_filename == "lohn-zweiseitig.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")
    printing = viewer.get_by_role("link", name="Drucken")
    assert printing.get_attribute("href") == f"/api/documents/{filed.double}/pdf?inline=1"
    response = viewer.request.get(f"{filed.url}/api/documents/{filed.double}/pdf?inline=1")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline;")

    # Closed viewer: the main window opens a new one with the document in its address.
    viewer.close()
    assert main.evaluate("EAkteViewer.isOpen()") is False
    with main.expect_popup() as opening:
        opened = main.evaluate(
            "id => EAkteViewer.show(id, {terms: ['Auszahlungsbetrag']})", filed.single
        )
    assert opened == "opened"
    popup = opening.value
    expect(popup).to_have_url(re.compile(rf"/viewer\?doc={filed.single}.*q=Auszahlungsbetrag"))
    expect(popup.locator("#page-indicator")).to_have_text("Seite 1 von 1")
    expect(popup.locator("#marks .mark")).to_have_count(1)
    assert main.evaluate("EAkteViewer.isOpen()") is True
    # Opening the viewer again finds the open window and leaves its document alone.
    assert main.evaluate("EAkteViewer.open() !== null") is True
    popup.wait_for_timeout(300)
    assert f"doc={filed.single}" in popup.url
    expect(popup.locator("#page-indicator")).to_have_text("Seite 1 von 1")
    assert len(main.context.pages) == 2

    events = _audit(filed.runtime, CASEWORKER)
    assert ("document.view", filed.double, "ok") in events
    assert ("document.view", filed.single, "ok") in events
    assert ("document.download", filed.double, "ok") in events
    assert ("document.print", filed.double, "ok") in events
    assert ("document.page.image", filed.double, "ok") in events
    assert all(outcome == "ok" for _action, _object, outcome in events)


def test_a_deep_link_asks_for_the_login_and_then_shows_the_document(
    filed: Filed, browser: Browser
) -> None:
    page = _new_page(browser)
    complaints: list[str] = []

    def complain(message: ConsoleMessage) -> None:
        # The login page asks for /favicon.ico, which the product does not have.
        url = message.location.get("url", "")
        if message.type in ("error", "warning") and not url.endswith("/favicon.ico"):
            complaints.append(f"{message.text} {url}")

    page.on("console", complain)
    page.goto(f"{filed.url}/dokument/{filed.single}?page=1&q=Wolf")
    expect(page).to_have_url(
        f"{filed.url}/anmelden?next=/dokument/{filed.single}%3Fpage%3D1%26q%3DWolf"
    )
    page.get_by_label("Benutzername").fill(CASEWORKER)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    # The link leads to the document's page (issue 15), which opens it in the viewer window
    # at the page, with the words marked.
    expect(page).to_have_url(re.compile(rf"/dokument/{filed.single}\?page=1&q=Wolf$"))
    expect(page.get_by_role("heading", name="Seite 1 von 1")).to_be_visible()
    with page.expect_popup() as opening:
        page.get_by_role("link", name="Im Anzeigefenster öffnen").click()
    page = opening.value
    page.on("console", complain)
    expect(page).to_have_url(re.compile(rf"/viewer\?doc={filed.single}&page=1&q=Wolf$"))
    expect(page.locator("#page-indicator")).to_have_text("Seite 1 von 1")
    expect(page.locator("#doc-title")).to_have_text("0001.pdf")
    _page_loaded(page)
    expect(page.locator("#marks .mark").first).to_be_visible()
    page.wait_for_timeout(3500)  # Chromium warns of preloads left unused after about 3 s
    assert complaints == []

    # An unknown document is answered like a foreign one: nothing tells which ids exist.
    response = page.goto(f"{filed.url}/dokument/{uuid.uuid4()}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Kein Zugriff")).to_be_visible()
    page.goto(f"{filed.url}/viewer?doc={uuid.uuid4()}")
    expect(page.get_by_role("status")).to_contain_text("Kein Zugriff auf dieses Dokument")

    events = _audit(filed.runtime, CASEWORKER)
    assert ("document.details", filed.single, "ok") in events
    assert ("document.view", filed.single, "ok") in events


def test_a_caseworker_of_another_office_is_refused_and_the_refusal_is_logged(
    filed: Filed, browser: Browser
) -> None:
    page = _new_page(browser)
    log_in(page, filed.url, STRANGER)
    response = page.goto(f"{filed.url}/dokument/{filed.single}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Kein Zugriff")).to_be_visible()

    api = page.request.get(f"{filed.url}/api/documents/{filed.single}/view")
    assert api.status == 403
    assert api.json()["error"]["code"] == "access_denied"
    assert page.request.get(f"{filed.url}/api/documents/{filed.single}/pdf").status == 403
    words = page.request.get(f"{filed.url}/api/documents/{filed.single}/pages/1/words")
    assert words.status == 403

    page.goto(f"{filed.url}/viewer?doc={filed.single}")
    expect(page.get_by_role("status")).to_contain_text("Kein Zugriff auf dieses Dokument")
    expect(page.locator("#sheet-box")).to_be_hidden()
    expect(page.locator(".thumb")).to_have_count(0)

    denied = [e for e in _audit(filed.runtime, STRANGER) if e[2] == "denied"]
    actions = {action for action, object_id, _ in denied if object_id == filed.single}
    assert {"document.details", "document.view", "document.download", "document.page.words"} <= (
        actions
    )
    assert not [e for e in _audit(filed.runtime, STRANGER) if e[1] == filed.single and e[2] == "ok"]


def test_the_viewer_api_serves_pages_words_and_the_pdf(filed: Filed) -> None:
    client = client_for(filed.runtime, CASEWORKER)
    view = client.get(f"/api/documents/{filed.double}/view")
    assert view.status_code == 200
    assert view.headers["cache-control"] == "no-store"
    body = view.json()
    assert body["id"] == filed.double
    assert body["source_name"] == TWO_PAGES
    assert body["doc_type"] == "verdienstabrechnung"
    assert body["bg_number"] == "95401BG5662133"
    assert body["page_count"] == 2 and body["received_at"]
    # The header shows the legal receipt date (stamp or scan day), never a later one.
    scan_day = local_date(datetime.fromisoformat(body["received_at"])).isoformat()
    assert body["receipt_date"] and body["receipt_date"] <= scan_day
    base = f"/api/documents/{filed.double}/pages"
    for number, page in enumerate(body["pages"], start=1):
        assert page["number"] == number
        assert page["width"] > 1000 and page["height"] > page["width"]
        assert page["image_url"] == f"{base}/{number}/image"
        assert page["thumb_url"] == f"{base}/{number}/thumb"
        assert page["words_url"] == f"{base}/{number}/words"

    words = client.get(f"{base}/2/words")
    assert words.status_code == 200 and words.headers["content-type"] == "application/json"
    boxes = words.json()
    assert {"text", "left", "top", "width", "height", "confidence"} <= set(boxes[0])
    page = body["pages"][1]
    assert all(b["left"] >= 0 and b["left"] + b["width"] <= page["width"] for b in boxes)
    assert "Verdienstabrechnung" in {b["text"] for b in boxes}
    missing = client.get(f"{base}/3/words")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Das Dokument hat keine Seite 3."
    # An unknown id is answered like a foreign one: nothing tells which ids exist.
    unknown = client.get(f"/api/documents/{uuid.uuid4()}/view")
    assert unknown.status_code == 403
    assert unknown.json()["error"]["message"].startswith("Kein Zugriff: Dieses Dokument gibt es")

    pdf = client.get(f"/api/documents/{filed.single}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == (
        "attachment; filename=\"0001.pdf\"; filename*=UTF-8''0001.pdf"
    )
    inline = client.get(f"/api/documents/{filed.single}/pdf", params={"inline": 1})
    assert inline.headers["content-disposition"].startswith('inline; filename="0001.pdf"')

    events = _audit(filed.runtime, CASEWORKER)
    assert ("document.view", filed.double, "ok") in events
    assert ("document.page.words", filed.double, "ok") in events
    assert ("document.download", filed.single, "ok") in events
    assert ("document.print", filed.single, "ok") in events

    # Without a login the pages send to the login, and back afterwards.
    product = TestClient(create_product_app(filed.runtime), follow_redirects=False)
    for path, target in (
        (f"/dokument/{filed.single}", f"/anmelden?next=/dokument/{filed.single}"),
        ("/viewer?doc=x&page=2", "/anmelden?next=/viewer%3Fdoc%3Dx%26page%3D2"),
    ):
        response = product.get(path)
        assert response.status_code == 303 and response.headers["location"] == target


def test_pdf_file_names_are_safe() -> None:
    letter = Document(source_name="C:\\Scans\\Widerspruch Müller\x07.pdf", sequence=1)
    assert pdf_filename(letter) == "Widerspruch Müller.pdf"
    assert content_disposition("attachment", pdf_filename(letter)) == (
        'attachment; filename="Widerspruch_Mueller.pdf"; '
        "filename*=UTF-8''Widerspruch%20M%C3%BCller.pdf"
    )
    third = Document(source_name="../../stapel.tif", sequence=3)
    assert pdf_filename(third) == "stapel-3.pdf"
    quoted = content_disposition("inline", 'a"b;c.pdf')
    assert quoted.startswith('inline; filename="a_b_c.pdf";')
