"""Page editing (issue 15): a letter scanned without its separator sheet is repaired by splitting
it, moving, removing or turning pages; every change keeps the original, writes new renditions
and text, files again where the household changes, and is audited.

The scan: three generated one-page letters of three households (tests/lettergen.py), handed in
as one file without separator sheets, read by tesseract once per module; each test works on a
copy of the data folder that reading left."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pikepdf
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from app.product import create_product_app
from core.db import transaction
from core.errors import Conflict
from records.masterdata import (
    HOUSEHOLD_COLUMNS,
    STAFF_COLUMNS,
    import_households,
    import_staff,
    read_csv,
)
from records.models import AuditEvent, Document, InboxItem, Page, ScanBatch, User
from records.runtime import Runtime
from storage import read_bytes
from tests import lettergen
from tests.support import PASSWORD, client_for, live_server, make_settings, work_until_idle
from tests.support_browser import log_in, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page as Tab

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract")

SEED = 21
DESK = "scan.1"


@dataclass(frozen=True)
class Letter:
    bg_number: str
    caseworker: str
    words: tuple[str, ...]  # printed words that OCR reads on this letter only


@dataclass(frozen=True)
class Scanned:
    data_dir: Path
    letters: tuple[Letter, ...]
    document_id: str  # the one document the three letters became


def _letters(out: Path) -> tuple[Letter, ...]:
    """Three one-page letters of three households, each printing its household number, as one
    scan without separator sheets; the master data next to it."""
    master = lettergen.build_master(SEED, 40)
    images, letters = [], []
    for index in range(300):
        plan = lettergen.plan_letter(master, SEED, index)
        household = plan.household
        if plan.case != "bg" or plan.dpi != 300 or household is None:
            continue
        if household.bg_number in {letter.bg_number for letter in letters}:
            continue
        expected = lettergen.expected_inbox(plan.doc_type, household, plan.case)
        if expected.get("user") != household.caseworker:
            continue
        pages, profile = lettergen.render(plan, random.Random(index))
        if len(pages) != 1:
            continue
        clean = replace(profile, upside_down=False, turn=0, level=0, noise=0.0, speckles=0)
        image, _ = lettergen.scan_page(
            pages[0], plan.dpi, clean, random.Random(1), np.random.default_rng(1), stamp=None
        )
        images.append(image)
        letters.append(Letter(household.bg_number, household.caseworker, ()))
        if len(letters) == 3:
            break
    lettergen.write_pdf(out / "stapel.pdf", images, 300, 85, plan.letter_date)
    lettergen.write_master(master, out)
    return tuple(letters)


def _runtime(data_dir: Path) -> Runtime:
    from app.runtime import build_runtime

    return build_runtime(make_settings(data_dir))


def _load_master(runtime: Runtime, folder: Path) -> None:
    from tests.support import _password_hash  # one slow hash for every user

    with transaction(runtime.sessions) as session:
        report = import_staff(session, read_csv(folder / "staff.csv", STAFF_COLUMNS))
        import_households(session, read_csv(folder / "households.csv", HOUSEHOLD_COLUMNS))
        for user in session.scalars(select(User).where(User.login.in_(report.created))):
            user.password_hash = _password_hash()


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    folder = tmp_path_factory.mktemp("three-letters")
    letters = _letters(folder)
    data_dir = folder / "data"
    runtime = _runtime(data_dir)
    try:
        _load_master(runtime, folder)
        desk = client_for(runtime, DESK)
        with (folder / "stapel.pdf").open("rb") as scan:
            answer = desk.post("/api/documents", files={"file": ("stapel.pdf", scan)})
        assert answer.status_code == 201, answer.text
        work_until_idle(runtime)
        with transaction(runtime.sessions) as session:
            [document] = session.scalars(select(Document)).all()
            assert document.page_count == 3
            texts = [page.text for page in sorted(document.pages, key=lambda p: p.number)]
            document_id = str(document.id)
    finally:
        runtime.close()
    # Words each letter's text has and the others' lack: to find it in search and in the PDF.
    words = [set(text.split()) for text in texts]
    own = [
        tuple(
            sorted(
                w
                for w in mine - set().union(*(words[:k] + words[k + 1 :]))
                if w.isalpha() and len(w) > 6
            )
        )
        for k, mine in enumerate(words)
    ]
    letters = tuple(replace(letter, words=own[k]) for k, letter in enumerate(letters))
    return Scanned(data_dir, letters, document_id)


@pytest.fixture
def copy(scanned: Scanned, tmp_path: Path) -> Iterator[Runtime]:
    """The scanned state in a data folder of the test's own."""
    data_dir = tmp_path / "data"
    shutil.copytree(scanned.data_dir, data_dir)
    runtime = _runtime(data_dir)
    yield runtime
    runtime.close()


