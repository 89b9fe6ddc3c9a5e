"""Documented destruction (issue 17): orders with four-eyes approval, the resumable job that
removes every trace of a file or of one document, its protocol, and the check that nothing
remains (`eakte verify`). Also the restriction of a document (Art. 18 DSGVO).

Four eyes: a run's order needs the approvals of two different people of the records manager's
role (the requester may give the first); a document's order needs its requester (a caseworker
within need-to-know, or the records manager) and one records manager who is not the requester.

The job runs in three steps, each safe to repeat after a kill -9:
1. one transaction: re-check the file (still destroyable, retention still due, no hold; no
   COMPLIANCE lock outlasting today), else the item is withdrawn with the reason; mark the file
   as being destroyed (`households.destruction_started_at`: nobody opens it from then on) and
   write the protocol (state running) with every blob key and index id in `work`;
2. remove the index entries and the blobs with every version (missing counts as done);
3. one transaction: delete every row, finish the protocol with its PDF/A and JSON under
   `protocols/` (a prefix the destruction never touches).
A rerun of a killed job finds the running protocol and repeats steps 2 and 3.

Batch originals are stored by content and a batch (a stack with separator sheets) may hold
letters of several households. An original goes with the file only when no document of
another household (nor any other remaining document) refers to it; otherwise it stays, and
the protocol counts it under `shared_originals`: it goes with the last file that uses it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from core.dates import local_today
from core.db import transaction, utcnow
from core.errors import Conflict, EAkteError, InvalidInput, NotFound
from pdf.destruction_protocol import ProtocolFacts, build_protocol_pdf
from records import audit
from records.access import Capability, Gate, households_open_to
from records.disposal import close_run_if_done
from records.housekeeping import prune_audit_log
from records.jobs import ClaimedJob, complete, enqueue
from records.mailbox import MailboxMessage
from records.models import (
    DESTROYABLE_ITEM_STATES,
    Appeal,
    DestructionApproval,
    DestructionOrder,
    DestructionProtocol,
    DisposalItem,
    DisposalRun,
    Document,
    DocumentRequest,
    DroppedPage,
    FileEvent,
    FileExport,
    FollowUp,
    Handover,
    Household,
    InboxItem,
    Job,
    Member,
    Note,
    Objection,
    Page,
    RecognitionAlias,
    RetentionHold,
    ScanBatch,
    Takeover,
)
from records.reindex import reindex_after_commit
from records.retention import file_retention, load_rules
from records.runtime import Runtime
from records.xdomea import message_file_name
from search import file_note_key

logger = logging.getLogger(__name__)

DESTROY_JOB = "destroy"
PROTOCOL_PREFIX = "protocols/destruction"
# Fault injection for the crash tests: the job ends its process (as kill -9 would) right
# after step 1 or step 2 when this names the step.
CRASH_AFTER_ENV = "EAKTE_DESTROY_CRASH_AFTER"

ORDER_STATE_LABELS = {
    "requested": "beantragt",
    "approved": "freigegeben",
    "done": "vernichtet",
    "rejected": "abgelehnt",
}
RUN_APPROVALS = 2  # two different records managers
NO_REASON = "Bitte geben Sie eine Begründung an."
SAME_PERSON = (
    "Vier-Augen-Prinzip: Sie haben diesen Auftrag bereits beantragt oder freigegeben; die "
    "Freigabe muss eine andere Person der Schriftgutverwaltung geben."
)


def _reason(text: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise InvalidInput(NO_REASON, code="reason_missing")
    return reason[:2000]


def _order(session: Session, order_id: int, *, lock: bool = True) -> DestructionOrder:
    order = session.get(DestructionOrder, order_id, with_for_update=lock)
    if order is None:
        raise NotFound(f"Vernichtungsauftrag {order_id} gibt es nicht.")
    return order


# --- orders ----------------------------------------------------------------------------------


def destroyable_items(session: Session, run_id: int) -> list[DisposalItem]:
    return list(
        session.scalars(
            select(DisposalItem)
            .where(DisposalItem.run_id == run_id, DisposalItem.state.in_(DESTROYABLE_ITEM_STATES))
            .order_by(DisposalItem.id)
        )
    )


def request_run(gate: Gate, run_id: int, reason: str) -> DestructionOrder:
    """The destruction of a disposal run's destroyable files, asked by a records manager."""
    gate.require(Capability.RECORDS, "destruction.request", object_type="disposal_run")
    reason = _reason(reason)
    run = gate.session.get(DisposalRun, run_id)
    if run is None:
        raise NotFound(f"Aussonderung {run_id} gibt es nicht.")
    if not destroyable_items(gate.session, run_id):
        raise Conflict("In dieser Aussonderung ist keine Akte zur Vernichtung freigegeben.")
    order = DestructionOrder(
        kind="run", run_id=run_id, reason=reason, requested_by_login=gate.user.login
    )
    gate.session.add(order)
    gate.session.flush()
    gate.record(
        "destruction.request", object_type="destruction_order", object_id=order.id, run=run_id
    )
    return order


