"""Need-to-know: roles and what they may do, whose files a user may see, and the one gate that
every read and change of social data passes.

Roles are an enum with named capabilities; code and templates ask for a capability, never for
a role name. Which households' files a user may see:
- caseworkers and case managers: their own caseload, their team's, and that of every colleague
  they stand in for (Vertretung) on the current day;
- the objections office: households with an open objection or a pending appeal, and those with
  a letter still open in its team inbox or in a member's own (done items grant nothing);
- the scanning desk: documents in clearing, and the documents of batches it handed in until
  their quality check (never documents that caseworkers filed themselves);
- administrators: configuration, no content;
- the data protection officer: the audit log and access reports, no content;
- the records manager (Schriftgutverwaltung): every file's lifecycle metadata (closing,
  retention, holds), the offer to the archive and destruction orders; the documents' content
  only as it leaves for the archive (xdomea 0503), each file's transfer audited.
- auditors and the counter's inspection account (Prüfung, Akteneinsicht, issue 18): the
  households of their active audit accesses, read-only, withheld documents excepted; no search.

A file whose destruction has begun is opened by nobody.

Search filters on the same access keys inside the index query (`visible_access_keys`).

`Gate` is the only way services open a household, document, inbox item, objection, appeal or
export for a user: it checks the capability and need-to-know and writes the audit row, success
and refusal alike. A refusal is raised as `AccessDenied` carrying its audit row; whoever owns
the transaction writes that row in a transaction of its own after rolling back
(`core.db.transaction`, `api.deps.get_db`). An id the user may not see and an id that does
not exist are refused alike, so the answer tells nothing about which ids exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Exists, Select, and_, exists, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from core.dates import LOCAL_TZ, local_today
from core.errors import AccessDenied
from records import audit
from records.identifiers import normalize_bg_number
from records.models import (
    Appeal,
    AuditAccess,
    Deputy,
    Document,
    FileExport,
    Household,
    InboxItem,
    Objection,
    User,
)
from search.base import CLEARING_ACCESS

CLEARING = CLEARING_ACCESS  # the key the search index files clearing documents under
RESTRICTED = "gesperrt"  # the key of restricted documents (Art. 18 DSGVO): nobody holds it
# The two kinds of legal case, each reached through the letter it came with.
_Case = TypeVar("_Case", Objection, Appeal)
# What the audit log names an object it records a success on (its kind, id and household).
_AUDITED_AS: dict[type, str] = {
    Household: "household",
    Document: "document",
    Objection: "objection",
    Appeal: "appeal",
    FileExport: "export",
    Deputy: "deputy",
}
# What is read with an objection or appeal: its household with the members, its letter, the
# contested decision, and for an appeal the objection with its letters.
CASE_LOADS: dict[type, tuple[Any, ...]] = {
    Objection: (
        selectinload(Objection.household).selectinload(Household.members),
        selectinload(Objection.document),
        selectinload(Objection.decision),
    ),
    Appeal: (
        selectinload(Appeal.household).selectinload(Household.members),
        selectinload(Appeal.document),
        selectinload(Appeal.objection).selectinload(Objection.document),
        selectinload(Appeal.objection).selectinload(Objection.decision),
    ),
}
Audited = Household | Document | Objection | Appeal | FileExport | Deputy
_Row = TypeVar("_Row", Document, Objection, Appeal, FileExport, Deputy)


class Role(StrEnum):
    LEISTUNG = "leistung"
    FALLMANAGEMENT = "fallmanagement"
    WIDERSPRUCH = "widerspruch"
    SCANSTELLE = "scanstelle"
    ADMIN = "admin"
    DATENSCHUTZ = "datenschutz"  # the data protection officer (issue 16)
    SCHRIFTGUT = "schriftgut"  # the records manager (issue 17)
    PRUEFUNG = "pruefung"  # a named auditor or the counter's inspection account (issue 18)


# What each role is called on a page (German).
ROLE_LABELS: dict[str, str] = {
    Role.LEISTUNG: "Leistungssachbearbeitung",
    Role.FALLMANAGEMENT: "Fallmanagement",
    Role.WIDERSPRUCH: "Widerspruchsstelle",
    Role.SCANSTELLE: "Scanstelle",
    Role.ADMIN: "Administration",
    Role.DATENSCHUTZ: "Datenschutz",
    Role.SCHRIFTGUT: "Schriftgutverwaltung",
    Role.PRUEFUNG: "Prüfung und Akteneinsicht",
}


class Capability(StrEnum):
    INBOX = "inbox"  # a Postkorb of one's own and the team's
    CASE_FILES = "case_files"  # households' files within need-to-know, search, notes
    STAND_IN = "stand_in"  # name one's own deputy and stand in for colleagues
    LEGAL = "legal"  # objection register and appeals
    EXPORT = "export"  # file exports (Aktenauszug)
    SCAN = "scan"  # hand in scans, follow batches, quality check
    CLEARING = "clearing"  # work the clearing inbox, look up master data to file a letter
    VERIFY_STORE = "verify_store"  # check every stored object against its SHA-256
    MASTER_DATA = "master_data"  # import staff and households from the Fachverfahren
    MANAGE_DEPUTIES = "manage_deputies"  # name and end deputies for others
    EDIT_PAGES = "edit_pages"  # split, move, remove and rotate pages (issue 15)
    # users, teams and offices, the document-type catalogue, run-time settings, service state
    ADMINISTER = "administer"
    # search the audit log, who opened a file, the data subject's access report (no content)
    AUDIT = "audit"
    # files' lifecycle: closing, retention and holds, the offer to the archive (xdomea
    # Aussonderung), destruction orders and their approval (issue 17)
    RECORDS = "records"
    # read, within an audit access's households and dates only, read-only; downloads carry a
    # watermark (issue 18)
    INSPECT = "inspect"
    # grant, end and report on auditors' accesses (issue 18)
    GRANT_INSPECTION = "grant_inspection"


_CASEWORK = frozenset(
    {
        Capability.INBOX,
        Capability.CASE_FILES,
        Capability.STAND_IN,
        Capability.EXPORT,
        Capability.EDIT_PAGES,
    }
)
ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.LEISTUNG: _CASEWORK,
    Role.FALLMANAGEMENT: _CASEWORK,
    Role.WIDERSPRUCH: frozenset(
        {Capability.INBOX, Capability.CASE_FILES, Capability.LEGAL, Capability.EXPORT}
    ),
    Role.SCANSTELLE: frozenset(
        {Capability.SCAN, Capability.CLEARING, Capability.VERIFY_STORE, Capability.EDIT_PAGES}
    ),
    Role.ADMIN: frozenset(
        {
            Capability.MASTER_DATA,
            Capability.MANAGE_DEPUTIES,
            Capability.VERIFY_STORE,
            Capability.ADMINISTER,
            Capability.GRANT_INSPECTION,
        }
    ),
    Role.DATENSCHUTZ: frozenset({Capability.AUDIT}),
    Role.SCHRIFTGUT: frozenset({Capability.RECORDS}),
    Role.PRUEFUNG: frozenset({Capability.INSPECT}),
}
CASEWORK_ROLES = (Role.LEISTUNG.value, Role.FALLMANAGEMENT.value)
# Who may receive a forwarded letter.
RECEIVING_ROLES = (*CASEWORK_ROLES, Role.WIDERSPRUCH.value)
# What may go to the objections office without a reason: legal remedies and court letters.
LEGAL_DOC_TYPES = frozenset({"widerspruch", "klage"})


def capabilities(user: User | None) -> frozenset[Capability]:
    if user is None:
        return frozenset()
    try:
        return ROLE_CAPABILITIES[Role(user.role)]
    except ValueError:
        return frozenset()


def may(user: User | None, capability: Capability) -> bool:
    return capability in capabilities(user)


def absent_colleagues(session: Session, user: User, on: date | None = None) -> list[User]:
    """The users `user` stands in for on that day (default: today)."""
    if not may(user, Capability.STAND_IN):
        return []
    day = on or local_today()
    # Asked once per item in a bulk action: remembered for the unit of work.
    key = f"eakte_absent:{user.id}:{day.isoformat()}"
    if key in session.info:
        return session.info[key]
    session.info[key] = found = list(
        session.scalars(
            select(User)
            .join(Deputy, Deputy.absent_id == User.id)
            .where(
                Deputy.deputy_id == user.id,
                Deputy.revoked_at.is_(None),
                Deputy.starts_on <= day,
                Deputy.ends_on >= day,
            )
            .order_by(User.name)
        )
    )
    return found


# --- which households: one rule, as a set of keys (search) and for one household ----------


def _caseload(user_ids: list[int]) -> Select[str]:
    return select(Household.bg_number).where(
        or_(Household.caseworker_id.in_(user_ids), Household.case_manager_id.in_(user_ids))
    )


def _open_case() -> ColumnElement[bool]:
    """Households with an objection or appeal the office is working on."""
    return or_(
        exists().where(
            Objection.household_id == Household.id,
            Objection.status.in_(("eingegangen", "in_bearbeitung")),
        ),
        exists().where(Appeal.household_id == Household.id, Appeal.status == "anhaengig"),
    )


def _open_office_item(user: User) -> Exists:
    """Households with a letter open in the office's team inbox or in this member's own."""
    targets = [and_(InboxItem.kind == "user", InboxItem.user_id == user.id)]
    if user.team_id is not None:
        targets.append(and_(InboxItem.kind == "team", InboxItem.team_id == user.team_id))
    return exists().where(
        Document.household_id == Household.id,
        InboxItem.document_id == Document.id,
        InboxItem.state != "done",
        or_(*targets),
    )


def visible_access_keys(session: Session, user: User) -> frozenset[str]:
    """Every access key (BG number, or CLEARING) whose documents the user may find in search."""
    keys: set[str] = set()
    if may(user, Capability.CLEARING):
        keys.add(CLEARING)
    if user.role in CASEWORK_ROLES:
        people = [user.id]
        if user.team_id is not None:
            people += list(session.scalars(select(User.id).where(User.team_id == user.team_id)))
        people += [absent.id for absent in absent_colleagues(session, user)]
        keys.update(session.scalars(_caseload(people)))
    if user.role == Role.WIDERSPRUCH:
        keys.update(
            session.scalars(
                select(Household.bg_number).where(or_(_open_case(), _open_office_item(user)))
            )
        )
    return frozenset(keys)


@dataclass(frozen=True)
class Grant:
    """Why a user may see a household's file: `via` own, team, deputy, office; for a deputy the
    absent colleague they act for ("B für A")."""

    via: str
    for_user: User | None = None


def _casework_grant(user: User, household: Household, absent: Iterable[User]) -> Grant | None:
    responsible = [p for p in (household.caseworker, household.case_manager) if p is not None]
    if any(p.id == user.id for p in responsible):
        return Grant("own")
    if user.team_id is not None and any(p.team_id == user.team_id for p in responsible):
        return Grant("team")
    ids = {p.id for p in responsible}
    for colleague in absent:
        if colleague.id in ids:
            return Grant("deputy", colleague)
    return None


def _open_to_office(session: Session, user: User, household_ids: Iterable[int]) -> set[int]:
    """Of these households, those open to the objections office (one query for all)."""
    wanted = sorted(set(household_ids))
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(Household.id).where(
                Household.id.in_(wanted), or_(_open_case(), _open_office_item(user))
            )
        )
    )


def household_grant(session: Session, user: User, household: Household) -> Grant | None:
    if household.destruction_started_at is not None:
        return None
    if user.role in CASEWORK_ROLES:
        return _casework_grant(user, household, absent_colleagues(session, user))
    if user.role == Role.WIDERSPRUCH:
        return Grant("office") if _open_to_office(session, user, [household.id]) else None
    if user.role == Role.PRUEFUNG:
        return inspection_grant(session, user, household)
    return None


def households_open_to(session: Session, user: User, households: Iterable[Household]) -> set[int]:
    """`household_grant` for many households, with a fixed number of queries: the ids of
    those the user may open."""
    households = [h for h in households if h.destruction_started_at is None]
    if user.role in CASEWORK_ROLES:
        absent = absent_colleagues(session, user)
        return {h.id for h in households if _casework_grant(user, h, absent) is not None}
    if user.role == Role.WIDERSPRUCH:
        return _open_to_office(session, user, (h.id for h in households))
    if user.role == Role.PRUEFUNG:
        return {h.id for h in households if inspection_grant(session, user, h) is not None}
    return set()


def in_case_file(document: Document) -> bool:
    """Whether the document is part of its household's file: neither rejected for a new scan,
    held back until the desk's quality check, nor discarded (a duplicate, removed pages)."""
    return (
        document.qa_status != "rejected"
        and not document.held_for_qa
        and document.discarded_at is None
        and document.restricted_at is None
    )


