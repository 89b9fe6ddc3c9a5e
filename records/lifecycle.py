"""A file's lifecycle by hand (issue 17): closing it (zdA) with the date of the business event
and a reason, reopening it, setting a retention hold (a recovery or reimbursement claim, heirs'
liability, an audit, other; until a date or until lifted) and lifting one with a reason.

Who may: the records manager (Capability.RECORDS, through `Gate.records_file`: lifecycle
metadata of every file whose destruction has not begun) and the caseworkers who may open the
file (`Gate.household`, Capability.CASE_FILES, need-to-know). Everyone else is refused, and the
refusal is audited like every change here. Holds for open objections and appeals are not set
here: records.retention derives them from the cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from core.dates import german
from core.db import utcnow
from core.errors import InvalidInput, NotFound
from records.access import Capability, Gate
from records.models import HOLD_REASONS, FileEvent, Household, RetentionHold
from records.retention import (
    HOLD_LABELS,
    DocumentDue,
    FileRetention,
    Rules,
    Status,
    file_retention,
    overview,
)

CLOSED = "file.closed"
REOPENED = "file.reopened"
HOLD_SET = "retention.hold_set"
HOLD_LIFTED = "retention.hold_lifted"
VIEWED = "file.retention"
REASON_MAX = 300  # households.closed_reason
TEXT_MAX = 2000
EVENT_KIND_NAMES = {"closed": "geschlossen (zdA)", "reopened": "wiedereröffnet"}
EVENT_SOURCE_NAMES = {"import": "Stammdatenimport", "manual": "von Hand"}
# What a page says after a change (its address's `gespeichert=`).
SAVED_MESSAGES = {
    "geschlossen": "Die Akte ist geschlossen.",
    "wiedereroeffnet": "Die Akte ist wiedereröffnet.",
    "gesperrt": "Die Sperre ist gesetzt.",
    "entsperrt": "Die Sperre ist aufgehoben.",
}
# The reasons a hold may be set for by hand, as the form offers them.
HOLD_CHOICES: list[tuple[str, str]] = [(code, HOLD_LABELS[code]) for code in HOLD_REASONS]


def open_file(gate: Gate, bg_number: str, action: str, *, audited: bool = True) -> Household:
    """The household whose lifecycle is read or changed: the records manager's way for them,
    else the caseworker's need-to-know way (a refusal is audited either way)."""
    if gate.may(Capability.RECORDS):
        return gate.records_file(bg_number, action, audited=audited)
    household, _grant = gate.household(bg_number, action, audited=audited)
    return household


def is_closed(household: Household) -> bool:
    return household.benefits_end is not None or household.closed_on is not None


def _reason(text: str, what: str, limit: int = REASON_MAX) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"Bitte {what} angeben.", code="reason_missing", field="reason")
    if len(text) > limit:
        raise InvalidInput(
            f"{what[0].upper()}{what[1:]} ist zu lang (höchstens {limit} Zeichen).",
            code="reason_too_long",
            field="reason",
        )
    return text


def close_file(
    gate: Gate, bg_number: str, event_date: date | None, reason: str, today: date
) -> Household:
    """Close the file by hand: the business event's date (not in the future) and a reason."""
    household = open_file(gate, bg_number, CLOSED, audited=False)
    if event_date is None:
        raise InvalidInput(
            "Bitte das Datum des Ereignisses angeben (z. B. Ende der Leistungen).",
            code="date_missing",
            field="event_date",
        )
    if event_date > today:
        raise InvalidInput(
            "Das Datum des Ereignisses darf nicht in der Zukunft liegen.",
            code="date_future",
            field="event_date",
        )
    text = _reason(reason, "einen Grund für das Schließen")
    if is_closed(household):
        raise InvalidInput("Die Akte ist bereits geschlossen.", code="already_closed")
    household.closed_on = event_date
    household.closed_reason = text
    household.closed_by_login = gate.user.login
    _by_hand(gate, household, "closed", text, event_date)
    gate.record_on(household, CLOSED, event_date=event_date.isoformat(), reason=text)
    return household


