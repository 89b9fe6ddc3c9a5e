"""The Postkorb: list, count and work inbox items (read, take, forward, return, done).

Every change is checked against whose item it is (own, team, or a colleague's the user stands
in for) and written to the audit log, for a deputy as "B für A".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.db import utcnow
from core.errors import Conflict, EAkteError, InvalidInput
from records import audit, duplicates
from records.access import (
    LEGAL_DOC_TYPES,
    RECEIVING_ROLES,
    Capability,
    Gate,
    Role,
    absent_colleagues,
    household_grant,
    may,
)
from records.live import fingerprint
from records.models import Document, Household, InboxItem, Team, User
from records.reindex import reindex_ids_after_commit
from records.runtime import Runtime

SCOPES = ("mine", "team", "deputy", "clearing", "all")
SORTS: dict[str, tuple[ColumnElement[Any], ...]] = {
    "received": (Document.receipt_date.desc(), InboxItem.id.desc()),
    "oldest": (Document.receipt_date.asc(), InboxItem.id.asc()),
    "type": (Document.doc_type.asc(), Document.receipt_date.desc()),
    "household": (Household.bg_number.asc(), Document.receipt_date.desc()),
}
ACTIONS = ("read", "unread", "take", "forward", "return", "done", "reopen")
# The Postkorb page's tabs and status filter (in its address and in saved views).
TABS = ("mine", "team", "deputy")
STATES = ("open", "new", "done", "any")
# What the user is told after an action on an item ("brief.pdf: erledigt").
SAID = {
    "read": "gelesen",
    "unread": "ungelesen",
    "take": "übernommen",
    "forward": "weitergeleitet",
    "return": "zurück in der Klärung",
    "done": "erledigt",
    "reopen": "wieder geöffnet",
    "discard": "als Duplikat verworfen",
}


def said(item: InboxItem, action: str) -> str:
    """The sentence the Postkorb shows after `action` on `item`."""
    return f"{item.document.source_name}: {SAID.get(action, action)}"


@dataclass(frozen=True)
class Scope:
    """The inbox items a user may see, split by where they lie."""

    user: User
    absent: list[User]

    def condition(self, scope: str) -> ColumnElement[bool]:
        inbox = may(self.user, Capability.INBOX)
        own = and_(InboxItem.kind == "user", InboxItem.user_id == self.user.id) if inbox else None
        team = (
            and_(InboxItem.kind == "team", InboxItem.team_id == self.user.team_id)
            if inbox and self.user.team_id is not None
            else None
        )
        deputy = (
            and_(InboxItem.kind == "user", InboxItem.user_id.in_([a.id for a in self.absent]))
            if self.absent
            else None
        )
        clearing = InboxItem.kind == "clearing" if may(self.user, Capability.CLEARING) else None
        parts = {"mine": own, "team": team, "deputy": deputy, "clearing": clearing}
        if scope == "all":
            chosen = [c for c in parts.values() if c is not None]
        else:
            picked = parts.get(scope)
            chosen = [picked] if picked is not None else []
        return or_(*chosen) if chosen else InboxItem.id.is_(None)


def scope_for(session: Session, user: User) -> Scope:
    return Scope(user, absent_colleagues(session, user))


def _query(scope: Scope, which: str) -> Select[Any]:
    return (
        select(InboxItem)
        .join(Document, Document.id == InboxItem.document_id)
        .outerjoin(Household, Household.id == Document.household_id)
        .where(scope.condition(which))
        # A letter held for the desk's quality check reaches nobody's Postkorb before it.
        .where(or_(InboxItem.kind == "clearing", Document.held_for_qa.is_(False)))
        # A discarded duplicate is in no inbox any more (kept in storage with its original).
        .where(Document.discarded_at.is_(None))
    )


def list_items(
    gate: Gate,
    *,
    scope: str = "mine",
    state: str | None = "open",
    doc_type: str | None = None,
    bg_number: str | None = None,
    sort: str = "received",
    limit: int = 200,
    offset: int = 0,
) -> tuple[int, list[InboxItem]]:
    if scope not in SCOPES:
        raise InvalidInput(f"Unbekannter Bereich »{scope}«.", code="inbox_scope")
    if sort not in SORTS:
        raise InvalidInput(f"Unbekannte Sortierung »{sort}«.", code="inbox_sort")
    session, user = gate.session, gate.user
    query = _query(scope_for(session, user), scope)
    if state == "open":
        query = query.where(InboxItem.state != "done")
    elif state in ("new", "read", "done"):
        query = query.where(InboxItem.state == state)
    elif state not in (None, "", "any"):
        raise InvalidInput(f"Unbekannter Status »{state}«.", code="inbox_state")
    if doc_type:
        query = query.where(Document.doc_type == doc_type)
    if bg_number:
        query = query.where(Household.bg_number == bg_number)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.options(
            selectinload(InboxItem.document)
            .selectinload(Document.household)
            .selectinload(Household.members),
            selectinload(InboxItem.user),
            selectinload(InboxItem.team),
        )
        .order_by(*SORTS[sort])
        .limit(limit)
        .offset(offset)
    ).all()
    # The list names clients (households, reasons): who saw which items is in the audit log.
    gate.record(
        "inbox.list",
        scope=scope,
        state=state,
        total=total,
        items=[item.id for item in items],
        households=sorted({i.document.household.bg_number for i in items if i.document.household}),
    )
    return total, list(items)


def counts(gate: Gate) -> dict[str, Any]:
    """New (unread) and open items per area, for the navigation."""
    session, user = gate.session, gate.user
    scope = scope_for(session, user)
    result: dict[str, Any] = {}
    for which in ("mine", "team", "clearing"):
        base = _query(scope, which).where(InboxItem.state != "done").subquery()
        result[which] = {
            "open": session.scalar(select(func.count()).select_from(base)) or 0,
            "new": session.scalar(
                select(func.count()).select_from(base).where(base.c.state == "new")
            )
            or 0,
        }
    result["deputy"] = []
    for absent in scope.absent:
        # As the deputy tab lists them: a letter held for the desk's check is not counted yet.
        open_items = session.scalar(
            select(func.count()).select_from(
                _query(scope, "deputy")
                .where(InboxItem.user_id == absent.id, InboxItem.state != "done")
                .subquery()
            )
        )
        result["deputy"].append({"login": absent.login, "name": absent.name, "open": open_items})
    gate.record("inbox.counts")
    return result


def change_token(gate: Gate) -> str:
    """A short fingerprint of everything the user's Postkorb shows (every tab, counts and
    rows): it changes when an item arrives, leaves, changes its state or its document
    changes, and only then. One aggregate query over the user's own items (own, team,
    deputy, clearing), so another user's items never change it. Not audited: it names no
    client (the list and counts it leads to are)."""
    session, user = gate.session, gate.user
    scope = scope_for(session, user)
    rows = session.execute(
        _query(scope, "all")
        .with_only_columns(
            InboxItem.kind,
            InboxItem.user_id,
            InboxItem.team_id,
            InboxItem.state,
            func.count(),
            func.sum(InboxItem.id),
            func.max(InboxItem.id),
            func.max(Document.updated_at),
        )
        .group_by(InboxItem.kind, InboxItem.user_id, InboxItem.team_id, InboxItem.state)
        .order_by(InboxItem.kind, InboxItem.user_id, InboxItem.team_id, InboxItem.state)
    ).all()
    return fingerprint(user.id, [a.id for a in scope.absent], [tuple(row) for row in rows])


def work_item(
    gate: Gate,
    item_id: int,
    action: str,
    *,
    to_user: str | None = None,
    to_team: str | None = None,
    comment: str | None = None,
) -> InboxItem:
    """Apply one action to one item the user may work; returns the item as it is now."""
    if action not in ACTIONS:
        raise InvalidInput(f"Unbekannte Aktion »{action}«.", code="inbox_action")
    session, user = gate.session, gate.user
    item, grant = gate.item(item_id, f"inbox.{action}")
    document = item.document
    if document.qa_status == "rejected" and action not in ("read", "unread", "done"):
        raise Conflict(
            "Das Dokument wurde zur Neuerfassung abgelehnt; es kann nur als erledigt markiert "
            "werden.",
            code="qa_rejected",
        )
    before = {"kind": item.kind, "user_id": item.user_id, "team_id": item.team_id}
    note = (comment or "").strip()[:2000] or None
    if action == "read":
        if item.state == "new":
            item.state, item.read_at = "read", utcnow()
    elif action == "unread":
        if item.state == "read":
            item.state, item.read_at = "new", None
    elif action == "done":
        if item.state == "done":
            raise Conflict("Der Eintrag ist bereits erledigt.", code="inbox_done")
        item.state, item.done_at = "done", utcnow()
        item.done_by_login = user.login
    elif action == "reopen":
        item.state, item.done_at, item.done_by_login = "read", None, None
    elif action == "take":
        if item.kind != "team":
            raise Conflict("Nur Einträge im Team-Postkorb können übernommen werden.", code="take")
        item.kind, item.user_id, item.team_id = "user", user.id, None
        item.state = "read"
    elif action == "forward":
        _forward(session, user, item, to_user, to_team, note)
        item.comment, item.forwarded_by_login = note, user.login
        item.state, item.read_at = "new", None
    elif action == "return":
        if not note:
            raise InvalidInput(
                "Bitte begründen, warum das Dokument zurück in die Klärung geht.",
                code="return_reason",
            )
        item.kind, item.user_id, item.team_id = "clearing", None, None
        item.state, item.read_at = "new", None
        item.comment, item.forwarded_by_login = note, user.login
        item.reason = f"Zurück in die Klärung ({user.name}): {note}\n{item.reason}"
        document.household = None  # out of the household's file until the desk decides again
    gate.record_on(
        document,
        f"inbox.{action}",
        grant=grant,
        item=item.id,
        before=before,
        after={"kind": item.kind, "user_id": item.user_id, "team_id": item.team_id},
        comment=note,
    )
    return item


def _forward(
    session: Session,
    user: User,
    item: InboxItem,
    to_user: str | None,
    to_team: str | None,
    note: str | None,
) -> None:
    """Forwarding must not disclose a file to anyone without a need to know it: every receiver
    (each member of a receiving team) must be responsible for the household. Only objections
    and court letters go to the objections office without a reason."""
    if bool(to_user) == bool(to_team):
        raise InvalidInput(
            "Bitte genau ein Ziel angeben: eine Person oder ein Team.", code="forward_target"
        )
    if to_user:
        target = session.scalar(select(User).where(User.login == to_user, User.active.is_(True)))
        if target is None:
            raise InvalidInput(f"Benutzer »{to_user}« ist nicht bekannt oder nicht aktiv.")
        if target.role not in RECEIVING_ROLES:
            raise InvalidInput(f"An {target.name} können keine Akten weitergeleitet werden.")
        if target.id == user.id and item.kind == "user" and item.user_id != user.id:
            raise InvalidInput(
                "Einträge vertretener Kolleginnen und Kollegen bleiben in deren Postkorb; "
                "sie können nicht in den eigenen weitergeleitet werden.",
                code="forward_to_self",
            )
        receivers, label = [target], target.name
        item.kind, item.user_id, item.team_id = "user", target.id, None
    else:
        team = session.scalar(select(Team).where(Team.name == to_team))
        if team is None:
            raise InvalidInput(f"Team »{to_team}« ist nicht bekannt.")
        receivers = list(
            session.scalars(select(User).where(User.team_id == team.id, User.active.is_(True)))
        )
        if not receivers:
            raise InvalidInput(f"Im Team {team.name} ist niemand aktiv.")
        if any(member.role not in RECEIVING_ROLES for member in receivers):
            raise InvalidInput(f"An das Team {team.name} können keine Akten weitergeleitet werden.")
        label = f"das Team {team.name}"
        item.kind, item.user_id, item.team_id = "team", None, team.id
    household = item.document.household
    to_office = any(r.role == Role.WIDERSPRUCH for r in receivers)
    if to_office:
        # The office sees a file while the letter lies open with it: only legal remedies and
        # court letters belong there as such; anything else needs a reason.
        if item.document.doc_type not in LEGAL_DOC_TYPES and not note:
            raise InvalidInput(
                "Nur Widersprüche und Schreiben des Sozialgerichts gehen ohne Begründung an die "
                "Widerspruchsstelle; bitte einen Kommentar angeben.",
                code="forward_reason",
            )
        return
    if household is None:
        return
    for receiver in receivers:
        if household_grant(session, receiver, household) is None:
            raise InvalidInput(
                f"Weiterleiten nicht möglich: {label} ist für den Haushalt "
                f"{household.bg_number} nicht zuständig"
                + (f" ({receiver.name})." if len(receivers) > 1 else "."),
                code="forward_no_access",
            )


# --- working items, and the index after the commit -------------------------------------------

# Actions that change what the index holds: the household (return to clearing) or the
# document's status (done, reopened), which search filters on.
REINDEXED = ("return", "done", "reopen")


def _reindex_after_commit(runtime: Runtime, gate: Gate, items: list[InboxItem]) -> None:
    """The index follows the commit, once per document, with no transaction open: its writes
    never hold SQLite's write lock, and a rolled-back action leaves the index alone."""
    document_ids = list(dict.fromkeys(item.document_id for item in items))
    reindex_ids_after_commit(gate.session, runtime, document_ids)  # issue 20: via the outbox


