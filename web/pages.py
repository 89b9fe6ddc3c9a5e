"""Page routes of the web UI. Pages are German; they call the JSON API from the browser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import RuntimeDep, current_user
from core.dates import LOCAL_TZ
from core.db import transaction
from core.errors import NotAuthenticated, NotFound
from records import oidc
from records.access import Capability, Gate, capabilities
from records.models import User
from records.runtime import Runtime

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
# The office's time zone: a page's "today" is the office's (a browser set to another zone, or a
# few minutes past midnight, must not call today's date a future one).
templates.env.globals["office_timezone"] = LOCAL_TZ.key
# The pages' scripts and styles, served under /static by the product app.
STATIC_DIR = Path(__file__).resolve().parent / "static"
router = APIRouter(include_in_schema=False)


def render(
    request: Request, name: str, user: User | None, status_code: int = 200, **context: object
) -> Response:
    """A page; templates learn what the user may do as capabilities, never as a role name."""
    caps = {c.value for c in capabilities(user)}
    return templates.TemplateResponse(
        request, name, {"user": user, "caps": caps, **context}, status_code=status_code
    )


def require(runtime: Runtime, user: User, capability: Capability, action: str) -> None:
    """The user's role may open this page, else AccessDenied: the product's error handler
    shows "Kein Zugriff" (web.errors), and the refusal is in the audit log."""
    with transaction(runtime.sessions, read_only=True) as session:
        Gate(session, user).require(capability, action)


def gated_page(
    request: Request,
    runtime: Runtime,
    name: str,
    capability: Capability,
    action: str,
    **context: object,
) -> Response:
    """A page for the signed-in user whose role has `capability` (nobody signed in: the login
    page, by web.errors; a role without it: "Kein Zugriff", audited as `action`)."""
    user = current_user(request, runtime)
    require(runtime, user, capability, action)
    return render(request, name, user, 200, **context)


def _user(request: Request, runtime: RuntimeDep):  # type: ignore[no-untyped-def]
    try:
        return current_user(request, runtime)
    except NotAuthenticated:
        return None


def signed_in_user(request: Request) -> User | None:
    """Who is signed in, for the menu of an error page."""
    return _user(request, request.app.state.runtime)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, runtime: RuntimeDep) -> Response:
    user = _user(request, runtime)
    if user is None:
        return RedirectResponse("/anmelden", status_code=303)
    # The caseworkers' Postkorb; the administration's pages; the data protection officer's;
    # the desk's work.
    caps = capabilities(user)
    start = (
        "/postkorb"
        if Capability.INBOX in caps
        else "/verwaltung"
        if Capability.ADMINISTER in caps
        else "/datenschutz"
        if Capability.AUDIT in caps
        else "/scanstelle"
    )
    return RedirectResponse(start, status_code=303)


@router.get("/anmelden", response_class=HTMLResponse)
def login_page(request: Request, runtime: RuntimeDep) -> Response:
    settings = runtime.settings
    sso = request.query_params.get("sso")
    return render(
        request,
        "login.html",
        None,
        demo=settings.demo,
        directory=bool(settings.ldap_url),
        # Single sign-on (api/routes/sso.py): the button, and why the last try was refused.
        sso_label=settings.oidc_button_label if settings.oidc_enabled else None,
        sso_href=_sso_start(request.query_params.get("next")),
        sso_error=oidc.message_for(sso) if sso else None,
    )


def _sso_start(next_path: str | None) -> str:
    return f"/anmelden/sso?{urlencode({'next': next_path})}" if next_path else "/anmelden/sso"


# The pages of desk and clearing: path, template, the capability the page needs, the audited
# action of a refusal, and the capabilities that are enough on their own (the administration
# checks the stored files' checksums on the desk's page). The search page: web/search_pages.py.
_SIGNED_IN_PAGES: tuple[tuple[str, str, Capability, str, set[Capability]], ...] = (
    (
        "/scanstelle",
        "desk.html",
        Capability.SCAN,
        "page.desk",
        {Capability.SCAN, Capability.VERIFY_STORE},
    ),
    # /klaerung: web.clearing_pages (rendered with its list).
)


def _signed_in_page(
    name: str, capability: Capability, action: str, enough: set[Capability]
) -> Callable[[Request, Runtime], Response]:
    """A page route: nobody signed in goes to the login page; a role with one of `enough` opens
    it at once, any other needs `capability` (else "Kein Zugriff", audited as `action`)."""

    def page(request: Request, runtime: RuntimeDep) -> Response:
        user = _user(request, runtime)
        if user is None:
            return RedirectResponse("/anmelden", status_code=303)
        if not capabilities(user) & enough:
            require(runtime, user, capability, action)
        return render(request, name, user)

    return page


for _path, _name, _capability, _action, _enough in _SIGNED_IN_PAGES:
    router.add_api_route(
        _path, _signed_in_page(_name, _capability, _action, _enough), response_class=HTMLResponse
    )


# --- viewer and deep links ---
# The viewer is a window of its own (second monitor); the main window steers it through a
# BroadcastChannel (protocol in web/static/viewer.js). /dokument/{id} (the document page,
# below) is the link the specialist application and colleagues use to point at one document.
# (Imports kept in this block so that it can be appended without touching the top of the file.)

import uuid  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

_VIEWER_PASSED_ON = ("page", "q")


@router.get("/viewer", response_class=HTMLResponse)
def viewer_page(request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    # The page is only the frame: the document comes through the API, checked and audited.
    # The browser may start on the document and its first page while it reads the script.
    preload = None
    try:
        wanted = uuid.UUID(request.query_params.get("doc", ""))
        page = int(request.query_params.get("page") or 1)
    except ValueError:
        pass
    else:
        if page >= 1:
            base = f"/api/documents/{wanted}"
            preload = {"view": f"{base}/view", "image": f"{base}/pages/{page}/image"}
    return render(request, "viewer.html", user, error=None, preload=preload)


# --- the document page ---
# /dokument/{id}: the page image beside the document's data ("Angaben"), its notes ("Vermerke")
# and its history ("Verlauf"), with previous/next within the list it was opened from. Rendered
# here; web/static/dokument.js only switches the tabs. The forms post to this page's routes,
# which call the same services as the JSON API (records.files) with the same checks: an error
# is shown at its field with what was typed, a success leads back to the page (303).

import functools  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date  # noqa: E402
from typing import Any  # noqa: E402

from starlette.concurrency import run_in_threadpool  # noqa: E402

from api.deps import get_type_names  # noqa: E402
from api.schemas import versioned_url  # noqa: E402
from core.dates import german, local_today  # noqa: E402
from core.errors import InvalidInput  # noqa: E402
from records import files, history, neighbours  # noqa: E402
from records.access import document_grant, in_case_file  # noqa: E402
from records.models import Document, Note  # noqa: E402

_TABS = ("angaben", "vermerke", "verlauf")
_DATES = ("receipt_date", "letter_date", "dispatch_date")
_SAVED = {"angaben": "Angaben gespeichert.", "vermerk": "Vermerk gespeichert."}
# Which field an error of records.files is about, by its code.
_ERROR_FIELDS = {
    "receipt_date_reason": "reason",
    "doc_type_unknown": "doc_type",
    "note_empty": "text",
    "note_long": "text",
}


@dataclass
class _Form:
    """What a form of the page shows: the values (as typed, after an error) and the errors by
    field; `general` for an error that concerns no one field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: str = ""


