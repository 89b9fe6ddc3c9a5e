"""Handing a file over to another authority (Aktenabgabe, § 36 SGB II: a client moved and
another job centre is now responsible), the export side, as xdomea 3.0.0 Abgabe:

1. `plan`: the household's documents in file order, for the form (all chosen by default);
2. `start_handover`: the `Abgabe.Abgabe.0401` with the file's structure, metadata, members
   and every chosen document as PDF/A with its scan record (records.xdomea_documents, as the
   archive's 0503 writes them), validated before it leaves, stored in the blob store
   (`handovers/`), recorded as a `Handover`, written into the file as a Vermerk and audited.
   The household is then marked handed over: its file is read-only from here on
   (records.access, `handed_over_refusal`) and new mail for it goes to clearing
   (records.routing), while retention and holds still apply;
3. `import_answer`: the receiving side's `0403 EmpfangBestaetigen` (received) and `0402
   ImportBestaetigen` (imported, or the import failed with its message).

The message format is fixed in the contract with the take-over side (notes/contract18.md;
see the README, "Aktenabgabe an ein anderes Jobcenter").

Who may hand a file over: the caseworker responsible for it (own caseload, team, or standing
in for an absent colleague: `Gate.household` with `Capability.CASE_FILES`, and a casework
grant, not the objections office's, which sees a file only for its open case), or the records
manager (`Capability.RECORDS`: the file's lifecycle, the role the command line acts in, as
for the archive's 0503). The caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.config import Settings
from core.dates import LOCAL_TZ
from core.errors import InvalidInput
from records import audit
from records.access import Capability, Gate, handed_over_message
from records.models import Document, Handover, Household, Note
from records.xdomea import (
    MESSAGE_LABELS,
    IncomingMessage,
    MessageRefused,
    Parties,
    code,
    new_message,
    q,
    read_message_zip,
    sub,
    write_message_zip,
)
from records.xdomea_documents import Files, add_document, case_file_documents
from storage.base import BlobStore, read_bytes

FILE_SUBJECT = "Leistungsakte SGB II"
MEDIUM_ELECTRONIC = "001"
FILE_EXTENSION = "urn:eakte-jobcenter:leistungsakte:1"
DOCUMENT_EXTENSION = "urn:eakte-jobcenter:dokument:1"
DATE_TYPE = "005"  # the Datentyp code list's `date`
RECIPIENT_MAX = 300
REASON_MAX = 500
ANSWERS = ("0402", "0403")
STATE_LABELS: dict[str, str] = {
    "sent": "abgegeben, noch keine Antwort",
    "received": "Empfang bestätigt",
    "imported": "übernommen",
    "import_failed": "Übernahme fehlgeschlagen",
}


def _open(gate: Gate, bg_number: str, action: str, *, audited: bool = True) -> Household:
    """The household for its hand-over: the records manager's lifecycle way, or the
    responsible caseworker's (own, team, deputy); the objections office is refused."""
    if gate.may(Capability.RECORDS):
        return gate.records_file(bg_number, action, audited=audited)
    household, grant = gate.household(bg_number, action, audited=False)
    if grant.via == "office":
        raise gate.refuse(
            action,
            "Kein Zugriff: Eine Akte gibt die zuständige Sachbearbeitung ab.",
            object_type="household",
            object_id=household.bg_number,
            bg_number=household.bg_number,
        )
    if audited:
        gate.record_on(household, action, grant=grant)
    return household


# 1. the form ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedDocument:
    id: str
    subject: str
    doc_type: str | None
    type_label: str
    receipt_date: Any
    direction: str
    pages: int | None
    processed: bool


@dataclass
class HandoverPlan:
    household: Household
    documents: list[PlannedDocument]
    handovers: list[Handover] = field(default_factory=list)

    @property
    def handed_over(self) -> bool:
        return self.household.handed_over_at is not None

    @property
    def banner(self) -> str | None:
        return handed_over_message(self.household) if self.handed_over else None


def _processed(document: Document) -> bool:
    return bool(document.pdf_key and document.pdf_sha256)


