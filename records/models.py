"""The domain's tables. Every change to them comes with an Alembic migration."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.db import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = (
    "leistung",
    "fallmanagement",
    "widerspruch",
    "scanstelle",
    "admin",
    "datenschutz",
    "schriftgut",
    "pruefung",
)
# Where an account comes from: a local password, the directory (LDAP) or single sign-on (OIDC).
USER_SOURCES = ("local", "ldap", "oidc")
DOCUMENT_STATES = ("received", "processing", "processed", "failed")
JOB_STATES = ("queued", "running", "done", "failed")
INBOX_KINDS = ("user", "team", "clearing")
INBOX_STATES = ("new", "read", "done")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Office(Base):
    """A Dienststelle or site of the job centre; teams belong to one."""

    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))

    office: Mapped[Office | None] = relationship(lazy="joined")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint(_in("source", USER_SOURCES), name="source"),
        UniqueConstraint("source", "external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Demo accounts have printed passwords; they can log in only while the product is in demo mode.
    is_demo: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where the account comes from (USER_SOURCES) and its id there: the directory entry's DN
    # or the provider's subject. Role and team of a directory or SSO account follow its groups.
    source: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    external_id: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(200))
    # A local account kept for emergencies (the directory or provider is down); every use of
    # it is audited. Outside demo mode local passwords work only for these.
    break_glass: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the account was last seen in the directory (sign-in or sync); deactivated_at: when
    # it was deactivated and why (left the directory, by an administrator).
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_reason: Mapped[str | None] = mapped_column(String(300))
    # Who deactivated it: an administrator's login, or "<source>-sync" when it left the
    # directory. An account an administrator deactivated stays so at sign-in.
    deactivated_by_login: Mapped[str | None] = mapped_column(String(100))

    team: Mapped[Team | None] = relationship(lazy="joined")


class Household(Base):
    """A Bedarfsgemeinschaft: the benefit unit whose file holds all its documents."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bg_number: Mapped[str] = mapped_column(String(20), unique=True)
    street: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    case_manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Households that vanish from the Fachverfahren export are kept, marked inactive.
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Lifecycle (issue 17). The end of benefits from the Fachverfahren's export (None while
    # they run); the file closed (zdA) by hand, with the business event's date and a reason;
    # the file's id in xdomea messages (stable while the file exists); set when its
    # destruction began: from then on nobody opens the file (records.access).
    benefits_end: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_reason: Mapped[str | None] = mapped_column(String(300))
    closed_by_login: Mapped[str | None] = mapped_column(String(100))
    file_uuid: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    destruction_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Handed over to another authority (issue 18, xdomea 0401): from then on the file is
    # read-only here and still subject to retention.
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_over_to: Mapped[str | None] = mapped_column(String(300))

    members: Mapped[list[Member]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="Member.id"
    )
    caseworker: Mapped[User | None] = relationship(foreign_keys=[caseworker_id])
    case_manager: Mapped[User | None] = relationship(foreign_keys=[case_manager_id])


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("household_id", "last_name", "first_name", "birth_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    # From the Fachverfahren's export when it carries them (issue 13): the account the benefit
    # is paid to and the member's e-mail address, both strong evidence in recognition.
    iban: Mapped[str | None] = mapped_column(String(34))
    email: Mapped[str | None] = mapped_column(String(254))

    household: Mapped[Household] = relationship(back_populates="members")


BATCH_STATES = ("received", "processing", "processed", "failed")
QA_STATES = ("pending", "approved", "rejected")
DROP_REASONS = ("separator", "blank", "unreadable")


class ScanBatch(Base):
    """One file as the scanning desk handed it in: a single letter or a stack with separator sheets.

    The original is kept byte for byte; the documents are split from it by the workers.
    """

    __tablename__ = "batches"
    __table_args__ = (CheckConstraint(_in("status", BATCH_STATES), name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    source_name: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(20), default="upload")
    station: Mapped[str | None] = mapped_column(String(100))
    content_type: Mapped[str] = mapped_column(String(100))
    # Filed by a caseworker into a known file (an e-mail, an outgoing decision): no recognition.
    preset_household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    preset_doc_type: Mapped[str | None] = mapped_column(String(60))
    preset_direction: Mapped[str | None] = mapped_column(String(10))
    preset_dispatch_date: Mapped[date | None] = mapped_column(Date)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    original_key: Mapped[str] = mapped_column(String(300))
    original_sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="received")
    status_message: Mapped[str | None] = mapped_column(Text)
    pages_total: Mapped[int] = mapped_column(Integer, default=0)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    pages_dropped: Mapped[int] = mapped_column(Integer, default=0)
    documents_count: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    uploaded_by: Mapped[User | None] = relationship()
    # Read only where loaded with the batch (records.desk) or by query (records.scanrecord).
    dropped_pages: Mapped[list[DroppedPage]] = relationship(
        cascade="all, delete-orphan", order_by="DroppedPage.source_page", lazy="raise"
    )


class DroppedPage(Base):
    """A page of a batch that belongs to no document: separator sheets and empty back sides."""

    __tablename__ = "dropped_pages"
    __table_args__ = (
        UniqueConstraint("batch_id", "source_page"),
        CheckConstraint(_in("reason", DROP_REASONS), name="reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    source_page: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(_in("status", DOCUMENT_STATES), name="status"),
        CheckConstraint(_in("qa_status", QA_STATES), name="qa_status"),
        Index("ix_documents_household_received", "household_id", "received_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("batches.id", ondelete="CASCADE"), index=True
    )
    # Position in the batch: the n-th document, from source page first_page to last_page.
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    first_page: Mapped[int | None] = mapped_column(Integer)
    last_page: Mapped[int | None] = mapped_column(Integer)
    source_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    original_key: Mapped[str] = mapped_column(String(300))
    original_sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="received")
    status_message: Mapped[str | None] = mapped_column(Text)
    page_count: Mapped[int | None] = mapped_column(Integer)
    doc_type: Mapped[str | None] = mapped_column(String(60))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    pdf_key: Mapped[str | None] = mapped_column(String(300))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    qa_status: Mapped[str] = mapped_column(String(20), default="pending")
    qa_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    qa_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    qa_note: Mapped[str | None] = mapped_column(Text)
    # Held back from the case file and every inbox until the desk's quality check approves it
    # (setting EAKTE_QA_REQUIRED, decided when the letter is filed).
    held_for_qa: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The scan record (Transfervermerk), frozen as JSON in the blob store at QA.
    scan_record_key: Mapped[str | None] = mapped_column(String(300))
    scan_record_sha256: Mapped[str | None] = mapped_column(String(64))
    # What recognition read from the letter; the evidence and confidences are in `recognition`.
    letter_date: Mapped[date | None] = mapped_column(Date)
    stamp_date: Mapped[date | None] = mapped_column(Date)  # the received stamp on the paper
    court_reference: Mapped[str | None] = mapped_column(String(60), index=True)
    recognition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "auto" when recognition filed it, "manual" when a person at the desk did.
    routed_by: Mapped[str | None] = mapped_column(String(20))
    # The date of receipt that counts (received stamp, else the day of the scan); corrections
    # need a reason and are audited.
    receipt_date: Mapped[date | None] = mapped_column(Date, index=True)
    sender: Mapped[str | None] = mapped_column(String(200))
    direction: Mapped[str] = mapped_column(String(10), default="in", server_default="in")
    dispatch_date: Mapped[date | None] = mapped_column(Date)  # outgoing decisions (Bescheide)
    # Duplicates (issue 15): the earlier document this one repeats, and how that was found
    # ("datei": same content hash, "text": near-identical OCR text). `text_fingerprint` is a
    # digest of the normalised OCR text used to find candidates.
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id"), index=True
    )
    duplicate_kind: Mapped[str | None] = mapped_column(String(10))
    text_fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    # Page editing (issue 15): the document this one was split from or whose pages it took.
    derived_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    # Discarded (a duplicate thrown out in clearing, or pages removed by page editing): kept
    # with its original, but in no file, inbox or search result.
    discarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discarded_by_login: Mapped[str | None] = mapped_column(String(100))
    discard_reason: Mapped[str | None] = mapped_column(Text)
    # Restricted (Art. 18 DSGVO, issue 17): kept, but out of the file, every inbox and search
    # until the restriction is lifted or the document erased; who asked for it and why.
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restricted_by_login: Mapped[str | None] = mapped_column(String(100))
    restriction_reason: Mapped[str | None] = mapped_column(Text)
    # Taken over from another authority's file (issue 18, xdomea 0401).
    takeover_id: Mapped[int | None] = mapped_column(
        ForeignKey("takeovers.id", ondelete="SET NULL"), index=True
    )

    batch: Mapped[ScanBatch | None] = relationship()
    household: Mapped[Household | None] = relationship()
    pages: Mapped[list[Page]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="Page.number"
    )


# What a document has of the scan it was read from, by the same names as on its batch: taken
# over from the batch (ingest.pipeline) and by a part split off it (records.page_edit).
SCAN_FIELDS = (
    "content_type",
    "size_bytes",
    "original_key",
    "original_sha256",
    "received_at",
    "uploaded_by_id",
)


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    source_page: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[float | None] = mapped_column(Float)
    dpi: Mapped[int | None] = mapped_column(Integer)
    scan_dpi: Mapped[int | None] = mapped_column(Integer)
    colour: Mapped[str | None] = mapped_column(String(20))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    skew: Mapped[float] = mapped_column(Float, default=0.0)
    # Renditions in the blob store: page image for the viewer, thumbnail, word boxes (JSON).
    image_key: Mapped[str | None] = mapped_column(String(300))
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    thumb_key: Mapped[str | None] = mapped_column(String(300))
    thumb_sha256: Mapped[str | None] = mapped_column(String(64))
    words_key: Mapped[str | None] = mapped_column(String(300))
    words_sha256: Mapped[str | None] = mapped_column(String(64))

    document: Mapped[Document] = relationship(back_populates="pages")


class InboxItem(Base):
    """A work item in a Postkorb: a user's, a team's, or the clearing inbox of the scanning desk."""

    __tablename__ = "inbox_items"
    __table_args__ = (
        CheckConstraint(_in("kind", INBOX_KINDS), name="kind"),
        CheckConstraint(_in("state", INBOX_STATES), name="state"),
        CheckConstraint(
            "(kind = 'user' AND user_id IS NOT NULL AND team_id IS NULL)"
            " OR (kind = 'team' AND team_id IS NOT NULL AND user_id IS NULL)"
            " OR (kind = 'clearing' AND user_id IS NULL AND team_id IS NULL)",
            name="target",
        ),
        Index("ix_inbox_items_target", "kind", "user_id", "team_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    state: Mapped[str] = mapped_column(String(20), default="new")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)  # from whoever forwarded it
    forwarded_by_login: Mapped[str | None] = mapped_column(String(100))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_login: Mapped[str | None] = mapped_column(String(100))

    document: Mapped[Document] = relationship()
    user: Mapped[User | None] = relationship()
    team: Mapped[Team | None] = relationship()


class Deputy(Base):
    """Vertretung: `deputy` works `absent`'s inbox and files from starts_on to ends_on."""

    __tablename__ = "deputies"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="period"),
        CheckConstraint("absent_id <> deputy_id", name="not_self"),
        Index("ix_deputies_deputy_period", "deputy_id", "starts_on", "ends_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    absent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_by_login: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Read only where loaded with the deputy (records.files); a lazy read raises.
    absent: Mapped[User] = relationship(foreign_keys=[absent_id], lazy="raise")
    deputy: Mapped[User] = relationship(foreign_keys=[deputy_id], lazy="raise")


class Note(Base):
    """Vermerk on a household's file or on one document. Notes are never edited, only added."""

    __tablename__ = "notes"
    __table_args__ = (
        CheckConstraint("household_id IS NOT NULL OR document_id IS NOT NULL", name="target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    author_login: Mapped[str] = mapped_column(String(100))
    author_name: Mapped[str] = mapped_column(String(200))
    on_behalf_of_login: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


OBJECTION_FORMS = ("schriftlich", "zur_niederschrift", "elektronisch")
OBJECTION_STATES = (
    "eingegangen",
    "in_bearbeitung",
    "abhilfe",
    "teilabhilfe",
    "zurueckgewiesen",
    "zurueckgenommen",
)
APPEAL_STATES = ("anhaengig", "erledigt")


class Objection(Base):
    """A Widerspruch: the letter, the contested decision, the deadline check and its status."""

    __tablename__ = "objections"
    __table_args__ = (
        CheckConstraint(_in("form", OBJECTION_FORMS), name="form"),
        CheckConstraint(_in("status", OBJECTION_STATES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), unique=True)
    decision_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    form: Mapped[str] = mapped_column(String(30), default="schriftlich")
    # From intake (the received stamp or the day of the scan); corrected only with a reason.
    receipt_date: Mapped[date] = mapped_column(Date)
    proven_notification: Mapped[date | None] = mapped_column(Date)
    legal_remedy_notice_ok: Mapped[bool] = mapped_column(default=True)
    land: Mapped[str] = mapped_column(String(5), default="SH")
    status: Mapped[str] = mapped_column(String(30), default="eingegangen")
    status_by_login: Mapped[str] = mapped_column(String(100))
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_login: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Loaded with the objection (records.access.CASE_LOADS); a lazy read raises.
    household: Mapped[Household] = relationship(lazy="raise")
    document: Mapped[Document] = relationship(foreign_keys=[document_id], lazy="raise")
    decision: Mapped[Document | None] = relationship(foreign_keys=[decision_id], lazy="raise")


class Appeal(Base):
    """A Klage at the social court, registered from the court's letter."""

    __tablename__ = "appeals"
    __table_args__ = (CheckConstraint(_in("status", APPEAL_STATES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), unique=True)
    objection_id: Mapped[int | None] = mapped_column(ForeignKey("objections.id"))
    court: Mapped[str] = mapped_column(String(200))
    file_reference: Mapped[str] = mapped_column(String(60), index=True)
    parties: Mapped[str] = mapped_column(Text, default="")
    served_on: Mapped[date] = mapped_column(Date)
    court_deadline: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(30), default="anhaengig")
    # Who set the status last and when (NULL: unchanged since registration by created_by).
    status_by_login: Mapped[str | None] = mapped_column(String(100))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_login: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Loaded with the appeal (records.access.CASE_LOADS); a lazy read raises.
    household: Mapped[Household] = relationship(lazy="raise")
    document: Mapped[Document] = relationship(lazy="raise")
    objection: Mapped[Objection | None] = relationship(lazy="raise")


EXPORT_SCOPES = ("file", "objection", "appeal")
# One PDF (Aktenauszug), or the court's folder: one PDF/A per document plus the XJustiz
# message 0005005 (issue 18), possibly in numbered parts.
EXPORT_FORMS = ("pdf", "xjustiz")


class FileExport(Base):
    """An Aktenauszug as it left the house: to whom, on which legal basis, who made it, which
    documents on which pages (withheld ones with the reason), and the SHA-256 of the PDF."""

    __tablename__ = "file_exports"
    __table_args__ = (
        CheckConstraint(_in("scope", EXPORT_SCOPES), name="scope"),
        CheckConstraint(_in("form", EXPORT_FORMS), name="form"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    scope: Mapped[str] = mapped_column(String(20), default="file")
    objection_id: Mapped[int | None] = mapped_column(ForeignKey("objections.id"))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))
    recipient: Mapped[str] = mapped_column(String(300))
    legal_basis: Mapped[str] = mapped_column(String(30))
    purpose: Mapped[str] = mapped_column(String(200))
    # [{document_id, title, date, first_page, last_page, withheld_reason}], in export order.
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    page_count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(300))
    created_by_login: Mapped[str] = mapped_column(String(100))
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "pdf" or "xjustiz"; for the court folder `blob_key`/`sha256`/`size_bytes` are those of
    # the first part and `parts` lists every part: [{number, key, sha256, size_bytes, files}].
    form: Mapped[str] = mapped_column(String(10), default="pdf", server_default="pdf")
    parts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    household: Mapped[Household] = relationship()


class RecognitionAlias(Base):
    """Learned at the clearing desk: how a household's people appear on paper.

    Only supporting evidence for recognition, never enough on its own to file a letter.
    """

    __tablename__ = "recognition_aliases"
    __table_args__ = (UniqueConstraint("key", "household_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    created_by_login: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    household: Mapped[Household] = relationship()


class Job(Base):
    """Background work. Workers lease jobs; a lease that runs out means its worker died."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("state", JOB_STATES), name="state"),
        Index("ix_jobs_claimable", "state", "not_before"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("batches.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_login: Mapped[str | None] = mapped_column(String(100))
    # What a job that is about neither a document nor a batch works on (e.g. a destruction
    # protocol's id).
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Append-only: database triggers refuse every UPDATE and DELETE of this table, and the
    runtime database role may only insert and read it.

    Each row is a link of a hash chain (records/audit_chain.py): `seq` is its position,
    `prev_hash` the hash of the row before it, `row_hash` the SHA-256 of its own fields and
    `prev_hash`; `eakte audit verify` finds a row changed, removed or slipped in.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id"),
        # Two transactions can never chain onto the same predecessor.
        Index("ix_audit_events_seq", "seq", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_login: Mapped[str | None] = mapped_column(String(100), index=True)
    on_behalf_of_login: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    bg_number: Mapped[str | None] = mapped_column(String(20), index=True)
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # Set when the recording transaction commits (records/audit_chain.py), never by hand.
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class LoginSession(Base):
    __tablename__ = "login_sessions"

    # Only a keyed hash of the cookie value is stored, so a copy of the database opens no session.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")
    # Last request of the session, to the minute (records/users.py: idle timeout); None: the
    # login.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How the user signed in (USER_SOURCES); for single sign-on the ID token, sent back to the
    # provider as id_token_hint when the user signs out there.
    auth_method: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    id_token_hint: Mapped[str | None] = mapped_column(Text)


class LoginThrottle(Base):
    """Failed logins of one account name or one client address, counted across web processes.

    `locked_until` is when the next attempt is answered again; it grows with each failure past
    the limit. Rows of quiet keys are removed when failures are recorded.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (CheckConstraint(_in("kind", ("account", "address")), name="kind"),)

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SavedView(Base):
    """A named Postkorb (or other list) view of one user: the list's URL query string."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "page", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    page: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Tables of modules of their own register on the same metadata (migrations, schema checks).
import records.mailbox  # noqa: E402, F401


class CatalogueVersion(Base):
    """A saved version of the document-type catalogue (the TOML text of doctypes.toml). The
    highest version is in force; none saved: the file from the settings or the product's."""

    __tablename__ = "catalogue_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    content: Mapped[str] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_login: Mapped[str | None] = mapped_column(String(100))


class RuntimeSetting(Base):
    """A setting an administrator changed at run time; it overrides the configured value."""

    __tablename__ = "runtime_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_login: Mapped[str | None] = mapped_column(String(100))


class ImportDraft(Base):
    """An uploaded master-data file waiting for the administrator to apply it after the
    preview of what is new, changed and deactivated."""

    __tablename__ = "import_drafts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(300))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_login: Mapped[str | None] = mapped_column(String(100))
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WorkerHeartbeat(Base):
    """A running worker process: when it last reported in and what it is doing. A worker
    that stops cleanly removes its row; one that died stops reporting."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    job_id: Mapped[int | None] = mapped_column(Integer)
    jobs_done: Mapped[int] = mapped_column(Integer, default=0)


# Records lifecycle (issue 17) ----------------------------------------------------------------

FILE_EVENT_KINDS = ("closed", "reopened")
FILE_EVENT_SOURCES = ("import", "manual")
HOLD_REASONS = ("erstattung", "erbenhaftung", "pruefung", "sonstiges")


class FileEvent(Base):
    """The history of a file's closing (zdA) and reopening: from the master-data import (the
    end of benefits) or by hand with a reason."""

    __tablename__ = "file_events"
    __table_args__ = (
        CheckConstraint(_in("kind", FILE_EVENT_KINDS), name="kind"),
        CheckConstraint(_in("source", FILE_EVENT_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    # The business event: the day benefits ended (closed); None for a reopening.
    event_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    by_login: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RetentionHold(Base):
    """A hold set by hand (a recovery or reimbursement claim, §§ 45, 50 SGB X; heirs'
    liability, § 35 SGB II; an audit; other): it blocks destruction until lifted or until
    `until` has passed. Open objections and appeals hold a file without a row here
    (records.retention derives them)."""

    __tablename__ = "retention_holds"
    __table_args__ = (CheckConstraint(_in("reason_code", HOLD_REASONS), name="reason_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    reason_code: Mapped[str] = mapped_column(String(20))
    reason_text: Mapped[str] = mapped_column(Text, default="")
    until: Mapped[date | None] = mapped_column(Date)
    set_by_login: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_by_login: Mapped[str | None] = mapped_column(String(100))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lift_reason: Mapped[str | None] = mapped_column(Text)


DISPOSAL_RUN_STATES = ("offered", "evaluated", "transferred", "closed")
# offered: listed in the 0501; to_archive / to_destroy: the archive's 0502 decision (A / V; a
# run the archive declined as a whole: to_destroy); transferred: in the 0503; archived: the
# 0506 confirmed its import; import_failed: the 0506 reported a failure (sent again later);
# withdrawn: taken out of the run (a hold, the file reopened); destroying / destroyed.
DISPOSAL_ITEM_STATES = (
    "offered",
    "to_archive",
    "to_destroy",
    "transferred",
    "archived",
    "import_failed",
    "withdrawn",
    "destroying",
    "destroyed",
)
# Items whose files may be destroyed once two people approved it.
DESTROYABLE_ITEM_STATES = ("to_destroy", "archived")
MESSAGE_DIRECTIONS = ("out", "in")


class DisposalRun(Base):
    """One Aussonderung: the offer to the public archive (xdomea 0501) and what follows. Its
    `process_id` is the xdomea ProzessID that every message of the run carries."""

    __tablename__ = "disposal_runs"
    __table_args__ = (CheckConstraint(_in("state", DISPOSAL_RUN_STATES), name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    archive_name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="offered")
    created_by_login: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    items: Mapped[list[DisposalItem]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="DisposalItem.id"
    )


class DisposalItem(Base):
    """One file in a disposal run. `bg_number` and `file_uuid` stay after the file is gone."""

    __tablename__ = "disposal_items"
    __table_args__ = (
        CheckConstraint(_in("state", DISPOSAL_ITEM_STATES), name="state"),
        UniqueConstraint("run_id", "file_uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("disposal_runs.id", ondelete="CASCADE"))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True
    )
    bg_number: Mapped[str] = mapped_column(String(20), index=True)
    file_uuid: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_date: Mapped[date] = mapped_column(Date)
    due_from: Mapped[date] = mapped_column(Date)
    years: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(300))
    # Our proposal in the 0501 (A archive, V destroy, B to be evaluated) and the archive's
    # decision from the 0502 (A or V).
    proposal: Mapped[str] = mapped_column(String(1), default="B")
    decision: Mapped[str | None] = mapped_column(String(1))
    state: Mapped[str] = mapped_column(String(20), default="offered")
    archive_ref: Mapped[str | None] = mapped_column(String(200))  # 0506 Archivkennung
    problem: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    run: Mapped[DisposalRun] = relationship(back_populates="items")


class DisposalMessage(Base):
    """An xdomea message of a run as it left or arrived: its type (0501 ... 0507), the zip in
    the blob store, its SHA-256, and whether it was valid (with the German list of problems)."""

    __tablename__ = "disposal_messages"
    __table_args__ = (CheckConstraint(_in("direction", MESSAGE_DIRECTIONS), name="direction"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("disposal_runs.id", ondelete="CASCADE"), index=True
    )
    msg_type: Mapped[str] = mapped_column(String(4))
    direction: Mapped[str] = mapped_column(String(3))
    filename: Mapped[str] = mapped_column(String(300))
    # None once purged: 0501 and 0503 name clients and go when the run is closed.
    blob_key: Mapped[str | None] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    valid: Mapped[bool] = mapped_column(default=True)
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    by_login: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


DESTRUCTION_KINDS = ("run", "document")
DESTRUCTION_ORDER_STATES = ("requested", "approved", "done", "rejected")
DESTRUCTION_STATES = ("running", "done")


class DestructionOrder(Base):
    """A request to destroy: the destroyable files of a disposal run, or one document (filed
    in the wrong file, a third person's letter; or a type whose shorter period ran out). It
    runs only after two different people approved it (`DestructionApproval`)."""

    __tablename__ = "destruction_orders"
    __table_args__ = (
        CheckConstraint(_in("kind", DESTRUCTION_KINDS), name="kind"),
        CheckConstraint(_in("state", DESTRUCTION_ORDER_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("disposal_runs.id"), index=True)
    # A document order: the document (no foreign key: it outlives the row it names).
    document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    bg_number: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="requested")
    requested_by_login: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by_login: Mapped[str | None] = mapped_column(String(100))
    rejected_reason: Mapped[str | None] = mapped_column(Text)

    approvals: Mapped[list[DestructionApproval]] = relationship(
        cascade="all, delete-orphan", order_by="DestructionApproval.id"
    )


class DestructionApproval(Base):
    __tablename__ = "destruction_approvals"
    __table_args__ = (UniqueConstraint("order_id", "approver_login"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("destruction_orders.id", ondelete="CASCADE"))
    approver_login: Mapped[str] = mapped_column(String(100))
    approver_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DestructionProtocol(Base):
    """What was destroyed (a file or one document), on which rule, approved by whom, when.
    Names no client and no content: the BG number, the file's id, dates and counts. `work`
    lists what the destruction job removes (blob keys, index ids), so a job killed halfway
    resumes; `state` turns done in the transaction that deletes the last rows. Its PDF/A and
    JSON lie under a prefix the destruction never touches. It also tells the master-data
    import not to bring a destroyed household back."""

    __tablename__ = "destruction_protocols"
    __table_args__ = (
        CheckConstraint(_in("kind", ("file", "document")), name="kind"),
        CheckConstraint(_in("state", DESTRUCTION_STATES), name="state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    order_id: Mapped[int] = mapped_column(ForeignKey("destruction_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    bg_number: Mapped[str] = mapped_column(String(20), index=True)
    file_uuid: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    event_date: Mapped[date | None] = mapped_column(Date)
    due_from: Mapped[date | None] = mapped_column(Date)
    rule: Mapped[str] = mapped_column(String(300))
    archive_ref: Mapped[str | None] = mapped_column(String(200))
    document_count: Mapped[int] = mapped_column(Integer, default=0)
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    approved_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    requested_by_login: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default="running")
    work: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pdf_key: Mapped[str | None] = mapped_column(String(300))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    json_key: Mapped[str | None] = mapped_column(String(300))
    json_sha256: Mapped[str | None] = mapped_column(String(64))


class AuditPrune(Base):
    """The audit log's rows up to `up_to_seq` were removed after their period; the chain is
    verified from this anchor on (`last_hash` is the removed last row's hash)."""

    __tablename__ = "audit_prunes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    up_to_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    older_than: Mapped[datetime] = mapped_column(UTCDateTime)
    by_login: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- issue 18: files that travel ---------------------------------------------------------------

HANDOVER_STATES = ("sent", "received", "imported", "import_failed")
TAKEOVER_STATES = ("clearing", "filed")
AUDIT_ACCESS_KINDS = ("pruefung", "akteneinsicht")


class Handover(Base):
    """A file handed over to another authority (Aktenabgabe, xdomea Abgabe.Abgabe.0401): to
    whom, which documents (those left out with the reason), the message's zip, and what the
    receiving side answered (0403 EmpfangBestaetigen, 0402 ImportBestaetigen)."""

    __tablename__ = "handovers"
    __table_args__ = (CheckConstraint(_in("state", HANDOVER_STATES), name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True
    )
    bg_number: Mapped[str] = mapped_column(String(20), index=True)
    process_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    recipient: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20), default="sent")
    # The document ids sent, in file order; those left out: {document_id: reason}.
    documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    left_out: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    filename: Mapped[str] = mapped_column(String(300))
    blob_key: Mapped[str | None] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_by_login: Mapped[str] = mapped_column(String(100))
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 0403
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 0402, success
    # The receiving side's reference for the file, or why its import failed (0402).
    recipient_ref: Mapped[str | None] = mapped_column(String(200))
    problem: Mapped[str | None] = mapped_column(Text)

    household: Mapped[Household | None] = relationship()


class Takeover(Base):
    """A file taken over from another authority (Übernahme of an xdomea 0401): the sender, its
    file reference, the household it went to (None while it waits in clearing), the persons
    the message names (for the desk to assign) and our 0402 answer."""

    __tablename__ = "takeovers"
    __table_args__ = (CheckConstraint(_in("state", TAKEOVER_STATES), name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    sender: Mapped[str] = mapped_column(String(300))
    sender_file_ref: Mapped[str | None] = mapped_column(String(200))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(String(20), default="clearing")
    # [{"family_name", "given_names", "birth_date"}] as the message names them.
    persons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    document_count: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(300))
    blob_key: Mapped[str | None] = mapped_column(String(300))  # the 0401 as it arrived
    sha256: Mapped[str] = mapped_column(String(64))
    answer_key: Mapped[str | None] = mapped_column(String(300))  # our 0402
    created_by_login: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_by_login: Mapped[str | None] = mapped_column(String(100))

    household: Mapped[Household | None] = relationship()


class AuditAccess(Base):
    """Time-limited read-only access for a named auditor (Prüfung) or a file inspection at
    the counter (Akteneinsicht): which households, from when to when, documents withheld
    (§ 25 Abs. 3 SGB X, {document_id: reason}), ended by date or by hand."""

    __tablename__ = "audit_accesses"
    __table_args__ = (CheckConstraint(_in("kind", AUDIT_ACCESS_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="pruefung")
    auditor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(300))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    sample_size: Mapped[int | None] = mapped_column(Integer)  # drawn by the product
    withheld: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_login: Mapped[str | None] = mapped_column(String(100))
    end_reason: Mapped[str | None] = mapped_column(String(300))
    created_by_login: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    auditor: Mapped[User] = relationship()
    households: Mapped[list[AuditAccessHousehold]] = relationship(
        back_populates="access", cascade="all, delete-orphan", order_by="AuditAccessHousehold.id"
    )


class AuditAccessHousehold(Base):
    """One household an audit access opens; `bg_number` stays for the report."""

    __tablename__ = "audit_access_households"
    __table_args__ = (UniqueConstraint("access_id", "bg_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    access_id: Mapped[int] = mapped_column(ForeignKey("audit_accesses.id", ondelete="CASCADE"))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True
    )
    bg_number: Mapped[str] = mapped_column(String(20))

    access: Mapped[AuditAccess] = relationship(back_populates="households")


# --- issue 19: requests for missing documents and follow-up dates -----------------------------

FOLLOW_UP_KINDS = ("manual", "request")
REQUEST_STATES = ("open", "complete", "withdrawn")
REQUEST_ITEM_STATES = ("missing", "arrived")
REQUEST_LINK_SOURCES = ("sheet", "recognition", "manual")


class FollowUp(Base):
    """A follow-up date (Wiedervorlage) on a file or one of its documents: for its author or
    for the author's team, with a note. On its date it shows in the Postkorb (with the deputy
    during an absence); done or moved with a reason (`moves`: [{from, to, reason, by, at}]).
    A request's deadline is a follow-up of kind "request"."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        CheckConstraint(_in("kind", FOLLOW_UP_KINDS), name="kind"),
        Index("ix_follow_ups_open", "done_at", "due_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="manual")
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_requests.id", ondelete="CASCADE"), index=True
    )
    due_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    # For a person (user_id) or a team (team_id); the author's own by default.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    created_by_login: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    moves: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_login: Mapped[str | None] = mapped_column(String(100))
    done_reason: Mapped[str | None] = mapped_column(Text)

    household: Mapped[Household] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class DocumentRequest(Base):
    """A request for missing documents (Mitwirkungsaufforderung, §§ 60, 66 SGB I): who asked
    whom for what by when, the letter sent (an outgoing document of the file) and its
    reminders (`reminders`: [{document_id, due_on, dispatch_date, by, at}]). Complete when
    every item arrived."""

    __tablename__ = "document_requests"
    __table_args__ = (CheckConstraint(_in("state", REQUEST_STATES), name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The person concerned, as named in the letter (the member may be re-imported).
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    person_name: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    dispatch_date: Mapped[date] = mapped_column(Date)
    letter_document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(String(20), default="open")
    reminders: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A withdrawal (records.requests.withdraw): when, by whom, why; part of the request's
    # history in the E-Akte and the Aktenauszug, so it outlives the audit log's period.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_login: Mapped[str | None] = mapped_column(String(100))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)

    household: Mapped[Household] = relationship()
    requested_by: Mapped[User] = relationship()
    items: Mapped[list[RequestItem]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestItem.id"
    )


class RequestItem(Base):
    """One thing asked for: its catalogue code and the text printed (e.g. the period of the
    bank statements); arrived once a document that fulfils it is linked."""

    __tablename__ = "document_request_items"
    __table_args__ = (CheckConstraint(_in("state", REQUEST_ITEM_STATES), name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("document_requests.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(20), default="missing")
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[DocumentRequest] = relationship(back_populates="items")
    links: Mapped[list[RequestLink]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="RequestLink.id"
    )


class RequestLink(Base):
    """A document that answers a request item: behind the return sheet ("sheet", certain),
    filed by recognition with a fulfilling type ("recognition": "vermutlich Antwort", until a
    caseworker confirms it) or linked by hand ("manual")."""

    __tablename__ = "document_request_links"
    __table_args__ = (
        CheckConstraint(_in("source", REQUEST_LINK_SOURCES), name="source"),
        UniqueConstraint("item_id", "document_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("document_request_items.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(20))
    confirmed: Mapped[bool] = mapped_column(default=False)
    confirmed_by_login: Mapped[str | None] = mapped_column(String(100))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[RequestItem] = relationship(back_populates="links")


# --- issue 20, outbox20: index writes that are still to be done ---------------------------

INDEX_OUTBOX_KINDS = ("document", "file_note")


class IndexOutbox(Base):
    """An index entry that must be written again (or removed): a document's or a note on a
    file's. Written in the same transaction as the change, so a change that stands is never
    lost to the index; removed once the entry was written (records.index_outbox). Several
    rows for one key are allowed (no lock on a hot key); the drainer writes each key once."""

    __tablename__ = "index_outbox"
    __table_args__ = (
        CheckConstraint(_in("kind", INDEX_OUTBOX_KINDS), name="kind"),
        Index("ix_index_outbox_due", "next_try", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # A document's id, or a note's id (kind "file_note"); ids only, no client data. No foreign
    # key: a row whose document was destroyed meanwhile removes the entry.
    key: Mapped[str] = mapped_column(String(64))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_try: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- issue 20: blobs a committed change names, still to be stored ---------------------------


class BlobOutbox(Base):
    """A small blob that a committed change names and that is stored after the commit (the
    desk's transfer record, ingest.qa): written in the change's transaction with its bytes,
    so a process killed between the commit and the store, or a blob store that is away then,
    loses nothing; removed once the blob is stored (records.blob_outbox). Blob I/O never holds
    the database's write lock, and a change that is rolled back leaves no stray blob."""

    __tablename__ = "blob_outbox"
    __table_args__ = (Index("ix_blob_outbox_due", "next_try", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(512))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_try: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
