"""The objection register (Widerspruch) and appeals (Klage): registration from an incoming
document, the deadline check with its computation, status with who and when, the overview."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, selectinload

from core.dates import local_date, local_today
from core.db import utcnow
from core.errors import Conflict, InvalidInput
from records import audit_chain, inbox
from records.access import CASE_LOADS, Capability, Gate, in_case_file_clause, item_grant
from records.deadlines import (
    AppealDeadlines,
    DeadlineCheck,
    add_months,
    appeal_deadlines,
    inaction_warning,
    next_working_day,
    objection_deadline,
)
from records.models import (
    APPEAL_STATES,
    OBJECTION_FORMS,
    OBJECTION_STATES,
    Appeal,
    AuditEvent,
    Document,
    Household,
    InboxItem,
    Objection,
    User,
)

Case = TypeVar("Case", Objection, Appeal)
OPEN_STATES = ("eingegangen", "in_bearbeitung")
STATE_NAMES = {
    "eingegangen": "eingegangen",
    "in_bearbeitung": "in Bearbeitung",
    "abhilfe": "Abhilfe",
    "teilabhilfe": "Teilabhilfe",
    "zurueckgewiesen": "zurückgewiesen (Widerspruchsbescheid)",
    "zurueckgenommen": "zurückgenommen",
}
FORM_NAMES = {
    "schriftlich": "schriftlich",
    "zur_niederschrift": "zur Niederschrift",
    "elektronisch": "elektronisch",
}
APPEAL_STATE_NAMES = {"anhaengig": "anhängig", "erledigt": "erledigt"}


def _document(gate: Gate, document_id: uuid.UUID, action: str) -> tuple[Document, Household]:
    """The letter a case is registered from, with the household whose file it lies in."""
    document, _ = gate.document(document_id, action, audited=False)
    if document.household is None:
        raise Conflict(
            "Das Dokument ist keinem Haushalt zugeordnet; bitte zuerst in der Klärung zuordnen.",
            code="no_household",
        )
    return document, document.household


def _decision_in_file(
    session: Session, decision_id: uuid.UUID | None, household_id: int | None
) -> Document | None:
    """The contested decision, which must lie in the same household's file."""
    if decision_id is None:
        return None
    decision = session.get(Document, decision_id)
    if decision is None or decision.household_id != household_id:
        raise InvalidInput(
            "Der angefochtene Bescheid muss in der Akte desselben Haushalts liegen.",
            code="decision_household",
        )
    return decision


def register_objection(
    gate: Gate,
    document_id: uuid.UUID,
    *,
    decision_id: uuid.UUID | None,
    form: str = "schriftlich",
    proven_notification: date | None = None,
    legal_remedy_notice_ok: bool = True,
    land: str = "SH",
    close_inbox_items: bool = False,
    confirm_duplicate: bool = False,
) -> Objection:
    """One step from the incoming letter; the receipt date comes from intake, not from the user.

    With `close_inbox_items` the letter's open items in the user's (or their team's) Postkorb
    are marked done in the same step: from now on the register keeps track of the case.
    A letter is registered once. Where the same letter read twice (a duplicate) or the same
    contested decision has an objection already, the user is warned and may register anyway
    with `confirm_duplicate` (a second objection against a decision is possible, e.g. one that
    adds to the first)."""
    session, user = gate.session, gate.user
    gate.require(Capability.LEGAL, "objection.registered", document=str(document_id))
    if form not in OBJECTION_FORMS:
        raise InvalidInput(f"Unbekannte Form »{form}«.", code="objection_form")
    document, household = _document(gate, document_id, "objection.registered")
    existing = session.scalar(select(Objection).where(Objection.document_id == document.id))
    if existing is not None:
        raise Conflict(
            f"Zu diesem Schreiben ist bereits ein Widerspruch erfasst ({_described(existing)}). "
            "Ein Schreiben wird nur einmal erfasst; bitte den vorhandenen Widerspruch öffnen.",
            code="exists",
            objection_id=existing.id,
        )
    decision = _decision_in_file(session, decision_id, document.household_id)
    warning = _earlier_objections(session, document, decision)
    if warning and not confirm_duplicate:
        raise Conflict(warning, code="objection_duplicate")
    receipt = document.receipt_date or document.received_at.date()
    objection = Objection(
        household=household,
        document=document,
        decision=decision,
        form=form,
        receipt_date=receipt,
        proven_notification=proven_notification,
        legal_remedy_notice_ok=legal_remedy_notice_ok,
        land=land,
        status="eingegangen",
        status_by_login=user.login,
        created_by_login=user.login,
    )
    check = _checked_deadline(objection, decision)
    gate.created(
        objection,
        "objection.registered",
        document=str(document.id),
        decision=str(decision.id) if decision else None,
        receipt_date=receipt.isoformat(),
        on_time=check.on_time if check else None,
    )
    if close_inbox_items:
        _close_items(gate, document)
    return objection


