"""Taking over another authority's file (xdomea 0401 -> 0402, records/takeover.py): filed into
the matching household or waiting in clearing for the desk, documents equal to the source,
searchable at once, every broken message refused in German with nothing stored."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import func, select

from app.runtime import Runtime
from core.db import record_after_rollback, transaction
from ingest.filing import catalogue_for
from records.access import CLEARING, Gate
from records.models import AuditEvent, Document, Household, InboxItem, Note, Takeover, User
from records.takeover import TakeoverRefused, assign, import_0401, takeovers
from records.xdomea import q
from search import SearchQuery
from tests.support import NEIGHBOUR, OWN, load_people, make_settings
from tests.support_takeover18 import (
    SENDER,
    SENDER_BG,
    SHARED_STANDARDS,
    SHIPPED_STANDARDS,
    Message,
    PersonRow,
    build_0401,
    persons_of,
    schema_of,
    source_documents,
    zip_xml,
)

NOW = datetime(2026, 3, 3, 10, tzinfo=UTC)
# The answers are checked against the standard as published (../shared/standards) where it is.
STANDARDS = SHARED_STANDARDS if SHARED_STANDARDS.is_dir() else SHIPPED_STANDARDS


@pytest.fixture
def people(sqlite_runtime: Runtime) -> Iterator[Runtime]:
    load_people(sqlite_runtime)
    yield sqlite_runtime


@pytest.fixture
def backends(runtime: Runtime) -> Iterator[Runtime]:
    """The sample people on both backend sets (SQLite and files; PostgreSQL, MinIO and
    OpenSearch with the services marker)."""
    load_people(runtime)
    yield runtime


def desk_gate(session: object) -> Gate:
    user = session.scalar(select(User).where(User.role == "scanstelle"))  # type: ignore[attr-defined]
    assert user is not None
    return Gate(session, user)  # type: ignore[arg-type]


def take_over(runtime: Runtime, message: Message, data: bytes | None = None) -> uuid.UUID:
    types = catalogue_for(runtime.settings, runtime.sessions).types
    with transaction(runtime.sessions) as session:
        imported = import_0401(
            desk_gate(session), runtime, data or message.zip_bytes(), message.name, NOW, types
        )
        return imported.takeover.process_id


def refused(runtime: Runtime, data: bytes, name: str) -> TakeoverRefused:
    """The refusal of a message, after the unit of work rolled back (as the CLI does it)."""
    types = catalogue_for(runtime.settings, runtime.sessions).types
    with pytest.raises(TakeoverRefused) as caught:
        with transaction(runtime.sessions) as session:
            import_0401(desk_gate(session), runtime, data, name, NOW, types)
    record_after_rollback(runtime.sessions, caught.value)
    return caught.value


def stored(runtime: Runtime) -> tuple[int, int, int]:
    """Take-overs, taken-over documents and blobs under takeovers/ (nothing after a refusal)."""
    with transaction(runtime.sessions) as session:
        count = session.scalar(select(func.count()).select_from(Takeover)) or 0
        docs = session.scalar(
            select(func.count()).select_from(Document).where(Document.takeover_id.is_not(None))
        )
    return count, docs or 0, blob_files(runtime)


def blob_files(runtime: Runtime) -> int:
    blob_dir = runtime.settings.data_dir / "blobs"
    return len([p for p in blob_dir.rglob("*") if p.is_file() and "takeovers" in p.parts])


# a good message ---------------------------------------------------------------------------


def test_a_file_is_filed_into_the_matching_household_equal_to_its_source(
    backends: Runtime,
) -> None:
    people = backends
    sources = source_documents()
    message = build_0401(persons_of(people, OWN), sources)
    process_id = take_over(people, message)
    with transaction(people.sessions) as session:
        takeover = session.scalar(select(Takeover).where(Takeover.process_id == process_id))
        assert takeover is not None
        assert takeover.state == "filed" and takeover.household is not None
        assert takeover.household.bg_number == OWN
        assert takeover.sender == SENDER and takeover.sender_file_ref == SENDER_BG
        documents = list(
            session.scalars(
                select(Document)
                .where(Document.takeover_id == takeover.id)
                .order_by(Document.sequence)
            )
        )
        assert len(documents) == len(sources) == takeover.document_count
        for document, source in zip(documents, sources, strict=True):
            assert document.household_id == takeover.household_id
            assert document.pdf_sha256 == document.original_sha256 == source.sha256
            assert people.blobs.stat(document.pdf_key or "").sha256 == source.sha256
            assert document.page_count == source.page_count == len(document.pages)
            assert all(word in document.pages[0].text for word in source.pages[0].split())
            assert document.doc_type == source.expected_type
            assert all(page.image_key and page.thumb_key for page in document.pages)
            assert document.receipt_date == source.receipt_date
            assert document.letter_date == source.letter_date
            assert document.direction == source.direction
            assert document.dispatch_date == source.dispatch_date
            assert document.sender == source.sender
            assert document.received_at == source.received_at
            assert document.scan_record_key is not None
            record = json.loads(b"".join(people.blobs.open(document.scan_record_key)))
            assert record["takeover"]["transfer_note"]["sha256"]
            # routed like mail: one open item in a person's or team's Postkorb
            item = session.scalar(select(InboxItem).where(InboxItem.document_id == document.id))
            assert item is not None and item.kind in ("user", "team")
        note = session.scalar(select(Note).where(Note.household_id == takeover.household_id))
        assert note is not None
        assert note.text.startswith(f"Akte von {SENDER} übernommen (3 Dokumente")
        assert SENDER_BG in note.text
        # the 0402 answers with success, valid against the standard's schemas
        assert takeover.answer_key
        answer = b"".join(people.blobs.open(takeover.answer_key))
    tree = zip_xml(answer)
    schema = schema_of(STANDARDS)
    assert schema.validate(tree), schema.error_log
    assert tree.findtext(f"{q('Kopf')}/{q('ProzessID')}") == str(process_id)
    assert tree.findtext(f"{q('AbgegebenesObjekt')}/{q('IDSGO')}") == str(message.akte_id)
    assert tree.findtext(f"{q('AbgegebenesObjekt')}/{q('Erfolgreich')}") == "true"


def test_taken_over_documents_are_searchable_at_once(backends: Runtime) -> None:
    people = backends
    take_over(people, build_0401(persons_of(people, OWN), source_documents()))
    hits = people.index.search(SearchQuery("Zwiebelturm", frozenset({OWN}))).hits
    assert len(hits) == 1
    assert people.index.search(SearchQuery("Zwiebelturm", frozenset({NEIGHBOUR}))).total == 0


def test_without_a_match_it_waits_in_clearing_until_the_desk_assigns_it(people: Runtime) -> None:
    stranger = [PersonRow("Unbekannt", "Ute", datetime(1970, 1, 1).date())]
    process_id = take_over(people, build_0401(stranger, source_documents()))
    with transaction(people.sessions) as session:
        gate = desk_gate(session)
        [takeover] = takeovers(gate)
        assert takeover.process_id == process_id and takeover.state == "clearing"
        assert takeover.household is None
        assert takeover.persons[0]["family_name"] == "Unbekannt"
        documents = list(session.scalars(select(Document).where(Document.takeover_id.is_not(None))))
        assert documents and all(d.household_id is None for d in documents)
        takeover_id = takeover.id
    # the desk finds them (in clearing), no caseworker does
    assert people.index.search(SearchQuery("Zwiebelturm", frozenset({CLEARING}))).total == 1
    assert people.index.search(SearchQuery("Zwiebelturm", frozenset({NEIGHBOUR}))).total == 0
    types = catalogue_for(people.settings, people.sessions).types
    with pytest.raises(Exception, match="nicht bekannt"):
        with transaction(people.sessions) as session:
            assign(desk_gate(session), people, takeover_id, "99999BG9999999", types, NOW)
    with transaction(people.sessions) as session:
        assign(desk_gate(session), people, takeover_id, NEIGHBOUR, types, NOW)
    with transaction(people.sessions) as session:
        takeover = session.get_one(Takeover, takeover_id)
        assert takeover.state == "filed" and takeover.household is not None
        assert takeover.household.bg_number == NEIGHBOUR
        items = list(
            session.scalars(
                select(InboxItem)
                .join(Document, Document.id == InboxItem.document_id)
                .where(Document.takeover_id == takeover_id)
            )
        )
        assert len(items) == 3 and all(i.kind in ("user", "team") for i in items)
    assert people.index.search(SearchQuery("Zwiebelturm", frozenset({NEIGHBOUR}))).total == 1


def test_a_foreign_file_without_our_extension_is_taken_with_its_types_by_label(
    people: Runtime,
) -> None:
    sources = source_documents()
    process_id = take_over(people, build_0401(persons_of(people, OWN), sources, extension=False))
    with transaction(people.sessions) as session:
        takeover = session.scalar(select(Takeover).where(Takeover.process_id == process_id))
        assert takeover is not None
        assert takeover.state == "clearing"  # no birth dates: nobody is identified by name
        documents = list(
            session.scalars(
                select(Document)
                .where(Document.takeover_id == takeover.id)
                .order_by(Document.sequence)
            )
        )
        # the catalogue code as is, the label "Kontoauszug" to its code, the unknown to sonstiges
        assert [d.doc_type for d in documents] == ["sonstiges"] * 3  # typed when filed
        notes = session.scalars(select(Note.text).where(Note.document_id == documents[0].id))
        assert any("ohne Prüfsumme übernommen" in text for text in notes)
        takeover_id = takeover.id
    types = catalogue_for(people.settings, people.sessions).types
    with transaction(people.sessions) as session:
        assign(desk_gate(session), people, takeover_id, OWN, types, NOW)
    with transaction(people.sessions) as session:
        documents = list(
            session.scalars(
                select(Document)
                .where(Document.takeover_id == takeover_id)
                .order_by(Document.sequence)
            )
        )
        assert [d.doc_type for d in documents] == [s.expected_type for s in sources]


# broken messages --------------------------------------------------------------------------


def _remove(message: Message, local: str) -> None:
    element = next(message.root.iter(q(local)))
    element.getparent().remove(element)


def plain_pdf() -> bytes:
    """A PDF that does not claim PDF/A."""
    buffer = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(buffer)
    return buffer.getvalue()


def _drop_checksums(message: Message) -> None:
    for extension in list(message.root.iter(q("AnwendungsspezifischeErweiterung"))):
        if extension.findtext(q("Kennung")) == "urn:eakte-jobcenter:dokument:1":
            extension.getparent().remove(extension)


def test_broken_messages_are_refused_in_german_and_nothing_is_stored(people: Runtime) -> None:
    persons = persons_of(people, OWN)

    def fresh() -> Message:
        return build_0401(persons, source_documents())

    cases: list[tuple[str, bytes, str, str]] = []
    missing = fresh()
    _remove(missing, "Identifikation")
    cases.append(
        ("fehlendes Element", missing.zip_bytes(), missing.name, "erwartet wird: Identifikation")
    )
    wrong_code = fresh()
    next(wrong_code.root.iter(q("Nachrichtentyp"))).find("code").text = "9999"
    cases.append(("falscher Code", wrong_code.zip_bytes(), wrong_code.name, "9999"))
    bad_format = fresh()
    next(bad_format.root.iter(q("Format"))).find(q("Name")).find("code").text = "001"
    cases.append(("Dateiformat", bad_format.zip_bytes(), bad_format.name, "PDF/A"))
    bad_hash = fresh()
    first = next(iter(bad_hash.files))
    bad_hash.files[first] = source_documents()[1].pdf
    cases.append(("Prüfsumme", bad_hash.zip_bytes(), bad_hash.name, "Prüfsumme"))
    extra = fresh()
    cases.append(
        ("zusätzliche Datei", extra.zip_bytes({"notiz.txt": b"x"}), extra.name, "notiz.txt")
    )
    escape = fresh()
    cases.append(("../", escape.zip_bytes({"../boese.pdf": b"x"}), escape.name, "„..“"))
    not_pdf = fresh()
    not_pdf.files[first] = b"Das ist kein PDF."
    cases.append(("kein PDF", not_pdf.zip_bytes(), not_pdf.name, "kein lesbares PDF"))
    plain = fresh()
    plain_name = next(iter(plain.files))
    plain.files[plain_name] = plain_pdf()
    _drop_checksums(plain)
    cases.append(("kein PDF/A", plain.zip_bytes(), plain.name, "ist kein PDF/A"))
    for label, data, name, expected in cases:
        error = refused(people, data, name)
        text = " ".join(error.problems)
        assert expected in text, (label, text)
        assert stored(people) == (0, 0, 0), label
    # a 0402 with Erfolgreich false answers a refusal that can be addressed
    error = refused(people, bad_hash.zip_bytes(), bad_hash.name)
    assert error.answer is not None
    tree = zip_xml(error.answer[1])
    assert schema_of(STANDARDS).validate(tree)
    assert tree.findtext(f"{q('AbgegebenesObjekt')}/{q('Erfolgreich')}") == "false"
    assert "Prüfsumme" in (tree.findtext(f"{q('AbgegebenesObjekt')}/{q('Fehlermeldung')}") or "")
    with transaction(people.sessions) as session:
        refusals = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "takeover.import", AuditEvent.outcome == "refused")
        )
    assert refusals == len(cases) + 1


def test_a_transaction_that_does_not_commit_leaves_no_object_behind(people: Runtime) -> None:
    message = build_0401(persons_of(people, OWN), source_documents())
    types = catalogue_for(people.settings, people.sessions).types
    with pytest.raises(RuntimeError, match="after the import"):
        with transaction(people.sessions) as session:
            import_0401(desk_gate(session), people, message.zip_bytes(), message.name, NOW, types)
            assert blob_files(people) > 0  # written while the transaction runs
            raise RuntimeError("something fails after the import")
    assert stored(people) == (0, 0, 0)
    assert people.index.search(SearchQuery("Zwiebelturm", frozenset({OWN}))).total == 0


def test_a_process_id_is_taken_over_once(people: Runtime) -> None:
    message = build_0401(persons_of(people, OWN), source_documents())
    take_over(people, message)
    before = stored(people)
    error = refused(people, message.zip_bytes(), message.name)
    assert "bereits übernommen" in " ".join(error.problems)
    assert error.answer is None  # the first delivery's 0402 stands
    assert stored(people) == before


# the command line ---------------------------------------------------------------------------


def test_the_command_line_contract(tmp_path: Path) -> None:
    from app.runtime import build_runtime
    from tests.support import cli_env, run_cli

    data = tmp_path / "data"
    built = build_runtime(make_settings(data))
    try:
        load_people(built)
        persons = persons_of(built, OWN)
    finally:
        built.close()
    env = cli_env(data)
    good = build_0401(persons, source_documents()).write(tmp_path / "in")
    done = run_cli(env, "handover", "import", str(good))
    assert done.returncode == 0, done.stderr
    assert OWN in done.stdout and "3 Dokument(e)" in done.stdout
    answer = Path(done.stdout.strip().splitlines()[-1])
    assert answer.parent == good.parent and answer.name.endswith(
        "_Abgabe.ImportBestaetigen.0402.zip"
    )
    assert schema_of(STANDARDS).validate(zip_xml(answer.read_bytes()))
    receipt = answer.parent / answer.name.replace(
        "ImportBestaetigen.0402", "EmpfangBestaetigen.0403"
    )
    assert f"Empfangsbestätigung (0403) geschrieben: {receipt}" in done.stdout
    assert schema_of(STANDARDS).validate(zip_xml(receipt.read_bytes()))
    stranger = [PersonRow("Unbekannt", "Ute", None)]
    waiting = build_0401(stranger, source_documents()).write(tmp_path / "in2")
    as_json = run_cli(env, "handover", "import", str(waiting), "--json")
    assert as_json.returncode == 0, as_json.stderr
    result = json.loads(as_json.stdout)
    assert result["household"] is None and result["state"] == "clearing"
    assert result["documents"] == 3 and Path(result["answer"]).is_file()
    broken = build_0401(persons, source_documents())
    first = next(iter(broken.files))
    broken.files[first] = source_documents()[2].pdf
    hashed = tmp_path / "in3" / broken.name
    hashed.parent.mkdir()
    hashed.write_bytes(broken.zip_bytes())
    refused = run_cli(env, "handover", "import", str(hashed), "--json")
    assert refused.returncode == 1 and "Prüfsumme" in refused.stderr
    result = json.loads(refused.stdout)
    assert result["state"] == "refused" and result["documents"] == 0
    failed = zip_xml(Path(result["answer"]).read_bytes())
    assert failed.findtext(f".//{q('Erfolgreich')}") == "false"


def test_persons_match_by_birth_date_family_name_and_first_given_name(people: Runtime) -> None:
    from records.takeover import Person, matching_households

    born = persons_of(people, OWN)[0].birth_date
    with transaction(people.sessions) as session:

        def found(*persons: Person) -> list[str]:
            return [h.bg_number for h in matching_households(session, persons)]

        assert found(Person("PETERS", "Piotr Jan", born)) == [OWN]  # a second given name
        assert found(Person("Peters", "Paul", born)) == []  # another person
        assert found(Person("Peters", "Piotr", None)) == []  # a name alone identifies nobody
        assert found(Person("Peters", "Piotr", born), Person("Peters", "Ina", born)) == []


def test_a_file_coming_back_after_a_hand_over_is_ours_again(people: Runtime) -> None:
    """The client moved away (we handed the file over) and moves back: the other job centre's
    0401 lands in the same household, which may change again, and the file says why."""
    with transaction(people.sessions) as session:
        household = session.scalars(select(Household).where(Household.bg_number == OWN)).one()
        household.handed_over_at = datetime(2025, 5, 2, 9, tzinfo=UTC)
        household.handed_over_to = SENDER
    take_over(people, build_0401(persons_of(people, OWN), source_documents()))
    with transaction(people.sessions) as session:
        household = session.scalars(select(Household).where(Household.bg_number == OWN)).one()
        assert (household.handed_over_at, household.handed_over_to) == (None, None)
        notes = session.scalars(select(Note.text).where(Note.household_id == household.id))
        assert any(f"war an {SENDER} abgegeben" in text for text in notes)
        caseworker = household.caseworker
        assert caseworker is not None
        gate = Gate(session, caseworker)
        gate.household(OWN, "note.add")  # a change is allowed again
