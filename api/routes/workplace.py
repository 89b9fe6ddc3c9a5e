"""The caseworker's workplace: Postkorb, household file (E-Akte), document details, notes,
deputies. Thin routes; the rules live in records.inbox, records.files and records.access."""

from __future__ import annotations

import uuid
from datetime import date
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api import live as live_answers
from api.deps import GateDep, RuntimeDep, TypeNamesDep, UserDep
from api.schemas import (
    ChangesOut,
    Count,
    DeputiesOut,
    DeputyOut,
    DocumentChangedOut,
    DocumentDetailsOut,
    HouseholdFileOut,
    InboxActionOut,
    InboxCountsOut,
    InboxItemOut,
    InboxListOut,
    JobRef,
    NoteCreatedOut,
    SavedViewOut,
    SavedViewsOut,
    StaffMember,
    StaffOut,
    UploadOut,
)
from core.errors import InvalidInput
from ingest.uploads import accept_into_file
from records import duplicates, files, followups, inbox, live, saved_views
from records.models import InboxItem, SavedView

router = APIRouter(prefix="/api", tags=["Arbeitsplatz"])


@router.get(
    "/inbox",
    response_model=InboxListOut,
    summary="Postkorb: eigene, Team- oder Vertretungseinträge",
)
def get_inbox(
    names: TypeNamesDep,
    gate: GateDep,
    scope: Annotated[str, Query()] = "mine",
    state: Annotated[str | None, Query()] = "open",
    doc_type: Annotated[str | None, Query()] = None,
    bg_number: Annotated[str | None, Query()] = None,
    sort: Annotated[str, Query()] = "received",
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> InboxListOut:
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
    marks = duplicates.notes_for(gate, [item.document for item in items])
    return InboxListOut(
        total=total, items=[InboxItemOut.named(item, names, duplicates=marks) for item in items]
    )


@router.get(
    "/inbox/counts",
    response_model=InboxCountsOut,
    summary="Zahl der neuen und offenen Einträge je Postkorb",
)
def get_counts(gate: GateDep) -> InboxCountsOut:
    return InboxCountsOut.model_validate(inbox.counts(gate))


# --- live updates: open pages ask whether anything changed (ETag, 304 when nothing did) ------


# The "…/changes" routes: the same answer (api.live), each about its own page.
changes_route = partial(
    router.get, response_model=ChangesOut, responses=live_answers.CHANGES_RESPONSES
)


@changes_route(
    "/inbox/changes", summary="Hat sich im Postkorb etwas geändert? (ETag, 304 wenn nicht)"
)
def get_inbox_changes(asked: live_answers.ChangesDep, gate: GateDep) -> Response:
    return asked.answer("inbox", lambda: followups.postkorb_token(gate))


@changes_route(
    "/households/{bg_number}/file/changes",
    summary="Hat sich in der E-Akte etwas geändert? (ETag, 304 wenn nicht)",
)
def get_file_changes(bg_number: str, asked: live_answers.ChangesDep, gate: GateDep) -> Response:
    return asked.answer(f"file:{bg_number[:40]}", lambda: live.file_token(gate, bg_number))


# --- saved views -------------------------------------------------------------------------


def _view_out(view: SavedView) -> SavedViewOut:
    return SavedViewOut(
        id=view.id,
        name=view.name,
        query=view.query,
        params=saved_views.params_of(view.page, view.query),
        created_at=view.created_at,
    )


class SavedViewIn(BaseModel):
    # Lengths are checked by records.saved_views (with a German message); these only bound
    # what is read.
    name: str = Field(max_length=1000)
    query: str = Field(default="", max_length=4000)


@router.get("/views/{page}", response_model=SavedViewsOut, summary="Meine gespeicherten Ansichten")
def get_views(page: str, runtime: RuntimeDep, gate: GateDep) -> SavedViewsOut:
    return SavedViewsOut(
        views=[_view_out(v) for v in saved_views.list_views(gate, page)],
        limit=runtime.settings.saved_views_max,
    )


@router.post(
    "/views/{page}",
    status_code=201,
    response_model=SavedViewOut,
    summary="Aktuelle Ansicht unter einem Namen speichern",
)
def post_view(
    page: str, body: SavedViewIn, runtime: RuntimeDep, names: TypeNamesDep, gate: GateDep
) -> SavedViewOut:
    view = saved_views.save_view(
        gate,
        page,
        body.name,
        body.query,
        choices=set(names),
        limit=runtime.settings.saved_views_max,
    )
    return _view_out(view)


@router.delete(
    "/views/{page}/{view_id}", response_model=SavedViewOut, summary="Gespeicherte Ansicht löschen"
)
def delete_view(page: str, view_id: int, gate: GateDep) -> SavedViewOut:
    return _view_out(saved_views.delete_view(gate, page, view_id))


class ItemAction(BaseModel):
    to_user: str | None = Field(default=None, max_length=100)
    to_team: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=2000)