def request_document(gate: Gate, document_id: uuid.UUID | str, reason: str) -> DestructionOrder:
    """The erasure of one document (a third person's letter filed wrongly; a type whose shorter
    period ran out): a caseworker within need-to-know, or the records manager."""
    action = "destruction.request"
    if gate.may(Capability.RECORDS):
        document = gate.records_document(document_id, action)
    else:
        gate.require(
            Capability.CASE_FILES, action, object_type="document", object_id=str(document_id)[:64]
        )
        document = gate.document(document_id, action, audited=False)[0]
    reason = _reason(reason)
    _erasable(gate.session, document)
    bg_number = document.household.bg_number if document.household else ""
    order = DestructionOrder(
        kind="document",
        document_id=document.id,
        bg_number=bg_number,
        reason=reason,
        requested_by_login=gate.user.login,
    )
    gate.session.add(order)
    gate.session.flush()
    gate.record(
        action,
        object_type="document",
        object_id=document.id,
        bg_number=bg_number or None,
        order=order.id,
    )
    return order


def _erasable(session: Session, document: Document) -> None:
    """A letter a legal case was registered from (or its decision) goes only with its file."""
    case = session.scalar(
        select(Objection.id).where(
            or_(Objection.document_id == document.id, Objection.decision_id == document.id)
        )
    ) or session.scalar(select(Appeal.id).where(Appeal.document_id == document.id))
    if case is not None:
        raise Conflict(
            "Dieses Dokument gehört zu einem Widerspruch oder einer Klage und kann nur mit der "
            "ganzen Akte vernichtet werden."
        )


def approve(gate: Gate, order_id: int) -> list[int]:
    """One approval; the one that completes the four eyes enqueues the jobs (their ids)."""
    action = "destruction.approve"
    target: dict[str, Any] = {"object_type": "destruction_order", "object_id": order_id}
    gate.require(Capability.RECORDS, action, **target)
    order = _order(gate.session, order_id)
    if order.state != "requested":
        raise Conflict(
            f"Dieser Auftrag ist bereits {ORDER_STATE_LABELS[order.state]} und kann nicht mehr "
            "freigegeben werden."
        )
    given = {a.approver_login for a in order.approvals}
    if gate.user.login in given or (
        order.kind == "document" and gate.user.login == order.requested_by_login
    ):
        raise gate.refuse(action, SAME_PERSON, **target)
    order.approvals.append(
        DestructionApproval(approver_login=gate.user.login, approver_name=gate.user.name)
    )
    gate.session.flush()
    gate.record(action, **target, approvals=len(order.approvals))
    needed = RUN_APPROVALS if order.kind == "run" else 1
    if len(order.approvals) < needed:
        return []
    order.state = "approved"
    order.decided_at = utcnow()
    jobs = _enqueue_jobs(gate.session, order)
    if not jobs:  # the run's files were withdrawn meanwhile: nothing is left to destroy
        order.state = "done"
    gate.record("destruction.approved", **target, jobs=len(jobs))
    return jobs


def _enqueue_jobs(session: Session, order: DestructionOrder) -> list[int]:
    payloads: list[dict[str, Any]]
    if order.kind == "run":
        assert order.run_id is not None
        payloads = [
            {"order_id": order.id, "item_id": item.id}
            for item in destroyable_items(session, order.run_id)
        ]
    else:
        payloads = [{"order_id": order.id, "document_id": str(order.document_id)}]
    return [enqueue(session, DESTROY_JOB, None, 5, payload=p).id for p in payloads]


def reject(gate: Gate, order_id: int, reason: str) -> None:
    action = "destruction.reject"
    target: dict[str, Any] = {"object_type": "destruction_order", "object_id": order_id}
    gate.require(Capability.RECORDS, action, **target)
    reason = _reason(reason)
    order = _order(gate.session, order_id)
    if order.state != "requested":
        raise Conflict(f"Dieser Auftrag ist bereits {ORDER_STATE_LABELS[order.state]}.")
    order.state = "rejected"
    order.decided_at = utcnow()
    order.rejected_by_login = gate.user.login
    order.rejected_reason = reason
    gate.record(action, **target)


