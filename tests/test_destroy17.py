"""Documented destruction (issue 17): four-eyes orders, the resumable job, the protocol,
`eakte verify`, single-document erasure and restriction. On the embedded backends and on
PostgreSQL + MinIO (versioned bucket with GOVERNANCE object lock) + OpenSearch."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.config import Settings
from core.db import transaction
from core.errors import AccessDenied
from records.access import Gate, household_grant
from records.destruction import (
    CRASH_AFTER_ENV,
    approve,
    lift_restriction,
    reject,
    request_document,
    request_run,
    restrict,
    verify,
)
from records.models import (
    DestructionOrder,
    DestructionProtocol,
    DisposalItem,
    DisposalRun,
    Document,
    Household,
    InboxItem,
    Member,
    Note,
    RetentionHold,
    ScanBatch,
    User,
)
from records.reindex import file_note_entry
from records.routing import index_entry
from records.runtime import Runtime
from search import SearchQuery
from tests.support import (
    NEIGHBOUR,
    OWN,
    _password_hash,
    audit_rows,
    cli_env,
    file_letter,
    load_people,
    run_cli,
    settings_env,
    work_until_idle,
)

HELD = "95403BG6577899"
CASEWORKER = "lsb.95401.2"  # OWN's caseworker
OTHER_WORKER = "lsb.95402.1"  # Niebüll: no need-to-know for Husum


@pytest.fixture
def rt(backend_settings: Settings) -> Iterator[Runtime]:
    """The product's runtime; on MinIO a versioned bucket with GOVERNANCE object lock."""
    from app.runtime import build_runtime

    settings = backend_settings.model_copy(
        update={
            "s3_object_lock": True,
            "s3_retention_mode": "GOVERNANCE",
            "s3_retention_days": 1,
            "job_lease_seconds": 1,
        }
    )
    built = build_runtime(settings)
    yield built
    built.close()


def _blob(runtime: Runtime, key: str, content: bytes = b"x") -> str:
    return runtime.blobs.put(key, io.BytesIO(content + key.encode())).sha256


@dataclass
class World:
    run_id: int
    own: list[str]  # documents of the file to destroy
    neighbour: str  # a letter of another household from the same batch
    own_keys: list[str]
    shared_original: str
    note_key: str
    member_name: str


def _user(session, login: str, role: str = "schriftgut") -> User:  # type: ignore[no-untyped-def]
    user = User(login=login, name=f"Person {login}", role=role, password_hash=_password_hash())
    session.add(user)
    return user


def _letter(runtime, session, household, batch, original, text):  # type: ignore[no-untyped-def]
    document = file_letter(
        session,
        household,
        "sonstiges",
        text,
        original_key=original,
        batch_id=batch.id,
        pdf_key=f"documents/{uuid.uuid4()}.pdf",
        received_at=datetime(2010, 3, 1, 9, tzinfo=UTC),
        receipt_date=date(2010, 3, 1),
    )
    session.flush()
    document.pdf_sha256 = _blob(runtime, document.pdf_key)
    page = document.pages[0]
    for kind in ("image", "thumb", "words"):
        key = f"pages/{document.id}/{kind}-1"
        setattr(page, f"{kind}_key", key)
        setattr(page, f"{kind}_sha256", _blob(runtime, key))
    session.flush()
    runtime.index.index(index_entry(document))
    return document


def _batch(runtime, session, original: str) -> ScanBatch:  # type: ignore[no-untyped-def]
    batch = ScanBatch(
        source_name="stapel.pdf",
        content_type="application/pdf",
        size_bytes=10,
        original_key=original,
        original_sha256=_blob(runtime, original),
        status="processed",
    )
    session.add(batch)
    session.flush()
    return batch


