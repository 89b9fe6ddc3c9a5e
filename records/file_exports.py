"""File exports (Aktenauszug) as a service: who may export what, which documents, the PDF built
by records/aktenauszug.py, and the record of every export filed in the household's case file.

Every export is recorded before anyone can download it: recipient, legal basis, user, time, the
document list with the pages each got (withheld documents with the reason) and the SHA-256 of
the PDF. The record appears in the case file (section Aktenauszüge, and as a Vermerk), and the
export, every download and every refusal are in the audit log.

A household with requests for documents (issue 19) gets their history as a section of the PDF
(records/request_history.py, read under the export's own gate check): all its requests, whatever
the scope. An objection or appeal against a refusal for missing cooperation turns on the
request before the decision as much as on one written during the objection proceedings
(cooperation made up later, § 67 SGB I); a cut-off by date would hide the latter, and the
section names no document the export does not hold. The Vermerk and the audit row say it is
included (`requests`: the requests' numbers).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dates import local_date
from core.errors import InvalidInput, NotFound
from pdf.tags import relabel_figures
from records.access import CASE_LOADS, Capability, Gate, in_case_file_clause
from records.aktenauszug import (
    ExportHeader,
    ExportItem,
    RequestRecord,
    build_export,
    dated_title,
)
from records.models import Appeal, Document, FileExport, Household, Note, Objection
from records.objections import (
    appeals_of,
    case_documents,
    household_name,
    in_file_order,
    objections_of,
)
from records.request_history import export_history
from storage.base import BlobStore, downloaded, read_bytes


@dataclass(frozen=True)
class LegalBasis:
    code: str
    name: str  # shown in the form and printed on the cover
    purpose: str  # printed on the cover


LEGAL_BASES = {
    basis.code: basis
    for basis in (
        LegalBasis(
            "sgg_104",
            "§ 104 SGG (Verwaltungsakte an das Gericht)",
            "Übersendung der Verwaltungsakte an das Sozialgericht",
        ),
        LegalBasis("sgb_x_25", "§ 25 SGB X (Akteneinsicht)", "Akteneinsicht"),
        LegalBasis(
            "pruefung",
            "§ 67c Abs. 3 SGB X (Prüfung, Aufsicht)",
            "Prüfung (Aufsicht, Rechnungsprüfung)",
        ),
    )
}

# Offered in the form; any other reason may be typed.
WITHHOLDING_REASONS = (
    "Schutz Dritter (§ 25 Abs. 3 SGB X)",
    "Berechtigtes Geheimhaltungsinteresse eines Beteiligten (§ 25 Abs. 3 SGB X)",
    "Gesundheitsdaten: Einsicht nur durch Vermittlung eines Arztes (§ 25 Abs. 2 SGB X)",
    "Nicht Gegenstand des Verfahrens",
)

SCOPE_NAMES = {"file": "ganze Akte", "objection": "Widerspruch", "appeal": "Klage"}


def _export_right(gate: Gate, bg_number: str, action: str, *, audited: bool) -> Household:
    """Role and need-to-know; a refusal goes to the audit log after the rollback."""
    return gate.household(bg_number, action, capability=Capability.EXPORT, audited=audited)[0]


def _case(
    session: Session, household: Household, objection_id: int | None, appeal_id: int | None
) -> tuple[str, Objection | None, Appeal | None]:
    if objection_id is not None and appeal_id is not None:
        raise InvalidInput("Bitte entweder einen Widerspruch oder eine Klage wählen.")
    objection = appeal = None
    if objection_id is not None:
        objection = session.get(Objection, objection_id, options=CASE_LOADS[Objection])
        if objection is None or objection.household_id != household.id:
            raise NotFound("Widerspruch in dieser Akte nicht gefunden.")
        return "objection", objection, None
    if appeal_id is not None:
        appeal = session.get(Appeal, appeal_id, options=CASE_LOADS[Appeal])
        if appeal is None or appeal.household_id != household.id:
            raise NotFound("Klage in dieser Akte nicht gefunden.")
        return "appeal", None, appeal
    return "file", None, None


def _file_documents(session: Session, household: Household) -> list[Document]:
    return in_file_order(
        list(
            session.scalars(
                select(Document).where(Document.household_id == household.id, in_case_file_clause())
            )
        )
    )


@dataclass(frozen=True)
class ExportOptions:
    """What the export form offers: the file's documents (`chosen`: those of the case, or all),
    the case the export is for, and the file's cases to choose from."""

    household: Household
    scope: str
    objection: Objection | None
    appeal: Appeal | None
    documents: list[Document]
    chosen: set[uuid.UUID]
    objections: list[Objection]
    appeals: list[Appeal]

    @property
    def household_name(self) -> str:
        return household_name(self.household)

    @property
    def objection_id(self) -> int | None:
        return self.objection.id if self.objection else None

    @property
    def appeal_id(self) -> int | None:
        return self.appeal.id if self.appeal else None

    @property
    def recipient(self) -> str:
        return f"{self.appeal.court}, Az. {self.appeal.file_reference}" if self.appeal else ""

    @property
    def legal_basis(self) -> str | None:
        return "sgg_104" if self.appeal is not None else None


