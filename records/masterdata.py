"""Import of staff and households from the Fachverfahren's CSV exports.

Re-importing a file updates what changed and never duplicates; staff and households that are no
longer in the export are marked inactive, never deleted, because documents still refer to them.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import InvalidInput, NotFound
from records.access import Capability, Gate
from records.iban import normalise_email, normalise_iban
from records.identifiers import normalize_bg_number
from records.models import ROLES, DestructionProtocol, FileEvent, Household, Member, Team, User

STAFF_COLUMNS = ("login", "name", "team", "role")
HOUSEHOLD_COLUMNS = (
    "bg_number",
    "last_name",
    "first_name",
    "birth_date",
    "street",
    "postcode",
    "town",
    "caseworker",
    "case_manager",
)
# Optional: exports that carry them give recognition two more keys to a household (issue 13).
HOUSEHOLD_OPTIONAL_COLUMNS = ("iban", "email")
# Optional (issue 17): the end of benefits (YYYY-MM-DD, empty while benefits run) closes and
# reopens files. An export without that column leaves every file as it is.
BENEFITS_END_COLUMN = "benefits_end"


@dataclass
class ImportReport:
    kind: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    # Files closed (benefits ended) and reopened (benefits again) by this import (issue 17).
    closed: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.kind}: {len(self.created)} neu, {len(self.updated)} geändert, "
            f"{len(self.deactivated)} deaktiviert, {len(self.reactivated)} reaktiviert, "
            f"{self.unchanged} unverändert"
        )
        if self.closed or self.reopened:
            text += (
                f", {len(self.closed)} Akten geschlossen, {len(self.reopened)} Akten wiedereröffnet"
            )
        if self.warnings:
            text += f", {len(self.warnings)} Warnungen"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "created": self.created,
            "updated": self.updated,
            "deactivated": self.deactivated,
            "reactivated": self.reactivated,
            "unchanged": self.unchanged,
            "warnings": self.warnings,
            "closed": self.closed,
            "reopened": self.reopened,
        }


def read_csv(path_or_bytes: Path | bytes, expected: tuple[str, ...]) -> list[dict[str, str]]:
    raw = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older Fachverfahren exports are Windows-1252.
        text = raw.decode("cp1252")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in expected if c not in header]
    if missing:
        raise InvalidInput(
            f"Die CSV-Datei hat nicht die erwarteten Spalten; es fehlen: {', '.join(missing)}.",
            code="csv_columns",
        )
    rows = []
    for row in reader:
        rows.append({(k or "").strip(): (v or "").strip() for k, v in row.items()})
    return rows


@dataclass(frozen=True)
class FieldChange:
    """One field of a record that the import changes (a preview shows it; households' only by
    its name, never the values)."""

    field: str  # German label
    before: str
    after: str


@dataclass
class RecordPlan:
    """What the import does to one person or household."""

    key: str  # login or BG number
    status: str  # created, updated, reactivated, unchanged, deactivated
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class ImportPlan:
    """The one diff of an export against the database: the preview shows it, `apply_plan`
    carries it out; the report of an import is made from it."""

    kind: str  # "staff" or "households"
    records: list[RecordPlan] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The parsed export by key, for `apply_plan`.
    targets: dict[str, object] = field(default_factory=dict)
    # Households whose file the import closes (benefits ended) or reopens (issue 17).
    closing: list[str] = field(default_factory=list)
    reopening: list[str] = field(default_factory=list)

    def keys(self, status: str) -> list[str]:
        return [r.key for r in self.records if r.status == status]

    def report(self) -> ImportReport:
        return ImportReport(
            "Mitarbeitende" if self.kind == "staff" else "Bedarfsgemeinschaften",
            created=self.keys("created"),
            updated=self.keys("updated"),
            deactivated=self.keys("deactivated"),
            reactivated=self.keys("reactivated"),
            unchanged=len(self.keys("unchanged")),
            warnings=list(self.warnings),
            closed=list(self.closing),
            reopened=list(self.reopening),
        )


@dataclass(frozen=True)
class StaffTarget:
    name: str
    role: str
    team: str | None


def _status(exists: bool, active: bool, changed: bool) -> str:
    if not exists:
        return "created"
    if not active:
        return "reactivated"
    return "updated" if changed else "unchanged"


def plan_staff(session: Session, rows: list[dict[str, str]]) -> ImportPlan:
    plan = ImportPlan("staff")
    users = {u.login: u for u in session.scalars(select(User))}
    for line, row in enumerate(rows, start=2):
        login, role = row["login"], row["role"]
        if not login or role not in ROLES:
            raise InvalidInput(
                f"Zeile {line}: Login fehlt oder Rolle {role!r} ist unbekannt "
                f"(erlaubt: {', '.join(ROLES)}).",
                code="csv_row",
            )
        if login in plan.targets:
            raise InvalidInput(f"Zeile {line}: Login {login} kommt doppelt vor.", code="csv_row")
        target = StaffTarget(row["name"], role, row["team"] or None)
        plan.targets[login] = target
        user = users.get(login)
        changes = []
        if user is not None:
            before = (user.name, user.role, user.team.name if user.team else None)
            for label, old, new in zip(
                ("Name", "Rolle", "Team"),
                before,
                (target.name, target.role, target.team),
                strict=True,
            ):
                if old != new:
                    changes.append(FieldChange(label, old or "–", new or "–"))
        status = _status(user is not None, user is None or user.active, bool(changes))
        plan.records.append(RecordPlan(login, status, changes))
    for login, user in users.items():
        if login not in plan.targets and user.active and _from_export(user):
            plan.records.append(RecordPlan(login, "deactivated"))
    return plan


_Row = TypeVar("_Row", User, Household)


def _carry_out(
    plan: ImportPlan,
    existing: dict[str, _Row],
    update: Callable[[RecordPlan, _Row | None, object], None],
) -> None:
    """Deactivate what the plan deactivates; create or update the rest with `update`."""
    for record in plan.records:
        row = existing.get(record.key)
        if record.status == "deactivated":
            assert row is not None
            row.active = False
        else:
            update(record, row, plan.targets[record.key])


def _from_export(user: User) -> bool:
    """Whether the Fachverfahren's export speaks for this account, so that its absence there
    ends it. Administrators, data protection officers and break-glass accounts are managed
    in the product, directory and SSO accounts by the directory (records.identity)."""
    return (
        user.role not in ("admin", "datenschutz")
        and not user.break_glass
        and user.source == "local"
    )


def _apply_staff(session: Session, plan: ImportPlan) -> None:
    teams = {t.name: t for t in session.scalars(select(Team))}

    def update(record: RecordPlan, user: User | None, target: object) -> None:
        assert isinstance(target, StaffTarget)
        team = None
        if target.team:
            team = teams.get(target.team)
            if team is None:
                team = teams[target.team] = Team(name=target.team)
                session.add(team)
        if user is None:
            session.add(User(login=record.key, name=target.name, role=target.role, team=team))
            return
        user.name, user.role, user.team = target.name, target.role, team
        user.active = True

    _carry_out(plan, {u.login: u for u in session.scalars(select(User))}, update)


def import_staff(session: Session, rows: list[dict[str, str]]) -> ImportReport:
    return apply_plan(session, plan_staff(session, rows))


def _parse_date(value: str, line: int, what: str = "Geburtsdatum") -> date | None:
    if not value:
        return None
    try:
        if "." in value:
            day, month, year = value.split(".")
            return date(int(year), int(month), int(day))
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"Zeile {line}: {what} {value!r} ist ungültig (erwartet JJJJ-MM-TT); "
            "es wurde nichts importiert.",
            code="csv_row",
        ) from None


def _benefits_end(rows: list[tuple[int, dict[str, str]]], bg_number: str) -> date | None:
    """The household's end of benefits: the same on each of its rows (or on one only)."""
    found: dict[date, int] = {}
    for line, row in rows:
        day = _parse_date(row.get(BENEFITS_END_COLUMN, ""), line, "Leistungsende (benefits_end)")
        if day is not None:
            found.setdefault(day, line)
    if len(found) > 1:
        lines = ", ".join(str(n) for n in sorted(found.values()))
        raise InvalidInput(
            f"Zeilen {lines}: {bg_number} hat verschiedene Leistungsenden (benefits_end); "
            "es wurde nichts importiert.",
            code="csv_row",
        )
    return next(iter(found), None)