def _described(objection: Objection) -> str:
    state = STATE_NAMES.get(objection.status, objection.status)
    return f"Nr. {objection.id}, eingegangen am {objection.receipt_date:%d.%m.%Y}, {state}"


def _earlier_objections(
    session: Session, document: Document, decision: Document | None
) -> str | None:
    """A German warning naming the objections registered already from the same letter read
    twice (a marked duplicate, either way round) or against the same decision; None if none."""
    same_letter = select(Document.id).where(Document.duplicate_of_id == document.id)
    letters: list[ColumnElement[bool]] = [Objection.document_id.in_(same_letter)]
    if document.duplicate_of_id is not None:
        letters.append(Objection.document_id == document.duplicate_of_id)
    checks = [
        (or_(*letters), "Dasselbe Schreiben (als Duplikat erkannt) ist bereits als Widerspruch"),
    ]
    if decision is not None:
        checks.append(
            (
                Objection.decision_id == decision.id,
                "Gegen diesen Bescheid ist bereits ein Widerspruch",
            )
        )
    found: dict[int, str] = {}  # each objection named once, for the first reason it matches
    for condition, said in checks:
        for o in session.scalars(select(Objection).where(condition).order_by(Objection.id)):
            found.setdefault(o.id, f"{said} erfasst ({_described(o)}).")
    if not found:
        return None
    return " ".join(found.values()) + " Trotzdem erfassen (z. B. als Ergänzung)?"


def objections_of(session: Session, household_id: int) -> list[Objection]:
    """A household's objections, the latest receipt first."""
    return list(
        session.scalars(
            select(Objection)
            .where(Objection.household_id == household_id)
            .order_by(Objection.receipt_date.desc())
        )
    )


def appeals_of(session: Session, household_id: int) -> list[Appeal]:
    """A household's appeals, the latest served first."""
    return list(
        session.scalars(
            select(Appeal)
            .where(Appeal.household_id == household_id)
            .order_by(Appeal.served_on.desc())
        )
    )


def _close_items(gate: Gate, document: Document) -> None:
    """Mark the letter's open Postkorb items done that this user may work (own, team, deputy)."""
    items = gate.session.scalars(
        select(InboxItem).where(InboxItem.document_id == document.id, InboxItem.state != "done")
    ).all()
    for item in items:
        if item_grant(gate.session, gate.user, item) is None:
            continue
        inbox.work_item(gate, item.id, "done", comment="im Register erfasst")


def deadline_of(objection: Objection, decision: Document | None = None) -> DeadlineCheck | None:
    decision = decision or objection.decision
    if decision is None or decision.dispatch_date is None:
        return None
    return objection_deadline(
        dispatch_date=decision.dispatch_date,
        receipt_date=objection.receipt_date,
        land=objection.land,
        proven_notification=objection.proven_notification,
        legal_remedy_notice_ok=objection.legal_remedy_notice_ok,
    )


def _checked_deadline(
    objection: Objection, decision: Document | None = None
) -> DeadlineCheck | None:
    """The deadline check of a change about to be made; dates it cannot use are refused."""
    try:
        return deadline_of(objection, decision)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="deadline_dates") from None


def correct_receipt_date(gate: Gate, objection_id: int, new_date: date, reason: str) -> Objection:
    objection = _objection(gate, objection_id, "objection.receipt_date_corrected")
    if not reason.strip():
        raise InvalidInput(
            "Eine Korrektur des Eingangsdatums braucht eine Begründung.", code="receipt_reason"
        )
    if new_date > local_today():
        raise InvalidInput("Das Eingangsdatum liegt in der Zukunft.", code="receipt_future")
    before = objection.receipt_date
    objection.receipt_date = new_date
    _checked_deadline(objection)
    gate.record_on(
        objection,
        "objection.receipt_date_corrected",
        before=before.isoformat(),
        after=new_date.isoformat(),
        reason=reason.strip(),
    )
    return objection


