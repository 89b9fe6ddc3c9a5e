"""`eakte records due [--json]`: the files whose retention ran out, with the computed date and
the rule, and those held, with the holds' reasons (issue 17)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app.records_cli import records_app

JsonOpt = Annotated[bool, typer.Option("--json", help="Liste als JSON")]


@records_app.command("due")
def due_command(as_json: JsonOpt = False) -> None:
    """Akten, deren Aufbewahrungsfrist abgelaufen ist (mit Datum und Regel), und gesperrte
    Akten (mit dem Grund der Sperre)."""
    from app.cli import _runtime
    from core.dates import german, local_today
    from core.db import transaction
    from records.retention import load_rules, overview

    runtime = _runtime()
    rules = load_rules(runtime.settings)
    with transaction(runtime.sessions, read_only=True) as session:
        files = overview(session, rules, local_today(), ("due", "held"))
    if as_json:
        rows = [
            {
                "bg_number": f.bg_number,
                "status": f.status,
                "event_date": f.event_date.isoformat() if f.event_date else None,
                "due_from": f.due_from.isoformat() if f.due_from else None,
                "years": f.years,
                "rule": f.rule,
                "holds": [
                    {
                        "kind": h.kind,
                        "reason": h.reason or h.label,
                        "until": h.until.isoformat() if h.until else None,
                    }
                    for h in f.holds
                ],
            }
            for f in files
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    due = [f for f in files if f.status == "due"]
    held = [f for f in files if f.status == "held"]
    typer.echo(f"{len(due)} Akten fällig, {len(held)} gesperrt (Stand {german(local_today())})")
    for f in files:
        typer.echo(
            f"{f.bg_number}  {f.status_label}: Ereignis {german(f.event_date)}, "
            f"aufzubewahren bis {german(f.ends_on)}, fällig ab {german(f.due_from)} "
            f"({f.rule})"
        )
        for h in f.holds:
            until = f"bis {german(h.until)}" if h.until else "bis auf Weiteres"
            reason = f": {h.reason}" if h.reason else ""
            typer.echo(f"    gesperrt {until} – {h.label}{reason}")
