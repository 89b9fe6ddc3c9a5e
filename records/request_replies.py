"""Replies to a request for documents close the loop (issue 19): which documents answer which
item, the item and the request that are complete by them, and the caseworker's confirming or
undoing of a link the product only supposed.

A document is linked
- behind the request's return sheet (source "sheet", certain): to every item of the request
  its type fulfils. A document whose type fulfils none stays filed to the household and the
  requester without a link: its recognition evidence names the request ("sheet_request"), and
  `unassigned_documents` lists it under the request as "eingegangen (ohne Zuordnung)"; the
  caseworker decides whether it answers an item. Linking it to some item by guess would close
  an item that may still be missing, and a refusal for missing cooperation could then not be
  answered from the file.
- filed by recognition into a household with an open request having a missing item its type
  fulfils (source "recognition", unconfirmed: "vermutlich Antwort auf Anforderung vom …"),
  until the caseworker confirms or undoes it.
A document of another household is never linked. Everything here runs in the unit of work
that files the document (or of the caseworker's request), so a link never outlives a filing
that was rolled back.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.errors import InvalidInput
from pdf.cover_sheet import build_cover_sheet_pdf
from records import audit
from records.access import Capability, Gate
from records.identifiers import normalize_bg_number
from records.models import (
    Document,
    DocumentRequest,
    FollowUp,
    Household,
    InboxItem,
    RequestItem,
    RequestLink,
    User,
)
from records.request_catalogue import catalogue_in_force, items_fulfilled_by
from records.sheet_codes import household_code

COMPLETE_REASON = "Alle Unterlagen eingegangen"


def fulfilled_codes(session: Session, doc_type: str | None) -> set[str]:
    """The item codes a document of this type fulfils (the catalogue in force)."""
    return set(items_fulfilled_by(catalogue_in_force(session), doc_type)) if doc_type else set()


def request_date(request: DocumentRequest) -> str:
    return request.dispatch_date.strftime("%d.%m.%Y")


def link(
    session: Session,
    item: RequestItem,
    document: Document,
    source: str,
    confirmed: bool,
    *,
    actor: User | None = None,
) -> RequestLink | None:
    """Link `document` to `item` (once); None when the document is not of the request's
    household, which is never linked. The item arrives with its first link, the request is
    complete when every item arrived."""
    request = item.request
    if document.household is None or document.household.id != request.household_id:
        return None
    existing = next((row for row in item.links if row.document_id == document.id), None)
    if existing is not None:
        return existing
    row = RequestLink(
        item=item,
        document_id=document.id,
        source=source,
        confirmed=confirmed,
        confirmed_by_login=(actor.login if actor else None) if confirmed else None,
    )
    session.add(row)
    if confirmed:
        _arrived(item, document)
    session.flush()
    audit.record(
        session,
        actor,
        "request.linked",
        actor_login="system" if actor is None else None,
        object_type="document",
        object_id=document.id,
        bg_number=request.household.bg_number,
        request_id=request.id,
        item=item.code,
        source=source,
    )
    if confirmed:
        _complete_if_all_arrived(session, request, document, actor)
    return row


def _arrived(item: RequestItem, document: Document) -> None:
    """An item arrives with its first confirmed answer (behind the sheet, by hand, or a
    supposed answer the caseworker confirmed); a supposed one alone does not count."""
    if item.state != "arrived":
        item.state = "arrived"
        item.arrived_at = document.received_at


def _complete_if_all_arrived(
    session: Session, request: DocumentRequest, last: Document, actor: User | None
) -> None:
    if request.state != "open" or any(i.state != "arrived" for i in request.items):
        return
    now = utcnow()
    request.state = "complete"
    request.completed_at = now
    follow_ups = session.scalars(
        select(FollowUp).where(FollowUp.request_id == request.id, FollowUp.done_at.is_(None))
    )
    for follow_up in follow_ups:
        follow_up.done_at = now
        follow_up.done_by_login = actor.login if actor else "system"
        follow_up.done_reason = COMPLETE_REASON
    reason = f"Anforderung vom {request_date(request)} vollständig: alle Unterlagen eingegangen"
    # One Postkorb item for the requester on the last document: the one the document is in
    # already says it too, else a new one.
    requester = request.requested_by
    open_item = session.scalar(
        select(InboxItem).where(
            InboxItem.document_id == last.id,
            InboxItem.kind == "user",
            InboxItem.user_id == requester.id,
            InboxItem.state != "done",
        )
    )
    if open_item is not None:
        open_item.reason = f"{open_item.reason}\n{reason}." if open_item.reason else reason
    else:
        session.add(
            InboxItem(document_id=last.id, kind="user", user_id=requester.id, reason=reason)
        )
    audit.record(
        session,
        actor,
        "request.completed",
        actor_login="system" if actor is None else None,
        object_type="household",
        object_id=request.household.bg_number,
        bg_number=request.household.bg_number,
        request_id=request.id,
    )


def link_behind_sheet(
    session: Session, document: Document, request: DocumentRequest
) -> list[RequestLink]:
    """A document that came behind the request's return sheet: linked, confirmed, to every
    item its type fulfils (none: it stays unassigned, see the module's docstring)."""
    codes = fulfilled_codes(session, document.doc_type)
    links = []
    for item in request.items:
        if item.code in codes:
            row = link(session, item, document, "sheet", True)
            if row is not None:
                links.append(row)
    return links


def link_by_recognition(session: Session, document: Document) -> list[RequestLink]:
    """A document recognition filed into a household: supposed to answer the oldest open
    request of that household with a missing item its type fulfils; unconfirmed."""
    if document.household is None:
        return []
    household_id = document.household.id
    codes = fulfilled_codes(session, document.doc_type)
    if not codes:
        return []
    requests = session.scalars(
        select(DocumentRequest)
        .where(
            DocumentRequest.household_id == household_id,
            DocumentRequest.state == "open",
        )
        .order_by(DocumentRequest.id)
    )
    for request in requests:
        missing = [i for i in request.items if i.state == "missing" and i.code in codes]
        if missing:
            links = [link(session, item, document, "recognition", False) for item in missing]
            return [row for row in links if row is not None]
    return []


def link_label(row: RequestLink) -> str:
    """How a link is shown under its item."""
    if row.source == "recognition" and not row.confirmed:
        return f"vermutlich Antwort auf Anforderung vom {request_date(row.item.request)}"
    if row.source == "sheet":
        return "mit Rücksendeblatt eingegangen"
    return "zugeordnet"


def unassigned_documents(session: Session, request: DocumentRequest) -> list[Document]:
    """Documents that came behind the request's return sheet but answer no item of it:
    "eingegangen (ohne Zuordnung)"."""
    linked = {row.document_id for item in request.items for row in item.links}
    documents = session.scalars(
        select(Document)
        .where(Document.household_id == request.household_id)
        .order_by(Document.received_at)
    )
    return [
        document
        for document in documents
        if (document.recognition or {}).get("sheet_request") == request.id
        and document.id not in linked
    ]


def _link_of(gate: Gate, bg_number: str, request_id: int, link_id: int, action: str) -> RequestLink:
    household, _grant = gate.household(bg_number, action, audited=False)
    row = gate.session.get(RequestLink, link_id)
    if (
        row is None
        or row.item.request_id != request_id
        or row.item.request.household_id != household.id
    ):
        raise InvalidInput("Diese Zuordnung gibt es in dieser Akte nicht (mehr).")
    return row


def confirm(gate: Gate, bg_number: str, request_id: int, link_id: int) -> RequestLink:
    """The caseworker confirms that a supposed reply answers the item."""
    row = _link_of(gate, bg_number, request_id, link_id, "request.link_confirmed")
    if not row.confirmed:
        row.confirmed = True
        row.confirmed_by_login = gate.user.login
    _audit_link(gate, "request.link_confirmed", row)
    document = gate.session.get(Document, row.document_id)
    assert document is not None
    _arrived(row.item, document)
    gate.session.flush()
    _complete_if_all_arrived(gate.session, row.item.request, document, gate.user)
    return row


def _audit_link(gate: Gate, action: str, row: RequestLink, **details: str) -> None:
    request = row.item.request
    audit.record(
        gate.session,
        gate.user,
        action,
        object_type="document",
        object_id=row.document_id,
        bg_number=request.household.bg_number,
        request_id=request.id,
        item=row.item.code,
        **details,
    )


def unlink(gate: Gate, bg_number: str, request_id: int, link_id: int, reason: str) -> None:
    """The caseworker undoes a link (with a reason): the item is missing again when no other
    document answers it, and a request completed by it is open again."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Bitte einen Grund angeben, warum die Zuordnung gelöst wird.")
    row = _link_of(gate, bg_number, request_id, link_id, "request.unlinked")
    item = row.item
    request = item.request
    _audit_link(gate, "request.unlinked", row, reason=reason)
    item.links.remove(row)
    gate.session.delete(row)
    gate.session.flush()
    if not any(link.confirmed for link in item.links):
        item.state = "missing"
        item.arrived_at = None
        if request.state == "complete":
            request.state = "open"
            request.completed_at = None


def cover_sheet(gate: Gate, bg_number: str, settings: Settings) -> tuple[str, bytes]:
    """A household's cover sheet for documents handed in at the counter (file name, PDF/A):
    for a caseworker who may work the file, or for the scanning desk (which hands the
    client's documents in and sees no content by it). Audited."""
    action = "cover_sheet.printed"
    household: Household | None
    if gate.may(Capability.CASE_FILES):
        household, _grant = gate.household(bg_number, action, audited=False)
    else:
        gate.require(Capability.SCAN, action, object_type="household", object_id=bg_number[:40])
        number = normalize_bg_number(bg_number)
        household = (
            gate.session.scalar(select(Household).where(Household.bg_number == number))
            if number
            else None
        )
        if household is None or not household.active or household.handed_over_at is not None:
            raise InvalidInput(
                "Für diese Bedarfsgemeinschaft kann kein Deckblatt erstellt werden "
                "(unbekannt, nicht aktiv oder abgegeben).",
                field="bg_number",
            )
    code = household_code(settings.secret_key.get_secret_value(), household.bg_number)
    data = build_cover_sheet_pdf(
        bg_number=household.bg_number,
        job_centre=settings.job_centre_name,
        code=code,
        created_at=utcnow(),
    )
    audit.record(
        gate.session,
        gate.user,
        action,
        object_type="household",
        object_id=household.bg_number,
        bg_number=household.bg_number,
    )
    return f"Deckblatt-{household.bg_number}.pdf", data
