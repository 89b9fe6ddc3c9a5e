"""Audits without copies (issue 18): auditors' time-limited, read-only accesses on SQLite and
the embedded backends: granting (chosen households, a drawn sample, a caseworker's file
inspection), what the auditor sees when, withheld documents, the audit trail, the watermark,
the report, and that an auditor changes nothing."""

from __future__ import annotations

import hashlib
import io
import random
import subprocess
import uuid
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select

from core.db import transaction
from core.errors import AccessDenied, InvalidInput
from pdf.watermark import watermark_text, watermarked
from records import inspection
from records.access import Gate, visible_access_keys
from records.models import Document, User
from records.runtime import Runtime
from storage import read_bytes
from tests.support import (
    ISLANDS,
    NEIGHBOUR,
    OWN,
    audit_rows,
    client_for,
    digital_pdf,
    pages_client_for,
)
from tests.support_audit18 import AUDITOR, AUDITOR_NAME, CASEWORKER, Clock, Letters, prepare
from tests.support_pdf import failed_rules, verapdf

DAY = date(2026, 3, 2)


@pytest.fixture
def letters(sqlite_runtime: Runtime) -> Letters:
    return prepare(sqlite_runtime)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch, DAY)


def _user(session, login: str) -> User:  # type: ignore[no-untyped-def]
    user = session.scalar(select(User).where(User.login == login))
    assert user is not None
    return user


def _grant(runtime: Runtime, login: str = "admin", **values: object) -> int:
    arguments: dict[str, object] = {
        "auditor_login": AUDITOR,
        "kind": "pruefung",
        "purpose": "Prüfung des Landesrechnungshofs",
        "starts_on": DAY,
        "ends_on": DAY + timedelta(days=4),
    }
    arguments.update(values)
    with transaction(runtime.sessions) as session:
        access = inspection.grant_access(Gate(session, _user(session, login)), **arguments)  # type: ignore[arg-type]
        return access.id


def _as_auditor(runtime: Runtime, call, *args, **kwargs):  # type: ignore[no-untyped-def]
    with transaction(runtime.sessions) as session:
        return call(Gate(session, _user(session, AUDITOR)), *args, **kwargs)


def _documents(runtime: Runtime, access_id: int, bg_number: str) -> set[str]:
    found = _as_auditor(runtime, inspection.household_documents, access_id, bg_number)
    return {str(d.id) for d in found.documents}


def test_grant_checks_its_input_and_is_audited(sqlite_runtime: Runtime, letters: Letters) -> None:
    runtime = sqlite_runtime
    bad: list[dict[str, object]] = [
        {"auditor_login": "niemand"},
        {"auditor_login": CASEWORKER},  # exists, but is no auditor
        {"ends_on": DAY - timedelta(days=1)},
        {"ends_on": DAY + timedelta(days=90)},
        {"sample_size": 0},
        {"sample_size": 101},
        {"bg_numbers": ["12345BG9999999"]},
        {"purpose": "  "},
        {"bg_numbers": [OWN], "withheld": {letters.islands: "Gutachten"}},
        {"bg_numbers": [OWN], "withheld": {letters.own_secret: " "}},
    ]
    for values in bad:
        if "sample_size" not in values:
            values.setdefault("bg_numbers", [OWN])
        with pytest.raises(InvalidInput):
            _grant(runtime, **values)
    with pytest.raises(AccessDenied):
        _grant(runtime, login=CASEWORKER, bg_numbers=[OWN])
    access_id = _grant(
        runtime, bg_numbers=[OWN, NEIGHBOUR], withheld={letters.own_secret: "Gutachten Dritter"}
    )
    (granted,) = audit_rows(runtime, "inspection.granted")
    assert granted.object_id == str(access_id)
    assert granted.details["households"] == sorted([OWN, NEIGHBOUR])
    assert granted.details["auditor"] == AUDITOR
    refused = audit_rows(runtime, "inspection.grant")
    assert [row.outcome for row in refused] == ["denied"]  # the caseworker's try


