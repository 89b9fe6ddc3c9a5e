"""The yearly Aussonderung: offering the files due to the public archive (xdomea 3.0.0) and
following its answers. One run is one xdomea process (ProzessID):

1. `start_run`: every file due and not held, and not in a run still going, becomes an item
   (offered) and is listed in the 0501 (Anbieteverzeichnis), metadata only;
2. `import_message` of the archive's 0502 (Bewertungsverzeichnis): A -> to_archive, V ->
   to_destroy; a 0505 (our receipt) is written when the 0502 asks for one. The archive may also
   decline the whole offer in writing: `decline_offer`;
3. `transfer`: the 0503 with the files to archive, each document as PDF/A with its scan
   record (Transfervermerk) as PDF/A attachment; holds are checked again right before;
4. `import_message` of 0504 / 0507 (receipts, recorded) and 0506 (per file: imported with the
   archive's reference -> archived, or failed -> import_failed, to be sent again).

Files to_destroy and archived are then destroyed (records.destruction, four-eyes), after which
`close_run_if_done` closes the run and purges the 0501/0503 blobs (they name clients).

Every step needs the records manager's capability and is audited; the caller (request, CLI
command) owns the transaction. Message blobs are written while the step runs (a failed commit
leaves at most an unreferenced blob); the zips are also written to `out_dir` for the caller.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.dates import LOCAL_TZ
from core.errors import InvalidInput, NotFound
from records import audit
from records.access import Capability, Gate, in_case_file_clause
from records.models import (
    DisposalItem,
    DisposalMessage,
    DisposalRun,
    Document,
    Household,
    User,
)
from records.retention import FileRetention, file_retention, load_rules, overview
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
from records.xdomea_documents import add_document, case_file_documents
from storage.base import BlobStore, read_bytes

# Items whose run is not finished with them.
OPEN_ITEM_STATES = (
    "offered",
    "to_archive",
    "transferred",
    "import_failed",
    "to_destroy",
    "archived",
    "destroying",
)
ITEM_LABELS: dict[str, str] = {
    "offered": "angeboten",
    "to_archive": "vom Archiv übernommen (zu übergeben)",
    "to_destroy": "zu vernichten",
    "transferred": "an das Archiv übergeben",
    "archived": "vom Archiv importiert",
    "import_failed": "Import im Archiv fehlgeschlagen",
    "withdrawn": "zurückgezogen",
    "destroying": "wird vernichtet",
    "destroyed": "vernichtet",
}
RUN_LABELS: dict[str, str] = {
    "offered": "angeboten",
    "evaluated": "bewertet",
    "transferred": "übergeben",
    "closed": "abgeschlossen",
}
PROPOSAL_LABELS = {"A": "archivwürdig", "B": "zu bewerten", "V": "zu vernichten"}
INCOMING = ("0502", "0504", "0506", "0507")
FILE_SUBJECT = "Leistungsakte SGB II"
MEDIUM_ELECTRONIC = "001"


def cli_user() -> User:
    """Who acts on the command line: an account of the records manager's role that is never
    stored; its actions are audited as `cli` (as `eakte user break-glass` is)."""
    return User(login="cli", name="Kommandozeile", role="schriftgut", active=True)


@dataclass(frozen=True)
class Written:
    """A message this side wrote: its row and the zip written for the caller."""

    message: DisposalMessage
    path: Path


@dataclass
class ImportResult:
    run: DisposalRun
    msg_type: str
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    reply: Written | None = None

    def summary(self) -> str:
        parts = [f"{MESSAGE_LABELS[self.msg_type]} zum Vorgang {self.run.process_id} übernommen."]
        for state, count in sorted(self.counts.items()):
            parts.append(f"{ITEM_LABELS.get(state, state)}: {count}")
        return "\n".join(parts)


def _parties(settings: Settings) -> Parties:
    return Parties(sender=settings.job_centre_name, recipient=settings.archive_name)


def _now() -> datetime:
    return datetime.now(UTC).astimezone(LOCAL_TZ)


def _store(
    gate: Gate,
    blobs: BlobStore,
    run: DisposalRun,
    msg_type: str,
    direction: str,
    filename: str,
    source: BinaryIO,
) -> DisposalMessage:
    key = f"disposal/{run.process_id}/{uuid.uuid4().hex}_{msg_type}.zip"
    stored = blobs.put(key, source)
    message = DisposalMessage(
        run_id=run.id,
        msg_type=msg_type,
        direction=direction,
        filename=filename,
        blob_key=key,
        sha256=stored.sha256,
        size_bytes=stored.size,
        valid=True,
        problems=[],
        by_login=gate.user.login,
    )
    gate.session.add(message)
    gate.session.flush()
    gate.record(
        f"disposal.message_{direction}",
        object_type="disposal_run",
        object_id=run.id,
        msg_type=msg_type,
        filename=filename,
        sha256=stored.sha256,
    )
    return message


def _written(gate: Gate, blobs: BlobStore, run: DisposalRun, msg_type: str, path: Path) -> Written:
    with path.open("rb") as source:
        message = _store(gate, blobs, run, msg_type, "out", path.name, source)
    return Written(message, path)


# 1. the offer (0501) ----------------------------------------------------------------------


def _busy_household_ids(session: Session) -> set[int]:
    """Households in a run still going (withdrawn items do not count)."""
    rows = session.scalars(
        select(DisposalItem.household_id)
        .join(DisposalRun, DisposalRun.id == DisposalItem.run_id)
        .where(
            DisposalRun.state != "closed",
            DisposalItem.state.in_(OPEN_ITEM_STATES),
            DisposalItem.household_id.is_not(None),
        )
    )
    return {row for row in rows if row is not None}


def _first_document_day(session: Session, household: Household) -> date | None:
    value = session.scalar(
        select(func.min(Document.receipt_date)).where(
            Document.household_id == household.id, in_case_file_clause()
        )
    )
    return value if isinstance(value, date) else None


def _akte(parent: Any, item: DisposalItem, ends_on: date | None) -> Any:
    akte = sub(sub(parent, "Schriftgutobjekt"), "Akte")
    sub(sub(akte, "Identifikation"), "ID", item.file_uuid)
    general = sub(akte, "AllgemeineMetadaten")
    sub(general, "Betreff", FILE_SUBJECT)
    sub(general, "Kennzeichen", item.bg_number)
    code(general, "Medium", MEDIUM_ELECTRONIC, "medium", "1.0")
    archival = sub(akte, "ArchivspezifischeMetadaten")
    sub(sub(archival, "Aufbewahrungsdauer"), "AnzahlJahre", item.years)
    kind = sub(archival, "Aussonderungsart")
    code(kind, "Aussonderungsart", item.decision or item.proposal, "aussonderungsart", "1.0")
    if item.proposal in ("A", "V"):
        code(archival, "Bewertungsvorschlag", item.proposal, "bewertungsvorschlag", "1.0")
    if ends_on is not None:
        sub(archival, "Aufbewahrungsende", ends_on)
    return akte


def _laufzeit(akte: Any, begins: date | None, ends: date) -> None:
    period = sub(akte, "Laufzeit")
    if begins is not None and begins <= ends:
        sub(period, "Beginn", begins)
    sub(period, "Ende", ends)


def _zda(akte: Any, event_date: date) -> None:
    sub(akte, "ZdA", "true")
    sub(akte, "ZdADatum", event_date)


def _ends_on(item: DisposalItem) -> date:
    return date(item.due_from.year - 1, 12, 31)


def start_run(
    gate: Gate, blobs: BlobStore, settings: Settings, today: date, out_dir: Path
) -> Written | None:
    """A new run over every file due, not held and not in a run still going, and its 0501
    (validated, stored, written to `out_dir`). None when no file is due."""
    gate.require(Capability.RECORDS, "disposal.start")
    session = gate.session
    due = [
        retention
        for retention in overview(session, load_rules(settings), today, statuses=("due",))
        if retention.event_date and retention.due_from
    ]
    # Two runs started at once must not both offer a file: the files' rows are locked
    # (PostgreSQL) before the runs still going are read.
    ids = sorted(r.household_id for r in due)
    for start in range(0, len(ids), 5000):
        session.execute(
            select(Household.id)
            .where(Household.id.in_(ids[start : start + 5000]))
            .order_by(Household.id)
            .with_for_update()
        )
    busy = _busy_household_ids(session)
    due = [retention for retention in due if retention.household_id not in busy]
    if not due:
        return None
    run = DisposalRun(archive_name=settings.archive_name, created_by_login=gate.user.login)
    session.add(run)
    session.flush()
    root, head = new_message("0501", run.process_id, _now(), _parties(settings))
    sub(head, "Empfangsbestaetigung", "true")
    for retention in due:
        household = gate.records_file(retention.bg_number, "disposal.offer")
        item = _new_item(run, household, retention)
        session.add(item)
        akte = _akte(root, item, retention.ends_on)
        _laufzeit(akte, _first_document_day(session, household), item.event_date)
        _zda(akte, item.event_date)
    session.flush()
    path = write_message_zip(out_dir, "0501", run.process_id, root, settings.standards_dir)
    gate.record("disposal.start", object_type="disposal_run", object_id=run.id, files=len(due))
    return _written(gate, blobs, run, "0501", path)


def _new_item(run: DisposalRun, household: Household, retention: FileRetention) -> DisposalItem:
    if household.file_uuid is None:
        household.file_uuid = uuid.uuid4()
    assert retention.event_date is not None and retention.due_from is not None
    return DisposalItem(
        run=run,
        household_id=household.id,
        bg_number=household.bg_number,
        file_uuid=household.file_uuid,
        event_date=retention.event_date,
        due_from=retention.due_from,
        years=retention.years,
        rule=retention.rule[:300],
        proposal="B" if retention.offer_to_archive else "V",
        state="offered",
    )


# 2. the archive's answers -----------------------------------------------------------------


def _run_of(session: Session, process_id: uuid.UUID) -> DisposalRun:
    run = session.scalar(select(DisposalRun).where(DisposalRun.process_id == process_id))
    if run is None:
        raise MessageRefused(
            [f"Es gibt keinen Aussonderungsvorgang mit der ProzessID {process_id}."]
        )
    return run


def _items_by_uuid(run: DisposalRun) -> dict[str, DisposalItem]:
    return {str(item.file_uuid).lower(): item for item in run.items}


def _is_true(text: str | None) -> bool:
    return (text or "").strip() in ("true", "1")


def import_message(
    gate: Gate,
    blobs: BlobStore,
    settings: Settings,
    data: bytes,
    filename: str,
    out_dir: Path,
    *,
    expected: tuple[str, ...] = INCOMING,
) -> ImportResult:
    """An archive's message (0502, 0504, 0506 or 0507), checked completely before anything
    changes; MessageRefused (the German problems) when it is not taken."""
    gate.require(Capability.RECORDS, "disposal.import")
    with _refusal_audited(gate, data, filename):
        message = read_message_zip(data, filename, settings.standards_dir)
        if message.msg_type not in expected:
            allowed = ", ".join(MESSAGE_LABELS[kind] for kind in expected)
            raise MessageRefused(
                [f"Erwartet wird {allowed}, nicht {MESSAGE_LABELS[message.msg_type]}."]
            )
        run = _run_of(gate.session, message.process_id)
        if run.state == "closed":
            raise MessageRefused([f"Der Aussonderungsvorgang {run.process_id} ist abgeschlossen."])
        if message.msg_type == "0502":
            result = _evaluation(gate, run, message)
        elif message.msg_type == "0506":
            result = _import_confirmation(run, message)
        else:
            result = ImportResult(run, message.msg_type)
        _store(gate, blobs, run, message.msg_type, "in", Path(filename).name, io.BytesIO(data))
        if message.msg_type == "0502" and _is_true(
            message.root.findtext(f"{q('Kopf')}/{q('Empfangsbestaetigung')}")
        ):
            root, _head = new_message("0505", run.process_id, _now(), _parties(settings))
            path = write_message_zip(out_dir, "0505", run.process_id, root, settings.standards_dir)
            result.reply = _written(gate, blobs, run, "0505", path)
        gate.record(
            "disposal.import",
            object_type="disposal_run",
            object_id=run.id,
            msg_type=message.msg_type,
            counts=result.counts,
        )
        return result


@contextmanager
def _refusal_audited(gate: Gate, data: bytes, filename: str) -> Iterator[None]:
    """A refused message is in the audit log although the unit of work rolls back."""
    try:
        yield
    except MessageRefused as refused:
        refused.after_rollback = audit.pending(
            gate.user,
            "disposal.import",
            outcome="refused",
            filename=Path(filename).name[:300],
            sha256=hashlib.sha256(data).hexdigest(),
            problems=refused.problems[:20],
        )
        raise


def _evaluation(gate: Gate, run: DisposalRun, message: IncomingMessage) -> ImportResult:
    items = _items_by_uuid(run)
    problems: list[str] = []
    decisions: dict[str, str] = {}
    for evaluated in message.root.iter(q("BewertetesObjekt")):
        ident = (evaluated.findtext(q("ID")) or "").strip().lower()
        value = (
            evaluated.findtext(f"{q('Aussonderungsart')}/{q('Aussonderungsart')}/code") or ""
        ).strip()
        line = evaluated.sourceline
        if ident not in items:
            problems.append(
                f"Zeile {line}: Die ID {ident} ist keine Akte dieses Anbieteverzeichnisses."
            )
        elif ident in decisions:
            problems.append(
                f"Zeile {line}: Die Akte {items[ident].bg_number} ist mehrfach bewertet."
            )
        elif value not in ("A", "V"):
            problems.append(
                f"Zeile {line}: Die Akte {items[ident].bg_number} ist mit „{value}“ bewertet; "
                "erwartet wird A (archivwürdig) oder V (vernichten)."
            )
        decisions[ident] = value
    if problems:
        raise MessageRefused(problems)
    result = ImportResult(run, "0502")
    for ident, item in items.items():
        if ident not in decisions:
            if item.state == "offered":
                result.warnings.append(
                    f"Die Akte {item.bg_number} ist im Bewertungsverzeichnis nicht"
                    f" bewertet; sie bleibt angeboten."
                )
            continue
        if item.state != "offered":
            result.warnings.append(
                f"Die Akte {item.bg_number} ist {ITEM_LABELS[item.state]}; ihre"
                f" Bewertung wird nicht übernommen."
            )
            continue
        item.decision = decisions[ident]
        item.state = "to_archive" if item.decision == "A" else "to_destroy"
        result.counts[item.state] = result.counts.get(item.state, 0) + 1
    _evaluate_run_state(run)
    return result


def _evaluate_run_state(run: DisposalRun) -> None:
    states = {item.state for item in run.items}
    if run.state == "offered" and "offered" not in states:
        run.state = "evaluated"


def decline_offer(gate: Gate, run_id: int, reason: str) -> DisposalRun:
    """The archive declined the whole offer in writing: every file still offered is to be
    destroyed, with the reason."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Bitte den Grund angeben (z. B. das Schreiben des Archivs vom …).")
    run = _readable_run(gate, run_id, "disposal.decline")
    for item in run.items:
        if item.state == "offered":
            item.decision = "V"
            item.state = "to_destroy"
            item.problem = f"Das Archiv hat die Übernahme abgelehnt: {reason}"[:2000]
    run.note = reason
    _evaluate_run_state(run)
    gate.record("disposal.decline", object_type="disposal_run", object_id=run.id, reason=reason)
    return run


