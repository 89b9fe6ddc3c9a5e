"""The administration's pages (issue 16), rendered here from records.admin and
records.runtime_settings: users, teams and offices, master-data imports through a preview,
run-time settings and the state of workers, queue and services. No client data: households
appear by their BG number only.

Every form posts to its page: a change leads back (303) with a note of what was done; a
refusal shows the page again with its German message at the top (the status of the error).
The users' list is also a partial (`/verwaltung/benutzer/liste`, same query) that
verwaltung.js swaps in when a filter changes; the page's own address keeps the filter.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user
from api.routes.clearing import MAX_CSV_BYTES
from core.dates import LOCAL_TZ, german, local_today
from core.db import transaction
from core.errors import EAkteError, InvalidInput
from ingest.verify import VERIFY_JOB
from records import admin, files, runtime_settings
from records.access import ROLE_LABELS, Capability, Gate
from records.masterdata import ImportPlan
from records.models import ROLES, User
from records.runtime import Runtime
from web.pages import render

router = APIRouter(include_in_schema=False)

HOME = "/verwaltung"
USERS = HOME + "/benutzer"
TEAMS = HOME + "/teams"
IMPORTS = HOME + "/stammdaten"
SETTINGS = HOME + "/einstellungen"
STATUS = HOME + "/status"
DEPUTIES = HOME + "/vertretungen"
DONE = {
    "benutzer": "Konto geändert.",
    "team": "Team gespeichert.",
    "dienststelle": "Dienststelle gespeichert.",
    "einstellung": "Einstellung geändert.",
    "zurueckgesetzt": "Einstellung auf den konfigurierten Wert zurückgesetzt.",
    "vertretung": "Vertretung eingetragen.",
    "beendet": "Vertretung beendet.",
}
STATUS_NAMES = {
    "created": "neu",
    "updated": "geändert",
    "reactivated": "reaktiviert",
    "deactivated": "wird deaktiviert",
}
JOB_STATES = {
    "queued": "wartend",
    "running": "laufend",
    "done": "erledigt",
    "failed": "gescheitert",
}
KIND_NAMES = {"staff": "Mitarbeitende", "households": "Bedarfsgemeinschaften"}
BACKEND_NAMES = {
    "database": "Datenbank",
    "blob_store": "Dateispeicher",
    "search_index": "Suchindex",
}


def when(moment: datetime | None) -> str:
    """A moment as the job centre reads it: 07.12.2026, 13:05 Uhr."""
    if moment is None:
        return "–"
    return moment.astimezone(LOCAL_TZ).strftime("%d.%m.%Y, %H:%M Uhr")


def _page(
    request: Request,
    runtime: Runtime,
    capability: Capability,
    action: str,
    template: str,
    read: Callable[[Gate], dict[str, Any]],
    *,
    status: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    """A page of the administration for a user whose role has `capability` (a refusal:
    "Kein Zugriff", audited as `action`)."""
    user = current_user(request, runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        gate.require(capability, action)
        context = read(gate)
    done = DONE.get(request.query_params.get("erledigt", ""), "")
    return render(
        request,
        template,
        user,
        status_code,
        status=status or done,
        error=error,
        **context,
    )


async def _posted(request: Request, max_fields: int = 10) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=max_fields)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _change(runtime: Runtime, request: Request, act: Callable[[Gate], object]) -> str:
    """Carry out a change as the signed-in user; "" when done, else the German refusal (its
    audit row is written after the rollback)."""
    user = current_user(request, runtime)
    try:
        with transaction(runtime.sessions) as session:
            act(Gate(session, user))
    except EAkteError as error:
        if error.status in (401, 403):
            raise
        return error.message
    return ""


# --- landing page ----------------------------------------------------------------------------


@router.get(HOME, response_class=HTMLResponse)
def home_page(request: Request, runtime: RuntimeDep) -> Response:
    return _page(
        request, runtime, Capability.ADMINISTER, "page.admin", "verwaltung.html", lambda g: {}
    )


# --- users -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRow:
    id: int
    login: str
    name: str
    role: str
    role_label: str
    team_id: str
    team: str
    office: str
    source: str
    local: bool
    active: str
    break_glass: str
    last_login: str
    note: str  # why deactivated


def _user_row(user: User) -> UserRow:
    return UserRow(
        user.id,
        user.login,
        user.name,
        user.role,
        ROLE_LABELS.get(user.role, user.role),
        str(user.team_id or ""),
        user.team.name if user.team else "–",
        user.team.office.name if user.team and user.team.office else "–",
        admin.SOURCE_LABELS.get(user.source, user.source),
        user.source == "local",
        "aktiv" if user.active else "deaktiviert",
        "ja" if user.break_glass else "nein",
        when(user.last_login_at),
        user.deactivated_reason or "",
    )


def _user_filter(request: Request) -> admin.UserFilter:
    params = request.query_params
    return admin.UserFilter(
        role=params.get("rolle", ""), team=params.get("team", ""), active=params.get("aktiv", "")
    )


def _users(wanted: admin.UserFilter) -> Callable[[Gate], dict[str, Any]]:
    def read(gate: Gate) -> dict[str, Any]:
        users = admin.list_users(gate, wanted)
        teams = [(str(t.id), t.name) for t in admin.teams(gate)]
        query = urlencode({"rolle": wanted.role, "team": wanted.team, "aktiv": wanted.active})
        return {
            "rows": [_user_row(u) for u in users],
            "wanted": wanted,
            "roles": [(r, ROLE_LABELS.get(r, r)) for r in ROLES],
            "teams": teams,
            "actives": [("ja", "aktiv"), ("nein", "deaktiviert")],
            "query": query,
        }

    return read


@router.get(USERS, response_class=HTMLResponse)
def users_page(request: Request, runtime: RuntimeDep) -> Response:
    wanted = _user_filter(request)
    return _page(
        request, runtime, Capability.ADMINISTER, "page.admin.users", "verwaltung_benutzer.html",
        _users(wanted),
    )  # fmt: skip


@router.get(USERS + "/liste", response_class=HTMLResponse)
def users_partial(request: Request, runtime: RuntimeDep) -> Response:
    wanted = _user_filter(request)
    return _page(
        request, runtime, Capability.ADMINISTER, "page.admin.users", "_verwaltung_benutzer.html",
        _users(wanted),
    )  # fmt: skip


@router.post(USERS + "/{user_id}", response_class=HTMLResponse)
async def change_user(user_id: int, request: Request, runtime: RuntimeDep) -> Response:
    """The row's form: save role and team, or deactivate / reactivate (button `aktion`)."""
    posted = await _posted(request)
    action = posted.get("aktion", "speichern")

    def act(gate: Gate) -> object:
        if action == "deaktivieren":
            return admin.change_user(gate, user_id, active=False)
        if action == "aktivieren":
            return admin.change_user(gate, user_id, active=True)
        team = posted.get("team", "")
        if team and not team.isdigit():
            raise InvalidInput("Dieses Team gibt es nicht.")
        return admin.change_user(
            gate, user_id, role=posted.get("rolle") or None, team_id=int(team) if team else None
        )

    error = await run_in_threadpool(_change, runtime, request, act)
    back = posted.get("zurueck", "")
    query = back if back.startswith("rolle=") else ""
    if not error:
        return RedirectResponse(f"{USERS}?{query}&erledigt=benutzer".lstrip("?&"), status_code=303)
    wanted = admin.UserFilter()
    return await run_in_threadpool(
        lambda: _page(
            request, runtime, Capability.ADMINISTER, "page.admin.users",
            "verwaltung_benutzer.html", _users(wanted), error=error, status_code=409,
        )
    )  # fmt: skip


