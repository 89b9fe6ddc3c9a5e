"""The hand-over of a file to another job centre (Aktenabgabe, xdomea 0401), the export side:
the message as the receiving side reads it, the refusals, the file read-only afterwards, new
mail to clearing, the receiving side's answers (0402/0403) and the command line."""

from __future__ import annotations

import hashlib
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.runtime import Runtime
from core.db import record_after_rollback, transaction, utcnow
from core.errors import AccessDenied, InvalidInput
from records.access import Gate
from records.disposal import cli_user
from records.files import add_note, household_file, update_document
from records.handover import import_answer, plan, start_handover
from records.lifecycle import set_hold
from records.models import AuditEvent, Document, Handover, Household, InboxItem, Note
from records.xdomea import MessageRefused, q
from tests.support import (
    ISLANDS,
    OWN,
    add_records_manager,
    cli_env,
    client_for,
    file_letter,
    make_settings,
    pages_client_for,
    run_cli,
)
from tests.support_handover18 import (
    CASEWORKER,
    LETTERS,
    NOW,
    RECIPIENT,
    answer,
    gate_for,
    hand_over,
    message_of,
    prepare,
    schema,
    zip_of,
)

REASON = "Enthält Gesundheitsdaten Dritter (§ 25 Abs. 3 SGB X)"


@pytest.fixture
def prepared(sqlite_runtime: Runtime, tmp_path: Path) -> tuple[Runtime, list[str], Path]:
    return sqlite_runtime, prepare(sqlite_runtime, tmp_path / "work"), tmp_path


@pytest.fixture
def on_backends(runtime: Runtime, tmp_path: Path) -> tuple[Runtime, list[str], Path]:
    """The same on SQLite and files, and (marked services) on PostgreSQL, MinIO, OpenSearch."""
    return runtime, prepare(runtime, tmp_path / "work"), tmp_path


def _household(runtime: Runtime) -> Household:
    with transaction(runtime.sessions, read_only=True) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        assert household is not None
        session.expunge(household)
        return household


def _handovers(runtime: Runtime) -> list[Handover]:
    with transaction(runtime.sessions, read_only=True) as session:
        rows = list(session.scalars(select(Handover)))
        for row in rows:
            session.expunge(row)
        return rows


def _fields(extension: Any) -> dict[str, str]:
    return {
        field.findtext(q("Name")): field.findtext(q("Wert"))
        for field in extension.findall(q("Feld"))
    }