def _import_confirmation(run: DisposalRun, message: IncomingMessage) -> ImportResult:
    items = _items_by_uuid(run)
    problems: list[str] = []
    outcomes: list[tuple[DisposalItem, bool, str, str | None]] = []
    for confirmed in message.root.iter(q("AusgesondertesSGO")):
        ident = (confirmed.findtext(q("IDSGO")) or "").strip().lower()
        line = confirmed.sourceline
        item = items.get(ident)
        if item is None:
            problems.append(f"Zeile {line}: Die ID {ident} ist keine Akte dieses Vorgangs.")
            continue
        if item.state not in ("transferred", "import_failed", "archived"):
            problems.append(
                f"Zeile {line}: Die Akte {item.bg_number} wurde nicht übergeben"
                f" ({ITEM_LABELS[item.state]})."
            )
            continue
        errors = [
            (text or "").strip()
            for text in [e.text for e in confirmed.iter(q("Fehlermeldung"))]
            if (text or "").strip()
        ]
        outcomes.append(
            (
                item,
                _is_true(confirmed.findtext(q("Erfolgreich"))),
                "; ".join(errors) or "Das Archiv meldet einen Fehler ohne Angabe.",
                (confirmed.findtext(q("Archivkennung")) or "").strip() or None,
            )
        )
    if problems:
        raise MessageRefused(problems)
    result = ImportResult(run, "0506")
    for item, ok, error, reference in outcomes:
        if ok:
            item.state, item.archive_ref, item.problem = "archived", reference, None
        else:
            item.state, item.problem = (
                "import_failed",
                f"Import im Archiv fehlgeschlagen: {error}"[:2000],
            )
        result.counts[item.state] = result.counts.get(item.state, 0) + 1
    return result


