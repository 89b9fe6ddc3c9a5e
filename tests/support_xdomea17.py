"""Helpers of the Aussonderung tests (tests/test_xdomea17*.py): closed files whose period ran
out, with scanned documents as the pipeline stores them (PDF/A-2b rendition written by
ingest/archive_pdf.py, the scan record next to it), and the archive's messages as an archive
writes them."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select

from app.runtime import Runtime
from core.db import transaction
from ingest.archive_pdf import write_pdfa
from records.access import Gate
from records.disposal import cli_user
from records.models import Document, Household, RetentionHold
from records.scanrecord import scan_record
from records.xdomea import Parties, code, new_message, schema_path, sub, write_message_zip
from tests.support import KOCH, NEIGHBOUR, OWN, Sheet, file_letter, load_people, scan_pdf

TODAY = date(2026, 1, 15)
ARCHIVE = Parties(sender="Landesarchiv", recipient="Jobcenter")
STANDARDS = Path(__file__).resolve().parent.parent / "records" / "standards"


def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schema_path(STANDARDS))))


def message_xml(zip_path: Path) -> tuple[etree._ElementTree, zipfile.ZipFile]:
    archive = zipfile.ZipFile(zip_path)
    xml_names = [n for n in archive.namelist() if n.endswith(".xml")]
    assert xml_names == [zip_path.name.removesuffix(".zip") + ".xml"]
    return etree.parse(io.BytesIO(archive.read(xml_names[0]))), archive


def assert_valid(zip_path: Path) -> etree._ElementTree:
    tree, _archive = message_xml(zip_path)
    validator = schema()
    assert validator.validate(tree), validator.error_log
    return tree


def store_rendition(runtime: Runtime, document: Document, work: Path, text: str) -> None:
    """The document's searchable PDF/A and scan record, as the pipeline stores them."""
    page = scan_pdf(work / f"{document.id}-scan.pdf", [Sheet(text)])
    target = work / f"{document.id}.pdf"
    write_pdfa([page], target, title=text, created=datetime(2013, 5, 2, 10, tzinfo=UTC))
    data = target.read_bytes()
    key = f"renditions/{document.id}.pdf"
    runtime.blobs.put(key, io.BytesIO(data))
    document.pdf_key, document.pdf_sha256 = key, hashlib.sha256(data).hexdigest()
    record_key = f"records/{document.id}/transfervermerk-1.json"
    record = json.dumps(scan_record(document), ensure_ascii=False).encode()
    runtime.blobs.put(record_key, io.BytesIO(record))
    document.scan_record_key = record_key


def prepare_files(runtime: Runtime, work: Path, *, people: bool = True) -> dict[str, list[str]]:
    """Three closed files whose period ran out (benefits ended 2014): OWN with two letters,
    NEIGHBOUR with one, KOCH held by a recovery claim. The documents' ids per BG number."""
    if people:
        load_people(runtime)
    work.mkdir(parents=True, exist_ok=True)
    documents: dict[str, list[str]] = {}
    with transaction(runtime.sessions) as session:
        letters = {
            OWN: [
                ("weiterbewilligungsantrag", "Weiterbewilligungsantrag 2013"),
                ("kontoauszug", "Kontoauszug Mai"),
            ],
            NEIGHBOUR: [("widerspruch", "Widerspruch gegen den Bescheid")],
            KOCH: [("sonstiges", "Ein Brief")],
        }
        for bg, wanted in letters.items():
            household = session.scalar(select(Household).where(Household.bg_number == bg))
            assert household is not None
            household.benefits_end = date(2014, 6, 30)
            for doc_type, text in wanted:
                document = file_letter(
                    session,
                    household,
                    doc_type,
                    text,
                    receipt_date=date(2013, 5, 2),
                    letter_date=date(2013, 4, 30),
                )
                session.flush()
                store_rendition(runtime, document, work, text)
                documents.setdefault(bg, []).append(str(document.id))
            if bg == KOCH:
                session.add(
                    RetentionHold(
                        household_id=household.id,
                        reason_code="erstattung",
                        reason_text="Rückforderung offen",
                        set_by_login="schriftgut",
                    )
                )
    return documents


def gate_of(session: Any) -> Gate:
    return Gate(session, cli_user())


def archive_message(
    msg_type: str, process_id: uuid.UUID, body: list[tuple[str, str]] | None, out: Path, **head: str
) -> Path:
    """A message as the archive writes it (0502: (file id, A|V); 0506: (file id, reference or
    '' for a failure)), valid against the schema."""
    root, kopf = new_message(msg_type, process_id, datetime(2026, 2, 1, 9, tzinfo=UTC), ARCHIVE)
    if msg_type == "0502":
        sub(kopf, "Empfangsbestaetigung", head.get("receipt", "true"))
        for ident, decision in body or []:
            evaluated = sub(root, "BewertetesObjekt")
            sub(evaluated, "ID", ident)
            kind = sub(evaluated, "Aussonderungsart")
            code(kind, "Aussonderungsart", decision, "aussonderungsart", "1.0")
    elif msg_type == "0506":
        for ident, reference in body or []:
            confirmed = sub(root, "AusgesondertesSGO")
            sub(confirmed, "IDSGO", ident)
            sub(confirmed, "Erfolgreich", "true" if reference else "false")
            if not reference:
                sub(confirmed, "Fehlermeldung", "Prüfsumme falsch")
            else:
                sub(confirmed, "Archivkennung", reference)
    return write_message_zip(out, msg_type, process_id, root, STANDARDS)


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()
