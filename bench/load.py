"""Load benchmark: a day's scanned mail through the product while 20 caseworkers work.

    .venv/bin/python bench/load.py --pages 60                    # a few minutes, embedded
    .venv/bin/python bench/load.py --stack both --json load.json  # the day's mail, both stacks
    .venv/bin/python bench/load.py --stack services --workers 2 --pages 2000

The day's mail is generated once per run by tests/lettergen.py (invented master data of one job
centre, letters of all document types, 10-15 % of them for clearing): letters until their pages
reach `--pages`, put into scanned batches of about `--batch-pages` sheets with the desk's
separator sheet (QR code "PATCHT") between two letters (most letters have one page, so
about as many separator sheets as letter pages are scanned besides). The product starts from
its command line (`python -m app.cli serve`, `EAKTE_WORKERS` = `--workers`) on a fresh data
folder with that master data, every user with one password, on the chosen stack:

  embedded  SQLite, local blob store, embedded index (the default without services);
  services  PostgreSQL (a new database of its own, migrated by the owner role, used by the
            runtime role), MinIO (a new bucket) and OpenSearch (a new index), from the
            EAKTE_TEST_* variables that `services/*.sh env` prints;
  both      first embedded, then services, on the same letters; printed side by side.

The desk's user (scan.1) hands every batch in through the upload API (`POST /api/documents`,
as the desk's page does), one after the other as fast as the product takes them, and checks
each finished batch (`POST /api/qa-approvals` with the product's page count) unless
`--no-desk-check` runs the product with `EAKTE_QA_REQUIRED=false`. Meanwhile `--caseworkers`
simulated caseworkers (the generated staff of Leistung, Fallmanagement and
Widerspruchsstelle, logged in through `POST /api/auth/login`; more caseworkers than staff
share accounts like two browser tabs) each repeat, with `--pause` seconds between requests:
their Postkorb, the E-Akte of a household of their caseload, a search (a name of their caseload
or a word of the letters), and a letter of their Postkorb or E-Akte in the viewer (the view's
JSON and its first page image). Every request is timed and labelled by its route template. The
caseworkers stop `--tail` seconds after the last letter reached its Postkorb (bounded by
`--timeout` minutes in all).

Reported, per stack and as ratio to the goal (the day's mail, 2,000 pages, in 60 minutes on
this 2-core machine: 33.3 pages per minute; caseworker p95 under 300 ms throughout):

- pages per minute (letter pages; separator sheets counted apart) from the first upload until
  the last batch was processed, and the time until the last letter was in its Postkorb (the
  database is polled every second for documents with an inbox item they are visible in);
- p50 / p95 / p99 / max and errors per endpoint, for the caseworkers and the desk; the worst
  p95 of all caseworker requests in any minute of the run;
- where the time goes: per batch the wait in the queue and the processing seconds per page
  (`batches.received_at`, `started_at`, `finished_at`, the product's own records); the CPU
  seconds of the web processes, the worker processes (with their tesseract and
  poppler children), `serve` itself, this benchmark, the services (PostgreSQL, MinIO,
  OpenSearch, when their pid files are in EAKTE_SERVICES_DIR) and the rest of the machine
  (/proc); the load average before and during the run.

The product records no time per pipeline step (OCR seconds per page) in its database; the
batch records give processing seconds per page, which on this machine are almost all tesseract
(bench/ocr_pipeline.py --profile). The product is started with a scrape token; its /metrics
samples about pages, OCR seconds, routing and the queue go into the JSON (`metrics_excerpt`).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness

GOAL_MINUTES_FOR_DAY = 60.0
GOAL_DAY_PAGES = 2000
GOAL_PAGES_PER_MINUTE = GOAL_DAY_PAGES / GOAL_MINUTES_FOR_DAY
GOAL_P95_MS = 300.0
DESK_LOGIN = "scan.1"
CASEWORKER_ROLES = ("leistung", "fallmanagement", "widerspruch")
SEARCH_WORDS = ("Miete", "Kontoauszug", "Widerspruch", "Nebenkosten", "Lohn", "Antrag")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Route templates, as the product's router names them.
INBOX = "GET /api/inbox"
FILE = "GET /api/households/{bg_number}/file"
SEARCH = "GET /api/search"
VIEW = "GET /api/documents/{document_id}/view"
IMAGE = "GET /api/documents/{document_id}/pages/{number}/{rendition}"
LOGIN = "POST /api/auth/login"
CASEWORKER_ENDPOINTS = (INBOX, FILE, SEARCH, VIEW, IMAGE)
UPLOAD = "POST /api/documents"
BATCH = "GET /api/batches/{batch_id}"
APPROVE = "POST /api/qa-approvals"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="letter pages (2000)")
    parser.add_argument("--seed", type=int, default=20, help="letter generator's seed (20)")
    parser.add_argument("--households", type=int, default=300, help="households (300)")
    parser.add_argument(
        "--batch-pages", type=int, default=50, help="sheets per batch, separators too (~50)"
    )
    parser.add_argument("--stack", choices=("embedded", "services", "both"), default="embedded")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="EAKTE_WORKERS (cores)"
    )
    parser.add_argument(
        "--web-processes", type=int, default=None, help="EAKTE_WEB_PROCESSES (product default)"
    )
    parser.add_argument("--caseworkers", type=int, default=20, help="simulated caseworkers (20)")
    parser.add_argument(
        "--pause", type=float, default=2.0, help="seconds between a caseworker's requests (2)"
    )
    parser.add_argument("--tail", type=float, default=15.0, help="seconds after the last letter")
    parser.add_argument("--timeout", type=float, default=120.0, help="minutes at most per stack")
    parser.add_argument(
        "--no-desk-check", action="store_true", help="EAKTE_QA_REQUIRED=false, no desk check"
    )
    parser.add_argument("--mail", type=Path, default=None, help="reuse a generated mail folder")
    parser.add_argument("--work-dir", type=Path, default=None, help="where temp folders go")
    parser.add_argument("--keep", action="store_true", help="keep data folders and the mail")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.pages < 1 or args.batch_pages < 1 or args.caseworkers < 1 or args.workers < 0:
        parser.error("--pages, --batch-pages and --caseworkers must be at least 1")
    return args


# --- the day's mail ------------------------------------------------------------------------


@dataclass
class Mail:
    folder: Path
    letters: list[dict[str, Any]]  # truth rows of tests/lettergen.py
    batches: list[Path]
    letter_pages: int
    separator_pages: int
    staff: list[dict[str, str]]
    households: list[dict[str, str]]


def generate_mail(folder: Path, pages: int, seed: int, households: int) -> None:
    """Letters from tests/lettergen.py until their pages reach `pages`, with master data."""
    from tests import lettergen

    docs = folder / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    master = lettergen.build_master(seed, households)
    lettergen.write_master(master, folder)
    total = 0
    with (folder / "truth.jsonl").open("w", encoding="utf-8") as out:
        index = 0
        while total < pages:
            truth = lettergen.make_letter(master, seed, index, docs)
            out.write(json.dumps(truth, ensure_ascii=False) + "\n")
            total += int(truth["pages"])  # type: ignore[call-overload]
            index += 1


def separator_pdf(dpi: int = 200) -> bytes:
    """The desk's separator sheet as a one-page PDF (tests/support_replies19.py draws it)."""
    from tests.support_replies19 import separator_page

    buffer = io.BytesIO()
    separator_page(dpi).save(buffer, "PDF", resolution=dpi)
    return buffer.getvalue()


