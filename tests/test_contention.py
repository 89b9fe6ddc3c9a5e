"""SQLite under contention: one user's heavy work or a locked database stalls nobody else.

On the default setup (SQLite) one writer at a time holds the write lock. These tests hold it
(from another connection, or by a user's largest bulk actions and a burst of failed logins)
and check that the others' work still succeeds. They assert outcomes, never timings.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from app.runtime import build_runtime
from core.db import ReadOnlyTransaction, transaction
from core.errors import NotFound
from ingest.intake import accept_file
from ingest.worker import run_worker
from records import audit
from records.models import AuditEvent, Household, ScanBatch, User
from records.routing import index_entry
from records.runtime import Runtime
from tests.contention_load import (
    VICTIM,
    Load,
    Scenario,
    client,
    free_port,
    prepare,
    start_server,
    victim_round,
    wait_until_up,
)
from tests.support import (
    PASSWORD,
    client_for,
    file_letter,
    load_people,
    make_settings,
    migrated_sessions,
    rendition,
    sample,
    while_held,
)


class _Recorded(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.messages.append(record.getMessage())
            self.changed.notify_all()

    def wait_for(self, text: str, also_stop_when, seconds: float) -> bool:  # type: ignore[no-untyped-def]
        with self.changed:
            return self.changed.wait_for(
                lambda: any(text in m for m in self.messages) or also_stop_when(), seconds
            )

    def count(self, text: str) -> int:
        return sum(text in m for m in self.messages)


@pytest.fixture
def quick_runtime(tmp_path: Path) -> Iterator[Runtime]:
    """SQLite gives up waiting for the write lock after 0.1 s; the worker retries quickly."""
    settings = make_settings(
        tmp_path / "data",
        sqlite_busy_timeout_ms=100,
        job_poll_seconds=0.05,
        job_retry_max_seconds=0.2,
    )
    built = build_runtime(settings)
    yield built
    built.close()


def _write_lock(runtime: Runtime) -> sqlite3.Connection:
    """Another process's writer: holds SQLite's write lock until committed."""
    path = runtime.settings.resolved_database_url.split("///", 1)[1]
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_worker_survives_a_locked_database_and_reads_the_next_scan(quick_runtime) -> None:  # type: ignore[no-untyped-def]
    recorded = _Recorded()
    worker_log = logging.getLogger("ingest.worker")
    worker_log.addHandler(recorded)
    previous_level = worker_log.level
    worker_log.setLevel(logging.INFO)
    stop = threading.Event()
    crashed: list[BaseException] = []

    def work() -> None:
        try:
            run_worker(quick_runtime, stop)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            crashed.append(exc)

    holder = _write_lock(quick_runtime)
    worker = threading.Thread(target=work, name="worker")
    try:
        worker.start()
        # The worker's claim waits 0.1 s for the lock, then meets "database is locked".
        assert recorded.wait_for("database not available", lambda: bool(crashed), 90)
        assert not crashed, f"the worker ended: {crashed!r}"
        # Still locked for several more tries: the worker keeps waiting, and says so once.
        assert not stop.wait(1.0)
        assert worker.is_alive() and not crashed
        assert recorded.count("database not available") == 1
        holder.execute("COMMIT")

        batch, _job = accept_file(quick_runtime, sample("docs/0001.pdf"), "0001.pdf", None)

        def processed() -> bool:
            with transaction(quick_runtime.sessions, read_only=True) as session:
                status = session.scalar(select(ScanBatch.status).where(ScanBatch.id == batch.id))
            return status == "processed"

        for _ in range(1200):
            if processed() or crashed:
                break
            stop.wait(0.1)
        assert not crashed, f"the worker ended: {crashed!r}"
        assert processed(), "the scan handed in after the lock was released was not read"
        assert worker.is_alive()
        assert recorded.count("database available again") >= 1
    finally:
        stop.set()
        holder.close()
        worker.join(120)
        worker_log.removeHandler(recorded)
        worker_log.setLevel(previous_level)
    assert not crashed


@pytest.mark.slow
def test_others_keep_working_while_one_user_runs_the_largest_bulk_actions(tmp_path: Path) -> None:
    """The review's case: one caseworker sends the largest bulk actions from three tabs (500
    different items, and one item id 500 times) while failed logins keep arriving; a caseworker
    of another office opens the Postkorb, a file and a document, and every answer is a success.
    """
    data_dir = tmp_path / "data"
    items, victim_document = prepare(data_dir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    server = start_server(data_dir, port, log_path)
    load: Load | None = None
    try:
        wait_until_up(base, server, log_path)
        scenario = Scenario(base, items, victim_document)
        victim = client(base, VICTIM)
        assert {status for _, status, _ in victim_round(victim, scenario)} == {200}

        load = Load(scenario)
        load.start()
        assert load.started.wait(120)
        answers: list[tuple[str, int, float]] = []

        def enough() -> bool:
            return (
                len(answers) >= 15
                and load.bulk_done("done 500") >= 2
                and load.bulk_done("reopen 500") >= 2
                and load.bulk_done("reopen 1 id x500") >= 2
                and len(load.login_answers) >= 2 * load.burst
            )

        # Until the load has run its rounds; on the first failed answer there is no need to go on.
        while not enough() and load.running() and server.poll() is None:
            answers += victim_round(victim, scenario)
            if any(status != 200 for _, status, _ in answers):
                break
        load.finish()
        failed = [(what, status) for what, status, _ in answers if status != 200]
        assert not failed, f"the other caseworker's requests failed: {failed}"
        bulk_failed = [answer for answer in load.bulk_answers if answer[1] != 200]
        assert not bulk_failed, f"bulk actions failed: {bulk_failed}"
        assert set(load.login_answers) <= {401, 429}, sorted(set(load.login_answers))
        assert enough(), "the load did not run its rounds"
        victim.close()
    finally:
        if load is not None:
            load.finish()
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(30)


OWN = "95401BG1231743"  # caseworker lsb.95401.2, Leistung Husum


def _filed(runtime: Runtime, count: int, *, pdf: bytes | None = None) -> list[str]:
    """Documents filed into the Postkorb of lsb.95401.2 (as routing does after OCR), indexed."""
    with transaction(runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        documents = []
        for n in range(count):
            document = file_letter(
                session,
                household,
                "kontoauszug",
                f"Kontoauszug Girokonto Nummer {n}",
                source_name=f"kontoauszug-{n}.pdf",
            )
            if pdf is not None:
                stored = runtime.blobs.put(f"renditions/{document.id}.pdf", io.BytesIO(pdf))
                document.pdf_key, document.pdf_sha256 = stored.key, stored.sha256
            documents.append(document)
        session.flush()
        runtime.index.index_many([index_entry(d) for d in documents])
        return [str(d.id) for d in documents]


def _audited(runtime: Runtime, action: str) -> list[AuditEvent]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_bulk_action_works_each_item_once_and_search_follows(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    _filed(sqlite_runtime, 2)
    caseworker = client_for(sqlite_runtime, "lsb.95401.2")
    first, second = [i["id"] for i in caseworker.get("/api/inbox").json()["items"]]

    # The same item twice (a double click, or the review's 500 times): worked once.
    twice = {"ids": [first, second, first], "action": "done"}
    answer = caseworker.post("/api/inbox/bulk", json=twice)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"done": 2}
    assert sorted(int(e.details["item"]) for e in _audited(sqlite_runtime, "inbox.done")) == sorted(
        [first, second]
    )
    assert caseworker.get("/api/inbox").json()["total"] == 0
    # Once the answer is there, search shows both documents as done.
    found = caseworker.get("/api/search", params={"q": "Girokonto"}).json()
    assert {hit["status"] for hit in found["hits"]} == {"done"}, found

    again = caseworker.post("/api/inbox/bulk", json={"ids": [first] * 500, "action": "reopen"})
    assert again.status_code == 200 and again.json() == {"done": 1}
    assert len(_audited(sqlite_runtime, "inbox.reopen")) == 1
    too_many = caseworker.post("/api/inbox/bulk", json={"ids": [first] * 501, "action": "reopen"})
    assert too_many.status_code == 422


def test_a_slow_download_holds_no_write_lock_and_is_audited(quick_runtime: Runtime) -> None:
    # A document read from a slow blob store: meanwhile others write (the desk files a scan, a
    # colleague marks an item done), and the download is in the audit log once it is answered.
    load_people(quick_runtime)
    [document_id] = _filed(quick_runtime, 1, pdf=b"%PDF-1.4\n% test\n%%EOF\n")
    caseworker = client_for(quick_runtime, "lsb.95401.2")
    pdf = partial(caseworker.get, f"/api/documents/{document_id}/pdf")
    with while_held(quick_runtime, "blobs", "open", pdf, when=rendition) as slow:
        path = quick_runtime.settings.resolved_database_url.split("///", 1)[1]
        other = sqlite3.connect(path, isolation_level=None, timeout=2)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if the reader held it
            other.execute("UPDATE users SET name = name WHERE login = 'lsb.95401.3'")
            other.execute("COMMIT")
        finally:
            other.close()
        assert not slow.pending.done()
        download = slow.finish()
    assert download.status_code == 200, download.text
    assert download.content.startswith(b"%PDF")
    [row] = _audited(quick_runtime, "document.download")
    assert (row.actor_login, row.object_id) == ("lsb.95401.2", document_id)


def test_no_document_leaves_without_its_audit_row(quick_runtime: Runtime) -> None:
    # The download's audit row is written after the read; if it cannot be written (the database
    # stays locked past the busy timeout), the PDF is not handed out: the answer is an error.
    load_people(quick_runtime)
    [document_id] = _filed(quick_runtime, 1, pdf=b"%PDF-1.4\n% test\n%%EOF\n")
    # What the browser gets: the server's error as an answer, not as an exception in the test.
    caseworker = TestClient(create_app(quick_runtime), raise_server_exceptions=False)
    login = {"login": "lsb.95401.2", "password": PASSWORD}
    assert caseworker.post("/api/auth/login", json=login).status_code == 200
    path = quick_runtime.settings.resolved_database_url.split("///", 1)[1]
    other = sqlite3.connect(path, isolation_level=None, timeout=2, check_same_thread=False)
    pdf = partial(caseworker.get, f"/api/documents/{document_id}/pdf")
    try:
        with while_held(quick_runtime, "blobs", "open", pdf, when=rendition) as slow:
            other.execute("BEGIN IMMEDIATE")
            download = slow.finish()
        other.execute("COMMIT")
    finally:
        other.close()
    assert download.status_code >= 500
    assert b"%PDF" not in download.content
    assert _audited(quick_runtime, "document.download") == []


def test_a_reading_transaction_cannot_change_data_and_records_after_it(database_url: str) -> None:
    engine, sessions = migrated_sessions(database_url)
    try:
        with transaction(sessions) as session:
            session.add(User(login="lsb.1", name="Petra Schmitt", role="leistung"))
        with pytest.raises(ReadOnlyTransaction):
            with transaction(sessions, read_only=True) as session:
                session.scalar(select(User).where(User.login == "lsb.1")).name = "Geändert"
        with pytest.raises(DBAPIError):  # not even past the ORM: the transaction is read-only
            with transaction(sessions, read_only=True) as session:
                session.execute(text("UPDATE users SET name = 'Geändert'"))
        # What a reading transaction records (the audit row of the read) is written after it,
        # and only if it ended well.
        with transaction(sessions, read_only=True) as session:
            user = session.scalar(select(User).where(User.login == "lsb.1"))
            audit.record(session, user, "household.read", object_id="95401BG1231743")
            session.flush()
            assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
        with pytest.raises(NotFound):
            with transaction(sessions, read_only=True) as session:
                audit.record(session, None, "document.read", actor_login="lsb.1")
                raise NotFound("Dokument nicht gefunden.")
        with transaction(sessions) as session:
            assert session.scalar(select(User.name).where(User.login == "lsb.1")) == "Petra Schmitt"
            assert list(session.scalars(select(AuditEvent.action))) == ["household.read"]
    finally:
        engine.dispose()
