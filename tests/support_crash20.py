"""Helpers of the crash tests (tests/test_crash20.py, issue 20): a fresh stack on the real
services, the input, processes killed at a fault point (core.faults), and the end state as
plain data that a crashed run and a clean run can be compared by."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pikepdf
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from core.config import Settings
from core.db import transaction, utcnow
from records.models import (
    Document,
    Household,
    InboxItem,
    IndexOutbox,
    Job,
    Page,
    ScanBatch,
    Team,
    User,
)
from records.runtime import Runtime
from search.base import CLEARING_ACCESS, SearchQuery
from storage.base import sha256_of_file
from tests.support import (
    PASSWORD,
    REPO,
    SAMPLES,
    health_answers,
    make_settings,
    service_env,
    settings_env,
    wait_for,
)

LEASE_SECONDS = 3  # a killed worker's job is taken up again this soon


def crash_input(folder: Path) -> list[Path]:
    """The letters every case hands in, in this order: a batch of two sample letters with a
    separator sheet between them (pages 1, 2 and 5 of batches/batch-1.pdf: a pay slip, the
    sheet, an objection), then a single letter (docs/0009.pdf, a rent certificate)."""
    folder.mkdir(parents=True, exist_ok=True)
    batch = folder / "stapel.pdf"
    with pikepdf.open(SAMPLES / "batches" / "batch-1.pdf") as source, pikepdf.new() as out:
        for number in (1, 2, 5):
            out.pages.append(source.pages[number - 1])
        out.save(batch)
    single = folder / "mietbescheinigung.pdf"
    single.write_bytes((SAMPLES / "docs" / "0009.pdf").read_bytes())
    return [batch, single]


@contextmanager
def fresh_stack(data_dir: Path, **overrides: object) -> Iterator[Settings]:
    """Settings for the product on a new PostgreSQL database, a new MinIO bucket and a new
    OpenSearch index of the services scripts/test.sh started; the database and the index are
    removed afterwards (the bucket stays, as with the suite's own fixtures)."""
    base = service_env("EAKTE_TEST_DATABASE_URL")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    index = f"t-{uuid.uuid4().hex[:16]}"
    opensearch_url = service_env("EAKTE_TEST_OPENSEARCH_URL")
    settings = make_settings(
        data_dir,
        database_url=make_url(base).set(database=name).render_as_string(hide_password=False),
        blob_store="s3",
        s3_endpoint=service_env("EAKTE_TEST_S3_ENDPOINT"),
        s3_access_key=service_env("EAKTE_TEST_S3_ACCESS_KEY"),
        s3_secret_key=service_env("EAKTE_TEST_S3_SECRET_KEY"),
        s3_bucket=f"t-{uuid.uuid4().hex[:16]}",
        search_index="opensearch",
        opensearch_url=opensearch_url,
        opensearch_index=index,
        job_lease_seconds=LEASE_SECONDS,
        **overrides,
    )
    try:
        yield settings
    finally:
        from opensearchpy import OpenSearch

        client = OpenSearch(hosts=[opensearch_url])
        client.indices.delete(index=index, ignore_unavailable=True)
        client.close()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def product_env(settings: Settings, fault: str | None = None) -> dict[str, str]:
    """The environment of a product process on `settings`, killed at `fault` if given."""
    env = dict(os.environ, **settings_env(settings))
    for name in ("EAKTE_DEMO", "EAKTE_FAULT_POINT", "EAKTE_FAULT_AFTER"):
        env.pop(name, None)
    if fault is not None:
        env["EAKTE_FAULT_POINT"] = fault
    return env


def killed_worker(settings: Settings, fault: str, timeout: float = 300) -> None:
    """`eakte worker` with the fault point set, until it has killed itself there."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env=product_env(settings, fault),
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        code = process.wait(timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    assert code == -signal.SIGKILL, f"the worker ended with {code}, not by SIGKILL at {fault}"


def upload_to_killed_web(settings: Settings, fault: str, upload: Path, login: str) -> Exception:
    """The web application (uvicorn, one process) with the fault point set; `login` uploads
    `upload` at the desk's endpoint. Returns the error the client saw (the upload must fail)."""
    files = {"file": (upload.name, upload.read_bytes())}
    return request_to_killed_web(settings, fault, login, "POST", "/api/documents", files=files)


def request_to_killed_web(
    settings: Settings, fault: str, login: str, method: str, path: str, **request: Any
) -> Exception:
    """The web application (uvicorn, one process) with the fault point set; `login` signs in
    and sends the request, which kills the process at the point. Returns the error the client
    saw (the request must fail)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "app.product:create_product_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(
        command, env=product_env(settings, fault), cwd=REPO, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    failure: Exception | None = None
    try:
        wait_for(lambda: health_answers(base), 120, "the web process to answer")
        with httpx.Client(base_url=base, timeout=120, headers={"Origin": base}) as client:
            signed_in = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
            assert signed_in.status_code == 200, signed_in.text
            try:
                answer = client.request(method, path, **request)
            except httpx.TransportError as exc:
                failure = exc
            else:
                raise AssertionError(f"the request did not fail: {answer.status_code}")
        assert process.wait(30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    assert failure is not None
    return failure


def lease_ran_out(runtime: Runtime) -> bool:
    """Whether no job is held by a living lease (a killed worker's has run out)."""
    with transaction(runtime.sessions, read_only=True) as session:
        leases = session.scalars(select(Job.lease_expires_at).where(Job.state == "running"))
        return all(until is None or until < utcnow() for until in leases)


_ATTEMPT = re.compile(r"^renditions/([0-9a-f-]{36})/a(\d+)/")


def blob_keys(runtime: Runtime) -> dict[str, str | None]:
    """Every blob key the database names, with the SHA-256 it records (None where it keeps
    none with the key)."""
    named: dict[str, str | None] = {}
    with transaction(runtime.sessions, read_only=True) as session:
        for batch in session.scalars(select(ScanBatch)):
            named[batch.original_key] = batch.original_sha256
        for document in session.scalars(select(Document)):
            named[document.original_key] = document.original_sha256
            if document.pdf_key:
                named[document.pdf_key] = document.pdf_sha256
            if document.scan_record_key:
                named[document.scan_record_key] = document.scan_record_sha256
        for page in session.scalars(select(Page)):
            for key, sha in (
                (page.image_key, page.image_sha256),
                (page.thumb_key, page.thumb_sha256),
                (page.words_key, page.words_sha256),
            ):
                if key:
                    named[key] = sha
    return named


def stored_sha256(runtime: Runtime, key: str) -> str:
    digest = hashlib.sha256()
    for chunk in runtime.blobs.open(key):
        digest.update(chunk)
    return digest.hexdigest()


def blob_check(runtime: Runtime) -> dict[str, Any]:
    """Whether every blob the database names is there with its hash, and what is in the bucket
    that nothing names: `orphans` split into renditions of an attempt other than the one the
    document was committed from (the pipeline leaves them by design) and `other`."""
    named = blob_keys(runtime)
    broken = sorted(
        key for key, sha in named.items() if sha is not None and stored_sha256(runtime, key) != sha
    )
    with transaction(runtime.sessions, read_only=True) as session:
        committed = {
            str(document.id): document.pdf_key.split("/")[2]
            for document in session.scalars(select(Document))
            if document.pdf_key
        }
    stale, other = [], []
    for key in sorted(set(runtime.blobs.keys()) - named.keys()):
        match = _ATTEMPT.match(key)
        if match and match.group(1) in committed and f"a{match.group(2)}" != committed[match[1]]:
            stale.append(key)
        else:
            other.append(key)
    return {"named": len(named), "broken": broken, "stale_attempts": stale, "other": other}


def end_state(runtime: Runtime, originals: dict[str, str]) -> dict[str, Any]:
    """The end state as plain data, free of ids and times: per document (by the name of the
    original it came from and its page range) its pages' texts, type, household and Postkorb
    items; the batches and jobs by state. `originals` maps SHA-256 to a file's name."""
    documents: list[tuple[Any, ...]] = []
    with transaction(runtime.sessions, read_only=True) as session:
        bg = {h.id: h.bg_number for h in session.scalars(select(Household))}
        logins = {u.id: u.login for u in session.scalars(select(User))}
        teams = {t.id: t.name for t in session.scalars(select(Team))}
        for document in session.scalars(select(Document)):
            pages = session.scalars(
                select(Page).where(Page.document_id == document.id).order_by(Page.number)
            ).all()
            items = session.scalars(
                select(InboxItem).where(InboxItem.document_id == document.id)
            ).all()
            documents.append(
                (
                    originals.get(document.original_sha256, document.original_sha256),
                    document.first_page,
                    document.last_page,
                    document.status,
                    document.doc_type,
                    bg.get(document.household_id) if document.household_id else None,
                    document.duplicate_of_id is not None,
                    tuple(hashlib.sha256(p.text.encode()).hexdigest()[:16] for p in pages),
                    tuple(
                        sorted(
                            (
                                item.kind,
                                logins.get(item.user_id) if item.user_id else None,
                                teams.get(item.team_id) if item.team_id else None,
                                item.state,
                            )
                            for item in items
                        )
                    ),
                )
            )
        batches = Counter(
            (originals.get(b.original_sha256, b.original_sha256), b.status, b.documents_count)
            for b in session.scalars(select(ScanBatch))
        )
        jobs = Counter(job.state for job in session.scalars(select(Job)))
        names = {b.id: originals.get(b.original_sha256) for b in session.scalars(select(ScanBatch))}
        attempts = sorted(
            (names.get(job.batch_id) if job.batch_id else None, job.attempts)
            for job in session.scalars(select(Job))
        )
    return {
        "documents": sorted(documents, key=repr),
        "batches": sorted(batches.items()),
        "jobs": sorted(jobs.items()),
        "attempts": attempts,  # per job, by the name of its original
    }


def index_state(runtime: Runtime) -> dict[str, Any]:
    """Index against database: the entries, the searchable documents, the outbox rows left,
    and the documents a word of their own text does not find."""
    with transaction(runtime.sessions, read_only=True) as session:
        documents = session.scalars(select(Document).where(Document.status == "processed")).all()
        bg = {h.id: h.bg_number for h in session.scalars(select(Household))}
        words = {}
        for document in documents:
            texts = session.scalars(select(Page.text).where(Page.document_id == document.id))
            word = max(re.findall(r"[A-Za-zÄÖÜäöüß]{6,}", " ".join(texts)), key=len)
            access = bg[document.household_id] if document.household_id else CLEARING_ACCESS
            words[str(document.id)] = (word, access)
        outbox = len(session.scalars(select(IndexOutbox.id)).all())
    missed = []
    for document_id, (word, access) in sorted(words.items()):
        result = runtime.index.search(SearchQuery(text=word, allowed=frozenset({access})))
        if document_id not in {hit.document_id for hit in result.hits}:
            missed.append(document_id)
    return {
        "entries": runtime.index.count(),
        "searchable": len(documents),
        "outbox": outbox,
        "missed": missed,
    }


def approvals(runtime: Runtime) -> dict[str, Any]:
    """The desk's bulk approval of every document still waiting for its check, each with its
    page count as counted on paper."""
    with transaction(runtime.sessions, read_only=True) as session:
        waiting = session.scalars(
            select(Document).where(Document.qa_status == "pending").order_by(Document.id)
        ).all()
        return {"documents": [{"id": str(d.id), "counted_pages": d.page_count} for d in waiting]}


def qa_state(runtime: Runtime, originals: dict[str, str]) -> list[tuple[Any, ...]]:
    """Per document (by original and page range): the desk's decision and whether it is still
    held back from the Postkorb."""
    with transaction(runtime.sessions, read_only=True) as session:
        return sorted(
            (
                originals.get(d.original_sha256, d.original_sha256),
                d.first_page,
                d.qa_status,
                d.held_for_qa,
            )
            for d in session.scalars(select(Document))
        )


def names_by_sha256(paths: list[Path]) -> dict[str, str]:
    return {sha256_of_file(path): path.name for path in paths}
