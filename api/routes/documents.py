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

from api.deps import DbDep, RuntimeDep, UserDep
from ingest.intake import accept_file
from records import audit
from records.db import transaction
from records.access import access_key_of, require_document_access
from records.errors import AccessDenied, InvalidInput, NotFound
from records.models import Document, Job

router = APIRouter(prefix="/api/documents", tags=["Dokumente"])

UPLOAD_ROLES = ("scanstelle", "admin")


def document_out(document: Document, job: Job | None) -> dict[str, Any]:
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
        "job": None
        if job is None
        else {"id": job.id, "state": job.state, "attempts": job.attempts, "error": job.last_error},
    }


@router.post(
    "",
    status_code=201,
    summary="Scan hochladen (PDF, TIFF, JPEG, PNG); speichert das Original und stellt die "
    "Verarbeitung in die Warteschlange",
)
async def upload(request: Request, runtime: RuntimeDep, user: UserDep) -> JSONResponse:
    if user.role not in UPLOAD_ROLES:
        raise AccessDenied("Nur die Scanstelle darf Dokumente einliefern.")
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile):
            raise InvalidInput(
                "Bitte eine Datei im Feld »file« senden (multipart/form-data).", code="no_file"
            )
        body = await run_in_threadpool(_accept, runtime, upload_file, user)
    finally:
        await form.close()
    return JSONResponse(body, status_code=201)


def _accept(runtime, upload_file: UploadFile, user) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    work = runtime.settings.data_dir / "incoming"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=work, prefix="upload-", delete=False) as spool:
        upload_file.file.seek(0)
        shutil.copyfileobj(upload_file.file, spool, 1024 * 1024)
    path = Path(spool.name)
    try:
        document, job = accept_file(runtime, path, upload_file.filename, user)
    finally:
        path.unlink(missing_ok=True)
    with transaction(runtime.sessions) as session:
        return document_out(session.get(Document, document.id), session.get(Job, job.id))


@router.get("/{document_id}", summary="Stand eines Dokuments und seiner Verarbeitung")
def get_document(document_id: uuid.UUID, db: DbDep, user: UserDep) -> dict[str, Any]:
    document = db.get(Document, document_id)
    if document is None:
        raise NotFound("Dokument nicht gefunden.")
    try:
        require_document_access(db, user, document)
    except AccessDenied:
        audit.record_refusal(
            db,
            user,
            "document.read",
            object_type="document",
            object_id=document_id,
            bg_number=access_key_of(document),
        )
        raise
    job = db.scalars(
        select(Job).where(Job.document_id == document.id).order_by(Job.id.desc()).limit(1)
    ).first()
    audit.record(
        db,
        user,
        "document.read",
        object_type="document",
        object_id=document.id,
        bg_number=document.household.bg_number if document.household else None,
    )
    return document_out(document, job)