# --- teams and offices -----------------------------------------------------------------------


def _teams(gate: Gate) -> dict[str, Any]:
    teams, offices = admin.list_teams(gate)
    return {"teams": teams, "offices": offices}


def _office_id(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput("Diese Dienststelle gibt es nicht.")
    return int(raw)


async def _teams_post(
    request: Request, runtime: Runtime, act: Callable[[Gate, dict[str, str]], object], done: str
) -> Response:
    posted = await _posted(request)
    error = await run_in_threadpool(_change, runtime, request, lambda gate: act(gate, posted))
    if not error:
        return RedirectResponse(f"{TEAMS}?erledigt={done}", status_code=303)
    return await run_in_threadpool(
        lambda: _page(
            request, runtime, Capability.ADMINISTER, "page.admin.teams", "verwaltung_teams.html",
            _teams, error=error, status_code=422,
        )
    )  # fmt: skip


@router.get(TEAMS, response_class=HTMLResponse)
def teams_page(request: Request, runtime: RuntimeDep) -> Response:
    return _page(
        request, runtime, Capability.ADMINISTER, "page.admin.teams", "verwaltung_teams.html",
        _teams,
    )  # fmt: skip


@router.post(TEAMS + "/dienststellen", response_class=HTMLResponse)
async def save_office(request: Request, runtime: RuntimeDep) -> Response:
    def act(gate: Gate, posted: dict[str, str]) -> object:
        return admin.save_office(gate, _office_id(posted.get("id", "")), posted.get("name", ""))

    return await _teams_post(request, runtime, act, "dienststelle")


@router.post(TEAMS, response_class=HTMLResponse)
async def save_team(request: Request, runtime: RuntimeDep) -> Response:
    def act(gate: Gate, posted: dict[str, str]) -> object:
        team = posted.get("id", "")
        if team and not team.isdigit():
            raise InvalidInput("Dieses Team gibt es nicht.")
        return admin.save_team(
            gate,
            int(team) if team else None,
            posted.get("name", ""),
            _office_id(posted.get("dienststelle", "")),
        )

    return await _teams_post(request, runtime, act, "team")


# --- who stands in for whom ------------------------------------------------------------------

DEPUTY_FIELDS = ("absent", "deputy", "starts_on", "ends_on", "approved_by")


def _deputies(values: dict[str, str] | None = None) -> Callable[[Gate], dict[str, Any]]:
    def read(gate: Gate) -> dict[str, Any]:
        today = local_today()
        rows = [
            (
                d.id,
                d.absent.name,
                d.deputy.name,
                f"{german(d.starts_on)} bis {german(d.ends_on)}",
                "aktiv" if d.starts_on <= today else "geplant",
                d.created_by_login,
            )
            for d in admin.deputies(gate)
        ]
        people = [
            (u.login, f"{u.name} ({u.team.name if u.team else '–'})")
            for u in admin.stand_in_people(gate)
        ]
        typed = values or {"starts_on": today.isoformat(), "ends_on": today.isoformat()}
        return {"rows": rows, "people": people, "values": typed}

    return read


def _deputies_page(request: Request, runtime: Runtime, **context: Any) -> Response:
    read = _deputies(context.pop("values", None))
    return _page(
        request, runtime, Capability.MANAGE_DEPUTIES, "page.admin.deputies",
        "verwaltung_vertretungen.html", read, **context,
    )  # fmt: skip


@router.get(DEPUTIES, response_class=HTMLResponse)
def deputies_page(request: Request, runtime: RuntimeDep) -> Response:
    return _deputies_page(request, runtime)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("Bitte gültige Daten angeben (TT.MM.JJJJ).") from None


@router.post(DEPUTIES, response_class=HTMLResponse)
async def name_deputy(request: Request, runtime: RuntimeDep) -> Response:
    """Name a deputy for a colleague (across teams with the team lead's approval)."""
    posted = await _posted(request)
    values = {name: posted.get(name, "") for name in DEPUTY_FIELDS}

    def act(gate: Gate) -> object:
        if not values["absent"] or not values["deputy"]:
            raise InvalidInput("Bitte wählen, wer abwesend ist und wer vertritt.")
        return files.name_deputy(
            gate,
            deputy_login=values["deputy"],
            starts_on=_day(values["starts_on"]),
            ends_on=_day(values["ends_on"]),
            max_days=runtime.settings.deputy_max_days,
            absent_login=values["absent"],
            approved_by=values["approved_by"],
        )

    error = await run_in_threadpool(_change, runtime, request, act)
    if not error:
        return RedirectResponse(f"{DEPUTIES}?erledigt=vertretung", status_code=303)
    return await run_in_threadpool(
        lambda: _deputies_page(request, runtime, values=values, error=error, status_code=422)
    )


@router.post(DEPUTIES + "/{deputy_id}/beenden", response_class=HTMLResponse)
def end_deputy(deputy_id: int, request: Request, runtime: RuntimeDep) -> Response:
    error = _change(runtime, request, lambda gate: files.revoke_deputy(gate, deputy_id))
    if not error:
        return RedirectResponse(f"{DEPUTIES}?erledigt=beendet", status_code=303)
    return _deputies_page(request, runtime, error=error, status_code=409)


# --- master-data imports ---------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    key: str
    status: str  # German
    changes: list[tuple[str, str, str]]  # (field, before, after); households: field only


@dataclass(frozen=True)
class Preview:
    draft_id: str
    sha256: str
    kind: str
    filename: str
    staff: bool
    counts: list[tuple[str, int]]
    rows: list[PreviewRow]
    warnings: list[str]
    applied: str  # when it was applied, or ""


def _preview(draft: Any, plan: ImportPlan) -> Preview:
    report = plan.report()
    counts = [
        ("neu", len(report.created)),
        ("geändert", len(report.updated)),
        ("reaktiviert", len(report.reactivated)),
        ("wird deaktiviert", len(report.deactivated)),
        ("unverändert", report.unchanged),
    ]
    if report.closed or report.reopened:  # the end of benefits (issue 17)
        counts += [("Akten geschlossen", len(report.closed))]
        counts += [("Akten wiedereröffnet", len(report.reopened))]
    staff = plan.kind == "staff"
    rows = [
        PreviewRow(
            r.key,
            STATUS_NAMES[r.status],
            [(c.field, c.before, c.after) for c in r.changes],
        )
        for r in plan.records
        if r.status != "unchanged"
    ]
    # A household's warnings name staff logins and BG numbers only.
    return Preview(
        str(draft.id), draft.sha256, KIND_NAMES[plan.kind], draft.filename, staff, counts, rows,
        list(plan.warnings), when(draft.applied_at) if draft.applied_at else "",
    )  # fmt: skip


def _imports(preview: Preview | None = None, result: str = "") -> Callable[[Gate], dict[str, Any]]:
    def read(gate: Gate) -> dict[str, Any]:
        return {"preview": preview, "result": result, "kinds": list(KIND_NAMES.items())}

    return read


def _imports_page(request: Request, runtime: Runtime, **context: Any) -> Response:
    read = _imports(context.pop("preview", None), context.pop("result", ""))
    template = "verwaltung_stammdaten.html"
    return _page(
        request, runtime, Capability.MASTER_DATA, "page.admin.imports", template, read, **context
    )


@router.get(IMPORTS, response_class=HTMLResponse)
def imports_page(request: Request, runtime: RuntimeDep) -> Response:
    """The upload form; with `?entwurf=ID` the preview of that draft."""
    raw = request.query_params.get("entwurf", "")
    if not raw:
        return _imports_page(request, runtime)
    try:
        draft_id = uuid.UUID(raw)
    except ValueError:
        return _imports_page(request, runtime, error=admin.DRAFT_GONE, status_code=404)
    user = current_user(request, runtime)
    try:
        with transaction(runtime.sessions, read_only=True) as session:
            draft, plan = admin.preview_draft(Gate(session, user), draft_id)
            preview = _preview(draft, plan)
    except EAkteError as error:
        if error.status in (401, 403):
            raise
        return _imports_page(request, runtime, error=error.message, status_code=error.status)
    return _imports_page(request, runtime, preview=preview)


@router.post(IMPORTS, response_class=HTMLResponse)
async def upload_import(request: Request, runtime: RuntimeDep) -> Response:
    """An uploaded export becomes a draft; the answer is its preview's address."""
    user = await run_in_threadpool(current_user, request, runtime)
    form = await request.form(max_files=1, max_fields=5)
    kind = str(form.get("art", ""))
    upload = form.get("datei")
    body = b""
    filename = ""
    if upload is not None and not isinstance(upload, str):
        body = await upload.read(MAX_CSV_BYTES + 1)
        filename = upload.filename or ""
    if not body or len(body) > MAX_CSV_BYTES:
        message = "Bitte eine CSV-Datei wählen." if not body else "Die CSV-Datei ist zu groß."
        return await run_in_threadpool(
            lambda: _imports_page(request, runtime, error=message, status_code=422)
        )

    def upload_draft() -> str:
        with transaction(runtime.sessions) as session:
            draft, _plan = admin.upload_draft(Gate(session, user), kind, filename, body)
            return str(draft.id)

    try:
        draft_id = await run_in_threadpool(upload_draft)
    except EAkteError as error:
        if error.status in (401, 403):
            raise
        message = error.message
        return await run_in_threadpool(
            lambda: _imports_page(request, runtime, error=message, status_code=422)
        )
    return RedirectResponse(f"{IMPORTS}?entwurf={draft_id}", status_code=303)


@router.post(IMPORTS + "/{draft_id}/uebernehmen", response_class=HTMLResponse)
async def apply_import(draft_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    posted = await _posted(request)
    user = await run_in_threadpool(current_user, request, runtime)

    def apply() -> str:
        with transaction(runtime.sessions) as session:
            report = admin.apply_draft(Gate(session, user), draft_id, posted.get("sha256", ""))
        return f"Übernommen: {report.summary()}."

    try:
        result = await run_in_threadpool(apply)
    except EAkteError as error:
        if error.status in (401, 403):
            raise
        message = error.message
        return await run_in_threadpool(
            lambda: _imports_page(request, runtime, error=message, status_code=409)
        )
    return await run_in_threadpool(lambda: _imports_page(request, runtime, result=result))


# --- run-time settings -----------------------------------------------------------------------


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


@dataclass(frozen=True)
class SettingRow:
    key: str
    label: str
    help: str
    unit: str
    kind: str
    configured: str
    current: str
    value: str  # for the form
    changed: bool
    changed_by: str


def _settings(runtime: Runtime) -> Callable[[Gate], dict[str, Any]]:
    def read(gate: Gate) -> dict[str, Any]:
        views = runtime_settings.list_settings(gate, runtime.configured)
        rows = [
            SettingRow(
                v.key,
                v.label,
                v.help,
                v.unit,
                v.kind,
                _shown(v.configured),
                _shown(v.current),
                ("ja" if v.current else "nein") if v.kind == "bool" else _shown(v.current),
                v.changed,
                f"{v.changed_by or '–'} am {when(v.changed_at)}" if v.changed else "",
            )  # fmt: skip
            for v in views
        ]
        return {"rows": rows}

    return read


def _settings_page(request: Request, runtime: Runtime, **context: Any) -> Response:
    return _page(
        request, runtime, Capability.ADMINISTER, "page.admin.settings",
        "verwaltung_einstellungen.html", _settings(runtime), **context,
    )  # fmt: skip


@router.get(SETTINGS, response_class=HTMLResponse)
def settings_page(request: Request, runtime: RuntimeDep) -> Response:
    return _settings_page(request, runtime)


@router.post(SETTINGS + "/{key}", response_class=HTMLResponse)
async def change_setting(key: str, request: Request, runtime: RuntimeDep) -> Response:
    posted = await _posted(request)
    reset = posted.get("aktion") == "zuruecksetzen"
    raw = posted.get("wert", "")

    def act(gate: Gate) -> object:
        if reset:
            runtime_settings.reset(gate, runtime.configured, key)
            return None
        return runtime_settings.change(gate, runtime.configured, key, raw)

    error = await run_in_threadpool(_change, runtime, request, act)
    # This process follows at once; the others within runtime_settings.REFRESH_SECONDS.
    runtime.overrides.forget()
    if not error:
        done = "zurueckgesetzt" if reset else "einstellung"
        return RedirectResponse(f"{SETTINGS}?erledigt={done}", status_code=303)
    return await run_in_threadpool(
        lambda: _settings_page(request, runtime, error=error, status_code=422)
    )


# --- state of workers, queue, services, verification ---------------------------------------


def _status(runtime: Runtime) -> Callable[[Gate], dict[str, Any]]:
    def read(gate: Gate) -> dict[str, Any]:
        queue = admin.queue_state(gate)
        verification = admin.last_verification(gate, VERIFY_JOB)
        backends = {
            "database": runtime.database_state(),
            "blob_store": runtime.blobs.ping(),
            "search_index": runtime.index.ping(),
        }
        return {
            "counts": [(JOB_STATES[state], n) for state, n in queue.counts.items()],
            "oldest": when(queue.oldest_queued),
            "running": [(owner, when(until), out) for owner, until, out in queue.running],
            "workers": [
                {
                    "name": f"{w.host} (Prozess {w.pid})",
                    "since": when(w.started_at),
                    "seen": when(w.seen_at),
                    "job": w.job_id,
                    "done": w.jobs_done,
                    "silent": w.silent,
                }
                for w in queue.workers
            ],
            "last_finished": when(queue.last_finished),
            "failed": [
                (job.id, job.kind, when(job.when), job.attempts, job.error) for job in queue.failed
            ],
            "backends": [
                (
                    BACKEND_NAMES[name],
                    state.backend,
                    "erreichbar" if state.ok else "gestört",
                    state.ok,
                    state.detail,
                )
                for name, state in backends.items()
            ],  # fmt: skip
            "verification": verification
            and {
                "when": when(verification.when),
                "state": JOB_STATES.get(verification.state, verification.state),
                "checked": verification.checked,
                "problems": verification.problems,
                "ok": verification.ok,
                "by": verification.requested_by or "–",
            },
        }

    return read


@router.get(STATUS, response_class=HTMLResponse)
def status_page(request: Request, runtime: RuntimeDep) -> Response:
    return _page(
        request, runtime, Capability.ADMINISTER, "page.admin.status", "verwaltung_status.html",
        _status(runtime),
    )  # fmt: skip
