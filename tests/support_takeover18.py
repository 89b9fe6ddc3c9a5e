"""Helpers of the take-over tests (tests/test_takeover18*.py): 0401 messages as this product
writes them (the contract in the README, "Übernahme einer Akte"), built from documents the
product makes (tagged PDF/A from pdf.access_report, the Transfervermerk from
records.xdomea_documents.transfer_note_pdf), and a foreign 0401 without our extension."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pikepdf
from lxml import etree
from sqlalchemy import select

from app.runtime import Runtime
from core.db import transaction
from pdf.access_report import Report, Section, build_report
from records.models import Document, Household
from records.scanrecord import scan_record
from records.xdomea import (
    Parties,
    code,
    message_file_name,
    new_message,
    q,
    safe_subject,
    serialize,
    sub,
)
from records.xdomea_documents import pdfa_version, transfer_note_pdf

SENDER = "Jobcenter Kreis Schleswig-Flensburg"
SENDER_BG = "01059BG0000123"
REPO = Path(__file__).resolve().parent.parent
SHARED_STANDARDS = REPO.parent / "shared" / "standards"
SHIPPED_STANDARDS = REPO / "records" / "standards"


@dataclass(frozen=True)
class SourceDocument:
    """A document of the sending file and what the receiving side must end up with."""

    ident: uuid.UUID
    typ: str  # as written into Typ
    expected_type: str  # our code after the mapping
    label: str | None
    pages: tuple[str, ...]
    receipt_date: date
    letter_date: date | None
    direction: str
    dispatch_date: date | None
    sender: str | None
    received_at: datetime
    pdf: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()

    @property
    def page_count(self) -> int:
        with pikepdf.open(io.BytesIO(self.pdf)) as opened:
            return len(opened.pages)


def letter_pdf(title: str, text: str, when: datetime) -> bytes:
    """A born-digital PDF/A-2a letter as the product writes its reports."""
    return build_report(
        Report(
            title=title,
            fields=[("Betreff", title)],
            sections=[Section("Inhalt", text=text)],
            footer=title,
            producer="E-Akte Jobcenter (Test)",
            created_at=when,
        )
    )


def source_documents() -> list[SourceDocument]:
    """Three documents: a catalogue code, a catalogue label as Typ, a type we do not know."""
    rows = [
        (
            "weiterbewilligungsantrag",
            "weiterbewilligungsantrag",
            "Weiterbewilligungsantrag",
            "Weiterbewilligungsantrag Zeitraum 2025 Flensburger Förde Mietzahlung",
            date(2025, 3, 4),
            date(2025, 3, 1),
            "in",
            None,
            "Anna Beispiel",
        ),
        (
            "Kontoauszug",
            "kontoauszug",
            None,
            "Kontoauszug Girokonto Husumer Sparkasse Umsatzliste",
            date(2025, 4, 10),
            date(2025, 4, 2),
            "in",
            None,
            None,
        ),
        (
            "Aktennotiz Hausbesuch",
            "sonstiges",
            None,
            "Hausbesuch Protokoll Außendienst Zwiebelturm",
            date(2025, 5, 6),
            None,
            "out",
            date(2025, 5, 6),
            None,
        ),
    ]
    documents = []
    for number, (
        typ,
        expected,
        label,
        text,
        receipt,
        letter,
        direction,
        dispatch,
        sender,
    ) in enumerate(rows, start=1):
        when = datetime(2025, 1, number, 9, 30, tzinfo=UTC)
        documents.append(
            SourceDocument(
                ident=uuid.UUID(int=number),
                typ=typ,
                expected_type=expected,
                label=label,
                pages=(text,),
                receipt_date=receipt,
                letter_date=letter,
                direction=direction,
                dispatch_date=dispatch,
                sender=sender,
                received_at=when,
                pdf=letter_pdf(typ, text, when),
            )
        )
    return documents


@dataclass(frozen=True)
class PersonRow:
    family_name: str
    given_names: str
    birth_date: date | None


def persons_of(runtime: Runtime, bg_number: str) -> list[PersonRow]:
    """The members of a local household as the sending authority would name them."""
    with transaction(runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == bg_number))
        assert household is not None
        return [PersonRow(m.last_name, m.first_name, m.birth_date) for m in household.members]


@dataclass
class Message:
    """A 0401 before it is zipped: tests may change the XML or the files first."""

    process_id: uuid.UUID
    akte_id: uuid.UUID
    root: Any
    files: dict[str, bytes]

    @property
    def name(self) -> str:
        return message_file_name(self.process_id, "0401")

    def xml(self) -> bytes:
        return serialize(self.root)

    def zip_bytes(self, extra: dict[str, bytes] | None = None) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(message_file_name(self.process_id, "0401", "xml"), self.xml())
            for name, data in {**self.files, **(extra or {})}.items():
                archive.writestr(name, data)
        return buffer.getvalue()

    def write(self, out: Path) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        target = out / self.name
        target.write_bytes(self.zip_bytes())
        return target

    def find(self, path: str) -> Any:
        return self.root.find(path, {"x": q("").strip("{}")})


def _field(parent: Any, name: str, value: str) -> None:
    feld = sub(parent, "Feld")
    sub(feld, "Name", name)
    sub(feld, "Wert", value)


def build_0401(
    persons: list[PersonRow],
    documents: list[SourceDocument],
    *,
    extension: bool = True,
    process_id: uuid.UUID | None = None,
) -> Message:
    """A 0401 as the contract describes it (with our extensions), or a foreign one without
    them (persons only as Kontakt names, Typ as free text, no hashes)."""
    process_id = process_id or uuid.uuid4()
    akte_id = uuid.uuid4()
    root, head = new_message(
        "0401",
        process_id,
        datetime(2026, 3, 2, 8, tzinfo=UTC),
        Parties(sender=SENDER, recipient="Jobcenter Nordfriesland"),
    )
    sub(head, "Importbestaetigung", "1")
    sub(head, "Empfangsbestaetigung", "1")
    akte = sub(sub(root, "Schriftgutobjekt"), "Akte")
    sub(sub(akte, "Identifikation"), "ID", akte_id)
    metadata = sub(akte, "AllgemeineMetadaten")
    sub(metadata, "Betreff", "Leistungsakte SGB II")
    sub(metadata, "Kennzeichen", SENDER_BG)
    files: dict[str, bytes] = {}
    content = sub(akte, "Akteninhalt")
    for number, document in enumerate(documents, start=1):
        element = sub(content, "Dokument")
        ident = sub(element, "Identifikation")
        sub(ident, "ID", document.ident)
        sub(ident, "NummerImUebergeordnetenContainer", number)
        sub(sub(element, "AllgemeineMetadaten"), "Betreff", document.typ)
        if document.direction == "out" and document.dispatch_date:
            sub(element, "Postausgangsdatum", document.dispatch_date)
        else:
            sub(element, "Posteingangsdatum", document.receipt_date)
        if document.letter_date:
            sub(element, "DatumDesSchreibens", document.letter_date)
        sub(element, "Typ", document.typ)
        name = f"{document.ident}_{safe_subject(document.typ)}.pdf"
        _version(element, name, document.received_at, document.pdf)
        files[name] = document.pdf
        note_id = uuid.uuid5(document.ident, "transfervermerk")
        note_name = f"{note_id}_Transfervermerk.pdf"
        stand_in = Document(
            id=document.ident, received_at=document.received_at, page_count=1, qa_status="approved"
        )
        note = transfer_note_pdf(scan_record(stand_in), stand_in)
        attachment = sub(element, "Anlage")
        sub(sub(attachment, "Identifikation"), "ID", note_id)
        sub(sub(attachment, "AllgemeineMetadaten"), "Betreff", "Transfervermerk")
        _version(attachment, note_name, None, note)
        files[note_name] = note
        if extension:
            ext = sub(element, "AnwendungsspezifischeErweiterung")
            sub(ext, "Kennung", "urn:eakte-jobcenter:dokument:1")
            sub(ext, "Name", "Dokument")
            _field(ext, "SHA-256", document.sha256)
            _field(ext, "Seiten", str(document.page_count))
            _field(ext, "Eingangsdatum", document.receipt_date.isoformat())
            _field(ext, "Richtung", document.direction)
            if document.label:
                _field(ext, "Dokumentart", document.label)
            if document.sender:
                _field(ext, "Absender", document.sender)
    for person in persons:
        contact = sub(akte, "Kontakt")
        name = sub(contact, "Name")
        sub(sub(name, "Familienname"), "Name", person.family_name)
        sub(sub(name, "Vorname"), "Name", person.given_names)
    if extension:
        ext = sub(akte, "AnwendungsspezifischeErweiterung")
        sub(ext, "Kennung", "urn:eakte-jobcenter:leistungsakte:1")
        sub(ext, "Name", "Leistungsakte SGB II")
        for person in persons:
            group = sub(ext, "Feldgruppe")
            sub(group, "Name", "Person")
            sub(group, "Beschreibung", "Mitglied der Bedarfsgemeinschaft")
            _field(group, "Familienname", person.family_name)
            _field(group, "Vornamen", person.given_names)
            if person.birth_date:
                _field(group, "Geburtsdatum", person.birth_date.isoformat())
        _field(ext, "BG-Nummer", SENDER_BG)
    return Message(process_id, akte_id, root, files)


def _version(parent: Any, filename: str, when: datetime | None, pdf: bytes) -> None:
    version = sub(parent, "Version")
    sub(version, "Nummer", "1")
    form = sub(version, "Format")
    code(form, "Name", "044", "dateiformat", "1.0")
    with_pdfa = _pdfa(pdf)
    sub(form, "Version", with_pdfa)
    primary = sub(form, "Primaerdokument")
    sub(primary, "Dateiname", filename)
    if when is not None:
        sub(primary, "DatumUhrzeit", when.replace(microsecond=0))


def _pdfa(pdf: bytes) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        return pdfa_version(Path(handle.name)) or "PDF/A-2b"


def schema_of(standards: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(standards / "xdomea" / "xdomea-3.0.0" / "xdomea.xsd")))


def zip_xml(data: bytes) -> etree._ElementTree:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".xml")]
        return etree.parse(io.BytesIO(archive.read(name)))
