"""`eakte records lock` and `eakte records housekeeping` (issue 17, lock17): object-lock
retention that follows the computed retention, and the removal of data whose own period ended."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app.records_cli import records_app
from core.config import get_settings
from core.errors import EAkteError


def _runtime():  # type: ignore[no-untyped-def]
    from app.runtime import build_runtime

    try:
        return build_runtime(get_settings())
    except EAkteError as exc:
        typer.echo(f"Konfigurationsfehler: {exc.message}", err=True)
        raise typer.Exit(2) from None


@records_app.command("lock")
def records_lock(
    as_json: Annotated[bool, typer.Option("--json", help="Bericht als JSON")] = False,
) -> None:
    """Aufbewahrungssperren (S3 Object Lock) verlängern: jedes Objekt einer Akte bis zum
    letzten Tag, den ihre berechnete Aufbewahrung erlaubt; nie verkürzt, nie darüber hinaus.
    Läuft in `eakte serve` auch alle EAKTE_S3_LOCK_SWEEP_MINUTES."""
    from records.object_lock import sweep

    runtime = _runtime()
    try:
        report = sweep(runtime.sessions, runtime.settings, runtime.blobs)
    except EAkteError as exc:
        typer.echo(f"Sperren nicht vollständig gesetzt: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(report.german())


@records_app.command("housekeeping")
def records_housekeeping() -> None:
    """Daten mit eigener Frist entfernen: übernommene (und liegen gebliebene)
    Stammdaten-Entwürfe nach EAKTE_IMPORT_DRAFT_KEEP_DAYS Tagen. Das Prüfprotokoll hat seinen
    eigenen Befehl: `eakte audit prune`."""
    from records.housekeeping import prune_import_drafts

    runtime = _runtime()
    try:
        report = prune_import_drafts(runtime.sessions, runtime.settings)
    finally:
        runtime.close()
    typer.echo(report.german())
