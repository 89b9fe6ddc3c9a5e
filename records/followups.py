"""Follow-up dates (Wiedervorlage, issue 19): a date and a note on a file or one of its
documents, for the author or the author's team.

On its date (and after, until done) a follow-up shows in the Postkorb of its owner, of every
member of its team, and of whoever stands in for its owner that day (Vertretung). It is done or
moved with a reason; every move is kept (`FollowUp.moves`). A request for documents (records.
requests) sets a follow-up of kind "request" for its deadline: its Postkorb line reads
"Frist abgelaufen: fehlend …" with the items still missing, and it closes by itself when every
item arrived (`close_follow_ups_of_request`).

Every read and change goes through records.access.Gate with need-to-know on the household and
is audited; the caller owns the transaction. A handed-over file takes no new follow-up and no
move (records.access.HANDED_OVER_CHANGES).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, selectinload

from core.dates import german, local_today
from core.db import utcnow
from core.errors import InvalidInput
from records import inbox
from records.access import (
    NO_ACCESS,
    Capability,
    Gate,
    Grant,
    absent_colleagues,
    households_open_to,
)
from records.live import fingerprint
from records.models import (
    Document,
    DocumentRequest,
    FollowUp,
    Household,
    RequestItem,
    Team,
    User,
)

NOTE_MAX = 1000  # characters of a follow-up's note
REASON_MAX = 2000  # characters of a reason to move or close one
DEFAULT_DAYS = 14  # the form's default: two weeks from today
LIST_LIMIT = 500  # follow-ups a list shows at most


@dataclass(frozen=True)
class Move:
    """One move of a follow-up, as its history reads."""

    from_: str
    to: str
    reason: str
    by: str
    at: str


@dataclass(frozen=True)
class Line:
    """One follow-up as a list or the Postkorb shows it; every label German."""

    id: int
    kind: str
    bg_number: str
    due_on: date
    due: str  # "07.12.2026"
    overdue: bool
    text: str  # the note, or "Frist abgelaufen: fehlend Kontoauszüge, …"
    href: str  # the file, its document, or the request's section of the file
    whose: str  # "für mich", "für Team 1", "für Jan Braun (Vertretung)"
    created: str  # "von lsb.1 am 01.12.2026"
    document_id: str | None
    done: bool
    done_text: str  # "erledigt am … von …: Grund"
    moves: list[Move] = field(default_factory=list)


# --- checks -------------------------------------------------------------------------------


def _reason(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"Bitte einen Grund {what} angeben.", field="reason")
    if len(text) > REASON_MAX:
        raise InvalidInput(
            f"Der Grund ist zu lang (höchstens {REASON_MAX} Zeichen).", field="reason"
        )
    return text


def _future(day: date | None, name: str) -> date:
    if day is None:
        raise InvalidInput("Bitte ein gültiges Datum angeben.", field=name)
    if day < local_today():
        raise InvalidInput(
            "Das Datum liegt in der Vergangenheit: bitte heute oder einen späteren Tag wählen.",
            field=name,
        )
    return day


def _document_of(session: Session, household: Household, document_id: uuid.UUID | str) -> str:
    """The document's id if it belongs to this household (and may be shown); else refused."""
    try:
        key = document_id if isinstance(document_id, uuid.UUID) else uuid.UUID(str(document_id))
    except ValueError:
        key = None
    document = session.get(Document, key) if key else None
    if (
        document is None
        or document.household_id != household.id
        or document.restricted_at is not None
        or document.discarded_at is not None
    ):
        raise InvalidInput("Dieses Dokument gehört nicht zu dieser Akte.", field="document_id")
    return str(document.id)


def _follow_up(gate: Gate, follow_up_id: int, action: str) -> tuple[FollowUp, Grant]:
    """A follow-up of a file the user may open (need-to-know on its household)."""
    gate.require(Capability.CASE_FILES, action, object_type="follow_up", object_id=follow_up_id)
    row = gate.session.get(FollowUp, follow_up_id) if follow_up_id else None
    if row is None:
        raise gate.refuse(
            action,
            NO_ACCESS.format(what="Diese Wiedervorlage"),
            object_type="follow_up",
            object_id=follow_up_id,
        )
    _, grant = gate.household(row.household.bg_number, action, audited=False)
    return row, grant


