"""Requests for missing documents (issue 19, records/requests.py): the proposed deadline, the
request with its letter filed as outgoing and its follow-up, the German refusals of bad input
and of files outside need-to-know, the reminder, the letter's PDF/A with its return sheet whose
barcodes read back from 200 and 300 dpi scans, and the command-line contract."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pikepdf
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from core.db import record_after_rollback, run_after_commit, transaction, utcnow
from core.errors import AccessDenied, InvalidInput
from records.access import Gate
from records.models import Document, DocumentRequest, FollowUp, Household, RequestLink, User
from records.requests import (
    create_request,
    propose_due,
    remind,
    request_catalogue,
    request_view,
    withdraw,
)
from records.runtime import Runtime
from records.sheet_codes import parse_code, request_code
from storage.base import read_bytes
from tests.support import add_admin, audit_rows, cli_env, load_people, pages_client_for, run_cli
from tests.support_pdf import failed_rules

BG = "95401BG7267253"  # Christiansen/Schmitz, caseload of lsb.95401.2 (Leistung Husum)
CASEWORKER = "lsb.95401.2"
OUTSIDER = "lsb.95402.1"  # Leistung Niebüll: not this file
TODAY = date(2026, 12, 7)  # a Monday
DUE = date(2026, 12, 21)


@pytest.fixture
def people(sqlite_runtime: Runtime) -> Runtime:
    load_people(sqlite_runtime)
    return sqlite_runtime


def _create(runtime: Runtime, login: str = CASEWORKER, **kwargs: object) -> int:
    items = kwargs.pop(
        "items", [("kontoauszug", "01.09.2026-30.11.2026"), ("mietbescheinigung", "")]
    )
    due = kwargs.pop("due", DUE)
    with transaction(runtime.sessions) as session:
        user = session.scalar(select(User).where(User.login == login))
        assert user is not None
        created = create_request(
            Gate(session, user),
            runtime,
            BG,
            items,
            due,
            today=TODAY,
            **kwargs,  # type: ignore[arg-type]
        )
        request_id = created.request.id
    run_after_commit(session)
    return request_id


def _refused(runtime: Runtime, login: str, call: object) -> str:
    with pytest.raises((InvalidInput, AccessDenied)) as caught:
        with transaction(runtime.sessions) as session:
            user = session.scalar(select(User).where(User.login == login))
            call(Gate(session, user))  # type: ignore[operator]
    record_after_rollback(runtime.sessions, caught.value)
    return str(caught.value.message)


def _pdf_text(data: bytes, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext"]
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    return subprocess.run(
        [*args, "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def _letter_pdf(runtime: Runtime, document_id: object) -> bytes:
    with transaction(runtime.sessions, read_only=True) as session:
        document = session.get(Document, document_id)
        assert document is not None and document.pdf_key
        return read_bytes(runtime.blobs, document.pdf_key)


# --- deadlines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "due", "why"),
    [
        (date(2026, 12, 7), date(2026, 12, 21), None),  # Monday + 14 = Monday
        (date(2026, 12, 5), date(2026, 12, 21), "Wochenende"),  # ends Saturday 19.12.
        (date(2025, 9, 19), date(2025, 10, 6), "Tag der Deutschen Einheit"),  # Friday 3.10.
        (date(2026, 12, 18), date(2027, 1, 4), "Neujahr"),  # year end: Friday 1.1.2027
    ],
)
def test_the_proposed_deadline_is_two_weeks_on_a_working_day(
    sqlite_runtime: Runtime, today: date, due: date, why: str | None
) -> None:
    proposed, steps = propose_due(today, sqlite_runtime.settings)
    assert proposed == due
    assert steps[0].value == today and steps[1].value == today + timedelta(days=14)
    if why:
        assert why in steps[-1].note and steps[-1].value == due
    else:
        assert len(steps) == 2


# --- creating -----------------------------------------------------------------------------


def test_a_request_is_stored_with_its_letter_filed_as_outgoing_and_a_follow_up(
    people: Runtime,
) -> None:
    request_id = _create(people)
    with transaction(people.sessions, read_only=True) as session:
        request = session.get(DocumentRequest, request_id)
        assert request is not None
        assert [item.code for item in request.items] == ["kontoauszug", "mietbescheinigung"]
        assert request.items[0].detail == "für die Zeit vom 01.09.2026 bis 30.11.2026"
        assert {item.state for item in request.items} == {"missing"}
        assert request.due_on == DUE and request.dispatch_date == TODAY
        assert request.person_name == "Andreas Christiansen"
        letter = session.get(Document, request.letter_document_id)
        assert letter is not None
        assert (letter.direction, letter.dispatch_date) == ("out", TODAY)
        assert letter.doc_type == "mitwirkungsaufforderung"
        assert letter.household_id == request.household_id
        assert "Kontoauszüge aller Konten" in letter.pages[0].text
        (follow_up,) = session.scalars(select(FollowUp).where(FollowUp.request_id == request_id))
        assert (follow_up.kind, follow_up.due_on, follow_up.done_at) == ("request", DUE, None)
        assert follow_up.note == "Frist der Mitwirkungsaufforderung"
        assert follow_up.user_id == request.requested_by_id
    (row,) = audit_rows(people, "request.created")
    assert row.outcome == "ok" and row.bg_number == BG
    assert row.details["items"] == ["kontoauszug", "mietbescheinigung"]
    assert row.details["due_on"] == "2026-12-21"


def test_a_deadline_on_a_weekend_moves_to_the_next_working_day_with_a_note(
    people: Runtime,
) -> None:
    request_id = _create(people, due=date(2026, 12, 26))  # Saturday (and 2. Weihnachtstag)
    with transaction(people.sessions, read_only=True) as session:
        request = session.get(DocumentRequest, request_id)
        assert request is not None and request.due_on == date(2026, 12, 28)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"items": []}, "mindestens eine Unterlage"),
        ({"items": [("lottoschein", "")]}, "Unbekannte Unterlage „lottoschein“"),
        ({"items": [("kontoauszug", "")]}, "bitte den Zeitraum angeben"),
        ({"items": [("kontoauszug", "gestern")]}, "nicht lesbar"),
        ({"due": TODAY + timedelta(days=6)}, "mindestens 7 Tage"),
        ({"member_id": 999_999}, "gehört nicht zu diesem Haushalt"),
    ],
)
def test_bad_input_is_refused_in_german_and_nothing_is_stored(
    people: Runtime, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        _create(people, **kwargs)
    assert message in caught.value.message
    with transaction(people.sessions, read_only=True) as session:
        assert session.scalars(select(DocumentRequest)).all() == []
        assert session.scalars(select(FollowUp)).all() == []
        assert session.scalars(select(Document).where(Document.direction == "out")).all() == []


def test_a_file_outside_need_to_know_is_refused_and_the_refusal_audited(people: Runtime) -> None:
    with pytest.raises(AccessDenied) as caught:
        _create(people, login=OUTSIDER)
    record_after_rollback(people.sessions, caught.value)
    assert "Kein Zugriff" in caught.value.message
    (row,) = audit_rows(people, "request.created")
    assert (row.outcome, row.actor_login) == ("denied", OUTSIDER)
    request_id = _create(people)
    message = _refused(people, OUTSIDER, lambda gate: request_view(gate, request_id, today=TODAY))
    assert "Kein Zugriff" in message
    unknown = _refused(people, OUTSIDER, lambda gate: request_view(gate, 999, today=TODAY))
    assert unknown == message  # an id that does not exist is refused alike
    assert [r.outcome for r in audit_rows(people, "request.viewed")] == ["denied", "denied"]


# --- the reminder -------------------------------------------------------------------------


def test_a_reminder_names_only_the_missing_items_and_moves_the_deadline(people: Runtime) -> None:
    request_id = _create(people)
    with transaction(people.sessions) as session:
        request = session.get(DocumentRequest, request_id)
        assert request is not None
        request.items[1].state = "arrived"  # the rent certificate came (as replies19 marks it)
    new_due = date(2027, 1, 11)
    with transaction(people.sessions) as session:
        user = session.scalar(select(User).where(User.login == CASEWORKER))
        reminded = remind(Gate(session, user), people, request_id, new_due, today=DUE)
        reminder_id = reminded.letter.id
    text = _pdf_text(reminded.pdf)
    assert "Erinnerung" in text and "Kontoauszüge aller Konten" in text
    assert "Mietbescheinigung" not in text
    assert "11. Januar 2027" in text
    with transaction(people.sessions, read_only=True) as session:
        request = session.get(DocumentRequest, request_id)
        assert request is not None and request.due_on == new_due
        (entry,) = request.reminders
        assert entry["document_id"] == str(reminder_id) and entry["due_on"] == "2027-01-11"
        letter = session.get(Document, reminder_id)
        assert letter is not None and (letter.direction, letter.dispatch_date) == ("out", DUE)
        (follow_up,) = session.scalars(select(FollowUp).where(FollowUp.request_id == request_id))
        assert follow_up.due_on == new_due
        (move,) = follow_up.moves
        assert (move["from"], move["to"], move["reason"], move["by"]) == (
            "2026-12-21",
            "2027-01-11",
            "Erinnerung",
            CASEWORKER,
        )
    (row,) = audit_rows(people, "request.reminded")
    assert row.details["items"] == ["kontoauszug"] and row.details["due_on"] == "2027-01-11"


def test_no_reminder_once_everything_arrived(people: Runtime) -> None:
    request_id = _create(people)
    with transaction(people.sessions) as session:
        request = session.get(DocumentRequest, request_id)
        assert request is not None
        for item in request.items:
            item.state = "arrived"
    message = _refused(
        people,
        CASEWORKER,
        lambda gate: remind(gate, people, request_id, date(2027, 1, 11), today=DUE),
    )
    assert "keine Erinnerung nötig" in message


# --- the letter ---------------------------------------------------------------------------


def test_the_letter_names_items_deadline_and_warning_and_ends_with_the_return_sheet(
    people: Runtime, tmp_path: Path
) -> None:
    request_id = _create(people)
    with transaction(people.sessions, read_only=True) as session:
        request = session.get(DocumentRequest, request_id)
        assert request is not None
        data = _letter_pdf(people, request.letter_document_id)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = len(pdf.pages)
    letter = _pdf_text(data, 1, pages - 1)
    assert "Aufforderung zur Mitwirkung" in letter
    assert "Kontoauszüge aller Konten für die Zeit vom 01.09.2026 bis 30.11.2026" in letter
    assert "Montag, 21. Dezember 2026" in letter
    assert "§§ 60, 66 Erstes Buch Sozialgesetzbuch" in " ".join(letter.split())
    sheet = _pdf_text(data, pages, pages)
    assert "Rücksendeblatt" in sheet and "Bitte legen Sie dieses Blatt oben" in sheet
    assert BG in sheet
    code = request_code(people.settings.secret_key.get_secret_value(), request_id, BG)
    path = tmp_path / "letter.pdf"
    path.write_bytes(data)
    for dpi in (200, 300):
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                str(dpi),
                "-gray",
                "-f",
                str(pages),
                "-l",
                str(pages),
                "-png",
                str(path),
                str(tmp_path / f"scan{dpi}"),
            ],
            check=True,
        )
        (image,) = tmp_path.glob(f"scan{dpi}*.png")
        found = zxingcpp.read_barcodes(Image.open(image))
        formats = {result.format: result.text for result in found}
        assert formats == {
            zxingcpp.BarcodeFormat.QRCode: code,
            zxingcpp.BarcodeFormat.Code128: code,
        }, dpi
        parsed = parse_code(people.settings.secret_key.get_secret_value(), code)
        assert parsed is not None and parsed.request_id == request_id
    assert failed_rules("2b", path) == {path.resolve(): []}


# --- the command line ---------------------------------------------------------------------


def test_the_command_line_creates_and_shows_a_request(people: Runtime, tmp_path: Path) -> None:
    env = cli_env(people.configured.data_dir)
    out = tmp_path / "brief.pdf"
    done = run_cli(
        env,
        "requests",
        "create",
        "--bg",
        BG,
        "--items",
        "kontoauszug,mietbescheinigung",
        "--due",
        "2030-01-14",
        "--by",
        CASEWORKER,
        "--pdf",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["items"] == ["kontoauszug", "mietbescheinigung"]
    assert answer["due"] == "2030-01-14"
    assert out.read_bytes().startswith(b"%PDF")
    shown = run_cli(env, "requests", "show", str(answer["id"]), "--json")
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["id"] == answer["id"] and view["status"] == "open"
    assert view["overdue"] is False
    assert [(i["code"], i["status"], i["documents"]) for i in view["items"]] == [
        ("kontoauszug", "missing", []),
        ("mietbescheinigung", "missing", []),
    ]
    refused = run_cli(
        env,
        "requests",
        "create",
        "--bg",
        BG,
        "--items",
        "mietbescheinigung",
        "--due",
        "2030-01-14",
        "--by",
        OUTSIDER,
        "--pdf",
        str(tmp_path / "x.pdf"),
    )
    assert refused.returncode == 1 and "Kein Zugriff" in refused.stderr
    assert not (tmp_path / "x.pdf").exists()
    assert [r.outcome for r in audit_rows(people, "request.created")] == ["ok", "denied"]


# --- the pages ----------------------------------------------------------------------------


def test_the_e_akte_writes_a_request_and_shows_what_arrived(people: Runtime) -> None:
    client = pages_client_for(people, CASEWORKER)
    page = client.get(f"/akte/{BG}")
    assert page.status_code == 200, page.text
    assert "Anforderungen von Unterlagen" in page.text and "Keine Anforderungen." in page.text
    refused = client.post(f"/akte/{BG}/anforderungen", data={"due": "2030-01-14"})
    assert refused.status_code == 422
    assert "mindestens eine Unterlage" in refused.text and 'aria-invalid="true"' in refused.text
    done = client.post(
        f"/akte/{BG}/anforderungen",
        data={
            "item": ["kontoauszug", "mietbescheinigung"],
            "von-kontoauszug": "2026-09-01",
            "bis-kontoauszug": "2026-11-30",
            "due": "2030-01-14",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    request_id = int(done.headers["location"].rsplit("-", 1)[1])
    page = client.get(f"/akte/{BG}")
    assert f'id="anforderung-{request_id}"' in page.text
    assert "für die Zeit vom 01.09.2026 bis 30.11.2026" in page.text
    assert page.text.count('class="item-state">fehlt<') == 2
    with transaction(people.sessions) as session:
        request = session.get(DocumentRequest, request_id)
        assert request is not None
        item = request.items[1]
        item.state = "arrived"
        session.add(
            RequestLink(
                item_id=item.id,
                document_id=request.letter_document_id,
                source="recognition",
                confirmed=False,
            )
        )
    page = client.get(f"/akte/{BG}")
    assert page.text.count('class="item-state">eingegangen<') == 1
    assert "vermutlich Antwort – bestätigen" in page.text
    assert f"/anforderungen/{request_id}/verknuepfung/" in page.text
    reminded = client.post(
        f"/akte/{BG}/anforderungen/{request_id}/erinnerung",
        data={"due": "2030-02-04"},
        follow_redirects=False,
    )
    assert reminded.status_code == 303, reminded.text
    assert "Erinnerung versandt, neue Frist 04.02.2030" in client.get(f"/akte/{BG}").text
    outsider = pages_client_for(people, OUTSIDER)
    assert (
        outsider.post(
            f"/akte/{BG}/anforderungen", data={"item": "mietbescheinigung", "due": "2030-01-14"}
        ).status_code
        == 403
    )


def test_the_administration_edits_the_catalogue(people: Runtime) -> None:
    add_admin(people)
    admin = pages_client_for(people, "admin")
    page = admin.get("/verwaltung/anforderungskatalog")
    assert page.status_code == 200 and "Kontoauszüge aller Konten" in page.text
    assert (
        pages_client_for(people, CASEWORKER).get("/verwaltung/anforderungskatalog").status_code
        == 403
    )
    bad = admin.post(
        "/verwaltung/anforderungskatalog",
        data={"count": "0", "code-0": "schulbescheinigung", "label-0": "Schulbescheinigung"},
    )
    assert bad.status_code == 422 and "mindestens eine bekannte Dokumentart" in bad.text
    saved = admin.post(
        "/verwaltung/anforderungskatalog",
        data={
            "count": "0",
            "code-0": "schulbescheinigung",
            "label-0": "Schulbescheinigung der Kinder",
            "types-0": "sonstiges",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with transaction(people.sessions, read_only=True) as session:
        assert list(request_catalogue(session)) == ["schulbescheinigung"]
    (row,) = audit_rows(people, "request.catalogue_changed")
    assert row.details["items"] == ["schulbescheinigung"]
    with pytest.raises(InvalidInput) as caught:
        _create(people)
    assert "Unbekannte Unterlage „kontoauszug“" in caught.value.message
    request_id = _create(people, items=[("schulbescheinigung", "")])
    with transaction(people.sessions, read_only=True) as session:
        request = session.get(DocumentRequest, request_id)
        assert request is not None and request.items[0].label == "Schulbescheinigung der Kinder"


def test_state_overdue_documents_and_withdrawal(people: Runtime) -> None:
    request_id = _create(people)
    with transaction(people.sessions) as session:
        request = session.get(DocumentRequest, request_id)
        assert request is not None and request.letter_document_id is not None
        request.items[0].state = "arrived"
        session.add(
            RequestLink(
                item_id=request.items[0].id,
                document_id=request.letter_document_id,
                source="sheet",
                confirmed=True,
            )
        )
        letter_id = str(request.letter_document_id)
    with transaction(people.sessions) as session:
        gate = Gate(session, session.scalar(select(User).where(User.login == CASEWORKER)))
        view = request_view(gate, request_id, today=DUE + timedelta(days=1))
        answer = view.as_json()
        assert (answer["status"], answer["overdue"]) == ("open", True)
        assert [(i["code"], i["status"], i["documents"]) for i in answer["items"]] == [
            ("kontoauszug", "arrived", [letter_id]),
            ("mietbescheinigung", "missing", []),
        ]
        assert view.state_label == "offen, Frist abgelaufen"
        withdraw(gate, request_id, "Leistungen eingestellt")
    with transaction(people.sessions, read_only=True) as session:
        request = session.get(DocumentRequest, request_id)
        assert request is not None and request.state == "withdrawn"
        (follow_up,) = session.scalars(select(FollowUp).where(FollowUp.request_id == request_id))
        assert follow_up.done_at is not None and "Leistungen eingestellt" in str(
            follow_up.done_reason
        )
    (row,) = audit_rows(people, "request.withdrawn")
    assert row.details["reason"] == "Leistungen eingestellt"


def test_no_request_on_a_file_handed_over(people: Runtime) -> None:
    with transaction(people.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == BG))
        assert household is not None
        household.handed_over_at = utcnow()
        household.handed_over_to = "Jobcenter Kiel"
    with pytest.raises(InvalidInput) as caught:
        _create(people)
    assert "Jobcenter Kiel" in caught.value.message
    with transaction(people.sessions, read_only=True) as session:
        assert session.scalars(select(DocumentRequest)).all() == []
