"""Audits without copies (issue 18): time-limited, read-only accesses to chosen households'
files for a named auditor (Prüfung, e.g. the Land's audit office) or for a client's file
inspection at the counter (Akteneinsicht).

- `grant_access`: the administration (GRANT_INSPECTION) grants a `pruefung` access for chosen
  households or a random sample the product draws from the active households with a file; a
  caseworker grants an `akteneinsicht` for one household of their own (need-to-know through the
  gate) for a few days. Documents may be withheld (§ 25 Abs. 3 SGB X), each with its reason.
- An access is active on starts_on <= today <= ends_on unless ended by hand (`end_access`).
- The auditor (role pruefung) lists their accesses, the households and documents of one
  (withheld, restricted and not-filed documents left out), views pages and downloads a
  watermarked copy (pdf.watermark); the original blob is never changed. Every read goes through
  records.access.Gate (records/access.py: the auditor's branch) and is audited with the access
  id, on behalf of the granting user.
- `access_report`: what the auditor looked at, from the audit log rows of the access, as a page
  and as a tagged PDF/A (pdf.access_report), for the administration and the data protection
  officer.

The caller owns the transaction.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from core.dates import german, local_date, local_today
from core.db import utcnow
from core.errors import InvalidInput
from pdf.access_report import Report, Section, Table, build_report
from pdf.watermark import watermark_text, watermarked
from records.access import (
    Capability,
    Gate,
    Grant,
    Role,
    access_opens,
    in_case_file,
    in_case_file_clause,
)
from records.identifiers import normalize_bg_number
from records.models import AuditAccess, AuditAccessHousehold, AuditEvent, Document, Household, User
from records.privacy import local_time
from storage import BlobStore, read_bytes

KINDS = {"pruefung": "Prüfung", "akteneinsicht": "Akteneinsicht"}
MAX_DAYS = 90  # an audit access lasts at most this long
MAX_COUNTER_DAYS = 7  # a file inspection at the counter: a day or a few
MAX_SAMPLE = 100
# What the report lists of an access's audit rows, and how it names each.
REPORT_ACTIONS = {
    "inspection.household": "Akte geöffnet",
    "inspection.view": "Dokument angesehen",
    "inspection.page": "Seite angesehen",
    "inspection.download": "Download (Wasserzeichen)",
}
ACCESS_OBJECT = "audit_access"


@dataclass(frozen=True)
class AccessState:
    """Whether an access is open now, and if not, the sentence that says why."""

    active: bool
    text: str


@dataclass(frozen=True)
class InspectedFile:
    household: Household
    documents: list[Document]


def today() -> date:
    """The product's day for accesses (a test moves it by patching this module's clock)."""
    return local_today()


def state_of(access: AuditAccess, today: date | None = None) -> AccessState:
    day = today or local_today()
    if access.ended_at is not None:
        ended = german(local_date(access.ended_at))
        return AccessState(False, f"Der Zugang ist am {ended} beendet worden.")
    if day > access.ends_on:
        return AccessState(False, f"Der Zugang ist am {german(access.ends_on)} abgelaufen.")
    if day < access.starts_on:
        return AccessState(False, f"Der Zugang beginnt am {german(access.starts_on)}.")
    return AccessState(True, f"Der Zugang gilt bis einschließlich {german(access.ends_on)}.")


def kind_label(kind: str) -> str:
    return KINDS.get(kind, kind)


# --- granting and ending ---------------------------------------------------------------------


def _auditor(gate: Gate, login: str) -> User:
    auditor = gate.session.scalar(select(User).where(User.login == login.strip()))
    if auditor is None or not auditor.active or auditor.role != Role.PRUEFUNG:
        raise InvalidInput(
            "Das Konto für die Prüfung gibt es nicht, es ist gesperrt oder hat nicht die Rolle "
            "„Prüfung und Akteneinsicht“."
        )
    return auditor


def _dates(starts_on: date, ends_on: date, longest: int) -> None:
    if ends_on < starts_on:
        raise InvalidInput("Das Ende des Zugangs darf nicht vor seinem Beginn liegen.")
    if (ends_on - starts_on).days + 1 > longest:
        raise InvalidInput(f"Ein Zugang dauert höchstens {longest} Tage.")


def _households_with_file(gate: Gate) -> list[Household]:
    """The active households with at least one document in their file, by BG number."""
    return list(
        gate.session.scalars(
            select(Household)
            .where(
                Household.active.is_(True),
                Household.destruction_started_at.is_(None),
                exists().where(Document.household_id == Household.id, in_case_file_clause()),
            )
            .order_by(Household.bg_number)
        )
    )


def _chosen(gate: Gate, bg_numbers: Iterable[str]) -> list[Household]:
    found: dict[str, Household] = {}
    unknown: list[str] = []
    for raw in bg_numbers:
        if not raw.strip():
            continue
        number = normalize_bg_number(raw)
        household = (
            gate.session.scalar(select(Household).where(Household.bg_number == number))
            if number
            else None
        )
        if household is None or household.destruction_started_at is not None:
            unknown.append(raw.strip())
        else:
            found[household.bg_number] = household
    if unknown:
        raise InvalidInput("Diese Bedarfsgemeinschaften gibt es nicht: " + ", ".join(unknown))
    if not found:
        raise InvalidInput("Bitte mindestens eine Bedarfsgemeinschaft angeben.")
    return sorted(found.values(), key=lambda h: h.bg_number)


def _withheld(
    gate: Gate, households: list[Household], withheld: dict[str, str] | None
) -> dict[str, str]:
    chosen = {h.id for h in households}
    clean: dict[str, str] = {}
    for raw_id, raw_reason in (withheld or {}).items():
        reason = (raw_reason or "").strip()
        try:
            key = uuid.UUID(str(raw_id).strip())
        except ValueError:
            raise InvalidInput(f"Keine gültige Dokumentnummer: {raw_id}") from None
        document = gate.session.get(Document, key)
        if document is None or document.household_id not in chosen:
            raise InvalidInput(
                f"Das Dokument {key} gehört zu keiner der gewählten Bedarfsgemeinschaften."
            )
        if not reason:
            raise InvalidInput(
                f"Bitte für das zurückgehaltene Dokument {key} einen Grund angeben "
                "(§ 25 Abs. 3 SGB X)."
            )
        clean[str(key)] = reason[:300]
    return clean


def grant_access(
    gate: Gate,
    auditor_login: str,
    kind: str,
    purpose: str,
    starts_on: date,
    ends_on: date,
    *,
    bg_numbers: Iterable[str] = (),
    sample_size: int | None = None,
    withheld: dict[str, str] | None = None,
    rng: random.Random | None = None,
) -> AuditAccess:
    """Grant an access; returns it (flushed). A `pruefung` is the administration's (chosen
    households or a sample of `sample_size` drawn with `rng`, secrets.SystemRandom by
    default); an `akteneinsicht` is a caseworker's, for one household of their own."""
    action = "inspection.grant"
    if kind == "pruefung":
        gate.require(Capability.GRANT_INSPECTION, action)
        longest = MAX_DAYS
    elif kind == "akteneinsicht":
        gate.require(Capability.CASE_FILES, action)
        longest = MAX_COUNTER_DAYS
    else:
        raise InvalidInput("Unbekannte Art des Zugangs.")
    purpose = " ".join(purpose.split())
    if not purpose:
        raise InvalidInput("Bitte den Zweck des Zugangs angeben.")
    auditor = _auditor(gate, auditor_login)
    _dates(starts_on, ends_on, longest)
    numbers = [n for n in bg_numbers if n.strip()]
    drawn = False
    if kind == "akteneinsicht":
        if len(numbers) != 1 or sample_size is not None:
            raise InvalidInput("Eine Akteneinsicht gilt für genau eine Bedarfsgemeinschaft.")
        household, _ = gate.household(numbers[0], action, audited=False)
        households = [household]
    elif sample_size is not None:
        if numbers:
            raise InvalidInput(
                "Bitte entweder Bedarfsgemeinschaften angeben oder eine Stichprobe ziehen lassen."
            )
        if not 1 <= sample_size <= MAX_SAMPLE:
            raise InvalidInput(f"Die Stichprobe umfasst 1 bis {MAX_SAMPLE} Akten.")
        population = _households_with_file(gate)
        if sample_size > len(population):
            raise InvalidInput(
                f"Die Stichprobe ist größer als die Zahl der Akten ({len(population)})."
            )
        households = sorted(
            (rng or secrets.SystemRandom()).sample(population, sample_size),
            key=lambda h: h.bg_number,
        )
        drawn = True
    else:
        households = _chosen(gate, numbers)
    kept_back = _withheld(gate, households, withheld)
    access = AuditAccess(
        kind=kind,
        auditor_id=auditor.id,
        purpose=purpose[:300],
        starts_on=starts_on,
        ends_on=ends_on,
        sample_size=sample_size if drawn else None,
        withheld=kept_back,
        created_by_login=gate.user.login,
    )
    for household in households:
        access.households.append(
            AuditAccessHousehold(household_id=household.id, bg_number=household.bg_number)
        )
    gate.session.add(access)
    gate.session.flush()
    gate.record(
        "inspection.granted",
        object_type=ACCESS_OBJECT,
        object_id=access.id,
        bg_number=households[0].bg_number if kind == "akteneinsicht" else None,
        kind=kind,
        auditor=auditor.login,
        purpose=access.purpose,
        period=f"{german(starts_on)}–{german(ends_on)}",
        households=[h.bg_number for h in households],
        sample_size=access.sample_size,
        withheld=len(kept_back) or None,
    )
    return access


