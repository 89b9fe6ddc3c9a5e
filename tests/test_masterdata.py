"""Master data from the Fachverfahren: staff and households, re-imported without duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import transaction
from core.errors import InvalidInput
from records.masterdata import (
    HOUSEHOLD_COLUMNS,
    STAFF_COLUMNS,
    import_households,
    import_staff,
    read_csv,
)
from records.models import Household, Member, Team, User
from tests.support import SAMPLES, migrated_sessions

STAFF = b"""login,name,team,role
lsb.1,Petra Schmitt,Leistung Husum,leistung
lsb.2,Jan Braun,Leistung Husum,leistung
fm.1,Lena Roth,Fallmanagement,fallmanagement
"""
HOUSEHOLDS = """\
bg_number,last_name,first_name,birth_date,street,postcode,town,caseworker,case_manager
95401BG0000001,Müller,Anna,1980-02-29,Hafenstraße 1,25813,Husum,lsb.1,fm.1
95401BG0000001,Müller,Ben,2012-06-01,Hafenstraße 1,25813,Husum,lsb.1,fm.1
95401BG0000002,Öztürk,Ayşe,1975-12-31,Markt 3,25813,Husum,lsb.2,fm.1
""".encode()


@pytest.fixture
def sessions(database_url: str):  # type: ignore[no-untyped-def]
    engine, factory = migrated_sessions(database_url)
    yield factory
    engine.dispose()


def run(sessions, kind: str, data: bytes):  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        if kind == "staff":
            return import_staff(session, read_csv(data, STAFF_COLUMNS))
        return import_households(session, read_csv(data, HOUSEHOLD_COLUMNS))


def test_sample_master_data_imports_completely(sessions) -> None:  # type: ignore[no-untyped-def]
    staff = run(sessions, "staff", (SAMPLES / "staff.csv").read_bytes())
    households = run(sessions, "households", (SAMPLES / "households.csv").read_bytes())
    sample_rows = (SAMPLES / "households.csv").read_text().strip().splitlines()[1:]
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(User)) == len(staff.created) == 16
        assert session.scalar(select(func.count()).select_from(Member)) == len(sample_rows)
        bg_numbers = {row.split(",")[0] for row in sample_rows}
        assert session.scalar(select(func.count()).select_from(Household)) == len(bg_numbers)
    assert households.warnings == []


def test_reimport_updates_and_never_duplicates(sessions) -> None:  # type: ignore[no-untyped-def]
    run(sessions, "staff", STAFF)
    run(sessions, "households", HOUSEHOLDS)
    again = run(sessions, "households", HOUSEHOLDS)
    assert (again.created, again.updated, again.unchanged) == ([], [], 2)

    moved = HOUSEHOLDS.replace(
        b"Hafenstra\xc3\x9fe 1,25813,Husum,lsb.1", b"Deich 7,25813,Husum,lsb.2"
    )
    report = run(sessions, "households", moved)
    assert report.updated == ["95401BG0000001"]
    with transaction(sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == "95401BG0000001"))
        assert household.street == "Deich 7"
        assert household.caseworker.login == "lsb.2"
        assert len(household.members) == 2
        assert session.scalar(select(func.count()).select_from(Household)) == 2


def test_vanished_household_is_marked_inactive_not_deleted(sessions) -> None:  # type: ignore[no-untyped-def]
    run(sessions, "staff", STAFF)
    run(sessions, "households", HOUSEHOLDS)
    without_second = b"\n".join(HOUSEHOLDS.splitlines()[:3]) + b"\n"
    report = run(sessions, "households", without_second)
    assert report.deactivated == ["95401BG0000002"]
    with transaction(sessions) as session:
        gone = session.scalar(select(Household).where(Household.bg_number == "95401BG0000002"))
        assert gone is not None and not gone.active
        assert [m.first_name for m in gone.members] == ["Ayşe"]
    assert run(sessions, "households", HOUSEHOLDS).reactivated == ["95401BG0000002"]


def test_member_leaving_the_household_is_removed_from_it(sessions) -> None:  # type: ignore[no-untyped-def]
    run(sessions, "staff", STAFF)
    run(sessions, "households", HOUSEHOLDS)
    without_ben = b"\n".join(line for line in HOUSEHOLDS.splitlines() if b"Ben" not in line)
    assert run(sessions, "households", without_ben).updated == ["95401BG0000001"]
    with transaction(sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == "95401BG0000001"))
        assert [m.first_name for m in household.members] == ["Anna"]


def test_staff_changes_are_reported_and_leavers_deactivated(sessions) -> None:  # type: ignore[no-untyped-def]
    run(sessions, "staff", STAFF)
    changed = STAFF.replace(b"lsb.2,Jan Braun,Leistung Husum", b"lsb.2,Jan Braun,Leistung Niebuell")
    changed = b"\n".join(line for line in changed.splitlines() if not line.startswith(b"fm.1"))
    report = run(sessions, "staff", changed)
    assert (report.updated, report.deactivated, report.unchanged) == (["lsb.2"], ["fm.1"], 1)
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Team)) == 3
        assert not session.scalar(select(User).where(User.login == "fm.1")).active


def test_semicolons_and_windows_encoding_of_older_exports_are_read(sessions) -> None:  # type: ignore[no-untyped-def]
    run(sessions, "staff", STAFF)
    legacy = HOUSEHOLDS.decode().replace(",", ";").encode("cp1252", errors="replace")
    legacy = legacy.replace("Ayşe".encode("cp1252", errors="replace"), b"Ayse")
    run(sessions, "households", legacy)
    with transaction(sessions) as session:
        names = set(session.scalars(select(Member.last_name)))
    assert names == {"Müller", "Öztürk"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"login,name\nx,y\n", "es fehlen: team, role"),
        (STAFF + b"x,y,T,chef\n", "Zeile 5: .*Rolle 'chef' ist unbekannt"),
    ],
)
def test_broken_staff_file_changes_nothing(sessions, data: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=message):
        run(sessions, "staff", data)
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_unknown_caseworker_is_a_warning_and_leaves_responsibility_open(sessions) -> None:  # type: ignore[no-untyped-def]
    run(sessions, "staff", STAFF)
    report = run(sessions, "households", HOUSEHOLDS.replace(b"lsb.2", b"lsb.99"))
    assert report.warnings == [
        "95401BG0000002: Mitarbeiter/in lsb.99 ist nicht bekannt; Zuständigkeit bleibt offen."
    ]


def test_invalid_bg_number_is_refused(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="keine BG-Nummer"):
        run(sessions, "households", HOUSEHOLDS.replace(b"95401BG0000002", b"95401-0000002"))