def _sha256(runtime: Runtime, key: str) -> str:
    return hashlib.sha256(read_bytes(runtime.blobs, key)).hexdigest()


def _pdf_pages_and_title(runtime: Runtime, key: str) -> tuple[int, str]:
    path = runtime.settings.data_dir / "check.pdf"
    path.write_bytes(read_bytes(runtime.blobs, key))
    with pikepdf.open(path) as pdf:
        return len(pdf.pages), str(pdf.docinfo.get("/Title", ""))


def _audit(runtime: Runtime, action: str) -> list[AuditEvent]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _only_page(runtime: Runtime, document_id: str) -> tuple[Document, Page]:
    """A one-page document and its page, as committed (read in a transaction of their own)."""
    with transaction(runtime.sessions) as session:
        document = session.get(Document, uuid.UUID(document_id))
        assert document is not None
        [page] = document.pages
        return document, page


# --- split --------------------------------------------------------------------------------------


def test_three_letters_in_one_scan_are_split_into_three_households(
    scanned: Scanned, copy: Runtime
) -> None:
    runtime = copy
    with transaction(runtime.sessions) as session:
        batch = session.scalars(select(ScanBatch)).one()
        original_key, original_sha = batch.original_key, batch.original_sha256
    desk = client_for(runtime, DESK)

    first = desk.post(f"/api/documents/{scanned.document_id}/split", json={"after": 1})
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["message"] == "Das Schriftstück wurde geteilt."
    [new] = [d for d in answer["documents"] if d["role"] == "new"]
    assert new["page_count"] == 2
    second = desk.post(f"/api/documents/{new['document_id']}/split", json={"after": 1})
    assert second.status_code == 200, second.text

    with transaction(runtime.sessions) as session:
        documents = sorted(session.scalars(select(Document)).all(), key=lambda d: d.first_page or 0)
        assert [d.first_page for d in documents] == [1, 2, 3]
        assert [d.page_count for d in documents] == [1, 1, 1]
        # Each letter in its own household, in its caseworker's Postkorb.
        assert [d.household.bg_number if d.household else None for d in documents] == [
            letter.bg_number for letter in scanned.letters
        ]
        for document, letter in zip(documents, scanned.letters, strict=True):
            item = session.scalar(select(InboxItem).where(InboxItem.document_id == document.id))
            assert item is not None and item.user is not None
            assert item.user.login == letter.caseworker
            assert document.original_key == original_key
            assert letter.bg_number in re.sub(r"[^0-9A-Z]", "", document.pages[0].text)
        source, *derived = documents
        assert derived[0].derived_from_id == source.id
        assert derived[1].derived_from_id == derived[0].id
        assert all(d.batch_id == source.batch_id for d in derived)
        keys = [d.pdf_key for d in documents]
        names = [d.source_name for d in documents]
        assert len(set(keys)) == 3
    assert names == ["stapel.pdf", "stapel.pdf (2)", "stapel.pdf (3)"]
    for key, name in zip(keys, names, strict=True):
        assert key is not None and _pdf_pages_and_title(runtime, key) == (1, name)
    # The original upload is untouched.
    assert _sha256(runtime, original_key) == original_sha
    # Audited: who split which pages off which document.
    splits = _audit(runtime, "document.pages.split")
    assert [(e.actor_login, e.details["pages"]) for e in splits] == [(DESK, [2, 3]), (DESK, [2])]
    assert len(_audit(runtime, "document.pages.received")) == 2


