"""The scanning desk's checks: scan record, quality check, hash verification, bad pages."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from core.db import transaction
from core.errors import UnreadablePage
from records.models import Document
from records.runtime import Runtime
from storage import read_bytes
from tests.support import (
    cli_env,
    client_for,
    load_people,
    run_cli,
    sample,
    work_until_idle,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def desk(sqlite_runtime: Runtime):  # type: ignore[no-untyped-def]
    load_people(sqlite_runtime)
    return client_for(sqlite_runtime, "post.1")


def hand_in(desk, runtime: Runtime, name: str, station: str | None = None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    data = {"station": station} if station else {}
    upload = {"file": (Path(name).name, sample(name).read_bytes())}
    batch = desk.post("/api/documents", files=upload, data=data)
    assert batch.status_code == 201, batch.text
    work_until_idle(runtime)
    return desk.get(f"/api/batches/{batch.json()['id']}").json()


def test_scan_record_tells_who_scanned_what_how_and_with_which_hashes(
    desk,
    sqlite_runtime: Runtime,  # type: ignore[no-untyped-def]
) -> None:
    batch = hand_in(desk, sqlite_runtime, "docs/0002.pdf", station="Scanner Poststelle 1")
    [document] = batch["documents"]
    record = desk.get(f"/api/documents/{document['id']}/scan-record").json()
    assert record["operator"] == {"login": "post.1", "name": "Julia Petersen"}
    assert (record["station"], record["source_file"]) == ("Scanner Poststelle 1", "0002.pdf")
    assert (record["pages_in_batch"], record["pages_in_document"]) == (1, 1)
    assert record["original"]["sha256"] == batch["sha256"]
    [page] = record["pages"]
    # The sample is a 200 dpi bilevel scan, stored upside down.
    assert (page["scan_dpi"], page["colour"], page["rotation"]) == (200, "bilevel", 180)
    blobs = sqlite_runtime.blobs
    assert blobs.stat(record["searchable_pdf"]["key"]).sha256 == record["searchable_pdf"]["sha256"]
    assert record["qa"]["status_text"] == "offen"


def test_approval_needs_the_page_count_on_paper(desk, sqlite_runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    [document] = hand_in(desk, sqlite_runtime, "docs/0001.pdf")["documents"]
    url = f"/api/documents/{document['id']}/qa"
    wrong = desk.post(url, json={"decision": "approve", "counted_pages": 2})
    assert wrong.status_code == 409
    assert (
        "Seitenzahl stimmt nicht: auf Papier 2, im Dokument 1" in wrong.json()["error"]["message"]
    )
    approved = desk.post(url, json={"decision": "approve", "counted_pages": 1})
    assert approved.json()["qa_status"] == "approved"
    # Decided: the document is the caseworkers' now, out of the desk's sight.
    assert desk.post(url, json={"decision": "reject", "note": "x"}).status_code == 403
    with transaction(sqlite_runtime.sessions) as session:
        frozen = session.get(Document, uuid.UUID(document["id"]))
    record = json.loads(read_bytes(sqlite_runtime.blobs, frozen.scan_record_key))
    assert (record["qa"]["status"], record["qa"]["counted_pages"]) == ("approved", 1)
    assert record["qa"]["by"]["login"] == "post.1"


def test_rejected_document_leaves_the_file_and_search_tells_the_recipient_keeps_its_original(
    desk,
    sqlite_runtime: Runtime,  # type: ignore[no-untyped-def]
) -> None:
    batch = hand_in(desk, sqlite_runtime, "docs/0001.pdf")
    [document] = batch["documents"]
    caseworker = client_for(sqlite_runtime, "lsb.95401.3")
    assert caseworker.get("/api/search", params={"q": "Verdienstabrechnung"}).json()["total"] == 1
    rejected = desk.post(
        f"/api/documents/{document['id']}/qa", json={"decision": "reject", "note": "unscharf"}
    )
    assert rejected.json()["qa_status"] == "rejected"
    assert caseworker.get("/api/search", params={"q": "Verdienstabrechnung"}).json()["total"] == 0
    # The caseworker is told in the Postkorb why the letter went back to the desk.
    [notice] = caseworker.get("/api/inbox").json()["items"]
    assert notice["comment"] == "Zur Neuerfassung abgelehnt (Julia Petersen): unscharf"
    assert read_bytes(sqlite_runtime.blobs, f"originals/{batch['sha256'][:2]}/{batch['sha256']}")
    assert caseworker.get(f"/api/documents/{document['id']}").status_code == 403
    assert (
        client_for(sqlite_runtime, "lsb.95401.3")
        .post(f"/api/documents/{document['id']}/qa", json={"decision": "approve"})
        .status_code
        == 403
    )


def test_hash_check_reports_a_changed_page_image(desk, sqlite_runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    hand_in(desk, sqlite_runtime, "docs/0004.pdf")

    def verify() -> dict:  # type: ignore[type-arg]
        job = desk.post("/api/verifications").json()["job"]
        work_until_idle(sqlite_runtime)
        return desk.get(f"/api/jobs/{job['id']}").json()

    clean = verify()
    assert clean["state"] == "done" and clean["result"]["ok"]
    assert clean["result"]["checked"] == 5  # original, PDF, page image, thumbnail, word boxes
    image = next((sqlite_runtime.settings.blob_dir / "renditions").rglob("page-0001.jpg"))
    image.chmod(0o644)
    image.write_bytes(image.read_bytes()[:-10] + b"0123456789")
    report = verify()["result"]
    assert not report["ok"]
    [problem] = report["problems"]
    assert problem["problem"] == "Inhalt verändert" and problem["key"].endswith("page-0001.jpg")


def test_unreadable_page_is_set_aside_and_the_rest_of_the_batch_goes_on(
    desk,
    sqlite_runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    import ingest.pipeline

    real_ocr = ingest.pipeline.read_page

    def ocr_failing_on_page_3(image, out_base, *args, **kwargs):  # type: ignore[no-untyped-def]
        if out_base.name.endswith("00003"):
            raise UnreadablePage("tesseract meldet einen Fehler: Bild beschädigt")
        return real_ocr(image, out_base, *args, **kwargs)

    monkeypatch.setattr(ingest.pipeline, "read_page", ocr_failing_on_page_3)
    batch = hand_in(desk, sqlite_runtime, "batches/batch-2.pdf")
    assert batch["status"] == "processed"
    assert {"page": 3, "reason": "unreadable"} in batch["pages_dropped"]
    assert batch["status_message"] == "Nicht lesbare Seiten (im Original erhalten): 3"
    kept = sum(d["pages"] for d in batch["documents"]) + len(batch["pages_dropped"])
    assert kept == batch["pages_total"]


def test_ingest_command_waits_and_fails_for_a_rejected_file(tmp_path: Path) -> None:
    broken = tmp_path / "abgeschnitten.pdf"
    broken.write_bytes(sample("docs/0003.pdf").read_bytes()[:10_000])
    env = cli_env(tmp_path / "data")
    run = run_cli(env, "ingest", str(sample("docs/0005.pdf")), str(broken), "--wait")
    assert run.returncode == 1
    assert "abgelehnt" in run.stderr and "unvollständig" in run.stderr
    assert "fertig 0005.pdf: 1 Dokument(e), 0 Seite(n) aussortiert" in run.stderr
    again = run_cli(env, "ingest", str(sample("docs/0006.pdf")), "--wait")
    assert again.returncode == 0, again.stderr
