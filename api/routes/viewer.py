"""What the document viewer reads: a document's pages, their word boxes, and its PDF.

Every request goes through the access check and lands in the audit log, so the file shows who
looked at which document and who took a copy of it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import GateDep, RuntimeDep, TypeNamesDep
from api.downloads import page_of, pdf_answer, pdf_filename, stored_file
from api.schemas import DocumentViewOut, WordBox, binary
from core.errors import NotFound
from records import file_exports
from storage import read_bytes

router = APIRouter(prefix="/api/documents", tags=["Anzeige"])


@router.get(
    "/{document_id}/view",
    response_model=DocumentViewOut,
    summary="Dokument für die Anzeige: Angaben und Seiten",
)
def view_document(
    document_id: uuid.UUID, response: Response, names: TypeNamesDep, gate: GateDep
) -> DocumentViewOut:
    document = gate.read_document(document_id, "document.view")
    # The answer names a household and is audited: the browser asks again every time.
    response.headers["Cache-Control"] = "no-store"
    return DocumentViewOut.named(document, names)


@router.get(
    "/{document_id}/pages/{number}/words",
    response_class=Response,
    responses={200: {"model": list[WordBox], "content": {"application/json": {}}}},
    summary="Wortpositionen einer Seite (Pixel des aufgerichteten Seitenbilds)",
)
def page_words(document_id: uuid.UUID, number: int, runtime: RuntimeDep, gate: GateDep) -> Response:
    document = gate.read_document(document_id, "document.page.words")
    # Stored as JSON by the pipeline.
    return stored_file(
        runtime.blobs,
        page_of(document, number).words_key,
        "application/json",
        "Für diese Seite gibt es keine Wortpositionen.",
    )


@router.get(
    "/{document_id}/pdf",
    response_class=Response,
    responses=binary("application/pdf", "das PDF"),
    summary="Durchsuchbares PDF herunterladen (inline=1: anzeigen)",
)
def document_pdf(
    document_id: uuid.UUID,
    runtime: RuntimeDep,
    gate: GateDep,
    names: TypeNamesDep,
    inline: Annotated[bool, Query(description="im Browser anzeigen, z. B. zum Drucken")] = False,
) -> Response:
    action = "document.print" if inline else "document.download"
    document = gate.read_document(document_id, action)
    if document.pdf_key is None:
        raise NotFound("Für dieses Dokument gibt es (noch) kein PDF.")
    content = read_bytes(runtime.blobs, document.pdf_key)
    # The pages' alternative texts name the type and date, not the file name (issue 15).
    content = file_exports.labelled_rendition(document, content, names)
    return pdf_answer(content, pdf_filename(document), inline=inline)
