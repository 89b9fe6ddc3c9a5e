"""Need-to-know: which households' files a user may see, and whose inbox a user may work.

Access is expressed as a set of access keys: the BG numbers of visible households, plus
CLEARING for documents that belong to no household yet. Services check single objects against
it, and the search index filters on the same keys inside the query.

Who sees what:
- caseworkers and case managers: the households of their own caseload and of their team, and
  those of every colleague they stand in for (Vertretung) on the current day;
- the objections office: the households with a document in its team inbox (objections and
  court letters) or taken from it into a member's own, and those with an open objection or a
  pending appeal;
- the scanning desk: documents in clearing, and every document until its quality check;
- administrators: configuration, no content.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from records.dates import local_today
from records.errors import AccessDenied
from records.models import Appeal, Deputy, Document, Household, InboxItem, Objection, User

CLEARING = "clearing"
CASEWORK_ROLES = ("leistung", "fallmanagement")


def absent_colleagues(session: Session, user: User, on: date | None = None) -> list[User]:
    """The users `user` stands in for on that day (default: today)."""
    day = on or local_today()
    return list(
        session.scalars(
            select(User)
            .join(Deputy, Deputy.absent_id == User.id)
            .where(
                Deputy.deputy_id == user.id,
                Deputy.revoked_at.is_(None),
                Deputy.starts_on <= day,
                Deputy.ends_on >= day,
            )
            .order_by(User.name)
        )
    )


def _caseload(user_ids: list[int]):  # type: ignore[no-untyped-def]
    return select(Household.bg_number).where(
        or_(Household.caseworker_id.in_(user_ids), Household.case_manager_id.in_(user_ids))
    )


def visible_access_keys(session: Session, user: User) -> frozenset[str]:
    keys: set[str] = set()
    if user.role == "scanstelle":
        keys.add(CLEARING)
    if user.role in CASEWORK_ROLES:
        people = [user.id]
        if user.team_id is not None:
            people += list(session.scalars(select(User.id).where(User.team_id == user.team_id)))
        people += [absent.id for absent in absent_colleagues(session, user)]
        keys.update(session.scalars(_caseload(people)))
    if user.role == "widerspruch":
        # ... and those with an objection or appeal the office is working on.
        keys.update(
            session.scalars(
                select(Household.bg_number)
                .join(Objection, Objection.household_id == Household.id)
                .where(Objection.status.in_(("eingegangen", "in_bearbeitung")))
            )
        )
        keys.update(
            session.scalars(
                select(Household.bg_number)
                .join(Appeal, Appeal.household_id == Household.id)
                .where(Appeal.status == "anhaengig")
            )
        )
    if user.role == "widerspruch":
        # Letters in the team inbox, and those a member took into their own.
        routed_here = InboxItem.kind == "user", InboxItem.user_id == user.id
        team = (
            (InboxItem.kind == "team") & (InboxItem.team_id == user.team_id)
            if user.team_id is not None
            else None
        )
        keys.update(
            session.scalars(
                select(Household.bg_number)
                .join(Document, Document.household_id == Household.id)
                .join(InboxItem, InboxItem.document_id == Document.id)
                .where(or_(and_(*routed_here), team) if team is not None else and_(*routed_here))
                .distinct()
            )
        )
    return frozenset(keys)


def access_key_of(document: Document) -> str:
    # A document rejected for a new scan stays with the scanning desk, whatever it was filed as.
    if document.qa_status == "rejected" or document.household is None:
        return CLEARING
    return document.household.bg_number


def desk_may_check(user: User, document: Document) -> bool:
    """The scanning desk checks what it scanned: a document is open to it until its QA decision.

    That covers reading it, its pages and its scan record; search stays limited to clearing.
    """
    return user.role == "scanstelle" and document.qa_status == "pending"


def require_document_access(session: Session, user: User, document: Document) -> None:
    if desk_may_check(user, document):
        return
    if access_key_of(document) not in visible_access_keys(session, user):
        raise AccessDenied(
            "Kein Zugriff: Dieses Dokument gehört nicht zu Ihrem Zuständigkeitsbereich.",
            document_id=str(document.id),
        )


def require_household_access(session: Session, user: User, household: Household) -> None:
    if household.bg_number not in visible_access_keys(session, user):
        raise AccessDenied(
            "Kein Zugriff: Diese Akte gehört nicht zu Ihrem Zuständigkeitsbereich.",
            bg_number=household.bg_number,
        )


def on_behalf_of(session: Session, user: User, item: InboxItem) -> User | None:
    """Whom the user acts for when working this item: None for their own or their team's items,
    the absent colleague for a deputy ("B für A"). AccessDenied if neither."""
    own = item.kind == "user" and item.user_id == user.id
    team = item.kind == "team" and item.team_id is not None and item.team_id == user.team_id
    desk = item.kind == "clearing" and user.role == "scanstelle"
    if own or team or desk:
        return None
    if item.kind == "user":
        for absent in absent_colleagues(session, user):
            if absent.id == item.user_id:
                return absent
    raise AccessDenied("Kein Zugriff: Dieser Eintrag liegt nicht in Ihrem Postkorb.")