def test_each_part_is_found_by_its_own_words_in_its_own_file(
    scanned: Scanned, copy: Runtime
) -> None:
    runtime = copy
    desk = client_for(runtime, DESK)
    answer = desk.post(f"/api/documents/{scanned.document_id}/split", json={"after": 2}).json()
    assert answer["documents"][1]["role"] == "new"
    third = scanned.letters[2]
    caseworker = client_for(runtime, third.caseworker)
    word = third.words[0]
    hits = caseworker.get("/api/search", params={"q": word}).json()
    assert [h["document_id"] for h in hits["hits"]] == [answer["documents"][1]["document_id"]]
    # The first household's caseworker no longer finds the third letter in their file.
    first = client_for(runtime, scanned.letters[0].caseworker)
    assert first.get("/api/search", params={"q": word}).json()["hits"] == []


def test_splitting_needs_a_page_to_split_after(scanned: Scanned, copy: Runtime) -> None:
    desk = client_for(copy, DESK)
    url = f"/api/documents/{scanned.document_id}/split"
    out_of_range = desk.post(url, json={"after": 3})
    assert out_of_range.status_code == 422
    assert out_of_range.json()["error"]["message"] == (
        "Ein neues Schriftstück kann ab Seite 2 bis Seite 3 beginnen."
    )
    parts = desk.post(url, json={"after": 2}).json()["documents"]
    single = desk.post(f"/api/documents/{parts[1]['document_id']}/split", json={"after": 1})
    assert single.status_code == 422
    assert single.json()["error"]["message"] == (
        "Ein Schriftstück mit nur einer Seite kann nicht geteilt werden."
    )


# --- move, remove -------------------------------------------------------------------------------


def _split_first_off(runtime: Runtime, scanned: Scanned) -> tuple[str, str]:
    """The desk splits the first letter off: (its document, the rest's)."""
    desk = client_for(runtime, DESK)
    answer = desk.post(f"/api/documents/{scanned.document_id}/split", json={"after": 1})
    assert answer.status_code == 200, answer.text
    [rest] = [d["document_id"] for d in answer.json()["documents"] if d["role"] == "new"]
    return scanned.document_id, rest


def _file_documents(client: TestClient, bg_number: str) -> dict[str, int]:
    answer = client.get(f"/api/households/{bg_number}/file")
    assert answer.status_code == 200, answer.text
    return {d["id"]: d["pages"] for d in answer.json()["timeline"]}


def test_a_removed_page_leaves_the_file_and_search_and_is_kept(
    scanned: Scanned, copy: Runtime
) -> None:
    runtime = copy
    first, rest = _split_first_off(runtime, scanned)
    desk = client_for(runtime, DESK)
    # The second letter's page goes to the first letter (same batch): now two pages there.
    moved = desk.post(
        f"/api/documents/{rest}/move-pages", json={"pages": [1], "target_document_id": first}
    )
    assert moved.status_code == 200, moved.text
    assert [d["role"] for d in moved.json()["documents"]] == ["source", "target"]
    letter = scanned.letters[0]
    caseworker = client_for(runtime, letter.caseworker)
    assert _file_documents(caseworker, letter.bg_number) == {first: 2}
    word = scanned.letters[1].words[0]
    assert [
        h["document_id"] for h in caseworker.get("/api/search", params={"q": word}).json()["hits"]
    ] == [first]

    removed = caseworker.post(
        f"/api/documents/{first}/remove-pages",
        json={"pages": [2], "reason": "Gehört nicht in diese Akte"},
    )
    assert removed.status_code == 200, removed.text
    [discarded] = [d for d in removed.json()["documents"] if d["role"] == "discarded"]
    assert discarded["where"] == "verworfen (mit dem Original aufbewahrt)"
    assert not discarded["editable"]

    assert _file_documents(caseworker, letter.bg_number) == {first: 1}
    assert caseworker.get("/api/search", params={"q": word}).json()["hits"] == []
    assert desk.get("/api/search", params={"q": word}).json()["hits"] == []
    with transaction(runtime.sessions) as session:
        kept = session.get(Document, uuid.UUID(discarded["document_id"]))
        assert kept is not None and kept.page_count == 1
        assert kept.discarded_by_login == letter.caseworker
        assert kept.discard_reason == "Gehört nicht in diese Akte"
        assert kept.derived_from_id == uuid.UUID(first)
        assert word in kept.pages[0].text
        assert session.scalar(select(InboxItem).where(InboxItem.document_id == kept.id)) is None
    [event] = _audit(runtime, "document.pages.remove")
    assert event.actor_login == letter.caseworker and event.bg_number == letter.bg_number
    assert event.details["pages"] == [2] and event.details["reason"] == "Gehört nicht in diese Akte"