Action = Literal["read", "unread", "take", "forward", "return", "done", "reopen"]


def _acted(item: InboxItem, action: str, names: dict[str, str]) -> InboxActionOut:
    """The item as it is now, with the sentence the Postkorb shows for the action."""
    return InboxActionOut.named(item, names).model_copy(update={"said": inbox.said(item, action)})


class DiscardIn(BaseModel):
    # The reason is checked by records.inbox (with a German message when it is missing).
    reason: str = Field(default="", max_length=2000)


# Before the route of the other actions, whose path it shares.
@router.post(
    "/inbox/{item_id}/discard",
    response_model=InboxActionOut,
    summary="Duplikat aus dem Postkorb verwerfen (mit Grund)",
)
def discard_from_inbox(
    item_id: int, body: DiscardIn, runtime: RuntimeDep, names: TypeNamesDep, gate: GateDep
) -> InboxActionOut:
    item = inbox.discard_duplicate(runtime, gate, item_id, body.reason)
    return _acted(item, "discard", names)


@router.post(
    "/inbox/{item_id}/{action}", response_model=InboxActionOut, summary="Eintrag bearbeiten"
)
def work_on_item(
    item_id: int,
    action: Action,
    runtime: RuntimeDep,
    names: TypeNamesDep,
    gate: GateDep,
    body: ItemAction | None = None,
) -> InboxActionOut:
    how = (body or ItemAction()).model_dump()
    item = inbox.act(runtime, gate, item_id, action, **how)
    return _acted(item, action, names)


class BulkAction(ItemAction):
    ids: list[int] = Field(min_length=1, max_length=500)
    action: Action


@router.post("/inbox/bulk", response_model=Count, summary="Mehrere Einträge auf einmal bearbeiten")
def work_on_items(body: BulkAction, runtime: RuntimeDep, gate: GateDep) -> Count:
    """All or nothing: one refused item leaves every item as it was."""
    how = body.model_dump(exclude={"ids", "action"})
    done = inbox.act_on_many(runtime, gate, body.ids, body.action, **how)
    return Count(done=len(done))


@router.get(
    "/staff",
    response_model=StaffOut,
    summary="Personen und Teams als Ziele für die Weiterleitung",
)
def list_staff(gate: GateDep) -> StaffOut:
    people, teams = inbox.forward_targets(gate)
    return StaffOut(
        users=[
            StaffMember(login=p.login, name=p.name, team=p.team.name if p.team else None)
            for p in people
        ],
        teams=[t.name for t in teams],
    )


@router.get(
    "/households/{bg_number}/file",
    response_model=HouseholdFileOut,
    summary="E-Akte eines Haushalts",
)
def get_household_file(bg_number: str, names: TypeNamesDep, gate: GateDep) -> HouseholdFileOut:
    file = files.household_file(gate, bg_number)
    return HouseholdFileOut.of(file, names, duplicates.notes_for(gate, file.documents))


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


@router.post(
    "/households/{bg_number}/notes",
    status_code=201,
    response_model=NoteCreatedOut,
    summary="Vermerk zur Akte",
)
def add_household_note(
    bg_number: str, body: NoteIn, runtime: RuntimeDep, gate: GateDep
) -> NoteCreatedOut:
    note = files.note_on_household(runtime, gate, bg_number, body.text)
    return NoteCreatedOut.model_validate(note)


