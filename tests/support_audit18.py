"""Shared helpers for the auditors' access tests (issue 18, audit18): the sample people, an
administrator, an auditor, and letters with a stored PDF and page image in three households."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import select

from core.db import transaction
from records.models import Household, User
from records.routing import index_entry
from records.runtime import Runtime
from tests.support import (
    ISLANDS,
    NEIGHBOUR,
    OWN,
    _password_hash,
    add_admin,
    digital_pdf,
    file_letter,
    load_people,
)

AUDITOR = "pruefer.land"
AUDITOR_NAME = "Petra Prüfer"
CASEWORKER = "lsb.95401.2"  # the caseworker of OWN


@dataclass
class Letters:
    """Document ids by household: two in OWN (one to withhold), one each elsewhere."""

    own: str
    own_secret: str
    neighbour: str
    islands: str


def add_auditor(runtime: Runtime, login: str = AUDITOR, name: str = AUDITOR_NAME) -> None:
    with transaction(runtime.sessions) as session:
        session.add(User(login=login, name=name, role="pruefung", password_hash=_password_hash()))


def _letter(runtime: Runtime, bg_number: str, doc_type: str, text: str) -> str:
    """A letter with a two-page PDF rendition and a page image in the blob store, indexed."""
    pdf = digital_pdf([[text, "Seite eins"], [text, "Seite zwei"]])
    key = f"renditions/{uuid.uuid4()}.pdf"
    runtime.blobs.put(key, io.BytesIO(pdf))
    image = io.BytesIO()
    Image.new("L", (20, 28), 255).save(image, format="JPEG")
    image_key = f"renditions/{uuid.uuid4()}.jpg"
    runtime.blobs.put(image_key, io.BytesIO(image.getvalue()))
    with transaction(runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == bg_number))
        document = file_letter(session, household, doc_type, text, text, pdf_key=key)
        document.pages[0].image_key = image_key
        session.flush()
        runtime.index.index(index_entry(document))
        return str(document.id)


def prepare(runtime: Runtime, *, people: bool = True) -> Letters:
    """The letters, an administrator and the auditor; the sample people too unless loaded."""
    if people:
        load_people(runtime)
    add_admin(runtime)
    add_auditor(runtime)
    return Letters(
        own=_letter(runtime, OWN, "bescheid", "Bewilligungsbescheid Prüfwort"),
        own_secret=_letter(runtime, OWN, "sonstiges", "Ärztliches Gutachten Prüfwort"),
        neighbour=_letter(runtime, NEIGHBOUR, "bescheid", "Nachbarbescheid Prüfwort"),
        islands=_letter(runtime, ISLANDS, "bescheid", "Inselbescheid Prüfwort"),
    )


class Clock:
    """The product's day as the access rules and the inspection service see it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, day: date) -> None:
        self.day = day
        monkeypatch.setattr("records.access.local_today", lambda: self.day)
        monkeypatch.setattr("records.inspection.local_today", lambda: self.day)

    def set(self, day: date) -> None:
        self.day = day
