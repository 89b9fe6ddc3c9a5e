"""The worker process: claims jobs from the queue and runs them, one after the other."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from core import metrics
from core.errors import Outcome, PermanentFailure, outcome_of
from core.logs import job_context
from ingest.intake import BATCH_JOB
from ingest.mailbox import start_polling
from ingest.pipeline import process_batch
from ingest.programs import log_tool_state, probe_tools
from ingest.verify import VERIFY_JOB, verify_store
from records.destruction import DESTROY_JOB, destroy_job
from records.index_outbox import start_draining
from records.jobs import (
    HEARTBEAT_SECONDS,
    ClaimedJob,
    claim_next,
    extend_lease,
    fail,
    has_unfinished_jobs,
    report_in,
    sign_off,
)
from records.runtime import Runtime

log = logging.getLogger(__name__)

Handler = Callable[[Runtime, ClaimedJob, Callable[[], bool]], None]
HANDLERS: dict[str, Handler] = {BATCH_JOB: process_batch, VERIFY_JOB: verify_store}
HANDLERS[DESTROY_JOB] = destroy_job  # issue 17: documented destruction (records.destruction)


class _Lease:
    """Keeps the job's lease alive from a side thread while the job runs."""

    def __init__(self, runtime: Runtime, job: ClaimedJob) -> None:
        self.runtime = runtime
        self.job = job
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"lease-{job.id}")
        self._thread.start()

    def _beat(self) -> None:
        seconds = self.runtime.settings.job_lease_seconds
        while not self._stop.wait(max(0.2, seconds / 3)):
            try:
                if not extend_lease(self.runtime.sessions, self.job, seconds):
                    self.lost = True
                    return
            except Exception:  # noqa: BLE001 - a missed beat is retried; the lease has slack
                log.warning("could not extend lease of job %s", self.job.id, exc_info=True)

    def alive(self) -> bool:
        return not self.lost

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_one(runtime: Runtime, job: ClaimedJob) -> Outcome | None:
    """Run one job; what becomes of it when it raises is the error's `outcome`, decided here.
    Returns that outcome, None when the job was done."""
    lease = _Lease(runtime, job)
    try:
        handler = HANDLERS.get(job.kind)
        if handler is None:
            raise PermanentFailure(f"Unbekannte Auftragsart {job.kind!r}")
        handler(runtime, job, lease.alive)
        log.info("job %s (%s) done", job.id, job.kind)
        return None
    except Exception as exc:  # noqa: BLE001 - every failure gets its outcome, none is dropped
        return _record_failure(runtime, job, exc)
    finally:
        lease.stop()


def _record_failure(runtime: Runtime, job: ClaimedJob, exc: Exception) -> Outcome:
    outcome = outcome_of(exc)
    if outcome is Outcome.DISCARD:
        log.warning("job %s was taken over or given up; result discarded (%s)", job.id, exc)
    elif outcome in (Outcome.PERMANENT, Outcome.PAGE):
        # A page-level error that reaches the job is a file that cannot be read at all.
        log.error("job %s failed for good: %s", job.id, exc)
        _count_given_up(job, fail(runtime.sessions, job, str(exc)[:2000], permanent=True))
    elif outcome is Outcome.CONFIGURATION:
        wait = runtime.settings.job_configuration_retry_seconds
        log.error("job %s waits %.0f s for the installation to be fixed: %s", job.id, wait, exc)
        message = f"Die Verarbeitung wartet auf die Administration: {exc}"
        fail(runtime.sessions, job, message[:2000], permanent=False, wait_seconds=wait)
    elif outcome is Outcome.OUTAGE:
        wait = runtime.settings.job_outage_retry_seconds
        log.error("job %s waits %.0f s for a backend: %s", job.id, wait, exc)
        message = f"Die Verarbeitung wartet, bis der Speicher wieder erreichbar ist: {exc}"
        fail(runtime.sessions, job, message[:2000], permanent=False, wait_seconds=wait)
    else:
        log.error("job %s failed (attempt %s)", job.id, job.attempt, exc_info=exc)
        message = f"Technischer Fehler bei Versuch {job.attempt}: {type(exc).__name__}: {exc}"
        _count_given_up(job, fail(runtime.sessions, job, message[:2000], permanent=False))
    return outcome


