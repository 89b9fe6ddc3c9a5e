"""Clearing (/klaerung), rendered on the server: the cards of the open cases (why each waits,
its pages, the type recognition proposed, the households it named as one click each, the mark
of a letter read before with the earlier one linked only where the user may see it), the
household search with its results, and the forms that file a case or discard a duplicate.

Every label is made here; the data come from records.clearing and records.duplicates through
the gate. The page's address holds the filter and the page of the list (`duplikate`, `seite`),
so a reload or Back shows the same. web/static/clearing.js only enhances: it fetches the list
(/klaerung/liste) or a search's results (/klaerung/haushalte) and swaps them in, and sends the
forms with fetch; without it the forms post to these routes and the page comes back whole.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user, get_type_names
from api.schemas import versioned_url
from core.dates import german, local_date
from core.db import transaction
from core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from ingest.filing import catalogue_for, learn_from_correction
from records import clearing, duplicates
from records.access import Capability, Gate, capabilities
from records.duplicates import DuplicateNote
from records.models import Document, InboxItem, User
from records.runtime import Runtime
from web.pages import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 20
SEARCH_RESULTS = 20
# The header a fetch of clearing.js sends: the answer is the list alone, not the whole page.
PARTIAL = "x-eakte-partial"


# --- what the page shows ----------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """The list as the page's address asks for it."""

    page: int = 1
    duplicates_only: bool = False

    @classmethod
    def of(cls, request: Request) -> State:
        text = request.query_params.get("seite", "")
        page = int(text) if text.isdigit() and 0 < int(text) < 100_000 else 1
        return cls(page, request.query_params.get("duplikate") == "1")

    def query(self, **changes: object) -> str:
        """The query string of this state (with `changes`), "" when it is the default."""
        wanted: dict[str, object] = {
            "duplikate": "1" if self.duplicates_only else "",
            "seite": self.page,
        }
        wanted.update(changes)
        kept = {k: v for k, v in wanted.items() if v and not (k == "seite" and v == 1)}
        return urlencode(kept)

    def address(self, path: str = "/klaerung", **changes: object) -> str:
        text = self.query(**changes)
        return f"{path}?{text}" if text else path


@dataclass(frozen=True)
class Thumb:
    number: int
    thumb: str | None  # versioned: a page edited gets new URLs (api.schemas.versioned_url)
    image: str | None


@dataclass(frozen=True)
class Choice:
    bg_number: str
    label: str  # "Zuordnen zu 95401BG… (Anna Schmidt, Paul Schmidt)"


@dataclass(frozen=True)
class Candidate:
    """A household a search found, as the desk reads it."""

    bg_number: str
    inactive: bool
    members: list[tuple[str, bool, str]]  # name, matches the search, " (geb. 01.02.1980)"
    address: str


@dataclass
class Filing:
    """What the card's form shows: the values (as typed, after an error) and its error."""

    values: dict[str, str] = field(default_factory=dict)
    error: str = ""
    error_field: str = ""


@dataclass(frozen=True)
class Card:
    id: uuid.UUID
    source_name: str
    meta: str  # "Eingang 01.12.2026 · 2 Seiten · Schreiben vom 28.11.2026"
    type_name: str  # "Vorgeschlagene Dokumentart: …"
    reason: str
    proposal: str  # "Gefunden: BG-Nummer … auf Seite 1; Person: …"
    choices_intro: str
    choices: list[Choice]
    thumbs: list[Thumb]
    duplicate: DuplicateNote | None
    discard_reason: str  # the reason the discard dialog proposes
    filing: Filing
    candidates: list[Candidate] | None  # a search's results (None: nothing searched)
    query: str  # what was searched


def _pages_label(count: int) -> str:
    return "1 Seite" if count == 1 else f"{count} Seiten"


