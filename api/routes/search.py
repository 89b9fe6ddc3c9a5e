"""Full-text search in the files the user may see, with filters and facet counts.

Every filter that concerns households (need-to-know, a household, a team) narrows the set of
access keys the index filters on inside its query, so hits, total and facets never count a
document of a household the user may not see.

`status` filters by where a document stands, as `eakte documents` says: `routed` (open in an
inbox), `clearing` or `done` (worked off); every inbox action that changes it re-indexes the
document at once. `direction` filters incoming (`in`) and outgoing (`out`) documents.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import RuntimeDep, UserDep
from api.schemas import Out, SearchFacets, SearchHitOut, SearchOut
from records.file_search import SearchFilters, search_files, search_teams

router = APIRouter(prefix="/api", tags=["Suche"])

Direction = Literal["in", "out"]
Status = Literal["routed", "clearing", "done"]


@router.get(
    "/search", response_model=SearchOut, summary="Volltextsuche in den Akten, die Sie sehen dürfen"
)
def search(
    runtime: RuntimeDep,
    user: UserDep,
    q: Annotated[
        str,
        Query(
            max_length=500,
            description='Suchbegriffe, "Phrasen", BG-Nummern, IBANs, Aktenzeichen, Daten',
        ),
    ],
    bg_number: Annotated[str | None, Query(description="nur diese Bedarfsgemeinschaft")] = None,
    doc_type: Annotated[list[str] | None, Query(description="Dokumentart(en)")] = None,
    receipt_from: Annotated[
        date | None, Query(alias="from", description="Eingangsdatum ab (JJJJ-MM-TT)")
    ] = None,
    receipt_to: Annotated[
        date | None, Query(alias="to", description="Eingangsdatum bis (JJJJ-MM-TT)")
    ] = None,
    team: Annotated[
        str | None,
        Query(description="Haushalte mit Sachbearbeitung oder Fallmanagement im Team"),
    ] = None,
    direction: Annotated[Direction | None, Query(description="in = Eingang, out = Ausgang")] = None,
    status: Annotated[
        list[Status] | None,
        Query(description="routed = offen im Postkorb, clearing = Klärung, done = erledigt"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=9_900)] = 0,
) -> SearchOut:
    result = search_files(
        runtime,
        user,
        q,
        SearchFilters(
            bg_number=bg_number,
            doc_types=tuple(doc_type or ()),
            receipt_from=receipt_from,
            receipt_to=receipt_to,
            team=team,
            direction=direction,
            statuses=tuple(status or ()),
        ),
        limit=limit,
        offset=offset,
    )
    return SearchOut(
        total=result.total,
        hits=[SearchHitOut.of(hit, q) for hit in result.hits],
        facets=SearchFacets(
            **{name: result.facets.get(name, {}) for name in ("doc_type", "year", "household")}
        ),
    )


class SearchTeamsOut(Out):
    teams: list[str]


@router.get(
    "/search/teams", response_model=SearchTeamsOut, summary="Teams für den Filter der Suche"
)
def teams(runtime: RuntimeDep, user: UserDep) -> SearchTeamsOut:
    return SearchTeamsOut(teams=search_teams(runtime, user))