def test_the_0401_carries_the_file_and_every_chosen_document(on_backends: Any) -> None:
    runtime, ids, tmp = on_backends
    started = hand_over(runtime, tmp / "out", {ids[1]: REASON})
    assert started.path.name.endswith("_Abgabe.Abgabe.0401.zip")
    assert started.path.name.startswith(str(started.handover.process_id))
    tree, archive = message_of(started.path)
    validator = schema()
    assert validator.validate(tree), validator.error_log
    root = tree.getroot()
    assert root.findtext(f"{q('Kopf')}/{q('Empfaenger')}/{q('Institution')}/{q('Name')}") == (
        RECIPIENT
    )
    assert root.findtext(f"{q('Kopf')}/{q('Importbestaetigung')}") == "1"
    [akte] = root.iter(q("Akte"))
    household = _household(runtime)
    assert akte.findtext(f"{q('Identifikation')}/{q('ID')}") == str(household.file_uuid)
    assert akte.findtext(f"{q('AllgemeineMetadaten')}/{q('Kennzeichen')}") == OWN
    file_fields = akte.find(q("AnwendungsspezifischeErweiterung"))
    assert _fields(file_fields)["BG-Nummer"] == OWN
    persons = [_fields(group) for group in file_fields.findall(q("Feldgruppe"))]
    assert persons and all(p["Familienname"] and p["Geburtsdatum"] for p in persons)
    assert len(akte.findall(q("Kontakt"))) == len(persons)

    sent = akte.findall(f"{q('Akteninhalt')}/{q('Dokument')}")
    assert [d.findtext(f"{q('Identifikation')}/{q('ID')}") for d in sent] == [ids[0], ids[2]]
    with transaction(runtime.sessions, read_only=True) as session:
        for element, (doc_id, letter) in zip(
            sent, [(ids[0], LETTERS[0]), (ids[2], LETTERS[2])], strict=True
        ):
            document = session.get_one(Document, uuid.UUID(doc_id))
            name = element.findtext(f".//{q('Primaerdokument')}/{q('Dateiname')}")
            data = archive.read(name)
            fields = _fields(element.find(q("AnwendungsspezifischeErweiterung")))
            assert hashlib.sha256(data).hexdigest() == document.pdf_sha256 == fields["SHA-256"]
            assert fields["Seiten"] == str(document.page_count) == "1"
            assert fields["Eingangsdatum"] == letter[2].isoformat()
            assert element.findtext(q("Posteingangsdatum")) == letter[2].isoformat()
            assert element.findtext(q("DatumDesSchreibens")) == str(document.letter_date)
            assert element.findtext(q("Typ")) == letter[0] == fields["Dokumentart"]
            assert fields["Richtung"] == "in" and fields["Absender"] == "Familie Test"
            note_name = element.findtext(f"{q('Anlage')}//{q('Dateiname')}")
            assert note_name.endswith("_Transfervermerk.pdf")
            assert archive.read(note_name).startswith(b"%PDF")
    assert not any(ids[1] in name for name in archive.namelist())
    assert len(archive.namelist()) == 1 + 2 * 2

    [row] = _handovers(runtime)
    assert row.left_out == {ids[1]: REASON} and row.documents == [ids[0], ids[2]]
    assert row.state == "sent" and row.recipient == RECIPIENT
    assert runtime.blobs.stat(row.blob_key or "").sha256 == row.sha256
    assert row.sha256 == hashlib.sha256(started.path.read_bytes()).hexdigest()
    assert household.handed_over_to == RECIPIENT and household.handed_over_at is not None
    with transaction(runtime.sessions, read_only=True) as session:
        note = session.scalar(select(Note).where(Note.household_id == household.id))
        assert note is not None and RECIPIENT in note.text and REASON in note.text
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "handover.sent"))
        assert event.actor_login == CASEWORKER and event.bg_number == OWN
        assert event.details["left_out"] == {ids[1]: REASON}


def _refused(runtime: Runtime, out: Path, **kwargs: Any) -> str:
    with pytest.raises(InvalidInput) as refused:
        with transaction(runtime.sessions) as session:
            start_handover(
                gate_for(session, kwargs.pop("login", CASEWORKER)),
                runtime.blobs,
                runtime.settings,
                OWN,
                kwargs.pop("recipient", RECIPIENT),
                kwargs.pop("left_out", {}),
                out,
                NOW,
            )
    record_after_rollback(runtime.sessions, refused.value)
    return str(refused.value)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no_recipient", "aufnehmende Behörde angeben"),
        ("long_recipient", "zu lang"),
        ("no_reason", "fehlt der Grund"),
        ("all_left_out", "kein Dokument zum Abgeben"),
        ("not_processed", "noch nicht verarbeitet"),
        ("destruction", "Vernichtung"),
    ],
)
def test_refusals_are_german_and_store_nothing(prepared: Any, case: str, expected: str) -> None:
    runtime, ids, tmp = prepared
    kwargs: dict[str, Any] = {}
    if case == "no_recipient":
        kwargs["recipient"] = "   "
    elif case == "long_recipient":
        kwargs["recipient"] = "J" * 301
    elif case == "no_reason":
        kwargs["left_out"] = {ids[0]: " "}
    elif case == "all_left_out":
        kwargs["left_out"] = {doc: REASON for doc in ids}
    elif case == "not_processed":
        with transaction(runtime.sessions) as session:
            session.get_one(Document, uuid.UUID(ids[2])).pdf_key = None
    elif case == "destruction":
        add_records_manager(runtime)
        kwargs["login"] = "schriftgut"
        with transaction(runtime.sessions) as session:
            household = session.scalar(select(Household).where(Household.bg_number == OWN))
            assert household is not None
            household.destruction_started_at = utcnow()
    if case == "destruction":
        # the file whose destruction began is opened by nobody: refused by the gate
        with pytest.raises((InvalidInput, AccessDenied)):
            _refused(runtime, tmp / "out", **kwargs)
    else:
        assert expected in _refused(runtime, tmp / "out", **kwargs)
    assert _handovers(runtime) == []
    assert _household(runtime).handed_over_at is None
    assert not (tmp / "out").exists() or not list((tmp / "out").iterdir())
    with transaction(runtime.sessions, read_only=True) as session:
        assert session.scalar(select(func.count(Note.id))) == 0
        actions = set(session.scalars(select(AuditEvent.action)))
    assert "handover.sent" not in actions


