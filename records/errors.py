"""The product's one family of errors.

Each error has a stable `code` for programs and a German `message` for the person in front of
the screen. The API renders them as JSON, the web UI as a German page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class EAkteError(Exception):
    code = "error"
    status = 500
    # What must be recorded although the unit of work is rolled back (a refused access): the
    # transaction's owner calls it with a session of its own after the rollback, then commits.
    after_rollback: Callable[[Any], None] | None = None

    def __init__(self, message: str, *, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class ConfigurationError(EAkteError):
    code = "configuration"


class InvalidInput(EAkteError):
    code = "invalid_input"
    status = 422


class UploadRejected(EAkteError):
    code = "upload_rejected"
    status = 422


class UploadTooLarge(UploadRejected):
    code = "upload_too_large"
    status = 413


class NotAuthenticated(EAkteError):
    code = "not_authenticated"
    status = 401


class AccessDenied(EAkteError):
    code = "access_denied"
    status = 403


class NotFound(EAkteError):
    code = "not_found"
    status = 404


class Conflict(EAkteError):
    code = "conflict"
    status = 409


class BackendUnavailable(EAkteError):
    code = "backend_unavailable"
    status = 503


class BlobExists(Conflict):
    code = "blob_exists"


class BlobMissing(NotFound):
    code = "blob_missing"


class BlobCorrupted(EAkteError):
    code = "blob_corrupted"
    status = 500
