"""The search page /suche, rendered on the server: the form (team from a list, type, period,
state, direction), the hits (type, household, date in German, the hit's page, the snippet with
the matched words marked), facets, counts and paging, and the user's saved searches.

The page's address holds the words and filters (a plain GET form, so it works without script
and a reload or Back shows the same); /suche/treffer is the results part alone, which
search.js fetches and swaps in (also for the box "In dieser Akte suchen" of an E-Akte, with
`akte` naming the household). What is shown comes from records.file_search through the Gate,
as /api/search: hits, totals and facets only of households the user may see, and audited.

A snippet is the index's escaped text with <mark> around the hits (search.base): it is split
here into plain and marked segments of text, which the template prints escaped. OCR text is
what a letter's writer chose; no part of it is ever markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user, get_type_names
from core.dates import german
from core.db import transaction
from core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from records import saved_views
from records.access import Capability, Gate, capabilities
from records.file_search import FILTER_PARAMS, SearchFilters, search_files, search_teams
from records.models import SavedView, User
from records.runtime import Runtime
from search import SearchHit, SearchResult
from web.pages import render, require

router = APIRouter(include_in_schema=False)

PAGE = "suche"  # the page's name among the saved views (records.saved_views.PAGES)
LIMIT = 20  # hits per page
OFFSET_MAX = 9_900  # the index's deepest page
KEYS = ("q", *FILTER_PARAMS)  # what the address holds of a search (and a saved one)
STATUS_NAMES = {"routed": "offen im Postkorb", "done": "erledigt", "clearing": "in Klärung"}
DIRECTION_NAMES = {"in": "Posteingang", "out": "Postausgang"}
NOTICES = {"gespeichert": "Suche gespeichert.", "geloescht": "Gespeicherte Suche gelöscht."}
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def snippet_segments(snippet: str) -> list[tuple[str, bool]]:
    """The snippet as (text, marked) pieces of plain text. Only the index's own tags mark: the
    words between them are escaped (a `<mark>` in the letter arrives as `&lt;mark&gt;`), so
    splitting at the tags and unescaping each piece once gives back exactly what was read."""
    parts = _MARK.split(snippet)
    return [(html.unescape(part), index % 2 == 1) for index, part in enumerate(parts) if part]


@dataclass(frozen=True)
class Asked:
    """A search as the address asks it: the words and filters given (non-empty, in KEYS
    order), the offset, and the household of an E-Akte's box (`akte`), which is fixed."""

    values: dict[str, str]
    offset: int = 0
    fixed_bg: str = ""

    @classmethod
    def of(cls, params: Mapping[str, str]) -> Asked:
        fixed = params.get("akte", "").strip()[:40]
        values = {key: params.get(key, "").strip()[:500] for key in KEYS}
        if fixed:
            values["bg_number"] = fixed
        text = params.get("offset", "")
        offset = int(text) if text.isdigit() else 0
        return cls({k: v for k, v in values.items() if v}, min(offset, OFFSET_MAX), fixed)

    @property
    def q(self) -> str:
        return self.values.get("q", "")

    def query(self, changes: Mapping[str, str] | None = None, *, offset: int = 0) -> str:
        """The address's query string with `changes` (an empty value drops the filter)."""
        values = {**self.values, **(changes or {})}
        pairs = [(key, values[key]) for key in KEYS if values.get(key)]
        return urlencode(pairs + ([("offset", str(offset))] if offset else []))

    def link(self, changes: Mapping[str, str] | None = None, *, offset: int = 0) -> str:
        return f"/suche?{self.query(changes, offset=offset)}"


@dataclass(frozen=True)
class HitView:
    """One hit as the page shows it (every label German)."""

    id: str
    note: bool  # a note on the whole file (opens the E-Akte)
    type_name: str
    page: int
    bg_number: str | None
    day: str  # the receipt date, "03.12.2026"
    direction_name: str  # "Postausgang" for an outgoing letter, else empty
    status_name: str
    source_name: str
    segments: list[tuple[str, bool]]
    viewer_url: str
    document_url: str


@dataclass(frozen=True)
class Choice:
    """A facet's value: its label, count, the address with it chosen (or lifted), chosen."""

    label: str
    count: int
    href: str
    active: bool
    key: str  # names the link across redraws (focus stays on it)


@dataclass(frozen=True)
class FacetGroup:
    key: str
    title: str
    choices: list[Choice]


@dataclass
class Results:
    """What the results part shows (nothing searched while the address has no words)."""

    asked: Asked
    error: str = ""
    total: int = 0
    hits: list[HitView] = field(default_factory=list)
    facets: list[FacetGroup] = field(default_factory=list)
    chips: list[tuple[str, str, str]] = field(default_factory=list)  # label, href, key
    summary: str = ""
    previous: str | None = None
    next: str | None = None


