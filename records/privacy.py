"""The data protection officer's work (role `datenschutz`, Capability.AUDIT): the audit log
searched by person, household, user, action, outcome and period; who opened a household's
file; the access report for a data subject (Art. 15 DSGVO, § 83 SGB X) as PDF/A.

No content: what is read here is the audit log, the master data of the person asked about and
the list of the household's documents by type, date, channel and pages (never their text, page
images or notes' text). Every search and view is itself audited (`privacy.*`), with its
criteria; a view about one household carries its BG number, so it shows in that household's
next report.

A household's accesses are the audit rows that name the household (its BG number) or one of
its documents or inbox items by id (a letter read at the scanning desk before it was filed
there names no household yet). Refusals are among them: the gate records the household of an
existing object it refused (records/access.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.dates import LOCAL_TZ, german
from core.errors import NotFound
from pdf.access_report import Report, Section, Table, build_report
from records import history
from records.access import ROLE_LABELS, Capability, Gate
from records.identifiers import normalize_bg_number
from records.models import (
    Appeal,
    AuditEvent,
    Document,
    FileExport,
    Household,
    InboxItem,
    Member,
    Note,
    Objection,
    User,
)

PAGE_SIZE = 50
PRODUCER = "E-Akte Jobcenter (Auskunft nach Art. 15 DSGVO)"
REPORT_TITLE = "Auskunft über gespeicherte Daten und Zugriffe"
LEGAL_BASIS = "Art. 15 DSGVO, § 83 SGB X"

# The DPO's own actions (audited).
SEARCHED = "privacy.audit_searched"
FILE_ACCESSES = "privacy.file_accesses"
PERSONS_FOUND = "privacy.persons_searched"
PERSON_VIEWED = "privacy.person_viewed"
REPORTED = "privacy.access_report"
PAGE = "page.privacy"

# Every action the product writes to the audit log, in German; an action not named here is
# shown as it is written. The document's Verlauf names its actions the same way.
ACTION_LABELS: dict[str, str] = {
    **history.ACTION_LABELS,
    "auth.login": "Anmeldung",
    "auth.logout": "Abmeldung",
    "auth.break_glass": "Anmeldung mit Notfallkonto",
    "user.break_glass": "Notfallkonto markiert oder aufgehoben",
    "directory.sync": "Abgleich mit dem Verzeichnisdienst",
    "search": "Akten durchsucht",
    "search.teams": "Teams für die Suche abgefragt",
    "household.read": "Akte geöffnet",
    "household.changes": "Akte auf Änderungen geprüft",
    "household.upload": "Dokument in die Akte hochgeladen",
    "document.read": "Dokument geöffnet",
    "document.view": "Dokument im Viewer angezeigt",
    "document.details": "Angaben zum Dokument gelesen",
    "document.pages.view": "Seitenbilder angezeigt",
    "document.page.words": "Text einer Seite gelesen",
    "document.scan_record": "Scanprotokoll gelesen",
    "document.history": "Verlauf des Dokuments gelesen",
    "document.change": "Dokument geändert",
    "document.filing": "Ablage des Dokuments vorbereitet",
    "document.intake": "Dokument angenommen",
    "document.upload": "Dokument hochgeladen",
    "document.move": "Dokument in eine andere Akte verschoben",
    "inbox.list": "Postkorb angezeigt",
    "inbox.counts": "Postkorb-Zähler abgefragt",
    "note.add": "Vermerk angelegt",
    "objection.read": "Widerspruch geöffnet",
    "objection.status": "Status des Widerspruchs geändert",
    "objection.decision_set": "Angefochtenen Bescheid zugeordnet",
    "objection.receipt_date_corrected": "Eingangsdatum des Widerspruchs berichtigt",
    "objections.list": "Widerspruchsregister angezeigt",
    "appeal.read": "Klage geöffnet",
    "appeal.status": "Status der Klage geändert",
    "appeal.court_data_set": "Gerichtsdaten der Klage erfasst",
    "appeals.list": "Klageregister angezeigt",
    "export.create": "Aktenauszug angefordert",
    "export.created": "Aktenauszug erstellt",
    "export.download": "Aktenauszug heruntergeladen",
    "export.list": "Aktenauszüge aufgelistet",
    "export.options": "Aktenauszug vorbereitet",
    "export.read": "Aktenauszug geöffnet",
    "batch.upload": "Scan angenommen",
    "batch.processed": "Scan verarbeitet",
    "batch.read": "Scanstapel angezeigt",
    "batches.list": "Scanstapel aufgelistet",
    "batches.changes": "Scanstapel auf Änderungen geprüft",
    "desk.qa.list": "Qualitätskontrolle angezeigt",
    "desk.qa.changes": "Qualitätskontrolle auf Änderungen geprüft",
    "clearing.list": "Klärung angezeigt",
    "masterdata.search": "Stammdaten durchsucht",
    "masterdata.import.staff": "Mitarbeitende importiert",
    "masterdata.import.households": "Haushalte importiert",
    "recognition.alias_learned": "Zuordnung für die Erkennung gelernt",
    "mailbox.quarantine": "E-Mail zurückgehalten",
    "job.read": "Verarbeitungsauftrag abgefragt",
    "deputies.list": "Vertretungen angezeigt",
    "deputy.named": "Vertretung eingetragen",
    "deputy.revoked": "Vertretung beendet",
    "staff.list": "Mitarbeitende aufgelistet",
    "store.verify": "Prüfsummen der Ablage geprüft",
    "store.verify.requested": "Prüfung der Prüfsummen angestoßen",
    "user.provisioned": "Konto angelegt oder aktualisiert",
    "user.deactivated": "Konto deaktiviert",
    "views.list": "Gespeicherte Ansichten angezeigt",
    "views.save": "Ansicht gespeichert",
    "views.delete": "Ansicht gelöscht",
    "page.inbox": "Postkorb geöffnet",
    "page.desk": "Scanstelle geöffnet",
    "page.clearing": "Klärung geöffnet",
    "page.deputies": "Vertretung geöffnet",
    "page.export": "Aktenauszug geöffnet",
    "page.search": "Suche geöffnet",
    "page.objections": "Widerspruchsstelle geöffnet",
    "page.objection": "Widerspruch geöffnet",
    "page.appeal": "Klage geöffnet",
    "page.page_editor": "Seiteneditor geöffnet",
    PAGE: "Datenschutz-Seite geöffnet",
    SEARCHED: "Datenschutz: Protokoll durchsucht",
    FILE_ACCESSES: "Datenschutz: Zugriffe auf die Akte angezeigt",
    PERSONS_FOUND: "Datenschutz: Person gesucht",
    PERSON_VIEWED: "Datenschutz: Auskunft vorbereitet",
    REPORTED: "Datenschutz: Auskunft erstellt",
    # issue 17, life17: closing files, retention and holds (records.lifecycle)
    "file.closed": "Akte geschlossen (zdA)",
    "file.reopened": "Akte wiedereröffnet",
    "file.retention": "Aufbewahrung der Akte angezeigt",
    "retention.hold_set": "Sperre gegen die Vernichtung gesetzt",
    "retention.hold_lifted": "Sperre gegen die Vernichtung aufgehoben",
    "records.due": "Liste der fälligen Akten angezeigt",
    # issue 18, handover18: handing a file over to another authority (records.handover)
    "handover.plan": "Aktenabgabe vorbereitet",
    "handover.start": "Aktenabgabe gestartet",
    "handover.sent": "Akte an eine andere Behörde abgegeben (xdomea 0401)",
    "handover.answer": "Antwort der aufnehmenden Behörde übernommen (0402/0403)",
    "handover.download": "Abgabenachricht (0401) heruntergeladen",
    "handover.section": "Abgaben der Akte angezeigt",
    # issue 18, takeover18: taking over another authority's file (records.takeover, 0401)
    "takeover.import": "Übernahme einer Akte (xdomea 0401)",
    "takeover.imported": "Akte einer anderen Behörde übernommen",
    "takeover.filed": "Übernommene Akte abgelegt",
    "takeover.assigned": "Übernommene Akte einer Bedarfsgemeinschaft zugeordnet",
    "takeover.list": "Liste der Übernahmen angezeigt",
    "takeover.answer_download": "Importbestätigung (0402) heruntergeladen",
    # issue 18, audit18: auditors' accesses (Prüfung, Akteneinsicht)
    "inspection.grant": "Prüfzugang gewähren",
    "inspection.granted": "Prüfzugang gewährt",
    "inspection.end": "Prüfzugang beenden",
    "inspection.ended": "Prüfzugang beendet",
    "inspection.accesses": "Liste der Prüfzugänge angezeigt",
    "inspection.list": "Eigene Prüfzugänge angezeigt",
    "inspection.access": "Prüfzugang aufgerufen",
    "inspection.households": "Akten eines Prüfzugangs angezeigt",
    "inspection.household": "Akte im Prüfzugang geöffnet",
    "inspection.view": "Dokument im Prüfzugang angesehen",
    "inspection.page": "Seite im Prüfzugang angesehen",
    "inspection.download": "Dokument im Prüfzugang heruntergeladen (Wasserzeichen)",
    "inspection.report": "Bericht zum Prüfzugang erstellt",
    # issue 19, followup19: follow-up dates (Wiedervorlagen, records.followups)
    "followup.create": "Wiedervorlage gesetzt",
    "followup.move": "Wiedervorlage verschoben",
    "followup.done": "Wiedervorlage erledigt",
    "followup.list": "Eigene Wiedervorlagen angezeigt",
    "followup.due": "Heute fällige Wiedervorlagen im Postkorb angezeigt",
    "followup.file": "Wiedervorlagen einer Akte angezeigt",
    # issue 19, request19: requests for documents (records.requests)
    "request.created": "Mitwirkungsaufforderung geschrieben",
    "request.reminded": "Erinnerung zur Mitwirkungsaufforderung geschrieben",
    "request.viewed": "Mitwirkungsaufforderung angesehen",
    "request.listed": "Mitwirkungsaufforderungen der Akte angezeigt",
    "request.withdrawn": "Mitwirkungsaufforderung zurückgenommen",
    "request.catalogue_changed": "Katalog der anforderbaren Unterlagen geändert",
    # issue 19, replies19: replies to requests for documents, cover sheets
    "request.linked": "Dokument einer Anforderung zugeordnet",
    "request.link_confirmed": "Zuordnung zu einer Anforderung bestätigt",
    "request.unlinked": "Zuordnung zu einer Anforderung gelöst",
    "request.completed": "Anforderung vollständig: alle Unterlagen eingegangen",
    "cover_sheet.printed": "Deckblatt für Unterlagen erstellt",
    # issue 20, backup20: backups are an access to every file
    "backup.taken": "Sicherung erstellt",
    "backup.restored": "Sicherung wiederhergestellt",
}
OUTCOME_LABELS: dict[str, str] = {
    "ok": "erfolgt",
    "denied": "verweigert",
    "refused": "abgelehnt",
    "mismatch": "Abweichung",
}
# The outcome filter: what succeeded, and every refusal (denied, refused, mismatch).
OUTCOME_CHOICES: dict[str, str] = {"ok": "erfolgt", "denied": "verweigert oder abgelehnt"}
OBJECT_LABELS: dict[str, str] = {
    "household": "Akte",
    "document": "Dokument",
    "objection": "Widerspruch",
    "appeal": "Klage",
    "export": "Aktenauszug",
    "inbox_item": "Postkorb-Eintrag",
    "deputy": "Vertretung",
    "batch": "Scanstapel",
    "user": "Konto",
    "member": "Person",
    "mailbox_message": "E-Mail",
    "handover": "Aktenabgabe",  # issue 18, handover18
    "takeover": "Übernahme",  # issue 18, takeover18
    "audit_access": "Prüfzugang",  # issue 18, audit18
    "follow_up": "Wiedervorlage",  # issue 19, followup19
}
DETAIL_LABELS: dict[str, str] = {
    # issue 19, followup19: follow-up dates
    "due_on": "fällig am",
    "assignee": "für",
    "from_": "bisher fällig am",
    "to": "neu fällig am",
    # issue 18, audit18: auditors' accesses
    "access": "Prüfzugang",
    "auditor": "Prüfer/in",
    "period": "Zeitraum",
    "households": "Akten",
    "sample_size": "Stichprobe",
    "withheld": "zurückgehalten",
    "reason": "Grund",
    "comment": "Kommentar",
    "purpose": "Zweck",
    "recipient": "Empfänger",
    "legal_basis": "Rechtsgrundlage",
    "query": "Suche",
    "capability": "fehlende Aufgabe",
    "code": "Grund (Code)",
    "address": "Adresse",
    "changes": "Änderungen",
    "to_user": "an",
    "to_team": "an Team",
    "criteria": "Kriterien",
    "rows": "Zeilen",
    "person": "Person",
    "total": "Treffer",
    "page": "Seite",
    "users": "Personen",
    "note": "Begründung",
    "doc_type": "Dokumentart",
    "previous_doc_type": "vorher Dokumentart",
    "previous_bg_number": "vorher BG",
    "bg_number": "BG",
    "inbox": "Postkorb",
    "kind": "Art",
    "user": "Benutzer",
    "team": "Team",
    "routed_by": "zugeordnet",
    "pages": "Seiten",
    "degrees": "Drehung",
    "absent": "abwesend",
    "deputy": "Vertretung",
    "starts_on": "ab",
    "ends_on": "bis",
    "source_name": "Datei",
    "direction": "Richtung",
    "status": "Status",
    "document": "Dokument",
    "scope": "Umfang",
    "birth_date": "Geburtsdatum",
    "name": "Name",
    "outcome": "Ergebnis",
    "action": "Aktion",
    "since": "von",
    "until": "bis",
    # issue 18, handover18
    "process_id": "Prozess-ID",
    "left_out": "weggelassene Dokumente",
    "documents": "Dokumente",
    "msg_type": "Nachricht",
    "filename": "Datei",
    "sha256": "SHA-256",
    "problems": "Probleme",
    "state": "Stand",
    # issue 18, takeover18
    "sender": "abgebende Stelle",
    "candidates": "passende Bedarfsgemeinschaften",
    "shown": "angezeigt",
    # issue 18, court18: the court folder (XJustiz) of an Aktenauszug
    "form": "Form",
    "parts": "Teile",
    "part": "Teil",
    # issue 20, backup20
    "objects": "Objekte",
    "manifest_sha256": "SHA-256 des Manifests",
    "backup_created_at": "Sicherung vom",
    # issue 19, request19: requests for documents
    "items": "Unterlagen",
    "previous_due_on": "bisherige Frist",
    # issue 19, replies19
    "request_id": "Anforderung",
    "item": "Unterlage",
    "source": "Quelle der Zuordnung",
    # issue 19, history19: the request history in the Aktenauszug
    "requests": "Anforderungen von Unterlagen",
}
CHANNEL_LABELS: dict[str, str] = {
    "upload": "Scanstelle (Upload)",
    "api": "Schnittstelle",
    "hotfolder": "Scanner (Hotfolder)",
    "cli": "Kommandozeile",
    "demo": "Beispieldaten",
    "file": "Von der Sachbearbeitung abgelegt",
    "mailbox": "E-Mail-Postfach",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def outcome_label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome)


def local_time(at: datetime) -> str:
    return history.local_time(at)


# --- who is asked about ----------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A member of a household as the DPO finds them (no content, master data only)."""

    id: int
    name: str  # "Kowalski, Andreas"
    birth_date: str  # German, "" if unknown
    bg_number: str
    address: str


