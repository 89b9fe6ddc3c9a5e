"""The retention section of the E-Akte, the file's lifecycle pages and the records manager's
list of files due (issue 17): forms (POST, PRG, German errors at the field), who may, labels
from the server, and a hostile hold reason shown as text."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.db import transaction
from records import lifecycle
from records.models import Household, RetentionHold
from records.retention import STATUS_LABELS
from records.runtime import Runtime
from tests.support import (
    ISLANDS,
    OWN,
    REPO,
    SAMPLES,
    add_admin,
    add_records_manager,
    audit_rows,
    client_for,
    load_people,
    pages_client_for,
)

HOSTILE = "<img src=x onerror=alert(1)>"
CASEWORKER = "lsb.95401.2"  # OWN's caseworker


@pytest.fixture
def people(sqlite_runtime: Runtime) -> Iterator[Runtime]:
    load_people(sqlite_runtime)
    add_admin(sqlite_runtime)
    add_records_manager(sqlite_runtime)
    yield sqlite_runtime


def _post(client: TestClient, bg: str, operation: str, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(f"/akte/{bg}/aufbewahrung/{operation}", data=fields, follow_redirects=False)


def _hold_id(runtime: Runtime) -> int:
    with transaction(runtime.sessions, read_only=True) as session:
        found = session.scalar(select(RetentionHold.id).order_by(RetentionHold.id.desc()))
        assert found is not None
        return found


def test_close_hold_and_the_records_managers_list(people: Runtime) -> None:
    caseworker = pages_client_for(people, CASEWORKER)
    closed = _post(
        caseworker, OWN, "schliessen", event_date="2014-06-30", reason="Umzug", zurueck="akte"
    )
    assert closed.status_code == 303
    assert closed.headers["location"] == f"/akte/{OWN}?gespeichert=geschlossen#aufbewahrung"
    page = caseworker.get(closed.headers["location"]).text
    assert "Die Akte ist geschlossen." in page
    assert "Aufbewahrungsfrist abgelaufen" in page and "01.01.2025" in page
    assert "Maßgebliches Ereignis (das späteste)" in page

    held = _post(
        caseworker, OWN, "sperre", reason_code="erstattung", text=HOSTILE, until="", zurueck="akte"
    )
    assert held.status_code == 303
    page = caseworker.get(f"/akte/{OWN}").text
    assert 'id="akte-held"' in page and "Abgelaufen, aber gesperrt" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and HOSTILE not in page

    manager = pages_client_for(people, "schriftgut")
    listing = manager.get("/schriftgut")
    assert listing.status_code == 200
    row = re.search(rf"<tr class=\"due-held\">.*?{OWN}.*?</tr>", listing.text, re.S)
    assert row and "Erstattungs- oder Rückforderungsanspruch" in row.group(0)
    assert "&lt;img src=x onerror=alert(1)&gt;" in row.group(0) and HOSTILE not in listing.text
    only_due = manager.get("/schriftgut/liste?filter=abgelaufen")
    assert only_due.status_code == 200 and OWN not in only_due.text
    assert "Nur fällig: 0 Akten" in only_due.text
    assert OWN in manager.get("/schriftgut/liste?filter=gesperrt").text

    # The records manager's page of the file: metadata, no member's name.
    mine = manager.get(f"/schriftgut/akte/{OWN}")
    assert mine.status_code == 200 and "Abgelaufen, aber gesperrt" in mine.text
    with transaction(people.sessions, read_only=True) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        assert household is not None
        names = [m.last_name for m in household.members] + [m.first_name for m in household.members]
    assert names and not [n for n in names if n in mine.text]
    assert manager.get(f"/akte/{OWN}").status_code == 403

    lifted = _post(
        manager,
        OWN,
        "sperre-aufheben",
        sperre=str(_hold_id(people)),
        reason="Forderung beglichen",
        zurueck="schriftgut",
    )
    assert (
        lifted.headers["location"] == f"/schriftgut/akte/{OWN}?gespeichert=entsperrt#aufbewahrung"
    )
    assert OWN in manager.get("/schriftgut/liste?filter=abgelaufen").text
    assert [r.outcome for r in audit_rows(people, "retention.hold_lifted")] == ["ok"]


def test_errors_stay_at_the_field_with_what_was_typed(people: Runtime) -> None:
    caseworker = pages_client_for(people, CASEWORKER)
    empty = _post(caseworker, OWN, "sperre", reason_code="pruefung", text=" ", until="2099-01-01")
    assert empty.status_code == 422
    assert "Bitte eine Begründung der Sperre angeben." in empty.text
    assert 'aria-invalid="true" aria-describedby="ret-text-error"' in empty.text
    assert 'value="2099-01-01"' in empty.text
    future = _post(caseworker, OWN, "schliessen", event_date="2999-01-01", reason="x")
    assert future.status_code == 422 and "nicht in der Zukunft" in future.text
    assert 'value="x"' in future.text


def test_who_may_not(people: Runtime) -> None:
    caseworker = pages_client_for(people, CASEWORKER)
    foreign = _post(caseworker, ISLANDS, "sperre", reason_code="pruefung", text="x")
    assert foreign.status_code == 403
    assert [r.bg_number for r in audit_rows(people, "retention.hold_set")] == [ISLANDS]
    assert caseworker.get("/schriftgut").status_code == 403
    admin = pages_client_for(people, "admin")
    assert admin.get("/schriftgut").status_code == 403
    assert admin.get(f"/schriftgut/akte/{OWN}").status_code == 403
    assert _post(admin, OWN, "wiedereroeffnen", reason="x").status_code == 403


def test_the_list_labels_come_from_the_server() -> None:
    script = (REPO / "web/static/schriftgut.js").read_text()
    labels = [*STATUS_LABELS.values(), *lifecycle.FILTER_NAMES.values(), "gesperrt", "fällig"]
    assert not [label for label in labels if label.lower() in script.lower()]
    assert "innerHTML" not in script


def _with_benefits_end(bg: str, end: str) -> bytes:
    """The sample households with the column benefits_end, `end` on `bg`'s rows."""
    lines = (SAMPLES / "households.csv").read_text(encoding="utf-8").strip().splitlines()
    rows = [lines[0] + ",benefits_end"]
    rows += [line + ("," + end if line.startswith(bg) else ",") for line in lines[1:]]
    return ("\n".join(rows) + "\n").encode()


