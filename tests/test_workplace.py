"""The caseworker's workplace through the API: Postkorb, deputies, the E-Akte, details, notes.

Documents are filed here through the routing service directly (the OCR pipeline that normally
feeds it is tested in test_processing and test_routing); everything after that is the product.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.dates import local_today
from core.db import transaction
from records.models import AuditEvent, Deputy, InboxItem
from records.runtime import Runtime
from tests.support import ISLANDS, OWN, add_admin, client_for, file_indexed, load_people


@pytest.fixture
def filed(sqlite_runtime: Runtime) -> dict[str, str]:
    load_people(sqlite_runtime)
    return {
        "payslip": file_indexed(sqlite_runtime, OWN, "verdienstabrechnung", "Lohn Oktober"),
        "statement": file_indexed(sqlite_runtime, OWN, "kontoauszug", "Kontoauszug Saldo"),
        "objection": file_indexed(
            sqlite_runtime,
            OWN,
            "widerspruch",
            "Widerspruch gegen Bescheid",
            target="team:Widerspruchsstelle",
        ),
        "islands": file_indexed(sqlite_runtime, ISLANDS, "kontoauszug", "Kontoauszug"),
    }


def test_postkorb_lists_counts_filters_and_works_items(sqlite_runtime: Runtime, filed) -> None:
    caseworker = client_for(sqlite_runtime, "lsb.95401.2")
    counts = caseworker.get("/api/inbox/counts").json()
    assert counts["mine"] == {"open": 2, "new": 2}
    body = caseworker.get("/api/inbox").json()
    assert body["total"] == 2
    assert {i["document"]["doc_type"] for i in body["items"]} == {
        "verdienstabrechnung",
        "kontoauszug",
    }
    item = body["items"][0]
    assert item["document"]["bg_number"] == OWN and item["document"]["household_name"]
    assert item["document"]["doc_type_name"] in ("Lohn-/Verdienstabrechnung", "Kontoauszug")
    only = caseworker.get("/api/inbox", params={"doc_type": "kontoauszug"}).json()
    assert [i["document"]["id"] for i in only["items"]] == [filed["statement"]]

    read = caseworker.post(f"/api/inbox/{item['id']}/read").json()
    assert read["state"] == "read"
    assert caseworker.get("/api/inbox/counts").json()["mine"] == {"open": 2, "new": 1}
    ids = [i["id"] for i in body["items"]]
    assert (
        caseworker.post("/api/inbox/bulk", json={"ids": ids, "action": "done"}).status_code == 200
    )
    assert caseworker.get("/api/inbox").json()["total"] == 0
    assert caseworker.get("/api/inbox", params={"state": "done"}).json()["total"] == 2

    # Another office's caseworker cannot touch these items, and a bulk action is all or nothing.
    stranger = client_for(sqlite_runtime, "lsb.95403.1")
    assert stranger.post(f"/api/inbox/{ids[0]}/reopen").status_code == 403
    island_item = (
        client_for(sqlite_runtime, "lsb.95403.2").get("/api/inbox").json()["items"][0]["id"]
    )
    islander = client_for(sqlite_runtime, "lsb.95403.2")
    mixed = islander.post("/api/inbox/bulk", json={"ids": [island_item, ids[0]], "action": "read"})
    assert mixed.status_code == 403
    island = client_for(sqlite_runtime, "lsb.95403.2").get("/api/inbox").json()["items"][0]
    assert island["state"] == "new"


def test_objections_office_takes_and_forwards_team_items(sqlite_runtime: Runtime, filed) -> None:
    office = client_for(sqlite_runtime, "ws.1")
    team = office.get("/api/inbox", params={"scope": "team"}).json()
    [item] = team["items"]
    assert item["team"] == "Widerspruchsstelle"
    taken = office.post(f"/api/inbox/{item['id']}/take").json()
    assert (taken["kind"], taken["user"]) == ("user", "ws.1")
    assert office.get("/api/inbox", params={"scope": "team"}).json()["total"] == 0

    # Forwarding to a caseworker who is not responsible for the household is refused.
    refused = office.post(
        f"/api/inbox/{item['id']}/forward", json={"to_user": "lsb.95403.1", "comment": "bitte"}
    )
    assert refused.status_code == 422 and "nicht zuständig" in refused.json()["error"]["message"]
    forwarded = office.post(
        f"/api/inbox/{item['id']}/forward",
        json={"to_user": "lsb.95401.2", "comment": "Bitte Unterlagen prüfen"},
    ).json()
    assert forwarded["user"] == "lsb.95401.2" and forwarded["comment"] == "Bitte Unterlagen prüfen"
    caseworker = client_for(sqlite_runtime, "lsb.95401.2")
    mine = caseworker.get("/api/inbox").json()["items"]
    assert filed["objection"] in [i["document"]["id"] for i in mine]


def test_return_to_clearing_needs_a_reason_and_takes_it_out_of_the_file(
    sqlite_runtime: Runtime, filed
) -> None:
    caseworker = client_for(sqlite_runtime, "lsb.95401.2")
    item = next(
        i
        for i in caseworker.get("/api/inbox").json()["items"]
        if i["document"]["id"] == filed["payslip"]
    )
    assert caseworker.post(f"/api/inbox/{item['id']}/return", json={}).status_code == 422
    back = caseworker.post(
        f"/api/inbox/{item['id']}/return", json={"comment": "gehört nicht zu diesem Haushalt"}
    )
    assert back.status_code == 200 and back.json()["kind"] == "clearing"
    assert caseworker.get(f"/api/documents/{filed['payslip']}").status_code == 403
    assert caseworker.get("/api/search", params={"q": "Lohn"}).json()["total"] == 0
    desk = client_for(sqlite_runtime, "post.1")
    clearing = desk.get("/api/clearing").json()
    assert clearing["items"][0]["reason"].startswith("Zurück in die Klärung (Laura Carstensen)")


def test_a_deputy_works_the_absent_colleagues_inbox_and_file_only_during_the_period(
    sqlite_runtime: Runtime, filed
) -> None:
    absent = client_for(sqlite_runtime, "lsb.95401.2")
    deputy = client_for(sqlite_runtime, "lsb.95403.1")  # another office: no access of her own
    assert deputy.get(f"/api/households/{OWN}/file").status_code == 403
    today = local_today()
    later = {
        "deputy": "lsb.95403.1",
        "starts_on": (today + timedelta(days=1)).isoformat(),
        "ends_on": (today + timedelta(days=5)).isoformat(),
    }
    # Across offices the colleague cannot name her; the administration can, with the team
    # lead's approval on record.
    refused = absent.post("/api/deputies", json=later)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "deputy_team"
    admin = _admin(sqlite_runtime)
    for_her = {"absent": "lsb.95401.2", "approved_by": "Teamleitung Husum (Frau Jensen)"}
    later = admin.post("/api/deputies", json=later | for_her)
    assert later.status_code == 201 and later.json()["active"] is False
    assert deputy.get(f"/api/households/{OWN}/file").status_code == 403  # not yet

    now = admin.post(
        "/api/deputies",
        json={
            "deputy": "lsb.95403.1",
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
        }
        | for_her,
    ).json()
    assert now["active"] is True
    assert deputy.get("/api/deputies").json()["i_stand_in_for"][0]["absent"]["login"] == (
        "lsb.95401.2"
    )
    counts = deputy.get("/api/inbox/counts").json()
    assert counts["deputy"] == [{"login": "lsb.95401.2", "name": "Laura Carstensen", "open": 2}]
    items = deputy.get("/api/inbox", params={"scope": "deputy"}).json()["items"]
    assert len(items) == 2
    assert deputy.post(f"/api/inbox/{items[0]['id']}/done").status_code == 200
    assert deputy.get(f"/api/households/{OWN}/file").status_code == 200
    note = deputy.post(f"/api/households/{OWN}/notes", json={"text": "Rückruf erledigt"}).json()
    assert note["author"] == "Sönke Wagner für Laura Carstensen"
    with transaction(sqlite_runtime.sessions) as session:
        done = session.scalar(select(AuditEvent).where(AuditEvent.action == "inbox.done"))
        assert (done.actor_login, done.on_behalf_of_login) == ("lsb.95403.1", "lsb.95401.2")

    # The period ended yesterday: access ends with it.
    with transaction(sqlite_runtime.sessions) as session:
        for entry in session.scalars(select(Deputy)):
            entry.starts_on = today - timedelta(days=3)
            entry.ends_on = today - timedelta(days=1)
    assert deputy.get(f"/api/households/{OWN}/file").status_code == 403
    assert deputy.get("/api/inbox", params={"scope": "deputy"}).json()["total"] == 0
    assert deputy.post(f"/api/inbox/{items[1]['id']}/done").status_code == 403


def test_deputies_are_named_by_the_absent_person_or_an_administrator(
    sqlite_runtime: Runtime, filed
) -> None:
    other = client_for(sqlite_runtime, "lsb.95401.3")
    today = local_today().isoformat()
    for_someone_else = other.post(
        "/api/deputies",
        json={
            "deputy": "lsb.95401.3",
            "absent": "lsb.95401.2",
            "starts_on": today,
            "ends_on": today,
        },
    )
    assert for_someone_else.status_code == 403
    itself = other.post(
        "/api/deputies", json={"deputy": "lsb.95401.3", "starts_on": today, "ends_on": today}
    )
    assert itself.status_code == 422
    entry = other.post(
        "/api/deputies", json={"deputy": "lsb.95401.1", "starts_on": today, "ends_on": today}
    ).json()
    assert (
        client_for(sqlite_runtime, "lsb.95401.1").delete(f"/api/deputies/{entry['id']}").status_code
        == 403
    )
    assert other.delete(f"/api/deputies/{entry['id']}").json()["revoked"] is True


def test_the_household_file_groups_documents_and_edits_are_audited(
    sqlite_runtime: Runtime, filed
) -> None:
    caseworker = client_for(sqlite_runtime, "lsb.95401.2")
    akte = caseworker.get(f"/api/households/{OWN}/file").json()
    assert akte["caseworker"]["login"] == "lsb.95401.2"
    assert akte["members"] and akte["address"]["town"]
    assert len(akte["timeline"]) == 3
    assert {g["doc_type"] for g in akte["by_type"]} == {
        "verdienstabrechnung",
        "kontoauszug",
        "widerspruch",
    }
    stranger = client_for(sqlite_runtime, "lsb.95403.1")
    assert stranger.get(f"/api/households/{OWN}/file").status_code == 403

    document = filed["statement"]
    changed = caseworker.patch(
        f"/api/documents/{document}", json={"doc_type": "mietbescheinigung", "sender": "Bank"}
    ).json()
    assert changed["changed"]["doc_type"] == ["kontoauszug", "mietbescheinigung"]
    hits = caseworker.get("/api/search", params={"q": "Saldo"}).json()["hits"]
    assert hits[0]["doc_type"] == "mietbescheinigung"  # re-indexed at once
    no_reason = caseworker.patch(f"/api/documents/{document}", json={"receipt_date": "2026-01-02"})
    assert no_reason.status_code == 422 and "begründen" in no_reason.json()["error"]["message"]
    with_reason = caseworker.patch(
        f"/api/documents/{document}",
        json={"receipt_date": "2026-01-02", "reason": "Eingangsstempel übersehen"},
    )
    assert with_reason.status_code == 200
    assert (
        caseworker.post(
            f"/api/documents/{document}/notes", json={"text": "Saldo geprüft"}
        ).status_code
        == 201
    )
    details = caseworker.get(f"/api/documents/{document}/details").json()
    assert details["notes"][0]["text"] == "Saldo geprüft"
    assert details["receipt_date"] == "2026-01-02"
    with transaction(sqlite_runtime.sessions) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document.details_changed")
        ).all()
        assert [e.details.get("reason") for e in events] == [None, "Eingangsstempel übersehen"]
        refused = session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "household.read", AuditEvent.outcome == "denied"
            )
        )
        assert refused.actor_login == "lsb.95403.1"


def _admin(runtime: Runtime):  # type: ignore[no-untyped-def]
    add_admin(runtime)
    return client_for(runtime, "admin")


def test_administrators_configure_but_do_not_read_files(sqlite_runtime: Runtime, filed) -> None:
    admin = _admin(sqlite_runtime)
    assert admin.get(f"/api/households/{OWN}/file").status_code == 403
    assert admin.get(f"/api/documents/{filed['payslip']}").status_code == 403
    assert admin.get("/api/inbox").json()["total"] == 0
    with transaction(sqlite_runtime.sessions) as session:
        assert session.scalars(select(InboxItem)).all()
