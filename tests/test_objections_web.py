"""Acceptance of the objections office in a real browser (Debian's Chromium, Playwright).

A member of the office logs in, opens an objection the scanning desk routed to the team inbox,
registers it against the decision in the file in one step, sees whether it was on time and why,
and exports the file for the court as one numbered PDF with a table of contents. A court letter
is registered as an appeal from the viewer window, its court and file reference read from it.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.db import transaction
from records.models import AuditEvent, Document, FileExport
from records.runtime import Runtime
from tests.support import client_for, sample, work_until_idle
from tests.support_browser import log_in, screenshot

pytestmark = pytest.mark.slow

HOUSEHOLD = "95403BG3023526"  # Kowalski/Schmitt, Wyk auf Föhr; 0003.pdf is Nadine's objection
CASEWORKER = "lsb.95403.2"
OFFICE = "ws.1"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _decision_scan(path: Path) -> Path:
    """A one-page Bescheid as the job centre printed and scanned it (200 dpi)."""
    sheet = Image.new("L", (1654, 2339), 255)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype(FONT, 38)
    lines = [
        "Jobcenter Kreis Nordfriesland",
        "Postfach 1340, 25803 Husum",
        "",
        "Frau Nadine Schmitt",
        "Parkstraße 41",
        "25938 Wyk auf Föhr",
        "",
        "Husum, 10.10.2026",
        "BG-Nummer 95403BG3023526",
        "",
        "Änderungsbescheid",
        "Leistungen zur Sicherung des Lebensunterhalts",
        "nach dem Zweiten Buch Sozialgesetzbuch (SGB II)",
        "",
        "Die Kosten der Unterkunft werden ab November 2026",
        "in Höhe von 350,00 Euro monatlich berücksichtigt.",
        "",
        "Rechtsbehelfsbelehrung: Gegen diesen Bescheid kann",
        "innerhalb eines Monats nach Bekanntgabe Widerspruch",
        "erhoben werden.",
    ]
    for number, line in enumerate(lines):
        draw.text((180, 200 + number * 62), line, fill=0, font=font)
    sheet.save(path, "PDF", resolution=200)
    return path


@pytest.fixture
def office_mail(sqlite_runtime: Runtime, live_url: str, tmp_path: Path) -> dict[str, str]:
    """The objection and a court letter read and routed; the decision filed by the caseworker."""
    desk = client_for(sqlite_runtime, "post.1")
    for name in ("0003.pdf", "0024.pdf"):
        answer = desk.post(
            "/api/documents", files={"file": (name, sample(f"docs/{name}").read_bytes())}
        )
        assert answer.status_code in (200, 201, 202), answer.text
    caseworker = client_for(sqlite_runtime, CASEWORKER)
    filed = caseworker.post(
        f"/api/households/{HOUSEHOLD}/documents",
        data={"kind": "bescheid", "dispatch_date": "2026-10-10"},
        files={"file": ("Aenderungsbescheid.pdf", _decision_scan(tmp_path / "b.pdf").read_bytes())},
    )
    assert filed.status_code == 201, filed.text
    work_until_idle(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        documents = {d.source_name: d for d in session.scalars(select(Document))}
        objection = documents["0003.pdf"]
        court = documents["0024.pdf"]
        assert objection.doc_type == "widerspruch" and objection.household.bg_number == HOUSEHOLD
        assert court.doc_type == "klage"
        return {
            "url": live_url,
            "objection": str(objection.id),
            "receipt": objection.receipt_date.isoformat(),
            "court": str(court.id),
            "court_reference": court.court_reference or "",
            "court_receipt": court.receipt_date.isoformat(),
            "decision": str(documents["Aenderungsbescheid.pdf"].id),
        }


def _german(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}.{month}.{year}"


def test_office_registers_an_objection_sees_the_deadline_and_exports_the_file_for_court(
    office_mail: dict[str, str],
    page: Page,
    sqlite_runtime: Runtime,
    tmp_path: Path,
) -> None:
    base = office_mail["url"]
    log_in(page, base, OFFICE)
    expect(page).to_have_url(f"{base}/postkorb")
    expect(page.get_by_role("link", name="Widersprüche und Klagen")).to_be_visible()
    page.locator("#scopes .tab", has_text="Team").click()
    row = page.locator("#inbox-rows tr", has_text=HOUSEHOLD).first
    expect(row).to_contain_text("Widerspruch")

    # One step: the decision the letter names is suggested from the household's file.
    row.get_by_role("button", name="Widerspruch erfassen").click()
    dialog = page.locator("#legal-dialog")
    expect(dialog).to_contain_text(f"Eingang {_german(office_mail['receipt'])}")
    decision = dialog.get_by_label("Angefochtener Bescheid")
    expect(decision).to_have_value(office_mail["decision"])
    expect(dialog).to_contain_text("im Schreiben genannt: Bescheid vom 10.10.2026")
    dialog.get_by_label("Form des Widerspruchs").select_option(label="schriftlich")
    screenshot(page, "widerspruch-erfassen.png", full_page=True)
    dialog.get_by_role("button", name="Erfassen").click()

    # Sent Saturday 10.10.2026, deemed notified Wednesday 14.10.2026 (§ 37 Abs. 2 SGB X);
    # one month: Saturday 14.11.2026, moved to Monday 16.11.2026 (§ 64 Abs. 3 SGG).
    # The received stamp says 04.11.2026: on time.
    assert office_mail["receipt"] == "2026-11-04"
    verdict = "Fristgerecht"
    expect(dialog.locator(".verdict")).to_contain_text(verdict)
    expect(dialog.locator(".verdict")).to_contain_text("Fristende 16.11.2026")
    dialog.get_by_role("link", name=re.compile("Zum Widerspruch")).click()

    expect(page).to_have_url(re.compile(r"/widersprueche/\d+$"))
    expect(page.locator("#verdict")).to_contain_text(verdict)
    steps = page.locator("#deadline table.steps")
    expect(steps).to_contain_text("§ 37 Abs. 2 SGB X")
    expect(steps).to_contain_text("14.10.2026")
    expect(steps).to_contain_text("16.11.2026")
    expect(steps).to_contain_text("Eingang des Widerspruchs")
    expect(page.locator("#status-now")).to_contain_text("eingegangen – gesetzt von Lena Herrmann")
    page.get_by_label("Neuer Status").select_option(label="in Bearbeitung")
    page.get_by_role("button", name="Status setzen").click()
    expect(page.locator("#status-now")).to_contain_text(
        "in Bearbeitung – gesetzt von Lena Herrmann"
    )
    expect(page.locator("#history")).to_contain_text("Status: eingegangen → in Bearbeitung")
    # The decision stays changeable on the case's page; a change needs a reason.
    expect(page.locator("#decision-select")).to_have_value(office_mail["decision"])
    page.get_by_label(re.compile("Rechtsbehelfsbelehrung fehlt")).check()
    page.get_by_role("button", name="Speichern").click()
    expect(page.locator("#case-status")).to_contain_text("braucht eine Begründung")
    page.get_by_label("Begründung (bei Änderung)").fill("Belehrung nennt falsches Gericht")
    page.get_by_role("button", name="Speichern").click()
    expect(page.locator("#case-status")).to_contain_text("Gespeichert")
    expect(page.locator("#deadline table.steps")).to_contain_text("§ 66")
    expect(page.locator("#history")).to_contain_text("Belehrung nennt falsches Gericht")
    screenshot(page, "widerspruch.png", full_page=True)

    # The dashboard lists it by age with the § 88 SGG date and the case's documents.
    page.get_by_role("link", name="Widersprüche und Klagen").click()
    board = page.locator("#objection-rows tr").first
    expect(board).to_contain_text("in Bearbeitung")
    expect(board).to_contain_text("drei Monate am 04.02.2027")  # § 88 Abs. 2 SGG
    expect(board.locator("ul.case-docs li")).to_have_count(2)  # the decision and the letter

    # The file for the court: the whole file, § 104 SGG.
    page.goto(f"{base}/akte/{HOUSEHOLD}")
    page.get_by_role("link", name="Aktenauszug erstellen").click()
    expect(page).to_have_url(f"{base}/akte/{HOUSEHOLD}/aktenauszug")
    page.get_by_label("Umfang").select_option(label="Ganze Akte")
    expect(page.locator("#selection-count")).to_contain_text("Dokumenten gewählt")
    page.get_by_label("Empfänger").fill("Sozialgericht Schleswig")
    page.get_by_label("Rechtsgrundlage").select_option(
        label="§ 104 SGG (Verwaltungsakte an das Gericht)"
    )
    page.get_by_role("button", name="Aktenauszug erstellen").click()
    result = page.locator("#export-result")
    expect(result).to_contain_text("Aktenauszug Nr. 1 erstellt")
    with page.expect_download() as info:
        result.get_by_role("link", name="PDF herunterladen").click()
    saved = tmp_path / "aktenauszug.pdf"
    info.value.save_as(saved)
    screenshot(page, "aktenauszug.png", full_page=True)

    with transaction(sqlite_runtime.sessions) as session:
        record = session.scalar(select(FileExport))
        assert record.recipient == "Sozialgericht Schleswig" and record.created_by_login == OFFICE
        listed = [entry["document_id"] for entry in record.documents]
        pages_of = {
            str(d.id): d.page_count
            for d in session.scalars(
                select(Document).where(Document.id.in_([uuid.UUID(x) for x in listed]))
            )
        }
    assert set(listed) >= {office_mail["objection"], office_mail["decision"]}
    assert listed.index(office_mail["decision"]) < listed.index(office_mail["objection"])
    with pikepdf.open(saved) as pdf:
        total = len(pdf.pages)
    assert total == 2 + sum(pages_of.values())  # cover, contents, every document page
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(saved), "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    sheets = text.split("\f")[:-1]
    assert len(sheets) == total
    assert "Inhaltsverzeichnis" in sheets[1]
    assert "Widerspruch" in sheets[1] and "Bescheid" in sheets[1]
    assert "Bl. 3" in sheets[1]
    for number, sheet in enumerate(sheets, 1):
        assert f"Blatt {number}" in sheet, number
        assert f"Seite {number} von {total}" in sheet
    assert "Sozialgericht Schleswig" in sheets[0] and "§ 104 SGG" in sheets[0]
    assert "Widerspruch gegen den Bescheid" in text  # the letter's own text layer

    # The export is filed in the case file.
    page.goto(f"{base}/akte/{HOUSEHOLD}")
    expect(page.locator("#exports")).to_contain_text("Aktenauszug Nr. 1 an Sozialgericht Schleswig")
    expect(page.locator("#notes")).to_contain_text("Aktenauszug Nr. 1 erstellt")


def test_office_registers_an_appeal_from_the_court_letter_in_the_viewer(
    office_mail: dict[str, str],
    page: Page,
    sqlite_runtime: Runtime,
) -> None:
    base = office_mail["url"]
    log_in(page, base, OFFICE)
    viewer = page.context.new_page()
    viewer.goto(f"{base}/viewer?doc={office_mail['court']}")
    expect(viewer.locator("#doc-meta")).to_contain_text("Schreiben des Sozialgerichts")
    viewer.get_by_role("button", name="Erfassen").click()
    dialog = viewer.locator("#legal-dialog")
    expect(dialog.get_by_label("Klage (Schreiben des Sozialgerichts)")).to_be_checked()
    expect(dialog.get_by_label("Gericht", exact=True)).to_have_value("Sozialgericht Schleswig")
    # Read from the letter: "Aktenzeichen: S 18 AS 550/26", the parties, the received stamp.
    assert office_mail["court_reference"] == "S 18 AS 550/26"
    expect(dialog.get_by_label("Aktenzeichen des Gerichts")).to_have_value("S 18 AS 550/26")
    expect(dialog.get_by_label("Beteiligte")).to_have_value(
        "Jana Huber ./. Jobcenter Kreis Nordfriesland"
    )
    expect(dialog.get_by_label(re.compile("Zugestellt am"))).to_have_value(
        office_mail["court_receipt"]
    )
    dialog.get_by_role("button", name="Erfassen").click()
    expect(dialog).to_contain_text("Klage S 18 AS 550/26 erfasst")
    expect(dialog.locator(".verdict")).to_contain_text("an das Gericht")
    screenshot(viewer, "klage-erfassen.png")

    page.goto(f"{base}/widersprueche")
    appeal = page.locator("#appeal-rows tr").first
    expect(appeal).to_contain_text("S 18 AS 550/26")
    appeal.get_by_role("link", name="Sozialgericht Schleswig").click()
    expect(page.locator("#deadline table.steps")).to_contain_text("§ 104")
    page.get_by_label("Neuer Status").select_option(label="erledigt")
    page.get_by_role("button", name="Status setzen").click()
    expect(page.locator("#status-now")).to_contain_text("erledigt – gesetzt von Lena Herrmann")
    with transaction(sqlite_runtime.sessions) as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "appeal")
        ).all()
    assert "appeal.registered" in actions and "appeal.status" in actions
