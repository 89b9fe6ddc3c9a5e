"""Requests for missing documents (Mitwirkungsaufforderung, §§ 60, 66 SGB I; issue 19): the
catalogue of what can be asked for (the administration may edit it), the proposed deadline,
writing a request with its letter (filed in the E-Akte as an outgoing document with its
dispatch date) and the follow-up for its deadline, reminders, withdrawal, and what a request
shows per item (arrived with which document and when, or missing).

Every function opens the household through the Gate (need-to-know, Capability.CASE_FILES) and
audits; the caller owns the transaction. The letter's blobs are written before the commit;
its search index entry follows the commit. Linking documents to items is records.request_replies
(replies19); this module only reads the links.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.config import Settings
from core.dates import MONTH_NAMES, german, local_date, local_now
from core.db import utcnow
from core.errors import AccessDenied, InvalidInput, NotFound
from pdf.request_letter import LetterItem, RequestLetter, build_request_letter
from records.access import NO_ACCESS, Capability, Gate, handed_over_message
from records.deadlines import DEFAULT_LAND, Step, add_months, long_date, next_working_day
from records.models import (
    Document,
    DocumentRequest,
    FollowUp,
    Household,
    Member,
    Page,
    RequestItem,
    RuntimeSetting,
    User,
)
from records.reindex import reindex_after_commit
from records.request_catalogue import (
    CATALOGUE_KEY,
    RequestItemType,
    catalogue_in_force,
    parse_catalogue,
)
from records.runtime import Runtime
from records.sheet_codes import request_code

LETTER_TYPE = "mitwirkungsaufforderung"  # the outgoing document type of the letters
MIN_DAYS = 7  # a deadline shorter than a week is never appropriate
FOLLOW_UP_NOTE = "Frist der Mitwirkungsaufforderung"
REMINDER_REASON = "Erinnerung"
MAX_REASON = 300  # the reason of a withdrawal, as the audit log keeps it
STATE_LABELS = {"open": "offen", "complete": "vollständig", "withdrawn": "zurückgenommen"}
ITEM_LABELS = {"missing": "fehlt", "arrived": "eingegangen"}
SOURCE_LABELS = {
    "sheet": "mit Rücksendeblatt",
    "recognition": "vermutlich Antwort",
    "manual": "von Hand zugeordnet",
}


# --- the catalogue ------------------------------------------------------------------------


def request_catalogue(session: Session) -> dict[str, RequestItemType]:
    """The catalogue in force: the administration's edited version, else the shipped one."""
    return catalogue_in_force(session)


def save_request_catalogue(
    gate: Gate, entries: list[dict[str, Any]], known_types: set[str]
) -> dict[str, RequestItemType]:
    """The administration's catalogue, validated (German errors) and stored; audited."""
    gate.require(Capability.ADMINISTER, "request.catalogue_changed")
    items: dict[str, dict[str, Any]] = {}
    for number, entry in enumerate(entries, start=1):
        code = str(entry.get("code", "")).strip().lower()
        label = str(entry.get("label", "")).strip()
        types = [str(t).strip() for t in entry.get("types", []) if str(t).strip()]
        if not code or not code.replace("_", "").isalnum():
            raise InvalidInput(
                f"Eintrag {number}: Der Code darf nur Buchstaben, Ziffern und _ enthalten.",
                code="catalogue_code",
            )
        if code in items:
            raise InvalidInput(f"Der Code „{code}“ kommt zweimal vor.", code="catalogue_code")
        if not label:
            raise InvalidInput(f"Eintrag {code}: Bitte einen Text angeben.", code="catalogue_label")
        unknown = [t for t in types if t not in known_types]
        if not types or unknown:
            raise InvalidInput(
                f"Eintrag {code}: Bitte mindestens eine bekannte Dokumentart angeben"
                + (f" (unbekannt: {', '.join(unknown)})." if unknown else "."),
                code="catalogue_types",
            )
        items[code] = {"label": label, "types": types, "period": bool(entry.get("period"))}
    if not items:
        raise InvalidInput("Der Katalog braucht mindestens einen Eintrag.", code="catalogue_empty")
    row = gate.session.get(RuntimeSetting, CATALOGUE_KEY)
    value = {"items": items}
    if row is None:
        gate.session.add(
            RuntimeSetting(key=CATALOGUE_KEY, value=value, changed_by_login=gate.user.login)
        )
    else:
        row.value, row.changed_at, row.changed_by_login = value, utcnow(), gate.user.login
    gate.record("request.catalogue_changed", items=sorted(items))
    return parse_catalogue(value)


