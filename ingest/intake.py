"""Intake: an accepted file is stored with its hash and a job is committed, in one step."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dates import german, local_date
from core.db import transaction
from core.errors import BlobExists, BlobMissing, UploadRejected
from core.faults import fault_point
from ingest.validation import Inspected, inspect_upload, safe_source_name
from records import audit
from records.jobs import enqueue
from records.models import Job, ScanBatch, User
from records.runtime import Runtime
from storage import BlobStore
from storage.base import sha256_of_file

BATCH_JOB = "batch"
CHANNELS = ("upload", "api", "hotfolder", "cli", "demo", "file", "mailbox")
EMAIL = "message/rfc822"


@dataclass(frozen=True)
class Preset:
    """A file a caseworker puts into a known household's file: no recognition, no inbox item."""

    household_id: int
    doc_type: str
    direction: str = "in"  # "out" for decisions the job centre sent
    dispatch_date: date | None = None


def _inspect_email(path: Path, max_bytes: int) -> Inspected:
    from ingest.email_pdf.parse import looks_like_email

    size = path.stat().st_size
    if size > max_bytes:
        raise UploadRejected(
            f"Die E-Mail ist zu groß ({size / 1048576:.1f} MB).", code="upload_too_large"
        )
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not looks_like_email(head):
        raise UploadRejected("Die Datei ist keine E-Mail im .eml-Format.", code="not_an_email")
    return Inspected(EMAIL, 0)  # pages are known once the worker has converted it


def _reads_like_email(path: Path) -> bool:
    from ingest.email_pdf.parse import looks_like_email

    with path.open("rb") as handle:
        return looks_like_email(handle.read(8192))


def original_key(sha256: str) -> str:
    # Content-addressed: the same scan handed in twice is stored once, and never changes.
    return f"originals/{sha256[:2]}/{sha256}"


def keep_original(blobs: BlobStore, path: Path, sha256: str | None = None) -> str:
    """Store `path` under its content address once (the same file twice is one object);
    returns the key. The stored object's hash is checked against the file's."""
    sha256 = sha256 or sha256_of_file(path)
    key = original_key(sha256)
    try:
        blobs.stat(key)
    except BlobMissing:
        with path.open("rb") as source:
            try:
                stored = blobs.put(key, source)
            except BlobExists:
                stored = blobs.stat(key)
        if stored.sha256 != sha256:
            raise RuntimeError(f"blob store returned hash {stored.sha256} for {sha256}") from None
    return key


def _earlier_delivery(session: Session, sha256: str) -> ScanBatch | None:
    """The first batch handed in with the same content, if any (by the indexed hash)."""
    return session.scalar(
        select(ScanBatch)
        .where(ScanBatch.original_sha256 == sha256)
        .order_by(ScanBatch.received_at)
        .limit(1)
    )


def accept_file(
    runtime: Runtime,
    path: Path,
    source_name: str | None,
    user: User | None,
    *,
    channel: str = "upload",
    station: str | None = None,
    preset: Preset | None = None,
    email: bool = False,
    on_batch: Callable[[Session, ScanBatch], None] | None = None,
) -> tuple[ScanBatch, Job]:
    """Check, store and enqueue a file. Raises UploadRejected with a German reason.

    The original is in the blob store before the batch and its job are committed; if the
    commit fails, nothing refers to the stored object and the caller may simply try again.
    on_batch runs inside the batch's transaction (the mailbox remembers its message there).
    """
    settings = runtime.settings
    if not email and preset is None:
        # The desk, the hot folder and `eakte ingest` take e-mails too (a function mailbox's
        # messages): recognised and routed like scanned letters.
        email = _reads_like_email(path)
    if email:
        inspected = _inspect_email(path, settings.max_upload_bytes)
    else:
        inspected = inspect_upload(
            path,
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_image_pixels,
            max_pages=settings.max_batch_pages,
            max_page_mm=settings.max_page_mm,
            dpi=settings.ocr_dpi,
        )
    sha256 = sha256_of_file(path)
    key = keep_original(runtime.blobs, path, sha256)
    fault_point("intake.original_stored")  # issue 20: crash tests (core.faults)
    with transaction(runtime.sessions) as session:
        earlier = _earlier_delivery(session, sha256)
        batch = ScanBatch(
            id=uuid.uuid4(),
            source_name=safe_source_name(source_name),
            channel=channel,
            station=safe_source_name(station)[:100] if station else None,
            content_type=inspected.content_type,
            size_bytes=path.stat().st_size,
            original_key=key,
            original_sha256=sha256,
            pages_total=inspected.pages,
            status="received",
            uploaded_by_id=user.id if user else None,
        )
        if earlier is not None:
            # Read all the same (a letter is never lost); its documents are marked at filing.
            batch.status_message = (
                f"Diese Datei wurde bereits am {german(local_date(earlier.received_at))} "
                "eingeliefert (gleicher Inhalt)."
            )
        if preset is not None:
            batch.preset_household_id = preset.household_id
            batch.preset_doc_type = preset.doc_type
            batch.preset_direction = preset.direction
            batch.preset_dispatch_date = preset.dispatch_date
        session.add(batch)
        session.flush()
        job = enqueue(session, BATCH_JOB, None, settings.job_max_attempts, batch_id=batch.id)
        audit.record(
            session,
            user,
            "batch.upload",
            actor_login=None if user else "system",
            object_type="batch",
            object_id=batch.id,
            source_name=batch.source_name,
            channel=channel,
            sha256=sha256,
            pages=inspected.pages,
            same_file_as=str(earlier.id) if earlier is not None else None,
        )
        if on_batch is not None:
            on_batch(session, batch)
    return batch, job