def reopen_file(gate: Gate, bg_number: str, reason: str) -> Household:
    """Reopen a closed file (the household applies again): the end of benefits and the closing
    are cleared. A later master-data import that still names an end closes it again."""
    household = open_file(gate, bg_number, REOPENED, audited=False)
    text = _reason(reason, "einen Grund für das Wiedereröffnen")
    if not is_closed(household):
        raise InvalidInput("Die Akte ist nicht geschlossen.", code="not_closed")
    household.benefits_end = None
    household.closed_on = household.closed_reason = household.closed_by_login = None
    _by_hand(gate, household, "reopened", text)
    gate.record_on(household, REOPENED, reason=text)
    return household


def _by_hand(
    gate: Gate, household: Household, kind: str, reason: str, event_date: date | None = None
) -> None:
    """The history entry of a closing or reopening by hand."""
    gate.session.add(
        FileEvent(
            household_id=household.id,
            kind=kind,
            source="manual",
            event_date=event_date,
            reason=reason,
            by_login=gate.user.login,
        )
    )


def set_hold(
    gate: Gate,
    bg_number: str,
    reason_code: str,
    text: str,
    until: date | None,
    today: date,
) -> RetentionHold:
    """A hold by hand: it blocks the file's destruction until lifted or until `until` passed."""
    household = open_file(gate, bg_number, HOLD_SET, audited=False)
    if reason_code not in HOLD_REASONS:
        raise InvalidInput(
            "Bitte einen Grund für die Sperre wählen.", code="hold_reason", field="reason_code"
        )
    reason_text = _reason(text, "eine Begründung der Sperre", TEXT_MAX)
    if until is not None and until < today:
        raise InvalidInput(
            "Eine Sperre kann nicht in der Vergangenheit enden.", code="until_past", field="until"
        )
    hold = RetentionHold(
        household_id=household.id,
        reason_code=reason_code,
        reason_text=reason_text,
        until=until,
        set_by_login=gate.user.login,
    )
    gate.session.add(hold)
    gate.session.flush()
    gate.record_on(
        household,
        HOLD_SET,
        hold_id=hold.id,
        reason_code=reason_code,
        until=until.isoformat() if until else None,
    )
    return hold


def lift_hold(gate: Gate, bg_number: str, hold_id: int, reason: str) -> RetentionHold:
    household = open_file(gate, bg_number, HOLD_LIFTED, audited=False)
    hold = gate.session.scalar(
        select(RetentionHold).where(
            RetentionHold.id == hold_id, RetentionHold.household_id == household.id
        )
    )
    if hold is None:
        raise NotFound("Diese Sperre gibt es in dieser Akte nicht.")
    if hold.lifted_at is not None:
        raise InvalidInput("Die Sperre ist bereits aufgehoben.", code="hold_lifted")
    text = _reason(reason, "einen Grund für das Aufheben", TEXT_MAX)
    hold.lifted_at = utcnow()
    hold.lifted_by_login = gate.user.login
    hold.lift_reason = text
    gate.record_on(household, HOLD_LIFTED, hold_id=hold.id, reason=text)
    return hold


# reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryLine:
    """One line of the file's closing history or of its holds, every word German."""

    when: str
    who: str
    what: str
    detail: str


@dataclass(frozen=True)
class HoldLine:
    id: int
    label: str
    reason: str
    since: str
    who: str
    until: str
    active: bool
    lifted: str  # "am 01.12.2026 von lsb.1: Forderung beglichen", or ""


@dataclass(frozen=True)
class Lifecycle:
    """A file's lifecycle as its pages show it."""

    bg_number: str
    closed: bool
    retention: FileRetention
    steps: list[tuple[str, str, str]]  # the computation: (what, date in German, note)
    derived_holds: list[str]  # open objections and appeals
    holds: list[HoldLine]  # set by hand, active first
    history: list[HistoryLine]