def _person(member: Member) -> Person:
    household = member.household
    address = ", ".join(
        part
        for part in (household.street, f"{household.postcode} {household.town}".strip())
        if part
    )
    return Person(
        member.id,
        f"{member.last_name}, {member.first_name}",
        german(member.birth_date),
        household.bg_number,
        address,
    )


def _word_in(column: Any, word: str) -> ColumnElement[bool]:
    """The column contains the word, whatever its case. SQLite's lower() folds ASCII only, so
    a name that begins with an umlaut ("Öztürk") is also matched written as a name is."""
    lower = word.lower()
    return or_(
        func.lower(column).contains(lower, autoescape=True),
        column.contains(lower[:1].upper() + lower[1:], autoescape=True),
    )


def _member_clause(name: str, birth_date: date | None) -> ColumnElement[bool] | None:
    words = [w.strip(",") for w in name.split() if w.strip(",")]
    clauses: list[ColumnElement[bool]] = [
        or_(_word_in(Member.last_name, word), _word_in(Member.first_name, word)) for word in words
    ]
    if birth_date is not None:
        clauses.append(Member.birth_date == birth_date)
    return and_(*clauses) if clauses else None


def _members(session: Session, name: str, birth_date: date | None, limit: int) -> list[Member]:
    clause = _member_clause(name, birth_date)
    if clause is None:
        return []
    return list(
        session.scalars(
            select(Member)
            .where(clause)
            .options(selectinload(Member.household))
            .order_by(Member.last_name, Member.first_name, Member.birth_date, Member.id)
            .limit(limit)
        )
    )


