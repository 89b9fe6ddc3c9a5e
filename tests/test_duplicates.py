"""Duplicates (issue 15): a file or a letter read before is marked when it is filed (and still
routed), shown at the desk and in the Postkorb with a link to the earlier document where the
user may see it, can be discarded in clearing; clearing offers the household recognition named
as one click; registering a second objection for the same letter or decision warns."""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.product import create_product_app
from core.dates import local_today
from core.db import transaction
from records.duplicates import mark_duplicate
from records.masterdata import (
    HOUSEHOLD_COLUMNS,
    STAFF_COLUMNS,
    import_households,
    import_staff,
    read_csv,
)
from records.models import AuditEvent, Document, User
from records.runtime import Runtime
from search.base import CLEARING_ACCESS, SearchQuery
from tests import lettergen
from tests.support import (
    ISLANDS,
    OWN,
    client_for,
    file_indexed,
    load_people,
    work_until_idle,
)

DESK = "post.1"
OFFICE = "ws.1"
CASEWORKER = "lsb.95401.2"  # OWN's caseworker; may not see ISLANDS
OFFICE_HOUSEHOLD = "95401BG5662133"

# Generated letters (tests/lettergen.py): one household with two letters of the same form, so
# that two different letters of one household look alike as much as they ever do.
SEED = 7
HOUSEHOLD = "35102BG6677473"
LETTER, OTHER_LETTER = 83, 312  # both a one-page Veränderungsmitteilung of that household


# --- intake: the pipeline marks what it read before ---------------------------------------------


def _scan(
    master: lettergen.Master, index: int, scan_seed: int, path: Path, when: date | None = None
) -> Path:
    """The generated letter `index`, scanned as an office scanner would; another `scan_seed` is
    the same paper scanned again (other noise and skew, so OCR reads it slightly otherwise),
    another `when` the same scan in a file of its own (other bytes, the same page images)."""
    plan = lettergen.plan_letter(master, SEED, index)
    pages, profile = lettergen.render(plan, random.Random(1))
    profile = dataclasses.replace(profile, upside_down=False, turn=0, note=False, kind="office")
    images = [
        lettergen.scan_page(
            page,
            plan.dpi,
            profile,
            random.Random(scan_seed * 100 + number),
            np.random.default_rng(scan_seed * 100 + number),
            stamp=None,
            krng=random.Random(scan_seed),
        )[0]
        for number, page in enumerate(pages, start=1)
    ]
    lettergen.write_pdf(path, images, plan.dpi, 90, when or plan.letter_date)
    return path


@dataclass(frozen=True)
class Mark:
    document_id: uuid.UUID
    duplicate_of: uuid.UUID | None
    kind: str | None
    filed: bool  # in a household's file (routed), not only marked


@dataclass(frozen=True)
class Intake:
    runtime: Runtime
    desk: TestClient
    batches: dict[str, str]
    said: dict[str, str | None]  # the upload's answer: the batch's message on receipt
    marks: dict[str, Mark]
    caseworker: str