def lifecycle(
    gate: Gate, bg_number: str, rules: Rules, today: date, *, audited: bool = True
) -> Lifecycle:
    """The file's retention with its steps, its holds and its closing history."""
    household = open_file(gate, bg_number, VIEWED, audited=audited)
    retention = file_retention(gate.session, household, rules, today)
    rows = list(
        gate.session.scalars(
            select(RetentionHold)
            .where(RetentionHold.household_id == household.id)
            .order_by(RetentionHold.set_at.desc(), RetentionHold.id.desc())
        )
    )
    holds = [
        HoldLine(
            id=h.id,
            label=HOLD_LABELS.get(h.reason_code, h.reason_code),
            reason=h.reason_text,
            since=german(h.set_at.date()),
            who=h.set_by_login,
            until=f"bis {german(h.until)}" if h.until else "bis auf Weiteres",
            active=h.lifted_at is None and (h.until is None or h.until >= today),
            lifted=(
                f"aufgehoben am {german(h.lifted_at.date())} von {h.lifted_by_login}: "
                f"{h.lift_reason or ''}"
                if h.lifted_at
                else ("abgelaufen" if h.until and h.until < today else "")
            ),
        )
        for h in rows
    ]
    holds.sort(key=lambda h: not h.active)
    events = gate.session.scalars(
        select(FileEvent)
        .where(FileEvent.household_id == household.id)
        .order_by(FileEvent.at.desc(), FileEvent.id.desc())
    )
    history = [
        HistoryLine(
            when=german(e.at.date()),
            who=e.by_login or EVENT_SOURCE_NAMES.get(e.source, e.source),
            what=EVENT_KIND_NAMES.get(e.kind, e.kind)
            + (f" zum {german(e.event_date)}" if e.event_date else ""),
            detail=e.reason,
        )
        for e in events
    ]
    derived = [
        f"{h.label}: {h.reason}" if h.reason else h.label
        for h in retention.holds
        if h.hold_id is None
    ]
    return Lifecycle(
        bg_number=household.bg_number,
        closed=is_closed(household),
        retention=retention,
        steps=[(s.label, german(s.value), s.note) for s in retention.steps],
        derived_holds=derived,
        holds=holds,
        history=history,
    )


# the records manager's list -----------------------------------------------------------------

LISTED = "records.due"
# The list's filters: which states each shows.
FILTERS: dict[str, tuple[Status, ...]] = {
    "faellig": ("due", "held"),
    "abgelaufen": ("due",),
    "gesperrt": ("held",),
    "laufend": ("running",),
}
FILTER_NAMES = {
    "faellig": "Fällig oder gesperrt",
    "abgelaufen": "Nur fällig",
    "gesperrt": "Nur gesperrt",
    "laufend": "Frist läuft noch",
}


@dataclass(frozen=True)
class DueList:
    files: list[FileRetention]
    # Documents whose type's shorter period ran out before their file's.
    documents: list[tuple[FileRetention, DocumentDue]]


def due_list(gate: Gate, rules: Rules, today: date, wanted: str = "faellig") -> DueList:
    """The closed files in the states of the filter `wanted` (the records manager's; the list
    names BG numbers only), and the documents due before their files. Audited."""
    statuses = FILTERS.get(wanted, FILTERS["faellig"])
    gate.listing(Capability.RECORDS, LISTED, filter=wanted if wanted in FILTERS else "faellig")
    every = overview(gate.session, rules, today, ("running", "due", "held"))
    return DueList(
        files=[r for r in every if r.status in statuses],
        documents=[(r, d) for r in every if r.status == "running" for d in r.documents_due],
    )


def section_context(
    gate: Gate, bg_number: str, rules: Rules, today: date, *, audited: bool = True
) -> dict[str, object]:
    """What the retention section (_akte_retention.html) needs of a file, besides where its
    forms lead back to (`back`) and a form's errors and values."""
    return {
        "lc": lifecycle(gate, bg_number, rules, today, audited=audited),
        "hold_choices": HOLD_CHOICES,
        "today": today.isoformat(),
        "may_change": True,
    }
