"""Issue 17's acceptance on the real services (PostgreSQL, MinIO with a versioned, locked
bucket, OpenSearch): files due → 0501 (schema-valid) → the archive's 0502 → 0503 with the chosen
files' PDFs (schema-valid) → the archive's 0506 → destruction approved by two people, run by the
worker → nothing of the destroyed files is left in the database, the blob store (any version) or
the index; the protocols are there; a file on hold and a file the archive took but whose import
it has not confirmed are untouched; `eakte verify` confirms it; the run's messages naming
clients are gone with it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.runtime import Runtime
from core.config import Settings
from core.db import transaction
from records.access import Gate
from records.destruction import approve, request_run
from records.disposal import import_message, start_run, transfer
from records.models import (
    AuditEvent,
    DestructionProtocol,
    DisposalItem,
    DisposalMessage,
    DisposalRun,
    Document,
    Household,
    Page,
    User,
)
from records.routing import index_entry
from tests.support import (
    ISLANDS,
    KOCH,
    NEIGHBOUR,
    OWN,
    _password_hash,
    cli_env,
    file_letter,
    make_settings,
    run_cli,
    settings_env,
    work_until_idle,
)
from tests.support_xdomea17 import (
    TODAY,
    archive_message,
    assert_valid,
    gate_of,
    prepare_files,
    store_rendition,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def stack(
    tmp_path: Path,
    postgres_url: str,
    s3_settings: dict[str, object],
    opensearch_settings: dict[str, object],
) -> Iterator[tuple[Runtime, Settings]]:
    from app.runtime import build_runtime

    settings = make_settings(
        tmp_path / "data",
        database_url=postgres_url,
        s3_object_lock=True,
        s3_retention_mode="GOVERNANCE",
        s3_retention_days=1,
        **s3_settings,
        **opensearch_settings,
    )
    built = build_runtime(settings)
    yield built, settings
    built.close()


def _import(runtime: Runtime, path: Path, out: Path) -> dict[str, int]:
    with transaction(runtime.sessions) as session:
        result = import_message(
            gate_of(session), runtime.blobs, runtime.settings, path.read_bytes(), path.name, out
        )
        return dict(result.counts)


def _keys_of(runtime: Runtime, bg: str) -> tuple[list[uuid.UUID], list[str]]:
    with transaction(runtime.sessions, read_only=True) as session:
        documents = session.scalars(
            select(Document).join(Household).where(Household.bg_number == bg)
        ).all()
        keys = [k for d in documents for k in (d.pdf_key, d.scan_record_key) if k]
        return [d.id for d in documents], keys


@pytest.mark.parametrize("islands_imported", [False, True], ids=["one-import-failed", "all-done"])
def test_files_due_offered_archived_and_destroyed_leave_nothing(
    stack: tuple[Runtime, Settings], tmp_path: Path, islands_imported: bool
) -> None:
    runtime, settings = stack
    out = tmp_path / "out"
    documents = prepare_files(runtime, tmp_path / "work")  # OWN, NEIGHBOUR due; KOCH held
    with transaction(runtime.sessions) as session:
        islands = session.scalars(select(Household).where(Household.bg_number == ISLANDS)).one()
        islands.benefits_end = date(2014, 3, 31)
        letter = file_letter(
            session, islands, "sonstiges", "Inselbrief", receipt_date=date(2013, 1, 2)
        )
        session.flush()
        store_rendition(runtime, letter, tmp_path / "work", "Inselbrief")
        letter_id = letter.id
        for login in ("schriftgut", "schriftgut2"):
            session.add(
                User(
                    login=login,
                    name=f"Akten {login}",
                    role="schriftgut",
                    password_hash=_password_hash(),
                )
            )
        for document in session.scalars(select(Document)):
            runtime.index.index(index_entry(document))
    own_ids, own_keys = _keys_of(runtime, OWN)
    neighbour_ids, neighbour_keys = _keys_of(runtime, NEIGHBOUR)
    assert all(runtime.index.contains(str(d)) for d in own_ids + neighbour_ids)

    # The due list on the command line: OWN, NEIGHBOUR, ISLANDS due; KOCH held with its reason.
    env = cli_env(tmp_path / "data", **settings_env(settings))
    due = run_cli(env, "records", "due", "--json")
    assert due.returncode == 0, due.stderr
    listed = {f["bg_number"]: f for f in json.loads(due.stdout)}
    assert {bg: f["status"] for bg, f in listed.items()} == {
        OWN: "due",
        NEIGHBOUR: "due",
        ISLANDS: "due",
        KOCH: "held",
    }
    assert "Rückforderung offen" in json.dumps(listed[KOCH]["holds"], ensure_ascii=False)

    # 0501 for the three files due, none for the held one.
    with transaction(runtime.sessions) as session:
        written = start_run(gate_of(session), runtime.blobs, runtime.settings, TODAY, out)
        assert written is not None
        run = session.get_one(DisposalRun, written.message.run_id)
        run_id, process_id = run.id, run.process_id
        ids = {i.bg_number: str(i.file_uuid) for i in run.items}
    assert set(ids) == {OWN, NEIGHBOUR, ISLANDS}
    assert_valid(written.path)

    # The archive keeps OWN and ISLANDS, OWN's and ISLANDS' documents go over in the 0503.
    evaluation = archive_message(
        "0502",
        process_id,
        [(ids[OWN], "A"), (ids[NEIGHBOUR], "V"), (ids[ISLANDS], "A")],
        tmp_path / "archive",
    )
    assert _import(runtime, evaluation, out) == {"to_archive": 2, "to_destroy": 1}
    with transaction(runtime.sessions) as session:
        sent = transfer(gate_of(session), runtime.blobs, runtime.settings, run_id, TODAY, out)
    assert sent is not None
    assert_valid(sent.path)
    # OWN imported (it may go now); ISLANDS' import failed at the archive (it stays).
    islands_ref = "LA-17-2" if islands_imported else ""
    confirmation = archive_message(
        "0506", process_id, [(ids[OWN], "LA-17-1"), (ids[ISLANDS], islands_ref)], tmp_path / "a2"
    )
    expected = {"archived": 2} if islands_imported else {"archived": 1, "import_failed": 1}
    assert _import(runtime, confirmation, out) == expected
    message_keys = _message_keys(runtime)
    assert len(message_keys) == 2  # the 0501 and the 0503 name clients

    # Four eyes: one records manager asks and approves, a second one approves.
    with transaction(runtime.sessions) as session:
        order = request_run(
            gate_of_user(session, "schriftgut"),
            run_id,
            "Aufbewahrungsfrist abgelaufen, Archiv hat bewertet",
        )
        order_id = order.id
        assert approve(gate_of_user(session, "schriftgut"), order_id) == []
    with transaction(runtime.sessions) as session:
        assert len(approve(gate_of_user(session, "schriftgut2"), order_id)) == 2 + islands_imported
    work_until_idle(runtime)

    # Nothing of OWN and NEIGHBOUR is left anywhere.
    with transaction(runtime.sessions, read_only=True) as session:
        destroyed = [OWN, NEIGHBOUR, ISLANDS] if islands_imported else [OWN, NEIGHBOUR]
        for bg in destroyed:
            assert session.scalar(select(Household.id).where(Household.bg_number == bg)) is None
        gone = own_ids + neighbour_ids
        assert session.scalar(select(Document.id).where(Document.id.in_(gone))) is None
        assert session.scalar(select(Page.id).where(Page.document_id.in_(gone))) is None
        protocols = session.scalars(select(DestructionProtocol)).all()
        assert sorted(p.bg_number for p in protocols) == sorted(destroyed)
        assert {p.state for p in protocols} == {"done"}
        own_protocol = next(p for p in protocols if p.bg_number == OWN)
        assert own_protocol.archive_ref == "LA-17-1"
        assert sorted(own_protocol.approved_by) == ["schriftgut", "schriftgut2"]
        protocol_keys = [k for p in protocols for k in (p.pdf_key, p.json_key)]
        states = {i.bg_number: i.state for i in session.scalars(select(DisposalItem))}
        # The held file was never offered; a file whose import failed stays.
        islands_state = "destroyed" if islands_imported else "import_failed"
        assert states == {OWN: "destroyed", NEIGHBOUR: "destroyed", ISLANDS: islands_state}
        for bg in [KOCH] if islands_imported else [KOCH, ISLANDS]:
            household = session.scalars(select(Household).where(Household.bg_number == bg)).one()
            assert household.destruction_started_at is None
        kept = [uuid.UUID(d) for d in documents[KOCH]]
        if not islands_imported:
            kept.append(letter_id)
        assert len(session.scalars(select(Document).where(Document.id.in_(kept))).all()) == len(
            kept
        )
        run = session.get_one(DisposalRun, run_id)
        # The run closes with its last file; its messages naming clients go with it.
        assert (run.state == "closed") is islands_imported
        destroyed_audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "destruction.done")
        ).all()
        assert sorted(r.bg_number or "" for r in destroyed_audit) == sorted(destroyed)
    for key in own_keys + neighbour_keys:
        assert runtime.blobs.version_count(key) == 0, key
    for document_id in own_ids + neighbour_ids:
        assert not runtime.index.contains(str(document_id))
    assert all(runtime.index.contains(str(uuid.UUID(d))) for d in documents[KOCH])
    for key in protocol_keys:
        assert key and runtime.blobs.version_count(key) >= 1
    checked = run_cli(env, "verify")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (_message_keys(runtime) == []) is islands_imported
    for key in message_keys:
        assert (runtime.blobs.version_count(key) == 0) is islands_imported


def _message_keys(runtime: Runtime) -> list[str]:
    with transaction(runtime.sessions, read_only=True) as session:
        return [
            m.blob_key
            for m in session.scalars(
                select(DisposalMessage).where(DisposalMessage.msg_type.in_(("0501", "0503")))
            )
            if m.blob_key
        ]


def gate_of_user(session: Session, login: str) -> Gate:
    return Gate(session, session.scalars(select(User).where(User.login == login)).one())