def plan(gate: Gate, bg_number: str, names: Mapping[str, str] | None = None) -> HandoverPlan:
    """What the hand-over form shows: the file's documents in file order (all chosen unless
    the user leaves some out), and the hand-overs so far with their answers."""
    household = _open(gate, bg_number, "handover.plan")
    names = names or {}
    documents = [
        PlannedDocument(
            id=str(document.id),
            subject=names.get(document.doc_type or "", document.doc_type or "Dokument"),
            doc_type=document.doc_type,
            type_label=names.get(document.doc_type or "", document.doc_type or "–"),
            receipt_date=document.receipt_date,
            direction=document.direction,
            pages=document.page_count,
            processed=_processed(document),
        )
        for document in case_file_documents(gate.session, household)
    ]
    return HandoverPlan(household, documents, handovers_of(gate, household))


def handovers_of(gate: Gate, household: Household) -> list[Handover]:
    """The household's hand-overs, newest first (the caller opened the household)."""
    return list(
        gate.session.scalars(
            select(Handover)
            .where(Handover.household_id == household.id)
            .order_by(Handover.created_at.desc(), Handover.id.desc())
        )
    )


# 2. the 0401 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    handover: Handover
    path: Path


def _recipient(text: str) -> str:
    recipient = " ".join((text or "").split())
    if not recipient:
        raise InvalidInput(
            "Bitte die aufnehmende Behörde angeben (z. B. „Jobcenter Musterstadt“).",
            code="recipient_missing",
            field="recipient",
        )
    if len(recipient) > RECIPIENT_MAX:
        raise InvalidInput(
            f"Der Name der aufnehmenden Behörde ist zu lang (höchstens {RECIPIENT_MAX} Zeichen).",
            code="recipient_long",
            field="recipient",
        )
    return recipient


def _left_out(
    left_out: Mapping[str, str], documents: list[Document], bg_number: str
) -> dict[str, str]:
    """The documents left out with their reasons, each checked: one of this file's, with a
    reason."""
    known = {str(document.id) for document in documents}
    reasons: dict[str, str] = {}
    for raw_id, raw_reason in left_out.items():
        doc_id = str(raw_id).strip().lower()
        if doc_id not in known:
            raise InvalidInput(
                f"Das Dokument {doc_id[:64]} liegt nicht in der Akte {bg_number}.",
                code="document_unknown",
            )
        reason = " ".join((raw_reason or "").split())
        if not reason:
            raise InvalidInput(
                f"Für das weggelassene Dokument {doc_id} fehlt der Grund.",
                code="reason_missing",
                field=f"reason-{doc_id}",
            )
        if len(reason) > REASON_MAX:
            raise InvalidInput(
                f"Der Grund für das Dokument {doc_id} ist zu lang (höchstens {REASON_MAX}"
                " Zeichen).",
                code="reason_long",
                field=f"reason-{doc_id}",
            )
        reasons[doc_id] = reason
    return reasons


@contextmanager
def _refusal_audited(
    gate: Gate, action: str, bg_number: str | None, **details: Any
) -> Iterator[None]:
    """A refused step is in the audit log although the unit of work rolls back."""
    try:
        yield
    except InvalidInput as refused:
        if getattr(refused, "after_rollback", None) is None:
            refused.after_rollback = audit.pending(
                gate.user,
                action,
                outcome="refused",
                object_type="household" if bg_number else None,
                object_id=bg_number,
                bg_number=bg_number,
                reason=str(refused)[:500],
                **details,
            )
        raise


def start_handover(
    gate: Gate,
    blobs: BlobStore,
    settings: Settings,
    bg_number: str,
    recipient: str,
    left_out: Mapping[str, str],
    out_dir: Path,
    now: datetime,
    names: Mapping[str, str] | None = None,
) -> Started:
    """Hand the household's file over to `recipient`: the 0401 (validated; written to
    `out_dir` and stored under `handovers/`), the `Handover` row, the household marked, a
    Vermerk in the file and `handover.sent` in the audit log. `left_out` maps document ids
    to the reason each is not sent. Refused (InvalidInput, German; the refusal audited,
    nothing stored) for a missing or too long recipient, a left-out document without reason,
    a document not yet processed (no PDF/A), a file already handed over or whose
    destruction has begun, or nothing left to send."""
    action = "handover.start"
    household = _open(gate, bg_number, action)
    with _refusal_audited(gate, action, household.bg_number):
        return _start(gate, blobs, settings, household, recipient, left_out, out_dir, now, names)


