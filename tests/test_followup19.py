"""Follow-up dates (Wiedervorlagen, issue 19): setting one on a file or a document, for oneself or
the team; the refusals; who sees it in the Postkorb on its date (owner, team, deputy during an
absence) and who does not; moving and closing with a reason; a request's follow-up listing the
items still missing; the audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.runtime import Runtime
from core.dates import LOCAL_TZ, set_clock
from core.db import transaction, utcnow
from core.errors import AccessDenied, InvalidInput
from records import followups
from records.access import Gate
from records.models import (
    Deputy,
    DocumentRequest,
    FollowUp,
    Household,
    RequestItem,
    User,
)
from tests.support import ISLANDS, OWN, audit_rows, file_letter, load_people, pages_client_for

OWNER = "lsb.95401.2"  # Laura Carstensen, caseworker of OWN, team Leistung Husum
TEAMMATE = "lsb.95401.1"  # Petra Schmitt, same team
DEPUTY = "lsb.95403.1"  # Sönke Wagner, Inseln: stands in for Laura in one test
OTHER = "lsb.95402.1"  # Finn Keller, Niebüll: nothing to do with OWN
TODAY = date(2026, 12, 7)
LATER = TODAY + timedelta(days=10)


def _at(day: date) -> None:
    set_clock(lambda: datetime(day.year, day.month, day.day, 9, 0, tzinfo=LOCAL_TZ))


@pytest.fixture
def people(sqlite_runtime: Runtime) -> Iterator[Runtime]:
    """The sample staff and households, on a fixed day; the clock restored afterwards."""
    _at(TODAY)
    load_people(sqlite_runtime)
    yield sqlite_runtime
    set_clock(None)


def _as(runtime: Runtime, login: str, work, *, write: bool = True):  # type: ignore[no-untyped-def]
    """Run `work(gate)` as `login` in one unit of work (it audits a refusal after rollback)."""
    with transaction(runtime.sessions, read_only=not write) as session:
        user = session.scalar(select(User).where(User.login == login))
        assert user is not None
        return work(Gate(session, user))


def _create(runtime: Runtime, login: str = OWNER, **kw: object) -> int:
    due = kw.pop("due_on", LATER)
    note = kw.pop("note", "Einkommensnachweis prüfen")
    bg = kw.pop("bg", OWN)
    return int(
        _as(
            runtime,
            login,
            lambda gate: followups.create_follow_up(gate, bg, due, note, **kw).id,  # type: ignore[arg-type]
        )
    )


def _due(runtime: Runtime, login: str) -> list[followups.Line]:
    return list(_as(runtime, login, followups.due_today))


def _letter(runtime: Runtime, bg: str) -> str:
    with transaction(runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == bg))
        return str(file_letter(session, household, "sonstiges", "Ein Brief").id)


def test_create_for_oneself_the_team_and_a_document(people: Runtime) -> None:
    own = _create(people)
    team = _create(people, for_team=True, note="Team: Umzug klären")
    document = _letter(people, OWN)
    on_doc = _create(people, document_id=document, note="Lohnabrechnung nachfordern")
    with transaction(people.sessions, read_only=True) as session:
        rows = {r.id: r for r in session.scalars(select(FollowUp))}
        laura = session.scalar(select(User).where(User.login == OWNER))
        assert laura is not None
        assert (rows[own].user_id, rows[own].team_id) == (laura.id, None)
        assert (rows[team].user_id, rows[team].team_id) == (None, laura.team_id)
        assert str(rows[on_doc].document_id) == document
        assert rows[own].due_on == LATER and rows[own].kind == "manual"
    assert [r.object_id for r in audit_rows(people, "followup.create")] == [
        str(own),
        str(team),
        str(on_doc),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"due_on": TODAY - timedelta(days=1)}, "due_on"),
        ({"note": "  "}, "note"),
        ({"note": "x" * (followups.NOTE_MAX + 1)}, "note"),
    ],
)
def test_bad_input_is_refused_with_its_field(
    people: Runtime, change: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        _create(people, OWNER, **change)
    assert error.value.details["field"] == field
    with transaction(people.sessions, read_only=True) as session:
        assert session.scalars(select(FollowUp)).all() == []


def test_a_document_of_another_household_is_refused(people: Runtime) -> None:
    foreign = _letter(people, ISLANDS)
    with pytest.raises(InvalidInput) as error:
        _create(people, document_id=foreign)
    assert error.value.details["field"] == "document_id"
    with pytest.raises(InvalidInput):
        _create(people, document_id=str(uuid.uuid4()))


def test_no_follow_up_without_need_to_know_or_on_a_handed_over_file(people: Runtime) -> None:
    with pytest.raises(AccessDenied):
        _create(people, login=OTHER)
    with pytest.raises(AccessDenied):
        _create(people, login="post.1")
    with transaction(people.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        assert household is not None
        household.handed_over_at = utcnow()
        household.handed_over_to = "Jobcenter Kiel"
    with pytest.raises(AccessDenied) as error:
        _create(people)
    assert "Jobcenter Kiel" in error.value.message
    denied = audit_rows(people, "followup.create")
    assert [r.outcome for r in denied] == ["denied", "denied", "denied"]
    with transaction(people.sessions, read_only=True) as session:
        assert session.scalars(select(FollowUp)).all() == []


def test_due_on_its_date_for_owner_team_and_deputy_only(people: Runtime) -> None:
    own = _create(people, note="Für Laura")
    team = _create(people, for_team=True, note="Für das Team")
    for login in (OWNER, TEAMMATE, DEPUTY, OTHER):
        assert _due(people, login) == [], login  # not before its date
    _at(LATER)
    assert {line.id for line in _due(people, OWNER)} == {own, team}
    assert [line.id for line in _due(people, TEAMMATE)] == [team]
    assert _due(people, DEPUTY) == []  # no absence yet
    assert _due(people, OTHER) == []
    with transaction(people.sessions) as session:
        users = {u.login: u for u in session.scalars(select(User))}
        session.add(
            Deputy(
                absent=users[OWNER],
                deputy=users[DEPUTY],
                starts_on=LATER,
                ends_on=LATER + timedelta(days=2),
                created_by_login="admin",
            )
        )
    lines = _due(people, DEPUTY)
    assert [(line.id, line.whose) for line in lines] == [(own, "für Laura Carstensen (Vertretung)")]
    assert lines[0].text == "Für Laura" and lines[0].href == f"/akte/{OWN}#wiedervorlagen"
    _at(LATER + timedelta(days=3))  # the absence is over; overdue for the owner
    assert _due(people, DEPUTY) == []
    assert all(line.overdue for line in _due(people, OWNER))
    upcoming = _as(people, OWNER, followups.upcoming)
    assert [line.id for line in upcoming] == [own, team]
    assert [r.actor_login for r in audit_rows(people, "followup.list")] == [OWNER]
    shown = {(r.actor_login, r.outcome) for r in audit_rows(people, "followup.due")}
    assert shown == {(OWNER, "ok"), (TEAMMATE, "ok"), (DEPUTY, "ok")}


def test_move_and_done_with_a_reason_kept_in_the_history(people: Runtime) -> None:
    fid = _create(people)
    new_day = LATER + timedelta(days=7)
    with pytest.raises(InvalidInput) as error:
        _as(people, OWNER, lambda g: followups.move_follow_up(g, fid, new_day, " "))
    assert error.value.details["field"] == "reason"
    _as(people, OWNER, lambda g: followups.move_follow_up(g, fid, new_day, "Kundin im Urlaub"))
    _at(LATER)
    assert _due(people, OWNER) == []  # moved away from this day
    _at(new_day)
    assert [line.id for line in _due(people, OWNER)] == [fid]
    with pytest.raises(InvalidInput):
        _as(people, OWNER, lambda g: followups.complete_follow_up(g, fid, ""))
    _as(people, TEAMMATE, lambda g: followups.complete_follow_up(g, fid, "Nachweis liegt vor"))
    assert _due(people, OWNER) == []
    with transaction(people.sessions, read_only=True) as session:
        row = session.get(FollowUp, fid)
        assert row is not None
        assert [(m["from"], m["to"], m["reason"], m["by"]) for m in row.moves] == [
            (LATER.isoformat(), new_day.isoformat(), "Kundin im Urlaub", OWNER)
        ]
        assert (row.done_reason, row.done_by_login) == ("Nachweis liegt vor", TEAMMATE)
    with pytest.raises(AccessDenied):
        _as(people, OTHER, lambda g: followups.complete_follow_up(g, fid, "fremd"))
    assert [r.actor_login for r in audit_rows(people, "followup.move")] == [OWNER]
    assert [(r.actor_login, r.outcome) for r in audit_rows(people, "followup.done")] == [
        (TEAMMATE, "ok"),
        (OTHER, "denied"),
    ]


def test_a_request_follow_up_lists_exactly_the_missing_items(people: Runtime) -> None:
    with transaction(people.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        laura = session.scalar(select(User).where(User.login == OWNER))
        assert household is not None and laura is not None
        request = DocumentRequest(
            household_id=household.id,
            requested_by_id=laura.id,
            person_name="Kim Muster",
            due_on=LATER,
            dispatch_date=TODAY,
        )
        request.items = [
            RequestItem(code="kontoauszug", label="Kontoauszüge", detail="10/2026 bis 11/2026"),
            RequestItem(code="mietbescheinigung", label="Mietbescheinigung", state="arrived"),
            RequestItem(code="verdienstabrechnung", label="Verdienstabrechnungen"),
        ]
        session.add(request)
        session.flush()
        request_id = request.id
    fid = _create(people, note="", kind="request", request_id=request_id)
    (waiting,) = _as(people, OWNER, followups.upcoming)
    assert waiting.text.startswith(f"Frist bis {LATER.strftime('%d.%m.%Y')}: noch fehlend")
    _at(LATER)
    (line,) = _due(people, OWNER)
    assert line.text == (
        "Frist abgelaufen: fehlend Kontoauszüge (10/2026 bis 11/2026), Verdienstabrechnungen"
    )
    assert line.href == f"/akte/{OWN}#anforderung-{request_id}"
    with transaction(people.sessions) as session:
        closed = followups.close_follow_ups_of_request(
            session, request_id, "Alle Unterlagen eingegangen", OWNER
        )
    assert closed == 1
    assert _due(people, OWNER) == []
    with transaction(people.sessions, read_only=True) as session:
        row = session.get(FollowUp, fid)
        assert row is not None and row.done_reason == "Alle Unterlagen eingegangen"


def test_the_pages_set_show_and_close_a_follow_up(people: Runtime) -> None:
    client = pages_client_for(people, OWNER)
    form = {"due_on": LATER.isoformat(), "note": "Mietvertrag prüfen", "fuer": "team"}
    answer = client.post(f"/akte/{OWN}/wiedervorlagen", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    akte = client.get(f"/akte/{OWN}").text
    assert "Mietvertrag prüfen" in akte and "für Team Leistung Husum" in akte
    assert (TODAY + timedelta(days=14)).isoformat() in akte  # the form's default date
    refused = client.post(f"/akte/{OWN}/wiedervorlagen", data={**form, "note": ""})
    assert refused.status_code == 422
    assert 'aria-describedby="fu-new-note-error"' in refused.text
    assert "Heute fällige Wiedervorlagen" not in client.get("/postkorb").text
    _at(LATER)
    teammate = pages_client_for(people, TEAMMATE)
    postkorb = teammate.get("/postkorb").text
    assert "Heute fällige Wiedervorlagen" in postkorb and "Mietvertrag prüfen" in postkorb
    (line,) = _due(people, TEAMMATE)
    empty = teammate.post(f"/wiedervorlagen/{line.id}/erledigt", data={"zurueck": "postkorb"})
    assert empty.status_code == 422 and "Bitte einen Grund" in empty.text
    done = teammate.post(
        f"/wiedervorlagen/{line.id}/erledigt",
        data={"zurueck": "postkorb", "reason": "erledigt am Telefon"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/postkorb")
    assert "Heute fällige Wiedervorlagen" not in teammate.get("/postkorb").text
    assert "Keine offene Wiedervorlage." in teammate.get("/wiedervorlagen").text
    assert pages_client_for(people, OTHER).get(f"/akte/{OWN}/wiedervorlagen").status_code == 403


def test_the_list_page_moves_a_follow_up_and_keeps_its_history(people: Runtime) -> None:
    fid = _create(people, note="Umzug klären")
    client = pages_client_for(people, OWNER)
    listed = client.get("/wiedervorlagen").text
    assert "Umzug klären" in listed and "für mich" in listed
    form = {"zurueck": "liste", "due_on": (TODAY - timedelta(days=1)).isoformat(), "reason": "x"}
    refused = client.post(f"/wiedervorlagen/{fid}/verschieben", data=form)
    assert refused.status_code == 422
    assert f'aria-describedby="fu-move-{fid}-due_on-error"' in refused.text
    new_day = LATER + timedelta(days=3)
    form |= {"due_on": new_day.isoformat(), "reason": "Kunde krank"}
    moved = client.post(f"/wiedervorlagen/{fid}/verschieben", data=form, follow_redirects=False)
    assert moved.status_code == 303
    page = client.get(f"/akte/{OWN}/wiedervorlagen").text
    assert f"verschoben vom {LATER:%d.%m.%Y} auf den {new_day:%d.%m.%Y}" in page
    assert "Kunde krank" in page