# --- restriction (Art. 18 DSGVO) -------------------------------------------------------------


def restrict(runtime: Runtime, gate: Gate, document_id: uuid.UUID | str, reason: str) -> Document:
    """Kept, but out of the file, every inbox and search (not the desk's either). Its index
    entry goes after the commit, and reindex skips restricted documents."""
    action = "document.restrict"
    gate.require(Capability.CASE_FILES, action, object_type="document", object_id=str(document_id))
    document = gate.document(document_id, action, lock=True, audited=False)[0]
    reason = _reason(reason)
    document.restricted_at = utcnow()
    document.restricted_by_login = gate.user.login
    document.restriction_reason = reason
    for item in gate.session.scalars(
        select(InboxItem).where(InboxItem.document_id == document.id, InboxItem.state != "done")
    ):
        item.state = "done"
    gate.record_on(document, action)
    reindex_after_commit(gate.session, runtime, document)  # restricted: its entry goes
    return document


def lift_restriction(
    runtime: Runtime, gate: Gate, document_id: uuid.UUID | str, reason: str
) -> Document:
    """The restriction ends: a caseworker of the document's household, with a reason; the
    document is indexed again after the commit."""
    action = "document.restriction_lift"
    document = gate.restricted_document(document_id, action)
    reason = _reason(reason)
    if gate.session.scalar(
        select(DestructionProtocol.id).where(DestructionProtocol.document_id == document.id)
    ):
        raise Conflict("Dieses Dokument wird gerade gelöscht; die Einschränkung bleibt.")
    document.restricted_at = None
    document.restricted_by_login = None
    document.restriction_reason = None
    gate.record_on(document, action, reason=reason)
    reindex_after_commit(gate.session, runtime, document)
    return document


def restricted_in_reach(gate: Gate) -> list[Document]:
    """The restricted documents of the files the user works on (to lift a restriction);
    the list is audited, the documents stay closed."""
    gate.listing(Capability.CASE_FILES, "document.restricted_list")
    documents = list(
        gate.session.scalars(
            select(Document)
            .where(Document.restricted_at.is_not(None), Document.household_id.is_not(None))
            .order_by(Document.restricted_at.desc())
        )
    )
    households = {d.household_id: d.household for d in documents if d.household}
    open_ids = households_open_to(gate.session, gate.user, households.values())
    return [d for d in documents if d.household_id in open_ids]


# --- the job ---------------------------------------------------------------------------------


def _crash_point(step: int) -> None:
    if os.environ.get(CRASH_AFTER_ENV) == str(step):
        os._exit(137)  # as a kill -9 would end the worker: nothing flushed, nothing cleaned


def destroy_job(runtime: Runtime, job: ClaimedJob, still_wanted: Callable[[], bool]) -> None:
    payload = job.payload or {}
    protocol_id = prepare(runtime, payload)
    if protocol_id is not None:
        _crash_point(1)
        remove_traces(runtime, protocol_id)
        _crash_point(2)
        finish(runtime, protocol_id)
    else:
        _purge_left_over_messages(runtime, payload)
    with transaction(runtime.sessions) as session:
        complete(session, job)


def prepare(runtime: Runtime, payload: dict[str, Any]) -> uuid.UUID | None:
    """Step 1. The running protocol's id (also a rerun's), or None when nothing is to do."""
    order_id = int(payload["order_id"])
    with transaction(runtime.sessions) as session:
        order = _order(session, order_id)
        if "item_id" in payload:
            return _prepare_file(runtime, session, order, int(payload["item_id"]))
        return _prepare_document(runtime, session, order, uuid.UUID(payload["document_id"]))


def _running(session: Session, order: DestructionOrder, **match: Any) -> DestructionProtocol | None:
    query = select(DestructionProtocol).where(DestructionProtocol.order_id == order.id)
    for column, value in match.items():
        query = query.where(getattr(DestructionProtocol, column) == value)
    return session.scalar(query)


def _approvers(order: DestructionOrder) -> list[str]:
    logins = [a.approver_login for a in order.approvals]
    if order.kind == "document":
        logins.insert(0, order.requested_by_login)
    return logins


def _system_audit(
    session: Session, action: str, object_type: str, object_id: object, bg: str, **details: Any
) -> None:
    """A step of the destruction job (no person acts: the approvers are in the protocol)."""
    audit.record(
        session,
        None,
        action,
        actor_login="system",
        object_type=object_type,
        object_id=object_id,
        bg_number=bg or None,
        outcome="ok",
        **details,
    )


