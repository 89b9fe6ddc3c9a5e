"""Helpers of the hand-over tests (tests/test_handover18*.py): a household's file with scanned
documents as the pipeline stores them (PDF/A rendition and scan record), the hand-over started
as its caseworker, and the receiving authority's answers (0402/0403) as it writes them."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select

from app.runtime import Runtime
from core.db import transaction
from records.access import Gate
from records.handover import Started, start_handover
from records.models import Household, User
from records.xdomea import Parties, new_message, schema_path, sub, write_message_zip
from tests.support import OWN, REPO, file_letter, load_people
from tests.support_xdomea17 import store_rendition

CASEWORKER = "lsb.95401.2"  # OWN's caseworker
RECIPIENT = "Jobcenter Kreis Musterstadt"
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
# The schemas the issue names (../shared/standards); the product ships the same ones.
SHARED = REPO.parent / "shared" / "standards"
STANDARDS = SHARED if (SHARED / "xdomea").is_dir() else REPO / "records" / "standards"
LETTERS = [
    ("weiterbewilligungsantrag", "Weiterbewilligungsantrag 2026", date(2026, 1, 12)),
    ("kontoauszug", "Kontoauszug Januar", date(2026, 2, 3)),
    ("mietvertrag", "Mietvertrag neue Wohnung", date(2026, 2, 20)),
]


def prepare(runtime: Runtime, work: Path, *, people: bool = True) -> list[str]:
    """OWN's file with three processed letters (one page each, PDF/A), in file order; their
    ids."""
    if people:
        load_people(runtime)
    work.mkdir(parents=True, exist_ok=True)
    ids: list[str] = []
    with transaction(runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        assert household is not None
        for doc_type, text, received in LETTERS:
            document = file_letter(
                session,
                household,
                doc_type,
                text,
                receipt_date=received,
                letter_date=received.replace(day=1),
                sender="Familie Test",
            )
            session.flush()
            store_rendition(runtime, document, work, text)
            ids.append(str(document.id))
    return ids


def gate_for(session: Any, login: str) -> Gate:
    user = session.scalar(select(User).where(User.login == login))
    assert user is not None
    return Gate(session, user)


def hand_over(
    runtime: Runtime,
    out: Path,
    left_out: dict[str, str] | None = None,
    *,
    login: str = CASEWORKER,
    recipient: str = RECIPIENT,
) -> Started:
    with transaction(runtime.sessions) as session:
        return start_handover(
            gate_for(session, login),
            runtime.blobs,
            runtime.settings,
            OWN,
            recipient,
            left_out or {},
            out,
            NOW,
        )


def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schema_path(STANDARDS))))


def message_of(zip_path: Path) -> tuple[Any, zipfile.ZipFile]:
    archive = zipfile.ZipFile(zip_path)
    xml_name = zip_path.name.removesuffix(".zip") + ".xml"
    return etree.parse(io.BytesIO(archive.read(xml_name))), archive


def answer(
    msg_type: str,
    process_id: uuid.UUID,
    out: Path,
    outcomes: list[tuple[str, bool, str]] | None = None,
) -> Path:
    """The receiving side's 0403 (head only) or 0402 ((Akte id, success, error text) each),
    valid against the schema."""
    parties = Parties(sender=RECIPIENT, recipient="Jobcenter")
    root, _head = new_message(msg_type, process_id, datetime(2026, 3, 3, 9, tzinfo=UTC), parties)
    for ident, ok, error in outcomes or []:
        answered = sub(root, "AbgegebenesObjekt")
        sub(answered, "IDSGO", ident)
        sub(answered, "Erfolgreich", "true" if ok else "false")
        if error:
            sub(answered, "Fehlermeldung", error)
    return write_message_zip(out, msg_type, process_id, root, STANDARDS)


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()