# --- deadlines ----------------------------------------------------------------------------


def words(day: date) -> str:
    """'Montag, 21. Dezember 2026': the deadline as the letter writes it."""
    weekday = long_date(day).split(",")[0]
    return f"{weekday}, {day.day}. {MONTH_NAMES[day.month - 1]} {day.year}"


def propose_due(
    today: date, settings: Settings, land: str = DEFAULT_LAND
) -> tuple[date, list[Step]]:
    """today + request_deadline_days, moved to the next working day (weekends and the Land's
    public holidays, as the objection deadlines), with the steps explained in German."""
    days = settings.request_deadline_days
    end = today + timedelta(days=days)
    steps = [
        Step("Datum des Schreibens", today),
        Step(f"Frist von {days} Tagen (Einstellung) endet", end),
    ]
    moved, notes = next_working_day(end, land)
    if moved != end:
        steps.append(
            Step(
                "Fristende verschoben auf den nächsten Werktag",
                moved,
                "; ".join(notes) + f" – nächster Werktag: {long_date(moved)}",
            )
        )
    return moved, steps


def checked_due(due_on: date, today: date, land: str = DEFAULT_LAND) -> tuple[date, str]:
    """The deadline a request gets: at least MIN_DAYS after today, on a working day (a weekend
    or holiday moves it to the next working day, with a note)."""
    if due_on < today + timedelta(days=MIN_DAYS):
        raise InvalidInput(
            f"Die Frist muss mindestens {MIN_DAYS} Tage nach dem heutigen Tag liegen "
            f"(frühestens {german(today + timedelta(days=MIN_DAYS))}).",
            code="request_due",
        )
    moved, notes = next_working_day(due_on, land)
    note = "" if moved == due_on else "; ".join(notes) + f" – Frist: {long_date(moved)}"
    return moved, note


def default_period(today: date) -> str:
    """The period a period item names when none is given: the last three full months."""
    first_of_month = today.replace(day=1)
    start = add_months(first_of_month, -3)
    end = first_of_month - timedelta(days=1)
    return f"{german(start)}-{german(end)}"


def period_text(raw: str) -> str:
    """'01.10.2026-31.12.2026' as the letter prints it; InvalidInput when it is no period."""
    parts = [p.strip() for p in raw.replace("–", "-").split("-")]
    try:
        start, end = (datetime.strptime(p, "%d.%m.%Y").date() for p in parts)  # noqa: DTZ007
    except ValueError:
        raise InvalidInput(
            f"Zeitraum „{raw}“ nicht lesbar: bitte TT.MM.JJJJ-TT.MM.JJJJ angeben.",
            code="request_period",
        ) from None
    if end < start:
        raise InvalidInput(
            f"Zeitraum „{raw}“: das Ende liegt vor dem Anfang.", code="request_period"
        )
    return f"für die Zeit vom {german(start)} bis {german(end)}"


# --- writing a request --------------------------------------------------------------------


def _refuse_if_handed_over(household: Household) -> None:
    """A file handed over to another authority is read-only here: no new letters."""
    if household.handed_over_at is not None:
        raise InvalidInput(handed_over_message(household), code="handed_over")


def _person(household: Household, member_id: int | None) -> Member:
    members = list(household.members)
    if not members:
        raise InvalidInput("Der Haushalt hat keine Mitglieder.", code="request_person")
    if member_id is None:
        return members[0]
    for member in members:
        if member.id == member_id:
            return member
    raise InvalidInput(
        "Die angeschriebene Person gehört nicht zu diesem Haushalt.", code="request_person"
    )