def in_case_file_clause() -> ColumnElement[bool]:
    """`in_case_file` as a query condition."""
    return and_(
        Document.qa_status != "rejected",
        Document.held_for_qa.is_(False),
        Document.discarded_at.is_(None),
        Document.restricted_at.is_(None),
    )


def access_key_of(document: Document) -> str:
    # Restricted (Art. 18 DSGVO): out of the file, and not the desk's either.
    if document.restricted_at is not None:
        return RESTRICTED
    # Rejected, held for QA or not filed yet: the document stays with the scanning desk.
    if not in_case_file(document) or document.household is None:
        return CLEARING
    return document.household.bg_number


def filed_by_caseworker(document: Document) -> bool:
    """E-mails and decisions a caseworker put into a file themselves: no desk, no QA."""
    return document.batch is not None and document.batch.channel == "file"


def desk_may_check(user: User, document: Document) -> bool:
    """The desk checks what it scanned: pages and recognition until the QA decision."""
    return (
        may(user, Capability.SCAN)
        and document.qa_status == "pending"
        and not filed_by_caseworker(document)
    )


def in_clearing(session: Session, document: Document) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    InboxItem.document_id == document.id,
                    InboxItem.kind == "clearing",
                    InboxItem.state != "done",
                )
            )
        )
    )


