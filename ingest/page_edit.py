"""Page editing (issue 15): the renditions, texts and routing of an edit of a document's pages.

records/page_edit.py checks and plans an edit and carries it out in the database; this module
builds what the documents the edit leaves need (their archive PDFs, the new renditions of a
turned page, OCR again where a page's text was unreadable), then has recognition and routing
look at every document whose pages changed: a new document is recognised and filed like a
fresh scan (its household's Postkorb, or clearing), the document the pages came from is filed
again when its household changes.

Transactions: planned in a read transaction; built with none open (blob writes under keys of
the edit's own, so an edit that fails or is retried leaves only unreferenced renditions);
applied, routed and audited in one write transaction; the search index follows its commit.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pikepdf
from PIL import Image
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import transaction
from ingest.archive_pdf import write_pdfa
from ingest.filing import catalogue_for, file_recognised, recognise_all
from ingest.forms import read_page
from ingest.ocr import OcrResult
from ingest.pipeline import LOW_CONFIDENCE, page_renditions, put_file
from records import page_edit
from records.access import Gate, document_grant
from records.duplicates import batch_message_again, mark_again
from records.models import Document, User
from records.page_edit import Applied, Built, BuiltPage, EditKind, EditPlan, PageSource
from records.reindex import reindex_after_commit
from records.routing import file_document
from records.runtime import Runtime
from storage import BlobStore, downloaded, read_bytes

# A page whose text reads as less than this is read again after it was turned.
MIN_READABLE_WORDS = 8
_TRANSPOSE = {
    90: Image.Transpose.ROTATE_270,  # PIL turns counter-clockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


# --- building ------------------------------------------------------------------------------------


def _turned_box(word: dict[str, Any], degrees: int, width: int, height: int) -> dict[str, Any]:
    """A word box of a page `width` x `height` after the page was turned clockwise."""
    left, top, w, h = word["left"], word["top"], word["width"], word["height"]
    if degrees == 90:
        left, top, w, h = height - top - h, left, h, w
    elif degrees == 180:
        left, top = width - left - w, height - top - h
    elif degrees == 270:
        left, top, w, h = top, width - left - w, h, w
    return word | {"left": left, "top": top, "width": w, "height": h}


def unreadable(text: str, confidence: float | None) -> bool:
    """Text OCR made little of: few words, or a very low mean confidence."""
    return len(text.split()) < MIN_READABLE_WORDS or (
        confidence is not None and confidence < LOW_CONFIDENCE
    )


def _better(result: OcrResult, ref: PageSource) -> bool:
    if len(result.text.split()) < MIN_READABLE_WORDS:
        return False
    return (result.confidence or 0.0) > (ref.confidence or 0.0) or len(result.words) > len(
        ref.text.split()
    )


def _turn_page(
    ref: PageSource, blobs: BlobStore, settings: Settings, folder: Path, prefix: str
) -> tuple[BuiltPage, Path | None]:
    """A turned page's image, thumbnail and word boxes; where its text was unreadable, OCR reads
    the turned page again, and its searchable page PDF comes back too (else None)."""
    if ref.image_key is None:
        raise ValueError(f"page {ref.page_id} has no image")
    image = folder / f"page-{ref.page_id}.jpg"
    image.write_bytes(read_bytes(blobs, ref.image_key))
    turned = folder / f"turned-{ref.page_id}.png"
    with Image.open(image) as opened:
        view_width = opened.width
        opened.transpose(_TRANSPOSE[ref.rotate]).save(turned)
    width, height = ref.width or view_width, ref.height or 0
    words = json.loads(read_bytes(blobs, ref.words_key)) if ref.words_key else []
    words = [_turned_box(w, ref.rotate, width, height) for w in words]
    text, confidence = ref.text, ref.confidence
    page_pdf = None
    size = (height, width) if ref.rotate in (90, 270) else (width, height)
    if unreadable(ref.text, ref.confidence):
        dpi = round((ref.dpi or 300) * view_width / max(1, width))
        result = read_page(
            turned,
            folder / f"ocr-{ref.page_id}",
            settings.ocr_languages,
            settings.ocr_timeout_seconds,
            max(dpi, 70),
        )
        if _better(result, ref):
            text, confidence, page_pdf = result.text, result.confidence, result.pdf
            words = [asdict(w) for w in result.words]
            with Image.open(turned) as opened:
                size = opened.size
    view, thumb, _ = page_renditions(turned, folder, ref.page_id)
    words_path = folder / f"words-{ref.page_id}.json"
    words_path.write_text(json.dumps(words, ensure_ascii=False))
    keys = {
        "image": f"{prefix}/page-{ref.page_id}.jpg",
        "thumb": f"{prefix}/thumb-{ref.page_id}.jpg",
        "words": f"{prefix}/words-{ref.page_id}.json",
    }
    built = BuiltPage(
        image_key=keys["image"],
        image_sha256=put_file(blobs, keys["image"], view),
        thumb_key=keys["thumb"],
        thumb_sha256=put_file(blobs, keys["thumb"], thumb),
        words_key=keys["words"],
        words_sha256=put_file(blobs, keys["words"], words_path),
        width=size[0],
        height=size[1],
        text=text,
        confidence=confidence,
    )
    return built, page_pdf


def build_edit(plan: EditPlan, blobs: BlobStore, settings: Settings) -> Built:
    """The archive PDF of every document the edit leaves, and the renditions of a turned page,
    stored under keys of this edit. Needs no database."""
    work = settings.data_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    pdfs: dict[uuid.UUID, tuple[str, str]] = {}
    pages: dict[int, BuiltPage] = {}
    with tempfile.TemporaryDirectory(dir=work, prefix="page-edit-") as scratch:
        folder = Path(scratch)
        sources: dict[str, pikepdf.Pdf] = {}
        try:
            for layout in plan.layouts:
                prefix = f"renditions/{layout.document_id}/edit-{plan.edit}"
                page_pdfs = []
                for position, ref in enumerate(layout.pages):
                    if ref.pdf_key not in sources:
                        local = folder / f"source-{len(sources)}.pdf"
                        with downloaded(blobs, ref.pdf_key, local.with_suffix(".part")) as path:
                            path.rename(local)
                        sources[ref.pdf_key] = pikepdf.open(local)
                    ocr_pdf = None
                    if ref.rotate:
                        pages[ref.page_id], ocr_pdf = _turn_page(
                            ref, blobs, settings, folder, prefix
                        )
                    if ocr_pdf is None:
                        ocr_pdf = folder / f"{layout.document_id}-{position:05d}.pdf"
                        with pikepdf.new() as one:
                            one.pages.append(sources[ref.pdf_key].pages[ref.pdf_index])
                            if ref.rotate:
                                one.pages[0].rotate(ref.rotate, relative=True)
                            one.save(ocr_pdf)
                    page_pdfs.append(ocr_pdf)
                target = folder / f"{layout.document_id}.pdf"
                write_pdfa(page_pdfs, target, title=layout.title, created=layout.created)
                key = f"{prefix}/document.pdf"
                pdfs[layout.document_id] = (key, put_file(blobs, key, target))
        finally:
            for pdf in sources.values():
                pdf.close()
    return Built(pdfs, pages)


# --- routing -------------------------------------------------------------------------------------


def _texts(document: Document) -> list[str]:
    return [page.text for page in sorted(document.pages, key=lambda p: p.number)]


def route_after_edit(session: Session, settings: Settings, applied: Applied) -> None:
    """Recognition reads the documents whose pages changed: a new document is filed like a
    fresh scan; the source is filed again where recognition now finds another household. A
    document a person filed keeps its place; one split from a document a caseworker put into
    a file goes into the same file; discarded pages are filed nowhere."""
    if applied.plan.kind == "rotate" and not _reread(applied):
        return
    # Every document whose text changed is checked for a letter read before, like a fresh
    # scan: the ones that were there first, then a new part (filing it checks it), so that of
    # two copies of one letter in a scan the part split off is the one marked.
    for kept in (applied.source, applied.target):
        if kept is not None:
            mark_again(session, kept)
    catalogue = catalogue_for(settings, session)
    created = applied.created
    if created is not None and created.discarded_at is None:
        source = applied.source
        if source.routed_by == "upload":
            mark_again(session, created)
            rule = next((r for r in catalogue.types if r.code == source.doc_type), None)
            file_document(
                session,
                created,
                household=source.household,
                doc_type=source.doc_type or catalogue.fallback,
                target=rule.target if rule else "caseworker",
                reason=f"Von {applied.source.source_name} abgeteilt.",
                actor=None,
                routed_by="upload",
                open_item=False,
            )
        else:
            [recognition] = recognise_all(session, settings, [_texts(created)])
            file_recognised(
                session, created, recognition, catalogue, hold_for_qa=settings.qa_required
            )
    document = applied.source  # an existing target keeps its place: the user chose it
    if document.routed_by in ("auto", None):  # filed by a person: their decision stands
        [recognition] = recognise_all(session, settings, [_texts(document)])
        current = document.household.bg_number if document.household is not None else None
        if recognition.bg_number and recognition.bg_number != current:
            file_recognised(
                session, document, recognition, catalogue, hold_for_qa=settings.qa_required
            )
    session.flush()
    batches = {d.batch for d in applied.changed if d.batch is not None}
    for batch in batches:  # the desk's batch says which of its documents were read before
        batch_message_again(session, batch)


def _reread(applied: Applied) -> bool:
    """A turned page that OCR read again changes the document's text."""
    return any(
        page.text != ref.text
        for layout in applied.plan.layouts
        for ref in layout.pages
        if ref.rotate
        for page in applied.source.pages
        if page.id == ref.page_id
    )


