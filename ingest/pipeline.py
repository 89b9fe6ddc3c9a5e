"""The processing of one scanned batch by a worker.

Original in; out come the documents split at separator sheets, each with its pages (upright,
deskewed, OCR text, word boxes, page image, thumbnail), a searchable PDF, a scan record, an
inbox item and an index entry. Pages that bring their own text (born-digital PDF pages, the
text pages of an e-mail; ingest/textlayer.py) are not OCR'd: their words come from the text
layer, and they are rendered only for the viewer. Pages are read in parallel and only one page
at a time per thread is on disk; results are committed in one transaction together with the job.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import delete, select, update

from core import metrics
from core.db import after_commit, transaction, utcnow
from core.errors import (
    BlobCorrupted,
    BlobMissing,
    Cancelled,
    LeaseLost,
    PermanentFailure,
    UnreadablePage,
)
from core.faults import fault_point  # issue 20: crash tests (tests/test_crash20.py)
from ingest.archive_pdf import write_pdfa
from ingest.filing import (
    catalogue_for,
    file_behind_sheet,
    file_preset,
    file_recognised,
    recognise_all,
)
from ingest.forms import read_page
from ingest.intake import EMAIL, keep_original
from ingest.ocr import OcrResult, image_colour
from ingest.prepare import (
    PageScan,
    analyse_page,
    extract_image_page,
    page_too_large,
    pdf_page_scans,
    prepare_page,
    render_pdf_page,
    view_of,
)
from ingest.recognition import Recognition
from ingest.slots import PageSlots
from ingest.textlayer import PageContent, layered_page_pdf, page_contents, page_pdf, text_layer
from ingest.validation import PDF
from records import audit
from records.duplicates import batch_message
from records.jobs import ClaimedJob, complete, hold, index_behind
from records.models import SCAN_FIELDS, Document, DroppedPage, Page, ScanBatch
from records.reindex import (
    OUTBOX_DOCUMENT,
    drop_index_writes,
    enqueue_index_writes,
    pending_index_writes_of,
    reindex_documents,
)
from records.runtime import Runtime
from records.sheet_codes import parse_code
from storage import BlobStore, downloaded

log = logging.getLogger(__name__)

VIEWER_WIDTH = 1654  # A4 at 200 dpi: sharp on a portrait monitor, light to send
TEXT_PAGE_DPI = 200  # pages with their own text are rendered only for the viewer
THUMB_WIDTH = 200
JPEG_QUALITY = 80


@dataclass
class PageOutcome:
    source_page: int
    dropped: str | None  # "separator", "blank" or "unreadable": the page is in no document
    dpi: int = 300
    oversize: bool = False  # unreadable because too large: set aside unread, reason in detail
    scan_dpi: int | None = None
    colour: str | None = None
    detail: str | None = None
    width: int = 0
    height: int = 0
    rotation: int = 0
    skew: float = 0.0
    ocr: OcrResult | None = None
    image: Path | None = None
    thumb: Path | None = None
    # The text came from the page's own text layer (born digital, an e-mail's text): no OCR.
    text_layer: bool = False
    # A separator page that is a signed return or cover sheet: its code routes the documents
    # behind it (records.sheet_codes, ingest.filing.file_behind_sheet).
    sheet_code: str | None = None


def _read_page_safely(
    read: Callable[[], PageOutcome],
    number: int,
    dpi: int,
    slots: PageSlots,
    still_wanted: Callable[[], bool],
) -> PageOutcome:
    """A page the programs cannot read (`read` raises UnreadablePage, a program's timeout
    among them) is set aside with the reason; the batch goes on."""
    try:
        with slots.hold(still_wanted):
            started = time.perf_counter()  # issue 20: the reading, not the wait for a slot
            outcome = read()
            metrics.observe_page_read(_read_method(outcome), time.perf_counter() - started)
            return outcome
    except UnreadablePage as exc:
        log.warning("page %s unreadable: %s", number, exc)
        return PageOutcome(number, "unreadable", dpi=dpi, detail=str(exc)[:500])
    except Image.DecompressionBombError:
        # The checks before rendering keep such pages out; this is the net behind them.
        log.warning("page %s too large to decode", number)
        detail = f"Seite {number} ist zu groß für die Texterkennung (zu viele Bildpunkte)"
        return PageOutcome(number, "unreadable", dpi=dpi, oversize=True, detail=detail)


def _read_method(outcome: PageOutcome) -> str:
    """How a page was read, as /metrics tells it apart (OCR seconds per page: "ocr")."""
    if outcome.dropped is not None:
        return "sheet_or_blank"
    return "text_layer" if outcome.text_layer else "ocr"


def _read_page(
    source: Path,
    content_type: str,
    number: int,
    dpi: int,
    work: Path,
    runtime: Runtime,
    still_wanted: Callable[[], bool],
    text_page: PageContent | None = None,
) -> PageOutcome:
    """One page: a page with its own text is rendered for the viewer and its text taken from
    the text layer; every other page (and one whose text layer does not read as text) is
    turned upright, deskewed and read by OCR."""
    settings = runtime.settings
    timeout = settings.ocr_timeout_seconds
    if not still_wanted():
        raise Cancelled()
    if content_type == PDF:
        raw = render_pdf_page(source, number, dpi, work, timeout)
        if text_page is not None:
            outcome = _text_layer_page(source, number, dpi, raw, work, timeout, text_page)
            if outcome is not None:
                return outcome
    else:
        raw, dpi = extract_image_page(
            source,
            number,
            work,
            min_dpi=settings.ocr_dpi,
            max_pixels=settings.max_image_pixels,
        )
    # The page as the desk sees it, where OCR reads a cleaned copy (ingest.photo): turned and
    # deskewed alike, so the word boxes land on it.
    raw_view = view_of(raw)
    shown_raw = raw_view if raw_view.exists() else None
    try:
        secret = settings.secret_key.get_secret_value()
        plan = analyse_page(
            raw, timeout, accept_code=lambda text: parse_code(secret, text) is not None
        )
        if plan.separator or plan.blank:
            dropped = "separator" if plan.separator else "blank"
            return PageOutcome(number, dropped, dpi=dpi, sheet_code=plan.sheet_code)
        upright = prepare_page(
            raw, work / f"upright-{number:05d}.pgm", rotation=plan.rotation, skew=plan.skew
        )
        shown = _shown(shown_raw, work / f"shown-{number:05d}.pgm", plan.rotation, plan.skew)
        rotation = plan.rotation
        try:
            result = read_page(
                upright, work / f"ocr-{number:05d}", settings.ocr_languages, timeout, dpi, shown
            )
            if _maybe_upside_down(result):
                # Text read upside down comes out as confident-looking garbage only rarely:
                # a very low mean confidence is worth one more reading the other way up.
                other = (plan.rotation + 180) % 360
                turned = prepare_page(
                    raw, work / f"turned-{number:05d}.pgm", rotation=other, skew=plan.skew
                )
                shown_turned = _shown(
                    shown_raw, work / f"shown-turned-{number:05d}.pgm", other, plan.skew
                )
                second = read_page(
                    turned,
                    work / f"ocr2-{number:05d}",
                    settings.ocr_languages,
                    timeout,
                    dpi,
                    shown_turned,
                )
                if (second.confidence or 0) >= (result.confidence or 0) + RETURN_MARGIN:
                    for path in (upright, shown):
                        if path is not None and path not in (raw, shown_raw):
                            path.unlink(missing_ok=True)
                    upright, result, rotation = turned, second, other
                    shown = shown_turned
                else:
                    for path in (turned, shown_turned):
                        if path is not None and path != shown_raw:
                            path.unlink(missing_ok=True)
            renditions = _renditions(shown or upright, work, number)
        finally:
            for path in (upright, shown):
                if path is not None and path not in (raw, shown_raw):
                    path.unlink(missing_ok=True)
    finally:
        raw.unlink(missing_ok=True)
        raw_view.unlink(missing_ok=True)
    return _page_read(number, dpi, result, renditions, rotation=rotation, skew=plan.skew)


def _text_layer_page(
    source: Path,
    number: int,
    dpi: int,
    raw: Path,
    work: Path,
    timeout: int,
    content: PageContent,
) -> PageOutcome | None:
    """The page's words from its text layer, the page itself for the archive PDF, and its
    renditions; None (and `raw` left for OCR) when the text layer does not read as text."""
    with Image.open(raw) as rendered:
        width, height = rendered.size
    result = text_layer(source, number, width, height, timeout)
    if result is None:
        log.info("page %s: text layer unreadable, read by OCR", number)
        return None
    try:
        image, thumb, size = _renditions(raw, work, number)
        target = work / f"text-{number:05d}.pdf"
        if content.fonts_embedded:
            result.pdf = page_pdf(source, number, target)
        else:  # PDF/A needs embedded fonts: the rendering with the words as a hidden layer
            result.pdf = layered_page_pdf(image, result.words, (width, height), dpi, target)
    finally:
        raw.unlink(missing_ok=True)
        view_of(raw).unlink(missing_ok=True)
    return _page_read(number, dpi, result, (image, thumb, size), text_layer=True)


def _page_read(
    number: int,
    dpi: int,
    result: OcrResult,
    renditions: tuple[Path, Path, tuple[int, int]],
    **more: Any,
) -> PageOutcome:
    """A page that was read, with its words and its renditions (image, thumbnail, size)."""
    image, thumb, (width, height) = renditions
    return PageOutcome(
        source_page=number,
        dropped=None,
        dpi=dpi,
        width=width,
        height=height,
        ocr=result,
        image=image,
        thumb=thumb,
        **more,
    )


def _shown(view: Path | None, out: Path, rotation: int, skew: float) -> Path | None:
    """The page as the desk sees it, turned and deskewed like the page OCR reads."""
    if view is None:
        return None
    return prepare_page(view, out, rotation=rotation, skew=skew)


LOW_CONFIDENCE = 50.0  # mean word confidence of tesseract; clean letters read at 85-95
RETURN_MARGIN = 15.0  # the other way up must read clearly better to be taken
MIN_WORDS = 20


def _maybe_upside_down(result: OcrResult) -> bool:
    return (
        result.confidence is not None
        and result.confidence < LOW_CONFIDENCE
        and len(result.words) >= MIN_WORDS
    )


def _renditions(upright: Path, work: Path, number: int) -> tuple[Path, Path, tuple[int, int]]:
    image_path = work / f"view-{number:05d}.jpg"
    thumb_path = work / f"thumb-{number:05d}.jpg"
    with Image.open(upright) as page:
        size = page.size
        view: Image.Image = page
        if page.width > VIEWER_WIDTH:
            height = round(page.height * VIEWER_WIDTH / page.width)
            # Box reduction first, then bilinear: as sharp as Lanczos on text, at half the time.
            view = page.resize((VIEWER_WIDTH, height), Image.Resampling.BILINEAR, reducing_gap=2.0)
        view.save(image_path, "JPEG", quality=JPEG_QUALITY)
        view.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 2), Image.Resampling.BILINEAR, reducing_gap=2.0)
        view.save(thumb_path, "JPEG", quality=JPEG_QUALITY)
    return image_path, thumb_path, size


class _Progress:
    """Counts finished pages and tells the database every few pages, so the desk sees them."""

    def __init__(self, runtime: Runtime, batch_id: uuid.UUID) -> None:
        self.runtime = runtime
        self.batch_id = batch_id
        self.done = 0
        self._lock = threading.Lock()

    def page_done(self) -> None:
        with self._lock:
            self.done += 1
            done = self.done
        with transaction(self.runtime.sessions) as session:
            session.execute(
                update(ScanBatch).where(ScanBatch.id == self.batch_id).values(pages_done=done)
            )


def _one_document(pages: list[PageOutcome]) -> list[list[PageOutcome]]:
    kept = [page for page in pages if page.dropped in (None, "separator")]
    for page in kept:
        if page.dropped == "separator":  # a code on a page of a letter is no separator here
            page.dropped = None
    kept = [page for page in kept if page.ocr is not None]
    return [kept] if kept else []


def _email_pages(eml: Path, work: Path, runtime: Runtime) -> Path:
    """The e-mail as one PDF whose text pages carry real text. Long text attachments are
    shown by their first pages; each of them is kept whole in the blob store as an original
    of its own (content-addressed, named by the SHA-256 printed on its last page)."""
    from ingest.email_pdf.convert import email_to_pdf
    from ingest.email_pdf.limits import NotAnEmail

    settings = runtime.settings
    target = work / "email.pdf"
    kept = work / "kept"
    kept.mkdir(exist_ok=True)
    try:
        email_to_pdf(
            eml,
            target,
            max_pages=settings.max_batch_pages,
            timeout=settings.ocr_timeout_seconds,
            text_attachment_pages=settings.email_text_attachment_pages,
            keep_dir=kept,
        )
    except (NotAnEmail, ValueError) as exc:
        raise PermanentFailure(f"E-Mail nicht lesbar: {exc}") from exc
    for attachment in sorted(kept.iterdir()):
        keep_original(runtime.blobs, attachment, attachment.name)
        attachment.unlink()
    return target


def _page_contents(pdf: Path, count: int, timeout: int) -> list[PageContent]:
    """What each page draws; a PDF whose pages cannot be looked into is read by OCR."""
    contents = page_contents(pdf, timeout)
    if len(contents) != count:
        return [PageContent(0, 0, 1.0)] * count
    return contents


def split_documents(pages: list[PageOutcome]) -> list[list[PageOutcome]]:
    """Separator sheets end one document and start the next; dropped pages belong to none."""
    documents: list[list[PageOutcome]] = [[]]
    for page in pages:
        if page.dropped == "separator":
            documents.append([])
        elif page.dropped is None:
            documents[-1].append(page)
    return [doc for doc in documents if doc]


def sheets_of_documents(pages: list[PageOutcome]) -> list[str | None]:
    """For each document of `split_documents(pages)`, the code of the return or cover sheet
    it came behind, or None. A sheet covers the documents after it up to the next sheet: the
    client's documents behind one return sheet may be split by plain separator sheets and are
    all covered (where the next envelope begins, `_sheet_scopes` ends it by recognition)."""
    documents: list[tuple[str | None, int]] = [(None, 0)]
    for page in pages:
        if page.dropped == "separator":
            documents.append((page.sheet_code or documents[-1][0], 0))
        elif page.dropped is None:
            code, count = documents[-1]
            documents[-1] = (code, count + 1)
    return [code for code, count in documents if count]


def _sheet_scopes(
    sheets: list[str | None], recognitions: list[Recognition | None], secret: str
) -> list[str | None]:
    """Where a sheet's cover ends: at the first document behind it that recognition files
    into another household with confidence (the next envelope of the batch, a letter of
    someone else); that one and the rest up to the next sheet are filed by recognition."""
    scoped: list[str | None] = []
    ended: set[str] = set()
    for sheet, recognition in zip(sheets, recognitions, strict=True):
        if sheet is not None and sheet not in ended and recognition is not None:
            code = parse_code(secret, sheet)
            elsewhere = recognition.bg_number
            if code is not None and elsewhere is not None and elsewhere != code.bg_number:
                ended.add(sheet)
        scoped.append(None if sheet in ended else sheet)
    return scoped


def _put(blobs: BlobStore, key: str, path: Path) -> str:
    with path.open("rb") as source:
        return blobs.put(key, source).sha256


# Page editing (ingest/page_edit.py) makes and stores renditions the same way.
page_renditions, put_file = _renditions, _put


def process_batch(runtime: Runtime, job: ClaimedJob, still_wanted: Callable[[], bool]) -> None:
    settings = runtime.settings
    with transaction(runtime.sessions) as session:
        batch = session.get(ScanBatch, job.batch_id)
        if batch is None:
            raise PermanentFailure("Der Stapel ist nicht mehr vorhanden.")
        batch_id = batch.id
        finished = batch.status == "processed"
        if not finished:
            batch.status = "processing"
            batch.started_at = utcnow()
            batch.pages_done = 0
        content_type, page_count = batch.content_type, batch.pages_total
        original_key, source_name = batch.original_key, batch.source_name
        received_at = batch.received_at
        preset = batch.preset_household_id is not None
    work_root = settings.data_dir / "work"
    work_root.mkdir(parents=True, exist_ok=True)
    # issue 20: a worker killed in an earlier attempt left its pages (client data) on this disk;
    # the job is ours now, so what an earlier attempt of it left here goes.
    for left in work_root.glob(f"job-{job.id}-*"):
        shutil.rmtree(left, ignore_errors=True)
    if finished:
        _finish_processed(runtime, job, batch_id)
        return

    work = Path(tempfile.mkdtemp(prefix=f"job-{job.id}-", dir=work_root))
    sender: str | None = None  # an e-mail's From address: evidence of who wrote
    try:
        try:
            with downloaded(runtime.blobs, original_key, work / "original") as original:
                timeout = settings.ocr_timeout_seconds
                if content_type == EMAIL:
                    # The e-mail stays byte for byte as the original; its body and attachments
                    # become the pages of one document.
                    from ingest.email_pdf.parse import sender_address

                    sender = sender_address(original)
                    original = _email_pages(original, work, runtime)
                    content_type = PDF
                scans: list[PageScan] = []
                if content_type == PDF:
                    scans = pdf_page_scans(original, timeout)
                    scanned_dpis = [scan.dpi for scan in scans]
                    page_count = len(scans)
                    contents = _page_contents(original, page_count, timeout)
                    digital = [content.digital for content in contents]
                    # Faxes and other coarse scans are rendered up to ocr_dpi for tesseract;
                    # pages with their own text only for the viewer.
                    dpis = [
                        TEXT_PAGE_DPI if text else max(dpi, settings.ocr_dpi)
                        for dpi, text in zip(scanned_dpis, digital, strict=True)
                    ]
                    colours = {n: scan.colour for n, scan in enumerate(scans, start=1)}
                else:
                    scanned_dpis = dpis = [0] * page_count
                    digital = [False] * page_count
                    contents = []
                    colours = {n: image_colour(original, n) for n in range(1, page_count + 1)}
                progress = _Progress(runtime, batch_id)
                slots = PageSlots(settings.data_dir / "run" / "page-slots", settings.ocr_processes)

                def one(number: int) -> PageOutcome:
                    too_large = (
                        page_too_large(
                            number, scans[number - 1], dpis[number - 1], settings.max_image_pixels
                        )
                        if scans
                        else None
                    )
                    if too_large is not None:
                        log.warning("page %s set aside: %s", number, too_large)
                        outcome = PageOutcome(
                            number,
                            "unreadable",
                            dpi=dpis[number - 1],
                            oversize=True,
                            detail=too_large,
                        )
                    else:
                        dpi = dpis[number - 1]
                        read = functools.partial(
                            _read_page,
                            original,
                            content_type,
                            number,
                            dpi,
                            work,
                            runtime,
                            still_wanted,
                            contents[number - 1] if digital[number - 1] else None,
                        )
                        outcome = _read_page_safely(read, number, dpi, slots, still_wanted)
                    if not outcome.text_layer:  # a page with its own text was never scanned
                        outcome.scan_dpi = scanned_dpis[number - 1] or outcome.dpi
                        outcome.colour = colours.get(number)
                    progress.page_done()
                    return outcome

                with ThreadPoolExecutor(max_workers=settings.ocr_processes) as pool:
                    pages = list(pool.map(one, range(1, page_count + 1)))
        except (BlobCorrupted, BlobMissing) as exc:
            raise PermanentFailure(f"Original nicht lesbar: {exc.message}") from exc
        except UnreadablePage as exc:
            raise PermanentFailure(f"Datei nicht lesbar: {exc}") from exc
        except Cancelled:
            raise LeaseLost(f"job {job.id} given up while reading pages") from None
        fault_point("pipeline.pages_read")

        # A file put into a household's file by hand is one document, whatever it contains.
        documents = split_documents(pages) if not preset else _one_document(pages)
        sheets: list[str | None] = (
            sheets_of_documents(pages) if not preset else [None] * len(documents)
        )
        if not documents:
            unreadable = [p for p in pages if p.dropped == "unreadable"]
            if unreadable:
                raise PermanentFailure(
                    f"Keine Seite des Stapels war lesbar ({unreadable[0].detail})."
                )
            raise PermanentFailure(
                "Der Stapel enthält nur Trennblätter und leere Seiten; es ist kein Dokument "
                "entstanden."
            )
        stored = _store_renditions(
            runtime.blobs, batch_id, job.attempt, documents, work, source_name, received_at
        )
        recognitions: list[Recognition | None] = [None] * len(documents)
        if not preset:
            with transaction(runtime.sessions) as session:
                texts = [[p.ocr.text if p.ocr else "" for p in pages] for pages in documents]
                recognitions = list(recognise_all(session, settings, texts, [sender] * len(texts)))
        fault_point("pipeline.before_commit")
        _commit(runtime, job, batch_id, source_name, pages, documents, stored, recognitions, sheets)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class _Stored:
    document_id: uuid.UUID
    pdf_key: str
    pdf_sha256: str
    pages: list[dict[str, str]]


def document_id_for(batch_id: uuid.UUID, sequence: int) -> uuid.UUID:
    """The n-th document of a batch has the same id in every attempt, so a retry replaces the
    index entries of an interrupted one instead of leaving them behind."""
    return uuid.uuid5(batch_id, f"document-{sequence}")


def _store_renditions(
    blobs: BlobStore,
    batch_id: uuid.UUID,
    attempt: int,
    documents: list[list[PageOutcome]],
    work: Path,
    source_name: str,
    received_at: datetime,
) -> list[_Stored]:
    """Put the renditions of every document into the blob store, written once.

    Each attempt writes under keys of its own; what an interrupted one wrote stays unreferenced.
    """
    stored = []
    for sequence, pages in enumerate(documents, start=1):
        document_id = document_id_for(batch_id, sequence)
        prefix = f"renditions/{document_id}/a{attempt}"
        pdf = work / f"{document_id}.pdf"
        title = f"{source_name} ({sequence})" if len(documents) > 1 else source_name
        # The receipt time stamps the PDF, so that a retried job writes the same bytes.
        write_pdfa(
            [p.ocr.pdf for p in pages if p.ocr and p.ocr.pdf], pdf, title=title, created=received_at
        )
        pdf_sha256 = _put(blobs, f"{prefix}/document.pdf", pdf)
        entry = _Stored(document_id, f"{prefix}/document.pdf", pdf_sha256, [])
        for number, page in enumerate(pages, start=1):
            assert page.ocr is not None and page.image and page.thumb
            words = work / f"words-{page.source_page:05d}.json"
            words.write_text(json.dumps([asdict(w) for w in page.ocr.words], ensure_ascii=False))
            keys = {
                "image_key": f"{prefix}/page-{number:04d}.jpg",
                "thumb_key": f"{prefix}/thumb-{number:04d}.jpg",
                "words_key": f"{prefix}/words-{number:04d}.json",
            }
            hashes = {
                "image_sha256": _put(blobs, keys["image_key"], page.image),
                "thumb_sha256": _put(blobs, keys["thumb_key"], page.thumb),
                "words_sha256": _put(blobs, keys["words_key"], words),
            }
            entry.pages.append(keys | hashes)
        stored.append(entry)
    return stored


def _dropped_message(dropped: list[PageOutcome]) -> str | None:
    """What the desk is told about pages that are in the original but in no document."""
    unreadable = [p.source_page for p in dropped if p.dropped == "unreadable" and not p.oversize]
    oversize = [p.detail or f"Seite {p.source_page}" for p in dropped if p.oversize]
    parts = []
    if unreadable:
        parts.append(
            f"Nicht lesbare Seiten (im Original erhalten): {', '.join(map(str, unreadable))}"
        )
    if oversize:
        more = f"; {len(oversize) - 3} weitere" if len(oversize) > 3 else ""
        parts.append(
            "Zu große Seiten, nicht gelesen (im Original erhalten): "
            + "; ".join(oversize[:3])
            + more
        )
    return ". ".join(parts) if parts else None


# What a document takes over from its batch, and a page row from the page's outcome.
_FROM_BATCH = SCAN_FIELDS
_FROM_OUTCOME = ("source_page", "dpi", "scan_dpi", "colour", "width", "height")


def _copied(source: object, names: tuple[str, ...]) -> dict[str, Any]:
    """The attributes `names` of `source`, as keyword arguments of a model of the same names."""
    return {name: getattr(source, name) for name in names}


def _commit(
    runtime: Runtime,
    job: ClaimedJob,
    batch_id: uuid.UUID,
    source_name: str,
    pages: list[PageOutcome],
    documents: list[list[PageOutcome]],
    stored: list[_Stored],
    recognitions: list[Recognition | None],
    sheets: list[str | None],
) -> None:
    with transaction(runtime.sessions) as session:
        # The catalogue in force for this job: a version saved a moment ago counts.
        catalogue = catalogue_for(runtime.settings, session)
        batch = session.get(ScanBatch, batch_id)
        if batch is None:
            raise PermanentFailure("Der Stapel ist nicht mehr vorhanden.")
        # A retried job replaces what an earlier, interrupted attempt may have left.
        earlier = list(session.scalars(select(Document.id).where(Document.batch_id == batch_id)))
        session.execute(delete(Document).where(Document.batch_id == batch_id))
        session.execute(delete(DroppedPage).where(DroppedPage.batch_id == batch_id))
        dropped = [p for p in pages if p.dropped]
        for page in dropped:
            session.add(
                DroppedPage(
                    batch_id=batch_id,
                    source_page=page.source_page,
                    reason=page.dropped,
                    detail=page.detail,
                )
            )
        several = len(documents) > 1
        sheets = _sheet_scopes(sheets, recognitions, runtime.settings.secret_key.get_secret_value())
        filed = zip(documents, stored, recognitions, sheets, strict=True)
        outcomes: list[tuple[str, str]] = []  # issue 20: counted once committed
        for sequence, (doc_pages, entry, recognition, sheet) in enumerate(filed, start=1):
            document = Document(
                id=entry.document_id,
                batch_id=batch_id,
                sequence=sequence,
                first_page=doc_pages[0].source_page,
                last_page=doc_pages[-1].source_page,
                source_name=f"{source_name} ({sequence})" if several else source_name,
                page_count=len(doc_pages),
                status="processed",
                pdf_key=entry.pdf_key,
                pdf_sha256=entry.pdf_sha256,
                **_copied(batch, _FROM_BATCH),
            )
            session.add(document)
            numbered = enumerate(zip(doc_pages, entry.pages, strict=True), start=1)
            for number, (page, keys) in numbered:
                assert page.ocr is not None
                session.add(
                    Page(
                        document=document,
                        number=number,
                        text=page.ocr.text,
                        confidence=page.ocr.confidence,
                        rotation=int(page.rotation),
                        skew=round(float(page.skew), 2),
                        **_copied(page, _FROM_OUTCOME),
                        **keys,
                    )
                )
            if recognition is not None and sheet is not None:
                file_behind_sheet(
                    session,
                    document,
                    recognition,
                    catalogue,
                    sheet,
                    settings=runtime.settings,
                    hold_for_qa=runtime.settings.qa_required,
                )
            elif recognition is not None:
                file_recognised(
                    session,
                    document,
                    recognition,
                    catalogue,
                    hold_for_qa=runtime.settings.qa_required,
                )
            else:
                file_preset(session, document, batch, catalogue)
            session.flush()
            outcomes.append(_routing_outcome(document, recognition, sheet))
        batch.status = "processed"
        batch.status_message = batch_message(session, batch_id, _dropped_message(dropped))
        batch.pages_total = len(pages)
        batch.pages_done = len(pages)
        batch.pages_dropped = len(dropped)
        batch.documents_count = len(documents)
        batch.finished_at = utcnow()
        audit.record(
            session,
            None,
            "batch.processed",
            actor_login="system",
            object_type="batch",
            object_id=batch_id,
            pages=len(pages),
            dropped=len(dropped),
            documents=len(documents),
            attempt=job.attempt,
        )
        # The index follows the commit: the documents' entries are written once they exist,
        # and the job is done only then. A crash in between leaves the job to be retried,
        # and the retry finds the batch processed and only writes the index (see
        # _finish_processed).
        hold(session, job)
        after_commit(session, functools.partial(metrics.count_filed, len(pages), outcomes))
        after_commit(session, functools.partial(fault_point, "pipeline.after_commit"))
        new = [entry.document_id for entry in stored]
        # issue 20: the entries to write are also rows of the index outbox, committed with the
        # documents: should every attempt of the job fail at the index, the drainer
        # (records.index_outbox) still writes them once the index is back.
        rows = enqueue_index_writes(session, OUTBOX_DOCUMENT, [str(i) for i in earlier + new])
        session.flush()
        after_commit(
            session,
            functools.partial(
                _index_and_complete, runtime, job, earlier + new, [row.id for row in rows]
            ),
        )


def _routing_outcome(
    document: Document, recognition: Recognition | None, sheet: str | None
) -> tuple[str, str]:
    """Where a filed document went (routed: a Postkorb; clearing) and what decided it."""
    via = "upload" if recognition is None else "sheet" if sheet is not None else "recognition"
    return ("clearing" if document.household_id is None else "routed", via)


def _index_and_complete(
    runtime: Runtime,
    job: ClaimedJob,
    document_ids: list[uuid.UUID],
    outbox_rows: list[int] | None = None,
) -> None:
    """Write the entries; then the job is done and their outbox rows go, in one commit.

    When the index cannot be written (down, refusing), the job is done all the same: the
    documents are filed and in the Postkorb, and their entries wait in the index outbox, which
    the drainer (records.index_outbox) writes once the index answers; the batch tells the desk.
    Retrying the job would only write the same entries again, and an index outage that
    outlasts the attempts would leave a processed batch looking failed."""
    fault_point("pipeline.before_index")
    try:
        reindex_documents(runtime, document_ids)
    except Exception as exc:  # noqa: BLE001 - every index failure is caught up by the outbox
        # The type only: an index's error text can quote document content.
        log.warning("job %s: index entries wait in the outbox (%s)", job.id, type(exc).__name__)
        with transaction(runtime.sessions) as session:
            complete(session, job)
            index_behind(session, job)
        return
    fault_point("pipeline.after_index")
    with transaction(runtime.sessions) as session:
        complete(session, job)
        drop_index_writes(session, outbox_rows or [])


def _finish_processed(runtime: Runtime, job: ClaimedJob, batch_id: uuid.UUID) -> None:
    """A job whose documents were committed but whose index entries may not have been
    written (the worker stopped after the commit): write them, then the job is done."""
    with transaction(runtime.sessions, read_only=True) as session:
        ids = list(session.scalars(select(Document.id).where(Document.batch_id == batch_id)))
        # The rows the batch's commit queued for them go once the entries are written.
        rows = pending_index_writes_of(session, OUTBOX_DOCUMENT, [str(i) for i in ids])
    log.info("batch %s was processed already; writing its index entries", batch_id)
    _index_and_complete(runtime, job, ids, rows)
