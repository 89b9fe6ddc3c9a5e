"""The worker process: claims jobs from the queue and runs them, one after the other."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from ingest.intake import BATCH_JOB
from ingest.pipeline import PermanentFailure, process_batch
from ingest.verify import VERIFY_JOB, verify_store
from records.jobs import (
    ClaimedJob,
    LeaseLost,
    claim_next,
    extend_lease,
    fail,
    has_unfinished_jobs,
)
from records.runtime import Runtime

log = logging.getLogger(__name__)

Handler = Callable[[Runtime, ClaimedJob, Callable[[], bool]], None]
HANDLERS: dict[str, Handler] = {BATCH_JOB: process_batch, VERIFY_JOB: verify_store}


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


def run_one(runtime: Runtime, job: ClaimedJob) -> None:
    lease = _Lease(runtime, job)
    try:
        handler = HANDLERS.get(job.kind)
        if handler is None:
            raise PermanentFailure(f"Unbekannte Auftragsart {job.kind!r}")
        handler(runtime, job, lease.alive)
        log.info("job %s (%s) done", job.id, job.kind)
    except LeaseLost:
        log.warning("job %s was taken over by another worker; result discarded", job.id)
    except PermanentFailure as exc:
        log.error("job %s failed for good: %s", job.id, exc)
        fail(runtime.sessions, job, str(exc), permanent=True)
    except Exception as exc:  # noqa: BLE001 - every other failure is retried, never dropped
        log.exception("job %s failed (attempt %s)", job.id, job.attempt)
        message = f"Technischer Fehler bei Versuch {job.attempt}: {type(exc).__name__}: {exc}"
        fail(runtime.sessions, job, message[:2000], permanent=False)
    finally:
        lease.stop()


def run_worker(runtime: Runtime, stop: threading.Event, *, until_idle: bool = False) -> int:
    """Work the queue until `stop` is set, or with until_idle until every job has ended.

    Jobs that other workers hold count as unfinished: if such a worker dies, this one takes over.
    """
    me = worker_id()
    settings = runtime.settings
    done = 0
    log.info("worker %s started", me)
    while not stop.is_set():
        job = claim_next(runtime.sessions, me, settings.job_lease_seconds)
        if job is None:
            if until_idle and not has_unfinished_jobs(runtime.sessions):
                break
            stop.wait(settings.job_poll_seconds)
            continue
        run_one(runtime, job)
        done += 1
    log.info("worker %s stopped after %s jobs", me, done)
    return done
