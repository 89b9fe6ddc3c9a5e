"""Documents as they leave the product in an xdomea message: the case file's documents in file
order, each as its PDF/A rendition (checked against its SHA-256) with its scan record
(Transfervermerk) as a PDF/A attachment. Shared by the offer to the archive (records.disposal,
0503) and the hand-over to another authority (records.handover, 0401), so that both write a
document the same way.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pikepdf
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from pdf.access_report import Report, Section, build_report
from records.access import in_case_file_clause
from records.models import Document, Household
from records.scanrecord import scan_record
from records.xdomea import code, safe_subject, sub
from storage.base import BlobStore, downloaded, read_bytes, sha256_of_file

# A list of the files a message carries: (name in the zip, bytes or a file on disk).
Files = list[tuple[str, bytes | Path]]


def case_file_documents(session: Session, household: Household) -> list[Document]:
    """The documents in the household's case file, in file order (receipt date, arrival)."""
    return list(
        session.scalars(
            select(Document)
            .where(Document.household_id == household.id, in_case_file_clause())
            .order_by(Document.receipt_date, Document.received_at, Document.id)
        )
    )


def document_subject(document: Document) -> str:
    """The Betreff a document is sent under: its type code, readable."""
    return (document.doc_type or "Dokument").replace("_", " ").capitalize()


def add_document(
    content: Any,
    document: Document,
    number: int,
    blobs: BlobStore,
    files: Files,
    work: Path,
    *,
    bg_number: str,
    purpose: str,
) -> Any:
    """One `Dokument` element under `content` (an Akteninhalt) with its PDF/A version and the
    Transfervermerk attachment; both files are copied into `work` and listed in `files`.
    `purpose` names the step in German for the refusals ("die Aussonderung"). Returns the
    element, so that the caller may append what follows Anlage in the schema's order."""
    if not document.pdf_key or not document.pdf_sha256:
        raise InvalidInput(
            f"Das Dokument {document.id} der Akte {bg_number} ist noch nicht "
            f"verarbeitet; {purpose} kann es nicht übergeben."
        )
    pdf = work / f"{document.id}.pdf"
    with downloaded(blobs, document.pdf_key, pdf.with_suffix(".part")) as fetched:
        fetched.rename(pdf)
    if sha256_of_file(pdf) != document.pdf_sha256:
        raise InvalidInput(
            f"Das PDF des Dokuments {document.id} stimmt nicht mit seiner Prüfsumme überein."
        )
    version = pdfa_version(pdf)
    if version is None:
        raise InvalidInput(
            f"Das PDF des Dokuments {document.id} ist kein PDF/A; {purpose} übergibt nur PDF/A."
        )
    subject = document_subject(document)
    element = sub(content, "Dokument")
    ident = sub(element, "Identifikation")
    sub(ident, "ID", document.id)
    sub(ident, "NummerImUebergeordnetenContainer", number)
    sub(sub(element, "AllgemeineMetadaten"), "Betreff", subject)
    if document.direction == "out" and document.dispatch_date:
        sub(element, "Postausgangsdatum", document.dispatch_date)
    elif document.receipt_date:
        sub(element, "Posteingangsdatum", document.receipt_date)
    if document.letter_date:
        sub(element, "DatumDesSchreibens", document.letter_date)
    if document.doc_type:
        sub(element, "Typ", document.doc_type)
    name = f"{document.id}_{safe_subject(subject)}.pdf"
    version_element(element, name, document.received_at, version)
    files.append((name, pdf))
    record_id = uuid.uuid5(document.id, "transfervermerk")
    attachment = sub(element, "Anlage")
    sub(sub(attachment, "Identifikation"), "ID", record_id)
    sub(sub(attachment, "AllgemeineMetadaten"), "Betreff", "Transfervermerk")
    record_name = f"{record_id}_Transfervermerk.pdf"
    note = work / record_name
    note.write_bytes(transfer_note_pdf(scan_record_of(blobs, document), document))
    version_element(attachment, record_name, None, pdfa_version(note) or "PDF/A-2b")
    files.append((record_name, note))
    return element


def pdfa_version(pdf: Path) -> str | None:
    """ "PDF/A-2b" etc. as the PDF's XMP identification states it; None for a PDF that does
    not claim PDF/A (the renditions are PDF/A-2 from ingest/archive_pdf.py)."""
    try:
        with pikepdf.open(pdf) as opened:
            meta = opened.open_metadata()
            part = meta.get("pdfaid:part")
            conformance = meta.get("pdfaid:conformance") or ""
    except (pikepdf.PdfError, ValueError):
        return None
    return f"PDF/A-{part}{conformance.lower()}" if part else None


def version_element(parent: Any, filename: str, when: datetime | None, pdfa: str) -> None:
    """Version 1 of a document or attachment: format 044 (PDF/A) and its primary file."""
    version = sub(parent, "Version")
    sub(version, "Nummer", "1")
    form = sub(version, "Format")
    code(form, "Name", "044", "dateiformat", "1.0")
    sub(form, "Version", pdfa)
    primary = sub(form, "Primaerdokument")
    sub(primary, "Dateiname", filename)
    if when is not None:
        sub(primary, "DatumUhrzeit", when.astimezone(UTC).replace(microsecond=0))


def scan_record_of(blobs: BlobStore, document: Document) -> dict[str, Any]:
    """The scan record frozen at the quality check, else the one built from the document."""
    if document.scan_record_key:
        stored: dict[str, Any] = json.loads(read_bytes(blobs, document.scan_record_key))
        return stored
    return scan_record(document)


def _text(value: object) -> str:
    if value is None or value == "":
        return "–"
    return str(value)


def transfer_note_pdf(record: dict[str, Any], document: Document) -> bytes:
    """The scan record (Transfervermerk) as a small tagged PDF/A."""
    position = record.get("position_in_batch") or {}
    searchable = record.get("searchable_pdf") or {}
    original = record.get("original") or {}
    qa = record.get("qa") or {}
    operator = record.get("operator") or {}
    dropped = record.get("dropped_pages") or []
    fields = [
        ("Dokument", _text(record.get("document_id"))),
        ("Eingang", _text(record.get("received_at"))),
        ("Verarbeitet", _text(record.get("processed_at"))),
        ("Eingangsweg", _text(record.get("channel"))),
        ("Scanstation", _text(record.get("station"))),
        ("Erfasst von", _text(operator.get("name"))),
        ("Quelldatei", _text(record.get("source_file"))),
        (
            "Seiten",
            f"{_text(position.get('first_page'))}–{_text(position.get('last_page'))} von "
            f"{_text(record.get('pages_in_batch'))} im Stapel",
        ),
        ("Original SHA-256", _text(original.get("sha256"))),
        ("PDF SHA-256", _text(searchable.get("sha256"))),
        ("Qualitätskontrolle", _text(qa.get("status_text"))),
    ]
    sections = [
        Section(
            "Entfernte Seiten",
            text="; ".join(
                f"Seite {page.get('page')}: {page.get('reason_text')}" for page in dropped
            )
            or "Keine.",
        )
    ]
    return build_report(
        Report(
            title="Transfervermerk",
            fields=fields,
            sections=sections,
            footer=f"Transfervermerk {document.id}",
            producer="E-Akte Jobcenter (Aussonderung)",
            created_at=document.received_at,
            intro="Wie das Papierdokument zu dieser Datei wurde (nach TR-RESISCAN).",
        )
    )