def set_decision(
    gate: Gate,
    objection_id: int,
    *,
    decision_id: uuid.UUID | None,
    proven_notification: date | None,
    legal_remedy_notice_ok: bool,
    reason: str = "",
) -> Objection:
    """The contested decision and what the deadline depends on, set or changed after intake.

    Setting it where none was chosen needs no reason; changing a chosen one does, because the
    deadline check changes with it. Both are in the case's history."""
    session = gate.session
    objection = _objection(gate, objection_id, "objection.decision_set")
    decision = _decision_in_file(session, decision_id, objection.household_id)
    before = {
        "decision": str(objection.decision_id) if objection.decision_id else None,
        "proven_notification": (
            objection.proven_notification.isoformat() if objection.proven_notification else None
        ),
        "legal_remedy_notice_ok": objection.legal_remedy_notice_ok,
    }
    after = {
        "decision": str(decision.id) if decision else None,
        "proven_notification": proven_notification.isoformat() if proven_notification else None,
        "legal_remedy_notice_ok": legal_remedy_notice_ok,
    }
    if before == after:
        return objection
    if objection.decision_id is not None and not reason.strip():
        raise InvalidInput(
            "Eine Änderung des angefochtenen Bescheids oder der Bekanntgabe braucht eine "
            "Begründung, weil sich die Fristprüfung ändert.",
            code="decision_reason",
        )
    objection.decision_id = decision.id if decision else None
    objection.decision = decision
    objection.proven_notification = proven_notification
    objection.legal_remedy_notice_ok = legal_remedy_notice_ok
    check = _checked_deadline(objection, decision)
    gate.record_on(
        objection,
        "objection.decision_set",
        before=before,
        after=after,
        reason=reason.strip() or None,
        on_time=check.on_time if check else None,
    )
    return objection


def set_status(gate: Gate, objection_id: int, status: str) -> Objection:
    if status not in OBJECTION_STATES:
        raise InvalidInput(f"Unbekannter Status »{status}«.", code="objection_status")
    objection = _objection(gate, objection_id, "objection.status")
    _record_status(gate, objection, "objection", status)
    return objection


def _record_status(gate: Gate, case: Objection | Appeal, kind: str, status: str) -> None:
    """A new status with who and when, in the audit log and so in the case's history."""
    before = case.status
    case.status, case.status_by_login, case.status_at = status, gate.user.login, utcnow()
    gate.record_on(case, f"{kind}.status", before=before, after=status)


def _objection(gate: Gate, objection_id: int, action: str) -> Objection:
    """The objection to change: the office's work, on a letter it may see; audited by the
    caller with what changed, refusals here."""
    gate.require(Capability.LEGAL, action, object_type="objection", object_id=objection_id)
    return gate.objection(objection_id, action, audited=False)


def get_objection(gate: Gate, objection_id: int) -> Objection:
    """The objection if the user may see its letter; the read and a refusal are audited."""
    return gate.objection(objection_id, "objection.read")


def get_appeal(gate: Gate, appeal_id: int, action: str = "appeal.read") -> Appeal:
    return gate.appeal(appeal_id, action)


def household_name(household: Household) -> str:
    """The household as the file names it: its first member, "Last, First"."""
    if not household.members:
        return household.bg_number
    first = household.members[0]
    return f"{first.last_name}, {first.first_name}"


def _names(session: Session, logins: set[str]) -> dict[str, str]:
    if not logins:
        return {}
    return {
        login: name
        for login, name in session.execute(
            select(User.login, User.name).where(User.login.in_(sorted(logins)))
        )
    }


def _day(iso: object) -> str:
    """An ISO date of the audit log's details as Germans write it ("" for none)."""
    try:
        return f"{date.fromisoformat(str(iso)[:10]):%d.%m.%Y}"
    except ValueError:
        return ""


def _timeliness(on_time: object, template: str) -> str:
    if on_time is None:
        return ""
    return template.format("fristgerecht" if on_time else "verspätet")


def _state_name(code: object) -> str:
    text = str(code)
    return STATE_NAMES.get(text) or APPEAL_STATE_NAMES.get(text) or text


