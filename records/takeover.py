"""Taking over a file from another authority (Übernahme, xdomea 3.0.0 `Abgabe.Abgabe.0401`).

When a client moves, the job centre of the new place of residence becomes responsible (§ 36
SGB II) and receives the old file as a 0401 message. `import_0401` takes it over:

1. the message is read with `records.xdomea.read_message_zip` (zip name and entries, schema,
   ProzessID, the files it names) and then checked as a whole: exactly one Akte, a ProzessID
   not taken over before, every document a PDF/A whose SHA-256 and page count match what our
   extension (`urn:eakte-jobcenter:dokument:1`, see the README) states. A foreign 0401 without
   the extension is taken: its documents are marked "ohne Prüfsumme übernommen";
2. only then are blobs written (the zip, each PDF byte for byte, its Transfervermerk) and rows
   added; a transaction that does not commit deletes those blobs again, so a refusal or a
   failure leaves nothing behind;
3. the persons the message names (Feldgruppe "Person": family name, given names, birth date;
   else the file's Kontakt entries) are matched against the master data: the one active
   household whose members include EVERY named person (same birth date, same family name and
   first given name, umlauts folded) gets the file, and its documents are routed into the
   caseworker's Postkorb like mail. Otherwise (no birth dates, no or several households) the
   take-over waits in clearing until the desk assigns a BG number (`assign`);
4. a 0402 (ImportBestaetigen) answers every take-over; a refused message gets a 0402 with
   `Erfolgreich` false whenever its ProzessID and Akte ID can be read.

Everything is the scanning desk's (Capability.CLEARING: 0401 messages arrive at the central
mail desk), passes the Gate and is audited. The caller owns the transaction; the search index
follows its commit.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tempfile
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import pikepdf
from PIL import Image
from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from core.config import Settings
from core.errors import Conflict, InvalidInput, NotFound
from core.text import fold_umlauts
from records import audit
from records.access import Capability, Gate
from records.identifiers import normalize_bg_number
from records.models import Document, Household, Member, Note, Page, Takeover, User
from records.reindex import index_file_note_after_commit, reindex_after_commit
from records.routing import file_document
from records.runtime import Runtime
from records.scanrecord import scan_record
from records.xdomea import (
    MAX_XML_BYTES,
    ZIP_NAME,
    IncomingMessage,
    MessageRefused,
    Parties,
    message_file_name,
    new_message,
    parse_xml,
    q,
    read_message_zip,
    serialize,
    sub,
    validate,
)
from records.xdomea_documents import pdfa_version
from storage.base import BlobStore, read_bytes

FILE_EXTENSION = "urn:eakte-jobcenter:leistungsakte:1"
DOCUMENT_EXTENSION = "urn:eakte-jobcenter:dokument:1"
FALLBACK_TYPE = "sonstiges"
PDF_FORMATS = ("018", "044")  # Dateiformat code list: pdf, pdf (Archival)
NO_CHECKSUM = "ohne Prüfsumme übernommen"
STATE_LABELS = {"clearing": "wartet auf Zuordnung", "filed": "abgelegt"}
PDFTOTEXT_TIMEOUT = 120
RENDER_TIMEOUT = 600
VIEW_DPI = 150  # page images for the viewer (A4: 1240 px wide), as the pipeline's, in JPEG
THUMB_WIDTH = 200
JPEG_QUALITY = 85


class DocTypeRule(Protocol):
    """A type of the document-type catalogue (ingest.recognition) as the take-over needs it."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def target(self) -> str: ...


class TakeoverRefused(MessageRefused):
    """A 0401 that is not taken over: the German problems, and the 0402 answer with
    `Erfolgreich` false (its file name and bytes) when ProzessID and Akte ID could be read."""

    def __init__(self, problems: list[str], answer: tuple[str, bytes] | None = None) -> None:
        super().__init__(problems, what="Die Abgabe (0401)")
        self.answer = answer


def cli_desk_user() -> User:
    """Who takes over on the command line: an account of the desk's role that is never
    stored; its actions are audited as `cli`."""
    return User(login="cli", name="Kommandozeile", role="scanstelle", active=True)


# reading the message ----------------------------------------------------------------------