def test_a_file_is_handed_over_once(prepared: Any) -> None:
    runtime, _ids, tmp = prepared
    hand_over(runtime, tmp / "out")
    message = _refused(runtime, tmp / "again", recipient="Jobcenter Anderswo")
    assert f"an {RECIPIENT} abgegeben" in message and "zweite Abgabe" in message
    assert len(_handovers(runtime)) == 1
    with transaction(runtime.sessions, read_only=True) as session:
        refusals = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "handover.start", AuditEvent.outcome == "refused"
            )
        )
        assert [r.bg_number for r in refusals] == [OWN]


def test_only_who_may_open_the_file_hands_it_over(prepared: Any) -> None:
    runtime, _ids, tmp = prepared
    with pytest.raises(AccessDenied):
        with transaction(runtime.sessions) as session:
            start_handover(
                gate_for(session, CASEWORKER),
                runtime.blobs,
                runtime.settings,
                ISLANDS,  # Leistung Inseln: not open to Husum
                RECIPIENT,
                {},
                tmp / "out",
                NOW,
            )
    assert _handovers(runtime) == []


def test_a_handed_over_file_is_read_only_but_readable_and_still_retained(on_backends: Any) -> None:
    runtime, ids, tmp = on_backends
    hand_over(runtime, tmp / "out")
    banner = "wurde am 02.03.2026 an Jobcenter Kreis Musterstadt abgegeben und kann hier nur"
    with pytest.raises(AccessDenied, match=banner) as refused:
        with transaction(runtime.sessions) as session:
            add_note(gate_for(session, CASEWORKER), "Noch ein Vermerk", bg_number=OWN)
    record_after_rollback(runtime.sessions, refused.value)
    with pytest.raises(AccessDenied, match="nur noch gelesen"):
        with transaction(runtime.sessions) as session:
            update_document(
                runtime,
                gate_for(session, CASEWORKER),
                uuid.UUID(ids[0]),
                {"doc_type": "sonstiges"},
                reason=None,
                doc_types={"sonstiges", "weiterbewilligungsantrag"},
            )
    with transaction(runtime.sessions) as session:
        view = household_file(gate_for(session, CASEWORKER), OWN)
        assert len(view.documents) == 3
        assert plan(gate_for(session, CASEWORKER), OWN).banner is not None
    add_records_manager(runtime)
    with transaction(runtime.sessions) as session:
        hold = set_hold(
            gate_for(session, "schriftgut"), OWN, "erstattung", "Rückforderung offen", None, NOW
        )
        assert hold.id
    with transaction(runtime.sessions, read_only=True) as session:
        denied = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "note.add", AuditEvent.outcome == "denied"
            )
        )
        assert [row.bg_number for row in denied] == [OWN]
        assert session.scalar(select(func.count(Note.id))) == 1  # the hand-over's Vermerk