# --- the whole edit ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditedDocument:
    document_id: uuid.UUID
    role: str  # "source", "target", "new" or "discarded"
    page_count: int
    where: str  # German: where it stands now
    editable: bool  # the user may still open it in the page editor


@dataclass(frozen=True)
class EditResult:
    kind: str
    message: str
    documents: list[EditedDocument]


_DONE = {
    "split": "Das Schriftstück wurde geteilt.",
    "move": "Die Seiten wurden verschoben.",
    "remove": "Die Seite wurde entfernt; sie bleibt mit dem Original aufbewahrt.",
    "rotate": "Die Seite wurde gedreht.",
}


def _summary(gate: Gate, applied: Applied) -> EditResult:
    rows = [(applied.source, "source")]
    if applied.target is not None:
        rows.append((applied.target, "target"))
    if applied.created is not None:
        role = "discarded" if applied.created.discarded_at is not None else "new"
        rows.append((applied.created, role))
    documents = [
        EditedDocument(
            document_id=document.id,
            role=role,
            page_count=document.page_count or 0,
            where=page_edit.where_it_is(gate, document),
            editable=document.discarded_at is None
            and document_grant(gate.session, gate.user, document) is not None,
        )
        for document, role in rows
    ]
    return EditResult(applied.plan.kind, _DONE[applied.plan.kind], documents)


def edit_pages(
    runtime: Runtime,
    user: User,
    document_id: uuid.UUID,
    kind: EditKind,
    **request: Any,
) -> EditResult:
    """Check, build, apply, route and audit one edit; the index follows the commit."""
    with transaction(runtime.sessions, read_only=True) as session:
        plan = page_edit.plan_edit(Gate(session, user), document_id, kind, **request)
    built = build_edit(plan, runtime.blobs, runtime.settings)
    with transaction(runtime.sessions) as session:
        gate = Gate(session, user)
        applied = page_edit.apply_edit(gate, plan, built)
        route_after_edit(session, runtime.settings, applied)
        reindex_after_commit(session, runtime, *applied.changed)
        return _summary(gate, applied)