def test_page_editing_is_refused_without_access_and_the_refusal_is_audited(
    scanned: Scanned, copy: Runtime
) -> None:
    runtime = copy
    first, _rest = _split_first_off(runtime, scanned)
    stranger = client_for(runtime, scanned.letters[1].caseworker)  # another household's
    for url, body in (
        (f"/api/documents/{first}/rotate-page", {"page": 1, "degrees": 90}),
        (f"/api/documents/{first}/split", {"after": 1}),
    ):
        answer = stranger.post(url, json=body)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["message"].startswith("Kein Zugriff")
    # The page itself: refused alike for a foreign and a malformed id, opened for the file's own.
    for login, path, status in (
        (scanned.letters[1].caseworker, f"/dokument/{first}/seiten", 403),
        (scanned.letters[1].caseworker, "/dokument/kein-dokument/seiten", 403),
        (scanned.letters[0].caseworker, f"/dokument/{first}/seiten", 200),
    ):
        web = TestClient(create_product_app(runtime))
        web.post("/api/auth/login", json={"login": login, "password": PASSWORD})
        opened = web.get(path)
        assert opened.status_code == status
        assert ("Seiten bearbeiten" in opened.text) == (status == 200)
    objections = client_for(runtime, "ws.1")  # the objections office edits no pages
    assert objections.get(f"/api/documents/{first}/page-editor").status_code == 403
    refused = [
        e
        for e in _audit(runtime, "document.page.rotate") + _audit(runtime, "document.pages.split")
        if e.outcome == "denied"
    ]
    assert {e.actor_login for e in refused} == {scanned.letters[1].caseworker}
    assert any(e.object_id == first for e in refused)
    assert [e.outcome for e in _audit(runtime, "document.pages.view")] == ["denied"]
    with transaction(runtime.sessions) as session:
        document = session.get(Document, uuid.UUID(first))
        assert document is not None and document.page_count == 1


# --- rotate -------------------------------------------------------------------------------------


