"""The Aktenauszug page of a household's file, rendered here: the form (scope, recipient, legal
basis, the file's documents with those of the case chosen and a reason to withhold each), the
result of an export and the exports made so far. The scope is part of the address
(?widerspruch=N, ?klage=N), so reload and Back keep it; aktenauszug.js swaps the form in for
another scope and sends the form, and puts what the server answers (this page) in place.

The form posts to this page: an error stands at its field with everything chosen and typed
kept (422); a success shows the export to download and lists it. The same services, checks
and audit as the JSON API (records.file_exports), through the gate.

For an appeal the form offers a second form of the export: the folder for the court's
electronic mailbox (XJustiz 0005005, records/court_folder.py), downloaded as one zip per part.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user, get_type_names
from api.downloads import zip_answer
from core.dates import german
from core.db import transaction
from core.errors import InvalidInput
from records import court_folder, xjustiz
from records import file_exports as exports
from records.access import Capability, Gate
from records.history import local_time
from records.models import Document, FileExport, User
from records.runtime import Runtime
from web.pages import render

router = APIRouter(include_in_schema=False)

PATH = "/akte/{bg_number}/aktenauszug"
FILE = "file"
# The scope's parameter in the page's address, by kind.
SCOPE_PARAMS = {"objection": "widerspruch", "appeal": "klage"}
# Which field a refusal of records.file_exports.plan_export is about, by its code.
ERROR_FIELDS = {
    "recipient": "recipient",
    "legal_basis": "legal_basis",
    "court": "form",
    "scope": "form",
    "xjustiz_missing": "form",
    "xjustiz_refused": "form",
}
# The forms of an export, as the form offers them for an appeal.
FORMS = {
    "pdf": "Ein PDF (Aktenauszug)",
    "xjustiz": "Ordner für das elektronische Gerichtspostfach (XJustiz)",
}


@dataclass
class ExportForm:
    """The form as shown: what was chosen and typed, and the errors (by field; "documents" for
    the list)."""

    recipient: str = ""
    legal_basis: str = ""
    included: set[str] | None = None  # None: the scope's documents
    withheld: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    form: str = "pdf"  # "xjustiz": the court folder (appeals only)
    court_code: str = ""  # chosen from GDS.Gerichte when the appeal's court name is not found


@dataclass(frozen=True)
class DocumentRow:
    id: str
    day: str
    type_name: str
    hint: str  # sender or file name, "noch in Verarbeitung"
    pages: str
    chosen: bool
    reason: str


@dataclass(frozen=True)
class ExportRow:
    """One export as the page shows it (the result and the list), every label German."""

    id: int
    created: str
    by: str
    recipient: str
    basis: str
    scope: str  # "ganze Akte: 3 Dokumente, 1 zurückgehalten"
    pages: int
    sha256: str
    pdf_url: str
    documents: int
    withheld: int
    form: str = "pdf"
    form_name: str = FORMS["pdf"]
    parts: tuple[PartLink, ...] = ()


@dataclass(frozen=True)
class PartLink:
    """One zip of a court folder: its name, size and address."""

    name: str
    size: str
    url: str
    files: int


def _parts(record: FileExport) -> tuple[PartLink, ...]:
    base = PATH.format(bg_number=record.household.bg_number)
    return tuple(
        PartLink(
            name=str(part["name"]),
            size=f"{int(part['size_bytes']) / (1024 * 1024):.1f} MB".replace(".", ","),
            url=f"{base}/{record.id}/teil/{int(part['number'])}",
            files=len(part.get("files") or []),
        )
        for part in record.parts or []
    )


def _export_row(record: FileExport) -> ExportRow:
    withheld = sum(1 for entry in record.documents if entry.get("withheld_reason"))
    basis = exports.LEGAL_BASES.get(record.legal_basis)
    count = len(record.documents)
    scope = f"{exports.SCOPE_NAMES.get(record.scope, record.scope)}: {count} Dokumente"
    return ExportRow(
        id=record.id,
        created=local_time(record.created_at),
        by=record.created_by_name,
        recipient=record.recipient,
        basis=basis.name if basis else record.legal_basis,
        scope=f"{scope}, {withheld} zurückgehalten" if withheld else scope,
        pages=record.page_count,
        sha256=record.sha256,
        pdf_url=f"/api/exports/{record.id}/pdf",
        documents=count,
        withheld=withheld,
        form=record.form,
        form_name=FORMS.get(record.form, record.form),
        parts=_parts(record) if record.form == "xjustiz" else (),
    )


def _document_row(
    document: Document, names: dict[str, str], form: ExportForm, chosen: bool
) -> DocumentRow:
    ident = str(document.id)
    outgoing = document.direction == "out"
    day = document.dispatch_date if outgoing else document.receipt_date
    hint = document.sender or document.source_name or ""
    if document.pdf_key is None:
        hint += " · noch in Verarbeitung"
    return DocumentRow(
        id=ident,
        day=german(day),
        type_name=names.get(document.doc_type or "", document.doc_type or "Dokument"),
        hint=hint,
        pages=str(document.page_count or "?"),
        chosen=ident in form.included if form.included is not None else chosen,
        reason=form.withheld.get(ident, ""),
    )


def _scope(request: Request) -> tuple[int | None, int | None]:
    def number(name: str) -> int | None:
        text = request.query_params.get(name, "")
        return int(text) if text.isdigit() else None

    return number("widerspruch"), number("klage")


def _page(
    request: Request,
    runtime: Runtime,
    user: User,
    bg_number: str,
    form: ExportForm | None = None,
    result: ExportRow | None = None,
    status_code: int = 200,
) -> Response:
    objection_id, appeal_id = _scope(request)
    names = get_type_names(runtime)
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        gate.require(Capability.EXPORT, "page.export", object_type="household")
        gate.household(bg_number, "page.export")  # a foreign file: "Kein Zugriff", audited
        found = exports.options(gate, bg_number, objection_id=objection_id, appeal_id=appeal_id)
        form = form or ExportForm(found.recipient, found.legal_basis or "")
        rows = [_document_row(d, names, form, d.id in found.chosen) for d in found.documents]
        scopes = [(FILE, "Ganze Akte")]
        scopes += [
            (f"objection:{o.id}", f"Widerspruch Nr. {o.id} (Eingang {german(o.receipt_date)})")
            for o in found.objections
        ]
        scopes += [
            (f"appeal:{a.id}", f"Klage {a.court}, Az. {a.file_reference}") for a in found.appeals
        ]
        scope = (
            f"objection:{found.objection_id}"
            if found.objection_id
            else f"appeal:{found.appeal_id}"
            if found.appeal_id
            else FILE
        )
        history = [_export_row(r) for r in exports.exports_of(session, found.household)]
        number, household_name = found.household.bg_number, found.household_name
    chosen = sum(1 for row in rows if row.chosen)
    return render(
        request,
        "aktenauszug.html",
        user,
        status_code,
        bg_number=number,
        household_name=household_name,
        scopes=scopes,
        scope=scope,
        scope_links={value: _address(number, value) for value, _ in scopes},
        legal_bases=[(b.code, b.name) for b in exports.LEGAL_BASES.values()],
        reasons=exports.WITHHOLDING_REASONS,
        form=form,
        documents=rows,
        selection=f"{chosen} von {len(rows)} Dokumenten gewählt",
        result=result,
        history=history,
        forms=list(FORMS.items()),
        courts=xjustiz.social_courts(runtime.settings.xjustiz_dir) if appeal_id else [],
    )


def _address(bg_number: str, scope: str) -> str:
    """The page's address for a scope ("objection:5" → ?widerspruch=5)."""
    kind, _, ident = scope.partition(":")
    base = PATH.format(bg_number=bg_number)
    return f"{base}?{urlencode({SCOPE_PARAMS[kind]: ident})}" if kind in SCOPE_PARAMS else base