@dataclass(frozen=True)
class HistoryRow:
    """One step in a case's history: what was done, by whom (login and name) and when."""

    action: str
    by: str | None
    by_name: str | None
    at: datetime
    details: dict[str, Any] | None

    @property
    def what(self) -> str:
        """The step in German, as the case's Verlauf says it."""
        d = self.details or {}
        if self.action == "objection.registered":
            on_time = _timeliness(d.get("on_time"), ", {}")
            return f"Widerspruch erfasst (Eingang {_day(d.get('receipt_date'))}{on_time})"
        if self.action == "objection.receipt_date_corrected":
            return (
                f"Eingangsdatum berichtigt: {_day(d.get('before'))} → {_day(d.get('after'))}. "
                f"Begründung: {d.get('reason') or ''}"
            )
        if self.action == "objection.decision_set":
            reason = f". Begründung: {d['reason']}" if d.get("reason") else ""
            on_time = _timeliness(d.get("on_time"), " ({})")
            return f"Angefochtener Bescheid / Bekanntgabe geändert{reason}{on_time}"
        if self.action in ("objection.status", "appeal.status"):
            return f"Status: {_state_name(d.get('before'))} → {_state_name(d.get('after'))}"
        if self.action == "appeal.court_data_set":
            before, after = d.get("before", {}), d.get("after", {})
            changed = [
                n for key, n in COURT_FIELD_NAMES.items() if before.get(key) != after.get(key)
            ]
            return (
                f"Angaben des Gerichts geändert ({', '.join(changed)}). "
                f"Begründung: {d.get('reason') or ''}"
            )
        if self.action == "appeal.registered":
            return (
                f"Klage erfasst: {d.get('court') or ''}, Az. {d.get('file_reference') or ''}, "
                f"zugestellt {_day(d.get('served_on'))}"
            )
        return self.action


def _history(session: Session, kind: str, key: int) -> list[HistoryRow]:
    stored = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == kind,
            AuditEvent.object_id == str(key),
            AuditEvent.outcome == "ok",
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    # This transaction's own rows reach the table only at its commit.
    own = [e for e in audit_chain.unchained(session, kind, str(key)) if e.outcome == "ok"]
    events = [*stored, *own]
    names = _names(session, {e.actor_login for e in events if e.actor_login})
    return [
        HistoryRow(
            e.action, e.actor_login, names.get(e.actor_login or "", e.actor_login), e.at, e.details
        )
        for e in events
        # What was done, not who looked: reads through the API and the pages are left out.
        if not (e.action.endswith(".read") or e.action.startswith("page."))
    ]


def _document_day(document: Document) -> date:
    if document.direction == "out" and document.dispatch_date:
        return document.dispatch_date
    return document.receipt_date or local_date(document.received_at)


def in_file_order(documents: list[Document]) -> list[Document]:
    """Oldest first, as a paper file grows; the same file state gives the same order."""
    return sorted(documents, key=lambda d: (_document_day(d), d.received_at, str(d.id)))


def case_documents(
    session: Session, *, objection: Objection | None = None, appeal: Appeal | None = None
) -> list[Document]:
    """The documents of one case, in file order.

    An objection: the contested decision, the objection letter, the decisions sent in the
    household's file since the objection came in (Abhilfe-, Widerspruchsbescheid) and the court
    letters of appeals linked to it. An appeal: its court letter, and the documents of the
    objection it is linked to.
    """
    case = appeal if appeal is not None else objection
    return documents_of_cases(session, [case])[0] if case is not None else []


def appeals_linked(session: Session, objection_ids: list[int]) -> list[Appeal]:
    """The appeals linked to these objections, with their court letters."""
    return list(
        session.scalars(
            select(Appeal)
            .where(Appeal.objection_id.in_(objection_ids))
            .options(selectinload(Appeal.document))
        )
    )


def documents_of_cases(
    session: Session, cases: Sequence[Objection | Appeal]
) -> list[list[Document]]:
    """`case_documents` for many cases with the same two queries, however many there are."""
    objections = {
        o.id: o
        for o in (case if isinstance(case, Objection) else case.objection for case in cases)
        if o is not None
    }
    later: list[Document] = []
    linked: list[Appeal] = []
    if objections:
        later = list(
            session.scalars(
                select(Document).where(
                    Document.household_id.in_({o.household_id for o in objections.values()}),
                    Document.direction == "out",
                    Document.dispatch_date >= min(o.receipt_date for o in objections.values()),
                    in_case_file_clause(),
                )
            )
        )
        linked = appeals_linked(session, list(objections))
    found_per_case = []
    for case in cases:
        found: dict[uuid.UUID, Document] = {}
        objection = case if isinstance(case, Objection) else case.objection
        if isinstance(case, Appeal):
            found[case.document_id] = case.document
        if objection is not None:
            found[objection.document_id] = objection.document
            if objection.decision is not None:
                found[objection.decision.id] = objection.decision
            for document in later:
                if (
                    document.household_id == objection.household_id
                    and document.dispatch_date is not None
                    and document.dispatch_date >= objection.receipt_date
                ):
                    found[document.id] = document
            for appeal in linked:
                if appeal.objection_id == objection.id:
                    found[appeal.document_id] = appeal.document
        found_per_case.append(in_file_order(list(found.values())))
    return found_per_case


