"""The Aussonderung with the public archive in xdomea 3.0.0 (records/disposal.py,
records/xdomea.py): every message we write is valid against the shipped schemas, a whole run
goes from the files due to the archive's import confirmation, and what the archive sends is
refused with German problems when it is not right, changing nothing.

The documents are scanned pages (tests/support.py, scan_pdf) made into PDF/A-2b by the
pipeline's own writer (ingest/archive_pdf.py) and stored in the blob store, with the scan
record the pipeline keeps next to them.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from lxml import etree
from sqlalchemy import select

from app.runtime import Runtime
from core.db import record_after_rollback, transaction
from core.errors import AccessDenied
from records.access import Gate
from records.disposal import (
    close_run_if_done,
    decline_offer,
    import_message,
    start_run,
    transfer,
)
from records.models import (
    AuditEvent,
    DisposalItem,
    DisposalMessage,
    DisposalRun,
    Document,
    Household,
    RetentionHold,
    User,
)
from records.xdomea import (
    MessageRefused,
    new_message,
    q,
    serialize,
    sub,
    write_message_zip,
)
from tests.support import (
    NEIGHBOUR,
    OWN,
    Sheet,
    make_settings,
    scan_pdf,
)
from tests.support_xdomea17 import (
    ARCHIVE,
    STANDARDS,
    TODAY,
    archive_message,
    assert_valid,
    gate_of,
    message_xml,
    prepare_files,
    schema,
    zip_of,
)


def do_import(
    runtime: Runtime, path: Path, out: Path, name: str | None = None, data: bytes | None = None
):  # type: ignore[no-untyped-def]
    with transaction(runtime.sessions) as session:
        result = import_message(
            gate_of(session),
            runtime.blobs,
            runtime.settings,
            data if data is not None else path.read_bytes(),
            name or path.name,
            out,
        )
        return result.counts, result.warnings, result.reply.path if result.reply else None


def items_of(runtime: Runtime) -> dict[str, tuple[str, str | None, str | None]]:
    with transaction(runtime.sessions, read_only=True) as session:
        return {
            item.bg_number: (item.state, item.archive_ref, item.problem)
            for item in session.scalars(select(DisposalItem))
        }


def offer(runtime: Runtime, out: Path) -> tuple[Path, uuid.UUID, dict[str, str]]:
    with transaction(runtime.sessions) as session:
        written = start_run(gate_of(session), runtime.blobs, runtime.settings, TODAY, out)
        assert written is not None
        run = session.get_one(DisposalRun, written.message.run_id)
        return written.path, run.process_id, {i.bg_number: str(i.file_uuid) for i in run.items}


def round_trip(runtime: Runtime, tmp_path: Path) -> None:
    documents = prepare_files(runtime, tmp_path / "work")
    out = tmp_path / "out"
    zip_0501, process_id, ids = offer(runtime, out)

    # 0501: the two files due and not held, metadata only, valid.
    assert zip_0501.name == f"{process_id}_Aussonderung.Anbieteverzeichnis.0501.zip"
    tree = assert_valid(zip_0501)
    assert sorted(e.text for e in tree.iter(q("Kennzeichen"))) == sorted([OWN, NEIGHBOUR])
    assert not list(tree.iter(q("Dateiname")))
    assert {e.text for e in tree.iter(q("Betreff"))} == {"Leistungsakte SGB II"}
    assert [e.text for e in tree.iter(q("Aufbewahrungsende"))] == ["2024-12-31"] * 2
    assert set(items_of(runtime)) == {OWN, NEIGHBOUR}

    # nothing new is due while the run goes on
    with transaction(runtime.sessions) as session:
        assert start_run(gate_of(session), runtime.blobs, runtime.settings, TODAY, out) is None

    # 0502: OWN archive, NEIGHBOUR destroy; the archive asks for a receipt (0505).
    zip_0502 = archive_message(
        "0502", process_id, [(ids[OWN], "A"), (ids[NEIGHBOUR], "V")], tmp_path / "archive"
    )
    counts, _warnings, reply = do_import(runtime, zip_0502, out)
    assert counts == {"to_archive": 1, "to_destroy": 1}
    assert (
        reply is not None
        and reply.name == f"{process_id}_Aussonderung.BewertungEmpfangBestaetigen.0505.zip"
    )
    assert_valid(reply)
    assert items_of(runtime)[OWN][0] == "to_archive"
    assert items_of(runtime)[NEIGHBOUR][0] == "to_destroy"

    # 0503: OWN's documents as PDF/A, byte for byte the stored ones, each with its Transfervermerk.
    with transaction(runtime.sessions) as session:
        run_id = session.scalar(select(DisposalRun.id))
        assert run_id is not None
        written = transfer(gate_of(session), runtime.blobs, runtime.settings, run_id, TODAY, out)
    assert written is not None
    zip_0503 = written.path
    assert zip_0503.name == f"{process_id}_Aussonderung.Aussonderung.0503.zip"
    tree = assert_valid(zip_0503)
    _tree, archive = message_xml(zip_0503)
    names = [e.text for e in tree.iter(q("Dateiname"))]
    assert set(archive.namelist()) == set(names) | {
        f"{process_id}_Aussonderung.Aussonderung.0503.xml"
    }
    assert [e.text for e in tree.iter(q("Kennzeichen"))] == [OWN]
    with transaction(runtime.sessions, read_only=True) as session:
        for document_id in documents[OWN]:
            document = session.get_one(Document, uuid.UUID(document_id))
            name = next(n for n in names if n.startswith(document_id))
            assert hashlib.sha256(archive.read(name)).hexdigest() == document.pdf_sha256
            note_name = f"{uuid.uuid5(document.id, 'transfervermerk')}_Transfervermerk.pdf"
            assert note_name in names
            with pikepdf.open(io.BytesIO(archive.read(note_name))) as note:
                assert note.open_metadata().get("pdfaid:part") == "2"
        versions = {e.findtext(q("Version")) for e in tree.iter(q("Format"))}
        assert versions <= {"PDF/A-2b", "PDF/A-2a"} and versions
        assert not any(n.startswith(documents[NEIGHBOUR][0]) for n in names)
        types = [e.text for e in tree.iter(q("Typ"))]
        assert sorted(types) == ["kontoauszug", "weiterbewilligungsantrag"]
        transfers = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "disposal.transfer_file")
        ).all()
        assert [row.bg_number for row in transfers] == [OWN]
    assert items_of(runtime)[OWN][0] == "transferred"

    # 0507 receipt recorded; 0506: imported with the archive's reference.
    do_import(runtime, archive_message("0507", process_id, None, tmp_path / "archive"), out)
    counts, _w, _r = do_import(
        runtime,
        archive_message("0506", process_id, [(ids[OWN], "LA-2026-17")], tmp_path / "archive2"),
        out,
    )
    assert counts == {"archived": 1}
    assert items_of(runtime)[OWN][:2] == ("archived", "LA-2026-17")
    assert items_of(runtime)[NEIGHBOUR][0] == "to_destroy"
    with transaction(runtime.sessions, read_only=True) as session:
        kinds = [
            (m.msg_type, m.direction)
            for m in session.scalars(select(DisposalMessage).order_by(DisposalMessage.id))
        ]
    assert kinds == [
        ("0501", "out"),
        ("0502", "in"),
        ("0505", "out"),
        ("0503", "out"),
        ("0507", "in"),
        ("0506", "in"),
    ]


def test_round_trip_from_the_files_due_to_the_archives_import(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    round_trip(sqlite_runtime, tmp_path)


@pytest.fixture
def production_runtime(
    tmp_path: Path,
    postgres_url: str,
    s3_settings: dict[str, object],
    opensearch_settings: dict[str, object],
) -> Iterator[Runtime]:
    from app.runtime import build_runtime

    settings = make_settings(
        tmp_path / "data", database_url=postgres_url, **s3_settings, **opensearch_settings
    )
    built = build_runtime(settings)
    yield built
    built.close()


@pytest.mark.services
@pytest.mark.slow
def test_round_trip_on_postgresql_minio_opensearch(
    production_runtime: Runtime, tmp_path: Path
) -> None:
    round_trip(production_runtime, tmp_path)


# refusals -----------------------------------------------------------------------------------


@pytest.fixture
def offered(
    sqlite_runtime: Runtime, tmp_path: Path
) -> tuple[Runtime, uuid.UUID, dict[str, str], Path]:
    prepare_files(sqlite_runtime, tmp_path / "work")
    _path, process_id, ids = offer(sqlite_runtime, tmp_path / "out")
    return sqlite_runtime, process_id, ids, tmp_path


def refused(runtime: Runtime, data: bytes, name: str, out: Path) -> list[str]:
    before = items_of(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        messages = len(session.scalars(select(DisposalMessage)).all())
    with pytest.raises(MessageRefused) as caught:
        do_import(runtime, out / name, out, name=name, data=data)
    record_after_rollback(runtime.sessions, caught.value)
    assert items_of(runtime) == before
    with transaction(runtime.sessions, read_only=True) as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert last is not None and (last.action, last.outcome) == ("disposal.import", "refused")
        assert last.details["problems"] == caught.value.problems[:20]
    with transaction(runtime.sessions, read_only=True) as session:
        assert len(session.scalars(select(DisposalMessage)).all()) == messages
    return caught.value.problems


def valid_0502(process_id: uuid.UUID, ids: dict[str, str], out: Path) -> tuple[str, bytes]:
    path = archive_message("0502", process_id, [(ids[OWN], "A"), (ids[NEIGHBOUR], "V")], out)
    return path.name, zipfile.ZipFile(path).read(path.name.removesuffix(".zip") + ".xml")


def test_an_unknown_id_and_a_missing_evaluation(offered: Any) -> None:
    runtime, process_id, ids, tmp = offered
    stranger = str(uuid.uuid4())
    path = archive_message("0502", process_id, [(ids[OWN], "A"), (stranger, "V")], tmp / "a")
    problems = refused(runtime, path.read_bytes(), path.name, tmp)
    assert any(stranger in p and "keine Akte dieses Anbieteverzeichnisses" in p for p in problems)
    # only OWN evaluated: taken, NEIGHBOUR stays offered with a warning
    path = archive_message("0502", process_id, [(ids[OWN], "A")], tmp / "b")
    counts, warnings, _reply = do_import(runtime, path, tmp / "out")
    assert counts == {"to_archive": 1}
    assert any(NEIGHBOUR in w and "nicht bewertet" in w for w in warnings)


def test_wrong_root_schema_error_and_head_mismatch(offered: Any) -> None:
    runtime, process_id, ids, tmp = offered
    name, xml = valid_0502(process_id, ids, tmp / "a")
    xml_name = name.removesuffix(".zip") + ".xml"
    # a 0501 root in a file named 0502
    wrong_root = xml.replace(b"Bewertungsverzeichnis.0502", b"Anbieteverzeichnis.0501")
    problems = refused(runtime, zip_of({xml_name: wrong_root}), name, tmp)
    assert any("Wurzelelement" in p for p in problems)
    # a code the list does not have
    bad = xml.replace(b"<code>V</code>", b"<code>X</code>")
    problems = refused(runtime, zip_of({xml_name: bad}), name, tmp)
    assert any(
        p.startswith("Zeile ") and "„X“ ist für „code“ kein zulässiger Wert" in p for p in problems
    ), problems
    # a missing child
    missing = xml.replace(b"<xdomea:Erstellungszeitpunkt>", b"<xdomea:Hinweis>").replace(
        b"</xdomea:Erstellungszeitpunkt>", b"</xdomea:Hinweis>"
    )
    problems = refused(runtime, zip_of({xml_name: missing}), name, tmp)
    assert any("nicht erlaubt" in p or "fehlt" in p for p in problems), problems
    # the ProzessID of the name is not the head's
    other = uuid.uuid4()
    renamed = name.replace(str(process_id), str(other))
    problems = refused(runtime, zip_of({renamed.removesuffix(".zip") + ".xml": xml}), renamed, tmp)
    assert any("ProzessID im Dateinamen" in p for p in problems), problems


def test_hostile_zips_are_refused(offered: Any) -> None:
    runtime, process_id, ids, tmp = offered
    name, xml = valid_0502(process_id, ids, tmp / "a")
    xml_name = name.removesuffix(".zip") + ".xml"
    problems = refused(runtime, zip_of({xml_name: xml, "../x": b"x"}), name, tmp)
    assert any("„..“" in p for p in problems)
    problems = refused(runtime, zip_of({xml_name: xml, "extra.txt": b"x"}), name, tmp)
    assert any("extra.txt" in p and "nicht nennt" in p for p in problems)
    problems = refused(runtime, zip_of({xml_name: xml, "/etc/passwd": b"x"}), name, tmp)
    assert any("absoluten Pfad" in p for p in problems)
    problems = refused(runtime, zip_of({xml_name: xml, "sub/": b""}), name, tmp)
    assert any("Verzeichnis" in p for p in problems)
    twice = io.BytesIO()
    with pytest.warns(UserWarning), zipfile.ZipFile(twice, "w") as archive:
        archive.writestr(xml_name, xml)
        archive.writestr(xml_name, xml)
    problems = refused(runtime, twice.getvalue(), name, tmp)
    assert any("mehrfach" in p for p in problems)
    problems = refused(runtime, b"not a zip", name, tmp)
    assert problems == ["Die Datei ist kein gültiges ZIP-Archiv."]
    problems = refused(runtime, zip_of({xml_name: xml}), "evaluation.zip", tmp)
    assert "Muster" in problems[0]
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<x>&c;</x>"
    )
    problems = refused(runtime, zip_of({xml_name: bomb}), name, tmp)
    assert any("DTD" in p for p in problems)


def test_a_0506_failure_is_sent_again_in_a_new_0503(offered: Any) -> None:
    runtime, process_id, ids, tmp = offered
    path = archive_message(
        "0502", process_id, [(ids[OWN], "A"), (ids[NEIGHBOUR], "V")], tmp / "a", receipt="false"
    )
    _counts, _warnings, reply = do_import(runtime, path, tmp / "out")
    assert reply is None
    with transaction(runtime.sessions) as session:
        run_id = session.scalar(select(DisposalRun.id))
        transfer(gate_of(session), runtime.blobs, runtime.settings, run_id, TODAY, tmp / "o1")
    do_import(
        runtime, archive_message("0506", process_id, [(ids[OWN], "")], tmp / "b"), tmp / "out"
    )
    state, _ref, problem = items_of(runtime)[OWN]
    assert state == "import_failed" and problem is not None and "Prüfsumme falsch" in problem
    with transaction(runtime.sessions) as session:
        written = transfer(
            gate_of(session), runtime.blobs, runtime.settings, run_id, TODAY, tmp / "o2"
        )
    assert written is not None
    assert_valid(written.path)
    assert items_of(runtime)[OWN][0] == "transferred"


def test_a_hold_set_meanwhile_withdraws_the_file_from_the_transfer(offered: Any) -> None:
    runtime, process_id, ids, tmp = offered
    path = archive_message("0502", process_id, [(ids[OWN], "A"), (ids[NEIGHBOUR], "A")], tmp / "a")
    do_import(runtime, path, tmp / "out")
    with transaction(runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == NEIGHBOUR))
        assert household is not None
        session.add(
            RetentionHold(
                household_id=household.id, reason_code="pruefung", set_by_login="schriftgut"
            )
        )
    with transaction(runtime.sessions) as session:
        run_id = session.scalar(select(DisposalRun.id))
        written = transfer(
            gate_of(session), runtime.blobs, runtime.settings, run_id, TODAY, tmp / "o"
        )
    assert written is not None
    tree = assert_valid(written.path)
    assert [e.text for e in tree.iter(q("Kennzeichen"))] == [OWN]
    state, _ref, problem = items_of(runtime)[NEIGHBOUR]
    assert state == "withdrawn" and problem is not None and "gesperrt" in problem


def test_a_file_reopened_meanwhile_is_withdrawn_even_when_nothing_is_left_to_send(
    offered: Any,
) -> None:
    runtime, process_id, ids, tmp = offered
    do_import(runtime, archive_message("0502", process_id, [(ids[OWN], "A")], tmp / "a"), tmp / "o")
    with transaction(runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        assert household is not None
        household.benefits_end = None  # the household applied again
    with transaction(runtime.sessions) as session:
        run_id = session.scalar(select(DisposalRun.id))
        written = transfer(
            gate_of(session), runtime.blobs, runtime.settings, run_id, TODAY, tmp / "x"
        )
    assert written is None and not (tmp / "x").exists()
    state, _ref, problem = items_of(runtime)[OWN]
    assert state == "withdrawn" and problem is not None and "wieder eröffnet" in problem


def test_declining_and_closing_purges_the_messages_naming_clients(offered: Any) -> None:
    runtime, _process_id, _ids, _tmp = offered
    with transaction(runtime.sessions) as session:
        run_id = session.scalar(select(DisposalRun.id))
        assert run_id is not None
        run = decline_offer(gate_of(session), run_id, "Schreiben des Archivs vom 10.01.2026")
        assert {i.state for i in run.items} == {"to_destroy"}
        assert close_run_if_done(session, run) == []  # still to be destroyed
        for item in run.items:
            item.state = "destroyed"  # as records.destruction leaves them
        keys = close_run_if_done(session, run, runtime.blobs)
        assert run.state == "closed" and len(keys) == 1
        message = session.scalar(select(DisposalMessage).where(DisposalMessage.msg_type == "0501"))
        assert message is not None and message.blob_key is None and len(message.sha256) == 64


def test_only_the_records_manager_may_start_a_run(offered: Any) -> None:
    runtime, _p, _i, tmp = offered
    with pytest.raises(AccessDenied), transaction(runtime.sessions) as session:
        caseworker = session.scalar(select(User).where(User.login == "lsb.95401.2"))
        assert caseworker is not None
        start_run(Gate(session, caseworker), runtime.blobs, runtime.settings, TODAY, tmp / "x")
    with transaction(runtime.sessions, read_only=True) as session:
        assert session.scalar(select(DisposalRun).where(DisposalRun.id > 1)) is None


def test_every_message_we_write_is_schema_valid_and_fixed_booleans_are_1(tmp_path: Path) -> None:
    root, head = new_message("0505", uuid.uuid4(), datetime(2026, 1, 1, tzinfo=UTC), ARCHIVE)
    assert schema().validate(etree.fromstring(serialize(root)).getroottree())
    root, head = new_message("0503", uuid.uuid4(), datetime(2026, 1, 1, tzinfo=UTC), ARCHIVE)
    sub(head, "Importbestaetigung", "true")
    sub(head, "RueckmeldungArchivkennung", "1")
    sub(head, "Empfangsbestaetigung", "1")
    with pytest.raises(MessageRefused) as caught:
        write_message_zip(tmp_path, "0503", uuid.uuid4(), root, STANDARDS)
    assert any("festen Wert „1“" in p for p in caught.value.problems), caught.value.problems


# the command line ----------------------------------------------------------------------------


def test_the_command_line_contract(tmp_path: Path) -> None:
    from app.runtime import build_runtime
    from tests.support import cli_env, run_cli

    data = tmp_path / "data"
    built = build_runtime(make_settings(data))
    try:
        env = cli_env(data)
        nothing = run_cli(env, "records", "offer", "--out", str(tmp_path / "out"))
        assert nothing.returncode == 0, nothing.stderr
        assert "Keine Akte ist zur Aussonderung fällig" in nothing.stdout
        prepare_files(built, tmp_path / "work")
    finally:
        built.close()
    offered = run_cli(env, "records", "offer", "--out", str(tmp_path / "out"))
    assert offered.returncode == 0, offered.stderr
    zip_0501 = Path(offered.stdout.strip().splitlines()[-1])
    assert zip_0501.is_file() and zip_0501.name.endswith(
        "_Aussonderung.Anbieteverzeichnis.0501.zip"
    )
    tree = assert_valid(zip_0501)
    process_id = uuid.UUID(zip_0501.name[:36])
    ids = {
        akte.findtext(f"{q('AllgemeineMetadaten')}/{q('Kennzeichen')}"): akte.findtext(
            f"{q('Identifikation')}/{q('ID')}"
        )
        for akte in tree.iter(q("Akte"))
    }
    # a hostile evaluation: refused in German on stderr, exit 1, nothing changed
    good = archive_message(
        "0502", process_id, [(ids[OWN], "A"), (ids[NEIGHBOUR], "V")], tmp_path / "a"
    )
    hostile = tmp_path / "h" / good.name
    hostile.parent.mkdir()
    xml_name = good.name.removesuffix(".zip") + ".xml"
    hostile.write_bytes(zip_of({xml_name: zipfile.ZipFile(good).read(xml_name), "../x": b"x"}))
    answer = run_cli(env, "records", "evaluate", str(hostile))
    assert answer.returncode == 1
    assert "Abgewiesen, nichts geändert" in answer.stderr and "„..“" in answer.stderr
    listed = json.loads(run_cli(env, "records", "runs", "--json").stdout)
    assert {i["state"] for i in listed[0]["items"]} == {"offered"}

    answer = run_cli(env, "records", "evaluate", str(good), "--out", str(tmp_path / "out"))
    assert answer.returncode == 0, answer.stderr
    assert "zu vernichten: 1" in answer.stdout
    reply = Path(answer.stdout.strip().splitlines()[-1])
    assert reply.name.endswith("_Aussonderung.BewertungEmpfangBestaetigen.0505.zip")
    answer = run_cli(
        env, "records", "transfer", str(listed[0]["id"]), "--out", str(tmp_path / "out")
    )
    assert answer.returncode == 0, answer.stderr
    assert_valid(Path(answer.stdout.strip().splitlines()[-1]))
    confirmation = archive_message("0506", process_id, [(ids[OWN], "LA-1")], tmp_path / "c")
    answer = run_cli(env, "records", "confirm", str(confirmation))
    assert answer.returncode == 0, answer.stderr
    listed = json.loads(run_cli(env, "records", "runs", "--json").stdout)
    states = {i["bg_number"]: (i["state"], i["archive_ref"]) for i in listed[0]["items"]}
    assert states == {OWN: ("archived", "LA-1"), NEIGHBOUR: ("to_destroy", None)}
    again = build_runtime(make_settings(data))
    try:
        with transaction(again.sessions, read_only=True) as session:
            rows = session.scalars(select(AuditEvent).where(AuditEvent.action.like("disposal.%")))
            actors = {row.actor_login for row in rows}
    finally:
        again.close()
    assert actors == {"cli"}


def test_file_names_in_a_0503_cannot_leave_the_zip() -> None:
    from records.xdomea import DATEINAME, safe_subject

    name = f"{uuid.uuid4()}_{safe_subject('Antrag für Straße/../../etc <x>')}.pdf"
    assert DATEINAME.match(name) and "/" not in name and ".." not in name
    assert name.endswith("_Antrag_fuer_Strasse_etc_x.pdf")


def test_a_document_that_is_not_pdfa_stops_the_transfer(offered: Any) -> None:
    from core.errors import InvalidInput

    runtime, process_id, ids, tmp = offered
    do_import(runtime, archive_message("0502", process_id, [(ids[OWN], "A")], tmp / "a"), tmp / "o")
    plain = scan_pdf(tmp / "plain.pdf", [Sheet("kein PDF/A")]).read_bytes()
    with transaction(runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        assert household is not None
        document = session.scalars(
            select(Document).where(Document.household_id == household.id)
        ).first()
        assert document is not None
        runtime.blobs.put("renditions/plain.pdf", io.BytesIO(plain))
        document.pdf_key, document.pdf_sha256 = (
            "renditions/plain.pdf",
            hashlib.sha256(plain).hexdigest(),
        )
    with pytest.raises(InvalidInput, match="kein PDF/A"), transaction(runtime.sessions) as session:
        run_id = session.scalar(select(DisposalRun.id))
        transfer(gate_of(session), runtime.blobs, runtime.settings, run_id, TODAY, tmp / "out")
    assert items_of(runtime)[OWN][0] == "to_archive"
    assert not (tmp / "out").exists() or not list((tmp / "out").glob("*0503*"))


def test_files_the_rules_do_not_offer_are_proposed_for_destruction(tmp_path: Path) -> None:
    from app.runtime import build_runtime

    rules = tmp_path / "rules.toml"
    rules.write_text("[file]\noffer_to_archive = false\n", encoding="utf-8")
    built = build_runtime(make_settings(tmp_path / "data", retention_rules_file=rules))
    try:
        prepare_files(built, tmp_path / "work")
        path, _process_id, _ids = offer(built, tmp_path / "out")
    finally:
        built.close()
    tree = assert_valid(path)
    proposals = [e.findtext("code") for e in tree.iter(q("Bewertungsvorschlag"))]
    kinds = [
        e.findtext("code") for e in tree.iter(q("Aussonderungsart")) if e.find("code") is not None
    ]
    assert proposals == ["V", "V"] and kinds == ["V", "V"]