def options(
    gate: Gate,
    bg_number: str,
    *,
    objection_id: int | None = None,
    appeal_id: int | None = None,
) -> ExportOptions:
    """What the export form offers: the file's documents (those of the case preselected), the
    legal bases and reasons for withholding, and the file's cases to choose from."""
    session = gate.session
    household = _export_right(gate, bg_number, "export.options", audited=True)
    scope, objection, appeal = _case(session, household, objection_id, appeal_id)
    documents = _file_documents(session, household)
    chosen = (
        case_documents(session, objection=objection, appeal=appeal)
        if scope != "file"
        else documents
    )
    return ExportOptions(
        household=household,
        scope=scope,
        objection=objection,
        appeal=appeal,
        documents=documents,
        chosen={d.id for d in chosen},
        objections=objections_of(session, household.id),
        appeals=appeals_of(session, household.id),
    )


@dataclass(frozen=True)
class ExportPlan:
    """What an Aktenauszug will hold, checked against the file; built without the database.

    The items have no PDF yet: `pdf_keys` names the blob of each document that is sent (not
    withheld), fetched only while building. `requests`: the household's requests for documents,
    printed as a section after the contents.
    """

    household_id: int
    scope: str
    objection_id: int | None
    appeal_id: int | None
    legal_basis: str  # the code; the header has its German name
    header: ExportHeader
    items: tuple[ExportItem, ...]
    pdf_keys: dict[str, str]
    requests: tuple[RequestRecord, ...] = ()


@dataclass(frozen=True)
class BuiltExport:
    key: str
    pages: int
    sha256: str
    size_bytes: int
    listed: list[dict[str, Any]]
    requests_pages: tuple[int, int] | None = None  # the request section's sheets


