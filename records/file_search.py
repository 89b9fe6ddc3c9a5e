"""Full-text search in the files the user may see, with filters and facet counts.

Every filter that concerns households (need-to-know, a household, a team) narrows the set of
access keys the index filters on inside its query, so hits, total and facets never count a
document of a household the user may not see.

Three steps, so that no database transaction is open while the index answers (on SQLite every
transaction holds the write lock, and concurrent searches would wait for each other): who may
see what, in one transaction; the index's answer, outside any; the audit row, in a second
transaction. Nothing is answered unless the search is in the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.db import transaction
from core.errors import InvalidInput, NotFound
from records import audit
from records.access import Capability, Gate, absent_colleagues, visible_access_keys
from records.identifiers import normalize_bg_number
from records.models import Household, Team, User
from records.runtime import Runtime
from search import SearchQuery, SearchResult

# Where a document stands and which way it went, as the index's filters know them.
STATUSES = ("routed", "clearing", "done")
DIRECTIONS = ("in", "out")
# The filters a search page keeps in its address, beside the words `q` (records.neighbours
# keeps the same ones for previous/next of a hit's document page).
FILTER_PARAMS = ("bg_number", "doc_type", "from", "to", "status", "direction", "team")


@dataclass(frozen=True)
class SearchFilters:
    bg_number: str | None = None
    doc_types: tuple[str, ...] = ()
    receipt_from: date | None = None
    receipt_to: date | None = None
    team: str | None = None
    direction: str | None = None
    statuses: tuple[str, ...] = ()

    def for_audit(self) -> dict[str, object]:
        """The filters as the audit row names them (only those given)."""
        named = {
            "bg_number": self.bg_number,
            "doc_type": list(self.doc_types),
            "from": self.receipt_from.isoformat() if self.receipt_from else None,
            "to": self.receipt_to.isoformat() if self.receipt_to else None,
            "team": self.team,
            "direction": self.direction,
            "status": list(self.statuses),
        }
        return {key: value for key, value in named.items() if value}

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SearchFilters:
        """The filters of a page's address (`from=2026-01-01&status=done`); a value the
        search does not know is refused with a German message, an empty one is no filter."""

        def day(name: str, label: str) -> date | None:
            text = params.get(name, "").strip()
            try:
                return date.fromisoformat(text) if text else None
            except ValueError:
                raise InvalidInput(
                    f"»{text[:20]}« ist kein Datum für »{label}« (TT.MM.JJJJ).", code="date_invalid"
                ) from None

        status = params.get("status", "")
        direction = params.get("direction", "")
        if status and status not in STATUSES:
            raise InvalidInput(f"Unbekannter Stand »{status[:20]}«.", code="status_unknown")
        if direction and direction not in DIRECTIONS:
            raise InvalidInput(f"Unbekannte Richtung »{direction[:20]}«.", code="direction_unknown")
        return cls(
            bg_number=params.get("bg_number", "").strip() or None,
            doc_types=(params["doc_type"],) if params.get("doc_type") else (),
            receipt_from=day("from", "Eingang ab"),
            receipt_to=day("to", "Eingang bis"),
            team=params.get("team") or None,
            direction=direction or None,
            statuses=(status,) if status else (),
        )


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


def _may_search(gate: Gate) -> bool:
    return gate.may(Capability.CASE_FILES) or gate.may(Capability.CLEARING)


def search_teams(runtime: Runtime, user: User) -> list[str]:
    """The teams the search's team filter offers, by name."""
    with transaction(runtime.sessions) as db:
        gate = Gate(db, user)
        if not _may_search(gate):
            raise gate.refuse("search.teams")
        return list(db.scalars(select(Team.name).order_by(Team.name)))


def search_files(
    runtime: Runtime,
    user: User,
    q: str,
    filters: SearchFilters,
    *,
    limit: int,
    offset: int,
) -> SearchResult:
    if filters.receipt_from and filters.receipt_to and filters.receipt_from > filters.receipt_to:
        raise InvalidInput("Das Eingangsdatum »ab« liegt nach »bis«.", code="date_range")
    with transaction(runtime.sessions) as db:
        gate = Gate(db, user)
        if not _may_search(gate):
            raise gate.refuse("search", query=q)
        allowed = visible_access_keys(db, user)
        absent = [a.login for a in absent_colleagues(db, user)]
        if filters.bg_number is not None:
            normalized = normalize_bg_number(filters.bg_number)
            if normalized is None:
                raise InvalidInput(f"»{filters.bg_number}« ist keine BG-Nummer.", code="bg_invalid")
            allowed &= {normalized}
        if filters.team is not None:
            allowed &= team_households(db, filters.team)
    result = runtime.index.search(
        SearchQuery(
            q,
            allowed,
            limit=limit,
            offset=offset,
            doc_types=frozenset(filters.doc_types),
            receipt_from=filters.receipt_from,
            receipt_to=filters.receipt_to,
            direction=filters.direction,
            statuses=frozenset(filters.statuses),
            facets=True,
        )
    )
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
            filters=filters.for_audit(),
            stand_in_for=absent or None,
            households=sorted({hit.bg_number for hit in result.hits if hit.bg_number}),
        )
    return result