def _access(gate: Gate, access_id: int) -> AuditAccess | None:
    return gate.session.get(AuditAccess, access_id, options=(selectinload(AuditAccess.households),))


def _may_manage(gate: Gate, access: AuditAccess) -> bool:
    """The administration manages every access; a caseworker the inspections they granted."""
    if gate.may(Capability.GRANT_INSPECTION):
        return True
    return (
        access.kind == "akteneinsicht"
        and gate.may(Capability.CASE_FILES)
        and access.created_by_login == gate.user.login
    )


def managed_access(gate: Gate, access_id: int, action: str) -> AuditAccess:
    """An access the user may end or report on; refusals audited."""
    access = _access(gate, access_id)
    if access is None or not (_may_manage(gate, access) or gate.may(Capability.AUDIT)):
        raise gate.refuse(
            action,
            "Kein Zugriff: Diesen Zugang gibt es nicht oder Sie verwalten ihn nicht.",
            object_type=ACCESS_OBJECT,
            object_id=access_id,
        )
    return access


def end_access(gate: Gate, access_id: int, reason: str) -> AuditAccess:
    """End an access by hand, with a reason (the administration, or the caseworker who granted
    the file inspection)."""
    action = "inspection.end"
    access = _access(gate, access_id)
    if access is None or not _may_manage(gate, access):
        raise gate.refuse(
            action,
            "Kein Zugriff: Diesen Zugang gibt es nicht oder Sie verwalten ihn nicht.",
            object_type=ACCESS_OBJECT,
            object_id=access_id,
        )
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("Bitte einen Grund für das Beenden angeben.")
    if access.ended_at is not None:
        raise InvalidInput("Dieser Zugang ist bereits beendet.")
    access.ended_at = utcnow()
    access.ended_by_login = gate.user.login
    access.end_reason = reason[:300]
    gate.session.flush()
    gate.record(
        "inspection.ended",
        object_type=ACCESS_OBJECT,
        object_id=access.id,
        reason=access.end_reason,
        auditor=access.auditor.login,
    )
    return access


