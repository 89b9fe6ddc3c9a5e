"""Helpers shared by the tests that drive the product as its users do."""

from __future__ import annotations

import threading
import uuid
from functools import lru_cache
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from ingest.worker import run_worker
from records.config import Settings
from records.dates import local_today
from records.db import transaction, utcnow
from records.masterdata import (
    HOUSEHOLD_COLUMNS,
    STAFF_COLUMNS,
    import_households,
    import_staff,
    read_csv,
)
from records.models import Document, Household, Page, User
from records.routing import file_document
from records.runtime import Runtime
from records.users import hash_password
from tests.conftest import SAMPLES

PASSWORD = "richtig-langes-passwort"


class Held:
    """Stands in for `target` and holds its calls of `method` until released: a slow step
    (a search over a huge file, a long export) injected to see what others can do meanwhile.
    `when` picks the calls to hold by their arguments."""

    def __init__(self, target: object, method: str, when=lambda *args: True) -> None:  # type: ignore[no-untyped-def]
        self._target, self._method, self._when = target, method, when
        self.started, self.release = threading.Event(), threading.Event()

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        found = getattr(self._target, name)
        if name != self._method:
            return found

        def held(*args, **kwargs):  # type: ignore[no-untyped-def]
            if self._when(*args):
                self.started.set()
                assert self.release.wait(60), "never released"
            return found(*args, **kwargs)

        return held


def load_people(runtime: Runtime) -> None:
    """The sample staff and households, each user with PASSWORD."""
    with transaction(runtime.sessions) as session:
        report = import_staff(session, read_csv(SAMPLES / "staff.csv", STAFF_COLUMNS))
        import_households(session, read_csv(SAMPLES / "households.csv", HOUSEHOLD_COLUMNS))
        password_hash = _password_hash()
        for user in session.scalars(select(User).where(User.login.in_(report.created))):
            user.password_hash = password_hash


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # Hashing is slow on purpose; one hash serves every test user.
    return hash_password(PASSWORD)


def client_for(runtime: Runtime, login: str | None = None) -> TestClient:
    client = TestClient(create_app(runtime))
    if login:
        response = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
        assert response.status_code == 200, response.text
    return client


def work_until_idle(runtime: Runtime) -> int:
    return run_worker(runtime, threading.Event(), until_idle=True)


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as the environment of a separate product process."""
    env = {
        "EAKTE_DATA_DIR": str(settings.data_dir),
        "EAKTE_SECRET_KEY": settings.secret_key.get_secret_value(),
        "EAKTE_DATABASE_URL": settings.resolved_database_url,
        "EAKTE_BLOB_STORE": settings.blob_store,
        "EAKTE_SEARCH_INDEX": settings.search_index,
        "EAKTE_OCR_PROCESSES": str(settings.ocr_processes),
        "EAKTE_JOB_LEASE_SECONDS": str(settings.job_lease_seconds),
        "EAKTE_JOB_POLL_SECONDS": str(settings.job_poll_seconds),
        "EAKTE_QA_REQUIRED": str(settings.qa_required).lower(),
    }
    if settings.blob_store == "s3":
        env["EAKTE_S3_ENDPOINT"] = settings.s3_endpoint
        env["EAKTE_S3_BUCKET"] = settings.s3_bucket
        env["EAKTE_S3_ACCESS_KEY"] = settings.s3_access_key.get_secret_value()  # type: ignore[union-attr]
        env["EAKTE_S3_SECRET_KEY"] = settings.s3_secret_key.get_secret_value()  # type: ignore[union-attr]
    if settings.search_index == "opensearch":
        env["EAKTE_OPENSEARCH_URL"] = settings.opensearch_url
        env["EAKTE_OPENSEARCH_INDEX"] = settings.opensearch_index
    return env


def sample(name: str) -> Path:
    return SAMPLES / name


def add_admin(runtime: Runtime, login: str = "admin") -> None:
    """An administrator with PASSWORD (the sample staff list has none)."""
    with transaction(runtime.sessions) as session:
        session.add(
            User(login=login, name="Administration", role="admin", password_hash=_password_hash())
        )


def file_letter(
    session: Session,
    household: Household | None,
    doc_type: str,
    *pages: str,
    target: str = "caseworker",
    reason: str = "Test",
    source_name: str | None = None,
    **fields: object,
) -> Document:
    """A letter as OCR and routing leave it (its original a placeholder), filed into the
    household's inbox, or into clearing without one. The caller indexes it after the flush."""
    columns: dict[str, object] = {
        "source_name": source_name or f"{doc_type}.pdf",
        "content_type": "application/pdf",
        "size_bytes": 1000,
        "original_key": "originals/x",
        "original_sha256": "0" * 64,
        "page_count": len(pages),
        "status": "processed",
        "received_at": utcnow(),
        "receipt_date": local_today(),
    }
    document = Document(id=uuid.uuid4(), **(columns | fields))
    for number, text in enumerate(pages, start=1):
        document.pages.append(Page(number=number, text=text))
    session.add(document)
    file_document(
        session,
        document,
        household=household,
        doc_type=doc_type,
        target=target if household is not None else "clearing",
        reason=reason,
        actor=None,
        routed_by="auto",
    )
    return document