def build_batches(folder: Path, letters: list[dict[str, Any]], batch_pages: int) -> list[Path]:
    """Scanned batches of about `batch_pages` sheets (letter pages and the separator sheet
    between two letters, as the desk feeds the scanner); each letter's `in_batch` says (batch
    number, first page) in its batch."""
    import pikepdf

    out = folder / "batches"
    out.mkdir(exist_ok=True)
    sheet = separator_pdf()
    groups: list[list[dict[str, Any]]] = [[]]
    for letter in letters:
        sheets = sum(t["pages"] + 1 for t in groups[-1])  # with the separator before each
        if groups[-1] and sheets + letter["pages"] > batch_pages:
            groups.append([])
        groups[-1].append(letter)
    paths = []
    for number, group in enumerate(groups, start=1):
        path = out / f"stapel-{number:03}.pdf"
        with ExitStack() as sources, pikepdf.new() as batch:
            for k, letter in enumerate(group):
                if k:
                    separator = sources.enter_context(pikepdf.open(io.BytesIO(sheet)))
                    batch.pages.extend(separator.pages)
                letter["in_batch"] = [number, len(batch.pages) + 1]
                source = sources.enter_context(pikepdf.open(folder / letter["file"]))
                batch.pages.extend(source.pages)
            batch.save(path)
        paths.append(path)
    return paths


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def prepare_mail(args: argparse.Namespace, scratch: Path) -> Mail:
    folder = args.mail or scratch / "mail"
    if not (folder / "truth.jsonl").is_file():
        started = time.perf_counter()
        generate_mail(folder, args.pages, args.seed, args.households)
        print(f"letters generated in {time.perf_counter() - started:.0f} s -> {folder}", flush=True)
    letters = [json.loads(line) for line in (folder / "truth.jsonl").open(encoding="utf-8")]
    batches = build_batches(folder, letters, args.batch_pages)
    return Mail(
        folder,
        letters,
        batches,
        sum(int(t["pages"]) for t in letters),
        sum(
            max(0, sum(1 for t in letters if t["in_batch"][0] == n + 1) - 1)
            for n in range(len(batches))
        ),
        read_rows(folder / "staff.csv"),
        read_rows(folder / "households.csv"),
    )


# --- the product on a stack ----------------------------------------------------------------


@dataclass
class Stack:
    name: str
    settings: Any  # core.config.Settings
    env: dict[str, str]
    owner_url: str  # for polling and cleanup (the schema owner on PostgreSQL)
    cleanup: list[Any] = field(default_factory=list)


def service_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(
            f"{name} is not set: start the services and export what `services/*.sh env` prints"
        )
    return value


