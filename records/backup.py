"""Backup and restore of a whole installation (issue 20): the database and the blob store.

A backup is a folder:

- `database.sqlite3` (the embedded default, copied with SQLite's online backup API, so a
  consistent copy of a database in use) or `database.pgdump` (`pg_dump -Fc` with the schema
  owner's role, in one snapshot);
- `blobs/<key>`: every object of the blob store, read through the product's storage API
  (each read checks the object's SHA-256);
- `data/<name>`: small files of the data folder itself (the demo logins), embedded only;
- `objects.jsonl`: one line per object (key, size, SHA-256, object-lock mode and date),
  written while the objects are copied, so that neither taking nor checking nor restoring a
  backup holds the list of objects in memory (an IT service provider's ten million documents
  are some forty million objects);
- `manifest.json`, written last: product version, schema revision, time, counts, the number
  of objects, and the SHA-256 of every file of the backup outside `blobs/` (`objects.jsonl`
  included, which holds the objects' hashes). A folder without a manifest is an unfinished
  backup.

Consistency: the database is copied first, in one snapshot; the keys of every object it refers
to are read in that same snapshot. The blobs are copied after it, so every object the copy
refers to is already stored (objects are written before the commit that names them and never
changed afterwards); objects written after the snapshot are harmless extras. At the end every
referenced key must be in the backup, else the backup fails loudly (an object went missing,
e.g. destroyed in between) and no manifest is written.

The search index is not backed up: it is derived data, rebuilt from the database on restore
(records.reindex.reindex_all). Work folders (`work`, `incoming`, `run`) hold nothing that
outlives a job.

A restore refuses a target that holds anything: a database with tables, a blob store with
objects (no silent merge, no `--force`): the operator provides an empty database and bucket
or a new data folder. The backup is checked against its manifest first; a changed, missing or
added file is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, String, create_engine, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db import make_engine, make_session_factory, transaction, utcnow
from core.errors import BlobCorrupted, BlobMissing, ConfigurationError, EAkteError, InvalidInput
from records import audit
from records.jobs import ClaimedJob, enqueue
from records.models import Base, Job
from records.schema import MIGRATIONS_DIR
from storage import BlobStore
from storage.base import CHUNK, RetentionLock, check_key

MANIFEST = "manifest.json"
OBJECTS_FILE = "objects.jsonl"
# 2: the objects in objects.jsonl (1, before: a list in the manifest, held in memory).
FORMAT = 2
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
BLOB_DIR = "blobs"
DATA_FILES_DIR = "data"
# Files of the data folder that are not data of their own: the database (copied through the
# backup API), markers and locks.
_SQLITE_NAMES = ("eakte.db", "eakte.db-wal", "eakte.db-shm", "eakte.db-journal")
COUNTED_TABLES = ("documents", "pages", "batches", "households", "users", "audit_events", "notes")
REPORTED_KEYS = 10
RESTORE_WORKER = "eakte-restore"
CLI_LOGIN = "eakte-cli"
BACKUP_TAKEN = "backup.taken"
BACKUP_RESTORED = "backup.restored"

Progress = Callable[[str, int, int], None]


class BackupFailed(EAkteError, code="backup_failed"):
    """The backup could not be taken completely; the folder holds no manifest."""


class BackupRefused(InvalidInput, code="backup_refused"):
    """A backup that does not match its manifest, or a restore target that is not empty."""


@dataclass
class BackupReport:
    path: Path
    database: str
    documents: int
    objects: int
    bytes: int
    seconds: float
    manifest_sha256: str
    locks: int = 0

    def german(self) -> str:
        return (
            f"Sicherung fertig in {self.path}: Datenbank ({self.database}), "
            f"{self.documents} Dokumente, {self.objects} Objekte "
            f"({self.bytes / 1_000_000:.1f} MB), {self.locks} Aufbewahrungssperren vermerkt, "
            f"{self.seconds:.1f} s.\n"
            f"Prüfsumme des Manifests (zum Notieren): {self.manifest_sha256}"
        )


@dataclass
class RestoreReport:
    database: str
    documents: int
    objects: int
    locks_restored: int = 0
    locks_not_restored: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


# --- small helpers -----------------------------------------------------------------------


def product_version() -> str:
    try:
        return metadata.version("eakte")
    except metadata.PackageNotFoundError:
        return "unbekannt"


def code_schema_head() -> str | None:
    """The newest schema revision this code knows (Alembic head)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def _known_revision(revision: str | None) -> bool:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    if revision is None:
        return True
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
        return False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:REPORTED_KEYS])
    more = len(keys) - REPORTED_KEYS
    return shown + (f" und {more} weitere" if more > 0 else "")


