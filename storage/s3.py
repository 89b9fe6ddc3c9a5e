"""Blob store on S3 (MinIO in our deployments), optionally with object lock for WORM retention."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import BinaryIO

from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.retention import Retention
from urllib3 import PoolManager, Timeout
from urllib3.util.retry import Retry

from core.db import utcnow
from core.errors import BackendUnavailable, BlobExists, BlobMissing
from storage.base import CHUNK, BackendState, BlobInfo, check_key, copy_stream, verified_chunks

_SHA_HEADER = "x-amz-meta-sha256"
_PART_SIZE = 16 * 1024 * 1024
_MISSING = {"NoSuchKey", "NoSuchObject", "NoSuchVersion"}
# The longest lock an object gets at upload (EAKTE_S3_RETENTION_DAYS is capped to it).
UPLOAD_LOCK_MAX_DAYS = 31


class S3BlobStore:
    name = "s3"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
        object_lock: bool = False,
        retention_mode: str = "GOVERNANCE",
        retention_days: int = 0,
    ) -> None:
        http = PoolManager(
            timeout=Timeout(connect=5, read=60),
            retries=Retry(total=3, backoff_factor=0.3, status_forcelist=[500, 502, 503, 504]),
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self.bucket = bucket
        self.object_lock = object_lock
        self.retention_mode = COMPLIANCE if retention_mode == "COMPLIANCE" else GOVERNANCE
        self.retention_days = retention_days

    def ensure_bucket(self) -> None:
        """Create the bucket; with object lock it is versioned and objects can be retained."""
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket, object_lock=self.object_lock)
        except S3Error as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def put(self, key: str, source: BinaryIO) -> BlobInfo:
        check_key(key)
        if self._exists(key):
            raise BlobExists(
                f"Objekt {key} existiert bereits und wird nicht überschrieben.", key=key
            )
        # The hash must travel as metadata with the object, so it is known before the upload.
        with tempfile.TemporaryFile() as spool:
            size, sha256 = copy_stream(source, spool)
            spool.seek(0)
            retention = None
            if self.object_lock and self.retention_days > 0:
                # At upload nothing is known of the file the object will belong to: the lock
                # only bridges until the lock sweep sets the file's date (records.object_lock).
                days = min(self.retention_days, UPLOAD_LOCK_MAX_DAYS)
                retention = Retention(self.retention_mode, utcnow() + timedelta(days=days))
            try:
                self.client.put_object(
                    self.bucket,
                    key,
                    spool,
                    length=size,
                    part_size=_PART_SIZE if size > _PART_SIZE else 0,
                    metadata={_SHA_HEADER: sha256},
                    retention=retention,
                )
            except S3Error as exc:
                raise BackendUnavailable(f"Speichern in S3 fehlgeschlagen: {exc.code}") from exc
        return BlobInfo(key=key, size=size, sha256=sha256)

    def retained_until(self, key: str) -> datetime | None:
        """Until when object lock keeps the object's current version (None: not at all)."""
        retention = self._retention(key)
        return retention.retain_until_date if retention is not None else None

    def retain_until(self, key: str, until: datetime) -> datetime | None:
        """Extend the object-lock retention of the object's current version to `until`;
        never shortens it. Returns the retention now in force (None without object lock)."""
        if not self.object_lock:
            return None
        current = self._retention(key)
        if current is not None and current.retain_until_date >= until:
            return current.retain_until_date
        # A COMPLIANCE lock stays one: extending keeps the object's own mode.
        mode = current.mode if current is not None else self.retention_mode
        try:
            self.client.set_object_retention(self.bucket, key, Retention(mode, until))
        except S3Error as exc:
            raise BackendUnavailable(
                f"Aufbewahrungssperre für {key} nicht gesetzt: {exc.code}"
            ) from exc
        return until

    def _retention(self, key: str) -> Retention | None:
        check_key(key)
        try:
            return self.client.get_object_retention(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise BlobMissing(f"Objekt {key} ist nicht vorhanden.", key=key) from exc
            raise

    def _exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except BlobMissing:
            return False
        return True

    def stat(self, key: str) -> BlobInfo:
        check_key(key)
        try:
            obj = self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise BlobMissing(f"Objekt {key} ist nicht vorhanden.", key=key) from exc
            raise
        sha256 = obj.metadata.get(_SHA_HEADER) if obj.metadata else None
        if not sha256:
            raise BlobMissing(f"Objekt {key} hat keine Prüfsumme.", key=key)
        return BlobInfo(key=key, size=int(obj.size or 0), sha256=str(sha256))

    def open(self, key: str) -> Iterator[bytes]:
        info = self.stat(key)
        return verified_chunks(self._read(key), key, info.sha256)

    def _read(self, key: str) -> Iterator[bytes]:
        response = self.client.get_object(self.bucket, key)
        try:
            yield from response.stream(CHUNK)
        finally:
            response.close()
            response.release_conn()

    def delete(self, key: str) -> None:
        self.stat(key)
        # On a versioned bucket this leaves a delete marker; retained versions stay untouched.
        self.client.remove_object(self.bucket, key)

    def _versions(self, key: str) -> list[str | None]:
        check_key(key)
        return [
            obj.version_id
            for obj in self.client.list_objects(self.bucket, prefix=key, include_version=True)
            if obj.object_name == key
        ]

    def remove_all_versions(self, key: str, *, bypass_governance: bool = False) -> int:
        """Every version and delete marker of the key (DeleteObjects with the versions' ids;
        `x-amz-bypass-governance-retention` for GOVERNANCE-locked ones when asked)."""
        versions = self._versions(key)
        if not versions:
            return 0
        errors = list(
            self.client.remove_objects(
                self.bucket,
                [DeleteObject(key, version_id) for version_id in versions],
                bypass_governance_mode=bypass_governance,
            )
        )
        failed = [e for e in errors if e.code not in _MISSING]
        if failed:
            first = failed[0]
            raise BackendUnavailable(
                f"Objekt {key} ließ sich nicht vollständig löschen: {first.code} {first.message}"
            )
        return len(versions)

    def version_count(self, key: str) -> int:
        return len(self._versions(key))

    def locked_until(self, key: str) -> datetime | None:
        if not self.object_lock:
            return None
        latest: datetime | None = None
        now = utcnow()
        for version_id in self._versions(key):
            try:
                retention = self.client.get_object_retention(
                    self.bucket, key, version_id=version_id
                )
            except S3Error as exc:
                if exc.code in _MISSING | {"NoSuchObjectLockConfiguration", "MethodNotAllowed"}:
                    continue
                raise
            until = retention.retain_until_date if retention else None
            if retention and retention.mode == COMPLIANCE and until and until > now:
                latest = until if latest is None or until > latest else latest
        return latest

    def ping(self) -> BackendState:
        try:
            exists = self.client.bucket_exists(self.bucket)
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable" here
            return BackendState("s3", False, f"{type(exc).__name__}: {exc}"[:300])
        if not exists:
            return BackendState("s3", False, f"Bucket {self.bucket} fehlt")
        return BackendState("s3", True, self.bucket)
