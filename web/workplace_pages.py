"""Page routes of the caseworker's Postkorb (E-Akte: web.akte_pages; Vertretung: web.deputy_pages).

The Postkorb's list (tabs with their counts, filters, rows, pager) is rendered here, from what
records.inbox returns through the Gate, with every label in German: into the page itself for
the first paint (from the page's address: tab, filters, sort, row and page), and as the
partial /postkorb/liste that postkorb.js fetches when the user changes the view or something
changes for the user, and swaps in.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import RuntimeDep, current_user, get_type_names
from api.schemas import DuplicateOut, InboxItemOut
from core.dates import german
from core.db import transaction
from records import duplicates, followups, inbox
from records.access import Capability, Gate
from records.models import InboxItem, User
from records.runtime import Runtime
from web import followup_pages
from web.pages import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 200  # rows a page of the Postkorb shows (the list read before had no pager)
# The view's parameters in the address, with their defaults (left out of the address).
DEFAULTS = {"tab": "mine", "state": "open", "sort": "received", "doc_type": ""}
STATE_FILTERS = {"open": "offen", "new": "neu", "done": "erledigt", "any": "alle"}
SORT_NAMES = {
    "received": "neueste zuerst",
    "oldest": "älteste zuerst",
    "type": "nach Dokumentart",
    "household": "nach Haushalt",
}
# An item's state as its row marks it (a read item is marked by nothing): text and style.
STATE_BADGES = {"new": ("neu", "new"), "done": ("erledigt", "approved")}
REJECTED = "zur Neuerfassung abgelehnt"


@dataclass(frozen=True)
class Address:
    """What the Postkorb shows, as its address says it; what it would not take counts as
    the default (an address edited by hand)."""

    tab: str = "mine"
    state: str = "open"
    sort: str = "received"
    doc_type: str = ""
    item: int | None = None
    page: int = 1

    @classmethod
    def of(cls, query: Mapping[str, str], doc_types: Mapping[str, str]) -> Address:
        def pick(name: str, allowed: Any) -> str:
            value = query.get(name, "")
            return value if value in allowed else DEFAULTS[name]

        item, page = query.get("item", ""), query.get("page", "")
        return cls(
            tab=pick("tab", inbox.TABS),
            state=pick("state", inbox.STATES),
            sort=pick("sort", inbox.SORTS),
            doc_type=pick("doc_type", doc_types),
            item=int(item) if item.isdigit() and len(item) < 12 else None,
            page=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        )

    def view(self) -> list[tuple[str, str]]:
        """Tab, filters and sort, those not at their default."""
        values = {"tab": self.tab, "state": self.state, "sort": self.sort}
        values["doc_type"] = self.doc_type
        return [(k, v) for k, v in values.items() if v and v != DEFAULTS[k]]

    def href(self, page: int | None = None) -> str:
        """The Postkorb's address of this view, at `page` (its first without)."""
        pairs = self.view() + ([("page", str(page))] if page and page > 1 else [])
        return f"/postkorb?{urlencode(pairs)}" if pairs else "/postkorb"


@dataclass(frozen=True)
class Tab:
    scope: str
    label: str
    count: str  # "2 neu / 5", or "5"
    active: bool


@dataclass(frozen=True)
class Row:
    """One item as its line in the Postkorb reads (every label German, computed here)."""

    id: int
    document_id: uuid.UUID
    state: str
    kind: str
    bg_number: str | None
    household_name: str | None
    name: str  # what tells the row apart for a screen reader: "Bescheid, Eingang vom …, …,"
    received: str
    badge: tuple[str, str] | None  # ("neu", "new"): text and style of the state's badge
    type_name: str
    source_name: str
    pages: int | None
    held_by: str | None  # "Team 1", "Vertretung: Jan Braun": whose Postkorb it lies in
    rejected: bool
    duplicate: DuplicateOut | None  # read before: the earlier letter linked where visible
    reason: str
    reason_label: str  # "Grund", "Grund und Kommentar"
    comment: str | None  # "lsb.1: Bitte prüfen"
    document_href: str
    register: str | None  # "Widerspruch erfassen" / "Klage erfassen" (objections office)
    take: bool
    done: bool
    reopen: bool
    discard: str | None  # what the confirmation says, where the row offers the discard
    cursor: bool


