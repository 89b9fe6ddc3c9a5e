"""Withdrawing a request for documents (issue 19): the service (its follow-up done, the reason
in the request's history and the audit log, refusals changing nothing), the E-Akte's form
(reason required, German error at its field; afterwards "zurückgenommen", no reminder, the
follow-up gone from the Wiedervorlagen and from the Postkorb's "Frist abgelaufen") and the
command `eakte requests withdraw`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from core.dates import LOCAL_TZ, set_clock
from core.db import record_after_rollback, run_after_commit, transaction, utcnow
from core.errors import AccessDenied, InvalidInput, NotFound
from records.access import Gate
from records.models import DocumentRequest, FollowUp, Household, User
from records.requests import create_request, request_view, withdraw
from records.runtime import Runtime
from tests.support import audit_rows, cli_env, load_people, pages_client_for, run_cli

BG = "95401BG7267253"  # Christiansen/Schmitz, caseload of lsb.95401.2 (Leistung Husum)
CASEWORKER = "lsb.95401.2"
OUTSIDER = "lsb.95402.1"  # Leistung Niebüll: not this file
TODAY = date(2026, 12, 7)  # a Monday
DUE = date(2026, 12, 21)
AFTER = DUE + timedelta(days=2)  # the deadline has passed


def _at(day: date) -> None:
    set_clock(lambda: datetime(day.year, day.month, day.day, 9, 0, tzinfo=LOCAL_TZ))


@pytest.fixture
def people(sqlite_runtime: Runtime) -> Iterator[Runtime]:
    """The sample staff and households on TODAY; the clock restored afterwards."""
    _at(TODAY)
    load_people(sqlite_runtime)
    yield sqlite_runtime
    set_clock(None)


def _create(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        user = session.scalar(select(User).where(User.login == CASEWORKER))
        assert user is not None
        created = create_request(
            Gate(session, user),
            runtime,
            BG,
            [("kontoauszug", "01.09.2026-30.11.2026"), ("mietbescheinigung", "")],
            DUE,
            today=TODAY,
        )
        request_id = created.request.id
    run_after_commit(session)
    return request_id


def _withdraw(runtime: Runtime, login: str, request_id: int, reason: str, **kw: str) -> None:
    """`withdraw` as `login` in one unit of work; a refusal audited after the rollback."""
    try:
        with transaction(runtime.sessions) as session:
            user = session.scalar(select(User).where(User.login == login))
            withdraw(Gate(session, user), request_id, reason, **kw)  # type: ignore[arg-type]
    except (InvalidInput, AccessDenied) as error:
        record_after_rollback(runtime.sessions, error)
        raise


def _state(runtime: Runtime, request_id: int) -> tuple[str, bool]:
    """The request's state and whether its follow-up is still open."""
    with transaction(runtime.sessions, read_only=True) as session:
        request = session.get(DocumentRequest, request_id)
        assert request is not None
        open_follow_ups = session.scalars(
            select(FollowUp).where(FollowUp.request_id == request_id, FollowUp.done_at.is_(None))
        ).all()
        return request.state, bool(open_follow_ups)


# --- the service --------------------------------------------------------------------------


def test_a_withdrawal_closes_the_follow_up_and_keeps_the_reason_in_the_history(
    people: Runtime,
) -> None:
    request_id = _create(people)
    _withdraw(people, CASEWORKER, request_id, "  Leistungen  eingestellt ")
    assert _state(people, request_id) == ("withdrawn", False)
    with transaction(people.sessions, read_only=True) as session:
        user = session.scalar(select(User).where(User.login == CASEWORKER))
        view = request_view(Gate(session, user), request_id, today=AFTER)  # type: ignore[arg-type]
        (follow_up,) = session.scalars(select(FollowUp).where(FollowUp.request_id == request_id))
        assert follow_up.done_by_login == CASEWORKER
        assert follow_up.done_reason == "Anforderung zurückgenommen: Leistungen eingestellt"
    # No longer "Frist abgelaufen": a withdrawn request waits for nothing.
    assert (view.state, view.overdue, view.state_label) == ("withdrawn", False, "zurückgenommen")
    last = view.history[-1]
    assert last.on == TODAY
    assert last.text == (
        "Anforderung zurückgenommen von Laura Carstensen – Grund: Leistungen eingestellt"
    )
    (row,) = audit_rows(people, "request.withdrawn")
    assert (row.outcome, row.actor_login, row.bg_number) == ("ok", CASEWORKER, BG)
    assert row.details["reason"] == "Leistungen eingestellt"


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("   ", "Bitte einen Grund für die Rücknahme angeben."),
        ("x" * 301, "Der Grund ist zu lang (höchstens 300 Zeichen)."),
    ],
)
def test_a_withdrawal_without_a_fitting_reason_changes_nothing(
    people: Runtime, reason: str, message: str
) -> None:
    request_id = _create(people)
    with pytest.raises(InvalidInput) as caught:
        _withdraw(people, CASEWORKER, request_id, reason)
    assert caught.value.message == message
    assert _state(people, request_id) == ("open", True)
    assert audit_rows(people, "request.withdrawn") == []


