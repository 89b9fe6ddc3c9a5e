"""The E-Akte of a household: its people, documents by type and as a timeline, notes; editing a
document's details; deputies (Vertretung). Reads and changes are checked and audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.dates import local_today
from core.db import utcnow
from core.errors import Conflict, InvalidInput, NotFound
from records.access import Capability, Gate, Grant, in_case_file_clause, may
from records.file_exports import exports_of
from records.identifiers import normalize_bg_number
from records.models import (
    Appeal,
    Deputy,
    Document,
    FileExport,
    Household,
    InboxItem,
    Note,
    Objection,
    User,
)
from records.objections import appeals_of, objections_of
from records.reindex import index_file_note_after_commit, reindex_after_commit
from records.runtime import Runtime


def household_by_number(session: Session, bg_number: str) -> Household:
    number = normalize_bg_number(bg_number)
    household = (
        session.scalar(select(Household).where(Household.bg_number == number)) if number else None
    )
    if household is None:
        raise NotFound(f"Keine Bedarfsgemeinschaft mit der Nummer {bg_number}.")
    return household


@dataclass
class HouseholdFile:
    """A household's E-Akte: its people, the documents in the file (newest receipt first), the
    notes on it and on its documents, its objections, appeals and exports."""

    household: Household
    documents: list[Document]
    notes: list[Note]
    objections: list[Objection]
    appeals: list[Appeal]
    exports: list[FileExport]


def household_file(gate: Gate, bg_number: str) -> HouseholdFile:
    """The file, if the user may open it; the read is audited."""
    session = gate.session
    household, _ = gate.household(bg_number, "household.read")
    documents = list(
        session.scalars(
            select(Document)
            .where(Document.household_id == household.id, in_case_file_clause())
            .order_by(Document.receipt_date.desc(), Document.received_at.desc())
        )
    )
    notes = session.scalars(
        select(Note)
        .where(
            (Note.household_id == household.id)
            | Note.document_id.in_([d.id for d in documents] or [uuid.uuid4()])
        )
        .order_by(Note.created_at.desc())
    )
    return HouseholdFile(
        household,
        documents,
        list(notes),
        objections_of(session, household.id),
        appeals_of(session, household.id),
        exports_of(session, household),
    )


# How the E-Akte lists its documents (the page keeps them in its address; records.saved_views
# stores them in a view): by type or as a timeline; newest or oldest receipt first.
FILE_TABS = ("by_type", "timeline")
FILE_SORTS = ("newest", "oldest")


def arranged(documents: list[Document], doc_type: str = "", sort: str = "newest") -> list[Document]:
    """The file's documents (newest receipt first, as `household_file` reads them) of one type
    (all for ""), in the order asked for."""
    chosen = [d for d in documents if not doc_type or (d.doc_type or "sonstiges") == doc_type]
    return chosen[::-1] if sort == "oldest" else chosen


def document_details(gate: Gate, document_id: uuid.UUID) -> tuple[Document, list[Note]]:
    """A document with its notes, newest first; the read is audited."""
    document, _ = gate.document(document_id, "document.details")
    notes = gate.session.scalars(
        select(Note).where(Note.document_id == document.id).order_by(Note.created_at.desc())
    ).all()
    return document, list(notes)


EDITABLE = ("doc_type", "letter_date", "sender", "bg_number", "receipt_date", "dispatch_date")


def update_document(
    runtime: Runtime,
    gate: Gate,
    document_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    reason: str | None,
    doc_types: set[str],
) -> tuple[Document, dict[str, Any]]:
    """Change a document's details; returns it and what changed (before, after). The index
    follows the commit when anything changed.

    The receipt date decides deadlines: changing it needs a reason. Moving a document to another
    household needs access to both files. The scanning desk changes nothing outside clearing.
    """
    document, grant = gate.document(document_id, "document.change", lock=True, audited=False)
    _require_editor(gate, grant, "document.change", document)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"Nicht änderbar: {', '.join(sorted(unknown))}.", code="not_editable")
    changed: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "bg_number":
            target, _ = gate.household(str(value), "document.move", audited=False)
            before = document.household.bg_number if document.household else None
            if before != target.bg_number:
                document.household = target
                changed[field] = [before, target.bg_number]
            continue
        if field == "doc_type" and value not in doc_types:
            raise InvalidInput(f"Unbekannte Dokumentart »{value}«.", code="doc_type_unknown")
        if field in ("letter_date", "receipt_date", "dispatch_date") and value is not None:
            value = value if isinstance(value, date) else date.fromisoformat(str(value))
            if value > local_today():
                raise InvalidInput("Ein Datum in der Zukunft ist nicht möglich.", code="date")
        if field == "sender" and value is not None:
            value = str(value).strip()[:200] or None
        before = getattr(document, field)
        if before != value:
            setattr(document, field, value)
            changed[field] = [_plain(before), _plain(value)]
    if "receipt_date" in changed and not (reason or "").strip():
        raise InvalidInput(
            "Das Eingangsdatum bestimmt Fristen: bitte die Korrektur begründen.",
            code="receipt_date_reason",
        )
    if changed:
        gate.record_on(
            document,
            "document.details_changed",
            grant=grant,
            changes=changed,
            reason=(reason or "").strip() or None,
        )
        gate.session.flush()
        reindex_after_commit(gate.session, runtime, document)
    return document, changed


def may_change(grant: Grant) -> bool:
    """Whether a grant to read a document lets the user change its details and add notes."""
    return grant.via != "desk"


def _require_editor(gate: Gate, grant: Grant, action: str, document: Document | None) -> None:
    """Reading a document at the desk (QA) is not changing it: outside clearing, dates, types
    and notes are the caseworkers' business."""
    if not may_change(grant):
        raise gate.refuse(
            action,
            "Kein Zugriff: Die Scanstelle ändert Dokumente nur in der Klärung.",
            object_type="document",
            object_id=document.id if document else None,
        )


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