def find_persons(
    gate: Gate, name: str, birth_date: date | None = None, limit: int = 50
) -> list[Person]:
    """Members whose names contain every word of `name` (and born on `birth_date`); audited."""
    gate.require(Capability.AUDIT, PERSONS_FOUND)
    found = [_person(m) for m in _members(gate.session, name, birth_date, limit)]
    gate.record(
        PERSONS_FOUND,
        criteria=_criteria(name=name, birth_date=birth_date),
        total=len(found),
    )
    return found


def _same_person(session: Session, member: Member) -> list[Member]:
    """The member and every member of another household with the same name and date of birth
    (the same person, e.g. after a move): a person's households."""
    if member.birth_date is None:
        return [member]
    return list(
        session.scalars(
            select(Member)
            .where(
                Member.last_name == member.last_name,
                Member.first_name == member.first_name,
                Member.birth_date == member.birth_date,
            )
            .options(selectinload(Member.household))
            .order_by(Member.id)
        )
    )


# --- which audit rows belong to a household ----------------------------------------------


def household_clause(session: Session, households: Sequence[Household]) -> ColumnElement[bool]:
    """The audit rows about these households: their BG number, or one of their documents or
    those documents' inbox items by id."""
    if not households:
        return AuditEvent.id.is_(None)
    ids = [h.id for h in households]
    documents = list(session.scalars(select(Document.id).where(Document.household_id.in_(ids))))
    items = (
        list(session.scalars(select(InboxItem.id).where(InboxItem.document_id.in_(documents))))
        if documents
        else []
    )
    clauses: list[ColumnElement[bool]] = [
        AuditEvent.bg_number.in_([h.bg_number for h in households])
    ]
    if documents:
        clauses.append(
            and_(
                AuditEvent.object_type == "document",
                AuditEvent.object_id.in_([str(d) for d in documents]),
            )
        )
    if items:
        clauses.append(
            and_(
                AuditEvent.object_type == "inbox_item",
                AuditEvent.object_id.in_([str(i) for i in items]),
            )
        )
    return or_(*clauses)


