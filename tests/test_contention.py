"""SQLite under contention: one user's heavy work or a locked database stalls nobody else.

On the default setup (SQLite) one writer at a time holds the write lock. These tests hold it
(from another connection, or by a user's largest bulk actions and a burst of failed logins)
and check that the others' work still succeeds. They assert outcomes, never timings.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from ingest.intake import accept_file
from ingest.worker import run_worker
from records.db import transaction
from records.models import ScanBatch
from records.runtime import Runtime, build_runtime
from tests.conftest import make_settings
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
from tests.support import sample


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
