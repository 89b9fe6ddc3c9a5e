"""Demo data from the samples: staff, households and scanned letters, with printed logins."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import select

from core.db import transaction
from ingest.intake import accept_file
from records.masterdata import (
    HOUSEHOLD_COLUMNS,
    STAFF_COLUMNS,
    import_households,
    import_staff,
    read_csv,
)
from records.models import Office, Team, User
from records.runtime import Runtime
from records.users import all_users, first_of_role, has_users, set_password

DEMO_ADMIN = ("admin", "Administration (Demo)")
# Two offices of the demo job centre and their teams (the administration's page shows them).
DEMO_OFFICES = {
    "Dienststelle Husum": ("Leistung Husum", "Fallmanagement", "Poststelle", "Widerspruchsstelle"),
    "Dienststelle Niebüll": ("Leistung Niebüll", "Leistung Inseln"),
}
DEMO_DPO = ("datenschutz", "Datenschutzbeauftragte (Demo)")
# Two records managers: a destruction needs the approval of two people.
DEMO_RECORDS = (
    ("schriftgut", "Schriftgutverwaltung (Demo)"),
    ("schriftgut2", "Schriftgutverwaltung 2 (Demo)"),
)
# An auditor of the audit office and the counter's account for a client's file inspection:
# they see nothing until an administrator (or, at the counter, a caseworker) grants an access.
DEMO_AUDITORS = (
    ("pruefer", "Prüfer Rechnungsprüfungsamt (Demo)"),
    ("einsicht", "Akteneinsicht am Empfang (Demo)"),
)
LOGINS_FILE = "demo-logins.txt"


def is_new(runtime: Runtime) -> bool:
    with transaction(runtime.sessions) as session:
        return not has_users(session)


def load_demo_data(runtime: Runtime) -> int:
    """Import the sample master data, give every user a random password, hand in the scans.

    Returns the number of scans handed in.
    """
    samples = runtime.settings.samples_dir
    with transaction(runtime.sessions) as session:
        import_staff(session, read_csv(samples / "staff.csv", STAFF_COLUMNS))
        session.add(User(login=DEMO_ADMIN[0], name=DEMO_ADMIN[1], role="admin"))
        session.add(User(login=DEMO_DPO[0], name=DEMO_DPO[1], role="datenschutz"))
        for login, name in DEMO_RECORDS:
            session.add(User(login=login, name=name, role="schriftgut"))
        for login, name in DEMO_AUDITORS:
            session.add(User(login=login, name=name, role="pruefung"))
        session.flush()
        for office_name, team_names in DEMO_OFFICES.items():
            office = Office(name=office_name)
            session.add(office)
            for team in session.scalars(select(Team).where(Team.name.in_(team_names))):
                team.office = office
        import_households(session, read_csv(samples / "households.csv", HOUSEHOLD_COLUMNS))
        lines = []
        for user in all_users(session):
            password = secrets.token_urlsafe(9)
            set_password(session, user.login, password, demo=True)
            lines.append(f"{user.login}\t{password}\t{user.role}\t{user.name}")
    logins = runtime.settings.data_dir / LOGINS_FILE
    logins.touch(mode=0o600)
    logins.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with transaction(runtime.sessions) as session:
        desk = first_of_role(session, "scanstelle")
    handed_in = 0
    for scan in sorted((samples / "docs").glob("*.pdf")):
        accept_file(runtime, scan, scan.name, desk, channel="demo", station="Beispieldaten")
        handed_in += 1
    return handed_in


def demo_logins(data_dir: Path) -> list[tuple[str, str, str, str]]:
    path = data_dir / LOGINS_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        login, password, role, name = line.split("\t", 3)
        rows.append((login, password, role, name))
    return rows
