"""Clearing at the scanning desk, master data import, and the document-type catalogue.

What recognition could not file with confidence waits in the clearing inbox. The desk looks at
the pages, finds the household (by number, name or birth date) and the type, and files it; that
routes it like an automatic decision, is audited, and teaches recognition where that is safe.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import GateDep, RuntimeDep, TypeNamesDep, UserDep
from api.downloads import page_of, stored_file
from api.limits import require_media_type
from api.schemas import (
    ClearingItemOut,
    ClearingListOut,
    DiscardOut,
    DocTypeOut,
    DocTypesOut,
    FilingOut,
    HouseholdFound,
    HouseholdMemberFound,
    HouseholdSearchOut,
    ImportReportOut,
    binary,
    inbox_ref,
)
from core.errors import InvalidInput, NotFound
from ingest.filing import catalogue_for, learn_from_correction
from records import clearing, duplicates, masterdata

router = APIRouter(prefix="/api", tags=["Klärung und Stammdaten"])

MAX_CSV_BYTES = 50 * 1024 * 1024


@router.get(
    "/doctypes",
    response_model=DocTypesOut,
    summary="Dokumentarten des Katalogs mit Ziel-Postkorb",
)
def list_doctypes(runtime: RuntimeDep, user: UserDep) -> DocTypesOut:
    catalogue = catalogue_for(runtime.settings, runtime.sessions)
    return DocTypesOut(
        doctypes=[
            DocTypeOut(code=rule.code, name=rule.name, target=rule.target)
            for rule in catalogue.types
        ]
    )


@router.get(
    "/clearing",
    response_model=ClearingListOut,
    summary="Klärungsfälle der Scanstelle mit dem Vorschlag der Erkennung",
)
def list_clearing(
    gate: GateDep,
    names: TypeNamesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ClearingListOut:
    total, items = clearing.clearing_queue(gate, limit)
    documents = [item.document for item in items]
    offered = clearing.suggestions(gate.session, documents)
    marks = duplicates.notes_for(gate, documents)
    return ClearingListOut(
        total=total,
        items=[
            ClearingItemOut.of(
                item, names, offered.get(item.document_id, []), marks.get(item.document_id)
            )
            for item in items
        ],
    )


@router.get(
    "/households",
    response_model=HouseholdSearchOut,
    summary="Haushalte suchen (BG-Nummer, Name, Geburtsdatum)",
)
def search_households(
    gate: GateDep,
    q: Annotated[str, Query(min_length=2, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> HouseholdSearchOut:
    """For the clearing desk: master data only, never the content of a file."""
    return HouseholdSearchOut(
        households=[
            HouseholdFound(
                bg_number=household.bg_number,
                active=household.active,
                address=f"{household.street}, {household.postcode} {household.town}",
                caseworker=household.caseworker.name if household.caseworker else None,
                members=[
                    HouseholdMemberFound(
                        name=f"{m.first_name} {m.last_name}",
                        birth_date=m.birth_date,
                        matches=matches,
                    )
                    for m, matches in zip(household.members, found.matches, strict=True)
                ],
            )
            for found in clearing.find_households(gate, q, limit)
            for household in (found.household,)
        ]
    )


class Filing(BaseModel):
    bg_number: str = Field(min_length=5, max_length=40)
    doc_type: str = Field(min_length=1, max_length=60)
    note: str | None = Field(default=None, max_length=1000)


@router.post(
    "/documents/{document_id}/filing",
    response_model=FilingOut,
    summary="Klärungsfall zuordnen: Haushalt und Dokumentart festlegen, in den Postkorb leiten",
)
def file_by_hand(
    document_id: uuid.UUID, body: Filing, runtime: RuntimeDep, gate: GateDep
) -> FilingOut:
    filed = clearing.file_by_hand(
        runtime,
        gate,
        document_id,
        **body.model_dump(),
        types=catalogue_for(runtime.settings, runtime.sessions).types,
        learn=learn_from_correction,
    )
    return FilingOut(
        document_id=filed.document.id,
        bg_number=filed.household.bg_number,
        doc_type=filed.rule.code,
        inbox=inbox_ref(filed.item),
        reason=filed.item.reason,
    )


class Discard(BaseModel):
    reason: str = Field(min_length=3, max_length=1000)


@router.post(
    "/documents/{document_id}/discard",
    response_model=DiscardOut,
    summary="Duplikat in der Klärung verwerfen (mit Grund; das Original bleibt gespeichert)",
)
def discard_duplicate(
    document_id: uuid.UUID, body: Discard, runtime: RuntimeDep, gate: GateDep
) -> DiscardOut:
    return DiscardOut.model_validate(duplicates.discard(runtime, gate, document_id, body.reason))


@router.post(
    "/import/{kind}",
    response_model=ImportReportOut,
    summary="Stammdaten aus dem Fachverfahren einlesen (CSV: staff oder households)",
)
async def import_master_data(kind: str, request: Request, gate: GateDep) -> ImportReportOut:
    masterdata.check_import(gate, kind)
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
    report = masterdata.import_csv(gate, kind, body)
    return ImportReportOut.model_validate(report.as_dict() | {"summary": report.summary()})


@router.get(
    "/documents/{document_id}/pages/{number}/{rendition}",
    response_class=Response,
    responses=binary("image/jpeg", "das Bild (JPEG)"),
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
    document = gate.read_document(document_id, f"document.page.{rendition}")
    page = page_of(document, number)
    key = page.image_key if rendition == "image" else page.thumb_key
    return stored_file(runtime.blobs, key, "image/jpeg", "Für diese Seite gibt es kein Bild.")