@dataclass(frozen=True)
class Inaction:
    """The § 88 SGG clock of an open objection: the warning level and the three months' end."""

    level: str | None
    three_months_end: date


@dataclass
class CaseView(Generic[Case]):
    """An objection or appeal as the office sees it: the case itself (its attributes read
    through this view), who acted on it by name, its documents and, in full, its history."""

    case: Case
    people: dict[str, str]
    documents: list[Document]
    history: list[HistoryRow] | None

    def __getattr__(self, name: str) -> Any:
        if name == "case":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.case, name)

    @property
    def household_name(self) -> str:
        return household_name(self.case.household)

    @property
    def status_by(self) -> str:
        return self.case.status_by_login or self.case.created_by_login

    @property
    def status_at(self) -> datetime:
        return self.case.status_at or self.case.created_at

    @property
    def created_by(self) -> str:
        return self.case.created_by_login

    @property
    def status_by_name(self) -> str:
        return self.people.get(self.status_by, self.status_by)

    @property
    def created_by_name(self) -> str:
        return self.people.get(self.created_by, self.created_by)


@dataclass
class ObjectionView(CaseView[Objection]):
    today: date
    appeals: list[Appeal] | None

    @property
    def form_name(self) -> str:
        return FORM_NAMES[self.case.form]

    @property
    def status_name(self) -> str:
        return STATE_NAMES[self.case.status]

    @property
    def open(self) -> bool:
        return self.case.status in OPEN_STATES

    @property
    def age_days(self) -> int:
        return (self.today - self.case.receipt_date).days

    def _deadline(self) -> tuple[DeadlineCheck | None, str | None]:
        try:
            return deadline_of(self.case), None
        except ValueError as exc:
            return None, str(exc)

    @property
    def deadline(self) -> DeadlineCheck | None:
        return self._deadline()[0]

    @property
    def deadline_missing(self) -> str | None:
        check, problem = self._deadline()
        if check is not None:
            return None
        return problem or (
            "Kein angefochtener Bescheid mit Versanddatum verknüpft: die Frist ist nicht prüfbar."
        )

    @property
    def inaction(self) -> Inaction | None:
        if not self.open:
            return None
        return Inaction(*inaction_warning(self.case.receipt_date, self.today))


@dataclass
class AppealView(CaseView[Appeal]):
    @property
    def due(self) -> AppealDeadlines:
        return appeal_deadlines(
            served_on=self.case.served_on, court_deadline=self.case.court_deadline
        )

    @property
    def status_name(self) -> str:
        return APPEAL_STATE_NAMES[self.case.status]

    @property
    def open(self) -> bool:
        return self.case.status == "anhaengig"


def _people(session: Session, cases: Sequence[Objection | Appeal]) -> dict[str, str]:
    logins = {c.created_by_login for c in cases} | {c.status_by_login for c in cases}
    return _names(session, {login for login in logins if login})


def case_views(
    session: Session, found: Sequence[Case], *, full: bool, today: date | None = None
) -> list[CaseView[Case]]:
    """Objections or appeals as the office sees them, with a fixed number of queries for a
    list; `full` (one case) adds the history and, for an objection, its appeals."""
    session.flush()  # a change just made shows in the history and the documents
    people = _people(session, found)
    views: list[CaseView[Any]] = []
    for case, documents in zip(found, documents_of_cases(session, found), strict=True):
        kind = "objection" if isinstance(case, Objection) else "appeal"
        history = _history(session, kind, case.id) if full else None
        if isinstance(case, Objection):
            appeals = appeals_linked(session, [case.id]) if full else None
            views.append(
                ObjectionView(case, people, documents, history, today or local_today(), appeals)
            )
        else:
            views.append(AppealView(case, people, documents, history))
    return views


def objection_view(session: Session, objection: Objection) -> CaseView[Objection]:
    return case_views(session, [objection], full=True)[0]


def appeal_view(session: Session, appeal: Appeal) -> CaseView[Appeal]:
    return case_views(session, [appeal], full=True)[0]


def overview(gate: Gate, *, open_only: bool = True) -> list[Objection]:
    """The objections the user may see, oldest receipt first (the § 88 clock runs from it)."""
    gate.require(Capability.LEGAL, "objections.list")
    query = select(Objection).options(*CASE_LOADS[Objection])
    if open_only:
        query = query.where(Objection.status.in_(OPEN_STATES))
    objections = gate.session.scalars(query.order_by(Objection.receipt_date, Objection.id)).all()
    return _listed(gate, "objections", objections, open_only)


