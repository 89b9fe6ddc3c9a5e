"""The E-Akte of a household, /akte/{bg_number}, rendered on the server: the household, the
documents by type or as a timeline (filtered by type, newest or oldest first, the selected
document marked), objections and appeals, the exports, the notes and the saved views. Every label
(type names, states, legal bases, dates in German) is computed here; akte.js fetches the parts
(/akte/{bg_number}/liste, same query as the page's address) and swaps them in. A note is saved by
a normal form POST too (errors at the field, the text kept).

Everything is read through the Gate: a foreign household is refused ("Kein Zugriff", 403) and the
refusal is in the audit log, for the page, its parts and the note form alike.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user, get_type_names
from core.dates import german, local_today
from core.db import transaction
from core.errors import InvalidInput
from records import duplicates, files, lifecycle, live, saved_views
from records.access import Gate
from records.file_exports import LEGAL_BASES
from records.history import local_time
from records.models import Document, FileExport, Household, Note, User
from records.objections import APPEAL_STATE_NAMES, STATE_NAMES
from records.retention import load_rules
from records.runtime import Runtime
from web import followup_pages, handover_pages, request_pages
from web.pages import render

router = APIRouter(include_in_schema=False)

TAB_NAMES = {"by_type": "Nach Dokumentart", "timeline": "Zeitstrahl"}
SORT_NAMES = {"newest": "neueste zuerst", "oldest": "älteste zuerst"}
DEFAULTS = {"tab": "by_type", "doc_type": "", "sort": "newest"}
SAVED = {"vermerk": "Vermerk gespeichert.", **lifecycle.SAVED_MESSAGES, **request_pages.SAVED}
UNTYPED = "sonstiges"  # the group of a document without a type
assert tuple(TAB_NAMES) == files.FILE_TABS and tuple(SORT_NAMES) == files.FILE_SORTS


@dataclass(frozen=True)
class FileState:
    """What the page's address holds: the tab, the type filter, the order, the selected row."""

    tab: str = DEFAULTS["tab"]
    doc_type: str = DEFAULTS["doc_type"]
    sort: str = DEFAULTS["sort"]
    doc: str = ""

    @classmethod
    def of(cls, request: Request) -> FileState:
        """Unknown values are the defaults (an address is never an error)."""
        query = request.query_params
        tab = query.get("tab", "")
        sort = query.get("sort", "")
        try:
            doc = str(uuid.UUID(query.get("doc", ""))) if query.get("doc") else ""
        except ValueError:
            doc = ""
        return cls(
            tab=tab if tab in TAB_NAMES else DEFAULTS["tab"],
            doc_type=query.get("doc_type", "").strip()[:50],
            sort=sort if sort in SORT_NAMES else DEFAULTS["sort"],
            doc=doc,
        )

    def query(self, *, with_doc: bool = True) -> str:
        """The query string of this state (defaults left out), as saved views store it."""
        pairs = [
            (name, value)
            for name, value in (("tab", self.tab), ("doc_type", self.doc_type), ("sort", self.sort))
            if value and value != DEFAULTS[name]
        ]
        if with_doc and self.doc:
            pairs.append(("doc", self.doc))
        return urlencode(pairs)


@dataclass(frozen=True)
class DocumentRow:
    """One document of the list, every word German."""

    id: str
    receipt: str
    type_name: str
    outgoing: str  # "Postausgang 05.12.2026", or ""
    duplicate: str | None  # the duplicate mark's text
    duplicate_of: str | None  # the earlier document, where the user may see it
    cases: list[tuple[str, str]]  # the objections and appeals registered from it: (link, name)
    facts: str  # "Stadtwerke Husum · 2 S. · Schreiben vom 01.12.2026"
    source_name: str
    announce: str  # how a live notice names it: "Bescheid (Bescheid-Oktober.pdf)"
    page_link: str  # the document page, previous/next within this file
    current: bool


@dataclass(frozen=True)
class Case:
    """An objection or appeal of the household, and the letter it was registered from."""

    document_id: uuid.UUID
    href: str
    name: str  # "Widerspruch Nr. 3", "Sozialgericht Schleswig, Az. S 12 AS 34/26"
    badge: str  # at its letter: "Widerspruch Nr. 3", "Klage Az. S 12 AS 34/26"
    when: str  # "Eingang 01.12.2026", "zugestellt 02.12.2026"
    state: str


@dataclass(frozen=True)
class Group:
    code: str
    name: str
    rows: list[DocumentRow]


@dataclass
class NoteForm:
    """The note form: what was typed (after an error) and the error at its field."""

    text: str = ""
    error: str = ""


