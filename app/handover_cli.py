"""`eakte handover ...`: handing a file to another authority and taking one over (issue 18,
xdomea Abgabe 0401/0402/0403). The export side (app/handover_cli_export.py) and the take-over
(app/handover_cli_import.py) register their commands on `handover_app`; app/cli.py imports
them."""

from __future__ import annotations

import typer

handover_app = typer.Typer(
    help="Aktenabgabe an eine andere Behörde und Übernahme einer Akte (xdomea 0401/0402/0403)",
    no_args_is_help=True,
)