def _address(household: Household) -> list[str]:
    town = f"{household.postcode} {household.town}".strip()
    return [line for line in (household.street, town) if line]


def _page_texts(data: bytes, count: int) -> list[str]:
    texts = []
    for number in range(1, count + 1):
        done = subprocess.run(  # noqa: S603 - a fixed program reading our own PDF
            ["pdftotext", "-f", str(number), "-l", str(number), "-layout", "-", "-"],  # noqa: S607
            input=data,
            capture_output=True,
            timeout=60,
            check=False,
        )
        texts.append(done.stdout.decode("utf-8", "replace") if done.returncode == 0 else "")
    return texts


def _file_letter(
    gate: Gate, runtime: Runtime, household: Household, data: bytes, name: str, today: date
) -> Document:
    """The letter as an outgoing document of the file (direction out, dispatched today)."""
    import pikepdf

    from records.takeover import page_images

    with pikepdf.open(io.BytesIO(data)) as pdf:
        count = len(pdf.pages)
    document_id = uuid.uuid4()
    key = f"requests/{document_id}.pdf"
    digest = hashlib.sha256(data).hexdigest()
    runtime.blobs.put(key, io.BytesIO(data))
    now = utcnow()
    document = Document(
        id=document_id,
        source_name=name,
        content_type="application/pdf",
        size_bytes=len(data),
        original_key=key,
        original_sha256=digest,
        pdf_key=key,
        pdf_sha256=digest,
        status="processed",
        qa_status="approved",
        page_count=count,
        first_page=1,
        last_page=count,
        doc_type=LETTER_TYPE,
        household_id=household.id,
        received_at=now,
        uploaded_by_id=gate.user.id,
        letter_date=today,
        receipt_date=today,
        dispatch_date=today,
        direction="out",
        sender=runtime.settings.job_centre_name,
        routed_at=now,
        routed_by="manual",
        pages=[
            Page(number=n, source_page=n, text=text)
            for n, text in enumerate(_page_texts(data, count), start=1)
        ],
    )
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "letter.pdf"
        path.write_bytes(data)
        images = page_images(path, count)
    for page, (image, thumb, (width, height)) in zip(document.pages, images, strict=False):
        page.image_key = f"requests/{document_id}/page-{page.number:04d}.jpg"
        page.thumb_key = f"requests/{document_id}/thumb-{page.number:04d}.jpg"
        runtime.blobs.put(page.image_key, io.BytesIO(image))
        runtime.blobs.put(page.thumb_key, io.BytesIO(thumb))
        page.image_sha256 = hashlib.sha256(image).hexdigest()
        page.thumb_sha256 = hashlib.sha256(thumb).hexdigest()
        page.width, page.height, page.dpi = width, height, 150
    gate.session.add(document)
    gate.session.flush()
    reindex_after_commit(gate.session, runtime, document)
    return document


def _letter(
    runtime: Runtime,
    request: DocumentRequest,
    household: Household,
    items: list[RequestItem],
    requester: User,
    today: date,
    *,
    reminder: bool = False,
) -> bytes:
    settings = runtime.settings
    due = words(request.due_on)
    return build_request_letter(
        RequestLetter(
            job_centre=settings.job_centre_name,
            person=request.person_name,
            address=_address(household),
            letter_date=today,
            bg_number=household.bg_number,
            request_id=request.id,
            items=[LetterItem(item.label, item.detail) for item in items],
            due_on=request.due_on,
            due_words=due,
            warning=settings.request_warning_text.replace("{frist}", due),
            requester=requester.name,
            code=request_code(
                settings.secret_key.get_secret_value(), request.id, household.bg_number
            ),
            created_at=local_now(),
            reminder=reminder,
            reminder_of=request.dispatch_date if reminder else None,
        )
    )