def _audit(gate: Gate, row: FollowUp, action: str, grant: Grant | None, **details: Any) -> None:
    gate.record(
        action,
        object_type="follow_up",
        object_id=row.id,
        bg_number=row.household.bg_number,
        grant=grant,
        **details,
    )


# --- changes ------------------------------------------------------------------------------


def create_follow_up(
    gate: Gate,
    bg_number: str,
    due_on: date | None,
    note: str,
    *,
    document_id: uuid.UUID | str | None = None,
    for_team: bool = False,
    kind: str = "manual",
    request_id: int | None = None,
    user: User | None = None,
) -> FollowUp:
    """A new follow-up on the household's file (or one of its documents), for `user` (default:
    the acting user) or for the acting user's team. A request's deadline is kind "request"
    with its `request_id` (the note may then be empty)."""
    household, grant = gate.household(bg_number, "followup.create", audited=False)
    if kind not in ("manual", "request"):
        raise InvalidInput("Unbekannte Art der Wiedervorlage.", field="kind")
    day = _future(due_on, "due_on")
    note = (note or "").strip()
    if kind == "manual" and not note:
        raise InvalidInput("Bitte einen Hinweis zur Wiedervorlage angeben.", field="note")
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"Der Hinweis ist zu lang (höchstens {NOTE_MAX} Zeichen).", field="note")
    if kind == "request":
        request = gate.session.get(DocumentRequest, request_id) if request_id else None
        if request is None or request.household_id != household.id:
            raise InvalidInput("Diese Anforderung gehört nicht zu dieser Akte.", field="request")
    document = _document_of(gate.session, household, document_id) if document_id else None
    owner = user or gate.user
    team_id: int | None = None
    if for_team:
        if owner.team_id is None:
            raise InvalidInput(
                "Sie gehören keinem Team an: bitte die Wiedervorlage für sich selbst setzen.",
                field="for_team",
            )
        team_id = owner.team_id
    row = FollowUp(
        kind=kind,
        household_id=household.id,
        household=household,
        document_id=uuid.UUID(document) if document else None,
        request_id=request_id if kind == "request" else None,
        due_on=day,
        note=note,
        user_id=None if for_team else owner.id,
        team_id=team_id,
        created_by_login=gate.user.login,
        moves=[],
    )
    gate.session.add(row)
    gate.session.flush()
    _audit(
        gate,
        row,
        "followup.create",
        grant,
        due_on=day.isoformat(),
        assignee="team" if for_team else owner.login,
        **({"document": document} if document else {}),
    )
    return row


def move_follow_up(gate: Gate, follow_up_id: int, new_date: date | None, reason: str) -> FollowUp:
    """Move an open follow-up to another day, with a reason kept in its history."""
    row, grant = _follow_up(gate, follow_up_id, "followup.move")
    if row.done_at is not None:
        raise InvalidInput("Diese Wiedervorlage ist bereits erledigt.", field="due_on")
    day = _future(new_date, "due_on")
    text = _reason(reason, "für das Verschieben")
    old = row.due_on
    row.moves = [
        *(row.moves or []),
        {
            "from": old.isoformat(),
            "to": day.isoformat(),
            "reason": text,
            "by": gate.user.login,
            "at": utcnow().isoformat(),
        },
    ]
    row.due_on = day
    gate.session.flush()
    _audit(gate, row, "followup.move", grant, from_=old.isoformat(), to=day.isoformat())
    return row


def complete_follow_up(gate: Gate, follow_up_id: int, reason: str) -> FollowUp:
    """Mark an open follow-up done, with a reason."""
    row, grant = _follow_up(gate, follow_up_id, "followup.done")
    if row.done_at is not None:
        raise InvalidInput("Diese Wiedervorlage ist bereits erledigt.", field="reason")
    row.done_reason = _reason(reason, "für das Erledigen")
    row.done_at = utcnow()
    row.done_by_login = gate.user.login
    gate.session.flush()
    _audit(gate, row, "followup.done", grant)
    return row