def _generated_people(runtime: Runtime, master: lettergen.Master, folder: Path) -> None:
    """The generated staff and households, each user with PASSWORD (as load_people)."""
    from tests.support import _password_hash

    lettergen.write_master(master, folder)
    with transaction(runtime.sessions) as session:
        import_staff(session, read_csv(folder / "staff.csv", STAFF_COLUMNS))
        import_households(session, read_csv(folder / "households.csv", HOUSEHOLD_COLUMNS))
        for user in session.scalars(select(User)):
            user.password_hash = _password_hash()


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    """Four uploads: a letter, the same file again, the same letter scanned again, and another
    letter of the same household; each processed before the next is handed in."""
    from app.runtime import build_runtime
    from tests.support import make_settings

    work = tmp_path_factory.mktemp("duplicates")
    runtime = build_runtime(make_settings(work / "data"))
    master = lettergen.build_master(SEED, 30)
    _generated_people(runtime, master, work)
    desk_login = next(s.login for s in master.staff if s.role == "scanstelle")
    household = next(h for h in master.households if h.bg_number == HOUSEHOLD)
    desk = client_for(runtime, desk_login)
    first = _scan(master, LETTER, 1, work / "brief.pdf")
    files = {
        "first": first,
        "same_file": first,
        "rescan": _scan(master, LETTER, 2, work / "brief-neu-gescannt.pdf"),
        "redelivered": _scan(master, LETTER, 1, work / "nachlieferung.pdf", date(2026, 12, 1)),
        "other": _scan(master, OTHER_LETTER, 1, work / "anderer-brief.pdf"),
    }
    batches, said = {}, {}
    for name, path in files.items():
        response = desk.post("/api/documents", files={"file": (f"{name}.pdf", path.read_bytes())})
        assert response.status_code == 201, response.text
        batches[name] = response.json()["id"]
        said[name] = response.json()["status_message"]
        work_until_idle(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        documents = {
            name: session.scalars(
                select(Document).where(Document.batch_id == uuid.UUID(batch))
            ).one()
            for name, batch in batches.items()
        }
        marks = {
            name: Mark(d.id, d.duplicate_of_id, d.duplicate_kind, d.household_id is not None)
            for name, d in documents.items()
        }
    yield Intake(runtime, desk, batches, said, marks, household.caseworker)
    runtime.close()


def test_the_same_file_uploaded_twice_is_marked_and_still_routed(intake: Intake) -> None:
    first, again = intake.marks["first"], intake.marks["same_file"]
    assert (first.duplicate_of, first.kind) == (None, None)
    assert (again.duplicate_of, again.kind) == (first.document_id, "datei")
    assert again.filed  # routed into the household's file like any letter: never lost
    # The desk is told on upload already, and read it is all the same.
    assert intake.said["first"] is None
    assert intake.said["same_file"] == (
        f"Diese Datei wurde bereits am {local_today():%d.%m.%Y} eingeliefert (gleicher Inhalt)."
    )
    # The desk sees it in the batch's answer and message.
    batch = intake.desk.get(f"/api/batches/{intake.batches['same_file']}").json()
    assert batch["documents"][0]["duplicate_kind"] == "datei"
    assert batch["documents"][0]["duplicate_of_id"] == str(first.document_id)
    assert "Duplikat" in batch["status_message"]
    first_batch = intake.desk.get(f"/api/batches/{intake.batches['first']}").json()
    assert "Duplikat" not in (first_batch["status_message"] or "")
    # The desk's quality check names it too, with the earlier letter one click away.
    pages = TestClient(create_product_app(intake.runtime))
    pages.cookies = intake.desk.cookies
    check = pages.get("/scanstelle/pruefung", params={"batch": intake.batches["same_file"]})
    assert check.status_code == 200
    assert "Duplikat (gleicher Inhalt)" in check.text
    assert f'href="/dokument/{first.document_id}"' in check.text
    first_check = pages.get("/scanstelle/pruefung", params={"batch": intake.batches["first"]})
    assert "Duplikat" not in first_check.text


def test_the_same_pages_in_another_file_are_the_same_content(intake: Intake) -> None:
    """A batch that delivers pages read before again, in a file with other bytes."""
    redelivered = intake.marks["redelivered"]
    assert (redelivered.duplicate_of, redelivered.kind) == (
        intake.marks["first"].document_id,
        "datei",
    )


def test_the_same_letter_scanned_again_is_marked_by_its_text_another_letter_is_not(
    intake: Intake,
) -> None:
    rescan, other = intake.marks["rescan"], intake.marks["other"]
    assert (rescan.duplicate_of, rescan.kind) == (intake.marks["first"].document_id, "text")
    assert rescan.filed
    # The household's other letter of the same form (same layout, other dates and answers).
    assert (other.duplicate_of, other.kind) == (None, None)
    assert other.filed


def test_the_e_akte_shows_the_mark_with_a_link_to_the_earlier_letter(intake: Intake) -> None:
    caseworker = client_for(intake.runtime, intake.caseworker)
    file = caseworker.get(f"/api/households/{HOUSEHOLD}/file")
    assert file.status_code == 200, file.text
    listed = {d["id"]: d["duplicate"] for d in file.json()["timeline"]}
    marks = {name: str(mark.document_id) for name, mark in intake.marks.items()}
    assert listed[marks["first"]] is None and listed[marks["other"]] is None
    assert listed[marks["rescan"]]["kind"] == "text"
    assert listed[marks["rescan"]]["earlier_id"] == marks["first"]


def test_postkorb_shows_the_mark_with_a_link_to_the_earlier_letter(intake: Intake) -> None:
    items = client_for(intake.runtime, intake.caseworker).get("/api/inbox").json()["items"]
    by_id = {item["document"]["id"]: item["document"] for item in items}
    marks = {name: str(mark.document_id) for name, mark in intake.marks.items()}
    assert set(marks.values()) <= set(by_id)
    assert by_id[marks["first"]]["duplicate"] is None
    assert by_id[marks["other"]]["duplicate"] is None
    for name, kind in (("same_file", "datei"), ("rescan", "text")):
        mark = by_id[marks[name]]["duplicate"]
        assert mark["kind"] == kind
        assert mark["earlier_id"] == marks["first"]
        assert mark["text"].startswith("Duplikat von »first.pdf« (Eingang ")


# --- the Postkorb names the earlier letter only to who may see it ------------------------------


def _marked(runtime: Runtime, document_id: str) -> tuple[str | None, str | None]:
    """Look for an earlier copy of a filed letter as filing does; the mark set."""
    with transaction(runtime.sessions) as session:
        document = session.get_one(Document, uuid.UUID(document_id))
        mark_duplicate(session, document, [document.household_id] if document.household_id else [])
        earlier = document.duplicate_of_id
        return (str(earlier) if earlier else None), document.duplicate_kind


@pytest.fixture
def people(sqlite_runtime: Runtime) -> Runtime:
    load_people(sqlite_runtime)
    return sqlite_runtime


def test_an_earlier_letter_the_user_may_not_see_is_not_named(people: Runtime) -> None:
    text = "Sehr geehrte Damen und Herren, ich teile Ihnen mit, dass ich umgezogen bin. " * 3
    hidden = file_indexed(people, ISLANDS, "sonstiges", text, source_name="inseln.pdf")
    assert _marked(people, hidden) == (None, None)
    later = file_indexed(people, OWN, "sonstiges", text, source_name="husum.pdf")
    assert _marked(people, later) == (hidden, "text")  # the same text, whatever the household
    items = client_for(people, CASEWORKER).get("/api/inbox").json()["items"]
    mark = next(i for i in items if i["document"]["source_name"] == "husum.pdf")["document"][
        "duplicate"
    ]
    assert mark == {
        "kind": "text",
        "kind_name": "gleicher Text",
        "text": "Duplikat eines früheren Schriftstücks",
        "earlier_id": None,
        "earlier_name": None,
        "earlier_date": None,
    }
    # The link target goes through the gate like any document.
    assert client_for(people, CASEWORKER).get(f"/api/documents/{hidden}").status_code == 403


# --- clearing: discard a duplicate, file into the household recognition named ------------------

TWIN = "Guten Tag, anbei sende ich Ihnen die Unterlagen zum Zwillingsbrief meiner Tochter. " * 3


def _clearing_twins(runtime: Runtime) -> tuple[str, str]:
    """A letter in clearing and the same letter again, marked as its duplicate; both indexed."""
    earlier = file_indexed(runtime, None, "sonstiges", TWIN, source_name="zwilling-1.pdf")
    assert _marked(runtime, earlier) == (None, None)
    later = file_indexed(runtime, None, "sonstiges", TWIN, source_name="zwilling-2.pdf")
    assert _marked(runtime, later) == (earlier, "text")
    return earlier, later


def _found(runtime: Runtime) -> set[str]:
    query = SearchQuery(text="Zwillingsbrief", allowed=frozenset({CLEARING_ACCESS}))
    return {hit.document_id for hit in runtime.index.search(query).hits}


def test_clearing_discards_a_duplicate_with_a_reason(people: Runtime) -> None:
    earlier, later = _clearing_twins(people)
    assert _found(people) == {earlier, later}
    desk = client_for(people, DESK)
    listed = {i["document_id"]: i for i in desk.get("/api/clearing").json()["items"]}
    assert listed[later]["duplicate"]["kind"] == "text"
    assert listed[later]["duplicate"]["earlier_id"] == earlier  # the desk may see it: in clearing
    assert listed[earlier]["duplicate"] is None

    # Not without a reason, and only a document marked as a duplicate.
    assert desk.post(f"/api/documents/{later}/discard", json={"reason": ""}).status_code == 422
    refused = desk.post(f"/api/documents/{earlier}/discard", json={"reason": "doppelt"})
    assert refused.status_code == 409
    assert "Duplikat" in refused.json()["error"]["message"]

    answer = desk.post(f"/api/documents/{later}/discard", json={"reason": "Doppelt gescannt"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["reason"] == "Doppelt gescannt"
    assert answer.json()["discarded_by"] == DESK
    remaining = {i["document_id"] for i in desk.get("/api/clearing").json()["items"]}
    assert later not in remaining and earlier in remaining
    assert _found(people) == {earlier}
    with transaction(people.sessions, read_only=True) as session:
        document = session.get_one(Document, uuid.UUID(later))
        assert document.discarded_at is not None and document.discard_reason == "Doppelt gescannt"
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document.discarded")
        ).one()
        assert (audit.actor_login, audit.object_id, audit.outcome) == (DESK, later, "ok")
        assert audit.details["reason"] == "Doppelt gescannt"
        assert audit.details["duplicate_of"] == earlier
    # Discarded once: not again.
    again = desk.post(f"/api/documents/{later}/discard", json={"reason": "Doppelt gescannt"})
    assert again.status_code == 409


def test_discarding_is_refused_to_a_role_without_clearing(people: Runtime) -> None:
    _, later = _clearing_twins(people)
    answer = client_for(people, CASEWORKER).post(
        f"/api/documents/{later}/discard", json={"reason": "Doppelt gescannt"}
    )
    assert answer.status_code == 403
    with transaction(people.sessions, read_only=True) as session:
        assert session.get_one(Document, uuid.UUID(later)).discarded_at is None
        denied = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document.discarded")
        ).one()
        assert (denied.actor_login, denied.outcome) == (CASEWORKER, "denied")
    assert later in _found(people)


def test_clearing_offers_the_household_the_clearing_reason_names(people: Runtime) -> None:
    letter = file_indexed(people, None, "sonstiges", "Bitte um Rückruf.", source_name="anruf.pdf")
    with transaction(people.sessions) as session:
        document = session.get_one(Document, uuid.UUID(letter))
        document.recognition = {
            "clearing_reason": f"Haushalt {OWN} erkannt, aber die Dokumentart ist unsicher",
            "candidates": [],
            "bg_numbers_found": [],
            "household_evidence": [],
        }
    items = client_for(people, DESK).get("/api/clearing").json()["items"]
    offered = next(i for i in items if i["document_id"] == letter)["suggestions"]
    assert [s["bg_number"] for s in offered] == [OWN]
    assert offered[0]["names"]  # its members, so that the desk sees whom it files for


# --- objections: the same letter or decision twice --------------------------------------------


def _office_letters(runtime: Runtime) -> tuple[str, list[str]]:
    office = "team:Widerspruchsstelle"
    decision = file_indexed(runtime, OFFICE_HOUSEHOLD, "bescheid", "Bescheid", target=office)
    letters = [
        file_indexed(
            runtime,
            OFFICE_HOUSEHOLD,
            "widerspruch",
            f"Widerspruch gegen den Bescheid, Schreiben {n}",
            target=office,
        )
        for n in range(3)
    ]
    with transaction(runtime.sessions) as session:
        sent = session.get_one(Document, uuid.UUID(decision))
        sent.direction, sent.dispatch_date = "out", date(2026, 10, 10)
    return decision, letters


def test_a_second_objection_against_the_same_decision_warns(people: Runtime) -> None:
    decision, letters = _office_letters(people)
    office = client_for(people, OFFICE)
    first = office.post(
        "/api/objections", json={"document_id": letters[0], "decision_id": decision}
    )
    assert first.status_code == 201, first.text
    number = first.json()["id"]
    second = {"document_id": letters[1], "decision_id": decision}
    warned = office.post("/api/objections", json=second)
    assert warned.status_code == 409
    error = warned.json()["error"]
    assert error["code"] == "objection_duplicate"
    assert (
        f"Gegen diesen Bescheid ist bereits ein Widerspruch erfasst (Nr. {number}"
        in (error["message"])
    )
    confirmed = office.post("/api/objections", json=second | {"confirm_duplicate": True})
    assert confirmed.status_code == 201, confirmed.text


def test_the_same_letter_twice_is_a_clear_german_error(people: Runtime) -> None:
    _, letters = _office_letters(people)
    office = client_for(people, OFFICE)
    first = office.post("/api/objections", json={"document_id": letters[0]})
    assert first.status_code == 201, first.text
    again = office.post(
        "/api/objections", json={"document_id": letters[0], "confirm_duplicate": True}
    )
    assert again.status_code == 409
    message = again.json()["error"]["message"]
    assert f"bereits ein Widerspruch erfasst (Nr. {first.json()['id']}, eingegangen am" in message
    assert "vorhandenen Widerspruch öffnen" in message


def test_an_objection_from_a_letter_read_twice_warns(people: Runtime) -> None:
    _, letters = _office_letters(people)
    with transaction(people.sessions) as session:
        copy = session.get_one(Document, uuid.UUID(letters[2]))
        copy.duplicate_of_id, copy.duplicate_kind = uuid.UUID(letters[0]), "text"
    office = client_for(people, OFFICE)
    assert office.post("/api/objections", json={"document_id": letters[0]}).status_code == 201
    warned = office.post("/api/objections", json={"document_id": letters[2]})
    assert warned.status_code == 409
    assert warned.json()["error"]["code"] == "objection_duplicate"
    assert "Dasselbe Schreiben (als Duplikat erkannt)" in warned.json()["error"]["message"]
