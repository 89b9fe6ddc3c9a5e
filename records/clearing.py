"""Clearing at the scanning desk: the clearing inbox, finding a household in the master data, and
filing a document by hand.

What recognition could not file with confidence waits in the clearing inbox. The desk looks at
the pages, finds the household (by number, name or birth date) and the type, and files it; that
routes it like an automatic decision, is audited, and teaches recognition where that is safe.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.errors import Conflict, InvalidInput
from core.text import fold_umlauts
from records import audit
from records.access import Capability, Gate
from records.identifiers import normalize_bg_number
from records.models import Document, Household, InboxItem, Member, User
from records.reindex import reindex_after_commit
from records.routing import file_document
from records.runtime import Runtime


class DocTypeRule(Protocol):
    """A type of the document-type catalogue (ingest.recognition) as filing needs it."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def target(self) -> str: ...


# Remembers how the people of a household appear on paper; returns the keys it learned
# (ingest.filing.learn_from_correction).
Learn = Callable[[Session, Document, Household, User], list[str]]


def _open_clearing() -> ColumnElement[bool]:
    return (InboxItem.kind == "clearing") & (InboxItem.state != "done")


def clearing_queue(gate: Gate, limit: int) -> tuple[int, list[InboxItem]]:
    """The open clearing cases, oldest first, with their documents and pages; and how many
    there are in all. The list names clients: audited."""
    gate.require(Capability.CLEARING, "clearing.list")
    session = gate.session
    items = list(
        session.scalars(
            select(InboxItem)
            .where(_open_clearing())
            .options(selectinload(InboxItem.document).selectinload(Document.pages))
            .order_by(InboxItem.created_at)
            .limit(limit)
        )
    )
    total = session.scalar(select(func.count()).where(_open_clearing())) or 0
    gate.record("clearing.list", shown=len(items), total=total)
    return total, items


# --- finding a household -------------------------------------------------------------------


def _folded(name: str) -> str:
    return fold_umlauts(name.strip().lower(), style="spelled")


def _birth_date(text: str) -> date | None:
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text.strip())
    if match:
        try:
            return date(int(match[3]), int(match[2]), int(match[1]))
        except ValueError:
            return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class FoundHousehold:
    household: Household
    # Per member (in the household's order): does a first or last name match a search word?
    matches: list[bool]


def _conditions(q: str) -> list[ColumnElement[bool]]:
    terms = q.split()
    bg_number = normalize_bg_number(q)
    if bg_number:
        return [Household.bg_number == bg_number]
    conditions: list[ColumnElement[bool]] = []
    compact = re.sub(r"\s+", "", q).upper()
    if re.fullmatch(r"\d{5,}[A-Z0-9]*", compact) or "BG" in compact:
        conditions.append(Household.bg_number.contains(compact))
    born = [d for d in (_birth_date(t) for t in terms) if d]
    words = [t for t in terms if not _birth_date(t) and not re.search(r"\d", t)]
    member_filters = [Member.birth_date == born_on for born_on in born]
    for word in words:
        pattern = f"%{word.lower()}%"
        member_filters.append(
            or_(
                func.lower(Member.last_name).like(pattern),
                func.lower(Member.first_name).like(pattern),
            )
        )
    if member_filters:
        matching = select(Member.household_id)
        for condition in member_filters:
            matching = matching.where(condition)
        conditions.append(Household.id.in_(matching))
    return conditions


def find_households(gate: Gate, q: str, limit: int) -> list[FoundHousehold]:
    """For the clearing desk: households by BG number, names or birth dates. Master data only,
    never the content of a file; every search is audited with what it found."""
    gate.require(Capability.CLEARING, "masterdata.search")
    conditions = _conditions(q)
    if not conditions:
        gate.record("masterdata.search", query=q, found=[])
        return []
    found = list(
        gate.session.scalars(
            select(Household)
            .options(selectinload(Household.members), selectinload(Household.caseworker))
            .where(or_(*conditions))
            .order_by(Household.bg_number)
            .limit(limit)
        )
    )
    gate.record("masterdata.search", query=q, found=[h.bg_number for h in found])
    wanted = {_folded(w) for w in q.split() if not re.search(r"\d", w)}
    return [
        FoundHousehold(
            household,
            [
                bool(wanted & {_folded(m.first_name), _folded(m.last_name)})
                for m in household.members
            ],
        )
        for household in found
    ]


# --- filing by hand ------------------------------------------------------------------------


@dataclass(frozen=True)
class Filed:
    document: Document
    household: Household
    rule: DocTypeRule
    item: InboxItem


def file_by_hand(
    runtime: Runtime,
    gate: Gate,
    document_id: uuid.UUID,
    *,
    bg_number: str,
    doc_type: str,
    note: str | None,
    types: Sequence[DocTypeRule],
    learn: Learn,
) -> Filed:
    """File a clearing case: the household and the type the desk chose; routed like an
    automatic decision, audited, and learned from. The index follows the commit."""
    session, user = gate.session, gate.user
    gate.require(
        Capability.CLEARING, "document.filing", object_type="document", object_id=document_id
    )
    document, _ = gate.document(document_id, "document.filing", lock=True)
    item = session.scalar(select(InboxItem).where(InboxItem.document_id == document.id))
    if item is None or item.kind != "clearing":
        raise Conflict(
            "Das Dokument ist nicht (mehr) in der Klärung; es wurde bereits zugeordnet.",
            code="not_in_clearing",
        )
    if document.qa_status == "rejected":
        raise Conflict("Das Dokument wurde zur Neuerfassung abgelehnt.", code="qa_rejected")
    number = normalize_bg_number(bg_number)
    household = (
        session.scalar(select(Household).where(Household.bg_number == number)) if number else None
    )
    if household is None:
        raise InvalidInput(f"Die BG-Nummer {bg_number} ist nicht bekannt.", code="bg_unknown")
    if not household.active:
        raise InvalidInput(
            f"Die Bedarfsgemeinschaft {household.bg_number} ist nicht mehr aktiv.",
            code="bg_inactive",
        )
    rule = next((r for r in types if r.code == doc_type), None)
    if rule is None:
        raise InvalidInput(f"Unbekannte Dokumentart »{doc_type}«.", code="doc_type_unknown")
    reason = (
        f"Von der Scanstelle zugeordnet ({user.name}): Haushalt {household.bg_number}, {rule.name}."
    )
    if note:
        reason += f" Hinweis: {note.strip()}"
    new_item = file_document(
        session,
        document,
        household=household,
        doc_type=rule.code,
        target=rule.target,
        reason=reason,
        actor=user,
        routed_by="manual",
    )
    if new_item is None:  # file_document opens an item unless told not to
        raise RuntimeError("filing by hand opened no inbox item")
    learned = learn(session, document, household, user)
    if learned:
        audit.record(
            session,
            user,
            "recognition.alias_learned",
            object_type="household",
            object_id=household.bg_number,
            bg_number=household.bg_number,
            keys=learned,
        )
    session.flush()
    reindex_after_commit(session, runtime, document)
    return Filed(document, household, rule, new_item)