@contextmanager
def stack(name: str, data_dir: Path, args: argparse.Namespace) -> Iterator[Stack]:
    """The product's settings and environment on `name`; a services stack gets a new database,
    bucket and index, removed afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    values: dict[str, Any] = {"qa_required": not args.no_desk_check, "workers": args.workers}
    if args.web_processes:
        values["web_processes"] = args.web_processes
    extra = {
        "EAKTE_WORKERS": str(args.workers),
        "EAKTE_QA_REQUIRED": "false" if args.no_desk_check else "true",
        # The product's own figures (OCR seconds per page, pages, queue) from /metrics.
        "EAKTE_METRICS_TOKEN": METRICS_TOKEN,
    }
    if args.web_processes:
        extra["EAKTE_WEB_PROCESSES"] = str(args.web_processes)
    if name == "embedded":
        settings = harness.embedded_settings(data_dir, **values)
        yield Stack(name, settings, harness.product_env(settings, **extra), "")
        return
    tag = uuid.uuid4().hex[:12]
    base = service_env("EAKTE_TEST_DATABASE_URL")
    runtime_role = make_url(service_env("EAKTE_TEST_APP_DATABASE_URL"))
    database = f"load_{tag}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    owner_url = make_url(base).set(database=database).render_as_string(hide_password=False)
    app_url = (
        make_url(owner_url)
        .set(username=runtime_role.username, password=runtime_role.password)
        .render_as_string(hide_password=False)
    )
    services = {
        "database_url": app_url,
        "migration_database_url": owner_url,
        "blob_store": "s3",
        "s3_endpoint": service_env("EAKTE_TEST_S3_ENDPOINT"),
        "s3_access_key": service_env("EAKTE_TEST_S3_ACCESS_KEY"),
        "s3_secret_key": service_env("EAKTE_TEST_S3_SECRET_KEY"),
        "s3_bucket": f"load-{tag}",
        "search_index": "opensearch",
        "opensearch_url": service_env("EAKTE_TEST_OPENSEARCH_URL"),
        "opensearch_index": f"load-{tag}",
    }
    settings = harness.embedded_settings(data_dir, **values, **services)
    env = harness.product_env(settings, **extra)
    env.update({f"EAKTE_{k.upper()}": str(v) for k, v in services.items()})
    try:
        yield Stack(name, settings, env, owner_url)
    finally:
        _drop_database(admin, database)
        admin.dispose()
        _drop_index(services["opensearch_url"], services["opensearch_index"])


def _drop_database(admin: Any, name: str) -> None:
    from sqlalchemy import text

    for _ in range(60):
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except Exception:  # the runtime role's sessions still closing
            time.sleep(1)
    print(f"database {name} not dropped", file=sys.stderr)


def _drop_index(url: str, index: str) -> None:
    import httpx

    try:
        httpx.delete(f"{url.rstrip('/')}/{index}", timeout=30)
    except httpx.HTTPError:
        print(f"index {index} not removed", file=sys.stderr)


def load_master(settings: Any, mail: Mail) -> None:
    """Migrate, import the generated staff and households, give every user the password."""
    from sqlalchemy import select

    from app.runtime import build_runtime
    from core.db import transaction
    from records.masterdata import (
        HOUSEHOLD_COLUMNS,
        STAFF_COLUMNS,
        import_households,
        import_staff,
        read_csv,
    )
    from records.models import User
    from records.users import hash_password
    from tests.support import PASSWORD

    runtime = build_runtime(settings)
    try:
        with transaction(runtime.sessions) as session:
            report = import_staff(session, read_csv(mail.folder / "staff.csv", STAFF_COLUMNS))
            import_households(session, read_csv(mail.folder / "households.csv", HOUSEHOLD_COLUMNS))
            password_hash = hash_password(PASSWORD)
            for user in session.scalars(select(User).where(User.login.in_(report.created))):
                user.password_hash = password_hash
    finally:
        runtime.close()


# --- timing --------------------------------------------------------------------------------


@dataclass
class Timings:
    """Every timed request: (endpoint, status, milliseconds, seconds since the start)."""

    started: float = field(default_factory=time.monotonic)
    answers: list[tuple[str, int, float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, client: Any, endpoint: str, method: str, path: str, **kw: Any) -> Any:
        import httpx

        begun = time.perf_counter()
        try:
            answer = client.request(method, path, **kw)
            status = answer.status_code
        except httpx.HTTPError:
            answer, status = None, 0  # no answer at all
        took = (time.perf_counter() - begun) * 1000
        with self.lock:
            self.answers.append((endpoint, status, took, time.monotonic() - self.started))
        return answer if status and status < 400 else None


def nearest_rank(sorted_values: list[float], share: float) -> float:
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def summary(times: list[float], errors: int) -> dict[str, float]:
    times = sorted(times)
    if not times:
        return {"requests": 0, "errors": errors}
    return {
        "requests": len(times),
        "errors": errors,
        "p50_ms": nearest_rank(times, 0.50),
        "p95_ms": nearest_rank(times, 0.95),
        "p99_ms": nearest_rank(times, 0.99),
        "max_ms": times[-1],
        "mean_ms": statistics.fmean(times),
    }


# --- who works -----------------------------------------------------------------------------


@dataclass
class Caseworker:
    login: str
    caseload: list[str]  # household numbers
    names: list[str]  # last names of the caseload, to search for


def caseworkers(mail: Mail, count: int) -> list[Caseworker]:
    caseload: dict[str, set[str]] = defaultdict(set)
    names: dict[str, set[str]] = defaultdict(set)
    for row in mail.households:
        for login in (row["caseworker"], row.get("case_manager") or ""):
            if login:
                caseload[login].add(row["bg_number"])
                names[login].add(row["last_name"])
    staff = [s["login"] for s in mail.staff if s["role"] in CASEWORKER_ROLES]
    everyone = sorted({*staff}, key=lambda login: (-len(caseload[login]), login))
    return [
        Caseworker(login, sorted(caseload[login]), sorted(names[login]))
        for login in (everyone[k % len(everyone)] for k in range(count))
    ]


def caseworker_loop(
    base: str,
    who: Caseworker,
    timings: Timings,
    stop: threading.Event,
    pause: float,
    seed: int,
    all_in: threading.Barrier,
) -> None:
    """One caseworker's bounded loop: logged in (all of them before the desk starts, as at
    the start of the day), then Postkorb, E-Akte, search, viewer, until stopped."""
    import httpx

    from tests.support import PASSWORD

    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=120, headers={"Origin": base}) as client:
        while not stop.is_set():
            login = {"login": who.login, "password": PASSWORD}
            if timings.request(client, LOGIN, "POST", "/api/auth/login", json=login):
                break
            stop.wait(2)
        with suppress(threading.BrokenBarrierError):
            all_in.wait(timeout=900)
        # People who came in together do not click in the same millisecond: each starts
        # somewhere within the first pause (20 first requests at one instant measured a
        # queue, not the product).
        stop.wait(rng.uniform(0, pause))
        seen: list[str] = []
        step = 0
        while not stop.is_set():
            kind = CASEWORKER_ENDPOINTS[step % 4] if step % 4 < 3 else "viewer"
            step += 1
            if kind == INBOX:
                answer = timings.request(client, INBOX, "GET", "/api/inbox")
                if answer is not None:
                    seen += [i["document"]["id"] for i in answer.json()["items"][:20]]
            elif kind == FILE and who.caseload:
                bg = rng.choice(who.caseload)
                answer = timings.request(client, FILE, "GET", f"/api/households/{bg}/file")
                if answer is not None:
                    seen += [d["id"] for d in answer.json()["timeline"][:20]]
            elif kind == SEARCH:
                words = who.names + list(SEARCH_WORDS) if who.names else list(SEARCH_WORDS)
                answer = timings.request(
                    client, SEARCH, "GET", "/api/search", params={"q": rng.choice(words)}
                )
                if answer is not None:
                    seen += [h["document_id"] for h in answer.json()["hits"][:5]]
            elif kind == "viewer" and seen:
                document = rng.choice(seen[-60:])
                if timings.request(client, VIEW, "GET", f"/api/documents/{document}/view"):
                    path = f"/api/documents/{document}/pages/1/image"
                    timings.request(client, IMAGE, "GET", path)
            seen = seen[-200:]
            stop.wait(pause)


@dataclass
class Desk:
    """The scanning desk: hands in every batch, then checks each one that is processed."""

    base: str
    batches: list[Path]
    timings: Timings
    check: bool
    stop: threading.Event
    handed_in: list[str] = field(default_factory=list)
    upload_seconds: float = 0.0
    refused: int = 0  # uploads refused
    problems: list[str] = field(default_factory=list)

    def run(self) -> None:
        import httpx

        from tests.support import PASSWORD

        with httpx.Client(base_url=self.base, timeout=300, headers={"Origin": self.base}) as c:
            login = {"login": DESK_LOGIN, "password": PASSWORD}
            if not self.timings.request(c, LOGIN, "POST", "/api/auth/login", json=login):
                self.problems.append("desk login failed")
                return
            begun = time.monotonic()
            for path in self.batches:
                with path.open("rb") as fh:
                    files = {"file": (path.name, fh, "application/pdf")}
                    answer = self.timings.request(c, UPLOAD, "POST", "/api/documents", files=files)
                if answer is None:
                    self.refused += 1
                    self.problems.append(f"upload of {path.name} refused")
                    continue
                self.handed_in.append(answer.json()["id"])
            self.upload_seconds = time.monotonic() - begun
            open_batches = list(self.handed_in)
            while open_batches and not self.stop.is_set():
                for batch_id in list(open_batches):
                    answer = self.timings.request(c, BATCH, "GET", f"/api/batches/{batch_id}")
                    if answer is None:
                        continue
                    batch = answer.json()
                    if batch["status"] not in ("processed", "failed"):
                        continue
                    open_batches.remove(batch_id)
                    pending = [d for d in batch["documents"] if d["qa_status"] == "pending"]
                    if self.check:
                        self._approve(c, pending)
                self.stop.wait(2)

    def _approve(self, client: Any, pending: list[dict[str, Any]]) -> None:
        for start in range(0, len(pending), 200):
            body = {
                "documents": [
                    {"id": d["id"], "counted_pages": d["pages"]}
                    for d in pending[start : start + 200]
                ]
            }
            answer = self.timings.request(client, APPROVE, "POST", "/api/qa-approvals", json=body)
            if answer is not None:
                refused = [r for r in answer.json()["results"] if not r["approved"]]
                self.problems += [r["message"] for r in refused]


# --- watching the product ------------------------------------------------------------------


def arrival_counts(engine: Any) -> dict[str, int]:
    """What the database says now: batches finished, documents, documents visible in a
    Postkorb (an inbox item that is the clearing inbox's or of a letter not held for the
    check), clearing items."""
    from sqlalchemy import text

    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT"
                " (SELECT count(*) FROM batches) AS batches,"
                " (SELECT count(*) FROM batches WHERE status IN ('processed', 'failed'))"
                "   AS batches_finished,"
                " (SELECT count(*) FROM batches WHERE status = 'failed') AS batches_failed,"
                " (SELECT count(*) FROM documents) AS documents,"
                " (SELECT count(*) FROM documents WHERE status = 'failed') AS documents_failed,"
                " (SELECT count(DISTINCT d.id) FROM documents d JOIN inbox_items i"
                "   ON i.document_id = d.id"
                "   WHERE i.kind = 'clearing' OR NOT d.held_for_qa) AS in_postkorb,"
                " (SELECT count(DISTINCT document_id) FROM inbox_items WHERE kind = 'clearing')"
                "   AS in_clearing"
            )
        ).one()
    return dict(row._mapping)


def letter_outcomes(engine: Any, mail: Mail) -> dict[str, Any]:
    """Each generated letter against the documents: one that starts at the letter's first page
    in its batch, visible in a Postkorb, and in the inbox the generator's truth expects."""
    from sqlalchemy import text

    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT b.source_name, d.first_page, d.held_for_qa, i.kind, u.login, t.name"
                " FROM documents d JOIN batches b ON b.id = d.batch_id"
                " LEFT JOIN inbox_items i ON i.document_id = d.id"
                " LEFT JOIN users u ON u.id = i.user_id LEFT JOIN teams t ON t.id = i.team_id"
            )
        ).all()
    found: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for row in rows:
        found[(row[0], row[1])].append(row)
    counts = {"letters": len(mail.letters), "found": 0, "in_a_postkorb": 0, "as_expected": 0}
    missing = []
    for letter in mail.letters:
        number, first = letter["in_batch"]
        matches = found.get((f"stapel-{number:03}.pdf", first), [])
        if not matches:
            missing.append(letter["file"])
            continue
        counts["found"] += 1
        visible = [r for r in matches if r[3] == "clearing" or (r[3] and not r[2])]
        if visible:
            counts["in_a_postkorb"] += 1
        expected = letter["expected_inbox"]
        if any(
            r[3] == expected["kind"]
            and (
                expected["kind"] == "clearing"
                or expected.get("user", expected.get("team")) in (r[4], r[5])
            )
            for r in visible
        ):
            counts["as_expected"] += 1
    return {**counts, "not_found": missing[:20]}