def _withdraw_item(session: Session, item: DisposalItem, reason: str) -> None:
    item.state = "withdrawn"
    item.problem = reason
    _system_audit(
        session, "destruction.withdrawn", "disposal_item", item.id, item.bg_number, reason=reason
    )
    _close_order_if_finished(session, item.run_id)


def _lock_problem(runtime: Runtime, keys: Iterable[str]) -> str | None:
    latest: datetime | None = None
    for key in keys:
        until = runtime.blobs.locked_until(key)
        if until is not None and (latest is None or until > latest):
            latest = until
    if latest is None:
        return None
    return (
        "Objektsperre (COMPLIANCE) des Speichers bis "
        f"{latest.astimezone().strftime('%d.%m.%Y')}: vorher lässt sich nichts löschen, es wurde "
        "nichts gelöscht."
    )


def _prepare_file(
    runtime: Runtime, session: Session, order: DestructionOrder, item_id: int
) -> uuid.UUID | None:
    item = session.get(DisposalItem, item_id, with_for_update=True)
    if item is None:
        return None
    protocol = _running(session, order, kind="file", file_uuid=item.file_uuid)
    if protocol is not None:
        return protocol.id if protocol.state == "running" else None
    if item.state not in DESTROYABLE_ITEM_STATES or item.household_id is None:
        return None
    household = session.get(Household, item.household_id, with_for_update=True)
    assert household is not None
    retention = file_retention(session, household, load_rules(runtime.settings), local_today())
    if retention.status != "due":
        reason = (
            "Nicht vernichtet: die Akte ist gesperrt ("
            + "; ".join(h.label for h in retention.holds)
            + ")."
            if retention.status == "held"
            else f"Nicht vernichtet: die Aufbewahrungsfrist ist nicht abgelaufen "
            f"({retention.summary})."
        )
        _withdraw_item(session, item, reason)
        return None
    documents = list(session.scalars(select(Document).where(Document.household_id == household.id)))
    work = _file_work(session, household, documents)
    problem = _lock_problem(runtime, work["blobs"])
    if problem:
        _withdraw_item(session, item, problem)
        return None
    household.destruction_started_at = utcnow()
    item.state = "destroying"
    protocol = DestructionProtocol(
        order_id=order.id,
        kind="file",
        bg_number=household.bg_number,
        file_uuid=household.file_uuid,
        event_date=retention.event_date,
        due_from=retention.due_from,
        rule=retention.rule[:300],
        archive_ref=item.archive_ref,
        document_count=len(documents),
        page_count=sum(len(d.pages) for d in documents),
        approved_by=_approvers(order),
        requested_by_login=order.requested_by_login,
        work=work,
    )
    session.add(protocol)
    session.flush()
    _system_audit(
        session,
        "destruction.started",
        "household",
        household.bg_number,
        household.bg_number,
        protocol=str(protocol.id),
    )
    return protocol.id


def _page_keys(documents: Iterable[Document]) -> list[str]:
    keys: list[str] = []
    for document in documents:
        keys += [k for k in (document.pdf_key, document.scan_record_key) if k]
        for page in document.pages:
            keys += [k for k in (page.image_key, page.thumb_key, page.words_key) if k]
    return keys


def _unshared_originals(session: Session, documents: list[Document]) -> tuple[list[str], int]:
    """The originals only these documents refer to (their batches too), and how many others
    stay because a remaining document of the batch still refers to them."""
    ids = [d.id for d in documents]
    mine = sorted({d.original_key for d in documents})
    if not mine:
        return [], 0
    shared = set(
        session.scalars(
            select(Document.original_key).where(
                Document.original_key.in_(mine), Document.id.not_in(ids)
            )
        )
    )
    return [k for k in mine if k not in shared], len(shared)


def _file_work(session: Session, household: Household, documents: list[Document]) -> dict[str, Any]:
    originals, shared = _unshared_originals(session, documents)
    exports = list(
        session.execute(
            select(FileExport.blob_key, FileExport.parts).where(
                FileExport.household_id == household.id
            )
        )
    )
    # issue 18 (court18): a court folder (form "xjustiz") has a zip per part, the first of them
    # in blob_key.
    export_keys = [key for key, _ in exports] + [
        part["key"] for key, parts in exports for part in parts or [] if part["key"] != key
    ]
    travel_keys = _travel_keys(session, household, documents)
    notes = session.scalars(
        select(Note.id).where(Note.household_id == household.id, Note.document_id.is_(None))
    )
    batch_ids = {d.batch_id for d in documents if d.batch_id}
    batch_ids |= set(
        session.scalars(select(ScanBatch.id).where(ScanBatch.preset_household_id == household.id))
    )
    return {
        "blobs": sorted(set(_page_keys(documents) + originals + export_keys + travel_keys)),
        "index": [str(d.id) for d in documents] + [file_note_key(n) for n in notes],
        "documents": [str(d.id) for d in documents],
        "batches": sorted(str(b) for b in batch_ids),
        "household_id": household.id,
        "shared_originals": shared,
        "exports": len(exports),
    }


