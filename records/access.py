"""Need-to-know: which households' files a user may see.

Access is expressed as a set of access keys: the BG numbers of visible households, plus
CLEARING for documents that belong to no household yet. Services check single objects against
it, and the search index filters on the same keys inside the query.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from records.errors import AccessDenied
from records.models import Document, Household, InboxItem, User

CLEARING = "clearing"


def visible_access_keys(session: Session, user: User) -> frozenset[str]:
    keys: set[str] = set()
    if user.role == "scanstelle":
        keys.add(CLEARING)
    if user.role in ("leistung", "fallmanagement") and user.team_id is not None:
        colleagues = select(User.id).where(User.team_id == user.team_id)
        keys.update(
            session.scalars(
                select(Household.bg_number).where(
                    or_(
                        Household.caseworker_id.in_(colleagues),
                        Household.case_manager_id.in_(colleagues),
                    )
                )
            )
        )
    elif user.role in ("leistung", "fallmanagement"):
        keys.update(
            session.scalars(
                select(Household.bg_number).where(
                    or_(Household.caseworker_id == user.id, Household.case_manager_id == user.id)
                )
            )
        )
    if user.role == "widerspruch" and user.team_id is not None:
        # The objections office sees the households whose documents were routed to its team.
        keys.update(
            session.scalars(
                select(Household.bg_number)
                .join(Document, Document.household_id == Household.id)
                .join(InboxItem, InboxItem.document_id == Document.id)
                .where(InboxItem.kind == "team", InboxItem.team_id == user.team_id)
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