@dataclass(frozen=True)
class Pager:
    number: int
    pages: int
    first: int
    last: int
    previous: str | None
    next: str | None


@dataclass(frozen=True)
class Listing:
    address: Address
    tabs: list[Tab]
    rows: list[Row]
    total: int
    summary: str  # what #inbox-status says: "4 Einträge." and what the desk rejected
    pager: Pager | None
    types: list[tuple[str, str]]
    states: list[tuple[str, str]]
    sorts: list[tuple[str, str]]
    nav: dict[str, int]  # the header's badge: new in mine and team, open in stand-in
    token: str  # the change token the list was read at (records.followups.postkorb_token)

    @property
    def cursor(self) -> int | None:
        return next((row.id for row in self.rows if row.cursor), None)


def _count(numbers: Mapping[str, int]) -> str:
    return f"{numbers['new']} neu / {numbers['open']}" if numbers["new"] else str(numbers["open"])


def _tabs(counts: dict[str, Any], active: str) -> list[Tab]:
    tabs = [
        Tab("mine", "Mein Postkorb", _count(counts["mine"]), active == "mine"),
        Tab("team", "Team", _count(counts["team"]), active == "team"),
    ]
    if counts["deputy"]:
        names = ", ".join(d["name"] for d in counts["deputy"])
        opened = sum(d["open"] for d in counts["deputy"])
        tabs.append(Tab("deputy", f"Vertretung: {names}", str(opened), active == "deputy"))
    return tabs


def _row(
    item: InboxItem, out: InboxItemOut, user: User, address: Address, office: bool, cursor: bool
) -> Row:
    doc = out.document
    rejected = doc.qa_status == "rejected"
    type_name = doc.doc_type_name or "Dokument"
    who = doc.household_name or doc.bg_number or doc.source_name
    held_by = None
    if out.kind == "team":
        held_by = f"Team {out.team}"
    elif out.kind == "user" and out.user != user.login:
        held_by = f"Vertretung: {out.user_name}"
    comment = None
    if out.comment:
        comment = f"{out.forwarded_by}: {out.comment}" if out.forwarded_by else out.comment
    list_query = urlencode([("liste", "postkorb"), *address.view()])
    register = None
    if office and doc.bg_number and not rejected:
        register = "Klage erfassen" if doc.doc_type == "klage" else "Widerspruch erfassen"
    return Row(
        id=out.id,
        document_id=doc.id,
        state=out.state,
        kind=out.kind,
        bg_number=doc.bg_number,
        household_name=doc.household_name,
        name=f"{type_name}, Eingang vom {german(doc.receipt_date)}, {who},",
        received=german(doc.receipt_date),
        badge=STATE_BADGES.get(out.state),
        type_name=doc.doc_type_name or "–",
        source_name=doc.source_name or "",
        pages=doc.pages,
        held_by=held_by,
        rejected=rejected,
        duplicate=doc.duplicate,
        reason=out.reason,
        reason_label="Grund und Kommentar" if out.comment else "Grund",
        comment=comment,
        document_href=f"/dokument/{doc.id}?{list_query}",
        register=register,
        take=out.kind == "team" and not rejected,
        done=out.state != "done",
        reopen=out.state == "done" and not rejected,
        discard=_discard_text(doc.source_name, type_name, doc.receipt_date)
        if inbox.may_discard(item)
        else None,
        cursor=cursor,
    )


def _discard_text(source_name: str | None, type_name: str, receipt: date | None) -> str:
    return (
        f"»{source_name}« ({type_name}, Eingang vom {german(receipt)}) wird als Duplikat "
        "verworfen: aus Akte, Postkorb und Suche genommen; das Original bleibt gespeichert."
    )