def build_world(runtime: Runtime) -> World:
    load_people(runtime)
    with transaction(runtime.sessions) as session:
        for login in ("sg1", "sg2"):
            _user(session, login)
        homes = {
            h.bg_number: h
            for h in session.scalars(
                select(Household).where(Household.bg_number.in_((OWN, NEIGHBOUR, HELD)))
            )
        }
        for number in (OWN, HELD):
            homes[number].benefits_end = date(2010, 6, 30)
        shared, single = "originals/ab/shared-stack", "originals/cd/own-letter"
        stack, own_batch = _batch(runtime, session, shared), _batch(runtime, session, single)
        a1 = _letter(runtime, session, homes[OWN], stack, shared, "Mietvertrag Geheimwort")
        b1 = _letter(runtime, session, homes[NEIGHBOUR], stack, shared, "Nachbarbrief Geheimwort")
        a2 = _letter(runtime, session, homes[OWN], own_batch, single, "Kontoauszug Geheimwort")
        b1.duplicate_of_id = a1.id  # a pointer from another file into the destroyed one
        held_batch = _batch(runtime, session, "originals/ef/held")
        held_doc = _letter(runtime, session, homes[HELD], held_batch, "originals/ef/held", "Wort")
        note = Note(household_id=homes[OWN].id, author_login="x", author_name="X", text="Akte")
        session.add(note)
        session.flush()
        runtime.index.index(file_note_entry(note, OWN))
        # An older version and a delete marker under one key (a versioned bucket keeps them).
        runtime.blobs.delete(a2.pdf_key)  # type: ignore[arg-type]
        _blob(runtime, a2.pdf_key, b"v2")  # type: ignore[arg-type]
        session.add(
            RetentionHold(
                household_id=homes[HELD].id,
                reason_code="erstattung",
                reason_text="Erstattungsforderung offen",
                set_by_login="sg1",
            )
        )
        run = DisposalRun(archive_name="Landesarchiv", created_by_login="sg1")
        session.add(run)
        session.flush()
        for number in (OWN, HELD):
            h = homes[number]
            assert h.file_uuid is not None
            session.add(
                DisposalItem(
                    run_id=run.id,
                    household_id=h.id,
                    bg_number=number,
                    file_uuid=h.file_uuid,
                    event_date=date(2010, 6, 30),
                    due_from=date(2021, 1, 1),
                    years=10,
                    rule="Akte: 10 Jahre",
                    state="to_destroy",
                )
            )
        member = session.scalar(select(Member).where(Member.household_id == homes[OWN].id))
        assert member is not None
        keys = [a1.pdf_key, a2.pdf_key, single] + [
            f"pages/{d.id}/{k}-1" for d in (a1, a2) for k in ("image", "thumb", "words")
        ]
        assert held_doc.id
        return World(
            run.id,
            [str(a1.id), str(a2.id)],
            str(b1.id),
            [k for k in keys if k],
            shared,
            f"vermerk-{note.id}",
            member.last_name,
        )


def _gate_do(runtime: Runtime, login: str, action, *args):  # type: ignore[no-untyped-def]
    with transaction(runtime.sessions) as session:
        user = session.scalar(select(User).where(User.login == login))
        assert user is not None
        return action(Gate(session, user), *args)


def _approved_run(runtime: Runtime, world: World) -> int:
    order = _gate_do(
        runtime, "sg1", lambda g, r: request_run(g, r, "Frist abgelaufen").id, world.run_id
    )
    assert _gate_do(runtime, "sg1", approve, order) == []
    jobs = _gate_do(runtime, "sg2", approve, order)
    assert len(jobs) == 2  # one per destroyable file
    return int(order)


def _found(runtime: Runtime, text: str) -> int:
    query = SearchQuery(text=text, allowed=frozenset({OWN, NEIGHBOUR, "clearing", "gesperrt"}))
    return runtime.index.search(query).total


def _assert_nothing_left(runtime: Runtime, world: World) -> None:
    with transaction(runtime.sessions, read_only=True) as session:
        assert session.scalar(select(Household).where(Household.bg_number == OWN)) is None
        ids = [uuid.UUID(d) for d in world.own]
        assert session.scalar(select(func.count(Document.id)).where(Document.id.in_(ids))) == 0
        assert session.scalar(select(Note.id).where(Note.text == "Akte")) is None
        assert (
            session.scalar(select(func.count(InboxItem.id)).where(InboxItem.document_id.in_(ids)))
            == 0
        )
    for key in world.own_keys:
        assert runtime.blobs.version_count(key) == 0, key
    for entry in [*world.own, world.note_key]:
        assert not runtime.index.contains(entry), entry