def _travel_keys(session: Session, household: Household, documents: list[Document]) -> list[str]:
    """The objects of the file's hand-overs and take-overs (issue 18): the 0401 we sent, the
    0401 we took over with our answers (0402, 0403), and each taken-over document's
    Transfervermerk as it arrived. They name the household's members and go with the file."""
    sent = session.scalars(select(Handover.blob_key).where(Handover.household_id == household.id))
    keys = [key for key in sent if key]
    takeovers = list(session.scalars(select(Takeover).where(Takeover.household_id == household.id)))
    for takeover in takeovers:
        prefix = f"takeovers/{takeover.process_id}"
        keys += [key for key in (takeover.blob_key, takeover.answer_key) if key]
        keys.append(f"{prefix}/{message_file_name(takeover.process_id, '0403')}")
        keys += [
            f"{prefix}/{document.id}_transfervermerk.pdf"
            for document in documents
            if document.takeover_id == takeover.id
        ]
    return keys


def _prepare_document(
    runtime: Runtime, session: Session, order: DestructionOrder, document_id: uuid.UUID
) -> uuid.UUID | None:
    protocol = _running(session, order, kind="document", document_id=document_id)
    if protocol is not None:
        return protocol.id if protocol.state == "running" else None
    document = session.get(Document, document_id, with_for_update=True)
    if document is None:
        return None
    household = document.household
    if household is not None:
        holds = session.scalar(
            select(RetentionHold.id).where(
                RetentionHold.household_id == household.id, RetentionHold.lifted_at.is_(None)
            )
        )
        if holds is not None:
            order.state = "rejected"
            order.rejected_by_login = "system"
            order.rejected_reason = "Nicht gelöscht: für die Akte ist eine Sperre eingetragen."
            return None
    work = _document_work(session, document)
    problem = _lock_problem(runtime, work["blobs"])
    if problem:
        order.state = "rejected"
        order.rejected_by_login = "system"
        order.rejected_reason = problem
        return None
    # From now on nobody reads it: the restriction hides it from file, inboxes and search.
    document.restricted_at = document.restricted_at or utcnow()
    document.restriction_reason = document.restriction_reason or "Löschung läuft"
    protocol = DestructionProtocol(
        order_id=order.id,
        kind="document",
        bg_number=household.bg_number if household else "",
        file_uuid=household.file_uuid if household else None,
        document_id=document.id,
        rule=("Löschung eines einzelnen Dokuments: " + order.reason)[:300],
        document_count=1,
        page_count=len(document.pages),
        approved_by=_approvers(order),
        requested_by_login=order.requested_by_login,
        work=work,
    )
    session.add(protocol)
    session.flush()
    return protocol.id


def _document_work(session: Session, document: Document) -> dict[str, Any]:
    originals, shared = _unshared_originals(session, [document])
    return {
        "blobs": sorted(set(_page_keys([document]) + originals)),
        "index": [str(document.id)],
        "documents": [str(document.id)],
        "batches": [str(document.batch_id)] if document.batch_id else [],
        "household_id": None,
        "shared_originals": shared,
        "exports": 0,
    }


def remove_traces(runtime: Runtime, protocol_id: uuid.UUID) -> None:
    """Step 2: index entries and blobs with every version; what is gone already counts as done."""
    with transaction(runtime.sessions, read_only=True) as session:
        protocol = session.get(DestructionProtocol, protocol_id)
        assert protocol is not None
        work = dict(protocol.work)
    for entry in work["index"]:
        runtime.index.delete(entry)
    for key in work["blobs"]:
        runtime.blobs.remove_all_versions(key, bypass_governance=True)