def _listed(gate: Gate, kind: str, cases: Sequence[Case], open_only: bool) -> list[Case]:
    """The cases whose letters the user may see; the list read is audited with its households."""
    visible = set(gate.visible([case.document for case in cases]))
    shown = [case for case in cases if case.document in visible]
    listed: dict[str, Any] = {kind: [case.id for case in shown]}
    gate.record(
        f"{kind}.list",
        open_only=open_only,
        **listed,
        households=sorted({case.household.bg_number for case in shown}),
    )
    return shown


def set_appeal_status(gate: Gate, appeal_id: int, status: str) -> Appeal:
    gate.require(Capability.LEGAL, "appeal.status", object_type="appeal", object_id=appeal_id)
    if status not in APPEAL_STATES:
        raise InvalidInput(f"Unbekannter Status »{status}«.", code="appeal_status")
    appeal = gate.appeal(appeal_id, "appeal.status", audited=False)
    _record_status(gate, appeal, "appeal", status)
    return appeal


# What an appeal cannot be kept without, and where the caseworker finds it on the letter.
EXAMPLE_REFERENCE = "S 12 AS 345/26"
COURT_NEEDED = (
    "Bitte das Gericht angeben: es steht im Briefkopf des Schreibens "
    "(z. B. Sozialgericht Schleswig)."
)
REFERENCE_NEEDED = (
    "Bitte das Aktenzeichen des Gerichts eintragen: es steht im Schreiben des Gerichts oben, "
    f"bei »Aktenzeichen« oder »Az.« (z. B. {EXAMPLE_REFERENCE})."
)
COURT_FIELD_NAMES = {
    "court": "Gericht",
    "file_reference": "Aktenzeichen",
    "parties": "Beteiligte",
    "court_deadline": "Frist des Gerichts",
}


def set_court_data(
    gate: Gate,
    appeal_id: int,
    *,
    court: str,
    file_reference: str,
    parties: str,
    court_deadline: date | None,
    reason: str,
) -> Appeal:
    """The court's data of an appeal corrected after registration (a misread file reference,
    the court's deadline found later). The statement's and file's due dates follow from them,
    so a change needs a reason; before and after are in the case's history."""
    gate.require(
        Capability.LEGAL, "appeal.court_data_set", object_type="appeal", object_id=appeal_id
    )
    appeal = gate.appeal(appeal_id, "appeal.court_data_set", audited=False)
    court, parties = court.strip(), parties.strip()
    file_reference = " ".join(file_reference.split())
    if not court:
        raise InvalidInput(COURT_NEEDED, code="appeal_court")
    if not file_reference:
        raise InvalidInput(REFERENCE_NEEDED, code="appeal_reference")
    if court_deadline is not None and court_deadline < appeal.served_on:
        raise InvalidInput(
            "Die gerichtliche Frist liegt vor der Zustellung.", code="court_deadline"
        )
    before = {
        "court": appeal.court,
        "file_reference": appeal.file_reference,
        "parties": appeal.parties,
        "court_deadline": appeal.court_deadline.isoformat() if appeal.court_deadline else None,
    }
    after = {
        "court": court,
        "file_reference": file_reference,
        "parties": parties,
        "court_deadline": court_deadline.isoformat() if court_deadline else None,
    }
    if before == after:
        return appeal
    if not reason.strip():
        raise InvalidInput(
            "Eine Änderung der Angaben des Gerichts braucht eine Begründung, weil sich die "
            "Fristen gegenüber dem Gericht ändern können.",
            code="court_reason",
        )
    appeal.court, appeal.file_reference, appeal.parties = court, file_reference, parties
    appeal.court_deadline = court_deadline
    gate.record_on(
        appeal, "appeal.court_data_set", before=before, after=after, reason=reason.strip()
    )
    return appeal


def appeals_overview(gate: Gate, *, open_only: bool = True) -> list[Appeal]:
    gate.require(Capability.LEGAL, "appeals.list")
    query = select(Appeal).options(*CASE_LOADS[Appeal])
    if open_only:
        query = query.where(Appeal.status == "anhaengig")
    appeals = gate.session.scalars(query.order_by(Appeal.served_on, Appeal.id)).all()
    return _listed(gate, "appeals", appeals, open_only)


