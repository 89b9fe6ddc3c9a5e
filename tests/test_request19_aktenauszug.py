"""The request history in the Aktenauszug (issue 19, records/request_history.py and the section
of records/aktenauszug.py): a household's request for documents, with one item answered behind
the return sheet, one answered by a document the export withholds and one still missing after a
reminder, is exported; the PDF's section "Anforderungen von Unterlagen (Mitwirkung)" lists the
request's deadline, reminder, the items' statuses with the documents by their number and sheet,
and the history; the withheld document's title and sender appear nowhere in it. A household
without requests gets no such section. veraPDF (EAKTE_VERAPDF) judges PDF/A-2b and PDF/UA-1."""

from __future__ import annotations

import io
import re
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import get_type_names
from core.db import run_after_commit, transaction
from ingest.archive_pdf import write_pdfa
from records.access import Gate
from records.file_exports import BuiltExport, build_planned_export, plan_export, record_export
from records.models import (
    AuditEvent,
    Document,
    DocumentRequest,
    Household,
    Note,
    Objection,
    User,
)
from records.request_history import export_history
from records.request_replies import link
from records.requests import create_request, remind, withdraw
from records.runtime import Runtime
from storage.base import read_bytes
from tests.support import OWN, Sheet, file_letter, load_people, scan_pdf
from tests.support_pdf import REASON, failed_rules

BG = "95401BG7267253"  # Christiansen/Schmitz, caseload of lsb.95401.2 (Leistung Husum)
CASEWORKER = "lsb.95401.2"
TODAY = date(2026, 12, 7)  # the request is written (a Monday)
DUE = date(2026, 12, 21)
REMINDED = date(2026, 12, 22)  # the deadline passed, the rent certificate is missing
NEW_DUE = date(2027, 1, 11)
EXPORTED = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)  # the new deadline passed too
BANK_RECEIVED = date(2026, 12, 10)
PAY_RECEIVED = date(2026, 12, 11)
PAY_SENDER = "Fischräucherei Hansen GmbH"
SECTION = "Anforderungen von Unterlagen (Mitwirkung)"
ITEMS = [
    ("kontoauszug", "01.09.2026-30.11.2026"),
    ("verdienstabrechnung", "01.10.2026-30.11.2026"),
    ("mietbescheinigung", ""),
]


@dataclass(frozen=True)
class Exported:
    pdf: Path
    built: BuiltExport
    request_id: int
    titles: dict[str, str]  # document id -> its title in the export
    bank: str
    pay: str
    letters: list[str]  # the request letter and the reminder


def _rendition(runtime: Runtime, document: Document, text: str, work: Path) -> None:
    """A PDF/A-2b rendition as the pipeline leaves it, in the blob store."""
    scan = scan_pdf(work / f"{document.id}-scan.pdf", [Sheet(text)])
    pdf = work / f"{document.id}.pdf"
    write_pdfa([scan], pdf, title=text, created=EXPORTED)
    key = f"renditions/{document.id}.pdf"
    stored = runtime.blobs.put(key, io.BytesIO(pdf.read_bytes()))
    document.pdf_key, document.pdf_sha256, document.page_count = key, stored.sha256, 1


def _user(session: Session, login: str = CASEWORKER) -> User:
    user = session.scalar(select(User).where(User.login == login))
    assert user is not None
    return user


def _export(
    runtime: Runtime,
    bg_number: str,
    work: Path,
    *,
    withheld: dict[uuid.UUID, str] | None = None,
    document_ids: list[uuid.UUID] | None = None,
    objection_id: int | None = None,
) -> tuple[Path, BuiltExport, dict[str, str]]:
    """An Aktenauszug of the file for the court, made and recorded as the pages make it."""
    names = get_type_names(runtime)
    with transaction(runtime.sessions) as session:
        plan = plan_export(
            Gate(session, _user(session)),
            bg_number,
            names,
            recipient="Sozialgericht Schleswig, Az. S 20 AS 3/27",
            legal_basis="sgg_104",
            withheld=withheld,
            document_ids=document_ids,
            objection_id=objection_id,
            now=EXPORTED,
        )
    built = build_planned_export(plan, runtime.blobs, work)
    with transaction(runtime.sessions) as session:
        record_export(Gate(session, _user(session)), plan, built)
    pdf = work / f"export-{bg_number}-{len(list(work.iterdir()))}.pdf"
    pdf.write_bytes(read_bytes(runtime.blobs, built.key))
    return pdf, built, {item.document_id: item.title for item in plan.items}


