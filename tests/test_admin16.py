"""The administration's pages and services (issue 16): users, teams and offices, master-data
imports through a preview, run-time settings, the state page; refusals for other roles."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from core.dates import local_today
from core.db import transaction, utcnow
from core.errors import AccessDenied, Conflict, NotAuthenticated
from records import admin, runtime_settings
from records.access import Gate
from records.identity import ExternalIdentity, GroupMapping, deactivate, provision
from records.masterdata import HOUSEHOLD_COLUMNS, import_households, plan_import, read_csv
from records.models import (
    Household,
    ImportDraft,
    Job,
    LoginSession,
    Office,
    Team,
    User,
    WorkerHeartbeat,
)
from records.runtime import Runtime
from tests.support import (
    KOCH,
    OWN,
    PASSWORD,
    account,
    add_admin,
    audit_rows,
    load_people,
    pages_client_for,
    sample,
    staff_csv_moving,
)

CASEWORKER = "lsb.95401.1"
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def people(sqlite_runtime: Runtime) -> Runtime:
    load_people(sqlite_runtime)
    add_admin(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        session.add(User(login="dsb", name="Datenschutz", role="datenschutz", password_hash=None))
        user = session.scalar(select(User).where(User.login == "admin"))
        assert user is not None
        session.add(
            User(
                login="dsb.pw",
                name="Datenschutz",
                role="datenschutz",
                password_hash=user.password_hash,
            )
        )
    return sqlite_runtime


@pytest.fixture
def admin_client(people: Runtime) -> Iterator[TestClient]:
    with pages_client_for(people, "admin") as client:
        yield client


def _gate(session: Any, login: str) -> Gate:
    user = session.scalar(select(User).where(User.login == login))
    return Gate(session, user)


# --- access -------------------------------------------------------------------------------


PAGES = (
    "/verwaltung",
    "/verwaltung/benutzer",
    "/verwaltung/benutzer/liste",
    "/verwaltung/teams",
    "/verwaltung/vertretungen",
    "/verwaltung/stammdaten",
    "/verwaltung/einstellungen",
    "/verwaltung/status",
)


@pytest.mark.parametrize("login", [CASEWORKER, "dsb.pw"])
def test_other_roles_are_refused_every_page_and_change_audited(people: Runtime, login: str) -> None:
    with pages_client_for(people, login) as client:
        assert "/verwaltung" not in client.get("/vertretung").text
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 403, path
            assert "Kein Zugriff" in answer.text
        target = account(people, "lsb.95401.2")
        answer = client.post(
            f"/verwaltung/benutzer/{target.id}", data={"rolle": "admin", "team": ""}
        )
        assert answer.status_code == 403
        answer = client.post("/verwaltung/einstellungen/deputy_max_days", data={"wert": "3"})
        assert answer.status_code == 403
    assert account(people, "lsb.95401.2").role == "leistung"
    refused = [e for e in audit_rows(people, "user.changed") if e.outcome == "denied"] + [
        e for e in audit_rows(people, "settings.changed") if e.outcome == "denied"
    ]
    assert {e.actor_login for e in refused} == {login}
    assert any(e.action == "page.admin.users" for e in audit_rows(people, "page.admin.users"))
    with transaction(people.sessions, read_only=True) as session:
        assert session.get(runtime_settings.RuntimeSetting, "deputy_max_days") is None


def test_admin_has_the_nav_entry_and_the_landing_page(admin_client: TestClient) -> None:
    assert admin_client.get("/", follow_redirects=False).headers["location"] == "/verwaltung"
    page = admin_client.get("/verwaltung")
    assert page.status_code == 200
    assert '<a href="/verwaltung">Verwaltung</a>' in page.text
    for link in ("/verwaltung/benutzer", "/verwaltung/teams", "/verwaltung/dokumenttypen"):
        assert f'href="{link}"' in page.text


# --- users --------------------------------------------------------------------------------


def test_users_list_with_labels_from_the_server_and_filters(
    people: Runtime, admin_client: TestClient
) -> None:
    with transaction(people.sessions) as session:
        session.add(
            User(
                login="ext.1",
                name=HOSTILE,
                role="leistung",
                source="ldap",
                external_id="cn=ext.1,dc=jc",
            )
        )
    page = admin_client.get("/verwaltung/benutzer")
    assert page.status_code == 200
    row = re.search(r'<tr data-login="lsb.95401.1">.*?</tr>', page.text, re.S)
    assert row is not None
    assert "Leistungssachbearbeitung" in row.group(0) and "Leistung Husum" in row.group(0)
    assert ">lokal<" in row.group(0) and ">aktiv" in row.group(0)
    ext = re.search(r'<tr data-login="ext.1">.*?</tr>', page.text, re.S)
    assert ext is not None
    assert "Verzeichnis" in ext.group(0) and "folgen den Gruppen" in ext.group(0)
    assert 'name="rolle"' not in ext.group(0)
    assert HOSTILE not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
    part = admin_client.get("/verwaltung/benutzer/liste?rolle=fallmanagement&team=&aktiv=ja")
    logins = re.findall(r'<tr data-login="([^"]+)"', part.text)
    assert logins and all(login.startswith("fm.") for login in logins)
    assert "<html" not in part.text.lower()
    # The labels come from the server; the script has no map of its own.
    js = (Path(__file__).resolve().parents[1] / "web/static/verwaltung.js").read_text()
    assert "Leistungssachbearbeitung" not in js and "Verzeichnis" not in js


def test_a_local_accounts_role_and_team_change_is_audited(
    people: Runtime, admin_client: TestClient
) -> None:
    target = account(people, "lsb.95401.2")
    with transaction(people.sessions, read_only=True) as session:
        team = session.scalar(select(Team).where(Team.name == "Leistung Niebüll"))
        assert team is not None
        team_id = team.id
    answer = admin_client.post(
        f"/verwaltung/benutzer/{target.id}",
        data={"rolle": "fallmanagement", "team": str(team_id), "aktion": "speichern"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    changed = account(people, "lsb.95401.2")
    assert (changed.role, changed.team_id) == ("fallmanagement", team_id)
    (event,) = audit_rows(people, "user.changed")
    assert event.actor_login == "admin" and event.outcome == "ok"
    assert event.details["before"] == {"role": "leistung", "team": "Leistung Husum"}
    assert event.details["after"] == {"role": "fallmanagement", "team": "Leistung Niebüll"}


def test_deactivating_ends_sessions_and_reactivating_lets_back_in(people: Runtime) -> None:
    with (
        pages_client_for(people, CASEWORKER) as caseworker,
        pages_client_for(people, "admin") as admin_client,
    ):
        assert caseworker.get("/postkorb").status_code == 200
        target = account(people, CASEWORKER)
        answer = admin_client.post(
            f"/verwaltung/benutzer/{target.id}", data={"aktion": "deaktivieren"}
        )
        assert answer.status_code == 200 and "Konto geändert." in answer.text
        assert caseworker.get("/api/auth/me").status_code == 401
        with transaction(people.sessions, read_only=True) as session:
            assert not session.scalars(
                select(LoginSession).where(LoginSession.user_id == target.id)
            ).all()
        refused = caseworker.post(
            "/api/auth/login", json={"login": CASEWORKER, "password": PASSWORD}
        )
        assert refused.status_code == 401
        admin_client.post(f"/verwaltung/benutzer/{target.id}", data={"aktion": "aktivieren"})
        back = caseworker.post("/api/auth/login", json={"login": CASEWORKER, "password": PASSWORD})
        assert back.status_code == 200
    changes = [e.details for e in audit_rows(people, "user.changed")]
    assert changes == [
        {"login": CASEWORKER, "before": {"active": True}, "after": {"active": False}},
        {"login": CASEWORKER, "before": {"active": False}, "after": {"active": True}},
    ]
    assert audit_rows(people, "user.deactivated")[0].actor_login == "admin"


def test_the_last_admin_stays_and_nobody_deactivates_themselves(
    people: Runtime, admin_client: TestClient
) -> None:
    me = account(people, "admin")
    answer = admin_client.post(f"/verwaltung/benutzer/{me.id}", data={"aktion": "deaktivieren"})
    assert answer.status_code == 409
    assert admin.NOT_SELF in answer.text
    answer = admin_client.post(
        f"/verwaltung/benutzer/{me.id}", data={"rolle": "leistung", "team": ""}
    )
    assert answer.status_code == 409 and "letzte aktive Konto der Administration" in answer.text
    assert account(people, "admin").role == "admin" and account(people, "admin").active
    reasons = [e.details["reason"] for e in audit_rows(people, "user.changed")]
    assert reasons == ["user_self", "user_last_admin"]
    # With a second admin, the first may step down.
    add_admin(people, "admin2")
    with transaction(people.sessions) as session:
        admin.change_user(_gate(session, "admin2"), me.id, role="leistung", team_id=None)
    assert account(people, "admin").role == "leistung"
    with pytest.raises(Conflict), transaction(people.sessions) as session:
        admin.change_user(_gate(session, "admin2"), account(people, "admin2").id, role="leistung")


def test_directory_accounts_keep_role_and_team_from_their_groups(people: Runtime) -> None:
    with transaction(people.sessions) as session:
        session.add(
            User(login="sso.1", name="S", role="leistung", source="oidc", external_id="sub-1")
        )
    target = account(people, "sso.1")
    with pytest.raises(Conflict) as refused, transaction(people.sessions) as session:
        admin.change_user(_gate(session, "admin"), target.id, role="admin")
    assert "Verzeichnis" in refused.value.message
    assert account(people, "sso.1").role == "leistung"
    (event,) = audit_rows(people, "user.changed")
    assert event.outcome == "denied" and event.details["reason"] == "user_external"


def test_a_directory_account_locked_here_stays_locked_at_its_next_sign_in(
    people: Runtime,
) -> None:
    """An administrator may lock a directory or SSO account at once; signing in again through
    the directory does not undo it (leaving the directory and coming back does)."""
    identity = ExternalIdentity("oidc", "sub-7", "sso.7", "Sina", None, ("eakte-leistung",))
    mapping = GroupMapping({"eakte-leistung": "leistung"}, {})
    with transaction(people.sessions) as session:
        user = provision(session, identity, mapping)
        user_id = user.id
    with transaction(people.sessions) as session:
        admin.change_user(_gate(session, "admin"), user_id, active=False)
    with pytest.raises(NotAuthenticated) as refused, transaction(people.sessions) as session:
        provision(session, identity, mapping)
    assert refused.value.code == "account_deactivated"
    assert "Administration" in refused.value.message
    assert not account(people, "sso.7").active
    with transaction(people.sessions) as session:
        admin.change_user(_gate(session, "admin"), user_id, active=True)
        deactivate(session, session.get(User, user_id), "nicht mehr im Verzeichnis")
    with transaction(people.sessions) as session:
        assert provision(session, identity, mapping).active


# --- teams and offices ------------------------------------------------------------------------


def test_offices_and_teams_are_created_renamed_assigned_and_audited(
    people: Runtime, admin_client: TestClient
) -> None:
    admin_client.post("/verwaltung/teams/dienststellen", data={"name": "Husum"})
    with transaction(people.sessions, read_only=True) as session:
        office = session.scalar(select(Office).where(Office.name == "Husum"))
        assert office is not None
        office_id = office.id
        team = session.scalar(select(Team).where(Team.name == "Leistung Husum"))
        assert team is not None
        team_id = team.id
    admin_client.post(
        "/verwaltung/teams/dienststellen", data={"id": str(office_id), "name": "Husum Mitte"}
    )
    admin_client.post(
        "/verwaltung/teams",
        data={"id": str(team_id), "name": "Leistung Husum", "dienststelle": str(office_id)},
    )
    admin_client.post("/verwaltung/teams", data={"name": "Neues Team", "dienststelle": ""})
    taken = admin_client.post("/verwaltung/teams", data={"name": "Neues Team"})
    assert taken.status_code == 422 and "schon vergeben" in taken.text
    page = admin_client.get("/verwaltung/teams").text
    row = re.search(r'<tr data-team="Leistung Husum">.*?</tr>', page, re.S)
    assert row is not None and "Husum Mitte" in row.group(0)
    assert re.search(r"<td>3</td>", row.group(0))  # three caseworkers in Husum
    assert [e.details["after"] for e in audit_rows(people, "office.changed")] == ["Husum Mitte"]
    assert audit_rows(people, "team.changed")[0].details == {
        "before": {"name": "Leistung Husum", "office": None},
        "after": {"name": "Leistung Husum", "office": "Husum Mitte"},
    }
    assert len(audit_rows(people, "team.created")) == 1


# --- deputies ----------------------------------------------------------------------------


def test_the_administration_names_and_ends_a_deputy_for_others(
    people: Runtime, admin_client: TestClient
) -> None:
    today = local_today().isoformat()
    period = {"starts_on": today, "ends_on": today, "approved_by": ""}
    across = admin_client.post(
        "/verwaltung/vertretungen",
        data={"absent": CASEWORKER, "deputy": "lsb.95402.1", **period},
    )
    assert across.status_code == 422 and "Zustimmung der Teamleitung" in across.text
    assert 'value="lsb.95402.1" selected' in across.text  # what was chosen stays
    named = admin_client.post(
        "/verwaltung/vertretungen",
        data={"absent": CASEWORKER, "deputy": "lsb.95401.2", **period},
    )
    assert named.status_code == 200 and "Vertretung eingetragen." in named.text
    row = re.search(
        r"<tr><td>Petra Schmitt</td><td>Laura Carstensen</td>.*?</tr>", named.text, re.S
    )
    assert row is not None and "aktiv" in row[0] and "admin" in row[0]
    (event,) = audit_rows(people, "deputy.named")
    assert event.actor_login == "admin" and event.details["absent"] == CASEWORKER
    deputy_id = re.search(r"/verwaltung/vertretungen/(\d+)/beenden", named.text)
    assert deputy_id is not None
    ended = admin_client.post(f"/verwaltung/vertretungen/{deputy_id[1]}/beenden")
    assert ended.status_code == 200 and "Vertretung beendet." in ended.text
    assert "Petra Schmitt</td><td>Laura Carstensen" not in ended.text
    assert audit_rows(people, "deputy.revoked")[0].actor_login == "admin"


# --- master data ------------------------------------------------------------------------------


def _households_moved(path: Any) -> bytes:
    """The sample households with one household gone, one moved to a new address, one new."""
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("95401BG7267253")]
    moved = [
        line.replace("Osterende 112", "Neue Straße 1") if line.startswith(KOCH) else line
        for line in kept
    ]
    moved.append("95401BG9999999,Neu,Nina,1990-01-01,Weg 1,25813,Husum,lsb.95401.1,")
    return ("\n".join(moved) + "\n").encode()


def test_household_preview_shows_new_changed_deactivated_without_names(
    people: Runtime, admin_client: TestClient
) -> None:
    body = _households_moved(sample("households.csv"))
    answer = admin_client.post(
        "/verwaltung/stammdaten",
        data={"art": "households"},
        files={"datei": ("bg.csv", body, "text/csv")},
    )
    assert answer.status_code == 200
    text = answer.text
    statuses = dict(
        re.findall(r'<tr data-key="([^"]+)"><td>[^<]*</td><td class="status">([^<]+)', text)
    )
    assert statuses == {
        "95401BG9999999": "neu",
        KOCH: "geändert",
        "95401BG7267253": "wird deaktiviert",
    }
    assert "Straße" in text
    for secret in ("Neue Straße 1", "Osterende", "Koch", "Stefan", "Christiansen", "Nina"):
        assert secret not in text, secret
    # Nothing changed yet.
    with transaction(people.sessions, read_only=True) as session:
        assert (
            session.scalar(select(Household).where(Household.bg_number == "95401BG9999999")) is None
        )
    (previewed,) = audit_rows(people, "masterdata.previewed")
    assert "1 neu, 1 geändert, 1 deaktiviert" in previewed.details["summary"]

    draft_id = re.search(r"/verwaltung/stammdaten/([0-9a-f-]+)/uebernehmen", text)
    sha = re.search(r'name="sha256" value="([0-9a-f]+)"', text)
    assert draft_id and sha and sha.group(1) == hashlib.sha256(body).hexdigest()
    applied = admin_client.post(
        f"/verwaltung/stammdaten/{draft_id.group(1)}/uebernehmen", data={"sha256": sha.group(1)}
    )
    assert applied.status_code == 200 and "1 neu, 1 geändert, 1 deaktiviert" in applied.text
    with transaction(people.sessions, read_only=True) as session:
        koch = session.scalar(select(Household).where(Household.bg_number == KOCH))
        gone = session.scalar(select(Household).where(Household.bg_number == "95401BG7267253"))
        assert koch is not None and koch.street == "Neue Straße 1"
        assert gone is not None and not gone.active
    assert len(audit_rows(people, "masterdata.applied")) == 1
    again = admin_client.post(
        f"/verwaltung/stammdaten/{draft_id.group(1)}/uebernehmen", data={"sha256": sha.group(1)}
    )
    assert again.status_code == 409 and "schon übernommen" in again.text
    refused = [e for e in audit_rows(people, "masterdata.applied") if e.outcome == "denied"]
    assert [e.details["reason"] for e in refused] == ["draft_applied"]


def test_staff_preview_field_by_field_and_a_changed_draft_is_refused(people: Runtime) -> None:
    body = staff_csv_moving(CASEWORKER, "Leistung Niebüll")
    with transaction(people.sessions) as session:
        session.add(User(login="notfall", name="Notfall", role="leistung", break_glass=True))
        session.add(
            User(login="ext.2", name="E", role="leistung", source="ldap", external_id="cn=e")
        )
    with transaction(people.sessions) as session:
        draft, plan = admin.upload_draft(_gate(session, "admin"), "staff", "staff.csv", body)
        draft_id = draft.id
    changed = [r for r in plan.records if r.status != "unchanged"]
    # Data protection officers, break-glass and directory accounts are not the export's: they
    # stay although it does not name them (the administrator too).
    assert [(r.key, r.status) for r in changed] == [(CASEWORKER, "updated")]
    assert [(c.field, c.before, c.after) for c in changed[0].changes] == [
        ("Team", "Leistung Husum", "Leistung Niebüll")
    ]
    with transaction(people.sessions) as session:
        row = session.get(ImportDraft, draft_id)
        assert row is not None
        row.content = body + b"x.y,Neu,Team,leistung\n"
    with pytest.raises(Conflict) as refused, transaction(people.sessions) as session:
        admin.apply_draft(_gate(session, "admin"), draft_id, hashlib.sha256(body).hexdigest())
    assert "Vorschau" in refused.value.message
    assert account(people, CASEWORKER).team is not None
    with transaction(people.sessions, read_only=True) as session:
        user = session.scalar(select(User).where(User.login == CASEWORKER))
        assert user is not None and user.team is not None and user.team.name == "Leistung Husum"
    with pytest.raises(AccessDenied), transaction(people.sessions) as session:
        admin.upload_draft(_gate(session, CASEWORKER), "staff", "staff.csv", body)


def test_preview_and_import_share_one_plan(people: Runtime) -> None:
    """The preview's plan is what the import reports, for the same file."""
    body = _households_moved(sample("households.csv"))
    with transaction(people.sessions, read_only=True) as session:
        planned = plan_import(session, "households", body).report()
    with transaction(people.sessions) as session:
        done = import_households(session, read_csv(body, HOUSEHOLD_COLUMNS))
    assert planned.as_dict() == done.as_dict()
    assert (planned.created, planned.updated, planned.deactivated) == (
        ["95401BG9999999"],
        [KOCH],
        ["95401BG7267253"],
    )


