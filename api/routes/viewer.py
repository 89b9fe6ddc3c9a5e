"""What the document viewer reads: a document's pages, their word boxes, and its PDF.

Every request goes through the access check and lands in the audit log, so the file shows who
looked at which document and who took a copy of it.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api.deps import GateDep, RuntimeDep
from api.routes.documents import readable_document
from ingest.routing import catalogue_for
from records.errors import NotFound
from records.models import Document, Page
from storage import read_bytes

router = APIRouter(prefix="/api/documents", tags=["Anzeige"])

# Renditions never change under their key (a new attempt writes new keys), so the browser may
# keep them; "private" keeps shared proxies from doing the same.
PRIVATE_CACHE = {"Cache-Control": "private, max-age=3600"}
_UMLAUTS = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


def _page_out(document: Document, page: Page) -> dict[str, Any]:
    base = f"/api/documents/{document.id}/pages/{page.number}"
    return {
        "number": page.number,
        "width": page.width,
        "height": page.height,
        "image_url": f"{base}/image" if page.image_key else None,
        "thumb_url": f"{base}/thumb" if page.thumb_key else None,
        "words_url": f"{base}/words" if page.words_key else None,
    }


@router.get("/{document_id}/view", summary="Dokument für die Anzeige: Angaben und Seiten")
def view_document(document_id: uuid.UUID, runtime: RuntimeDep, gate: GateDep) -> Response:
    document = readable_document(gate, document_id, action="document.view")
    names = {rule.code: rule.name for rule in catalogue_for(runtime.settings).types}
    pages = sorted(document.pages, key=lambda p: p.number)
    body = {
        "id": str(document.id),
        "source_name": document.source_name,
        "doc_type": document.doc_type,
        "doc_type_name": names.get(document.doc_type or "", document.doc_type),
        "bg_number": document.household.bg_number if document.household else None,
        "received_at": document.received_at.isoformat(),
        # The legal receipt date: the received stamp where one was read, else the scan day.
        "receipt_date": document.receipt_date.isoformat() if document.receipt_date else None,
        "letter_date": document.letter_date.isoformat() if document.letter_date else None,
        "status": document.status,
        "qa_status": document.qa_status,
        "page_count": len(pages),
        "pdf_url": f"/api/documents/{document.id}/pdf" if document.pdf_key else None,
        "pages": [_page_out(document, page) for page in pages],
    }
    # The answer names a household and is audited: the browser asks again every time.
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get(
    "/{document_id}/pages/{number}/words",
    summary="Wortpositionen einer Seite (Pixel des aufgerichteten Seitenbilds)",
)
def page_words(document_id: uuid.UUID, number: int, runtime: RuntimeDep, gate: GateDep) -> Response:
    document = readable_document(gate, document_id, action="document.page.words")
    page = next((p for p in document.pages if p.number == number), None)
    if page is None:
        raise NotFound(f"Das Dokument hat keine Seite {number}.")
    if page.words_key is None:
        raise NotFound("Für diese Seite gibt es keine Wortpositionen.")
    # Stored as JSON by the pipeline and checked against its SHA-256 on the way out.
    return Response(
        read_bytes(runtime.blobs, page.words_key),
        media_type="application/json",
        headers=PRIVATE_CACHE,
    )


@router.get("/{document_id}/pdf", summary="Durchsuchbares PDF herunterladen (inline=1: anzeigen)")
def document_pdf(
    document_id: uuid.UUID,
    runtime: RuntimeDep,
    gate: GateDep,
    inline: Annotated[bool, Query(description="im Browser anzeigen, z. B. zum Drucken")] = False,
) -> Response:
    action = "document.print" if inline else "document.download"
    document = readable_document(gate, document_id, action=action)
    if document.pdf_key is None:
        raise NotFound("Für dieses Dokument gibt es (noch) kein PDF.")
    content = read_bytes(runtime.blobs, document.pdf_key)
    disposition = "inline" if inline else "attachment"
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(disposition, pdf_filename(document)),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def pdf_filename(document: Document) -> str:
    """The scanned file's name, numbered when its batch held several documents."""
    name = PureWindowsPath(PurePosixPath(document.source_name or "").name).name
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = "".join(c for c in stem if unicodedata.category(c)[0] != "C").strip(" .") or "Dokument"
    batch = document.batch
    if document.sequence > 1 or (batch is not None and batch.documents_count > 1):
        stem = f"{stem}-{document.sequence}"
    return f"{stem[:120]}.pdf"


def content_disposition(kind: str, filename: str) -> str:
    """An ASCII fallback name for old clients and the exact one per RFC 6266/5987."""
    folded = unicodedata.normalize("NFKD", filename.translate(_UMLAUTS))
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", folded.encode("ascii", "ignore").decode())
    fallback = fallback.strip("._") or "Dokument.pdf"
    if not fallback.lower().endswith(".pdf"):
        fallback += ".pdf"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