def _hit_view(hit: SearchHit, asked: Asked, names: Mapping[str, str]) -> HitView:
    viewer = urlencode({"doc": hit.document_id, "page": hit.page, "q": asked.q})
    listed = urlencode([("liste", "suche"), *((k, v) for k, v in asked.values.items())])
    return HitView(
        id=hit.document_id,
        note=hit.file_note,
        type_name=names.get(hit.doc_type or "", hit.doc_type or "") or "ohne Dokumentart",
        page=hit.page,
        bg_number=hit.bg_number,
        day=german(hit.receipt_date),
        direction_name=DIRECTION_NAMES["out"] if hit.direction == "out" else "",
        status_name=STATUS_NAMES.get(hit.status, ""),
        source_name=hit.source_name,
        segments=snippet_segments(hit.snippet),
        viewer_url=f"/akte/{hit.bg_number}" if hit.file_note else f"/viewer?{viewer}",
        document_url=f"/dokument/{hit.document_id}?{listed}",
    )


def _year_range(year: str) -> tuple[str, str]:
    return f"{year}-01-01", f"{year}-12-31"


def _facets(result: SearchResult, asked: Asked, names: Mapping[str, str]) -> list[FacetGroup]:
    """Type, year and (outside an E-Akte) household, each value a link that chooses it, or
    lifts it when it is chosen already."""
    v = asked.values
    groups: list[FacetGroup] = []

    def group(key: str, title: str, choices: list[Choice]) -> None:
        if choices:
            groups.append(FacetGroup(key, title, choices))

    types = []
    for code, n in result.facets.get("doc_type", {}).items():
        active = v.get("doc_type") == code
        href = asked.link({"doc_type": "" if active else code})
        types.append(Choice(names.get(code, code), n, href, active, f"doc_type:{code}"))
    group("doc_type", "Dokumentart", types)
    years = []
    for year, n in result.facets.get("year", {}).items():
        start, end = _year_range(year)
        active = v.get("from") == start and v.get("to") == end
        changes = {"from": "", "to": ""} if active else {"from": start, "to": end}
        years.append(Choice(year, n, asked.link(changes), active, f"year:{year}"))
    group("year", "Eingangsjahr", years)
    if not asked.fixed_bg:
        households = []
        for bg, n in result.facets.get("household", {}).items():
            active = v.get("bg_number") == bg
            href = asked.link({"bg_number": "" if active else bg})
            households.append(Choice(bg, n, href, active, f"household:{bg}"))
        group("household", "Haushalt (BG)", households)
    return groups


def _chip_label(key: str, value: str, names: Mapping[str, str]) -> str:
    if key == "doc_type":
        return names.get(value, value)
    if key == "status":
        return STATUS_NAMES.get(value, value)
    if key == "direction":
        return DIRECTION_NAMES.get(value, value)
    if key in ("from", "to"):
        try:
            day = german(date.fromisoformat(value))
        except ValueError:
            day = value
        return f"ab {day}" if key == "from" else f"bis {day}"
    if key == "bg_number":
        return f"BG {value}"
    return f"Team {value}"


def _chips(asked: Asked, names: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """The filters in force, each a link that lifts it."""
    return [
        (_chip_label(key, asked.values[key], names), asked.link({key: ""}), f"clear:{key}")
        for key in FILTER_PARAMS
        if asked.values.get(key) and not (key == "bg_number" and asked.fixed_bg)
    ]


def search_results(runtime: Runtime, user: User, asked: Asked) -> Results:
    """The results for the address: the search through records.file_search (need-to-know,
    audit), or the German message of a search the address cannot ask."""
    shown = Results(asked)
    if not asked.q:
        return shown
    names = get_type_names(runtime)
    shown.chips = _chips(asked, names)
    try:
        filters = SearchFilters.from_params(asked.values)
        result = search_files(runtime, user, asked.q, filters, limit=LIMIT, offset=asked.offset)
    except (InvalidInput, NotFound) as error:
        shown.error = error.message
        return shown
    shown.total = result.total
    shown.hits = [_hit_view(hit, asked, names) for hit in result.hits]
    shown.facets = _facets(result, asked, names)
    first, last = asked.offset + 1, asked.offset + len(result.hits)
    shown.summary = "1 Treffer" if result.total == 1 else f"{result.total} Treffer"
    if result.total > LIMIT and result.hits:
        shown.summary += f" ({first}–{last})"
    if asked.offset > 0:
        shown.previous = asked.link(offset=max(0, asked.offset - LIMIT))
    if last < result.total and asked.offset + LIMIT <= OFFSET_MAX:
        shown.next = asked.link(offset=asked.offset + LIMIT)
    return shown


# --- the page and its results part --------------------------------------------------------


def _searcher(request: Request, runtime: Runtime) -> User:
    """The signed-in user whose role may search (case files, or the desk's clearing), else
    "Kein Zugriff" (audited as page.search); nobody signed in: NotAuthenticated."""
    user = current_user(request, runtime)
    if Capability.CLEARING not in capabilities(user):
        require(runtime, user, Capability.CASE_FILES, "page.search")
    return user


@dataclass
class ViewsForm:
    """The saved searches' part of the page: the user's searches, the notice of the last
    action, and after a refused save the name typed and the error."""

    views: list[tuple[int, str, str]] = field(default_factory=list)  # id, name, address
    notice: str = ""
    name: str = ""
    error: str = ""
    limit: int = 0


def _views(runtime: Runtime, user: User, form: ViewsForm | None = None) -> ViewsForm | None:
    """The user's saved searches (None for a role without saved searches: the desk)."""
    if saved_views.PAGES[PAGE].capability not in capabilities(user):
        return None
    form = form or ViewsForm()
    with transaction(runtime.sessions, read_only=True) as session:
        listed = saved_views.list_views(Gate(session, user), PAGE)
        form.views = [(v.id, v.name, f"/suche?{v.query}") for v in listed]
    form.limit = runtime.settings.saved_views_max
    return form


def _page(
    request: Request,
    runtime: Runtime,
    user: User,
    asked: Asked,
    views: ViewsForm | None,
    status_code: int = 200,
) -> Response:
    names = get_type_names(runtime)
    return render(
        request,
        "search.html",
        user,
        status_code,
        form=asked.values,
        results=search_results(runtime, user, asked),
        types=sorted(names.items(), key=lambda item: item[1]),
        teams=search_teams(runtime, user),
        statuses=list(STATUS_NAMES.items()),
        directions=list(DIRECTION_NAMES.items()),
        views=views,
        saved_query=asked.query(),
    )


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params.items())