# --- the audit search ----------------------------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    """The search form's criteria as typed (empty: not asked)."""

    person: str = ""
    birth_date: date | None = None
    bg_number: str = ""
    user: str = ""
    action: str = ""
    outcome: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1

    @property
    def asked(self) -> bool:
        return bool(
            self.person.strip()
            or self.birth_date
            or self.bg_number.strip()
            or self.user.strip()
            or self.action.strip()
            or self.outcome in OUTCOME_CHOICES
            or self.since
            or self.until
        )


@dataclass(frozen=True)
class AuditRow:
    """One audit row as the DPO reads it, every label German."""

    id: int
    at: datetime
    when: str
    who: str  # "Name (login)"
    role: str
    on_behalf_of: str  # "Name (login)" of the absent colleague, "" if not a deputy
    action: str
    label: str
    outcome: str
    outcome_label: str
    denied: bool
    target: str  # "Dokument 1f0c…", "Akte 95401BG…"
    bg_number: str
    details: str  # why: the recorded reason and particulars
    origin: str  # address and browser


@dataclass
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int
    persons: list[Person] = field(default_factory=list)  # matched by the person criteria


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL_TZ)


def _criteria(**values: Any) -> dict[str, str]:
    return {k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in values.items() if v}


def _user_logins(session: Session, text: str) -> list[str]:
    wanted = text.strip().lower()
    logins = {wanted}
    logins.update(
        session.scalars(
            select(User.login).where(
                or_(
                    func.lower(User.login) == wanted,
                    func.lower(User.name).contains(wanted, autoescape=True),
                )
            )
        )
    )
    return sorted(logins)