NOTE_EMPTY = "Der Vermerk ist leer."


def add_note(
    gate: Gate,
    text: str,
    *,
    bg_number: str | None = None,
    document_id: uuid.UUID | None = None,
) -> tuple[Note, Document | None]:
    """A Vermerk on a household's file or on one document; for a deputy "B für A"."""
    text = text.strip()
    if not text:
        raise InvalidInput(NOTE_EMPTY, code="note_empty")
    if len(text) > 10_000:
        raise InvalidInput("Der Vermerk ist zu lang (höchstens 10 000 Zeichen).", code="note_long")
    document = household = None
    if document_id is not None:
        document, grant = gate.document(document_id, "note.add", audited=False)
        _require_editor(gate, grant, "note.add", document)
        bg = document.household.bg_number if document.household else None
    else:
        household, grant = gate.household(bg_number or "", "note.add", audited=False)
        bg = household.bg_number
    user, acting_for = gate.user, grant.for_user
    note = Note(
        household_id=household.id if household else None,
        document_id=document.id if document else None,
        author_login=user.login,
        author_name=user.name if acting_for is None else f"{user.name} für {acting_for.name}",
        on_behalf_of_login=acting_for.login if acting_for else None,
        text=text,
    )
    gate.session.add(note)
    gate.record(
        "note.added",
        object_type="document" if document else "household",
        object_id=document.id if document else bg,
        bg_number=bg,
        grant=grant,
    )
    return note, document


def note_on_household(runtime: Runtime, gate: Gate, bg_number: str, text: str) -> Note:
    """The note is searchable by those who may see the file once it is committed."""
    note, _ = add_note(gate, text, bg_number=bg_number)
    gate.session.flush()
    index_file_note_after_commit(gate.session, runtime, note)
    return note


def note_on_document(runtime: Runtime, gate: Gate, document_id: uuid.UUID, text: str) -> Note:
    """The note is searchable with its document once it is committed."""
    note, document = add_note(gate, text, document_id=document_id)
    assert document is not None
    gate.session.flush()
    reindex_after_commit(gate.session, runtime, document)
    return note


# --- deputies ---------------------------------------------------------------------------


def list_deputies(gate: Gate) -> tuple[list[Deputy], list[Deputy]]:
    """Who stands in for the user, and for whom the user stands in (current and coming)."""
    session, user = gate.session, gate.user
    today = local_today()
    query = select(Deputy).options(selectinload(Deputy.absent), selectinload(Deputy.deputy))
    current = (Deputy.revoked_at.is_(None)) & (Deputy.ends_on >= today)
    mine = session.scalars(query.where(Deputy.absent_id == user.id, current)).all()
    for_others = session.scalars(query.where(Deputy.deputy_id == user.id, current)).all()
    gate.record("deputies.list")
    return list(mine), list(for_others)