def _parse_iban(value: str, line: int) -> str | None:
    if not value:
        return None
    iban = normalise_iban(value)
    if iban is None:
        raise InvalidInput(
            f"Zeile {line}: IBAN {value!r} ist ungültig (Länge oder Prüfziffer stimmt nicht); "
            "bitte in der Exportdatei korrigieren oder leer lassen.",
            code="csv_row",
        )
    return iban


def _parse_email(value: str, line: int) -> str | None:
    if not value:
        return None
    email = normalise_email(value)
    if email is None:
        raise InvalidInput(
            f"Zeile {line}: E-Mail-Adresse {value!r} ist ungültig; bitte in der Exportdatei "
            "korrigieren oder leer lassen.",
            code="csv_row",
        )
    return email


MemberKey = tuple[str, str, date | None]


@dataclass(frozen=True)
class HouseholdTarget:
    address: tuple[str, str, str]
    caseworker: str | None  # a known login, else None (a warning)
    case_manager: str | None
    members: dict[MemberKey, tuple[str | None, str | None]]  # (iban, email)
    # The end of benefits (issue 17); `keeps_benefits_end`: the export has no such column.
    benefits_end: date | None = None
    keeps_benefits_end: bool = True

    def snapshot(self) -> tuple[object, ...]:
        return (
            *self.address,
            self.caseworker,
            self.case_manager,
            sorted(
                (last, first, str(birth), iban or "", email or "")
                for (last, first, birth), (iban, email) in self.members.items()
            ),
        )