def plan_export(
    gate: Gate,
    bg_number: str,
    names: dict[str, str],
    *,
    recipient: str,
    legal_basis: str,
    document_ids: list[uuid.UUID] | None = None,
    withheld: dict[uuid.UUID, str] | None = None,
    objection_id: int | None = None,
    appeal_id: int | None = None,
    job_centre: str = "Jobcenter",
    now: datetime | None = None,
) -> ExportPlan:
    """Check the request against the file and the user's rights; say what the export holds.

    `document_ids` default to the case's documents (objection or appeal) or the whole file; they
    are put in file order, so the same file state gives the same numbering. A document in
    `withheld` is replaced by a placeholder page naming the reason.
    """
    session, user = gate.session, gate.user
    household = _export_right(gate, bg_number, "export.create", audited=False)
    basis = LEGAL_BASES.get(legal_basis)
    if basis is None:
        raise InvalidInput("Bitte eine Rechtsgrundlage wählen.", code="legal_basis")
    recipient = " ".join(recipient.split())
    if not recipient:
        raise InvalidInput("Bitte den Empfänger angeben.", code="recipient")
    if len(recipient) > 300:
        raise InvalidInput("Der Empfänger ist zu lang (höchstens 300 Zeichen).", code="recipient")
    scope, objection, appeal = _case(session, household, objection_id, appeal_id)
    withheld = {key: " ".join(reason.split()) for key, reason in (withheld or {}).items()}
    if any(not reason for reason in withheld.values()):
        raise InvalidInput(
            "Für jedes zurückgehaltene Dokument bitte den Grund angeben.", code="withheld_reason"
        )
    if document_ids is None:
        chosen = (
            case_documents(session, objection=objection, appeal=appeal)
            if scope != "file"
            else _file_documents(session, household)
        )
    else:
        wanted = list(dict.fromkeys(document_ids))
        found = {
            d.id: d
            for d in session.scalars(select(Document).where(Document.id.in_(wanted or [None])))
        }
        strangers = [
            key
            for key in wanted
            if key not in found
            or found[key].household_id != household.id
            or found[key].qa_status == "rejected"
        ]
        if strangers:
            raise InvalidInput(
                "Ein gewähltes Dokument gehört nicht zu dieser Akte.",
                code="document_not_in_file",
                documents=[str(key) for key in strangers],
            )
        chosen = in_file_order([found[key] for key in wanted])
    if not chosen:
        raise InvalidInput("Bitte mindestens ein Dokument wählen.", code="no_documents")
    if set(withheld) - {d.id for d in chosen}:
        raise InvalidInput(
            "Zurückgehalten werden kann nur ein gewähltes Dokument.", code="withheld_unknown"
        )
    unready = [d for d in chosen if d.pdf_key is None and d.id not in withheld]
    if unready:
        raise InvalidInput(
            f"{unready[0].source_name}: das Dokument ist noch nicht fertig verarbeitet "
            "(kein PDF). Bitte später erneut versuchen oder abwählen.",
            code="document_not_ready",
        )
    created_at = (now or datetime.now(UTC)).replace(microsecond=0)
    header = ExportHeader(
        bg_number=household.bg_number,
        household_name=household_name(household),
        purpose=basis.purpose,
        recipient=recipient,
        legal_basis=basis.name,
        created_by=user.name,
        created_at=created_at,
        job_centre=job_centre,
    )
    items = tuple(
        ExportItem(
            document_id=str(document.id),
            title=_title(document, names),
            date=_date(document),
            sender=_sender(document),
            pdf=None,
            withheld_reason=withheld.get(document.id),
        )
        for document in chosen
    )
    pdf_keys = {
        str(document.id): document.pdf_key
        for document in chosen
        if document.id not in withheld and document.pdf_key is not None
    }
    return ExportPlan(
        household_id=household.id,
        scope=scope,
        objection_id=objection.id if objection else None,
        appeal_id=appeal.id if appeal else None,
        legal_basis=basis.code,
        header=header,
        items=items,
        pdf_keys=pdf_keys,
        # Read under the check above (export.create); the export's audit row names them.
        requests=export_history(session, household, local_date(created_at)),
    )


def build_planned_export(
    plan: ExportPlan, blobs: BlobStore, work_dir: Path | None = None
) -> BuiltExport:
    """Build the PDF and store it in the blob store; needs no database (it may take seconds)."""
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="export-") as scratch:
        folder = Path(scratch)
        items = []
        for number, item in enumerate(plan.items, 1):
            key = plan.pdf_keys.get(item.document_id)
            if key is not None:
                fetched = folder / f"{number:05d}.pdf"
                _fetch(blobs, key, fetched)
                item = replace(item, pdf=fetched)
            items.append(item)
        target = folder / "aktenauszug.pdf"
        result = build_export(items, plan.header, target, plan.requests)
        key = f"exports/{plan.header.bg_number}/{uuid.uuid4().hex}.pdf"
        with target.open("rb") as written:
            stored = blobs.put(key, written)
    if stored.sha256 != result.sha256:
        raise RuntimeError(f"export {key}: stored hash differs from the written file")
    pages = {document_id: (first, last) for document_id, first, last in result.contents}
    listed = [
        {
            "document_id": item.document_id,
            "title": item.title,
            "date": item.date.isoformat() if item.date else None,
            "first_page": pages[item.document_id][0],
            "last_page": pages[item.document_id][1],
            "withheld_reason": item.withheld_reason,
        }
        for item in items
    ]
    return BuiltExport(key, result.pages, result.sha256, stored.size, listed, result.requests_pages)


