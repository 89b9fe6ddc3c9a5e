"""Handing in scans at the desk, and a document's processing state."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import GateDep, RuntimeDep, TypeNamesDep, UserDep
from api.schemas import BatchOut, DocumentOut, Out, Timestamp
from core.errors import InvalidInput
from ingest.uploads import accept_scan, check_may_scan
from records.history import document_history

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


class HistoryEntryOut(Out):
    at: Timestamp
    when: str = Field(description="Zeitpunkt, deutsch geschrieben (Ortszeit)")
    who: str = Field(description="Name der Person (für eine Vertretung »B für A«)")
    action: str
    label: str = Field(description="Was geschah, auf Deutsch")
    particulars: str = Field(description="Was sich änderte, Begründung oder Kommentar")


class HistoryOut(Out):
    entries: list[HistoryEntryOut]


@router.get(
    "/{document_id}/history",
    response_model=HistoryOut,
    summary="Verlauf eines Dokuments aus dem Protokoll: wer hat wann was getan",
)
def get_history(
    document_id: uuid.UUID, response: Response, names: TypeNamesDep, gate: GateDep
) -> HistoryOut:
    entries = document_history(gate, document_id, names)
    # Names colleagues and is audited: the browser asks again every time.
    response.headers["Cache-Control"] = "no-store"
    return HistoryOut(entries=[HistoryEntryOut.model_validate(e) for e in entries])
