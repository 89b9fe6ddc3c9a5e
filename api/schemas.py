"""What the API answers: one model per response, so /openapi.json describes every answer.

The field names and shapes are the ones the browser pages (web/static/*.js) read. Times are ISO
8601 strings as the services give them; dates are plain dates (YYYY-MM-DD). Every model forbids
fields it does not name: a service that starts answering more than its model says fails the
tests instead of losing the field silently.

Where the API names its own URLs (viewer links, page images, PDFs), the model builds them from
the domain object here; the services return domain objects or plain data.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlencode

from pydantic import (
    AliasPath,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from core.dates import local_today
from records.desk import BatchList, BatchView
from records.file_exports import (
    LEGAL_BASES,
    SCOPE_NAMES,
    WITHHOLDING_REASONS,
    ExportOptions,
)
from records.files import HouseholdFile
from records.models import Document, Household, InboxItem, Note, Page
from records.objections import FORM_NAMES, STATE_NAMES, LegalIntake
from records.routing import inbox_of
from search import SearchHit


def binary(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route that answers with a file, not JSON."""
    return {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


class Out(BaseModel):
    # Read from the domain objects where the names agree (validation_alias where they do not).
    model_config = ConfigDict(extra="forbid", from_attributes=True, populate_by_name=True)

    @classmethod
    def named(cls, source: object, names: dict[str, str], **context: object) -> Self:
        """Read from a domain object, its document types named from the catalogue `names`."""
        return cls.model_validate(source, context={"names": names, **context})


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


# ISO 8601 with time zone, as stored (a datetime is written as its isoformat()).
Timestamp = Annotated[str, BeforeValidator(_iso)]


def _type_name(code: str | None, info: ValidationInfo) -> str:
    """The German name of a document type, from the catalogue passed as context `names`."""
    names: dict[str, str] = (info.context or {}).get("names", {})
    return names.get(code or "", code or "–")


def _type_name_or_none(code: str | None, info: ValidationInfo) -> str | None:
    return None if code is None else _type_name(code, info)


def _in_context(key: str) -> Callable[[object, ValidationInfo], bool]:
    """A flag: whether the value read is among the context's `key` (e.g. the chosen ids)."""

    def check(value: object, info: ValidationInfo) -> bool:
        return value in (info.context or {}).get(key, ())

    return check


def _in_file(key: str) -> AliasPath:
    """A field read from the household the object lies in."""
    return AliasPath("household", key)


# The name of the document type, read from `doc_type` (context `names`: the catalogue); where
# there is none "–", or None for the optional kind.
TypeName = Annotated[str, BeforeValidator(_type_name)]
OptionalTypeName = Annotated[str | None, BeforeValidator(_type_name_or_none)]


# --- shared pieces -----------------------------------------------------------------------


class Person(Out):
    login: str
    name: str


class UserOut(Out):
    login: str
    name: str
    role: str
    team: str | None = Field(None, validation_alias=AliasPath("team", "name"))


class JobRef(Out):
    id: int
    state: str


class Ok(Out):
    ok: bool


class Count(Out):
    done: int


class ClearingInbox(Out):
    kind: Literal["clearing"]


class UserInbox(Out):
    kind: Literal["user"]
    user: str = Field(description="Anmeldename")


class TeamInbox(Out):
    kind: Literal["team"]
    team: str


# Where a document went: the clearing inbox, a person's or a team's Postkorb.
InboxRef = Annotated[ClearingInbox | UserInbox | TeamInbox, Field(discriminator="kind")]


def inbox_ref(item: InboxItem | None) -> ClearingInbox | UserInbox | TeamInbox:
    where = inbox_of(item)
    kinds: dict[str, type[ClearingInbox | UserInbox | TeamInbox]] = {
        "clearing": ClearingInbox,
        "user": UserInbox,
        "team": TeamInbox,
    }
    return kinds[where["kind"]](**where)


# --- documents and batches ---------------------------------------------------------------


class DocumentHead(Out):
    """What every answer naming a document says of it (read from a Document)."""

    id: uuid.UUID
    source_name: str | None
    doc_type: str | None
    pages: int | None = Field(validation_alias="page_count")
    receipt_date: date | None
    letter_date: date | None
    sender: str | None


class DocumentBrief(DocumentHead):
    """A document as lists of a case or an export show it."""

    doc_type_name: TypeName = Field(validation_alias="doc_type")
    direction: str
    dispatch_date: date | None


class DocumentOut(Out):
    id: uuid.UUID
    source_name: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None = Field(validation_alias="original_sha256")
    pages: int | None = Field(validation_alias="page_count")
    status: str
    status_message: str | None
    received_at: Timestamp
    bg_number: str | None = Field(None, validation_alias=_in_file("bg_number"))
    doc_type: str | None
    batch_id: uuid.UUID | None
    qa_status: str


class DroppedPageOut(Out):
    page: int = Field(validation_alias="source_page")
    reason: str


class BatchDocumentOut(Out):
    id: uuid.UUID
    pages: int | None = Field(validation_alias="page_count")
    first_page: int | None
    last_page: int | None
    qa_status: str
    # Read before (records.duplicates): "datei" (same content) or "text"; still routed.
    duplicate_kind: str | None = None
    duplicate_of_id: uuid.UUID | None = None
    # What recognition decided, only while the desk still checks it: afterwards household,
    # type and recipient are the caseworkers' business.
    doc_type: str | None
    bg_number: str | None = Field(None, validation_alias=_in_file("bg_number"))
    inbox: InboxRef | None = None


class BatchJobOut(Out):
    id: int
    state: str
    attempts: int
    error: str | None = Field(validation_alias="last_error")


class BatchFields(Out):
    """What an answer about a batch reads from the batch itself."""

    id: uuid.UUID
    source_name: str | None
    channel: str
    station: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None = Field(validation_alias="original_sha256")
    status: str
    status_message: str | None
    received_at: Timestamp
    pages_total: int
    pages_done: int
    pages_dropped: list[DroppedPageOut] = Field(validation_alias="dropped_pages")


class BatchOut(BatchFields):
    documents: list[BatchDocumentOut]
    job: BatchJobOut | None

    @classmethod
    def of(cls, view: BatchView) -> BatchOut:
        return cls(
            **dict(BatchFields.model_validate(view.batch)),
            documents=[_batch_document(d, view.inboxes.get(d.id)) for d in view.documents],
            job=None if view.job is None else BatchJobOut.model_validate(view.job),
        )


def _batch_document(document: Document, item: InboxItem | None) -> BatchDocumentOut:
    answer = BatchDocumentOut.model_validate(document)
    if answer.qa_status != "pending":
        answer.doc_type = answer.bg_number = None
    elif item is not None:
        answer.inbox = inbox_ref(item)
    return answer


class BatchInListOut(BatchOut):
    seconds_left: int | None = Field(
        description="Sekunden, bis die Warteschlange mit dem Stapel fertig ist (0: fertig)"
    )


class BatchListOut(Out):
    batches: list[BatchInListOut]
    counts: dict[str, int]
    seconds_per_page: float | None

    @classmethod
    def of(cls, listing: BatchList) -> BatchListOut:
        return cls(
            batches=[
                BatchInListOut(**dict(BatchOut.of(view)), seconds_left=view.seconds_left)
                for view in listing.batches
            ],
            counts=listing.counts,
            seconds_per_page=listing.seconds_per_page,
        )


class VerificationOut(Out):
    job: JobRef


class JobOut(Out):
    id: int
    kind: str
    state: str
    attempts: int
    error: str | None = Field(validation_alias="last_error")
    result: dict[str, Any] | None


class UploadOut(Out):
    batch_id: uuid.UUID
    source_name: str | None
    job: JobRef


# --- scan record -------------------------------------------------------------------------


class ScanRecordDropped(Out):
    page: int
    reason: str
    reason_text: str
    detail: str | None


class ScanRecordPosition(Out):
    sequence: int
    first_page: int
    last_page: int


class ScanRecordOriginal(Out):
    key: str | None
    sha256: str | None
    size_bytes: int | None
    content_type: str | None


class ScanRecordPdf(Out):
    key: str | None
    sha256: str | None


class ScanRecordPage(Out):
    number: int
    source_page: int | None
    scan_dpi: int | None
    colour: str | None
    colour_text: str
    rotation: int | None
    skew: float | None
    ocr_confidence: float | None
    image_sha256: str | None
    thumb_sha256: str | None
    words_sha256: str | None


class ScanRecordQa(Out):
    status: str
    status_text: str
    at: Timestamp | None
    note: str | None


class ScanRecordOut(Out):
    """The scan record (Transfervermerk, after TR-RESISCAN)."""

    kind: str
    document_id: uuid.UUID
    batch_id: uuid.UUID | None
    source_file: str | None
    channel: str | None
    station: str | None
    operator: Person | None
    received_at: Timestamp
    processed_at: Timestamp | None
    pages_in_batch: int | None
    position_in_batch: ScanRecordPosition
    pages_in_document: int | None
    dropped_pages: list[ScanRecordDropped]
    original: ScanRecordOriginal
    searchable_pdf: ScanRecordPdf
    pages: list[ScanRecordPage]
    qa: ScanRecordQa


# --- viewer ------------------------------------------------------------------------------


class ViewerPageOut(Out):
    """A page of the viewer; read with the keys of its files, which DocumentViewOut turns into
    the API's URLs."""

    number: int
    width: int | None
    height: int | None
    image_url: str | None = Field(validation_alias="image_key")
    thumb_url: str | None = Field(validation_alias="thumb_key")
    words_url: str | None = Field(validation_alias="words_key")


def _in_order(pages: list[Page]) -> list[Page]:
    return sorted(pages, key=lambda p: p.number)


class DocumentViewOut(Out):
    id: uuid.UUID
    source_name: str | None
    doc_type: str | None
    doc_type_name: OptionalTypeName = Field(validation_alias="doc_type")
    bg_number: str | None = Field(None, validation_alias=_in_file("bg_number"))
    received_at: Timestamp
    receipt_date: date | None = Field(
        description="Eingangsdatum: der gelesene Eingangsstempel, sonst der Tag des Scans"
    )
    letter_date: date | None
    status: str
    qa_status: str
    page_count: Annotated[int, BeforeValidator(len)] = Field(validation_alias="pages")
    pdf_url: str | None = Field(validation_alias="pdf_key")
    pages: Annotated[list[ViewerPageOut], BeforeValidator(_in_order)]

    @model_validator(mode="after")
    def _urls(self) -> DocumentViewOut:
        """Where a file is stored, the API's URL that serves it."""
        base = f"/api/documents/{self.id}"
        self.pdf_url = f"{base}/pdf" if self.pdf_url else None
        for page in self.pages:
            at = f"{base}/pages/{page.number}"
            page.image_url = _versioned(f"{at}/image", page.image_url)
            page.thumb_url = _versioned(f"{at}/thumb", page.thumb_url)
            page.words_url = _versioned(f"{at}/words", page.words_url)
        return self


def _versioned(url: str, key: str | None) -> str | None:
    """The URL of a page's file, named after its stored key: the browser keeps a page's files
    for an hour (api.downloads), and page editing (issue 15) turns a page or gives its number
    to another page, so a new file gets a new URL."""
    if key is None:
        return None
    return f"{url}?v={hashlib.sha256(key.encode()).hexdigest()[:12]}"


# The same, for pages that link a page's files themselves (clearing, web.clearing_pages).
versioned_url = _versioned


class WordBox(Out):
    """One recognised word, in pixels of the upright page image (ingest.ocr.Word as the
    pipeline stores it; the API does not import the OCR module, which sets the process's
    thread limits)."""

    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float


# --- clearing, master data, catalogue ----------------------------------------------------


class DocTypeOut(Out):
    code: str
    name: str
    target: str


class DocTypesOut(Out):
    doctypes: list[DocTypeOut]


class BgNumberFound(Out):
    value: str
    page: int | None
    known: bool


class ClearingProposal(Out):
    bg_numbers: list[BgNumberFound]
    person: Any = Field(description="die erkannte Person (Name, Geburtsdatum), falls gelesen")
    candidates: list[Any]


class ClearingSuggestionOut(Out):
    """A household recognition named, offered as "Zuordnen zu …" (records.clearing)."""

    bg_number: str
    names: str


class ClearingItemOut(Out):
    document_id: uuid.UUID
    source_name: str | None
    received_at: Timestamp
    pages: int | None
    reason: str
    doc_type: str | None
    doc_type_name: str | None
    proposal: ClearingProposal
    letter_date: date | None
    suggestions: list[ClearingSuggestionOut] = []
    duplicate: DuplicateOut | None = None

    @classmethod
    def of(
        cls,
        item: InboxItem,
        names: dict[str, str],
        suggestions: Sequence[object] = (),
        duplicate: object | None = None,
    ) -> ClearingItemOut:
        document = item.document
        recognition = document.recognition or {}
        return cls(
            suggestions=[ClearingSuggestionOut.model_validate(s) for s in suggestions],
            duplicate=None if duplicate is None else DuplicateOut.model_validate(duplicate),
            document_id=document.id,
            source_name=document.source_name,
            received_at=document.received_at.isoformat(),
            pages=document.page_count,
            reason=item.reason,
            doc_type=document.doc_type,
            doc_type_name=names.get(document.doc_type or "", document.doc_type),
            proposal=ClearingProposal(
                bg_numbers=[
                    BgNumberFound(value=value, page=page, known=known)
                    for value, page, known in recognition.get("bg_numbers_found", [])
                ],
                person=recognition.get("person"),
                candidates=recognition.get("candidates", []),
            ),
            letter_date=document.letter_date,
        )


class ClearingListOut(Out):
    total: int
    items: list[ClearingItemOut]


class HouseholdMemberFound(Out):
    name: str
    birth_date: date | None
    matches: bool = Field(description="Vor- oder Nachname entspricht einem Suchwort")


class HouseholdFound(Out):
    bg_number: str
    active: bool
    address: str
    caseworker: str | None
    members: list[HouseholdMemberFound]


class HouseholdSearchOut(Out):
    households: list[HouseholdFound]


class DiscardOut(Out):
    """A duplicate discarded in clearing."""

    id: uuid.UUID
    discarded_at: Timestamp
    discarded_by: str = Field(validation_alias="discarded_by_login")
    reason: str = Field(validation_alias="discard_reason")
    duplicate_of_id: uuid.UUID | None


class FilingOut(Out):
    document_id: uuid.UUID
    bg_number: str
    doc_type: str
    inbox: InboxRef
    reason: str


class ImportReportOut(Out):
    """What an import changed: logins (staff) or BG numbers (households) per kind of change."""

    kind: str
    created: list[str]
    updated: list[str]
    deactivated: list[str]
    reactivated: list[str]
    unchanged: int
    warnings: list[str]
    # Households only: files closed (benefits ended) and reopened by this import (issue 17).
    closed: list[str] = []
    reopened: list[str] = []
    summary: str


# --- workplace ---------------------------------------------------------------------------


def _main_member(household: Household | None) -> str | None:
    """The household as the Postkorb names it: its first member by name, "Last, First"."""
    if household is None or not household.members:
        return None
    first = min(household.members, key=lambda m: (m.last_name, m.first_name))
    return f"{first.last_name}, {first.first_name}"


class DuplicateOut(Out):
    """A duplicate mark as the user may see it (records.duplicates.DuplicateNote): the earlier
    document named and linked only where the user may see it."""

    kind: str = Field(description="datei: gleicher Inhalt; text: gleicher Text")
    kind_name: str
    text: str
    earlier_id: uuid.UUID | None
    earlier_name: str | None
    earlier_date: date | None


def _duplicate_note(document_id: object, info: ValidationInfo) -> object:
    """The document's duplicate mark, from the context `duplicates` (by document id)."""
    return (info.context or {}).get("duplicates", {}).get(document_id)


DuplicateNoteOf = Annotated[DuplicateOut | None, BeforeValidator(_duplicate_note)]


class InboxDocumentOut(DocumentHead):
    duplicate: DuplicateNoteOf = Field(None, validation_alias="id")
    doc_type_name: OptionalTypeName = Field(validation_alias="doc_type")
    bg_number: str | None = Field(None, validation_alias=_in_file("bg_number"))
    household_name: Annotated[str | None, BeforeValidator(_main_member)] = Field(
        validation_alias="household"
    )
    qa_status: str  # "rejected": the desk sent it back for a new scan (the row says so)


class InboxItemOut(Out):
    id: int
    state: str
    kind: str
    user: str | None = Field(None, validation_alias=AliasPath("user", "login"))
    user_name: str | None = Field(None, validation_alias=AliasPath("user", "name"))
    team: str | None = Field(None, validation_alias=AliasPath("team", "name"))
    reason: str
    comment: str | None
    forwarded_by: str | None = Field(validation_alias="forwarded_by_login")
    created_at: Timestamp
    document: InboxDocumentOut


class InboxActionOut(InboxItemOut):
    said: str = Field("", description="Was die Seite danach sagt, z. B. »brief.pdf: erledigt«")


class InboxListOut(Out):
    total: int
    items: list[InboxItemOut]


class OpenNew(Out):
    open: int
    new: int


class DeputyCount(Out):
    login: str
    name: str
    open: int


class InboxCountsOut(Out):
    mine: OpenNew
    team: OpenNew
    clearing: OpenNew
    deputy: list[DeputyCount]


class ChangesOut(Out):
    """An open page's change token (also the answer's ETag) and how often to ask again."""

    token: str
    poll_seconds: float


class SavedViewOut(Out):
    """A saved view: its query string as the server rebuilt it, and the same as parameters."""

    id: int
    name: str
    query: str
    params: dict[str, str]
    created_at: datetime


class SavedViewsOut(Out):
    views: list[SavedViewOut]
    limit: int


class StaffMember(Out):
    login: str
    name: str
    team: str | None


class StaffOut(Out):
    users: list[StaffMember]
    teams: list[str]


class DocumentSummary(DocumentBrief):
    court_reference: str | None
    status: str
    # Read before (records.duplicates), where the answer was built with the marks.
    duplicate: DuplicateNoteOf = Field(None, validation_alias="id")


class NoteBrief(Out):
    text: str
    author: str = Field(validation_alias="author_name")
    created_at: Timestamp


class DocumentDetailsOut(DocumentSummary):
    bg_number: str | None = Field(None, validation_alias=_in_file("bg_number"))
    notes: list[NoteBrief] = []

    @classmethod
    def of_details(
        cls, document: Document, notes: list[Note], names: dict[str, str]
    ) -> DocumentDetailsOut:
        details = cls.named(document, names)
        details.notes = [NoteBrief.model_validate(n) for n in notes]
        return details


class DocumentChangedOut(DocumentSummary):
    changed: dict[str, list[Any]] = Field({}, description="je geändertem Feld: [vorher, nachher]")

    @classmethod
    def of_change(
        cls, document: Document, changed: dict[str, Any], names: dict[str, str]
    ) -> DocumentChangedOut:
        answer = cls.named(document, names)
        answer.changed = changed
        return answer


class NoteCreatedOut(Out):
    id: int
    author: str = Field(validation_alias="author_name")
    created_at: Timestamp


class FileNote(Out):
    id: int
    text: str
    author: str = Field(validation_alias="author_name")
    author_login: str
    on_behalf_of: str | None = Field(validation_alias="on_behalf_of_login")
    created_at: Timestamp
    document_id: uuid.UUID | None


class Address(Out):
    street: str | None
    postcode: str | None
    town: str | None


class FileMember(Out):
    last_name: str
    first_name: str
    birth_date: date | None


class DocumentGroup(Out):
    doc_type: str | None
    name: str
    documents: list[DocumentSummary]


class FileObjection(Out):
    id: int
    receipt_date: date
    status: str
    document_id: uuid.UUID


class FileAppeal(Out):
    id: int
    court: str
    file_reference: str
    served_on: date
    status: str
    document_id: uuid.UUID


class HouseholdFileOut(Out):
    bg_number: str
    active: bool
    address: Address
    caseworker: Person | None
    case_manager: Person | None
    members: list[FileMember]
    timeline: list[DocumentSummary]
    by_type: list[DocumentGroup]
    notes: list[FileNote]
    objections: list[FileObjection]
    appeals: list[FileAppeal]
    exports: list[FileExportBrief]

    @classmethod
    def of(
        cls, file: HouseholdFile, names: dict[str, str], marks: Mapping[uuid.UUID, object]
    ) -> HouseholdFileOut:
        household = file.household
        timeline = [DocumentSummary.named(d, names, duplicates=marks) for d in file.documents]
        groups: dict[str, DocumentGroup] = {}
        for summary in timeline:
            group = groups.setdefault(
                summary.doc_type or "sonstiges",
                DocumentGroup(doc_type=summary.doc_type, name=summary.doc_type_name, documents=[]),
            )
            group.documents.append(summary)
        return cls(
            bg_number=household.bg_number,
            active=household.active,
            address=Address.model_validate(household),
            caseworker=household.caseworker,
            case_manager=household.case_manager,
            members=[
                FileMember.model_validate(m)
                for m in sorted(household.members, key=lambda m: m.birth_date or date.min)
            ],
            timeline=timeline,
            by_type=sorted(groups.values(), key=lambda g: g.name),
            notes=[FileNote.model_validate(n) for n in file.notes],
            objections=[FileObjection.model_validate(o) for o in file.objections],
            appeals=[FileAppeal.model_validate(a) for a in file.appeals],
            exports=[FileExportBrief.model_validate(e) for e in file.exports],
        )


class DeputyOut(Out):
    id: int
    absent: Person
    deputy: Person
    starts_on: date
    ends_on: date
    active: bool = False
    revoked: Annotated[bool, BeforeValidator(lambda at: at is not None)] = Field(
        validation_alias="revoked_at"
    )
    created_by: str | None = Field(validation_alias="created_by_login")

    @model_validator(mode="after")
    def _today(self) -> DeputyOut:
        """Whether the deputy stands in today."""
        self.active = not self.revoked and self.starts_on <= local_today() <= self.ends_on
        return self


class DeputiesOut(Out):
    my_deputies: list[DeputyOut]
    i_stand_in_for: list[DeputyOut]


# --- objections and appeals --------------------------------------------------------------


class DeadlineStep(Out):
    label: str
    value: date
    note: str


class DeadlineCheck(Out):
    on_time: bool
    notification_date: date
    deadline: date
    period: str
    summary: str
    steps: list[DeadlineStep]


class Inaction(Out):
    level: str | None
    three_months_end: date


class HistoryEntry(Out):
    action: str
    by: str | None
    by_name: str | None
    at: Timestamp
    details: dict[str, Any] | None


class AppealRef(Out):
    id: int
    court: str
    file_reference: str


class CaseOut(Out):
    """What objections and appeals share; read from records.objections.CaseView."""

    id: int
    bg_number: str = Field(validation_alias=_in_file("bg_number"))
    household_name: str | None
    document_id: uuid.UUID
    document: DocumentBrief | None
    status: str
    status_name: str
    status_by: str | None
    status_at: Timestamp
    created_by: str | None
    created_at: Timestamp
    open: bool
    status_by_name: str | None
    created_by_name: str | None
    documents: list[DocumentBrief]


class ObjectionInListOut(CaseOut):
    decision_id: uuid.UUID | None
    decision: DocumentBrief | None
    form: str
    form_name: str
    receipt_date: date
    proven_notification: date | None
    legal_remedy_notice_ok: bool
    age_days: int
    inaction: Inaction | None
    deadline: DeadlineCheck | None
    deadline_missing: str | None


class ObjectionOut(ObjectionInListOut):
    history: list[HistoryEntry]
    appeals: list[AppealRef]


class ObjectionsOut(Out):
    objections: list[ObjectionInListOut]


class AppealInListOut(CaseOut):
    objection_id: int | None
    court: str
    file_reference: str
    parties: str
    served_on: date
    court_deadline: date | None
    statement_due: date = Field(validation_alias=AliasPath("due", "statement_due"))
    file_due: date = Field(validation_alias=AliasPath("due", "file_due"))
    deadline_summary: str = Field(validation_alias=AliasPath("due", "summary"))
    deadline_steps: list[DeadlineStep] = Field(validation_alias=AliasPath("due", "steps"))


class AppealOut(AppealInListOut):
    history: list[HistoryEntry]


class AppealsOut(Out):
    appeals: list[AppealInListOut]


class SuggestedDecision(DocumentBrief):
    suggested: Annotated[bool, BeforeValidator(_in_context("suggested"))] = Field(
        validation_alias="id"
    )


class FormOut(Out):
    code: str
    name: str


class ObjectionBrief(Out):
    id: int
    receipt_date: date
    status_name: Annotated[str, BeforeValidator(STATE_NAMES.__getitem__)] = Field(
        validation_alias="status"
    )


class CourtLetterFacts(Out):
    """What the court's letter says, each field with where it came from."""

    court: str
    file_reference: str
    file_reference_source: str | None
    parties: str
    served_on: date
    served_on_source: str
    court_deadline: date | None
    court_deadline_source: str | None


class LegalIntakeOut(Out):
    document: DocumentBrief
    bg_number: str
    household_name: str | None
    receipt_date: date
    receipt_source: str
    kind: str
    objection_id: int | None
    appeal_id: int | None
    decisions: list[SuggestedDecision]
    decision_suggestion: str | None
    forms: list[FormOut] = [FormOut(code=code, name=name) for code, name in FORM_NAMES.items()]
    objections: list[ObjectionBrief]
    appeal: CourtLetterFacts

    @classmethod
    def of(cls, intake: LegalIntake, names: dict[str, str]) -> LegalIntakeOut:
        suggested = {intake.suggested.id} if intake.suggested else set()
        return cls.model_validate(intake, context={"names": names, "suggested": suggested})


# --- exports (Aktenauszug) ---------------------------------------------------------------


class ExportDocumentChoice(DocumentBrief):
    selected: Annotated[bool, BeforeValidator(_in_context("chosen"))] = Field(validation_alias="id")
    has_pdf: Annotated[bool, BeforeValidator(lambda key: key is not None)] = Field(
        validation_alias="pdf_key"
    )


class LegalBasisOut(Out):
    code: str
    name: str


class ExportObjectionRef(Out):
    id: int
    receipt_date: date
    status: str


class ExportOptionsOut(Out):
    bg_number: str = Field(validation_alias=_in_file("bg_number"))
    household_name: str | None
    scope: str
    objection_id: int | None
    appeal_id: int | None
    recipient: str | None
    legal_basis: str | None
    documents: list[ExportDocumentChoice]
    legal_bases: list[LegalBasisOut] = [
        LegalBasisOut.model_validate(basis) for basis in LEGAL_BASES.values()
    ]
    withholding_reasons: list[str] = list(WITHHOLDING_REASONS)
    objections: list[ExportObjectionRef]
    appeals: list[AppealRef]

    @classmethod
    def of(cls, options: ExportOptions, names: dict[str, str]) -> ExportOptionsOut:
        return cls.model_validate(options, context={"names": names, "chosen": options.chosen})


def _basis_name(code: str) -> str:
    basis = LEGAL_BASES.get(code)
    return basis.name if basis else code


def _withheld(documents: list[dict[str, Any]]) -> int:
    return sum(1 for entry in documents if entry.get("withheld_reason"))


class ExportPartOut(Out):
    """One part (zip) of a court folder: its number, name, hash, size and files."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    number: int
    name: str
    sha256: str
    size_bytes: int
    files: Annotated[int, BeforeValidator(len)]
    url: str = ""


class ExportBrief(Out):
    """An export as the case file lists it (read from a FileExport)."""

    id: int
    created_at: Timestamp
    created_by: str = Field(validation_alias="created_by_login")
    created_by_name: str | None
    recipient: str
    legal_basis: str
    purpose: str | None
    scope: str
    objection_id: int | None
    appeal_id: int | None
    withheld: Annotated[int, BeforeValidator(_withheld)] = Field(validation_alias="documents")
    pages: int | None = Field(validation_alias="page_count")
    sha256: str | None
    form: str = Field("pdf", description="»pdf« (ein PDF) oder »xjustiz« (Ordner für das Gericht)")
    pdf_url: Annotated[str | None, BeforeValidator(lambda key: f"/api/exports/{key}/pdf")] = Field(
        validation_alias="id", description="das PDF; bei einem Ordner für das Gericht null"
    )
    parts: Annotated[list[ExportPartOut], BeforeValidator(lambda parts: parts or [])] = Field(
        default_factory=list, description="die Teile (ZIP) eines Ordners für das Gericht"
    )

    @model_validator(mode="after")
    def _links(self) -> Self:
        if self.form != "pdf":
            self.pdf_url = None
        for part in self.parts:
            part.url = f"/api/exports/{self.id}/parts/{part.number}"
        return self


class FileExportBrief(ExportBrief):
    documents: Annotated[int, BeforeValidator(len)]


class ExportOut(ExportBrief):
    bg_number: str = Field(validation_alias=_in_file("bg_number"))
    scope_name: Annotated[str, BeforeValidator(SCOPE_NAMES.__getitem__)] = Field(
        validation_alias="scope"
    )
    legal_basis_name: Annotated[str, BeforeValidator(_basis_name)] = Field(
        validation_alias="legal_basis"
    )
    size_bytes: int | None
    documents: list[dict[str, Any]] = Field(
        description="die Dokumente des Auszugs in seiner Reihenfolge, mit Seiten und ggf. "
        "dem Grund der Zurückhaltung"
    )


class ExportsOut(Out):
    exports: list[ExportOut]


# --- search ------------------------------------------------------------------------------


class SearchHitOut(Out):
    document_id: str
    bg_number: str | None
    doc_type: str | None
    source_name: str | None
    page: int | None
    snippet: str
    score: Annotated[float, BeforeValidator(lambda score: round(score, 4))]
    receipt_date: date | None
    direction: str | None
    status: str | None
    viewer_url: str = Field(
        "",
        description="öffnet das Dokument an der Trefferseite, Begriffe markiert; "
        "bei einem Vermerk zur Akte (status »vermerk«) die E-Akte",
    )

    @classmethod
    def of(cls, hit: SearchHit, q: str) -> SearchHitOut:
        answer = cls.model_validate(hit)
        viewer = {"doc": hit.document_id, "page": hit.page, "q": q}
        # A note on the whole file opens the E-Akte.
        url = f"/akte/{hit.bg_number}" if hit.file_note else f"/viewer?{urlencode(viewer)}"
        answer.viewer_url = url
        return answer


class SearchFacets(Out):
    doc_type: dict[str, int]
    year: dict[str, int]
    household: dict[str, int]


class SearchOut(Out):
    total: int
    hits: list[SearchHitOut]
    facets: SearchFacets


# --- operations ---------------------------------------------------------------------------


class NodeStateOut(Out):
    """One node of a backend; `detail` in German (role, state)."""

    name: str
    ok: bool
    detail: str = ""


class BackendStateOut(Out):
    backend: str
    ok: bool
    detail: str = ""
    # issue 20: every configured node (OpenSearch nodes, MinIO endpoints, PostgreSQL hosts).
    nodes: list[NodeStateOut] = []
    # issue 20, outbox20: on the search index, the entries still to be written (the index
    # outbox) and the age of the oldest in seconds; administrators only.
    pending_writes: int | None = None
    oldest_pending_seconds: float | None = None


class ToolStateOut(Out):
    """The programs OCR needs; `problems` in German for the administration."""

    ok: bool
    tesseract: str | None = None
    languages: list[str] = []
    missing_languages: list[str] = []
    poppler: str | None = None
    missing_programs: list[str] = []
    problems: list[str] = []


class HealthOut(Out):
    """Everyone gets `status`; the rest only a logged-in administrator."""

    status: Literal["ok", "degraded"]
    backends: dict[str, BackendStateOut] | None = None
    tools: ToolStateOut | None = None
    jobs: dict[str, int] | None = None


# --- page editing (issue 15) -------------------------------------------------------------


class EditorPageOut(Out):
    """A page in the page editor; its pictures' URLs name their rendition, so that a turned
    page is fetched anew."""

    number: int
    rotation: int
    width: int | None
    height: int | None
    words: int
    thumb_url: str | None
    image_url: str | None

    @classmethod
    def of(cls, document: Document, page: Page) -> EditorPageOut:
        at = f"/api/documents/{document.id}/pages/{page.number}"
        return cls(
            number=page.number,
            rotation=page.rotation,
            width=page.width,
            height=page.height,
            words=len(page.text.split()),
            thumb_url=_versioned(f"{at}/thumb", page.thumb_key),
            image_url=_versioned(f"{at}/image", page.image_key),
        )


class MoveTargetOut(Out):
    """A document of the same household or batch that pages may be moved to."""

    id: uuid.UUID
    source_name: str
    doc_type_name: OptionalTypeName
    page_count: int | None
    received_at: Timestamp
    where: str


class PageEditorOut(Out):
    id: uuid.UUID
    source_name: str
    doc_type_name: OptionalTypeName
    where: str
    derived_from_id: uuid.UUID | None
    pages: list[EditorPageOut]
    targets: list[MoveTargetOut]


class EditedDocumentOut(Out):
    document_id: uuid.UUID
    role: Literal["source", "target", "new", "discarded"]
    page_count: int
    where: str
    editable: bool


class PageEditOut(Out):
    kind: Literal["split", "move", "remove", "rotate"]
    message: str
    documents: list[EditedDocumentOut]


class LogoutOut(Ok):
    # After a single sign-on session: the provider's sign-out address to go to next.
    redirect: str | None = None
