"""`eakte backup` and `eakte restore` (issue 20): a consistent backup of database and blob
store, and its restore into an empty stack with the search index rebuilt, the stored objects
checked against their SHA-256 and the audit chain verified. The work is in records/backup.py."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from core.errors import EAkteError


def _settings():  # type: ignore[no-untyped-def]
    from app.cli import _settings as settings

    return settings()


def _progress(label: str, done: int, total: int) -> None:
    if total and (done == total or done % 500 == 0):
        typer.echo(f"  {label}: {done}/{total}", err=True)


def backup_command(
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Neuer, leerer Ordner für die Sicherung (wird angelegt)", file_okay=False
        ),
    ],
) -> None:
    """Sicherung von Datenbank und Ablage (bei der Standardinstallation: des Datenordners)
    in einen neuen Ordner: erst die Datenbank in einem Schnappschuss, dann jedes Objekt der
    Ablage; zuletzt das Manifest mit den Prüfsummen aller Dateien. Der Suchindex wird nicht
    gesichert, sondern bei der Wiederherstellung neu aufgebaut."""
    from records.backup import record_backup_taken, take_backup
    from storage import make_data_dir_private, open_blob_store

    settings = _settings()
    try:
        if settings.blob_store == "local":
            make_data_dir_private(settings)
        blobs = open_blob_store(settings)
        report = take_backup(settings, blobs, out, on_progress=_progress)
        record_backup_taken(settings, report)
    except EAkteError as exc:
        typer.echo(f"Sicherung fehlgeschlagen: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(report.german())


def restore_command(
    source: Annotated[
        Path,
        typer.Argument(
            help="Ordner einer Sicherung (mit manifest.json)", file_okay=False, metavar="ORDNER"
        ),
    ],
    manifest_sha256: Annotated[
        str | None,
        typer.Option(
            "--pruefsumme",
            help="Beim Sichern notierte Prüfsumme des Manifests: findet auch ein neu "
            "berechnetes Manifest",
        ),
    ] = None,
) -> None:
    """Sicherung in eine leere Umgebung zurückspielen (leere Datenbank und leere Ablage bzw.
    neuer Datenordner; in vorhandene Daten wird nie gemischt): Sicherung gegen ihr Manifest
    prüfen, Datenbank laden (mit den Rechten der Laufzeitrolle), Objekte zurückschreiben (mit
    ihren Aufbewahrungssperren), Suchindex neu aufbauen, alle Prüfsummen und die Kette des
    Prüfprotokolls prüfen. Exit-Code 1, wenn etwas nicht stimmt."""
    from app.runtime import build_runtime
    from core.db import transaction
    from ingest.verify import VERIFY_JOB, verify_store
    from records.audit_chain import verify_chain
    from records.backup import (
        BACKUP_RESTORED,
        check_backup,
        check_targets_empty,
        claim_job,
        job_result,
        manifest_digest,
        missing_references,
        record,
        restore_data_files,
        restore_database,
        restore_objects,
    )
    from records.reindex import reindex_all
    from storage import make_data_dir_private, open_blob_store

    settings = _settings()
    seconds: dict[str, float] = {}
    began = time.monotonic()

    def lap(name: str) -> None:
        seconds[name] = time.monotonic() - began - sum(seconds.values())

    try:
        manifest = check_backup(source, manifest_sha256)
        lap("Prüfung der Sicherung")
        if settings.blob_store == "local" or settings.database_url is None:
            make_data_dir_private(settings)
        blobs = open_blob_store(settings)
        check_targets_empty(settings, blobs)
        restore_database(settings, manifest, source)
        lap("Datenbank")
        objects, locks, not_locked = restore_objects(blobs, manifest, source, _progress)
        restore_data_files(settings, source)
        lap("Objekte")
        runtime = build_runtime(settings)  # migrates a backup of an older version, grants
    except EAkteError as exc:
        typer.echo(f"Wiederherstellung abgebrochen: {exc.message}", err=True)
        raise typer.Exit(1) from None
    failures: list[str] = []
    try:
        missing = missing_references(runtime.sessions, runtime.blobs)
        if missing:
            failures.append(f"{len(missing)} Objekte, auf die die Datenbank verweist, fehlen")
        index = reindex_all(runtime, restart=True)
        lap("Suchindex")
        job = claim_job(runtime.sessions, VERIFY_JOB)
        verify_store(runtime, job, lambda: True)
        result = job_result(runtime.sessions, job.id)
        problems = result.get("problems", [])
        if problems or not result.get("ok"):
            failures.append(f"Prüfsummen: {len(problems)} Objekte fehlen oder weichen ab")
        lap("Prüfsummen")
        record(
            runtime.sessions,
            BACKUP_RESTORED,
            backup_created_at=manifest.get("created_at"),
            manifest_sha256=manifest_digest(source),
            documents=manifest.get("counts", {}).get("documents", 0),
            objects=objects,
        )
        with transaction(runtime.sessions, read_only=True) as session:
            chain = verify_chain(session, None)
        if chain.first_break is not None:
            failures.append(f"Prüfprotokoll: Kette gebrochen ({chain.first_break.message})")
        lap("Prüfprotokoll")
    except EAkteError as exc:
        typer.echo(f"Wiederherstellung unvollständig: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    counts = manifest.get("counts", {})
    typer.echo(
        f"Wiederhergestellt aus {source} (Sicherung vom {manifest.get('created_at', '?')}, "
        f"Version {manifest.get('version', '?')}, Schemastand {manifest.get('schema_revision')})"
    )
    typer.echo(
        f"  Datenbank: {counts.get('documents', 0)} Dokumente, {counts.get('pages', 0)} Seiten, "
        f"{counts.get('households', 0)} Haushalte, {counts.get('audit_events', 0)} "
        "Protokolleinträge"
    )
    typer.echo(
        f"  Ablage: {objects} Objekte zurückgeschrieben, {locks} Aufbewahrungssperren gesetzt"
    )
    if not_locked:
        typer.echo(
            f"  Warnung: {not_locked} Objekte hatten eine Aufbewahrungssperre, die Ziel-Ablage "
            "hat keinen Objekt-Lock (EAKTE_S3_OBJECT_LOCK): Sperren nicht gesetzt"
        )
    typer.echo(f"  Suchindex: {index.indexed} Dokumente indexiert")
    typer.echo(
        f"  Prüfsummen: {result.get('checked', 0)} Objekte geprüft, {len(problems)} Probleme"
    )
    typer.echo(
        f"  Prüfprotokoll: {chain.rows} Einträge, "
        + ("Kette intakt" if chain.first_break is None else "Kette GEBROCHEN")
    )
    typer.echo(
        "  Dauer: "
        + ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items())
        + f" (zusammen {sum(seconds.values()):.1f} s)"
    )
    if failures:
        typer.echo("Wiederherstellung NICHT in Ordnung: " + "; ".join(failures), err=True)
        raise typer.Exit(1)
    typer.echo("Wiederherstellung in Ordnung.")


def register(app: typer.Typer) -> None:
    """Add the commands to `eakte` (called by app/cli.py, also when it runs as __main__)."""
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
