"""Import of staff and households from the Fachverfahren's CSV exports.

Re-importing a file updates what changed and never duplicates; staff and households that are no
longer in the export are marked inactive, never deleted, because documents still refer to them.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import InvalidInput, NotFound
from records.access import Capability, Gate
from records.iban import normalise_email, normalise_iban
from records.identifiers import normalize_bg_number
from records.models import ROLES, Household, Member, Team, User

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


@dataclass
class ImportReport:
    kind: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.kind}: {len(self.created)} neu, {len(self.updated)} geändert, "
            f"{len(self.deactivated)} deaktiviert, {len(self.reactivated)} reaktiviert, "
            f"{self.unchanged} unverändert"
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


def import_staff(session: Session, rows: list[dict[str, str]]) -> ImportReport:
    report = ImportReport("Mitarbeitende")
    teams = {t.name: t for t in session.scalars(select(Team))}
    users = {u.login: u for u in session.scalars(select(User))}
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        login, role = row["login"], row["role"]
        if not login or role not in ROLES:
            raise InvalidInput(
                f"Zeile {line}: Login fehlt oder Rolle {role!r} ist unbekannt "
                f"(erlaubt: {', '.join(ROLES)}).",
                code="csv_row",
            )
        if login in seen:
            raise InvalidInput(f"Zeile {line}: Login {login} kommt doppelt vor.", code="csv_row")
        seen.add(login)
        team = None
        if row["team"]:
            team = teams.get(row["team"])
            if team is None:
                team = teams[row["team"]] = Team(name=row["team"])
                session.add(team)
        user = users.get(login)
        if user is None:
            session.add(User(login=login, name=row["name"], role=role, team=team))
            report.created.append(login)
            continue
        changed = (user.name, user.role, user.team) != (row["name"], role, team)
        user.name, user.role, user.team = row["name"], role, team
        if not user.active:
            user.active = True
            report.reactivated.append(login)
        elif changed:
            report.updated.append(login)
        else:
            report.unchanged += 1
    for login, user in users.items():
        # Administrators are managed in the product, not in the Fachverfahren export.
        if login not in seen and user.active and user.role != "admin":
            user.active = False
            report.deactivated.append(login)
    session.flush()
    return report


def _parse_date(value: str, line: int) -> date | None:
    if not value:
        return None
    try:
        if "." in value:
            day, month, year = value.split(".")
            return date(int(year), int(month), int(day))
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"Zeile {line}: Geburtsdatum {value!r} ist ungültig.", code="csv_row"
        ) from None


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


def import_households(session: Session, rows: list[dict[str, str]]) -> ImportReport:
    report = ImportReport("Bedarfsgemeinschaften")
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
    for bg_number, member_rows in grouped.items():
        line, first = member_rows[0]
        caseworker = _staff(users, first["caseworker"], bg_number, report)
        case_manager = _staff(users, first["case_manager"], bg_number, report)
        address = (first["street"], first["postcode"], first["town"])
        members: dict[MemberKey, tuple[str | None, str | None]] = {}
        for n, r in member_rows:
            key = (r["last_name"], r["first_name"], _parse_date(r["birth_date"], n))
            members[key] = (
                _parse_iban(r.get("iban", ""), n),
                _parse_email(r.get("email", ""), n),
            )
        household = existing.get(bg_number)
        if household is None:
            household = Household(bg_number=bg_number)
            session.add(household)
            report.created.append(bg_number)
            before = None
        else:
            before = _snapshot(household)
        household.street, household.postcode, household.town = address
        household.caseworker = caseworker
        household.case_manager = case_manager
        current = {(m.last_name, m.first_name, m.birth_date): m for m in household.members}
        for key in current.keys() - members.keys():
            household.members.remove(current[key])
        for key in sorted(members.keys() - current.keys(), key=str):
            last_name, first_name, birth_date = key
            iban, email = members[key]
            household.members.append(
                Member(
                    last_name=last_name,
                    first_name=first_name,
                    birth_date=birth_date,
                    iban=iban,
                    email=email,
                )
            )
        for key in members.keys() & current.keys():
            member = current[key]
            member.iban, member.email = members[key]
        if before is not None and _snapshot(household) != before:
            # A changed IBAN or address alone must renew recognition's snapshot too.
            household.updated_at = utcnow()
        if before is None:
            household.active = True
            continue
        if not household.active:
            household.active = True
            report.reactivated.append(bg_number)
        elif _snapshot(household) != before:
            report.updated.append(bg_number)
        else:
            report.unchanged += 1
    for bg_number, household in existing.items():
        if bg_number not in grouped and household.active:
            household.active = False
            report.deactivated.append(bg_number)
    session.flush()
    return report


def _staff(users: dict[str, User], login: str, bg_number: str, report: ImportReport) -> User | None:
    if not login:
        return None
    user = users.get(login)
    if user is None:
        report.warnings.append(
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
    if kind == "staff":
        report = import_staff(gate.session, read_csv(body, STAFF_COLUMNS))
    else:
        report = import_households(gate.session, read_csv(body, HOUSEHOLD_COLUMNS))
    gate.record(f"masterdata.import.{kind}", summary=report.summary())
    return report