@pytest.fixture
def exported(sqlite_runtime: Runtime, tmp_path: Path) -> Exported:
    runtime = sqlite_runtime
    load_people(runtime)
    with transaction(runtime.sessions) as session:
        created = create_request(
            Gate(session, _user(session)), runtime, BG, ITEMS, DUE, today=TODAY
        )
        request_id = created.request.id
    run_after_commit(session)
    with transaction(runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == BG))
        request = session.get(DocumentRequest, request_id)
        assert request is not None
        answers = {}
        for code, doc_type, received, sender in (
            ("kontoauszug", "kontoauszug", BANK_RECEIVED, "Nord-Ostsee Sparkasse"),
            ("verdienstabrechnung", "verdienstabrechnung", PAY_RECEIVED, PAY_SENDER),
        ):
            document = file_letter(
                session, household, doc_type, f"{doc_type} Seite 1",
                receipt_date=received, sender=sender,
            )  # fmt: skip
            session.flush()
            _rendition(runtime, document, f"{doc_type} Seite 1", tmp_path)
            (item,) = [i for i in request.items if i.code == code]
            assert link(session, item, document, "sheet", True) is not None
            answers[code] = document.id
    with transaction(runtime.sessions) as session:
        reminded = remind(
            Gate(session, _user(session)), runtime, request_id, NEW_DUE, today=REMINDED
        )
        letters = [str(created.letter.id), str(reminded.letter.id)]
    run_after_commit(session)
    pdf, built, titles = _export(
        runtime, BG, tmp_path, withheld={answers["verdienstabrechnung"]: REASON}
    )
    return Exported(
        pdf,
        built,
        request_id,
        titles,
        str(answers["kontoauszug"]),
        str(answers["verdienstabrechnung"]),
        letters,
    )