@dataclass(frozen=True)
class FileView:
    """Everything the page and its parts show."""

    bg_number: str
    head: HouseholdHead
    total: int
    rows: list[DocumentRow]
    groups: list[Group]
    type_options: list[tuple[str, str]]
    notes: list[dict[str, str]]
    objections: list[Case]
    appeals: list[Case]
    exports: list[dict[str, object]]
    views: list[dict[str, object]] = field(default_factory=list)


def _member(first: str, last: str, born: date | None) -> str:
    return f"{first} {last}" + (f" (geb. {german(born)})" if born else "")


def _facts(document: Document) -> str:
    parts = [document.sender or document.source_name or ""]
    if document.page_count is not None:
        parts.append(f"{document.page_count} S.")
    if document.letter_date:
        parts.append(f"Schreiben vom {german(document.letter_date)}")
    return " · ".join(part for part in parts if part)


def _type_name(names: dict[str, str], code: str | None) -> str:
    return names.get(code or "", code or "–")


def _export(export: FileExport) -> dict[str, object]:
    basis = LEGAL_BASES.get(export.legal_basis)
    withheld = sum(1 for entry in export.documents if entry.get("withheld_reason"))
    return {
        "id": export.id,
        "when": local_time(export.created_at),
        "by": export.created_by_name,
        "recipient": export.recipient,
        "basis": basis.name if basis else export.legal_basis,
        "documents": len(export.documents),
        "withheld": withheld,
        "pages": export.page_count,
        "pdf_url": f"/api/exports/{export.id}/pdf",
        "sha256": export.sha256,
    }


def _note(note: Note) -> dict[str, str]:
    return {
        "when": local_time(note.created_at),
        "author": note.author_name,
        "document": str(note.document_id) if note.document_id else "",
        "text": note.text,
    }


@dataclass(frozen=True)
class HouseholdHead:
    """The household above the list: its people (oldest first), address, who is in charge."""

    members: list[str]
    address: str
    active: bool
    caseworker: str
    case_manager: str

    @classmethod
    def of(cls, household: Household) -> HouseholdHead:
        members = sorted(household.members, key=lambda m: m.birth_date or date.min)
        return cls(
            members=[_member(m.first_name, m.last_name, m.birth_date) for m in members],
            address=f"{household.street}, {household.postcode} {household.town}".strip(", "),
            active=household.active,
            caseworker=household.caseworker.name if household.caseworker else "–",
            case_manager=household.case_manager.name if household.case_manager else "–",
        )


def file_view(gate: Gate, bg_number: str, state: FileState, names: dict[str, str]) -> FileView:
    """The file as the page shows it, read through the gate (the read is audited)."""
    file = files.household_file(gate, bg_number)
    marks = duplicates.notes_for(gate, file.documents)
    objections = [
        Case(
            o.document_id,
            f"/widersprueche/{o.id}",
            f"Widerspruch Nr. {o.id}",
            f"Widerspruch Nr. {o.id}",
            f"Eingang {german(o.receipt_date)}",
            STATE_NAMES.get(o.status, o.status),
        )
        for o in file.objections
    ]
    appeals = [
        Case(
            a.document_id,
            f"/klagen/{a.id}",
            f"{a.court}, Az. {a.file_reference}",
            f"Klage Az. {a.file_reference}",
            f"zugestellt {german(a.served_on)}",
            APPEAL_STATE_NAMES.get(a.status, a.status),
        )
        for a in file.appeals
    ]
    cases: dict[uuid.UUID, list[tuple[str, str]]] = {}
    for case in objections + appeals:
        cases.setdefault(case.document_id, []).append((case.href, case.badge))

    def row(document: Document) -> DocumentRow:
        mark = marks.get(document.id)
        type_name = _type_name(names, document.doc_type)
        outgoing = document.direction == "out"
        return DocumentRow(
            id=str(document.id),
            receipt=german(document.receipt_date),
            type_name=type_name,
            outgoing=f"Postausgang {german(document.dispatch_date)}".strip() if outgoing else "",
            duplicate=mark.text if mark else None,
            duplicate_of=str(mark.earlier_id) if mark and mark.earlier_id else None,
            cases=cases.get(document.id, []),
            facts=_facts(document),
            source_name=document.source_name or "",
            announce=f"{type_name} ({document.source_name})",
            page_link=f"/dokument/{document.id}?"
            + urlencode({"liste": "akte", "ansicht": state.tab}),
            current=str(document.id) == state.doc,
        )

    shown = files.arranged(file.documents, state.doc_type, state.sort)
    rows = [row(d) for d in shown]
    grouped: dict[str, Group] = {}
    for document, entry in zip(shown, rows, strict=True):
        code = document.doc_type or UNTYPED
        grouped.setdefault(code, Group(code, entry.type_name, [])).rows.append(entry)
    present = {d.doc_type or UNTYPED for d in file.documents}
    if state.doc_type:
        present.add(state.doc_type)
    return FileView(
        bg_number=file.household.bg_number,
        head=HouseholdHead.of(file.household),
        total=len(file.documents),
        rows=rows,
        groups=sorted(grouped.values(), key=lambda g: g.name),
        type_options=sorted(
            ((code, _type_name(names, code)) for code in present), key=lambda pair: pair[1]
        ),
        notes=[_note(n) for n in file.notes],
        objections=objections,
        appeals=appeals,
        exports=[_export(e) for e in file.exports],
        views=_views(gate, file.household.bg_number, state),
    )