@dataclass
class Created:
    request: DocumentRequest
    letter: Document
    pdf: bytes
    due_note: str = ""


def create_request(
    gate: Gate,
    runtime: Runtime,
    bg_number: str,
    items: list[tuple[str, str]],
    due_on: date,
    *,
    member_id: int | None = None,
    today: date,
    land: str = DEFAULT_LAND,
) -> Created:
    """A request with its items, its letter filed as an outgoing document and the follow-up
    for its deadline. `items`: (catalogue code, period "TT.MM.JJJJ-TT.MM.JJJJ" or "")."""
    session = gate.session
    household, grant = gate.household(bg_number, "request.created", audited=False)
    _refuse_if_handed_over(household)
    catalogue = request_catalogue(session)
    if not items:
        raise InvalidInput(
            "Bitte mindestens eine Unterlage auswählen, die angefordert werden soll.",
            code="request_items",
        )
    rows: list[RequestItem] = []
    seen: set[str] = set()
    for code, raw in items:
        entry = catalogue.get(code.strip())
        if entry is None:
            known = ", ".join(catalogue)
            raise InvalidInput(
                f"Unbekannte Unterlage „{code}“ – bekannt sind: {known}.", code="request_items"
            )
        if entry.code in seen:
            raise InvalidInput(f"„{entry.label}“ ist doppelt ausgewählt.", code="request_items")
        seen.add(entry.code)
        detail = ""
        if entry.period:
            if not raw.strip():
                raise InvalidInput(
                    f"Für „{entry.label}“ bitte den Zeitraum angeben (TT.MM.JJJJ-TT.MM.JJJJ).",
                    code="request_period",
                )
            detail = period_text(raw)
        rows.append(RequestItem(code=entry.code, label=entry.label, detail=detail))
    due, due_note = checked_due(due_on, today, land)
    person = _person(household, member_id)
    request = DocumentRequest(
        household_id=household.id,
        requested_by_id=gate.user.id,
        member_id=person.id,
        person_name=f"{person.first_name} {person.last_name}".strip(),
        due_on=due,
        dispatch_date=today,
        state="open",
        reminders=[],
        items=rows,
    )
    session.add(request)
    session.flush()
    data = _letter(runtime, request, household, rows, gate.user, today)
    letter = _file_letter(
        gate, runtime, household, data, f"Mitwirkungsaufforderung-{request.id}.pdf", today
    )
    request.letter_document_id = letter.id
    session.add(
        FollowUp(
            kind="request",
            household_id=household.id,
            request_id=request.id,
            document_id=letter.id,
            due_on=due,
            note=FOLLOW_UP_NOTE,
            user_id=gate.user.id,
            created_by_login=gate.user.login,
            moves=[],
        )
    )
    session.flush()
    gate.record(
        "request.created",
        object_type="request",
        object_id=request.id,
        bg_number=household.bg_number,
        grant=grant,
        items=[row.code for row in rows],
        due_on=due.isoformat(),
        document=str(letter.id),
    )
    return Created(request, letter, data, due_note)


# --- reading and changing a request -------------------------------------------------------


