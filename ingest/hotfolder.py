"""The hot folder that network scanners write into.

A file is taken only when it is complete (its size and time stay the same for a while). After
acceptance it moves to the done folder; a file that cannot be accepted moves to the quarantine
folder with a German reason file beside it. Nothing is ever deleted.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from ingest.intake import accept_file
from records.db import transaction
from records.errors import UploadRejected
from records.models import ScanBatch
from records.runtime import Runtime
from storage import sha256_of_file

log = logging.getLogger(__name__)

DONE = "erledigt"
QUARANTINE = "quarantaene"
_IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", "~")


@dataclass
class _Seen:
    size: int
    mtime: float
    since: float


class HotFolder:
    def __init__(self, runtime: Runtime, folder: Path, settle_seconds: float) -> None:
        self.runtime = runtime
        self.folder = folder
        self.done = folder / DONE
        self.quarantine = folder / QUARANTINE
        self.settle_seconds = settle_seconds
        self._seen: dict[Path, _Seen] = {}

    def scan_once(self) -> list[tuple[Path, str]]:
        """Take every complete file; returns (file, outcome) for each one handled."""
        for folder in (self.folder, self.done, self.quarantine):
            folder.mkdir(parents=True, exist_ok=True)
        handled = []
        now = time.monotonic()
        present = set()
        for path in sorted(self.folder.iterdir()):
            hidden = path.name.startswith(".") or path.name.endswith(_IGNORED_SUFFIXES)
            if hidden or not path.is_file():
                continue
            present.add(path)
            stat = path.stat()
            seen = self._seen.get(path)
            if seen is None or (seen.size, seen.mtime) != (stat.st_size, stat.st_mtime):
                self._seen[path] = _Seen(stat.st_size, stat.st_mtime, now)
                continue
            if now - seen.since < self.settle_seconds:
                continue
            handled.append((path, self._take(path)))
            self._seen.pop(path, None)
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return handled

    def _take(self, path: Path) -> str:
        sha256 = sha256_of_file(path)
        if self._already_accepted(path.name, sha256):
            # Accepted before a crash could move it: move it now, do not hand it in twice.
            _move(path, self.done)
            return "accepted"
        try:
            accept_file(self.runtime, path, path.name, None, channel="hotfolder")
        except UploadRejected as exc:
            target = _move(path, self.quarantine)
            reason = target.with_name(target.name + ".grund.txt")
            reason.write_text(
                f"Datei: {path.name}\n"
                f"Zeit: {datetime.now().astimezone():%d.%m.%Y %H:%M:%S}\n"
                f"Grund: {exc.message}\n",
                encoding="utf-8",
            )
            log.warning("hot folder: %s quarantined: %s", path.name, exc.code)
            return "quarantined"
        _move(path, self.done)
        log.info("hot folder: %s accepted", path.name)
        return "accepted"

    def _already_accepted(self, name: str, sha256: str) -> bool:
        with transaction(self.runtime.sessions) as session:
            return (
                session.scalar(
                    select(ScanBatch.id).where(
                        ScanBatch.original_sha256 == sha256,
                        ScanBatch.source_name == name,
                        ScanBatch.channel == "hotfolder",
                    )
                )
                is not None
            )

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        """Watch until stopped; only one process per folder watches (a lock file decides)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / ".eakte-hotfolder.lock").open("w") as lock:
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


def _move(path: Path, folder: Path) -> Path:
    """Move without overwriting: a second file of the same name gets a counter."""
    target = folder / path.name
    counter = 1
    while target.exists():
        target = folder / f"{path.stem}-{counter}{path.suffix}"
        counter += 1
    shutil.move(str(path), target)
    os.utime(target)
    return target
