"""Handing in scans at the desk, and a document's processing state."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import GateDep, RuntimeDep, UserDep
from api.schemas import BatchOut, DocumentOut
from core.errors import InvalidInput
from ingest.uploads import accept_scan, check_may_scan

router = APIRouter(prefix="/api/documents", tags=["Dokumente"])


@router.post(
    "",
    status_code=201,
    response_model=BatchOut,
    summary="Scan oder Stapel einliefern (PDF, TIFF, JPEG, PNG); speichert das Original und "
    "stellt die Verarbeitung in die Warteschlange",
)
async def upload(request: Request, runtime: RuntimeDep, user: UserDep) -> BatchOut:
    await run_in_threadpool(check_may_scan, runtime, user)
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile):
            raise InvalidInput(
                "Bitte eine Datei im Feld »file« senden (multipart/form-data).", code="no_file"
            )
        station = form.get("station")
        view = await run_in_threadpool(
            accept_scan,
            runtime,
            user,
            upload_file.file,
            upload_file.filename,
            station if isinstance(station, str) else None,
        )
    finally:
        await form.close()
    return BatchOut.of(view)


@router.get(
    "/{document_id}",
    response_model=DocumentOut,
    summary="Stand eines Dokuments und seiner Verarbeitung",
)
def get_document(document_id: uuid.UUID, gate: GateDep) -> DocumentOut:
    return DocumentOut.model_validate(gate.read_document(document_id, "document.read"))
