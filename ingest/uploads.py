"""Files handed in through the web: a scan or batch at the desk, or an e-mail or outgoing decision
a caseworker puts into a household's file. Each is spooled to disk, checked and stored, and its
processing queued (ingest.intake); the access check comes first, in a transaction of its own.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import BinaryIO

from core.db import transaction
from core.errors import InvalidInput
from ingest.intake import Preset, accept_file
from records.access import Capability, Gate
from records.desk import BatchView, batch_view
from records.models import Job, ScanBatch, User
from records.runtime import Runtime

UPLOAD_KINDS = ("email", "bescheid")


def _spool(runtime: Runtime, source: BinaryIO) -> Path:
    """The upload copied into the data directory (never into memory as a whole)."""
    work = runtime.settings.data_dir / "incoming"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=work, prefix="upload-", delete=False) as spool:
        source.seek(0)
        shutil.copyfileobj(source, spool, 1024 * 1024)
    return Path(spool.name)


def check_may_scan(runtime: Runtime, user: User) -> None:
    """Before the upload is read: only the desk hands in scans (a refusal is audited)."""
    with transaction(runtime.sessions) as session:
        Gate(session, user).require(Capability.SCAN, "document.upload")


def accept_scan(
    runtime: Runtime, user: User, source: BinaryIO, filename: str | None, station: str | None
) -> BatchView:
    """A scan or batch handed in at the desk; returns the batch as the desk sees it."""
    path = _spool(runtime, source)
    try:
        batch, _job = accept_file(runtime, path, filename, user, station=station)
    finally:
        path.unlink(missing_ok=True)
    with transaction(runtime.sessions, read_only=True) as session:
        return batch_view(session, batch.id)


def accept_into_file(
    runtime: Runtime,
    user: User,
    bg_number: str,
    source: BinaryIO,
    filename: str | None,
    *,
    kind: str,
    dispatch: str,
) -> tuple[ScanBatch, Job]:
    """An e-mail (.eml: text and attachments as one document) or an outgoing decision with its
    dispatch date, put straight into a household's file by someone who may open it."""
    if kind not in UPLOAD_KINDS:
        raise InvalidInput("Art muss »email« oder »bescheid« sein.", code="upload_kind")
    dispatch_date = None
    if kind == "bescheid":
        try:
            dispatch_date = date.fromisoformat(dispatch)
        except ValueError:
            raise InvalidInput(
                "Für einen Bescheid bitte das Versanddatum angeben.", code="dispatch_date"
            ) from None
    with transaction(runtime.sessions) as session:
        household, _ = Gate(session, user).household(bg_number, "household.upload")
        preset = Preset(
            household_id=household.id,
            doc_type="bescheid" if kind == "bescheid" else "sonstiges",
            direction="out" if kind == "bescheid" else "in",
            dispatch_date=dispatch_date,
        )
    path = _spool(runtime, source)
    try:
        return accept_file(
            runtime, path, filename, user, channel="file", preset=preset, email=kind == "email"
        )
    finally:
        path.unlink(missing_ok=True)
