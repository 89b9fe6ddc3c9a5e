"""Duplicates: a letter that was read before, found when it is filed and discarded in clearing.

Two kinds are told apart (documents.duplicate_kind):
- "datei": the same content: the same uploaded file (the same pages of an original with the same
  SHA-256), or a page set whose page images are byte for byte those of an earlier document;
- "text": the same letter scanned again: its OCR text reads (nearly) as an earlier one's.

The duplicate is still routed like any letter (a letter is never lost); it carries the mark and
a link to the earlier document. Candidates come from indexes, never from a scan of all
documents: the original's hash (ix_documents_original_sha256), the text fingerprint
(ix_documents_text_fingerprint), and the recent documents of the same household or of clearing
(ix_documents_household_received), of which only a bounded number is compared.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from rapidfuzz import fuzz
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.db import utcnow
from core.errors import Conflict, InvalidInput
from core.text import fold_umlauts
from records.access import Capability, Gate, Grant
from records.models import Document, Household, InboxItem, Page, ScanBatch
from records.reindex import reindex_after_commit
from records.runtime import Runtime

SAME_FILE, SAME_TEXT = "datei", "text"
KIND_NAMES = {SAME_FILE: "gleicher Inhalt", SAME_TEXT: "gleicher Text"}
HIDDEN = "Duplikat eines früheren Schriftstücks"

# A text shorter than this (after normalising) says too little to call two letters the same.
MIN_TEXT = 80
# Recent documents of the household (or of clearing) compared by similarity, newest first.
WINDOW_DAYS = 365
MAX_CANDIDATES = 200
# Similarity (0-100) of the normalised text, and of the digits in it taken alone: two letters
# from one template differ in dates, amounts and numbers, a scan read twice hardly.
TEXT_SIMILARITY = 90.0
DIGIT_SIMILARITY = 85.0

_WORD = re.compile(r"[a-z0-9]+")


def normalised_text(pages: list[str]) -> str:
    """The words of the pages, lower case, umlauts spelled out, punctuation and layout gone."""
    text = fold_umlauts(" ".join(pages).lower(), style="spelled")
    return " ".join(_WORD.findall(text))


def fingerprint(normalised: str) -> str | None:
    """A digest of the normalised text (None when there is too little text to tell)."""
    if len(normalised) < MIN_TEXT:
        return None
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def _digits(normalised: str) -> str:
    return "".join(ch for ch in normalised if ch.isdigit())


def similar(a: str, b: str) -> bool:
    """Whether two normalised texts read as the same letter scanned twice."""
    if fuzz.ratio(a, b, score_cutoff=TEXT_SIMILARITY) < TEXT_SIMILARITY:
        return False
    da, db = _digits(a), _digits(b)
    if not da and not db:
        return True
    return fuzz.ratio(da, db, score_cutoff=DIGIT_SIMILARITY) >= DIGIT_SIMILARITY


def _earlier(document: Document) -> ColumnElement[bool]:
    """What an earlier document must be to count: another one, kept (not discarded, not
    rejected for a new scan: a new scan of a rejected letter is wanted), processed, and not
    itself marked as a duplicate of this one (two parts of one scan never point at each other,
    so that discarding one always leaves the other)."""
    return and_(
        Document.id != document.id,
        Document.discarded_at.is_(None),
        Document.qa_status != "rejected",
        Document.status == "processed",
        or_(Document.duplicate_of_id.is_(None), Document.duplicate_of_id != document.id),
    )


def _same_file(session: Session, document: Document) -> Document | None:
    """The earliest document cut from the same pages of a file with the same hash."""
    return session.scalar(
        select(Document)
        .where(
            Document.original_sha256 == document.original_sha256,
            Document.batch_id != document.batch_id,
            Document.first_page == document.first_page,
            Document.last_page == document.last_page,
            _earlier(document),
        )
        .order_by(Document.received_at, Document.id)
        .limit(1)
    )


def _per_page(
    session: Session,
    column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
    document_ids: list[uuid.UUID],
) -> dict[uuid.UUID, list[str]]:
    """A page column's values of each of these documents, in page order ("" for none)."""
    values: dict[uuid.UUID, list[str]] = {i: [] for i in document_ids}
    rows = session.execute(
        select(Page.document_id, column)
        .where(Page.document_id.in_(document_ids))
        .order_by(Page.document_id, Page.number)
    )
    for document_id, value in rows:
        values[document_id].append(value or "")
    return values


