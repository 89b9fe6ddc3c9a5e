"""How long a file is kept, computed step by step (issue 17).

A file is closed (zdA) when benefits end (the date comes with the master data) or by hand with
a reason. Its business event is the latest of: the end of benefits, the day it was closed by
hand, the conclusion of its last objection or appeal (the last decision became final), and the
date of its last document. The period starts when the year of that event ends; a rule of N
years keeps the file until 31 December of the N-th year after it, and the file is due for the
archive's offer and destruction from the next day on. Document types may have periods of their
own (records/retention.toml). A hold blocks destruction: open objections and appeals hold a
file by themselves, recovery and reimbursement claims, heirs' liability or an audit by a hold
set by hand (until a date or until lifted).

`compute` is a pure function over `FileFacts`; `file_retention` and `overview` read the facts
from the database. Every date comes with its German steps, like the deadline computation.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.dates import german
from core.errors import ConfigurationError
from records.access import in_case_file_clause
from records.deadlines import Step
from records.models import Appeal, Document, Household, Objection, RetentionHold
from records.objections import OPEN_STATES

RULES_FILE = Path(__file__).with_name("retention.toml")
Status = Literal["open", "running", "due", "held"]
STATUS_LABELS: dict[str, str] = {
    "open": "Akte läuft",
    "running": "Aufbewahrungsfrist läuft",
    "due": "Aufbewahrungsfrist abgelaufen",
    "held": "Abgelaufen, aber gesperrt",
}
HOLD_LABELS: dict[str, str] = {
    "widerspruch": "Widerspruch noch nicht abgeschlossen",
    "klage": "Klage noch anhängig",
    "erstattung": "Erstattungs- oder Rückforderungsanspruch (§§ 45, 50 SGB X)",
    "erbenhaftung": "Erbenhaftung (§ 35 SGB II)",
    "pruefung": "Prüfung",
    "sonstiges": "Sonstiger Grund",
}


@dataclass(frozen=True)
class TypeRule:
    code: str
    years: int | None  # None: the file's period
    offer_to_archive: bool
    note: str = ""


@dataclass(frozen=True)
class Rules:
    years: int
    offer_to_archive: bool
    types: dict[str, TypeRule]
    source: str  # which file the rules came from, for the explanation

    def type_rule(self, doc_type: str | None) -> TypeRule | None:
        return self.types.get(doc_type or "")

    def describe(self, years: int | None = None) -> str:
        n = self.years if years is None else years
        return f"{n} Jahre nach Ablauf des Jahres des maßgeblichen Ereignisses"


def load_rules(settings: Settings) -> Rules:
    return _load_rules(settings.retention_rules_file or RULES_FILE, settings.retention_years)


@lru_cache(maxsize=8)
def _load_rules(path: Path, years: int) -> Rules:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(
            f"Die Aufbewahrungsregeln {path} lassen sich nicht lesen: {exc}"
        ) from None
    types: dict[str, TypeRule] = {}
    for code, entry in (data.get("types") or {}).items():
        type_years = entry.get("years")
        if type_years is not None and (not isinstance(type_years, int) or type_years < 1):
            raise ConfigurationError(
                f"Aufbewahrungsregeln {path}: types.{code}.years muss eine ganze Zahl ab 1 sein."
            )
        types[code] = TypeRule(
            code=code,
            years=type_years,
            offer_to_archive=bool(entry.get("offer_to_archive", True)),
            note=str(entry.get("note", "")),
        )
    file_entry = data.get("file") or {}
    return Rules(
        years=years,
        offer_to_archive=bool(file_entry.get("offer_to_archive", True)),
        types=types,
        source=str(path),
    )


@dataclass(frozen=True)
class Hold:
    """What blocks destruction: an open objection or appeal (derived; `hold_id` None) or a hold
    set by hand (`hold_id`)."""

    kind: str
    label: str
    since: date | None
    until: date | None = None
    reason: str = ""
    hold_id: int | None = None
    set_by_login: str | None = None


@dataclass(frozen=True)
class DocumentFacts:
    id: str
    doc_type: str | None
    date: date | None


@dataclass(frozen=True)
class FileFacts:
    """What the computation needs of one file."""

    household_id: int
    bg_number: str
    benefits_end: date | None
    closed_on: date | None
    closed_reason: str | None = None
    # The latest concluded objection or appeal: when it was concluded and what it was.
    last_case_concluded: tuple[date, str] | None = None
    last_document: date | None = None
    holds: tuple[Hold, ...] = ()
    documents: tuple[DocumentFacts, ...] = ()


@dataclass(frozen=True)
class DocumentDue:
    """A document whose type has a shorter period than its file, due before it."""

    document_id: str
    doc_type: str
    years: int
    due_from: date
    offer_to_archive: bool


@dataclass(frozen=True)
class FileRetention:
    household_id: int
    bg_number: str
    status: Status
    event_date: date | None
    years: int
    ends_on: date | None  # the last day the file is kept
    due_from: date | None  # the first day it may be offered and destroyed
    rule: str
    offer_to_archive: bool
    holds: tuple[Hold, ...]
    steps: tuple[Step, ...]
    summary: str
    documents_due: tuple[DocumentDue, ...] = field(default=())

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def _year_end(year: int) -> date:
    return date(year, 12, 31)


def active_holds(holds: Iterable[Hold], today: date) -> tuple[Hold, ...]:
    return tuple(h for h in holds if h.until is None or h.until >= today)


def compute(facts: FileFacts, rules: Rules, today: date) -> FileRetention:
    """The file's retention with its steps in German (pure)."""
    holds = active_holds(facts.holds, today)
    if facts.benefits_end is None and facts.closed_on is None:
        return FileRetention(
            household_id=facts.household_id,
            bg_number=facts.bg_number,
            status="open",
            event_date=None,
            years=rules.years,
            ends_on=None,
            due_from=None,
            rule=rules.describe(),
            offer_to_archive=rules.offer_to_archive,
            holds=holds,
            steps=(),
            summary="Die Akte läuft: Die Aufbewahrungsfrist beginnt erst, wenn sie geschlossen "
            "wird (Leistungsende).",
        )
    steps: list[Step] = []
    candidates: list[date] = []
    if facts.benefits_end is not None:
        steps.append(Step("Leistungsende laut Fachverfahren", facts.benefits_end))
        candidates.append(facts.benefits_end)
    if facts.closed_on is not None:
        note = facts.closed_reason or ""
        steps.append(Step("Akte von Hand geschlossen (zdA)", facts.closed_on, note))
        candidates.append(facts.closed_on)
    if facts.last_case_concluded is not None:
        day, what = facts.last_case_concluded
        steps.append(Step("Letztes Verfahren abgeschlossen", day, what))
        candidates.append(day)
    if facts.last_document is not None:
        steps.append(Step("Letztes Schriftstück in der Akte", facts.last_document))
        candidates.append(facts.last_document)
    event = max(candidates)
    steps.append(Step("Maßgebliches Ereignis (das späteste)", event))
    start = _year_end(event.year)
    steps.append(Step("Die Frist beginnt mit Ablauf des Jahres", start))
    years = rules.years
    longer = [
        (rule.years, rule.code)
        for rule in (rules.type_rule(d.doc_type) for d in facts.documents)
        if rule is not None and rule.years is not None and rule.years > rules.years
    ]
    if longer:
        years, code = max(longer)
        note = f"Dokumenttyp „{code}“ wird {years} Jahre aufbewahrt"
    else:
        note = f"Regel des Jobcenters ({rules.years} Jahre)"
    ends_on = _year_end(event.year + years)
    steps.append(Step(f"Aufbewahrung {years} Jahre bis", ends_on, note))
    due_from = date(event.year + years + 1, 1, 1)
    steps.append(Step("Anbieten und Vernichten frühestens ab", due_from))
    for hold in holds:
        until = f" bis {german(hold.until)}" if hold.until else " bis auf Weiteres"
        steps.append(Step(f"Gesperrt: {hold.label}{until}", hold.since or today, hold.reason))
    if today < due_from:
        status: Status = "running"
        summary = (
            f"Aufbewahren bis {german(ends_on)}; anbieten und vernichten ab {german(due_from)}."
        )
    elif holds:
        status = "held"
        summary = (
            f"Die Frist ist am {german(ends_on)} abgelaufen, aber die Akte ist gesperrt: "
            + "; ".join(h.label for h in holds)
            + "."
        )
    else:
        status = "due"
        summary = f"Die Frist ist am {german(ends_on)} abgelaufen: Die Akte ist auszusondern."
    documents_due = tuple(
        DocumentDue(
            document_id=d.id,
            doc_type=rule.code,
            years=rule.years,
            due_from=date(event.year + rule.years + 1, 1, 1),
            offer_to_archive=rule.offer_to_archive,
        )
        for d in facts.documents
        if (rule := rules.type_rule(d.doc_type)) is not None
        and rule.years is not None
        and rule.years < years
        and date(event.year + rule.years + 1, 1, 1) <= today
        and not holds
    )
    return FileRetention(
        household_id=facts.household_id,
        bg_number=facts.bg_number,
        status=status,
        event_date=event,
        years=years,
        ends_on=ends_on,
        due_from=due_from,
        rule=rules.describe(years),
        offer_to_archive=rules.offer_to_archive,
        holds=holds,
        steps=tuple(steps),
        summary=summary,
        documents_due=documents_due,
    )