def document_grant(session: Session, user: User, document: Document) -> Grant | None:
    if document.restricted_at is not None:
        return None  # restricted: nobody reads it until the restriction is lifted
    if may(user, Capability.CLEARING) and not filed_by_caseworker(document):
        if access_key_of(document) == CLEARING or in_clearing(session, document):
            return Grant("clearing")
        if desk_may_check(user, document):
            return Grant("desk")
        return None
    if access_key_of(document) == CLEARING:
        return None
    assert document.household is not None
    if user.role == Role.PRUEFUNG:
        return inspection_grant(session, user, document.household, document)
    return household_grant(session, user, document.household)


def item_grant(session: Session, user: User, item: InboxItem) -> Grant | None:
    """Whose item it is for this user: own, team, the desk's clearing, or an absent
    colleague's (deputy). None if the user may not work it."""
    if item.kind == "user" and item.user_id == user.id and may(user, Capability.INBOX):
        return Grant("own")
    if (
        item.kind == "team"
        and item.team_id is not None
        and item.team_id == user.team_id
        and may(user, Capability.INBOX)
    ):
        return Grant("team")
    if item.kind == "clearing" and may(user, Capability.CLEARING):
        return Grant("clearing")
    if item.kind == "user":
        for absent in absent_colleagues(session, user):
            if absent.id == item.user_id:
                return Grant("deputy", absent)
    return None


