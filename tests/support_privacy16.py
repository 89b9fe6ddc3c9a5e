"""What the data protection officer's tests share (issue 16, dsb16): the officer's account,
a signed-in client of the product, and accesses of every kind to one household's file."""

from __future__ import annotations

import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.product import create_product_app
from core.dates import local_today
from core.db import transaction
from records.models import AuditEvent, Deputy, Document, Member, User
from records.runtime import Runtime
from tests.support import NEIGHBOUR, OWN, PASSWORD, _password_hash, file_indexed

CASEWORKER = "lsb.95401.2"  # Laura Carstensen, responsible for OWN
STRANGER = "lsb.95403.1"  # Sönke Wagner, Inseln: may not see OWN
DESK = "post.1"  # the scanning desk
DPO = "dsb"
HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def add_dpo(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        session.add(
            User(login=DPO, name="Dana Schutz", role="datenschutz", password_hash=_password_hash())
        )


def signed_in(runtime: Runtime, login: str, **headers: str) -> TestClient:
    client = TestClient(create_product_app(runtime), headers=headers)
    answer = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def own_member_id(runtime: Runtime) -> int:
    with transaction(runtime.sessions, read_only=True) as session:
        member = session.scalar(
            select(Member).where(Member.last_name == "Peters", Member.first_name == "Piotr")
        )
        assert member is not None and member.household.bg_number == OWN
        return member.id


def audit_ids(runtime: Runtime, **where: object) -> set[int]:
    with transaction(runtime.sessions, read_only=True) as session:
        query = select(AuditEvent.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return set(session.scalars(query))


def accesses(runtime: Runtime) -> dict[str, str]:
    """Accesses to OWN's file of every kind the report must list (and some to NEIGHBOUR's that
    it must not): reads by its caseworker, a stranger refused the file and a letter, a letter
    read at the desk while in clearing and filed into OWN afterwards, a letter held back for
    the quality check refused to its caseworker, and a colleague of another team standing in
    for the caseworker. Returns the documents' ids by name."""
    docs = {
        "brief": file_indexed(runtime, OWN, "sonstiges", "Brief", source_name="brief.pdf"),
        "klaerung": file_indexed(runtime, None, "sonstiges", "Klärung", source_name="k.pdf"),
        "nachbar": file_indexed(runtime, NEIGHBOUR, "sonstiges", "Nachbar", source_name="n.pdf"),
    }
    caseworker = signed_in(runtime, CASEWORKER, **{"User-Agent": HOSTILE})
    assert caseworker.get(f"/api/households/{OWN}/file").status_code == 200
    assert caseworker.get(f"/api/documents/{docs['brief']}").status_code == 200
    assert caseworker.get(f"/api/households/{NEIGHBOUR}/file").status_code == 200
    stranger = signed_in(runtime, STRANGER)
    assert stranger.get(f"/api/households/{OWN}/file").status_code == 403
    assert stranger.get(f"/api/documents/{docs['brief']}").status_code == 403
    desk = signed_in(runtime, DESK)
    assert desk.get(f"/api/documents/{docs['klaerung']}").status_code == 200
    # The clearing letter is filed into OWN; a letter of OWN is held back for the check.
    with transaction(runtime.sessions) as session:
        moved = session.get(Document, uuid.UUID(docs["klaerung"]))
        assert moved is not None and moved.household_id is None
        moved.household_id = session.scalar(
            select(Document.household_id).where(Document.id == uuid.UUID(docs["brief"]))
        )
    docs["gehalten"] = file_indexed(
        runtime, OWN, "sonstiges", "Gehalten", source_name="g.pdf", held_for_qa=True
    )
    assert caseworker.get(f"/api/documents/{docs['gehalten']}").status_code == 403
    # Sönke Wagner (Inseln) stands in for Laura Carstensen today.
    with transaction(runtime.sessions) as session:
        users = {u.login: u for u in session.scalars(select(User))}
        session.add(
            Deputy(
                absent=users[CASEWORKER],
                deputy=users[STRANGER],
                starts_on=local_today(),
                ends_on=local_today() + timedelta(days=1),
                created_by_login="admin",
            )
        )
    absent_for = signed_in(runtime, STRANGER)
    assert absent_for.get(f"/api/households/{OWN}/file").status_code == 200
    return docs


def pdf_text(pdf: Path) -> str:
    """The PDF's text as pdftotext reads it, on one line (runs of space made one space)."""
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return " ".join(text.split())
