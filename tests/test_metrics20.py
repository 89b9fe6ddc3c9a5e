"""`/metrics` and JSON logs (issue 20, metrics20).

The scrape is read as Prometheus reads it (its text parser). Counters live as long as the test
process, so the tests compare a scrape after with one before. No label and no log line may
carry a BG number: routes are named by their template.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import ingest.worker
from app.runtime import build_runtime
from core import metrics
from core.db import transaction, utcnow
from core.errors import PermanentFailure
from records.index_outbox import drain_all
from records.jobs import enqueue
from records.reindex import OUTBOX_DOCUMENT, enqueue_index_writes
from records.runtime import Runtime
from tests.support import (
    OWN,
    PASSWORD,
    REPO,
    SAMPLES,
    cli_env,
    digital_pdf,
    health_answers,
    live_server,
    load_people,
    make_settings,
    pages_client_for,
    run_cli,
    sample,
    wait_for,
    work_until_idle,
)
from tests.support_metrics20 import BEARER, BG_NUMBER, TOKEN, routes, value

CASEWORKER = "lsb.95401.2"  # Leistung Husum, caseworker of OWN
DESK = "post.1"
JSON_FIELDS = {"time", "level", "logger", "message"}


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Runtime]:
    """The embedded default with a scrape token and the sample people."""
    built = build_runtime(make_settings(tmp_path / "data", metrics_token=TOKEN))
    load_people(built)
    yield built
    built.close()


def scrape(client: TestClient | httpx.Client) -> str:
    answer = client.get("/metrics", headers=BEARER)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


def test_metrics_do_not_exist_without_a_token(sqlite_runtime: Runtime) -> None:
    client = TestClient(build_app(sqlite_runtime))
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_a_scrape_needs_the_bearer_token(watched: Runtime) -> None:
    client = TestClient(build_app(watched))
    refused = [
        client.get("/metrics"),
        client.get("/metrics", headers={"Authorization": "Bearer falsches-token"}),
        client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}),
        client.get("/metrics", headers={"Authorization": TOKEN}),
    ]
    assert [answer.status_code for answer in refused] == [401] * 4
    message = refused[0].json()["error"]["message"]
    assert "Zugangstoken" in message and "EAKTE_METRICS_TOKEN" in message
    assert "eakte_job_queue_depth" in scrape(client)


def test_the_token_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "metrics-token"
    secret.write_text(f"{TOKEN}\n", encoding="utf-8")
    runtime = build_runtime(make_settings(tmp_path / "data", metrics_token_file=secret))
    try:
        client = TestClient(build_app(runtime))
        assert client.get("/metrics").status_code == 401
        assert "eakte_job_queue_depth" in scrape(client)
    finally:
        runtime.close()


def test_latency_is_labelled_by_route_template_never_by_the_path(watched: Runtime) -> None:
    client = pages_client_for(watched, CASEWORKER)
    before = scrape(client)
    assert client.get(f"/akte/{OWN}").status_code == 200
    assert client.get(f"/akte/{OWN}").status_code == 200
    assert client.get(f"/nirgends/{OWN}").status_code == 404
    after = scrape(client)
    akte = {"route": "/akte/{bg_number}", "method": "GET", "status": "2xx"}
    count = "eakte_http_request_duration_seconds_count"
    assert value(after, count, **akte) - value(before, count, **akte) == 2
    assert value(after, "eakte_http_request_duration_seconds_bucket", le="+Inf", **akte) >= 2
    unmatched = {"route": "unmatched", "method": "GET", "status": "4xx"}
    assert value(after, count, **unmatched) - value(before, count, **unmatched) == 1
    assert {"/akte/{bg_number}", "/api/auth/login", "/metrics"} <= routes(after)
    assert not BG_NUMBER.search(after)
    # Every answer names its request, for the log lines written meanwhile.
    assert len(client.get("/health").headers["x-request-id"]) == 16


def test_a_request_that_breaks_is_timed_as_5xx(watched: Runtime) -> None:
    app = build_app(watched)

    def broken(bg_number: str) -> None:
        raise RuntimeError(f"kaputt bei {bg_number}")

    app.add_api_route("/kaputt/{bg_number}", broken)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get(f"/kaputt/{OWN}").status_code == 500
    text = scrape(client)
    labels = {"route": "/kaputt/{bg_number}", "method": "GET", "status": "5xx"}
    assert value(text, "eakte_http_request_duration_seconds_count", **labels) == 1
    assert not BG_NUMBER.search(text)


def test_queue_gauges_count_open_jobs_per_kind_and_age_the_oldest(watched: Runtime) -> None:
    with transaction(watched.sessions) as session:
        old = enqueue(session, "verify", None, 3)
        old.created_at = utcnow() - timedelta(minutes=10)
        enqueue(session, "verify", None, 3)
        running = enqueue(session, "destroy", None, 3)
        running.state = "running"
        enqueue(session, "verify", None, 3).state = "done"
    text = scrape(TestClient(build_app(watched)))
    depth, age = "eakte_job_queue_depth", "eakte_job_queue_oldest_age_seconds"
    assert value(text, depth, kind="verify", state="queued") == 2
    assert value(text, depth, kind="destroy", state="running") == 1
    assert value(text, depth, kind="batch", state="queued") == 0  # known kinds appear at 0
    assert 600 <= value(text, age, kind="verify", state="queued") < 3600
    assert value(text, age, kind="batch", state="queued") == 0


def test_index_lag_counts_the_entries_still_to_write_and_ages_the_oldest(
    watched: Runtime,
) -> None:
    """The index outbox (records.index_outbox) as monitoring sees it: entries the index could
    not take yet, and how long the oldest has waited; none once the drainer wrote them."""
    client = TestClient(build_app(watched))
    lag, oldest = "eakte_index_lag_entries", "eakte_index_lag_oldest_age_seconds"
    assert (value(scrape(client), lag), value(scrape(client), oldest)) == (0, 0)
    with transaction(watched.sessions) as session:
        rows = enqueue_index_writes(session, OUTBOX_DOCUMENT, [str(uuid.uuid4()) for _ in "ab"])
        session.flush()
        rows[0].queued_at = utcnow() - timedelta(minutes=5)
    text = scrape(client)
    assert value(text, lag) == 2
    assert 300 <= value(text, oldest) < 3600
    drain_all(watched)  # the documents do not exist: their entries are removed, rows done
    assert (value(scrape(client), lag), value(scrape(client), oldest)) == (0, 0)


@pytest.mark.slow
def test_a_day_of_two_letters_counts_pages_ocr_seconds_and_routing(watched: Runtime) -> None:
    desk = pages_client_for(watched, DESK)
    before = scrape(desk)
    letters = [
        ("0001.pdf", sample("docs/0001.pdf").read_bytes()),  # a scan of a known household
        ("brief.pdf", digital_pdf([["Sehr geehrte Damen und Herren,", "bitte um Rückruf."]])),
    ]
    for name, data in letters:
        answer = desk.post("/api/documents", files={"file": (name, data)})
        assert answer.status_code == 201, answer.text
    queued = scrape(desk)
    assert value(queued, "eakte_job_queue_depth", kind="batch", state="queued") == 2
    work_until_idle(watched)
    after = scrape(desk)

    def grown(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grown("eakte_pages_processed_total") == 2
    assert grown("eakte_page_read_seconds_count", method="ocr") == 1
    assert grown("eakte_page_read_seconds_count", method="text_layer") == 1
    assert grown("eakte_page_read_seconds_sum", method="ocr") > 0
    outcomes = "eakte_routing_outcomes_total"
    assert grown(outcomes, outcome="routed", via="recognition") == 1
    assert grown(outcomes, outcome="clearing", via="recognition") == 1
    assert value(after, "eakte_job_queue_depth", kind="batch", state="queued") == 0
    assert not BG_NUMBER.search(after)


def test_a_batch_given_up_counts_as_failed(
    watched: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise PermanentFailure("Datei nicht lesbar")

    monkeypatch.setitem(ingest.worker.HANDLERS, "batch", broken)
    with transaction(watched.sessions) as session:
        enqueue(session, "batch", None, 3)
    client = TestClient(build_app(watched))
    before = scrape(client)
    work_until_idle(watched)
    after = scrape(client)
    failed = {"outcome": "failed", "via": "none"}
    assert (
        value(after, "eakte_routing_outcomes_total", **failed)
        - value(before, "eakte_routing_outcomes_total", **failed)
        == 1
    )


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The JSON configuration below replaces the root logger's handlers: given back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_json_logs_of_a_web_process_name_request_and_route(
    watched: Runtime, capfd: pytest.CaptureFixture[str]
) -> None:
    from app.product import create_product_app
    from app.serve import log_config

    app = create_product_app(watched)
    with (
        live_server(app, log_config=log_config("json"), log_level=None) as url,
        httpx.Client(base_url=url) as client,
    ):
        login = {"login": CASEWORKER, "password": PASSWORD}
        assert client.post("/api/auth/login", json=login).status_code == 200
        opened = client.get(f"/akte/{OWN}", params={"q": "Carstensen"})
        assert opened.status_code == 200
        logging.getLogger("records.test").warning("ein Hinweis der Anwendung")
    captured = capfd.readouterr()
    lines = [json.loads(line) for line in (captured.out + captured.err).splitlines() if line]
    assert all(line.keys() >= JSON_FIELDS for line in lines)
    [access] = [
        line
        for line in lines
        if line["logger"] == "uvicorn.access" and line.get("route") == "/akte/{bg_number}"
    ]
    assert access["request_id"] == opened.headers["x-request-id"]
    assert '"GET /akte/{bg_number} HTTP/1.1" 200' in access["message"]
    assert access["level"] == "INFO" and access["time"].endswith("+00:00")
    assert any(line["logger"] == "records.test" for line in lines)  # the app's loggers too
    # What the server logged (httpx is this test's client, logging the URLs it asked for).
    served = json.dumps([line for line in lines if line["logger"] != "httpx"])
    assert not BG_NUMBER.search(served) and "Carstensen" not in served


@pytest.mark.slow
def test_serve_sums_the_metrics_of_its_processes_and_logs_json(tmp_path: Path) -> None:
    """`eakte serve` with two web processes and a worker: a scrape of either web process
    shows what the worker counted (multiprocess mode), and every process logs JSON."""
    data = tmp_path / "data"
    env = cli_env(
        data,
        EAKTE_WEB_PROCESSES="2",
        EAKTE_WORKERS="1",
        EAKTE_METRICS_TOKEN=TOKEN,
        EAKTE_LOG_FORMAT="json",
    )
    for kind, csv in (("staff", "staff.csv"), ("households", "households.csv")):
        assert run_cli(env, "import", kind, str(SAMPLES / csv)).returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=REPO,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: health_answers(base), 180, "the server to come up", every=0.2)
        ingested = run_cli(env, "ingest", str(sample("docs/0001.pdf")))
        assert ingested.returncode == 0, ingested.stderr
        with httpx.Client(base_url=base, timeout=30) as client:

            def filed() -> bool:
                text = scrape(client)
                return value(text, "eakte_pages_processed_total") == 1

            wait_for(filed, 240, "the worker's page to show in /metrics", every=0.5)
            # Whichever web process answers, it sums the same files.
            for _ in range(6):
                text = scrape(client)
                assert value(text, "eakte_pages_processed_total") == 1
                outcome = {"outcome": "routed", "via": "recognition"}
                assert value(text, "eakte_routing_outcomes_total", **outcome) == 1
                assert value(text, "eakte_page_read_seconds_count", method="ocr") == 1
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    # Log lines on stderr, uvicorn's access lines on stdout after the banner `serve` prints.
    logged = err.read_text().splitlines()
    logged += [line for line in out.read_text().splitlines() if line.startswith("{")]
    parsed = [json.loads(line) for line in logged if line.strip()]
    assert all(line.keys() >= JSON_FIELDS for line in parsed)
    loggers = {line["logger"] for line in parsed}
    assert {"uvicorn.access", "uvicorn.error", "ingest.worker"} <= loggers
    [done] = [line for line in parsed if line["message"].endswith("(batch) done")]
    assert (done["logger"], done["job_kind"], done["job_id"]) == ("ingest.worker", "batch", 1)
    assert any(line.get("route") == "/metrics" for line in parsed)
    assert not BG_NUMBER.search(json.dumps(parsed))  # the letter's household is in no line
    assert metrics.MULTIPROC_ENV not in env  # serve chose the folder itself
    assert list((data / "run" / "metrics").glob("*.db"))


def build_app(runtime: Runtime):  # type: ignore[no-untyped-def]
    from api.app import create_app

    return create_app(runtime)


def test_counts_of_processes_meet_in_the_multiprocess_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `eakte serve` sets up, in two processes that have imported prometheus-client
    before (as serve has): both count into the folder, a scrape sums them."""
    folder = tmp_path / "metrics"
    count = (
        "import sys; from pathlib import Path; import prometheus_client; from core import metrics;"
        "metrics.use_multiprocess_dir(Path(sys.argv[1])) if sys.argv[2] == 'first' else None;"
        "metrics.count_filed(int(sys.argv[3]), [('routed', 'sheet')])"
    )
    first = [sys.executable, "-c", count, str(folder), "first", "3"]
    subprocess.run(first, cwd=REPO, check=True, timeout=120)
    later = dict(os.environ, **{metrics.MULTIPROC_ENV: str(folder)})
    second = [sys.executable, "-c", count, str(folder), "second", "2"]
    subprocess.run(second, cwd=REPO, check=True, timeout=120, env=later)
    assert len(list(folder.glob("counter_*.db"))) == 2
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(folder))
    scraped = metrics.exposition(metrics.scrape_registry())[0].decode()
    assert value(scraped, "eakte_pages_processed_total") == 5
    assert value(scraped, "eakte_routing_outcomes_total", outcome="routed", via="sheet") == 2
