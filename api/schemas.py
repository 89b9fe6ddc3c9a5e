"""What the API answers: one model per response, so /openapi.json describes every answer.

The field names and shapes are the ones the browser pages (web/static/*.js) read. Times are ISO
8601 strings as the services give them; dates are plain dates (YYYY-MM-DD). Every model forbids
fields it does not name: a service that starts answering more than its model says fails the
tests instead of losing the field silently.

Where the API names its own URLs (viewer links, page images, PDFs), the model builds them from
the domain object here; the services return domain objects or plain data.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from core.dates import local_today
from records.desk import BatchList, BatchView
from records.files import HouseholdFile
from records.models import Deputy, Document, InboxItem, Note, Page, User
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


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


# ISO 8601 with time zone, as stored (a datetime is written as its isoformat()).
Timestamp = Annotated[str, BeforeValidator(_iso)]


# --- shared pieces -----------------------------------------------------------------------


class Person(Out):
    login: str
    name: str


class UserOut(Out):
    login: str
    name: str
    role: str
    team: str | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            login=user.login,
            name=user.name,
            role=user.role,
            team=user.team.name if user.team else None,
        )


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


class DocumentOut(Out):
    id: uuid.UUID
    source_name: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    pages: int | None
    status: str
    status_message: str | None
    received_at: Timestamp
    bg_number: str | None
    doc_type: str | None
    batch_id: uuid.UUID | None
    qa_status: str

    @classmethod
    def of(cls, document: Document) -> DocumentOut:
        return cls(
            id=document.id,
            source_name=document.source_name,
            content_type=document.content_type,
            size_bytes=document.size_bytes,
            sha256=document.original_sha256,
            pages=document.page_count,
            status=document.status,
            status_message=document.status_message,
            received_at=document.received_at.isoformat(),
            bg_number=document.household.bg_number if document.household else None,
            doc_type=document.doc_type,
            batch_id=document.batch_id,
            qa_status=document.qa_status,
        )


class DroppedPageOut(Out):
    page: int = Field(validation_alias="source_page")
    reason: str


class BatchDocumentOut(Out):
    id: uuid.UUID
    pages: int | None
    first_page: int | None
    last_page: int | None
    qa_status: str
    # What recognition decided, only while the desk still checks it: afterwards household,
    # type and recipient are the caseworkers' business.
    doc_type: str | None
    bg_number: str | None
    inbox: InboxRef | None


class BatchJobOut(Out):
    id: int
    state: str
    attempts: int
    error: str | None = Field(validation_alias="last_error")


class BatchOut(Out):
    id: uuid.UUID
    source_name: str | None
    channel: str
    station: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    status: str
    status_message: str | None
    received_at: Timestamp
    pages_total: int
    pages_done: int
    pages_dropped: list[DroppedPageOut]
    documents: list[BatchDocumentOut]
    job: BatchJobOut | None

    @classmethod
    def of(cls, view: BatchView) -> BatchOut:
        batch, job = view.batch, view.job
        return cls(
            id=batch.id,
            source_name=batch.source_name,
            channel=batch.channel,
            station=batch.station,
            content_type=batch.content_type,
            size_bytes=batch.size_bytes,
            sha256=batch.original_sha256,
            status=batch.status,
            status_message=batch.status_message,
            received_at=batch.received_at.isoformat(),
            pages_total=batch.pages_total,
            pages_done=batch.pages_done,
            pages_dropped=[DroppedPageOut.model_validate(p) for p in batch.dropped_pages],
            documents=[_batch_document(d, view.inboxes.get(d.id)) for d in view.documents],
            job=None if job is None else BatchJobOut.model_validate(job),
        )


def _batch_document(document: Document, item: InboxItem | None) -> BatchDocumentOut:
    pending = document.qa_status == "pending"
    return BatchDocumentOut(
        id=document.id,
        pages=document.page_count,
        first_page=document.first_page,
        last_page=document.last_page,
        qa_status=document.qa_status,
        doc_type=document.doc_type if pending else None,
        bg_number=document.household.bg_number if pending and document.household else None,
        inbox=inbox_ref(item) if pending and item is not None else None,
    )


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
    number: int
    width: int | None
    height: int | None
    image_url: str | None
    thumb_url: str | None
    words_url: str | None

    @classmethod
    def of(cls, document: Document, page: Page) -> ViewerPageOut:
        base = f"/api/documents/{document.id}/pages/{page.number}"
        return cls(
            number=page.number,
            width=page.width,
            height=page.height,
            image_url=f"{base}/image" if page.image_key else None,
            thumb_url=f"{base}/thumb" if page.thumb_key else None,
            words_url=f"{base}/words" if page.words_key else None,
        )


class DocumentViewOut(Out):
    id: uuid.UUID
    source_name: str | None
    doc_type: str | None
    doc_type_name: str | None
    bg_number: str | None
    received_at: Timestamp
    receipt_date: date | None = Field(
        description="Eingangsdatum: der gelesene Eingangsstempel, sonst der Tag des Scans"
    )
    letter_date: date | None
    status: str
    qa_status: str
    page_count: int
    pdf_url: str | None
    pages: list[ViewerPageOut]

    @classmethod
    def of(cls, document: Document, names: dict[str, str]) -> DocumentViewOut:
        pages = sorted(document.pages, key=lambda p: p.number)
        return cls(
            id=document.id,
            source_name=document.source_name,
            doc_type=document.doc_type,
            doc_type_name=names.get(document.doc_type or "", document.doc_type),
            bg_number=document.household.bg_number if document.household else None,
            received_at=document.received_at.isoformat(),
            receipt_date=document.receipt_date,
            letter_date=document.letter_date,
            status=document.status,
            qa_status=document.qa_status,
            page_count=len(pages),
            pdf_url=f"/api/documents/{document.id}/pdf" if document.pdf_key else None,
            pages=[ViewerPageOut.of(document, page) for page in pages],
        )


class WordBox(Out):
    """One recognised word, in pixels of the upright page image."""

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

    @classmethod
    def of(cls, item: InboxItem, names: dict[str, str]) -> ClearingItemOut:
        document = item.document
        recognition = document.recognition or {}
        return cls(
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
    summary: str


# --- workplace ---------------------------------------------------------------------------


class InboxDocumentOut(Out):
    id: uuid.UUID
    source_name: str | None
    pages: int | None
    doc_type: str | None
    doc_type_name: str | None
    receipt_date: date | None
    letter_date: date | None
    sender: str | None
    bg_number: str | None
    household_name: str | None
    qa_status: str  # "rejected": the desk sent it back for a new scan (the row says so)


class InboxItemOut(Out):
    id: int
    state: str
    kind: str
    user: str | None
    user_name: str | None
    team: str | None
    reason: str
    comment: str | None
    forwarded_by: str | None
    created_at: Timestamp
    document: InboxDocumentOut

    @classmethod
    def of(cls, item: InboxItem, names: dict[str, str]) -> InboxItemOut:
        document = item.document
        household = document.household
        main_member = None
        if household is not None and household.members:
            first = sorted(household.members, key=lambda m: (m.last_name, m.first_name))[0]
            main_member = f"{first.last_name}, {first.first_name}"
        return cls(
            id=item.id,
            state=item.state,
            kind=item.kind,
            user=item.user.login if item.user else None,
            user_name=item.user.name if item.user else None,
            team=item.team.name if item.team else None,
            reason=item.reason,
            comment=item.comment,
            forwarded_by=item.forwarded_by_login,
            created_at=item.created_at.isoformat(),
            document=InboxDocumentOut(
                id=document.id,
                source_name=document.source_name,
                pages=document.page_count,
                doc_type=document.doc_type,
                doc_type_name=names.get(document.doc_type or "", document.doc_type),
                receipt_date=document.receipt_date,
                letter_date=document.letter_date,
                sender=document.sender,
                bg_number=household.bg_number if household else None,
                household_name=main_member,
                qa_status=document.qa_status,
            ),
        )


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


class StaffMember(Out):
    login: str
    name: str
    team: str | None


class StaffOut(Out):
    users: list[StaffMember]
    teams: list[str]


class DocumentSummary(Out):
    id: uuid.UUID
    source_name: str | None
    doc_type: str | None
    doc_type_name: str
    pages: int | None
    direction: str
    receipt_date: date | None
    letter_date: date | None
    dispatch_date: date | None
    sender: str | None
    court_reference: str | None
    status: str

    @classmethod
    def fields_of(cls, document: Document, names: dict[str, str]) -> dict[str, Any]:
        return {
            "id": document.id,
            "source_name": document.source_name,
            "doc_type": document.doc_type,
            "doc_type_name": names.get(document.doc_type or "", document.doc_type or "–"),
            "pages": document.page_count,
            "direction": document.direction,
            "receipt_date": document.receipt_date,
            "letter_date": document.letter_date,
            "dispatch_date": document.dispatch_date,
            "sender": document.sender,
            "court_reference": document.court_reference,
            "status": document.status,
        }

    @classmethod
    def of(cls, document: Document, names: dict[str, str]) -> DocumentSummary:
        return cls(**cls.fields_of(document, names))


class NoteBrief(Out):
    text: str
    author: str = Field(validation_alias="author_name")
    created_at: Timestamp


class DocumentDetailsOut(DocumentSummary):
    bg_number: str | None
    notes: list[NoteBrief]

    @classmethod
    def of_details(
        cls, document: Document, notes: list[Note], names: dict[str, str]
    ) -> DocumentDetailsOut:
        return cls(
            **DocumentSummary.fields_of(document, names),
            bg_number=document.household.bg_number if document.household else None,
            notes=[NoteBrief.model_validate(n) for n in notes],
        )


class DocumentChangedOut(DocumentSummary):
    changed: dict[str, list[Any]] = Field(description="je geändertem Feld: [vorher, nachher]")

    @classmethod
    def of_change(
        cls, document: Document, changed: dict[str, Any], names: dict[str, str]
    ) -> DocumentChangedOut:
        return cls(**DocumentSummary.fields_of(document, names), changed=changed)


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


class FileExportBrief(Out):
    id: int
    created_at: Timestamp
    created_by: str
    created_by_name: str | None
    recipient: str
    legal_basis: str
    purpose: str | None
    scope: str
    objection_id: int | None
    appeal_id: int | None
    documents: int
    withheld: int
    pages: int | None
    sha256: str | None
    pdf_url: str


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
    def of(cls, file: HouseholdFile, names: dict[str, str]) -> HouseholdFileOut:
        household = file.household
        timeline = [DocumentSummary.of(d, names) for d in file.documents]
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
            address=Address(
                street=household.street, postcode=household.postcode, town=household.town
            ),
            caseworker=household.caseworker,
            case_manager=household.case_manager,
            members=[
                FileMember(last_name=m.last_name, first_name=m.first_name, birth_date=m.birth_date)
                for m in sorted(household.members, key=lambda m: m.birth_date or date.min)
            ],
            timeline=timeline,
            by_type=sorted(groups.values(), key=lambda g: g.name),
            notes=[FileNote.model_validate(n) for n in file.notes],
            objections=[FileObjection.model_validate(o) for o in file.objections],
            appeals=[FileAppeal.model_validate(a) for a in file.appeals],
            exports=[
                FileExportBrief(
                    id=e.id,
                    created_at=e.created_at.isoformat(),
                    created_by=e.created_by_login,
                    created_by_name=e.created_by_name,
                    recipient=e.recipient,
                    legal_basis=e.legal_basis,
                    purpose=e.purpose,
                    scope=e.scope,
                    objection_id=e.objection_id,
                    appeal_id=e.appeal_id,
                    documents=len(e.documents),
                    withheld=sum(1 for entry in e.documents if entry.get("withheld_reason")),
                    pages=e.page_count,
                    sha256=e.sha256,
                    pdf_url=f"/api/exports/{e.id}/pdf",
                )
                for e in file.exports
            ],
        )


class DeputyOut(Out):
    id: int
    absent: Person
    deputy: Person
    starts_on: date
    ends_on: date
    active: bool
    revoked: bool
    created_by: str | None

    @classmethod
    def of(cls, deputy: Deputy) -> DeputyOut:
        today = local_today()
        return cls(
            id=deputy.id,
            absent=deputy.absent,
            deputy=deputy.deputy,
            starts_on=deputy.starts_on,
            ends_on=deputy.ends_on,
            active=deputy.revoked_at is None and deputy.starts_on <= today <= deputy.ends_on,
            revoked=deputy.revoked_at is not None,
            created_by=deputy.created_by_login,
        )


class DeputiesOut(Out):
    my_deputies: list[DeputyOut]
    i_stand_in_for: list[DeputyOut]


# --- objections and appeals --------------------------------------------------------------


class DocumentBrief(Out):
    id: uuid.UUID
    source_name: str | None
    doc_type: str | None
    doc_type_name: str
    direction: str
    pages: int | None
    receipt_date: date | None
    dispatch_date: date | None
    letter_date: date | None
    sender: str | None


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


class ObjectionInListOut(Out):
    id: int
    bg_number: str
    household_name: str | None
    document_id: uuid.UUID
    document: DocumentBrief | None
    decision_id: uuid.UUID | None
    decision: DocumentBrief | None
    form: str
    form_name: str
    receipt_date: date
    proven_notification: date | None
    legal_remedy_notice_ok: bool
    status: str
    status_name: str
    status_by: str | None
    status_at: Timestamp
    created_by: str | None
    created_at: Timestamp
    open: bool
    age_days: int
    inaction: Inaction | None
    deadline: DeadlineCheck | None
    deadline_missing: str | None
    status_by_name: str | None
    created_by_name: str | None
    documents: list[DocumentBrief]


class ObjectionOut(ObjectionInListOut):
    history: list[HistoryEntry]
    appeals: list[AppealRef]


class ObjectionsOut(Out):
    objections: list[ObjectionInListOut]


class AppealInListOut(Out):
    id: int
    bg_number: str
    household_name: str | None
    document_id: uuid.UUID
    document: DocumentBrief | None
    objection_id: int | None
    court: str
    file_reference: str
    parties: str
    served_on: date
    court_deadline: date | None
    statement_due: date
    file_due: date
    deadline_summary: str
    deadline_steps: list[DeadlineStep]
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


class AppealOut(AppealInListOut):
    history: list[HistoryEntry]


class AppealsOut(Out):
    appeals: list[AppealInListOut]


class SuggestedDecision(DocumentBrief):
    suggested: bool


class FormOut(Out):
    code: str
    name: str


class ObjectionBrief(Out):
    id: int
    receipt_date: date
    status_name: str


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
    forms: list[FormOut]
    objections: list[ObjectionBrief]
    appeal: CourtLetterFacts


# --- exports (Aktenauszug) ---------------------------------------------------------------


class ExportDocumentChoice(DocumentBrief):
    selected: bool
    has_pdf: bool


class LegalBasisOut(Out):
    code: str
    name: str


class ExportObjectionRef(Out):
    id: int
    receipt_date: date
    status: str


class ExportOptionsOut(Out):
    bg_number: str
    household_name: str | None
    scope: str
    objection_id: int | None
    appeal_id: int | None
    recipient: str | None
    legal_basis: str | None
    documents: list[ExportDocumentChoice]
    legal_bases: list[LegalBasisOut]
    withholding_reasons: list[str]
    objections: list[ExportObjectionRef]
    appeals: list[AppealRef]


class ExportOut(Out):
    id: int
    bg_number: str
    scope: str
    scope_name: str
    objection_id: int | None
    appeal_id: int | None
    recipient: str
    legal_basis: str
    legal_basis_name: str
    purpose: str | None
    created_by: str
    created_by_name: str | None
    created_at: Timestamp
    pages: int | None
    sha256: str | None
    size_bytes: int | None
    documents: list[dict[str, Any]] = Field(
        description="die Dokumente des Auszugs in seiner Reihenfolge, mit Seiten und ggf. "
        "dem Grund der Zurückhaltung"
    )
    withheld: int
    pdf_url: str


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
    score: float
    receipt_date: date | None
    direction: str | None
    status: str | None
    viewer_url: str = Field(
        description="öffnet das Dokument an der Trefferseite, Begriffe markiert"
    )

    @classmethod
    def of(cls, hit: SearchHit, q: str) -> SearchHitOut:
        viewer = {"doc": hit.document_id, "page": hit.page, "q": q}
        return cls(
            document_id=hit.document_id,
            bg_number=hit.bg_number,
            doc_type=hit.doc_type,
            source_name=hit.source_name,
            page=hit.page,
            snippet=hit.snippet,
            score=round(hit.score, 4),
            receipt_date=hit.receipt_date,
            direction=hit.direction,
            status=hit.status,
            viewer_url=f"/viewer?{urlencode(viewer)}",
        )


class SearchFacets(Out):
    doc_type: dict[str, int]
    year: dict[str, int]
    household: dict[str, int]


class SearchOut(Out):
    total: int
    hits: list[SearchHitOut]
    facets: SearchFacets


# --- operations ---------------------------------------------------------------------------


class BackendStateOut(Out):
    backend: str
    ok: bool
    detail: str = ""


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