def _views(gate: Gate, bg_number: str, state: FileState) -> list[dict[str, object]]:
    """The user's saved views of the E-Akte, each a link to this file in that view."""
    here = state.query(with_doc=False)
    return [
        {
            "id": view.id,
            "name": view.name,
            "href": f"/akte/{bg_number}" + (f"?{view.query}" if view.query else ""),
            "current": view.query == here,
        }
        for view in saved_views.list_views(gate, "akte")
    ]


def _context(runtime: Runtime, user: User, bg_number: str, state: FileState) -> dict[str, object]:
    names = get_type_names(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        view = file_view(gate, bg_number, state, names)
        # The state the page shows, as the live check names it: akte.js compares it with the
        # first answer of /api/households/{bg}/file/changes and catches up on a change between.
        token = live.file_token(gate, bg_number)
        # The retention section (issue 17; web/templates/_akte_retention.html).
        retention = lifecycle.section_context(
            gate, bg_number, load_rules(runtime.settings), local_today(), audited=False
        )
        handover = handover_pages.section(gate, bg_number)  # issue 18: _akte_handover.html
        follow_ups = followup_pages.section(gate, bg_number, names)  # issue 19: _akte_followups
        requests = request_pages.section(gate, runtime, bg_number)  # issue 19: _akte_requests
    return {
        **retention,
        **handover,
        **follow_ups,
        **requests,
        "back": "akte",
        "errors": {},
        "values": {},
        "token": token,
        "bg_number": view.bg_number,
        "file": view,
        "state": state,
        "tabs": list(TAB_NAMES.items()),
        "sorts": list(SORT_NAMES.items()),
        "types": sorted(names.items(), key=lambda item: item[1]),
        "query": state.query(),
        "note_empty": files.NOTE_EMPTY,
    }


def _page(
    request: Request,
    runtime: Runtime,
    user: User,
    bg_number: str,
    *,
    status_code: int = 200,
    note: NoteForm | None = None,
) -> Response:
    context = _context(runtime, user, bg_number, FileState.of(request))
    saved = SAVED.get(request.query_params.get("gespeichert", ""), "")
    return render(
        request, "akte.html", user, status_code, note=note or NoteForm(), saved=saved, **context
    )


@router.get("/akte/{bg_number}", response_class=HTMLResponse)
def household_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """Deep link for the Fachverfahren: the household's file, after login and the access check;
    the address keeps the tab, filter, order and the selected document."""
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    return _page(request, runtime, user, bg_number)


@router.get("/akte/{bg_number}/liste", response_class=HTMLResponse)
def household_parts(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """The parts of the page that change (household, documents, cases, exports, notes, saved
    views) for the state in the query; akte.js swaps them in."""
    user = current_user(request, runtime)
    context = _context(runtime, user, bg_number, FileState.of(request))
    response = render(request, "_akte_parts.html", user, 200, **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/akte/{bg_number}/vermerke", response_class=HTMLResponse)
async def household_note_form(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """A note on the file from the page's form: the same service, checks and audit as
    POST /api/households/{bg}/notes. Saved: back to the page in its state (303); refused: the
    page again with the German error at the field and the text kept (422)."""
    user = await run_in_threadpool(current_user, request, runtime)
    form = await request.form(max_files=0, max_fields=5)
    text = form.get("text")
    text = text if isinstance(text, str) else ""

    def save() -> Response:
        try:
            with transaction(runtime.sessions) as session:
                files.note_on_household(runtime, Gate(session, user), bg_number, text)
        except InvalidInput as error:
            failed = NoteForm(text, error.message)
            return _page(request, runtime, user, bg_number, status_code=422, note=failed)
        query = FileState.of(request).query()
        saved = f"/akte/{quote(bg_number)}?" + (f"{query}&" if query else "")
        return RedirectResponse(saved + "gespeichert=vermerk", status_code=303)

    return await run_in_threadpool(save)