def register_appeal(
    gate: Gate,
    document_id: uuid.UUID,
    *,
    court: str,
    file_reference: str,
    parties: str,
    served_on: date,
    court_deadline: date | None = None,
    objection_id: int | None = None,
    close_inbox_items: bool = False,
) -> Appeal:
    session, user = gate.session, gate.user
    gate.require(Capability.LEGAL, "appeal.registered", document=str(document_id))
    document, household = _document(gate, document_id, "appeal.registered")
    if not court.strip() or not file_reference.strip():
        raise InvalidInput("Gericht und Aktenzeichen sind nötig.", code="appeal_fields")
    if session.scalar(select(Appeal).where(Appeal.document_id == document.id)):
        raise Conflict("Zu diesem Schreiben ist bereits eine Klage erfasst.", code="exists")
    if served_on > local_today():
        raise InvalidInput("Das Zustellungsdatum liegt in der Zukunft.", code="served_on")
    if court_deadline is not None and court_deadline < served_on:
        raise InvalidInput(
            "Die gerichtliche Frist liegt vor der Zustellung.", code="court_deadline"
        )
    objection = None
    if objection_id is not None:
        objection = session.get(Objection, objection_id, options=CASE_LOADS[Objection])
        if objection is None or objection.household_id != document.household_id:
            raise InvalidInput(
                "Der Widerspruch muss zum selben Haushalt gehören.", code="objection_household"
            )
    appeal = Appeal(
        household=household,
        document=document,
        objection=objection,
        court=court.strip(),
        file_reference=" ".join(file_reference.split()),
        parties=parties.strip(),
        served_on=served_on,
        court_deadline=court_deadline,
        created_by_login=user.login,
    )
    gate.created(
        appeal,
        "appeal.registered",
        document=str(document.id),
        court=appeal.court,
        file_reference=appeal.file_reference,
        served_on=served_on.isoformat(),
    )
    if close_inbox_items:
        _close_items(gate, document)
    return appeal


# --- one-step registration from the letter -------------------------------------------------

COURT = re.compile(
    r"\b((?:Bundes|Landes)?[Ss]ozialgericht(?:\s+(?:für\s+das\s+Land\s+)?"
    r"[A-ZÄÖÜ][\wäöüß\-]+(?:[ -][A-ZÄÖÜ][\wäöüß\-]+)?)?)"
)
PARTIES = re.compile(
    r"(?:In\s+dem\s+(?:Rechtsstreit|Verfahren)|In\s+Sachen|Rechtsstreit)\s*:?\s*"
    r"(.{3,200}?\s(?:\./\.|gegen|\bvs?\.)\s.{3,200}?)(?:\n|$)",
    re.IGNORECASE,
)
DEADLINE_DATE = re.compile(
    r"(?:bis\s+(?:zum|spätestens)|spätestens\s+(?:bis\s+)?(?:zum\s+)?)\s*"
    r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})",
    re.IGNORECASE,
)
WITHIN_MONTH = re.compile(r"binnen\s+eines\s+Monats|innerhalb\s+eines\s+Monats", re.IGNORECASE)
WITHIN_WEEKS = re.compile(
    r"(?:binnen|innerhalb\s+von)\s+(zwei|drei|vier|sechs|acht|\d{1,2})\s+Wochen", re.IGNORECASE
)
WEEK_WORDS = {"zwei": 2, "drei": 3, "vier": 4, "sechs": 6, "acht": 8}
DECISION_OF = re.compile(
    r"bescheid(?:es|s)?\s+vom\s+(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{2,4})", re.IGNORECASE
)


def _text(document: Document) -> str:
    return "\n".join(page.text or "" for page in document.pages)


def _date(day: str, month: str, year: str) -> date | None:
    number = int(year)
    if number < 100:
        number += 2000
    try:
        return date(number, int(month), int(day))
    except ValueError:
        return None


def court_letter_facts(document: Document) -> dict[str, Any]:
    """What the court's letter says, for the appeal form: each field with where it came from."""
    text = _text(document)
    recognised = (document.recognition or {}).get("court_references") or []
    reference = document.court_reference or (recognised[0] if recognised else None)
    court = COURT.search(text)
    parties = PARTIES.search(text)
    served_on = document.receipt_date or local_date(document.received_at)
    deadline: date | None = None
    deadline_note = None
    explicit = DEADLINE_DATE.search(text)
    if explicit:
        deadline = _date(*explicit.groups())
        deadline_note = f"im Schreiben genannt: »{' '.join(explicit.group(0).split())}«"
    elif WITHIN_MONTH.search(text):
        deadline, _ = next_working_day(add_months(served_on, 1))
        deadline_note = "»binnen eines Monats« ab Zustellung (§ 64 SGG)"
    elif weeks := WITHIN_WEEKS.search(text):
        count = WEEK_WORDS.get(weeks.group(1).lower()) or int(weeks.group(1))
        deadline, _ = next_working_day(served_on + timedelta(weeks=count))
        deadline_note = f"»{' '.join(weeks.group(0).split())}« ab Zustellung (§ 64 SGG)"
    if deadline is not None and deadline < served_on:
        deadline, deadline_note = None, None
    return {
        "court": " ".join(court.group(1).split()) if court else "",
        "file_reference": reference or "",
        "file_reference_source": "Aktenzeichen aus der Erkennung" if reference else None,
        "parties": " ".join(parties.group(1).split()) if parties else "",
        "served_on": served_on.isoformat(),
        "served_on_source": "Eingangsstempel"
        if document.stamp_date and document.stamp_date == served_on
        else "Eingangsdatum (Tag des Scans)",
        "court_deadline": deadline.isoformat() if deadline else None,
        "court_deadline_source": deadline_note,
    }


