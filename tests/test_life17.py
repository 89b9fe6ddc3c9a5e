"""Closing and reopening files, retention holds and the computed retention, through the
database (SQLite and PostgreSQL): the master-data import's `benefits_end`, files closed and
reopened by hand, holds set and lifted (by hand, and derived from an objection), per-type
periods, and who may do it (issue 17)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.errors import AccessDenied, InvalidInput
from records import lifecycle
from records.access import Gate
from records.masterdata import (
    HOUSEHOLD_COLUMNS,
    STAFF_COLUMNS,
    import_households,
    import_staff,
    plan_import,
    read_csv,
)
from records.models import (
    Appeal,
    AuditEvent,
    DestructionOrder,
    DestructionProtocol,
    Document,
    FileEvent,
    Household,
    Objection,
    User,
)
from records.retention import Rules, TypeRule, file_retention
from tests.support import migrated_sessions

RULES = Rules(
    years=10,
    offer_to_archive=True,
    types={"kontoauszug": TypeRule("kontoauszug", 5, offer_to_archive=False)},
    source="test",
)
TODAY = date(2026, 12, 7)

STAFF = b"""login,name,team,role
lsb.1,Petra Schmitt,Leistung Husum,leistung
lsb.9,Jan Braun,Leistung Inseln,leistung
fm.1,Lena Roth,Fallmanagement,fallmanagement
"""
HEADER = "bg_number,last_name,first_name,birth_date,street,postcode,town,caseworker,case_manager"
A, B, C = "95401BG0000001", "95401BG0000002", "95401BG0000003"


def households(ends: dict[str, str], *, column: bool = True) -> bytes:
    """The three households of the test; `ends` their benefits_end by BG number."""
    lines = [HEADER + (",benefits_end" if column else "")]
    for bg, name in ((A, "Müller"), (B, "Öztürk"), (C, "Jansen")):
        for first in ("Anna", "Ben"):
            row = f"{bg},{name},{first},1980-02-01,Markt 1,25813,Husum,lsb.1,fm.1"
            lines.append(row + (f",{ends.get(bg, '')}" if column else ""))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = migrated_sessions(database_url)
    with transaction(factory) as session:
        import_staff(session, read_csv(STAFF, STAFF_COLUMNS))
        for login, role in (("schriftgut", "schriftgut"), ("admin", "admin")):
            session.add(User(login=login, name=login, role=role))
        session.add(User(login="datenschutz", name="DSB", role="datenschutz"))
    yield factory
    engine.dispose()


def run_import(sessions: sessionmaker[Session], data: bytes):  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        return import_households(session, read_csv(data, HOUSEHOLD_COLUMNS))


def gate_of(session: Session, login: str) -> Gate:
    user = session.scalar(select(User).where(User.login == login))
    assert user is not None
    return Gate(session, user)


def _household(session: Session, bg: str) -> Household:
    household = session.scalar(select(Household).where(Household.bg_number == bg))
    assert household is not None
    return household


def retention(sessions: sessionmaker[Session], bg: str, today: date = TODAY):  # type: ignore[no-untyped-def]
    with transaction(sessions, read_only=True) as session:
        return file_retention(session, _household(session, bg), RULES, today)


def events(sessions: sessionmaker[Session], bg: str) -> list[tuple[str, str, date | None]]:
    with transaction(sessions, read_only=True) as session:
        rows = session.execute(
            select(FileEvent.kind, FileEvent.source, FileEvent.event_date)
            .join(Household, Household.id == FileEvent.household_id)
            .where(Household.bg_number == bg)
            .order_by(FileEvent.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_benefits_end_from_the_import_closes_files_and_sets_their_dates(sessions) -> None:  # type: ignore[no-untyped-def]
    report = run_import(sessions, households({A: "2014-06-30", B: "2014-12-31", C: ""}))
    assert sorted(report.closed) == [A, B] and report.reopened == []
    # 30.06.2014 and 31.12.2014: the same year, due from 01.01.2025; C runs.
    assert retention(sessions, A).due_from == date(2025, 1, 1)
    assert retention(sessions, A).status == "due"
    assert retention(sessions, B).status == "due"
    assert retention(sessions, C).status == "open"
    assert events(sessions, A) == [("closed", "import", date(2014, 6, 30))]
    # Benefits that end on New Year's Day count from that year.
    run_import(sessions, households({A: "2014-06-30", B: "2015-01-01"}))
    assert retention(sessions, B).due_from == date(2026, 1, 1)
    assert retention(sessions, B, date(2025, 12, 31)).status == "running"


def test_reimporting_is_idempotent_and_an_empty_date_reopens(sessions) -> None:  # type: ignore[no-untyped-def]
    ends = {A: "2016-03-31"}
    run_import(sessions, households(ends))
    again = run_import(sessions, households(ends))
    assert again.closed == [] and again.updated == []
    assert events(sessions, A) == [("closed", "import", date(2016, 3, 31))]
    # An export without the column changes no file.
    run_import(sessions, households({}, column=False))
    assert retention(sessions, A).event_date == date(2016, 3, 31)
    # The household applies again: empty again, the file is open.
    reopened = run_import(sessions, households({}))
    assert reopened.reopened == [A]
    assert retention(sessions, A).status == "open"
    assert [e[0] for e in events(sessions, A)] == ["closed", "reopened"]
    run_import(sessions, households({}))
    assert len(events(sessions, A)) == 2


def test_the_preview_counts_files_closed_and_reopened(sessions) -> None:  # type: ignore[no-untyped-def]
    run_import(sessions, households({A: "2016-03-31"}))
    with transaction(sessions, read_only=True) as session:
        plan = plan_import(session, "households", households({B: "2017-01-31"}))
        assert plan.report().closed == [B] and plan.report().reopened == [A]
        assert "1 Akten geschlossen, 1 Akten wiedereröffnet" in plan.report().summary()


def test_a_bad_date_names_its_line_and_changes_nothing(sessions) -> None:  # type: ignore[no-untyped-def]
    run_import(sessions, households({A: "2016-03-31"}))
    with pytest.raises(InvalidInput) as caught:
        run_import(sessions, households({A: "", B: "2016-02-30"}))
    assert "Zeile 4" in caught.value.message and "Leistungsende" in caught.value.message
    assert retention(sessions, A).event_date == date(2016, 3, 31)
    assert retention(sessions, B).status == "open"


def _destroyed(sessions: sessionmaker[Session], bg: str, event: date) -> None:
    with transaction(sessions) as session:
        order = DestructionOrder(kind="run", reason="Frist", requested_by_login="schriftgut")
        session.add(order)
        session.flush()
        session.add(
            DestructionProtocol(
                order_id=order.id,
                kind="file",
                bg_number=bg,
                event_date=event,
                rule="10 Jahre",
                requested_by_login="schriftgut",
                state="done",
            )
        )


def test_a_destroyed_file_is_not_brought_back_but_a_new_application_is_new(sessions) -> None:  # type: ignore[no-untyped-def]
    _destroyed(sessions, C, date(2014, 6, 30))
    report = run_import(sessions, households({C: "2014-06-30"}))
    assert C not in report.created
    assert any(C in w and "vernichtet" in w for w in report.warnings)
    with transaction(sessions, read_only=True) as session:
        assert session.scalar(select(Household).where(Household.bg_number == C)) is None
    # The household applies again, benefits running: a new file.
    report = run_import(sessions, households({}))
    assert C in report.created
    assert retention(sessions, C).status == "open"


def test_a_file_being_destroyed_is_left_alone_by_the_import(sessions) -> None:  # type: ignore[no-untyped-def]
    run_import(sessions, households({A: "2014-06-30"}))
    with transaction(sessions) as session:
        _household(session, A).destruction_started_at = datetime(2026, 12, 1, tzinfo=UTC)
    report = run_import(sessions, households({}))
    assert report.reopened == [] and any(A in w and "vernichtet" in w for w in report.warnings)
    assert events(sessions, A) == [("closed", "import", date(2014, 6, 30))]


def _document(session: Session, household: Household, doc_type: str, day: date) -> Document:
    document = Document(
        household_id=household.id,
        source_name=f"{doc_type}.pdf",
        content_type="application/pdf",
        size_bytes=1,
        original_key=f"originals/{uuid.uuid4()}",
        original_sha256="0" * 64,
        doc_type=doc_type,
        receipt_date=day,
    )
    session.add(document)
    session.flush()
    return document


def test_a_document_type_with_a_shorter_period_is_due_before_its_file(sessions) -> None:  # type: ignore[no-untyped-def]
    run_import(sessions, households({A: "2019-05-31"}))
    with transaction(sessions) as session:
        household = _household(session, A)
        statement = _document(session, household, "kontoauszug", date(2019, 1, 10))
        _document(session, household, "bescheid", date(2019, 2, 1))
        wanted = str(statement.id)
    found = retention(sessions, A)
    assert found.status == "running" and found.due_from == date(2030, 1, 1)
    assert [(d.document_id, d.due_from) for d in found.documents_due] == [
        (wanted, date(2025, 1, 1))
    ]
    with transaction(sessions, read_only=True) as session:
        listed = lifecycle.due_list(gate_of(session, "schriftgut"), RULES, TODAY, "laufend")
        assert [d.document_id for _r, d in listed.documents] == [wanted]
        assert [r.bg_number for r in listed.files] == [A]


def test_an_open_objection_holds_the_file_until_it_is_concluded(sessions) -> None:  # type: ignore[no-untyped-def]
    run_import(sessions, households({A: "2014-06-30"}))
    with transaction(sessions) as session:
        household = _household(session, A)
        letter = _document(session, household, "widerspruch", date(2014, 7, 15))
        objection = Objection(
            household_id=household.id,
            document_id=letter.id,
            receipt_date=date(2014, 7, 15),
            status_by_login="lsb.1",
            created_by_login="lsb.1",
        )
        session.add(objection)
        session.flush()
        objection_id = objection.id
    held = retention(sessions, A)
    assert held.status == "held" and [h.kind for h in held.holds] == ["widerspruch"]
    with transaction(sessions, read_only=True) as session:
        listed = lifecycle.due_list(gate_of(session, "schriftgut"), RULES, TODAY, "gesperrt")
        assert [r.bg_number for r in listed.files] == [A]
    # Concluded on 01.03.2017: the hold ends, the last decision final moves the event.
    with transaction(sessions) as session:
        concluded = session.get(Objection, objection_id)
        assert concluded is not None
        concluded.status = "zurueckgewiesen"
        concluded.status_at = datetime(2017, 3, 1, 10, tzinfo=UTC)
    after = retention(sessions, A)
    assert after.holds == () and after.event_date == date(2017, 3, 1)
    assert after.status == "running" and after.due_from == date(2028, 1, 1)


def test_a_pending_appeal_holds_the_file_and_its_end_counts(sessions) -> None:  # type: ignore[no-untyped-def]
    run_import(sessions, households({A: "2014-06-30"}))
    with transaction(sessions) as session:
        household = _household(session, A)
        letter = _document(session, household, "klage", date(2015, 2, 1))
        appeal = Appeal(
            household_id=household.id,
            document_id=letter.id,
            court="Sozialgericht Schleswig",
            file_reference="S 12 AS 1/15",
            served_on=date(2015, 2, 1),
            created_by_login="ws.1",
        )
        session.add(appeal)
        session.flush()
        appeal_id = appeal.id
    held = retention(sessions, A)
    assert held.status == "held" and held.holds[0].kind == "klage"
    assert "S 12 AS 1/15" in held.holds[0].reason
    with transaction(sessions) as session:
        ended = session.get(Appeal, appeal_id)
        assert ended is not None
        ended.status, ended.status_at = "erledigt", datetime(2016, 5, 2, 9, tzinfo=UTC)
    after = retention(sessions, A)
    assert after.holds == () and after.event_date == date(2016, 5, 2)
    assert after.due_from == date(2027, 1, 1)


def test_a_hold_by_hand_with_an_end_and_lifted(sessions) -> None:  # type: ignore[no-untyped-def]
    run_import(sessions, households({A: "2014-06-30"}))
    with transaction(sessions) as session:
        hold = lifecycle.set_hold(
            gate_of(session, "schriftgut"),
            A,
            "erstattung",
            "Rückforderung vom 01.02.2024 offen",
            date(2027, 6, 30),
            TODAY,
        )
        hold_id = hold.id
    held = retention(sessions, A)
    assert held.status == "held" and held.holds[0].reason == "Rückforderung vom 01.02.2024 offen"
    assert retention(sessions, A, date(2027, 7, 1)).status == "due"  # its end passed
    with transaction(sessions) as session:
        lifecycle.lift_hold(gate_of(session, "lsb.1"), A, hold_id, "Forderung beglichen")
    assert retention(sessions, A).status == "due"
    with transaction(sessions, read_only=True) as session:
        view = lifecycle.lifecycle(gate_of(session, "schriftgut"), A, RULES, TODAY)
        assert not view.holds[0].active
        assert "Forderung beglichen" in view.holds[0].lifted
    with transaction(sessions, read_only=True) as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.bg_number == A))
        assert {"retention.hold_set", "retention.hold_lifted"} <= set(actions)


def test_hold_errors_are_german_and_keep_nothing(sessions) -> None:  # type: ignore[no-untyped-def]
    run_import(sessions, households({A: "2014-06-30"}))
    for code, text, until, message in (
        ("erstattung", "  ", None, "Begründung"),
        ("widerspruch", "x", None, "Grund"),  # derived only, never by hand
        ("erstattung", "x", date(2020, 1, 1), "Vergangenheit"),
    ):
        with pytest.raises(InvalidInput) as caught, transaction(sessions) as session:
            lifecycle.set_hold(gate_of(session, "schriftgut"), A, code, text, until, TODAY)
        assert message in caught.value.message
    assert retention(sessions, A).status == "due"


def test_closing_by_hand_and_reopening(sessions) -> None:  # type: ignore[no-untyped-def]
    run_import(sessions, households({}))
    with pytest.raises(InvalidInput), transaction(sessions) as session:
        lifecycle.close_file(gate_of(session, "lsb.1"), A, date(2020, 5, 1), "", TODAY)
    with transaction(sessions) as session:
        lifecycle.close_file(
            gate_of(session, "lsb.1"), A, date(2020, 5, 1), "Umzug ins Ausland", TODAY
        )
    closed = retention(sessions, A)
    assert closed.status == "running" and closed.due_from == date(2031, 1, 1)
    assert "Akte von Hand geschlossen (zdA)" in [s.label for s in closed.steps]
    with transaction(sessions) as session:
        lifecycle.reopen_file(gate_of(session, "schriftgut"), A, "Neuantrag vom 01.12.2026")
    assert retention(sessions, A).status == "open"
    assert [(k, s) for k, s, _d in events(sessions, A)] == [
        ("closed", "manual"),
        ("reopened", "manual"),
    ]


def _denied(sessions: sessionmaker[Session], login: str) -> int:
    with transaction(sessions, read_only=True) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.actor_login == login, AuditEvent.outcome == "denied")
            )
            or 0
        )


@pytest.mark.parametrize("login", ["lsb.9", "admin", "datenschutz"])
def test_who_may_not(sessions, login: str) -> None:  # type: ignore[no-untyped-def]
    """A caseworker outside need-to-know, the administration and the data protection officer
    are refused, and each refusal is in the audit log."""
    run_import(sessions, households({A: "2014-06-30"}))
    attempts = [
        lambda g: lifecycle.set_hold(g, A, "erstattung", "x", None, TODAY),
        lambda g: lifecycle.reopen_file(g, A, "x"),
        lambda g: lifecycle.lifecycle(g, A, RULES, TODAY),
        lambda g: lifecycle.due_list(g, RULES, TODAY),
    ]
    for attempt in attempts:
        with pytest.raises(AccessDenied), transaction(sessions) as session:
            attempt(gate_of(session, login))
    assert _denied(sessions, login) == len(attempts)
    assert retention(sessions, A).status == "due"


def test_the_records_manager_sees_the_due_list_without_names(sessions) -> None:  # type: ignore[no-untyped-def]
    run_import(sessions, households({A: "2014-06-30", B: "2020-01-31"}))
    with transaction(sessions) as session:
        listed = lifecycle.due_list(gate_of(session, "schriftgut"), RULES, TODAY)
        assert [r.bg_number for r in listed.files] == [A]
        running = lifecycle.due_list(gate_of(session, "schriftgut"), RULES, TODAY, "laufend")
        assert [r.bg_number for r in running.files] == [B]
    with transaction(sessions, read_only=True) as session:
        audited = session.scalars(
            select(AuditEvent.action).where(AuditEvent.actor_login == "schriftgut")
        )
        assert list(audited).count("records.due") == 2