def act(runtime: Runtime, gate: Gate, item_id: int, action: str, **how: str | None) -> InboxItem:
    """One action on one item (`how`: to_user, to_team, comment as for work_item); the index
    follows the commit where the action changes it."""
    return act_on_many(runtime, gate, [item_id], action, **how)[0]


def act_on_many(
    runtime: Runtime,
    gate: Gate,
    item_ids: list[int],
    action: str,
    *,
    to_user: str | None = None,
    to_team: str | None = None,
    comment: str | None = None,
) -> list[InboxItem]:
    """All or nothing: one refused item leaves every item as it was.

    Each item is worked once, however often its id was sent (in the order first sent).
    """
    ids = list(dict.fromkeys(item_ids))
    # The items with their documents and households in two queries, not two per item: the
    # transaction holds SQLite's write lock for as short a time as possible. (Held in a name
    # until the loop is done: the session keeps unchanged rows only while they are referenced.)
    preloaded = gate.session.scalars(
        select(InboxItem)
        .where(InboxItem.id.in_(ids))
        .options(selectinload(InboxItem.document).selectinload(Document.household))
    ).all()
    done = [
        work_item(gate, item_id, action, to_user=to_user, to_team=to_team, comment=comment)
        for item_id in ids
    ]
    del preloaded
    gate.session.flush()
    if action in REINDEXED:
        _reindex_after_commit(runtime, gate, done)
    return done