def close_follow_ups_of_request(
    session: Session, request_id: int, reason: str, by_login: str
) -> int:
    """Close the open follow-ups of a request (every item arrived). No gate of its own: the
    request code calls it inside its gated, audited unit of work. Returns how many closed."""
    rows = list(
        session.scalars(
            select(FollowUp).where(FollowUp.request_id == request_id, FollowUp.done_at.is_(None))
        )
    )
    now = utcnow()
    for row in rows:
        row.done_at = now
        row.done_by_login = by_login
        row.done_reason = reason
    session.flush()
    return len(rows)


# --- lists --------------------------------------------------------------------------------


def _missing(request: DocumentRequest | None) -> str:
    items: list[RequestItem] = list(request.items) if request is not None else []
    names = [
        f"{item.label} ({item.detail})" if item.detail else item.label
        for item in items
        if item.state == "missing"
    ]
    return ", ".join(names) or "nichts"


def _whose(row: FollowUp, me: User, teams: dict[int, str], absent: dict[int, User]) -> str:
    if row.team_id is not None:
        return f"für Team {teams.get(row.team_id, '')}".rstrip()
    if row.user_id == me.id:
        return "für mich"
    if row.user_id in absent:
        return f"für {absent[row.user_id].name} (Vertretung)"
    return f"für {row.user.name}" if row.user is not None else ""


@dataclass(frozen=True)
class _Names:
    """What the lines of one list name: teams, absent colleagues, the requests."""

    teams: dict[int, str]
    absent: dict[int, User]
    requests: dict[int, DocumentRequest]


def _names(session: Session, rows: list[FollowUp], absent: dict[int, User]) -> _Names:
    team_ids = {row.team_id for row in rows if row.team_id is not None}
    request_ids = {row.request_id for row in rows if row.request_id is not None}
    teams = (
        {team.id: team.name for team in session.scalars(select(Team).where(Team.id.in_(team_ids)))}
        if team_ids
        else {}
    )
    requests = (
        {
            r.id: r
            for r in session.scalars(
                select(DocumentRequest)
                .where(DocumentRequest.id.in_(request_ids))
                .options(selectinload(DocumentRequest.items))
            )
        }
        if request_ids
        else {}
    )
    return _Names(teams, absent, requests)


def _line(row: FollowUp, me: User, names: _Names) -> Line:
    teams, absent = names.teams, names.absent
    bg = row.household.bg_number
    today = local_today()
    if row.kind == "request":
        missing = _missing(names.requests.get(row.request_id or 0))
        # Due (the Postkorb's line): the deadline passed; before, the E-Akte says what it awaits.
        if row.due_on <= today:
            text = f"Frist abgelaufen: fehlend {missing}"
        else:
            text = f"Frist bis {german(row.due_on)}: noch fehlend {missing}"
        href = f"/akte/{bg}#anforderung-{row.request_id}"
    else:
        text = row.note
        href = f"/dokument/{row.document_id}" if row.document_id else f"/akte/{bg}#wiedervorlagen"
    done_text = ""
    if row.done_at is not None:
        done_text = (
            f"erledigt am {german(row.done_at.date())} von {row.done_by_login}: "
            f"{row.done_reason or ''}"
        )
    moves = [
        Move(
            from_=german(date.fromisoformat(m["from"])),
            to=german(date.fromisoformat(m["to"])),
            reason=str(m.get("reason", "")),
            by=str(m.get("by", "")),
            at=german(datetime.fromisoformat(str(m["at"])).date()) if m.get("at") else "",
        )
        for m in (row.moves or [])
    ]
    return Line(
        id=row.id,
        kind=row.kind,
        bg_number=bg,
        due_on=row.due_on,
        due=german(row.due_on),
        overdue=row.done_at is None and row.due_on < today,
        text=text,
        href=href,
        whose=_whose(row, me, teams, absent),
        created=f"von {row.created_by_login} am {german(row.created_at.date())}",
        document_id=str(row.document_id) if row.document_id else None,
        done=row.done_at is not None,
        done_text=done_text,
        moves=moves,
    )


def _loads() -> tuple[Any, ...]:
    return (
        selectinload(FollowUp.household).selectinload(Household.caseworker),
        selectinload(FollowUp.household).selectinload(Household.case_manager),
        selectinload(FollowUp.user),
    )


