"""Contention benchmark: another caseworker's latency while one user runs the largest bulk
actions and failed logins keep arriving, on the default SQLite setup.

The product runs as `eakte serve` (one web process, no workers; SQLite, local blob store,
embedded index) on a temporary data folder with the sample staff and households and 503 filed
documents (tests/contention_load.py: 502 in the Postkorb of the "bulk user", one of the
"victim", a caseworker of another office).

  idle   the victim alone: rounds of GET /api/inbox, GET /api/households/{bg}/file and
         GET /api/documents/{id}/view, one after the other on one keep-alive connection.
  load   the same rounds for --duration seconds while the bulk user sends, from --tabs browser
         tabs at once, POST /api/inbox/bulk with 500 ids: one tab "done" then "reopen" on 500
         different items, the others "reopen" of one item id repeated 500 times (the review's
         attack); and bursts of --burst failed logins in parallel, one burst a second.

Printed: the victim's requests, failures (any answer but 200), median, p95 and max latency in
milliseconds for both phases, and p95 under load / p95 idle; the bulk actions and logins
answered. A failed request counts with the time it took to fail.

Run from the repository root, e.g.
    .venv/bin/python bench/contention.py
    .venv/bin/python bench/contention.py --duration 120 --json contention.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import harness


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle-rounds", type=int, default=40, help="victim rounds without load")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds under load")
    parser.add_argument("--tabs", type=int, default=3, help="bulk user's tabs sending at once")
    parser.add_argument("--burst", type=int, default=12, help="failed logins per burst")
    parser.add_argument("--warmup", type=int, default=5, help="untimed victim rounds first")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the temp folder goes")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    return parser.parse_args(argv)


def summary(answers: list[tuple[str, int, float]]) -> dict[str, float]:
    times = sorted(ms for _, _, ms in answers)
    if not times:
        return {"requests": 0, "failures": 0}
    return {
        "requests": len(times),
        "failures": sum(1 for _, status, _ in answers if status != 200),
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, math.ceil(0.95 * len(times)) - 1)],  # nearest rank
        "max_ms": times[-1],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = harness.use_product()
    from tests import contention_load as contention

    work = Path(tempfile.mkdtemp(prefix="eakte-contention-", dir=args.work_dir))
    data_dir = work / "data"
    log_path = work / "server.log"
    server = None
    try:
        start = time.perf_counter()
        items, victim_document = contention.prepare(data_dir)
        print(f"{len(items) + 1} documents filed in {time.perf_counter() - start:.1f} s")
        port = contention.free_port()
        base = f"http://127.0.0.1:{port}"
        server = contention.start_server(data_dir, port, log_path, root)
        contention.wait_until_up(base, server, log_path)
        scenario = contention.Scenario(base, items, victim_document)
        victim = contention.client(base, contention.VICTIM)
        for _ in range(args.warmup):
            contention.victim_round(victim, scenario)

        idle: list[tuple[str, int, float]] = []
        for _ in range(args.idle_rounds):
            idle += contention.victim_round(victim, scenario)

        load = contention.Load(scenario, tabs=args.tabs, burst=args.burst)
        load.start()
        load.started.wait(120)
        loaded: list[tuple[str, int, float]] = []
        until = time.monotonic() + args.duration
        while time.monotonic() < until and server.poll() is None:
            loaded += contention.victim_round(victim, scenario)
        print("stopping the load (waiting for the requests under way) ...")
        load.finish()
        victim.close()

        figures = {
            "idle": summary(idle),
            "load": summary(loaded),
            "load_by_request": {
                what: summary([a for a in loaded if a[0] == what])
                for what in ("Postkorb", "E-Akte", "Dokument")
            },
            "victim_statuses_under_load": dict(Counter(str(s) for _, s, _ in loaded)),
            "bulk_answers": dict(Counter(f"{what}: {code}" for what, code in load.bulk_answers)),
            "login_answers": dict(Counter(str(status) for status in load.login_answers)),
        }
        idle_p95 = figures["idle"].get("p95_ms")
        load_p95 = figures["load"].get("p95_ms")
        figures["p95_ratio"] = load_p95 / idle_p95 if idle_p95 and load_p95 else None

        print()
        print(
            "victim (Postkorb, E-Akte, Dokument)   requests  failed  median ms    p95 ms    max ms"
        )
        for phase in ("idle", "load"):
            s = figures[phase]
            if not s.get("requests"):
                print(f"  {phase:<36} {0:>8}")
                continue
            print(
                f"  {phase:<36} {s['requests']:>8} {s['failures']:>7} {s['median_ms']:>10.1f}"
                f" {s['p95_ms']:>9.1f} {s['max_ms']:>9.1f}"
            )
        if figures["p95_ratio"] is not None:
            print(f"  p95 under load / p95 idle: {figures['p95_ratio']:.1f}")
        print(f"  victim's answers under load: {figures['victim_statuses_under_load']}")
        print(f"bulk actions answered: {figures['bulk_answers']}")
        print(f"failed logins answered: {figures['login_answers']}")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
    finally:
        harness.stop(server)
        harness.remove(work, keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