def search_audit(gate: Gate, query: AuditQuery, page_size: int = PAGE_SIZE) -> AuditPage:
    """The audit rows that match every criterion given, newest first, one page of them; the
    search is audited with its criteria (and the household's BG number if one was asked)."""
    number = normalize_bg_number(query.bg_number) if query.bg_number.strip() else None
    criteria = _criteria(
        person=query.person.strip(),
        birth_date=query.birth_date,
        bg_number=number or query.bg_number.strip(),
        user=query.user.strip(),
        action=query.action.strip(),
        outcome=query.outcome if query.outcome in OUTCOME_CHOICES else "",
        since=query.since,
        until=query.until,
    )
    gate.require(Capability.AUDIT, SEARCHED, criteria=criteria)
    session = gate.session
    clauses: list[ColumnElement[bool]] = []
    persons: list[Person] = []
    if query.person.strip() or query.birth_date:
        members = _members(session, query.person, query.birth_date, 200)
        persons = [_person(m) for m in members]
        clauses.append(household_clause(session, _households(m.household for m in members)))
    if query.bg_number.strip():
        household = (
            session.scalar(select(Household).where(Household.bg_number == number))
            if number
            else None
        )
        clauses.append(
            household_clause(session, [household])
            if household
            else AuditEvent.bg_number == (number or query.bg_number.strip())
        )
    if query.user.strip():
        logins = _user_logins(session, query.user)
        clauses.append(
            or_(AuditEvent.actor_login.in_(logins), AuditEvent.on_behalf_of_login.in_(logins))
        )
    if query.action.strip():
        clauses.append(AuditEvent.action == query.action.strip())
    if query.outcome == "ok":
        clauses.append(AuditEvent.outcome == "ok")
    elif query.outcome == "denied":
        clauses.append(AuditEvent.outcome != "ok")
    if query.since:
        clauses.append(AuditEvent.at >= _day_start(query.since))
    if query.until:
        clauses.append(AuditEvent.at < _day_start(query.until + timedelta(days=1)))
    where = and_(*clauses) if clauses else AuditEvent.id.is_not(None)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(where)) or 0
    pages = max(1, math.ceil(total / page_size))
    page = min(max(query.page, 1), pages)
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(where)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    rows = audit_rows(session, events)
    gate.record(SEARCHED, bg_number=number, criteria=criteria, total=total, page=page)
    return AuditPage(rows, total, page, pages, persons)


