"""The data protection officer's pages (Capability.AUDIT), rendered here: the audit log search
(/datenschutz), who opened a household's file (/datenschutz/akte) and the access report for a
data subject (/datenschutz/auskunft, the PDF at /datenschutz/auskunft.pdf).

Every form is a plain GET form: the page's address holds the criteria, so a reload or Back
shows the same. /datenschutz/treffer is the results part alone (the same address scheme),
which datenschutz.js fetches and swaps in. Every label (actions, outcomes, roles, dates in
German) comes from records.privacy; the templates print it escaped. Every search and view is
audited there; a role without the capability is refused ("Kein Zugriff"), audited as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import RuntimeDep, current_user, get_type_names
from core.db import transaction
from records import privacy
from records.access import Capability, Gate
from records.models import User
from records.runtime import Runtime
from web.pages import render, require

router = APIRouter(include_in_schema=False)

PAGE = "/datenschutz"
# The search form's fields as the address names them, and their attribute of AuditQuery.
SEARCH_FIELDS = {
    "person": "person",
    "geburtsdatum": "birth_date",
    "bg": "bg_number",
    "nutzer": "user",
    "aktion": "action",
    "ergebnis": "outcome",
    "von": "since",
    "bis": "until",
}
DATE_FIELDS = ("geburtsdatum", "von", "bis")
DATE_ERROR = "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."


@dataclass
class SearchForm:
    """The criteria as the address holds them (what was typed) and errors by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    page: int = 1

    @classmethod
    def of(cls, request: Request) -> SearchForm:
        params = request.query_params
        values = {name: params.get(name, "").strip()[:200] for name in SEARCH_FIELDS}
        errors = {
            name: DATE_ERROR for name in DATE_FIELDS if values[name] and _day(values[name]) is None
        }
        page = params.get("seite", "")
        return cls(values, errors, int(page) if page.isdigit() and 0 < int(page) < 10**6 else 1)

    def query(self) -> privacy.AuditQuery:
        typed: dict[str, object] = {}
        for name, attribute in SEARCH_FIELDS.items():
            value = self.values[name]
            typed[attribute] = _day(value) if name in DATE_FIELDS else value
        return privacy.AuditQuery(page=self.page, **typed)  # type: ignore[arg-type]

    def address(self, page: int) -> str:
        """The page's address for another page of the same results."""
        kept = {k: v for k, v in self.values.items() if v}
        return f"{PAGE}?{urlencode({**kept, 'seite': page})}"


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _action_choices() -> list[tuple[str, str]]:
    return sorted(privacy.ACTION_LABELS.items(), key=lambda item: item[1].lower())


def _search(runtime: Runtime, user: User, form: SearchForm) -> privacy.AuditPage | None:
    query = form.query()
    if form.errors or not query.asked:
        require(runtime, user, Capability.AUDIT, privacy.PAGE)
        return None
    with transaction(runtime.sessions, read_only=True) as session:
        return privacy.search_audit(Gate(session, user), query)


def _search_context(runtime: Runtime, user: User, request: Request) -> dict[str, object]:
    form = SearchForm.of(request)
    result = _search(runtime, user, form)
    pages = []
    if result is not None and result.pages > 1:
        pages = [
            (label, form.address(number))
            for label, number in (
                ("Neuere", result.page - 1),
                ("Ältere", result.page + 1),
            )
            if 1 <= number <= result.pages
        ]
    return {
        "form": form,
        "result": result,
        "paging": pages,
        "actions": _action_choices(),
        "outcomes": privacy.OUTCOME_CHOICES,
    }


@router.get(PAGE, response_class=HTMLResponse)
def audit_page(request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    return render(request, "datenschutz.html", user, 200, **_search_context(runtime, user, request))


@router.get(f"{PAGE}/treffer", response_class=HTMLResponse)
def audit_results(request: Request, runtime: RuntimeDep) -> Response:
    """The results part alone (datenschutz.js swaps it in)."""
    user = current_user(request, runtime)
    return render(
        request, "_datenschutz_results.html", user, 200, **_search_context(runtime, user, request)
    )


@router.get(f"{PAGE}/akte", response_class=HTMLResponse)
def file_accesses_page(request: Request, runtime: RuntimeDep) -> Response:
    """Who opened this file: the form (a BG number) and the accesses grouped by user."""
    user = current_user(request, runtime)
    bg = request.query_params.get("bg", "").strip()[:40]
    result = None
    if bg:
        with transaction(runtime.sessions, read_only=True) as session:
            result = privacy.file_accesses(Gate(session, user), bg)
    else:
        require(runtime, user, Capability.AUDIT, privacy.PAGE)
    return render(request, "datenschutz_akte.html", user, bg=bg, result=result)


@router.get(f"{PAGE}/auskunft", response_class=HTMLResponse)
def report_page(request: Request, runtime: RuntimeDep) -> Response:
    """The access report: find the person (name, date of birth), then the preview of what the
    report holds and its download."""
    user = current_user(request, runtime)
    params = request.query_params
    name = params.get("name", "").strip()[:200]
    born = params.get("geburtsdatum", "").strip()[:20]
    person = params.get("person", "")
    errors = {"geburtsdatum": DATE_ERROR} if born and _day(born) is None else {}
    found: list[privacy.Person] | None = None
    report: privacy.AccessReport | None = None
    if person.isdigit():
        with transaction(runtime.sessions, read_only=True) as session:
            report = privacy.person_report(
                Gate(session, user), int(person), get_type_names(runtime)
            )
    elif (name or born) and not errors:
        with transaction(runtime.sessions, read_only=True) as session:
            found = privacy.find_persons(Gate(session, user), name, _day(born))
    else:
        require(runtime, user, Capability.AUDIT, privacy.PAGE)
    return render(
        request,
        "datenschutz_auskunft.html",
        user,
        typed_name=name,
        born=born,
        errors=errors,
        found=found,
        report=report,
        pdf_url=f"{PAGE}/auskunft.pdf?{urlencode({'person': person})}" if report else "",
    )


@router.get(f"{PAGE}/auskunft.pdf")
def report_pdf(request: Request, runtime: RuntimeDep) -> Response:
    """The access report as PDF/A; its creation is audited (privacy.access_report)."""
    user = current_user(request, runtime)
    person = request.query_params.get("person", "")
    if not person.isdigit():
        require(runtime, user, Capability.AUDIT, privacy.REPORTED)
        return Response("Bitte eine Person wählen.", status_code=422)
    with transaction(runtime.sessions, read_only=True) as session:
        report = privacy.person_report(
            Gate(session, user), int(person), get_type_names(runtime), action=privacy.REPORTED
        )
        # Made before the unit of work ends: a report that fails is not audited as made.
        data = privacy.report_pdf(report)
    filename = f"auskunft-{report.person.bg_number}-{report.created_at:%Y%m%d}.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
