"""bench/load.py on a tiny day's mail on the embedded default (issue 20): the report names
every caseworker endpoint with answered requests, and every generated letter, handed in by the
desk in batches with separator sheets, arrived in a Postkorb. No time is asserted: the
benchmark measures, the test checks that what it measures is complete."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

# The route templates the simulated caseworkers use (bench/load.py CASEWORKER_ENDPOINTS).
CASEWORKER_ENDPOINTS = (
    "GET /api/inbox",
    "GET /api/households/{bg_number}/file",
    "GET /api/search",
    "GET /api/documents/{document_id}/view",
    "GET /api/documents/{document_id}/pages/{number}/{rendition}",
)


@pytest.mark.slow
def test_tiny_day_reaches_every_postkorb_and_times_every_endpoint(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    env_free = {k: v for k, v in os.environ.items() if not k.startswith("EAKTE_")}
    finished = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "load.py"),
            "--pages",
            "4",
            "--batch-pages",
            "5",
            "--caseworkers",
            "20",
            "--pause",
            "0.3",
            "--tail",
            "5",
            "--timeout",
            "10",
            "--workers",
            "1",
            "--work-dir",
            str(tmp_path),
            "--json",
            str(out),
        ],
        cwd=REPO,
        env=env_free,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    (run,) = json.loads(out.read_text())["runs"]
    assert run["stack"] == "embedded"
    outcomes = run["letter_outcomes"]
    assert outcomes["letters"] >= 2
    assert outcomes["found"] == outcomes["letters"], outcomes
    assert outcomes["in_a_postkorb"] == outcomes["letters"], outcomes
    assert run["all_arrived"] is True
    assert run["last_in_postkorb_s"] is not None
    assert run["letter_pages"] >= 4
    assert run["separator_pages"] >= 1  # the letters came in batches with separator sheets
    assert run["arrivals"]["documents"] == outcomes["letters"]  # split at every sheet
    for endpoint in CASEWORKER_ENDPOINTS:
        figures = run["endpoints"][endpoint]
        assert figures["requests"] > 0, (endpoint, figures)
        assert figures["errors"] == 0, (endpoint, figures)
        assert figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    # The desk handed every batch in through the upload API and checked each one.
    assert run["endpoints"]["POST /api/documents"]["requests"] == run["batches_handed_in"]
    assert run["endpoints"]["POST /api/qa-approvals"]["errors"] == 0
    assert run["batches"]["worker_seconds_per_page"] > 0
    assert run["machine"]["cpu_seconds"]["workers"] > 0
    # The product's own figures came from its /metrics (with the run's scrape token).
    assert any(line.startswith("eakte_pages_processed_total") for line in run["metrics_excerpt"])
