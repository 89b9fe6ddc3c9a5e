"""Previous and next document within the list a document page was opened from: a Postkorb
tab with its filters and sort, a household's E-Akte (by type or as a timeline), or search
results. Without a list, the household's file in date order (newest first, as the E-Akte's
timeline).

The list is read again on the server with the user's own rights, through the same services the
list's page uses (so its order and filters are the same) and audited as they audit it: a
neighbour is always a document the user may see, whatever the address says.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from core.dates import german
from core.errors import InvalidInput, NotFound
from records import files, inbox
from records.access import Gate
from records.file_search import SearchFilters, search_files
from records.models import Document, User
from records.runtime import Runtime

# How many entries of a list are looked through (the Postkorb page shows at most 500 too).
LIST_LIMIT = 500
SEARCH_LIMIT = 100  # the search index's page size limit
# The parameters each list keeps in the address of the document page, with their defaults.
POSTKORB_PARAMS = {"tab": "mine", "state": "open", "sort": "received", "doc_type": ""}
POSTKORB_STATES = ("open", "new", "read", "done", "any")
AKTE_VIEWS = ("timeline", "by_type")
SEARCH_PARAMS = ("q", "bg_number", "doc_type", "from", "to", "status", "direction", "team")


@dataclass(frozen=True)
class ListContext:
    """Which list a document page belongs to: `kind` postkorb, akte, suche or "" (none given:
    the household's file), and what the list was filtered and sorted by."""

    kind: str = ""
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_query(cls, query: Mapping[str, str] | Iterable[tuple[str, str]]) -> ListContext:
        """The context named in a page address (`?liste=postkorb&tab=team&...`); unknown
        lists and parameters are ignored."""
        pairs = list(query.items() if isinstance(query, Mapping) else query)
        kind = next((v for k, v in pairs if k == "liste"), "")
        if kind == "postkorb":
            keep: Iterable[str] = POSTKORB_PARAMS
        elif kind == "akte":
            keep = ("ansicht",)
        elif kind == "suche":
            keep = SEARCH_PARAMS
        else:
            return cls()
        return cls(kind, tuple((k, v[:500]) for k, v in pairs if k in keep and v))

    def get(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.params if k == name), default)

    def query(self) -> str:
        """The context as a query string for the links of the page (empty without a list)."""
        if not self.kind:
            return ""
        return urlencode([("liste", self.kind), *self.params])

    def with_query(self, path: str, **extra: str | int | None) -> str:
        """`path` with the context and `extra` parameters (those not None)."""
        pairs = [(k, str(v)) for k, v in extra.items() if v is not None]
        query = "&".join(part for part in (self.query(), urlencode(pairs)) if part)
        return f"{path}?{query}" if query else path


@dataclass(frozen=True)
class Neighbour:
    id: uuid.UUID
    title: str  # "Verdienstabrechnung vom 03.12.2026"


@dataclass(frozen=True)
class Neighbours:
    """Where the document stands in its list: its position (1-based; None if it is not in
    the list, e.g. done since), how many there are, the documents before and after it, what
    the list is called and where it is."""

    label: str
    back: str
    total: int = 0
    position: int | None = None
    previous: Neighbour | None = None
    next: Neighbour | None = None
    ids: list[uuid.UUID] = field(default_factory=list, repr=False)


def title_of(doc_type: str | None, receipt: date | None, names: Mapping[str, str]) -> str:
    name = names.get(doc_type or "", None) or "Dokument"
    return f"{name} vom {german(receipt)}" if receipt else name


def _around(entries: list[Neighbour], current: uuid.UUID, label: str, back: str) -> Neighbours:
    first: dict[uuid.UUID, Neighbour] = {}
    for entry in entries:
        first.setdefault(entry.id, entry)  # a document listed twice counts where it came first
    unique, ids = list(first.values()), list(first)
    if current not in first:
        return Neighbours(label, back, len(ids), ids=ids)
    at = ids.index(current)
    return Neighbours(
        label,
        back,
        len(ids),
        at + 1,
        unique[at - 1] if at > 0 else None,
        unique[at + 1] if at + 1 < len(unique) else None,
        ids,
    )


def _of_documents(documents: Iterable[Document], names: Mapping[str, str]) -> list[Neighbour]:
    return [Neighbour(d.id, title_of(d.doc_type, d.receipt_date, names)) for d in documents]


def in_postkorb(
    gate: Gate, context: ListContext, current: uuid.UUID, names: Mapping[str, str]
) -> Neighbours:
    """Within a Postkorb tab, as the Postkorb lists it (its read is audited as the list's)."""
    # An address edited by hand: what the Postkorb would not take counts as its default.
    scope = context.get("tab", POSTKORB_PARAMS["tab"])
    state = context.get("state", POSTKORB_PARAMS["state"])
    sort = context.get("sort", POSTKORB_PARAMS["sort"])
    _, items = inbox.list_items(
        gate,
        scope=scope if scope in ("mine", "team", "deputy") else POSTKORB_PARAMS["tab"],
        state=state if state in POSTKORB_STATES else POSTKORB_PARAMS["state"],
        doc_type=context.get("doc_type") or None,
        sort=sort if sort in inbox.SORTS else POSTKORB_PARAMS["sort"],
        limit=LIST_LIMIT,
    )
    back = urlencode([(k, v) for k, v in context.params if v != POSTKORB_PARAMS.get(k)])
    return _around(
        _of_documents((item.document for item in items), names),
        current,
        "Postkorb",
        f"/postkorb?{back}" if back else "/postkorb",
    )


def in_file(
    gate: Gate,
    bg_number: str,
    current: uuid.UUID,
    names: Mapping[str, str],
    view: str = "timeline",
) -> Neighbours:
    """Within the household's E-Akte, in the order of its view: the timeline (newest receipt
    first) or by type (the types by name, each newest first). The read is audited as the
    file's."""
    file = files.household_file(gate, bg_number)
    documents = list(file.documents)
    if view == "by_type":
        documents.sort(key=lambda d: names.get(d.doc_type or "sonstiges", d.doc_type or ""))
    number = file.household.bg_number
    return _around(_of_documents(documents, names), current, f"E-Akte {number}", f"/akte/{number}")


def in_search(
    runtime: Runtime,
    user: User,
    context: ListContext,
    current: uuid.UUID,
    names: Mapping[str, str],
) -> Neighbours:
    """Within the first results of a search (run again, with the user's rights, audited as
    every search). Runs outside any transaction, as the search does."""
    q = context.get("q")
    back = urlencode(context.params)
    if not q:
        return Neighbours("Suchergebnis", f"/suche?{back}")
    try:
        filters = SearchFilters(
            bg_number=context.get("bg_number") or None,
            doc_types=tuple(v for k, v in context.params if k == "doc_type"),
            receipt_from=date.fromisoformat(context.get("from")) if context.get("from") else None,
            receipt_to=date.fromisoformat(context.get("to")) if context.get("to") else None,
            team=context.get("team") or None,
            direction=context.get("direction") or None,
            statuses=tuple(v for k, v in context.params if k == "status"),
        )
        result = search_files(runtime, user, q, filters, limit=SEARCH_LIMIT, offset=0)
    except (ValueError, InvalidInput, NotFound):
        # A search the address spoilt (a date, a team that is not there): no neighbours.
        return Neighbours("Suchergebnis", f"/suche?{back}")
    entries = [
        Neighbour(uuid.UUID(hit.document_id), title_of(hit.doc_type, hit.receipt_date, names))
        for hit in result.hits
        if not hit.file_note
    ]
    return _around(entries, current, "Suchergebnis", f"/suche?{back}")
