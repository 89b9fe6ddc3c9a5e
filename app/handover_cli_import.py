"""`eakte handover import ZIP [--json]`: taking over another authority's 0401 (issue 18,
records/takeover.py).

The command acts as `cli`, an account of the scanning desk's role that is never stored (0401
messages arrive at the central mail desk). It prints where the file went (the household, or
that it waits in clearing) and how many documents it brought, writes our 0402 answer next to
the zip and prints its path last. A refused message ends with exit code 1 and its German
problems on stderr; nothing is stored then, but a 0402 with `Erfolgreich` false is still
written next to the zip when the message can be addressed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.handover_cli import handover_app

ZipArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


def _write_answer(zip_file: Path, name: str, data: bytes) -> Path:
    target = zip_file.resolve().parent / name
    partial = target.with_suffix(".zip.part")
    partial.write_bytes(data)
    partial.replace(target)
    return target


@handover_app.command("import")
def import_command(
    zip_file: ZipArg,
    as_json: Annotated[bool, typer.Option("--json", help="Ergebnis als JSON ausgeben")] = False,
) -> None:
    """Eine Abgabe (xdomea 0401) einer anderen Behörde übernehmen und die Importbestätigung
    (0402) neben die ZIP-Datei schreiben; die letzte Zeile ist ihr Pfad."""
    from datetime import UTC, datetime

    from app.cli import _runtime
    from core.db import record_after_rollback, transaction
    from core.errors import EAkteError
    from ingest.filing import catalogue_for
    from records.access import Gate
    from records.takeover import TakeoverRefused, cli_desk_user, import_0401

    runtime = _runtime()
    try:
        types = catalogue_for(runtime.settings, runtime.sessions).types
        with transaction(runtime.sessions) as session:
            imported = import_0401(
                Gate(session, cli_desk_user()),
                runtime,
                zip_file.read_bytes(),
                zip_file.name,
                datetime.now(UTC),
                types,
            )
            takeover = imported.takeover
            household = takeover.household.bg_number if takeover.household else None
            state, count = takeover.state, takeover.document_count
            sender = takeover.sender
    except TakeoverRefused as exc:
        record_after_rollback(runtime.sessions, exc)
        answer = _write_answer(zip_file, *exc.answer) if exc.answer else None
        if as_json:
            refused = {
                "state": "refused",
                "household": None,
                "documents": 0,
                "problems": exc.problems,
                "answer": str(answer) if answer else None,
            }
            typer.echo(json.dumps(refused, ensure_ascii=False))
        typer.echo("Abgewiesen, nichts übernommen:", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        if answer:
            typer.echo(
                f"Importbestätigung (0402, nicht erfolgreich) geschrieben: {answer}", err=True
            )
        raise typer.Exit(1) from None
    except EAkteError as exc:
        record_after_rollback(runtime.sessions, exc)
        typer.echo(f"Abgebrochen, nichts übernommen: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    receipt = _write_answer(zip_file, *imported.receipt) if imported.receipt else None
    path = _write_answer(zip_file, imported.answer_name, imported.answer_data)
    if as_json:
        result = {
            "household": household,
            "state": state,
            "documents": count,
            "sender": sender,
            "takeover": takeover.id,
            "answer": str(path),
            "receipt": str(receipt) if receipt else None,
        }
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    if household:
        typer.echo(f"Akte von {sender} übernommen: Bedarfsgemeinschaft {household}.")
    else:
        typer.echo(
            f"Akte von {sender} übernommen: wartet in der Klärung auf die Zuordnung zu einer"
            " Bedarfsgemeinschaft."
        )
    typer.echo(f"{count} Dokument(e) übernommen.")
    if receipt:
        typer.echo(f"Empfangsbestätigung (0403) geschrieben: {receipt}")
    typer.echo(f"Importbestätigung (0402) geschrieben: {path}")
    typer.echo(str(path))