def test_the_import_preview_counts_files_closed_then_applies_them(people: Runtime) -> None:
    admin = pages_client_for(people, "admin")
    uploaded = admin.post(
        "/verwaltung/stammdaten",
        data={"art": "households"},
        files={"datei": ("bg.csv", _with_benefits_end(OWN, "2014-06-30"), "text/csv")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    preview = admin.get(uploaded.headers["location"]).text
    assert "<li>1 Akten geschlossen</li>" in preview
    assert "<li>0 Akten wiedereröffnet</li>" in preview
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', preview)
    action = re.search(r'action="(/verwaltung/stammdaten/[^"]+/uebernehmen)"', preview)
    assert sha and action
    applied = admin.post(action.group(1), data={"sha256": sha.group(1)})
    assert "1 Akten geschlossen" in applied.text
    caseworker = pages_client_for(people, CASEWORKER)
    page = caseworker.get(f"/akte/{OWN}").text
    assert "Aufbewahrungsfrist abgelaufen" in page and "Stammdatenimport" in page
    assert "Leistungsende laut Fachverfahren" in page


def test_the_import_api_names_the_files_it_closed_and_reopened(people: Runtime) -> None:
    admin = client_for(people, "admin")
    headers = {"Content-Type": "text/csv"}
    closed = admin.post(
        "/api/import/households", content=_with_benefits_end(OWN, "2014-06-30"), headers=headers
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed"] == [OWN] and closed.json()["reopened"] == []
    assert "1 Akten geschlossen" in closed.json()["summary"]
    reopened = admin.post(
        "/api/import/households", content=_with_benefits_end(OWN, ""), headers=headers
    )
    assert reopened.json()["reopened"] == [OWN] and reopened.json()["closed"] == []