def _same_fingerprint(session: Session, document: Document) -> tuple[Document, str] | None:
    """An earlier document with the very same text: "datei" when its page images are the same
    bytes too (a page set delivered again), else "text"."""
    found = list(
        session.scalars(
            select(Document)
            .where(
                Document.text_fingerprint == document.text_fingerprint,
                _earlier(document),
            )
            .order_by(Document.received_at, Document.id)
            .limit(20)
        )
    )
    if not found:
        return None
    own = [page.image_sha256 or "" for page in document.pages]
    if all(own):
        hashes = _per_page(session, Page.image_sha256, [d.id for d in found])
        for earlier in found:
            if hashes[earlier.id] == own:
                return earlier, SAME_FILE
    return found[0], SAME_TEXT


def _similar_text(
    session: Session, document: Document, normalised: str, household_ids: list[int]
) -> Document | None:
    """The earliest of the households' (or clearing's) recent documents of as many pages whose
    text reads as this one's."""
    since = utcnow() - timedelta(days=WINDOW_DAYS)
    where_household = (
        or_(Document.household_id.in_(household_ids), Document.household_id.is_(None))
        if household_ids
        else Document.household_id.is_(None)
    )
    candidates = list(
        session.scalars(
            select(Document.id)
            .where(
                where_household,
                Document.received_at >= since,
                Document.page_count == document.page_count,
                Document.text_fingerprint.is_not(None),
                _earlier(document),
            )
            .order_by(Document.received_at.desc())
            .limit(MAX_CANDIDATES)
        )
    )
    if not candidates:
        return None
    texts = {
        key: normalised_text(pages)
        for key, pages in _per_page(session, Page.text, candidates).items()
    }
    matching = [key for key in candidates if similar(normalised, texts[key])]
    if not matching:
        return None
    return min(
        (session.get_one(Document, key) for key in matching),
        key=lambda d: (d.received_at, str(d.id)),
    )


def mark_duplicate(session: Session, document: Document, household_ids: list[int]) -> None:
    """Set the document's text fingerprint and, if it repeats an earlier document, the mark:
    same file first, then the same text, then a text that reads nearly the same among the
    recent documents of the households recognition found or proposed (`household_ids`) and
    of clearing."""
    normalised = normalised_text([page.text for page in document.pages])
    document.text_fingerprint = fingerprint(normalised)
    document.duplicate_of_id = document.duplicate_kind = None
    earlier: Document | None = _same_file(session, document)
    kind = SAME_FILE
    if earlier is None and document.text_fingerprint is not None:
        same = _same_fingerprint(session, document)
        if same is not None:
            earlier, kind = same
        else:
            earlier, kind = _similar_text(session, document, normalised, household_ids), SAME_TEXT
    if earlier is not None:
        document.duplicate_of_id = earlier.id
        document.duplicate_kind = kind


def mark_again(session: Session, document: Document) -> None:
    """The mark of a document whose pages changed (page editing): its text is checked again
    like a fresh scan's, among the recent documents of its household, of those its recognition
    proposed, and of clearing. A discarded document keeps what it had."""
    if document.discarded_at is not None:
        return
    recognition = document.recognition or {}
    numbers = {str(n) for n in recognition.get("candidates") or []}
    if recognition.get("bg_number"):
        numbers.add(str(recognition["bg_number"]))
    ids = set(session.scalars(select(Household.id).where(Household.bg_number.in_(numbers))))
    if document.household_id is not None:
        ids.add(document.household_id)
    mark_duplicate(session, document, sorted(ids))


def batch_message(session: Session, batch_id: uuid.UUID, message: str | None) -> str | None:
    """The batch's status message with what the desk is told of its documents that were read
    before (each still routed, marked as a duplicate)."""
    marked = session.execute(
        select(Document.sequence, Document.duplicate_kind)
        .where(Document.batch_id == batch_id, Document.duplicate_of_id.is_not(None))
        .order_by(Document.sequence)
    ).all()
    if not marked:
        return message
    parts = [
        f"Dokument {sequence} ({KIND_NAMES.get(kind or '', kind)})" for sequence, kind in marked
    ]
    note = NOTE + ", ".join(parts)
    return f"{message}. {note}" if message else note


