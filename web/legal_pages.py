"""Page routes of the objections office: the dashboard of objections and appeals, one page per
objection and per appeal, and the file export (Aktenauszug) of a household's file.

The dashboard's lists and the case page's facts, deadline computation, history and forms are
rendered here (templates _widersprueche_*.html and _fall*.html), every label in German from
Python; the page itself holds the first paint. widersprueche.js fetches the lists again for a
new filter (the page's own address: reload and Back keep it); fall.js posts a form and swaps
in the part the server renders again (an error stands at its field with what was typed). The
forms work without the script too: a plain POST answers the whole page.
Every read and change goes through records.access.Gate, as the JSON API's do; a refusal
("Kein Zugriff", unknown and foreign ids alike) is shown by the product's error handler
(web.errors) and audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user, get_type_names
from core.dates import german, local_today
from core.db import transaction
from core.errors import InvalidInput
from records import objections
from records.access import Capability, Gate, capabilities
from records.deadlines import DeadlineCheck, Step, overdue_since
from records.history import local_time
from records.models import Appeal, Document, Objection, User
from records.runtime import Runtime
from web.pages import render, require

router = APIRouter(include_in_schema=False)

# A request of the page's script that wants the part, not the whole page, back.
PART_HEADER = "x-eakte-teil"

# --- the dashboard -----------------------------------------------------------------------------

SORTS = {
    "alter": "Älteste zuerst",
    "neueste": "Neueste zuerst",
    "haushalt": "Haushalt (A–Z)",
}
DEFAULT_SORT = "alter"


@dataclass(frozen=True)
class BoardFilter:
    """What the dashboard lists, as its address says (?alle=1&sortierung=haushalt&suche=…)."""

    everything: bool  # closed cases too
    sort: str
    text: str

    @classmethod
    def of(cls, request: Request) -> BoardFilter:
        query = request.query_params
        sort = query.get("sortierung", "")
        return cls(
            everything=query.get("alle", "") in ("1", "true", "on", "ja"),
            sort=sort if sort in SORTS else DEFAULT_SORT,
            text=" ".join(query.get("suche", "").split())[:100],
        )

    def matches(self, *texts: str) -> bool:
        wanted = self.text.casefold()
        return not wanted or any(wanted in text.casefold() for text in texts)


@dataclass(frozen=True)
class DocumentLink:
    """A document of a case: shown in the viewer, downloaded, named in German."""

    id: str
    type_name: str
    day: str
    by: str  # the sender, else the file's name
    pages: str


@dataclass(frozen=True)
class Due:
    """A date the court is owed something; `since` is said when it has passed (open cases)."""

    day: str
    since: str = ""


@dataclass(frozen=True)
class ObjectionRow:
    id: int
    receipt: str
    age: str
    form_name: str
    bg_number: str
    household_name: str
    decision_sent: str  # "versandt 10.10.2026", "" for none linked
    verdict: str  # "fristgerecht", "verspätet", "nicht prüfbar"
    verdict_style: str
    deadline_end: str
    period: str
    not_checkable: str  # why the deadline cannot be checked
    inaction: str
    inaction_style: str  # "badge warn-high", "badge warn", "hint"
    warning: bool
    status_name: str
    status_by: str
    status_at: str
    documents: list[DocumentLink]


@dataclass(frozen=True)
class AppealRow:
    id: int
    served: str
    court: str
    file_reference: str
    bg_number: str
    household_name: str
    statement: Due
    file: Due
    warning: bool
    status_name: str
    status_by: str
    status_at: str
    documents: list[DocumentLink]


def _type_name(document: Document, names: dict[str, str]) -> str:
    """The document type's German name from the catalogue ("–" where none is set)."""
    return names.get(document.doc_type or "", document.doc_type or "–")


def _documents(documents: list[Document], names: dict[str, str]) -> list[DocumentLink]:
    links = []
    for d in documents:
        day = d.dispatch_date if d.direction == "out" else d.receipt_date
        links.append(
            DocumentLink(
                str(d.id),
                _type_name(d, names),
                german(day),
                d.sender or d.source_name or "",
                f"{d.page_count} S." if d.page_count else "? S.",
            )
        )
    return links


def _due(day: date, open_: bool, today: date) -> Due:
    since = overdue_since(day, today) if open_ else None
    return Due(german(day), german(since) if since else "")


def _verdict(check: DeadlineCheck | None) -> tuple[str, str]:
    if check is None:
        return "nicht prüfbar", "badge warn"
    return ("fristgerecht", "badge approved") if check.on_time else ("verspätet", "badge rejected")


