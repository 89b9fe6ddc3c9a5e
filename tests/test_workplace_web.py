"""The caseworker's workplace in a real browser: Postkorb, viewer window, E-Akte, Vertretung."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.dates import local_today
from core.db import transaction
from records.models import AuditEvent, Deputy
from records.runtime import Runtime
from tests.support import PASSWORD, add_admin, client_for, client_mail, sample, work_until_idle
from tests.support_browser import log_in, log_out, screenshot

pytestmark = pytest.mark.slow


CASEWORKER = "lsb.95401.3"  # Jan Braun: 0001, 0002 and 0005 are routed to him


@pytest.fixture
def routed(sqlite_runtime: Runtime, live_url: str) -> str:
    desk = client_for(sqlite_runtime, "post.1")
    for name in ("0001.pdf", "0002.pdf", "0005.pdf"):
        desk.post("/api/documents", files={"file": (name, sample(f"docs/{name}").read_bytes())})
    work_until_idle(sqlite_runtime)
    return live_url


def test_caseworker_works_the_postkorb_with_the_keyboard_and_the_viewer_follows(
    routed: str,
    page: Page,
) -> None:
    log_in(page, routed, CASEWORKER)
    expect(page).to_have_url(f"{routed}/postkorb")
    rows = page.locator("#inbox-rows tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#nav-count")).to_have_text("3")
    expect(page.locator("#scopes .tab.active")).to_contain_text("Mein Postkorb")
    expect(rows.first).to_contain_text("neu")
    expect(page.locator("#inbox-rows")).to_contain_text("Lohn-/Verdienstabrechnung")
    expect(page.locator("#inbox-rows")).to_contain_text("Weiterbewilligungsantrag")
    expect(page.locator("#inbox-rows td.reason").first).to_contain_text("Haushalt")

    # The viewer window on the second monitor: another page of the same browser.
    viewer = page.context.new_page()
    viewer.goto(f"{routed}/viewer")
    page.bring_to_front()
    page.keyboard.press("j")  # second row; the viewer follows the selection
    second = rows.nth(1)
    expect(second).to_have_class("read cursor", timeout=5000)
    document_name = second.locator("td").nth(2).locator(".hint").inner_text().split(" · ")[0]
    expect(viewer.locator("body")).to_contain_text(document_name, timeout=5000)
    expect(viewer.locator("img").first).to_be_visible()
    page.keyboard.press("k")
    first_name = rows.first.locator("td").nth(2).locator(".hint").inner_text().split(" · ")[0]
    expect(viewer.locator("body")).to_contain_text(first_name, timeout=5000)
    screenshot(viewer, "anzeigefenster.png")

    page.keyboard.press("e")  # done
    expect(page.locator("#inbox-status")).to_contain_text("erledigt")
    expect(rows).to_have_count(2)
    page.keyboard.press("?")
    expect(page.get_by_role("heading", name="Tastenkürzel")).to_be_visible()
    screenshot(page, "postkorb.png", full_page=True)
    page.keyboard.press("Escape")

    remaining = rows.first.locator("td").nth(2).locator(".type").inner_text()
    page.select_option("#filter-type", label=remaining)
    expect(rows).to_have_count(1)
    page.select_option("#filter-state", label="erledigt")
    expect(rows).to_have_count(0)
    page.select_option("#filter-type", label="alle")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("erledigt")


def test_deep_link_opens_the_file_after_login_and_refuses_a_stranger(
    routed: str,
    page: Page,
    sqlite_runtime: Runtime,
) -> None:
    with transaction(sqlite_runtime.sessions) as session:
        bg = session.scalar(
            select(AuditEvent.bg_number).where(AuditEvent.action == "document.routed")
        )
    page.goto(f"{routed}/akte/{bg}")
    expect(page).to_have_url(f"{routed}/anmelden?next=/akte/{bg}")
    page.get_by_label("Benutzername").fill(CASEWORKER)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(f"{routed}/akte/{bg}")
    expect(page.locator("#household")).to_contain_text("Sachbearbeitung: Jan Braun")
    expect(page.locator("#documents li.document")).not_to_have_count(0)
    page.get_by_role("tab", name="Zeitstrahl").click()
    page.get_by_label("Neuer Vermerk zur Akte").fill("Telefonat mit Kundin: Unterlagen folgen")
    page.get_by_role("button", name="Vermerk speichern").click()
    expect(page.locator("#notes")).to_contain_text("Unterlagen folgen")
    expect(page.locator("#notes")).to_contain_text("Jan Braun")
    screenshot(page, "akte.png", full_page=True)

    log_out(page, routed)
    log_in(page, routed, "lsb.95403.1")
    response = page.goto(f"{routed}/akte/{bg}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Kein Zugriff")).to_be_visible()
    with transaction(sqlite_runtime.sessions) as session:
        refused = session.scalars(
            select(AuditEvent.actor_login).where(
                AuditEvent.action == "household.read", AuditEvent.outcome == "denied"
            )
        ).all()
    assert refused == ["lsb.95403.1"]


def test_deputy_period_starts_and_ends(
    routed: str,
    page: Page,
    sqlite_runtime: Runtime,
) -> None:
    log_in(page, routed, CASEWORKER)
    page.get_by_role("link", name="Vertretung").click()
    page.get_by_label("Vertretung durch").select_option("lsb.95403.1")
    page.get_by_role("button", name="Eintragen").click()
    # Another office's colleague: only the administration enters that, with the team lead's
    # approval.
    expect(page.locator("#deputy-form .field-error")).to_contain_text("Teamgrenzen")
    add_admin(sqlite_runtime)
    today = local_today().isoformat()
    client_for(sqlite_runtime, "admin").post(
        "/api/deputies",
        json={
            "deputy": "lsb.95403.1",
            "absent": CASEWORKER,
            "starts_on": today,
            "ends_on": today,
            "approved_by": "Teamleitung Husum",
        },
    ).raise_for_status()
    page.reload()
    expect(page.locator("#my-deputies")).to_contain_text("Sönke Wagner")
    expect(page.locator("#my-deputies")).to_contain_text("aktiv")
    log_out(page, routed)

    log_in(page, routed, "lsb.95403.1")
    deputy_tab = page.locator("#scopes .tab", has_text="Vertretung: Jan Braun")
    expect(deputy_tab).to_contain_text("3")
    deputy_tab.click()
    expect(page.locator("#inbox-rows tr")).to_have_count(3)
    page.keyboard.press("e")
    expect(page.locator("#inbox-rows tr")).to_have_count(2)
    with transaction(sqlite_runtime.sessions) as session:
        done = session.scalar(select(AuditEvent).where(AuditEvent.action == "inbox.done"))
        assert (done.actor_login, done.on_behalf_of_login) == ("lsb.95403.1", CASEWORKER)
        # The period is over the next morning.
        for entry in session.scalars(select(Deputy)):
            entry.starts_on = local_today() - timedelta(days=2)
            entry.ends_on = local_today() - timedelta(days=1)
    page.reload()
    expect(page.locator("#scopes .tab", has_text="Vertretung")).to_have_count(0)
    response = page.goto(f"{routed}/akte/{done.bg_number}")
    assert response is not None and response.status == 403


def test_an_e_mail_with_its_attachment_is_filed_as_one_document(
    routed: str,
    page: Page,
    sqlite_runtime: Runtime,
    tmp_path,
) -> None:
    message = client_mail(
        "Kundin <kundin@example.org>",
        "Nachweis Mietzahlung für Oktober",
        "Mon, 09 Nov 2026 10:15:00 +0100",
        "Sehr geehrter Herr Braun,\nanbei der Nachweis über die Mietzahlung.\n",
    )
    message.add_attachment(
        sample("docs/0009.pdf").read_bytes(),
        maintype="application",
        subtype="pdf",
        filename="Mietbescheinigung.pdf",
    )
    eml = tmp_path / "nachweis.eml"
    eml.write_bytes(bytes(message))
    with transaction(sqlite_runtime.sessions) as session:
        bg = session.scalar(
            select(AuditEvent.bg_number).where(AuditEvent.action == "document.routed")
        )
    log_in(page, routed, CASEWORKER)
    page.goto(f"{routed}/akte/{bg}")
    expect(page.locator("#documents li.document").first).to_be_visible()
    before = page.locator("#documents li.document").count()
    page.locator("#upload-form select[name=kind]").select_option("email")
    page.locator("#upload-form input[name=file]").set_input_files(str(eml))
    page.get_by_role("button", name="Hochladen").click()
    expect(page.locator("#upload-status")).to_contain_text("nachweis.eml: angenommen")

    work_until_idle(sqlite_runtime)
    page.reload()
    expect(page.locator("#documents li.document")).to_have_count(before + 1)
    page.get_by_role("tab", name="Zeitstrahl").click()
    filed = page.locator("#documents li.document", has_text="nachweis.eml")
    expect(filed).to_contain_text("2 S.")  # the e-mail page and the attached scan
    # Put into the file by its caseworker: nobody gets an inbox item for it.
    expect(page.locator("#nav-count")).to_have_text("3")