def finish(runtime: Runtime, protocol_id: uuid.UUID) -> None:
    """Step 3: every row in one transaction, the protocol done with its PDF/A and JSON. When
    the file was the last of its run, the run is closed: its 0501/0503 (they name clients)
    leave the blob store after the commit, and the audit log is pruned to its own period
    (records.housekeeping; the destruction job is its documented place besides `eakte audit
    prune`)."""
    purge: list[str] = []
    with transaction(runtime.sessions) as session:
        protocol = session.get(DestructionProtocol, protocol_id, with_for_update=True)
        assert protocol is not None
        if protocol.state == "done":
            return
        work = protocol.work
        _delete_rows(session, work)
        protocol.state = "done"
        protocol.finished_at = utcnow()
        order = session.get(DestructionOrder, protocol.order_id)
        assert order is not None
        if protocol.kind == "file":
            for item in session.scalars(
                select(DisposalItem).where(
                    DisposalItem.run_id == order.run_id,
                    DisposalItem.file_uuid == protocol.file_uuid,
                )
            ):
                item.state = "destroyed"
            _close_order_if_finished(session, order.run_id)
            run = session.get(DisposalRun, order.run_id) if order.run_id else None
            if run is not None:
                session.flush()
                session.refresh(run)
                # The keys stay on the protocol: removed after the commit, again by a rerun,
                # and checked by `eakte verify`.
                purge = close_run_if_done(session, run)
                if purge:
                    protocol.work = {**work, "message_blobs": purge}
        else:
            order.state = "done"
        _write_protocol(runtime, protocol)
        _system_audit(
            session,
            "destruction.done",
            "destruction_protocol",
            str(protocol.id),
            protocol.bg_number,
            documents=protocol.document_count,
        )
        order_done = order.state == "done"
    _remove_message_blobs(runtime, purge)
    if order_done:
        _prune_audit_log(runtime)


def _remove_message_blobs(runtime: Runtime, keys: Iterable[str]) -> None:
    for key in keys:
        runtime.blobs.remove_all_versions(key, bypass_governance=True)


def _purge_left_over_messages(runtime: Runtime, payload: dict[str, Any]) -> None:
    """A rerun after a crash between step 3's commit and the removal of the run's messages."""
    with transaction(runtime.sessions, read_only=True) as session:
        order = session.get(DestructionOrder, int(payload["order_id"]))
        if order is None or order.run_id is None:
            return
        keys = [
            key
            for work in session.scalars(
                select(DestructionProtocol.work).where(
                    DestructionProtocol.order_id == order.id, DestructionProtocol.state == "done"
                )
            )
            for key in work.get("message_blobs", [])
        ]
    _remove_message_blobs(runtime, keys)


def _prune_audit_log(runtime: Runtime) -> None:
    """The audit log's own period, kept by the same job (a failure here is logged, it does
    not undo the destruction; `eakte audit prune` repeats it)."""
    try:
        prune_audit_log(runtime.sessions, runtime.settings)
    except EAkteError:
        logger.exception("audit log not pruned after the destruction")


def _close_order_if_finished(session: Session, run_id: int | None) -> None:
    if run_id is None:
        return
    session.flush()
    open_items = session.scalar(
        select(DisposalItem.id).where(
            DisposalItem.run_id == run_id,
            DisposalItem.state.in_((*DESTROYABLE_ITEM_STATES, "destroying")),
        )
    )
    if open_items is None:
        session.execute(
            update(DestructionOrder)
            .where(DestructionOrder.run_id == run_id, DestructionOrder.state == "approved")
            .values(state="done")
        )


def _delete_rows(session: Session, work: dict[str, Any]) -> None:
    ids = [uuid.UUID(d) for d in work["documents"]]
    household_id = work.get("household_id")
    # Pointers from other documents into the destroyed ones lose their target.
    for column in (Document.duplicate_of_id, Document.derived_from_id):
        session.execute(update(Document).where(column.in_(ids)).values({column.key: None}))
    case_filter = [Objection.document_id.in_(ids), Objection.decision_id.in_(ids)]
    appeal_filter = [Appeal.document_id.in_(ids)]
    export_filter = []
    if household_id is not None:
        case_filter.append(Objection.household_id == household_id)
        appeal_filter.append(Appeal.household_id == household_id)
        export_filter.append(FileExport.household_id == household_id)
    objections = list(session.scalars(select(Objection.id).where(or_(*case_filter))))
    appeal_filter.append(Appeal.objection_id.in_(objections))
    appeals = list(session.scalars(select(Appeal.id).where(or_(*appeal_filter))))
    export_filter += [FileExport.objection_id.in_(objections), FileExport.appeal_id.in_(appeals)]
    session.execute(delete(FileExport).where(or_(*export_filter)))
    session.execute(delete(Appeal).where(Appeal.id.in_(appeals)))
    session.execute(delete(Objection).where(Objection.id.in_(objections)))
    note_filter = [Note.document_id.in_(ids)]
    if household_id is not None:
        note_filter.append(Note.household_id == household_id)
    session.execute(delete(Note).where(or_(*note_filter)))
    for model in (Page, InboxItem, Job):
        session.execute(delete(model).where(model.document_id.in_(ids)))
    session.execute(delete(Document).where(Document.id.in_(ids)))
    # Batches left without documents go with their dropped pages and mailbox references.
    for batch_id in (uuid.UUID(b) for b in work["batches"]):
        remaining = session.scalar(select(Document.id).where(Document.batch_id == batch_id))
        if remaining is None:
            session.execute(
                update(MailboxMessage)
                .where(MailboxMessage.batch_id == batch_id)
                .values(batch_id=None, sender=None, subject=None)
            )
            for batch_part in (DroppedPage, Job):
                session.execute(delete(batch_part).where(batch_part.batch_id == batch_id))
            session.execute(delete(ScanBatch).where(ScanBatch.id == batch_id))
        elif household_id is not None:
            session.execute(
                update(ScanBatch)
                .where(ScanBatch.id == batch_id, ScanBatch.preset_household_id == household_id)
                .values(preset_household_id=None)
            )
    if household_id is None:
        return
    session.flush()
    for owned in (
        RecognitionAlias,
        FileEvent,
        RetentionHold,
        Handover,
        Takeover,
        FollowUp,
        DocumentRequest,  # its items and their links go with it (ON DELETE CASCADE)
        Member,
    ):
        session.execute(delete(owned).where(owned.household_id == household_id))
    session.execute(
        update(DisposalItem)
        .where(DisposalItem.household_id == household_id)
        .values(household_id=None)
    )
    session.execute(
        update(ScanBatch)
        .where(ScanBatch.preset_household_id == household_id)
        .values(preset_household_id=None)
    )
    session.execute(delete(Household).where(Household.id == household_id))


