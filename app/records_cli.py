"""`eakte records ...`: the records manager's commands (issue 17). Each part of the lifecycle
registers its commands on `records_app` in a module of its own (app/records_cli_*.py), which
app/cli.py imports."""

from __future__ import annotations

import typer

records_app = typer.Typer(
    help="Schriftgutverwaltung: Aufbewahrung, Aussonderung an das Archiv, Vernichtung",
    no_args_is_help=True,
)