METRICS_TOKEN = uuid.uuid4().hex  # the scrape token of the product this run starts
# The product's pipeline figures (api/metrics.py, core/metrics.py): pages, OCR seconds per page
# by method, routing outcomes, the queue and the index lag.
PIPELINE_METRICS = (
    "eakte_pages_processed_total",
    "eakte_page_read_seconds_sum",
    "eakte_page_read_seconds_count",
    "eakte_routing_outcomes_total",
    "eakte_job_queue_depth",
    "eakte_job_queue_oldest_age_seconds",
    "eakte_index_lag_entries",
)


def metrics_excerpt(base: str) -> list[str]:
    """The product's own pipeline figures from its /metrics (the samples named in
    PIPELINE_METRICS). Empty when the scrape fails."""
    import httpx

    try:
        answer = httpx.get(
            f"{base}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=30,
        )
    except httpx.HTTPError:
        return []
    if answer.status_code != 200:
        return []
    return [
        line
        for line in answer.text.splitlines()
        if line.split("{", 1)[0].split(" ", 1)[0] in PIPELINE_METRICS
    ][:200]


def batch_records(engine: Any) -> list[dict[str, Any]]:
    from sqlalchemy import text

    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT pages_total, pages_dropped, documents_count, status, received_at,"
                " started_at, finished_at FROM batches ORDER BY received_at"
            )
        ).all()
    return [dict(r._mapping) for r in rows]