def _request(
    gate: Gate,
    request_id: int,
    action: str,
    *,
    as_records: bool = False,
    audited: bool = True,
    bg_number: str | None = None,
) -> tuple[DocumentRequest, Household]:
    """The request and its household, through need-to-know (or, `as_records`, as the file's
    lifecycle metadata for the records manager's command line); an unknown id refused alike.
    `bg_number`: the file a page's form belongs to (another file's request is not found)."""
    request = gate.session.scalar(
        select(DocumentRequest)
        .where(DocumentRequest.id == request_id)
        .options(
            selectinload(DocumentRequest.items).selectinload(RequestItem.links),
            selectinload(DocumentRequest.household),
        )
    )
    if request is None:
        gate.require(Capability.RECORDS if as_records else Capability.CASE_FILES, action)
        raise gate.refuse(
            action,
            NO_ACCESS.format(what="Diese Anforderung"),
            object_type="request",
            object_id=request_id,
        )
    grant = None
    if as_records:
        household = gate.records_file(request.household.bg_number, action, audited=False)
    else:
        try:
            household, grant = gate.household(request.household.bg_number, action, audited=False)
        except AccessDenied as exc:
            if exc.message != NO_ACCESS.format(what="Diese Akte"):
                raise
            # Told like an unknown id: the answer says nothing about which requests exist.
            raise gate.refuse(
                action,
                NO_ACCESS.format(what="Diese Anforderung"),
                object_type="request",
                object_id=request_id,
                bg_number=request.household.bg_number,
            ) from None
    if bg_number is not None and household.bg_number != bg_number.strip().upper():
        raise NotFound("Diese Anforderung gibt es in dieser Akte nicht.")
    if audited:
        gate.record(
            action,
            object_type="request",
            object_id=request.id,
            bg_number=household.bg_number,
            grant=grant,
        )
    return request, household


def _open_follow_up(session: Session, request_id: int) -> FollowUp | None:
    return session.scalar(
        select(FollowUp)
        .where(FollowUp.request_id == request_id, FollowUp.done_at.is_(None))
        .order_by(FollowUp.id)
        .limit(1)
    )


def remind(
    gate: Gate,
    runtime: Runtime,
    request_id: int,
    new_due_on: date,
    *,
    today: date,
    land: str = DEFAULT_LAND,
    bg_number: str | None = None,
) -> Created:
    """The same letter marked Erinnerung, with only the missing items and the new deadline;
    filed as outgoing; the request's deadline and its open follow-up move. `bg_number`: the
    file the page's form belongs to (another file's request is not found)."""
    session = gate.session
    request, household = _request(
        gate, request_id, "request.reminded", audited=False, bg_number=bg_number
    )
    _refuse_if_handed_over(household)
    if request.state != "open":
        raise InvalidInput(
            f"Die Anforderung ist {STATE_LABELS[request.state]} – keine Erinnerung möglich.",
            code="request_state",
        )
    missing = [item for item in request.items if item.state == "missing"]
    if not missing:
        raise InvalidInput(
            "Alle Unterlagen sind eingegangen – keine Erinnerung nötig.", code="request_state"
        )
    due, note = checked_due(new_due_on, today, land)
    previous = request.due_on
    request.due_on = due
    data = _letter(runtime, request, household, missing, gate.user, today, reminder=True)
    letter = _file_letter(
        gate,
        runtime,
        household,
        data,
        f"Erinnerung-Mitwirkungsaufforderung-{request.id}-{len(request.reminders) + 1}.pdf",
        today,
    )
    now = utcnow().isoformat()
    request.reminders = [
        *request.reminders,
        {
            "document_id": str(letter.id),
            "due_on": due.isoformat(),
            "dispatch_date": today.isoformat(),
            "by": gate.user.login,
            "at": now,
            "items": [item.code for item in missing],
        },
    ]
    follow_up = _open_follow_up(session, request.id)
    if follow_up is not None:
        follow_up.moves = [
            *follow_up.moves,
            {
                "from": follow_up.due_on.isoformat(),
                "to": due.isoformat(),
                "reason": REMINDER_REASON,
                "by": gate.user.login,
                "at": now,
            },
        ]
        follow_up.due_on = due
    session.flush()
    gate.record(
        "request.reminded",
        object_type="request",
        object_id=request.id,
        bg_number=household.bg_number,
        items=[item.code for item in missing],
        due_on=due.isoformat(),
        previous_due_on=previous.isoformat(),
        document=str(letter.id),
    )
    return Created(request, letter, data, note)