@router.get(PATH, response_class=HTMLResponse)
def export_page(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    return _page(request, runtime, user, bg_number)


def _posted_form(posted: list[tuple[str, str]]) -> tuple[ExportForm, str]:
    values = dict(posted)
    included = {value for key, value in posted if key == "include"}
    withheld = {
        key.removeprefix("withhold-"): value.strip()
        for key, value in posted
        if key.startswith("withhold-") and value.strip()
    }
    form = ExportForm(
        values.get("recipient", ""),
        values.get("legal_basis", ""),
        included,
        withheld,
        form="xjustiz" if values.get("form") == "xjustiz" else "pdf",
        court_code=values.get("court_code", "").strip(),
    )
    return form, values.get("scope", FILE)


def _create(
    runtime: Runtime, user: User, bg_number: str, form: ExportForm, scope: str
) -> ExportRow | None:
    """Make the export the form asks for; its row, or None with `form.errors` set."""
    if not form.included:
        form.errors["documents"] = "Bitte mindestens ein Dokument wählen."
        return None
    kind, _, ident = scope.partition(":")
    case = int(ident) if ident.isdigit() else None
    try:
        ids = [uuid.UUID(value) for value in sorted(form.included)]
        # A reason typed at a document not chosen is kept in the form, not sent.
        held = {
            uuid.UUID(key): reason for key, reason in form.withheld.items() if key in form.included
        }
    except ValueError:
        form.errors["documents"] = "Bitte nur Dokumente der Akte wählen."
        return None
    work = runtime.settings.data_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    names = get_type_names(runtime)
    if form.form == "xjustiz":
        return _create_court_folder(runtime, user, bg_number, form, kind, case, ids, held)
    try:
        # As the JSON API: checked and planned in one transaction, built outside any, recorded
        # in another (on SQLite a transaction holds the write lock for everybody).
        with transaction(runtime.sessions) as session:
            plan = exports.plan_export(
                Gate(session, user),
                names=names,
                bg_number=bg_number,
                recipient=form.recipient,
                legal_basis=form.legal_basis,
                document_ids=ids,
                withheld=held,
                objection_id=case if kind == "objection" else None,
                appeal_id=case if kind == "appeal" else None,
                job_centre=runtime.settings.job_centre_name,
            )
    except InvalidInput as error:
        form.errors[ERROR_FIELDS.get(error.code or "", "documents")] = error.message
        return None
    built = exports.build_planned_export(plan, runtime.blobs, work)
    with transaction(runtime.sessions) as session:
        record = exports.record_export(Gate(session, user), plan, built)
        session.flush()
        return _export_row(record)


def _create_court_folder(
    runtime: Runtime,
    user: User,
    bg_number: str,
    form: ExportForm,
    kind: str,
    case: int | None,
    ids: list[uuid.UUID],
    held: dict[uuid.UUID, str],
) -> ExportRow | None:
    """The court folder the form asks for (planned, built, recorded as the PDF is); its row, or
    None with `form.errors` set."""
    work = runtime.settings.data_dir / "work"
    try:
        with transaction(runtime.sessions) as session:
            plan = court_folder.plan_court_folder(
                Gate(session, user),
                runtime.blobs,
                bg_number,
                get_type_names(runtime),
                appeal_id=case if kind == "appeal" else None,
                xjustiz_dir=runtime.settings.xjustiz_dir,
                document_ids=ids,
                withheld=held,
                court_code=form.court_code or None,
                job_centre=runtime.settings.job_centre_name,
            )
        built = court_folder.build_court_folder(plan, runtime.blobs, work)
    except InvalidInput as error:
        form.errors[ERROR_FIELDS.get(error.code or "", "documents")] = error.message
        return None
    with transaction(runtime.sessions) as session:
        record = exports.record_court_folder(
            Gate(session, user), plan.export, built.parts, built.listed, built.pages
        )
        session.flush()
        return _export_row(record)


@router.get(PATH + "/{export_id}/teil/{number}")
def download_part(
    bg_number: str, export_id: int, number: int, request: Request, runtime: RuntimeDep
) -> Response:
    """One part (zip) of a court folder; audited."""
    user = current_user(request, runtime)
    with transaction(runtime.sessions) as session:
        content, name = exports.export_part(Gate(session, user), runtime.blobs, export_id, number)
    return zip_answer(content, name)


@router.post(PATH, response_class=HTMLResponse)
async def export_form(bg_number: str, request: Request, runtime: RuntimeDep) -> Response:
    """The form sent: the page with the new export to download, or with the errors."""
    user = await run_in_threadpool(current_user, request, runtime)
    sent = await request.form(max_files=0, max_fields=12_000)
    posted = [(k, v) for k, v in sent.multi_items() if isinstance(v, str)]
    form, scope = _posted_form(posted)
    result = await run_in_threadpool(_create, runtime, user, bg_number, form, scope)
    status = 422 if form.errors else 200
    return await run_in_threadpool(_page, request, runtime, user, bg_number, form, result, status)
