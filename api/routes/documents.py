from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import GateDep, RuntimeDep, UserDep
from ingest.intake import accept_file
from records.access import Capability, Gate
from records.db import transaction
from records.errors import InvalidInput, NotFound
from records.models import Document, InboxItem, Job, ScanBatch
from records.routing import inbox_of

router = APIRouter(prefix="/api/documents", tags=["Dokumente"])


def document_out(document: Document) -> dict[str, Any]:
    return {
        "id": str(document.id),
        "source_name": document.source_name,
        "content_type": document.content_type,
        "size_bytes": document.size_bytes,
        "sha256": document.original_sha256,
        "pages": document.page_count,
        "status": document.status,
        "status_message": document.status_message,
        "received_at": document.received_at.isoformat(),
        "bg_number": document.household.bg_number if document.household else None,
        "doc_type": document.doc_type,
        "batch_id": str(document.batch_id) if document.batch_id else None,
        "qa_status": document.qa_status,
    }


def batch_out(
    batch: ScanBatch,
    job: Job | None,
    documents: list[Document],
    inboxes: dict[uuid.UUID, InboxItem] | None = None,
) -> dict[str, Any]:
    inboxes = inboxes or {}
    return {
        "id": str(batch.id),
        "source_name": batch.source_name,
        "channel": batch.channel,
        "station": batch.station,
        "content_type": batch.content_type,
        "size_bytes": batch.size_bytes,
        "sha256": batch.original_sha256,
        "status": batch.status,
        "status_message": batch.status_message,
        "received_at": batch.received_at.isoformat(),
        "pages_total": batch.pages_total,
        "pages_done": batch.pages_done,
        "pages_dropped": [{"page": p.source_page, "reason": p.reason} for p in batch.dropped_pages],
        "documents": [
            {
                "id": str(d.id),
                "pages": d.page_count,
                "first_page": d.first_page,
                "last_page": d.last_page,
                "qa_status": d.qa_status,
                # What recognition decided, only while the desk still checks it: afterwards
                # household, type and recipient are the caseworkers' business.
                **(
                    {
                        "doc_type": d.doc_type,
                        "bg_number": d.household.bg_number if d.household else None,
                        "inbox": inbox_of(inboxes[d.id]) if d.id in inboxes else None,
                    }
                    if d.qa_status == "pending"
                    else {"doc_type": None, "bg_number": None, "inbox": None}
                ),
            }
            for d in documents
        ],
        "job": None
        if job is None
        else {"id": job.id, "state": job.state, "attempts": job.attempts, "error": job.last_error},
    }


def load_batch(session, batch_id: uuid.UUID) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    batch = session.get(ScanBatch, batch_id)
    if batch is None:
        raise NotFound("Stapel nicht gefunden.")
    job = session.scalars(
        select(Job).where(Job.batch_id == batch.id).order_by(Job.id.desc()).limit(1)
    ).first()
    documents = list(
        session.scalars(
            select(Document).where(Document.batch_id == batch.id).order_by(Document.sequence)
        )
    )
    items = session.scalars(
        select(InboxItem).where(InboxItem.document_id.in_([d.id for d in documents]))
    )
    return batch_out(batch, job, documents, {item.document_id: item for item in items})


@router.post(
    "",
    status_code=201,
    summary="Scan oder Stapel einliefern (PDF, TIFF, JPEG, PNG); speichert das Original und "
    "stellt die Verarbeitung in die Warteschlange",
)
async def upload(request: Request, runtime: RuntimeDep, user: UserDep) -> JSONResponse:
    with transaction(runtime.sessions) as session:
        Gate(session, user).require(Capability.SCAN, "document.upload")
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile):
            raise InvalidInput(
                "Bitte eine Datei im Feld »file« senden (multipart/form-data).", code="no_file"
            )
        station = form.get("station")
        body = await run_in_threadpool(
            _accept, runtime, upload_file, user, station if isinstance(station, str) else None
        )
    finally:
        await form.close()
    return JSONResponse(body, status_code=201)


def _accept(  # type: ignore[no-untyped-def]
    runtime, upload_file: UploadFile, user, station: str | None
) -> dict[str, Any]:
    work = runtime.settings.data_dir / "incoming"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=work, prefix="upload-", delete=False) as spool:
        upload_file.file.seek(0)
        shutil.copyfileobj(upload_file.file, spool, 1024 * 1024)
    path = Path(spool.name)
    try:
        batch, _job = accept_file(runtime, path, upload_file.filename, user, station=station)
    finally:
        path.unlink(missing_ok=True)
    with transaction(runtime.sessions) as session:
        return load_batch(session, batch.id)


def readable_document(gate: Gate, document_id: uuid.UUID, *, action: str) -> Document:
    """The document if the user may read it; every attempt, allowed or not, is audited."""
    return gate.document(document_id, action)[0]


@router.get("/{document_id}", summary="Stand eines Dokuments und seiner Verarbeitung")
def get_document(document_id: uuid.UUID, gate: GateDep) -> dict[str, Any]:
    return document_out(readable_document(gate, document_id, action="document.read"))
