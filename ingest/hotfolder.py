"""The hot folder that network scanners write into.

A file is taken only when it is complete (its size and time stay the same for a while). After
acceptance it moves to the done folder; a file that cannot be accepted moves to the quarantine
folder with a German reason file beside it. Nothing is ever deleted.

Whoever can write into the hot folder must not be able to make the service (which may run as
root) read or write anything else, so no path in here is ever followed through a link:

- every entry is looked at with lstat and opened with O_NOFOLLOW | O_NONBLOCK relative to a
  descriptor of the folder; only a regular file with a single name (st_nlink == 1) is read, and
  only from the descriptor that was checked. A hard link is refused too: it could give a file
  the writer may not read (a stored document, another household's scan) a name in here.
- what is read is copied into a private file in the data directory first, and only that copy
  is checked and stored, so nothing can be swapped between the check and the store;
- `erledigt/` and `quarantaene/` must be real directories (opened with O_NOFOLLOW); entries
  move there by link(2) of the entry itself (never its target) or by a copy into a new file
  made with O_CREAT | O_EXCL | O_NOFOLLOW; reason files are made the same way, so an existing
  entry (a link planted under the name of a reason file) is never written through;
- symbolic links, pipes, devices and hard links are moved unread into `quarantaene/` with a
  German reason (or, where they cannot be moved, left in place and reported once);
- names are cleaned before they become file names (no control characters or separators,
  bounded length) and escaped before they reach the log or a reason file.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import stat
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from core.db import transaction
from core.errors import UploadRejected
from ingest.intake import accept_file
from ingest.validation import safe_source_name
from records.models import ScanBatch
from records.runtime import Runtime

log = logging.getLogger(__name__)

DONE = "erledigt"
QUARANTINE = "quarantaene"
REASON_SUFFIX = ".grund.txt"
LOCK_NAME = ".eakte-hotfolder.lock"
_IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", "~")
_CHUNK = 1024 * 1024
# Room for a counter and the reason suffix within the 255 bytes a name may have.
_MAX_NAME_BYTES = 180

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

NOT_A_FILE = (
    "Der Eintrag ist keine gewöhnliche Datei (sondern z. B. eine Pipe oder ein Gerät) und wird "
    "nicht angenommen."
)
SYMLINK = (
    "Der Eintrag ist eine symbolische Verknüpfung. Verknüpfungen werden aus Sicherheitsgründen "
    "nicht gelesen; bitte die Datei selbst in den Hot-Folder legen."
)
HARD_LINK = (
    "Die Datei hat mehrere Namen (harte Verknüpfung) und wird aus Sicherheitsgründen nicht "
    "gelesen; bitte eine eigenständige Kopie in den Hot-Folder legen."
)


class HotFolderBroken(Exception):
    """The folder cannot be worked safely; nothing is touched until an administrator fixes it."""


def shown(name: str) -> str:
    """A name fit for one log line or one line of a reason file: control characters, line
    separators, undecodable bytes and backslashes escaped, at most 200 characters."""
    out = []
    for ch in name:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp"):
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(ch)
    text = "".join(out)
    return text if len(text) <= 200 else text[:199] + "…"


def clean_name(name: str) -> str:
    """A name for a file we create: no control characters or separators, not hidden, bounded."""
    kept = "".join(
        ch
        for ch in name
        if unicodedata.category(ch)[0] != "C"
        and unicodedata.category(ch) not in ("Zl", "Zp")
        and ch not in "/\\"
    ).strip(" .")
    stem, dot, suffix = kept.rpartition(".")
    if not dot or not stem or len(suffix.encode()) > 16:
        stem, suffix = kept, ""
    suffix = f".{suffix}" if suffix else ""
    encoded = stem.encode("utf-8")[: _MAX_NAME_BYTES - len(suffix.encode())]
    stem = encoded.decode("utf-8", "ignore").strip(" .")
    return f"{stem or 'unbenannt'}{suffix}"


def _numbered(name: str, counter: int) -> str:
    if counter == 0:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}-{counter}.{suffix}" if dot and stem else f"{name}-{counter}"


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    inode: tuple[int, int]
    since: float


@dataclass
class _Folders:
    root: int
    done: int
    quarantine: int


class HotFolder:
    def __init__(self, runtime: Runtime, folder: Path, settle_seconds: float) -> None:
        self.runtime = runtime
        # The folder itself is configured by the administrator and may be a link; only what
        # scanners put into it is distrusted.
        self.folder = folder
        self.done = folder / DONE
        self.quarantine = folder / QUARANTINE
        self.settle_seconds = settle_seconds
        self._seen: dict[str, _Seen] = {}
        self._reported: set[tuple[str, int, int]] = set()
        self._broken: str | None = None

    def scan_once(self) -> list[tuple[Path, str]]:
        """Take every complete file; returns (file, outcome) for each one handled.

        Outcomes: "accepted", "quarantined" (refused with a reason file), "refused" (not a
        regular file: moved into quarantine with a reason file, or left where it is when it
        cannot be moved; reported once).
        """
        try:
            with self._folders() as folders:
                self._broken = None
                return self._scan(folders)
        except HotFolderBroken as exc:
            if self._broken != str(exc):
                log.error("hot folder: %s", exc)
                self._broken = str(exc)
            return []

    def _scan(self, folders: _Folders) -> list[tuple[Path, str]]:
        handled = []
        now = time.monotonic()
        present = set()
        for name in sorted(os.listdir(folders.root)):
            if name.startswith(".") or name.endswith(_IGNORED_SUFFIXES):
                continue
            try:
                info = os.stat(name, dir_fd=folders.root, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                continue
            path = self.folder / name
            reason = _refusal(info)
            if reason is not None:
                outcome = self._refuse(folders, name, info, reason)
                if outcome is not None:
                    handled.append((path, outcome))
                continue
            present.add(name)
            inode = (info.st_dev, info.st_ino)
            seen = self._seen.get(name)
            if seen is None or (seen.size, seen.mtime_ns, seen.inode) != (
                info.st_size,
                info.st_mtime_ns,
                inode,
            ):
                self._seen[name] = _Seen(info.st_size, info.st_mtime_ns, inode, now)
                continue
            if now - seen.since < self.settle_seconds:
                continue
            try:
                outcome = self._take(folders, name, inode)
            except OSError as exc:
                # One file that cannot be read (permissions, a full disk) does not hold up the
                # others; it stays where it is and is tried again.
                if (name, *inode) not in self._reported:
                    self._reported.add((name, *inode))
                    log.warning("hot folder: %s cannot be taken: %s", shown(name), exc.strerror)
                outcome = None
            if outcome is not None:
                handled.append((path, outcome))
            self._seen.pop(name, None)
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return handled

    @contextmanager
    def _folders(self) -> Iterator[_Folders]:
        self.folder.mkdir(parents=True, exist_ok=True)
        opened: list[int] = []
        try:
            root = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            opened.append(root)
            for name in (DONE, QUARANTINE):
                opened.append(_subfolder(root, name, self.folder))
            yield _Folders(*opened)
        finally:
            for fd in opened:
                os.close(fd)

    def _take(self, folders: _Folders, name: str, inode: tuple[int, int]) -> str | None:
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=folders.root)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EWOULDBLOCK):
                return None  # swapped for a link or a pipe since it was looked at: next pass
            raise
        try:
            info = os.fstat(fd)
            if _refusal(info) is not None or (info.st_dev, info.st_ino) != inode:
                return None  # changed since it settled; the next pass looks again
            return self._take_open(folders, name, fd, inode)
        finally:
            os.close(fd)

    def _take_open(self, folders: _Folders, name: str, fd: int, inode: tuple[int, int]) -> str:
        work = self.runtime.settings.data_dir / "work"
        work.mkdir(parents=True, exist_ok=True)
        handle, staged_name = tempfile.mkstemp(prefix="hotfolder-", dir=work)
        staged = Path(staged_name)
        try:
            with os.fdopen(handle, "wb") as out:
                sha256 = _copy(fd, out.fileno())
            if self._already_accepted(name, sha256):
                # Accepted before a crash could move it: move it now, do not hand it in twice.
                self._file_away(folders, name, fd, inode, folders.done)
                return "accepted"
            try:
                accept_file(self.runtime, staged, name, None, channel="hotfolder")
            except UploadRejected as exc:
                kept = self._quarantine(folders, name, fd, inode, exc.message)
                log.warning("hot folder: %s quarantined as %s: %s", shown(name), kept, exc.code)
                return "quarantined"
        finally:
            staged.unlink(missing_ok=True)
        self._file_away(folders, name, fd, inode, folders.done)
        log.info("hot folder: %s accepted", shown(name))
        return "accepted"

    def _file_away(
        self, folders: _Folders, name: str, fd: int, inode: tuple[int, int], target: int
    ) -> str:
        base = clean_name(name)
        for counter in range(10_000):
            candidate = _numbered(base, counter)
            try:
                _place(folders.root, name, target, candidate, fd)
            except FileExistsError:
                continue
            _remove_if_same(folders.root, name, inode)
            _touch(fd)
            return candidate
        raise HotFolderBroken(f"kein freier Name für {shown(name)} im Zielordner")

    def _quarantine(
        self,
        folders: _Folders,
        name: str,
        fd: int | None,
        inode: tuple[int, int],
        reason: str,
    ) -> str:
        """Move the entry into quarantine with a reason file beside it; returns its new name.

        The reason file is reserved first with O_EXCL, so the pair never shares its name with
        anything that was there before, and nothing is written through an existing entry.
        """
        base = clean_name(name)
        q = folders.quarantine
        for counter in range(10_000):
            candidate = _numbered(base, counter)
            try:
                reason_fd = os.open(candidate + REASON_SUFFIX, _CREATE_FLAGS, 0o600, dir_fd=q)
            except FileExistsError:
                continue
            try:
                try:
                    _place(folders.root, name, q, candidate, fd)
                except BaseException:
                    _remove_if_same(q, candidate + REASON_SUFFIX, _inode(os.fstat(reason_fd)))
                    raise
                with os.fdopen(reason_fd, "w", encoding="utf-8") as out:
                    reason_fd = -1
                    out.write(
                        f"Datei: {shown(name)}\n"
                        f"Zeit: {datetime.now().astimezone():%d.%m.%Y %H:%M:%S}\n"
                        f"Grund: {shown(reason)}\n"
                    )
            except FileExistsError:
                continue
            finally:
                if reason_fd >= 0:
                    os.close(reason_fd)
            _remove_if_same(folders.root, name, inode)
            if fd is not None:
                _touch(fd)
            return candidate
        raise HotFolderBroken(f"kein freier Name für {shown(name)} in {QUARANTINE}/")

    def _refuse(
        self, folders: _Folders, name: str, info: os.stat_result, reason: str
    ) -> str | None:
        """A link, pipe or device is never read: it goes into quarantine unopened."""
        key = (name, info.st_dev, info.st_ino)
        try:
            kept = self._quarantine(folders, name, None, _inode(info), reason)
        except OSError as exc:
            if key in self._reported:
                return None
            self._reported.add(key)
            log.warning(
                "hot folder: %s refused (%s) and left in place: %s",
                shown(name),
                _kind(info),
                exc.strerror,
            )
            return "refused"
        log.warning("hot folder: %s refused (%s), moved to %s", shown(name), _kind(info), kept)
        return "refused"

    def _already_accepted(self, name: str, sha256: str) -> bool:
        with transaction(self.runtime.sessions) as session:
            return (
                session.scalar(
                    select(ScanBatch.id).where(
                        ScanBatch.original_sha256 == sha256,
                        ScanBatch.source_name == safe_source_name(name),
                        ScanBatch.channel == "hotfolder",
                    )
                )
                is not None
            )

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        """Watch until stopped; only one process per folder watches (a lock file decides)."""
        lock = self._lock_file(stop, poll_seconds)
        if lock is None:
            return
        try:
            while not stop.is_set():
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    stop.wait(poll_seconds)
            log.info("hot folder: watching %s", self.folder)
            while not stop.is_set():
                try:
                    self.scan_once()
                except Exception:  # noqa: BLE001 - a failing pass is retried; files stay in place
                    log.exception("hot folder: pass over %s failed", self.folder)
                stop.wait(poll_seconds)
        finally:
            os.close(lock)

    def _lock_file(self, stop: threading.Event, poll_seconds: float) -> int | None:
        """The lock file, opened without following a link and without truncating anything."""
        while not stop.is_set():
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                fd = os.open(
                    self.folder / LOCK_NAME,
                    os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                    0o600,
                )
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    return fd
                os.close(fd)
                problem = "ist keine gewöhnliche Datei"
            except OSError as exc:
                problem = exc.strerror or str(exc.errno)
            if self._broken != problem:
                log.error("hot folder: lock file %s unusable: %s", self.folder / LOCK_NAME, problem)
                self._broken = problem
            stop.wait(poll_seconds)
        return None


def _subfolder(root: int, name: str, folder: Path) -> int:
    """A subfolder as a descriptor; refuses a link or anything else that is not a directory."""
    with suppress(FileExistsError):
        os.mkdir(name, 0o700, dir_fd=root)
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=root)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise HotFolderBroken(
                f"{folder / name} ist kein echter Ordner (Verknüpfung oder Datei); "
                "der Hot-Folder ruht, bis ein Administrator ihn durch einen Ordner ersetzt"
            ) from None
        raise


def _refusal(info: os.stat_result) -> str | None:
    if stat.S_ISLNK(info.st_mode):
        return SYMLINK
    if not stat.S_ISREG(info.st_mode):
        return NOT_A_FILE
    if info.st_nlink != 1:
        return HARD_LINK
    return None


def _kind(info: os.stat_result) -> str:
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISREG(mode):
        return f"hard link ({info.st_nlink} names)"
    return "special file"


def _inode(info: os.stat_result) -> tuple[int, int]:
    return (info.st_dev, info.st_ino)


def _copy(fd: int, out: int) -> str:
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, _CHUNK, offset):
        digest.update(chunk)
        _write_all(out, chunk)
        offset += len(chunk)
    os.fsync(out)
    return digest.hexdigest()


def _write_all(out: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(out, view)
        view = view[written:]


def _place(src_dir: int, name: str, dst_dir: int, new_name: str, fd: int | None) -> None:
    """Give the entry `name` the new name `new_name` in `dst_dir`, never replacing anything.

    link(2) without AT_SYMLINK_FOLLOW names the entry itself, whatever it is; where linking
    is not possible (another file system, a file of another owner under protected hard
    links), a regular file is copied from its checked descriptor into a new file instead.
    Raises FileExistsError when `new_name` is taken.
    """
    try:
        os.link(name, new_name, src_dir_fd=src_dir, dst_dir_fd=dst_dir, follow_symlinks=False)
        return
    except FileExistsError:
        raise
    except OSError as exc:
        if fd is None or exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
    out = os.open(new_name, _CREATE_FLAGS, 0o600, dir_fd=dst_dir)
    try:
        _copy(fd, out)
    except BaseException:
        os.close(out)
        os.unlink(new_name, dir_fd=dst_dir)
        raise
    os.close(out)


def _remove_if_same(directory: int, name: str, inode: tuple[int, int]) -> None:
    """Remove the name only while it still is the entry that was handled (unlink never
    follows a link)."""
    try:
        info = os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return
    if _inode(info) == inode:
        os.unlink(name, dir_fd=directory)


def _touch(fd: int) -> None:
    # The time of the move counts for whoever clears the folders by age.
    with suppress(PermissionError):
        os.utime(fd)
