"""The administration's pages in a real browser (issue 16): no axe-core violation and no
sideways scrolling at 320 px on any of them; the users' filter swaps the list in and keeps
its address; a role changed on the page is in the audit log; a staff export goes through
its preview and is applied."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.db import transaction
from records.models import User
from records.runtime import Runtime
from tests.support import account, add_admin, audit_rows, staff_csv_moving
from tests.support_a11y import axe_violations
from tests.support_browser import log_in

pytestmark = pytest.mark.slow

PAGES = (
    "/verwaltung",
    "/verwaltung/benutzer",
    "/verwaltung/teams",
    "/verwaltung/vertretungen",
    "/verwaltung/stammdaten",
    "/verwaltung/einstellungen",
    "/verwaltung/status",
)


def test_every_page_passes_axe_and_reflows_at_320_px(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    add_admin(sqlite_runtime)
    log_in(page, live_url, "admin")
    found: list[str] = []
    wide: list[str] = []
    for path in PAGES:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{live_url}{path}")
        expect(page.locator("main h1")).to_be_visible()
        found += axe_violations(page, path)
        page.set_viewport_size({"width": 320, "height": 640})
        width = int(page.evaluate("document.documentElement.scrollWidth"))
        if width > 320:
            wide.append(f"{path}: {width} px")
    assert not found, "\n".join(found)
    assert not wide, "pages wider than 320 px: " + "; ".join(wide)
    expect(page.get_by_role("navigation", name="Hauptmenü")).to_contain_text("Verwaltung")


def test_users_filter_then_change_a_role_and_find_it_audited(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    add_admin(sqlite_runtime)
    log_in(page, live_url, "admin")
    page.goto(f"{live_url}/verwaltung/benutzer")
    rows = page.locator("#users tbody tr")
    expect(rows).to_have_count(17)  # the sample staff and the admin
    role_filter = page.locator('#users-filter select[name="rolle"]')
    role_filter.focus()
    role_filter.select_option("fallmanagement")
    expect(rows).to_have_count(4)
    expect(page).to_have_url(re.compile(r"rolle=fallmanagement"))
    # Focus stays on the filter that was changed.
    expect(role_filter).to_be_focused()
    page.reload()
    expect(rows).to_have_count(4)
    row = page.locator('tr[data-login="fm.2"]')
    row.get_by_text("Ändern").click()
    row.get_by_label("Rolle von fm.2").select_option("leistung")
    row.get_by_role("button", name="Rolle und Team von fm.2 speichern").click()
    expect(page.locator("#admin-status")).to_have_text("Konto geändert.")
    # Back to the filtered list, where fm.2 is gone now.
    expect(page).to_have_url(re.compile(r"rolle=fallmanagement"))
    expect(rows).to_have_count(3)
    assert account(sqlite_runtime, "fm.2").role == "leistung"
    (event,) = audit_rows(sqlite_runtime, "user.changed")
    assert event.actor_login == "admin"
    assert event.details["before"] == {"role": "fallmanagement"}
    assert event.details["after"] == {"role": "leistung"}
    found = axe_violations(page, "/verwaltung/benutzer (changed)")
    assert not found, "\n".join(found)


def test_a_staff_export_is_previewed_then_applied(
    sqlite_runtime: Runtime, live_url: str, page: Page
) -> None:
    add_admin(sqlite_runtime)
    log_in(page, live_url, "admin")
    page.goto(f"{live_url}/verwaltung/stammdaten")
    page.get_by_label("Art").select_option("staff")
    page.get_by_label("CSV-Datei").set_input_files(
        {
            "name": "mitarbeitende.csv",
            "mimeType": "text/csv",
            "buffer": staff_csv_moving("lsb.95401.1", "Leistung Niebüll"),
        }
    )
    page.get_by_role("button", name="Vorschau anzeigen").click()
    expect(page.locator("#preview-title")).to_contain_text("mitarbeitende.csv")
    changed = page.locator('#preview tr[data-key="lsb.95401.1"]')
    expect(changed).to_contain_text("geändert")
    expect(changed).to_contain_text("Team: Leistung Husum → Leistung Niebüll")
    expect(page.locator("#preview-counts")).to_contain_text("1 geändert")
    assert account(sqlite_runtime, "lsb.95401.1").team_id is not None
    found = axe_violations(page, "/verwaltung/stammdaten (preview)")
    assert not found, "\n".join(found)
    page.get_by_role("button", name="Übernehmen").click()
    expect(page.locator("#import-result")).to_contain_text("1 geändert")
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        user = session.scalar(select(User).where(User.login == "lsb.95401.1"))
        assert user is not None and user.team is not None
        assert user.team.name == "Leistung Niebüll"
    assert len(audit_rows(sqlite_runtime, "masterdata.previewed")) == 1
    assert len(audit_rows(sqlite_runtime, "masterdata.applied")) == 1
