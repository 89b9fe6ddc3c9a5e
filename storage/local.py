"""Blob store on the local filesystem: the default for one machine."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from core.errors import BlobExists, BlobMissing
from storage.base import CHUNK, BackendState, BlobInfo, check_key, copy_stream, verified_chunks
from storage.permissions import BLOB_MODE, DIR_MODE

_META_SUFFIX = ".meta.json"


class LocalBlobStore:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        _private_dirs(self.root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, source: BinaryIO) -> BlobInfo:
        path = self._path(key)
        if path.exists():
            raise BlobExists(
                f"Objekt {key} existiert bereits und wird nicht überschrieben.", key=key
            )
        _private_dirs(path.parent)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                size, sha256 = copy_stream(source, out)
                out.flush()
                os.fsync(out.fileno())
            # Stored objects are never written again: read-only, and for the product alone.
            os.chmod(tmp, BLOB_MODE)
            info = BlobInfo(key=key, size=size, sha256=sha256)
            meta = path.with_name(path.name + _META_SUFFIX)
            meta_tmp = tmp.with_name(tmp.name + _META_SUFFIX)
            meta_fd = os.open(meta_tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BLOB_MODE)
            with os.fdopen(meta_fd, "w") as meta_out:
                meta_out.write(json.dumps({"size": size, "sha256": sha256}))
            # Writers of the same key take turns, so the hash beside an object is always its own;
            # the hash is in place before the object appears, so every visible object has one.
            with self._write_lock():
                if path.exists():
                    meta_tmp.unlink()
                    raise BlobExists(
                        f"Objekt {key} existiert bereits und wird nicht überschrieben.", key=key
                    )
                os.replace(meta_tmp, meta)
                os.link(tmp, path)
            _fsync_dir(path.parent)
            return info
        finally:
            tmp.unlink(missing_ok=True)

    def _write_lock(self) -> _FileLock:
        return _FileLock(self.root / ".write.lock")

    def stat(self, key: str) -> BlobInfo:
        path = self._path(key)
        if not path.is_file():
            raise BlobMissing(f"Objekt {key} ist nicht vorhanden.", key=key)
        meta = json.loads(path.with_name(path.name + _META_SUFFIX).read_text())
        return BlobInfo(key=key, size=int(meta["size"]), sha256=str(meta["sha256"]))

    def open(self, key: str) -> Iterator[bytes]:
        info = self.stat(key)
        return verified_chunks(self._read(self._path(key)), key, info.sha256)

    @staticmethod
    def _read(path: Path) -> Iterator[bytes]:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def delete(self, key: str) -> None:
        path = self._path(key)
        if not path.is_file():
            raise BlobMissing(f"Objekt {key} ist nicht vorhanden.", key=key)
        path.unlink()
        path.with_name(path.name + _META_SUFFIX).unlink(missing_ok=True)

    def remove_all_versions(self, key: str, *, bypass_governance: bool = False) -> int:
        """A folder keeps one version: the file and its hash beside it; missing counts as done."""
        path = self._path(key)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        path.with_name(path.name + _META_SUFFIX).unlink(missing_ok=True)
        return int(existed)

    def version_count(self, key: str) -> int:
        return int(self._path(key).is_file())

    def locked_until(self, key: str) -> datetime | None:
        return None  # a folder has no object lock

    def keys(self) -> Iterator[str]:
        """The files below the root, without the hashes beside them and hidden files (the
        write lock, files being written)."""
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            name = path.name
            if path.is_file() and not name.startswith(".") and not name.endswith(_META_SUFFIX):
                yield path.relative_to(self.root).as_posix()

    def ping(self) -> BackendState:
        ok = self.root.is_dir() and os.access(self.root, os.W_OK)
        return BackendState(
            "local", ok, str(self.root) if ok else f"{self.root} nicht beschreibbar"
        )


def _private_dirs(directory: Path) -> None:
    """Create the folder and any missing parents 0700, whatever the process umask."""
    if directory.is_dir():
        return
    _private_dirs(directory.parent)
    try:
        os.mkdir(directory, DIR_MODE)
    except FileExistsError:
        return
    os.chmod(directory, DIR_MODE)  # a umask may have taken bits away, never added any


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        self._fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