# --- run-time settings -----------------------------------------------------------------------


def test_a_changed_setting_takes_effect_without_restart_and_reset(people: Runtime) -> None:
    """The deputy period's limit changes in the running app: a period allowed before is
    refused after the change, and allowed again after the reset."""
    days = 10
    today = local_today()
    period = {
        "deputy": "lsb.95401.2",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=days)).isoformat(),
    }
    with (
        pages_client_for(people, "admin") as admin_client,
        pages_client_for(people, CASEWORKER) as caseworker,
    ):
        answer = admin_client.post("/verwaltung/einstellungen/deputy_max_days", data={"wert": "5"})
        assert answer.status_code == 200 and "Einstellung geändert." in answer.text
        refused = caseworker.post("/vertretung", data=period)
        assert refused.status_code == 422, refused.text
        assert people.settings.deputy_max_days == 5
        assert people.configured.deputy_max_days == 42
        page = admin_client.get("/verwaltung/einstellungen").text
        row = re.search(r'<tr data-key="deputy_max_days">.*?</tr>', page, re.S)
        assert row is not None and "admin am" in row.group(0)
        assert '<td class="current">5 Tage</td>' in row.group(0)
        bad = admin_client.post("/verwaltung/einstellungen/deputy_max_days", data={"wert": "0"})
        assert bad.status_code == 422 and "mindestens 1" in bad.text
        admin_client.post(
            "/verwaltung/einstellungen/deputy_max_days", data={"aktion": "zuruecksetzen"}
        )
        allowed = caseworker.post("/vertretung", data=period, follow_redirects=False)
        assert allowed.status_code == 303, allowed.text
    changes = audit_rows(people, "settings.changed")
    assert [(e.outcome, e.details.get("after")) for e in changes] == [("ok", 5), ("denied", None)]
    assert changes[0].details["before"] == 42
    assert audit_rows(people, "settings.reset")[0].details == {"before": 5, "after": 42}