@router.get("/suche", response_class=HTMLResponse)
def search_page(request: Request, runtime: RuntimeDep) -> Response:
    try:
        user = _searcher(request, runtime)
    except NotAuthenticated:
        return RedirectResponse("/anmelden", status_code=303)
    asked = Asked.of({k: v for k, v in _params(request).items() if k != "akte"})
    views = _views(runtime, user)
    if views is not None:
        views.notice = NOTICES.get(request.query_params.get("hinweis", ""), "")
    return _page(request, runtime, user, asked, views)


@router.get("/suche/treffer", response_class=HTMLResponse)
def results_part(request: Request, runtime: RuntimeDep) -> Response:
    """The results part alone (search.js swaps it in): the same search as the page."""
    user = _searcher(request, runtime)
    asked = Asked.of(_params(request))
    results = search_results(runtime, user, asked)
    response = render(request, "_search_results.html", user, 200, results=results)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- saved searches -------------------------------------------------------------------------


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=10)
    return {k: v for k, v in form.items() if isinstance(k, str) and isinstance(v, str)}


def _asked_of_query(query: str) -> Asked:
    try:
        pairs = parse_qsl(query.removeprefix("?")[:4000], max_num_fields=20)
    except ValueError:
        pairs = []
    return Asked.of({k: v for k, v in pairs if k in KEYS})


def _save(runtime: Runtime, user: User, name: str, query: str) -> ViewsForm | SavedView:
    """Saves the search `query` under `name`; refused, the form with the error."""
    asked = _asked_of_query(query)
    try:
        if not asked.q:
            raise InvalidInput("Bitte zuerst Suchbegriffe eingeben.", code="view_query")
        SearchFilters.from_params(asked.values)  # a date the search cannot read: refused here
        choices = set(get_type_names(runtime)) | set(search_teams(runtime, user))
        with transaction(runtime.sessions) as session:
            return saved_views.save_view(
                Gate(session, user),
                PAGE,
                name,
                query,
                choices=choices,
                limit=runtime.settings.saved_views_max,
            )
    except (InvalidInput, Conflict) as error:
        return ViewsForm(name=name, error=error.message)


@router.post("/suche/ansichten", response_class=HTMLResponse)
async def save_search(request: Request, runtime: RuntimeDep) -> Response:
    """Saves the search the page shows under a name of the user's own; refused (no name, a
    name taken, the limit reached), the page again with the error at the name (422)."""
    user = await run_in_threadpool(current_user, request, runtime)
    posted = await _posted(request)
    query = posted.get("query", "")
    saved = await run_in_threadpool(_save, runtime, user, posted.get("name", ""), query)
    asked = _asked_of_query(query)
    if isinstance(saved, SavedView):
        return RedirectResponse(f"/suche?{saved.query}&hinweis=gespeichert", status_code=303)
    views = await run_in_threadpool(_views, runtime, user, saved)
    return await run_in_threadpool(_page, request, runtime, user, asked, views, 422)


@router.post("/suche/ansichten/{view_id}/loeschen", response_class=HTMLResponse)
async def delete_search(view_id: int, request: Request, runtime: RuntimeDep) -> Response:
    """Deletes one of the user's saved searches (another user's is not found); back to the
    search the page showed."""
    user = await run_in_threadpool(current_user, request, runtime)
    posted = await _posted(request)

    def delete() -> None:
        with transaction(runtime.sessions) as session:
            saved_views.delete_view(Gate(session, user), PAGE, view_id)

    await run_in_threadpool(delete)
    query = _asked_of_query(posted.get("query", "")).query()
    notice = urlencode({"hinweis": "geloescht"})
    return RedirectResponse(f"/suche?{query}&{notice}" if query else f"/suche?{notice}", 303)