# 3. the transfer (0503) --------------------------------------------------------------------


def _readable_run(gate: Gate, run_id: int, action: str) -> DisposalRun:
    gate.require(Capability.RECORDS, action, object_type="disposal_run", object_id=run_id)
    run = gate.session.get(DisposalRun, run_id)
    if run is None:
        raise NotFound(f"Aussonderungsvorgang {run_id} nicht gefunden.")
    return run


def transfer(
    gate: Gate,
    blobs: BlobStore,
    settings: Settings,
    run_id: int,
    today: date,
    out_dir: Path,
) -> Written | None:
    """The 0503 of the files the archive chose (and those whose import failed before): each
    file checked again (a hold, a reopened file: withdrawn), each document's PDF/A and its
    scan record as PDF/A attachment. Every file's transfer is audited. None when every file
    was withdrawn (nothing is written; the withdrawals stand)."""
    run = _readable_run(gate, run_id, "disposal.transfer")
    # The documents are copied to a scratch folder one by one and from there into the zip.
    with tempfile.TemporaryDirectory(prefix="eakte-0503-") as scratch:
        written = _transfer_into(gate, blobs, settings, run, today, out_dir, Path(scratch))
    return written


def _transfer_into(
    gate: Gate,
    blobs: BlobStore,
    settings: Settings,
    run: DisposalRun,
    today: date,
    out_dir: Path,
    work: Path,
) -> Written | None:
    session = gate.session
    rules = load_rules(settings)
    root, head = new_message("0503", run.process_id, _now(), _parties(settings))
    sub(head, "Importbestaetigung", "1")
    sub(head, "RueckmeldungArchivkennung", "1")
    sub(head, "Empfangsbestaetigung", "1")
    files: list[tuple[str, bytes | Path]] = []
    sent: list[DisposalItem] = []
    withdrawn = 0
    for item in run.items:
        if item.state not in ("to_archive", "import_failed"):
            continue
        household = session.get(Household, item.household_id) if item.household_id else None
        reason = _withdraw_reason(session, household, rules, today)
        if reason is not None:
            item.state, item.problem = "withdrawn", reason
            withdrawn += 1
            gate.record(
                "disposal.withdraw",
                object_type="disposal_run",
                object_id=run.id,
                bg_number=item.bg_number,
                reason=reason,
            )
            continue
        assert household is not None
        gate.records_file(household.bg_number, "disposal.transfer_file")
        akte = _akte(root, item, _ends_on(item))
        _laufzeit(akte, _first_document_day(session, household), item.event_date)
        _documents(session, blobs, akte, household, files, work)
        _zda(akte, item.event_date)
        sent.append(item)
    if not sent:
        if withdrawn:
            return None  # the withdrawals stand; nothing leaves
        raise InvalidInput("Keine Akte dieses Vorgangs ist zu übergeben.")
    path = write_message_zip(out_dir, "0503", run.process_id, root, settings.standards_dir, files)
    for item in sent:
        item.state, item.problem = "transferred", None
    run.state = "transferred"
    return _written(gate, blobs, run, "0503", path)


