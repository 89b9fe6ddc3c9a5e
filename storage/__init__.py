"""Where originals and renditions are kept: the BlobStore port and its adapters."""

from __future__ import annotations

from core.config import Settings
from core.errors import ConfigurationError
from storage.base import BackendState, BlobInfo, BlobStore, downloaded, read_bytes, sha256_of_file
from storage.permissions import make_data_dir_private


def open_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_store == "local":
        from storage.local import LocalBlobStore

        return LocalBlobStore(settings.blob_dir)
    from storage.retry import RetryPolicy
    from storage.s3 import S3BlobStore

    if settings.s3_access_key is None or settings.s3_secret_key is None:
        raise ConfigurationError("EAKTE_S3_ACCESS_KEY und EAKTE_S3_SECRET_KEY fehlen")
    store = S3BlobStore(
        endpoint=settings.s3_endpoints,
        access_key=settings.s3_access_key.get_secret_value(),
        secret_key=settings.s3_secret_key.get_secret_value(),
        bucket=settings.s3_bucket,
        secure=settings.s3_secure,
        region=settings.s3_region,
        object_lock=settings.s3_object_lock,
        retention_mode=settings.s3_retention_mode,
        retention_days=settings.s3_retention_days,
        retry=RetryPolicy(
            attempts=settings.s3_retry_attempts,
            base_seconds=settings.s3_retry_base_seconds,
            max_seconds=settings.s3_retry_max_seconds,
            total_seconds=settings.s3_retry_total_seconds,
        ),
        timeout_seconds=settings.s3_timeout_seconds,
    )
    store.ensure_bucket()
    return store


__all__ = [
    "BackendState",
    "BlobInfo",
    "BlobStore",
    "downloaded",
    "make_data_dir_private",
    "open_blob_store",
    "read_bytes",
    "sha256_of_file",
]