def test_approved_destruction_leaves_nothing_and_keeps_protocol_batch_and_held(rt: Runtime) -> None:
    world = build_world(rt)
    order_id = _approved_run(rt, world)
    work_until_idle(rt)
    with transaction(rt.sessions, read_only=True) as session:
        from records.models import Job

        errors = [j.last_error for j in session.scalars(select(Job)) if j.last_error]
    assert errors == []
    _assert_nothing_left(rt, world)
    # The other household's letter of the same stack, and the stack's original, stay.
    assert rt.blobs.version_count(world.shared_original) >= 1
    assert rt.index.contains(world.neighbour)
    with transaction(rt.sessions, read_only=True) as session:
        neighbour = session.get(Document, uuid.UUID(world.neighbour))
        assert neighbour is not None and neighbour.duplicate_of_id is None
        originals = set(session.scalars(select(ScanBatch.original_key)))
        assert world.shared_original in originals  # the stack with the neighbour's letter
        assert "originals/cd/own-letter" not in originals  # the file's own batch went
        # The held file is withdrawn with its reason, not destroyed.
        held = session.scalar(select(DisposalItem).where(DisposalItem.bg_number == HELD))
        assert held is not None and held.state == "withdrawn"
        assert "gesperrt" in (held.problem or "")
        assert session.scalar(select(Household).where(Household.bg_number == HELD)) is not None
        item = session.scalar(select(DisposalItem).where(DisposalItem.bg_number == OWN))
        assert item is not None and item.state == "destroyed" and item.household_id is None
        order = session.get(DestructionOrder, order_id)
        assert order is not None and order.state == "done"
        protocol = session.scalar(select(DestructionProtocol))
        assert protocol is not None and protocol.state == "done"
        assert protocol.document_count == 2 and protocol.approved_by == ["sg1", "sg2"]
        pdf_key, json_key = protocol.pdf_key, protocol.json_key
    assert pdf_key and json_key
    pdf = b"".join(rt.blobs.open(pdf_key))
    assert pdf.startswith(b"%PDF") and b"pdfaid" in pdf
    facts = json.loads(b"".join(rt.blobs.open(json_key)))
    assert facts["bg_nummer"] == OWN and facts["dokumente"] == 2
    assert world.member_name not in json.dumps(facts)  # the protocol names no client
    assert verify(rt) == (1, [])
    done = audit_rows(rt, "destruction.done")
    assert len(done) == 1 and done[0].bg_number == OWN


def test_four_eyes_refusals_are_audited(rt: Runtime) -> None:
    world = build_world(rt)
    order = _gate_do(rt, "sg1", lambda g, r: request_run(g, r, "Frist abgelaufen").id, world.run_id)
    _gate_do(rt, "sg1", approve, order)
    with pytest.raises(AccessDenied, match="Vier-Augen"):
        _gate_do(rt, "sg1", approve, order)
    with pytest.raises(AccessDenied, match="Schriftgutverwaltung"):
        _gate_do(rt, CASEWORKER, approve, order)
    refused = [r for r in audit_rows(rt, "destruction.approve") if r.outcome == "denied"]
    assert {r.actor_login for r in refused} == {"sg1", CASEWORKER}
    with transaction(rt.sessions, read_only=True) as session:
        row = session.get(DestructionOrder, order)
        assert row is not None and row.state == "requested" and len(row.approvals) == 1
    # A rejected order runs never.
    _gate_do(rt, "sg2", reject, order, "Archiv hat noch nicht bestätigt")
    with pytest.raises(Exception, match="abgelehnt"):
        _gate_do(rt, "sg2", approve, order)
    assert work_until_idle(rt) == 0
    with transaction(rt.sessions, read_only=True) as session:
        assert session.scalar(select(Household).where(Household.bg_number == OWN)) is not None


