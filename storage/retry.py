"""Bounded retries with jittered exponential backoff for the blob store's passing failures.

A clustered MinIO answers 503 (SlowDown, SlowDownWrite, XMinioServerNotInitialized) while a
node restarts or an erasure set heals, and one of its processes may be gone: a request to it
fails to connect. Such a failure is tried again after a pause that doubles from `base_seconds`
up to `max_seconds`, drawn at random below that bound ("full jitter", so that many workers
hit by the same outage do not come back in step), at most `attempts` times in all, and no new
attempt begins after `total_seconds`: a MinIO that lost its write quorum does not refuse, it
holds the request until the client's read timeout, so the attempts alone would keep the desk
waiting minutes. What still fails then is a BackendUnavailable with a German message: the
caller's job is retried later (ingest/worker.py), an upload at the desk shows the message.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from minio.error import InvalidResponseError, S3Error, ServerError
from urllib3.exceptions import HTTPError as Urllib3Error

from core.errors import BackendUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# S3 error codes that say "not now" rather than "no": MinIO's answers while it is starting,
# healing or has lost a quorum for a moment, and the generic throttling codes of S3.
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "SlowDownRead",
        "SlowDownWrite",
        "ServiceUnavailable",
        "XMinioServerNotInitialized",
        "ServerNotInitialized",
        "InternalError",
        "RequestTimeout",
        "XMinioReadQuorum",
        "XMinioWriteQuorum",
    }
)
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})


def is_connection_error(exc: BaseException) -> bool:
    """The endpoint could not be reached or broke off (refused, reset, timed out): another
    endpoint of the same cluster may answer."""
    return isinstance(exc, Urllib3Error | ConnectionError | TimeoutError)


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same request again later may succeed."""
    if is_connection_error(exc):
        return True
    if isinstance(exc, S3Error):
        status = getattr(exc.response, "status", None)
        return exc.code in TRANSIENT_CODES or status in _TRANSIENT_STATUS
    if isinstance(exc, ServerError):
        return exc.status_code in _TRANSIENT_STATUS
    if isinstance(exc, InvalidResponseError):
        return getattr(exc, "_code", None) in _TRANSIENT_STATUS
    return False


def describe(exc: BaseException) -> str:
    """A short technical name of the failure for the German message (no object contents)."""
    if isinstance(exc, S3Error):
        return str(exc.code)
    reason = getattr(exc, "reason", None)  # urllib3's MaxRetryError wraps the real cause
    cause = reason if isinstance(reason, BaseException) else exc
    return type(cause).__name__


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_seconds: float = 0.2
    max_seconds: float = 5.0
    total_seconds: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    uniform: Callable[[float, float], float] = field(default=random.uniform, compare=False)

    def pause(self, retry: int) -> float:
        """The pause before retry number `retry` (1 for the first): uniform in [0, bound]."""
        bound = min(self.max_seconds, self.base_seconds * 2 ** (retry - 1))
        return self.uniform(0.0, bound)


def exhausted_message(what: str, attempts: int, exc: BaseException) -> str:
    return (
        f"Der Dokumentenspeicher ist nicht erreichbar oder überlastet ({what}: {describe(exc)}, "
        f"nach {attempts} Versuchen). Bereits angenommene Dokumente bleiben erhalten und werden "
        "später automatisch weiterverarbeitet; eine Übergabe, die hier scheitert, bitte später "
        "wiederholen."
    )


def with_retries(what: str, operation: Callable[[], T], policy: RetryPolicy) -> T:
    """Run `operation`; a transient failure is tried again with backoff, at most
    `policy.attempts` times in all, then raised as BackendUnavailable (German). Other errors
    pass through at once."""
    attempt = 1
    started = policy.clock()
    while True:
        try:
            return operation()
        except Exception as exc:
            if not is_transient(exc):
                raise
            pause = policy.pause(attempt)
            late = policy.clock() - started + pause > policy.total_seconds
            if attempt >= policy.attempts or late:
                log.warning("blob store: %s failed %d times (%s)", what, attempt, describe(exc))
                raise BackendUnavailable(exhausted_message(what, attempt, exc)) from exc
            log.info(
                "blob store: %s failed (%s); retry %d in %.2f s",
                what,
                describe(exc),
                attempt,
                pause,
            )
            policy.sleep(pause)
            attempt += 1


__all__ = [
    "TRANSIENT_CODES",
    "RetryPolicy",
    "describe",
    "exhausted_message",
    "is_connection_error",
    "is_transient",
    "with_retries",
]