def _count_given_up(job: ClaimedJob, state: str) -> None:
    """A scan batch that failed for good is the routing outcome "failed" (issue 20); `fail`
    has committed when it returns the state."""
    if job.kind == BATCH_JOB and state == "failed":
        metrics.count_failed_batch()


class _Outage:
    """The database is out of reach (SQLite locked past its busy timeout, PostgreSQL down or
    restarting): the worker says so once, waits ever longer, and goes on when it is back."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        self.first = settings.job_poll_seconds
        self.longest = max(settings.job_retry_max_seconds, self.first)
        self.pause = self.first
        self.since: float | None = None

    def hit(self, me: str, error: OperationalError) -> float:
        if self.since is None:
            self.since = time.monotonic()
            log.warning(
                "worker %s: database not available (%s); trying again",
                me,
                str(error.orig or error).splitlines()[0][:300],
            )
        else:
            self.pause = min(self.pause * 2, self.longest)
        return self.pause

    def over(self, me: str) -> None:
        if self.since is not None:
            log.info(
                "worker %s: database available again after %.1f s",
                me,
                time.monotonic() - self.since,
            )
        self.since, self.pause = None, self.first


def run_worker(runtime: Runtime, stop: threading.Event, *, until_idle: bool = False) -> int:
    """Work the queue until `stop` is set, or with until_idle until every job has ended or
    waits for the installation to be fixed (a missing program or language pack).
    Without until_idle, a configured mailbox is polled on its interval meanwhile.

    Jobs that other workers hold count as unfinished: if such a worker dies, this one takes over.
    A database that is locked or gone does not end the worker: it waits and tries again; a job
    it could not record the end of keeps its lease, which runs out, and is taken up again.
    """
    me = worker_id()
    settings = runtime.settings
    outage = _Outage(settings)
    done = 0
    log.info("worker %s started", me)
    # Jobs that need a missing program wait instead of failing; this says so at once.
    log_tool_state(probe_tools(settings.ocr_languages), f"worker {me}")
    if not until_idle:
        # The function mailbox (when configured) is polled beside the queue; one worker
        # fetches at a time, the others find the lock taken and wait for the next round.
        start_polling(runtime, stop)
        # issue 20: index entries a commit could not write (search down) are written later.
        start_draining(runtime, stop)
    # With until_idle, jobs that wait for the installation to be fixed do not keep it running.
    waiting: set[int] = set()

    def report(job_id: int | None) -> float:
        """Tell the state page this worker is alive (and which job it took); when it did."""
        report_in(
            runtime.sessions,
            me,
            host=socket.gethostname(),
            pid=os.getpid(),
            job_id=job_id,
            jobs_done=done,
        )
        return time.monotonic()

    reported = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() - reported >= HEARTBEAT_SECONDS:
                reported = report(None)
            job = claim_next(runtime.sessions, me, settings.job_lease_seconds)
            if job is None:
                if until_idle and not has_unfinished_jobs(runtime.sessions, waiting):
                    if waiting:
                        log.error("worker %s: jobs %s wait for the installation", me, waiting)
                    break
                outage.over(me)
                stop.wait(settings.job_poll_seconds)
                continue
            outage.over(me)
            reported = report(job.id)
            with job_context(job.id, job.kind):  # issue 20: the job's log lines name it
                outcome = run_one(runtime, job)
            if outcome is Outcome.CONFIGURATION:
                waiting.add(job.id)
            else:
                waiting.discard(job.id)
        except OperationalError as exc:
            stop.wait(outage.hit(me, exc))
            continue
        done += 1
    try:
        sign_off(runtime.sessions, me)
    except OperationalError:
        log.warning("worker %s could not sign off; its report ages out", me)
    log.info("worker %s stopped after %s jobs", me, done)
    return done
