"""Viewer benchmark: time to the first page of a document on a warm server (goal < 300 ms).

The product runs as it does in production (`eakte serve`, embedded defaults: SQLite, local blob
store, embedded index) on a temporary data folder into which a few sample scans were handed in
(ingest.intake.accept_file) and read (ingest.worker.run_worker(until_idle=True)) beforehand.
A caseworker responsible for them logs in; then, after a warm-up:

  (a) api      over HTTP (httpx, one keep-alive connection): GET /api/documents/{id}/view,
               then GET the first page's image, timed together; --api-runs repetitions.
  (b) browser  Debian's Chromium driven by Playwright, browser cache off (every load fetches
               HTML, script, style sheet, JSON and image): from page.goto('/viewer?doc=...')
               until the first page image is `complete && naturalWidth > 0` and laid out.
               Reported twice: measured by the browser itself (navigation start until the
               viewer's `eakte-page-shown` performance mark, set in the image's load handler)
               and by the wall clock around Playwright (which adds its own round trips).
  (c) switch   the two-monitor case: a viewer window is open, the main window calls
               EAkteViewer.show(id) (ping, pong, "show" over the BroadcastChannel) and the
               viewer loads the next document; from the call until the page is shown, on the
               browser's clock. Cache off as in (b).

The documents take turns, so no two runs in a row ask for the same one. Printed: median, p95,
min and max in milliseconds, against the goal.

Run from the repository root with the product's environment, e.g.
    .venv/bin/python bench/viewer.py
    .venv/bin/python bench/viewer.py --api-runs 100 --browser-runs 40 --json viewer.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import harness

SAMPLES = harness.SAMPLES
GOAL_MS = 300.0
# Three one-page letters that recognition routes to this caseworker (truth.jsonl).
LOGIN = "lsb.95401.3"
DEFAULT_DOCS = ["0001.pdf", "0002.pdf", "0005.pdf"]

PAGE_SHOWN = """() => {
  const image = document.getElementById('page-image');
  return image && image.complete && image.naturalWidth > 0 && image.offsetWidth > 0
    && performance.getEntriesByName('eakte-page-shown').length > 0;
}"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "docs",
        nargs="*",
        help=f"PDF files to hand in (default: {', '.join(DEFAULT_DOCS)} from the samples); "
        f"they must reach the inbox of {LOGIN} or of a colleague in the same team",
    )
    parser.add_argument("--api-runs", type=int, default=50)
    parser.add_argument("--browser-runs", type=int, default=20)
    parser.add_argument("--switch-runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs before each part")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the temp folder goes")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    harness.add_baseline_options(parser)
    return parser.parse_args(argv)


# --- the product ---------------------------------------------------------------------------


def embedded_settings(data_dir: Path, **values: object):  # type: ignore[no-untyped-def]
    """The embedded defaults without the quality check that holds a read letter back from the
    caseworker (qa_required, default since before 76aa394): what is timed is the caseworker
    opening documents of the Postkorb, so the letters go there at once."""
    return harness.embedded_settings(data_dir, qa_required=False, **values)


def prepare(data_dir: Path, docs: list[Path]) -> list[str]:
    """Master data (every user with tests.support.PASSWORD), the scans read and routed;
    LOGIN's documents."""
    from sqlalchemy import select

    from app.runtime import build_runtime
    from core.db import transaction
    from ingest.intake import accept_file
    from ingest.worker import run_worker
    from records.models import Document, Household, User
    from tests.support import load_people

    settings = embedded_settings(data_dir, ocr_processes=os.cpu_count() or 1, job_poll_seconds=0.2)
    runtime = build_runtime(settings)
    try:
        load_people(runtime)
        for doc in docs:
            accept_file(runtime, doc, doc.name, None, channel="cli")
        start = time.perf_counter()
        run_worker(runtime, threading.Event(), until_idle=True)
        print(f"{len(docs)} scans read and routed in {time.perf_counter() - start:.1f} s")
        with transaction(runtime.sessions) as session:
            mine = (
                select(Document.id)
                .join(Household, Document.household_id == Household.id)
                .join(User, Household.caseworker_id == User.id)
                .where(User.login == LOGIN)
                .order_by(Document.received_at)
            )
            return [str(document_id) for document_id in session.scalars(mine)]
    finally:
        runtime.close()


