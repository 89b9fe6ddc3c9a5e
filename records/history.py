"""A document's history (Verlauf) from the audit log: who did what to it, when.

The history is read through the access gate like the document itself, and the read is audited
like any read of client data. It names people by their names, never by their logins, and each
action by its German label; reads of the document (views, page images, this history) are left
out, so that the history shows what happened to the document, not who looked at it. Downloads
and prints are shown: a copy that left the system belongs to the document's story.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select

from core.dates import LOCAL_TZ, german
from records.access import Gate
from records.models import Appeal, AuditEvent, Document, Objection, User

# Every action on a document the history shows, with its German label. An action not named
# here (the reads) is not shown.
ACTION_LABELS: dict[str, str] = {
    "document.routed": "Erkannt und in den Postkorb gelegt",
    "document.filed": "In die Akte gelegt",
    "document.filed_by_hand": "In der Klärung zugeordnet",
    "document.details_changed": "Angaben geändert",
    "note.added": "Vermerk hinzugefügt",
    "inbox.read": "Als gelesen markiert",
    "inbox.unread": "Als ungelesen markiert",
    "inbox.take": "Aus dem Team-Postkorb übernommen",
    "inbox.forward": "Weitergeleitet",
    "inbox.return": "Zurück in die Klärung gegeben",
    "inbox.done": "Als erledigt markiert",
    "inbox.reopen": "Wieder geöffnet",
    "document.qa.approve": "Qualitätskontrolle: freigegeben",
    "document.qa.reject": "Qualitätskontrolle: zur Neuerfassung abgelehnt",
    "document.qa.undo": "Qualitätskontrolle zurückgenommen",
    "objection.registered": "Als Widerspruch erfasst",
    "appeal.registered": "Als Klage erfasst",
    "document.download": "PDF heruntergeladen",
    "document.print": "PDF zum Drucken geöffnet",
}
# The fields of the "Angaben", as the form names them.
FIELD_LABELS: dict[str, str] = {
    "doc_type": "Dokumentart",
    "receipt_date": "Eingangsdatum",
    "letter_date": "Datum des Schreibens",
    "dispatch_date": "Versanddatum",
    "sender": "Absender",
    "bg_number": "Haushalt",
}
SYSTEM_ACTOR = "Scanstraße (automatisch)"
# The audit action of reading the history.
READ_ACTION = "document.history"


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the history: when, who (a name, "B für A" for a deputy), what (the German
    label) and the particulars (what changed, the reason or comment), if any."""

    at: datetime
    who: str
    action: str
    label: str
    particulars: str

    @property
    def when(self) -> str:
        return local_time(self.at)


def local_time(at: datetime) -> str:
    """A moment in the job centre's zone, as Germans write it: "07.12.2026, 06:58 Uhr"."""
    local = at.astimezone(LOCAL_TZ)
    return f"{german(local.date())}, {local:%H:%M} Uhr"


def document_history(
    gate: Gate, document_id: uuid.UUID | str, type_names: dict[str, str] | None = None
) -> list[HistoryEntry]:
    """The history of a document the user may read, newest first; the read is audited (a
    refusal too). `type_names`: the German name of each document type, by code."""
    document, _ = gate.document(document_id, READ_ACTION)
    return history_of(gate, document, type_names)


def history_of(
    gate: Gate, document: Document, type_names: dict[str, str] | None = None
) -> list[HistoryEntry]:
    """The history of a document the gate has opened already (the caller audits the read)."""
    session = gate.session
    # The objection or appeal registered from this letter is part of its story.
    cases = [
        and_(AuditEvent.object_type == kind, AuditEvent.object_id == str(case_id))
        for kind, model in (("objection", Objection), ("appeal", Appeal))
        for case_id in session.scalars(select(model.id).where(model.document_id == document.id))
    ]
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(
                or_(
                    and_(
                        AuditEvent.object_type == "document",
                        AuditEvent.object_id == str(document.id),
                    ),
                    *cases,
                ),
                AuditEvent.outcome == "ok",
                AuditEvent.action.in_(ACTION_LABELS),
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        )
    )
    logins = {e.actor_login for e in events} | {e.on_behalf_of_login for e in events}
    people = session.scalars(select(User).where(User.login.in_([x for x in logins if x])))
    names = {person.login: person.name for person in people}
    return [
        HistoryEntry(
            at=event.at,
            who=_who(event, names),
            action=event.action,
            label=ACTION_LABELS[event.action],
            particulars=_particulars(event, type_names or {}),
        )
        for event in events
    ]


def _name(login: str | None, names: dict[str, str]) -> str:
    if login is None or login == "system":
        return SYSTEM_ACTOR
    return names.get(login, "unbekannte Person")


def _who(event: AuditEvent, names: dict[str, str]) -> str:
    who = _name(event.actor_login, names)
    if event.on_behalf_of_login:
        return f"{who} für {_name(event.on_behalf_of_login, names)}"
    return who


def _value(field: str, value: Any, type_names: dict[str, str]) -> str:
    if value is None or value == "":
        return "leer"
    if field == "doc_type":
        return type_names.get(str(value), str(value))
    if field.endswith("_date"):
        try:
            return german(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    return str(value)


def _particulars(event: AuditEvent, type_names: dict[str, str]) -> str:
    """What the action changed, in words: fields before and after, the reason, the comment;
    which objection or appeal was registered."""
    action, details = event.action, event.details or {}
    parts: list[str] = []
    if action == "objection.registered":
        parts.append(f"Widerspruch Nr. {event.object_id}")
    elif action == "appeal.registered":
        court, reference = details.get("court") or "Klage", details.get("file_reference") or "–"
        parts.append(f"{court}, Az. {reference}")
    elif action == "document.details_changed":
        for field, change in (details.get("changes") or {}).items():
            before, after = (list(change) + [None, None])[:2]
            label = FIELD_LABELS.get(field, field)
            shown = (_value(field, v, type_names) for v in (before, after))
            parts.append(f"{label}: {' → '.join(shown)}")
        if details.get("reason"):
            parts.append(f"Begründung: {details['reason']}")
    elif action.startswith("document.qa.") and details.get("note"):
        parts.append(f"Begründung: {details['note']}")
    elif action.startswith("inbox.") and details.get("comment"):
        parts.append(f"Kommentar: {details['comment']}")
    return "; ".join(parts)
