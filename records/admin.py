"""The administration's services (issue 16): users with their roles and teams, teams and
offices, master-data imports through a preview, and the state of the queue.

Nothing here reads client data: users, teams and offices are the organisation's; a
household import's preview names households by their BG number only.

Every change is audited with before and after; a refused change too (its audit row survives
the rollback). Role and team of a directory or single sign-on account follow the groups
there (records.identity), so only local accounts change here.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.dates import local_today
from core.db import utcnow
from core.errors import Conflict, InvalidInput, NotFound
from records import audit
from records.access import CASEWORK_ROLES, Capability, Gate
from records.identity import deactivate
from records.jobs import HEARTBEAT_SECONDS
from records.masterdata import IMPORT_KINDS, ImportPlan, ImportReport, apply_plan, plan_import
from records.models import (
    ROLES,
    Deputy,
    ImportDraft,
    Job,
    Office,
    Team,
    User,
    WorkerHeartbeat,
)

SOURCE_LABELS = {"local": "lokal", "ldap": "Verzeichnis", "oidc": "Single Sign-on"}
FOLLOWS_DIRECTORY = (
    "Rolle und Team dieses Kontos folgen den Gruppen im Verzeichnis bzw. beim "
    "Anmeldedienst; sie werden dort geändert."
)
NOT_SELF = "Sie können Ihr eigenes Konto nicht deaktivieren."
LAST_ADMIN = "Das ist das letzte aktive Konto der Administration; es muss mindestens eines bleiben."
NAME_TAKEN = "Der Name {name} ist schon vergeben."
NAME_MISSING = "Bitte einen Namen angeben."


# --- users ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserFilter:
    role: str = ""
    team: str = ""  # a team's id, "" for all
    active: str = ""  # "ja", "nein", "" for all


def list_users(gate: Gate, wanted: UserFilter) -> list[User]:
    gate.require(Capability.ADMINISTER, "users.list")
    query = select(User).order_by(User.login)
    if wanted.role in ROLES:
        query = query.where(User.role == wanted.role)
    if wanted.team.isdigit():
        query = query.where(User.team_id == int(wanted.team))
    if wanted.active in ("ja", "nein"):
        query = query.where(User.active.is_(wanted.active == "ja"))
    return list(gate.session.scalars(query).unique())


def _user(gate: Gate, user_id: int) -> User:
    user = gate.session.get(User, user_id)
    if user is None:
        raise NotFound("Dieses Konto gibt es nicht.")
    return user


def _state(user: User) -> dict[str, object]:
    return {
        "role": user.role,
        "team": user.team.name if user.team else None,
        "active": user.active,
    }


def _conflict(
    gate: Gate,
    action: str,
    message: str,
    code: str,
    object_type: str,
    object_id: object,
    **details: Any,
) -> Conflict:
    """A change the rules forbid: a conflict whose audit row (denied, with the reason's code)
    survives the rollback."""
    error = Conflict(message, code=code)
    error.after_rollback = audit.pending(
        gate.user, action, outcome="denied", object_type=object_type, object_id=object_id,
        reason=code, **details,
    )  # fmt: skip
    return error


def _refused(gate: Gate, user: User, message: str, code: str, **wanted: object) -> Conflict:
    return _conflict(
        gate, "user.changed", message, code, "user", user.id,
        login=user.login, before=_state(user), wanted=wanted,
    )  # fmt: skip


def _other_active_admins(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.active.is_(True), User.id != user.id)
        )
        or 0
    )


def change_user(
    gate: Gate,
    user_id: int,
    *,
    role: str | None = None,
    team_id: int | None | str = "",
    active: bool | None = None,
) -> User:
    """Change a local account's role, team (None: no team; "": unchanged) or whether it is
    active. Audited `user.changed` with before and after; refused (and audited) for directory
    and SSO accounts, for deactivating oneself and for taking away the last active admin."""
    gate.require(Capability.ADMINISTER, "user.changed", object_type="user", object_id=user_id)
    user = _user(gate, user_id)
    wanted = {
        key: value
        for key, value in (("role", role), ("team", team_id), ("active", active))
        if value is not None and value != ""
    } | ({"team": None} if team_id is None else {})
    # A directory or SSO account's role and team follow its groups; an administrator may
    # still lock it here at once (and unlock it), without waiting for the directory.
    if user.source != "local" and (role is not None or team_id != ""):
        raise _refused(gate, user, FOLLOWS_DIRECTORY, "user_external", **wanted)
    if role is not None and role not in ROLES:
        raise InvalidInput("Diese Rolle gibt es nicht.", code="user_role")
    if active is False and user.id == gate.user.id:
        raise _refused(gate, user, NOT_SELF, "user_self", **wanted)
    loses_admin = (
        user.role == "admin"
        and user.active
        and ((role is not None and role != "admin") or active is False)
    )
    if loses_admin and _other_active_admins(gate.session, user) == 0:
        raise _refused(gate, user, LAST_ADMIN, "user_last_admin", **wanted)
    before = _state(user)
    if role is not None:
        user.role = role
    if team_id != "":
        team = gate.session.get(Team, team_id) if team_id is not None else None
        if team_id is not None and team is None:
            raise InvalidInput("Dieses Team gibt es nicht.", code="user_team")
        user.team = team
    if active is True and not user.active:
        user.active = True
        user.deactivated_at = None
        user.deactivated_reason = None
        user.deactivated_by_login = None
    gate.session.flush()
    if active is False and user.active:
        deactivate(gate.session, user, "von der Administration deaktiviert", actor=gate.user)
    after = _state(user)
    if after != before:
        gate.record(
            "user.changed",
            object_type="user",
            object_id=user.id,
            login=user.login,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    return user


# --- teams and offices -------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRow:
    id: int
    name: str
    office_id: int | None
    office: str
    members: int  # active accounts


@dataclass(frozen=True)
class OfficeRow:
    id: int
    name: str
    teams: int


def teams(gate: Gate) -> list[Team]:
    """The teams by name, to choose from."""
    gate.require(Capability.ADMINISTER, "teams.list")
    return list(gate.session.scalars(select(Team).order_by(Team.name)).unique())


def list_teams(gate: Gate) -> tuple[list[TeamRow], list[OfficeRow]]:
    gate.require(Capability.ADMINISTER, "teams.list")
    session = gate.session
    members = dict(
        session.execute(
            select(User.team_id, func.count())
            .where(User.active.is_(True), User.team_id.is_not(None))
            .group_by(User.team_id)
        ).all()
    )
    teams = [
        TeamRow(
            t.id,
            t.name,
            t.office_id,
            t.office.name if t.office else "–",
            int(members.get(t.id, 0)),
        )
        for t in session.scalars(select(Team).order_by(Team.name)).unique()
    ]
    per_office: dict[int, int] = {}
    for team in teams:
        if team.office_id is not None:
            per_office[team.office_id] = per_office.get(team.office_id, 0) + 1
    offices = [
        OfficeRow(o.id, o.name, per_office.get(o.id, 0))
        for o in session.scalars(select(Office).order_by(Office.name))
    ]
    return teams, offices


def _name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput(NAME_MISSING, code="name_missing")
    if len(name) > 200:
        raise InvalidInput("Der Name ist zu lang (höchstens 200 Zeichen).", code="name_long")
    return name


def _free(gate: Gate, model: type[Team] | type[Office], name: str, own: int | None) -> None:
    """No other team (office) has this name (the names are unique)."""
    taken = gate.session.scalar(select(model.id).where(model.name == name, model.id != (own or 0)))
    if taken is not None:
        raise InvalidInput(NAME_TAKEN.format(name=name), code="name_taken")


_Named = TypeVar("_Named", Team, Office)


def _named(gate: Gate, model: type[_Named], row_id: int | None, name: str) -> tuple[_Named, bool]:
    """The team or office to save (a new one for row_id None) and whether it is new; its
    name must be free."""
    _free(gate, model, name, row_id)
    if row_id is None:
        row = model(name=name)
        gate.session.add(row)
        return row, True
    found = gate.session.get(model, row_id)
    if found is None:
        raise NotFound(f"{'Dieses Team' if model is Team else 'Diese Dienststelle'} gibt es nicht.")
    return found, False


def save_office(gate: Gate, office_id: int | None, raw_name: str) -> Office:
    """Create an office (office_id None) or rename one; audited `office.created`/`.changed`."""
    action = "office.created" if office_id is None else "office.changed"
    gate.require(Capability.ADMINISTER, action)
    name = _name(raw_name)
    office, created = _named(gate, Office, office_id, name)
    before = None if created else office.name
    office.name = name
    gate.session.flush()
    gate.record(action, object_type="office", object_id=office.id, before=before, after=name)
    return office


def save_team(gate: Gate, team_id: int | None, raw_name: str, office_id: int | None) -> Team:
    """Create a team or rename it and assign its office; audited `team.created`/`.changed`."""
    action = "team.created" if team_id is None else "team.changed"
    gate.require(Capability.ADMINISTER, action)
    name = _name(raw_name)
    office = gate.session.get(Office, office_id) if office_id is not None else None
    if office_id is not None and office is None:
        raise InvalidInput("Diese Dienststelle gibt es nicht.", code="team_office")
    team, created = _named(gate, Team, team_id, name)
    before = None
    if not created:
        before = {"name": team.name, "office": team.office.name if team.office else None}
    team.name, team.office = name, office
    gate.session.flush()
    gate.record(
        action,
        object_type="team",
        object_id=team.id,
        before=before,
        after={"name": name, "office": office.name if office else None},
    )
    return team


# --- who stands in for whom ---------------------------------------------------------------


def deputies(gate: Gate) -> list[Deputy]:
    """Every deputy in force or planned (not ended, not over), by the absent's login."""
    gate.require(Capability.MANAGE_DEPUTIES, "deputies.list")
    query = (
        select(Deputy)
        .where(Deputy.revoked_at.is_(None), Deputy.ends_on >= local_today())
        .options(selectinload(Deputy.absent), selectinload(Deputy.deputy))
        .order_by(Deputy.starts_on, Deputy.id)
    )
    return list(gate.session.scalars(query))


def stand_in_people(gate: Gate) -> list[User]:
    """Who may be absent or stand in: active caseworkers and case managers."""
    gate.require(Capability.MANAGE_DEPUTIES, "deputies.list")
    query = (
        select(User).where(User.active.is_(True), User.role.in_(CASEWORK_ROLES)).order_by(User.name)
    )
    return list(gate.session.scalars(query).unique())


# --- master-data imports with a preview -----------------------------------------------------

DRAFT_GONE = "Diesen Entwurf gibt es nicht."
DRAFT_APPLIED = "Dieser Entwurf wurde schon übernommen; bitte die Datei neu hochladen."
DRAFT_CHANGED = (
    "Der Entwurf stimmt nicht mehr mit der Vorschau überein; bitte die Vorschau neu öffnen."
)


def upload_draft(
    gate: Gate, kind: str, filename: str, body: bytes
) -> tuple[ImportDraft, ImportPlan]:
    """Keep an uploaded export as a draft and compute its preview (nothing else changes);
    a file that cannot be read is refused with the reader's German message."""
    gate.require(Capability.MASTER_DATA, f"masterdata.previewed.{kind[:20]}")
    if kind not in IMPORT_KINDS:
        raise NotFound("Unbekannte Stammdatenart.")
    plan = plan_import(gate.session, kind, body)
    draft = ImportDraft(
        kind=kind,
        filename=filename[:300] or "upload.csv",
        content=body,
        sha256=hashlib.sha256(body).hexdigest(),
        created_by_login=gate.user.login,
    )
    gate.session.add(draft)
    gate.session.flush()
    gate.record(
        "masterdata.previewed",
        object_type="import_draft",
        object_id=draft.id,
        kind=kind,
        summary=plan.report().summary(),
    )
    return draft, plan


def _draft(gate: Gate, draft_id: uuid.UUID) -> ImportDraft:
    draft = gate.session.get(ImportDraft, draft_id)
    if draft is None:
        raise NotFound(DRAFT_GONE)
    return draft


def preview_draft(gate: Gate, draft_id: uuid.UUID) -> tuple[ImportDraft, ImportPlan]:
    """The preview of a stored draft, computed again against today's database."""
    gate.require(Capability.MASTER_DATA, "masterdata.preview")
    draft = _draft(gate, draft_id)
    return draft, plan_import(gate.session, draft.kind, draft.content)


def apply_draft(gate: Gate, draft_id: uuid.UUID, sha256: str) -> ImportReport:
    """Apply the previewed draft (named by id and the checksum the preview showed) with the
    import's own code; refused (and audited) when applied already or changed."""
    gate.require(Capability.MASTER_DATA, "masterdata.applied", object_id=str(draft_id))
    draft = _draft(gate, draft_id)
    problem = None
    if draft.applied_at is not None:
        problem = (DRAFT_APPLIED, "draft_applied")
    elif draft.sha256 != sha256 or hashlib.sha256(draft.content).hexdigest() != sha256:
        problem = (DRAFT_CHANGED, "draft_changed")
    if problem is not None:
        raise _conflict(
            gate, "masterdata.applied", problem[0], problem[1], "import_draft", draft.id
        )
    report = apply_plan(gate.session, plan_import(gate.session, draft.kind, draft.content))
    draft.applied_at = utcnow()
    gate.record(
        "masterdata.applied",
        object_type="import_draft",
        object_id=draft.id,
        kind=draft.kind,
        summary=report.summary(),
    )
    return report


# --- the state of the queue -----------------------------------------------------------------


@dataclass(frozen=True)
class FailedJob:
    id: int
    kind: str
    when: datetime | None
    attempts: int
    error: str  # the kind of error only: the message may name a letter's sender


@dataclass(frozen=True)
class WorkerState:
    """A worker process as it last reported in (records.jobs.report_in)."""

    worker: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    job_id: int | None  # the job it took last
    jobs_done: int
    silent: bool  # no report for a while and no live lease: most likely gone


@dataclass(frozen=True)
class QueueState:
    counts: dict[str, int]
    oldest_queued: datetime | None
    # (worker, lease until, lease run out: the worker has most likely died; another worker
    # takes the job over)
    running: list[tuple[str, datetime | None, bool]]
    last_finished: datetime | None
    failed: list[FailedJob]
    workers: list[WorkerState]


def _error_kind(message: str | None) -> str:
    head = (message or "").split(":", 1)[0].strip()
    return head if head.isidentifier() else "Fehler"


def queue_state(gate: Gate, failed_limit: int = 5) -> QueueState:
    gate.require(Capability.ADMINISTER, "status.read")
    session = gate.session
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    counts = {state: 0 for state in ("queued", "running", "done", "failed")}
    counts.update({state: int(n) for state, n in rows})
    oldest = session.scalar(select(func.min(Job.created_at)).where(Job.state == "queued"))
    now = utcnow()
    running = [
        (owner or "–", until, until is not None and until < now)
        for owner, until in session.execute(
            select(Job.lease_owner, Job.lease_expires_at)
            .where(Job.state == "running")
            .order_by(Job.lease_owner)
        ).all()
    ]
    last_finished = session.scalar(select(func.max(Job.finished_at)))
    failed = [
        FailedJob(
            job.id,
            job.kind,
            job.finished_at or job.started_at,
            job.attempts,
            _error_kind(job.last_error),
        )
        for job in session.scalars(
            select(Job).where(Job.state == "failed").order_by(Job.id.desc()).limit(failed_limit)
        )
    ]
    return QueueState(counts, oldest, running, last_finished, failed, _workers(session, now))


def _workers(session: Session, now: datetime) -> list[WorkerState]:
    """Every worker that reported in; one is silent when it has not for three report
    intervals and holds no live lease (a long job keeps its lease, not its report, fresh)."""
    leased = set(
        session.scalars(
            select(Job.lease_owner).where(Job.state == "running", Job.lease_expires_at >= now)
        )
    )
    quiet = now - timedelta(seconds=3 * HEARTBEAT_SECONDS)
    return [
        WorkerState(
            row.worker_id,
            row.host,
            row.pid,
            row.started_at,
            row.seen_at,
            row.job_id,
            row.jobs_done,
            row.seen_at < quiet and row.worker_id not in leased,
        )
        for row in session.scalars(
            select(WorkerHeartbeat).order_by(WorkerHeartbeat.host, WorkerHeartbeat.started_at)
        )
    ]


@dataclass(frozen=True)
class Verification:
    when: datetime | None
    state: str  # queued, running, done, failed
    checked: int
    problems: int
    ok: bool
    requested_by: str | None


def last_verification(gate: Gate, job_kind: str) -> Verification | None:
    """The latest store verification (the worker keeps its result on its job): counts only,
    the objects' names may name clients."""
    gate.require(Capability.VERIFY_STORE, "status.verification")
    job = gate.session.scalar(
        select(Job).where(Job.kind == job_kind).order_by(Job.id.desc()).limit(1)
    )
    if job is None:
        return None
    result = job.result or {}
    problems = result.get("problems") or []
    return Verification(
        job.finished_at or job.started_at or job.created_at,
        job.state,
        int(result.get("checked", 0)),
        len(problems) if isinstance(problems, Sequence) else 0,
        bool(result.get("ok")),
        job.created_by_login,
    )