def _text(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-raw"]  # in the order drawn: a table row's cells one after another
    args += ["-f", str(first)] if first else []
    args += ["-l", str(last)] if last else []
    done = subprocess.run([*args, str(pdf), "-"], capture_output=True, check=True, timeout=60)
    return done.stdout.decode()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _number(exported: Exported, document_id: str) -> int:
    return list(exported.titles).index(document_id) + 1


def test_the_section_lists_the_request_with_its_items_reminder_and_history(
    exported: Exported,
) -> None:
    assert exported.built.requests_pages == (3, 3)  # after the cover and the contents
    section = _text(exported.pdf, 3, 3)
    flat = _flat(section)
    assert SECTION in flat
    assert f"Anforderung Nr. {exported.request_id} vom 07.12.2026 an Andreas Christiansen" in flat
    assert "Angeschrieben Andreas Christiansen" in flat
    assert re.search(r"Angefordert von \S", flat)
    assert "Frist 11.01.2027 (Frist des Schreibens: 21.12.2026)" in flat
    assert "Erinnerungen 22.12.2026, neue Frist 11.01.2027" in flat
    assert "Stand offen, Frist abgelaufen" in flat

    sheets = {document_id: first for document_id, first, _last in _contents(exported)}
    # The bank statements arrived: the document by its number, title and sheet in this export.
    bank, bank_title = _number(exported, exported.bank), exported.titles[exported.bank]
    assert (
        "Kontoauszüge aller Konten für die Zeit vom 01.09.2026 bis 30.11.2026 eingegangen "
        f"am 10.12.2026 (mit Rücksendeblatt): Nr. {bank} {bank_title} vom 10.12.2026 "
        f"Bl. {sheets[exported.bank]}"
    ) in flat
    # The pay slips arrived too, in a document withheld from this export: no title; its
    # number and sheet lead to its placeholder.
    pay = _number(exported, exported.pay)
    assert (
        "Lohn- oder Gehaltsabrechnungen für die Zeit vom 01.10.2026 bis 30.11.2026 eingegangen "
        f"am 11.12.2026 (mit Rücksendeblatt): Nr. {pay} (zurückgehalten) "
        f"Bl. {sheets[exported.pay]}"
    ) in flat
    assert exported.titles[exported.pay] not in section
    # The rent certificate is missing.
    assert "Mietbescheinigung oder Mietvertrag fehlt Verlauf" in flat
    # The history: letter, answers, reminder (naming what was missing), the deadline passed.
    letter, reminder = (_number(exported, d) for d in exported.letters)
    history = flat[flat.index("Verlauf Datum Ereignis Blatt") :]
    expected = [
        "07.12.2026 Mitwirkungsaufforderung an Andreas Christiansen versandt, Frist 21.12.2026: "
        f"Nr. {letter} ",
        "10.12.2026 Eingegangen: Kontoauszüge aller Konten (mit Rücksendeblatt): "
        f"Nr. {bank} {bank_title}",
        "11.12.2026 Eingegangen: Lohn- oder Gehaltsabrechnungen (mit Rücksendeblatt): "
        f"Nr. {pay} (zurückgehalten)",
        "22.12.2026 Erinnerung versandt (fehlend: Mietbescheinigung oder Mietvertrag), "
        f"neue Frist 11.01.2027: Nr. {reminder} ",
        "11.01.2027 Frist abgelaufen, fehlend: Mietbescheinigung oder Mietvertrag",
    ]
    positions = [_position(history, line) for line in expected]
    assert positions == sorted(positions)


def _position(text: str, wanted: str) -> int:
    """Where `wanted` stands in `text`, allowing the line breaks and sheet numbers of the
    layout inside it."""
    pattern = r"\s+(?:Bl\. \d+(?:–\d+)?\s+)?".join(re.escape(word) for word in wanted.split())
    found = re.search(pattern, text)
    assert found is not None, f"{wanted!r} not in {text!r}"
    return found.start()


def _contents(exported: Exported) -> list[tuple[str, int, int]]:
    return [
        (entry["document_id"], entry["first_page"], entry["last_page"])
        for entry in exported.built.listed
    ]


def test_the_withheld_document_leaks_neither_title_nor_sender(exported: Exported) -> None:
    whole = _text(exported.pdf)
    assert PAY_SENDER not in whole
    # Its title stands only where the export always names a withheld document: the contents
    # and its placeholder page, never in the request section.
    title = exported.titles[exported.pay]
    pages = [_text(exported.pdf, n, n) for n in range(1, exported.built.pages + 1)]
    (placeholder,) = [n for n, page in enumerate(pages, 1) if "Dokument zurückgehalten" in page]
    assert [n for n, page in enumerate(pages, 1) if title in page] == [2, placeholder]


def test_contents_cover_outline_vermerk_and_audit_name_the_section(
    exported: Exported, sqlite_runtime: Runtime
) -> None:
    contents = _flat(_text(exported.pdf, 2, 2))
    assert f"{SECTION} Bl. 3" in contents
    assert "Anforderungen von Unterlagen Bl. 3, Dokumente Bl. 4–" in _flat(
        _text(exported.pdf, 1, 1)
    )
    with pikepdf.open(exported.pdf) as pdf:
        with pdf.open_outline() as outline:
            titles = [item.title for item in outline.root]
        # The section's sheet numbers are links to the documents' first pages.
        numbers = {page.objgen: n for n, page in enumerate(pdf.pages, 1)}
        targets = {numbers[a.Dest[0].objgen] for a in pdf.pages[2].obj.Annots}
    assert titles[:3] == ["Deckblatt", "Inhaltsverzeichnis", f"{SECTION} (Bl. 3)"]
    first_pages = {document_id: first for document_id, first, _last in _contents(exported)}
    assert targets == {first_pages[d] for d in (exported.bank, exported.pay, *exported.letters)}
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        note = session.scalars(select(Note).order_by(Note.id.desc())).first()
        assert note is not None
        assert "mit dem Verlauf von 1 Anforderung von Unterlagen (Bl. 3)" in note.text
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "export.created")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None and event.details["requests"] == [exported.request_id]


