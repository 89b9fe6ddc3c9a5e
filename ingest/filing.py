"""The routing step of the pipeline: recognise each new document and file it.

Recognition itself (ingest/recognition) is pure: page texts and a snapshot of the master data in,
a decision with its evidence out. This module feeds it from the database, and files the result
through records.routing, inside the same transaction that stores the document.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.config import Settings
from core.dates import local_date
from ingest.catalogue import Source, in_force
from ingest.recognition import (
    Catalogue,
    HouseholdRecord,
    MasterData,
    MemberRecord,
    Recognition,
    recognise,
)
from records.duplicates import mark_duplicate
from records.models import (
    Document,
    DocumentRequest,
    Household,
    Member,
    RecognitionAlias,
    ScanBatch,
    User,
)
from records.request_replies import link_behind_sheet, link_by_recognition
from records.routing import file_document, requester_destination
from records.sheet_codes import parse_code

_lock = threading.Lock()
_master: dict[str, tuple[tuple[object, ...], MasterData]] = {}


def catalogue_for(settings: Settings, source: Source = None) -> Catalogue:
    """The catalogue in force (ingest.catalogue): the version the administration saved last,
    else the configured file. With a session it asks the database now (the pipeline, per
    job), with a session factory at most every few seconds."""
    return in_force(settings, source).catalogue


def _master_version(session: Session) -> tuple[object, ...]:
    households = session.execute(
        select(func.count(Household.id), func.max(Household.updated_at))
    ).one()
    members = session.execute(select(func.count(Member.id), func.max(Member.id))).one()
    aliases = session.execute(
        select(func.count(RecognitionAlias.id), func.max(RecognitionAlias.id))
    ).one()
    return (*households, *members, *aliases)


def master_data(session: Session) -> MasterData:
    """A snapshot of every household and its members, rebuilt only when the master data changed.

    An import that changes an address or a caseworker is therefore used by the next document.
    """
    engine_key = str(session.get_bind().engine.url)
    version = _master_version(session)
    with _lock:
        cached = _master.get(engine_key)
        if cached is not None and cached[0] == version:
            return cached[1]
    households = session.scalars(select(Household).options(selectinload(Household.members)))
    records = [
        HouseholdRecord(
            bg_number=household.bg_number,
            street=household.street,
            postcode=household.postcode,
            town=household.town,
            members=tuple(
                MemberRecord(
                    member.last_name,
                    member.first_name,
                    member.birth_date,
                    iban=member.iban,
                    email=member.email,
                )
                for member in household.members
            ),
            active=household.active,
        )
        for household in households
    ]
    snapshot = MasterData(records)
    with _lock:
        _master[engine_key] = (version, snapshot)
    return snapshot


def learned_aliases(session: Session) -> dict[str, str]:
    rows = session.execute(
        select(RecognitionAlias.key, Household.bg_number).join(
            Household, Household.id == RecognitionAlias.household_id
        )
    )
    return {key: bg_number for key, bg_number in rows}


def recognise_all(
    session: Session,
    settings: Settings,
    documents: list[list[str]],
    sender_addresses: list[str | None] | None = None,
) -> list[Recognition]:
    """Recognise each document; `sender_addresses[i]` is the From address of document i when it
    came by e-mail (evidence where the master data holds that address), else None."""
    master = master_data(session)
    catalogue = catalogue_for(settings, session)
    aliases = learned_aliases(session)
    senders = list(sender_addresses or [])
    senders += [None] * (len(documents) - len(senders))
    return [
        recognise(pages, master, catalogue, aliases=aliases, sender_address=sender)
        for pages, sender in zip(documents, senders, strict=False)
    ]


def reason_text(recognition: Recognition, catalogue: Catalogue) -> str:
    """The German reason shown with the inbox item: which evidence decided what."""
    names = {rule.code: rule.name for rule in catalogue.types}
    type_name = names.get(recognition.doc_type, recognition.doc_type)
    parts = []
    if recognition.bg_number:
        evidence = "; ".join(e.detail.rstrip(". ") for e in recognition.household_evidence[:3])
        parts.append(f"Haushalt {recognition.bg_number}: {evidence}.")
    else:
        why = (recognition.clearing_reason or "Haushalt nicht sicher erkannt").rstrip(". ")
        parts.append(f"Klärung: {why}.")
    if recognition.type_evidence:
        evidence = "; ".join(e.detail.rstrip(". ") for e in recognition.type_evidence[:2])
        parts.append(f"Dokumentart {type_name}: {evidence}.")
    else:
        parts.append(f"Dokumentart {type_name}: kein Merkmal einer bestimmten Art gefunden.")
    return " ".join(parts)


def _type_text(recognition: Recognition, catalogue: Catalogue) -> str:
    names = {rule.code: rule.name for rule in catalogue.types}
    return f"Dokumentart {names.get(recognition.doc_type, recognition.doc_type)}."


def file_recognised(
    session: Session,
    document: Document,
    recognition: Recognition,
    catalogue: Catalogue,
    *,
    hold_for_qa: bool,
) -> None:
    """File a scanned letter as recognition decided; with `hold_for_qa` it reaches the case
    file and the Postkorb only when the desk's quality check approves it."""
    household = None
    if recognition.bg_number:
        household = session.scalar(
            select(Household).where(Household.bg_number == recognition.bg_number)
        )
    rule = next((r for r in catalogue.types if r.code == recognition.doc_type), None)
    target = rule.target if rule is not None else "caseworker"
    document.letter_date = recognition.letter_date
    document.stamp_date = recognition.received_date
    document.receipt_date = recognition.received_date or local_date(document.received_at)
    references = recognition.court_references
    document.court_reference = references[0] if references else None
    document.recognition = recognition.as_json()
    document.held_for_qa = hold_for_qa and document.qa_status == "pending"
    # A letter read before is marked, and still routed: a letter is never lost. Earlier copies
    # are looked for in the household found and in those recognition proposed.
    numbers = {recognition.bg_number, *recognition.candidates} - {None}
    households = session.scalars(select(Household.id).where(Household.bg_number.in_(numbers)))
    mark_duplicate(session, document, list(households) if numbers else [])
    file_document(
        session,
        document,
        household=household,
        doc_type=recognition.doc_type,
        target=target,
        reason=reason_text(recognition, catalogue),
        actor=None,
        routed_by="auto",
    )
    if document.household is not None and not document.held_for_qa:
        link_by_recognition(session, document)