# reading the facts ------------------------------------------------------------------------

_CONCLUDED_LABELS = {
    "abhilfe": "Widerspruch: abgeholfen",
    "teilabhilfe": "Widerspruch: teilweise abgeholfen",
    "zurueckgewiesen": "Widerspruch: zurückgewiesen",
    "zurueckgenommen": "Widerspruch: zurückgenommen",
    "erledigt": "Klage erledigt",
}


def _facts(session: Session, households: list[Household]) -> list[FileFacts]:
    """The facts of these households with a fixed number of queries."""
    ids = [h.id for h in households]
    if not ids:
        return []
    holds: dict[int, list[Hold]] = defaultdict(list)
    concluded: dict[int, tuple[date, str]] = {}
    for objection in session.scalars(select(Objection).where(Objection.household_id.in_(ids))):
        if objection.status in OPEN_STATES:
            holds[objection.household_id].append(
                Hold(
                    "widerspruch",
                    HOLD_LABELS["widerspruch"],
                    objection.receipt_date,
                    reason=f"Widerspruch vom {german(objection.receipt_date)}",
                )
            )
        else:
            _later(concluded, objection.household_id, objection.status_at.date(), objection.status)
    for appeal in session.scalars(select(Appeal).where(Appeal.household_id.in_(ids))):
        if appeal.status == "anhaengig":
            holds[appeal.household_id].append(
                Hold(
                    "klage",
                    HOLD_LABELS["klage"],
                    appeal.served_on,
                    reason=f"{appeal.court}, {appeal.file_reference}",
                )
            )
        else:
            day = (appeal.status_at or appeal.created_at).date()
            _later(concluded, appeal.household_id, day, appeal.status)
    for hold in session.scalars(
        select(RetentionHold).where(
            RetentionHold.household_id.in_(ids), RetentionHold.lifted_at.is_(None)
        )
    ):
        holds[hold.household_id].append(
            Hold(
                hold.reason_code,
                HOLD_LABELS.get(hold.reason_code, hold.reason_code),
                hold.set_at.date(),
                until=hold.until,
                reason=hold.reason_text,
                hold_id=hold.id,
                set_by_login=hold.set_by_login,
            )
        )
    documents: dict[int, list[DocumentFacts]] = defaultdict(list)
    last: dict[int, date] = {}
    rows = session.execute(
        select(
            Document.household_id,
            Document.id,
            Document.doc_type,
            func.coalesce(Document.dispatch_date, Document.receipt_date),
        ).where(
            Document.household_id.in_(ids),
            in_case_file_clause(),
        )
    )
    for household_id, document_id, doc_type, day in rows:
        if household_id is None:
            continue
        documents[household_id].append(DocumentFacts(str(document_id), doc_type, day))
        if day is not None and (household_id not in last or day > last[household_id]):
            last[household_id] = day
    return [
        FileFacts(
            household_id=h.id,
            bg_number=h.bg_number,
            benefits_end=h.benefits_end,
            closed_on=h.closed_on,
            closed_reason=h.closed_reason,
            last_case_concluded=(
                (concluded[h.id][0], _CONCLUDED_LABELS.get(concluded[h.id][1], ""))
                if h.id in concluded
                else None
            ),
            last_document=last.get(h.id),
            holds=tuple(holds[h.id]),
            documents=tuple(documents[h.id]),
        )
        for h in households
    ]


def _later(concluded: dict[int, tuple[date, str]], household_id: int, day: date, what: str) -> None:
    if household_id not in concluded or day > concluded[household_id][0]:
        concluded[household_id] = (day, what)


def file_retention(
    session: Session, household: Household, rules: Rules, today: date
) -> FileRetention:
    return compute(_facts(session, [household])[0], rules, today)


def overview(
    session: Session,
    rules: Rules,
    today: date,
    statuses: Iterable[Status] = ("due", "held"),
) -> list[FileRetention]:
    """The closed files (not being destroyed) in these states, by BG number."""
    wanted = set(statuses)
    households = list(
        session.scalars(
            select(Household)
            .where(
                or_(Household.benefits_end.is_not(None), Household.closed_on.is_not(None)),
                Household.destruction_started_at.is_(None),
            )
            .order_by(Household.bg_number)
        )
    )
    result: list[FileRetention] = []
    for chunk in range(0, len(households), 500):
        for facts in _facts(session, households[chunk : chunk + 500]):
            retention = compute(facts, rules, today)
            if retention.status in wanted:
                result.append(retention)
    return result
