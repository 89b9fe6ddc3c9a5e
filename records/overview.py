"""Every document and every batch that has not become one, as the `eakte documents` contract.

The job centre's own scripts read this output; keep the field names and values stable.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from records.models import Document, InboxItem, ScanBatch
from records.routing import document_status, inbox_of


def document_rows(session: Session) -> list[dict[str, Any]]:
    """One object per document, then one per batch that is still under way or failed."""
    documents = session.scalars(
        select(Document)
        .options(selectinload(Document.household), selectinload(Document.batch))
        .order_by(Document.received_at, Document.source_name, Document.sequence)
    ).all()
    items = {
        inbox_item.document_id: inbox_item
        for inbox_item in session.scalars(
            select(InboxItem).options(selectinload(InboxItem.user), selectinload(InboxItem.team))
        )
    }
    rows: list[dict[str, Any]] = []
    for document in documents:
        item = items.get(document.id)
        recognition = document.recognition or {}
        status = document_status(document, item)
        rows.append(
            {
                "id": str(document.id),
                "source": document.batch.source_name if document.batch else document.source_name,
                "sequence": document.sequence,
                "source_pages": [document.first_page, document.last_page],
                "pages": document.page_count,
                "doc_type": document.doc_type,
                "bg_number": document.household.bg_number if document.household else None,
                "inbox": inbox_of(item) if status in ("routed", "clearing") else None,
                "status": status,
                "received_at": document.received_at.isoformat(),
                "letter_date": _iso(document.letter_date),
                "stamp_date": _iso(document.stamp_date),
                "court_reference": document.court_reference,
                "household_confidence": recognition.get("household_confidence"),
                "type_confidence": recognition.get("type_confidence"),
                "reason": item.reason if item is not None else None,
                # Households offered at the desk, and every household number read on the
                # pages ([number, page, exists in master data]).
                "candidates": list(recognition.get("candidates") or []),
                "bg_numbers_found": list(recognition.get("bg_numbers_found") or []),
                "batch_id": str(document.batch_id) if document.batch_id else None,
                "qa_status": document.qa_status,
            }
        )
    open_batches = session.scalars(
        select(ScanBatch)
        .where(ScanBatch.status != "processed")
        .order_by(ScanBatch.received_at, ScanBatch.source_name)
    )
    for batch in open_batches:
        rows.append(
            {
                "id": None,
                "source": batch.source_name,
                "sequence": None,
                "source_pages": None,
                "pages": batch.pages_total,
                "doc_type": None,
                "bg_number": None,
                "inbox": None,
                "status": "failed" if batch.status == "failed" else "processing",
                "received_at": batch.received_at.isoformat(),
                "error": batch.status_message,
                "batch_id": str(batch.id),
            }
        )
    return rows


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