def _households(households: Iterable[Household]) -> list[Household]:
    unique = {h.id: h for h in households}
    return [unique[k] for k in sorted(unique)]


def _people(session: Session, events: Sequence[AuditEvent]) -> dict[str, User]:
    logins = {e.actor_login for e in events} | {e.on_behalf_of_login for e in events}
    wanted = sorted(x for x in logins if x)
    if not wanted:
        return {}
    return {u.login: u for u in session.scalars(select(User).where(User.login.in_(wanted)))}


def _who(login: str | None, people: dict[str, User]) -> str:
    if not login:
        return "–"
    if login == "system":
        return history.SYSTEM_ACTOR
    person = people.get(login)
    return f"{person.name} ({login})" if person else login


def _role(login: str | None, people: dict[str, User]) -> str:
    if login in ("system",) or (login or "").endswith("-sync"):
        return "System"
    person = people.get(login or "")
    return ROLE_LABELS.get(person.role, person.role) if person else "–"


def _given(value: object) -> bool:
    return value is not None and value != "" and value != {} and value != []


def _value(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(
            f"{DETAIL_LABELS.get(k, k)}: {_value(v)}" for k, v in value.items() if _given(v)
        )
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    return str(value)


def details_text(details: dict[str, Any] | None) -> str:
    """The recorded particulars (reason, comment, criteria ...) as one German line; what was
    recorded empty is left out."""
    parts = [
        f"{DETAIL_LABELS.get(k, k)}: {_value(v)}" for k, v in (details or {}).items() if _given(v)
    ]
    text = "; ".join(parts)
    return text if len(text) <= 500 else text[:499] + "…"


def _target(event: AuditEvent) -> str:
    if not event.object_type:
        return ""
    label = OBJECT_LABELS.get(event.object_type, event.object_type)
    return f"{label} {event.object_id}" if event.object_id else label


def audit_rows(session: Session, events: Sequence[AuditEvent]) -> list[AuditRow]:
    people = _people(session, events)
    return [
        AuditRow(
            id=event.id,
            at=event.at,
            when=local_time(event.at),
            who=_who(event.actor_login, people),
            role=_role(event.actor_login, people),
            on_behalf_of=(
                _who(event.on_behalf_of_login, people) if event.on_behalf_of_login else ""
            ),
            action=event.action,
            label=action_label(event.action),
            outcome=event.outcome,
            outcome_label=outcome_label(event.outcome),
            denied=event.outcome != "ok",
            target=_target(event),
            bg_number=event.bg_number or "",
            details=details_text(event.details),
            origin=" · ".join(x for x in (event.client_ip, event.user_agent) if x),
        )
        for event in events
    ]


# --- who opened this file ------------------------------------------------------------------


@dataclass(frozen=True)
class FileAccess:
    """The accesses of one user (acting for one colleague or for themselves) to a file."""

    who: str
    login: str
    role: str
    on_behalf_of: str
    first: str
    last: str
    count: int
    denied: int


@dataclass
class FileAccesses:
    bg_number: str
    found: bool
    accesses: list[FileAccess]


def file_accesses(gate: Gate, bg_number: str) -> FileAccesses:
    """Who opened this household's file: every user's accesses (per colleague they stood in
    for) with the first and last time, how many, how many refused; most recent first. The view
    is audited with the BG number asked for."""
    number = normalize_bg_number(bg_number) or bg_number.strip()[:20]
    gate.require(Capability.AUDIT, FILE_ACCESSES, bg_number=number)
    session = gate.session
    household = session.scalar(select(Household).where(Household.bg_number == number))
    where = household_clause(session, [household]) if household else AuditEvent.bg_number == number
    denied = func.sum(case((AuditEvent.outcome != "ok", 1), else_=0))
    grouped = session.execute(
        select(
            AuditEvent.actor_login,
            AuditEvent.on_behalf_of_login,
            func.min(AuditEvent.at),
            func.max(AuditEvent.at),
            func.count(),
            denied,
        )
        .where(where)
        .group_by(AuditEvent.actor_login, AuditEvent.on_behalf_of_login)
        .order_by(func.max(AuditEvent.at).desc())
    ).all()
    logins = {r[0] for r in grouped} | {r[1] for r in grouped}
    people = (
        {
            u.login: u
            for u in session.scalars(select(User).where(User.login.in_([x for x in logins if x])))
        }
        if logins
        else {}
    )
    accesses = [
        FileAccess(
            who=_who(actor, people),
            login=actor or "",
            role=_role(actor, people),
            on_behalf_of=_who(absent, people) if absent else "",
            first=local_time(first),
            last=local_time(last),
            count=int(count),
            denied=int(refused or 0),
        )
        for actor, absent, first, last, count, refused in grouped
    ]
    gate.record(FILE_ACCESSES, bg_number=number, users=len(accesses))
    return FileAccesses(number, household is not None, accesses)


# --- the access report -----------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentLine:
    type: str
    received: str
    channel: str
    pages: str
    bg_number: str


@dataclass
class AccessReport:
    """What the report says about one person; the PDF is made from it (`report_pdf`)."""

    person: Person
    households: list[Person]  # the person's membership in each household (BG, address)
    master_data: list[str]  # the master-data fields held, e.g. "Name", "Geburtsdatum"
    members: int  # people in the household(s), the person included
    categories: list[tuple[str, str]]  # category -> what is held ("3 Dokumente" ...)
    documents_by_type: list[tuple[str, int]]
    documents: list[DocumentLine]
    accesses: list[AuditRow]  # oldest first
    created_by: str
    created_at: datetime

    @property
    def refusals(self) -> int:
        return sum(1 for row in self.accesses if row.denied)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _master_fields(member: Member) -> list[str]:
    household = member.household
    held = ["Name", "Vorname"]
    if member.birth_date:
        held.append("Geburtsdatum")
    if household.street or household.postcode or household.town:
        held.append("Anschrift")
    if member.iban:
        held.append("Bankverbindung (IBAN)")
    if member.email:
        held.append("E-Mail-Adresse")
    held.append("Nummer der Bedarfsgemeinschaft")
    if household.caseworker_id or household.case_manager_id:
        held.append("Zuständige Sachbearbeitung")
    return held


def _type_name(code: str | None, type_names: dict[str, str]) -> str:
    if not code:
        return "Nicht bestimmt"
    return type_names.get(code, code)


def person_report(
    gate: Gate,
    member_id: int,
    type_names: dict[str, str] | None = None,
    *,
    action: str = PERSON_VIEWED,
) -> AccessReport:
    """The report's content for the member with this id (the preview and the PDF); audited as
    `action` with the person and the number of access rows, once per household."""
    gate.require(Capability.AUDIT, action, object_type="member", object_id=member_id)
    session = gate.session
    member = session.get(Member, member_id, options=[selectinload(Member.household)])
    if member is None:
        raise NotFound("Diese Person gibt es nicht (mehr) in den Stammdaten.")
    names = type_names or {}
    same = _same_person(session, member)
    households = _households(m.household for m in same)
    ids = [h.id for h in households]
    documents = list(
        session.scalars(
            select(Document)
            .where(Document.household_id.in_(ids))
            .options(selectinload(Document.batch), selectinload(Document.household))
            .order_by(Document.receipt_date, Document.received_at, Document.id)
        )
    )
    by_type: dict[str, int] = {}
    for document in documents:
        label = _type_name(document.doc_type, names)
        by_type[label] = by_type.get(label, 0) + 1
    notes = _scalar_count(session, Note.id, Note.household_id.in_(ids))
    document_notes = (
        _scalar_count(session, Note.id, Note.document_id.in_([d.id for d in documents]))
        if documents
        else 0
    )
    objections = _scalar_count(session, Objection.id, Objection.household_id.in_(ids))
    appeals = _scalar_count(session, Appeal.id, Appeal.household_id.in_(ids))
    exports = _scalar_count(session, FileExport.id, FileExport.household_id.in_(ids))
    members = _scalar_count(session, Member.id, Member.household_id.in_(ids))
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(household_clause(session, households))
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
    report = AccessReport(
        person=_person(member),
        households=[_person(m) for m in same],
        master_data=_master_fields(member),
        members=members,
        categories=[
            ("Stammdaten", ", ".join(_master_fields(member))),
            ("Bedarfsgemeinschaft", _count(members, "Person", "Personen") + " in den Stammdaten"),
            ("Dokumente", _count(len(documents), "Dokument", "Dokumente")),
            ("Vermerke", _count(notes + document_notes, "Vermerk", "Vermerke")),
            ("Widersprüche", _count(objections, "Widerspruch", "Widersprüche")),
            ("Klagen", _count(appeals, "Klage", "Klagen")),
            ("Aktenauszüge", _count(exports, "Aktenauszug", "Aktenauszüge")),
        ],
        documents_by_type=sorted(by_type.items()),
        documents=[
            DocumentLine(
                type=_type_name(d.doc_type, names),
                received=german(d.receipt_date) or local_time(d.received_at),
                channel=CHANNEL_LABELS.get(d.batch.channel, d.batch.channel) if d.batch else "–",
                pages=str(d.page_count) if d.page_count else "–",
                bg_number=d.household.bg_number if d.household else "",
            )
            for d in documents
        ],
        accesses=audit_rows(session, events),
        created_by=f"{gate.user.name} ({ROLE_LABELS.get(gate.user.role, gate.user.role)})",
        created_at=datetime.now(LOCAL_TZ),
    )
    for household in households:
        gate.record(
            action,
            object_type="member",
            object_id=member.id,
            bg_number=household.bg_number,
            person=report.person.name,
            rows=len(report.accesses),
        )
    return report


def _scalar_count(session: Session, column: Any, where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count(column)).where(where)) or 0


