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
from typing import Any, Protocol

from rapidfuzz.distance import Levenshtein
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from core.errors import Conflict, InvalidInput
from core.text import fold_umlauts
from records import audit
from records.access import Capability, Gate, handed_over_refusal
from records.identifiers import find_bg_numbers, normalize_bg_number
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


def _open_clearing(duplicates_only: bool = False) -> ColumnElement[bool]:
    wanted = (InboxItem.kind == "clearing") & (InboxItem.state != "done")
    if duplicates_only:
        marked = select(Document.id).where(Document.duplicate_of_id.is_not(None))
        wanted = wanted & InboxItem.document_id.in_(marked)
    return wanted


@dataclass(frozen=True)
class ClearingPage:
    """A page of the open clearing cases: its items, how many match the filter, how many are
    open in all and how many of those are marked as duplicates."""

    items: list[InboxItem]
    total: int
    open: int
    duplicates: int


def clearing_page(
    gate: Gate, limit: int, offset: int = 0, *, duplicates_only: bool = False
) -> ClearingPage:
    """The open clearing cases, oldest first, with their documents and pages, a page at a time
    (only those marked as duplicates, if asked). The list names clients: audited."""
    gate.require(Capability.CLEARING, "clearing.list")
    session = gate.session
    items = list(
        session.scalars(
            select(InboxItem)
            .where(_open_clearing(duplicates_only))
            .options(selectinload(InboxItem.document).selectinload(Document.pages))
            .order_by(InboxItem.created_at, InboxItem.id)
            .offset(offset)
            .limit(limit)
        )
    )
    count = select(func.count()).select_from(InboxItem)
    open_total = session.scalar(count.where(_open_clearing())) or 0
    marked = session.scalar(count.where(_open_clearing(True))) or 0
    total = marked if duplicates_only else open_total
    gate.record("clearing.list", shown=len(items), total=total)
    return ClearingPage(items, total, open_total, marked)


def clearing_queue(gate: Gate, limit: int) -> tuple[int, list[InboxItem]]:
    """The open clearing cases, oldest first, and how many there are in all (the JSON API)."""
    found = clearing_page(gate, limit)
    return found.total, found.items


# --- the household recognition already named ---------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A household the clearing reason or the recognition evidence names, offered as one click."""

    bg_number: str
    names: str  # its members, "First Last, First Last"


def _named_numbers(recognition: dict[str, Any]) -> list[str]:
    """The BG numbers recognition named for a document, most likely first: its candidates, the
    known numbers printed on the letter, the numbers in the clearing reason and evidence."""
    numbers: list[str] = [str(n) for n in recognition.get("candidates") or []]
    for found in recognition.get("bg_numbers_found") or []:
        value, _page, known = found
        if known:
            numbers.append(str(value))
    texts = [str(recognition.get("clearing_reason") or "")]
    texts += [str(e.get("detail", "")) for e in recognition.get("household_evidence") or []]
    for text in texts:
        numbers += find_bg_numbers(text)
    return list(dict.fromkeys(numbers))


def suggestions(
    session: Session, documents: Sequence[Document]
) -> dict[uuid.UUID, list[Suggestion]]:
    """Per document, the active households of the master data recognition named (at most
    three); read for the whole clearing list at once."""
    named = {d.id: _named_numbers(d.recognition or {}) for d in documents}
    wanted = {number for numbers in named.values() for number in numbers}
    if not wanted:
        return {}
    households = {
        h.bg_number: h
        for h in session.scalars(
            select(Household)
            .options(selectinload(Household.members))
            .where(Household.bg_number.in_(wanted), Household.active.is_(True))
        )
    }
    return {
        document_id: [
            Suggestion(
                number,
                ", ".join(f"{m.first_name} {m.last_name}" for m in households[number].members),
            )
            for number in [n for n in numbers if n in households][:3]
        ]
        for document_id, numbers in named.items()
    }


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
    # Per member (in the household's order): does the member match the search?
    matches: list[bool]


