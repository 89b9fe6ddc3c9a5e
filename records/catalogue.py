"""The document-type catalogue's saved versions and what its preview reads (issue 16).

The catalogue in force is the highest saved version (table catalogue_versions); with none
saved, the configured file or the product's own. Saving is the administration's task
(Capability.ADMINISTER) and audited as `catalogue.saved`. The preview reads the stored page
text of the last letters; what it hands on about them is only what the administration may
see: id, dates, channel, page count and type, never the text's owner, sender or household.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from records.access import Capability, Gate
from records.models import CatalogueVersion, Document, Page, ScanBatch, Team


def latest_number(session: Session) -> int:
    """The number of the version in force; 0: none saved (the file is in force)."""
    return session.scalar(select(func.max(CatalogueVersion.version))) or 0


def version(session: Session, number: int) -> CatalogueVersion | None:
    return session.scalar(select(CatalogueVersion).where(CatalogueVersion.version == number))


def versions(gate: Gate) -> list[CatalogueVersion]:
    """Every saved version, newest first."""
    gate.require(Capability.ADMINISTER, "catalogue.versions")
    return list(
        gate.session.scalars(select(CatalogueVersion).order_by(CatalogueVersion.version.desc()))
    )


def save(gate: Gate, content: str, comment: str, **audited: int) -> CatalogueVersion:
    """A new version with this content, in force from now on; audited with `audited` (the
    preview's counts). The caller checked the content with the catalogue's parser."""
    gate.require(Capability.ADMINISTER, "catalogue.save")
    number = latest_number(gate.session) + 1
    row = CatalogueVersion(
        version=number, content=content, comment=comment, created_by_login=gate.user.login
    )
    gate.session.add(row)
    gate.session.flush()
    gate.record(
        "catalogue.saved",
        object_type="catalogue",
        object_id=number,
        version=number,
        comment=comment,
        preview=dict(audited),
    )
    return row


def codes_in_use(session: Session) -> set[str]:
    """The type codes stored documents carry (a catalogue must keep them)."""
    return set(session.scalars(select(Document.doc_type).where(Document.doc_type.is_not(None))))


def team_names(gate: Gate) -> list[str]:
    """The teams a type's letters may go to (names, no members)."""
    gate.require(Capability.ADMINISTER, "catalogue.teams")
    return list(gate.session.scalars(select(Team.name).order_by(Team.name)))


@dataclass(frozen=True)
class StoredLetter:
    """A letter as the preview re-reads it. `pages` is its OCR text, for the classifier only:
    it never reaches a page."""

    id: uuid.UUID
    received_at: datetime
    channel: str | None  # of its batch; None: filed without one
    page_count: int
    doc_type: str | None
    pages: list[str]


def last_letters(gate: Gate, limit: int) -> list[StoredLetter]:
    """The last `limit` letters received that have OCR text and were not discarded, newest
    first. Read for the preview, so audited as one listing without client data."""
    gate.require(Capability.ADMINISTER, "catalogue.preview")
    session = gate.session
    with_text = select(Page.document_id).where(Page.text != "")
    rows = session.execute(
        select(
            Document.id,
            Document.received_at,
            ScanBatch.channel,
            Document.page_count,
            Document.doc_type,
        )
        .outerjoin(ScanBatch, ScanBatch.id == Document.batch_id)
        .where(Document.discarded_at.is_(None), Document.id.in_(with_text))
        .order_by(Document.received_at.desc(), Document.id)
        .limit(limit)
    ).all()
    texts: dict[uuid.UUID, list[str]] = {row.id: [] for row in rows}
    if texts:
        pages = session.execute(
            select(Page.document_id, Page.text)
            .where(Page.document_id.in_(list(texts)))
            .order_by(Page.document_id, Page.number)
        )
        for document_id, text in pages:
            texts[document_id].append(text)
    gate.record("catalogue.preview", letters=len(rows))
    return [
        StoredLetter(
            row.id,
            row.received_at,
            row.channel,
            row.page_count or len(texts[row.id]),
            row.doc_type,
            texts[row.id],
        )
        for row in rows
    ]
