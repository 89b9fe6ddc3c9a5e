"""Quality check at the scanning desk: approve a document, or reject it for a new scan."""

from __future__ import annotations

import io
import json
import uuid

from sqlalchemy import delete
from sqlalchemy.orm import Session

from records import audit
from records.db import utcnow
from records.errors import Conflict, InvalidInput, NotFound
from records.models import Document, InboxItem, User
from records.runtime import Runtime
from records.scanrecord import scan_record

DECISIONS = ("approve", "reject")


def decide(
    runtime: Runtime,
    session: Session,
    document_id: uuid.UUID,
    user: User,
    decision: str,
    *,
    counted_pages: int | None = None,
    note: str | None = None,
) -> Document:
    """Record the desk's decision; a rejected document leaves every inbox and the search index.

    The page count the operator counted on paper must match the pages in the document before
    it can be approved. The scan record is frozen into the blob store with the decision.
    """
    if decision not in DECISIONS:
        raise InvalidInput("Entscheidung muss »approve« oder »reject« sein.", code="qa_decision")
    document = session.get(Document, document_id, with_for_update=True)
    if document is None:
        raise NotFound("Dokument nicht gefunden.")
    if document.status != "processed":
        raise Conflict("Das Dokument ist noch nicht fertig verarbeitet.", code="qa_not_ready")
    if document.qa_status != "pending":
        raise Conflict("Über dieses Dokument wurde bereits entschieden.", code="qa_decided")
    mismatch = counted_pages is not None and counted_pages != document.page_count
    if decision == "approve" and mismatch:
        raise Conflict(
            f"Seitenzahl stimmt nicht: auf Papier {counted_pages}, im Dokument "
            f"{document.page_count}. Bitte prüfen oder zur Neuerfassung ablehnen.",
            code="qa_page_count",
        )
    document.qa_status = "approved" if decision == "approve" else "rejected"
    document.qa_by_id = user.id
    document.qa_at = utcnow()
    document.qa_note = (note or "").strip()[:2000] or None
    if decision == "reject":
        session.execute(delete(InboxItem).where(InboxItem.document_id == document.id))
        runtime.index.delete(str(document.id))
    record = scan_record(document)
    record["qa"]["by"] = {"login": user.login, "name": user.name}
    record["qa"]["counted_pages"] = counted_pages
    key = f"records/{document.id}/transfervermerk-{document.qa_at:%Y%m%dT%H%M%S}.json"
    payload = json.dumps(record, ensure_ascii=False, indent=2).encode()
    stored = runtime.blobs.put(key, io.BytesIO(payload))
    document.scan_record_key, document.scan_record_sha256 = key, stored.sha256
    audit.record(
        session,
        user,
        f"document.qa.{decision}",
        object_type="document",
        object_id=document.id,
        counted_pages=counted_pages,
        pages=document.page_count,
        note=document.qa_note,
    )
    return document