def _seconds(later: Any, earlier: Any) -> float | None:
    if later is None or earlier is None:
        return None
    if isinstance(later, str):  # SQLite hands back text
        from datetime import datetime

        later, earlier = datetime.fromisoformat(later), datetime.fromisoformat(earlier)
    return float((later - earlier).total_seconds())


def batch_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    waits = [w for r in rows if (w := _seconds(r["started_at"], r["received_at"])) is not None]
    works = [
        (w, r["pages_total"])
        for r in rows
        if (w := _seconds(r["finished_at"], r["started_at"])) is not None
    ]
    pages = sum(p for _, p in works)
    worked = sum(w for w, _ in works)
    return {
        "batches": len(rows),
        "queue_wait_s_median": statistics.median(waits) if waits else None,
        "queue_wait_s_max": max(waits) if waits else None,
        "processing_s_median": statistics.median([w for w, _ in works]) if works else None,
        "worker_seconds_per_page": worked / pages if pages else None,
        "worker_seconds": worked,
        "pages_scanned": pages,
        "pages_dropped": sum(r["pages_dropped"] or 0 for r in rows),
    }


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds, waited-for children's CPU seconds) of a process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    own = (int(fields[11]) + int(fields[12])) / CLK_TCK
    children = (int(fields[13]) + int(fields[14])) / CLK_TCK
    return int(fields[1]), own, children


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _machine_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK, sum(values[:8]) / CLK_TCK


