"""Clearing at the scanning desk, master data import, and the document-type catalogue.

What recognition could not file with confidence waits in the clearing inbox. The desk looks at
the pages, finds the household (by number, name or birth date) and the type, and files it; that
routes it like an automatic decision, is audited, and teaches recognition where that is safe.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from api.deps import DbDep, GateDep, RuntimeDep, UserDep
from api.limits import require_media_type
from api.routes.documents import readable_document
from ingest.routing import catalogue_for, learn_from_correction
from records import audit
from records.access import Capability
from records.errors import Conflict, InvalidInput, NotFound
from records.identifiers import normalize_bg_number
from records.masterdata import (
    HOUSEHOLD_COLUMNS,
    STAFF_COLUMNS,
    import_households,
    import_staff,
    read_csv,
)
from records.models import Document, Household, InboxItem, Member
from records.reindex import reindex_after_commit
from records.routing import file_document, inbox_of
from storage import read_bytes

router = APIRouter(prefix="/api", tags=["Klärung und Stammdaten"])

MAX_CSV_BYTES = 50 * 1024 * 1024


@router.get("/doctypes", summary="Dokumentarten des Katalogs mit Ziel-Postkorb")
def list_doctypes(runtime: RuntimeDep, user: UserDep) -> dict[str, Any]:
    catalogue = catalogue_for(runtime.settings)
    return {
        "doctypes": [
            {"code": rule.code, "name": rule.name, "target": rule.target}
            for rule in catalogue.types
        ]
    }


@router.get("/clearing", summary="Klärungsfälle der Scanstelle mit dem Vorschlag der Erkennung")
def list_clearing(
    db: DbDep,
    runtime: RuntimeDep,
    gate: GateDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    gate.require(Capability.CLEARING, "clearing.list")
    names = {rule.code: rule.name for rule in catalogue_for(runtime.settings).types}
    rows = db.scalars(
        select(InboxItem)
        .where(InboxItem.kind == "clearing", InboxItem.state != "done")
        .options(selectinload(InboxItem.document).selectinload(Document.pages))
        .order_by(InboxItem.created_at)
        .limit(limit)
    ).all()
    total = db.scalar(
        select(func.count()).where(InboxItem.kind == "clearing", InboxItem.state != "done")
    )
    gate.record("clearing.list", shown=len(rows), total=total)
    items = []
    for item in rows:
        document = item.document
        recognition = document.recognition or {}
        items.append(
            {
                "document_id": str(document.id),
                "source_name": document.source_name,
                "received_at": document.received_at.isoformat(),
                "pages": document.page_count,
                "reason": item.reason,
                "doc_type": document.doc_type,
                "doc_type_name": names.get(document.doc_type or "", document.doc_type),
                "proposal": {
                    "bg_numbers": [
                        {"value": value, "page": page, "known": known}
                        for value, page, known in recognition.get("bg_numbers_found", [])
                    ],
                    "person": recognition.get("person"),
                    "candidates": recognition.get("candidates", []),
                },
                "letter_date": document.letter_date.isoformat() if document.letter_date else None,
            }
        )
    return {"total": total, "items": items}


_FOLDINGS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def _folded(name: str) -> str:
    return name.strip().lower().translate(_FOLDINGS)


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


@router.get("/households", summary="Haushalte suchen (BG-Nummer, Name, Geburtsdatum)")
def search_households(
    db: DbDep,
    gate: GateDep,
    q: Annotated[str, Query(min_length=2, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> dict[str, Any]:
    """For the clearing desk: master data only, never the content of a file."""
    gate.require(Capability.CLEARING, "masterdata.search")
    query = select(Household).options(
        selectinload(Household.members), selectinload(Household.caseworker)
    )
    conditions = []
    terms = q.split()
    bg_number = normalize_bg_number(q)
    if bg_number:
        conditions.append(Household.bg_number == bg_number)
    else:
        compact = re.sub(r"\s+", "", q).upper()
        if re.fullmatch(r"\d{5,}[A-Z0-9]*", compact) or "BG" in compact:
            conditions.append(Household.bg_number.contains(compact))
        born = [d for d in (_birth_date(t) for t in terms) if d]
        words = [t for t in terms if not _birth_date(t) and not re.search(r"\d", t)]
        member_filters = []
        for born_on in born:
            member_filters.append(Member.birth_date == born_on)
        for word in words:
            pattern = f"%{word.lower()}%"
            member_filters.append(
                or_(
                    func.lower(Member.last_name).like(pattern),
                    func.lower(Member.first_name).like(pattern),
                )
            )
        if member_filters:
            matching = select(Member.household_id)
            for condition in member_filters:
                matching = matching.where(condition)
            conditions.append(Household.id.in_(matching))
    if not conditions:
        gate.record("masterdata.search", query=q, found=[])
        return {"households": []}
    found = list(
        db.scalars(query.where(or_(*conditions)).order_by(Household.bg_number).limit(limit))
    )
    gate.record("masterdata.search", query=q, found=[h.bg_number for h in found])
    wanted = {_folded(w) for w in terms if not re.search(r"\d", w)}
    results = []
    for household in found:
        results.append(
            {
                "bg_number": household.bg_number,
                "active": household.active,
                "address": f"{household.street}, {household.postcode} {household.town}",
                "caseworker": household.caseworker.name if household.caseworker else None,
                "members": [
                    {
                        "name": f"{m.first_name} {m.last_name}",
                        "birth_date": m.birth_date.isoformat() if m.birth_date else None,
                        "matches": bool(wanted & {_folded(m.first_name), _folded(m.last_name)}),
                    }
                    for m in household.members
                ],
            }
        )
    return {"households": results}


class Filing(BaseModel):
    bg_number: str = Field(min_length=5, max_length=40)
    doc_type: str = Field(min_length=1, max_length=60)
    note: str | None = Field(default=None, max_length=1000)


@router.post(
    "/documents/{document_id}/filing",
    summary="Klärungsfall zuordnen: Haushalt und Dokumentart festlegen, in den Postkorb leiten",
)
def file_by_hand(
    document_id: uuid.UUID, body: Filing, runtime: RuntimeDep, db: DbDep, gate: GateDep
) -> dict[str, Any]:
    user = gate.user
    gate.require(
        Capability.CLEARING, "document.filing", object_type="document", object_id=document_id
    )
    document, _ = gate.document(document_id, "document.filing", lock=True)
    item = db.scalar(select(InboxItem).where(InboxItem.document_id == document.id))
    if item is None or item.kind != "clearing":
        raise Conflict(
            "Das Dokument ist nicht (mehr) in der Klärung; es wurde bereits zugeordnet.",
            code="not_in_clearing",
        )
    if document.qa_status == "rejected":
        raise Conflict("Das Dokument wurde zur Neuerfassung abgelehnt.", code="qa_rejected")
    bg_number = normalize_bg_number(body.bg_number)
    household = (
        db.scalar(select(Household).where(Household.bg_number == bg_number)) if bg_number else None
    )
    if household is None:
        raise InvalidInput(f"Die BG-Nummer {body.bg_number} ist nicht bekannt.", code="bg_unknown")
    if not household.active:
        raise InvalidInput(
            f"Die Bedarfsgemeinschaft {household.bg_number} ist nicht mehr aktiv.",
            code="bg_inactive",
        )
    catalogue = catalogue_for(runtime.settings)
    rule = next((r for r in catalogue.types if r.code == body.doc_type), None)
    if rule is None:
        raise InvalidInput(f"Unbekannte Dokumentart »{body.doc_type}«.", code="doc_type_unknown")
    reason = (
        f"Von der Scanstelle zugeordnet ({user.name}): Haushalt {household.bg_number}, {rule.name}."
    )
    if body.note:
        reason += f" Hinweis: {body.note.strip()}"
    new_item = file_document(
        db,
        document,
        household=household,
        doc_type=rule.code,
        target=rule.target,
        reason=reason,
        actor=user,
        routed_by="manual",
    )
    learned = learn_from_correction(db, document, household, user)
    if learned:
        audit.record(
            db,
            user,
            "recognition.alias_learned",
            object_type="household",
            object_id=household.bg_number,
            bg_number=household.bg_number,
            keys=learned,
        )
    db.flush()
    reindex_after_commit(db, runtime, document)
    return {
        "document_id": str(document.id),
        "bg_number": household.bg_number,
        "doc_type": rule.code,
        "inbox": inbox_of(new_item),
        "reason": new_item.reason,
    }


@router.post(
    "/import/{kind}",
    summary="Stammdaten aus dem Fachverfahren einlesen (CSV: staff oder households)",
)
async def import_master_data(
    kind: str, request: Request, db: DbDep, gate: GateDep
) -> dict[str, Any]:
    gate.require(Capability.MASTER_DATA, f"masterdata.import.{kind[:20]}")
    if kind not in ("staff", "households"):
        raise NotFound("Unbekannte Stammdatenart; erlaubt sind »staff« und »households«.")
    require_media_type(
        request,
        "text/csv",
        "Stammdaten bitte als CSV-Datei senden (Content-Type: text/csv).",
    )
    body = await request.body()
    if not body:
        raise InvalidInput("Bitte die CSV-Datei als Anfrageinhalt senden.", code="no_file")
    if len(body) > MAX_CSV_BYTES:
        raise InvalidInput("Die CSV-Datei ist zu groß.", code="csv_too_large")
    if kind == "staff":
        report = import_staff(db, read_csv(body, STAFF_COLUMNS))
    else:
        report = import_households(db, read_csv(body, HOUSEHOLD_COLUMNS))
    gate.record(f"masterdata.import.{kind}", summary=report.summary())
    return report.as_dict() | {"summary": report.summary()}


@router.get(
    "/documents/{document_id}/pages/{number}/{rendition}",
    summary="Seitenbild (image) oder Vorschaubild (thumb) einer Dokumentseite",
)
def page_image(
    document_id: uuid.UUID,
    number: int,
    rendition: str,
    runtime: RuntimeDep,
    gate: GateDep,
) -> Response:
    if rendition not in ("image", "thumb"):
        raise NotFound("Unbekannte Darstellung; erlaubt sind »image« und »thumb«.")
    document = readable_document(gate, document_id, action=f"document.page.{rendition}")
    page = next((p for p in document.pages if p.number == number), None)
    if page is None:
        raise NotFound(f"Das Dokument hat keine Seite {number}.")
    key = page.image_key if rendition == "image" else page.thumb_key
    if key is None:
        raise NotFound("Für diese Seite gibt es kein Bild.")
    return Response(
        read_bytes(runtime.blobs, key),
        media_type="image/jpeg",
        headers={"Cache-Control": "private, max-age=3600"},
    )