def test_another_process_follows_within_the_refresh(people: Runtime) -> None:
    """A second runtime on the same database (another process) sees the change after its
    cache's time, without a restart."""
    other = runtime_settings.OverrideCache(
        people.configured.resolved_database_url, refresh_seconds=0
    )
    assert other.effective(people.sessions, people.configured).qa_required is False
    with transaction(people.sessions) as session:
        runtime_settings.change(_gate(session, "admin"), people.configured, "qa_required", "ja")
    assert other.effective(people.sessions, people.configured).qa_required is True
    other.close()
    cached = runtime_settings.OverrideCache(refresh_seconds=3600)
    first = cached.effective(people.sessions, people.configured)
    assert cached.effective(people.sessions, people.configured) is first


def test_reading_the_overrides_leaves_the_products_engine_alone(people: Runtime) -> None:
    """A request that happens to refresh the overrides takes no statement and no connection
    of the product's engine (statement counts of a list stay the same, whenever it runs)."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(people.engine, "before_cursor_execute", count)
    try:
        people.overrides.forget()
        assert people.settings.deputy_max_days == 42
    finally:
        event.remove(people.engine, "before_cursor_execute", count)
    assert seen == []


def test_only_whitelisted_settings_change(people: Runtime, admin_client: TestClient) -> None:
    answer = admin_client.post("/verwaltung/einstellungen/secret_key", data={"wert": "x"})
    assert answer.status_code == 422
    assert "nicht zur Laufzeit" in answer.text
    with transaction(people.sessions, read_only=True) as session:
        assert session.get(runtime_settings.RuntimeSetting, "secret_key") is None


# --- state ------------------------------------------------------------------------------------


def test_status_shows_services_queue_failures_and_last_verification(
    people: Runtime, admin_client: TestClient
) -> None:
    with transaction(people.sessions) as session:
        session.add(
            Job(kind="batch", state="failed", attempts=3, last_error=f"OcrFailed: Brief {OWN} Koch")
        )
        session.add(Job(kind="batch", state="queued"))
        session.add(
            Job(
                kind="batch",
                state="running",
                lease_owner="host-a:4711",
                lease_expires_at=utcnow() - timedelta(minutes=5),
            )
        )
        session.add(
            Job(
                kind="batch",
                state="running",
                lease_owner="host-b:4712",
                lease_expires_at=utcnow() + timedelta(minutes=5),
            )
        )
        session.add(
            Job(
                kind="verify",
                state="done",
                result={"checked": 12, "problems": [{"object": "Original Koch.pdf"}], "ok": False},
                created_by_login="admin",
            )
        )
    page = admin_client.get("/verwaltung/status")
    assert page.status_code == 200
    text = page.text
    services = re.search(r'<ul id="services">.*?</ul>', text, re.S)
    assert services is not None
    assert re.search(r"Datenbank</strong> \(sqlite\): .*erreichbar.* – Version 3\.\d+", services[0])
    assert "Suchindex" in services[0] and "Dateispeicher" in services[0]
    assert "1 wartend" in text and "1 gescheitert" in text and "2 laufend" in text
    workers = re.search(r'<ul id="workers">.*?</ul>', text, re.S)
    assert workers is not None
    assert re.search(r"host-a:4711: <strong>meldet sich nicht mehr</strong>", workers.group(0))
    assert re.search(r"host-b:4712: bearbeitet einen Auftrag, Frist bis", workers.group(0))
    assert "OcrFailed" in text and OWN not in text and "Koch" not in text
    assert "12 Objekte geprüft, 1 Probleme" in text


def test_workers_report_in_and_a_silent_one_is_marked(
    people: Runtime, admin_client: TestClient
) -> None:
    """A running worker shows on the state page while it waits for work; one that stopped
    cleanly leaves it; one that died (no report for a while, no live lease) is marked."""
    import threading

    from ingest.worker import run_worker

    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(people, stop), daemon=True)
    worker.start()
    try:
        for _ in range(200):
            with transaction(people.sessions, read_only=True) as session:
                if session.scalar(select(WorkerHeartbeat)) is not None:
                    break
            stop.wait(0.1)
        page = admin_client.get("/verwaltung/status").text
        listed = re.search(r'<ul id="worker-processes">.*?</ul>', page, re.S)
        assert listed is not None
        assert re.search(r"\(Prozess \d+\): aktiv, zuletzt gemeldet", listed[0])
    finally:
        stop.set()
        worker.join(timeout=60)
    with transaction(people.sessions, read_only=True) as session:
        assert session.scalar(select(WorkerHeartbeat)) is None
    with transaction(people.sessions) as session:
        long_ago = utcnow() - timedelta(minutes=10)
        session.add(
            WorkerHeartbeat(
                worker_id="scan-2:99:ab",
                host="scan-2",
                pid=99,
                started_at=long_ago,
                seen_at=long_ago,
                jobs_done=7,
            )
        )
    page = admin_client.get("/verwaltung/status").text
    assert re.search(r"scan-2 \(Prozess 99\): <strong>meldet sich nicht mehr</strong>", page)
    assert "7 Aufträge erledigt" in page


def test_demo_data_has_offices_with_their_teams(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    from app.demo import load_demo_data

    samples = tmp_path / "samples"
    samples.mkdir()
    for name in ("staff.csv", "households.csv"):
        (samples / name).write_bytes(sample(name).read_bytes())
    sqlite_runtime.settings = sqlite_runtime.configured.model_copy(update={"samples_dir": samples})
    assert load_demo_data(sqlite_runtime) == 0  # no scans in this copy
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        teams, offices = admin.list_teams(_gate(session, "admin"))
    assert {o.name: o.teams for o in offices} == {
        "Dienststelle Husum": 4,
        "Dienststelle Niebüll": 2,
    }
    assert {t.name: t.office for t in teams}["Leistung Inseln"] == "Dienststelle Niebüll"


def test_a_decimal_setting_takes_a_german_comma_and_the_live_poll_follows(
    people: Runtime, admin_client: TestClient
) -> None:
    answer = admin_client.post("/verwaltung/einstellungen/live_poll_seconds", data={"wert": "7,5"})
    assert answer.status_code == 200, answer.text
    row = re.search(r'<tr data-key="live_poll_seconds">.*?</tr>', answer.text, re.S)
    assert row is not None and 'value="7,5"' in row[0]
    assert people.settings.live_poll_seconds == 7.5