def _withdraw_reason(
    session: Session, household: Household | None, rules: Any, today: date
) -> str | None:
    if household is None or household.destruction_started_at is not None:
        return "Die Akte ist nicht mehr vorhanden."
    retention = file_retention(session, household, rules, today)
    if retention.status == "held":
        labels = ", ".join(hold.label for hold in retention.holds) or "Sperre"
        return f"Zurückgezogen: Die Akte ist gesperrt ({labels})."
    if retention.status != "due":
        return "Zurückgezogen: Die Akte ist wieder eröffnet oder ihre Frist läuft noch."
    return None


def _documents(
    session: Session,
    blobs: BlobStore,
    akte: Any,
    household: Household,
    files: list[tuple[str, bytes | Path]],
    work: Path,
) -> None:
    documents = case_file_documents(session, household)
    if not documents:
        return
    content = sub(akte, "Akteninhalt")
    for number, document in enumerate(documents, start=1):
        add_document(
            content,
            document,
            number,
            blobs,
            files,
            work,
            bg_number=household.bg_number,
            purpose="die Aussonderung",
        )


# 4. closing and listing ---------------------------------------------------------------------


def close_run_if_done(
    session: Session, run: DisposalRun, blobs: BlobStore | None = None
) -> list[str]:
    """When no item of the run is open any more: the run is closed and its 0501/0503 (they
    name clients) lose their blobs (blob_key None; the hash stays). Returns the keys to delete:
    deleted here when `blobs` is given, else by the caller after the commit."""
    if run.state == "closed" or any(item.state in OPEN_ITEM_STATES for item in run.items):
        return []
    run.state = "closed"
    keys: list[str] = []
    for message in session.scalars(
        select(DisposalMessage).where(
            DisposalMessage.run_id == run.id,
            DisposalMessage.msg_type.in_(("0501", "0503")),
            DisposalMessage.blob_key.is_not(None),
        )
    ):
        assert message.blob_key is not None
        keys.append(message.blob_key)
        message.blob_key = None
    audit.record(
        session,
        None,
        "disposal.close",
        object_type="disposal_run",
        object_id=run.id,
        actor_login="system",
        purged=len(keys),
    )
    if blobs is not None:
        for key in keys:
            blobs.delete(key)
    return keys


