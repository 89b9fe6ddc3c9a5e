"""Saved views: a user's named views of a list page (today the Postkorb), each the page's query
string as the page keeps it in its address (tab, filters, sort).

A view belongs to one user: nobody else lists, opens or deletes it (another user's view is
"not found", as one that does not exist). The query is stored only as the server rebuilt it
from the page's known parameters with known values; anything else is refused, so what a page
later builds a link from is never a string a client chose.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select

from core.errors import Conflict, InvalidInput, NotFound
from records.access import Capability, Gate
from records.file_search import DIRECTIONS, STATUSES
from records.files import FILE_SORTS, FILE_TABS
from records.inbox import SORTS, STATES, TABS
from records.models import SavedView, User

NAME_MAX = 100  # the column's length
QUERY_MAX = 1000  # the column's length


@dataclass(frozen=True)
class ViewPage:
    """A page whose views can be saved: who may use it, and its parameters with their
    defaults (a default is left out of the stored query) and the values each may take (None:
    the values the caller passes as `choices`, e.g. the catalogue's document types)."""

    capability: Capability
    params: tuple[tuple[str, str, tuple[str, ...] | None], ...]
    ignored: frozenset[str]  # what the address holds that is no part of a view (row, page)
    free: frozenset[str] = frozenset()  # parameters of any text (a search's words, a date)


PAGES: dict[str, ViewPage] = {
    "postkorb": ViewPage(
        Capability.INBOX,
        (
            ("tab", "mine", TABS),
            ("state", "open", STATES),
            ("sort", "received", tuple(SORTS)),
            ("doc_type", "", None),
        ),
        frozenset({"item", "page"}),
    ),
    # The search page (issue 15, search15b): words and filters; doc_type and team from the
    # caller's `choices` (the catalogue's codes and the teams' names).
    "suche": ViewPage(
        Capability.CASE_FILES,
        (
            ("q", "", None),
            ("bg_number", "", None),
            ("doc_type", "", None),
            ("from", "", None),
            ("to", "", None),
            ("status", "", STATUSES),
            ("direction", "", DIRECTIONS),
            ("team", "", None),
        ),
        frozenset({"offset"}),
        frozenset({"q", "bg_number", "from", "to"}),
    ),
    # The E-Akte (issue 15, akte15b): a view of any file, without the selected document.
    "akte": ViewPage(
        Capability.CASE_FILES,
        (("tab", "by_type", FILE_TABS), ("doc_type", "", None), ("sort", "newest", FILE_SORTS)),
        frozenset({"doc", "gespeichert"}),
    ),
}


def _page(gate: Gate, page: str, action: str) -> ViewPage:
    spec = PAGES.get(page)
    if spec is None:
        raise NotFound(f"Für die Seite »{page[:30]}« gibt es keine gespeicherten Ansichten.")
    gate.require(spec.capability, action)
    return spec


def params_of(page: str, query: str) -> dict[str, str]:
    """A stored (normalised) query as its parameters, defaults filled in."""
    spec = PAGES[page]
    given = dict(parse_qsl(query))
    return {name: given.get(name, default) for name, default, _ in spec.params}


def normalise(page: str, query: str, choices: Collection[str] = ()) -> str:
    """The query string rebuilt from the page's known parameters (fixed order, defaults left
    out); an unknown parameter or value is refused with a German message."""
    spec = PAGES[page]
    if len(query) > QUERY_MAX:
        raise InvalidInput("Die Ansicht ist zu lang, um gespeichert zu werden.", code="view_query")
    try:
        pairs = parse_qsl(query.removeprefix("?"), keep_blank_values=True, max_num_fields=20)
    except ValueError as error:
        raise InvalidInput("Die Ansicht hat zu viele Einstellungen.", code="view_query") from error
    known = {name: (default, allowed) for name, default, allowed in spec.params}
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in spec.ignored:
            continue
        if name not in known:
            raise InvalidInput(
                f"Unbekannte Einstellung »{name[:40]}« in der Ansicht.", code="view_query"
            )
        if name in values and values[name] != value:
            raise InvalidInput(
                f"Die Einstellung »{name}« steht zweimal in der Ansicht.", code="view_query"
            )
        default, allowed = known[name]
        free = name in spec.free
        if value and value != default and not free and value not in (allowed or choices):
            raise InvalidInput(
                f"Unbekannter Wert »{value[:40]}« für »{name}« in der Ansicht.", code="view_query"
            )
        values[name] = value
    return urlencode(
        [
            (name, values[name])
            for name, default, _ in spec.params
            if values.get(name) and values[name] != default
        ]
    )


def list_views(gate: Gate, page: str) -> list[SavedView]:
    """The user's own views of the page, by name."""
    _page(gate, page, "views.list")
    return list(
        gate.session.scalars(
            select(SavedView)
            .where(SavedView.user_id == gate.user.id, SavedView.page == page)
            .order_by(func.lower(SavedView.name), SavedView.id)
        )
    )


def save_view(
    gate: Gate,
    page: str,
    name: str,
    query: str,
    *,
    choices: Collection[str] = (),
    limit: int = 20,
) -> SavedView:
    """A new view of the user's under a name of its own; the query as `normalise` rebuilds it."""
    _page(gate, page, "views.save")
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("Bitte einen Namen für die Ansicht angeben.", code="view_name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"Der Name ist zu lang: höchstens {NAME_MAX} Zeichen.", code="view_name")
    normalised = normalise(page, query, choices)
    session, user = gate.session, gate.user
    # Saves of one user one after the other (PostgreSQL: the user's row locked; SQLite has one
    # writer anyway), so that two at once cannot pass the limit or take the same name.
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    names = session.scalars(
        select(SavedView.name).where(SavedView.user_id == user.id, SavedView.page == page)
    ).all()
    if any(existing.casefold() == name.casefold() for existing in names):
        raise Conflict(f"Eine Ansicht »{name}« gibt es schon.", code="view_name_taken")
    if len(names) >= limit:
        raise Conflict(
            f"Höchstens {limit} gespeicherte Ansichten; bitte zuerst eine löschen.",
            code="view_limit",
        )
    view = SavedView(user_id=user.id, page=page, name=name, query=normalised)
    session.add(view)
    session.flush()
    return view


def delete_view(gate: Gate, page: str, view_id: int) -> SavedView:
    """Deletes one of the user's own views; another user's is not found."""
    _page(gate, page, "views.delete")
    view = gate.session.get(SavedView, view_id)
    if view is None or view.user_id != gate.user.id or view.page != page:
        raise NotFound("Diese Ansicht gibt es nicht (mehr).", code="view_not_found")
    gate.session.delete(view)
    gate.session.flush()
    return view
