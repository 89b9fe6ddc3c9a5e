"""`eakte requests ...`: requests for missing documents (issue 19), the commands the automated
checks use (`create`, `show`); the UI offers the same."""

from __future__ import annotations

import typer

requests_app = typer.Typer(
    help="Mitwirkungsaufforderungen: Unterlagen anfordern, Stand einer Anforderung",
    no_args_is_help=True,
)