def forward_targets(gate: Gate) -> tuple[list[User], list[Team]]:
    """The active people who receive items, and the teams: where an item may be forwarded."""
    gate.require(Capability.INBOX, "staff.list")
    session = gate.session
    people = session.scalars(
        select(User)
        .where(User.active.is_(True), User.role.in_(RECEIVING_ROLES))
        .order_by(User.name)
    ).all()
    teams = session.scalars(select(Team).order_by(Team.name)).all()
    return list(people), list(teams)


# --- discarding a duplicate from the Postkorb ------------------------------------------------

DISCARDED = "document.discarded"  # as in clearing (records.duplicates): the Verlauf names it


def _refused(gate: Gate, item: InboxItem, error: EAkteError) -> EAkteError:
    """A discard refused by a rule (not by access): its audit row is written after the
    rollback, as the gate writes an access refusal's."""
    error.after_rollback = audit.pending(
        gate.user,
        DISCARDED,
        object_type="document",
        object_id=item.document_id,
        bg_number=item.document.household.bg_number if item.document.household else None,
        outcome="refused",
        inbox_item=item.id,
        code=error.code,
    )
    return error


def may_discard(item: InboxItem) -> bool:
    """Whether the Postkorb offers "Duplikat verwerfen" for this item: a letter read before
    (marked as a duplicate), still in the file, outside clearing (the desk discards there)."""
    document = item.document
    return (
        item.kind != "clearing"
        and document.duplicate_of_id is not None
        and document.discarded_at is None
        and document.qa_status != "rejected"
    )


def discard_duplicate(runtime: Runtime, gate: Gate, item_id: int, reason: str) -> InboxItem:
    """Discard the duplicate an item of the user's Postkorb (own, team, or one the user stands
    in for) holds: the document is kept in storage with its original, but is in no file, inbox
    or search result any more (the index follows the commit); the item is done. Only a
    document marked as a duplicate (records.duplicates) can be discarded, and only with a
    reason; every refusal and the discard itself are audited."""
    item, grant = gate.item(item_id, DISCARDED)  # not the user's: refused and audited
    document = item.document
    note = " ".join((reason or "").split())[:2000]
    if not may_discard(item):
        raise _refused(
            gate,
            item,
            Conflict(
                "Nur ein als Duplikat erkanntes Dokument kann aus dem Postkorb verworfen "
                "werden; dieses bitte bearbeiten oder als erledigt markieren.",
                code="not_a_duplicate",
            ),
        )
    if len(note) < 3:
        raise _refused(
            gate,
            item,
            InvalidInput("Bitte einen Grund für das Verwerfen angeben.", code="discard_reason"),
        )
    duplicates.mark_discarded(runtime, gate, document, item, grant, note, place="postkorb")
    return item