# --- the protocol ----------------------------------------------------------------------------


def protocol_json(protocol: DestructionProtocol) -> dict[str, Any]:
    """What the protocol keeps: no name, no address, no content."""
    return {
        "protokoll": str(protocol.id),
        "art": "Akte" if protocol.kind == "file" else "Dokument",
        "bg_nummer": protocol.bg_number,
        "akte_id": str(protocol.file_uuid) if protocol.file_uuid else None,
        "dokument_id": str(protocol.document_id) if protocol.document_id else None,
        "ereignis": _iso(protocol.event_date),
        "faellig_ab": _iso(protocol.due_from),
        "regel": protocol.rule,
        "archivkennung": protocol.archive_ref,
        "dokumente": protocol.document_count,
        "seiten": protocol.page_count,
        "objekte": len(protocol.work.get("blobs", [])),
        "indexeintraege": len(protocol.work.get("index", [])),
        "geteilte_originale_behalten": protocol.work.get("shared_originals", 0),
        "beantragt_von": protocol.requested_by_login,
        "freigegeben_von": list(protocol.approved_by),
        "begonnen": protocol.started_at.isoformat(),
        "abgeschlossen": protocol.finished_at.isoformat() if protocol.finished_at else None,
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _put_fresh(runtime: Runtime, key: str, content: bytes) -> str:
    # A killed earlier attempt may have written it already: write it anew.
    runtime.blobs.remove_all_versions(key, bypass_governance=True)
    runtime.blobs.put(key, io.BytesIO(content))
    return hashlib.sha256(content).hexdigest()


def _write_protocol(runtime: Runtime, protocol: DestructionProtocol) -> None:
    facts = protocol_json(protocol)
    content = json.dumps(facts, ensure_ascii=False, indent=2).encode("utf-8")
    protocol.json_key = f"{PROTOCOL_PREFIX}/{protocol.id}.json"
    protocol.json_sha256 = _put_fresh(runtime, protocol.json_key, content)
    pdf = build_protocol_pdf(ProtocolFacts(fields=_pdf_fields(facts), created_at=utcnow()))
    protocol.pdf_key = f"{PROTOCOL_PREFIX}/{protocol.id}.pdf"
    protocol.pdf_sha256 = _put_fresh(runtime, protocol.pdf_key, pdf)


_PDF_LABELS = {
    "protokoll": "Protokoll",
    "art": "Vernichtet wurde",
    "bg_nummer": "BG-Nummer",
    "akte_id": "Akten-ID",
    "dokument_id": "Dokument-ID",
    "ereignis": "Fristbeginn (Ereignis)",
    "faellig_ab": "Vernichtung fällig ab",
    "regel": "Regel",
    "archivkennung": "Archivkennung",
    "dokumente": "Dokumente",
    "seiten": "Seiten",
    "objekte": "Gelöschte Objekte (alle Versionen)",
    "indexeintraege": "Gelöschte Sucheinträge",
    "geteilte_originale_behalten": "Geteilte Stapel-Originale behalten",
    "beantragt_von": "Beantragt von",
    "freigegeben_von": "Freigegeben von",
    "begonnen": "Begonnen",
    "abgeschlossen": "Abgeschlossen",
}


def _pdf_fields(facts: dict[str, Any]) -> list[tuple[str, str]]:
    def text(value: Any) -> str:
        if value is None or value == "":
            return "–"
        if isinstance(value, list):
            return ", ".join(value) or "–"
        return str(value)

    return [(label, text(facts[key])) for key, label in _PDF_LABELS.items()]


# --- lists and the check ---------------------------------------------------------------------


def orders(gate: Gate) -> list[DestructionOrder]:
    gate.listing(Capability.RECORDS, "destruction.list")
    return list(gate.session.scalars(select(DestructionOrder).order_by(DestructionOrder.id.desc())))


def order_rows(session: Session) -> list[dict[str, Any]]:
    """The orders for the command line (no client data: BG numbers and ids)."""
    result = []
    for order in session.scalars(select(DestructionOrder).order_by(DestructionOrder.id)):
        result.append(
            {
                "id": order.id,
                "kind": order.kind,
                "run_id": order.run_id,
                "document_id": str(order.document_id) if order.document_id else None,
                "state": order.state,
                "reason": order.reason,
                "requested_by": order.requested_by_login,
                "approved_by": [a.approver_login for a in order.approvals],
                "rejected_reason": order.rejected_reason,
            }
        )
    return result


@dataclass(frozen=True)
class Overview:
    orders: list[DestructionOrder]
    protocols: list[DestructionProtocol]
    runs: list[tuple[int, str, int]]  # run id, archive, destroyable files


def overview(gate: Gate) -> Overview:
    """The records manager's page: orders, protocols, runs with files to destroy (audited)."""
    found = orders(gate)
    runs = []
    for run in gate.session.scalars(select(DisposalRun).order_by(DisposalRun.id.desc())):
        count = len(destroyable_items(gate.session, run.id))
        if count:
            runs.append((run.id, run.archive_name, count))
    return Overview(found, protocols(gate.session), runs)


def protocol_for_download(gate: Gate, protocol_id: str) -> DestructionProtocol:
    action = "destruction.protocol_download"
    gate.require(Capability.RECORDS, action, object_type="destruction_protocol")
    try:
        key = uuid.UUID(protocol_id)
    except ValueError:
        key = None
    protocol = gate.session.get(DestructionProtocol, key) if key else None
    if protocol is None or protocol.state != "done":
        raise NotFound("Dieses Protokoll gibt es nicht.")
    gate.record(
        action,
        object_type="destruction_protocol",
        object_id=str(protocol.id),
        bg_number=protocol.bg_number or None,
    )
    return protocol


def protocols(session: Session) -> list[DestructionProtocol]:
    return list(
        session.scalars(select(DestructionProtocol).order_by(DestructionProtocol.started_at.desc()))
    )


@dataclass(frozen=True)
class Remains:
    protocol_id: str
    bg_number: str
    what: str


def verify(runtime: Runtime) -> tuple[int, list[Remains]]:
    """Every destruction's protocol against the database, the blob store (every version) and
    the index: (protocols checked, what remains). A running protocol counts as unfinished."""
    found: list[Remains] = []
    with transaction(runtime.sessions, read_only=True) as session:
        rows = [(p.id, p.bg_number, p.state, p.file_uuid, dict(p.work)) for p in protocols(session)]
        for protocol_id, bg, state, file_uuid, work in rows:
            ids = [uuid.UUID(d) for d in work.get("documents", [])]
            if state != "done":
                found.append(Remains(str(protocol_id), bg, "Vernichtung nicht abgeschlossen"))
            left = (
                session.scalar(select(Document.id).where(Document.id.in_(ids)).limit(1))
                if ids
                else None
            )
            if left is not None:
                found.append(Remains(str(protocol_id), bg, f"Dokument {left} in der Datenbank"))
            # A household of the same number created anew later has a new file id.
            if work.get("household_id") is not None and session.scalar(
                select(Household.id).where(Household.file_uuid == file_uuid)
            ):
                found.append(Remains(str(protocol_id), bg, "Akte in der Datenbank"))
    for protocol_id, bg, _state, _file_uuid, work in rows:
        for key in [*work.get("blobs", []), *work.get("message_blobs", [])]:
            if runtime.blobs.version_count(key):
                found.append(Remains(str(protocol_id), bg, f"Objekt {key} im Speicher"))
        for entry in work.get("index", []):
            if runtime.index.contains(entry):
                found.append(Remains(str(protocol_id), bg, f"Sucheintrag {entry}"))
    return len(rows), found