def test_a_turned_page_gets_a_new_image_words_and_rendition(
    scanned: Scanned, copy: Runtime
) -> None:
    runtime = copy
    letter = scanned.letters[0]
    first, _rest = _split_first_off(runtime, scanned)
    document, page = _only_page(runtime, first)
    before = document.pdf_key
    old = (page.image_key, page.thumb_key, page.words_key, page.width, page.height, page.text)
    old_rotation = page.rotation
    old_image = Image.open(io.BytesIO(read_bytes(runtime.blobs, old[0])))
    old_words = json.loads(read_bytes(runtime.blobs, old[2]))

    caseworker = client_for(runtime, letter.caseworker)
    shown = caseworker.get(f"/api/documents/{first}/view").json()["pages"][0]
    answer = caseworker.post(f"/api/documents/{first}/rotate-page", json={"page": 1, "degrees": 90})
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"] == "Die Seite wurde gedreht."
    # The document's history (Verlauf) says what was done, in German.
    history = caseworker.get(f"/api/documents/{first}/history").json()["entries"]
    assert any(
        e["label"] == "Seite gedreht"
        and "Seite 1" in e["particulars"]
        and "90°" in e["particulars"]
        for e in history
    ), history

    document, page = _only_page(runtime, first)
    assert document.pdf_key != before
    assert page.rotation == (old_rotation + 90) % 360
    assert page.text == old[5]  # it was readable: not read again
    assert (page.width, page.height) == (old[4], old[3])
    assert page.image_key != old[0] and page.thumb_key != old[1] and page.words_key != old[2]
    pdf_key, image_key, words_key = document.pdf_key, page.image_key, page.words_key
    # The viewer asks for the turned page under new URLs (a browser keeps page images an hour).
    now = caseworker.get(f"/api/documents/{first}/view").json()["pages"][0]
    assert all(now[k] != shown[k] for k in ("image_url", "thumb_url", "words_url"))
    assert pdf_key is not None and image_key is not None and words_key is not None
    image = Image.open(io.BytesIO(read_bytes(runtime.blobs, image_key)))
    assert old_image.width < old_image.height
    assert image.width > image.height  # the portrait letter lies on its side now
    words = json.loads(read_bytes(runtime.blobs, words_key))
    assert len(words) == len(old_words)
    # A word's box turns with the page: its top is now its distance from the right edge.
    assert words[0]["top"] == old_words[0]["left"]
    path = runtime.settings.data_dir / "turned.pdf"
    path.write_bytes(read_bytes(runtime.blobs, pdf_key))
    with pikepdf.open(path) as pdf:
        assert int(pdf.pages[0].obj.get("/Rotate", 0)) % 360 == 90
    # The old rendition is still there (nothing is overwritten).
    assert before is not None and read_bytes(runtime.blobs, before)
    [event] = _audit(runtime, "document.page.rotate")
    assert event.details == {"pages": [1], "degrees": 90}
    # Page number and turn are checked with words.
    wrong = caseworker.post(f"/api/documents/{first}/rotate-page", json={"page": 1, "degrees": 45})
    assert wrong.json()["error"]["message"] == (
        "Eine Seite kann nur um 90, 180 oder 270 Grad gedreht werden."
    )
    missing = caseworker.post(
        f"/api/documents/{first}/rotate-page", json={"page": 2, "degrees": 90}
    )
    assert missing.json()["error"]["message"] == "Bitte eine Seite von 1 bis 1 zum Drehen wählen."


# --- the page editor in the browser -------------------------------------------------------------


