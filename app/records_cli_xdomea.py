"""`eakte records offer|evaluate|transfer|confirm|runs`: the Aussonderung with the public
archive in xdomea 3.0.0 (records/disposal.py) on the command line.

The commands act as `cli` (an account of the records manager's role that is never stored), as
the other commands that change data on the command line do. An invalid message is refused
with its German problems on stderr and exit code 1; nothing is changed then."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from app.records_cli import records_app, unit_of_work

OutOpt = Annotated[
    Path, typer.Option("--out", help="Ordner, in den die Nachricht geschrieben wird")
]
ZipArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


@records_app.command("offer")
def offer_command(out: OutOpt) -> None:
    """Das Anbieteverzeichnis (xdomea 0501) aller fälligen, nicht gesperrten Akten schreiben;
    die letzte Zeile ist der Pfad der ZIP-Datei."""
    from core.dates import local_today
    from records.disposal import start_run
    from records.models import DisposalRun

    with unit_of_work() as (runtime, gate):
        written = start_run(gate, runtime.blobs, runtime.settings, local_today(), out)
        if written is None:
            typer.echo("Keine Akte ist zur Aussonderung fällig; kein Vorgang angelegt.")
            return
        count = len(gate.session.get_one(DisposalRun, written.message.run_id).items)
    typer.echo(f"{count} Akte(n) angeboten.")
    typer.echo(str(written.path))


def _import(path: Path, out: Path | None, expected: tuple[str, ...]) -> None:
    from records.disposal import import_message

    with unit_of_work() as (runtime, gate):
        result = import_message(
            gate,
            runtime.blobs,
            runtime.settings,
            path.read_bytes(),
            path.name,
            out or path.parent,
            expected=expected,
        )
        summary = result.summary()
        warnings = list(result.warnings)
        reply = result.reply.path if result.reply else None
    typer.echo(summary)
    for warning in warnings:
        typer.echo(f"Hinweis: {warning}")
    if reply is not None:
        typer.echo(f"Empfangsbestätigung (0505) geschrieben: {reply}")
        typer.echo(str(reply))


@records_app.command("evaluate")
def evaluate_command(
    zip_file: ZipArg,
    out: Annotated[
        Path | None, typer.Option("--out", help="Ordner für die Empfangsbestätigung (0505)")
    ] = None,
) -> None:
    """Das Bewertungsverzeichnis des Archivs (xdomea 0502) einlesen."""
    _import(zip_file, out, ("0502",))


@records_app.command("confirm")
def confirm_command(zip_file: ZipArg) -> None:
    """Eine Bestätigung des Archivs einlesen: 0504 (Anbieteverzeichnis erhalten), 0506
    (Import je Akte, mit Archivkennung) oder 0507 (Aussonderung erhalten)."""
    _import(zip_file, None, ("0504", "0506", "0507"))


@records_app.command("transfer")
def transfer_command(
    run_id: Annotated[int, typer.Argument(help="Nummer des Aussonderungsvorgangs")],
    out: OutOpt,
) -> None:
    """Die vom Archiv übernommenen Akten als Aussonderung (xdomea 0503) schreiben; die
    letzte Zeile ist der Pfad der ZIP-Datei."""
    from core.dates import local_today
    from records.disposal import transfer

    with unit_of_work() as (runtime, gate):
        written = transfer(gate, runtime.blobs, runtime.settings, run_id, local_today(), out)
    if written is None:
        typer.echo(
            "Keine Aussonderung geschrieben: Alle Akten wurden zurückgezogen "
            "(eakte records runs nennt die Gründe)."
        )
        return
    typer.echo(str(written.path))


@records_app.command("runs")
def runs_command(
    as_json: Annotated[bool, typer.Option("--json", help="Als JSON ausgeben")] = False,
) -> None:
    """Die Aussonderungsvorgänge mit ihren Akten und Nachrichten."""
    from records.disposal import ITEM_LABELS, runs

    rows: list[dict[str, Any]] = []
    with unit_of_work() as (_runtime, gate):
        for view in runs(gate):
            rows.append(
                {
                    "id": view.run.id,
                    "process_id": str(view.run.process_id),
                    "state": view.run.state,
                    "state_label": view.state_label,
                    "archive": view.run.archive_name,
                    "created_at": view.run.created_at.isoformat(),
                    "items": [
                        {
                            "bg_number": item.bg_number,
                            "file_uuid": str(item.file_uuid),
                            "state": item.state,
                            "state_label": ITEM_LABELS[item.state],
                            "proposal": item.proposal,
                            "decision": item.decision,
                            "archive_ref": item.archive_ref,
                            "problem": item.problem,
                        }
                        for item in view.items
                    ],
                    "messages": [
                        {"type": m.msg_type, "direction": m.direction, "filename": m.filename}
                        for m in view.messages
                    ],
                }
            )
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("Keine Aussonderungsvorgänge.")
    _print(rows, typer.echo)


def _print(rows: list[dict[str, Any]], echo: Callable[[str], None]) -> None:
    for row in rows:
        echo(f"Vorgang {row['id']} ({row['process_id']}): {row['state_label']}, {row['archive']}")
        for item in row["items"]:
            extra = f", {item['archive_ref']}" if item["archive_ref"] else ""
            echo(f"  {item['bg_number']}: {item['state_label']}{extra}")
            if item["problem"]:
                echo(f"    {item['problem']}")