def _start(
    gate: Gate,
    blobs: BlobStore,
    settings: Settings,
    household: Household,
    recipient_text: str,
    left_out: Mapping[str, str],
    out_dir: Path,
    now: datetime,
    names: Mapping[str, str] | None,
) -> Started:
    session = gate.session
    if household.handed_over_at is not None:
        raise InvalidInput(
            handed_over_message(household).replace(" und kann hier nur noch gelesen werden", "")
            + " Eine zweite Abgabe ist nicht möglich.",
            code="already_handed_over",
        )
    if household.destruction_started_at is not None:
        raise InvalidInput(
            "Die Vernichtung dieser Akte hat begonnen; sie kann nicht abgegeben werden.",
            code="destruction_started",
        )
    recipient = _recipient(recipient_text)
    documents = case_file_documents(session, household)
    reasons = _left_out(left_out, documents, household.bg_number)
    chosen = [document for document in documents if str(document.id) not in reasons]
    if not chosen:
        raise InvalidInput(
            "Es bleibt kein Dokument zum Abgeben: Die Akte ist leer oder alle Dokumente sind"
            " weggelassen.",
            code="nothing_to_send",
        )
    unprocessed = [document for document in chosen if not _processed(document)]
    if unprocessed:
        raise InvalidInput(
            f"Das Dokument {unprocessed[0].id} ist noch nicht verarbeitet (kein PDF/A); bitte"
            " warten oder es mit Grund weglassen.",
            code="not_processed",
        )
    process_id = uuid.uuid4()
    parties = Parties(sender=settings.job_centre_name, recipient=recipient)
    root, head = new_message("0401", process_id, now.astimezone(LOCAL_TZ), parties)
    sub(head, "Importbestaetigung", "1")
    sub(head, "Empfangsbestaetigung", "1")
    with tempfile.TemporaryDirectory(prefix="eakte-0401-") as scratch:
        files: Files = []
        _akte(root, household, chosen, blobs, files, Path(scratch), names or {})
        path = write_message_zip(out_dir, "0401", process_id, root, settings.standards_dir, files)
    data = path.read_bytes()
    key = f"handovers/{household.bg_number}/{process_id}_0401.zip"
    stored = blobs.put(key, io.BytesIO(data))
    handover = Handover(
        household_id=household.id,
        bg_number=household.bg_number,
        process_id=process_id,
        recipient=recipient,
        state="sent",
        documents=[str(document.id) for document in chosen],
        left_out=reasons,
        filename=path.name,
        blob_key=key,
        sha256=stored.sha256,
        size_bytes=stored.size,
        created_by_login=gate.user.login,
        created_by_name=gate.user.name,
        created_at=now.astimezone(UTC),
    )
    session.add(handover)
    household.handed_over_at = now.astimezone(UTC)
    household.handed_over_to = recipient
    session.add(Note(household_id=household.id, **_note(gate, recipient, chosen, reasons, now)))
    session.flush()
    gate.record(
        "handover.sent",
        object_type="household",
        object_id=household.bg_number,
        bg_number=household.bg_number,
        recipient=recipient,
        process_id=str(process_id),
        documents=len(chosen),
        left_out=reasons,
        filename=path.name,
        sha256=stored.sha256,
    )
    return Started(handover, path)


def _note(
    gate: Gate, recipient: str, chosen: list[Document], reasons: dict[str, str], now: datetime
) -> dict[str, str]:
    when = now.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")
    lines = [
        f"Akte am {when} an {recipient} abgegeben (xdomea-Abgabe 0401, § 36 SGB II):"
        f" {len(chosen)} Dokument(e) übermittelt."
    ]
    for doc_id, reason in reasons.items():
        lines.append(f"Nicht abgegeben: Dokument {doc_id} – {reason}")
    lines.append("Die Akte ist ab jetzt schreibgeschützt; sie unterliegt weiter der Aufbewahrung.")
    return {
        "author_login": gate.user.login,
        "author_name": gate.user.name,
        "text": "\n".join(lines),
    }