def _tab_to(page: Tab, name: str, presses: int = 80) -> None:
    """Tab (keyboard only) until the element named `name` has the focus."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? (e.getAttribute('aria-label') || e.textContent || '').trim() : ''; }"
        )
        if focused == name:
            return
    raise AssertionError(f"{name!r} never got the focus")


def test_the_desk_splits_a_three_letter_scan_by_keyboard_alone(
    scanned: Scanned, copy: Runtime, page: Tab
) -> None:
    from playwright.sync_api import expect

    runtime = copy
    with live_server(create_product_app(runtime)) as url:
        log_in(page, url, DESK)
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto(f"{url}/dokument/{scanned.document_id}/seiten")
        cards = page.locator("#editor-pages > li")
        expect(cards).to_have_count(3)
        expect(page.get_by_role("heading", name="Seite 1 von 3")).to_be_visible()
        expect(page.get_by_role("link", name=re.compile(r"^Zurück zur "))).to_be_visible()
        # Page 1 starts the document: it offers no "new document from here".
        expect(
            page.get_by_role("button", name="Neues Schriftstück ab dieser Seite: Seite 1")
        ).to_have_count(0)

        # Removing asks first, with a reason; Escape leaves everything as it was.
        _tab_to(page, "Entfernen: Seite 3")
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Seite entfernen")
        expect(dialog).to_be_visible()
        expect(page.get_by_label("Grund (Pflicht)")).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(cards).to_have_count(3)

        _tab_to(page, "Neues Schriftstück ab dieser Seite: Seite 2")
        page.keyboard.press("Enter")
        expect(page.locator("#editor-status")).to_have_text("Das Schriftstück wurde geteilt.")
        expect(cards).to_have_count(1)
        new_link = page.get_by_role("link", name="Neues Schriftstück bearbeiten")
        expect(new_link).to_be_focused()
        screenshot(page, "seiten-geteilt.png")
        page.keyboard.press("Enter")  # opens the new document's pages
        expect(cards).to_have_count(2)
        _tab_to(page, "Neues Schriftstück ab dieser Seite: Seite 2")
        page.keyboard.press("Enter")
        expect(page.locator("#editor-status")).to_have_text("Das Schriftstück wurde geteilt.")
        expect(cards).to_have_count(1)

        # A document of one page can only be turned.
        page.goto(f"{url}/dokument/{scanned.document_id}/seiten")
        expect(cards).to_have_count(1)
        expect(page.get_by_role("button", name="Entfernen: Seite 1")).to_have_count(0)

    with transaction(runtime.sessions) as session:
        documents = sorted(session.scalars(select(Document)).all(), key=lambda d: d.first_page or 0)
        assert [d.household.bg_number if d.household else None for d in documents] == [
            letter.bg_number for letter in scanned.letters
        ]
    splits = _audit(runtime, "document.pages.split")
    assert [e.actor_login for e in splits] == [DESK, DESK]


def test_a_page_whose_text_was_unreadable_is_read_again_once_turned(
    scanned: Scanned, copy: Runtime
) -> None:
    """A page OCR made nothing of (as an upside-down scan reads) is read again when it is
    turned; its words reach the page, the PDF's text layer and search."""
    runtime = copy
    letter = scanned.letters[0]
    first, _rest = _split_first_off(runtime, scanned)
    with transaction(runtime.sessions) as session:
        document = session.get(Document, uuid.UUID(first))
        assert document is not None
        [page] = document.pages
        page.text, page.confidence = "", None
    caseworker = client_for(runtime, letter.caseworker)
    url = f"/api/documents/{first}/rotate-page"
    for _ in range(2):  # upside down and back: read again each time it reads as nothing
        answer = caseworker.post(url, json={"page": 1, "degrees": 180})
        assert answer.status_code == 200, answer.text
    document, page = _only_page(runtime, first)
    text, pdf_key = page.text, document.pdf_key
    assert pdf_key is not None
    assert letter.bg_number in re.sub(r"[^0-9A-Z]", "", text)
    path = runtime.settings.data_dir / "read-again.pdf"
    path.write_bytes(read_bytes(runtime.blobs, pdf_key))
    layer = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert letter.bg_number in re.sub(r"[^0-9A-Z]", "", layer)
    hits = caseworker.get("/api/search", params={"q": letter.words[0]}).json()["hits"]
    assert [hit["document_id"] for hit in hits] == [first]


def test_an_edit_planned_on_a_document_that_changed_meanwhile_is_refused(
    scanned: Scanned, copy: Runtime
) -> None:
    """Renditions are built outside any transaction; an edit planned before another one changed
    the document is refused when it comes to be recorded, and nothing of it counts."""
    from ingest.page_edit import build_edit
    from records.access import Gate
    from records.page_edit import apply_edit, plan_edit

    runtime = copy
    with transaction(runtime.sessions) as session:
        desk = session.scalars(select(User).where(User.login == DESK)).one()
        stale = plan_edit(Gate(session, desk), uuid.UUID(scanned.document_id), "split", after=2)
    answer = client_for(runtime, DESK).post(
        f"/api/documents/{scanned.document_id}/split", json={"after": 1}
    )
    assert answer.status_code == 200, answer.text
    built = build_edit(stale, runtime.blobs, runtime.settings)
    with (
        pytest.raises(Conflict, match="inzwischen geändert"),
        transaction(runtime.sessions) as session,
    ):
        apply_edit(Gate(session, desk), stale, built)
    with transaction(runtime.sessions) as session:
        assert len(session.scalars(select(Document)).all()) == 2
        assert session.scalars(select(ScanBatch)).one().documents_count == 2


