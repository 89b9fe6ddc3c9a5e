"""The scanning desk: batches with live progress, quality check, scan records, hash checks."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import GateDep, RuntimeDep
from api.schemas import (
    BatchListOut,
    BatchOut,
    DocumentOut,
    JobOut,
    JobRef,
    ScanRecordOut,
    VerificationOut,
)
from ingest.qa import approve_many, decide
from ingest.verify import VERIFY_JOB
from records import desk
from records.scanrecord import scan_record

router = APIRouter(prefix="/api", tags=["Scanstelle"])


@router.get(
    "/batches",
    response_model=BatchListOut,
    summary="Stapel der Scanstelle mit Fortschritt und geschätzter Restzeit",
)
def list_batches(
    gate: GateDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> BatchListOut:
    return BatchListOut.of(desk.list_batches(gate, limit))


@router.get(
    "/batches/{batch_id}",
    response_model=BatchOut,
    summary="Stand eines Stapels: Seiten, Fortschritt, Dokumente",
)
def get_batch(batch_id: uuid.UUID, gate: GateDep) -> BatchOut:
    return BatchOut.of(desk.read_batch(gate, batch_id))


class QaDecision(BaseModel):
    decision: Literal["approve", "reject", "undo"]
    counted_pages: int | None = Field(default=None, ge=0, le=100_000)
    note: str | None = Field(default=None, max_length=2000)


@router.post(
    "/documents/{document_id}/qa",
    response_model=DocumentOut,
    summary="Qualitätskontrolle: freigeben oder ablehnen",
)
def quality_check(
    document_id: uuid.UUID, body: QaDecision, runtime: RuntimeDep, gate: GateDep
) -> DocumentOut:
    return DocumentOut.model_validate(decide(runtime, gate, document_id, **body.model_dump()))


class CountedDocument(BaseModel):
    id: uuid.UUID
    counted_pages: int | None = Field(default=None, ge=0, le=100_000)


class BulkApproval(BaseModel):
    documents: list[CountedDocument] = Field(min_length=1, max_length=200)


class BulkResult(BaseModel):
    id: uuid.UUID
    approved: bool
    message: str = Field(description="freigegeben, oder warum nicht (deutsch)")


class BulkApprovalOut(BaseModel):
    results: list[BulkResult]


@router.post(
    "/qa-approvals",
    response_model=BulkApprovalOut,
    summary="Qualitätskontrolle: mehrere Dokumente freigeben, jedes mit gezählter Seitenzahl",
)
def approve_selected(body: BulkApproval, runtime: RuntimeDep, gate: GateDep) -> BulkApprovalOut:
    counted = [(entry.id, entry.counted_pages) for entry in body.documents]
    return BulkApprovalOut(
        results=[
            BulkResult(id=o.document_id, approved=o.approved, message=o.message)
            for o in approve_many(runtime, gate, counted)
        ]
    )


@router.get(
    "/documents/{document_id}/scan-record",
    response_model=ScanRecordOut,
    summary="Transfervermerk eines Dokuments",
)
def get_scan_record(document_id: uuid.UUID, gate: GateDep) -> ScanRecordOut:
    document = gate.read_document(document_id, "document.scan_record")
    return ScanRecordOut.model_validate(scan_record(document))


@router.post(
    "/verifications",
    status_code=202,
    response_model=VerificationOut,
    summary="Alle gespeicherten Prüfsummen prüfen",
)
def start_verification(gate: GateDep) -> VerificationOut:
    job = desk.request_verification(gate, VERIFY_JOB)
    return VerificationOut(job=JobRef(id=job.id, state=job.state))


@router.get("/jobs/{job_id}", response_model=JobOut, summary="Stand eines Auftrags")
def get_job(job_id: int, gate: GateDep) -> JobOut:
    return JobOut.model_validate(desk.read_job(gate, job_id))
