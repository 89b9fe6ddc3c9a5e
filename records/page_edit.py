"""Page editing (issue 15): split a document, move pages to another or a new document, remove
or rotate a page; the data and the gate.

A letter scanned without its separator sheet ends up with its neighbours in one document; the
desk (documents in clearing or before their quality check) and caseworkers who may see the
household (in the E-Akte) repair it here. An edit runs in three steps, so that no transaction
is open while PDFs are written (on SQLite a write transaction holds the lock for everybody):

1. `plan_edit` checks who asks and what (in a read transaction) and lays out the documents the
   edit leaves: which pages, from which stored rendition, in which order, turned how far;
2. ingest.page_edit builds their renditions (PDF/A, turned page images) under keys of the edit's
   own; an edit that never commits leaves them unreferenced, a retry writes new ones;
3. `apply_edit` checks again (access, and that neither document changed meanwhile), moves the
   page rows, points the documents at their new renditions and audits who did what to which
   pages. Recognition and routing of the documents whose text changed follow in the same
   transaction (ingest.page_edit), the search index after the commit.

The original upload is never touched: every document keeps `original_key`; a page keeps its
image, words and thumbnail unless it was turned. Removed pages go into a document of their own
that is discarded (in no file, inbox or search result) and kept with the original.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Conflict, InvalidInput
from records.access import Capability, Gate, Grant, document_grant
from records.models import SCAN_FIELDS, Document, Page

EditKind = Literal["split", "move", "remove", "rotate"]
ACTIONS: dict[str, str] = {
    "split": "document.pages.split",
    "move": "document.pages.move",
    "remove": "document.pages.remove",
    "rotate": "document.page.rotate",
}
ROTATIONS = (90, 180, 270)  # clockwise, as the desk sees the page
MIN_REASON = 3


@dataclass(frozen=True)
class PageSource:
    """One page of a document the edit leaves, as the build step needs it."""

    page_id: int
    pdf_key: str  # the stored rendition that holds the page now
    pdf_index: int  # its position there (0-based)
    image_key: str | None
    thumb_key: str | None
    words_key: str | None
    width: int | None
    height: int | None
    dpi: int | None
    text: str
    confidence: float | None
    rotate: int = 0  # degrees clockwise to turn it by in this edit


@dataclass(frozen=True)
class Layout:
    """A document as the edit leaves it: existing or new, its pages in order."""

    document_id: uuid.UUID
    new: bool
    title: str
    created: datetime
    pages: tuple[PageSource, ...]


@dataclass(frozen=True)
class EditPlan:
    kind: str
    action: str
    source_id: uuid.UUID
    target_id: uuid.UUID | None  # an existing document that receives pages
    new_id: uuid.UUID | None  # the document the edit creates
    pages: tuple[int, ...]  # the source's page numbers the edit moves, removes or turns
    degrees: int
    reason: str | None
    stamps: dict[uuid.UUID, str]  # what the existing documents looked like when planned
    layouts: tuple[Layout, ...]
    edit: str = field(default_factory=lambda: uuid.uuid4().hex)  # names the new renditions


@dataclass(frozen=True)
class BuiltPage:
    """A turned page's new renditions and, where OCR read it again, its text."""

    image_key: str
    image_sha256: str
    thumb_key: str
    thumb_sha256: str
    words_key: str
    words_sha256: str
    width: int
    height: int
    text: str
    confidence: float | None


@dataclass(frozen=True)
class Built:
    pdfs: dict[uuid.UUID, tuple[str, str]]  # document id -> (pdf_key, pdf_sha256)
    pages: dict[int, BuiltPage]  # page id -> renditions of a turned page


@dataclass
class Applied:
    """What `apply_edit` changed: the source, the existing target or the new document."""

    plan: EditPlan
    grant: Grant
    source: Document
    target: Document | None = None
    created: Document | None = None

    @property
    def changed(self) -> list[Document]:
        return [d for d in (self.source, self.target, self.created) if d is not None]


# --- checks ------------------------------------------------------------------------------------