def accesses_to_manage(gate: Gate) -> list[AuditAccess]:
    """Every access, newest first (the administration's list; audited as a listing)."""
    gate.listing(Capability.GRANT_INSPECTION, "inspection.accesses")
    return list(
        gate.session.scalars(
            select(AuditAccess)
            .options(selectinload(AuditAccess.households), selectinload(AuditAccess.auditor))
            .order_by(AuditAccess.id.desc())
        )
    )


def granted_by_me(gate: Gate, bg_number: str) -> list[AuditAccess]:
    """The file inspections this caseworker granted for the household (the E-Akte's form)."""
    number = normalize_bg_number(bg_number)
    return list(
        gate.session.scalars(
            select(AuditAccess)
            .join(AuditAccessHousehold)
            .where(
                AuditAccess.kind == "akteneinsicht",
                AuditAccess.created_by_login == gate.user.login,
                AuditAccessHousehold.bg_number == number,
            )
            .options(selectinload(AuditAccess.auditor))
            .order_by(AuditAccess.id.desc())
        )
    )


def counter_file(gate: Gate, bg_number: str) -> InspectedFile:
    """The caseworker's view for granting a file inspection: the household (read audited) and
    the documents in its file, to choose those to withhold."""
    household, _ = gate.household(bg_number, "household.read")
    documents = gate.session.scalars(
        select(Document)
        .where(Document.household_id == household.id, in_case_file_clause())
        .order_by(Document.receipt_date.desc(), Document.received_at.desc())
    )
    return InspectedFile(household, list(documents))


