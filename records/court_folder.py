"""The court's administrative file as a folder for the court's electronic mailbox (EGVP/beBPo):
one PDF/A per document, its scan record (Transfervermerk) as its own PDF/A, and
`xjustiz_nachricht.xml` (XJustiz 0005005, records/xjustiz.py), zipped per message.

The courts' mailbox takes at most `MAX_FILES` files and `MAX_BYTES` per message: a larger file
is split into numbered parts, each a complete message listing only its own documents (part N
of M in its head), zipped as `..._Teil_01_von_03.zip`. A single document larger than a
message may be is refused. File names keep to what the mailboxes accept: ASCII letters,
digits, `_`, `-`, `.`, at most `MAX_NAME` characters, numbered in file order and unique.

A withheld document (§ 25 Abs. 3 SGB X) is in the message with `akteneinsicht=false` and a
one-page Fehlblatt naming the reason in place of its PDF; its sender is never named.

Like the PDF Aktenauszug (records/file_exports.py): planned and checked in one transaction
(`plan_court_folder`), built without the database (`build_court_folder`), recorded in another
(`file_exports.record_court_folder`).
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.dates import LOCAL_TZ, german
from core.errors import InvalidInput
from core.text import fold_umlauts
from pdf.access_report import Report, Section, build_report
from records import xjustiz
from records.access import Gate
from records.file_exports import ExportPlan, plan_export
from records.models import Appeal, Document
from records.xdomea_documents import scan_record_of, transfer_note_pdf
from storage.base import BlobStore, downloaded

MAX_FILES = 1000  # per message, the XML included
MAX_BYTES = 200 * 1024 * 1024  # per message
MAX_NAME = 90
MESSAGE_FILE = "xjustiz_nachricht.xml"
# Room kept in each part for its XML: a fixed head and a little per document.
XML_RESERVE = 64 * 1024
XML_PER_DOCUMENT = 4 * 1024
FILE_NAME = re.compile(rf"^[A-Za-z0-9_.-]{{1,{MAX_NAME}}}$")


@dataclass(frozen=True)
class FolderDocument:
    """What the build needs of one document, read while planning."""

    id: str
    number: int
    doc_type: str | None
    title: str
    day: date | None
    received_at: datetime
    incoming: bool  # a letter received (has a Posteingangsdatum)
    scanned_on: date | None
    sender: str | None
    pages: int
    pdf_key: str | None
    scan_record: dict[str, Any] | None
    withheld_reason: str | None


@dataclass(frozen=True)
class CourtFolderPlan:
    export: ExportPlan
    court: str
    court_code: str
    court_reference: str
    documents: tuple[FolderDocument, ...]
    xjustiz_dir: Path


@dataclass(frozen=True)
class BuiltCourtFolder:
    """The stored parts ({number, name, key, sha256, size_bytes, files}) and the documents
    ({document_id, title, date, file, part, pages, withheld_reason})."""

    parts: list[dict[str, Any]]
    listed: list[dict[str, Any]]
    pages: int


def plan_court_folder(
    gate: Gate,
    blobs: BlobStore,
    bg_number: str,
    names: dict[str, str],
    *,
    appeal_id: int | None,
    xjustiz_dir: Path,
    document_ids: list[uuid.UUID] | None = None,
    withheld: dict[uuid.UUID, str] | None = None,
    court_code: str | None = None,
    job_centre: str = "Jobcenter",
    now: datetime | None = None,
) -> CourtFolderPlan:
    """Check the request (rights, documents, withheld, the schemas, the court in GDS.Gerichte);
    say what the folder holds. Refusals are German; nothing is recorded.

    The court is found in GDS.Gerichte by the name the appeal records, or is `court_code`
    chosen in the form when the name is not in the list."""
    xjustiz.require_schemas(xjustiz_dir)
    if appeal_id is None:
        raise InvalidInput(
            "Den Ordner für das Gerichtspostfach gibt es nur für eine Klage: bitte die Klage "
            "wählen.",
            code="scope",
        )
    session = gate.session
    # Columns only: plan_export loads the appeal with what its checks need.
    appeal = session.execute(
        select(Appeal.court, Appeal.file_reference).where(Appeal.id == appeal_id)
    ).first()
    recipient = f"{appeal.court}, Az. {appeal.file_reference}" if appeal else ""
    plan = plan_export(
        gate,
        bg_number,
        names,
        recipient=recipient or "Sozialgericht",
        legal_basis="sgg_104",
        document_ids=document_ids,
        withheld=withheld,
        appeal_id=appeal_id,
        job_centre=job_centre,
        now=now,
    )
    assert appeal is not None  # plan_export refused an appeal of another file
    code = (
        xjustiz.chosen_court(xjustiz_dir, court_code)
        if court_code
        else xjustiz.court_code(xjustiz_dir, appeal.court)
    )
    documents = []
    for number, item in enumerate(plan.items, 1):
        document = session.get(Document, uuid.UUID(item.document_id))
        assert document is not None
        held = item.withheld_reason is not None
        record = None if held else scan_record_of(blobs, document)
        documents.append(
            FolderDocument(
                id=item.document_id,
                number=number,
                doc_type=document.doc_type,
                title=item.title,
                day=item.date,
                received_at=document.received_at,
                incoming=document.direction != "out",
                scanned_on=_scanned_on(document, record),
                sender=None if held else item.sender,
                pages=document.page_count or 0,
                pdf_key=None if held else document.pdf_key,
                scan_record=record,
                withheld_reason=item.withheld_reason,
            )
        )
    return CourtFolderPlan(
        export=plan,
        court=appeal.court,
        court_code=code,
        court_reference=appeal.file_reference,
        documents=tuple(documents),
        xjustiz_dir=xjustiz_dir,
    )


# Channels that bring files, not paper: no scan date for what came through them.
NOT_SCANNED = ("mailbox", "file")


def _scanned_on(document: Document, record: dict[str, Any] | None) -> date | None:
    """The day the paper was captured (its arrival in the product, local time); None for an
    outgoing decision, an e-mail or a file a caseworker filed, none of them scanned paper."""
    if document.direction == "out" or record is None or record.get("channel") in NOT_SCANNED:
        return None
    return document.received_at.astimezone(LOCAL_TZ).date()


def file_stem(number: int, title: str, day: date | None) -> str:
    """`001_Bescheid_2026-10-01`: number, title in ASCII, date; short enough for the suffix."""
    cleaned = re.sub(r"[^0-9A-Za-z-]+", "_", _latin(title)).strip("_") or "Dokument"
    tail = f"_{day.isoformat()}" if day else ""
    room = MAX_NAME - len(f"{number:03d}_") - len(tail) - len("_Transfervermerk.pdf")
    return f"{number:03d}_{cleaned[:room].rstrip('_')}{tail}"


@dataclass
class _Entry:
    document: FolderDocument
    files: list[tuple[str, Path]]  # (name in the folder, local file)
    message_files: tuple[xjustiz.MessageFile, ...]

    @property
    def size(self) -> int:
        return sum(path.stat().st_size for _, path in self.files)


def build_court_folder(
    plan: CourtFolderPlan,
    blobs: BlobStore,
    work_dir: Path | None = None,
    *,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_BYTES,
) -> BuiltCourtFolder:
    """Fetch the PDFs, write the Transfervermerke and Fehlblätter, split into parts within the
    limits, check every part's message and store each part's zip; needs no database."""
    header = plan.export.header
    process_id = str(uuid.uuid4())
    file_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"eakte:akte:{header.bg_number}"))
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="court-") as scratch:
        folder = Path(scratch)
        entries = [_entry(document, blobs, folder) for document in plan.documents]
        names = [name for entry in entries for name, _ in entry.files]
        if len(set(names)) != len(names) or not all(FILE_NAME.match(n) for n in names):
            raise RuntimeError(f"court folder: file names not unique or not allowed: {names}")
        groups = _split(entries, max_files, max_bytes)
        base = f"Verwaltungsakte_{_ascii(header.bg_number)}_{_ascii(plan.court_reference)}"
        parts: list[dict[str, Any]] = []
        listed: list[dict[str, Any]] = []
        for number, group in enumerate(groups, 1):
            message = xjustiz.build_message(
                xjustiz.MessageHeader(
                    message_id=str(uuid.uuid4()),
                    process_id=process_id,
                    file_id=file_id,
                    created_at=header.created_at,
                    job_centre=header.job_centre,
                    court_code=plan.court_code,
                    court_reference=plan.court_reference,
                    bg_number=header.bg_number,
                    file_title=f"Verwaltungsakte {header.bg_number}",
                    part=number,
                    parts=len(groups),
                ),
                [_message_document(entry) for entry in group],
                plan.xjustiz_dir,
            )
            xml = xjustiz.checked(message, plan.xjustiz_dir)
            files = [name for entry in group for name, _ in entry.files]
            total = len(xml) + sum(entry.size for entry in group)
            if total > max_bytes or len(files) + 1 > max_files:
                raise RuntimeError(f"court folder part {number} exceeds the mailbox limits")
            name = f"{base}_Teil_{number:02d}_von_{len(groups):02d}.zip"
            target = folder / name
            with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(MESSAGE_FILE, xml)
                for entry in group:
                    for file_name, path in entry.files:
                        archive.write(path, file_name, compress_type=zipfile.ZIP_STORED)
            key = f"exports/{header.bg_number}/{uuid.uuid4().hex}_{name}"
            with target.open("rb") as written:
                stored = blobs.put(key, written)
            parts.append(
                {
                    "number": number,
                    "name": name,
                    "key": key,
                    "sha256": stored.sha256,
                    "size_bytes": stored.size,
                    "files": [MESSAGE_FILE, *files],
                }
            )
            listed += [
                {
                    "document_id": entry.document.id,
                    "title": entry.document.title,
                    "date": entry.document.day.isoformat() if entry.document.day else None,
                    "file": entry.files[0][0],
                    "part": number,
                    "first_page": 1,
                    "last_page": entry.document.pages or 1,
                    "withheld_reason": entry.document.withheld_reason,
                }
                for entry in group
            ]
    pages = sum(d.pages for d in plan.documents if d.withheld_reason is None)
    return BuiltCourtFolder(parts=parts, listed=listed, pages=pages)


# Latin letters that do not decompose into a base letter and an accent.
_LETTERS = str.maketrans(
    {"Ł": "L", "ł": "l", "Æ": "Ae", "æ": "ae", "Ø": "O", "ø": "o", "Œ": "Oe", "œ": "oe",
     "Đ": "D", "đ": "d", "ı": "i", "Þ": "Th", "þ": "th"}
)  # fmt: skip


def _latin(text: str) -> str:
    """German umlauts spelled out (ä -> ae), other letters without their accents (ó -> o)."""
    text = fold_umlauts(text, style="spelled").translate(_LETTERS)
    folded = unicodedata.normalize("NFKD", text)
    return "".join(char for char in folded if not unicodedata.combining(char))


def _ascii(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z-]+", "-", _latin(text)).strip("-")[:30] or "ohne"


def _entry(document: FolderDocument, blobs: BlobStore, folder: Path) -> _Entry:
    stem = file_stem(document.number, document.title, document.day)
    if document.withheld_reason is not None:
        name = f"{stem}_Fehlblatt.pdf"
        path = folder / name
        path.write_bytes(_missing_sheet(document))
        return _Entry(document, [(name, path)], (xjustiz.MessageFile(name, "001"),))
    assert document.pdf_key is not None
    name = f"{stem}.pdf"
    path = folder / name
    with downloaded(blobs, document.pdf_key, path.with_suffix(".part")) as fetched:
        fetched.rename(path)
    files = [(name, path)]
    message_files = [xjustiz.MessageFile(name, xjustiz.PART_ORIGINAL)]
    if document.scan_record is not None:
        note = f"{stem}_Transfervermerk.pdf"
        note_path = folder / note
        stand_in = Document(id=uuid.UUID(document.id), received_at=document.received_at)
        note_path.write_bytes(transfer_note_pdf(document.scan_record, stand_in))
        files.append((note, note_path))
        message_files.append(xjustiz.MessageFile(note, xjustiz.PART_TRANSFER_NOTE, name))
    return _Entry(document, files, tuple(message_files))


def _missing_sheet(document: FolderDocument) -> bytes:
    """The page that stands in for a withheld document: which, and why (no sender)."""
    return build_report(
        Report(
            title="Dokument zurückgehalten",
            fields=[
                ("Nr. im Verzeichnis", str(document.number)),
                ("Bezeichnung", document.title),
                ("Datum", german(document.day) if document.day else "ohne Datum"),
                ("Grund", document.withheld_reason or ""),
            ],
            sections=[
                Section(
                    "Hinweis",
                    text="Das Dokument gehört zur Akte, ist in dieser Übermittlung aber nicht "
                    "enthalten. Dieses Blatt steht an seiner Stelle.",
                )
            ],
            footer=f"Fehlblatt {document.id}",
            producer="E-Akte Jobcenter (Verwaltungsakte für das Gericht)",
            created_at=document.received_at,
        )
    )


def _message_document(entry: _Entry) -> xjustiz.MessageDocument:
    document = entry.document
    return xjustiz.MessageDocument(
        id=document.id,
        number=document.number,
        doc_type=document.doc_type,
        title=xjustiz_title(document),
        letter_date=document.day,
        received_at=document.received_at if document.incoming else None,
        scanned_on=document.scanned_on,
        sender=document.sender,
        files=entry.message_files,
        withheld=document.withheld_reason is not None,
    )


def xjustiz_title(document: FolderDocument) -> str:
    day = german(document.day) if document.day else "ohne Datum"
    title = f"{document.number}. {document.title} vom {day}"
    return title + " (zurückgehalten)" if document.withheld_reason is not None else title


def _split(entries: list[_Entry], max_files: int, max_bytes: int) -> list[list[_Entry]]:
    """Documents in file order into as few parts as the limits allow (a document's files stay
    together); a document too large for any message is refused."""
    groups: list[list[_Entry]] = [[]]
    files = 1  # the XML
    size = XML_RESERVE
    for entry in entries:
        need_files, need_bytes = len(entry.files), entry.size + XML_PER_DOCUMENT
        if need_files + 1 > max_files or XML_RESERVE + need_bytes > max_bytes:
            raise InvalidInput(
                f"Dokument Nr. {entry.document.number} ({entry.document.title}) ist mit "
                f"{_megabytes(entry.size)} zu groß für eine Nachricht an das Gericht "
                f"(höchstens {_megabytes(max_bytes)} je Nachricht). Bitte das Dokument "
                "abwählen und dem Gericht auf anderem Weg übermitteln.",
                code="too_large",
            )
        if groups[-1] and (files + need_files > max_files or size + need_bytes > max_bytes):
            groups.append([])
            files, size = 1, XML_RESERVE
        groups[-1].append(entry)
        files += need_files
        size += need_bytes
    return groups


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")