def withdraw(
    gate: Gate, request_id: int, reason: str, *, bg_number: str | None = None
) -> DocumentRequest:
    """The request is withdrawn (no longer needed, e.g. benefits ended): it asks for nothing
    any more, its open follow-up is done (so it leaves the Wiedervorlagen and the Postkorb's
    "Frist abgelaufen"), and when, who and why are kept on the request (its history shows
    them). Same rule as a reminder: need-to-know, not on a file handed over.
    `bg_number`: the file the page's form belongs to (another file's request is not found)."""
    request, household = _request(
        gate, request_id, "request.withdrawn", audited=False, bg_number=bg_number
    )
    _refuse_if_handed_over(household)
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("Bitte einen Grund für die Rücknahme angeben.", code="request_reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            f"Der Grund ist zu lang (höchstens {MAX_REASON} Zeichen).", code="request_reason"
        )
    if request.state != "open":
        raise InvalidInput(
            f"Die Anforderung ist bereits {STATE_LABELS[request.state]}.", code="request_state"
        )
    request.state = "withdrawn"
    request.withdrawn_at = local_now().astimezone(UTC)  # the product's clock
    request.withdrawn_by_login = gate.user.login
    request.withdrawal_reason = reason
    follow_up = _open_follow_up(gate.session, request.id)
    if follow_up is not None:
        follow_up.done_at = utcnow()
        follow_up.done_by_login = gate.user.login
        follow_up.done_reason = f"Anforderung zurückgenommen: {reason}"
    gate.session.flush()
    gate.record(
        "request.withdrawn",
        object_type="request",
        object_id=request.id,
        bg_number=household.bg_number,
        reason=reason,
    )
    return request


# --- views --------------------------------------------------------------------------------


@dataclass
class LinkView:
    id: int
    document_id: str
    source: str
    source_label: str
    confirmed: bool
    received: date | None
    doc_type: str | None

    @property
    def probable(self) -> bool:
        """Recognition's guess, not yet confirmed: shown as "vermutlich Antwort"."""
        return self.source == "recognition" and not self.confirmed


@dataclass
class ItemView:
    id: int
    code: str
    label: str
    detail: str
    status: str  # missing | arrived
    status_label: str
    links: list[LinkView]

    @property
    def documents(self) -> list[str]:
        return [link.document_id for link in self.links]


@dataclass
class HistoryEntry:
    on: date
    text: str
    document_id: str | None = None


@dataclass
class RequestView:
    id: int
    bg_number: str
    person: str
    requester: str
    dispatch_date: date
    due_on: date
    state: str
    overdue: bool
    letter_document_id: str | None
    items: list[ItemView]
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        label = STATE_LABELS[self.state]
        return f"{label}, Frist abgelaufen" if self.overdue else label

    @property
    def missing(self) -> list[ItemView]:
        return [item for item in self.items if item.status == "missing"]

    def as_json(self) -> dict[str, Any]:
        """The command line's answer (`eakte requests show ID --json`)."""
        return {
            "id": self.id,
            "bg": self.bg_number,
            "status": self.state,
            "overdue": self.overdue,
            "due": self.due_on.isoformat(),
            "dispatch_date": self.dispatch_date.isoformat(),
            "person": self.person,
            "letter_document": self.letter_document_id,
            "reminders": [e.document_id for e in self.history if e.text.startswith("Erinnerung")],
            "items": [
                {
                    "code": item.code,
                    "label": item.label,
                    "detail": item.detail,
                    "status": item.status,
                    "documents": item.documents,
                }
                for item in self.items
            ],
        }