def service_pids(services_dir: str | None) -> dict[str, int]:
    if not services_dir:
        return {}
    found = {}
    for name, pidfile in (
        ("postgresql", "postgres/data/postmaster.pid"),
        ("minio", "minio/minio.pid"),
        ("opensearch", "opensearch/opensearch.pid"),
    ):
        with suppress(OSError, ValueError, IndexError):
            found[name] = int((Path(services_dir) / pidfile).read_text().split()[0])
    return found


class CpuWatch:
    """CPU seconds by part, sampled from /proc every second while the run lasts."""

    def __init__(self, serve_pid: int, services: dict[str, int]) -> None:
        self.serve_pid = serve_pid
        self.services = services
        self.seen: dict[int, tuple[str, float]] = {}  # pid -> (part, CPU seconds so far)
        self.baseline: dict[int, float] = {}  # CPU seconds of a process at the first sample
        self.first = True
        own = _stat(os.getpid())
        self.own_start = own[1] if own else 0.0
        self.machine_start = _machine_busy()
        self.load_max = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _part(self, pid: int, parents: dict[int, int]) -> str | None:
        chain: list[int] = []
        while pid > 1 and len(chain) < 50:
            chain.append(pid)
            if pid == self.serve_pid:
                break
            if pid in self.services.values():
                break
            pid = parents.get(pid, 0)
        else:
            return None
        top = chain[-1]
        if top != self.serve_pid:
            return next(name for name, p in self.services.items() if p == top)
        if len(chain) == 1:
            return "serve (web when one process)"
        child = chain[-2]
        return "workers" if "app.cli worker" in _cmdline(child) else "web processes"

    def sample(self) -> None:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
                stats[int(entry.name)] = stat
        parents = {pid: s[0] for pid, s in stats.items()}
        for pid, (_, own, children) in stats.items():
            part = self._part(pid, parents)
            if part is None:
                continue
            # A worker's tesseract children are counted when it waits for them (children);
            # the serve process's children are counted apart, so only its own time.
            total = own if pid == self.serve_pid else own + children
            if self.first:
                self.baseline[pid] = total
            self.seen[pid] = (part, total - self.baseline.get(pid, 0.0))
        self.first = False
        self.load_max = max(self.load_max, os.getloadavg()[0])

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            self.sample()

    def finish(self) -> dict[str, Any]:
        self.stop.set()
        self.thread.join()
        self.sample()
        busy, total = _machine_busy()
        parts: dict[str, float] = defaultdict(float)
        for part, seconds in self.seen.values():
            parts[part] += seconds
        own = _stat(os.getpid())
        parts["this benchmark"] = (own[1] if own else 0.0) - self.own_start
        machine = busy - self.machine_start[0]
        wall = (total - self.machine_start[1]) / (os.cpu_count() or 1)
        parts["rest of the machine"] = max(0.0, machine - sum(parts.values()))
        return {
            "cpu_seconds": dict(parts),
            "machine_busy_share": machine / (total - self.machine_start[1] or 1),
            "wall_seconds": wall,
            "load_max": self.load_max,
        }


# --- one stack -----------------------------------------------------------------------------