def _inaction(view: objections.ObjectionView) -> tuple[str, str]:
    """The § 88 SGG clock of an open objection in words, and its style."""
    clock = view.inaction
    if clock is None:
        return "–", "hint"
    end = clock.three_months_end
    if clock.level == "überschritten":
        since = german(overdue_since(end, view.today))
        return (
            f"drei Monate am {german(end)} abgelaufen: Untätigkeitsklage zulässig seit {since}",
            "badge warn-high",
        )
    if clock.level == "bald":
        return f"bald: drei Monate am {german(end)}", "badge warn"
    return f"drei Monate am {german(end)}", "hint"


def _objection_row(view: objections.ObjectionView, names: dict[str, str]) -> ObjectionRow:
    check = view.deadline
    verdict, verdict_style = _verdict(check)
    inaction, inaction_style = _inaction(view)
    decision = view.case.decision
    days = view.age_days
    return ObjectionRow(
        id=view.case.id,
        receipt=german(view.case.receipt_date),
        age="1 Tag" if days == 1 else f"{days} Tage",
        form_name=view.form_name,
        bg_number=view.case.household.bg_number,
        household_name=view.household_name,
        decision_sent=f"versandt {german(decision.dispatch_date)}"
        if decision is not None and decision.dispatch_date
        else "",
        verdict=verdict,
        verdict_style=verdict_style,
        deadline_end=german(check.deadline) if check else "",
        period=check.period if check else "",
        not_checkable=view.deadline_missing or "",
        inaction=inaction,
        inaction_style=inaction_style,
        warning=view.inaction is not None and view.inaction.level != "ok",
        status_name=view.status_name,
        status_by=view.status_by_name,
        status_at=local_time(view.status_at),
        documents=_documents(view.documents, names),
    )


def _appeal_row(view: objections.AppealView, names: dict[str, str], today: date) -> AppealRow:
    due = view.due
    statement = _due(due.statement_due, view.open, today)
    file = _due(due.file_due, view.open, today)
    return AppealRow(
        id=view.case.id,
        served=german(view.case.served_on),
        court=view.case.court,
        file_reference=view.case.file_reference,
        bg_number=view.case.household.bg_number,
        household_name=view.household_name,
        statement=statement,
        file=file,
        warning=bool(statement.since or file.since),
        status_name=view.status_name,
        status_by=view.status_by_name,
        status_at=local_time(view.status_at),
        documents=_documents(view.documents, names),
    )


def _counted(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _board_status(rows: list[ObjectionRow], appeals: list[AppealRow]) -> str:
    """One line over the lists: how many, and what needs doing first."""
    said = _counted(len(rows), "Widerspruch", "Widersprüche")
    warned = sum(1 for row in rows if row.warning)
    if warned:
        said += f", davon {warned} mit Warnung nach § 88 SGG"
    late = sum(1 for row in appeals if row.warning)
    if late:
        said += "; " + _counted(
            late, "Klage mit überfälliger Frist", "Klagen mit überfälligen Fristen"
        )
        said += " gegenüber dem Gericht"
    return said


_SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "haushalt": lambda row: (row.household_name.casefold(), row.bg_number, row.id),
}


def _sorted(rows: list[Any], sort: str) -> list[Any]:
    """The service's order is the oldest first (the § 88 clock runs from it)."""
    if sort == "neueste":
        return rows[::-1]
    key = _SORT_KEYS.get(sort)
    return sorted(rows, key=key) if key else rows


def _board(request: Request, runtime: Runtime, user: User) -> dict[str, Any]:
    """The dashboard's lists for the filter in the address; the list reads are audited."""
    wanted = BoardFilter.of(request)
    names = get_type_names(runtime)
    today = local_today()
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        found = objections.overview(gate, open_only=not wanted.everything)
        rows = [
            _objection_row(view, names)
            for view in objections.case_views(session, found, full=False, today=today)
            if isinstance(view, objections.ObjectionView)
        ]
        pending = objections.appeals_overview(gate, open_only=not wanted.everything)
        appeals = [
            _appeal_row(view, names, today)
            for view in objections.case_views(session, pending, full=False)
            if isinstance(view, objections.AppealView)
        ]
    rows = [r for r in rows if wanted.matches(r.household_name, r.bg_number, f"Nr. {r.id}")]
    appeals = [
        a
        for a in appeals
        if wanted.matches(a.household_name, a.bg_number, a.court, a.file_reference)
    ]
    return {
        "board": wanted,
        "sorts": list(SORTS.items()),
        "objections": _sorted(rows, wanted.sort),
        "appeals": _sorted(appeals, wanted.sort),
        "board_status": _board_status(rows, appeals),
    }