def name_deputy(
    gate: Gate,
    *,
    deputy_login: str,
    starts_on: date,
    ends_on: date,
    max_days: int,
    absent_login: str | None = None,
    approved_by: str | None = None,
) -> Deputy:
    """A caseworker names their own deputy within their team; the administration names one for
    anybody, and across teams only with the team lead's approval (named, audited).

    No backdating, and no longer than `max_days`: a deputy sees the absent colleague's whole
    caseload, so the period is as short as the absence."""
    session, user = gate.session, gate.user
    action = "deputy.named"
    for_others = bool(absent_login) and absent_login != user.login
    if for_others:
        gate.require(Capability.MANAGE_DEPUTIES, action, absent=absent_login)
        absent = session.scalar(select(User).where(User.login == absent_login))
        if absent is None:
            raise InvalidInput(f"Benutzer »{absent_login}« ist nicht bekannt.")
    else:
        gate.require(Capability.STAND_IN, action)
        absent = session.get(User, user.id)  # the request's user belongs to another session
        assert absent is not None
    deputy = session.scalar(select(User).where(User.login == deputy_login, User.active.is_(True)))
    if deputy is None:
        raise InvalidInput(f"Benutzer »{deputy_login}« ist nicht bekannt oder nicht aktiv.")
    if deputy.id == absent.id:
        raise InvalidInput("Man kann sich nicht selbst vertreten.", code="deputy_self")
    if not may(deputy, Capability.STAND_IN) or not may(absent, Capability.STAND_IN):
        raise InvalidInput(
            "Vertretungen gibt es zwischen Sachbearbeitung und Fallmanagement.",
            code="deputy_role",
        )
    approval = (approved_by or "").strip() or None
    same_team = absent.team_id is not None and absent.team_id == deputy.team_id
    if not same_team and not (for_others and approval):
        raise InvalidInput(
            f"{deputy.name} gehört nicht zum Team von {absent.name}. Eine Vertretung über "
            "Teamgrenzen trägt die Administration mit der Zustimmung der Teamleitung ein.",
            code="deputy_team",
        )
    today = local_today()
    if ends_on < starts_on:
        raise InvalidInput("Das Ende liegt vor dem Beginn.", code="deputy_period")
    if starts_on < today:
        raise InvalidInput(
            "Eine Vertretung kann nicht rückwirkend beginnen.", code="deputy_backdated"
        )
    if (ends_on - starts_on).days + 1 > max_days:
        raise InvalidInput(
            f"Eine Vertretung dauert höchstens {max_days} Tage; für eine längere Abwesenheit "
            "bitte danach eine neue eintragen.",
            code="deputy_too_long",
        )
    entry = Deputy(
        absent=absent,
        deputy=deputy,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by_login=user.login,
    )
    gate.created(
        entry,
        action,
        absent=absent.login,
        deputy=deputy.login,
        starts_on=starts_on.isoformat(),
        ends_on=ends_on.isoformat(),
        approved_by=approval,
    )
    return entry


def revoke_deputy(gate: Gate, deputy_id: int) -> Deputy:
    session, user = gate.session, gate.user
    entry = session.get(
        Deputy, deputy_id, options=[selectinload(Deputy.absent), selectinload(Deputy.deputy)]
    )
    own = entry is not None and entry.absent_id == user.id
    if entry is None or not (own or gate.may(Capability.MANAGE_DEPUTIES)):
        raise gate.refuse(
            "deputy.revoked",
            "Kein Zugriff: Diese Vertretung kann nur die vertretene Person beenden.",
            object_type="deputy",
            object_id=deputy_id,
        )
    if entry.revoked_at is not None:
        raise Conflict("Die Vertretung ist bereits beendet.", code="deputy_revoked")
    entry.revoked_at = utcnow()
    gate.record_on(entry, "deputy.revoked", absent=entry.absent.login, deputy=entry.deputy.login)
    return entry


def open_items_of(session: Session, document: Document) -> list[InboxItem]:
    return list(
        session.scalars(
            select(InboxItem).where(InboxItem.document_id == document.id, InboxItem.state != "done")
        )
    )