def _proposal(recognition: dict[str, object]) -> str:
    found = []
    for value, page, known in recognition.get("bg_numbers_found") or []:  # type: ignore[attr-defined]
        found.append(
            f"BG-Nummer {value} auf Seite {page}" + ("" if known else " (nicht in den Stammdaten)")
        )
    if recognition.get("person"):
        found.append(f"Person: {recognition['person']}")
    return f"Gefunden: {'; '.join(found)}" if found else ""


def _known_number(recognition: dict[str, object]) -> str:
    for value, _page, known in recognition.get("bg_numbers_found") or []:  # type: ignore[attr-defined]
        if known:
            return str(value)
    return ""


def _thumbs(document: Document) -> list[Thumb]:
    base = f"/api/documents/{document.id}/pages"
    return [
        Thumb(
            page.number,
            versioned_url(f"{base}/{page.number}/thumb", page.thumb_key),
            versioned_url(f"{base}/{page.number}/image", page.image_key),
        )
        for page in sorted(document.pages, key=lambda p: p.number)
    ]


def _card(
    item: InboxItem,
    names: dict[str, str],
    offered: list[clearing.Suggestion],
    mark: DuplicateNote | None,
    filing: Filing | None,
    candidates: list[Candidate] | None,
    query: str,
) -> Card:
    document = item.document
    recognition = document.recognition or {}
    meta = f"Eingang {german(local_date(document.received_at))}"
    meta += f" · {_pages_label(document.page_count or len(document.pages))}"
    if document.letter_date:
        meta += f" · Schreiben vom {german(document.letter_date)}"
    type_name = names.get(document.doc_type or "", document.doc_type or "")
    values = {"doc_type": document.doc_type or "", "bg_number": "", "note": ""}
    if len(offered) <= 1:  # recognition agrees with itself: its number is filled in
        values["bg_number"] = _known_number(recognition)
    if filing is None:
        filing = Filing(values)
    choices = [
        Choice(s.bg_number, f"Zuordnen zu {s.bg_number}" + (f" ({s.names})" if s.names else ""))
        for s in offered
    ]
    return Card(
        id=document.id,
        source_name=document.source_name,
        meta=meta,
        type_name=f"Vorgeschlagene Dokumentart: {type_name}" if type_name else "",
        reason=item.reason,
        proposal=_proposal(recognition),
        choices_intro="In Frage kommen:" if len(choices) > 1 else "Erkannt:",
        choices=choices,
        thumbs=_thumbs(document),
        duplicate=mark,
        discard_reason=(
            f"Duplikat von {mark.earlier_name}"
            if mark is not None and mark.earlier_name
            else "Duplikat eines früheren Schriftstücks"
        ),
        filing=filing,
        candidates=candidates,
        query=query,
    )


def _candidates(gate: Gate, q: str) -> list[Candidate]:
    """The households a search finds (records.clearing: fuzzy, the best match first)."""
    found = clearing.find_households(gate, q, SEARCH_RESULTS)
    return [
        Candidate(
            bg_number=household.bg_number,
            inactive=not household.active,
            members=[
                (
                    f"{m.first_name} {m.last_name}",
                    matches,
                    f" (geb. {german(m.birth_date)})" if m.birth_date else "",
                )
                for m, matches in zip(household.members, hit.matches, strict=True)
            ],
            address=f"{household.street}, {household.postcode} {household.town}",
        )
        for hit in found
        for household in (hit.household,)
    ]


@dataclass
class Outcome:
    """What the page says after an action: a sentence, or the card's form with its error."""

    said: str = ""
    failed: bool = False
    forms: dict[uuid.UUID, Filing] = field(default_factory=dict)
    search: tuple[uuid.UUID, str] | None = None  # a search typed without the script
    focus: str = ""  # the id of the control the page should focus (an error's field)