def _summary(total: int, outs: list[InboxItemOut]) -> str:
    """ "4 Einträge." and, for letters the desk sent back for a new scan, why."""
    rejected = [o for o in outs if o.document.qa_status == "rejected" and o.state != "done"]
    notices = [f"{total} Einträge"]
    if rejected:
        one = len(rejected) == 1
        why = "; ".join(
            f"{o.document.doc_type_name or 'Dokument'} ({o.document.source_name}): "
            f"{o.comment or REJECTED}"
            for o in rejected[:3]
        )
        notices.append(
            f"{len(rejected)} {'Dokument wurde' if one else 'Dokumente wurden'} von der "
            f"Scanstelle zur Neuerfassung abgelehnt und {'ist' if one else 'sind'} nicht mehr "
            f"in der Akte; nach dem neuen Scan {'kommt es' if one else 'kommen sie'} wieder. "
            f"{why}"
        )
    return ". ".join(notices) + "."


def pager_for(address: Address, total: int, shown: int) -> Pager | None:
    if total <= PER_PAGE and address.page == 1:
        return None
    number = address.page
    first = (number - 1) * PER_PAGE + 1
    last = first + shown - 1
    return Pager(
        number=number,
        pages=max(1, -(-total // PER_PAGE)),
        first=first if shown else 0,
        last=last if shown else 0,
        previous=address.href(number - 1) if number > 1 else None,
        next=address.href(number + 1) if last < total else None,
    )


def postkorb_listing(runtime: Runtime, user: User, query: Mapping[str, str]) -> Listing:
    """The Postkorb as its address asks for it, read through the gate (audited as the API's
    list and counts are)."""
    names = get_type_names(runtime)
    address = Address.of(query, names)
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        gate.require(Capability.INBOX, "page.inbox")
        counts = inbox.counts(gate)
        total, items = inbox.list_items(
            gate,
            scope=address.tab,
            state=address.state,
            doc_type=address.doc_type or None,
            sort=address.sort,
            limit=PER_PAGE,
            offset=(address.page - 1) * PER_PAGE,
        )
        marks = duplicates.notes_for(gate, [item.document for item in items])
        outs = [InboxItemOut.named(item, names, duplicates=marks) for item in items]
        office = gate.may(Capability.LEGAL)
        token = followups.postkorb_token(gate)
        ids = [item.id for item in items]
        # The row the address names, else the first: the one the shortcuts act on.
        cursor = address.item if address.item in ids else (ids[0] if ids else None)
        rows = [
            _row(item, out, user, address, office, item.id == cursor)
            for item, out in zip(items, outs, strict=True)
        ]
    return Listing(
        address=address,
        tabs=_tabs(counts, address.tab),
        rows=rows,
        total=total,
        summary=_summary(total, outs),
        pager=pager_for(address, total, len(rows)),
        types=list(names.items()),
        states=list(STATE_FILTERS.items()),
        sorts=[(code, SORT_NAMES[code]) for code in inbox.SORTS],
        nav={
            "mine": counts["mine"]["new"],
            "team": counts["team"]["new"],
            "deputy": sum(d["open"] for d in counts["deputy"]),
        },
        token=token,
    )


@router.get("/postkorb", response_class=HTMLResponse)
def inbox_page(request: Request, runtime: RuntimeDep) -> Response:
    """The Postkorb, its list drawn on the server from the address (tab, filters, sort, row)."""
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    listing = postkorb_listing(runtime, user, request.query_params)
    due = followup_pages.due_in_postkorb(runtime, user)  # issue 19: _postkorb_followups.html
    return render(request, "postkorb.html", user, listing=listing, due_follow_ups=due)


@router.get("/postkorb/liste", response_class=HTMLResponse)
def inbox_list_partial(request: Request, runtime: RuntimeDep) -> Response:
    """The Postkorb's list alone, for postkorb.js to swap in (same parameters as the page)."""
    user = current_user(request, runtime)
    listing = postkorb_listing(runtime, user, request.query_params)
    due = followup_pages.due_in_postkorb(runtime, user)
    response = render(request, "_postkorb_list.html", user, listing=listing, due_follow_ups=due)
    response.headers["Cache-Control"] = "no-store"
    return response