def find_pg_tool(name: str, server_major: int | None = None) -> str:
    """The PostgreSQL client program `name` (pg_dump, pg_restore) of the server's major
    version: from /usr/lib/postgresql/<major>/bin, else the newest there, else from PATH.
    A client older than the server cannot dump it, so a mismatch is refused."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if server_major is not None:
        for path in candidates:
            if path.parent.parent.name == str(server_major):
                return str(path)
    if candidates:
        chosen = candidates[-1]
        major = chosen.parent.parent.name
        if server_major is not None and major.isdigit() and int(major) < server_major:
            raise ConfigurationError(
                f"{name} {major} ist älter als der Datenbankserver ({server_major}); "
                f"bitte die PostgreSQL-Clientprogramme Version {server_major} installieren"
            )
        return str(chosen)
    found = shutil.which(name)
    if found is None:
        raise ConfigurationError(
            f"{name} ist nicht installiert (PostgreSQL-Clientprogramme, z. B. Paket "
            "postgresql-client)"
        )
    return found


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment (password) for pg_dump/pg_restore."""
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    env["PGCONNECT_TIMEOUT"] = "10"
    return args, env


def _run_tool(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise BackupFailed(f"{what} fehlgeschlagen: {' / '.join(detail)}")


def _owner_url(settings: Settings) -> str:
    return settings.migration_database_url or settings.resolved_database_url


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_uri(path: Path, mode: str) -> str:
    """An SQLite URI of the file (any characters in its path), opened with `mode`."""
    return f"{path.resolve().as_uri()}?mode={mode}"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ConfigurationError("Eine SQLite-Datenbank im Speicher lässt sich nicht sichern")
    return Path(database)


# --- what the database refers to ------------------------------------------------------------


def _key_columns() -> list[tuple[str, str]]:
    """(table, column) of every column that holds a blob key (named *_key, a string)."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith("_key") and isinstance(column.type, String):
                found.append((table.name, column.name))
    return found


def referenced_keys(connection: Connection) -> set[str]:
    """Every blob key the database names: the *_key columns and the parts of court folders."""
    present = set(inspect(connection).get_table_names())
    keys: set[str] = set()
    for table, column in _key_columns():
        if table not in present:
            continue
        for (key,) in connection.execute(
            text(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')  # noqa: S608
        ):
            keys.add(str(key))
    if "file_exports" in present:
        for (parts,) in connection.execute(
            text("SELECT parts FROM file_exports WHERE parts IS NOT NULL")
        ):
            loaded = json.loads(parts) if isinstance(parts, str) else parts
            for part in loaded or []:
                if isinstance(part, dict) and part.get("key"):
                    keys.add(str(part["key"]))
    return keys


def table_counts(connection: Connection) -> dict[str, int]:
    present = set(inspect(connection).get_table_names())
    return {
        table: int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())  # noqa: S608
        for table in COUNTED_TABLES
        if table in present
    }


def schema_revision(connection: Connection) -> str | None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


@dataclass
class _Snapshot:
    database: str  # "sqlite" or "postgresql <version>"
    file: str
    revision: str | None
    counts: dict[str, int]
    keys: set[str]


def _snapshot_sqlite(url: str, out: Path) -> _Snapshot:
    """A consistent copy through SQLite's online backup API (readers and writers may go on),
    then the keys and counts read from the copy."""
    source_path = _sqlite_path(url)
    if not source_path.exists():
        raise BackupFailed(f"Datenbankdatei {source_path} nicht gefunden")
    target = out / SQLITE_FILE
    with (
        closing(sqlite3.connect(_sqlite_uri(source_path, "ro"), uri=True)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.execute("PRAGMA busy_timeout = 30000")
        source.backup(copy)
        # The copy is a single file: no write-ahead log beside it when it is read later.
        copy.execute("PRAGMA journal_mode = DELETE")
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            return _Snapshot(
                "sqlite",
                SQLITE_FILE,
                schema_revision(connection),
                table_counts(connection),
                referenced_keys(connection),
            )
    finally:
        engine.dispose()


def _snapshot_postgres(owner_url: str, out: Path) -> _Snapshot:
    """`pg_dump -Fc` of an exported snapshot, with the keys and counts read in that snapshot:
    the transaction that exported it stays open until the dump is done."""
    url = make_url(owner_url)
    engine = create_engine(owner_url)
    try:
        with (
            engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection,
            connection.begin(),
        ):
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            # The first query fixes the snapshot; pg_dump and the reads below share it.
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            major = int(connection.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
            version = connection.exec_driver_sql("SHOW server_version").scalar_one()
            args, env = _pg_args(url)
            _run_tool(
                [
                    find_pg_tool("pg_dump", major),
                    *args,
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    "--no-password",
                    "--file",
                    str(out / PG_FILE),
                    str(url.database),
                ],
                env,
                "pg_dump",
            )
            taken = _Snapshot(
                f"postgresql {version}",
                PG_FILE,
                schema_revision(connection),
                table_counts(connection),
                referenced_keys(connection),
            )
            return taken
    finally:
        engine.dispose()


# --- the blob store, object by object ------------------------------------------------------


def list_keys(blobs: BlobStore) -> Iterator[str]:
    """Every object of the store (current versions)."""
    return blobs.keys()


def _lock_of(blobs: BlobStore, key: str) -> tuple[str | None, str | None]:
    """(mode, until) of the object's lock, or (None, None) (a store without object lock)."""
    if not isinstance(blobs, RetentionLock) or not blobs.object_lock:
        return None, None
    found = blobs.retention(key)
    return (found[0], found[1].isoformat()) if found is not None else (None, None)


def _copy_out(blobs: BlobStore, key: str, target: Path) -> tuple[int, str]:
    """Write the object into the backup; the store's read checks its SHA-256."""
    check_key(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        with target.open("wb") as out:
            for chunk in blobs.open(key):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    except BaseException:
        target.unlink(missing_ok=True)  # no partial object left in the backup
        raise
    return size, digest.hexdigest()


# --- backup ----------------------------------------------------------------------------------


def _prepare_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupRefused(
            f"Zielordner {out} ist nicht leer: eine Sicherung braucht einen neuen, leeren Ordner"
        )
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)  # the backup holds social data like the data folder


def take_backup(
    settings: Settings, blobs: BlobStore, out: Path, on_progress: Progress | None = None
) -> BackupReport:
    """Database first (one snapshot), then every object; fails loudly if an object the
    database refers to is not in the backup. The manifest is written last."""
    began = time.monotonic()
    _prepare_out(out)
    url = settings.resolved_database_url
    snapshot = (
        _snapshot_sqlite(url, out)
        if _is_sqlite(url)
        else _snapshot_postgres(_owner_url(settings), out)
    )
    database_seconds = time.monotonic() - began
    copied = _copy_objects(blobs, out, snapshot.keys, on_progress)
    if copied.failed:
        raise BackupFailed(
            f"Sicherung unvollständig, kein Manifest geschrieben: {len(copied.failed)} Objekte "
            f"der Ablage sind beschädigt (Prüfsumme stimmt nicht): {_listing(copied.failed)}"
        )
    missing = sorted(copied.not_found)
    if missing:
        raise BackupFailed(
            f"Sicherung unvollständig, kein Manifest geschrieben: {len(missing)} Objekte, auf "
            f"die die Datenbank verweist, fehlen in der Ablage: {_listing(missing)}"
        )
    if settings.blob_store == "local" and _is_sqlite(url):
        _copy_data_files(settings.data_dir, out)
    manifest = {
        "format": FORMAT,
        "product": "eakte",
        "version": product_version(),
        "schema_revision": snapshot.revision,
        "created_at": utcnow().isoformat(),
        "database": {"kind": snapshot.database, "file": snapshot.file},
        "blob_store": blobs.name,
        "counts": {**snapshot.counts, "objects": copied.count, "bytes": copied.bytes},
        "referenced_objects": len(snapshot.keys),
        "seconds": {
            "database": round(database_seconds, 2),
            "objects": round(time.monotonic() - began - database_seconds, 2),
        },
        # The objects' hashes, taken from the bytes written, are lines of OBJECTS_FILE; the
        # files outside blobs/ (that one included) are read again.
        "objects": {"file": OBJECTS_FILE, "count": copied.count},
        "files": _file_hashes(out, skip=out / BLOB_DIR),
    }
    os.sync()  # everything on disk before the manifest says the backup is complete
    manifest_sha256 = _write_manifest(out, manifest)
    return BackupReport(
        path=out,
        database=snapshot.database,
        documents=snapshot.counts.get("documents", 0),
        objects=copied.count,
        bytes=copied.bytes,
        seconds=time.monotonic() - began,
        manifest_sha256=manifest_sha256,
        locks=copied.locks,
    )


@dataclass
class _Copied:
    count: int = 0
    bytes: int = 0
    locks: int = 0
    failed: list[str] = field(default_factory=list)
    not_found: set[str] = field(default_factory=set)  # referenced keys not copied


def _copy_objects(
    blobs: BlobStore, out: Path, referenced: set[str], on_progress: Progress | None
) -> _Copied:
    """Every object of the store into the backup, one line of OBJECTS_FILE each, as the store
    lists them (never the whole listing in memory); which referenced keys were not found."""
    copied = _Copied(not_found=set(referenced))
    expected = len(referenced)
    with (out / OBJECTS_FILE).open("w", encoding="utf-8") as listing:
        for done, key in enumerate(list_keys(blobs), start=1):
            try:
                size, sha256 = _copy_out(blobs, key, out / BLOB_DIR / key)
            except BlobMissing:
                continue  # removed since the listing: only a problem if referenced
            except BlobCorrupted:
                copied.failed.append(key)
                continue
            mode, until = _lock_of(blobs, key)
            copied.locks += until is not None
            item = {"key": key, "size": size, "sha256": sha256}
            listing.write(json.dumps({**item, "lock_mode": mode, "locked_until": until}) + "\n")
            copied.not_found.discard(key)
            copied.count += 1
            copied.bytes += size
            if on_progress:
                on_progress("Objekte", done, max(expected, done))
        listing.flush()
        os.fsync(listing.fileno())
    return copied


def _copy_data_files(data_dir: Path, out: Path) -> None:
    """Regular files directly in the data folder besides the database (the demo logins)."""
    if not data_dir.is_dir():
        return
    for path in sorted(data_dir.iterdir()):
        if path.is_file() and not path.name.startswith(".") and path.name not in _SQLITE_NAMES:
            target = out / DATA_FILES_DIR / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _file_hashes(out: Path, skip: Path | None = None) -> dict[str, str]:
    """SHA-256 of every file of the backup but the manifest (and those under `skip`)."""
    return {
        path.relative_to(out).as_posix(): _sha256(path)
        for path in sorted(out.rglob("*"))
        if path.is_file() and path.name != MANIFEST and (skip is None or skip not in path.parents)
    }


def manifest_digest(path: Path) -> str:
    """The SHA-256 of a backup's manifest, as `eakte backup` prints it to be noted."""
    return _sha256(path / MANIFEST)


def _write_manifest(out: Path, manifest: dict[str, Any]) -> str:
    data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    partial = out / (MANIFEST + ".partial")
    with partial.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(out / MANIFEST)
    return hashlib.sha256(data).hexdigest()


# --- checking a backup -------------------------------------------------------------------------


def check_backup(path: Path, expected_manifest_sha256: str | None = None) -> dict[str, Any]:
    """The manifest, after every file was compared with it: a changed, missing or added file
    is refused, and so is a manifest whose SHA-256 differs from the one noted at backup."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise BackupRefused(
            f"{path} enthält keine Sicherung (manifest.json fehlt; eine abgebrochene "
            "Sicherung hat keins)"
        )
    data = manifest_path.read_bytes()
    if expected_manifest_sha256 and hashlib.sha256(data).hexdigest() != (
        expected_manifest_sha256.strip().lower()
    ):
        raise BackupRefused(
            "Das Manifest der Sicherung weicht von der notierten Prüfsumme ab: die Sicherung "
            "wurde verändert, nichts wiederhergestellt"
        )
    manifest: Any = None
    try:
        manifest = json.loads(data)
        files: dict[str, str] = manifest["files"]
        listing = str(manifest["objects"]["file"])
        database_file = manifest["database"]["file"]
    except (ValueError, KeyError, TypeError):
        if isinstance(manifest, dict) and manifest.get("format") == 1:
            raise BackupRefused(
                "Die Sicherung hat das Format 1 (vor der Objektliste objects.jsonl): bitte mit "
                f"der Version wiederherstellen, die sie geschrieben hat ({manifest.get('version')})"
            ) from None
        raise BackupRefused("Das Manifest der Sicherung ist unlesbar oder unvollständig") from None
    if manifest.get("format") != FORMAT:
        raise BackupRefused(f"Unbekanntes Sicherungsformat {manifest.get('format')!r}")
    problems = _Problems()
    present = _file_hashes(path, skip=path / BLOB_DIR)
    for name, sha256 in files.items():
        if name not in present:
            problems.add(f"{name} fehlt")
        elif present[name] != sha256:
            problems.add(f"{name} weicht von ihrer Prüfsumme ab")
    for name in present:
        if name not in files:
            problems.add(f"{name} ist hinzugekommen")
    for name in (database_file, listing):
        if name not in files:
            problems.add(f"{name} ist nicht im Manifest verzeichnet")
    if not problems.count:  # the listing itself is as written: its objects are checked
        _check_objects(path, manifest, problems)
    if problems.count:
        raise BackupRefused(
            "Die Sicherung ist verändert oder unvollständig, nichts wiederhergestellt: "
            + problems.german()
        )
    revision = manifest.get("schema_revision")
    if not _known_revision(revision):
        raise BackupRefused(
            f"Die Sicherung hat den Schemastand {revision}, den diese Version "
            f"({product_version()}) nicht kennt: bitte mit der Version wiederherstellen, die "
            f"sie geschrieben hat ({manifest.get('version')}) oder einer neueren"
        )
    return manifest


class _Problems:
    """What is wrong with a backup: the first few named, all counted (a backup of millions of
    objects that was changed wholesale must not fill the memory with messages)."""

    def __init__(self) -> None:
        self.named: list[str] = []
        self.count = 0

    def add(self, problem: str) -> None:
        self.count += 1
        if len(self.named) < REPORTED_KEYS:
            self.named.append(problem)

    def german(self) -> str:
        more = self.count - len(self.named)
        return "; ".join(self.named) + (f" (und {more} weitere)" if more else "")


def listed_objects(path: Path, manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The objects of a backup, line by line from its listing (keys checked: a listing can
    never name a file outside `blobs/`)."""
    with (path / str(manifest["objects"]["file"])).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                item = json.loads(line)
                check_key(str(item["key"]))
                item["sha256"]  # noqa: B018 - present, or the line is unreadable
            except (ValueError, KeyError, TypeError, InvalidInput):
                raise BackupRefused(
                    f"Zeile {number} der Objektliste der Sicherung ist unlesbar"
                ) from None
            yield item


def _check_objects(path: Path, manifest: dict[str, Any], problems: _Problems) -> None:
    """Every listed object's file is there with its hash, and no other file is under blobs/."""
    listed = 0
    for item in listed_objects(path, manifest):
        listed += 1
        file = path / BLOB_DIR / str(item["key"])
        if not file.is_file():
            problems.add(f"{BLOB_DIR}/{item['key']} fehlt")
        elif _sha256(file) != item["sha256"]:
            problems.add(f"{BLOB_DIR}/{item['key']} weicht von ihrer Prüfsumme ab")
    if listed != int(manifest["objects"]["count"]):
        problems.add("die Objektliste ist nicht so lang, wie das Manifest sagt")
    on_disk = sum(1 for file in (path / BLOB_DIR).rglob("*") if file.is_file())
    if on_disk > listed - problems.count:
        # Something was added: only now are the listed keys held, to name what was added.
        keys = {str(item["key"]) for item in listed_objects(path, manifest)}
        for file in sorted((path / BLOB_DIR).rglob("*")):
            name = file.relative_to(path / BLOB_DIR).as_posix()
            if file.is_file() and name not in keys:
                problems.add(f"{BLOB_DIR}/{name} ist hinzugekommen")


# --- restore ---------------------------------------------------------------------------------


def check_targets_empty(settings: Settings, blobs: BlobStore) -> None:
    """Refuse a target database with tables or a blob store with objects: a restore never
    merges into existing data."""
    url = _owner_url(settings)
    if _is_sqlite(url):
        path = _sqlite_path(url)
        if path.exists() and path.stat().st_size > 0 and _has_tables(f"sqlite:///{path}"):
            raise BackupRefused(
                f"Die Datenbank {path} enthält schon Daten: Wiederherstellung nur in einen "
                "neuen Datenordner (EAKTE_DATA_DIR)"
            )
    elif _has_tables(url):
        raise BackupRefused(
            f"Die Datenbank {make_url(url).database} enthält schon Tabellen: Wiederherstellung "
            "nur in eine leere Datenbank"
        )
    first = next(iter(list_keys(blobs)), None)
    if first is not None:
        raise BackupRefused(
            f"Die Ablage ({blobs.name}) enthält schon Objekte (z. B. {first}): "
            "Wiederherstellung nur in eine leere Ablage (neuer Bucket oder Datenordner)"
        )


def _has_tables(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return bool(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def restore_database(settings: Settings, manifest: dict[str, Any], path: Path) -> None:
    """Load the backup's database into the (empty) target: SQLite through the backup API,
    PostgreSQL with pg_restore as the schema owner (objects owned by the restoring role,
    grants of the runtime role given afterwards by records.db_roles)."""
    url = _owner_url(settings)
    kind = str(manifest["database"]["kind"])
    source = path / str(manifest["database"]["file"])
    if _is_sqlite(url) != kind.startswith("sqlite"):
        raise BackupRefused(
            f"Die Sicherung enthält eine {kind.split()[0]}-Datenbank, das Ziel ist "
            f"{make_url(url).get_backend_name()}: Wiederherstellung nur in dieselbe Art"
        )
    if _is_sqlite(url):
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with (
            closing(sqlite3.connect(_sqlite_uri(source, "ro&immutable=1"), uri=True)) as backup,
            closing(sqlite3.connect(target)) as restored,
        ):
            backup.backup(restored)
            restored.execute("PRAGMA journal_mode = WAL")
        os.chmod(target, 0o600)
        return
    owner = make_url(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            major = int(connection.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    finally:
        engine.dispose()
    args, env = _pg_args(owner)
    _run_tool(
        [
            find_pg_tool("pg_restore", major),
            *args,
            "--no-owner",
            "--no-acl",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            "--dbname",
            str(owner.database),
            str(source),
        ],
        env,
        "pg_restore",
    )


def restore_objects(
    blobs: BlobStore,
    manifest: dict[str, Any],
    path: Path,
    on_progress: Progress | None = None,
) -> tuple[int, int, int]:
    """Put every object back through the storage API; a recorded object lock still in the
    future is set again (locks are only ever extended). Returns (objects, locks restored,
    locks that could not be restored because the target store has no object lock)."""
    total = int(manifest["objects"]["count"])
    locking = isinstance(blobs, RetentionLock) and blobs.object_lock
    restored = locks = not_locked = 0
    now = datetime.now(UTC)
    for done, item in enumerate(listed_objects(path, manifest), start=1):
        key = check_key(str(item["key"]))
        with (path / BLOB_DIR / key).open("rb") as source:
            info = blobs.put(key, source)
        if info.sha256 != item["sha256"]:
            raise BackupFailed(f"Objekt {key} wurde beim Zurückschreiben verändert")
        restored += 1
        until = item.get("locked_until")
        if until and datetime.fromisoformat(until) > now:
            if locking:
                blobs.retain_until(key, datetime.fromisoformat(until))  # type: ignore[attr-defined]
                locks += 1
            else:
                not_locked += 1
        if on_progress:
            on_progress("Objekte", done, total)
    return restored, locks, not_locked


def restore_data_files(settings: Settings, path: Path) -> int:
    folder = path / DATA_FILES_DIR
    if not folder.is_dir():
        return 0
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    for source in sorted(folder.iterdir()):
        target = settings.data_dir / source.name
        if not target.exists():
            shutil.copyfile(source, target)
            os.chmod(target, 0o600)
            count += 1
    return count


def missing_references(sessions: sessionmaker[Session], blobs: BlobStore) -> list[str]:
    """Referenced keys the store does not hold (after a restore: must be none)."""
    with transaction(sessions, read_only=True) as session:
        keys = referenced_keys(session.connection())
    present = set(list_keys(blobs))
    return sorted(keys - present)


def claim_job(sessions: sessionmaker[Session], kind: str) -> ClaimedJob:
    """Queue a job of `kind` and claim it for this process at once (not left to a worker):
    the restore runs the hash check itself and its result lands on the job like any other."""
    with transaction(sessions) as session:
        job = enqueue(session, kind, None, 1)
        now = utcnow()
        job.state = "running"
        job.attempts = 1
        job.lease_owner = RESTORE_WORKER
        job.lease_expires_at = now + timedelta(days=1)
        job.started_at = now
        job.created_by_login = RESTORE_WORKER
        session.flush()
        return ClaimedJob(job.id, kind, None, None, 1, RESTORE_WORKER, None)


def job_result(sessions: sessionmaker[Session], job_id: int) -> dict[str, Any]:
    with transaction(sessions, read_only=True) as session:
        row = session.scalar(select(Job).where(Job.id == job_id))
        return dict(row.result or {}) if row is not None else {}


def record(sessions: sessionmaker[Session], action: str, **details: Any) -> None:
    """An audit row of the command line for a backup taken or restored: a backup copies every
    file's social data, so it is on record like any other access (counts and the time of the
    backup only; the folder's path is the operator's and may name people, so it is left out)."""
    with transaction(sessions) as session:
        audit.record(session, None, action, actor_login=CLI_LOGIN, object_type="backup", **details)


def record_backup_taken(settings: Settings, report: BackupReport) -> None:
    engine = make_engine(
        settings.resolved_database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    try:
        record(
            make_session_factory(engine),
            BACKUP_TAKEN,
            documents=report.documents,
            objects=report.objects,
            manifest_sha256=report.manifest_sha256,
        )
    finally:
        engine.dispose()