# --- auditors' accesses (issue 18, audit18) -------------------------------------------------
# A `pruefung` account sees a household only while one of its accesses (AuditAccess) names it
# and is active: starts_on <= today <= ends_on and not ended by hand; never a document that
# access withholds (§ 25 Abs. 3 SGB X), nor a restricted or not-filed one. Auditors get no
# search (`visible_access_keys` gives them no key): the index knows households, not withheld
# documents, so they reach documents only through their access's list (records.inspection).
# The gate lets a grant "inspection" serve only actions named "inspection.*": every other
# path (the E-Akte's viewer, the PDF download without watermark, changes, notes) refuses.

INSPECTION = "inspection"


def active_accesses(session: Session, user: User, on: date | None = None) -> list[AuditAccess]:
    """The user's accesses active on that day (default: today), oldest first."""
    day = on or local_today()
    key = f"eakte_inspection:{user.id}:{day.isoformat()}"
    if key in session.info:
        return session.info[key]
    session.info[key] = found = list(
        session.scalars(
            select(AuditAccess)
            .where(
                AuditAccess.auditor_id == user.id,
                AuditAccess.ended_at.is_(None),
                AuditAccess.starts_on <= day,
                AuditAccess.ends_on >= day,
            )
            .options(selectinload(AuditAccess.households))
            .order_by(AuditAccess.id)
        )
    )
    return found


