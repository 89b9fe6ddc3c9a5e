"""Blob store on S3 (MinIO in our deployments), optionally with object lock for WORM retention.

Several endpoints of one MinIO cluster may be given (its processes, when no load balancer is in
front): requests go to one of them, and one that cannot be reached hands over to the next.
Passing failures (503 SlowDown while a node is gone, a refused connection) are retried with
jittered backoff (storage/retry.py); what still fails is a BackendUnavailable in German.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import BinaryIO, TypeVar

from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.retention import Retention
from urllib3 import PoolManager, Timeout

from core.db import utcnow
from core.errors import BackendUnavailable, BlobExists, BlobMissing, ConfigurationError
from core.health import NodeState
from storage.base import CHUNK, BackendState, BlobInfo, check_key, copy_stream, verified_chunks
from storage.retry import RetryPolicy, is_connection_error, with_retries

T = TypeVar("T")

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
        endpoint: str | Sequence[str],
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
        object_lock: bool = False,
        retention_mode: str = "GOVERNANCE",
        retention_days: int = 0,
        retry: RetryPolicy | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.endpoints = split_endpoints(endpoint)
        # No retries inside urllib3: a refused connection or a 503 comes back at once, and
        # _call decides (another endpoint, a pause, or giving up) in one place.
        # The read timeout also bounds how long a MinIO without quorum may hold a request.
        timeout = Timeout(connect=min(5.0, timeout_seconds), read=timeout_seconds)
        http = PoolManager(timeout=timeout, retries=False)
        self.clients = [
            Minio(
                address,
                access_key=access_key,
                secret_key=secret_key,
                secure=secure,
                region=region,
                http_client=http,
            )
            for address in self.endpoints
        ]
        self.client = self.clients[0]
        self.retry = retry or RetryPolicy()
        self.bucket = bucket
        self.object_lock = object_lock
        self.retention_mode = COMPLIANCE if retention_mode == "COMPLIANCE" else GOVERNANCE
        self.retention_days = retention_days

    def _call(self, what: str, operation: Callable[[Minio], T]) -> T:
        """`operation` with the current endpoint's client, retried (storage/retry.py); an
        endpoint that cannot be reached is left for the next one."""

        def attempt() -> T:
            client = self.client
            try:
                return operation(client)
            except Exception as exc:
                if is_connection_error(exc) and self.client is client and len(self.clients) > 1:
                    self.client = self.clients[(self.clients.index(client) + 1) % len(self.clients)]
                raise

        return with_retries(what, attempt, self.retry)

    def ensure_bucket(self) -> None:
        """Create the bucket; with object lock it is versioned and objects can be retained."""
        try:
            if not self._call("Prüfen", lambda c: c.bucket_exists(self.bucket)):
                self._call(
                    "Anlegen", lambda c: c.make_bucket(self.bucket, object_lock=self.object_lock)
                )
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
            retention = None
            if self.object_lock and self.retention_days > 0:
                # At upload nothing is known of the file the object will belong to: the lock
                # only bridges until the lock sweep sets the file's date (records.object_lock).
                days = min(self.retention_days, UPLOAD_LOCK_MAX_DAYS)
                retention = Retention(self.retention_mode, utcnow() + timedelta(days=days))

            def upload(client: Minio) -> object:
                spool.seek(0)  # every attempt sends the whole object
                return client.put_object(
                    self.bucket,
                    key,
                    spool,
                    length=size,
                    part_size=_PART_SIZE if size > _PART_SIZE else 0,
                    metadata={_SHA_HEADER: sha256},
                    retention=retention,
                )

            try:
                self._call("Speichern", upload)
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
            self._call(
                "Sperren",
                lambda c: c.set_object_retention(self.bucket, key, Retention(mode, until)),
            )
        except S3Error as exc:
            raise BackendUnavailable(
                f"Aufbewahrungssperre für {key} nicht gesetzt: {exc.code}"
            ) from exc
        return until

    def retention(self, key: str) -> tuple[str, datetime] | None:
        """The current version's lock as (mode, until), or None (no lock on it)."""
        if not self.object_lock:
            return None
        try:
            found = self._retention(key)
        except S3Error:
            return None  # the bucket or the object has no lock configuration
        if found is None or found.retain_until_date is None:
            return None
        return str(found.mode), found.retain_until_date

    def keys(self) -> Iterator[str]:
        """Every object of the bucket (current versions), as S3 lists them (in key order)."""
        listing = self._call(
            "Auflisten", lambda c: list(c.list_objects(self.bucket, recursive=True))
        )
        for item in listing:
            if item.object_name and not item.is_dir:
                yield item.object_name

    def _retention(self, key: str) -> Retention | None:
        check_key(key)
        try:
            return self._call("Lesen", lambda c: c.get_object_retention(self.bucket, key))
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
            obj = self._call("Lesen", lambda c: c.stat_object(self.bucket, key))
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
        response = self._call("Lesen", lambda c: c.get_object(self.bucket, key))
        try:
            yield from response.stream(CHUNK)
        finally:
            response.close()
            response.release_conn()

    def delete(self, key: str) -> None:
        self.stat(key)
        # On a versioned bucket this leaves a delete marker; retained versions stay untouched.
        self._call("Löschen", lambda c: c.remove_object(self.bucket, key))

    def _versions(self, key: str) -> list[str | None]:
        check_key(key)
        listed = self._call(
            "Auflisten",
            lambda c: list(c.list_objects(self.bucket, prefix=key, include_version=True)),
        )
        return [obj.version_id for obj in listed if obj.object_name == key]

    def remove_all_versions(self, key: str, *, bypass_governance: bool = False) -> int:
        """Every version and delete marker of the key (DeleteObjects with the versions' ids;
        `x-amz-bypass-governance-retention` for GOVERNANCE-locked ones when asked)."""
        versions = self._versions(key)
        if not versions:
            return 0
        errors = self._call(
            "Löschen",
            lambda c: list(
                c.remove_objects(
                    self.bucket,
                    [DeleteObject(key, version_id) for version_id in versions],
                    bypass_governance_mode=bypass_governance,
                )
            ),
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
                retention = self._call(
                    "Lesen",
                    functools.partial(
                        _version_retention, bucket=self.bucket, key=key, version=version_id
                    ),
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
        """Asks every endpoint once (no retries: health answers at once); up while one does.
        Each endpoint is listed as a node with its answer."""
        answers: list[bool] = []
        nodes: list[NodeState] = []
        failure = ""
        for address, client in zip(self.endpoints, self.clients, strict=True):
            try:
                exists = client.bucket_exists(self.bucket)
            except Exception as exc:  # noqa: BLE001 - any failure means "not reachable" here
                reason = f"{type(exc).__name__}: {exc}"[:300]
                failure = failure or reason
                nodes.append(NodeState(address, False, f"nicht erreichbar ({type(exc).__name__})"))
                continue
            answers.append(exists)
            nodes.append(NodeState(address, exists, "erreichbar" if exists else "Bucket fehlt"))
        found = tuple(nodes)
        if not answers:
            return BackendState("s3", False, failure, nodes=found)
        if not any(answers):
            return BackendState("s3", False, f"Bucket {self.bucket} fehlt", nodes=found)
        if len(self.clients) == 1:
            return BackendState("s3", True, self.bucket, nodes=found)
        reached = f"{len(answers)} von {len(self.clients)} Endpunkten erreichbar"
        return BackendState("s3", True, f"{self.bucket} ({reached})", nodes=found)


def _version_retention(
    client: Minio, *, bucket: str, key: str, version: str | None
) -> Retention | None:
    return client.get_object_retention(bucket, key, version_id=version)


def split_endpoints(endpoint: str | Sequence[str]) -> list[str]:
    """`host:port` endpoints from a comma-separated setting (or a list); at least one."""
    parts = endpoint.split(",") if isinstance(endpoint, str) else list(endpoint)
    endpoints = [part.strip() for part in parts if part.strip()]
    if not endpoints:
        raise ConfigurationError("EAKTE_S3_ENDPOINT nennt keinen Endpunkt")
    return endpoints
