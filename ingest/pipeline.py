"""The processing of one document by a worker: original in, pages and index entry out."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete, select

from ingest.ocr import Cancelled, UnreadablePage, read_pages
from records import audit
from records.db import transaction
from records.errors import BlobCorrupted, BlobMissing
from records.jobs import ClaimedJob, LeaseLost, complete
from records.models import Document, InboxItem, Page
from records.runtime import Runtime
from search import IndexedDocument
from storage import downloaded

log = logging.getLogger(__name__)

UNROUTED_REASON = (
    "Kein Haushalt zugeordnet – bitte in der Klärung Haushalt und Dokumentart festlegen."
)


class PermanentFailure(Exception):
    """A failure that another attempt will not cure; the message is shown at the desk."""


def process_document(runtime: Runtime, job: ClaimedJob, still_wanted: Callable[[], bool]) -> None:
    settings = runtime.settings
    with transaction(runtime.sessions) as session:
        document = session.get(Document, job.document_id)
        if document is None:
            raise PermanentFailure("Das Dokument ist nicht mehr vorhanden.")
        document.status = "processing"
        content_type, page_count = document.content_type, document.page_count or 1
        original_key, source_name = document.original_key, document.source_name

    work_root = settings.data_dir / "work"
    work_root.mkdir(parents=True, exist_ok=True)
    work_dir = tempfile.mkdtemp(prefix=f"job-{job.id}-", dir=work_root)
    work = Path(work_dir)
    try:
        try:
            with downloaded(runtime.blobs, original_key, work / "original") as original:
                pages = read_pages(
                    original,
                    content_type,
                    page_count,
                    work,
                    languages=settings.ocr_languages,
                    dpi=settings.ocr_dpi,
                    timeout=settings.ocr_timeout_seconds,
                    processes=settings.ocr_processes,
                    still_wanted=still_wanted,
                )
        except (BlobCorrupted, BlobMissing) as exc:
            raise PermanentFailure(f"Original nicht lesbar: {exc.message}") from exc
        except UnreadablePage as exc:
            raise PermanentFailure(f"Seite nicht lesbar: {exc}") from exc
        except Cancelled:
            raise LeaseLost(f"job {job.id} given up while reading pages") from None

        with transaction(runtime.sessions) as session:
            document = session.get(Document, job.document_id)
            if document is None:
                raise PermanentFailure("Das Dokument ist nicht mehr vorhanden.")
            # A retried job replaces what an earlier, interrupted attempt may have left.
            session.execute(delete(Page).where(Page.document_id == document.id))
            for page in pages:
                session.add(
                    Page(
                        document_id=document.id,
                        number=page.number,
                        text=page.text,
                        confidence=page.confidence,
                    )
                )
            document.page_count = len(pages)
            document.status = "processed"
            document.status_message = None
            if document.household_id is None and not session.scalar(
                select(InboxItem.id).where(InboxItem.document_id == document.id)
            ):
                session.add(
                    InboxItem(document_id=document.id, kind="clearing", reason=UNROUTED_REASON)
                )
            audit.record(
                session,
                None,
                "document.processed",
                actor_login="system",
                object_type="document",
                object_id=document.id,
                pages=len(pages),
                attempt=job.attempt,
            )
            runtime.index.index(
                IndexedDocument(
                    document_id=str(document.id),
                    source_name=source_name,
                    received_at=document.received_at,
                    pages=[page.text for page in pages],
                    bg_number=document.household.bg_number if document.household else None,
                    doc_type=document.doc_type,
                )
            )
            complete(session, job)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