@router.post(
    "/documents/{document_id}/notes",
    status_code=201,
    response_model=NoteCreatedOut,
    summary="Vermerk zum Dokument",
)
def add_document_note(
    document_id: uuid.UUID, body: NoteIn, runtime: RuntimeDep, gate: GateDep
) -> NoteCreatedOut:
    # The note is searchable with its document from now on.
    note = files.note_on_document(runtime, gate, document_id, body.text)
    return NoteCreatedOut.model_validate(note)


@router.get(
    "/documents/{document_id}/details",
    response_model=DocumentDetailsOut,
    summary="Angaben, Vermerke und Postkorb",
)
def get_details(document_id: uuid.UUID, names: TypeNamesDep, gate: GateDep) -> DocumentDetailsOut:
    document, notes = files.document_details(gate, document_id)
    return DocumentDetailsOut.of_details(document, notes, names)


class DetailsIn(BaseModel):
    doc_type: str | None = Field(default=None, max_length=60)
    letter_date: date | None = None
    receipt_date: date | None = None
    dispatch_date: date | None = None
    sender: str | None = Field(default=None, max_length=200)
    bg_number: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=1000)


@router.patch(
    "/documents/{document_id}",
    response_model=DocumentChangedOut,
    summary="Angaben eines Dokuments ändern",
)
def change_details(
    document_id: uuid.UUID, body: DetailsIn, runtime: RuntimeDep, names: TypeNamesDep, gate: GateDep
) -> DocumentChangedOut:
    changes = body.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    document, changed = files.update_document(
        runtime, gate, document_id, changes, reason=reason, doc_types=set(names)
    )
    return DocumentChangedOut.of_change(document, changed, names)


class DeputyIn(BaseModel):
    deputy: str = Field(min_length=1, max_length=100)
    starts_on: date
    ends_on: date
    absent: str | None = Field(default=None, max_length=100)
    # Across teams: who of the team lead agreed (the administration enters such a deputy).
    approved_by: str | None = Field(default=None, max_length=200)


@router.get("/deputies", response_model=DeputiesOut, summary="Meine Vertretungen")
def get_deputies(gate: GateDep) -> DeputiesOut:
    mine, for_others = files.list_deputies(gate)
    return DeputiesOut(
        my_deputies=[DeputyOut.model_validate(d) for d in mine],
        i_stand_in_for=[DeputyOut.model_validate(d) for d in for_others],
    )


@router.post("/deputies", status_code=201, response_model=DeputyOut, summary="Vertretung eintragen")
def post_deputy(body: DeputyIn, runtime: RuntimeDep, gate: GateDep) -> DeputyOut:
    entry = files.name_deputy(
        gate,
        deputy_login=body.deputy,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        max_days=runtime.settings.deputy_max_days,
        absent_login=body.absent,
        approved_by=body.approved_by,
    )
    return DeputyOut.model_validate(entry)


@router.delete("/deputies/{deputy_id}", response_model=DeputyOut, summary="Vertretung beenden")
def delete_deputy(deputy_id: int, gate: GateDep) -> DeputyOut:
    return DeputyOut.model_validate(files.revoke_deputy(gate, deputy_id))


@router.post(
    "/households/{bg_number}/documents",
    status_code=201,
    response_model=UploadOut,
    summary="In die Akte legen: E-Mail (.eml, Text und Anhänge als ein Dokument) oder "
    "ausgehender Bescheid mit Versanddatum",
)
async def upload_into_file(
    bg_number: str, request: Request, runtime: RuntimeDep, user: UserDep
) -> UploadOut:
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile):
            raise InvalidInput("Bitte eine Datei auswählen.", code="no_file")
        batch, job = await run_in_threadpool(
            accept_into_file,
            runtime,
            user,
            bg_number,
            upload_file.file,
            upload_file.filename,
            kind=str(form.get("kind") or ""),
            dispatch=str(form.get("dispatch_date") or "").strip(),
        )
    finally:
        await form.close()
    return UploadOut(
        batch_id=batch.id, source_name=batch.source_name, job=JobRef(id=job.id, state=job.state)
    )
