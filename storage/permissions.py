"""The data directory is private to the product: folders 0700, files 0600, stored blobs 0400.

The data directory holds social data (the SQLite file, originals and renditions, the search
index, work folders), so no other account on the machine may read any of it. Two things make
that hold whatever the umask of the shell that started the process:

- `make_data_dir_private` runs first in every process of the product (the runtime calls it
  before it opens anything): it sets the process umask to 0o077, so every file and folder the
  product, SQLite, the index library or an external program (tesseract, poppler) creates from
  then on is private to the product's account; and it checks the data directory itself.
- The blob store creates its folders 0700 and its objects 0400 explicitly.

An existing data directory whose modes are too open (one from before this check, or made by a
shell with umask 022) is repaired and the repair is logged, rather than refused: the product's
own account owns it, nothing else needs access, and refusing would only stop a running office
until someone types the same chmod by hand. A data directory that is not a directory, or that
belongs to another account (which could open it again at any time), is refused with a German
message. The complete tree is repaired once (a marker file records it); after that the
directory itself, what lies directly in it and the SQLite files are checked at every start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from core.config import Settings
from core.errors import ConfigurationError

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
BLOB_MODE = 0o400
MARKER = ".eakte-private"
# The writers' lock in the blob folder is opened for writing again; objects still being
# written (made 0600 by mkstemp) are left to their writer.
_WRITABLE_BLOB_FILES = (".write.lock",)
_IN_PROGRESS_BLOB_PREFIXES = (".incoming-",)
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def make_data_dir_private(settings: Settings) -> None:
    """Set the process umask and make sure the data directory is the product's alone."""
    os.umask(PRIVATE_UMASK)
    data_dir = settings.data_dir
    try:
        with contextlib.suppress(FileExistsError):  # a file in its place is refused below
            data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        info = data_dir.stat()  # the directory itself may be a link set up by the administrator
    except OSError as exc:
        raise ConfigurationError(
            f"Der Datenordner {data_dir} kann nicht angelegt werden ({exc.strerror})."
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigurationError(f"Der Datenordner {data_dir} ist kein Ordner.")
    if info.st_uid != os.geteuid():
        raise ConfigurationError(
            f"Der Datenordner {data_dir} gehört nicht dem Benutzer, unter dem die E-Akte läuft "
            f"(Besitzer {info.st_uid}, E-Akte {os.geteuid()}). Er enthält Sozialdaten und muss "
            "dem Dienstkonto allein gehören."
        )
    repaired: list[Path] = []
    _ensure(data_dir, info, DIR_MODE, repaired)
    skip = _not_ours(settings)
    if (data_dir / MARKER).exists():
        for entry in data_dir.iterdir():
            if entry.absolute() not in skip:
                _ensure_entry(entry, settings.blob_dir, repaired)
    else:
        _repair_tree(data_dir, settings.blob_dir, skip, repaired)
    for database in _sqlite_files(settings):
        _prepare_sqlite(database, repaired)
    if repaired:
        shown = ", ".join(str(p) for p in repaired[:5])
        more = f" and {len(repaired) - 5} more" if len(repaired) > 5 else ""
        log.warning(
            "data directory %s: made %d entries private (folders 0700, files 0600, blobs "
            "0400): %s%s",
            data_dir,
            len(repaired),
            shown,
            more,
        )
    if not (data_dir / MARKER).exists():
        fd = os.open(data_dir / MARKER, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
        os.close(fd)


def _not_ours(settings: Settings) -> set[Path]:
    """A hot folder inside the data directory is a drop box shared with the scanners."""
    if settings.hot_folder is None:
        return set()
    return {settings.hot_folder.absolute()}


def _repair_tree(data_dir: Path, blob_dir: Path, skip: set[Path], repaired: list[Path]) -> None:
    # The top folder is already private, so nobody else can swap entries while this runs.
    for top, dirs, files in os.walk(data_dir):
        here = Path(top)
        dirs[:] = [d for d in dirs if (here / d).absolute() not in skip]
        for name in dirs + files:
            _ensure_entry(here / name, blob_dir, repaired)


def _ensure_entry(path: Path, blob_dir: Path, repaired: list[Path]) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        _ensure(path, info, DIR_MODE, repaired)
    elif stat.S_ISREG(info.st_mode):
        mode = _file_mode(path, blob_dir)
        if mode is not None:
            _ensure(path, info, mode, repaired)
    # links, sockets and pipes have no modes of their own worth setting


def _file_mode(path: Path, blob_dir: Path) -> int | None:
    if not path.is_relative_to(blob_dir):
        return FILE_MODE
    if path.name.startswith(_IN_PROGRESS_BLOB_PREFIXES):
        return None  # a writer is about to make it 0400 and link it: not ours to touch
    if path.name in _WRITABLE_BLOB_FILES:
        return FILE_MODE
    return BLOB_MODE


def _ensure(path: Path, info: os.stat_result, mode: int, repaired: list[Path]) -> None:
    if stat.S_IMODE(info.st_mode) == mode:
        return
    try:
        os.chmod(path, mode)
    except OSError as exc:
        log.warning("data directory: cannot make %s private: %s", path, exc.strerror)
        return
    repaired.append(path)


def _sqlite_files(settings: Settings) -> list[Path]:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return []
    return [Path(url.database)]


def _prepare_sqlite(database: Path, repaired: list[Path]) -> None:
    """The database file exists 0600 before SQLite opens it: SQLite then gives its journal and
    WAL files the same mode."""
    if not database.exists() and database.parent.is_dir():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for suffix in _SQLITE_COMPANIONS:
        path = database.with_name(database.name + suffix)
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            _ensure(path, info, FILE_MODE, repaired)


__all__ = ["BLOB_MODE", "DIR_MODE", "FILE_MODE", "make_data_dir_private"]