def _recorded(
    gate: Gate,
    plan: ExportPlan,
    listed: list[dict[str, Any]],
    *,
    page_count: int,
    stored: dict[str, Any],
    note: Callable[[FileExport, int], str],
    filed_as: tuple[str, list[dict[str, Any]] | None] = ("pdf", None),
    **details: Any,
) -> FileExport:
    """What every export leaves behind: the FileExport row (`stored`: sha256, size_bytes and
    key of the PDF or the first part; `filed_as`: the form and its parts), its audit row with
    the documents and the withheld ones (plus `details`), and the Vermerk in the file
    (`note(record, withheld count)`). The file may have changed hands while the export was
    built: the right is checked again first."""
    session, user = gate.session, gate.user
    _export_right(gate, plan.header.bg_number, "export.create", audited=False)
    record = gate.created(
        FileExport(
            household_id=plan.household_id,
            scope=plan.scope,
            objection_id=plan.objection_id,
            appeal_id=plan.appeal_id,
            recipient=plan.header.recipient,
            legal_basis=plan.legal_basis,
            purpose=plan.header.purpose,
            documents=listed,
            page_count=page_count,
            sha256=stored["sha256"],
            size_bytes=stored["size_bytes"],
            blob_key=stored["key"],
            created_by_login=user.login,
            created_by_name=user.name,
            created_at=plan.header.created_at,
            form=filed_as[0],
            parts=filed_as[1],
        ),
        "export.created",
        recipient=plan.header.recipient,
        legal_basis=plan.legal_basis,
        scope=plan.scope,
        documents=[entry["document_id"] for entry in listed],
        withheld={
            entry["document_id"]: entry["withheld_reason"]
            for entry in listed
            if entry["withheld_reason"]
        },
        **details,
    )
    held = sum(1 for entry in listed if entry["withheld_reason"])
    session.add(
        Note(
            household_id=plan.household_id,
            author_login=user.login,
            author_name=user.name,
            text=note(record, held),
            created_at=plan.header.created_at,
        )
    )
    return record


def record_export(gate: Gate, plan: ExportPlan, built: BuiltExport) -> FileExport:
    """Record a built export in the file (FileExport and a Vermerk) and in the audit log."""
    listed = built.listed
    requests = ""
    if plan.requests and built.requests_pages:
        first, last = built.requests_pages
        sheets = f"Bl. {first}" if first == last else f"Bl. {first}–{last}"
        count = len(plan.requests)
        requests = (
            f", mit dem Verlauf von {count} Anforderung{'en' if count != 1 else ''} "
            f"von Unterlagen ({sheets})"
        )

    def note(record: FileExport, held: int) -> str:
        return (
            f"Aktenauszug Nr. {record.id} erstellt ({plan.header.legal_basis}) "
            f"für {plan.header.recipient}: "
            f"{len(listed)} Dokumente"
            + (f", davon {held} zurückgehalten" if held else "")
            + requests
            + f", {built.pages} Blatt, SHA-256 {built.sha256}."
        )

    return _recorded(
        gate,
        plan,
        listed,
        page_count=built.pages,
        stored={"sha256": built.sha256, "size_bytes": built.size_bytes, "key": built.key},
        note=note,
        objection=plan.objection_id,
        appeal=plan.appeal_id,
        pages=built.pages,
        sha256=built.sha256,
        requests=[request.number for request in plan.requests] or None,
    )


def _fetch(blobs: BlobStore, key: str, target: Path) -> None:
    with downloaded(blobs, key, target.with_suffix(".part")) as path:
        path.rename(target)


def _title(document: Document, names: dict[str, str]) -> str:
    name = names.get(document.doc_type or "", document.doc_type or "Dokument")
    if document.direction == "out":
        return name.replace(" (Postausgang)", "")
    return name


