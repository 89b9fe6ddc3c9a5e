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
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.deps import RuntimeDep, UserDep
from records import audit
from records.access import Capability, Gate, absent_colleagues, visible_access_keys
from records.db import transaction
from records.errors import InvalidInput, NotFound
from records.identifiers import normalize_bg_number
from records.models import Household, Team, User
from search import SearchHit, SearchQuery

router = APIRouter(prefix="/api", tags=["Suche"])

Direction = Literal["in", "out"]
Status = Literal["routed", "clearing", "done"]


def team_households(session: Session, team_name: str) -> frozenset[str]:
    """BG numbers of the households whose caseworker or case manager belongs to the team."""
    team = session.scalar(select(Team).where(Team.name == team_name))
    if team is None:
        raise NotFound(f"Das Team »{team_name}« gibt es nicht.", code="team_unknown")
    members = select(User.id).where(User.team_id == team.id)
    return frozenset(
        session.scalars(
            select(Household.bg_number).where(
                or_(Household.caseworker_id.in_(members), Household.case_manager_id.in_(members))
            )
        )
    )


def hit_out(hit: SearchHit, q: str) -> dict[str, Any]:
    viewer = {"doc": hit.document_id, "page": hit.page, "q": q}
    return {
        "document_id": hit.document_id,
        "bg_number": hit.bg_number,
        "doc_type": hit.doc_type,
        "source_name": hit.source_name,
        "page": hit.page,
        "snippet": hit.snippet,
        "score": round(hit.score, 4),
        "receipt_date": hit.receipt_date.isoformat() if hit.receipt_date else None,
        "direction": hit.direction,
        "status": hit.status,
        # Opens the document at the page of the hit with the search terms marked.
        "viewer_url": f"/viewer?{urlencode(viewer)}",
    }


@router.get("/search", summary="Volltextsuche in den Akten, die Sie sehen dürfen")
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
) -> dict[str, Any]:
    if receipt_from and receipt_to and receipt_from > receipt_to:
        raise InvalidInput("Das Eingangsdatum »ab« liegt nach »bis«.", code="date_range")
    # Three steps, so that no database transaction is open while the index answers: on SQLite
    # every transaction holds the write lock, and concurrent searches would wait for each other.
    with transaction(runtime.sessions) as db:
        gate = Gate(db, user)
        if not (gate.may(Capability.CASE_FILES) or gate.may(Capability.CLEARING)):
            raise gate.refuse("search", query=q)
        allowed = visible_access_keys(db, user)
        absent = [a.login for a in absent_colleagues(db, user)]
        if bg_number is not None:
            normalized = normalize_bg_number(bg_number)
            if normalized is None:
                raise InvalidInput(f"»{bg_number}« ist keine BG-Nummer.", code="bg_invalid")
            allowed &= {normalized}
        if team is not None:
            allowed &= team_households(db, team)
    result = runtime.index.search(
        SearchQuery(
            q,
            allowed,
            limit=limit,
            offset=offset,
            doc_types=frozenset(doc_type or ()),
            receipt_from=receipt_from,
            receipt_to=receipt_to,
            direction=direction,
            statuses=frozenset(status or ()),
            facets=True,
        )
    )
    filters = {
        "bg_number": bg_number,
        "doc_type": doc_type,
        "from": receipt_from.isoformat() if receipt_from else None,
        "to": receipt_to.isoformat() if receipt_to else None,
        "team": team,
        "direction": direction,
        "status": status,
    }
    # Nothing is answered unless the search is in the audit log.
    with transaction(runtime.sessions) as db:
        # A deputy searches the absent colleagues' files too: the row says for whom.
        stand_in = db.scalar(select(User).where(User.login == absent[0])) if absent else None
        audit.record(
            db,
            user,
            "search",
            on_behalf_of=stand_in if len(absent) == 1 else None,
            query=q,
            total=result.total,
            filters={k: v for k, v in filters.items() if v},
            stand_in_for=absent or None,
            households=sorted({hit.bg_number for hit in result.hits if hit.bg_number}),
        )
    facets = {name: result.facets.get(name, {}) for name in ("doc_type", "year", "household")}
    return {
        "total": result.total,
        "hits": [hit_out(hit, q) for hit in result.hits],
        "facets": facets,
    }