@router.get("/widersprueche", response_class=HTMLResponse)
def board_page(request: Request, runtime: RuntimeDep) -> Response:
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    require(runtime, user, Capability.LEGAL, "page.objections")
    return render(request, "widersprueche.html", user, **_board(request, runtime, user))


@router.get("/widersprueche/liste", response_class=HTMLResponse)
def board_part(request: Request, runtime: RuntimeDep) -> Response:
    """The dashboard's lists alone, for widersprueche.js (the same filter in the address)."""
    user = current_user(request, runtime)
    require(runtime, user, Capability.LEGAL, "page.objections")
    return render(request, "_widersprueche_lists.html", user, **_board(request, runtime, user))


# --- one objection or appeal -------------------------------------------------------------------


@dataclass
class FormState:
    """What a form of the case page shows: the values (as typed, after an error) and the
    errors by field; `general` for an error that concerns no one field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: str = ""


@dataclass(frozen=True)
class StepLine:
    label: str
    day: str
    note: str


@dataclass(frozen=True)
class HistoryLine:
    when: str
    at: str  # ISO, for <time>
    who: str
    what: str


def _steps(steps: list[Step]) -> list[StepLine]:
    return [StepLine(s.label, german(s.value), s.note) for s in steps]


def _document_ref(document: Document | None, names: dict[str, str]) -> dict[str, str] | None:
    if document is None:
        return None
    type_name = _type_name(document, names)
    return {"id": str(document.id), "label": f"{type_name} ({document.source_name or '–'})"}


def _objection_facts(view: objections.ObjectionView, names: dict[str, str]) -> dict[str, Any]:
    case = view.case
    decision = case.decision
    check = view.deadline
    deadline: dict[str, Any]
    if check is not None:
        deadline = {
            "verdict": check.summary,
            "verdict_style": "on-time" if check.on_time else "late",
            "explained": (
                f"Frist: {check.period}. Bekanntgabe am {german(check.notification_date)}, "
                f"Fristende am {german(check.deadline)}."
            ),
            "steps": _steps(check.steps),
        }
    else:
        deadline = {"verdict": view.deadline_missing, "verdict_style": "unknown", "steps": []}
    clock = view.inaction
    if clock is not None:
        level = {
            "bald": " – bald!",
            "überschritten": " – überschritten: eine Untätigkeitsklage ist zulässig",
        }.get(clock.level or "", "")
        deadline["inaction"] = (
            f"§ 88 Abs. 2 SGG: drei Monate seit Eingang am {german(clock.three_months_end)}{level}."
        )
        deadline["inaction_style"] = "hint" if clock.level == "ok" else "verdict late"
    return {
        "letter": _document_ref(case.document, names),
        "form_name": view.form_name,
        "receipt": german(case.receipt_date),
        "decision": _document_ref(decision, names),
        "decision_sent": german(decision.dispatch_date) if decision else "",
        "remedy": "vorhanden und richtig"
        if case.legal_remedy_notice_ok
        else "fehlt oder unrichtig (§ 66 SGG)",
        "proven": german(case.proven_notification),
        "appeals": [
            {"id": a.id, "label": f"{a.court}, Az. {a.file_reference}"}
            for a in (view.appeals or [])
        ],
        "deadline": deadline,
    }


def _appeal_facts(view: objections.AppealView, names: dict[str, str]) -> dict[str, Any]:
    case = view.case
    due = view.due
    today = local_today()
    owed: dict[date, list[str]] = {}
    for label, day in (("Stellungnahme", due.statement_due), ("Verwaltungsakte", due.file_due)):
        if view.open and overdue_since(day, today):
            owed.setdefault(day, []).append(label)
    late = [
        {
            "what": " und ".join(labels),
            "due": german(day),
            "since": german(overdue_since(day, today)),
        }
        for day, labels in owed.items()
    ]
    return {
        "court": case.court,
        "file_reference": case.file_reference,
        "parties": case.parties or "–",
        "letter": _document_ref(case.document, names),
        "served": german(case.served_on),
        "objection_id": case.objection_id,
        "reference_hint": (
            "Steht im Schreiben des Gerichts oben, bei »Aktenzeichen« oder »Az.« "
            f"(z. B. {objections.EXAMPLE_REFERENCE})."
        ),
        "deadline": {
            "late": late,
            "verdict": due.summary,
            "verdict_style": "",
            "steps": _steps(due.steps),
        },
    }


def _decision_values(objection: Objection) -> dict[str, str]:
    return {
        "decision_id": str(objection.decision_id) if objection.decision_id else "",
        "proven_notification": objection.proven_notification.isoformat()
        if objection.proven_notification
        else "",
        "remedy_missing": "" if objection.legal_remedy_notice_ok else "on",
        "reason": "",
    }


def _court_values(appeal: Appeal) -> dict[str, str]:
    return {
        "court": appeal.court,
        "file_reference": appeal.file_reference,
        "parties": appeal.parties,
        "court_deadline": appeal.court_deadline.isoformat() if appeal.court_deadline else "",
        "reason": "",
    }


def _decision_options(
    session: Session, objection: Objection, names: dict[str, str]
) -> list[tuple[str, str]]:
    """The decisions in the household's file, for choosing or changing the contested one."""
    options = [("", "keiner verknüpft")]
    for d in objections.decisions_of(session, objection.document):
        sent = german(d.dispatch_date) or "?"
        type_name = _type_name(d, names)
        options.append((str(d.id), f"{type_name} – versandt am {sent} ({d.source_name or '–'})"))
    return options


