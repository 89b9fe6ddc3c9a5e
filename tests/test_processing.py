"""A scan goes in through the API, a worker reads it with tesseract, and search finds it.

These run real OCR and real worker processes, on both backend sets.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from records.db import transaction
from records.models import Document, InboxItem, Job, Page
from records.runtime import Runtime, build_runtime
from tests.support import client_for, load_people, sample, settings_env, work_until_idle

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def truth(name: str) -> dict[str, object]:
    for line in sample("truth.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["file"] == name:
            return entry
    raise KeyError(name)


def test_uploaded_scan_is_read_and_found_by_a_word_from_it(runtime: Runtime) -> None:
    load_people(runtime)
    desk = client_for(runtime, "post.1")
    uploaded = desk.post(
        "/api/documents", files={"file": ("0001.pdf", sample("docs/0001.pdf").read_bytes())}
    ).json()
    assert uploaded["job"]["state"] == "queued"

    assert work_until_idle(runtime) == 1

    document = desk.get(f"/api/documents/{uploaded['id']}").json()
    assert (document["status"], document["pages"], document["job"]["state"]) == ("processed", 1, "done")
    printed = truth("docs/0001.pdf")["page_text"][0]
    assert "Verdienstabrechnung" in printed
    result = desk.get("/api/search", params={"q": "Verdienstabrechnungen"}).json()
    assert [hit["document_id"] for hit in result["hits"]] == [uploaded["id"]]
    assert result["hits"][0]["page"] == 1
    assert "<mark>Verdienstabrechnung</mark>" in result["hits"][0]["snippet"]

    # Not routed yet, so it waits in clearing: a caseworker neither finds nor opens it.
    caseworker = client_for(runtime, "lsb.95401.3")
    assert caseworker.get("/api/search", params={"q": "Verdienstabrechnung"}).json()["total"] == 0
    assert caseworker.get(f"/api/documents/{uploaded['id']}").status_code == 403
    with transaction(runtime.sessions) as session:
        [item] = session.scalars(select(InboxItem)).all()
        assert item.kind == "clearing" and "Kein Haushalt" in item.reason


def test_page_text_and_confidence_are_stored(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    desk = client_for(sqlite_runtime, "post.1")
    desk.post("/api/documents", files={"file": ("0004.pdf", sample("docs/0004.pdf").read_bytes())})
    work_until_idle(sqlite_runtime)
    printed = set(truth("docs/0004.pdf")["page_text"][0].split())
    with transaction(sqlite_runtime.sessions) as session:
        [page] = session.scalars(select(Page)).all()
    assert page.number == 1 and 50 < page.confidence <= 100
    recognised = set(page.text.split())
    assert len(printed & recognised) / len(printed) > 0.8


def _wait_for(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _job(runtime: Runtime) -> Job:
    with transaction(runtime.sessions) as session:
        return session.scalars(select(Job)).one()


def test_killed_worker_leaves_the_job_to_be_finished_once_by_the_next(
    backend_settings, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    settings = backend_settings.model_copy(update={"job_lease_seconds": 3})
    runtime = build_runtime(settings)
    load_people(runtime)
    desk = client_for(runtime, "post.1")
    batch = sample("batches/batch-1.pdf")
    uploaded = desk.post("/api/documents", files={"file": (batch.name, batch.read_bytes())}).json()

    env = dict(os.environ, **settings_env(settings))
    command = [sys.executable, "-m", "api.cli", "worker"]
    first = subprocess.Popen(command, env=env, cwd=REPO, start_new_session=True)
    try:
        _wait_for(lambda: _job(runtime).state == "running", 60, "the first worker to start the job")
        time.sleep(1.5)  # well inside the OCR of the 14 pages
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        assert _job(runtime).state == "running"  # nobody has told the queue

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
    with transaction(runtime.sessions) as session:
        document = session.get(Document, job.document_id)
        pages = session.scalars(select(Page.number).where(Page.document_id == document.id)).all()
    assert document.status == "processed"
    assert sorted(pages) == list(range(1, 15))
    result = desk.get("/api/search", params={"q": "Verdienstabrechnung"}).json()
    assert result["total"] == 1 and result["hits"][0]["document_id"] == uploaded["id"]
    runtime.close()