def test_document_erasure_needs_requester_and_another_records_manager(rt: Runtime) -> None:
    world = build_world(rt)
    target = world.own[0]
    with pytest.raises(AccessDenied):  # outside need-to-know
        _gate_do(rt, OTHER_WORKER, request_document, target, "falsch abgelegt")
    order = _gate_do(
        rt, CASEWORKER, lambda g, d: request_document(g, d, "Brief einer dritten Person").id, target
    )
    with pytest.raises(AccessDenied):  # the requester is one pair of eyes, a caseworker no approver
        _gate_do(rt, CASEWORKER, approve, order)
    assert len(_gate_do(rt, "sg1", approve, order)) == 1
    work_until_idle(rt)
    with transaction(rt.sessions, read_only=True) as session:
        assert session.get(Document, uuid.UUID(target)) is None
        assert session.get(Document, uuid.UUID(world.own[1])) is not None  # the rest stays
        assert session.scalar(select(Household).where(Household.bg_number == OWN)) is not None
        protocol = session.scalar(select(DestructionProtocol))
        assert protocol is not None and protocol.kind == "document"
        assert protocol.approved_by == [CASEWORKER, "sg1"]
    assert not rt.index.contains(target)
    assert rt.blobs.version_count(f"pages/{target}/image-1") == 0
    assert rt.blobs.version_count(world.shared_original) >= 1  # the neighbour's letter uses it
    assert verify(rt) == (1, [])


def _desk_list(runtime: Runtime) -> list[str]:
    from records.desk import QaFilter, qa_page

    def listed(gate: Gate) -> list[str]:
        return [str(d.id) for d in qa_page(gate, QaFilter(state=None)).documents]

    return _gate_do(runtime, "post.1", listed)  # type: ignore[no-any-return]


def test_restricted_document_leaves_file_inbox_search_and_desk(rt: Runtime) -> None:
    world = build_world(rt)
    target = world.own[0]
    assert _found(rt, "Mietvertrag") == 1
    assert target in _desk_list(rt)
    _gate_do(rt, CASEWORKER, lambda g, d: restrict(rt, g, d, "Richtigkeit bestritten"), target)
    assert _found(rt, "Mietvertrag") == 0
    assert target not in _desk_list(rt)  # not the scanning desk's quality check either
    with transaction(rt.sessions, read_only=True) as session:
        document = session.get(Document, uuid.UUID(target))
        assert document is not None and document.restricted_at is not None  # still kept
        assert (
            session.scalar(
                select(InboxItem.id).where(
                    InboxItem.document_id == document.id, InboxItem.state != "done"
                )
            )
            is None
        )
        for login in (CASEWORKER, "post.1"):
            user = session.scalar(select(User).where(User.login == login))
            assert user is not None
            with pytest.raises(AccessDenied):
                Gate(session, user).read_document(target, "document.view")
    # The rebuild of the index skips it too.
    from records.reindex import reindex_all, reindex_documents

    reindex_documents(rt, [uuid.UUID(target)])
    assert _found(rt, "Mietvertrag") == 0
    reindex_all(rt, restart=True)
    assert _found(rt, "Mietvertrag") == 0
    _gate_do(
        rt, CASEWORKER, lambda g, d: lift_restriction(rt, g, d, "Richtigkeit festgestellt"), target
    )
    assert _found(rt, "Mietvertrag") == 1  # found again
    with transaction(rt.sessions, read_only=True) as session:
        user = session.scalar(select(User).where(User.login == CASEWORKER))
        assert user is not None
        assert Gate(session, user).read_document(target, "document.view") is not None
    assert audit_rows(rt, "document.restrict") and audit_rows(rt, "document.restriction_lift")


def _worker(runtime: Runtime, crash_after: str | None) -> int:
    env = cli_env(runtime.settings.data_dir, **settings_env(runtime.configured))
    env.pop(CRASH_AFTER_ENV, None)
    if runtime.configured.blob_store == "s3":
        env["EAKTE_S3_OBJECT_LOCK"] = "true"
        env["EAKTE_S3_RETENTION_DAYS"] = "1"
    if crash_after:
        env[CRASH_AFTER_ENV] = crash_after
    return run_cli(env, "worker", "--until-idle").returncode