def _mentioned_decision_dates(document: Document) -> list[date]:
    found = []
    for match in DECISION_OF.finditer(_text(document)):
        day = _date(*match.groups())
        if day is not None:
            found.append(day)
    return found


def decisions_of(session: Session, document: Document) -> list[Document]:
    """The outgoing decisions (Bescheide) in the letter's household file, newest first."""
    return list(
        session.scalars(
            select(Document)
            .where(
                Document.household_id == document.household_id,
                or_(Document.direction == "out", Document.doc_type == "bescheid"),
                in_case_file_clause(),
            )
            .order_by(Document.dispatch_date.desc().nulls_last(), Document.received_at.desc())
        )
    )


@dataclass(frozen=True)
class LegalIntake:
    """Everything the one-step registration dialog needs about an incoming letter."""

    document: Document
    receipt_date: date
    receipt_source: str
    kind: str  # "objection" or "appeal": what the letter most likely starts
    objection_id: int | None  # already registered from this letter
    appeal_id: int | None
    decisions: list[Document]  # the household's decisions, newest first
    suggested: Document | None  # the decision the letter most likely contests
    decision_suggestion: str | None  # why that one
    objections: list[Objection]  # the household's objections, newest first
    appeal: dict[str, Any]  # court_letter_facts

    @property
    def bg_number(self) -> str:
        assert self.document.household is not None
        return self.document.household.bg_number

    @property
    def household_name(self) -> str:
        assert self.document.household is not None
        return household_name(self.document.household)


def intake(gate: Gate, document_id: uuid.UUID) -> LegalIntake:
    """Everything the one-step registration dialog needs about an incoming letter."""
    session = gate.session
    gate.require(Capability.LEGAL, "document.intake", object_type="document", object_id=document_id)
    document, _ = gate.document(document_id, "document.intake")
    if document.household is None:
        raise Conflict(
            "Das Dokument ist keinem Haushalt zugeordnet; bitte zuerst in der Klärung zuordnen.",
            code="no_household",
        )
    existing_objection = session.scalar(
        select(Objection).where(Objection.document_id == document.id)
    )
    existing_appeal = session.scalar(select(Appeal).where(Appeal.document_id == document.id))
    receipt = document.receipt_date or local_date(document.received_at)
    mentioned = _mentioned_decision_dates(document)
    decisions = decisions_of(session, document)
    suggested = None
    suggestion_reason = None
    for decision in decisions:
        if decision.dispatch_date in mentioned or decision.letter_date in mentioned:
            suggested = decision
            day = (
                decision.dispatch_date
                if decision.dispatch_date in mentioned
                else decision.letter_date
            )
            suggestion_reason = f"im Schreiben genannt: Bescheid vom {day:%d.%m.%Y}"
            break
    if suggested is None:
        earlier = [d for d in decisions if d.dispatch_date and d.dispatch_date <= receipt]
        if earlier:
            suggested = earlier[0]
            suggestion_reason = "der letzte vor dem Eingang versandte Bescheid"
    kind = "appeal" if document.doc_type == "klage" or document.court_reference else "objection"
    return LegalIntake(
        document=document,
        receipt_date=receipt,
        receipt_source="Eingangsstempel"
        if document.stamp_date and document.stamp_date == receipt
        else "Tag des Scans",
        kind=kind,
        objection_id=existing_objection.id if existing_objection else None,
        appeal_id=existing_appeal.id if existing_appeal else None,
        decisions=decisions,
        suggested=suggested,
        decision_suggestion=suggestion_reason,
        objections=objections_of(session, document.household.id),
        appeal=court_letter_facts(document),
    )
