"""What the desk's live-update tests and bench/desk_poll.py share: a batch handed in at the
scanning desk and read, whose letters wait for the quality check (without OCR: the letters
are filed as recognition would leave them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import transaction, utcnow
from records.models import Household, ScanBatch
from records.runtime import Runtime
from tests.support import file_letter

# Types the quality check shows by name (ingest/recognition/doctypes.toml).
DESK_TYPES = ("verdienstabrechnung", "kontoauszug", "mietbescheinigung", "nebenkostenabrechnung")


@dataclass(frozen=True)
class DeskBatch:
    id: str
    documents: list[str]  # in the order the check lists them


def add_batch(session: Session, **fields: object) -> ScanBatch:
    """A batch handed in at the desk (its original a placeholder), with these fields."""
    columns: dict[str, object] = {
        "content_type": "application/pdf",
        "size_bytes": 1000,
        "original_key": "originals/x",
        "original_sha256": "0" * 64,
        "received_at": utcnow(),
    }
    batch = ScanBatch(**(columns | fields))
    session.add(batch)
    session.flush()
    return batch


def desk_batch(runtime: Runtime, letters: int, source_name: str = "stapel.pdf") -> DeskBatch:
    """A batch of `letters` one-page letters, read and waiting for the check: each filed into
    one of the sample households in turn (its caseworker's Postkorb), every tenth to clearing."""
    with transaction(runtime.sessions) as session:
        households = list(session.scalars(select(Household).order_by(Household.id).limit(20)))
        batch = add_batch(
            session,
            source_name=source_name,
            status="processed",
            pages_total=letters,
            pages_done=letters,
            documents_count=letters,
            started_at=utcnow(),
            finished_at=utcnow(),
        )
        documents = []
        for number in range(1, letters + 1):
            household = households[number % len(households)] if number % 10 else None
            document = file_letter(
                session,
                household,
                DESK_TYPES[number % len(DESK_TYPES)],
                f"Seite {number} des Stapels {source_name}",
                source_name=source_name,
                batch_id=batch.id,
                sequence=number,
                first_page=number,
                last_page=number,
                received_at=batch.received_at,
            )
            documents.append(str(document.id))
        return DeskBatch(str(batch.id), documents)