def _date(document: Document) -> date | None:
    """The date a document goes by: the dispatch date of a decision sent, else the receipt."""
    if document.direction == "out" and document.dispatch_date:
        return document.dispatch_date
    return document.receipt_date


def labelled_rendition(document: Document, content: bytes, names: dict[str, str]) -> bytes:
    """The document's stored rendition (`content`) as it is downloaded: each page's figure
    names the document's type and date ("Gescannte Seite 2 von 3: Bescheid vom 12.11.2026"),
    as in the Aktenauszug, where the stored file still names the scanned file."""
    return relabel_figures(content, dated_title(_title(document, names), _date(document)))


def _sender(document: Document) -> str | None:
    if document.direction == "out":
        return "Jobcenter (Postausgang)"
    return document.sender


def exports_of(session: Session, household: Household) -> list[FileExport]:
    return list(
        session.scalars(
            select(FileExport)
            .where(FileExport.household_id == household.id)
            .order_by(FileExport.created_at.desc(), FileExport.id.desc())
        )
    )


def exports_of_household(gate: Gate, bg_number: str) -> list[FileExport]:
    household, _ = gate.household(bg_number, "export.list")
    return exports_of(gate.session, household)


def readable_export(gate: Gate, export_id: int, action: str) -> FileExport:
    return gate.export(export_id, action)


def export_pdf(gate: Gate, blobs: BlobStore, export_id: int) -> tuple[bytes, str]:
    """The stored PDF (its hash checked by the blob store) and a file name; audited."""
    record = gate.export(export_id, "export.download", audited=False)
    if record.form != "pdf":
        raise NotFound(
            "Dieser Aktenauszug ist ein Ordner für das Gerichtspostfach (XJustiz): bitte seine "
            "Teile auf der Seite „Aktenauszug“ der Akte herunterladen."
        )
    content = read_bytes(blobs, record.blob_key)
    gate.record_on(record, "export.download", sha256=record.sha256)
    return content, f"Aktenauszug-{record.household.bg_number}-Nr{record.id}.pdf"


# The court folder (XJustiz, records/court_folder.py) -------------------------------------


def record_court_folder(
    gate: Gate,
    plan: ExportPlan,
    parts: list[dict[str, Any]],
    listed: list[dict[str, Any]],
    pages: int,
) -> FileExport:
    """Record a built court folder (form "xjustiz") in the file (FileExport with its parts and
    a Vermerk) and in the audit log, as `record_export` does for the PDF."""

    def note(record: FileExport, held: int) -> str:
        return (
            f"Verwaltungsakte für das Gericht (XJustiz) Nr. {record.id} erstellt "
            f"({plan.header.legal_basis}) für {plan.header.recipient}: "
            f"{len(listed)} Dokumente"
            + (f", davon {held} zurückgehalten" if held else "")
            + f", {len(parts)} Teil{'e' if len(parts) != 1 else ''}: "
            + "; ".join(f"{part['name']} SHA-256 {part['sha256']}" for part in parts)
            + "."
        )

    return _recorded(
        gate,
        plan,
        listed,
        page_count=pages,
        stored=parts[0],
        note=note,
        filed_as=("xjustiz", parts),
        form="xjustiz",
        appeal=plan.appeal_id,
        parts=[{"name": part["name"], "sha256": part["sha256"]} for part in parts],
    )


def export_part(gate: Gate, blobs: BlobStore, export_id: int, number: int) -> tuple[bytes, str]:
    """One part (zip) of a court folder (its hash checked by the blob store); audited."""
    record = gate.export(export_id, "export.download", audited=False)
    part = next((p for p in record.parts or [] if p.get("number") == number), None)
    if record.form != "xjustiz" or part is None:
        raise NotFound("Diesen Teil gibt es bei diesem Aktenauszug nicht.")
    content = read_bytes(blobs, part["key"])
    gate.record_on(record, "export.download", sha256=part["sha256"], part=number)
    return content, str(part["name"])