def run_stack(name: str, mail: Mail, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from tests.contention_load import free_port, wait_until_up

    load_before = os.getloadavg()
    print(f"\n[{name}] load average {' '.join(f'{v:.2f}' for v in load_before)}", flush=True)
    data_dir = scratch / f"data-{name}"
    with stack(name, data_dir, args) as chosen:
        load_master(chosen.settings, mail)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = scratch / f"serve-{name}.log"
        serve_args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        server = harness.start_cli(serve_args, chosen.env, log_path)
        engine = create_engine(
            chosen.owner_url or chosen.settings.resolved_database_url, poolclass=NullPool
        )
        stop_people = threading.Event()
        stop_desk = threading.Event()
        people: list[threading.Thread] = []
        try:
            wait_until_up(base, server, log_path)
            cpu = CpuWatch(server.pid, service_pids(os.environ.get("EAKTE_SERVICES_DIR")))
            timings = Timings()
            desk = Desk(base, mail.batches, timings, not args.no_desk_check, stop_desk)
            desk_thread = threading.Thread(target=desk.run, daemon=True)
            all_in = threading.Barrier(args.caseworkers + 1)
            for k, who in enumerate(caseworkers(mail, args.caseworkers)):
                thread = threading.Thread(
                    target=caseworker_loop,
                    args=(
                        base,
                        who,
                        timings,
                        stop_people,
                        args.pause,
                        args.seed * 1000 + k,
                        all_in,
                    ),
                    daemon=True,
                )
                thread.start()
                people.append(thread)
            try:  # every caseworker logged in; the clock starts with the desk
                all_in.wait(timeout=900)
            except threading.BrokenBarrierError:
                print("  not every caseworker could log in", flush=True)
            timings.started = time.monotonic()
            desk_thread.start()
            arrived = watch_arrivals(engine, mail, desk, timings, args, server)
            if arrived.get("last_in_postkorb_s") is not None:
                stop_people.wait(args.tail)
            stop_people.set()
            stop_desk.set()
            for thread in people:
                thread.join(150)
            desk_thread.join(150)
            machine = cpu.finish()
            batches = batch_figures(batch_records(engine))
            letters = letter_outcomes(engine, mail)
            metrics = metrics_excerpt(base)
        finally:
            stop_people.set()
            stop_desk.set()
            harness.stop(server)
            engine.dispose()
    result = report(name, mail, args, timings, arrived, batches, machine, desk, load_before)
    result["letter_outcomes"] = letters
    result["metrics_excerpt"] = metrics
    result["all_arrived"] = result["all_arrived"] and letters["in_a_postkorb"] == len(mail.letters)
    return result


def watch_arrivals(
    engine: Any, mail: Mail, desk: Desk, timings: Timings, args: argparse.Namespace, server: Any
) -> dict[str, Any]:
    """Poll the database every second until every batch is finished and every document in a
    Postkorb (or the time is up); when the last batch finished and the last letter arrived."""
    deadline = time.monotonic() + args.timeout * 60
    counts: dict[str, int] = {}
    last_change: float | None = None
    processed_at: float | None = None
    shown = 0.0
    while time.monotonic() < deadline and server.poll() is None:
        now = time.monotonic() - timings.started
        fresh = arrival_counts(engine)
        if counts and fresh["in_postkorb"] != counts.get("in_postkorb"):
            last_change = now
        counts = fresh
        handed = len(desk.handed_in) == len(mail.batches) - desk.refused
        finished = handed and counts["batches"] and counts["batches_finished"] == counts["batches"]
        if finished and processed_at is None:
            processed_at = now
        waiting = counts["documents"] - counts["in_postkorb"] - counts["documents_failed"]
        if now - shown >= 30:
            shown = now
            print(
                f"  {now:6.0f} s: batches {counts['batches_finished']}/{len(mail.batches)}, "
                f"documents {counts['documents']}, in a Postkorb {counts['in_postkorb']}",
                flush=True,
            )
        if finished and waiting <= 0:
            break
        time.sleep(1.0)
    else:
        print("  stopped before every letter arrived (time up or server ended)", flush=True)
    complete = bool(counts) and counts["documents"] - counts["in_postkorb"] <= counts.get(
        "documents_failed", 0
    )
    return {
        **counts,
        "watched_s": time.monotonic() - timings.started,
        "processed_s": processed_at,
        "last_in_postkorb_s": (last_change or processed_at) if complete else None,
        "complete": complete and processed_at is not None,
    }


def report(
    name: str,
    mail: Mail,
    args: argparse.Namespace,
    timings: Timings,
    arrived: dict[str, Any],
    batches: dict[str, Any],
    machine: dict[str, Any],
    desk: Desk,
    load_before: tuple[float, float, float],
) -> dict[str, Any]:
    by_endpoint: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    failed: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for endpoint, status, took, _ in timings.answers:
        by_endpoint[endpoint].append(took)
        if status == 0 or status >= 400:
            errors[endpoint] += 1
            failed[endpoint][status] += 1  # 0: no answer
    endpoints: dict[str, dict[str, Any]] = {
        e: summary(by_endpoint[e], errors[e]) for e in sorted(by_endpoint)
    }
    for endpoint, statuses in failed.items():
        endpoints[endpoint]["failed_statuses"] = dict(statuses)
    for endpoint in CASEWORKER_ENDPOINTS:
        endpoints.setdefault(endpoint, summary([], 0))
    caseworker = [(t, at) for e, _, t, at in timings.answers if e in CASEWORKER_ENDPOINTS]
    minutes: dict[int, list[float]] = defaultdict(list)
    for took, at in caseworker:
        minutes[int(at // 60)].append(took)
    worst_minute = max(
        (nearest_rank(sorted(v), 0.95) for v in minutes.values() if len(v) >= 20), default=None
    )
    all_p95 = summary([t for t, _ in caseworker], 0).get("p95_ms")
    processed = arrived.get("processed_s")
    per_minute = mail.letter_pages / (processed / 60) if processed else None
    partial = per_minute is None and bool(arrived.get("in_postkorb")) and mail.letters
    if partial:  # time was up: the rate of the letters that arrived, by their mean page count
        pages = arrived["in_postkorb"] * mail.letter_pages / len(mail.letters)
        per_minute = pages / (arrived["watched_s"] / 60)
    day_minutes = GOAL_DAY_PAGES / per_minute if per_minute else None
    return {
        "stack": name,
        "workers": args.workers,
        "web_processes": args.web_processes,
        "caseworkers": args.caseworkers,
        "pause_s": args.pause,
        "desk_check": not args.no_desk_check,
        "letters": len(mail.letters),
        "letter_pages": mail.letter_pages,
        "separator_pages": mail.separator_pages,
        "batches_handed_in": len(desk.handed_in),
        "upload_seconds": desk.upload_seconds,
        "desk_problems": desk.problems[:20],
        "arrivals": arrived,
        "all_arrived": arrived.get("complete", False)
        and arrived.get("in_postkorb", 0) >= len(mail.letters),
        "processed_s": processed,
        "last_in_postkorb_s": arrived.get("last_in_postkorb_s"),
        "pages_per_minute": per_minute,
        "pages_per_minute_partial": bool(partial),
        "scanned_pages_per_minute": (mail.letter_pages + mail.separator_pages) / (processed / 60)
        if processed
        else None,
        "pages_per_minute_goal": GOAL_PAGES_PER_MINUTE,
        "pages_per_minute_ratio": per_minute / GOAL_PAGES_PER_MINUTE if per_minute else None,
        "day_minutes_at_this_rate": day_minutes,
        "endpoints": endpoints,
        "caseworker_p95_ms": all_p95,
        "caseworker_p95_ratio": all_p95 / GOAL_P95_MS if all_p95 else None,
        "caseworker_worst_minute_p95_ms": worst_minute,
        "batches": batches,
        "machine": machine,
        "load_before": list(load_before),
        # every timed request, for a look at when the slow ones came (endpoint, status,
        # milliseconds, seconds since the caseworkers started)
        "requests": [
            [e, status, round(t, 1), round(at, 2)] for e, status, t, at in timings.answers
        ],
    }


# --- printing ------------------------------------------------------------------------------


def _f(value: Any, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def print_results(results: list[dict[str, Any]]) -> None:
    names = [r["stack"] for r in results]
    rows: list[tuple[str, list[str]]] = [
        ("letters / letter pages", [f"{r['letters']} / {r['letter_pages']}" for r in results]),
        ("separator sheets", [_f(r["separator_pages"]) for r in results]),
        (
            "load average before / max during",
            [f"{r['load_before'][0]:.1f} / {r['machine']['load_max']:.1f}" for r in results],
        ),
        ("every letter in a Postkorb", [str(r["all_arrived"]) for r in results]),
        (
            "letters found / in a Postkorb / as truth",
            [
                f"{o['found']} / {o['in_a_postkorb']} / {o['as_expected']}"
                for o in (r["letter_outcomes"] for r in results)
            ],
        ),
        (
            "documents / in clearing",
            [
                f"{r['arrivals'].get('documents')} / {r['arrivals'].get('in_clearing')}"
                for r in results
            ],
        ),
        ("all batches processed after", [_f(r["processed_s"], 0, " s") for r in results]),
        (
            "last letter in its Postkorb after",
            [_f(r["last_in_postkorb_s"], 0, " s") for r in results],
        ),
        (
            "pages per minute (goal 33.3)",
            [
                _f(r["pages_per_minute"])
                + (" (time up: arrived so far)" if r.get("pages_per_minute_partial") else "")
                for r in results
            ],
        ),
        ("  with separator sheets", [_f(r["scanned_pages_per_minute"]) for r in results]),
        (
            "  ratio to the goal (>= 1 is met)",
            [_f(r["pages_per_minute_ratio"], 2) for r in results],
        ),
        (
            "  2,000 pages would take",
            [_f(r["day_minutes_at_this_rate"], 0, " min") for r in results],
        ),
        (
            "caseworker p95, all requests (goal 300)",
            [_f(r["caseworker_p95_ms"], 0, " ms") for r in results],
        ),
        ("  ratio to the goal (<= 1 is met)", [_f(r["caseworker_p95_ratio"], 2) for r in results]),
        (
            "  worst p95 in any minute",
            [_f(r["caseworker_worst_minute_p95_ms"], 0, " ms") for r in results],
        ),
    ]
    endpoints = sorted({e for r in results for e in r["endpoints"]})
    for endpoint in endpoints:
        cells = []
        for r in results:
            s = r["endpoints"].get(endpoint, {})
            if not s.get("requests"):
                cells.append(f"0 requests, {s.get('errors', 0)} errors")
                continue
            cells.append(
                f"{s['p50_ms']:.0f} / {s['p95_ms']:.0f} / {s['p99_ms']:.0f} ms"
                f" ({s['requests']}, {s['errors']} err)"
            )
        rows.append((f"{endpoint} p50/p95/p99", cells))
    rows += [
        (
            "queue wait per batch, median / max",
            [
                f"{_f(b['queue_wait_s_median'], 0)} / {_f(b['queue_wait_s_max'], 0)} s"
                for b in (r["batches"] for r in results)
            ],
        ),
        (
            "processing per batch, median",
            [_f(r["batches"]["processing_s_median"], 0, " s") for r in results],
        ),
        (
            "worker seconds per scanned page",
            [_f(r["batches"]["worker_seconds_per_page"], 2, " s") for r in results],
        ),
    ]
    parts = sorted({p for r in results for p in r["machine"]["cpu_seconds"]})
    for part in parts:
        rows.append(
            (f"CPU s: {part}", [_f(r["machine"]["cpu_seconds"].get(part), 0) for r in results])
        )
    rows.append(
        (
            "machine busy (share of both cores)",
            [_f(r["machine"]["machine_busy_share"], 2) for r in results],
        )
    )
    width = max(len(label) for label, _ in rows) + 2
    column = max(28, *(len(c) + 2 for _, cells in rows for c in cells))
    print()
    print("".ljust(width) + "".join(n.ljust(column) for n in names))
    for label, cells in rows:
        print(label.ljust(width) + "".join(c.ljust(column) for c in cells))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = harness.use_product()
    scratch = Path(tempfile.mkdtemp(prefix="bench-load-", dir=args.work_dir))
    print(
        f"product code in {root}; {os.cpu_count()} cores; load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        flush=True,
    )
    results = []
    try:
        mail = prepare_mail(args, scratch)
        print(
            f"{len(mail.letters)} letters, {mail.letter_pages} pages, {len(mail.batches)} batches,"
            f" {mail.separator_pages} separator sheets",
            flush=True,
        )
        names = ("embedded", "services") if args.stack == "both" else (args.stack,)
        for name in names:
            results.append(run_stack(name, mail, args, scratch))
    finally:
        harness.remove(scratch, keep=args.keep)
    print_results(results)
    if args.json:
        args.json.write_text(json.dumps({"runs": results}, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