KINDS = {
    "objection": ("/widersprueche", "page.objection", objections.STATE_NAMES),
    "appeal": ("/klagen", "page.appeal", objections.APPEAL_STATE_NAMES),
}
# What a saved form says, in the page's status line.
SAVED = {
    "bescheid": "Gespeichert; die Frist ist neu geprüft.",
    "eingangsdatum": "Eingangsdatum berichtigt; die Frist ist neu berechnet.",
    "gericht": "Angaben des Gerichts gespeichert; die Fristen sind neu berechnet.",
}


def _shown_case(
    session: Session,
    user: User,
    case: Objection | Appeal,
    names: dict[str, str],
    forms: dict[str, FormState] | None = None,
    said: str = "",
) -> dict[str, Any]:
    """Everything the case page and its part show of a case the user was let at."""
    kind = "objection" if isinstance(case, Objection) else "appeal"
    path, _, states = KINDS[kind]
    forms = dict(forms or {})
    view: objections.CaseView[Any]
    decisions: list[tuple[str, str]] = []
    if isinstance(case, Objection):
        objection_view = objections.objection_view(session, case)
        assert isinstance(objection_view, objections.ObjectionView)
        view = objection_view
        facts = _objection_facts(objection_view, names)
        title = f"Widerspruch Nr. {case.id}"
        decisions = _decision_options(session, case, names)
        forms.setdefault("bescheid", FormState(_decision_values(case)))
        forms.setdefault("eingangsdatum", FormState({"receipt_date": "", "reason": ""}))
    else:
        forms.setdefault("gericht", FormState(_court_values(case)))
        appeal_view = objections.appeal_view(session, case)
        assert isinstance(appeal_view, objections.AppealView)
        view = appeal_view
        facts = _appeal_facts(appeal_view, names)
        title = f"Klage {case.file_reference}"
    forms.setdefault("status", FormState({"status": case.status}))
    return {
        "kind": kind,
        "case_id": case.id,
        "base": f"{path}/{case.id}",
        "title": title,
        "bg_number": case.household.bg_number,
        "household_name": view.household_name,
        "facts": facts,
        "created": f"{view.created_by_name}, {local_time(case.created_at)}",
        "status_name": view.status_name,
        "status_by": view.status_by_name,
        "status_at": local_time(view.status_at),
        "states": list(states.items()),
        "decisions": decisions,
        "documents": _documents(view.documents, names),
        "history": [
            HistoryLine(local_time(h.at), h.at.isoformat(), h.by_name or h.by or "–", h.what)
            for h in view.history or []
        ],
        "forms": forms,
        "may_change": Capability.LEGAL in capabilities(user),
        "said": said,
        "today": local_today().isoformat(),
    }


def _case_context(
    runtime: Runtime,
    user: User,
    kind: str,
    case_id: int,
    forms: dict[str, FormState] | None = None,
    said: str = "",
) -> dict[str, Any]:
    """The case read through the gate, as the page shows it; the read is audited
    (page.objection or page.appeal), a refusal too."""
    names = get_type_names(runtime)
    action = KINDS[kind][1]
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        case = (
            gate.objection(case_id, action) if kind == "objection" else gate.appeal(case_id, action)
        )
        return _shown_case(session, user, case, names, forms, said)


