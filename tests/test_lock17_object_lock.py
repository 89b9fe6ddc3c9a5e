"""S3 object lock follows the computed retention: never past the file's last day, never short
of it, extended only (issue 17). On real MinIO with an object-lock bucket."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from minio.error import S3Error
from sqlalchemy import select

from app.runtime import Runtime, build_runtime
from core.dates import local_today
from core.db import transaction
from records.models import AuditEvent, Document, Household
from records.object_lock import LOCK_ACTION, lock_end, sweep
from storage.s3 import S3BlobStore
from tests.support import cli_env, make_settings, run_cli, settings_env

pytestmark = pytest.mark.services

TODAY = date(2026, 12, 7)


@pytest.fixture
def locked(s3_settings: dict[str, object], tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(
        make_settings(
            tmp_path / "data",
            **s3_settings,
            s3_object_lock=True,
            s3_retention_mode="GOVERNANCE",
        )
    )
    yield runtime
    runtime.close()


def put(runtime: Runtime, key: str) -> str:
    runtime.blobs.put(key, io.BytesIO(key.encode()))
    return key


def document(
    runtime: Runtime, household: Household | None, name: str, doc_type: str, received: date
) -> Document:
    original = put(runtime, f"originals/{name[:2]}/{hashlib.sha256(name.encode()).hexdigest()}")
    return Document(
        source_name=f"{name}.pdf",
        content_type="application/pdf",
        size_bytes=10,
        original_key=original,
        original_sha256="0" * 64,
        pdf_key=put(runtime, f"renditions/{name}.pdf"),
        doc_type=doc_type,
        household=household,
        receipt_date=received,
        qa_status="approved",
    )


def lock_of(runtime: Runtime, key: str) -> datetime | None:
    assert isinstance(runtime.blobs, S3BlobStore)
    return runtime.blobs.retained_until(key)


def test_the_sweep_locks_each_object_until_its_file_may_be_destroyed(locked: Runtime) -> None:
    with transaction(locked.sessions) as session:
        closed = Household(bg_number="95401BG0000001", benefits_end=date(2026, 6, 30))
        running = Household(bg_number="95401BG0000002")
        letter = document(locked, closed, "bescheid", "bescheid", date(2026, 3, 2))
        statement = document(locked, closed, "konto", "kontoauszug", date(2026, 2, 1))
        # The two documents of one scan share its original.
        statement.original_key = letter.original_key
        current = document(locked, running, "antrag", "weiterbewilligungsantrag", date(2026, 11, 2))
        unfiled = document(locked, None, "clearing", "sonstiges", date(2026, 12, 1))
        session.add_all([closed, running, letter, statement, current, unfiled])
        session.flush()
        keys = {
            d.source_name: (d.original_key, d.pdf_key)
            for d in (letter, statement, current, unfiled)
        }

    report = sweep(locked.sessions, locked.settings, locked.blobs, today=TODAY)

    assert report.extended == 5 and not report.longer
    # Closed in 2026, kept 10 years: locked to the end of 31.12.2036, not a day longer.
    assert lock_of(locked, keys["bescheid.pdf"][1]) == lock_end(date(2036, 12, 31))
    assert lock_end(date(2036, 12, 31)) == datetime(2036, 12, 31, 23, 0, tzinfo=UTC)
    # Bank statements have 5 years of their own; the shared original the earliest of both.
    assert lock_of(locked, keys["konto.pdf"][1]) == lock_end(date(2031, 12, 31))
    assert lock_of(locked, keys["bescheid.pdf"][0]) == lock_end(date(2031, 12, 31))
    # A file still open: the earliest date it can get (latest document 2026 + 10 years).
    assert lock_of(locked, keys["antrag.pdf"][1]) == lock_end(date(2036, 12, 31))
    # Not in a file yet: nothing is known of its period, so it is not locked.
    assert lock_of(locked, keys["clearing.pdf"][1]) is None

    # A locked version cannot be removed before its date, not even by the bucket's owner.
    store = locked.blobs
    assert isinstance(store, S3BlobStore)
    version = store.client.stat_object(store.bucket, keys["bescheid.pdf"][1]).version_id
    with pytest.raises(S3Error, match="(?i)retention|locked|WORM|AccessDenied"):
        store.client.remove_object(store.bucket, keys["bescheid.pdf"][1], version_id=version)
    with transaction(locked.sessions, read_only=True) as session:
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == LOCK_ACTION)).one()
        assert audited.details["extended"] == 5


def test_a_later_date_extends_the_lock_and_an_earlier_one_never_shortens_it(
    locked: Runtime,
) -> None:
    with transaction(locked.sessions) as session:
        closed = Household(bg_number="95401BG0000003", benefits_end=date(2026, 6, 30))
        letter = document(locked, closed, "bescheid2", "bescheid", date(2026, 3, 2))
        session.add_all([closed, letter])
        session.flush()
        key, household_id = letter.pdf_key, closed.id
    assert key is not None
    sweep(locked.sessions, locked.settings, locked.blobs, today=TODAY)
    assert lock_of(locked, key) == lock_end(date(2036, 12, 31))
    again = sweep(locked.sessions, locked.settings, locked.blobs, today=TODAY)
    assert again.extended == 0 and again.unchanged == 2

    # Benefits ran on into 2027 (a corrected export): the lock follows.
    with transaction(locked.sessions) as session:
        session.get_one(Household, household_id).benefits_end = date(2027, 3, 31)
    extended = sweep(locked.sessions, locked.settings, locked.blobs, today=TODAY)
    assert extended.extended == 2
    assert lock_of(locked, key) == lock_end(date(2037, 12, 31))

    # The file reopened (benefits again): its earliest date is still 2036, the lock stays.
    with transaction(locked.sessions) as session:
        session.get_one(Household, household_id).benefits_end = None
    kept = sweep(locked.sessions, locked.settings, locked.blobs, today=TODAY)
    assert kept.extended == 0
    assert lock_of(locked, key) == lock_end(date(2037, 12, 31))
    assert key in kept.longer and "länger gesperrt" in kept.german()


def test_the_lock_at_upload_is_capped(s3_settings: dict[str, object]) -> None:
    store = S3BlobStore(
        endpoint=str(s3_settings["s3_endpoint"]),
        access_key=str(s3_settings["s3_access_key"]),
        secret_key=str(s3_settings["s3_secret_key"]),
        bucket=str(s3_settings["s3_bucket"]),
        object_lock=True,
        retention_days=3650,  # a legacy setting of ten years would outlast many a file
    )
    store.ensure_bucket()
    store.put("originals/aa/upload", io.BytesIO(b"scan"))
    until = store.retained_until("originals/aa/upload")
    assert until is not None
    assert until < datetime.now(UTC) + timedelta(days=32)


def test_without_object_lock_the_sweep_does_nothing(tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(tmp_path / "data"))
    try:
        report = sweep(runtime.sessions, runtime.settings, runtime.blobs, today=TODAY)
    finally:
        runtime.close()
    assert not report.enabled and "Kein Objekt-Lock" in report.german()


def test_the_command_extends_the_locks(locked: Runtime) -> None:
    with transaction(locked.sessions) as session:
        # The command counts from the real today: a file closed this year.
        year = local_today().year
        closed = Household(bg_number="95401BG0000004", benefits_end=date(year, 1, 15))
        letter = document(locked, closed, "bescheid4", "bescheid", date(year, 1, 2))
        session.add_all([closed, letter])
        session.flush()
        key = letter.pdf_key
    assert key is not None
    env = cli_env(
        locked.settings.data_dir,
        **settings_env(locked.settings),
        EAKTE_S3_OBJECT_LOCK="true",
    )
    result = run_cli(env, "records", "lock", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["enabled"] and report["extended"] == 2
    assert lock_of(locked, key) == lock_end(date(year + 10, 12, 31))