@dataclass(frozen=True)
class RunView:
    run: DisposalRun
    state_label: str
    items: list[DisposalItem]
    counts: dict[str, int]
    messages: list[DisposalMessage]


def runs(gate: Gate) -> list[RunView]:
    """Every run, newest first, with its items and messages (the listing is audited)."""
    gate.listing(Capability.RECORDS, "disposal.list")
    session = gate.session
    result = []
    for run in session.scalars(select(DisposalRun).order_by(DisposalRun.id.desc())):
        messages = list(
            session.scalars(
                select(DisposalMessage)
                .where(DisposalMessage.run_id == run.id)
                .order_by(DisposalMessage.id)
            )
        )
        counts = dict(Counter(item.state for item in run.items))
        result.append(RunView(run, RUN_LABELS[run.state], list(run.items), counts, messages))
    return result


def message_download(gate: Gate, blobs: BlobStore, message_id: int) -> tuple[bytes, str]:
    """A stored message's zip (audited); refused once purged."""
    gate.require(
        Capability.RECORDS,
        "disposal.download",
        object_type="disposal_message",
        object_id=message_id,
    )
    message = gate.session.get(DisposalMessage, message_id)
    if message is None or message.blob_key is None:
        raise NotFound("Diese Nachricht ist nicht (mehr) gespeichert.")
    data = read_bytes(blobs, message.blob_key)
    gate.record(
        "disposal.download",
        object_type="disposal_message",
        object_id=message.id,
        msg_type=message.msg_type,
    )
    return data, message.filename
