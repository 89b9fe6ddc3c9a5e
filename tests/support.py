"""Helpers and constants shared by the tests; the pytest fixtures are in tests/conftest.py,
the browser's helpers in tests/support_browser.py. No test module imports another one."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import pikepdf
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from core.config import Settings
from core.dates import local_today
from core.db import make_engine, make_session_factory, transaction, utcnow
from ingest.recognition import HouseholdRecord, MemberRecord
from ingest.worker import run_worker
from records.masterdata import (
    HOUSEHOLD_COLUMNS,
    STAFF_COLUMNS,
    import_households,
    import_staff,
    read_csv,
)
from records.models import AuditEvent, Document, Household, Page, User
from records.routing import file_document, index_entry
from records.runtime import Runtime
from records.schema import migrate
from records.users import hash_password

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
TEST_SECRET = "test-secret-key-0123456789"
PASSWORD = "richtig-langes-passwort"

# Households of the sample master data (samples/households.csv) that many tests file into.
OWN = "95401BG1231743"  # Husum: caseworker lsb.95401.2 (Leistung Husum), case manager fm.2
NEIGHBOUR = "95401BG0269063"  # Husum: caseworker lsb.95401.1, same team
ISLANDS = "95403BG3023526"  # Leistung Inseln: no one in Husum may see it
KOCH = "95403BG6577899"  # Stefan Koch, Osterende 112, 25938 Wyk auf Föhr


def service_env(name: str) -> str:
    """A service's address as scripts/test.sh exports it; without it the test is skipped
    locally and fails under CI."""
    value = os.environ.get(name)
    if not value:
        message = f"{name} is not set: run the suite with scripts/test.sh to start the services"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return value


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "demo": False,
        "secret_key": TEST_SECRET,
        "data_dir": data_dir,
        "samples_dir": SAMPLES,
        "ocr_processes": 2,
        "job_poll_seconds": 0.2,
        # Most tests follow a letter from the scan to the Postkorb; the quality check that
        # holds it back by default has tests of its own (tests/test_need_to_know.py).
        "qa_required": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def migrated_sessions(url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    migrate(engine)
    return engine, make_session_factory(engine)


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


def wait_for(
    condition: Callable[[], object], seconds: float, what: str, every: float = 0.1
) -> None:
    """Polls `condition` (another process has reached a point) until it holds; fails after
    `seconds`, naming `what` it waited for."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def health_answers(base: str) -> bool:
    """Whether a product server at `base` answers /health with 200 yet."""
    try:
        return httpx.get(f"{base}/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def rendition(key: str) -> bool:
    """For Held(blobs, "open", when=rendition): a document's PDF or page image."""
    return key.startswith("renditions/")


@dataclass
class HeldCall:
    pending: Future[Any]
    held: Held

    def finish(self, seconds: float = 60) -> Any:
        """Releases the held step and returns what the call answers."""
        self.held.release.set()
        return self.pending.result(seconds)


@contextmanager
def while_held(
    owner: object, attribute: str, method: str, call: Callable[[], Any], when=lambda *args: True
) -> Iterator[HeldCall]:  # type: ignore[no-untyped-def]
    """Runs `call` in a thread with `method` of `owner.attribute` held (see Held) and enters
    once the call has reached it; leaving releases it and puts the attribute back."""
    real = getattr(owner, attribute)
    held = Held(real, method, when)
    setattr(owner, attribute, held)
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(call)
            try:
                assert held.started.wait(60), "the call never reached the held step"
                yield HeldCall(pending, held)
            finally:
                held.release.set()
    finally:
        setattr(owner, attribute, real)


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


def pages_client_for(runtime: Runtime, login: str) -> TestClient:
    """A client of the product (pages and API), signed in as `login`."""
    from app.product import create_product_app

    client = TestClient(create_product_app(runtime))
    answer = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def audit_rows(runtime: Runtime, action: str) -> list[AuditEvent]:
    """The audit log's rows of one action, oldest first (detached)."""
    with transaction(runtime.sessions, read_only=True) as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def account(runtime: Runtime, login: str) -> User:
    """A user as stored now (detached)."""
    with transaction(runtime.sessions, read_only=True) as session:
        user = session.scalar(select(User).where(User.login == login))
        assert user is not None, login
        session.expunge_all()
        return user


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


def cli_env(data_dir: Path, **variables: str) -> dict[str, str]:
    """This process's environment for a product command with its own data folder and the test
    secret, outside demo mode; `variables` add to it (EAKTE_DATABASE_URL=...)."""
    env = dict(os.environ, EAKTE_DATA_DIR=str(data_dir), EAKTE_SECRET_KEY=TEST_SECRET)
    env.pop("EAKTE_DEMO", None)
    env.update(variables)
    return env


def run_cli(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m app.cli ARGS` from the repository, `env` its whole environment."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
    )


# What a court's letter says about an appeal, as the legal intake reads it.
APPEAL_FACTS = ("court", "file_reference", "parties", "served_on")
SCHLESWIG_APPEAL = {
    "court": "Sozialgericht Schleswig",
    "file_reference": "S 12 AS 345/26",
    "parties": "Kläger ./. Jobcenter",
    "served_on": "2026-10-09",
}


def register_appeal(
    client: TestClient, court_letter: str, facts: dict[str, str], **extra: object
) -> dict[str, Any]:
    """Registers the appeal a court's letter starts, with the court's `facts` (APPEAL_FACTS) and
    the `extra` fields; the answer must be 201."""
    fields = {"document_id": court_letter, **{key: facts[key] for key in APPEAL_FACTS}, **extra}
    answer = client.post("/api/appeals", json=fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


def household_record(
    bg: str,
    street: str,
    postcode: str,
    town: str,
    *people: tuple[str, str, str] | MemberRecord,
    active: bool = True,
) -> HouseholdRecord:
    """A household of recognition's master data; a person is (last name, first name, ISO birth
    date), or a MemberRecord where the IBAN or e-mail address matters."""
    members = tuple(
        person
        if isinstance(person, MemberRecord)
        else MemberRecord(person[0], person[1], date.fromisoformat(person[2]))
        for person in people
    )
    return HouseholdRecord(bg, street, postcode, town, members, active)


def household_records(path: Path, *only: str) -> list[HouseholdRecord]:
    """Recognition's master data from a households CSV in the import format (a row a member;
    optional columns iban, email, and active "no" for an inactive household); `only` picks
    households by BG number."""
    members: dict[str, list[MemberRecord]] = defaultdict(list)
    rows: dict[str, dict[str, str]] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if only and row["bg_number"] not in only:
                continue
            born = date.fromisoformat(row["birth_date"]) if row["birth_date"] else None
            iban, email = row.get("iban") or None, row.get("email") or None
            members[row["bg_number"]].append(
                MemberRecord(row["last_name"], row["first_name"], born, iban=iban, email=email)
            )
            rows[row["bg_number"]] = row
    return [
        HouseholdRecord(
            bg, row["street"], row["postcode"], row["town"], tuple(members[bg]),
            row.get("active") != "no",
        )
        for bg, row in rows.items()
    ]  # fmt: skip


def sample(name: str) -> Path:
    return SAMPLES / name


def add_admin(runtime: Runtime, login: str = "admin") -> None:
    """An administrator with PASSWORD (the sample staff list has none)."""
    with transaction(runtime.sessions) as session:
        session.add(
            User(login=login, name="Administration", role="admin", password_hash=_password_hash())
        )


def add_records_manager(runtime: Runtime, login: str = "schriftgut") -> None:
    """A records manager (Schriftgutverwaltung, issue 17) with PASSWORD."""
    with transaction(runtime.sessions) as session:
        session.add(
            User(
                login=login,
                name="Schriftgutverwaltung",
                role="schriftgut",
                password_hash=_password_hash(),
            )
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


def file_indexed(
    runtime: Runtime,
    bg_number: str | None,
    doc_type: str,
    *pages: str,
    target: str = "caseworker",
    **fields: object,
) -> str:
    """A letter filed into the household with this BG number (clearing without one) and
    indexed, as `file_letter` leaves it; its id."""
    with transaction(runtime.sessions) as session:
        household = (
            session.scalar(select(Household).where(Household.bg_number == bg_number))
            if bg_number
            else None
        )
        document = file_letter(session, household, doc_type, *pages, target=target, **fields)
        session.flush()
        runtime.index.index(index_entry(document))
        return str(document.id)


# Master data for recognition tests, in households CSVs next to this module.
IDENTITY_HOUSEHOLDS = Path(__file__).resolve().parent / "households_identity.csv"
RECOGNITION_HOUSEHOLDS = Path(__file__).resolve().parent / "households_recognition.csv"
SEARCH_LETTERS = Path(__file__).resolve().parent / "search_letters.json"


def file_search_letters(runtime: Runtime, *names: str, **override: object) -> dict[str, str]:
    """Files and indexes the letters of tests/search_letters.json named (all without names),
    `override` replacing their fields (target="caseworker"); their ids by name."""
    households = {"OWN": OWN, "NEIGHBOUR": NEIGHBOUR, "ISLANDS": ISLANDS, None: None}
    letters = json.loads(SEARCH_LETTERS.read_text(encoding="utf-8"))
    filed = {}
    for name in names or letters:
        fields = {**letters[name], **override}
        household = households[fields.pop("household")]
        doc_type, pages = fields.pop("doc_type"), fields.pop("pages")
        fields["receipt_date"] = date.fromisoformat(fields["receipt_date"])
        filed[name] = file_indexed(runtime, household, doc_type, *pages, **fields)
    return filed


# A letter long enough for records.duplicates to compare its text.
RENT_LETTER = "Guten Tag, anbei die Kopie meines Mietvertrags für die neue Wohnung in Husum. " * 3


def letter_read_twice(runtime: Runtime, bg_number: str) -> tuple[str, str]:
    """The same letter filed twice into the household (miete-1.pdf, miete-2.pdf), each marked
    as filing marks it (records.duplicates): the ids of the earlier one and of the duplicate."""
    from records.duplicates import mark_duplicate

    earlier = file_indexed(runtime, bg_number, "sonstiges", RENT_LETTER, source_name="miete-1.pdf")
    later = file_indexed(runtime, bg_number, "sonstiges", RENT_LETTER, source_name="miete-2.pdf")
    with transaction(runtime.sessions) as session:
        for document_id in (earlier, later):
            mark_duplicate(session, session.get_one(Document, uuid.UUID(document_id)), [])
            session.flush()
    return earlier, later


def staff_csv_moving(login: str, team: str) -> bytes:
    """The sample staff list with one person moved to another team."""
    lines = sample("staff.csv").read_text(encoding="utf-8").splitlines()
    moved = [
        ",".join([*parts[:2], team, parts[3]]) if (parts := line.split(","))[0] == login else line
        for line in lines
    ]
    return ("\n".join(moved) + "\n").encode()


@contextmanager
def live_server(app: FastAPI, **config: object) -> Iterator[str]:
    """The app served by uvicorn on a free port in a thread of this process; its base URL.
    `config` goes to uvicorn.Config (only warnings are logged unless it says otherwise)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config.setdefault("log_level", "warning")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


SCAN_GRAY = 90  # dark, so that the white box behind an export's stamp shows


@dataclass(frozen=True)
class Sheet:
    """One page of a document built by `scan_pdf`."""

    text: str  # the invisible text layer
    size: tuple[float, float] = (595.0, 842.0)  # MediaBox width, height
    rotate: int = 0
    crop: tuple[float, float, float, float] | None = None
    origin: tuple[float, float] = (0.0, 0.0)  # MediaBox lower left


def scan_pdf(path: Path, sheets: list[Sheet], dpi: int = 40) -> Path:
    """A document PDF as renditions look: Pillow saves the scans as a PDF, pikepdf adds the
    text layers; pages may be turned (/Rotate), cropped or of another size."""
    images = [
        Image.new("L", (round(s.size[0] / 72 * dpi), round(s.size[1] / 72 * dpi)), SCAN_GRAY)
        for s in sheets
    ]
    images[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        font = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.Type1,
                BaseFont=pikepdf.Name.Helvetica,
                Encoding=pikepdf.Name.WinAnsiEncoding,
            )
        )
        for page, sheet in zip(pdf.pages, sheets, strict=True):
            x0, y0 = sheet.origin
            width, height = sheet.size
            page.obj.MediaBox = pikepdf.Array([x0, y0, x0 + width, y0 + height])
            # Pillow draws the image at the origin; move it into the MediaBox.
            page.contents_add(pdf.make_stream(f"1 0 0 1 {x0} {y0} cm\n".encode()), prepend=True)
            page.obj.Resources.Font = pikepdf.Dictionary(F1=font)
            text = b"(" + sheet.text.encode("cp1252") + b")"
            layer = b"BT 3 Tr /F1 12 Tf 40 %d Td %s Tj ET\n" % (int(height / 2), text)
            page.contents_add(pdf.make_stream(layer))
            if sheet.rotate:
                page.obj.Rotate = sheet.rotate
            if sheet.crop:
                page.obj.CropBox = pikepdf.Array(list(sheet.crop))
        pdf.save(path)
    return path


def page_texts(pdf: Path, *extra: str) -> list[str]:
    """The text of each page as poppler's pdftotext reads it."""
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *extra, str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\f")[:-1]  # every page ends with a form feed


def client_mail(
    sender: str,
    subject: str | None,
    date: str,
    body: str = "",
    *,
    to: str | None = "jobcenter@example.org",
    message_id: str | None = None,
    **content: Any,
) -> EmailMessage:
    """An e-mail as a client sends it to the job centre: From, To, Subject, Date and Message-ID
    (those given), and `body` with `content`'s options (subtype="html") if there is one."""
    message = EmailMessage()
    message["From"] = sender
    if to:
        message["To"] = to
    if subject is not None:
        message["Subject"] = subject
    message["Date"] = date
    if message_id:
        message["Message-ID"] = message_id
    if body:
        message.set_content(body, **content)
    return message


def objection_mail(message_id: str | None = "<widerspruch-1@example.org>") -> bytes:
    """Stefan Koch's objection by e-mail, as a message file."""
    message = client_mail(
        "Stefan Koch <s.koch@example.org>",
        f"Widerspruch gegen den Bescheid vom 10.11.2026, BG-Nr. {KOCH}",
        "Tue, 01 Dec 2026 09:30:00 +0100",
        message_id=message_id,
    )
    message.set_content(
        "Sehr geehrte Damen und Herren,\n\n"
        "hiermit lege ich Widerspruch gegen Ihren Bescheid vom 10.11.2026 ein.\n"
        "Die Kosten der Unterkunft wurden nicht vollständig berücksichtigt.\n\n"
        f"Bedarfsgemeinschaft: {KOCH}\n"
        "Stefan Koch, geboren am 02.07.1970\nOsterende 112, 25938 Wyk auf Föhr\n\n"
        "Mit freundlichen Grüßen\nStefan Koch\n"
    )
    return bytes(message)


DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def digital_pdf(pages: list[list[str]]) -> bytes:
    """A born-digital PDF: each page's lines drawn as text with an embedded font (the pipeline
    reads its text from the PDF, no OCR)."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    pdf.add_font("DejaVu", "", DEJAVU)
    for lines in pages:
        pdf.add_page()
        pdf.set_font("DejaVu", "", 11)
        for number, line in enumerate(lines):
            pdf.text(60, 90 + 22 * number, line)
    return bytes(pdf.output())
