"""Page editing (issue 15): split a document, move pages to another or a new document, remove
or rotate a page. At the desk for its documents (clearing, before the quality check), in the
E-Akte for caseworkers who may see the household. Every change keeps the original, writes new
renditions, files again where the household changes, and is audited (ingest/page_edit.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import RuntimeDep, TypeNamesDep, UserDep
from api.schemas import EditorPageOut, MoveTargetOut, PageEditorOut, PageEditOut
from core.db import transaction
from ingest.page_edit import EditResult, edit_pages
from records import page_edit
from records.access import Gate

router = APIRouter(prefix="/api/documents", tags=["Seiten bearbeiten"])

# Ranges are checked by the service, which answers in words (page 0, page 5 of 3).
PageNumber = Annotated[int, Field(ge=-100_000, le=100_000)]


@router.get(
    "/{document_id}/page-editor",
    response_model=PageEditorOut,
    summary="Seiten eines Dokuments zum Bearbeiten, mit den Schriftstücken, in die Seiten "
    "verschoben werden können",
)
def page_editor(
    document_id: uuid.UUID, runtime: RuntimeDep, user: UserDep, names: TypeNamesDep
) -> PageEditorOut:
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        document, neighbours = page_edit.editor_view(gate, document_id)
        return PageEditorOut(
            id=document.id,
            source_name=document.source_name,
            doc_type_name=names.get(document.doc_type or "", document.doc_type),
            where=page_edit.where_it_is(gate, document),
            derived_from_id=document.derived_from_id,
            pages=[
                EditorPageOut.of(document, page)
                for page in sorted(document.pages, key=lambda p: p.number)
            ],
            targets=[
                MoveTargetOut(
                    id=n.document.id,
                    source_name=n.document.source_name,
                    doc_type_name=names.get(n.document.doc_type or "", n.document.doc_type),
                    page_count=n.document.page_count,
                    received_at=n.document.received_at.isoformat(),
                    where=n.where,
                )
                for n in neighbours
            ],
        )


def _answer(result: EditResult) -> PageEditOut:
    return PageEditOut.model_validate(result)


class SplitIn(BaseModel):
    after: PageNumber = Field(description="Das neue Schriftstück beginnt nach dieser Seite.")


@router.post(
    "/{document_id}/split",
    response_model=PageEditOut,
    summary="Schriftstück teilen: ab der Seite nach `after` ein neues Schriftstück",
)
def split(document_id: uuid.UUID, body: SplitIn, runtime: RuntimeDep, user: UserDep) -> PageEditOut:
    return _answer(edit_pages(runtime, user, document_id, "split", after=body.after))


class MoveIn(BaseModel):
    pages: list[PageNumber] = Field(min_length=1, max_length=1000)
    target_document_id: uuid.UUID | None = Field(
        default=None, description="Ein Schriftstück desselben Haushalts oder Stapels; leer: neu"
    )


@router.post(
    "/{document_id}/move-pages",
    response_model=PageEditOut,
    summary="Seiten in ein anderes oder ein neues Schriftstück verschieben",
)
def move(document_id: uuid.UUID, body: MoveIn, runtime: RuntimeDep, user: UserDep) -> PageEditOut:
    return _answer(
        edit_pages(
            runtime, user, document_id, "move", pages=body.pages, target_id=body.target_document_id
        )
    )


class RemoveIn(BaseModel):
    pages: list[PageNumber] = Field(min_length=1, max_length=1000)
    reason: str = Field(max_length=500)


@router.post(
    "/{document_id}/remove-pages",
    response_model=PageEditOut,
    summary="Seiten entfernen (mit Grund): sie bleiben mit dem Original aufbewahrt, gehören "
    "aber zu keiner Akte mehr",
)
def remove(
    document_id: uuid.UUID, body: RemoveIn, runtime: RuntimeDep, user: UserDep
) -> PageEditOut:
    return _answer(
        edit_pages(runtime, user, document_id, "remove", pages=body.pages, reason=body.reason)
    )


class RotateIn(BaseModel):
    page: PageNumber
    degrees: int = Field(description="90, 180 oder 270: im Uhrzeigersinn", ge=-1000, le=1000)


@router.post(
    "/{document_id}/rotate-page",
    response_model=PageEditOut,
    summary="Eine Seite drehen (90, 180 oder 270 Grad im Uhrzeigersinn)",
)
def rotate(
    document_id: uuid.UUID, body: RotateIn, runtime: RuntimeDep, user: UserDep
) -> PageEditOut:
    return _answer(
        edit_pages(runtime, user, document_id, "rotate", pages=[body.page], degrees=body.degrees)
    )
