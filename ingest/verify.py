"""The hash check: every stored original and rendition is read back and its SHA-256 compared."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import select

from core.db import transaction
from core.errors import BlobCorrupted, BlobMissing
from records import audit
from records.jobs import ClaimedJob, LeaseLost, complete
from records.models import Document, Job, Page, ScanBatch
from records.runtime import Runtime

VERIFY_JOB = "verify"


def _stored_objects(runtime: Runtime) -> Iterator[tuple[str, str, str]]:
    """(what, key, recorded sha256) for everything the database says is stored."""
    with transaction(runtime.sessions) as session:
        rows: list[tuple[str, str, str]] = []
        for batch in session.scalars(select(ScanBatch)):
            rows.append(
                (f"Original {batch.source_name}", batch.original_key, batch.original_sha256)
            )
        for document in session.scalars(select(Document)):
            if document.pdf_key and document.pdf_sha256:
                rows.append((f"PDF {document.source_name}", document.pdf_key, document.pdf_sha256))
            if document.scan_record_key and document.scan_record_sha256:
                rows.append(
                    (
                        f"Transfervermerk {document.source_name}",
                        document.scan_record_key,
                        document.scan_record_sha256,
                    )
                )
        for page in session.scalars(select(Page)):
            for kind, key, sha in (
                ("Seitenbild", page.image_key, page.image_sha256),
                ("Vorschau", page.thumb_key, page.thumb_sha256),
                ("Wortpositionen", page.words_key, page.words_sha256),
            ):
                if key and sha:
                    rows.append((f"{kind} Seite {page.number} von {page.document_id}", key, sha))
    # Originals are shared by content: each object is checked once.
    seen: set[str] = set()
    for what, key, sha in rows:
        if key not in seen:
            seen.add(key)
            yield what, key, sha


def verify_store(runtime: Runtime, job: ClaimedJob, still_wanted: Callable[[], bool]) -> None:
    problems: list[dict[str, str]] = []
    checked = 0
    for what, key, recorded in _stored_objects(runtime):
        if not still_wanted():
            raise LeaseLost(f"job {job.id} given up while verifying")
        checked += 1
        try:
            if runtime.blobs.stat(key).sha256 != recorded:
                problems.append({"object": what, "key": key, "problem": "Prüfsumme weicht ab"})
                continue
            for _chunk in runtime.blobs.open(key):
                pass
        except BlobMissing:
            problems.append({"object": what, "key": key, "problem": "fehlt"})
        except BlobCorrupted:
            problems.append({"object": what, "key": key, "problem": "Inhalt verändert"})
    result = {"checked": checked, "problems": problems, "ok": not problems}
    with transaction(runtime.sessions) as session:
        row = session.get(Job, job.id)
        if row is not None:
            row.result = result
        audit.record(
            session,
            None,
            "store.verify",
            actor_login="system",
            outcome="ok" if not problems else "mismatch",
            checked=checked,
            problems=len(problems),
        )
        complete(session, job)
