"""A scan goes in through the API, a worker reads it with tesseract, and search finds it.

These run real OCR and real worker processes, on both backend sets.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app.runtime import build_runtime
from core.db import transaction
from records.models import Document, InboxItem, Job, Page
from records.runtime import Runtime
from storage import read_bytes
from tests.support import (
    REPO,
    client_for,
    load_people,
    sample,
    settings_env,
    wait_for,
    work_until_idle,
)

pytestmark = pytest.mark.slow


def truth(name: str) -> dict[str, object]:
    for line in sample("truth.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["file"] == name:
            return entry
    raise KeyError(name)


def _read_one_page(runtime: Runtime, name: str) -> tuple[Page, Document, set[str]]:
    """The one-page sample `name` handed in at the desk and read by the worker: its page, its
    document and the words printed on it."""
    load_people(runtime)
    desk = client_for(runtime, "post.1")
    desk.post("/api/documents", files={"file": (Path(name).name, sample(name).read_bytes())})
    work_until_idle(runtime)
    printed = set(truth(name)["page_text"][0].split())  # type: ignore[index]
    with transaction(runtime.sessions) as session:
        [page] = session.scalars(select(Page)).all()
        document = session.get(Document, page.document_id)
    assert document is not None
    return page, document, printed


def test_uploaded_scan_is_read_and_found_by_a_word_from_it(runtime: Runtime) -> None:
    load_people(runtime)
    desk = client_for(runtime, "post.1")
    uploaded = desk.post(
        "/api/documents", files={"file": ("0001.pdf", sample("docs/0001.pdf").read_bytes())}
    ).json()
    assert uploaded["job"]["state"] == "queued"

    assert work_until_idle(runtime) == 1

    batch = desk.get(f"/api/batches/{uploaded['id']}").json()
    assert (batch["status"], batch["pages_done"]) == ("processed", 1)
    assert batch["job"]["state"] == "done"
    [entry] = batch["documents"]
    document = desk.get(f"/api/documents/{entry['id']}").json()
    assert (document["status"], document["pages"]) == ("processed", 1)
    assert document["qa_status"] == "pending"
    printed = truth("docs/0001.pdf")["page_text"][0]
    assert "Verdienstabrechnung" in printed
    # Routed to the household's caseworker, who finds it by a word form; a caseworker of
    # another office neither finds nor opens it.
    responsible = client_for(runtime, "lsb.95401.3")
    result = responsible.get("/api/search", params={"q": "Verdienstabrechnungen"}).json()
    assert [hit["document_id"] for hit in result["hits"]] == [entry["id"]]
    assert result["hits"][0]["page"] == 1
    assert "<mark>Verdienstabrechnung</mark>" in result["hits"][0]["snippet"]
    other = client_for(runtime, "lsb.95403.1")
    assert other.get("/api/search", params={"q": "Verdienstabrechnung"}).json()["total"] == 0
    assert other.get(f"/api/documents/{entry['id']}").status_code == 403
    with transaction(runtime.sessions) as session:
        [item] = session.scalars(select(InboxItem)).all()
        assert item.kind == "user" and item.user.login == "lsb.95401.3"


def test_a_page_the_orientation_check_missed_is_read_the_other_way_up(
    sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.pipeline
    from ingest.prepare import PagePlan

    # Fault injected: the orientation analysis takes an upside-down letter for upright.
    monkeypatch.setattr(
        ingest.pipeline,
        "analyse_page",
        lambda *_args, **_kw: PagePlan(separator=False, blank=False, rotation=0, skew=0.0),
    )
    page, _document, printed = _read_one_page(sqlite_runtime, "docs/0002.pdf")
    assert page.rotation == 180 and page.confidence > 60
    assert len(printed & set(page.text.split())) / len(printed) > 0.7


def test_page_text_confidence_and_renditions_are_stored(sqlite_runtime: Runtime) -> None:
    page, document, printed = _read_one_page(sqlite_runtime, "docs/0004.pdf")
    assert page.number == 1 and 50 < page.confidence <= 100
    recognised = set(page.text.split())
    assert len(printed & recognised) / len(printed) > 0.7

    blobs = sqlite_runtime.blobs
    for key, sha256 in (
        (document.pdf_key, document.pdf_sha256),
        (page.image_key, page.image_sha256),
        (page.thumb_key, page.thumb_sha256),
        (page.words_key, page.words_sha256),
    ):
        assert blobs.stat(key).sha256 == sha256
    words = json.loads(read_bytes(blobs, page.words_key))
    assert {"text", "left", "top", "width", "height", "confidence"} <= words[0].keys()
    with Image.open(io.BytesIO(read_bytes(blobs, page.thumb_key))) as thumb:
        assert thumb.width == 200
    # The searchable PDF holds the scan and an invisible text layer with the words.
    pdf = sqlite_runtime.settings.data_dir / "check.pdf"
    pdf.write_bytes(read_bytes(blobs, document.pdf_key))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Verdienstabrechnung" in text


def test_batch_is_split_at_separator_sheets_and_empty_back_sides_are_dropped(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    desk = client_for(sqlite_runtime, "post.1")
    batch_file = sample("batches/batch-2.pdf")
    upload = {"file": (batch_file.name, batch_file.read_bytes())}
    uploaded = desk.post("/api/documents", files=upload).json()
    work_until_idle(sqlite_runtime)
    batch = desk.get(f"/api/batches/{uploaded['id']}").json()

    entries = [json.loads(line) for line in sample("truth.jsonl").read_text().splitlines()]
    expected = [e for e in entries if "batches/batch-2.pdf" in e.get("in_batch", [])]
    assert [d["pages"] for d in batch["documents"]] == [e["pages"] for e in expected]
    reasons = [p["reason"] for p in batch["pages_dropped"]]
    assert reasons.count("separator") == len(expected) - 1
    accounted = sum(d["pages"] for d in batch["documents"]) + len(batch["pages_dropped"])
    assert accounted == batch["pages_total"] == 13
    # Each document holds the pages of its letter: its words are that letter's words.
    with transaction(sqlite_runtime.sessions) as session:
        for entry, document in zip(expected, batch["documents"], strict=True):
            texts = session.scalars(
                select(Page.text).where(Page.document_id == uuid.UUID(document["id"]))
            ).all()
            printed = set(" ".join(entry["page_text"]).split())
            recognised = set(" ".join(texts).split())
            assert len(printed & recognised) / len(printed) > 0.6, entry["file"]


def _job(runtime: Runtime) -> Job:
    with transaction(runtime.sessions) as session:
        return session.scalars(select(Job)).one()


def test_killed_worker_leaves_the_job_to_be_finished_once_by_the_next(
    backend_settings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    settings = backend_settings.model_copy(update={"job_lease_seconds": 3})
    runtime = build_runtime(settings)
    load_people(runtime)
    desk = client_for(runtime, "post.1")
    batch = sample("batches/batch-1.pdf")
    uploaded = desk.post("/api/documents", files={"file": (batch.name, batch.read_bytes())}).json()

    def pages_done() -> int:
        return desk.get(f"/api/batches/{uploaded['id']}").json()["pages_done"]

    env = dict(os.environ, **settings_env(settings))
    command = [sys.executable, "-m", "app.cli", "worker"]
    first = subprocess.Popen(command, env=env, cwd=REPO, start_new_session=True)
    try:
        # Killed in the middle of the batch: once the desk sees its first page read.
        wait_for(lambda: pages_done() >= 1, 300, "the first worker to read a page")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        assert _job(runtime).state == "running"  # nobody has told the queue
        assert pages_done() < 14, "the first worker had read every page before it was killed"

        second = subprocess.Popen(
            [*command, "--until-idle"], env=env, cwd=REPO, start_new_session=True
        )
        assert second.wait(300) == 0
    finally:
        for process in (first,):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)

    job = _job(runtime)
    assert (job.state, job.attempts) == ("done", 2)
    batch = desk.get(f"/api/batches/{uploaded['id']}").json()
    assert batch["status"] == "processed"
    with transaction(runtime.sessions) as session:
        pages = session.scalars(select(Page.source_page)).all()
    kept = {page for page in range(1, 15)} - {p["page"] for p in batch["pages_dropped"]}
    assert sorted(pages) == sorted(kept)  # every page once: none lost, none twice
    # Indexed once each: the pay slips of the batch, as their caseworkers' search finds them.
    pay_slips = [d for d in batch["documents"] if d["doc_type"] == "verdienstabrechnung"]
    found: dict[str, int] = {}
    for caseworker in {d["inbox"]["user"] for d in pay_slips if d["inbox"]["kind"] == "user"}:
        result = (
            client_for(runtime, caseworker)
            .get("/api/search", params={"q": "Verdienstabrechnung", "limit": 50})
            .json()
        )
        ids = [hit["document_id"] for hit in result["hits"]]
        assert len(ids) == len(set(ids)) == result["total"]
        for document_id in ids:
            found[document_id] = found.get(document_id, 0) + 1
    assert pay_slips and {d["id"] for d in pay_slips} <= found.keys()
    runtime.close()
