"""The scanning desk's lists, rendered on the server as partials of /scanstelle: the quality
check (type, household and its caseworker by name, sender, pages, a thumbnail, paging, filter)
and the batches with their progress. desk.js fetches them and swaps them in (web/static/live.js
asks again every few seconds); each answer's ETag is the list's change token (records.desk), and
a poll whose If-None-Match still carries it gets 304 without the list being read or drawn.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import RuntimeDep, current_user, get_type_names
from api.live import conditional
from core.dates import LOCAL_TZ, german, local_date, local_today
from core.db import transaction
from records import desk
from records.access import Capability, Gate
from records.duplicates import KIND_NAMES
from records.live import fingerprint
from records.models import Document, InboxItem
from records.runtime import Runtime
from web.pages import render

router = APIRouter(include_in_schema=False)

QA_STATE_NAMES = {"pending": "offen", "approved": "freigegeben", "rejected": "abgelehnt"}
BATCH_STATE_NAMES = {
    "received": "wartet",
    "processing": "in Arbeit",
    "processed": "fertig",
    "failed": "fehlgeschlagen",
}
DROPPED_NAMES = {
    "separator": "Trennblatt",
    "blank": "leere Rückseite",
    "unreadable": "nicht lesbar",
}
ALL = "alle"  # the filter value for "every state"


def _param(request: Request, name: str) -> str:
    return request.query_params.get(name, "").strip()


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _page_number(text: str) -> int:
    return int(text) if text.isdigit() and 0 < int(text) < 100_000 else 1


def _per_page(text: str) -> int:
    """Rows per page: 25 unless the address asks for another number up to 100."""
    return int(text) if text.isdigit() and 0 < int(text) <= 100 else desk.PER_PAGE


@dataclass(frozen=True)
class Pager:
    """Where a page lies in a list of `total` rows, and the links to its neighbours (full
    /scanstelle addresses: without the script a link still opens the page there)."""

    number: int
    per: int
    total: int
    first: int
    last: int
    previous: str | None
    next: str | None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per))


def _pager(request: Request, key: str, number: int, per: int, total: int, shown: int) -> Pager:
    def link(to: int) -> str:
        query = {k: v for k, v in request.query_params.items() if v and k != key}
        return "/scanstelle?" + urlencode({**query, key: to} if to > 1 else query)

    first = (number - 1) * per + 1
    return Pager(
        number,
        per,
        total,
        first if shown else 0,
        first + shown - 1 if shown else 0,
        link(number - 1) if number > 1 else None,
        link(number + 1) if first + shown - 1 < total else None,
    )


def _sheets(document: Document) -> str:
    if document.first_page is None:
        return ""
    if document.first_page == document.last_page or document.last_page is None:
        return f"Blatt {document.first_page}"
    return f"Blatt {document.first_page}–{document.last_page}"


def _target(item: InboxItem | None) -> str:
    """Where the document went, by name: a person, a team, or clearing."""
    if item is None or item.kind == "clearing":
        return "Klärung"
    if item.kind == "user":
        return item.user.name if item.user else "–"
    return f"Team {item.team.name}" if item.team else "–"


def _sender(document: Document) -> str | None:
    """The sender as filed, else the sender line recognition read on the letter."""
    if document.sender:
        return document.sender
    for evidence in (document.recognition or {}).get("type_evidence", []):
        if evidence.get("kind") == "sender" and evidence.get("text"):
            return str(evidence["text"])[:120]
    return None


@dataclass(frozen=True)
class QaEntry:
    """One document of the quality check as the desk reads it (every label German)."""

    id: uuid.UUID
    label: str  # "batch-2.pdf, Blatt 3–4": names the entry in buttons and result lines
    state: str
    state_name: str
    type_name: str
    bg_number: str | None
    caseworker: str | None
    sender: str | None
    letter_date: str
    pages: int | None
    target: str
    decided: str  # "freigegeben von Julia Petersen am 07.12.2026"
    note: str | None
    undo: bool  # a rejection of today: it can still be taken back
    duplicate: str | None  # "gleicher Inhalt" / "gleicher Text": read before (records.duplicates)
    duplicate_of: uuid.UUID | None
    version: str  # changes with every new rendition (page editing): a new thumbnail URL


def _entry(
    document: Document, item: InboxItem | None, names: dict[str, str], deciders: dict[int, str]
) -> QaEntry:
    batch = document.batch
    source = batch.source_name if batch else document.source_name
    sheets = _sheets(document)
    pending = document.qa_status == "pending"
    household = document.household if pending else None
    decided = ""
    if not pending and document.qa_at is not None:
        who = deciders.get(document.qa_by_id or 0, "–")
        on = german(local_date(document.qa_at))
        decided = f"{QA_STATE_NAMES[document.qa_status]} von {who} am {on}"
    type_name = names.get(document.doc_type or "", document.doc_type or "") or "Art nicht erkannt"
    return QaEntry(
        id=document.id,
        label=f"{source}, {sheets}" if sheets else source,
        state=document.qa_status,
        state_name=QA_STATE_NAMES.get(document.qa_status, document.qa_status),
        # What recognition decided is the desk's business only while it checks the document.
        type_name=type_name if pending else "",
        bg_number=household.bg_number if household else None,
        caseworker=household.caseworker.name if household and household.caseworker else None,
        sender=_sender(document) if pending else None,
        letter_date=german(document.letter_date) if pending else "",
        pages=document.page_count,
        target=_target(item) if pending else "",
        decided=decided,
        note=document.qa_note if document.qa_status == "rejected" else None,
        undo=document.qa_status == "rejected"
        and document.qa_at is not None
        and local_date(document.qa_at) == local_today(),
        duplicate=KIND_NAMES.get(document.duplicate_kind or "") if pending else None,
        duplicate_of=document.duplicate_of_id if pending else None,
        version=(document.pdf_sha256 or "")[:12],
    )


# What decides how a list is drawn besides the data: this module's labels and the templates.
# Part of every ETag, so that a new version of either is drawn although no data changed.
_HERE = Path(__file__).resolve()
_DRAWING = fingerprint(
    *(path.read_bytes() for path in [_HERE, *sorted(_HERE.parent.glob("templates/_desk*"))])
)


def _partial(
    request: Request,
    runtime: Runtime,
    token: Callable[[Gate], str],
    read: Callable[[Gate], tuple[str, dict[str, object]]],
) -> Response:
    """A partial of the desk for a user of the desk, with an ETag from the list's change
    token (records.desk), the address asked and how it is drawn: a poll whose If-None-Match
    still carries it is answered 304 from the token alone, without reading or drawing the
    list (api.live). Otherwise `read` gives the template and what it shows."""
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        gate.require(Capability.SCAN, "page.desk")
        names = sorted(get_type_names(runtime).items())
        current = fingerprint(token(gate), str(request.query_params), names, _DRAWING)

        def draw() -> Response:
            name, context = read(gate)
            return render(request, name, user, 200, **context)

        return conditional(current, request.headers.get("if-none-match"), draw)


@router.get("/scanstelle/pruefung", response_class=HTMLResponse)
def qa_partial(request: Request, runtime: RuntimeDep) -> Response:
    """The quality check: a page of documents with filter (state, batch, type, day)."""
    state = _param(request, "qa") or "pending"
    try:
        batch_id = uuid.UUID(_param(request, "batch")) if _param(request, "batch") else None
    except ValueError:
        batch_id = None
    wanted = desk.QaFilter(
        state=state if state in desk.QA_STATES else None,
        batch_id=batch_id,
        doc_type=_param(request, "type") or None,
        day=_day(_param(request, "day")),
    )
    number = _page_number(_param(request, "page"))
    per = _per_page(_param(request, "per"))

    def read(gate: Gate) -> tuple[str, dict[str, object]]:
        names = get_type_names(runtime)
        found = desk.qa_page(gate, wanted, per, (number - 1) * per)
        entries = [
            _entry(d, found.inboxes.get(d.id), names, found.deciders) for d in found.documents
        ]
        batches = [
            (str(b.id), f"{b.source_name} ({german(local_date(b.received_at))})")
            for b in desk.recent_batches(gate.session, 50, also=batch_id)
        ]
        types = [(code, names.get(code, code)) for code in desk.desk_doc_types(gate.session)]
        return "_desk_qa.html", {
            "entries": entries,
            "pager": _pager(request, "page", number, per, found.total, len(entries)),
            "counts": found.counts,
            "state_options": [
                (code, f"{name} ({found.counts[code]})" if code in found.counts else name)
                for code, name in QA_STATE_NAMES.items()
            ]
            + [(ALL, "alle")],
            "state": state if state in desk.QA_STATES else ALL,
            "batches": batches,
            "batch": str(batch_id) if batch_id else "",
            "types": sorted(types, key=lambda pair: pair[1]),
            "doc_type": wanted.doc_type or "",
            "day": wanted.day.isoformat() if wanted.day else "",
        }

    return _partial(request, runtime, lambda gate: desk.qa_token(gate, wanted), read)


@dataclass(frozen=True)
class BatchRow:
    id: uuid.UUID
    source_name: str
    station: str | None
    received: str
    status: str
    status_name: str
    status_message: str | None
    pages_total: int
    pages_done: int
    left: str  # "noch 3 min"
    dropped: str
    documents: int
    by_state: str  # "2 offen, 1 freigegeben"


def _left(seconds: int | None) -> str:
    if seconds is None or seconds <= 0:
        return ""
    return f"noch {seconds} s" if seconds < 60 else f"noch {round(seconds / 60)} min"


def _batch_row(view: desk.BatchView) -> BatchRow:
    batch = view.batch
    states: dict[str, int] = {}
    for document in view.documents:
        states[document.qa_status] = states.get(document.qa_status, 0) + 1
    return BatchRow(
        id=batch.id,
        source_name=batch.source_name,
        station=batch.station,
        received=batch.received_at.astimezone(LOCAL_TZ).strftime("%d.%m.%Y, %H:%M"),
        status=batch.status,
        status_name=BATCH_STATE_NAMES.get(batch.status, batch.status),
        status_message=batch.status_message,
        pages_total=batch.pages_total,
        pages_done=batch.pages_done,
        left=_left(view.seconds_left),
        dropped=", ".join(
            f"Blatt {p.source_page}: {DROPPED_NAMES.get(p.reason, p.reason)}"
            for p in batch.dropped_pages
        ),
        documents=len(view.documents),
        by_state=", ".join(
            f"{states[code]} {name}" for code, name in QA_STATE_NAMES.items() if code in states
        ),
    )


@router.get("/scanstelle/stapel", response_class=HTMLResponse)
def batches_partial(request: Request, runtime: RuntimeDep) -> Response:
    """The batches, newest first, a page at a time, filtered by state and day handed in."""
    status = _param(request, "bstatus")
    number = _page_number(_param(request, "bpage"))
    per = _per_page(_param(request, "bper"))
    day = _day(_param(request, "bday"))

    def read(gate: Gate) -> tuple[str, dict[str, object]]:
        listing = desk.list_batches(
            gate,
            per,
            offset=(number - 1) * per,
            status=status if status in desk.BATCH_STATES else None,
            day=day,
        )
        rows = [_batch_row(view) for view in listing.batches]
        counts = listing.counts
        return "_desk_batches.html", {
            "rows": rows,
            "pager": _pager(request, "bpage", number, per, listing.total, len(rows)),
            "states": list(BATCH_STATE_NAMES.items()),
            "status": status if status in desk.BATCH_STATES else "",
            "day": day.isoformat() if day else "",
            "working": counts.get("received", 0) + counts.get("processing", 0),
            "failed": counts.get("failed", 0),
        }

    def token(gate: Gate) -> str:
        return desk.batches_token(
            gate,
            per,
            offset=(number - 1) * per,
            status=status if status in desk.BATCH_STATES else None,
            day=day,
        )

    return _partial(request, runtime, token, read)