def test_a_withdrawal_is_refused_twice_outside_need_to_know_and_on_a_file_handed_over(
    people: Runtime,
) -> None:
    request_id = _create(people)
    with pytest.raises(AccessDenied):
        _withdraw(people, OUTSIDER, request_id, "Versehen")
    assert _state(people, request_id) == ("open", True)
    denied = [r for r in audit_rows(people, "request.withdrawn") if r.outcome != "ok"]
    assert [r.actor_login for r in denied] == [OUTSIDER]
    # The form of another file does not reach this file's request.
    with pytest.raises(NotFound, match="gibt es in dieser Akte nicht"):
        _withdraw(people, CASEWORKER, request_id, "Versehen", bg_number="95401BG0000001")
    assert _state(people, request_id) == ("open", True)
    with transaction(people.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == BG))
        assert household is not None
        household.handed_over_at = utcnow()
        household.handed_over_to = "Jobcenter Kiel"
    with pytest.raises(InvalidInput, match="Jobcenter Kiel"):
        _withdraw(people, CASEWORKER, request_id, "Umzug")
    with transaction(people.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == BG))
        assert household is not None
        household.handed_over_at = None
    _withdraw(people, CASEWORKER, request_id, "Umzug")
    with pytest.raises(InvalidInput, match="bereits zurückgenommen"):
        _withdraw(people, CASEWORKER, request_id, "noch einmal")


# --- the E-Akte ---------------------------------------------------------------------------


def test_the_e_akte_withdraws_a_request_with_its_reason(people: Runtime) -> None:
    request_id = _create(people)
    _at(AFTER)
    client = pages_client_for(people, CASEWORKER)
    action = f"/akte/{BG}/anforderungen/{request_id}/zuruecknehmen"
    field = f"withdraw-{request_id}"
    page = client.get(f"/akte/{BG}").text
    assert f'action="{action}"' in page and f'for="{field}"' in page
    assert "Anforderung zurücknehmen" in page
    assert "Frist abgelaufen: fehlend" in client.get("/postkorb").text
    assert f"#anforderung-{request_id}" in client.get("/wiedervorlagen").text

    refused = client.post(action, data={"reason": " "}, follow_redirects=False)
    assert refused.status_code == 422
    error = f'<p class="field-error" id="req-{field}-error">'
    assert error + "Bitte einen Grund für die Rücknahme angeben.</p>" in refused.text
    (tag,) = re.findall(rf'<input type="text" id="{field}"[^>]*>', refused.text)
    assert f'aria-describedby="req-{field}-error"' in tag and 'aria-invalid="true"' in tag
    assert _state(people, request_id) == ("open", True)

    done = client.post(action, data={"reason": "Leistungen eingestellt"}, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"].endswith(f"#anforderung-{request_id}")
    page = client.get(done.headers["location"]).text
    assert "Anforderung zurückgenommen." in page
    article = page.split(f'id="anforderung-{request_id}"', 1)[1].split("</article>", 1)[0]
    assert "<strong>zurückgenommen</strong>" in article
    assert "Grund: Leistungen eingestellt" in article
    assert "Erinnerung schreiben" not in article and "zuruecknehmen" not in article
    assert "Frist abgelaufen: fehlend" not in client.get("/postkorb").text
    assert f"#anforderung-{request_id}" not in client.get("/wiedervorlagen").text
    assert _state(people, request_id) == ("withdrawn", False)


def test_only_who_may_write_requests_sees_and_uses_the_form(people: Runtime) -> None:
    request_id = _create(people)
    action = f"/akte/{BG}/anforderungen/{request_id}/zuruecknehmen"
    outsider = pages_client_for(people, OUTSIDER)
    assert outsider.post(action, data={"reason": "Versehen"}).status_code == 403
    assert _state(people, request_id) == ("open", True)
    assert [r.outcome for r in audit_rows(people, "request.withdrawn")] == ["denied"]
    with transaction(people.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == BG))
        assert household is not None
        household.handed_over_at = utcnow()
        household.handed_over_to = "Jobcenter Kiel"
    page = pages_client_for(people, CASEWORKER).get(f"/akte/{BG}").text
    assert f'id="anforderung-{request_id}"' in page and action not in page


# --- the command line ---------------------------------------------------------------------


def test_the_command_line_withdraws_a_request(people: Runtime) -> None:
    request_id = _create(people)
    env = cli_env(people.configured.data_dir)
    args = ("requests", "withdraw", str(request_id), "--by", CASEWORKER)
    empty = run_cli(env, *args, "--reason", " ")
    assert empty.returncode == 1 and "Bitte einen Grund" in empty.stderr
    assert _state(people, request_id) == ("open", True)
    done = run_cli(env, *args, "--reason", "Antrag zurückgezogen")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["id"], answer["status"]) == (request_id, "withdrawn")
    assert [i["code"] for i in answer["items"]] == ["kontoauszug", "mietbescheinigung"]
    assert _state(people, request_id) == ("withdrawn", False)
    again = run_cli(env, *args, "--reason", "noch einmal")
    assert again.returncode == 1 and "bereits zurückgenommen" in again.stderr
