"""Quality check at the scanning desk: approve a document, reject it for a new scan (with a
reason, told to whoever has it in their Postkorb), or undo a rejection the same day."""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import exists, select

from core.dates import local_date, local_today
from core.db import after_commit, utcnow
from core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from core.faults import fault_point
from records.access import Capability, Gate, filed_by_caseworker
from records.blob_outbox import store_after_commit
from records.models import Appeal, Document, InboxItem, Objection
from records.reindex import reindex_after_commit
from records.request_replies import link_by_recognition
from records.runtime import Runtime
from records.scanrecord import scan_record

DECISIONS = ("approve", "reject", "undo")


def decide(
    runtime: Runtime,
    gate: Gate,
    document_id: uuid.UUID,
    decision: str,
    *,
    counted_pages: int | None = None,
    note: str | None = None,
) -> Document:
    """Record the desk's decision. A rejected document leaves every case file and the search
    index; the people who have it in their Postkorb are told why. A registered objection or
    appeal is never hidden this way.

    The page count the operator counted on paper must match the pages in the document before
    it can be approved. The scan record is frozen into the blob store with the decision.
    """
    if decision not in DECISIONS:
        raise InvalidInput(
            "Entscheidung muss »approve«, »reject« oder »undo« sein.", code="qa_decision"
        )
    action = f"document.qa.{decision}"
    gate.require(Capability.SCAN, action, object_type="document", object_id=document_id)
    if decision == "undo":
        return _undo(runtime, gate, document_id)
    document, _ = gate.document(document_id, action, lock=True, audited=False)
    session, user = gate.session, gate.user
    if filed_by_caseworker(document):
        raise Conflict("Dieses Dokument braucht keine Qualitätskontrolle.", code="qa_not_needed")
    if document.status != "processed":
        raise Conflict("Das Dokument ist noch nicht fertig verarbeitet.", code="qa_not_ready")
    if document.qa_status != "pending":
        raise Conflict("Über dieses Dokument wurde bereits entschieden.", code="qa_decided")
    reason = (note or "").strip()[:2000] or None
    if decision == "approve" and counted_pages is None:
        raise InvalidInput(
            "Bitte die auf Papier gezählte Seitenzahl eingeben, bevor das Dokument "
            "freigegeben wird.",
            code="qa_counted_missing",
        )
    if decision == "approve" and counted_pages != document.page_count:
        raise Conflict(
            f"Seitenzahl stimmt nicht: auf Papier {counted_pages}, im Dokument "
            f"{document.page_count}. Bitte prüfen oder zur Neuerfassung ablehnen.",
            code="qa_page_count",
        )
    if decision == "reject":
        if reason is None:
            raise InvalidInput(
                "Bitte begründen, warum das Dokument neu erfasst werden muss.",
                code="qa_reason",
            )
        if _registered_case(session, document):
            raise Conflict(
                "Zu diesem Schreiben ist ein Widerspruch oder eine Klage erfasst; es kann nicht "
                "zur Neuerfassung abgelehnt werden. Bitte die Widerspruchsstelle ansprechen.",
                code="qa_registered_case",
            )
    document.qa_status = "approved" if decision == "approve" else "rejected"
    if decision == "approve":
        was_held = document.held_for_qa
        document.held_for_qa = False  # released into the case file and the Postkorb
        if was_held and "sheet" not in (document.recognition or {}):
            link_by_recognition(session, document)  # a supposed reply to a request (issue 19)
    document.qa_by_id = user.id
    document.qa_at = utcnow()
    document.qa_note = reason
    if decision == "reject":
        _tell_recipients(session, document, f"Zur Neuerfassung abgelehnt ({user.name}): {reason}")
    _freeze_scan_record(runtime, gate, document, counted_pages)
    gate.record(
        action,
        object_type="document",
        object_id=document.id,
        counted_pages=counted_pages,
        pages=document.page_count,
        note=document.qa_note,
    )
    session.flush()
    reindex_after_commit(session, runtime, document)
    return document


@dataclass(frozen=True)
class QaOutcome:
    """What became of one document of a bulk approval: approved, or why not (in German)."""

    document_id: uuid.UUID
    approved: bool
    message: str


