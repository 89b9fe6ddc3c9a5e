"""The `eakte` command line. Its commands and output formats are a contract: keep them stable."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.handover_cli import handover_app
from app.records_cli import records_app
from app.requests_cli import requests_app
from core.config import Settings, get_settings
from core.errors import EAkteError

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(help="E-Akte für kommunale Jobcenter", no_args_is_help=True, add_completion=False)
import_app = typer.Typer(help="Stammdaten aus dem Fachverfahren einlesen", no_args_is_help=True)
user_app = typer.Typer(help="Benutzerkonten verwalten", no_args_is_help=True)
audit_app = typer.Typer(help="Prüfprotokoll (Audit-Log)", no_args_is_help=True)
db_app = typer.Typer(help="Datenbank verwalten", no_args_is_help=True)
mailbox_app = typer.Typer(help="Funktionspostfach (IMAP) abrufen", no_args_is_help=True)
directory_app = typer.Typer(help="Verzeichnisdienst (LDAP/Active Directory)", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(mailbox_app, name="mailbox")
app.add_typer(directory_app, name="directory")
app.add_typer(records_app, name="records")
app.add_typer(handover_app, name="handover")
app.add_typer(requests_app, name="requests")


def _settings() -> Settings:
    try:
        return get_settings()
    except EAkteError as exc:
        typer.echo(f"Konfigurationsfehler: {exc.message}", err=True)
        raise typer.Exit(2) from None


def _runtime():  # type: ignore[no-untyped-def]
    from app.runtime import build_runtime

    return build_runtime(_settings())


def _logging() -> None:
    from core.logs import configure_logging

    # issue 20: EAKTE_LOG_FORMAT=json makes every line one JSON object (core.logs).
    configure_logging(_settings().log_format, os.environ.get("EAKTE_LOG_LEVEL", "INFO"))


def _logging_quiet() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Adresse, an der die Web-Anwendung lauscht")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port der Web-Anwendung")] = 8000,
    demo: Annotated[bool, typer.Option(help="Demo-Betrieb mit Beispieldaten")] = False,
) -> None:
    """Web-Anwendung und Worker starten."""
    if demo:
        os.environ["EAKTE_DEMO"] = "true"
        get_settings.cache_clear()
    _logging()
    runtime = _runtime()
    from app.demo import demo_logins, is_new, load_demo_data
    from app.serve import serve as run_server

    settings = runtime.settings
    if settings.demo and is_new(runtime):
        count = load_demo_data(runtime)
        typer.echo(f"Demo-Daten geladen: {count} Scans eingeliefert, Verarbeitung läuft.")
    url = f"http://{host}:{port}/"
    typer.echo("")
    typer.echo(f"E-Akte läuft: {url}  (API-Beschreibung: {url}openapi.json)")
    typer.echo(
        f"Daten: {settings.data_dir.resolve()}  Worker: {settings.workers}  "
        f"Web-Prozesse: {settings.web_processes}"
    )
    if settings.hot_folder is not None:
        typer.echo(f"Hot-Folder für Netzwerkscanner: {settings.hot_folder.resolve()}")
    if settings.mailbox_enabled:
        from ingest.mailbox import mailbox_label

        typer.echo(
            f"Funktionspostfach: {mailbox_label(settings)} "
            f"(alle {settings.mailbox_poll_seconds:g} s)"
        )
    if settings.demo:
        typer.echo("Demo-Zugänge (Login / Passwort / Rolle / Name):")
        for login, password, role, name in demo_logins(settings.data_dir):
            typer.echo(f"  {login:<14} {password:<14} {role:<15} {name}")
    typer.echo("")
    run_server(runtime, host, port)


@app.command()
def worker(
    until_idle: Annotated[
        bool, typer.Option(help="Beenden, sobald kein Auftrag mehr offen ist")
    ] = False,
) -> None:
    """Aufträge aus der Warteschlange abarbeiten (OCR, Indexierung)."""
    _logging()
    from ingest.worker import run_worker

    runtime = _runtime()
    # Workers (and the tesseract they start) yield the CPU to the web processes, so that the
    # caseworkers' pages keep answering while the day's mail is read (issue 20, load).
    if runtime.settings.worker_nice:
        os.nice(runtime.settings.worker_nice)
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run_worker(runtime, stop, until_idle=until_idle)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="Dateien oder Ordner")],
    wait: Annotated[
        bool, typer.Option(help="Warten, bis alles verarbeitet ist (liest dabei selbst mit)")
    ] = False,
    station: Annotated[str | None, typer.Option(help="Name des Scanplatzes")] = None,
) -> None:
    """Scans einliefern; mit --wait mit Fortschrittsanzeige bis zum Ende der Verarbeitung."""
    _logging_quiet()
    from ingest.cli_ingest import ingest_paths

    raise typer.Exit(ingest_paths(_runtime(), paths, wait=wait, station=station))


@app.command()
def documents(
    as_json: Annotated[bool, typer.Option("--json", help="Als JSON-Liste ausgeben")] = False,
    status: Annotated[
        str | None,
        typer.Option(help="Nur Einträge mit diesem Status (routed, clearing, done, ...)"),
    ] = None,
) -> None:
    """Alle Dokumente mit Dokumentart, Haushalt, Postkorb und Status."""
    from core.db import transaction
    from records.overview import document_rows

    runtime = _runtime()
    with transaction(runtime.sessions) as session:
        rows = document_rows(session)
    if status:
        rows = [row for row in rows if row["status"] == status]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        inbox = row["inbox"] or {}
        where = inbox.get("user") or inbox.get("team") or inbox.get("kind") or "-"
        typer.echo(
            f"{row['status']:<10} {row['source']:<30} {row['pages'] or 0:>3} S.  "
            f"{row['doc_type'] or '-':<34} {row['bg_number'] or '-':<15} {where}"
        )
    typer.echo(f"{len(rows)} Einträge")


@contextmanager
def _schema_engine(url: str) -> Iterator[Engine]:
    """An engine for work on the schema, disposed afterwards; an error of ours ends the
    command with its German message and exit code 1."""
    from core.db import make_engine

    engine = make_engine(url)
    try:
        yield engine
    except EAkteError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@app.command()
def migrate() -> None:
    """Datenbankschema auf den neuesten Stand bringen (mit EAKTE_MIGRATION_DATABASE_URL als
    Eigentümerin des Schemas, die dann der Laufzeitrolle ihre Rechte gibt)."""
    from records.db_roles import migrate_database

    settings = _settings()
    with _schema_engine(settings.resolved_database_url) as engine:
        migrate_database(settings, engine)
    typer.echo(f"Schema aktuell ({engine.dialect.name}).")


def _import(kind: str, path: Path, as_json: bool) -> None:
    from core.db import transaction
    from records.masterdata import (
        HOUSEHOLD_COLUMNS,
        STAFF_COLUMNS,
        import_households,
        import_staff,
        read_csv,
    )

    runtime = _runtime()
    try:
        with transaction(runtime.sessions) as session:
            if kind == "staff":
                report = import_staff(session, read_csv(path, STAFF_COLUMNS))
            else:
                report = import_households(session, read_csv(path, HOUSEHOLD_COLUMNS))
    except EAkteError as exc:
        typer.echo(f"Import abgebrochen, nichts geändert: {exc.message}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(report.summary())
    for label, items in (
        ("neu", report.created),
        ("geändert", report.updated),
        ("deaktiviert", report.deactivated),
        ("reaktiviert", report.reactivated),
        ("Akte geschlossen", report.closed),
        ("Akte wiedereröffnet", report.reopened),
    ):
        if items:
            typer.echo(f"  {label}: {', '.join(items)}")
    for warning in report.warnings:
        typer.echo(f"  Warnung: {warning}")


FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Bericht als JSON")]


@import_app.command("staff")
def import_staff_command(file: FileArg, as_json: JsonOpt = False) -> None:
    """Mitarbeitende einlesen (CSV: login,name,team,role)."""
    _import("staff", file, as_json)


@import_app.command("households")
def import_households_command(file: FileArg, as_json: JsonOpt = False) -> None:
    """Bedarfsgemeinschaften einlesen (CSV wie households.csv der Beispiele)."""
    _import("households", file, as_json)


@user_app.command("set-password")
def set_password_command(login: str) -> None:
    """Neues Passwort setzen; es wird von der Standardeingabe gelesen."""
    from core.db import transaction
    from records.users import set_password

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Neues Passwort: ")
        if getpass.getpass("Wiederholen: ") != password:
            typer.echo("Die Passwörter stimmen nicht überein.", err=True)
            raise typer.Exit(1)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    runtime = _runtime()
    try:
        with transaction(runtime.sessions) as session:
            set_password(session, login, password)
    except EAkteError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Passwort für {login} gesetzt.")


@user_app.command("break-glass")
def break_glass_command(
    login: str,
    on: Annotated[
        bool, typer.Option("--on/--off", help="Als Notfallkonto markieren oder nicht mehr")
    ] = True,
) -> None:
    """Ein lokales Konto als Notfallkonto markieren: Es meldet sich mit seinem lokalen
    Passwort an, auch wenn ein Verzeichnisdienst eingerichtet ist (jede Anmeldung wird
    protokolliert). Mit --off endet das."""
    from core.db import transaction
    from records.users import set_break_glass

    runtime = _runtime()
    try:
        with transaction(runtime.sessions) as session:
            user = set_break_glass(session, login, on)
            without_password = not user.password_hash
    except EAkteError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    if on:
        typer.echo(f"{login} ist jetzt ein Notfallkonto.")
        if without_password:
            typer.echo(f"Es hat noch kein Passwort: eakte user set-password {login}")
    else:
        typer.echo(f"{login} ist kein Notfallkonto mehr.")


@directory_app.command("sync")
def directory_sync_command() -> None:
    """Die Konten aus dem Verzeichnisdienst abgleichen: Rolle, Team und Name folgen den
    Gruppen; wer nicht mehr im Verzeichnis, gesperrt oder in keiner zugeordneten Gruppe ist,
    wird deaktiviert (offene Sitzungen enden)."""
    _logging_quiet()
    from records.directory import sync

    runtime = _runtime()
    try:
        report = sync(runtime.sessions, runtime.settings)
    except EAkteError as exc:
        typer.echo(f"Abgleich fehlgeschlagen, nichts geändert: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    typer.echo(report.german())


def _noted_head(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise typer.BadParameter("erwartet NR:HASH, wie `eakte audit verify` ihn ausgibt")
    return int(seq), digest.lower()


@audit_app.command("verify")
def audit_verify(
    noted: Annotated[
        str | None,
        typer.Option(
            "--notiert",
            help="Früher notierter letzter Eintrag (NR:HASH): muss noch in der Kette stehen; "
            "findet am Ende entfernte Einträge und eine neu berechnete Kette",
        ),
    ] = None,
) -> None:
    """Hash-Kette des Prüfprotokolls prüfen; Exit-Code 1 und der erste gebrochene Eintrag,
    wenn ein Eintrag verändert, entfernt oder eingefügt wurde."""
    from core.db import transaction
    from records.audit_chain import verify_chain

    anchor = _noted_head(noted)
    runtime = _runtime()
    try:
        with transaction(runtime.sessions, read_only=True) as session:
            report = verify_chain(session, anchor)
    finally:
        runtime.close()
    if report.first_break is not None:
        typer.echo(
            f"Prüfkette gebrochen / audit chain broken: {report.first_break.message}", err=True
        )
        raise typer.Exit(1)
    typer.echo(
        f"Prüfkette intakt: {report.rows} Einträge / audit chain intact: {report.rows} entries"
    )
    if report.starts_after:
        typer.echo(
            f"Beginnt nach Nr. {report.starts_after}: ältere Einträge nach ihrer Frist gelöscht "
            "(eakte audit prune)"
        )
    # Rows cut off the end leave a shorter intact chain: note the head and compare next time.
    typer.echo(f"Letzter Eintrag / head (für --notiert): {report.head_seq}:{report.head_hash}")


@audit_app.command("prune")
def audit_prune() -> None:
    """Einträge des Prüfprotokolls löschen, die älter sind als seine Aufbewahrungsfrist
    (EAKTE_AUDIT_RETENTION_YEARS, Standard 2 Jahre): der einzige Weg, auf dem Einträge das
    Protokoll verlassen. Nur ein lückenloser Anfang der Kette, nur aus einer intakten Kette;
    ein Anker hält fest, wo die Kette nun beginnt, und das Löschen selbst wird protokolliert."""
    from records.housekeeping import prune_audit_log

    runtime = _runtime()
    try:
        report = prune_audit_log(runtime.sessions, runtime.settings, by_login="eakte-cli")
    except EAkteError as exc:
        typer.echo(f"Nichts gelöscht: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    typer.echo(report.german())


@db_app.command("grant-runtime")
def db_grant_runtime(
    role: Annotated[str, typer.Argument(help="Datenbankrolle, mit der die Anwendung läuft")],
) -> None:
    """Der Laufzeitrolle (PostgreSQL) die nötigen Rechte geben: Fachtabellen lesen und
    schreiben, das Prüfprotokoll nur ergänzen und lesen. Läuft als Eigentümerin des Schemas
    (EAKTE_MIGRATION_DATABASE_URL, sonst EAKTE_DATABASE_URL)."""
    from records.db_roles import grant_runtime_role
    from records.schema import migrate

    settings = _settings()
    with _schema_engine(settings.migration_database_url or settings.resolved_database_url) as owner:
        migrate(owner)
        grant_runtime_role(owner, role, settings.audit_retention_years)
    typer.echo(f"Rechte für {role} gesetzt: Prüfprotokoll nur Lesen und Anfügen.")


@app.command()
def reindex(
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=20_000, help="Dokumente je Schreibvorgang")
    ] = 500,
    restart: Annotated[
        bool, typer.Option(help="Einen unterbrochenen Lauf nicht fortsetzen, sondern neu beginnen")
    ] = False,
    pending: Annotated[
        bool,
        typer.Option(
            "--pending",
            help="Nur die ausstehenden Einträge nachtragen (Warteschlange des Suchindex), "
            "sofort und ohne Wartezeit, statt alles neu aufzubauen",
        ),
    ] = False,
) -> None:
    """Suchindex aus der Datenbank neu aufbauen (fortsetzbar, entfernt veraltete Einträge)."""
    _logging_quiet()
    if pending:
        _reindex_pending()  # issue 20, outbox20
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from records.reindex import reindex_all

    runtime = _runtime()
    console = Console(stderr=True)
    columns = (
        TextColumn("Suchindex"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("Dokumente"),
        TimeElapsedColumn(),
        TextColumn("noch"),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("reindex", total=None)

            def _advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = reindex_all(
                runtime, batch_size=batch_size, restart=restart, on_progress=_advance
            )
    except EAkteError as exc:
        hint = "Neuaufbau unterbrochen, der nächste Aufruf setzt ihn fort"
        typer.echo(f"{hint}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    resumed = " (unterbrochenen Lauf fortgesetzt)" if report.resumed else ""
    typer.echo(
        f"Suchindex neu aufgebaut{resumed}: {report.indexed} Dokumente indexiert, "
        f"{report.removed} veraltete Einträge entfernt, {report.seconds:.1f} s."
    )


def _reindex_pending() -> None:
    """`eakte reindex --pending`: the index outbox drained now (records.index_outbox)."""
    from records.index_outbox import drain_all, pending_index_writes, retry_now

    runtime = _runtime()
    try:
        retry_now(runtime)
        done = drain_all(runtime)
        left, oldest = pending_index_writes(runtime)
    finally:
        runtime.close()
    typer.echo(f"Suchindex nachgetragen: {done} ausstehende Einträge geschrieben.")
    if left:
        typer.echo(
            f"{left} Einträge stehen weiter aus (ältester seit {oldest or 0:.0f} s): der "
            "Suchindex ist nicht erreichbar; sie werden automatisch nachgetragen, sobald er "
            "wieder antwortet.",
            err=True,
        )
        raise typer.Exit(1)


def _mailbox_configured(settings: Settings) -> None:
    if not settings.mailbox_enabled:
        typer.echo(
            "Kein Funktionspostfach eingerichtet (EAKTE_MAILBOX_HOST ist nicht gesetzt).",
            err=True,
        )
        raise typer.Exit(2)


@mailbox_app.command("fetch")
def mailbox_fetch(
    wait: Annotated[
        bool, typer.Option(help="Warten, bis die abgerufenen E-Mails verarbeitet sind")
    ] = False,
) -> None:
    """Das Funktionspostfach einmal abrufen: jede E-Mail wird ein Eingang wie ein Scan,
    danach auf dem Server in den Erledigt-Ordner verschoben (defekte: in die Quarantäne)."""
    _logging_quiet()
    from ingest.mailbox import Mailbox, MailboxUnavailable

    settings = _settings()
    _mailbox_configured(settings)
    runtime = _runtime()
    try:
        try:
            report = Mailbox(runtime).fetch_once()
        except MailboxUnavailable as exc:
            typer.echo(f"Abruf fehlgeschlagen, nichts übernommen: {exc}", err=True)
            raise typer.Exit(1) from None
        if report.busy:
            typer.echo("Ein anderer Prozess ruft das Postfach gerade ab; bitte später erneut.")
            raise typer.Exit(3)
        for subject in report.accepted:
            typer.echo(f"übernommen: {subject or '(ohne Betreff)'}")
        for subject, reason in report.quarantined:
            typer.echo(f"Quarantäne: {subject or '(ohne Betreff)'}: {reason}")
        if report.moved_again:
            typer.echo(f"nur verschoben (schon übernommen): {report.moved_again}")
        typer.echo(
            f"{len(report.accepted)} E-Mails übernommen, {len(report.quarantined)} in Quarantäne."
        )
        if wait and report.accepted:
            from ingest.worker import run_worker

            run_worker(runtime, threading.Event(), until_idle=True)
            typer.echo("Verarbeitung abgeschlossen.")
    finally:
        runtime.close()


@mailbox_app.command("status")
def mailbox_status(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Letzte Nachrichten")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Als JSON ausgeben")] = False,
) -> None:
    """Einstellung des Funktionspostfachs und die zuletzt abgerufenen E-Mails, mit dem Grund
    jeder Quarantäne."""
    from ingest.mailbox import mailbox_label, status

    settings = _settings()
    runtime = _runtime()
    try:
        current = status(runtime, limit)
    finally:
        runtime.close()
    configured = mailbox_label(settings) if settings.mailbox_enabled else None
    if as_json:
        rows = [
            {
                "taken_at": row.taken_at.isoformat(),
                "outcome": row.outcome,
                "message_id": row.message_id,
                "sender": row.sender,
                "subject": row.subject,
                "size_bytes": row.size_bytes,
                "reason": row.reason,
                "batch_id": str(row.batch_id) if row.batch_id else None,
                "moved": row.moved_at is not None,
            }
            for row in current.recent
        ]
        typer.echo(
            json.dumps(
                {
                    "mailbox": configured,
                    "accepted": current.accepted,
                    "quarantined": current.quarantined,
                    "not_moved": current.not_moved,
                    "recent": rows,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if configured is None:
        typer.echo("Funktionspostfach: aus (EAKTE_MAILBOX_HOST ist nicht gesetzt)")
    else:
        typer.echo(
            f"Funktionspostfach: {configured} ({settings.mailbox_security}, "
            f"alle {settings.mailbox_poll_seconds:g} s; erledigt: "
            f"{settings.mailbox_done_folder}, Quarantäne: {settings.mailbox_quarantine_folder})"
        )
    typer.echo(
        f"{current.accepted} übernommen, {current.quarantined} in Quarantäne, "
        f"{current.not_moved} noch nicht verschoben"
    )
    for row in current.recent:
        label = "übernommen" if row.outcome == "accepted" else "Quarantäne"
        moved = "" if row.moved_at else " (noch im Eingang)"
        typer.echo(
            f"{row.taken_at:%d.%m.%Y %H:%M}  {label:<10}  {row.sender or '-'}: "
            f"{row.subject or '(ohne Betreff)'}{moved}"
        )
        if row.reason:
            typer.echo(f"    Grund: {row.reason}")


# The records manager's commands (issue 17), each part in a module of its own: records due
# (life), offer/evaluate/transfer/confirm/runs (xdomea), lock/housekeeping (lock), destruction.
from app import (  # noqa: E402
    records_cli_destroy,
    records_cli_life,  # noqa: F401
    records_cli_lock,  # noqa: F401
    records_cli_xdomea,  # noqa: F401
)

app.command("verify")(records_cli_destroy.verify_command)  # `eakte verify` (destruction)

# Hand-over and take-over of files between authorities (issue 18); backup/restore (issue 20).
from app import backup_cli, handover_cli_export, handover_cli_import  # noqa: E402, F401

backup_cli.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