def start_server(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """`eakte serve` without workers (everything is read already), one web process: one client
    asks one request at a time, and uvicorn's supervisor of several processes kills a process
    that has not answered its 5-s health check yet (on a loaded machine, while it imports)."""
    env = harness.product_env(
        embedded_settings(data_dir),
        EAKTE_WORKERS="0",
        EAKTE_WEB_PROCESSES="1",
        EAKTE_QA_REQUIRED="false",
    )
    return harness.start_cli(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log_path)


# --- measuring -----------------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "runs": len(ordered),
        "median_ms": statistics.median(ordered),
        "p95_ms": ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)],  # nearest rank
        "min_ms": ordered[0],
        "max_ms": ordered[-1],
    }


Run = TypeVar("Run")


def take_turns(once: Callable[[str], Run], ids: list[str], runs: int, warmup: int) -> list[Run]:
    """`warmup` untimed calls, then `runs` timed ones; the documents take turns."""
    for i in range(warmup):
        once(ids[i % len(ids)])
    return [once(ids[i % len(ids)]) for i in range(runs)]


def measure_api(base: str, ids: list[str], runs: int, warmup: int) -> dict[str, object]:
    import httpx

    from tests.support import PASSWORD

    with httpx.Client(base_url=base, timeout=30) as client:
        response = client.post("/api/auth/login", json={"login": LOGIN, "password": PASSWORD})
        response.raise_for_status()

        def once(document_id: str) -> tuple[float, float]:
            start = time.perf_counter()
            view = client.get(f"/api/documents/{document_id}/view")
            view.raise_for_status()
            middle = time.perf_counter()
            image = client.get(view.json()["pages"][0]["image_url"])
            image.raise_for_status()
            assert image.headers["content-type"] == "image/jpeg" and image.content
            end = time.perf_counter()
            return (end - start) * 1000, (middle - start) * 1000

        totals, views = zip(*take_turns(once, ids, runs, warmup), strict=True)
    return {
        "view_json_and_first_image": summary(list(totals)),
        "view_json_alone": summary(list(views)),
    }


def without_cache(page) -> None:  # type: ignore[no-untyped-def]
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.setCacheDisabled", {"cacheDisabled": True})


def measure_browser(
    base: str, ids: list[str], runs: int, switch_runs: int, warmup: int
) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    from tests.support import PASSWORD
    from tests.support_browser import launch_chromium

    results: dict[str, object] = {}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 1000})
        login = context.request.post(
            f"{base}/api/auth/login", data={"login": LOGIN, "password": PASSWORD}
        )
        assert login.ok, login.text()
        viewer = context.new_page()
        without_cache(viewer)

        def load(document_id: str) -> tuple[float, float]:
            start = time.perf_counter()
            viewer.goto(f"{base}/viewer?doc={document_id}", wait_until="commit")
            viewer.wait_for_function(PAGE_SHOWN, polling=5)
            wall = (time.perf_counter() - start) * 1000
            shown = viewer.evaluate(
                "() => performance.getEntriesByName('eakte-page-shown')[0].startTime"
            )
            return shown, wall

        in_browser, wall_clock = zip(*take_turns(load, ids, runs, warmup), strict=True)
        results["goto_until_first_page_browser_clock"] = summary(list(in_browser))
        results["goto_until_first_page_wall_clock"] = summary(list(wall_clock))

        if len(ids) >= 2 and switch_runs > 0:
            main = context.new_page()
            main.goto(f"{base}/suche")  # the page loads /static/viewer-link.js itself
            main.wait_for_function("typeof window.EAkteViewer !== 'undefined'")
            viewer.goto(f"{base}/viewer")

            def switch(document_id: str) -> float:
                started = main.evaluate(
                    """id => {
                      const t = performance.timeOrigin + performance.now();
                      window.__shown = EAkteViewer.show(id);
                      return t;
                    }""",
                    document_id,
                )
                viewer.wait_for_function(
                    """id => {
                      const mark = performance.getEntriesByName('eakte-page-shown')[0];
                      return mark && mark.detail.documentId === id;
                    }""",
                    arg=document_id,
                    polling=5,
                )
                assert main.evaluate("window.__shown") == "posted"
                shown = viewer.evaluate(
                    "() => performance.timeOrigin"
                    " + performance.getEntriesByName('eakte-page-shown')[0].startTime"
                )
                return shown - started

            for i in range(max(warmup, 2)):
                switch(ids[i % len(ids)])
            offset = max(warmup, 2) % len(ids)
            # Never the document already shown: the viewer would not load anything.
            switches = [switch(ids[(offset + i) % len(ids)]) for i in range(switch_runs)]
            results["show_message_until_page_shown"] = summary(switches)
        browser.close()
    return results


