"""Filing a document: into a household's file, under a type, into the inbox of who is responsible.

Recognition (ingest/recognition) decides automatically; the clearing desk decides by hand. Both
end here, so the inbox item, the file, the audit log and the search index always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto
from typing import Final, Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, object_session

from core.db import utcnow
from records import audit
from records.access import CLEARING as CLEARING_ACCESS
from records.access import access_key_of
from records.models import Document, Household, InboxItem, Note, Team, User
from search import IndexedDocument

TEAM_PREFIX = "team:"
ROLE_LABELS = {"caseworker": "Leistungssachbearbeitung", "case_manager": "Fallmanagement"}


@dataclass(frozen=True)
class Destination:
    kind: str  # "user", "team" or "clearing"
    user: User | None = None
    team: Team | None = None
    note: str = ""  # German: why this inbox, e.g. "zuständige Sachbearbeitung: Petra Schmitt"

    def as_json(self) -> dict[str, str]:
        if self.kind == "user" and self.user is not None:
            return {"kind": "user", "user": self.user.login}
        if self.kind == "team" and self.team is not None:
            return {"kind": "team", "team": self.team.name}
        return {"kind": "clearing"}


CLEARING = Destination("clearing")


def destination_for(session: Session, household: Household | None, target: str) -> Destination:
    """Type target → role → the household's responsible person, or the team inbox.

    Without a household there is no need to know anyone could have: clearing, whatever the type;
    a file handed over to another authority takes no new mail either.
    A responsible person who left (inactive) or was never named hands over to their team's inbox.
    """
    if household is None or not household.active:
        return CLEARING
    if household.handed_over_at is not None:
        # The file went to another authority and is read-only here (records.handover): new
        # mail is not filed into it; the desk decides (forward it, or a new file).
        return Destination("clearing", note=f"Akte an {household.handed_over_to} abgegeben")
    if target.startswith(TEAM_PREFIX):
        name = target.removeprefix(TEAM_PREFIX)
        team = session.scalar(select(Team).where(Team.name == name))
        if team is None:
            return Destination("clearing", note=f"Team »{name}« ist nicht angelegt")
        return Destination("team", team=team, note=f"Team {team.name}")
    if target not in ROLE_LABELS:
        return Destination("clearing", note=f"unbekanntes Ziel »{target}« im Dokumentarten-Katalog")
    person = household.caseworker if target == "caseworker" else household.case_manager
    label = ROLE_LABELS[target]
    if person is not None and person.active:
        return Destination("user", user=person, note=f"zuständig ({label}): {person.name}")
    if person is not None and person.team is not None:
        return Destination(
            "team",
            team=person.team,
            note=f"{label} {person.name} ist nicht mehr aktiv; Team {person.team.name}",
        )
    return Destination("clearing", note=f"für diesen Haushalt ist keine {label} eingetragen")


def requester_destination(session: Session, household: Household, requester: User) -> Destination:
    """The Postkorb of whoever wrote a request, for the documents behind its return sheet (an
    absent requester's deputy works it as usual); a requester no longer active hands over to
    their team, else the household's usual caseworker."""
    if requester.active:
        return Destination("user", user=requester, note=f"Anforderung von {requester.name}")
    team = session.get(Team, requester.team_id) if requester.team_id else None
    if team is not None:
        return Destination(
            "team", team=team, note=f"{requester.name} ist nicht mehr aktiv; Team {team.name}"
        )
    return destination_for(session, household, "caseworker")


def file_document(
    session: Session,
    document: Document,
    *,
    household: Household | None,
    doc_type: str,
    target: str,
    reason: str,
    actor: User | None,
    routed_by: str,
    open_item: bool = True,
    destination: Destination | None = None,
) -> InboxItem | None:
    """File the document and put it into exactly one open inbox; every earlier item is replaced.
    `destination` overrides the type's target (a return sheet names the requester).

    The caller commits, and afterwards brings the index up to date with `index_entry`.
    """
    if destination is None:
        destination = destination_for(session, household, target)
    previous = document.household.bg_number if document.household is not None else None
    previous_type = document.doc_type
    session.execute(delete(InboxItem).where(InboxItem.document_id == document.id))
    # In clearing a document belongs to no household file yet: only the desk may see it, and a
    # proposed household is kept in `document.recognition` for the desk to confirm.
    document.household = household if destination.kind != "clearing" else None
    document.doc_type = doc_type
    document.routed_at = utcnow()
    document.routed_by = routed_by
    handed_over = household is not None and household.handed_over_at is not None
    if not open_item and not handed_over:
        # Put into the file by a person who works it already: no inbox item for anyone.
        document.household = household
        audit.record(
            session,
            actor,
            "document.filed",
            actor_login="system" if actor is None else None,
            object_type="document",
            object_id=document.id,
            bg_number=household.bg_number if household else None,
            doc_type=doc_type,
            routed_by=routed_by,
        )
        return None
    text = reason if not destination.note else f"{reason}\nPostkorb: {destination.note}."
    item = InboxItem(
        document=document,
        kind=destination.kind,
        user_id=destination.user.id if destination.user else None,
        team_id=destination.team.id if destination.team else None,
        reason=text,
    )
    session.add(item)
    audit.record(
        session,
        actor,
        "document.routed" if actor is None else "document.filed_by_hand",
        actor_login="system" if actor is None else None,
        object_type="document",
        object_id=document.id,
        bg_number=household.bg_number if household else None,
        doc_type=doc_type,
        inbox=destination.as_json(),
        previous_bg_number=previous,
        previous_doc_type=previous_type,
        routed_by=routed_by,
    )
    return item


def inbox_of(item: InboxItem | None) -> dict[str, str]:
    if item is None or item.kind == "clearing":
        return {"kind": "clearing"}
    if item.kind == "user":
        return {"kind": "user", "user": item.user.login if item.user else ""}
    return {"kind": "team", "team": item.team.name if item.team else ""}


def document_status(document: Document, item: InboxItem | None) -> str:
    """Where a document stands (`eakte documents`, search filter `status`)."""
    if document.qa_status == "rejected":
        return "rejected"
    if document.status != "processed":
        return document.status
    if item is None or item.state == "done":
        return "done"  # filed and its inbox item worked off
    return "clearing" if item.kind == "clearing" else "routed"


class _Unset(Enum):
    """Marks an argument not given (None is a value of its own: no open inbox item)."""

    UNSET = auto()


_UNSET: Final = _Unset.UNSET


def index_entry(
    document: Document,
    *,
    item: InboxItem | None | Literal[_Unset.UNSET] = _UNSET,
    notes: list[str] | None = None,
) -> IndexedDocument:
    """What the search index holds for a document; the access key is its household.

    `item` (the open inbox item, or None) and `notes` are looked up when not given; a rebuild
    passes them in, read for a whole batch at once.
    """
    session = object_session(document)
    open_item: InboxItem | None
    if isinstance(item, _Unset):
        open_item = (
            session.scalar(select(InboxItem).where(InboxItem.document_id == document.id))
            if session is not None
            else None
        )
    else:
        open_item = item
    if notes is None:
        notes = (
            list(
                session.scalars(
                    select(Note.text)
                    .where(Note.document_id == document.id)
                    .order_by(Note.created_at, Note.id)
                )
            )
            if session is not None
            else []
        )
    household = document.household if access_key_of(document) != CLEARING_ACCESS else None
    return IndexedDocument(
        document_id=str(document.id),
        source_name=document.source_name,
        received_at=document.received_at,
        pages=[page.text for page in document.pages],
        bg_number=household.bg_number if household else None,
        doc_type=document.doc_type,
        receipt_date=document.receipt_date,
        direction=document.direction or "in",
        known_identifiers=(document.court_reference,) if document.court_reference else (),
        status=document_status(document, open_item),
        notes=tuple(notes),
    )
