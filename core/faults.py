"""Fault-injection points for the crash tests (issue 20): a process kills itself at a step.

`fault_point(name)` does nothing unless the environment variable EAKTE_FAULT_POINT names this
point; then the process sends itself SIGKILL there, as a power cut or the OOM killer would -
no cleanup, no `finally`, no after-commit hook. EAKTE_FAULT_AFTER=N (default 1) kills at the
N-th time the point is reached in this process (e.g. the second batch a worker takes). The
environment is read once, at import: unset, a point costs one comparison with None.

The points, in the order a letter passes them (tests/test_crash20.py kills at each one):

- `intake.original_stored` (web process, ingest.intake.accept_file): the original is in the
  blob store, the batch and its job are not yet committed. The desk's upload fails; the desk
  hands the file in again.
- `pipeline.pages_read` (worker, ingest.pipeline.process_batch): every page is read (OCR,
  renditions on local disk), nothing of the result is stored yet.
- `pipeline.before_commit` (worker): the renditions of this attempt are in the blob store, the
  documents, pages, inbox items and index-outbox rows are not committed.
- `pipeline.after_commit` (worker, an after-commit hook of the batch's transaction): the
  documents stand, their index entries are not written, the job is not done.
- `pipeline.before_index` (worker, ingest.pipeline._index_and_complete): just before the index
  entries are written - on the first attempt and on a retry that finds the batch processed.
- `pipeline.after_index` (worker): the entries are in the index, the job is not yet done and the
  outbox rows are not yet removed.

The desk's check in the web process (ingest.qa.approve_many, `POST /api/qa-approvals`), where
the letters of a checked batch are released into the Postkorb:

- `desk.before_commit`: every decision is made, none committed. The desk's request fails; the
  desk approves again.
- `desk.after_commit` (the first after-commit hook): the decisions stand; their transfer records
  (records.blob_outbox) and index entries (records.reindex) are not yet stored; both outboxes
  hold them for the drainer of `eakte serve` and the workers.
- `desk.after_index` (the last after-commit hook): records and entries are stored; the process
  dies before it answers the desk.

Only for tests and drills: never set EAKTE_FAULT_POINT in an installation.
"""

from __future__ import annotations

import os
import signal
import threading

_POINT = os.environ.get("EAKTE_FAULT_POINT") or None
_AFTER = int(os.environ.get("EAKTE_FAULT_AFTER") or "1")
_hits = 0
_lock = threading.Lock()

POINTS = (
    "intake.original_stored",
    "pipeline.pages_read",
    "pipeline.before_commit",
    "pipeline.after_commit",
    "pipeline.before_index",
    "pipeline.after_index",
)
# The web process's own points (the desk's check); POINTS are the worker's and the intake's.
DESK_POINTS = ("desk.before_commit", "desk.after_commit", "desk.after_index")


def fault_point(name: str) -> None:
    """Kill this process with SIGKILL here when EAKTE_FAULT_POINT is `name` (at its
    EAKTE_FAULT_AFTER-th hit); otherwise return at once."""
    if _POINT is None or name != _POINT:
        return
    global _hits
    with _lock:
        _hits += 1
        due = _hits >= _AFTER
    if due:
        os.kill(os.getpid(), signal.SIGKILL)