# --- report --------------------------------------------------------------------------------

LABELS = {
    "view_json_and_first_image": "(a) API: view JSON + first page image",
    "view_json_alone": "    of which the view JSON",
    "goto_until_first_page_browser_clock": "(b) browser: goto -> first page (browser clock)",
    "goto_until_first_page_wall_clock": "    the same on the wall clock (with Playwright)",
    "show_message_until_page_shown": "(c) open viewer: show() -> page shown",
}


def report(figures: dict[str, dict[str, float]]) -> None:
    print()
    print(f"{'':50} {'runs':>5} {'median':>8} {'p95':>8} {'min':>8} {'max':>8}")
    for key, label in LABELS.items():
        if key not in figures:
            continue
        f = figures[key]
        print(
            f"{label:50} {f['runs']:>5} {f['median_ms']:>6.1f}ms {f['p95_ms']:>6.1f}ms "
            f"{f['min_ms']:>6.1f}ms {f['max_ms']:>6.1f}ms"
        )
    print()
    for key in (
        "view_json_and_first_image",
        "goto_until_first_page_browser_clock",
        "show_message_until_page_shown",
    ):
        if key in figures:
            f = figures[key]
            verdict = "met" if f["p95_ms"] < GOAL_MS else "MISSED"
            label = LABELS[key].strip()
            print(f"goal < {GOAL_MS:.0f} ms: {label}: p95 {f['p95_ms']:.1f} ms, {verdict}")


def baseline_figures(result: dict) -> list[harness.Figure]:
    """The figures of one run's JSON that --baseline compares."""
    found = [harness.Figure("documents shown", result["documents"], "", "same")]
    for key, label in LABELS.items():
        if key in result["figures"]:
            for name in ("median_ms", "p95_ms"):
                value = result["figures"][key][name]
                found.append(harness.Figure(f"{label.strip()}, {name[:-3]}", value, "ms"))
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline:
        return harness.compare(__file__, argv, args, baseline_figures)
    root = harness.use_product()
    from tests.contention_load import free_port, wait_until_up

    docs = [Path(d).resolve() for d in args.docs] or [SAMPLES / "docs" / n for n in DEFAULT_DOCS]
    missing = [str(d) for d in docs if not d.is_file()]
    if missing:
        raise SystemExit(f"no such file: {', '.join(missing)}")
    print(
        f"{len(docs)} scans; product code in {root}; {os.cpu_count()} cores; load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        flush=True,
    )
    scratch = Path(tempfile.mkdtemp(prefix="bench-viewer-", dir=args.work_dir))
    server = None
    try:
        data_dir = scratch / "data"
        ids = prepare(data_dir, docs)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = scratch / "server.log"
        server = start_server(data_dir, port, log_path)
        wait_until_up(base, server, log_path)
        print(f"{len(ids)} documents visible to {LOGIN}; server at {base}", flush=True)
        if not ids:
            raise SystemExit(f"no document reached {LOGIN}: see {log_path}")
        figures: dict[str, dict[str, float]] = {}
        figures.update(measure_api(base, ids, args.api_runs, args.warmup))  # type: ignore[arg-type]
        figures.update(
            measure_browser(base, ids, args.browser_runs, args.switch_runs, args.warmup)  # type: ignore[arg-type]
        )
        report(figures)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {"goal_ms": GOAL_MS, "documents": len(ids), "figures": figures}, indent=2
                )
            )
    finally:
        harness.stop(server)
        harness.remove(scratch, keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