def approve_many(
    runtime: Runtime, gate: Gate, counted: list[tuple[uuid.UUID, int | None]]
) -> list[QaOutcome]:
    """Approve several documents, each with the page count counted on paper and each checked
    as on its own: one that fails (count missing or wrong, decided meanwhile, no access) is
    left as it was and named with its reason; the others are approved."""
    outcomes = []
    # issue 20: the crash tests kill the web process at these points (core.faults).
    after_commit(gate.session, functools.partial(fault_point, "desk.after_commit"))
    for document_id, pages in counted:
        try:
            with gate.session.begin_nested():
                decide(runtime, gate, document_id, "approve", counted_pages=pages)
        except AccessDenied as refused:
            if refused.after_rollback is not None:  # the refusal's audit row, kept
                refused.after_rollback(gate.session)
            outcomes.append(QaOutcome(document_id, False, refused.message))
        except (Conflict, InvalidInput, NotFound) as problem:
            outcomes.append(QaOutcome(document_id, False, problem.message))
        else:
            outcomes.append(QaOutcome(document_id, True, "freigegeben"))
    fault_point("desk.before_commit")
    after_commit(gate.session, functools.partial(fault_point, "desk.after_index"))
    return outcomes


def _registered_case(session, document: Document) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        session.scalar(select(exists().where(Objection.document_id == document.id)))
        or session.scalar(select(exists().where(Appeal.document_id == document.id)))
    )


def _tell_recipients(session, document: Document, message: str) -> None:  # type: ignore[no-untyped-def]
    """Whoever has the letter in their Postkorb sees why it went back; the clearing case ends."""
    for item in session.scalars(select(InboxItem).where(InboxItem.document_id == document.id)):
        if item.kind == "clearing":
            item.state, item.done_at = "done", utcnow()
        else:
            item.state, item.read_at, item.done_at = "new", None, None
        item.comment = message


def _undo(runtime: Runtime, gate: Gate, document_id: uuid.UUID) -> Document:
    """A rejection taken back on the day it was made: the document is checked again."""
    session = gate.session
    document = session.get(Document, document_id, with_for_update=True)
    if (
        document is None
        or document.qa_status != "rejected"
        or filed_by_caseworker(document)
        or document.qa_at is None
    ):
        raise gate.refuse(
            "document.qa.undo",
            "Kein Zugriff: Diese Ablehnung gibt es nicht.",
            object_type="document",
            object_id=document_id,
        )
    if local_date(document.qa_at) != local_today():
        raise Conflict(
            "Eine Ablehnung kann nur am selben Tag zurückgenommen werden.", code="qa_undo_late"
        )
    document.qa_status, document.qa_by_id, document.qa_at = "pending", None, None
    previous, document.qa_note = document.qa_note, None
    for item in session.scalars(select(InboxItem).where(InboxItem.document_id == document.id)):
        item.state, item.done_at = "new", None
        item.comment = f"Ablehnung zurückgenommen ({gate.user.name})."
    gate.record(
        "document.qa.undo",
        object_type="document",
        object_id=document.id,
        bg_number=document.household.bg_number if document.household else None,
        rejected_because=previous,
    )
    session.flush()
    reindex_after_commit(session, runtime, document)
    return document


def _freeze_scan_record(
    runtime: Runtime, gate: Gate, document: Document, counted_pages: int | None
) -> None:
    assert document.qa_at is not None
    record = scan_record(document)
    record["qa"]["by"] = {"login": gate.user.login, "name": gate.user.name}
    record["qa"]["counted_pages"] = counted_pages
    key = f"records/{document.id}/transfervermerk-{document.qa_at:%Y%m%dT%H%M%S%f}.json"
    payload = json.dumps(record, ensure_ascii=False, indent=2).encode()
    document.scan_record_key = key
    # Stored once the decision is committed, through the blob outbox: blob I/O never holds the
    # database's write lock, and a process killed right after the commit loses nothing.
    document.scan_record_sha256 = store_after_commit(gate.session, runtime, key, payload)