def _view(session: Session, request: DocumentRequest, today: date) -> RequestView:
    ids = [link.document_id for item in request.items for link in item.links]
    documents = (
        {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(ids)))}
        if ids
        else {}
    )
    items = []
    history = [
        HistoryEntry(
            request.dispatch_date,
            f"Mitwirkungsaufforderung an {request.person_name} versandt",
            str(request.letter_document_id) if request.letter_document_id else None,
        )
    ]
    for reminder in request.reminders:
        history.append(
            HistoryEntry(
                date.fromisoformat(reminder["dispatch_date"]),
                f"Erinnerung versandt, neue Frist {german(date.fromisoformat(reminder['due_on']))}",
                reminder.get("document_id"),
            )
        )
    for item in request.items:
        links = []
        for link in item.links:
            document = documents.get(link.document_id)
            received = document.receipt_date if document else None
            links.append(
                LinkView(
                    id=link.id,
                    document_id=str(link.document_id),
                    source=link.source,
                    source_label=SOURCE_LABELS.get(link.source, link.source),
                    confirmed=link.confirmed,
                    received=received,
                    doc_type=document.doc_type if document else None,
                )
            )
            if received is not None:
                history.append(
                    HistoryEntry(
                        received,
                        f"Eingegangen: {item.label} ({SOURCE_LABELS.get(link.source, '')})",
                        str(link.document_id),
                    )
                )
        items.append(
            ItemView(
                id=item.id,
                code=item.code,
                label=item.label,
                detail=item.detail,
                status=item.state,
                status_label=ITEM_LABELS.get(item.state, item.state),
                links=links,
            )
        )
    if request.state == "withdrawn":
        history.append(_withdrawal(session, request))
    history.sort(key=lambda entry: entry.on)
    requester = session.get(User, request.requested_by_id)
    return RequestView(
        id=request.id,
        bg_number=request.household.bg_number,
        person=request.person_name,
        requester=requester.name if requester else "",
        dispatch_date=request.dispatch_date,
        due_on=request.due_on,
        state=request.state,
        overdue=request.state == "open" and request.due_on < today,
        letter_document_id=str(request.letter_document_id) if request.letter_document_id else None,
        items=items,
        history=history,
    )


def _withdrawal(session: Session, request: DocumentRequest) -> HistoryEntry:
    """The withdrawal in the request's history: when, by whom and why."""
    actor = (
        session.scalar(select(User).where(User.login == request.withdrawn_by_login))
        if request.withdrawn_by_login
        else None
    )
    by = f" von {actor.name}" if actor is not None else ""
    reason = request.withdrawal_reason or ""
    text = f"Anforderung zurückgenommen{by}" + (f" – Grund: {reason}" if reason else "")
    day = local_date(request.withdrawn_at) if request.withdrawn_at else request.due_on
    return HistoryEntry(day, text)


def request_view(
    gate: Gate, request_id: int, *, today: date, as_records: bool = False
) -> RequestView:
    """One request with its items, their documents and its history; audited."""
    request, _ = _request(gate, request_id, "request.viewed", as_records=as_records)
    return _view(gate.session, request, today)


def requests_of_household(
    gate: Gate, bg_number: str, *, today: date, audited: bool = False
) -> list[RequestView]:
    """The household's requests, newest first, for the E-Akte's section (the page that shows
    them audits opening the file)."""
    household, _ = gate.household(bg_number, "request.listed", audited=audited)
    requests = gate.session.scalars(
        select(DocumentRequest)
        .where(DocumentRequest.household_id == household.id)
        .options(
            selectinload(DocumentRequest.items).selectinload(RequestItem.links),
            selectinload(DocumentRequest.household),
        )
        .order_by(DocumentRequest.id.desc())
    ).all()
    return [_view(gate.session, request, today) for request in requests]


def acting_user(session: Session, login: str) -> User:
    """The active account a command acts as (`--by LOGIN`); its need-to-know applies."""
    user = session.scalar(select(User).where(User.login == login.strip()))
    if user is None or not user.active:
        raise InvalidInput(f"Kein aktives Konto „{login}“.", code="request_user")
    return user


def member_by_name(household: Household, name: str) -> int:
    """The id of the household's member named `name` ("Vorname Nachname" or the member id)."""
    wanted = " ".join(name.split()).casefold()
    for member in household.members:
        full = f"{member.first_name} {member.last_name}".casefold()
        if wanted in (full, str(member.id), member.last_name.casefold()):
            return member.id
    raise InvalidInput(f"„{name}“ gehört nicht zu diesem Haushalt.", code="request_person")


def members_of(household: Household) -> list[Member]:
    """The persons a request may be addressed to (the household was opened by the caller)."""
    return list(household.members)
