"""The product's one family of errors.

Each error has a stable `code` for programs and a German `message` for the person in front of
the screen. The API renders them as JSON, the web UI as a German page.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any


class Outcome(Enum):
    """What a worker does with a job whose run raised the error (ingest.worker.run_one)."""

    RETRY = "retry"  # another attempt may succeed (the default for anything unexpected)
    PERMANENT = "permanent"  # another attempt will not cure it; the message is shown at the desk
    PAGE = "page"  # one page is unreadable: it is set aside and the batch goes on
    # The installation lacks a program or a language pack: not the document's fault. The job
    # waits without using up an attempt, and the desk and the administration read why.
    CONFIGURATION = "configuration"
    # A backend (the blob store, a directory) is out of reach past the client's own retries:
    # not the document's fault either. The job waits (job_outage_retry_seconds) without using
    # up an attempt, as long as the outage lasts, so a long outage loses no letter.
    OUTAGE = "outage"
    DISCARD = "discard"  # the job was given up or taken over: nothing is recorded


class EAkteError(Exception):
    """The root of the family. A subclass states what differs from its parent as class
    keywords (`code`, `status`, `outcome`), so each error is one line of the table below."""

    code = "error"
    status = 500
    outcome = Outcome.RETRY
    # What must be recorded although the unit of work is rolled back (a refused access): the
    # transaction's owner calls it with a session of its own after the rollback, then commits.
    after_rollback: Callable[[Any], None] | None = None

    def __init_subclass__(
        cls,
        *,
        code: str | None = None,
        status: int | None = None,
        outcome: Outcome | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status = status
        if outcome is not None:
            cls.outcome = outcome

    def __init__(self, message: str, *, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


# --- the table: name, parent, code, HTTP status, worker outcome ---


class ConfigurationError(EAkteError, code="configuration", outcome=Outcome.CONFIGURATION): ...


class InvalidInput(EAkteError, code="invalid_input", status=422): ...


class UploadRejected(EAkteError, code="upload_rejected", status=422): ...


class UploadTooLarge(UploadRejected, code="upload_too_large", status=413): ...


class NotAuthenticated(EAkteError, code="not_authenticated", status=401): ...


class AccessDenied(EAkteError, code="access_denied", status=403): ...


class NotFound(EAkteError, code="not_found", status=404): ...


class Conflict(EAkteError, code="conflict", status=409): ...


class BackendUnavailable(
    EAkteError, code="backend_unavailable", status=503, outcome=Outcome.OUTAGE
): ...


class BlobExists(Conflict, code="blob_exists"): ...


class BlobMissing(NotFound, code="blob_missing"): ...


class BlobCorrupted(EAkteError, code="blob_corrupted", status=500): ...


class ToolUnavailable(ConfigurationError, code="tool_unavailable", status=503):
    """An external program (tesseract, poppler) is missing, cannot start, or lacks a language
    pack: every page would fail the same way, so no page is marked unreadable for it."""


# --- outcomes of the worker's jobs ---


class PermanentFailure(EAkteError, code="permanent_failure", status=422, outcome=Outcome.PERMANENT):
    """A failure that another attempt will not cure; the message is shown at the desk."""


class UnreadablePage(EAkteError, code="unreadable_page", status=422, outcome=Outcome.PAGE):
    """A page that the external programs cannot read: retrying will not help. Within a batch
    the page is set aside; a whole file that cannot be read fails for good."""


class ProgramTimeout(UnreadablePage, TimeoutError, code="program_timeout"):
    """A program ran past its timeout on one page."""


class JobAbandoned(EAkteError, code="job_abandoned", outcome=Outcome.DISCARD):
    """The job was given up or taken over: nothing is recorded."""

    def __init__(self, message: str = "Der Auftrag wurde aufgegeben.") -> None:
        super().__init__(message)


class LeaseLost(JobAbandoned, code="lease_lost"):
    """Another worker has taken the job over; this worker's results must be thrown away."""


class Cancelled(JobAbandoned, code="cancelled"):
    """The job was given up while its pages were being read."""


def outcome_of(error: BaseException) -> Outcome:
    """The outcome of any exception; one that is not ours is retried, never dropped."""
    return error.outcome if isinstance(error, EAkteError) else Outcome.RETRY
