"""The BlobStore port: write-once objects whose SHA-256 is recorded at write and checked on read."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from core.errors import BlobCorrupted, InvalidInput
from core.health import BackendState

CHUNK = 1024 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    sha256: str


class BlobStore(Protocol):
    name: str

    def put(self, key: str, source: BinaryIO) -> BlobInfo:
        """Store the stream under a new key; raises BlobExists if the key is taken."""

    def stat(self, key: str) -> BlobInfo:
        """Raises BlobMissing if there is no such object."""

    def open(self, key: str) -> Iterator[bytes]:
        """Yield the content in chunks; raises BlobCorrupted at the end if the hash differs."""

    def delete(self, key: str) -> None:
        """Remove the object; raises BlobMissing if there is none."""

    def remove_all_versions(self, key: str, *, bypass_governance: bool = False) -> int:
        """Remove the object with every stored version (a destruction: on a versioned bucket
        `delete` only adds a delete marker). Nothing there counts as done: returns how many
        versions went, 0 when none was left. `bypass_governance` lifts a GOVERNANCE lock (an
        approved destruction); a COMPLIANCE lock is never lifted: check `locked_until` first."""

    def version_count(self, key: str) -> int:
        """How many versions (delete markers included) are stored under the key; 0: none."""

    def locked_until(self, key: str) -> datetime | None:
        """The latest COMPLIANCE retention date among the object's versions that lies in the
        future (no version can be removed before it), or None."""

    def keys(self) -> Iterator[str]:
        """Every object's key (current versions), in key order: what a backup copies."""

    def ping(self) -> BackendState: ...


@runtime_checkable
class RetentionLock(Protocol):
    """A store whose objects can be locked against deletion until a date (S3 object lock)."""

    object_lock: bool

    def retained_until(self, key: str) -> datetime | None:
        """Until when the object is locked (None: not locked); BlobMissing if it is gone."""

    def retain_until(self, key: str, until: datetime) -> datetime | None:
        """Lock the object until `until` at least (extends, never shortens)."""

    def retention(self, key: str) -> tuple[str, datetime] | None:
        """The current version's lock as (mode, until), or None; BlobMissing if it is gone."""


def check_key(key: str) -> str:
    if len(key) > 512 or not _KEY.match(key) or ".." in key.split("/"):
        raise InvalidInput(f"Ungültiger Objektschlüssel: {key!r}", code="invalid_blob_key")
    return key


def verified_chunks(chunks: Iterator[bytes], key: str, expected_sha256: str) -> Iterator[bytes]:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != expected_sha256:
        raise BlobCorrupted(
            f"Die gespeicherte Datei {key} ist beschädigt (Prüfsumme stimmt nicht).",
            key=key,
            expected=expected_sha256,
            actual=digest.hexdigest(),
        )


def read_bytes(store: BlobStore, key: str) -> bytes:
    return b"".join(store.open(key))


@contextmanager
def downloaded(store: BlobStore, key: str, target: Path) -> Iterator[Path]:
    """Copy an object into a local file, verified, and remove the file afterwards."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            for chunk in store.open(key):
                out.write(chunk)
        yield target
    finally:
        target.unlink(missing_ok=True)


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_stream(source: BinaryIO, target: BinaryIO) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


__all__ = [
    "BackendState",
    "BlobInfo",
    "BlobStore",
    "RetentionLock",
    "check_key",
    "copy_stream",
    "downloaded",
    "read_bytes",
    "sha256_of_file",
    "verified_chunks",
]
