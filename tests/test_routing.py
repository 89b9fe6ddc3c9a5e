"""Scanned letters reach the inbox of whoever is responsible, or clearing, without a hand.

Real OCR on sample scans, real workers, the real command line; master data changes and the
clearing desk's corrections take effect on the next letter.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import transaction
from records.masterdata import HOUSEHOLD_COLUMNS, import_households, read_csv
from records.models import AuditEvent, Document, InboxItem, RecognitionAlias, User
from records.runtime import Runtime
from tests.support import (
    client_for,
    load_people,
    run_cli,
    sample,
    settings_env,
    work_until_idle,
)

pytestmark = pytest.mark.slow


def _truth() -> dict[str, dict[str, object]]:
    entries = (json.loads(line) for line in sample("truth.jsonl").read_text().splitlines())
    return {Path(str(entry["file"])).name: entry for entry in entries}


def _upload(runtime: Runtime, *names: str) -> None:
    desk = client_for(runtime, "post.1")
    for name in names:
        response = desk.post(
            "/api/documents", files={"file": (name, sample(f"docs/{name}").read_bytes())}
        )
        assert response.status_code == 201, response.text


def _inbox(item: InboxItem) -> dict[str, str]:
    if item.kind == "user":
        return {"kind": "user", "user": item.user.login}
    if item.kind == "team":
        return {"kind": "team", "team": item.team.name}
    return {"kind": "clearing"}


def test_letters_are_routed_to_the_responsible_inbox_with_a_german_reason(
    runtime: Runtime,
) -> None:
    load_people(runtime)
    truth = _truth()
    # An objection (team), a rent certificate with its BG number printed (caseworker), a sick
    # note (case manager) and an upside-down letter from a landlord about no known client.
    names = ["0003.pdf", "0009.pdf", "0006.pdf", "0018.pdf"]
    _upload(runtime, *names)
    work_until_idle(runtime)

    with transaction(runtime.sessions) as session:
        documents = {d.source_name: d for d in session.scalars(select(Document))}
        for name in names:
            document = documents[name]
            [item] = session.scalars(
                select(InboxItem).where(InboxItem.document_id == document.id)
            ).all()
            assert _inbox(item) == truth[name]["expected_inbox"], (name, item.reason)
            assert document.doc_type == truth[name]["doc_type"], (name, item.reason)
            expected_bg = truth[name]["bg_number"] if item.kind != "clearing" else None
            bg_number = document.household.bg_number if document.household else None
            assert bg_number == expected_bg
            assert document.recognition and document.routed_by == "auto"
        rent = session.scalar(
            select(InboxItem).join(Document).where(Document.source_name == "0009.pdf")
        )
        assert "BG-Nummer" in rent.reason and "Seite 1" in rent.reason
        landlord = session.scalar(
            select(InboxItem).join(Document).where(Document.source_name == "0018.pdf")
        )
        assert landlord.reason.startswith("Klärung:")
        routed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document.routed")
        ).all()
        assert len(routed) == 4

    # The caseworker finds the rent certificate; the one of another team does not.
    responsible = client_for(runtime, "lsb.95401.2")
    hits = responsible.get("/api/search", params={"q": "Mietbescheinigung"}).json()["hits"]
    assert [hit["document_id"] for hit in hits] == [str(documents["0009.pdf"].id)]
    stranger = client_for(runtime, "lsb.95403.1")
    assert stranger.get("/api/search", params={"q": "Mietbescheinigung"}).json()["total"] == 0


def test_a_new_caseworker_in_the_master_data_gets_the_next_letter(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    runtime = sqlite_runtime
    load_people(runtime)
    truth = _truth()["0009.pdf"]
    rows = read_csv(sample("households.csv"), HOUSEHOLD_COLUMNS)
    for row in rows:
        if row["bg_number"] == truth["bg_number"]:
            row["caseworker"] = "lsb.95401.1"
    with transaction(runtime.sessions) as session:
        report = import_households(session, rows)
    assert report.updated == [truth["bg_number"]]

    _upload(runtime, "0009.pdf")
    work_until_idle(runtime)
    with transaction(runtime.sessions) as session:
        item = session.scalar(select(InboxItem))
        assert _inbox(item) == {"kind": "user", "user": "lsb.95401.1"}

    # A caseworker who left: the letter goes to their team's inbox, not to them.
    with transaction(runtime.sessions) as session:
        leaver = session.scalar(select(User).where(User.login == "lsb.95401.1"))
        leaver.active = False
        team = leaver.team.name
    _upload(runtime, "0009.pdf")
    work_until_idle(runtime)
    with transaction(runtime.sessions) as session:
        newest = session.scalars(select(InboxItem).order_by(InboxItem.id.desc())).first()
        assert _inbox(newest) == {"kind": "team", "team": team}
        assert "nicht mehr aktiv" in newest.reason


def test_the_clearing_desk_files_a_letter_by_hand_and_it_reaches_the_caseworker(
    sqlite_runtime: Runtime,
) -> None:
    runtime = sqlite_runtime
    load_people(runtime)
    # The landlord's tenant is not in the master data yet; the household moves in later.
    _upload(runtime, "0018.pdf")
    work_until_idle(runtime)
    desk = client_for(runtime, "post.1")
    clearing = desk.get("/api/clearing").json()
    assert clearing["total"] == 1
    [entry] = clearing["items"]
    assert entry["reason"].startswith("Klärung:")
    thumb = desk.get(f"/api/documents/{entry['document_id']}/pages/1/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"

    caseworker = client_for(runtime, "lsb.95401.2")
    assert caseworker.get("/api/clearing").status_code == 403
    assert caseworker.get(f"/api/documents/{entry['document_id']}").status_code == 403

    found = desk.get("/api/households", params={"q": "Christiansen"}).json()["households"]
    assert "95401BG7267253" in [h["bg_number"] for h in found]
    by_birth = desk.get("/api/households", params={"q": "18.03.1972"}).json()["households"]
    assert "95401BG7267253" in [h["bg_number"] for h in by_birth]

    wrong = desk.post(
        f"/api/documents/{entry['document_id']}/filing",
        json={"bg_number": "99999BG9999999", "doc_type": "nebenkostenabrechnung"},
    )
    assert wrong.status_code == 422 and "nicht bekannt" in wrong.json()["error"]["message"]
    filed = desk.post(
        f"/api/documents/{entry['document_id']}/filing",
        json={"bg_number": "95401 BG 7267253", "doc_type": "nebenkostenabrechnung"},
    )
    assert filed.status_code == 200, filed.text
    assert filed.json()["inbox"] == {"kind": "user", "user": "lsb.95401.2"}
    again = desk.post(
        f"/api/documents/{entry['document_id']}/filing",
        json={"bg_number": "95401BG7267253", "doc_type": "sonstiges"},
    )
    assert again.status_code == 409

    assert caseworker.get(f"/api/documents/{entry['document_id']}").status_code == 200
    assert desk.get("/api/clearing").json()["total"] == 0
    with transaction(runtime.sessions) as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document.filed_by_hand")
        ).all()
        assert event.actor_login == "post.1" and event.bg_number == "95401BG7267253"
        assert event.details["previous_bg_number"] is None
        # The tenant is not a member of the household chosen here: nothing is learned from it.
        assert session.scalars(select(RecognitionAlias)).all() == []


def test_master_data_import_through_the_api_is_for_administrators(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
    load_people(runtime)
    caseworker = client_for(runtime, "lsb.95401.2")
    csv = sample("households.csv").read_bytes()
    refused = caseworker.post("/api/import/households", content=csv)
    assert refused.status_code == 403


def test_command_line_lists_every_document_with_its_inbox(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    runtime = sqlite_runtime
    env = settings_env(runtime.settings)

    def eakte(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(env, *args, timeout=600)

    assert eakte("import", "staff", str(sample("staff.csv"))).returncode == 0
    assert eakte("import", "households", str(sample("households.csv"))).returncode == 0
    broken = tmp_path / "kaputt.pdf"
    broken.write_bytes(b"%PDF-1.4 nothing else")
    ingested = eakte("ingest", str(sample("docs/0003.pdf")), str(sample("docs/0009.pdf")), "--wait")
    assert ingested.returncode == 0, ingested.stderr
    assert "zugestellt" in ingested.stderr
    failing = eakte("ingest", str(broken), "--wait")
    assert failing.returncode != 0

    listed = eakte("documents", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["source"]: row for row in json.loads(listed.stdout)}
    truth = _truth()
    for name in ("0003.pdf", "0009.pdf"):
        row = rows[name]
        assert row["inbox"] == truth[name]["expected_inbox"]
        assert row["doc_type"] == truth[name]["doc_type"]
        assert row["bg_number"] == truth[name]["bg_number"]
        assert row["pages"] == 1 and row["status"] == "routed" and row["id"]
