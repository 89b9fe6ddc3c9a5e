"""The scan record (Transfervermerk, after TR-RESISCAN): how a paper document became this file."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import object_session

from records.models import Document, DroppedPage, ScanBatch

DROP_REASONS_DE = {
    "separator": "Trennblatt",
    "blank": "leere Rückseite",
    "unreadable": "nicht lesbar",
}
QA_DE = {"pending": "offen", "approved": "freigegeben", "rejected": "zur Neuerfassung abgelehnt"}
COLOUR_DE = {"bilevel": "schwarz-weiß", "gray": "Graustufen", "colour": "farbig"}


def _dropped_pages(batch: ScanBatch | None) -> list[DroppedPage]:
    if batch is None:
        return []
    session = object_session(batch)
    assert session is not None, "the scan record is written within a unit of work"
    return list(
        session.scalars(
            select(DroppedPage)
            .where(DroppedPage.batch_id == batch.id)
            .order_by(DroppedPage.source_page)
        )
    )


def scan_record(document: Document) -> dict[str, Any]:
    batch = document.batch
    first, last = document.first_page or 1, document.last_page or document.page_count or 1
    dropped = [
        {
            "page": page.source_page,
            "reason": page.reason,
            "reason_text": DROP_REASONS_DE[page.reason],
            "detail": page.detail,
        }
        for page in _dropped_pages(batch)
        # The document's own range, and the separator sheet that ended it.
        if first <= page.source_page <= last + 1
        and (page.source_page <= last or page.reason == "separator")
    ]
    operator = batch.uploaded_by if batch else None
    return {
        "kind": "Transfervermerk",
        "document_id": str(document.id),
        "batch_id": str(document.batch_id) if document.batch_id else None,
        "source_file": batch.source_name if batch else document.source_name,
        "channel": batch.channel if batch else None,
        "station": batch.station if batch else None,
        "operator": {"login": operator.login, "name": operator.name} if operator else None,
        "received_at": document.received_at.isoformat(),
        "processed_at": batch.finished_at.isoformat() if batch and batch.finished_at else None,
        "pages_in_batch": batch.pages_total if batch else document.page_count,
        "position_in_batch": {
            "sequence": document.sequence,
            "first_page": first,
            "last_page": last,
        },
        "pages_in_document": document.page_count,
        "dropped_pages": dropped,
        "original": {
            "key": document.original_key,
            "sha256": document.original_sha256,
            "size_bytes": document.size_bytes,
            "content_type": document.content_type,
        },
        "searchable_pdf": {"key": document.pdf_key, "sha256": document.pdf_sha256},
        "pages": [
            {
                "number": page.number,
                "source_page": page.source_page,
                "scan_dpi": page.scan_dpi,
                "colour": page.colour,
                "colour_text": COLOUR_DE.get(page.colour or "", "unbekannt"),
                "rotation": page.rotation,
                "skew": page.skew,
                "ocr_confidence": page.confidence,
                "image_sha256": page.image_sha256,
                "thumb_sha256": page.thumb_sha256,
                "words_sha256": page.words_sha256,
            }
            for page in document.pages
        ],
        "qa": {
            "status": document.qa_status,
            "status_text": QA_DE[document.qa_status],
            "at": document.qa_at.isoformat() if document.qa_at else None,
            "note": document.qa_note,
        },
    }