def auditors(gate: Gate) -> list[User]:
    """The active accounts with the role pruefung (for the grant forms)."""
    return list(
        gate.session.scalars(
            select(User)
            .where(User.role == Role.PRUEFUNG.value, User.active.is_(True))
            .order_by(User.name)
        )
    )


# --- the auditor's view ----------------------------------------------------------------------


def my_accesses(gate: Gate) -> list[AuditAccess]:
    """The auditor's accesses, newest first (ended and expired ones too: the page says so)."""
    gate.listing(Capability.INSPECT, "inspection.list")
    return list(
        gate.session.scalars(
            select(AuditAccess)
            .where(AuditAccess.auditor_id == gate.user.id)
            .options(selectinload(AuditAccess.households))
            .order_by(AuditAccess.id.desc())
        )
    )


def _own_access(
    gate: Gate, access_id: int, action: str, today: date | None, **tried: str
) -> AuditAccess:
    """The auditor's own access, active today; refused (and audited, with what was `tried`)
    otherwise."""
    gate.require(Capability.INSPECT, action, object_type=ACCESS_OBJECT, object_id=access_id)
    access = _access(gate, access_id)
    if access is None or access.auditor_id != gate.user.id:
        raise gate.refuse(
            action,
            "Kein Zugriff: Diesen Zugang gibt es nicht.",
            object_type=ACCESS_OBJECT,
            object_id=access_id,
        )
    state = state_of(access, today)
    if not state.active:
        raise gate.refuse(
            action,
            f"Kein Zugriff: {state.text}",
            object_type=ACCESS_OBJECT,
            object_id=access_id,
            **tried,
        )
    return access


def auditor_access(gate: Gate, access_id: int) -> AuditAccess | None:
    """The auditor's own access (None if it is not theirs); whether it is open: `state_of`."""
    gate.require(Capability.INSPECT, "inspection.access")
    access = _access(gate, access_id)
    return access if access is not None and access.auditor_id == gate.user.id else None


def _open_household(
    gate: Gate, access: AuditAccess, bg_number: str, action: str
) -> tuple[Household, Grant]:
    household, grant = gate.household(
        bg_number, action, capability=Capability.INSPECT, audited=False
    )
    if not access_opens(access, household, None):
        raise gate.refuse(
            action,
            "Kein Zugriff: Diese Akte gehört nicht zu diesem Zugang.",
            object_type="household",
            object_id=household.bg_number,
            bg_number=household.bg_number,
            access=access.id,
        )
    return household, grant