NOTE = "Bereits eingelesen, als Duplikat markiert und trotzdem zugestellt: "


def batch_message_again(session: Session, batch: ScanBatch) -> None:
    """The batch's message after page editing changed which of its documents are marked: what
    it said before the note on duplicates, with the note as it is now."""
    said = batch.status_message or ""
    before = said[: said.index(NOTE)].removesuffix(". ") if NOTE in said else said
    batch.status_message = batch_message(session, batch.id, before or None)


# --- what a user is shown ----------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateNote:
    """The mark as one user may see it: the earlier document's data only if they may see it."""

    kind: str
    kind_name: str
    text: str
    earlier_id: uuid.UUID | None
    earlier_name: str | None
    earlier_date: date | None


def _label(earlier: Document) -> str:
    day = earlier.receipt_date or earlier.received_at.date()
    return f"Duplikat von »{earlier.source_name}« (Eingang {day.strftime('%d.%m.%Y')})"


def notes_for(gate: Gate, documents: list[Document]) -> dict[uuid.UUID, DuplicateNote]:
    """The duplicate marks of these documents, by document id, each naming the earlier document
    only where the user may see it (asked through the gate, for the whole list at once)."""
    marked = [d for d in documents if d.duplicate_of_id is not None]
    if not marked:
        return {}
    earlier_ids = {d.duplicate_of_id for d in marked}
    earlier = list(gate.session.scalars(select(Document).where(Document.id.in_(earlier_ids))))
    visible = {d.id: d for d in gate.visible(earlier)}
    notes = {}
    for document in marked:
        kind = document.duplicate_kind or SAME_TEXT
        seen = visible.get(document.duplicate_of_id) if document.duplicate_of_id else None
        notes[document.id] = DuplicateNote(
            kind=kind,
            kind_name=KIND_NAMES.get(kind, kind),
            text=_label(seen) if seen is not None else HIDDEN,
            earlier_id=seen.id if seen is not None else None,
            earlier_name=seen.source_name if seen is not None else None,
            earlier_date=(seen.receipt_date or seen.received_at.date()) if seen else None,
        )
    return notes


# --- discarding in clearing --------------------------------------------------------------------


def mark_discarded(
    runtime: Runtime,
    gate: Gate,
    document: Document,
    item: InboxItem,
    grant: Grant,
    reason: str,
    **details: object,
) -> None:
    """The one way a duplicate is discarded once the caller has checked that it may be (from
    clearing, or from a Postkorb): the document is marked (kept in storage with its original,
    but in no file, inbox or search result), the item that held it is done, the discard is
    audited on the document and the index follows the commit."""
    now = utcnow()
    document.discarded_at = now
    document.discarded_by_login = gate.user.login
    document.discard_reason = reason
    if item.state != "done":
        item.state, item.done_at, item.done_by_login = "done", now, gate.user.login
    gate.record_on(
        document,
        "document.discarded",
        grant=grant,
        reason=reason,
        duplicate_of=str(document.duplicate_of_id),
        duplicate_kind=document.duplicate_kind,
        inbox_item=item.id,
        **details,
    )
    gate.session.flush()
    reindex_after_commit(gate.session, runtime, document)


def discard(runtime: Runtime, gate: Gate, document_id: uuid.UUID, reason: str) -> Document:
    """Discard a duplicate waiting in clearing: kept in storage with its original, but in no
    file, inbox or search result. Audited through the gate; the index follows the commit."""
    action = "document.discarded"
    gate.require(Capability.CLEARING, action, object_type="document", object_id=document_id)
    reason = reason.strip()
    if len(reason) < 3:
        raise InvalidInput("Bitte einen Grund für das Verwerfen angeben.", code="discard_reason")
    document, grant = gate.document(document_id, action, lock=True, audited=False)
    item = gate.session.scalar(
        select(InboxItem).where(
            InboxItem.document_id == document.id,
            InboxItem.kind == "clearing",
            InboxItem.state != "done",
        )
    )
    if item is None:
        raise Conflict("Das Dokument ist nicht (mehr) in der Klärung.", code="not_in_clearing")
    if document.duplicate_of_id is None:
        raise Conflict(
            "Nur ein als Duplikat erkanntes Dokument kann verworfen werden; dieses bitte zuordnen.",
            code="not_a_duplicate",
        )
    mark_discarded(runtime, gate, document, item, grant, reason)
    return document
