"""Intake: an accepted file is stored with its hash and a job is committed, in one step."""

from __future__ import annotations

import uuid
from pathlib import Path

from ingest.validation import inspect_upload, safe_source_name
from records import audit
from records.db import transaction
from records.errors import BlobExists, BlobMissing
from records.jobs import enqueue
from records.models import Job, ScanBatch, User
from records.runtime import Runtime
from storage.base import sha256_of_file

BATCH_JOB = "batch"
CHANNELS = ("upload", "api", "hotfolder", "cli", "demo")


def original_key(sha256: str) -> str:
    # Content-addressed: the same scan handed in twice is stored once, and never changes.
    return f"originals/{sha256[:2]}/{sha256}"


def accept_file(
    runtime: Runtime,
    path: Path,
    source_name: str | None,
    user: User | None,
    *,
    channel: str = "upload",
    station: str | None = None,
) -> tuple[ScanBatch, Job]:
    """Check, store and enqueue a file. Raises UploadRejected with a German reason.

    The original is in the blob store before the batch and its job are committed; if the
    commit fails, nothing refers to the stored object and the caller may simply try again.
    """
    settings = runtime.settings
    inspected = inspect_upload(
        path,
        max_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_image_pixels,
        max_pages=settings.max_batch_pages,
    )
    sha256 = sha256_of_file(path)
    key = original_key(sha256)
    try:
        runtime.blobs.stat(key)
    except BlobMissing:
        with path.open("rb") as source:
            try:
                stored = runtime.blobs.put(key, source)
            except BlobExists:
                stored = runtime.blobs.stat(key)
        if stored.sha256 != sha256:
            raise RuntimeError(f"blob store returned hash {stored.sha256} for {sha256}") from None
    with transaction(runtime.sessions) as session:
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
        )
    return batch, job
