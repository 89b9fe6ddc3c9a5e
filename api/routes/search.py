from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import DbDep, RuntimeDep, UserDep
from records import audit
from records.access import visible_access_keys
from search import SearchQuery

router = APIRouter(prefix="/api", tags=["Suche"])


@router.get("/search", summary="Volltextsuche in den Akten, die Sie sehen dürfen")
def search(
    runtime: RuntimeDep,
    db: DbDep,
    user: UserDep,
    q: Annotated[str, Query(max_length=500, description='Suchbegriffe, "Phrasen", BG-Nummern')],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> dict[str, Any]:
    allowed = visible_access_keys(db, user)
    result = runtime.index.search(SearchQuery(q, allowed, limit=limit, offset=offset))
    audit.record(db, user, "search", query=q, total=result.total)
    return {"total": result.total, "hits": [asdict(hit) for hit in result.hits]}