def test_sample_is_drawn_by_the_product_and_recorded(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    access_id = _grant(sqlite_runtime, sample_size=2, rng=random.Random(18))
    population = sorted([OWN, NEIGHBOUR, ISLANDS])  # the households with a file
    expected = sorted(random.Random(18).sample(population, 2))
    with transaction(sqlite_runtime.sessions) as session:
        report = inspection.access_report(Gate(session, _user(session, "admin")), access_id)
        assert report.households == expected
        assert report.access.sample_size == 2
    shown = _as_auditor(sqlite_runtime, inspection.access_households, access_id)
    assert [h.bg_number for h in shown] == expected
    with pytest.raises(InvalidInput):
        _grant(sqlite_runtime, sample_size=4)  # more than there are files


def test_auditor_sees_only_granted_households_during_the_dates(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    runtime = sqlite_runtime
    access_id = _grant(
        runtime, bg_numbers=[OWN], starts_on=DAY + timedelta(days=1), ends_on=DAY + timedelta(2)
    )
    with pytest.raises(AccessDenied):  # before the start
        _as_auditor(runtime, inspection.household_documents, access_id, OWN)
    clock.set(DAY + timedelta(days=1))
    assert _documents(runtime, access_id, OWN) == {letters.own, letters.own_secret}
    for other in (NEIGHBOUR, ISLANDS):
        with pytest.raises(AccessDenied):
            _as_auditor(runtime, inspection.household_documents, access_id, other)
    with pytest.raises(AccessDenied):
        _as_auditor(runtime, inspection.view_document, access_id, letters.neighbour)
    clock.set(DAY + timedelta(days=2))
    assert _as_auditor(runtime, inspection.view_document, access_id, letters.own)
    clock.set(DAY + timedelta(days=3))  # after the end
    with pytest.raises(AccessDenied, match="abgelaufen"):
        _as_auditor(runtime, inspection.view_document, access_id, letters.own)
    with transaction(runtime.sessions) as session:
        access = inspection.auditor_access(Gate(session, _user(session, AUDITOR)), access_id)
        assert access is not None
        assert inspection.state_of(access).text == (
            f"Der Zugang ist am {(DAY + timedelta(days=2)).strftime('%d.%m.%Y')} abgelaufen."
        )


def test_access_ended_by_hand_closes_at_once(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    runtime = sqlite_runtime
    access_id = _grant(runtime, bg_numbers=[OWN])
    assert _as_auditor(runtime, inspection.view_document, access_id, letters.own)
    with transaction(runtime.sessions) as session, pytest.raises(InvalidInput):
        inspection.end_access(Gate(session, _user(session, "admin")), access_id, " ")
    with pytest.raises(AccessDenied):  # the auditor cannot end (or prolong) it
        _as_auditor(runtime, inspection.end_access, access_id, "fertig")
    with transaction(runtime.sessions) as session:
        inspection.end_access(Gate(session, _user(session, "admin")), access_id, "Prüfung fertig")
    with pytest.raises(AccessDenied, match="beendet"):
        _as_auditor(runtime, inspection.view_document, access_id, letters.own)
    (ended,) = audit_rows(runtime, "inspection.ended")
    assert ended.details["reason"] == "Prüfung fertig"


def test_withheld_documents_are_never_shown(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    runtime = sqlite_runtime
    access_id = _grant(runtime, bg_numbers=[OWN], withheld={letters.own_secret: "Gutachten"})
    assert _documents(runtime, access_id, OWN) == {letters.own}
    for call in (inspection.view_document, inspection.download):
        args = (runtime.blobs,) if call is inspection.download else ()
        with transaction(runtime.sessions) as session:
            gate = Gate(session, _user(session, AUDITOR))
            with pytest.raises(AccessDenied):
                if args:
                    inspection.download(runtime.blobs, gate, access_id, letters.own_secret)
                else:
                    inspection.view_document(gate, access_id, letters.own_secret)
    with transaction(runtime.sessions) as session:
        auditor = _user(session, AUDITOR)
        assert visible_access_keys(session, auditor) == frozenset()  # no search at all
        with pytest.raises(AccessDenied):  # nor through the E-Akte's own reads
            Gate(session, auditor).read_document(letters.own, "document.view")
    client = client_for(runtime, AUDITOR)
    assert client.get("/api/search", params={"q": "Prüfwort"}).status_code == 403
    answer = client.get(f"/api/documents/{letters.own_secret}/view")
    assert answer.status_code == 403


def test_every_read_is_audited_with_the_access_and_the_granting_user(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    runtime = sqlite_runtime
    access_id = _grant(runtime, bg_numbers=[OWN], withheld={letters.own_secret: "Gutachten"})
    _documents(runtime, access_id, OWN)
    _as_auditor(runtime, inspection.view_document, access_id, letters.own)
    _as_auditor(runtime, partial(inspection.page_image, runtime.blobs), access_id, letters.own, 1)
    with pytest.raises(AccessDenied):
        _as_auditor(runtime, inspection.view_document, access_id, letters.own_secret)
    for action in ("inspection.household", "inspection.page"):
        (row,) = audit_rows(runtime, action)
        assert (row.details["access"], row.on_behalf_of_login, row.bg_number) == (
            access_id,
            "admin",
            OWN,
        )
    views = audit_rows(runtime, "inspection.view")
    assert [(r.object_id, r.outcome) for r in views] == [
        (letters.own, "ok"),
        (letters.own_secret, "denied"),
    ]
    assert all(r.details["access"] == access_id for r in views)


def test_download_carries_the_watermark_on_every_page(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock, tmp_path: Path
) -> None:
    runtime = sqlite_runtime
    access_id = _grant(runtime, bg_numbers=[OWN])
    with transaction(runtime.sessions) as session:
        key = session.get(Document, uuid.UUID(letters.own)).pdf_key
    assert key is not None
    before = hashlib.sha256(read_bytes(runtime.blobs, key)).hexdigest()
    name, content = _as_auditor(
        runtime, partial(inspection.download, runtime.blobs), access_id, letters.own
    )
    assert name.endswith(".pdf")
    path = tmp_path / name
    path.write_bytes(content)
    with pikepdf.open(path) as pdf:  # a valid PDF
        assert len(pdf.pages) == 2
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.split("\f")[:-1]
    mark = f"Prüfung: {AUDITOR_NAME} · 02.03.2026 · nur zur Einsicht"
    assert len(pages) == 2
    assert all(mark in " ".join(page.split()) for page in pages), pages
    assert all("Bewilligungsbescheid Prüfwort" in page for page in pages)  # content kept
    assert hashlib.sha256(read_bytes(runtime.blobs, key)).hexdigest() == before
    (row,) = audit_rows(runtime, "inspection.download")
    assert row.details["access"] == access_id


def test_report_lists_exactly_what_was_viewed(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock, tmp_path: Path
) -> None:
    runtime = sqlite_runtime
    access_id = _grant(runtime, bg_numbers=[OWN, NEIGHBOUR])
    other_id = _grant(runtime, bg_numbers=[NEIGHBOUR])
    _as_auditor(runtime, inspection.view_document, access_id, letters.own)
    _as_auditor(runtime, partial(inspection.download, runtime.blobs), access_id, letters.own)
    _as_auditor(runtime, inspection.view_document, other_id, letters.neighbour)  # not this one
    with transaction(runtime.sessions) as session:
        report = inspection.access_report(Gate(session, _user(session, "admin")), access_id)
        lines = [(line.document, line.what, line.outcome) for line in report.lines]
        pdf = inspection.report_pdf(report)
    assert lines == [
        (letters.own, "Dokument angesehen", "erfolgt"),
        (letters.own, "Download (Wasserzeichen)", "erfolgt"),
    ]
    path = tmp_path / "bericht.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert letters.own in text and letters.neighbour not in text
    with pikepdf.open(path) as opened:
        assert "pdfaid" in str(opened.open_metadata())
    # The data protection officer may read it too; the auditor and caseworkers may not.
    with transaction(runtime.sessions) as session:
        session.add(User(login="dsb", name="Datenschutz", role="datenschutz"))
    with transaction(runtime.sessions) as session:
        assert inspection.access_report(Gate(session, _user(session, "dsb")), access_id)
    for login in (AUDITOR, CASEWORKER):
        with transaction(runtime.sessions) as session, pytest.raises(AccessDenied):
            inspection.access_report(Gate(session, _user(session, login)), access_id)


def test_caseworker_grants_a_file_inspection_at_the_counter(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    runtime = sqlite_runtime
    counter = {"kind": "akteneinsicht", "purpose": "Akteneinsicht am Empfang", "ends_on": DAY}
    with pytest.raises(AccessDenied):  # not the caseworker's household
        _grant(runtime, login=CASEWORKER, bg_numbers=[ISLANDS], **counter)
    with pytest.raises(InvalidInput):  # one household only
        _grant(runtime, login=CASEWORKER, bg_numbers=[OWN, NEIGHBOUR], **counter)
    with pytest.raises(InvalidInput):  # a day or a few, not weeks
        _grant(
            runtime,
            login=CASEWORKER,
            bg_numbers=[OWN],
            **(counter | {"ends_on": DAY + timedelta(days=10)}),
        )
    access_id = _grant(
        runtime,
        login=CASEWORKER,
        bg_numbers=[OWN],
        withheld={letters.own_secret: "Schutz Dritter"},
        **counter,
    )
    assert _documents(runtime, access_id, OWN) == {letters.own}
    with transaction(runtime.sessions) as session:
        gate = Gate(session, _user(session, CASEWORKER))
        assert [a.id for a in inspection.granted_by_me(gate, OWN)] == [access_id]
        inspection.end_access(gate, access_id, "Einsicht beendet")
    with pytest.raises(AccessDenied):
        _documents(runtime, access_id, OWN)


def test_auditor_cannot_change_anything(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    runtime = sqlite_runtime
    _grant(runtime, bg_numbers=[OWN])
    client = client_for(runtime, AUDITOR)
    attempts = [
        client.patch(f"/api/documents/{letters.own}", json={"doc_type": "sonstiges"}),
        client.post(f"/api/documents/{letters.own}/notes", json={"text": "Prüfvermerk"}),
        client.post(f"/api/households/{OWN}/notes", json={"text": "Prüfvermerk"}),
        client.post(
            "/api/exports",
            json={"bg_number": OWN, "recipient": "Gericht", "legal_basis": "sgg_120"},
        ),
        client.get(f"/api/documents/{letters.own}/pdf"),  # the copy without watermark
    ]
    pages = pages_client_for(runtime, AUDITOR)
    attempts += [pages.get(path) for path in ("/postkorb", "/suche?q=Pr%C3%BCfwort", "/klaerung")]
    assert [answer.status_code for answer in attempts] == [403] * len(attempts), [
        a.text for a in attempts
    ]
    with transaction(runtime.sessions, read_only=True) as session:
        document = session.get(Document, uuid.UUID(letters.own))
        assert document is not None and document.doc_type == "bescheid"
    assert any(r.actor_login == AUDITOR for r in audit_rows(runtime, "document.change"))


def test_pages_grant_view_download_and_expiry(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    runtime = sqlite_runtime
    admin = pages_client_for(runtime, "admin")
    assert "Prüfungen" in admin.get("/verwaltung/pruefungen").text
    refused = admin.post(
        "/verwaltung/pruefungen",
        data={"auditor": AUDITOR, "purpose": "", "starts_on": "2026-03-02", "ends_on": "x"},
    )
    assert refused.status_code == 422 and 'aria-describedby="grant-error"' in refused.text
    answer = admin.post(
        "/verwaltung/pruefungen",
        data={
            "auditor": AUDITOR,
            "purpose": "Prüfung Landesrechnungshof",
            "starts_on": "2026-03-02",
            "ends_on": "2026-03-03",
            "bg_numbers": OWN,
            "withheld": f"{letters.own_secret} Gutachten eines Dritten",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    (access_id,) = [int(r.object_id or 0) for r in audit_rows(runtime, "inspection.granted")]
    auditor = pages_client_for(runtime, AUDITOR)
    home = auditor.get("/pruefung").text
    assert f'href="/pruefung/{access_id}"' in home and 'href="/pruefung"' in home
    assert f"/pruefung/{access_id}/akte/{OWN}" in auditor.get(f"/pruefung/{access_id}").text
    listing = auditor.get(f"/pruefung/{access_id}/akte/{OWN}").text
    assert letters.own in listing and letters.own_secret not in listing
    page = auditor.get(f"/pruefung/{access_id}/dokument/{letters.own}")
    assert page.status_code == 200 and "Seite 1" in page.text
    image = auditor.get(f"/pruefung/{access_id}/dokument/{letters.own}/seite/1")
    assert image.headers["content-type"] == "image/jpeg"
    pdf = auditor.get(f"/pruefung/{access_id}/dokument/{letters.own}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert auditor.get(f"/pruefung/{access_id}/dokument/{letters.own_secret}").status_code == 403
    report = admin.get(f"/pruefungen/{access_id}/bericht").text
    assert report.count(letters.own) >= 3  # view, page, download
    assert admin.get(f"/pruefungen/{access_id}/bericht.pdf").content.startswith(b"%PDF")
    clock.set(date(2026, 3, 4))
    ended = auditor.get(f"/pruefung/{access_id}").text
    assert "Der Zugang ist am 03.03.2026 abgelaufen." in ended and OWN not in ended
    assert "abgelaufen" in auditor.get("/pruefung").text
    assert auditor.get(f"/pruefung/{access_id}/akte/{OWN}").status_code == 403


def test_caseworker_grants_a_file_inspection_on_the_pages(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    runtime = sqlite_runtime
    with transaction(runtime.sessions) as session:
        session.add(User(login="einsicht.test", name="Einsicht am Empfang", role="pruefung"))
    caseworker = pages_client_for(runtime, CASEWORKER)
    assert "Akteneinsicht am Empfang gewähren" in caseworker.get(f"/akte/{OWN}").text
    form = caseworker.get(f"/akte/{OWN}/einsicht").text
    assert f'name="grund-{letters.own_secret}"' in form
    answer = caseworker.post(
        f"/akte/{OWN}/einsicht",
        data={
            "auditor": "einsicht.test",
            "starts_on": "2026-03-02",
            "ends_on": "2026-03-02",
            f"grund-{letters.own_secret}": "Schutz Dritter",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    (access,) = audit_rows(runtime, "inspection.granted")
    assert access.details["withheld"] == 1 and access.details["kind"] == "akteneinsicht"
    bad = caseworker.post(
        f"/akte/{OWN}/einsicht",
        data={"auditor": "einsicht.test", "starts_on": "2026-03-02", "ends_on": "2026-03-20"},
    )
    assert bad.status_code == 422 and "höchstens 7 Tage" in bad.text
    assert caseworker.get("/verwaltung/pruefungen").status_code == 403
    ended = caseworker.post(
        f"/pruefungen/{access.object_id}/beenden",
        data={"reason": "Einsicht erledigt", "zurueck": "akte"},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    assert "beendet worden" in caseworker.get(f"/akte/{OWN}/einsicht").text


def test_report_is_pdfa_2a(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock, tmp_path: Path
) -> None:
    verapdf()  # skips (fails in CI) before any work when veraPDF is missing
    access_id = _grant(sqlite_runtime, bg_numbers=[OWN], withheld={letters.own_secret: "Gutachten"})
    _as_auditor(sqlite_runtime, inspection.view_document, access_id, letters.own)
    with transaction(sqlite_runtime.sessions) as session:
        report = inspection.access_report(Gate(session, _user(session, "admin")), access_id)
        target = tmp_path / "bericht.pdf"
        target.write_bytes(inspection.report_pdf(report))
    failed = failed_rules("2a", target)[target.resolve()]
    assert failed == [], "\n".join(failed)


def test_watermark_on_turned_pages_with_inherited_resources(tmp_path: Path) -> None:
    original = digital_pdf([["Erste Seite"], ["Zweite Seite"]])
    with pikepdf.open(io.BytesIO(original)) as pdf:
        pdf.pages[1].obj.Rotate = 90
        out = io.BytesIO()
        pdf.save(out)
    turned = out.getvalue()
    text = watermark_text("Jörg Öztürk", "07.12.2026")
    path = tmp_path / "turned.pdf"
    path.write_bytes(watermarked(turned, text))
    pages = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout.split("\f")[:-1]
    assert len(pages) == 2
    assert all(text in " ".join(page.split()) for page in pages), pages
    with pikepdf.open(path) as pdf:
        assert "/Metadata" not in pdf.Root  # no PDF/A claim for a changed copy
        assert pdf.check_pdf_syntax() == []


def test_the_whole_journey_on_both_backend_sets(runtime: Runtime, clock: Clock) -> None:
    """Grant, read, download, end and report, on the embedded backends and on PostgreSQL +
    MinIO + OpenSearch (the audit rows' details and the access tables on the real database)."""
    letters = prepare(runtime)
    access_id = _grant(runtime, sample_size=3, rng=random.Random(1), withheld={})
    assert _documents(runtime, access_id, OWN) == {letters.own, letters.own_secret}
    _as_auditor(runtime, inspection.view_document, access_id, letters.neighbour)
    _name, content = _as_auditor(
        runtime, partial(inspection.download, runtime.blobs), access_id, letters.islands
    )
    assert content.startswith(b"%PDF")
    with transaction(runtime.sessions) as session:
        inspection.end_access(Gate(session, _user(session, "admin")), access_id, "fertig")
    with pytest.raises(AccessDenied):
        _as_auditor(runtime, inspection.view_document, access_id, letters.own)
    with transaction(runtime.sessions) as session:
        report = inspection.access_report(Gate(session, _user(session, "admin")), access_id)
        lines = [(line.bg_number, line.what, line.outcome) for line in report.lines]
    assert lines == [
        (OWN, "Akte geöffnet", "erfolgt"),
        (NEIGHBOUR, "Dokument angesehen", "erfolgt"),
        (ISLANDS, "Download (Wasserzeichen)", "erfolgt"),
        ("", "Dokument angesehen", "verweigert"),  # after the end: refused on the access
    ]
    assert report.lines[-1].document == letters.own


def test_ending_without_reason_is_refused_at_the_form(
    sqlite_runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    access_id = _grant(
        sqlite_runtime,
        login=CASEWORKER,
        kind="akteneinsicht",
        bg_numbers=[OWN],
        ends_on=DAY,
        auditor_login=AUDITOR,
    )
    caseworker = pages_client_for(sqlite_runtime, CASEWORKER)
    answer = caseworker.post(
        f"/pruefungen/{access_id}/beenden", data={"reason": " ", "zurueck": "akte", "bg": OWN}
    )
    assert answer.status_code == 422
    assert "Bitte einen Grund für das Beenden angeben." in answer.text
    assert 'aria-describedby="einsicht-error"' in answer.text
    admin = pages_client_for(sqlite_runtime, "admin")
    answer = admin.post(f"/pruefungen/{access_id}/beenden", data={"reason": ""})
    assert answer.status_code == 422 and 'id="admin-error"' in answer.text