def test_new_mail_for_a_handed_over_file_goes_to_clearing(prepared: Any) -> None:
    runtime, _ids, tmp = prepared
    hand_over(runtime, tmp / "out")
    with transaction(runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        document = file_letter(session, household, "sonstiges", "Neuer Brief nach dem Umzug")
        session.flush()
        item = session.scalar(select(InboxItem).where(InboxItem.document_id == document.id))
        assert document.household_id is None
        assert item is not None and item.kind == "clearing"
        assert f"Akte an {RECIPIENT} abgegeben" in item.reason
        document_id = document.id
    # the desk cannot file it into the handed-over file by hand either
    desk = client_for(runtime, "post.1")
    filed = desk.post(
        f"/api/documents/{document_id}/filing", json={"bg_number": OWN, "doc_type": "sonstiges"}
    )
    assert filed.status_code == 422 and "nur noch gelesen" in filed.json()["error"]["message"]


def _import(
    runtime: Runtime, path: Path, name: str | None = None, data: bytes | None = None
) -> Any:
    with transaction(runtime.sessions) as session:
        return import_answer(
            gate_for(session, CASEWORKER),
            runtime.blobs,
            runtime.settings,
            data if data is not None else path.read_bytes(),
            name or path.name,
        )


def test_the_receiving_sides_answers(on_backends: Any) -> None:
    runtime, _ids, tmp = on_backends
    started = hand_over(runtime, tmp / "out")
    process_id = started.handover.process_id
    file_id = str(_household(runtime).file_uuid)
    result = _import(runtime, answer("0403", process_id, tmp / "a"))
    assert "Empfang bestätigt" in result.summary()
    [row] = _handovers(runtime)
    assert row.state == "received" and row.received_at is not None
    failed = answer("0402", process_id, tmp / "b", [(file_id, False, "Dokumentart unbekannt")])
    _import(runtime, failed)
    [row] = _handovers(runtime)
    assert row.state == "import_failed" and row.problem == "Dokumentart unbekannt"
    _import(runtime, answer("0402", process_id, tmp / "c", [(file_id, True, "")]))
    [row] = _handovers(runtime)
    assert row.state == "imported" and row.imported_at is not None and row.problem is None
    with transaction(runtime.sessions, read_only=True) as session:
        answers = session.scalars(select(AuditEvent).where(AuditEvent.action == "handover.answer"))
        assert [a.details["msg_type"] for a in answers] == ["0403", "0402", "0402"]


def test_broken_answers_are_refused_and_change_nothing(prepared: Any) -> None:
    runtime, _ids, tmp = prepared
    started = hand_over(runtime, tmp / "out")
    process_id = started.handover.process_id
    file_id = str(_household(runtime).file_uuid)
    good = answer("0402", process_id, tmp / "a", [(file_id, True, "")])
    xml_name = good.name.removesuffix(".zip") + ".xml"
    xml = zipfile.ZipFile(good).read(xml_name).decode()
    missing = xml.replace("<xdomea:Erfolgreich>true</xdomea:Erfolgreich>", "")
    wrong_code = xml.replace("<code>0402</code>", "<code>0499</code>")
    other = uuid.uuid4()
    unknown = answer("0402", other, tmp / "u", [(file_id, True, "")])
    foreign_file = answer("0402", process_id, tmp / "f", [(str(uuid.uuid4()), True, "")])
    cases = [
        (good.name, zip_of({xml_name: missing.encode()}), "Erfolgreich"),
        (good.name, zip_of({xml_name: wrong_code.encode()}), "0499"),
        (good.name, zip_of({xml_name: xml.encode(), "beilage.pdf": b"%PDF"}), "beilage.pdf"),
        (good.name, zip_of({xml_name: xml.encode(), "../x.pdf": b"%PDF"}), "„..“"),
        (unknown.name, unknown.read_bytes(), "keine Abgabe"),
        (foreign_file.name, foreign_file.read_bytes(), "keine Akte dieser Abgabe"),
    ]
    for name, data, expected in cases:
        with pytest.raises(MessageRefused) as refused:
            _import(runtime, good, name, data)
        record_after_rollback(runtime.sessions, refused.value)
        assert expected in " ".join(refused.value.problems), refused.value.problems
    [row] = _handovers(runtime)
    assert row.state == "sent" and row.problem is None and row.received_at is None
    with transaction(runtime.sessions, read_only=True) as session:
        refusals = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "handover.answer", AuditEvent.outcome == "refused"
            )
        )
        assert len(list(refusals)) == len(cases)