def access_households(gate: Gate, access_id: int, today: date | None = None) -> list[Household]:
    """The households of an active access that are still open (not being destroyed)."""
    access = _own_access(gate, access_id, "inspection.households", today)
    gate.record(
        "inspection.households", object_type=ACCESS_OBJECT, object_id=access.id, access=access.id
    )
    ids = [entry.household_id for entry in access.households if entry.household_id is not None]
    households = gate.session.scalars(
        select(Household)
        .where(Household.id.in_(ids), Household.destruction_started_at.is_(None))
        .order_by(Household.bg_number)
    )
    return list(households)


def household_documents(
    gate: Gate, access_id: int, bg_number: str, today: date | None = None
) -> InspectedFile:
    """The documents of one household of the access, except withheld ones; audited."""
    action = "inspection.household"
    access = _own_access(gate, access_id, action, today)
    household, grant = _open_household(gate, access, bg_number, action)
    gate.record_on(household, action, grant=grant, access=access.id)
    documents = gate.session.scalars(
        select(Document)
        .where(Document.household_id == household.id, in_case_file_clause())
        .order_by(Document.receipt_date.desc(), Document.received_at.desc())
    )
    shown = [d for d in documents if str(d.id) not in (access.withheld or {})]
    return InspectedFile(household, shown)


def _document(
    gate: Gate, access: AuditAccess, document_id: uuid.UUID | str, action: str, **details: Any
) -> Document:
    """A document of the access (not withheld by it): the gate's document check first (any
    refusal audited there), then this access's own bounds; the read is audited once."""
    document, grant = gate.document(document_id, action, audited=False, access=access.id)
    if (
        document.household is None
        or not in_case_file(document)
        or not access_opens(access, document.household, document)
    ):
        raise gate.refuse(
            action,
            "Kein Zugriff: Dieses Dokument gibt es nicht oder es gehört nicht zu diesem Zugang.",
            object_type="document",
            object_id=str(document.id),
            access=access.id,
        )
    gate.record_on(document, action, grant=grant, access=access.id, **details)
    return document


def view_document(
    gate: Gate, access_id: int, document_id: uuid.UUID | str, today: date | None = None
) -> Document:
    """A document's details and pages for the auditor; audited."""
    access = _own_access(gate, access_id, "inspection.view", today, document=str(document_id))
    return _document(gate, access, document_id, "inspection.view")


def page_image(
    blobs: BlobStore,
    gate: Gate,
    access_id: int,
    document_id: uuid.UUID | str,
    number: int,
    today: date | None = None,
) -> bytes:
    """One page's image of a document of the access; audited."""
    access = _own_access(gate, access_id, "inspection.page", today, document=str(document_id))
    document = _document(gate, access, document_id, "inspection.page", page=number)
    page = next((p for p in document.pages if p.number == number), None)
    if page is None or page.image_key is None:
        raise InvalidInput("Diese Seite gibt es nicht.")
    return read_bytes(blobs, page.image_key)


def download(
    blobs: BlobStore,
    gate: Gate,
    access_id: int,
    document_id: uuid.UUID | str,
    today: date | None = None,
) -> tuple[str, bytes]:
    """The document's PDF with the watermark on every page, and its file name; audited. The
    stored rendition stays as it is."""
    day = today or local_today()
    access = _own_access(gate, access_id, "inspection.download", day, document=str(document_id))
    document = _document(gate, access, document_id, "inspection.download")
    if document.pdf_key is None:
        raise InvalidInput("Für dieses Dokument gibt es (noch) kein PDF.")
    original = read_bytes(blobs, document.pdf_key)
    copy = watermarked(original, watermark_text(gate.user.name, german(day)))
    return f"Einsicht_{document.id}.pdf", copy


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    when: str
    bg_number: str
    document: str
    what: str
    outcome: str