def report_pdf(report: AccessReport) -> bytes:
    """The access report as PDF/A-2 (pdf.access_report)."""
    person = report.person
    households = "; ".join(
        f"{h.bg_number} ({h.address})" if h.address else h.bg_number for h in report.households
    )
    access_rows = [
        (
            row.when,
            f"{row.who}, {row.role}",
            row.on_behalf_of or "–",
            row.label,
            row.outcome_label,
            row.details or "–",
        )
        for row in report.accesses
    ]
    document_rows = [
        (d.type, d.received, d.channel, d.pages, d.bg_number) for d in report.documents
    ]
    intro = (
        "Diese Auskunft nennt die Daten, die das Jobcenter in der elektronischen Akte zu der "
        "Person und ihrer Bedarfsgemeinschaft speichert (nach Kategorien und die Dokumente "
        "nach Art und Eingang, ohne ihren Inhalt), und jeden im Protokoll verzeichneten Zugriff "
        "auf diese Daten: wer (Name und Rolle), wann, was und warum, bei einer Vertretung für "
        "wen; verweigerte Zugriffe eingeschlossen."
    )
    pdf_report = Report(
        title=REPORT_TITLE,
        fields=[
            ("Rechtsgrundlage", LEGAL_BASIS),
            ("Person", person.name),
            ("Geburtsdatum", person.birth_date or "nicht gespeichert"),
            ("Bedarfsgemeinschaft", households),
            ("Erstellt von", report.created_by),
            ("Erstellt am", local_time(report.created_at)),
        ],
        intro=intro,
        sections=[
            Section("1. Kategorien gespeicherter Daten", fields=report.categories),
            Section(
                "2. Dokumente nach Art",
                table=Table(
                    [("Dokumentart", 4), ("Anzahl", 1)],
                    [(name, str(count)) for name, count in report.documents_by_type],
                    "Keine Dokumente gespeichert.",
                ),
            ),
            Section(
                "3. Dokumente nach Eingang",
                table=Table(
                    [("Art", 3), ("Eingang", 1.6), ("Weg", 2.4), ("Seiten", 0.8), ("BG", 2)],
                    document_rows,
                    "Keine Dokumente gespeichert.",
                ),
            ),
            Section(
                "4. Zugriffe laut Protokoll",
                text=(
                    f"{_count(len(report.accesses), 'Eintrag', 'Einträge')}, davon "
                    f"{_count(report.refusals, 'Zugriff', 'Zugriffe')} verweigert oder abgelehnt."
                ),
                table=Table(
                    [
                        ("Wann", 1.6),
                        ("Wer (Rolle)", 2.4),
                        ("Für (Vertretung)", 1.6),
                        ("Was", 2.2),
                        ("Ergebnis", 1.1),
                        ("Warum / Einzelheiten", 2.6),
                    ],
                    access_rows,
                    "Keine Zugriffe verzeichnet.",
                ),
            ),
        ],
        footer=f"Auskunft {person.name}",
        producer=PRODUCER,
        created_at=report.created_at,
    )
    return build_report(pdf_report)
