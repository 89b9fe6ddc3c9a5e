"""`eakte handover export` and the receiving side's answers (0402/0403): written by the
hand-over (issue 18, records/handover.py).

The commands act as `cli` (an account of the records manager's role that is never stored,
records.disposal.cli_user), as the other commands that change data on the command line do;
their actions are audited as `cli`. A refusal ends with its German reason on stderr and exit
code 1; nothing is changed then."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.handover_cli import handover_app
from app.records_cli import unit_of_work


def _left_out(values: list[str]) -> dict[str, str]:
    """`DOC_ID=REASON` pairs; a pair without `=` has no reason (the service refuses it)."""
    left: dict[str, str] = {}
    for value in values:
        doc_id, _sep, reason = value.partition("=")
        left[doc_id.strip()] = reason.strip()
    return left


@handover_app.command("export")
def export_command(
    bg_number: Annotated[str, typer.Argument(help="BG-Nummer der abzugebenden Akte")],
    to: Annotated[str, typer.Option("--to", help="Name der aufnehmenden Behörde")],
    out: Annotated[Path, typer.Option("--out", help="Ordner für die Abgabenachricht (0401)")],
    leave_out: Annotated[
        list[str] | None,
        typer.Option(
            "--leave-out",
            help="Ein Dokument nicht abgeben: DOKUMENT_ID=GRUND (mehrfach möglich)",
        ),
    ] = None,
) -> None:
    """Die Akte an eine andere Behörde abgeben (xdomea 0401); die Akte ist danach
    schreibgeschützt. Die letzte Zeile ist der Pfad der ZIP-Datei."""
    from core.db import utcnow
    from ingest.filing import catalogue_for
    from records.handover import start_handover

    with unit_of_work() as (runtime, gate):
        names = {
            rule.code: rule.name for rule in catalogue_for(runtime.settings, gate.session).types
        }
        started = start_handover(
            gate,
            runtime.blobs,
            runtime.settings,
            bg_number,
            to,
            _left_out(leave_out or []),
            out,
            utcnow(),
            names,
        )
        sent, left = len(started.handover.documents), len(started.handover.left_out)
        number, recipient = started.handover.bg_number, started.handover.recipient
    typer.echo(f"Akte {number} an {recipient} abgegeben: {sent} Dokument(e), {left} weggelassen.")
    typer.echo("Die Akte ist jetzt schreibgeschützt.")
    typer.echo(str(started.path))


@handover_app.command("answer")
def answer_command(
    zip_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Die Antwort der aufnehmenden Behörde einlesen: 0403 (Empfang bestätigt) oder 0402
    (Import je Akte erfolgreich oder fehlgeschlagen)."""
    from records.handover import import_answer

    with unit_of_work() as (runtime, gate):
        result = import_answer(
            gate, runtime.blobs, runtime.settings, zip_file.read_bytes(), zip_file.name
        )
        summary = result.summary()
    typer.echo(summary)