def _granter(session: Session, access: AuditAccess) -> User | None:
    return session.scalar(select(User).where(User.login == access.created_by_login))


def access_opens(access: AuditAccess, household: Household, document: Document | None) -> bool:
    """Whether this access names the household and does not withhold the document."""
    if not any(entry.household_id == household.id for entry in access.households):
        return False
    return document is None or str(document.id) not in (access.withheld or {})


def inspection_grant(
    session: Session, user: User, household: Household, document: Document | None = None
) -> Grant | None:
    """Grant("inspection", the granting user) while an active access of this auditor names the
    household (and does not withhold the document); None otherwise."""
    if household.destruction_started_at is not None or not may(user, Capability.INSPECT):
        return None
    for access in active_accesses(session, user):
        if access_opens(access, household, document):
            return Grant(INSPECTION, _granter(session, access))
    return None


# --- the gate --------------------------------------------------------------------------------

# --- handed-over files are read-only (issue 18, the hand-over) -------------------------------
# A file handed over to another authority (records.handover) may still be read here and stays
# subject to retention (closing, holds and destruction are the records manager's, through
# `Gate.records_file`), but nothing in it may change any more. The changes a caseworker or the
# desk makes through `Gate.household` / `Gate.document` are named by these actions; the gate
# refuses them for a handed-over file (`handed_over_refusal`), in this one place.
HANDED_OVER_CHANGES = frozenset(
    {
        "note.add",
        "document.change",
        "document.move",
        "document.filing",
        "document.pages.split",
        "document.pages.move",
        "document.pages.remove",
        "document.page.rotate",
        "document.restrict",
        "document.discarded",
        "household.upload",
        "file.reopened",
        "objection.registered",
        "appeal.registered",
        "followup.create",  # issue 19, followup19: no new follow-up, no move
        "followup.move",
    }
)


def handed_over_message(household: Household) -> str:
    """The German notice on a handed-over file."""
    when = household.handed_over_at
    day = when.astimezone(LOCAL_TZ).strftime("%d.%m.%Y") if when else "?"
    return (
        f"Die Akte wurde am {day} an {household.handed_over_to or 'eine andere Behörde'}"
        " abgegeben und kann hier nur noch gelesen werden."
    )


def handed_over_refusal(household: Household | None, action: str) -> str | None:
    """Why `action` may not change this household's file: it was handed over; else None."""
    if household is None or household.handed_over_at is None:
        return None
    return handed_over_message(household) if action in HANDED_OVER_CHANGES else None


NO_ACCESS = (
    "Kein Zugriff: {what} gibt es nicht oder es gehört nicht zu Ihrem Zuständigkeitsbereich."
)
_WHOSE_TASK = {
    Capability.INBOX: "der Sachbearbeitung, des Fallmanagements und der Widerspruchsstelle",
    Capability.CASE_FILES: "der Sachbearbeitung, des Fallmanagements und der Widerspruchsstelle",
    Capability.STAND_IN: "der Sachbearbeitung und des Fallmanagements",
    Capability.LEGAL: "der Widerspruchsstelle",
    Capability.EXPORT: "der Widerspruchsstelle und der zuständigen Sachbearbeitung",
    Capability.SCAN: "der Scanstelle",
    Capability.CLEARING: "der Scanstelle",
    Capability.VERIFY_STORE: "der Scanstelle und der Administration",
    Capability.MASTER_DATA: "der Administration",
    Capability.MANAGE_DEPUTIES: "der Administration",
    Capability.EDIT_PAGES: "der Scanstelle, der Sachbearbeitung und des Fallmanagements",
    Capability.ADMINISTER: "der Administration",
    Capability.AUDIT: "des Datenschutzes",
    Capability.RECORDS: "der Schriftgutverwaltung",
    Capability.INSPECT: "der Prüferinnen und Prüfer",
    Capability.GRANT_INSPECTION: "der Administration",
}
NO_CAPABILITY = "Kein Zugriff: Das gehört nicht zu den Aufgaben Ihrer Rolle."


