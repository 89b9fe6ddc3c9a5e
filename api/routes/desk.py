"""The scanning desk: batches with live progress, quality check, scan records, hash checks."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api.deps import DbDep, GateDep, RuntimeDep
from api.routes.documents import document_out, load_batch, readable_document
from ingest.qa import decide
from ingest.verify import VERIFY_JOB
from records.access import Capability
from records.db import utcnow
from records.errors import NotFound
from records.jobs import enqueue
from records.models import Job, ScanBatch
from records.scanrecord import scan_record

router = APIRouter(prefix="/api", tags=["Scanstelle"])


def _seconds_per_page(db) -> float | None:  # type: ignore[no-untyped-def]
    """How long a page took in the batches of the last day: the basis of the time estimate."""
    since = utcnow() - timedelta(days=1)
    finished = db.execute(
        select(ScanBatch.started_at, ScanBatch.finished_at, ScanBatch.pages_total).where(
            ScanBatch.status == "processed", ScanBatch.finished_at > since
        )
    ).all()
    pages = sum(row.pages_total for row in finished)
    seconds = sum(
        (row.finished_at - row.started_at).total_seconds() for row in finished if row.started_at
    )
    return seconds / pages if pages else None


@router.get("/batches", summary="Stapel der Scanstelle mit Fortschritt und geschätzter Restzeit")
def list_batches(
    db: DbDep,
    gate: GateDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    gate.listing(Capability.SCAN, "batches.list")
    # What caseworkers filed themselves (e-mails, decisions) never passes the desk.
    newest = (
        select(ScanBatch)
        .where(ScanBatch.channel != "file")
        .order_by(ScanBatch.received_at.desc())
        .limit(limit)
    )
    batches = list(db.scalars(newest))
    per_page = _seconds_per_page(db)
    open_pages = 0
    items = []
    for batch in reversed(batches):  # oldest first: the queue works them in that order
        item = load_batch(db, batch.id)
        if batch.status in ("received", "processing"):
            open_pages += batch.pages_total - batch.pages_done
            item["seconds_left"] = round(open_pages * per_page) if per_page else None
        else:
            item["seconds_left"] = 0
        items.append(item)
    by_status = (
        select(ScanBatch.status, func.count())
        .where(ScanBatch.channel != "file")
        .group_by(ScanBatch.status)
    )
    counts = {status: count for status, count in db.execute(by_status).all()}
    return {"batches": list(reversed(items)), "counts": counts, "seconds_per_page": per_page}


@router.get("/batches/{batch_id}", summary="Stand eines Stapels: Seiten, Fortschritt, Dokumente")
def get_batch(batch_id: uuid.UUID, db: DbDep, gate: GateDep) -> dict[str, Any]:
    gate.require(Capability.SCAN, "batch.read", object_type="batch", object_id=batch_id)
    batch = db.get(ScanBatch, batch_id)
    if batch is None or batch.channel == "file":
        raise gate.refuse(
            "batch.read", "Stapel nicht gefunden.", object_type="batch", object_id=batch_id
        )
    gate.record("batch.read", object_type="batch", object_id=batch_id)
    return load_batch(db, batch_id)


class QaDecision(BaseModel):
    decision: Literal["approve", "reject", "undo"]
    counted_pages: int | None = Field(default=None, ge=0, le=100_000)
    note: str | None = Field(default=None, max_length=2000)


@router.post("/documents/{document_id}/qa", summary="Qualitätskontrolle: freigeben oder ablehnen")
def quality_check(
    document_id: uuid.UUID, body: QaDecision, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    document = decide(
        runtime,
        gate,
        document_id,
        body.decision,
        counted_pages=body.counted_pages,
        note=body.note,
    )
    return document_out(document)


@router.get("/documents/{document_id}/scan-record", summary="Transfervermerk eines Dokuments")
def get_scan_record(document_id: uuid.UUID, gate: GateDep) -> dict[str, Any]:
    document = readable_document(gate, document_id, action="document.scan_record")
    return scan_record(document)


@router.post("/verifications", status_code=202, summary="Alle gespeicherten Prüfsummen prüfen")
def start_verification(db: DbDep, gate: GateDep) -> dict[str, Any]:
    gate.require(Capability.VERIFY_STORE, "store.verify.requested")
    job = enqueue(db, VERIFY_JOB, None, 1)
    job.created_by_login = gate.user.login
    db.flush()
    gate.record("store.verify.requested", object_type="job", object_id=job.id)
    return {"job": {"id": job.id, "state": job.state}}


@router.get("/jobs/{job_id}", summary="Stand eines Auftrags")
def get_job(job_id: int, db: DbDep, gate: GateDep) -> dict[str, Any]:
    if not (gate.may(Capability.SCAN) or gate.may(Capability.VERIFY_STORE)):
        raise gate.refuse("job.read", object_type="job", object_id=job_id)
    job = db.get(Job, job_id)
    if job is None:
        raise NotFound("Auftrag nicht gefunden.")
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "attempts": job.attempts,
        "error": job.last_error,
        "result": job.result,
    }
