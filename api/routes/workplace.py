"""The caseworker's workplace: Postkorb, household file (E-Akte), document details, notes,
deputies. Thin routes; the rules live in records.inbox, records.files and records.access."""

from __future__ import annotations

import functools
import shutil
import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import DbDep, GateDep, RuntimeDep, UserDep
from api.routes.documents import readable_document
from ingest.intake import Preset, accept_file
from ingest.routing import catalogue_for
from records import files, inbox
from records.access import RECEIVING_ROLES, Capability, Gate
from records.db import after_commit, transaction
from records.errors import InvalidInput
from records.models import Document, InboxItem, Note, Team, User
from records.reindex import reindex_after_commit, reindex_documents

router = APIRouter(prefix="/api", tags=["Arbeitsplatz"])


def _type_names(runtime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {rule.code: rule.name for rule in catalogue_for(runtime.settings).types}


@router.get("/inbox", summary="Postkorb: eigene, Team- oder Vertretungseinträge")
def get_inbox(
    runtime: RuntimeDep,
    gate: GateDep,
    scope: Annotated[str, Query()] = "mine",
    state: Annotated[str | None, Query()] = "open",
    doc_type: Annotated[str | None, Query()] = None,
    bg_number: Annotated[str | None, Query()] = None,
    sort: Annotated[str, Query()] = "received",
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    total, items = inbox.list_items(
        gate,
        scope=scope,
        state=state,
        doc_type=doc_type,
        bg_number=bg_number,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    names = _type_names(runtime)
    return {"total": total, "items": [inbox.item_out(item, names) for item in items]}


@router.get("/inbox/counts", summary="Zahl der neuen und offenen Einträge je Postkorb")
def get_counts(gate: GateDep) -> dict[str, Any]:
    return inbox.counts(gate)


class ItemAction(BaseModel):
    to_user: str | None = Field(default=None, max_length=100)
    to_team: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=2000)


Action = Literal["read", "unread", "take", "forward", "return", "done", "reopen"]


# Actions that change what the index holds: the household (return to clearing) or the
# document's status (done, reopened), which search filters on.
_REINDEXED = ("return", "done", "reopen")


def _reindex_after_commit(db, runtime, items) -> None:  # type: ignore[no-untyped-def]
    """The index follows the commit, once per document, with no transaction open: its writes
    never hold SQLite's write lock, and a rolled-back action leaves the index alone."""
    document_ids = list(dict.fromkeys(item.document_id for item in items))
    after_commit(db, functools.partial(reindex_documents, runtime, document_ids))


@router.post("/inbox/{item_id}/{action}", summary="Eintrag bearbeiten")
def work_on_item(
    item_id: int,
    action: Action,
    db: DbDep,
    runtime: RuntimeDep,
    gate: GateDep,
    body: ItemAction | None = None,
) -> dict[str, Any]:
    body = body or ItemAction()
    item = inbox.work_item(
        gate,
        item_id,
        action,
        to_user=body.to_user,
        to_team=body.to_team,
        comment=body.comment,
    )
    db.flush()
    if action in _REINDEXED:
        _reindex_after_commit(db, runtime, [item])
    return inbox.item_out(item, _type_names(runtime))


class BulkAction(ItemAction):
    ids: list[int] = Field(min_length=1, max_length=500)
    action: Action


@router.post("/inbox/bulk", summary="Mehrere Einträge auf einmal bearbeiten")
def work_on_items(
    body: BulkAction, db: DbDep, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    """All or nothing: one refused item leaves every item as it was.

    Each item is worked once, however often its id was sent (in the order first sent).
    """
    ids = list(dict.fromkeys(body.ids))
    # The items with their documents and households in two queries, not two per item: the
    # transaction holds SQLite's write lock for as short a time as possible. (Held in a name
    # until the loop is done: the session keeps unchanged rows only while they are referenced.)
    preloaded = db.scalars(
        select(InboxItem)
        .where(InboxItem.id.in_(ids))
        .options(selectinload(InboxItem.document).selectinload(Document.household))
    ).all()
    done = [
        inbox.work_item(
            gate,
            item_id,
            body.action,
            to_user=body.to_user,
            to_team=body.to_team,
            comment=body.comment,
        )
        for item_id in ids
    ]
    del preloaded
    db.flush()
    if body.action in _REINDEXED:
        _reindex_after_commit(db, runtime, done)
    return {"done": len(done)}


@router.get("/staff", summary="Personen und Teams als Ziele für die Weiterleitung")
def list_staff(db: DbDep, gate: GateDep) -> dict[str, Any]:
    gate.require(Capability.INBOX, "staff.list")
    people = db.scalars(
        select(User)
        .where(User.active.is_(True), User.role.in_(RECEIVING_ROLES))
        .order_by(User.name)
    ).all()
    teams = db.scalars(select(Team).order_by(Team.name)).all()
    return {
        "users": [
            {"login": p.login, "name": p.name, "team": p.team.name if p.team else None}
            for p in people
        ],
        "teams": [t.name for t in teams],
    }


@router.get("/households/{bg_number}/file", summary="E-Akte eines Haushalts")
def get_household_file(bg_number: str, runtime: RuntimeDep, gate: GateDep) -> dict[str, Any]:
    return files.household_file(gate, bg_number, _type_names(runtime))


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


@router.post("/households/{bg_number}/notes", status_code=201, summary="Vermerk zur Akte")
def add_household_note(bg_number: str, body: NoteIn, db: DbDep, gate: GateDep) -> dict[str, Any]:
    note, _ = files.add_note(gate, body.text, bg_number=bg_number)
    db.flush()
    return {"id": note.id, "author": note.author_name, "created_at": note.created_at.isoformat()}


@router.post("/documents/{document_id}/notes", status_code=201, summary="Vermerk zum Dokument")
def add_document_note(
    document_id: uuid.UUID, body: NoteIn, db: DbDep, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    note, document = files.add_note(gate, body.text, document_id=document_id)
    assert document is not None
    db.flush()
    # The note is searchable with its document from now on.
    reindex_after_commit(db, runtime, document)
    return {"id": note.id, "author": note.author_name, "created_at": note.created_at.isoformat()}


@router.get("/documents/{document_id}/details", summary="Angaben, Vermerke und Postkorb")
def get_details(
    document_id: uuid.UUID, db: DbDep, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    document = readable_document(gate, document_id, action="document.details")
    notes = db.scalars(
        select(Note).where(Note.document_id == document.id).order_by(Note.created_at.desc())
    ).all()
    summary = files.document_summary(document, _type_names(runtime))
    return summary | {
        "bg_number": document.household.bg_number if document.household else None,
        "notes": [
            {"text": n.text, "author": n.author_name, "created_at": n.created_at.isoformat()}
            for n in notes
        ],
    }


class DetailsIn(BaseModel):
    doc_type: str | None = Field(default=None, max_length=60)
    letter_date: date | None = None
    receipt_date: date | None = None
    dispatch_date: date | None = None
    sender: str | None = Field(default=None, max_length=200)
    bg_number: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=1000)


@router.patch("/documents/{document_id}", summary="Angaben eines Dokuments ändern")
def change_details(
    document_id: uuid.UUID, body: DetailsIn, db: DbDep, runtime: RuntimeDep, gate: GateDep
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    document, changed = files.update_document(
        gate,
        document_id,
        changes,
        reason=reason,
        doc_types=set(_type_names(runtime)),
    )
    db.flush()
    if changed:
        reindex_after_commit(db, runtime, document)
    return {"changed": changed} | files.document_summary(document, _type_names(runtime))


class DeputyIn(BaseModel):
    deputy: str = Field(min_length=1, max_length=100)
    starts_on: date
    ends_on: date
    absent: str | None = Field(default=None, max_length=100)
    # Across teams: who of the team lead agreed (the administration enters such a deputy).
    approved_by: str | None = Field(default=None, max_length=200)


@router.get("/deputies", summary="Meine Vertretungen")
def get_deputies(gate: GateDep) -> dict[str, Any]:
    return files.list_deputies(gate)


@router.post("/deputies", status_code=201, summary="Vertretung eintragen")
def post_deputy(body: DeputyIn, runtime: RuntimeDep, gate: GateDep) -> dict[str, Any]:
    entry = files.name_deputy(
        gate,
        deputy_login=body.deputy,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        max_days=runtime.settings.deputy_max_days,
        absent_login=body.absent,
        approved_by=body.approved_by,
    )
    return files.deputy_out(entry)


@router.delete("/deputies/{deputy_id}", summary="Vertretung beenden")
def delete_deputy(deputy_id: int, gate: GateDep) -> dict[str, Any]:
    return files.deputy_out(files.revoke_deputy(gate, deputy_id))


@router.post(
    "/households/{bg_number}/documents",
    status_code=201,
    summary="In die Akte legen: E-Mail (.eml, Text und Anhänge als ein Dokument) oder "
    "ausgehender Bescheid mit Versanddatum",
)
async def upload_into_file(
    bg_number: str, request: Request, runtime: RuntimeDep, user: UserDep
) -> JSONResponse:
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile):
            raise InvalidInput("Bitte eine Datei auswählen.", code="no_file")
        kind = str(form.get("kind") or "")
        dispatch = str(form.get("dispatch_date") or "").strip()
        body = await run_in_threadpool(
            _file_upload, runtime, user, bg_number, upload_file, kind, dispatch
        )
    finally:
        await form.close()
    return JSONResponse(body, status_code=201)


def _file_upload(  # type: ignore[no-untyped-def]
    runtime, user: User, bg_number: str, upload_file: UploadFile, kind: str, dispatch: str
) -> dict[str, Any]:
    if kind not in ("email", "bescheid"):
        raise InvalidInput("Art muss »email« oder »bescheid« sein.", code="upload_kind")
    dispatch_date = None
    if kind == "bescheid":
        try:
            dispatch_date = date.fromisoformat(dispatch)
        except ValueError:
            raise InvalidInput(
                "Für einen Bescheid bitte das Versanddatum angeben.", code="dispatch_date"
            ) from None
    with transaction(runtime.sessions) as session:
        household, _ = Gate(session, user).household(bg_number, "household.upload")
        preset = Preset(
            household_id=household.id,
            doc_type="bescheid" if kind == "bescheid" else "sonstiges",
            direction="out" if kind == "bescheid" else "in",
            dispatch_date=dispatch_date,
        )
    work = runtime.settings.data_dir / "incoming"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=work, prefix="upload-", delete=False) as spool:
        upload_file.file.seek(0)
        shutil.copyfileobj(upload_file.file, spool, 1024 * 1024)
    path = Path(spool.name)
    try:
        batch, job = accept_file(
            runtime,
            path,
            upload_file.filename,
            user,
            channel="file",
            preset=preset,
            email=kind == "email",
        )
    finally:
        path.unlink(missing_ok=True)
    return {
        "batch_id": str(batch.id),
        "source_name": batch.source_name,
        "job": {"id": job.id, "state": job.state},
    }