def editable(
    gate: Gate, document_id: uuid.UUID | str, action: str, *, lock: bool = False
) -> tuple[Document, Grant]:
    """The document if the user may edit its pages: the desk's documents (clearing, before the
    quality check), a caseworker's within need-to-know. Refusals are audited by the gate."""
    gate.require(
        Capability.EDIT_PAGES, action, object_type="document", object_id=str(document_id)[:64]
    )
    document, grant = gate.document(document_id, action, lock=lock, audited=False)
    if document.discarded_at is not None:
        raise Conflict("Das Dokument wurde verworfen; seine Seiten sind nicht mehr zu bearbeiten.")
    if document.qa_status == "rejected":
        raise Conflict("Das Dokument wurde zur Neuerfassung abgelehnt.", code="qa_rejected")
    if document.status != "processed" or document.pdf_key is None:
        raise Conflict(
            "Das Dokument ist noch nicht fertig verarbeitet; bitte später noch einmal versuchen.",
            code="not_processed",
        )
    return document, grant


def _stamp(document: Document) -> str:
    """What the document looks like: its rendition and its pages in order."""
    parts = [document.pdf_sha256 or ""]
    parts += [f"{p.id}:{p.number}:{p.image_sha256}" for p in _ordered(document)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _ordered(document: Document) -> list[Page]:
    return sorted(document.pages, key=lambda page: page.number)


def _page_numbers(document: Document, numbers: Sequence[int]) -> tuple[int, ...]:
    count = len(document.pages)
    wanted = tuple(sorted(set(numbers)))
    if not wanted:
        raise InvalidInput("Bitte mindestens eine Seite wählen.", code="no_pages")
    for number in wanted:
        if not 1 <= number <= count:
            raise InvalidInput(
                f"Seite {number} gibt es nicht; das Dokument hat {count} "
                f"{'Seite' if count == 1 else 'Seiten'}.",
                code="page_out_of_range",
            )
    if len(wanted) == count:
        raise InvalidInput(
            "Ein Schriftstück muss mindestens eine Seite behalten; es können nicht alle Seiten "
            "verschoben oder entfernt werden.",
            code="all_pages",
        )
    return wanted


# What the build step reads of a page row, by the same names.
_PAGE_FIELDS = (
    "image_key",
    "thumb_key",
    "words_key",
    "width",
    "height",
    "dpi",
    "text",
    "confidence",
)
# What a document split off another takes over from it: the scan, its quality check, its dates.
_INHERITED = (
    *SCAN_FIELDS,
    "batch_id",
    "qa_status",
    "qa_by_id",
    "qa_at",
    "held_for_qa",
    "receipt_date",
    "stamp_date",
    "direction",
    "sender",
    "dispatch_date",
    "doc_type",
)


def _source(page: Page, document: Document, rotate: int = 0) -> PageSource:
    assert document.pdf_key is not None
    fields = {name: getattr(page, name) for name in _PAGE_FIELDS}
    return PageSource(
        page_id=page.id,
        pdf_key=document.pdf_key,
        pdf_index=page.number - 1,
        rotate=rotate,
        **fields,
    )


def _layout(
    document: Document, pages: list[PageSource], *, new_id: uuid.UUID | None = None
) -> Layout:
    return Layout(
        document_id=new_id or document.id,
        new=new_id is not None,
        title=document.source_name,
        created=document.received_at,
        pages=tuple(pages),
    )


def same_place(document: Document, other: Document) -> bool:
    """Pages may go from one document to the other: same household, or same scanned batch."""
    if document.household_id is not None and document.household_id == other.household_id:
        return True
    return document.batch_id is not None and document.batch_id == other.batch_id


# --- planning -----------------------------------------------------------------------------------


def plan_edit(
    gate: Gate,
    document_id: uuid.UUID,
    kind: EditKind,
    *,
    pages: Sequence[int] = (),
    after: int | None = None,
    target_id: uuid.UUID | None = None,
    degrees: int = 0,
    reason: str | None = None,
) -> EditPlan:
    """Check the request and lay out the documents it leaves (nothing is written)."""
    action = ACTIONS[kind]
    document, _ = editable(gate, document_id, action)
    ordered = _ordered(document)
    count = len(ordered)
    target: Document | None = None
    if kind == "split":
        if count < 2:
            raise InvalidInput(
                "Ein Schriftstück mit nur einer Seite kann nicht geteilt werden.",
                code="single_page",
            )
        if after is None or not 1 <= after < count:
            raise InvalidInput(
                f"Ein neues Schriftstück kann ab Seite 2 bis Seite {count} beginnen.",
                code="page_out_of_range",
            )
        numbers = tuple(range(after + 1, count + 1))
    elif kind == "rotate":
        if degrees not in ROTATIONS:
            raise InvalidInput(
                "Eine Seite kann nur um 90, 180 oder 270 Grad gedreht werden.", code="degrees"
            )
        if len(pages) != 1 or not 1 <= pages[0] <= count:
            raise InvalidInput(
                f"Bitte eine Seite von 1 bis {count} zum Drehen wählen.", code="page_out_of_range"
            )
        numbers = (pages[0],)
    else:
        numbers = _page_numbers(document, pages)
    if kind == "remove":
        reason = (reason or "").strip()
        if len(reason) < MIN_REASON:
            raise InvalidInput(
                "Bitte angeben, warum die Seite entfernt wird.", code="reason_missing"
            )
    if kind == "move" and target_id is not None:
        if target_id == document.id:
            raise InvalidInput(
                "Die Seiten sind schon in diesem Schriftstück.", code="same_document"
            )
        target, _ = editable(gate, target_id, action)
        if not same_place(document, target):
            raise InvalidInput(
                "Seiten können nur in ein Schriftstück desselben Haushalts oder desselben "
                "Stapels verschoben werden.",
                code="other_household",
            )
    stamps = {document.id: _stamp(document)}
    if kind == "rotate":
        turned = [_source(p, document, degrees if p.number in numbers else 0) for p in ordered]
        layouts: tuple[Layout, ...] = (_layout(document, turned),)
        new_id = None
    else:
        kept = [_source(p, document) for p in ordered if p.number not in numbers]
        moved = [_source(p, document) for p in ordered if p.number in numbers]
        if target is not None:
            assert target.pdf_key is not None
            stamps[target.id] = _stamp(target)
            received = [_source(p, target) for p in _ordered(target)] + moved
            layouts = (_layout(document, kept), _layout(target, received))
            new_id = None
        else:
            new_id = uuid.uuid4()
            fresh = _layout(document, moved, new_id=new_id)
            title = _place_in_batch(gate.session, document)[1]
            layouts = (_layout(document, kept), replace(fresh, title=title))
    return EditPlan(
        kind=kind,
        action=action,
        source_id=document.id,
        target_id=target.id if target is not None else None,
        new_id=new_id,
        pages=numbers,
        degrees=degrees if kind == "rotate" else 0,
        reason=reason if kind == "remove" else None,
        stamps=stamps,
        layouts=layouts,
    )


# --- applying -----------------------------------------------------------------------------------

CHANGED_MEANWHILE = (
    "Das Dokument wurde inzwischen geändert. Bitte die Seite neu laden und noch einmal versuchen."
)


def _place_in_batch(session: Session, source: Document) -> tuple[int, str]:
    """A new document's place after the last one of the source's batch, and its name there."""
    last = (
        session.scalar(
            select(func.max(Document.sequence)).where(Document.batch_id == source.batch_id)
        )
        if source.batch_id is not None
        else None
    ) or source.sequence
    base = source.batch.source_name if source.batch is not None else source.source_name
    return last + 1, f"{base} ({last + 1})"


def _new_document(gate: Gate, source: Document, plan: EditPlan) -> Document:
    """The document the moved pages go to: the source's scan, its own place in the batch."""
    assert plan.new_id is not None
    sequence, title = _place_in_batch(gate.session, source)
    created = Document(
        id=plan.new_id,
        sequence=sequence,
        source_name=title,
        status="processed",
        derived_from_id=source.id,
        **{name: getattr(source, name) for name in _INHERITED},
    )
    if plan.kind != "remove" and source.batch is not None:
        source.batch.documents_count += 1  # the scan holds one letter more than it was read as
    if plan.kind == "remove":
        created.household_id = source.household_id
        created.discarded_at = utcnow()
        created.discarded_by_login = gate.user.login
        created.discard_reason = plan.reason
    gate.session.add(created)
    return created


def _renumber(
    session: Session, documents: dict[uuid.UUID, Document], plan: EditPlan, built: Built
) -> None:
    """Give the page rows the documents and numbers of the plan's layouts."""
    pages = {p.id: p for d in documents.values() for p in d.pages}
    # Numbers are unique per document: out of the way first, then in their new places.
    for page in pages.values():
        page.number = -page.id
    session.flush()
    for layout in plan.layouts:
        document = documents[layout.document_id]
        for number, ref in enumerate(layout.pages, start=1):
            page = pages[ref.page_id]
            page.document = document
            page.number = number
            turned = built.pages.get(ref.page_id)
            if turned is not None:
                _turn(page, turned, ref.rotate)
        rows = [pages[ref.page_id] for ref in layout.pages]
        document.page_count = len(rows)
        sources = [p.source_page for p in rows if p.source_page is not None]
        document.first_page = min(sources) if sources else None
        document.last_page = max(sources) if sources else None
        document.pdf_key, document.pdf_sha256 = built.pdfs[layout.document_id]
    session.flush()
    for document in documents.values():
        session.expire(document, ["pages"])


def _turn(page: Page, turned: BuiltPage, degrees: int) -> None:
    page.image_key, page.image_sha256 = turned.image_key, turned.image_sha256
    page.thumb_key, page.thumb_sha256 = turned.thumb_key, turned.thumb_sha256
    page.words_key, page.words_sha256 = turned.words_key, turned.words_sha256
    page.width, page.height = turned.width, turned.height
    page.text, page.confidence = turned.text, turned.confidence
    page.rotation = (page.rotation + degrees) % 360


def apply_edit(gate: Gate, plan: EditPlan, built: Built) -> Applied:
    """Check again and carry the plan out; audited on each document it changed or created."""
    source, grant = editable(gate, plan.source_id, plan.action, lock=True)
    documents = {source.id: source}
    target = None
    if plan.target_id is not None:
        target, _ = editable(gate, plan.target_id, plan.action, lock=True)
        documents[target.id] = target
    for document in documents.values():
        if plan.stamps.get(document.id) != _stamp(document):
            raise Conflict(CHANGED_MEANWHILE, code="changed")
    created = _new_document(gate, source, plan) if plan.new_id is not None else None
    if created is not None:
        gate.session.flush()
        documents[created.id] = created
    _renumber(gate.session, documents, plan, built)
    details: dict[str, object] = {"pages": list(plan.pages)}
    if plan.degrees:
        details["degrees"] = plan.degrees
    if plan.reason:
        details["reason"] = plan.reason
    moved_to = created or target
    if moved_to is not None:
        details["to_document"] = str(moved_to.id)
    gate.record_on(source, plan.action, grant=grant, **details)
    if moved_to is not None:
        gate.record_on(
            moved_to,
            "document.pages.received",
            from_document=str(source.id),
            pages=list(plan.pages),
            edit=plan.kind,
        )
    return Applied(plan, grant, source, target, created)


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbour:
    """A document pages may be moved to."""

    document: Document
    where: str


def where_it_is(gate: Gate, document: Document) -> str:
    """Where the document stands, in German, naming a household only to whom may see it."""
    if document.discarded_at is not None:
        return "verworfen (mit dem Original aufbewahrt)"
    if document.household is None:
        return "in der Klärung der Scanstelle"
    if document_grant(gate.session, gate.user, document) is None:
        return "in eine andere Akte geleitet"
    if document.held_for_qa:
        return f"bis zur Qualitätskontrolle zurückgehalten (Akte {document.household.bg_number})"
    return f"in der Akte {document.household.bg_number}"


def editor_view(gate: Gate, document_id: uuid.UUID) -> tuple[Document, list[Neighbour]]:
    """The document for the page editor, and the documents its pages may go to (same household
    or batch, editable by the user). The read is audited."""
    document, grant = editable(gate, document_id, "document.pages.view")
    gate.record_on(document, "document.pages.view", grant=grant)
    clauses = []
    if document.household_id is not None:
        clauses.append(Document.household_id == document.household_id)
    if document.batch_id is not None:
        clauses.append(Document.batch_id == document.batch_id)
    candidates: list[Document] = []
    if clauses:
        candidates = list(
            gate.session.scalars(
                select(Document)
                .where(
                    or_(*clauses),
                    Document.id != document.id,
                    Document.status == "processed",
                    Document.discarded_at.is_(None),
                    Document.qa_status != "rejected",
                )
                .order_by(Document.received_at.desc(), Document.sequence)
                .limit(200)
            )
        )
    visible = gate.visible(candidates) if gate.may(Capability.EDIT_PAGES) else []
    return document, [Neighbour(d, where_it_is(gate, d)) for d in visible]
