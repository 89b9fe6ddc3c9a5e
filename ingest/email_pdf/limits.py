"""What bounds one conversion: the page budget, the time budget, and the errors a caller sees."""

from __future__ import annotations

import time

from core.errors import UploadRejected


class NotAnEmail(UploadRejected):
    """The file is no e-mail in .eml format (RFC 822 / MIME)."""

    code = "not_an_email"

    def __init__(
        self,
        message: str = "Die Datei ist keine E-Mail im .eml-Format.",
        *,
        code: str | None = None,
        **details: object,
    ) -> None:
        super().__init__(message, code=code, **details)


class EmailTooLarge(UploadRejected, ValueError):
    """The e-mail would give more pages than allowed, or takes too long to convert."""

    code = "email_too_large"


class OverBudget(Exception):
    """More pages than the budget allows (internal: turned into EmailTooLarge or a summary)."""


class Deadline:
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise EmailTooLarge(
                f"Die E-Mail ist zu umfangreich: die Umwandlung hat länger als {self.seconds} "
                "Sekunden gedauert. Bitte die Anhänge einzeln einreichen.",
                code="email_too_large",
            )