# The objects a refusal may name whose household the audit row records (Gate.refuse).
_REFUSED_OBJECTS: dict[str, type] = {
    "document": Document,
    "objection": Objection,
    "appeal": Appeal,
    "export": FileExport,
    "inbox_item": InboxItem,
}


def _bg_number_of(document: Document | None) -> str | None:
    """The household a document belongs to (also while held for the quality check or
    discarded), for the audit row of a refusal; None in clearing."""
    return document.household.bg_number if document and document.household else None


@dataclass
class Gate:
    """One user's way to social data within one unit of work. Every open_* call checks and
    audits; refusals raise AccessDenied with their audit row (written after the rollback)."""

    session: Session
    user: User

    @property
    def capabilities(self) -> frozenset[Capability]:
        return capabilities(self.user)

    def may(self, capability: Capability) -> bool:
        return capability in self.capabilities

    # refusals and successes -------------------------------------------------------------

    def refuse(
        self,
        action: str,
        message: str = NO_CAPABILITY,
        *,
        object_type: str | None = None,
        object_id: object | None = None,
        bg_number: str | None = None,
        **details: Any,
    ) -> AccessDenied:
        """The refusal to raise: its audit row goes with it. A refusal of an existing object
        of a household carries that household's BG number (the data protection officer's
        report lists it; the refused user is told nothing about it)."""
        error = AccessDenied(message)
        if bg_number is None:
            bg_number = self._household_number(object_type, object_id)
        error.after_rollback = audit.pending(
            self.user,
            action,
            outcome="denied",
            object_type=object_type,
            object_id=object_id,
            bg_number=bg_number,
            **details,
        )
        return error

    def _household_number(self, object_type: str | None, object_id: object) -> str | None:
        """The BG number of the household of the object a refusal names, if it exists."""
        model = _REFUSED_OBJECTS.get(object_type or "")
        if model is None or object_id is None:
            return None
        try:
            key: object = object_id
            if not isinstance(object_id, uuid.UUID | int):
                key = uuid.UUID(str(object_id)) if model is Document else int(str(object_id))
            with self.session.no_autoflush:
                row = self.session.get(model, key)
                if isinstance(row, InboxItem):
                    row = row.document
                household_id = getattr(row, "household_id", None)
                household = self.session.get(Household, household_id) if household_id else None
        except (ValueError, TypeError, SQLAlchemyError):
            return None
        return household.bg_number if household else None

    def record(
        self,
        action: str,
        *,
        object_type: str | None = None,
        object_id: object | None = None,
        bg_number: str | None = None,
        grant: Grant | None = None,
        **details: Any,
    ) -> None:
        audit.record(
            self.session,
            self.user,
            action,
            object_type=object_type,
            object_id=object_id,
            bg_number=bg_number,
            on_behalf_of=grant.for_user if grant else None,
            **details,
        )

    def record_on(
        self, row: Audited, action: str, *, grant: Grant | None = None, **details: Any
    ) -> None:
        """A success on one object, named in the audit log by its kind, id and household."""
        if isinstance(row, Household):
            object_id: object = row.bg_number
            household: Household | None = row
        else:
            object_id, household = row.id, getattr(row, "household", None)
        self.record(
            action,
            object_type=_AUDITED_AS[type(row)],
            object_id=object_id,
            bg_number=household.bg_number if household else None,
            grant=grant,
            **details,
        )

    def created(self, row: _Row, action: str, **details: Any) -> _Row:
        """A new object added and flushed (so that it has its id), its creation audited."""
        self.session.add(row)
        self.session.flush()
        self.record_on(row, action, **details)
        return row

    def require(self, capability: Capability, action: str, **target: Any) -> None:
        """The role may do this at all; a refusal is audited like any other."""
        if not self.may(capability):
            message = f"Kein Zugriff: Das ist Aufgabe {_WHOSE_TASK[capability]}."
            raise self.refuse(action, message, capability=capability.value, **target)

    def listing(self, capability: Capability | None, action: str, **details: Any) -> None:
        """A read of a list that names clients (Postkorb, clearing, registers): audited."""
        if capability is not None:
            self.require(capability, action)
        self.record(action, **details)

    # opening objects --------------------------------------------------------------------

    def household(
        self,
        bg_number: str,
        action: str,
        *,
        capability: Capability = Capability.CASE_FILES,
        audited: bool = True,
    ) -> tuple[Household, Grant]:
        number = normalize_bg_number(bg_number)
        self.require(
            capability,
            action,
            object_type="household",
            object_id=number or bg_number[:40],
            bg_number=number,
        )
        household = (
            self.session.scalar(select(Household).where(Household.bg_number == number))
            if number
            else None
        )
        grant = household_grant(self.session, self.user, household) if household else None
        if grant is not None and grant.via == INSPECTION and not action.startswith("inspection."):
            grant = None  # an auditor reads through records.inspection only, never changes
        if household is None or grant is None:
            raise self.refuse(
                action,
                NO_ACCESS.format(what="Diese Akte"),
                object_type="household",
                object_id=number or bg_number[:40],
                bg_number=household.bg_number if household else None,
            )
        self._refuse_if_handed_over(household, action)
        if audited:
            self.record_on(household, action, grant=grant)
        return household, grant

    def records_file(self, bg_number: str, action: str, *, audited: bool = True) -> Household:
        """A household's file for its lifecycle (closing, retention, holds, the archive's
        offer, destruction): the records manager's, for every file whose destruction has not
        begun. Gives no way to the documents' content."""
        number = normalize_bg_number(bg_number)
        target = {"object_type": "household", "object_id": number or bg_number[:40]}
        self.require(Capability.RECORDS, action, bg_number=number, **target)
        household = (
            self.session.scalar(select(Household).where(Household.bg_number == number))
            if number
            else None
        )
        if household is None or household.destruction_started_at is not None:
            raise self.refuse(
                action,
                NO_ACCESS.format(what="Diese Akte"),
                bg_number=household.bg_number if household else None,
                **target,
            )
        if audited:
            self.record_on(household, action, grant=Grant("records"))
        return household

    def records_document(self, document_id: uuid.UUID | str, action: str) -> Document:
        """A document for its lifecycle (an erasure order): the records manager's, for any
        document that exists. The caller records the success."""
        self.require(Capability.RECORDS, action, object_type="document", object_id=document_id)
        document = self._document_row(document_id)
        if document is None:
            raise self.refuse(
                action,
                "Dieses Dokument gibt es nicht.",
                object_type="document",
                object_id=str(document_id)[:64],
            )
        return document

    def restricted_document(self, document_id: uuid.UUID | str, action: str) -> Document:
        """A restricted document (Art. 18 DSGVO) of a household the caseworker may open, to
        lift its restriction; a restricted document is otherwise opened by nobody. The caller
        records the success."""
        self.require(Capability.CASE_FILES, action, object_type="document", object_id=document_id)
        document = self._document_row(document_id)
        household = document.household if document else None
        if (
            document is None
            or document.restricted_at is None
            or household is None
            or household_grant(self.session, self.user, household) is None
        ):
            raise self.refuse(
                action,
                "Kein Zugriff: Dieses Dokument ist nicht eingeschränkt oder nicht in Ihrer "
                "Zuständigkeit.",
                object_type="document",
                object_id=str(document_id)[:64],
            )
        return document

    def _document_row(self, document_id: uuid.UUID | str) -> Document | None:
        try:
            key = document_id if isinstance(document_id, uuid.UUID) else uuid.UUID(document_id)
        except ValueError:
            return None
        return self.session.get(Document, key)

    def household_of(self, household: Household, action: str, *, audited: bool = True) -> Grant:
        """A household already loaded (e.g. the target of a move): the same check."""
        return self.household(household.bg_number, action, audited=audited)[1]

    def document(
        self,
        document_id: uuid.UUID | str,
        action: str,
        *,
        lock: bool = False,
        audited: bool = True,
        **details: Any,
    ) -> tuple[Document, Grant]:
        try:
            key = document_id if isinstance(document_id, uuid.UUID) else uuid.UUID(document_id)
        except ValueError:
            key = None
        document = self.session.get(Document, key, with_for_update=lock) if key else None
        grant = document_grant(self.session, self.user, document) if document else None
        if grant is not None and grant.via == INSPECTION and not action.startswith("inspection."):
            grant = None  # an auditor reads through records.inspection only, never changes
        if document is None or grant is None:
            raise self.refuse(
                action,
                NO_ACCESS.format(what="Dieses Dokument"),
                object_type="document",
                object_id=str(document_id)[:64],
                bg_number=_bg_number_of(document),
                **details,  # what was tried is in the log with the refusal too
            )
        self._refuse_if_handed_over(document.household, action)
        if audited:
            self.record_on(document, action, grant=grant, **details)
        return document, grant

    def _refuse_if_handed_over(self, household: Household | None, action: str) -> None:
        """A change to a handed-over file is refused (and audited); reading goes on."""
        message = handed_over_refusal(household, action)
        if message is not None and household is not None:
            raise self.refuse(
                action,
                message,
                object_type="household",
                object_id=household.bg_number,
                bg_number=household.bg_number,
                reason="handed_over",
            )

    def read_document(self, document_id: uuid.UUID | str, action: str) -> Document:
        """The document if the user may read it; every attempt, allowed or not, is audited."""
        return self.document(document_id, action)[0]

    def item(self, item_id: int, action: str) -> tuple[InboxItem, Grant]:
        """An inbox item to work on: it must lie in the user's reach, and its household must be
        open to the user now (a deputy's period that ended ends the work on it too)."""
        item = self.session.get(InboxItem, item_id, with_for_update=True)
        grant = item_grant(self.session, self.user, item) if item else None
        document = item.document if item else None
        if (
            grant is not None
            and document is not None
            and grant.via != "clearing"
            and document.household is not None
            and document.qa_status != "rejected"
            and (
                document.held_for_qa
                or household_grant(self.session, self.user, document.household) is None
            )
        ):
            grant = None
        if item is None or grant is None:
            raise self.refuse(
                action,
                "Kein Zugriff: Dieser Eintrag liegt nicht in Ihrem Postkorb.",
                object_type="inbox_item",
                object_id=item_id,
                bg_number=_bg_number_of(document),
            )
        return item, grant

    def objection(self, objection_id: int, action: str, *, audited: bool = True) -> Objection:
        return self._case(Objection, objection_id, action, "Diesen Widerspruch", audited)

    def appeal(self, appeal_id: int, action: str, *, audited: bool = True) -> Appeal:
        return self._case(Appeal, appeal_id, action, "Diese Klage", audited)

    def _case(
        self, kind: type[_Case], case_id: int, action: str, what: str, audited: bool
    ) -> _Case:
        """An objection or appeal: open to whoever may see the letter it was registered from."""
        object_type = kind.__tablename__.rstrip("s")
        case = self.session.get(kind, case_id, options=CASE_LOADS[kind])
        content = self.may(Capability.LEGAL) or self.may(Capability.CASE_FILES)
        grant = document_grant(self.session, self.user, case.document) if case and content else None
        if case is None or grant is None:
            raise self.refuse(
                action,
                NO_ACCESS.format(what=what),
                object_type=object_type,
                object_id=case_id,
                bg_number=case.household.bg_number if case else None,
            )
        if audited:
            self.record_on(case, action, grant=grant)
        return case

    def export(self, export_id: int, action: str, *, audited: bool = True) -> FileExport:
        record = self.session.get(FileExport, export_id)
        grant = (
            household_grant(self.session, self.user, record.household)
            if record is not None and self.may(Capability.CASE_FILES)
            else None
        )
        if record is None or grant is None:
            raise self.refuse(
                action,
                NO_ACCESS.format(what="Diesen Aktenauszug"),
                object_type="export",
                object_id=export_id,
                bg_number=record.household.bg_number if record else None,
            )
        if audited:
            self.record_on(record, action, grant=grant)
        return record

    def visible(self, documents: Iterable[Document]) -> list[Document]:
        """Of these documents, the ones the user may see (for lists; not audited one by one).
        Outside the desk a document's grant is its household's: asked once for all of them."""
        documents = list(documents)
        if self.may(Capability.CLEARING):
            return [d for d in documents if document_grant(self.session, self.user, d)]
        filed = [d for d in documents if access_key_of(d) != CLEARING]
        households = {d.household.id: d.household for d in filed if d.household is not None}
        open_ = households_open_to(self.session, self.user, households.values())
        return [d for d in filed if d.household_id in open_]