def _details_values(document: Document) -> dict[str, str]:
    return {
        "doc_type": document.doc_type or "",
        "receipt_date": document.receipt_date.isoformat() if document.receipt_date else "",
        "letter_date": document.letter_date.isoformat() if document.letter_date else "",
        "dispatch_date": document.dispatch_date.isoformat() if document.dispatch_date else "",
        "sender": document.sender or "",
        "reason": "",
    }


def _note_view(note: Note) -> dict[str, str]:
    when = history.local_time(note.created_at)
    return {"author": note.author_name, "when": when, "text": note.text}


def _context(request: Request) -> neighbours.ListContext:
    return neighbours.ListContext.from_query(request.query_params.multi_items())


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page") or 1))
    except ValueError:
        return 1


def _document_page(
    request: Request,
    runtime: Runtime,
    user: User,
    document_id: uuid.UUID,
    *,
    status_code: int = 200,
    tab: str | None = None,
    details: _Form | None = None,
    note: _Form | None = None,
) -> Response:
    """The page, read through the gate (the read, the history and the list are audited)."""
    names = get_type_names(runtime)
    context = _context(request)
    wanted_tab = tab or request.query_params.get("reiter")
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        document, notes = files.document_details(gate, document_id)
        grant = document_grant(session, user, document)
        entries = history.document_history(gate, document.id, names)
        household = document.household if in_case_file(document) else None
        around: neighbours.Neighbours | None = None
        if context.kind == "postkorb":
            around = neighbours.in_postkorb(gate, context, document.id, names)
        elif (
            context.kind in ("akte", "")
            and household is not None
            and grant is not None
            and grant.via not in ("clearing", "desk")
        ):
            order = context.get("ansicht", "timeline")
            around = neighbours.in_file(gate, household.bg_number, document.id, names, order)
        page_count = len(document.pages)
        number = min(_page_number(request), max(page_count, 1))
        shown = document.pages[number - 1] if page_count else None
        values = _details_values(document)
        view = {
            "id": str(document.id),
            "source_name": document.source_name,
            "type_name": names.get(document.doc_type or "", "Dokumentart offen"),
            "bg_number": household.bg_number if household else None,
            "members": ", ".join(
                f"{m.first_name} {m.last_name}" for m in (household.members if household else [])
            ),
            "receipt": german(document.receipt_date),
            "outgoing": document.direction == "out",
            "page_count": page_count,
            "has_image": bool(shown and shown.image_key),
            # Versioned (api.schemas.versioned_url): a page turned or renumbered by page
            # editing gets a new URL, so the browser's hour-long copy is never shown.
            "image_url": versioned_url(
                f"/api/documents/{document.id}/pages/{number}/image", shown.image_key
            )
            if shown
            else None,
            "has_pdf": document.pdf_key is not None,
        }
        note_views = [_note_view(n) for n in notes]
    if context.kind == "suche":
        around = neighbours.in_search(runtime, user, context, document_id, names)
    details = details or _Form(values)
    if not details.values:
        details.values = values
    base = f"/dokument/{document_id}"
    q = request.query_params.get("q") or None
    extra_q = None if context.kind == "suche" else q  # a search's words are in its context
    selected = wanted_tab if wanted_tab in _TABS else "angaben"
    # Previous/next keep the open tab: reading the Verlauf of one letter after another.
    kept_tab = None if selected == "angaben" else selected
    link = {
        "page": lambda n: context.with_query(base, page=n, q=extra_q),
        "document": lambda other: context.with_query(f"/dokument/{other}", reiter=kept_tab),
        "action": lambda what: context.with_query(f"{base}/{what}", page=number, q=extra_q),
    }
    shown_in_viewer = {"doc": str(document_id), "page": number, **({"q": q} if q else {})}
    viewer = f"/viewer?{urlencode(shown_in_viewer)}"
    saved = _SAVED.get(request.query_params.get("gespeichert", ""), "")
    return render(
        request,
        "dokument.html",
        user,
        status_code,
        doc=view,
        page_number=number,
        link=link,
        viewer_url=viewer,
        around=around,
        tab=selected,
        details=details,
        note=note or _Form(),
        notes=note_views,
        history=entries,
        editable=grant is not None and files.may_change(grant),
        # issue 17: erasure and restriction (Art. 17, 18 DSGVO) for the caseworker of the file
        may_erase=household is not None and Capability.CASE_FILES in capabilities(user),
        types=sorted(names.items(), key=lambda item: item[1]),
        today=local_today().isoformat(),
        saved=saved,
    )