# What a household's snapshot holds, by position, as the preview names it (names only: the
# administration sees no client data).
_HOUSEHOLD_FIELDS = (
    "Straße",
    "Postleitzahl",
    "Ort",
    "Sachbearbeitung",
    "Fallmanagement",
    "Mitglieder, IBAN oder E-Mail",
)
BENEFITS_END_FIELD = "Leistungsende"


def _destroyed(session: Session, bg_numbers: list[str]) -> dict[str, date | None]:
    """The households among these whose file was destroyed: the business event's date the
    destruction protocol names (issue 17)."""
    found: dict[str, date | None] = {}
    for chunk in range(0, len(bg_numbers), 500):
        rows = session.execute(
            select(DestructionProtocol.bg_number, DestructionProtocol.event_date).where(
                DestructionProtocol.kind == "file",
                DestructionProtocol.state == "done",
                DestructionProtocol.bg_number.in_(bg_numbers[chunk : chunk + 500]),
            )
        )
        for bg_number, event_date in rows:
            if bg_number not in found or (event_date or date.min) > (found[bg_number] or date.min):
                found[bg_number] = event_date
    return found


def plan_households(session: Session, rows: list[dict[str, str]]) -> ImportPlan:
    plan = ImportPlan("households")
    users = {u.login: u for u in session.scalars(select(User))}
    grouped: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
    for line, row in enumerate(rows, start=2):
        bg_number = normalize_bg_number(row["bg_number"])
        if bg_number is None:
            raise InvalidInput(
                f"Zeile {line}: {row['bg_number']!r} ist keine BG-Nummer.", code="csv_row"
            )
        grouped[bg_number].append((line, row))

    existing = {h.bg_number: h for h in session.scalars(select(Household))}
    with_column = bool(rows) and BENEFITS_END_COLUMN in rows[0]
    ends = {bg: _benefits_end(member_rows, bg) for bg, member_rows in grouped.items()}
    destroyed = _destroyed(session, [bg for bg in grouped if bg not in existing])
    for bg_number, member_rows in grouped.items():
        _line, first = member_rows[0]
        benefits_end = ends[bg_number]
        if bg_number in existing and existing[bg_number].destruction_started_at is not None:
            plan.warnings.append(
                f"{bg_number}: Die Akte wird gerade vernichtet; ihre Zeilen bleiben unbeachtet."
            )
            continue
        if bg_number in destroyed and benefits_end is not None:
            destroyed_event = destroyed[bg_number]
            if destroyed_event is None or benefits_end <= destroyed_event:
                # The Fachverfahren still lists a file that ended and was destroyed: it must
                # not come back. A household that applies again (benefits running) is a new
                # file and is created.
                plan.warnings.append(
                    f"{bg_number}: Die Akte wurde nach Ablauf der Aufbewahrungsfrist vernichtet "
                    f"(Leistungsende {benefits_end:%d.%m.%Y}); sie wird nicht neu angelegt."
                )
                continue
        caseworker = _staff(users, first["caseworker"], bg_number, plan.warnings)
        case_manager = _staff(users, first["case_manager"], bg_number, plan.warnings)
        members: dict[MemberKey, tuple[str | None, str | None]] = {}
        for n, r in member_rows:
            key = (r["last_name"], r["first_name"], _parse_date(r["birth_date"], n))
            members[key] = (
                _parse_iban(r.get("iban", ""), n),
                _parse_email(r.get("email", ""), n),
            )
        target = HouseholdTarget(
            (first["street"], first["postcode"], first["town"]),
            caseworker.login if caseworker else None,
            case_manager.login if case_manager else None,
            members,
            benefits_end=benefits_end,
            keeps_benefits_end=not with_column,
        )
        plan.targets[bg_number] = target
        household = existing.get(bg_number)
        changes = []
        if household is not None:
            before, after = _snapshot(household), target.snapshot()
            changes = [
                FieldChange(label, "", "")
                for label, old, new in zip(_HOUSEHOLD_FIELDS, before, after, strict=True)
                if old != new
            ]
        before_end = household.benefits_end if household is not None else None
        if with_column and before_end != benefits_end:
            changes.append(FieldChange(BENEFITS_END_FIELD, "", ""))
            (plan.closing if benefits_end is not None else plan.reopening).append(bg_number)
        status = _status(
            household is not None, household is None or household.active, bool(changes)
        )
        plan.records.append(RecordPlan(bg_number, status, changes))
    for bg_number, household in existing.items():
        if bg_number not in grouped and household.active:
            plan.records.append(RecordPlan(bg_number, "deactivated"))
    return plan


