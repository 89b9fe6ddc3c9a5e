"""`eakte requests ...`: requests for missing documents (issue 19), the commands the automated
checks use (`create`, `show`), and `withdraw`; the UI offers the same.

`create` acts as the user `--by LOGIN` through the Gate: their need-to-know applies, a refusal
ends the command with its German text (exit 1) and is audited. Items are catalogue codes; an
item that names a period takes it as `code=TT.MM.JJJJ-TT.MM.JJJJ`, else the last three full
months before today."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import typer

requests_app = typer.Typer(
    help="Mitwirkungsaufforderungen: Unterlagen anfordern, Stand einer Anforderung",
    no_args_is_help=True,
)


@contextmanager
def _as_user(login: str) -> Iterator[tuple[Any, Any]]:
    """The runtime and a Gate of user `login` in one transaction; errors end the command with
    their German text (a refusal's audit row written after the rollback)."""
    from app.cli import _runtime
    from core.db import record_after_rollback, run_after_commit, transaction
    from core.errors import EAkteError
    from records.access import Gate
    from records.requests import acting_user

    runtime = _runtime()
    try:
        with transaction(runtime.sessions) as session:
            yield runtime, Gate(session, acting_user(session, login))
        run_after_commit(session)
    except EAkteError as exc:
        record_after_rollback(runtime.sessions, exc)
        typer.echo(f"Abgebrochen, nichts geändert: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()


def _items(raw: str, today: date, catalogue: dict[str, Any]) -> list[tuple[str, str]]:
    from records.requests import default_period

    items = []
    for part in raw.split(","):
        if not part.strip():
            continue
        code, _, period = part.partition("=")
        code = code.strip()
        entry = catalogue.get(code)
        if entry is not None and entry.period and not period.strip():
            period = default_period(today)
        items.append((code, period.strip()))
    return items


@requests_app.command("create")
def create(
    bg: str = typer.Option(..., "--bg", help="BG-Nummer des Haushalts"),
    items: str = typer.Option(
        ..., "--items", help="Codes, durch Komma getrennt; Zeitraum als code=TT.MM.JJJJ-TT.MM.JJJJ"
    ),
    due: str = typer.Option(..., "--due", help="Frist (JJJJ-MM-TT)"),
    by: str = typer.Option(..., "--by", help="Anmeldename der anfordernden Person"),
    pdf: str = typer.Option(..., "--pdf", help="Hierhin wird das Schreiben geschrieben"),
    person: str | None = typer.Option(
        None, "--person", help="Angeschriebene Person (Name); sonst das erste Mitglied"
    ),
) -> None:
    """Eine Mitwirkungsaufforderung schreiben, in der E-Akte ablegen und als PDF ausgeben."""
    from core.dates import local_today
    from records.requests import create_request, member_by_name, request_catalogue

    try:
        due_on = date.fromisoformat(due)
    except ValueError:
        typer.echo(f"Abgebrochen: Frist „{due}“ ist kein Datum (JJJJ-MM-TT).", err=True)
        raise typer.Exit(1) from None
    today = local_today()
    with _as_user(by) as (runtime, gate):
        catalogue = request_catalogue(gate.session)
        member_id = None
        if person:
            household, _ = gate.household(bg, "request.created", audited=False)
            member_id = member_by_name(household, person)
        created = create_request(
            gate,
            runtime,
            bg,
            _items(items, today, catalogue),
            due_on,
            member_id=member_id,
            today=today,
        )
        answer = {
            "id": created.request.id,
            "items": [item.code for item in created.request.items],
            "due": created.request.due_on.isoformat(),
            "letter_document": str(created.letter.id),
        }
        if created.due_note:
            answer["due_note"] = created.due_note
        data = created.pdf
    Path(pdf).write_bytes(data)
    typer.echo(json.dumps(answer, ensure_ascii=False))


@requests_app.command("show")
def show(
    request_id: int = typer.Argument(..., help="Nummer der Anforderung"),
    as_json: bool = typer.Option(False, "--json", help="Als JSON ausgeben"),
    by: str = typer.Option(
        "", "--by", help="Anmeldename (Need-to-know); ohne: die Kommandozeile (cli)"
    ),
) -> None:
    """Stand einer Anforderung: je Unterlage eingegangen oder fehlend, mit den Dokumenten."""
    from core.dates import local_today
    from records.requests import request_view

    context = _as_user(by) if by else _as_cli()
    with context as (_, gate):
        view = request_view(gate, request_id, today=local_today(), as_records=not by)
    if as_json:
        typer.echo(json.dumps(view.as_json(), ensure_ascii=False, indent=2))
        return
    typer.echo(
        f"Anforderung {view.id} · {view.bg_number} · {view.person} · Frist {view.due_on:%d.%m.%Y}"
        f" · {view.state_label}"
    )
    for item in view.items:
        documents = ", ".join(item.documents)
        typer.echo(f"  [{item.status_label}] {item.label} {item.detail} {documents}".rstrip())


@requests_app.command("withdraw")
def withdraw_command(
    request_id: int = typer.Argument(..., help="Nummer der Anforderung"),
    reason: str = typer.Option(..., "--reason", help="Grund der Rücknahme"),
    by: str = typer.Option(..., "--by", help="Anmeldename der zurücknehmenden Person"),
) -> None:
    """Eine offene Anforderung zurücknehmen (mit Grund); ihre Wiedervorlage wird erledigt."""
    from core.dates import local_today
    from records.requests import request_view, withdraw

    with _as_user(by) as (_, gate):
        withdraw(gate, request_id, reason)
        view = request_view(gate, request_id, today=local_today())
        answer = view.as_json()
    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))


@contextmanager
def _as_cli() -> Iterator[tuple[Any, Any]]:
    """The command line's own account (`cli`, of the records manager's role): it reads a
    request's state (items, their states, document ids) as the file's lifecycle metadata,
    through Gate.records_file; audited as `cli`."""
    from app.cli import _runtime
    from core.db import record_after_rollback, transaction
    from core.errors import EAkteError
    from records.access import Gate
    from records.disposal import cli_user

    runtime = _runtime()
    try:
        with transaction(runtime.sessions) as session:
            yield runtime, Gate(session, cli_user())
    except EAkteError as exc:
        record_after_rollback(runtime.sessions, exc)
        typer.echo(f"Abgebrochen: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
