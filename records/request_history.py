"""A household's requests for documents (Mitwirkungsaufforderungen, issue 19) as the
Aktenauszug prints them: so that an objection against a refusal for missing cooperation
(§ 66 SGB I) can be answered from the exported file, the export says what was asked of whom,
by when, what the reminders asked again with which new deadline, what arrived (which document,
received when) and what is still missing.

`export_history` reads, for a household the caller has already opened through the gate that
authorises the export (records/file_exports.py, `export.create`): it opens nothing itself and
audits nothing, the export's own audit row names the requests it holds. It gives plain
dataclasses (records/aktenauszug.py's `RequestRecord`); which document is named how (number and
title, "zurückgehalten", "nicht in diesem Aktenauszug") is the builder's business, since only it
knows the export's documents.

What counts as arrived is what the E-Akte shows (records/requests.py, records/request_replies.py):
an item arrives with its first confirmed link; an unconfirmed guess of recognition is listed as
"vermutlich Antwort, nicht bestätigt" and fills nothing; documents behind the return sheet that
answer no item are listed as "ohne Zuordnung".
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.dates import german, local_date
from records.aktenauszug import RequestDocument, RequestEntry, RequestEvent, RequestRecord
from records.models import Document, DocumentRequest, FollowUp, Household, RequestItem, RequestLink
from records.request_replies import unassigned_documents
from records.requests import ITEM_LABELS, REMINDER_REASON, STATE_LABELS

WITHDRAWN_PREFIX = (
    "Anforderung zurückgenommen"  # how records.requests.withdraw closes its follow-up
)


def export_history(
    session: Session, household: Household, today: date
) -> tuple[RequestRecord, ...]:
    """The household's requests, oldest first, with items, reminders and history; `today` (the
    export's local date) decides whether an open request's deadline has passed."""
    requests = session.scalars(
        select(DocumentRequest)
        .where(DocumentRequest.household_id == household.id)
        .options(
            selectinload(DocumentRequest.items).selectinload(RequestItem.links),
            selectinload(DocumentRequest.requested_by),
        )
        .order_by(DocumentRequest.dispatch_date, DocumentRequest.id)
    ).all()
    if not requests:
        return ()
    linked = {link.document_id for r in requests for item in r.items for link in item.links}
    documents = (
        {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(linked)))}
        if linked
        else {}
    )
    follow_ups: dict[int, list[FollowUp]] = defaultdict(list)
    for follow_up in session.scalars(
        select(FollowUp)
        .where(FollowUp.request_id.in_([r.id for r in requests]))
        .order_by(FollowUp.id)
    ):
        assert follow_up.request_id is not None
        follow_ups[follow_up.request_id].append(follow_up)
    return tuple(
        _record(
            request,
            documents,
            follow_ups[request.id],
            unassigned_documents(session, request),
            today,
        )
        for request in requests
    )


def _label(item: RequestItem) -> str:
    return f"{item.label} {item.detail}".strip()


def _how(link: RequestLink) -> str:
    if link.source == "recognition":
        return "von der Erkennung zugeordnet, bestätigt" if link.confirmed else _GUESS
    return {"sheet": "mit Rücksendeblatt", "manual": "von Hand zugeordnet"}.get(
        link.source, link.source
    )


_GUESS = "vermutlich Antwort, nicht bestätigt"


def _received(document: Document | None) -> date | None:
    if document is None:
        return None
    if document.receipt_date is not None:
        return document.receipt_date
    return local_date(document.received_at) if document.received_at else None


def _first_due(request: DocumentRequest, follow_ups: list[FollowUp]) -> date | None:
    """The deadline of the first letter: a reminder moved the request's deadline (and its
    follow-up, whose first move "Erinnerung" kept where it came from)."""
    if not request.reminders:
        return request.due_on
    for follow_up in follow_ups:
        for move in follow_up.moves or []:
            if move.get("reason") == REMINDER_REASON and move.get("from"):
                return date.fromisoformat(str(move["from"]))
    return None


def _record(
    request: DocumentRequest,
    documents: dict[uuid.UUID, Document],
    follow_ups: list[FollowUp],
    unassigned: list[Document],
    today: date,
) -> RequestRecord:
    labels = {item.code: item.label for item in request.items}
    first_due = _first_due(request, follow_ups)
    events: list[RequestEvent] = []
    deadline = f", Frist {german(first_due)}" if first_due else ""
    events.append(
        RequestEvent(
            request.dispatch_date,
            f"Mitwirkungsaufforderung an {request.person_name} versandt{deadline}",
            str(request.letter_document_id) if request.letter_document_id else None,
        )
    )
    reminders = []
    for reminder in request.reminders:
        sent = date.fromisoformat(reminder["dispatch_date"])
        new_due = date.fromisoformat(reminder["due_on"])
        reminders.append((sent, new_due))
        missing = ", ".join(labels.get(code, code) for code in reminder.get("items", []))
        events.append(
            RequestEvent(
                sent,
                "Erinnerung versandt"
                + (f" (fehlend: {missing})" if missing else "")
                + f", neue Frist {german(new_due)}",
                reminder.get("document_id"),
            )
        )
    entries = []
    for item in request.items:
        answered = []
        for link in item.links:
            received = _received(documents.get(link.document_id))
            how = _how(link)
            answered.append(RequestDocument(str(link.document_id), received, how))
            text = (
                f"Vermutlich Antwort (nicht bestätigt) zu: {item.label}"
                if how == _GUESS
                else f"Eingegangen: {item.label} ({how})"
            )
            events.append(RequestEvent(received, text, str(link.document_id)))
        status = ITEM_LABELS.get(item.state, item.state)
        entries.append(RequestEntry(_label(item), status, tuple(answered)))
    loose = []
    for document in unassigned:
        received = _received(document)
        loose.append(RequestDocument(str(document.id), received, "mit Rücksendeblatt"))
        events.append(
            RequestEvent(
                received,
                "Eingegangen ohne Zuordnung zu einer Unterlage (mit Rücksendeblatt)",
                str(document.id),
            )
        )
    state = STATE_LABELS.get(request.state, request.state)
    if request.state == "open" and request.due_on < today:
        state += ", Frist abgelaufen"
        missing = ", ".join(_label(i) for i in request.items if i.state == "missing")
        events.append(RequestEvent(request.due_on, f"Frist abgelaufen, fehlend: {missing}"))
    if request.state == "complete":
        day = local_date(request.completed_at) if request.completed_at else None
        events.append(RequestEvent(day, "Alle Unterlagen eingegangen: Anforderung vollständig"))
    if request.state == "withdrawn":
        closing = next(
            (
                f
                for f in follow_ups
                if f.done_at is not None and (f.done_reason or "").startswith(WITHDRAWN_PREFIX)
            ),
            None,
        )
        if closing is not None and closing.done_at is not None:
            events.append(RequestEvent(local_date(closing.done_at), closing.done_reason or ""))
        else:
            events.append(RequestEvent(None, WITHDRAWN_PREFIX))
    # By date (stable: on one day the letter before what answered it); undated last.
    events.sort(key=lambda event: (event.on is None, event.on or date.min))
    return RequestRecord(
        number=request.id,
        dispatch_date=request.dispatch_date,
        person=request.person_name,
        requester=request.requested_by.name,
        due_on=request.due_on,
        first_due_on=first_due,
        state=state,
        reminders=tuple(reminders),
        items=tuple(entries),
        unassigned=tuple(loose),
        history=tuple(events),
    )
