"""`eakte verify` and `eakte records destroy-orders` (issue 17, documented destruction)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app.records_cli import records_app
from core.config import get_settings
from core.db import transaction


def _runtime():  # type: ignore[no-untyped-def]
    from app.runtime import build_runtime

    return build_runtime(get_settings())


def verify_command() -> None:
    """Prüfen, dass von jeder vernichteten Akte und jedem gelöschten Dokument nichts mehr
    übrig ist: keine Zeilen in der Datenbank, kein Objekt (in keiner Version), kein
    Sucheintrag. Exit-Code 1, wenn etwas übrig ist."""
    from records.destruction import verify

    runtime = _runtime()
    try:
        checked, remains = verify(runtime)
    finally:
        runtime.close()
    for row in remains:
        typer.echo(f"{row.bg_number or '–'} (Protokoll {row.protocol_id}): {row.what}")
    if remains:
        typer.echo(
            f"Nicht vollständig vernichtet: {len(remains)} Reste aus {checked} Protokollen.",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"Vollständig vernichtet: {checked} Protokolle geprüft, keine Reste gefunden.")


@records_app.command("destroy-orders")
def destroy_orders(
    as_json: Annotated[bool, typer.Option("--json", help="Als JSON ausgeben")] = False,
) -> None:
    """Vernichtungsaufträge mit ihren Freigaben und Protokollen auflisten."""
    from records.destruction import ORDER_STATE_LABELS, order_rows

    runtime = _runtime()
    try:
        with transaction(runtime.sessions, read_only=True) as session:
            rows = order_rows(session)
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        target = (
            f"Aussonderung {row['run_id']}" if row["run_id"] else f"Dokument {row['document_id']}"
        )
        approvers = ", ".join(row["approved_by"]) or "–"
        typer.echo(
            f"#{row['id']} {target}: {ORDER_STATE_LABELS[row['state']]} "
            f"(beantragt von {row['requested_by']}, freigegeben von {approvers})"
        )