def _akte(
    root: Any,
    household: Household,
    chosen: list[Document],
    blobs: BlobStore,
    files: Files,
    work: Path,
    names: Mapping[str, str],
) -> None:
    """The one Akte of the 0401 in the schema's order: identification, metadata, content,
    contacts (the members), our extension (BG number, the members with birth dates)."""
    akte = sub(sub(root, "Schriftgutobjekt"), "Akte")
    if household.file_uuid is None:
        household.file_uuid = uuid.uuid4()
    sub(sub(akte, "Identifikation"), "ID", household.file_uuid)
    general = sub(akte, "AllgemeineMetadaten")
    sub(general, "Betreff", FILE_SUBJECT)
    sub(general, "Kennzeichen", household.bg_number)
    code(general, "Medium", MEDIUM_ELECTRONIC, "medium", "1.0")
    content = sub(akte, "Akteninhalt")
    for number, document in enumerate(chosen, start=1):
        element = add_document(
            content,
            document,
            number,
            blobs,
            files,
            work,
            bg_number=household.bg_number,
            purpose="die Abgabe",
        )
        _document_extension(element, document, names)
    for member in household.members:
        contact = sub(akte, "Kontakt")
        name = sub(contact, "Name")
        sub(sub(name, "Familienname"), "Name", member.last_name)
        sub(sub(name, "Vorname"), "Name", member.first_name)
        if household.street or household.postcode or household.town:
            address = sub(contact, "Anschrift")
            if household.street:
                sub(address, "Strasse", household.street)
            if household.postcode:
                sub(address, "Postleitzahl", household.postcode)
            if household.town:
                sub(address, "Ort", household.town)
    extension = sub(akte, "AnwendungsspezifischeErweiterung")
    sub(extension, "Kennung", FILE_EXTENSION)
    sub(extension, "Name", FILE_SUBJECT)
    for member in household.members:
        group = sub(extension, "Feldgruppe")
        sub(group, "Name", "Person")
        sub(group, "Beschreibung", "Mitglied der Bedarfsgemeinschaft")
        _field(group, "Familienname", member.last_name)
        _field(group, "Vornamen", member.first_name)
        if member.birth_date is not None:
            _field(group, "Geburtsdatum", member.birth_date.isoformat(), date_type=True)
    _field(extension, "BG-Nummer", household.bg_number)


def _field(parent: Any, name: str, value: object, *, date_type: bool = False) -> None:
    element = sub(parent, "Feld")
    sub(element, "Name", name)
    if date_type:
        code(element, "Datentyp", DATE_TYPE, "datentyp", "1.1")
    sub(element, "Wert", value)


def _document_extension(element: Any, document: Document, names: Mapping[str, str]) -> None:
    extension = sub(element, "AnwendungsspezifischeErweiterung")
    sub(extension, "Kennung", DOCUMENT_EXTENSION)
    sub(extension, "Name", "Dokument")
    _field(extension, "SHA-256", document.pdf_sha256)
    if document.page_count is not None:
        _field(extension, "Seiten", document.page_count)
    if document.receipt_date is not None:
        _field(extension, "Eingangsdatum", document.receipt_date.isoformat(), date_type=True)
    _field(extension, "Richtung", document.direction)
    if document.doc_type:
        _field(extension, "Dokumentart", names.get(document.doc_type, document.doc_type))
    if document.sender:
        _field(extension, "Absender", document.sender)


# 3. the answers ------------------------------------------------------------------------------


@dataclass
class AnswerResult:
    handover: Handover
    msg_type: str
    changes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{MESSAGE_LABELS[self.msg_type]} zur Abgabe der Akte {self.handover.bg_number}"
            f" an {self.handover.recipient} übernommen."
        ]
        return "\n".join(lines + self.changes)


def _is_true(text: str | None) -> bool:
    return (text or "").strip() in ("true", "1")


def import_answer(
    gate: Gate, blobs: BlobStore, settings: Settings, data: bytes, filename: str
) -> AnswerResult:
    """The receiving side's 0403 (received) or 0402 (imported or failed, per Akte), checked
    completely before anything changes; MessageRefused (German problems, audited) when it is
    not taken: not a valid message, not an answer, an unknown ProzessID, an Akte this
    hand-over did not send."""
    action = "handover.answer"
    if not (gate.may(Capability.RECORDS) or gate.may(Capability.CASE_FILES)):
        gate.require(Capability.CASE_FILES, action)
    try:
        message = read_message_zip(data, filename, settings.standards_dir)
        if message.msg_type not in ANSWERS:
            raise MessageRefused(
                [
                    "Erwartet wird eine Importbestätigung (0402) oder Empfangsbestätigung"
                    f" (0403) der Abgabe, nicht {MESSAGE_LABELS[message.msg_type]}."
                ]
            )
        handover = gate.session.scalar(
            select(Handover).where(Handover.process_id == message.process_id)
        )
        if handover is None:
            raise MessageRefused(
                [f"Zur ProzessID {message.process_id} gibt es keine Abgabe dieses Jobcenters."]
            )
    except MessageRefused as refused:
        refused.after_rollback = audit.pending(
            gate.user,
            action,
            outcome="refused",
            filename=Path(filename).name[:300],
            sha256=hashlib.sha256(data).hexdigest(),
            problems=refused.problems[:20],
        )
        raise
    _open(gate, handover.bg_number, action, audited=False)
    with _refusal_audited(gate, action, handover.bg_number, filename=Path(filename).name[:300]):
        if message.msg_type == "0403":
            result = _received(handover, message)
        else:
            result = _imported(handover, message)
    gate.record(
        action,
        object_type="household",
        object_id=handover.bg_number,
        bg_number=handover.bg_number,
        msg_type=message.msg_type,
        process_id=str(handover.process_id),
        state=handover.state,
        filename=Path(filename).name[:300],
    )
    return result


