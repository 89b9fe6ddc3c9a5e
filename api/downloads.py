"""Stored files as answers: page images, word boxes and PDFs, with the name a browser saves a
PDF under."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from fastapi.responses import Response

from core.errors import NotFound
from core.text import fold_umlauts
from records.models import Document, Page
from storage import BlobStore, read_bytes


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
    folded = unicodedata.normalize("NFKD", fold_umlauts(filename, style="spelled"))
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", folded.encode("ascii", "ignore").decode())
    fallback = fallback.strip("._") or "Dokument.pdf"
    if not fallback.lower().endswith(".pdf"):
        fallback += ".pdf"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# Renditions never change under their key (a new attempt writes new keys), so the browser may
# keep them; "private" keeps shared proxies from doing the same.
PRIVATE_CACHE = {"Cache-Control": "private, max-age=3600"}


def page_of(document: Document, number: int) -> Page:
    page = next((p for p in document.pages if p.number == number), None)
    if page is None:
        raise NotFound(f"Das Dokument hat keine Seite {number}.")
    return page


def stored_file(blobs: BlobStore, key: str | None, media_type: str, missing: str) -> Response:
    """A rendition from the blob store (its SHA-256 checked on the way out); `missing` is the
    German answer where there is none."""
    if key is None:
        raise NotFound(missing)
    return Response(read_bytes(blobs, key), media_type=media_type, headers=PRIVATE_CACHE)


def pdf_answer(content: bytes, filename: str, *, inline: bool = False) -> Response:
    """A PDF to save (or, inline, to show), never kept by a cache."""
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(
                "inline" if inline else "attachment", filename
            ),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def zip_answer(content: bytes, filename: str) -> Response:
    """A zip to save (a court folder's part, an xdomea message), never kept by a cache."""
    return Response(
        content,
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition("attachment", filename),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
