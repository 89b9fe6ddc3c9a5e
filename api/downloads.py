"""File downloads: the name a browser saves a PDF under."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from core.text import fold_umlauts
from records.models import Document


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