def test_a_part_split_off_a_document_a_caseworker_filed_stays_in_that_file(
    scanned: Scanned, copy: Runtime
) -> None:
    """What a caseworker put into a file themselves is not recognised again: a part split off
    it stays in the same file, with no Postkorb item for anyone."""
    runtime = copy
    letter = scanned.letters[0]
    caseworker = client_for(runtime, letter.caseworker)
    with (scanned.data_dir.parent / "stapel.pdf").open("rb") as scan:
        answer = caseworker.post(
            f"/api/households/{letter.bg_number}/documents",
            files={"file": ("bescheide.pdf", scan)},
            data={"kind": "bescheid", "dispatch_date": "2026-11-02"},
        )
    assert answer.status_code == 201, answer.text
    work_until_idle(runtime)
    with transaction(runtime.sessions) as session:
        filed = session.scalars(
            select(Document).where(Document.source_name == "bescheide.pdf")
        ).one()
        filed_id = str(filed.id)
    split = caseworker.post(f"/api/documents/{filed_id}/split", json={"after": 1})
    assert split.status_code == 200, split.text
    [new] = [d for d in split.json()["documents"] if d["role"] == "new"]
    assert new["where"] == f"in der Akte {letter.bg_number}" and new["editable"]
    with transaction(runtime.sessions) as session:
        part = session.get(Document, uuid.UUID(new["document_id"]))
        assert part is not None and part.household is not None
        assert part.household.bg_number == letter.bg_number
        assert (part.doc_type, part.direction, part.routed_by) == ("bescheid", "out", "upload")
        assert part.dispatch_date is not None and part.dispatch_date.isoformat() == "2026-11-02"
        assert session.scalar(select(InboxItem).where(InboxItem.document_id == part.id)) is None
    assert _file_documents(caseworker, letter.bg_number) == {filed_id: 1, new["document_id"]: 2}


def test_the_desk_removes_and_moves_a_page_through_the_dialogs_by_keyboard(
    scanned: Scanned, copy: Runtime, page: Tab
) -> None:
    from playwright.sync_api import expect

    runtime = copy
    with live_server(create_product_app(runtime)) as url:
        log_in(page, url, DESK)
        page.goto(f"{url}/dokument/{scanned.document_id}/seiten")
        cards = page.locator("#editor-pages > li")
        expect(cards).to_have_count(3)

        _tab_to(page, "Entfernen: Seite 3")
        page.keyboard.press("Enter")
        reason = page.get_by_label("Grund (Pflicht)")
        expect(reason).to_be_focused()
        page.keyboard.press("Enter")  # no reason: the dialog stays open and says so
        expect(page.get_by_role("dialog", name="Seite entfernen")).to_be_visible()
        page.keyboard.type("Leere Rückseite")
        page.keyboard.press("Enter")
        expect(page.locator("#editor-status")).to_have_text(
            "Die Seite wurde entfernt; sie bleibt mit dem Original aufbewahrt."
        )
        expect(cards).to_have_count(2)

        _tab_to(page, "Verschieben: Seite 2")
        page.keyboard.press("Enter")
        expect(page.get_by_label("Ziel")).to_be_focused()
        expect(page.get_by_label("Ziel")).to_have_value("")  # a new document
        _tab_to(page, "Verschieben", presses=5)
        page.keyboard.press("Enter")
        expect(page.locator("#editor-status")).to_have_text("Die Seiten wurden verschoben.")
        expect(cards).to_have_count(1)
        expect(page.get_by_role("link", name="Neues Schriftstück bearbeiten")).to_be_visible()

    with transaction(runtime.sessions) as session:
        documents = session.scalars(select(Document)).all()
        discarded = [d for d in documents if d.discarded_at is not None]
        assert [d.discard_reason for d in discarded] == ["Leere Rückseite"]
        assert sorted(d.page_count or 0 for d in documents) == [1, 1, 1]
    assert [e.actor_login for e in _audit(runtime, "document.pages.move")] == [DESK]