def _said(kind: str, saved: str) -> str:
    """What the status line says after a saved form ("status:abhilfe", "bescheid", …)."""
    if saved.startswith("status:"):
        state = saved.removeprefix("status:")
        return f"Status gesetzt: {KINDS[kind][2].get(state, state)}."
    return SAVED.get(saved, "")


def _case_page(
    request: Request, runtime: Runtime, kind: str, case_id: int, template: str = "fall.html"
) -> Response:
    """The page of one objection or appeal, or its part; its household decides who may open
    it."""
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    return render(request, template, user, **_case_context(runtime, user, kind, case_id))


@router.get("/widersprueche/{objection_id}", response_class=HTMLResponse)
def objection_page(objection_id: int, request: Request, runtime: RuntimeDep) -> Response:
    return _case_page(request, runtime, "objection", objection_id)


@router.get("/klagen/{appeal_id}", response_class=HTMLResponse)
def appeal_page(appeal_id: int, request: Request, runtime: RuntimeDep) -> Response:
    return _case_page(request, runtime, "appeal", appeal_id)


@router.get("/widersprueche/{objection_id}/inhalt", response_class=HTMLResponse)
def objection_part(objection_id: int, request: Request, runtime: RuntimeDep) -> Response:
    """The case page's facts, deadline, status, forms, documents and history alone."""
    return _case_page(request, runtime, "objection", objection_id, "_fall.html")


@router.get("/klagen/{appeal_id}/inhalt", response_class=HTMLResponse)
def appeal_part(appeal_id: int, request: Request, runtime: RuntimeDep) -> Response:
    return _case_page(request, runtime, "appeal", appeal_id, "_fall.html")


# --- the case page's forms ---------------------------------------------------------------------

# Which field a refusal of records.objections is about, by its code.
ERROR_FIELDS = {
    "objection_status": "status",
    "appeal_status": "status",
    "decision_reason": "reason",
    "decision_household": "decision_id",
    "deadline_dates": "proven_notification",
    "receipt_reason": "reason",
    "receipt_future": "receipt_date",
    "appeal_court": "court",
    "appeal_reference": "file_reference",
    "court_deadline": "court_deadline",
    "court_reason": "reason",
}
MAX_REASON = 1000


def _day_field(posted: dict[str, str], name: str, errors: dict[str, str]) -> date | None:
    """A date field ("" for none); a date that does not parse is an error at the field."""
    text = posted.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."
        return None


def _reason(posted: dict[str, str], errors: dict[str, str], needed: str = "") -> str:
    reason = posted.get("reason", "").strip()
    if len(reason) > MAX_REASON:
        errors["reason"] = f"Die Begründung ist zu lang (höchstens {MAX_REASON} Zeichen)."
    elif needed and not reason:
        errors["reason"] = needed
    return reason


# A form's change: what was saved ("" if nothing) and the case changed, or the errors found.
Changed = tuple[str, Objection | Appeal | None]
Change = Callable[[Gate, int, dict[str, str], dict[str, str]], Changed]


def _set_status(kind: str) -> Change:
    def change(gate: Gate, case_id: int, posted: dict[str, str], errors: dict[str, str]) -> Changed:
        status = posted.get("status", "")
        if status not in KINDS[kind][2]:
            errors["status"] = "Bitte einen Status aus der Liste wählen."
            return "", None
        if kind == "objection":
            return f"status:{status}", objections.set_status(gate, case_id, status)
        return f"status:{status}", objections.set_appeal_status(gate, case_id, status)

    return change


def _set_decision(
    gate: Gate, case_id: int, posted: dict[str, str], errors: dict[str, str]
) -> tuple[str, Objection | None]:
    proven = _day_field(posted, "proven_notification", errors)
    reason = _reason(posted, errors)
    try:
        decision = uuid.UUID(posted["decision_id"]) if posted.get("decision_id") else None
    except ValueError:
        errors["decision_id"] = "Bitte einen Bescheid aus der Liste wählen."
        return "", None
    if errors:
        return "", None
    changed = objections.set_decision(
        gate,
        case_id,
        decision_id=decision,
        proven_notification=proven,
        legal_remedy_notice_ok=not posted.get("remedy_missing"),
        reason=reason,
    )
    return "bescheid", changed