def test_the_command_line_contract(tmp_path: Path) -> None:
    from app.runtime import build_runtime

    data = tmp_path / "data"
    built = build_runtime(make_settings(data))
    try:
        ids = prepare(built, tmp_path / "work")
    finally:
        built.close()
    env = cli_env(data)
    refused = run_cli(
        env, "handover", "export", OWN, "--to", RECIPIENT, "--out", str(tmp_path / "out"),
        "--leave-out", f"{ids[0]}=",
    )  # fmt: skip
    assert refused.returncode == 1
    assert "fehlt der Grund" in refused.stderr
    done = run_cli(
        env, "handover", "export", OWN, "--to", RECIPIENT, "--out", str(tmp_path / "out"),
        "--leave-out", f"{ids[0]}={REASON}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.is_file() and path.name.endswith("_Abgabe.Abgabe.0401.zip")
    tree, _archive = message_of(path)
    assert schema().validate(tree)
    again = build_runtime(make_settings(data))
    try:
        household = _household(again)
        assert household.handed_over_to == RECIPIENT
        with transaction(again.sessions, read_only=True) as session:
            actors = set(
                session.scalars(
                    select(AuditEvent.actor_login).where(AuditEvent.action.like("handover.%"))
                )
            )
        assert actors == {"cli"}
    finally:
        again.close()
    reply = answer("0403", uuid.UUID(path.name[:36]), tmp_path / "answer")
    received = run_cli(env, "handover", "answer", str(reply))
    assert received.returncode == 0, received.stderr
    assert "Empfang bestätigt" in received.stdout
    broken = tmp_path / "broken" / reply.name
    broken.parent.mkdir()
    broken.write_bytes(zip_of({"../x": b"x"}))
    refused = run_cli(env, "handover", "answer", str(broken))
    assert refused.returncode == 1 and "Abgewiesen, nichts geändert" in refused.stderr


def test_the_records_manager_hands_over_as_the_command_line_does(prepared: Any) -> None:
    runtime, ids, tmp = prepared
    with transaction(runtime.sessions) as session:
        started = start_handover(
            Gate(session, cli_user()),
            runtime.blobs,
            runtime.settings,
            OWN,
            RECIPIENT,
            {},
            tmp / "out",
            NOW,
        )
        assert started.handover.documents == ids
        assert started.handover.created_by_login == "cli"


def test_the_pages_start_a_hand_over_and_take_an_answer(prepared: Any) -> None:
    runtime, ids, tmp = prepared
    client = pages_client_for(runtime, CASEWORKER)
    akte = client.get(f"/akte/{OWN}")
    assert akte.status_code == 200 and 'id="handover-start"' in akte.text
    form = client.get(f"/akte/{OWN}/abgabe")
    assert form.status_code == 200
    boxes = re.findall(
        r'<input type="checkbox" name="dokument" value="([^"]+)"( checked)?>', form.text
    )
    assert boxes == [(doc, " checked") for doc in ids]
    fields: dict[str, Any] = {"empfaenger": RECIPIENT, "alle": ids, "dokument": ids[1:]}
    refused = client.post(f"/akte/{OWN}/abgabe", data=fields, follow_redirects=False)
    assert refused.status_code == 422
    assert f'id="handover-reason-{ids[0]}-error"' in refused.text
    assert "fehlt der Grund" in refused.text and f'value="{RECIPIENT}"' in refused.text
    assert _handovers(runtime) == []
    fields[f"grund-{ids[0]}"] = REASON
    done = client.post(f"/akte/{OWN}/abgabe", data=fields, follow_redirects=False)
    assert done.status_code == 303, done.text
    page = client.get(done.headers["location"])
    assert "Die Akte ist abgegeben" in page.text and 'id="handover-form"' not in page.text
    akte = client.get(f"/akte/{OWN}")
    assert "kann hier nur noch gelesen werden" in akte.text and "handover-start" not in akte.text
    [row] = _handovers(runtime)
    download = client.get(f"/akte/{OWN}/abgabe/{row.id}/nachricht")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    file_id = str(_household(runtime).file_uuid)
    reply = answer("0402", row.process_id, tmp / "a", [(file_id, True, "")])
    taken = client.post(
        f"/akte/{OWN}/abgabe/antwort", files={"datei": (reply.name, reply.read_bytes())}
    )
    assert taken.status_code == 200 and "übernommen" in taken.text
    assert _handovers(runtime)[0].state == "imported"
    foreign = pages_client_for(runtime, "lsb.95403.1")
    assert foreign.get(f"/akte/{OWN}/abgabe/{row.id}/nachricht").status_code == 403