def _mine(gate: Gate, until: date | None) -> list[Line]:
    """Open follow-ups for the user, the user's team and the colleagues the user stands in
    for today, of files the user may open; due on or before `until` (None: any day)."""
    user = gate.user
    absent = {a.id: a for a in absent_colleagues(gate.session, user)}
    targets: list[ColumnElement[bool]] = [FollowUp.user_id.in_([user.id, *absent])]
    if user.team_id is not None:
        targets.append(FollowUp.team_id == user.team_id)
    query = (
        select(FollowUp)
        .where(FollowUp.done_at.is_(None), or_(*targets))
        .options(*_loads())
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(LIST_LIMIT)
    )
    if until is not None:
        query = query.where(FollowUp.due_on <= until)
    rows = list(gate.session.scalars(query))
    allowed = households_open_to(gate.session, user, {r.household for r in rows})
    rows = [r for r in rows if r.household_id in allowed]
    names = _names(gate.session, rows, absent)
    return [_line(r, user, names) for r in rows]


def upcoming(gate: Gate) -> list[Line]:
    """The user's open follow-ups (own, team, as deputy today): overdue ones first, then from
    today on. Audited as a list that names files."""
    gate.listing(Capability.CASE_FILES, "followup.list")
    return _mine(gate, None)


def postkorb_token(gate: Gate) -> str:
    """The Postkorb's change token: its list's (records.inbox.change_token) together with the
    block of due follow-ups, so an open Postkorb redraws the block when a follow-up falls due
    (the day changed), is set, moved or closed. Not audited: the token names no client (the
    block it leads to is audited when drawn)."""
    due = _mine(gate, local_today()) if gate.may(Capability.CASE_FILES) else []
    return fingerprint(inbox.change_token(gate), local_today(), [repr(line) for line in due])


def due_today(gate: Gate) -> list[Line]:
    """The Postkorb's "Heute fällige Wiedervorlagen": open follow-ups due today or before, for
    the user, the team and the colleagues the user stands in for today. Empty (and not
    audited) for a role without case files."""
    if not gate.may(Capability.CASE_FILES):
        return []
    lines = _mine(gate, local_today())
    if lines:
        gate.record("followup.due", count=len(lines))
    return lines


@dataclass(frozen=True)
class Section:
    """The E-Akte's section "Wiedervorlagen": the file's follow-ups and what the form offers."""

    open: list[Line]
    done: list[Line]
    documents: list[tuple[str, str]]  # (id, label) of the file's documents
    default_due: str  # ISO date, +14 days
    today: str
    has_team: bool
    may_change: bool


def file_section(gate: Gate, bg_number: str, document_labels: dict[str, str]) -> Section:
    """The file's follow-ups (open and done) for the E-Akte page, which has audited the
    opening of the file already. `document_labels` names the document types."""
    household, _ = gate.household(bg_number, "followup.file", audited=False)
    rows = list(
        gate.session.scalars(
            select(FollowUp)
            .where(FollowUp.household_id == household.id)
            .options(*_loads())
            .order_by(FollowUp.due_on, FollowUp.id)
            .limit(LIST_LIMIT)
        )
    )
    absent = {a.id: a for a in absent_colleagues(gate.session, gate.user)}
    names = _names(gate.session, rows, absent)
    lines = [_line(r, gate.user, names) for r in rows]
    documents = gate.visible(
        gate.session.scalars(
            select(Document)
            .where(
                Document.household_id == household.id,
                Document.restricted_at.is_(None),
                Document.discarded_at.is_(None),
            )
            .order_by(Document.received_at.desc())
            .limit(LIST_LIMIT)
        )
    )
    today = local_today()
    return Section(
        open=[line for line in lines if not line.done],
        done=[line for line in lines if line.done],
        documents=[
            (
                str(d.id),
                f"{document_labels.get(d.doc_type or '', d.doc_type or 'Dokument')}, "
                f"Eingang {german(d.receipt_date or d.received_at.date())}",
            )
            for d in documents
        ],
        default_due=(today + timedelta(days=DEFAULT_DAYS)).isoformat(),
        today=today.isoformat(),
        has_team=gate.user.team_id is not None,
        may_change=household.handed_over_at is None,
    )
