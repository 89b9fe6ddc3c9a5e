"""File exports (Aktenauszug): the form's options, creating an export, the records, the PDF."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import GateDep, RuntimeDep, TypeNamesDep, UserDep
from api.downloads import pdf_answer, zip_answer
from api.schemas import ExportOptionsOut, ExportOut, ExportsOut, binary
from core.db import transaction
from records import file_exports as exports
from records.access import Gate
from records.models import User
from records.runtime import Runtime

router = APIRouter(prefix="/api", tags=["Aktenauszug"])


@router.get(
    "/households/{bg_number}/export-options",
    response_model=ExportOptionsOut,
    summary="Aktenauszug vorbereiten: Dokumente (die des Falls vorausgewählt), Rechtsgrundlagen",
)
def export_options(
    bg_number: str,
    names: TypeNamesDep,
    gate: GateDep,
    objection_id: Annotated[int | None, Query()] = None,
    appeal_id: Annotated[int | None, Query()] = None,
) -> ExportOptionsOut:
    found = exports.options(gate, bg_number, objection_id=objection_id, appeal_id=appeal_id)
    return ExportOptionsOut.of(found, names)


class WithheldIn(BaseModel):
    document_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=300)


class ExportIn(BaseModel):
    bg_number: str = Field(min_length=1, max_length=40)
    recipient: str = Field(min_length=1, max_length=300)
    legal_basis: str = Field(min_length=1, max_length=30)
    document_ids: list[uuid.UUID] | None = Field(default=None, max_length=5000)
    withheld: list[WithheldIn] = Field(default_factory=list, max_length=5000)
    objection_id: int | None = None
    appeal_id: int | None = None


@router.post(
    "/exports",
    status_code=201,
    response_model=ExportOut,
    summary="Aktenauszug erstellen (ein PDF) und vermerken",
)
async def create_export(
    body: ExportIn, runtime: RuntimeDep, names: TypeNamesDep, user: UserDep
) -> ExportOut:
    # Building the PDF reads and writes files: off the event loop, in a transaction of its own.
    return await run_in_threadpool(_create, runtime, names, user, body)


def _create(runtime: Runtime, names: dict[str, str], user: User, body: ExportIn) -> ExportOut:
    # Checked and planned in one transaction, built (seconds for a long file) outside any, and
    # recorded in another: on SQLite a transaction holds the write lock for everybody.
    work = runtime.settings.data_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    with transaction(runtime.sessions) as session:
        plan = exports.plan_export(
            Gate(session, user),
            names=names,
            **body.model_dump(exclude={"withheld"}),
            withheld={entry.document_id: entry.reason for entry in body.withheld},
            job_centre=runtime.settings.job_centre_name,
        )
    built = exports.build_planned_export(plan, runtime.blobs, work)
    with transaction(runtime.sessions) as session:
        record = exports.record_export(Gate(session, user), plan, built)
        session.flush()
        return ExportOut.model_validate(record)


@router.get(
    "/households/{bg_number}/exports",
    response_model=ExportsOut,
    summary="Aktenauszüge einer Akte",
)
def list_exports(bg_number: str, gate: GateDep) -> ExportsOut:
    return ExportsOut.model_validate({"exports": exports.exports_of_household(gate, bg_number)})


@router.get(
    "/exports/{export_id}", response_model=ExportOut, summary="Vermerk über einen Aktenauszug"
)
def get_export(export_id: int, gate: GateDep) -> ExportOut:
    return ExportOut.model_validate(exports.readable_export(gate, export_id, "export.read"))


@router.get(
    "/exports/{export_id}/pdf",
    response_class=Response,
    responses=binary("application/pdf", "das PDF des Aktenauszugs"),
    summary="Aktenauszug herunterladen (PDF)",
)
def download_export(export_id: int, runtime: RuntimeDep, gate: GateDep) -> Response:
    return pdf_answer(*exports.export_pdf(gate, runtime.blobs, export_id))


@router.get(
    "/exports/{export_id}/parts/{number}",
    response_class=Response,
    responses=binary("application/zip", "ein Teil des Ordners für das Gericht (ZIP)"),
    summary="Ordner für das Gericht: einen Teil herunterladen (ZIP mit xjustiz_nachricht.xml)",
)
def download_export_part(
    export_id: int, number: int, runtime: RuntimeDep, gate: GateDep
) -> Response:
    return zip_answer(*exports.export_part(gate, runtime.blobs, export_id, number))