def _list_context(
    runtime: Runtime, user: User, state: State, outcome: Outcome
) -> dict[str, object]:
    """The list partial's context, read through the gate (the list is audited)."""
    names = get_type_names(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        found = clearing.clearing_page(
            gate, PER_PAGE, (state.page - 1) * PER_PAGE, duplicates_only=state.duplicates_only
        )
        if not found.items and state.page > 1 and found.total:  # the last cases of a page filed
            state = State(-(-found.total // PER_PAGE), state.duplicates_only)
            found = clearing.clearing_page(
                gate, PER_PAGE, (state.page - 1) * PER_PAGE, duplicates_only=state.duplicates_only
            )
        documents = [item.document for item in found.items]
        offered = clearing.suggestions(session, documents)
        marks = duplicates.notes_for(gate, documents)
        searched: dict[uuid.UUID, list[Candidate]] = {}
        if outcome.search is not None and len(outcome.search[1].strip()) >= 2:
            searched[outcome.search[0]] = _candidates(gate, outcome.search[1])
        query = outcome.search[1] if outcome.search else ""
        cards = [
            _card(
                item,
                names,
                offered.get(item.document_id, []),
                marks.get(item.document_id),
                outcome.forms.get(item.document_id),
                searched.get(item.document_id),
                query if outcome.search and outcome.search[0] == item.document_id else "",
            )
            for item in found.items
        ]
    pages = max(1, -(-found.total // PER_PAGE))
    first = (state.page - 1) * PER_PAGE + 1
    return {
        "cards": cards,
        "state": state,
        "count": f"{found.open} offen",
        "duplicate_filter": f"Nur Duplikate ({found.duplicates})",
        "range": (
            (
                f"Fälle {first}–{first + len(cards) - 1} von {found.total}"
                if len(cards) > 1
                else f"Fall {first} von {found.total}"
            )
            if cards
            else (
                "Keine als Duplikat markierten Klärungsfälle."
                if state.duplicates_only
                else "Keine offenen Klärungsfälle."
            )
        ),
        "page_text": f"Seite {state.page} von {pages}",
        "previous": state.address(seite=state.page - 1) if state.page > 1 else None,
        "next": state.address(seite=state.page + 1) if state.page < pages else None,
        "types": sorted(names.items(), key=lambda pair: pair[1]),
        "said": outcome.said,
        "failed": outcome.failed,
        "focus": outcome.focus,
    }


def _clearing_user(request: Request, runtime: Runtime) -> User:
    """The signed-in user whose role does clearing (else "Kein Zugriff", audited)."""
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    with transaction(runtime.sessions, read_only=True) as session:
        Gate(session, user).require(Capability.CLEARING, "page.clearing")
    return user


def _answer(
    request: Request, runtime: Runtime, user: User, outcome: Outcome, status_code: int = 200
) -> Response:
    """The list alone for clearing.js, else the whole page."""
    state = State.of(request)
    context = _list_context(runtime, user, state, outcome)
    if request.headers.get(PARTIAL):
        response = render(request, "_clearing_list.html", user, status_code, **context)
    else:
        response = render(request, "clearing.html", user, status_code, **context)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the page and its parts -------------------------------------------------------------------


@router.get("/klaerung", response_class=HTMLResponse)
def clearing_page(request: Request, runtime: RuntimeDep) -> Response:
    try:
        user = current_user(request, runtime)
    except NotAuthenticated:
        return RedirectResponse("/anmelden", status_code=303)
    if Capability.CLEARING not in capabilities(user):
        _clearing_user(request, runtime)  # "Kein Zugriff", audited
    outcome = Outcome()
    wanted = request.query_params.get("fuer", "")
    if wanted:  # a household search sent without the script: its results at its card
        with contextlib.suppress(ValueError):
            outcome.search = (uuid.UUID(wanted), request.query_params.get("q", ""))
    return _answer(request, runtime, user, outcome)


@router.get("/klaerung/liste", response_class=HTMLResponse)
def clearing_list(request: Request, runtime: RuntimeDep) -> Response:
    """The list (filter, cards, paging) for clearing.js."""
    user = _clearing_user(request, runtime)
    context = _list_context(runtime, user, State.of(request), Outcome())
    response = render(request, "_clearing_list.html", user, 200, **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/klaerung/haushalte", response_class=HTMLResponse)
def household_results(request: Request, runtime: RuntimeDep) -> Response:
    """A household search's results for one card (master data only; audited)."""
    user = _clearing_user(request, runtime)
    q = request.query_params.get("q", "").strip()[:200]
    card = request.query_params.get("fuer", "")
    found: list[Candidate] = []
    if len(q) >= 2:
        with transaction(runtime.sessions, read_only=True) as session:
            found = _candidates(Gate(session, user), q)
    response = render(
        request,
        "_clearing_households.html",
        user,
        200,
        candidates=found,
        card=card,
        short=len(q) < 2,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the forms --------------------------------------------------------------------------------


def _wanted(document_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(document_id)
    except ValueError:
        raise NotFound("Dokument nicht gefunden.") from None


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=20)
    return {k: v.strip() for k, v in form.items() if isinstance(k, str) and isinstance(v, str)}


# Which field an error of the filing is about, by its code.
_FILING_FIELDS = {"bg_unknown": "bg", "bg_inactive": "bg", "doc_type_unknown": "type"}


def _inbox_name(item: InboxItem) -> str:
    if item.kind == "user" and item.user is not None:
        return item.user.login
    if item.kind == "team" and item.team is not None:
        return item.team.name
    return "Klärung"


@router.post("/klaerung/{document_id}/zuordnen", response_class=HTMLResponse)
async def file_form(document_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """File a case: the household (typed, or one of the households recognition named, sent as
    `choice`) and the type; the same service, checks and audit as the JSON API."""
    wanted = _wanted(document_id)
    user = await run_in_threadpool(_clearing_user, request, runtime)
    posted = await _posted(request)
    bg_number = posted.get("choice") or posted.get("bg_number", "")
    values = {k: posted.get(k, "") for k in ("doc_type", "bg_number", "note")}

    def save() -> Outcome:
        if not bg_number:
            return Outcome(
                forms={wanted: Filing(values, "Bitte die BG-Nummer angeben.", "bg")},
                focus=f"bg-{wanted}",
            )
        try:
            with transaction(runtime.sessions) as session:
                filed = clearing.file_by_hand(
                    runtime,
                    Gate(session, user),
                    wanted,
                    bg_number=bg_number,
                    doc_type=values["doc_type"],
                    note=values["note"] or None,
                    types=catalogue_for(runtime.settings, runtime.sessions).types,
                    learn=learn_from_correction,
                )
                said = (
                    f"{filed.document.source_name}: zugeordnet zu {filed.household.bg_number}, "
                    f"Postkorb {_inbox_name(filed.item)}."
                )
        except (InvalidInput, Conflict) as error:
            at = _FILING_FIELDS.get(error.code or "", "")
            return Outcome(
                forms={wanted: Filing(values, error.message, at)},
                focus=f"{at or 'bg'}-{wanted}",
            )
        return Outcome(said=said)

    outcome = await run_in_threadpool(save)
    status_code = 422 if outcome.forms else 200
    return await run_in_threadpool(_answer, request, runtime, user, outcome, status_code)


@router.post("/klaerung/{document_id}/verwerfen", response_class=HTMLResponse)
async def discard_form(document_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """Discard a duplicate with a reason (asked for in a confirmation): records.duplicates."""
    wanted = _wanted(document_id)
    user = await run_in_threadpool(_clearing_user, request, runtime)
    posted = await _posted(request)

    def save() -> Outcome:
        try:
            with transaction(runtime.sessions) as session:
                document = duplicates.discard(
                    runtime, Gate(session, user), wanted, posted.get("reason", "")
                )
                return Outcome(said=f"{document.source_name}: als Duplikat verworfen.")
        except (InvalidInput, Conflict) as error:
            return Outcome(said=error.message, failed=True)

    outcome = await run_in_threadpool(save)
    status_code = 422 if outcome.failed else 200
    return await run_in_threadpool(_answer, request, runtime, user, outcome, status_code)
