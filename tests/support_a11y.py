"""What the accessibility tests share: one live server per module with a letter read for a
caseworker's household and one waiting in clearing, a browser, and the pages to walk."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select

from app.product import create_product_app
from app.runtime import build_runtime
from core.dates import local_today
from core.db import transaction
from records.models import Document
from records.runtime import Runtime
from tests.support import (
    add_records_manager,
    client_for,
    file_indexed,
    live_server,
    load_people,
    make_settings,
    sample,
    work_until_idle,
)
from tests.support_browser import launch_chromium, log_in

CASEWORKER = "lsb.95401.3"  # Jan Braun: 0001.pdf (Ali Wolf's pay slip) is routed to him
HOUSEHOLD = "95401BG5662133"
DESK = "post.1"  # scanning desk and clearing
OFFICE = "ws.1"  # objections office
RECORDS = "schriftgut"  # the records manager (issue 17), added to the sample people below


@dataclass(frozen=True)
class Site:
    runtime: Runtime
    url: str
    document: str  # 0001.pdf, read and routed to CASEWORKER
    objection: int  # registered by OFFICE in HOUSEHOLD's file
    appeal: int  # a court letter registered by OFFICE; its statement is overdue (issue 15)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("a11y")
    runtime = build_runtime(make_settings(work / "data"))
    load_people(runtime)
    add_records_manager(runtime, RECORDS)
    desk = client_for(runtime, DESK)
    letter = sample("docs/0001.pdf")
    response = desk.post("/api/documents", files={"file": (letter.name, letter.read_bytes())})
    assert response.status_code == 201, response.text
    work_until_idle(runtime)
    file_indexed(runtime, None, "sonstiges", "Sehr geehrte Damen und Herren, anbei mein Antrag.")
    # The objections office: a decision, an objection registered against it and one not yet.
    office = "team:Widerspruchsstelle"
    decision = file_indexed(runtime, HOUSEHOLD, "bescheid", "Bescheid", target=office)
    letters = [
        file_indexed(runtime, HOUSEHOLD, "widerspruch", "Widerspruch gegen Bescheid", target=office)
        for _ in range(2)
    ]
    with transaction(runtime.sessions) as session:
        sent = session.get(Document, uuid.UUID(decision))
        assert sent is not None
        sent.direction, sent.dispatch_date = "out", date(2026, 10, 10)
    registered = client_for(runtime, OFFICE).post(
        "/api/objections", json={"document_id": letters[0], "decision_id": decision}
    )
    assert registered.status_code == 201, registered.text
    court_letter = file_indexed(
        runtime, HOUSEHOLD, "klage", "Sozialgericht Schleswig, Klage", target=office
    )
    served = local_today() - timedelta(days=30)
    appeal = client_for(runtime, OFFICE).post(
        "/api/appeals",
        json={
            "document_id": court_letter,
            "court": "Sozialgericht Schleswig",
            "file_reference": "S 12 AS 345/26",
            "served_on": served.isoformat(),
            "court_deadline": (served + timedelta(days=21)).isoformat(),
        },
    )
    assert appeal.status_code == 201, appeal.text
    with transaction(runtime.sessions) as session:
        document = session.scalar(select(Document).where(Document.source_name == "0001.pdf"))
        assert document is not None
        document_id = str(document.id)
    with live_server(create_product_app(runtime)) as url:
        yield Site(runtime, url, document_id, registered.json()["id"], appeal.json()["id"])
    runtime.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


def open_as(
    browser: Browser,
    site: Site,
    login: str | None,
    width: int = 1366,
    height: int = 768,
    color_scheme: Literal["light", "dark"] = "light",
) -> Page:
    """A tab of a new browser context of its own, signed in as `login` (or not at all), with
    the system's colour scheme light or dark (the pages follow it)."""
    context = browser.new_context(
        locale="de-DE",
        viewport={"width": width, "height": height},
        accept_downloads=True,
        color_scheme=color_scheme,
    )
    page = context.new_page()
    if login is not None:
        log_in(page, site.url, login)
    return page


def pages(site: Site) -> list[tuple[str | None, str]]:
    """Every page of the product, with who opens it: (login or None, path)."""
    return [
        (None, "/anmelden"),
        (CASEWORKER, "/postkorb"),
        (CASEWORKER, f"/akte/{HOUSEHOLD}"),
        (CASEWORKER, "/suche?q=Verdienstabrechnung"),
        (CASEWORKER, "/vertretung"),
        (CASEWORKER, f"/akte/{HOUSEHOLD}/aktenauszug"),
        (CASEWORKER, f"/viewer?doc={site.document}"),
        (CASEWORKER, f"/dokument/{site.document}?liste=postkorb"),
        (CASEWORKER, f"/dokument/{site.document}/seiten"),  # page editing (issue 15)
        (CASEWORKER, "/gibt-es-nicht"),
        (DESK, "/scanstelle"),
        (DESK, "/klaerung"),
        (OFFICE, "/widersprueche"),
        (OFFICE, "/postkorb"),
        (OFFICE, f"/widersprueche/{site.objection}"),
        (OFFICE, f"/klagen/{site.appeal}"),
        (RECORDS, "/schriftgut"),  # issue 17: the files due, one file's lifecycle
        (RECORDS, f"/schriftgut/akte/{HOUSEHOLD}"),
    ]


def settled(page: Page) -> None:
    """Waits until the page's scripts have fetched and drawn what they show."""
    page.wait_for_load_state("networkidle")


# axe-core, installed by scripts/setup.sh --dev from package-lock.json into the download cache.
AXE = (
    Path(os.environ.get("EAKTE_CACHE_DIR", "/var/cache/eakte"))
    / "node/node_modules/axe-core/axe.min.js"
)

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Page, where: str, context: str = "document") -> list[str]:
    """axe's WCAG 2.0/2.1 A and AA violations on the page (or inside `context`, a CSS
    selector) as readable lines."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results: dict[str, Any] = page.evaluate(
        """([context, tags]) => axe.run(context === 'document' ? document : context,
            {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
        [context, AXE_TAGS],
    )
    return [
        f"{where}: {v['id']} ({v['impact']}) {v['help']} at {node['target']}"
        for v in results["violations"]
        for node in v["nodes"]
    ]