def _apply_households(session: Session, plan: ImportPlan) -> None:
    users = {u.login: u for u in session.scalars(select(User))}
    events: list[tuple[Household, FileEvent]] = []

    def update(record: RecordPlan, household: Household | None, target: object) -> None:
        assert isinstance(target, HouseholdTarget)
        if household is None:
            household = Household(bg_number=record.key)
            session.add(household)
        if not target.keeps_benefits_end and household.benefits_end != target.benefits_end:
            events.append((household, _benefits_event(household, target.benefits_end)))
        household.street, household.postcode, household.town = target.address
        household.caseworker = users[target.caseworker] if target.caseworker else None
        household.case_manager = users[target.case_manager] if target.case_manager else None
        current = {(m.last_name, m.first_name, m.birth_date): m for m in household.members}
        for key in current.keys() - target.members.keys():
            household.members.remove(current[key])
        for key in sorted(target.members.keys() - current.keys(), key=str):
            last_name, first_name, birth_date = key
            iban, email = target.members[key]
            household.members.append(
                Member(
                    last_name=last_name,
                    first_name=first_name,
                    birth_date=birth_date,
                    iban=iban,
                    email=email,
                )
            )
        for key in target.members.keys() & current.keys():
            member = current[key]
            member.iban, member.email = target.members[key]
        if record.changes and record.status != "created":
            # A changed IBAN or address alone must renew recognition's snapshot too.
            household.updated_at = utcnow()
        household.active = True

    _carry_out(plan, {h.bg_number: h for h in session.scalars(select(Household))}, update)
    session.flush()
    for household, event in events:
        event.household_id = household.id
        session.add(event)


def _benefits_event(household: Household, benefits_end: date | None) -> FileEvent:
    """Set the end of benefits from the export: a date closes the file, no date (benefits
    again, a new application) reopens it, a closing by hand included."""
    household.benefits_end = benefits_end
    if benefits_end is None:
        household.closed_on = household.closed_reason = household.closed_by_login = None
        return FileEvent(
            kind="reopened", source="import", reason="Leistungen laut Fachverfahren wieder"
        )
    return FileEvent(
        kind="closed",
        source="import",
        event_date=benefits_end,
        reason="Leistungsende laut Fachverfahren",
    )


def import_households(session: Session, rows: list[dict[str, str]]) -> ImportReport:
    return apply_plan(session, plan_households(session, rows))


def plan_import(session: Session, kind: str, body: Path | bytes) -> ImportPlan:
    """The diff of one export (staff or households) against the database; changes nothing."""
    if kind == "staff":
        return plan_staff(session, read_csv(body, STAFF_COLUMNS))
    return plan_households(session, read_csv(body, HOUSEHOLD_COLUMNS))


def apply_plan(session: Session, plan: ImportPlan) -> ImportReport:
    """Carry out a plan made in this session (nothing changed in between)."""
    if plan.kind == "staff":
        _apply_staff(session, plan)
    else:
        _apply_households(session, plan)
    session.flush()
    return plan.report()


def _staff(users: dict[str, User], login: str, bg_number: str, warnings: list[str]) -> User | None:
    if not login:
        return None
    user = users.get(login)
    if user is None:
        warnings.append(
            f"{bg_number}: Mitarbeiter/in {login} ist nicht bekannt; Zuständigkeit bleibt offen."
        )
    return user


def _snapshot(household: Household) -> tuple[object, ...]:
    return (
        household.street,
        household.postcode,
        household.town,
        household.caseworker.login if household.caseworker else None,
        household.case_manager.login if household.case_manager else None,
        sorted(
            (m.last_name, m.first_name, str(m.birth_date), m.iban or "", m.email or "")
            for m in household.members
        ),
    )


# --- import through the API ------------------------------------------------------------------

IMPORT_KINDS = ("staff", "households")


def check_import(gate: Gate, kind: str) -> None:
    """Before the file is read: the role may import, and the kind is one there is."""
    gate.require(Capability.MASTER_DATA, f"masterdata.import.{kind[:20]}")
    if kind not in IMPORT_KINDS:
        raise NotFound("Unbekannte Stammdatenart; erlaubt sind »staff« und »households«.")


def import_csv(gate: Gate, kind: str, body: bytes) -> ImportReport:
    """Import one CSV export of the Fachverfahren; audited with its summary."""
    check_import(gate, kind)
    report = apply_plan(gate.session, plan_import(gate.session, kind, body))
    gate.record(f"masterdata.import.{kind}", summary=report.summary())
    return report
