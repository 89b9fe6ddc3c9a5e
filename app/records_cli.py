"""`eakte records ...`: the records manager's commands (issue 17). Each part of the lifecycle
registers its commands on `records_app` in a module of its own (app/records_cli_*.py), which
app/cli.py imports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

records_app = typer.Typer(
    help="Schriftgutverwaltung: Aufbewahrung, Aussonderung an das Archiv, Vernichtung",
    no_args_is_help=True,
)


@contextmanager
def unit_of_work() -> Iterator[tuple[Any, Any]]:
    """The runtime and a Gate of the command line (the records manager's account `cli`) in one
    transaction, for the records commands and the hand-over; errors end the command
    with their German text (and the audit row of a refusal written after the rollback)."""
    from app.cli import _runtime
    from core.db import record_after_rollback, transaction
    from core.errors import EAkteError
    from records.access import Gate
    from records.disposal import cli_user
    from records.xdomea import MessageRefused

    runtime = _runtime()
    try:
        with transaction(runtime.sessions) as session:
            yield runtime, Gate(session, cli_user())
    except MessageRefused as exc:
        record_after_rollback(runtime.sessions, exc)
        typer.echo("Abgewiesen, nichts geändert:", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(1) from None
    except EAkteError as exc:
        record_after_rollback(runtime.sessions, exc)
        typer.echo(f"Abgebrochen, nichts geändert: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