def test_documents_not_chosen_for_the_export_are_named_as_not_in_it(
    exported: Exported, sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    work = tmp_path / "chosen"
    work.mkdir()
    pdf, built, titles = _export(sqlite_runtime, BG, work, document_ids=[uuid.UUID(exported.bank)])
    assert list(titles) == [exported.bank] and built.requests_pages == (3, 3)
    section = _flat(_text(pdf, 3, 3))
    assert f"Nr. 1 {titles[exported.bank]} vom 10.12.2026" in section
    assert "am 11.12.2026 (mit Rücksendeblatt): nicht in diesem Aktenauszug" in section
    assert re.search(r"Frist 21\.12\.2026: nicht in diesem\s+Aktenauszug", section)
    assert exported.titles[exported.pay] not in section


def test_an_objection_scope_export_has_the_requests_too(
    exported: Exported, sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    """The export for an objection holds the objection's documents and every request of the
    household (see records/file_exports.py); the request's documents that are not in it are
    named as such, without their titles."""
    with transaction(sqlite_runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == BG))
        assert household is not None
        letter = file_letter(
            session, household, "widerspruch", "Widerspruch gegen die Versagung",
            receipt_date=date(2027, 1, 18),
        )  # fmt: skip
        session.flush()
        _rendition(sqlite_runtime, letter, "Widerspruch gegen die Versagung", tmp_path)
        objection = Objection(
            household_id=household.id,
            document_id=letter.id,
            receipt_date=date(2027, 1, 18),
            status_by_login=CASEWORKER,
            created_by_login=CASEWORKER,
        )
        session.add(objection)
        session.flush()
        objection_id, letter_id = objection.id, str(letter.id)
    work = tmp_path / "objection"
    work.mkdir()
    pdf, built, titles = _export(sqlite_runtime, BG, work, objection_id=objection_id)
    assert list(titles) == [letter_id] and built.requests_pages == (3, 3)
    section = _flat(_text(pdf, 3, 3))
    assert "Mietbescheinigung oder Mietvertrag fehlt" in section
    assert "am 10.12.2026 (mit Rücksendeblatt): nicht in diesem Aktenauszug" in section
    assert exported.titles[exported.pay] not in section


def test_a_household_without_requests_gets_no_section(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    load_people(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        document = file_letter(session, household, "kontoauszug", "Kontoauszug Seite 1")
        session.flush()
        _rendition(sqlite_runtime, document, "Kontoauszug Seite 1", tmp_path)
    pdf, built, _titles = _export(sqlite_runtime, OWN, tmp_path)
    assert built.requests_pages is None and built.pages == 3
    assert "Anforderungen" not in _text(pdf)
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        note = session.scalars(select(Note).order_by(Note.id.desc())).first()
        assert note is not None and "Anforderung" not in note.text


def test_a_guess_fills_nothing_and_a_withdrawal_is_dated_with_its_reason(
    sqlite_runtime: Runtime,
) -> None:
    """What the section is made of (records/request_history.py): a supposed answer recognition
    linked stays unconfirmed and the item missing; the withdrawal is in the history, dated, with
    its reason."""
    load_people(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        gate = Gate(session, _user(session))
        created = create_request(
            gate, sqlite_runtime, OWN, [("mietbescheinigung", "")], DUE, today=TODAY
        )
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        guess = file_letter(session, household, "mietbescheinigung", "Mietbescheinigung")
        session.flush()
        (item,) = created.request.items
        assert link(session, item, guess, "recognition", False) is not None
        withdraw(gate, created.request.id, "Miete inzwischen vom Vermieter bestätigt")
        (record,) = export_history(session, household, date(2026, 12, 8))
    run_after_commit(session)
    assert record.state == "zurückgenommen" and record.first_due_on == DUE
    (entry,) = record.items
    assert entry.status == "fehlt"
    assert [(d.document_id, d.how) for d in entry.documents] == [
        (str(guess.id), "vermutlich Antwort, nicht bestätigt")
    ]
    texts = [event.text for event in record.history]
    assert texts[0].startswith("Mitwirkungsaufforderung an ")
    assert "Vermutlich Antwort (nicht bestätigt) zu: Mietbescheinigung oder Mietvertrag" in texts
    (withdrawn,) = [e for e in record.history if e.text.startswith("Anforderung zurück")]
    assert withdrawn.on is not None
    assert withdrawn.text == "Anforderung zurückgenommen: Miete inzwischen vom Vermieter bestätigt"


def test_verapdf_finds_the_export_pdfa_2b_and_pdfua_1(exported: Exported) -> None:
    for flavour in ("2b", "ua1"):
        failed = failed_rules(flavour, exported.pdf)[exported.pdf.resolve()]
        assert not failed, f"{flavour}: " + "\n".join(failed)