def _correct_receipt(
    gate: Gate, case_id: int, posted: dict[str, str], errors: dict[str, str]
) -> tuple[str, Objection | None]:
    day = _day_field(posted, "receipt_date", errors)
    if day is None and "receipt_date" not in errors:
        errors["receipt_date"] = "Bitte das richtige Eingangsdatum angeben."
    reason = _reason(posted, errors, "Bitte begründen, woher das richtige Eingangsdatum kommt.")
    if errors or day is None:
        return "", None
    return "eingangsdatum", objections.correct_receipt_date(gate, case_id, day, reason)


def _correct_court_data(
    gate: Gate, case_id: int, posted: dict[str, str], errors: dict[str, str]
) -> tuple[str, Appeal | None]:
    deadline = _day_field(posted, "court_deadline", errors)
    reason = _reason(posted, errors)
    for name, most in (("court", 200), ("file_reference", 60), ("parties", 2000)):
        if len(posted.get(name, "").strip()) > most:
            errors[name] = f"Zu lang: höchstens {most} Zeichen."
    if errors:
        return "", None
    changed = objections.set_court_data(
        gate,
        case_id,
        court=posted.get("court", ""),
        file_reference=posted.get("file_reference", ""),
        parties=posted.get("parties", ""),
        court_deadline=deadline,
        reason=reason,
    )
    return "gericht", changed


# form name in the address → the fields it sends and the change it makes, per kind
FORMS: dict[str, dict[str, tuple[tuple[str, ...], Change]]] = {
    "objection": {
        "status": (("status",), _set_status("objection")),
        "bescheid": (
            ("decision_id", "proven_notification", "remedy_missing", "reason"),
            _set_decision,
        ),
        "eingangsdatum": (("receipt_date", "reason"), _correct_receipt),
    },
    "appeal": {
        "status": (("status",), _set_status("appeal")),
        "gericht": (
            ("court", "file_reference", "parties", "court_deadline", "reason"),
            _correct_court_data,
        ),
    },
}


def _save(
    runtime: Runtime, user: User, kind: str, case_id: int, form: str, posted: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """The form's change for the signed-in user, and the case as it shows afterwards: saved
    (200), drawn in the same transaction as the change (closing the last open case of a
    household ends the office's access to it, but not to what it has just done); refused
    (422), the form with its errors and what was typed. Refusals of access are raised."""
    fields, change = FORMS[kind][form]
    typed = {name: posted.get(name, "") for name in fields}
    errors: dict[str, str] = {}
    names = get_type_names(runtime)
    failed: FormState
    try:
        with transaction(runtime.sessions) as session:
            saved, case = change(Gate(session, user), case_id, posted, errors)
            if case is not None:
                return 200, _shown_case(session, user, case, names, said=_said(kind, saved))
        failed = FormState(typed, errors)
    except InvalidInput as error:
        name = ERROR_FIELDS.get(error.code or "")
        if name in fields:
            failed = FormState(typed, {name: error.message})
        else:
            failed = FormState(typed, {}, error.message)
    said = "Nicht gespeichert: " + (failed.general or next(iter(failed.errors.values()), ""))
    context = _case_context(runtime, user, kind, case_id, {form: failed}, said)
    return 422, {**context, "failed_form": form}


async def _form_answer(
    request: Request, runtime: Runtime, kind: str, case_id: int, form: str
) -> Response:
    """A form of the case page, posted by fall.js (the part back) or by the browser itself
    (the whole page): 200 saved, 422 refused with the errors at their fields."""
    user = await run_in_threadpool(current_user, request, runtime)
    if form not in FORMS[kind]:
        return RedirectResponse(f"{KINDS[kind][0]}/{case_id}", status_code=303)
    posted_form = await request.form(max_files=0, max_fields=20)
    posted = {k: v for k, v in posted_form.items() if isinstance(v, str)}
    status_code, context = await run_in_threadpool(
        _save, runtime, user, kind, case_id, form, posted
    )
    part = request.headers.get(PART_HEADER) == "1"
    return render(request, "_fall.html" if part else "fall.html", user, status_code, **context)


@router.post("/widersprueche/{objection_id}/{form}", response_class=HTMLResponse)
async def objection_form(
    objection_id: int, form: str, request: Request, runtime: RuntimeDep
) -> Response:
    """Status, contested decision and notification, receipt date: the same services, checks
    and audit as the JSON API's POST /api/objections/{id}/…."""
    return await _form_answer(request, runtime, "objection", objection_id, form)


@router.post("/klagen/{appeal_id}/{form}", response_class=HTMLResponse)
async def appeal_form(appeal_id: int, form: str, request: Request, runtime: RuntimeDep) -> Response:
    return await _form_answer(request, runtime, "appeal", appeal_id, form)