def file_behind_sheet(
    session: Session,
    document: Document,
    recognition: Recognition,
    catalogue: Catalogue,
    code_text: str,
    *,
    settings: Settings,
    hold_for_qa: bool = False,
) -> None:
    """File a document that came behind a return sheet or a cover sheet: the sheet names the
    household (recognition only says the type), without clearing; behind a return sheet into
    the requester's Postkorb, linked to the request. A sheet whose request is not open, whose
    household was handed over or does not exist sends the document to clearing, with why."""
    code = parse_code(settings.secret_key.get_secret_value(), code_text)
    if code is None:  # the pipeline accepted it; a changed key in between: recognition decides
        file_recognised(session, document, recognition, catalogue, hold_for_qa=hold_for_qa)
        return
    household = session.scalar(select(Household).where(Household.bg_number == code.bg_number))
    request = session.get(DocumentRequest, code.request_id) if code.request_id else None
    if code.kind == "request":
        sheet = f"Rücksendeblatt der Anforderung Nr. {code.request_id}"
    else:
        sheet = f"Deckblatt des Haushalts {code.bg_number}"
    problem = None
    if household is None:
        problem = f"{sheet}: den Haushalt {code.bg_number} gibt es nicht"
    elif household.handed_over_at is not None:
        problem = f"{sheet}: die Akte ist an {household.handed_over_to} abgegeben"
    elif not household.active:
        problem = f"{sheet}: der Haushalt {code.bg_number} ist nicht aktiv"
    elif code.kind == "request" and (request is None or request.household_id != household.id):
        problem = f"{sheet}: diese Anforderung gibt es nicht"
    elif code.kind == "request" and request is not None and request.state != "open":
        state = "vollständig" if request.state == "complete" else "zurückgenommen"
        problem = f"{sheet}: die Anforderung ist bereits {state}"
    rule = next((r for r in catalogue.types if r.code == recognition.doc_type), None)
    target = rule.target if rule is not None else "caseworker"
    document.letter_date = recognition.letter_date
    document.stamp_date = recognition.received_date
    document.receipt_date = recognition.received_date or local_date(document.received_at)
    document.recognition = recognition.as_json() | {"sheet": sheet}
    # Held for the desk's quality check like any scan; the links behind a return sheet are
    # made now all the same (the sheet is certain, the check is about the scan).
    document.held_for_qa = hold_for_qa and document.qa_status == "pending"
    if problem is not None:
        file_document(
            session,
            document,
            household=None,
            doc_type=recognition.doc_type,
            target=target,
            reason=f"Klärung: {problem}.",
            actor=None,
            routed_by="auto",
        )
        return
    assert household is not None
    if request is not None:
        document.recognition = document.recognition | {"sheet_request": request.id}
    mark_duplicate(session, document, [household.id])
    destination = (
        requester_destination(session, household, request.requested_by)
        if request is not None
        else None
    )
    file_document(
        session,
        document,
        household=household,
        doc_type=recognition.doc_type,
        target=target,
        reason=f"Haushalt {household.bg_number}: {sheet}. {_type_text(recognition, catalogue)}",
        actor=None,
        routed_by="auto",
        destination=destination,
    )
    if request is not None:
        link_behind_sheet(session, document, request)


def file_preset(
    session: Session, document: Document, batch: ScanBatch, catalogue: Catalogue
) -> None:
    """A file a caseworker put into a household's file: filed as they said, no inbox item."""
    household = session.get(Household, batch.preset_household_id)
    doc_type = batch.preset_doc_type or catalogue.fallback
    rule = next((r for r in catalogue.types if r.code == doc_type), None)
    document.direction = batch.preset_direction or "in"
    document.dispatch_date = batch.preset_dispatch_date
    document.receipt_date = batch.preset_dispatch_date or local_date(document.received_at)
    uploader = batch.uploaded_by
    if document.direction == "out":
        document.sender = "Jobcenter" + (f" ({uploader.name})" if uploader else "")
    mark_duplicate(session, document, [household.id] if household is not None else [])
    file_document(
        session,
        document,
        household=household,
        doc_type=doc_type,
        target=rule.target if rule else "caseworker",
        reason=f"Von {uploader.name if uploader else 'Unbekannt'} in die Akte gelegt.",
        actor=None,
        routed_by="upload",
        open_item=False,
    )


def learn_from_correction(
    session: Session, document: Document, household: Household, actor: User
) -> list[str]:
    """After a person at the desk filed a document by hand, remember how its people appear on
    paper, as supporting evidence for later letters (never enough on its own)."""
    from ingest.recognition import alias_keys

    master = master_data(session)
    keys = alias_keys([page.text for page in document.pages], master, household.bg_number)
    known = set(
        session.scalars(
            select(RecognitionAlias.key).where(RecognitionAlias.household_id == household.id)
        )
    )
    added = []
    for key in keys:
        if key in known or len(key) > 300:
            continue
        alias = RecognitionAlias(key=key, household_id=household.id, created_by_login=actor.login)
        session.add(alias)
        added.append(key)
    return added