def _message_time(message: IncomingMessage) -> datetime:
    text = (message.root.findtext(f"{q('Kopf')}/{q('Erstellungszeitpunkt')}") or "").strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def _received(handover: Handover, message: IncomingMessage) -> AnswerResult:
    result = AnswerResult(handover, "0403")
    handover.received_at = _message_time(message).astimezone(UTC)
    if handover.state == "sent":
        handover.state = "received"
    when = handover.received_at.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")
    result.changes.append(f"Empfang bestätigt am {when}.")
    return result


def _imported(handover: Handover, message: IncomingMessage) -> AnswerResult:
    """Per Akte: success -> imported, failure -> import_failed with the receiving side's
    message. The 0402's schema carries no reference of the receiving side; `recipient_ref`
    stays as it is."""
    file_id = _file_id(handover)
    outcome: tuple[bool, str] | None = None
    problems: list[str] = []
    for confirmed in message.root.iter(q("AbgegebenesObjekt")):
        ident = (confirmed.findtext(q("IDSGO")) or "").strip().lower()
        if ident != file_id:
            problems.append(
                f"Zeile {confirmed.sourceline}: Die ID {ident} ist keine Akte dieser Abgabe."
            )
            continue
        errors = [
            (element.text or "").strip()
            for element in confirmed.iter(q("Fehlermeldung"))
            if (element.text or "").strip()
        ]
        outcome = (
            _is_true(confirmed.findtext(q("Erfolgreich"))),
            "; ".join(errors) or "Die aufnehmende Behörde meldet einen Fehler ohne Angabe.",
        )
    if outcome is None and not problems:
        problems.append("Die Importbestätigung nennt die abgegebene Akte nicht.")
    if problems:
        raise MessageRefused(problems)
    assert outcome is not None
    ok, error = outcome
    result = AnswerResult(handover, "0402")
    if ok:
        handover.state, handover.problem = "imported", None
        handover.imported_at = _message_time(message).astimezone(UTC)
        result.changes.append("Die aufnehmende Behörde hat die Akte übernommen.")
    else:
        handover.state = "import_failed"
        handover.problem = error[:2000]
        result.changes.append(f"Die Übernahme ist fehlgeschlagen: {error}")
    return result


def _file_id(handover: Handover) -> str:
    household = handover.household
    if household is None or household.file_uuid is None:
        return ""
    return str(household.file_uuid).lower()


# downloads -----------------------------------------------------------------------------------


def handover_download(gate: Gate, blobs: BlobStore, handover_id: int) -> tuple[bytes, str]:
    """The 0401 zip as it was sent, for whoever may open the household (audited)."""
    handover = gate.session.get(Handover, handover_id)
    if handover is None or handover.blob_key is None:
        raise gate.refuse(
            "handover.download",
            "Kein Zugriff: Diese Abgabe gibt es nicht oder sie gehört nicht zu Ihrem"
            " Zuständigkeitsbereich.",
            object_type="handover",
            object_id=handover_id,
        )
    _open(gate, handover.bg_number, "handover.download")
    return read_bytes(blobs, handover.blob_key), handover.filename


# the E-Akte's section --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSection:
    """What the E-Akte shows about hand-overs (web/templates/_akte_handover.html): the banner
    of a handed-over file, whether this user may start one, the hand-overs so far."""

    banner: str | None
    may_start: bool
    handovers: list[Handover]


def file_section(gate: Gate, bg_number: str) -> FileSection:
    """The section for a file the page opened already (not audited again)."""
    household, grant = gate.household(bg_number, "handover.section", audited=False)
    handed_over = household.handed_over_at is not None
    return FileSection(
        banner=handed_over_message(household) if handed_over else None,
        may_start=not handed_over and grant.via != "office",
        handovers=handovers_of(gate, household),
    )