@dataclass(frozen=True)
class InspectionReport:
    access: AuditAccess
    auditor: str
    granted_by: str
    state: str
    households: list[str]
    withheld: list[tuple[str, str]]
    lines: list[ReportLine]
    created_at: datetime


def _events(gate: Gate, access: AuditAccess) -> list[AuditEvent]:
    """The auditor's audit rows that name this access, oldest first."""
    rows = gate.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.actor_login == access.auditor.login,
            AuditEvent.action.in_(list(REPORT_ACTIONS)),
            AuditEvent.at >= access.created_at - timedelta(seconds=1),
        )
        .order_by(AuditEvent.id)
    )
    return [
        row
        for row in rows
        if (row.details or {}).get("access") == access.id
        or (row.object_type == ACCESS_OBJECT and row.object_id == str(access.id))
    ]


def access_report(gate: Gate, access_id: int) -> InspectionReport:
    """What the auditor looked at under this access; for the administration (and the caseworker
    who granted a file inspection) and the data protection officer. Audited."""
    action = "inspection.report"
    access = managed_access(gate, access_id, action)
    gate.record(action, object_type=ACCESS_OBJECT, object_id=access.id)
    granter = gate.session.scalar(select(User).where(User.login == access.created_by_login))
    lines = [
        ReportLine(
            when=local_time(event.at),
            bg_number=event.bg_number or "",
            document=(event.object_id or "")
            if event.object_type == "document"
            else str((event.details or {}).get("document", "")),
            what=REPORT_ACTIONS[event.action]
            + (f" {event.details.get('page')}" if event.details.get("page") else ""),
            outcome="erfolgt" if event.outcome == "ok" else "verweigert",
        )
        for event in _events(gate, access)
    ]
    return InspectionReport(
        access=access,
        auditor=f"{access.auditor.name} ({access.auditor.login})",
        granted_by=granter.name if granter else access.created_by_login,
        state=state_of(access).text,
        households=[entry.bg_number for entry in access.households],
        withheld=sorted((access.withheld or {}).items()),
        lines=lines,
        created_at=utcnow(),
    )


def report_pdf(report: InspectionReport) -> bytes:
    """The report as a tagged PDF/A-2a."""
    access = report.access
    fields = [
        ("Art", kind_label(access.kind)),
        ("Prüfer/in", report.auditor),
        ("Gewährt von", report.granted_by),
        ("Zweck", access.purpose),
        ("Zeitraum", f"{german(access.starts_on)} bis {german(access.ends_on)}"),
        ("Stand", report.state),
        (
            "Auswahl",
            f"Stichprobe von {access.sample_size} Akten, vom Programm gezogen"
            if access.sample_size
            else "Ausgewählte Akten",
        ),
        ("Akten", ", ".join(report.households)),
    ]
    sections = [
        Section(
            "Zurückgehaltene Dokumente (§ 25 Abs. 3 SGB X)",
            table=Table(
                columns=(("Dokument", 0.4), ("Grund", 0.6)),
                rows=report.withheld,
                empty="Keine.",
            ),
        ),
        Section(
            "Was angesehen wurde",
            table=Table(
                columns=(
                    ("Zeitpunkt", 0.16),
                    ("BG-Nummer", 0.16),
                    ("Dokument", 0.34),
                    ("Vorgang", 0.22),
                    ("Ergebnis", 0.12),
                ),
                rows=[
                    (line.when, line.bg_number, line.document, line.what, line.outcome)
                    for line in report.lines
                ],
                empty="Nichts angesehen.",
            ),
        ),
    ]
    return build_report(
        Report(
            title=f"Bericht über den Zugang {access.id} ({kind_label(access.kind)})",
            fields=fields,
            sections=sections,
            footer=f"Zugang {access.id}",
            producer="E-Akte Jobcenter (Prüfung und Akteneinsicht)",
            created_at=report.created_at,
        )
    )