# How well a search word names a member, best first: the whole name, its beginning, a spelling
# a letter or two off (Schmitt/Schmidt, Maier/Meier), the word inside the name. A whole name
# ranks before a name that merely contains the word ("Huber" lists Huber before Schubert).
WHOLE, START, SPELLING, INSIDE = 4.0, 3.0, 2.0, 1.0
_BG_MATCH = 100.0  # a household found by its number comes before any found by a name


def _word_score(word: str, name: str) -> float:
    if name == word:
        return WHOLE
    if name.startswith(word):
        return START
    allowed = 0 if len(word) < 4 else 1 if len(word) < 8 else 2
    if allowed and Levenshtein.distance(word, name, score_cutoff=allowed) <= allowed:
        return SPELLING
    if word in name:
        return INSIDE
    return 0.0


def _member_score(words: Sequence[str], first_name: str, last_name: str) -> float:
    """The sum over the search words of their best score on the member's names; 0 when a word
    names neither (every word must name the same person, as "Anna Schmidt" does)."""
    names = [_folded(part) for part in f"{first_name} {last_name}".replace("-", " ").split()]
    total = 0.0
    for word in words:
        best = max((_word_score(word, name) for name in names), default=0.0)
        if not best:
            return 0.0
        total += best
    return total


@dataclass(frozen=True)
class _Terms:
    bg_number: str | None  # a whole BG number
    partial: str | None  # part of one
    born: list[date]
    words: list[str]  # name words, folded


def _search_terms(q: str) -> _Terms:
    bg_number = normalize_bg_number(q)
    if bg_number:
        return _Terms(bg_number, None, [], [])
    compact = re.sub(r"\s+", "", q).upper()
    partial = compact if re.fullmatch(r"\d{5,}[A-Z0-9]*", compact) or "BG" in compact else None
    terms = q.split()
    born = [d for d in (_birth_date(t) for t in terms) if d]
    words = [_folded(t) for t in terms if not _birth_date(t) and not re.search(r"\d", t)]
    return _Terms(None, partial, born, [w for w in words if w])


def _ranked_households(session: Session, q: str) -> tuple[dict[int, float], dict[int, float]]:
    """Scores of the households a query finds, and of the members that match it."""
    terms = _search_terms(q)
    households: dict[int, float] = {}
    members: dict[int, float] = {}
    if terms.bg_number or terms.partial:
        number = (
            Household.bg_number == terms.bg_number
            if terms.bg_number
            else Household.bg_number.contains(terms.partial)
        )
        for household_id in session.scalars(select(Household.id).where(number)):
            households[household_id] = _BG_MATCH
    if not (terms.born or terms.words):
        return households, members
    # Names are compared in Python, so that a spelling a letter off is found the same way on
    # SQLite and PostgreSQL; only ids and names are read (some 20,000 members in a job centre).
    rows = select(Member.id, Member.household_id, Member.first_name, Member.last_name)
    for born_on in terms.born:
        rows = rows.where(Member.birth_date == born_on)
    for member_id, household_id, first_name, last_name in session.execute(rows):
        score = _member_score(terms.words, first_name, last_name) if terms.words else 1.0
        if score:
            members[member_id] = score
            households[household_id] = max(households.get(household_id, 0.0), score)
    return households, members


def find_households(gate: Gate, q: str, limit: int) -> list[FoundHousehold]:
    """For the clearing desk: households by BG number, names (whole, beginning, a spelling a
    letter or two off, or inside) or birth dates, the best match first. Master data only, never
    the content of a file; every search is audited with what it found."""
    gate.require(Capability.CLEARING, "masterdata.search")
    scores, member_scores = _ranked_households(gate.session, q)
    if not scores:
        gate.record("masterdata.search", query=q, found=[])
        return []
    found = sorted(
        gate.session.scalars(
            select(Household)
            .options(selectinload(Household.members), selectinload(Household.caseworker))
            .where(Household.id.in_(scores))
        ),
        key=lambda household: (-scores[household.id], household.bg_number),
    )[:limit]
    gate.record("masterdata.search", query=q, found=[h.bg_number for h in found])
    return [
        FoundHousehold(household, [m.id in member_scores for m in household.members])
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
    refusal = handed_over_refusal(household, "document.filing")  # issue 18: read-only file
    if refusal is not None:
        raise InvalidInput(refusal, code="handed_over", field="bg_number")
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