def _wanted(document_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(document_id)
    except ValueError:
        raise NotFound("Dokument nicht gefunden.") from None


@router.get("/dokument/{document_id}", response_class=HTMLResponse)
def document_page(document_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """The document page; also the deep link of the Fachverfahren and of colleagues. Unknown
    and foreign ids are refused alike ("Kein Zugriff"); the refusal is in the audit log."""
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    return _document_page(request, runtime, user, _wanted(document_id))


def _parse_details(form: dict[str, str], outgoing: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The changes the "Angaben" form asks for, and the errors found before sending them."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if form.get("doc_type"):
        changes["doc_type"] = form["doc_type"]
    changes["sender"] = form.get("sender", "").strip() or None
    for name in _DATES:
        if name == "dispatch_date" and not outgoing:
            continue
        text = form.get(name, "").strip()
        if not text:
            if name == "receipt_date":
                errors[name] = "Bitte ein Eingangsdatum angeben."
            else:
                changes[name] = None
            continue
        try:
            changes[name] = date.fromisoformat(text)
        except ValueError:
            errors[name] = "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."
    return changes, errors


def _error_fields(error: InvalidInput, changes: dict[str, Any]) -> dict[str, str]:
    """Where a refusal of records.files belongs: its field, or each date in the future."""
    if error.code == "date":
        today = local_today()
        late = [n for n in _DATES if isinstance(changes.get(n), date) and changes[n] > today]
        return {name: error.message for name in late}
    name = _ERROR_FIELDS.get(error.code or "")
    return {name: error.message} if name else {}


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=20)
    return {k: v for k, v in form.items() if isinstance(k, str) and isinstance(v, str)}


def _saved(request: Request, document_id: uuid.UUID, what: str, tab: str) -> Response:
    context = _context(request)
    target = context.with_query(
        f"/dokument/{document_id}",
        page=request.query_params.get("page"),
        q=None if context.kind == "suche" else request.query_params.get("q"),
        reiter=tab,
        gespeichert=what,
    )
    return RedirectResponse(target, status_code=303)


async def _form_answer(
    request: Request,
    runtime: Runtime,
    document_id: str,
    save: Callable[[User, uuid.UUID, dict[str, str]], _Form | None],
    *,
    tab: str,
    saved: str,
    form: str,
) -> Response:
    """A form of the page: `save` it for the signed-in user; saved, back to the page (303);
    refused, the page again with the errors at their fields and the input kept (422), the tab
    of the form open. The page's `form` (details or note) shows what `save` returned."""
    user = await run_in_threadpool(current_user, request, runtime)
    wanted = _wanted(document_id)
    posted = await _posted(request)
    failed = await run_in_threadpool(save, user, wanted, posted)
    if failed is None:
        return _saved(request, wanted, saved, tab)
    page = functools.partial(
        _document_page, request, runtime, user, wanted, status_code=422, tab=tab
    )
    return await run_in_threadpool(page, **{form: failed})


@router.post("/dokument/{document_id}/angaben", response_class=HTMLResponse)
async def document_details_form(
    document_id: str, request: Request, runtime: RuntimeDep
) -> Response:
    """The "Angaben" form: the same change, checks and audit as PATCH /api/documents/{id}."""

    def save(user: User, wanted: uuid.UUID, posted: dict[str, str]) -> _Form | None:
        names = get_type_names(runtime)
        with transaction(runtime.sessions, read_only=True) as session:
            document = Gate(session, user).document(wanted, "document.change", audited=False)[0]
            outgoing = document.direction == "out"
        changes, errors = _parse_details(posted, outgoing)
        typed = {k: posted.get(k, "") for k in (*_DATES, "doc_type", "sender", "reason")}
        if errors:
            return _Form(typed, errors)
        try:
            with transaction(runtime.sessions) as session:
                files.update_document(
                    runtime,
                    Gate(session, user),
                    wanted,
                    changes,
                    reason=posted.get("reason"),
                    doc_types=set(names),
                )
        except InvalidInput as error:
            at_fields = _error_fields(error, changes)
            return _Form(typed, at_fields, "" if at_fields else error.message)
        return None

    return await _form_answer(
        request, runtime, document_id, save, tab="angaben", saved="angaben", form="details"
    )


@router.post("/dokument/{document_id}/vermerke", response_class=HTMLResponse)
async def document_note_form(document_id: str, request: Request, runtime: RuntimeDep) -> Response:
    """A note on the document: the same as POST /api/documents/{id}/notes."""

    def save(user: User, wanted: uuid.UUID, posted: dict[str, str]) -> _Form | None:
        text = posted.get("text", "")
        try:
            with transaction(runtime.sessions) as session:
                files.note_on_document(runtime, Gate(session, user), wanted, text)
        except InvalidInput as error:
            at_field = _error_fields(error, {}) or {"text": error.message}
            return _Form({"text": text}, at_field)
        return None

    return await _form_answer(
        request, runtime, document_id, save, tab="vermerke", saved="vermerk", form="note"
    )


async def uploaded_file(
    request: Request, max_bytes: int, field: str = "datei"
) -> tuple[bytes, str]:
    """The one file a form sent in `field` (an xdomea message's zip): at most `max_bytes` + 1
    bytes are read, so the caller can tell a file too large; b"" when none was sent."""
    form = await request.form(max_files=1, max_fields=3)
    sent = form.get(field)
    if sent is None or isinstance(sent, str):
        return b"", ""
    return await sent.read(max_bytes + 1), (sent.filename or "")[:300]