@dataclass
class Person:
    family_name: str
    given_names: str
    birth_date: date | None

    def as_json(self) -> dict[str, Any]:
        return {
            "family_name": self.family_name,
            "given_names": self.given_names,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
        }


@dataclass
class IncomingDocument:
    ident: str
    subject: str
    typ: str
    label: str | None  # our extension's Dokumentart (the catalogue's German label)
    filename: str
    data: bytes
    received_at: datetime | None
    receipt_date: date | None
    letter_date: date | None
    dispatch_date: date | None
    direction: str
    sender: str | None
    sha256: str
    checked: bool  # the sender's SHA-256 was there and matched
    page_texts: list[str]
    note_data: bytes | None = None  # the Transfervermerk attachment
    # Per page: the viewer's image and thumbnail (JPEG) and its size; empty if not rendered.
    images: list[tuple[bytes, bytes, tuple[int, int]]] = field(default_factory=list)


@dataclass
class IncomingFile:
    akte_id: str
    sender: str
    file_ref: str | None
    persons: list[Person]
    documents: list[IncomingDocument] = field(default_factory=list)


def _text(element: Any, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _path(*names: str) -> str:
    return "/".join(q(name) for name in names)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10]) if text.strip() else None
    except ValueError:
        return None


def _datetime(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _fields(extension: Any) -> dict[str, str]:
    return {
        _text(feld, q("Name")): _text(feld, q("Wert"))
        for feld in extension.findall(q("Feld"))
        if _text(feld, q("Name"))
    }


def _extension(element: Any, kennung: str) -> Any | None:
    for extension in element.findall(q("AnwendungsspezifischeErweiterung")):
        if _text(extension, q("Kennung")) == kennung:
            return extension
    return None


def _persons(akte: Any) -> list[Person]:
    """The persons of our extension's Feldgruppe "Person"; else the file's Kontakt names (and
    birth dates, where the sender gives them)."""
    extension = _extension(akte, FILE_EXTENSION)
    persons: list[Person] = []
    if extension is not None:
        for group in extension.findall(q("Feldgruppe")):
            if _text(group, q("Name")) != "Person":
                continue
            values = _fields(group)
            persons.append(
                Person(
                    values.get("Familienname", ""),
                    values.get("Vornamen", ""),
                    _date(values.get("Geburtsdatum", "")),
                )
            )
        if persons:
            return [p for p in persons if p.family_name]
    for contact in akte.findall(q("Kontakt")):
        family = _text(contact, _path("Name", "Familienname", "Name"))
        if family:
            persons.append(
                Person(
                    family,
                    _text(contact, _path("Name", "Vorname", "Name")),
                    _date(_text(contact, _path("Geburt", "Datum"))),
                )
            )
    return persons


def _page_texts(pdf: Path) -> list[str]:
    """The text layer per page (poppler's pdftotext in content-stream order, `-raw`: the
    order the text was written in, which for our PDF/A is the order OCR read it; pages are
    separated by form feeds)."""
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program with a path we wrote
            ["pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-"],  # noqa: S607
            capture_output=True,
            timeout=PDFTOTEXT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []
    pages = done.stdout.decode("utf-8", "replace").split("\f")
    return [page.strip() for page in pages]


def page_images(pdf: Path, count: int) -> list[tuple[bytes, bytes, tuple[int, int]]]:
    """The viewer's page images and thumbnails (poppler's pdftoppm, then Pillow); empty when
    the PDF cannot be rendered (the document page then shows the text and the PDF)."""
    out = pdf.parent / f"{pdf.stem}-view"
    out.mkdir()
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program with paths we wrote
            ["pdftoppm", "-r", str(VIEW_DPI), "-jpeg", str(pdf), str(out / "p")],  # noqa: S607
            capture_output=True,
            timeout=RENDER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    pages = sorted(out.glob("p-*.jpg"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    if done.returncode != 0 or len(pages) != count:
        return []
    images = []
    for page in pages:
        with Image.open(page) as opened:
            size = opened.size
            thumb = opened.copy()
            thumb.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 2))
            small = io.BytesIO()
            thumb.convert("RGB").save(small, "JPEG", quality=JPEG_QUALITY)
        images.append((page.read_bytes(), small.getvalue(), size))
    return images


def _primary(element: Any) -> tuple[str, str, str]:
    """Dateiname, Dateiformat code and DatumUhrzeit of an object's first version."""
    form = element.find(_path("Version", "Format"))
    if form is None:
        return "", "", ""
    return (
        _text(form, _path("Primaerdokument", "Dateiname")),
        _text(form, f"{q('Name')}/code"),
        _text(form, _path("Primaerdokument", "DatumUhrzeit")),
    )


def _document(
    element: Any, message: IncomingMessage, work: Path, problems: list[str]
) -> IncomingDocument | None:
    """One Dokument checked: a PDF/A of its own, hash and page count as the sender states."""
    line = element.sourceline
    ident = _text(element, _path("Identifikation", "ID"))
    subject = _text(element, _path("AllgemeineMetadaten", "Betreff")) or "Dokument"
    filename, format_code, when = _primary(element)
    where = f"Zeile {line}: Dokument „{subject}“"
    if not filename:
        problems.append(f"{where} hat keine Datei (Version/Format/Primaerdokument fehlt).")
        return None
    if format_code not in PDF_FORMATS:
        problems.append(
            f"{where}: Dateiformat „{format_code}“ wird nicht übernommen; erwartet wird PDF/A"
            " (Code 044)."
        )
        return None
    data = message.files[filename]
    pdf = work / f"{uuid.uuid4().hex}.pdf"
    pdf.write_bytes(data)
    try:
        with pikepdf.open(pdf) as opened:
            page_count = len(opened.pages)
    except (pikepdf.PdfError, ValueError):
        problems.append(f"{where}: „{filename}“ ist kein lesbares PDF.")
        return None
    if pdfa_version(pdf) is None:
        problems.append(f"{where}: „{filename}“ ist kein PDF/A.")
        return None
    sha256 = hashlib.sha256(data).hexdigest()
    extension = _extension(element, DOCUMENT_EXTENSION)
    values = _fields(extension) if extension is not None else {}
    stated = values.get("SHA-256", "").strip().lower()
    if stated and stated != sha256:
        problems.append(
            f"{where}: Die Prüfsumme (SHA-256) von „{filename}“ stimmt nicht mit der Datei überein."
        )
        return None
    pages_stated = values.get("Seiten", "").strip()
    if pages_stated and pages_stated != str(page_count):
        problems.append(
            f"{where}: Die Nachricht nennt {pages_stated} Seiten, die Datei hat {page_count}."
        )
        return None
    texts = _page_texts(pdf)
    texts = (texts + [""] * page_count)[:page_count]
    posteingang = _date(_text(element, q("Posteingangsdatum")))
    postausgang = _date(_text(element, q("Postausgangsdatum")))
    direction = values.get("Richtung", "").strip()
    if direction not in ("in", "out"):
        direction = "out" if postausgang and not posteingang else "in"
    sender = values.get("Absender", "").strip() or _text(
        element, _path("Absender", "Institution", "Name")
    )
    incoming = IncomingDocument(
        ident=ident,
        subject=subject,
        typ=_text(element, q("Typ")),
        label=values.get("Dokumentart") or None,
        filename=filename,
        data=data,
        received_at=_datetime(when) if when else None,
        receipt_date=_date(values.get("Eingangsdatum", "")) or posteingang,
        letter_date=_date(_text(element, q("DatumDesSchreibens"))),
        dispatch_date=postausgang,
        direction=direction,
        sender=sender[:200] or None,
        sha256=sha256,
        checked=bool(stated),
        page_texts=texts,
        images=page_images(pdf, page_count),
    )
    for attachment in element.findall(q("Anlage")):
        if _text(attachment, _path("AllgemeineMetadaten", "Betreff")) == "Transfervermerk":
            note_name = _primary(attachment)[0]
            if note_name in message.files:
                incoming.note_data = message.files[note_name]
    return incoming


def _incoming_file(message: IncomingMessage, work: Path) -> IncomingFile:
    """The one Akte of a 0401 with its documents, every problem collected before refusing."""
    root = message.root
    akten = root.findall(_path("Schriftgutobjekt", "Akte"))
    if len(akten) != 1 or len(root.findall(q("Schriftgutobjekt"))) != 1:
        raise MessageRefused(
            [
                f"Die Abgabe enthält {len(akten)} Akte(n) in "
                f"{len(root.findall(q('Schriftgutobjekt')))} Schriftgutobjekt(en); übernommen"
                " wird genau eine Akte."
            ]
        )
    akte = akten[0]
    sender = _text(root, _path("Kopf", "Absender", "Institution", "Name")) or _text(
        root, _path("Kopf", "Absender", "Behoerdenkennung", "Behoerdenschluessel", "code")
    )
    extension = _extension(akte, FILE_EXTENSION)
    file_ref = (_fields(extension).get("BG-Nummer") if extension is not None else None) or _text(
        akte, _path("AllgemeineMetadaten", "Kennzeichen")
    )
    incoming = IncomingFile(
        akte_id=_text(akte, _path("Identifikation", "ID")),
        sender=(sender or "unbekannte Behörde")[:300],
        file_ref=(file_ref or None) and file_ref[:200],
        persons=_persons(akte),
    )
    problems: list[str] = []
    for element in akte.iter(q("Dokument")):
        document = _document(element, message, work, problems)
        if document is not None:
            incoming.documents.append(document)
    if problems:
        raise MessageRefused(problems)
    return incoming


# matching the household -------------------------------------------------------------------


def _folded(name: str) -> str:
    return fold_umlauts(name.strip().lower(), style="spelled")


def _names_match(person: Person, member: Member) -> bool:
    """Same family name, and the member's first name is the person's first given name (or
    all of them): a second given name in one register and not in the other still matches."""
    if _folded(person.family_name) != _folded(member.last_name):
        return False
    given = _folded(person.given_names)
    first = _folded(member.first_name)
    if not given or not first:
        return False
    return given == first or given.split()[0] == first.split()[0]


def matching_households(session: Session, persons: Sequence[Person]) -> list[Household]:
    """The active households whose members include every named person (birth date and names);
    none when a person lacks a birth date (a name alone identifies nobody)."""
    if not persons or any(p.birth_date is None for p in persons):
        return []
    candidates: set[int] | None = None
    for person in persons:
        members = session.scalars(select(Member).where(Member.birth_date == person.birth_date))
        found = {m.household_id for m in members if _names_match(person, m)}
        candidates = found if candidates is None else candidates & found
        if not candidates:
            return []
    return list(
        session.scalars(
            select(Household)
            .where(Household.id.in_(candidates or set()), Household.active.is_(True))
            .order_by(Household.bg_number)
        )
    )


# the answer (0402) ------------------------------------------------------------------------


def answer_0402(
    settings: Settings,
    process_id: uuid.UUID,
    recipient: str,
    akte_id: str,
    problems: Sequence[str],
    now: datetime,
) -> tuple[str, bytes]:
    """The ImportBestaetigen for one Akte (`Erfolgreich` false with the problems), valid
    against the schema, as the file name and bytes of its zip."""
    root, _head = new_message(
        "0402", process_id, now, Parties(sender=settings.job_centre_name, recipient=recipient)
    )
    answered = sub(root, "AbgegebenesObjekt")
    sub(answered, "IDSGO", akte_id)
    sub(answered, "Erfolgreich", "false" if problems else "true")
    for problem in problems[:20]:
        sub(answered, "Fehlermeldung", problem[:2000])
    return _zipped(settings, process_id, "0402", root)


def receipt_0403(
    settings: Settings, process_id: uuid.UUID, recipient: str, now: datetime
) -> tuple[str, bytes]:
    """The EmpfangBestaetigen (head only) a 0401 asks for with `Empfangsbestaetigung`."""
    root, _head = new_message(
        "0403", process_id, now, Parties(sender=settings.job_centre_name, recipient=recipient)
    )
    return _zipped(settings, process_id, "0403", root)


def _zipped(
    settings: Settings, process_id: uuid.UUID, msg_type: str, root: Any
) -> tuple[str, bytes]:
    """A message this side writes, checked against the schema, as its zip's name and bytes."""
    xml = serialize(root)
    invalid = validate(parse_xml(xml), settings.standards_dir)
    if invalid:
        raise MessageRefused(invalid, what=f"Die erzeugte Nachricht ({msg_type})")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(message_file_name(process_id, msg_type, "xml"), xml)
    return message_file_name(process_id, msg_type), buffer.getvalue()


_UUID = re.compile(r"^[0-9a-fA-F-]{36}$")


def _readable_ids(data: bytes, filename: str) -> tuple[uuid.UUID, str, str] | None:
    """ProzessID, Akte ID and sender of a message that was refused, if they can be read at
    all (the XML is parsed as safely as on import, without a schema)."""
    named = ZIP_NAME.match(Path(filename).name)
    if named is None or named.group(3) != "0401":
        return None
    process_text, root_name, _ = named.groups()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo(f"{process_text}_{root_name}.xml")
            if info.file_size > MAX_XML_BYTES:
                return None
            tree = parse_xml(archive.read(info))
    except (zipfile.BadZipFile, KeyError, ValueError, MessageRefused, OSError):
        return None
    root = tree.getroot()
    akte_id = _text(root, _path("Schriftgutobjekt", "Akte", "Identifikation", "ID"))
    sender = _text(root, _path("Kopf", "Absender", "Institution", "Name")) or "Absender"
    if not _UUID.match(akte_id):
        return None
    return uuid.UUID(process_text), akte_id, sender


def _refused(
    settings: Settings,
    gate: Gate,
    data: bytes,
    filename: str,
    refused: MessageRefused,
    now: datetime,
    *,
    answered: bool = True,
) -> TakeoverRefused:
    answer = None
    ids = _readable_ids(data, filename) if answered else None
    if ids is not None:
        try:
            answer = answer_0402(settings, ids[0], ids[2], ids[1], refused.problems, now)
        except MessageRefused:
            answer = None
    error = TakeoverRefused(refused.problems, answer)
    error.after_rollback = audit.pending(
        gate.user,
        "takeover.import",
        outcome="refused",
        filename=Path(filename).name[:300],
        sha256=hashlib.sha256(data).hexdigest(),
        problems=refused.problems[:20],
    )
    return error


# storing ----------------------------------------------------------------------------------


_WRITTEN = "eakte_takeover_blobs"


def _blobs_follow_transaction(session: Session, blobs: BlobStore, keys: list[str]) -> None:
    """Blobs written in this transaction are deleted again unless it commits."""
    session.info.setdefault(_WRITTEN, []).append((blobs, keys))


@event.listens_for(Session, "after_commit")
def _kept(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_transaction_end")
def _dropped(session: Session, transaction: Any) -> None:
    # The root transaction ended without a commit (rolled back or closed): the blobs go.
    if transaction.parent is not None:
        return
    for blobs, keys in session.info.pop(_WRITTEN, []):
        for key in keys:
            try:
                blobs.delete(key)
            except Exception:  # noqa: BLE001, S112 - best effort: the others still go
                continue


def _put(blobs: BlobStore, keys: list[str], key: str, data: bytes) -> str:
    keys.append(key)
    blobs.put(key, io.BytesIO(data))
    return key


def map_type(typ: str, label: str | None, types: Sequence[DocTypeRule]) -> DocTypeRule | None:
    """The sender's Typ: one of our catalogue codes as is, else a German label of the catalogue
    (case-insensitively, also our extension's Dokumentart); None: `sonstiges`."""
    by_code = {rule.code: rule for rule in types}
    if typ in by_code:
        return by_code[typ]
    by_label = {rule.name.strip().casefold(): rule for rule in types}
    for text in (typ, label or ""):
        rule = by_label.get(text.strip().casefold())
        if rule is not None:
            return rule
    return None


@dataclass(frozen=True)
class Imported:
    """What `import_0401` did: the take-over, its documents, and the 0402 (name, bytes)."""

    takeover: Takeover
    documents: list[Document]
    answer_name: str
    answer_data: bytes
    # The 0403 (name, bytes) when the 0401 asked for a receipt (Kopf/Empfangsbestaetigung).
    receipt: tuple[str, bytes] | None = None


def import_0401(
    gate: Gate,
    runtime: Runtime,
    data: bytes,
    filename: str,
    now: datetime,
    types: Sequence[DocTypeRule],
) -> Imported:
    """Take over another authority's file (see the module's docstring). Raises
    TakeoverRefused (the German problems and a 0402 with Erfolgreich false, when it can be
    addressed) and stores nothing then; its audit row is written after the rollback."""
    gate.require(Capability.CLEARING, "takeover.import")
    settings, session = runtime.settings, gate.session
    with tempfile.TemporaryDirectory(prefix="takeover-") as work:
        try:
            message = read_message_zip(data, filename, settings.standards_dir)
            if message.msg_type != "0401":
                raise MessageRefused(
                    [f"Erwartet wird eine Abgabe (0401), nicht {message.msg_type}."]
                )
            taken = session.scalar(
                select(Takeover.id).where(Takeover.process_id == message.process_id)
            )
            if taken is not None:
                # Delivered again: the first delivery's 0402 stands, no second answer.
                duplicate = MessageRefused(
                    [f"Die Abgabe {message.process_id} wurde bereits übernommen."]
                )
                raise _refused(settings, gate, data, filename, duplicate, now, answered=False)
            incoming = _incoming_file(message, Path(work))
        except TakeoverRefused:
            raise
        except MessageRefused as refused:
            raise _refused(settings, gate, data, filename, refused, now) from None
    return _store(gate, runtime, message, incoming, data, filename, now, types)


def _store(
    gate: Gate,
    runtime: Runtime,
    message: IncomingMessage,
    incoming: IncomingFile,
    data: bytes,
    filename: str,
    now: datetime,
    types: Sequence[DocTypeRule],
) -> Imported:
    settings, blobs, session, user = runtime.settings, runtime.blobs, gate.session, gate.user
    households = matching_households(session, incoming.persons)
    household = households[0] if len(households) == 1 else None
    keys: list[str] = []
    _blobs_follow_transaction(session, blobs, keys)
    prefix = f"takeovers/{message.process_id}"
    base = Path(filename).name[:300]
    takeover = Takeover(
        process_id=message.process_id,
        sender=incoming.sender,
        sender_file_ref=incoming.file_ref,
        state="clearing",
        persons=[p.as_json() for p in incoming.persons],
        document_count=len(incoming.documents),
        filename=base,
        blob_key=_put(blobs, keys, f"{prefix}/{base}", data),
        sha256=hashlib.sha256(data).hexdigest(),
        created_by_login=user.login,
        created_at=now,
    )
    session.add(takeover)
    session.flush()
    documents: list[Document] = []
    for number, source in enumerate(incoming.documents, start=1):
        document = _new_document(session, blobs, keys, prefix, takeover, source, user, number)
        documents.append(document)
    session.flush()
    answer_name, answer_data = answer_0402(
        settings, message.process_id, incoming.sender, incoming.akte_id, [], now
    )
    takeover.answer_key = _put(blobs, keys, f"{prefix}/{answer_name}", answer_data)
    receipt = None
    wanted = _text(message.root, _path("Kopf", "Empfangsbestaetigung"))
    if wanted in ("1", "true"):
        receipt = receipt_0403(settings, message.process_id, incoming.sender, now)
        _put(blobs, keys, f"{prefix}/{receipt[0]}", receipt[1])
    gate.record(
        "takeover.imported",
        object_type="takeover",
        object_id=takeover.id,
        sender=incoming.sender,
        documents=len(documents),
        filename=base,
        candidates=[h.bg_number for h in households][:5],
    )
    if household is not None:
        _file(gate, runtime, takeover, household, documents, types, routed_by="auto")
    else:
        reindex_after_commit(session, runtime, *documents)
    return Imported(takeover, documents, answer_name, answer_data, receipt)


def _new_document(
    session: Session,
    blobs: BlobStore,
    keys: list[str],
    prefix: str,
    takeover: Takeover,
    source: IncomingDocument,
    user: User,
    number: int,
) -> Document:
    document_id = uuid.uuid4()
    key = _put(blobs, keys, f"{prefix}/{document_id}.pdf", source.data)
    received_at = source.received_at or takeover.created_at
    document = Document(
        id=document_id,
        sequence=number,
        first_page=1,
        last_page=len(source.page_texts),
        source_name=source.filename[:255],
        content_type="application/pdf",
        size_bytes=len(source.data),
        original_key=key,
        original_sha256=source.sha256,
        pdf_key=key,
        pdf_sha256=source.sha256,
        status="processed",
        qa_status="approved",
        page_count=len(source.page_texts),
        doc_type=FALLBACK_TYPE,
        household_id=None,
        received_at=received_at,
        uploaded_by_id=user.id,
        letter_date=source.letter_date,
        receipt_date=source.receipt_date or received_at.date(),
        sender=source.sender,
        direction=source.direction,
        dispatch_date=source.dispatch_date,
        takeover_id=takeover.id,
        recognition={
            "takeover": {
                "sender": takeover.sender,
                "process_id": str(takeover.process_id),
                "sender_document_id": source.ident,
                "typ": source.typ,
                "label": source.label,
                "subject": source.subject,
                "checksum": "geprüft" if source.checked else NO_CHECKSUM,
            }
        },
        pages=[
            Page(number=n, source_page=n, text=text)
            for n, text in enumerate(source.page_texts, start=1)
        ],
    )
    for page, (image, thumb, (width, height)) in zip(document.pages, source.images, strict=False):
        page.image_key = _put(
            blobs, keys, f"{prefix}/{document_id}/page-{page.number:04d}.jpg", image
        )
        page.thumb_key = _put(
            blobs, keys, f"{prefix}/{document_id}/thumb-{page.number:04d}.jpg", thumb
        )
        page.image_sha256 = hashlib.sha256(image).hexdigest()
        page.thumb_sha256 = hashlib.sha256(thumb).hexdigest()
        page.width, page.height, page.dpi = width, height, VIEW_DPI
    session.add(document)
    session.flush()
    record = scan_record(document)
    record["channel"] = "uebernahme"
    record["takeover"] = {"sender": takeover.sender, "process_id": str(takeover.process_id)}
    if source.note_data is not None:
        note_key = _put(
            blobs, keys, f"{prefix}/{document_id}_transfervermerk.pdf", source.note_data
        )
        record["takeover"]["transfer_note"] = {
            "key": note_key,
            "sha256": hashlib.sha256(source.note_data).hexdigest(),
        }
    record_bytes = json.dumps(record, ensure_ascii=False).encode()
    document.scan_record_key = _put(
        blobs, keys, f"records/{document_id}/transfervermerk-1.json", record_bytes
    )
    document.scan_record_sha256 = hashlib.sha256(record_bytes).hexdigest()
    if not source.checked:
        session.add(
            Note(
                document_id=document_id,
                author_login=user.login,
                author_name=user.name,
                text=f"Von {takeover.sender} {NO_CHECKSUM}: die Abgabe nannte keine SHA-256.",
            )
        )
    return document


def _file(
    gate: Gate,
    runtime: Runtime,
    takeover: Takeover,
    household: Household,
    documents: Sequence[Document],
    types: Sequence[DocTypeRule],
    *,
    routed_by: str,
) -> None:
    """The take-over's documents into the household's file and the responsible Postkorb (as
    routed mail), a Vermerk in the file, the index after the commit."""
    session, user = gate.session, gate.user
    reference = (
        f", Az. der abgebenden Stelle {takeover.sender_file_ref}"
        if takeover.sender_file_ref
        else ""
    )
    reason = f"Akte von {takeover.sender} übernommen{reference}."
    returned = household.handed_over_to if household.handed_over_at is not None else None
    if returned is not None:
        # The client moved back: the file we handed over is ours again and may change.
        household.handed_over_at = household.handed_over_to = None
    for document in documents:
        takeover_info = (document.recognition or {}).get("takeover", {})
        rule = map_type(str(takeover_info.get("typ", "")), takeover_info.get("label"), types)
        code = rule.code if rule else FALLBACK_TYPE
        fallback = next((r for r in types if r.code == FALLBACK_TYPE), None)
        target = rule.target if rule else (fallback.target if fallback else "caseworker")
        file_document(
            session,
            document,
            household=household,
            doc_type=code,
            target=target,
            reason=reason,
            actor=user,
            routed_by=routed_by,
        )
        document.household = household  # also when no one is named: the file is known
    takeover.household = household
    takeover.state = "filed"
    note = Note(
        household_id=household.id,
        author_login=user.login,
        author_name=user.name,
        text=(
            f"Akte von {takeover.sender} übernommen ({len(documents)} Dokumente"
            f"{reference}; Abgabe {takeover.process_id})."
            + (
                f" Die Akte war an {returned} abgegeben und wird hier wieder geführt."
                if returned
                else ""
            )
        ),
    )
    session.add(note)
    session.flush()
    index_file_note_after_commit(session, runtime, note)
    reindex_after_commit(session, runtime, *documents)
    gate.record(
        "takeover.filed",
        object_type="takeover",
        object_id=takeover.id,
        bg_number=household.bg_number,
        documents=len(documents),
        routed_by=routed_by,
        returned=bool(returned),
    )


# the desk's list and its assignment ---------------------------------------------------------


def takeovers(gate: Gate, limit: int = 100) -> list[Takeover]:
    """The take-overs, newest first (they name clients: audited)."""
    gate.require(Capability.CLEARING, "takeover.list")
    rows = list(
        gate.session.scalars(
            select(Takeover)
            .options(selectinload(Takeover.household))
            .order_by(Takeover.created_at.desc(), Takeover.id.desc())
            .limit(limit)
        )
    )
    gate.record("takeover.list", shown=len(rows))
    return rows


def _takeover(gate: Gate, takeover_id: int, action: str, *, lock: bool = False) -> Takeover:
    gate.require(Capability.CLEARING, action, object_type="takeover", object_id=takeover_id)
    takeover = gate.session.get(Takeover, takeover_id, with_for_update=lock)
    if takeover is None:
        raise NotFound(f"Übernahme {takeover_id} nicht gefunden.")
    return takeover


def assign(
    gate: Gate,
    runtime: Runtime,
    takeover_id: int,
    bg_number: str,
    types: Sequence[DocTypeRule],
    now: datetime,
) -> Takeover:
    """The desk assigns a take-over waiting in clearing to a household: every document is filed
    there and routed like mail; audited."""
    takeover = _takeover(gate, takeover_id, "takeover.assigned", lock=True)
    if takeover.state != "clearing":
        raise Conflict(
            "Diese Übernahme ist bereits einer Bedarfsgemeinschaft zugeordnet.",
            code="takeover_filed",
        )
    number = normalize_bg_number(bg_number)
    household = (
        gate.session.scalar(select(Household).where(Household.bg_number == number))
        if number
        else None
    )
    if household is None:
        raise InvalidInput(
            f"Die BG-Nummer „{bg_number.strip()[:40]}“ ist nicht bekannt.", code="bg_unknown"
        )
    if not household.active:
        raise InvalidInput(
            f"Die Bedarfsgemeinschaft {household.bg_number} ist nicht mehr aktiv.",
            code="bg_inactive",
        )
    documents = list(
        gate.session.scalars(
            select(Document)
            .where(Document.takeover_id == takeover.id)
            .order_by(Document.sequence, Document.id)
        )
    )
    _file(gate, runtime, takeover, household, documents, types, routed_by="manual")
    takeover.assigned_at = now
    takeover.assigned_by_login = gate.user.login
    gate.record(
        "takeover.assigned",
        object_type="takeover",
        object_id=takeover.id,
        bg_number=household.bg_number,
        documents=len(documents),
    )
    return takeover


def answer_download(gate: Gate, blobs: BlobStore, takeover_id: int) -> tuple[bytes, str]:
    """Our 0402 of a take-over: its bytes and file name, audited."""
    takeover = _takeover(gate, takeover_id, "takeover.answer_download")
    if not takeover.answer_key:
        raise NotFound("Zu dieser Übernahme gibt es keine Importbestätigung.")
    gate.record("takeover.answer_download", object_type="takeover", object_id=takeover.id)
    return read_bytes(blobs, takeover.answer_key), Path(takeover.answer_key).name
