"""One contract for every BlobStore adapter: the local folder and S3 (MinIO)."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import BlobCorrupted, BlobExists, BlobMissing, InvalidInput
from storage import BlobStore, read_bytes
from storage.local import LocalBlobStore
from storage.s3 import S3BlobStore
from tests.support import make_settings


def _s3(settings: dict[str, object], **extra: object) -> S3BlobStore:
    store = S3BlobStore(
        endpoint=str(settings["s3_endpoint"]),
        access_key=str(settings["s3_access_key"]),
        secret_key=str(settings["s3_secret_key"]),
        bucket=str(settings["s3_bucket"]),
        **extra,  # type: ignore[arg-type]
    )
    store.ensure_bucket()
    return store


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.services)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    return _s3(request.getfixturevalue("s3_settings"))


def test_stored_object_reads_back_with_its_hash(store: BlobStore) -> None:
    content = "Widerspruch gegen den Bescheid vom 01.10.2026 – Müller, Straße".encode()
    info = store.put("originals/ab/letter", io.BytesIO(content))
    assert info.sha256 == hashlib.sha256(content).hexdigest()
    assert info.size == len(content)
    assert store.stat("originals/ab/letter") == info
    assert read_bytes(store, "originals/ab/letter") == content


def test_missing_object_is_reported_as_missing(store: BlobStore) -> None:
    with pytest.raises(BlobMissing):
        store.stat("originals/none")
    with pytest.raises(BlobMissing):
        read_bytes(store, "originals/none")
    with pytest.raises(BlobMissing):
        store.delete("originals/none")


def test_an_object_is_never_overwritten(store: BlobStore) -> None:
    store.put("originals/once", io.BytesIO(b"first scan"))
    with pytest.raises(BlobExists):
        store.put("originals/once", io.BytesIO(b"something else"))
    assert read_bytes(store, "originals/once") == b"first scan"


def test_large_object_streams_through_intact(store: BlobStore) -> None:
    chunk = os.urandom(1024 * 1024)
    content = chunk * 40  # 40 MiB: more than one multipart upload part on S3
    info = store.put("originals/large", io.BytesIO(content))
    assert info.size == len(content)
    digest = hashlib.sha256()
    for part in store.open("originals/large"):
        digest.update(part)
    assert digest.hexdigest() == hashlib.sha256(content).hexdigest()


def test_deleted_object_is_gone_and_the_key_is_free_again(store: BlobStore) -> None:
    store.put("renditions/page-1", io.BytesIO(b"png"))
    store.delete("renditions/page-1")
    with pytest.raises(BlobMissing):
        store.stat("renditions/page-1")
    store.put("renditions/page-1", io.BytesIO(b"new"))
    assert read_bytes(store, "renditions/page-1") == b"new"


@pytest.mark.parametrize("key", ["../escape", "/absolute", "a//b", "ümlaut", "a/../b", ""])
def test_keys_that_could_escape_or_clash_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidInput):
        store.put(key, io.BytesIO(b"x"))


def test_health_reports_the_store_reachable(store: BlobStore) -> None:
    assert store.ping().ok


def test_local_store_detects_a_changed_file(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("originals/x", io.BytesIO(b"original content"))
    path = tmp_path / "blobs" / "originals" / "x"
    path.chmod(0o644)
    path.write_bytes(b"tampered content")
    with pytest.raises(BlobCorrupted):
        read_bytes(store, "originals/x")


@pytest.mark.services
def test_s3_store_detects_an_object_changed_behind_its_back(s3_settings: dict[str, object]) -> None:
    store = _s3(s3_settings)
    store.put("originals/x", io.BytesIO(b"original content"))
    # Someone writes the key directly, keeping the recorded hash.
    stat = store.client.stat_object(store.bucket, "originals/x")
    store.client.put_object(
        store.bucket,
        "originals/x",
        io.BytesIO(b"tampered content"),
        16,
        metadata={"x-amz-meta-sha256": stat.metadata["x-amz-meta-sha256"]},
    )
    with pytest.raises(BlobCorrupted):
        read_bytes(store, "originals/x")


@pytest.mark.services
def test_s3_object_lock_keeps_retained_originals(s3_settings: dict[str, object]) -> None:
    store = _s3(s3_settings, object_lock=True, retention_mode="GOVERNANCE", retention_days=1)
    store.put("originals/kept", io.BytesIO(b"scan"))
    retention = store.client.get_object_retention(store.bucket, "originals/kept")
    assert retention.mode == "GOVERNANCE"
    assert retention.retain_until_date > datetime.now(UTC) + timedelta(hours=23)
    # Deleting leaves a marker; the retained version itself cannot be removed.
    store.delete("originals/kept")
    listed = store.client.list_objects(store.bucket, prefix="originals/kept", include_version=True)
    versions = [o for o in listed if not o.is_delete_marker]
    assert len(versions) == 1
    from minio.error import S3Error

    with pytest.raises(S3Error):
        store.client.remove_object(
            store.bucket, "originals/kept", version_id=versions[0].version_id
        )


def test_settings_choose_the_local_store_by_default(tmp_path: Path) -> None:
    from storage import open_blob_store

    assert open_blob_store(make_settings(tmp_path)).name == "local"