@pytest.mark.slow
def test_killed_destruction_resumes_and_is_never_half_visible(rt: Runtime) -> None:
    world = build_world(rt)
    order_id = _approved_run(rt, world)
    assert order_id
    assert _worker(rt, "1") == 137  # killed right after step 1
    with transaction(rt.sessions, read_only=True) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        user = session.scalar(select(User).where(User.login == CASEWORKER))
        assert household is not None and user is not None
        assert household.destruction_started_at is not None
        assert household_grant(session, user, household) is None  # nobody opens it now
    remains = verify(rt)[1]
    assert remains and any("nicht abgeschlossen" in r.what for r in remains)
    time.sleep(1.5)  # the dead worker's lease runs out
    assert _worker(rt, "2") == 137  # the rerun repeats step 2 and is killed after it
    for key in world.own_keys:
        assert rt.blobs.version_count(key) == 0, key
    with transaction(rt.sessions, read_only=True) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        user = session.scalar(select(User).where(User.login == CASEWORKER))
        assert household is not None and user is not None  # the rows wait for step 3
        assert household_grant(session, user, household) is None  # still closed to everyone
    env = cli_env(rt.settings.data_dir, **settings_env(rt.configured))
    failed = run_cli(env, "verify")
    assert failed.returncode == 1 and "nicht abgeschlossen" in failed.stdout
    time.sleep(1.5)
    assert _worker(rt, None) == 0
    _assert_nothing_left(rt, world)
    passed = run_cli(env, "verify")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "keine Reste" in passed.stdout
    listed = run_cli(env, "records", "destroy-orders", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [o["state"] for o in json.loads(listed.stdout)] == ["done"]
    with transaction(rt.sessions, read_only=True) as session:
        assert session.scalar(select(func.count(DestructionProtocol.id))) == 1


def test_every_version_goes_and_missing_counts_as_done(rt: Runtime) -> None:
    key = "documents/versioned.pdf"
    _blob(rt, key, b"v1")
    rt.blobs.delete(key)
    _blob(rt, key, b"v2")
    expected = 3 if rt.configured.blob_store == "s3" else 1  # two versions and a delete marker
    assert rt.blobs.version_count(key) == expected
    assert rt.blobs.remove_all_versions(key, bypass_governance=True) == expected
    assert rt.blobs.version_count(key) == 0
    assert rt.blobs.remove_all_versions(key, bypass_governance=True) == 0


@pytest.mark.services
def test_compliance_lock_withdraws_the_file_naming_the_date(
    backend_settings: Settings,
) -> None:
    from app.runtime import build_runtime

    if backend_settings.blob_store != "s3":
        pytest.skip("object lock is a property of S3 buckets")
    settings = backend_settings.model_copy(
        update={"s3_object_lock": True, "s3_retention_mode": "COMPLIANCE", "s3_retention_days": 1}
    )
    runtime = build_runtime(settings)
    try:
        world = build_world(runtime)
        _approved_run(runtime, world)
        work_until_idle(runtime)
        with transaction(runtime.sessions, read_only=True) as session:
            item = session.scalar(select(DisposalItem).where(DisposalItem.bg_number == OWN))
            assert item is not None and item.state == "withdrawn"
            assert "COMPLIANCE" in (item.problem or "") and "bis " in (item.problem or "")
            household = session.scalar(select(Household).where(Household.bg_number == OWN))
            assert household is not None and household.destruction_started_at is None
            assert session.scalar(select(DestructionProtocol.id)) is None
        for key in world.own_keys:  # nothing half-done
            assert runtime.blobs.version_count(key) >= 1, key
        assert all(runtime.index.contains(d) for d in world.own)
    finally:
        runtime.close()


HOSTILE = "<img src=x onerror=alert(1)>"


def test_pages_four_eyes_protocol_download_and_labels_from_the_server(
    sqlite_runtime: Runtime,
) -> None:
    from tests.support import pages_client_for

    world = build_world(sqlite_runtime)
    first, second = (pages_client_for(sqlite_runtime, login) for login in ("sg1", "sg2"))
    page = first.get("/schriftgut/vernichtung")
    assert page.status_code == 200 and f"Aussonderung Nr. {world.run_id}" in page.text
    assert 'aria-current="page"' in page.text  # the Schriftgut tabs
    asked = first.post(
        f"/schriftgut/vernichtung/aussonderung/{world.run_id}",
        data={"grund": HOSTILE},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    listed = first.get("/schriftgut/vernichtung").text
    assert HOSTILE not in listed and "&lt;img src=x onerror=alert(1)&gt;" in listed
    assert "beantragt" in listed  # the state's German label comes from the server
    order = _gate_do(sqlite_runtime, "sg1", lambda g: destruction_orders(g)[0])
    approve_url = f"/schriftgut/vernichtung/auftraege/{order}/freigeben"
    assert first.post(approve_url, follow_redirects=False).status_code == 303
    assert first.post(approve_url, follow_redirects=False).status_code == 403  # four eyes
    done = second.post(approve_url, follow_redirects=False)
    assert done.headers["location"].endswith("hinweis=gestartet")
    work_until_idle(sqlite_runtime)
    listed = first.get("/schriftgut/vernichtung").text
    assert "vernichtet" in listed and ".pdf" in listed
    protocol_id = listed.split("/schriftgut/vernichtung/protokolle/")[1].split(".pdf")[0]
    pdf = first.get(f"/schriftgut/vernichtung/protokolle/{protocol_id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    worker = pages_client_for(sqlite_runtime, CASEWORKER)
    assert worker.get(f"/schriftgut/vernichtung/protokolle/{protocol_id}.pdf").status_code == 403


def _post(client, url: str, **form: str):  # type: ignore[no-untyped-def]
    """A form sent as the page sends it; the answer itself (no redirect followed)."""
    return client.post(url, data=form, follow_redirects=False)


def destruction_orders(gate: Gate) -> list[int]:
    return [o.id for o in gate.session.scalars(select(DestructionOrder))]


def test_document_page_offers_erasure_and_restriction_to_the_caseworker(
    sqlite_runtime: Runtime,
) -> None:
    from tests.support import pages_client_for

    world = build_world(sqlite_runtime)
    target = world.own[1]
    worker = pages_client_for(sqlite_runtime, CASEWORKER)
    shown = worker.get(f"/dokument/{target}").text
    assert "Löschung beantragen" in shown and "Einschränken" in shown
    form = worker.get(f"/schriftgut/vernichtung?dokument={target}")
    assert form.status_code == 200 and 'name="grund"' in form.text
    assert "Aufträge" not in worker.get("/schriftgut/vernichtung").text  # not theirs
    asked = _post(worker, "/schriftgut/vernichtung/dokument", dokument=target, grund="Dritter")
    assert asked.status_code == 303
    empty = _post(worker, f"/dokument/{target}/einschraenken", grund=" ")
    assert empty.status_code == 422 and "Begründung" in empty.text
    restricted = _post(worker, f"/dokument/{target}/einschraenken", grund="bestritten")
    assert restricted.status_code == 303
    assert worker.get(f"/dokument/{target}").status_code == 403
    desk = pages_client_for(sqlite_runtime, "post.1")
    assert desk.get(f"/dokument/{target}").status_code == 403
    # The caseworker finds it among the restricted documents of their files and lifts it.
    assert target in worker.get("/schriftgut/vernichtung").text
    assert desk.get("/schriftgut/vernichtung").status_code == 403
    lifted = _post(worker, f"/dokument/{target}/einschraenkung-aufheben", grund="geklärt")
    assert lifted.status_code == 303
    assert worker.get(f"/dokument/{target}").status_code == 200


def test_protocol_pdf_is_valid_pdfa_2a(tmp_path: Path) -> None:
    from pdf.destruction_protocol import ProtocolFacts, build_protocol_pdf
    from tests.support_pdf import failed_rules

    target = tmp_path / "protokoll.pdf"
    fields = [("BG-Nummer", OWN), ("Freigegeben von", "sg1, sg2"), ("Regel", "Akte: 10 Jahre")]
    target.write_bytes(build_protocol_pdf(ProtocolFacts(fields, datetime(2026, 12, 7, tzinfo=UTC))))
    assert failed_rules("2a", target) == {target: []}
