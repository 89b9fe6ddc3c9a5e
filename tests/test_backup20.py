"""`eakte backup` and `eakte restore` (issue 20): a backup restored into an empty stack holds
the same documents, pages and hashes, finds a letter by a word of it, passes the hash check
and the audit chain; a changed backup, a non-empty target and a backup missing an object the
database names are refused with a German message."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.runtime import build_runtime
from core.config import Settings
from ingest.intake import accept_file
from records.backup import listed_objects, take_backup
from storage.local import LocalBlobStore
from tests.support import (
    OWN,
    SAMPLES,
    audit_rows,
    cli_env,
    file_indexed,
    make_settings,
    run_cli,
    service_env,
    settings_env,
    while_held,
    work_until_idle,
)
from tests.support_backup20 import (
    LETTERS,
    WORD,
    chain_intact,
    change_a_byte,
    found,
    installation_with_letters,
    manifest,
    state,
    verification_results,
)


def _env(settings: Settings) -> dict[str, str]:
    env = cli_env(settings.data_dir, **settings_env(settings))
    if settings.migration_database_url:
        env["EAKTE_MIGRATION_DATABASE_URL"] = settings.migration_database_url
    if settings.s3_object_lock:
        env["EAKTE_S3_OBJECT_LOCK"] = "true"
        env["EAKTE_S3_RETENTION_DAYS"] = str(settings.s3_retention_days)
    return env


def _restored_as_taken(source: dict, target: Settings) -> None:
    """The restored installation holds the same documents and finds a letter by a word."""
    runtime = build_runtime(target)
    try:
        assert state(runtime) == source
        payslip = next(i for i, d in source.items() if d["source_name"] == LETTERS[0])
        households = {d["bg_number"] for d in source.values() if d["bg_number"]}
        assert payslip in found(runtime, WORD, households)
        assert chain_intact(runtime)
        checks = verification_results(runtime)
        assert len(checks) == 1 and checks[0]["ok"] and checks[0]["problems"] == []
        assert checks[0]["checked"] >= 2 * len(LETTERS)  # originals, PDFs, page images
        [restored] = audit_rows(runtime, "backup.restored")
        assert restored.actor_login == "eakte-cli"
        assert restored.details["documents"] == len(source)
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """An embedded installation with two letters read, and its backup (taken by the CLI)."""
    work = tmp_path_factory.mktemp("backup20")
    settings = make_settings(work / "source")
    runtime = build_runtime(settings)
    try:
        installation_with_letters(runtime)
        taken = state(runtime)
    finally:
        runtime.close()
    assert len(taken) == len(LETTERS) and all(d["status"] == "processed" for d in taken.values())
    backup = work / "backup"
    done = run_cli(_env(settings), "backup", "--out", str(backup))
    assert done.returncode == 0, done.stderr
    assert "Sicherung fertig" in done.stdout
    runtime = build_runtime(settings)
    try:
        [taken_row] = audit_rows(runtime, "backup.taken")
        assert taken_row.details["documents"] == len(LETTERS)
        assert taken_row.details["manifest_sha256"] in done.stdout
    finally:
        runtime.close()
    return taken, backup


def test_embedded_backup_restores_into_a_new_data_folder(
    embedded: tuple[dict, Path], tmp_path: Path
) -> None:
    taken, backup = embedded
    written = manifest(backup)
    assert written["counts"]["documents"] == len(LETTERS)
    assert written["schema_revision"] and written["database"]["kind"] == "sqlite"
    assert set(written["files"]) >= {"database.sqlite3", "objects.jsonl"}
    listed = list(listed_objects(backup, written))
    assert len(listed) == written["objects"]["count"] == written["counts"]["objects"]
    for item in listed:  # every object's file, by the hash of its bytes
        content = (backup / "blobs" / item["key"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == item["sha256"]
        assert item["size"] == len(content)
    target = make_settings(tmp_path / "restored")
    done = run_cli(_env(target), "restore", str(backup))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Wiederherstellung in Ordnung" in done.stdout
    _restored_as_taken(taken, target)
    audit = run_cli(_env(target), "audit", "verify")
    assert audit.returncode == 0 and "Prüfkette intakt" in audit.stdout


def test_a_restore_never_merges_into_existing_data(
    embedded: tuple[dict, Path], tmp_path: Path
) -> None:
    _, backup = embedded
    target = make_settings(tmp_path / "in-use")
    runtime = build_runtime(target)
    try:
        file_indexed(runtime, OWN, "sonstiges", "Ein Brief, der schon da ist.")
        before = state(runtime)
    finally:
        runtime.close()
    done = run_cli(_env(target), "restore", str(backup))
    assert done.returncode == 1
    assert "enthält schon Daten" in done.stderr
    runtime = build_runtime(target)
    try:
        assert state(runtime) == before
    finally:
        runtime.close()


def test_a_restore_refuses_a_blob_store_with_objects(
    embedded: tuple[dict, Path], tmp_path: Path
) -> None:
    _, backup = embedded
    target = make_settings(tmp_path / "blobs-only")
    LocalBlobStore(target.blob_dir).put("originals/da/schon", io.BytesIO(b"ein Objekt"))
    done = run_cli(_env(target), "restore", str(backup))
    assert done.returncode == 1
    assert "Ablage (local) enthält schon Objekte" in done.stderr
    database = target.data_dir / "eakte.db"  # made empty and private at start, nothing loaded
    assert not database.exists() or database.stat().st_size == 0


@pytest.mark.parametrize("changed", ["blob", "database", "added", "manifest"])
def test_a_changed_backup_is_refused_before_anything_is_written(
    embedded: tuple[dict, Path], tmp_path: Path, changed: str
) -> None:
    _, backup = embedded
    copy = tmp_path / "backup"
    shutil.copytree(backup, copy)
    options: list[str] = []
    if changed == "blob":
        first = next(listed_objects(copy, manifest(copy)))
        change_a_byte(copy / "blobs" / first["key"])
        expected = "weicht von ihrer Prüfsumme ab"
    elif changed == "database":
        change_a_byte(copy / "database.sqlite3")
        expected = "database.sqlite3 weicht von ihrer Prüfsumme ab"
    elif changed == "added":
        (copy / "blobs" / "untergeschoben.pdf").write_bytes(b"%PDF-1.7")
        expected = "blobs/untergeschoben.pdf ist hinzugekommen"
    else:
        # The manifest recomputed after a change: only the hash noted at backup finds it.
        noted = hashlib.sha256((copy / "manifest.json").read_bytes()).hexdigest()
        (copy / "manifest.json").chmod(0o600)
        (copy / "manifest.json").write_text(
            (copy / "manifest.json").read_text().replace('"format": 2', '"format":  2')
        )
        options = ["--pruefsumme", noted]
        expected = "weicht von der notierten Prüfsumme ab"
    target = make_settings(tmp_path / "restored")
    done = run_cli(_env(target), "restore", str(copy), *options)
    assert done.returncode == 1
    assert "Wiederherstellung abgebrochen" in done.stderr and expected in done.stderr
    assert not (target.data_dir / "eakte.db").exists()


def test_the_manifest_does_not_grow_with_the_objects(embedded: tuple[dict, Path]) -> None:
    """Ten million documents are some forty million objects: their hashes are lines of
    objects.jsonl, read line by line; the manifest only names that file with its hash."""
    _, backup = embedded
    written = manifest(backup)
    assert written["objects"]["count"] == written["counts"]["objects"] > 0
    assert "blobs/" not in (backup / "manifest.json").read_text()
    lines = (backup / "objects.jsonl").read_text().splitlines()
    assert len(lines) == written["objects"]["count"]


def test_a_listing_that_names_a_file_outside_the_backup_is_refused(
    embedded: tuple[dict, Path], tmp_path: Path
) -> None:
    _, backup = embedded
    copy = tmp_path / "backup"
    shutil.copytree(backup, copy)
    listing = copy / "objects.jsonl"
    listing.chmod(0o600)
    first, *rest = listing.read_text().splitlines()
    forged = {**json.loads(first), "key": "../../etc/passwd"}
    listing.write_text("\n".join([json.dumps(forged), *rest]) + "\n")
    # The listing is covered by the manifest: a changed one is refused by its hash already...
    done = run_cli(_env(make_settings(tmp_path / "a")), "restore", str(copy))
    assert done.returncode == 1 and "objects.jsonl weicht von ihrer Prüfsumme ab" in done.stderr
    # ... and with the manifest forged to match, by the key itself.
    written = manifest(copy)
    written["files"]["objects.jsonl"] = hashlib.sha256(listing.read_bytes()).hexdigest()
    (copy / "manifest.json").chmod(0o600)
    (copy / "manifest.json").write_text(json.dumps(written))
    done = run_cli(_env(make_settings(tmp_path / "b")), "restore", str(copy))
    assert (
        done.returncode == 1 and "Zeile 1 der Objektliste der Sicherung ist unlesbar" in done.stderr
    )
    assert not (tmp_path / "b" / "eakte.db").exists()


def test_a_backup_missing_an_object_the_database_names_fails_loudly(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "source")
    runtime = build_runtime(settings)
    try:
        # Its original is named in the database but was never stored.
        file_indexed(runtime, OWN, "sonstiges", "Ein Brief ohne gespeichertes Original.")
    finally:
        runtime.close()
    backup = tmp_path / "backup"
    done = run_cli(_env(settings), "backup", "--out", str(backup))
    assert done.returncode == 1
    assert "Sicherung unvollständig, kein Manifest geschrieben" in done.stderr
    assert "originals/x" in done.stderr
    assert not (backup / "manifest.json").exists()
    refused = run_cli(_env(make_settings(tmp_path / "t")), "restore", str(backup))
    assert refused.returncode == 1 and "manifest.json fehlt" in refused.stderr


def test_a_backup_fails_on_an_object_whose_content_changed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "source")
    runtime = build_runtime(settings)
    try:
        stored = runtime.blobs.put("originals/ab/brief", io.BytesIO(b"%PDF-1.7 ein Brief"))
        file_indexed(
            runtime,
            OWN,
            "sonstiges",
            "Ein Brief, dessen Original danach verändert wird.",
            original_key=stored.key,
            original_sha256=stored.sha256,
        )
    finally:
        runtime.close()
    change_a_byte(settings.blob_dir / "originals" / "ab" / "brief")
    backup = tmp_path / "backup"
    done = run_cli(_env(settings), "backup", "--out", str(backup))
    assert done.returncode == 1
    assert "beschädigt (Prüfsumme stimmt nicht): originals/ab/brief" in done.stderr
    assert not (backup / "manifest.json").exists()


def test_the_restore_reports_an_object_that_does_not_match_the_database(
    tmp_path: Path,
) -> None:
    """The hash check after the restore compares the objects with the hashes the database
    recorded: a PDF recorded with another hash than its own fails the restore."""
    settings = make_settings(tmp_path / "source")
    runtime = build_runtime(settings)
    try:
        original = runtime.blobs.put("originals/ab/brief", io.BytesIO(b"%PDF-1.7 Original"))
        pdf = runtime.blobs.put("renditions/ab/brief.pdf", io.BytesIO(b"%PDF-1.7 Lesefassung"))
        file_indexed(
            runtime,
            OWN,
            "sonstiges",
            "Ein Brief, dessen Lesefassung mit falscher Prüfsumme vermerkt ist.",
            original_key=original.key,
            original_sha256=original.sha256,
            pdf_key=pdf.key,
            pdf_sha256="0" * 64,
        )
    finally:
        runtime.close()
    backup = tmp_path / "backup"
    assert run_cli(_env(settings), "backup", "--out", str(backup)).returncode == 0
    done = run_cli(_env(make_settings(tmp_path / "restored")), "restore", str(backup))
    assert done.returncode == 1
    assert "Prüfsummen: 1 Objekte fehlen oder weichen ab" in done.stderr


def test_a_letter_filed_while_the_objects_are_copied_is_a_harmless_extra(
    tmp_path: Path,
) -> None:
    """The database is copied first, in one snapshot; what is filed afterwards is not in it,
    and its objects, if copied too, are extras the restore puts back unreferenced."""
    settings = make_settings(tmp_path / "source")
    runtime = build_runtime(settings)
    holder = SimpleNamespace(blobs=runtime.blobs)
    try:
        installation_with_letters(runtime)
        taken = state(runtime)
        backup = tmp_path / "backup"
        with while_held(
            holder, "blobs", "open", lambda: take_backup(settings, holder.blobs, backup)
        ) as copying:
            # The snapshot is taken; a new letter arrives and is read before the copy ends.
            accept_file(runtime, SAMPLES / "docs" / "0003.pdf", "0003.pdf", None)
            work_until_idle(runtime)
            assert len(state(runtime)) == len(taken) + 1
            report = copying.finish()
    finally:
        runtime.close()
    assert report.documents == len(taken)
    target = make_settings(tmp_path / "restored")
    done = run_cli(_env(target), "restore", str(backup))
    assert done.returncode == 0, done.stdout + done.stderr
    _restored_as_taken(taken, target)


def test_a_backup_wants_a_new_folder(embedded: tuple[dict, Path], tmp_path: Path) -> None:
    _, backup = embedded
    settings = make_settings(tmp_path / "source")
    done = run_cli(_env(settings), "backup", "--out", str(backup))
    assert done.returncode == 1 and "ist nicht leer" in done.stderr


# --- PostgreSQL, MinIO with object lock, OpenSearch ------------------------------------------


@pytest.fixture
def fresh_stack(second_postgres_url: str) -> Iterator[dict[str, object]]:
    """An empty database (owner and runtime role), bucket with object lock and index."""
    runtime_role = make_url(service_env("EAKTE_TEST_APP_DATABASE_URL"))
    index = f"t-{uuid.uuid4().hex[:16]}"
    yield {
        "migration_database_url": second_postgres_url,
        "database_url": make_url(second_postgres_url)
        .set(username=runtime_role.username, password=runtime_role.password)
        .render_as_string(hide_password=False),
        "blob_store": "s3",
        "s3_endpoint": service_env("EAKTE_TEST_S3_ENDPOINT"),
        "s3_access_key": service_env("EAKTE_TEST_S3_ACCESS_KEY"),
        "s3_secret_key": service_env("EAKTE_TEST_S3_SECRET_KEY"),
        "s3_bucket": f"t-{uuid.uuid4().hex[:16]}",
        "s3_object_lock": True,
        "search_index": "opensearch",
        "opensearch_url": service_env("EAKTE_TEST_OPENSEARCH_URL"),
        "opensearch_index": index,
    }
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[service_env("EAKTE_TEST_OPENSEARCH_URL")])
    client.indices.delete(index=index, ignore_unavailable=True)
    client.close()
    _wait_for_runtime_role_to_leave(second_postgres_url, runtime_role.username)


def _wait_for_runtime_role_to_leave(owner_url: str, role: str | None) -> None:
    owner = create_engine(owner_url)
    try:
        with owner.connect() as connection:
            for _ in range(100):
                if not connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND usename = :role"
                    ),
                    {"role": role},
                ).scalar():
                    break
                connection.execute(text("SELECT pg_sleep(0.1)"))
    finally:
        owner.dispose()


@pytest.mark.services
@pytest.mark.slow
def test_backup_of_postgres_and_minio_restores_into_fresh_services(
    tmp_path: Path,
    postgres_url: str,
    postgres_runtime_url: str,
    s3_settings: dict[str, object],
    opensearch_settings: dict[str, object],
    fresh_stack: dict[str, object],
) -> None:
    source = make_settings(
        tmp_path / "source",
        database_url=postgres_runtime_url,
        migration_database_url=postgres_url,
        s3_object_lock=True,
        s3_retention_days=1,  # every object locked at upload: the locks must come back
        **s3_settings,
        **opensearch_settings,
    )
    runtime = build_runtime(source)
    try:
        installation_with_letters(runtime)
        taken = state(runtime)
        keys = [d["original"][0] for d in taken.values()] + [d["pdf"][0] for d in taken.values()]
        locks = {key: runtime.blobs.retained_until(key) for key in keys}  # type: ignore[attr-defined]
    finally:
        runtime.close()
    assert all(until is not None for until in locks.values())
    backup = tmp_path / "backup"
    done = run_cli(_env(source), "backup", "--out", str(backup))
    assert done.returncode == 0, done.stderr
    assert manifest(backup)["database"]["kind"].startswith("postgresql")

    target = make_settings(tmp_path / "restored", **fresh_stack)
    done = run_cli(_env(target), "restore", str(backup))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Wiederherstellung in Ordnung" in done.stdout
    _restored_as_taken(taken, target)
    runtime = build_runtime(target)
    try:
        for key, until in locks.items():
            restored = runtime.blobs.retained_until(key)  # type: ignore[attr-defined]
            assert restored is not None and until is not None
            assert abs(restored - until) < timedelta(seconds=1)
            assert restored > datetime.now(until.tzinfo)
    finally:
        runtime.close()
    again = run_cli(_env(target), "restore", str(backup))
    assert again.returncode == 1 and "enthält schon Tabellen" in again.stderr
