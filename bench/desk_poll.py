"""What an open scanning desk's poll costs the server while nothing changed.

An open /scanstelle asks for its two lists every few seconds (the quality check every 6 s, the
batches every 2 s) with the ETag of what it shows. Before issue 15's live-update work the server
read and drew the whole partial for every ask and compared a hash of the HTML (and audited the
read); now the ETag is the list's change token, computed by the database in a few aggregate
queries, and an unchanged ask is answered 304 without reading or drawing the list.

    .venv/bin/python bench/desk_poll.py --baseline main          # before and after, one run
    .venv/bin/python bench/desk_poll.py --entries 2000 --batches 80 --polls 200

A fresh embedded product (SQLite, local blob store, embedded index) in a temporary folder: the
sample staff and households, `--batches` batches with `--entries` letters in all waiting for the
check (filed as recognition leaves them, tests/support_desk.py). The desk's user polls through
the product app in this process (fastapi's TestClient: session, access check, the route, the
answer): each list once without ETag (drawn), then `--polls` times with it (unchanged); then one
decision, and the next ask of each list (changed: drawn anew). Times are the wall time of each
ask; the answers' statuses are reported as counts, which must be the same on both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness

DESK = "post.1"
BACKGROUND = {"X-EAkte-Background": "1"}  # as live.js asks
LISTS = {"quality check": "/scanstelle/pruefung", "batches": "/scanstelle/stapel"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=2000, help="letters waiting (2000)")
    parser.add_argument("--batches", type=int, default=80, help="batches they came in (80)")
    parser.add_argument("--polls", type=int, default=200, help="unchanged asks per list (200)")
    parser.add_argument("--warmup", type=int, default=10, help="asks not timed (10)")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    harness.add_baseline_options(parser)
    return parser.parse_args(argv)


def _timed(client, path: str, **headers: str):  # type: ignore[no-untyped-def]
    """One ask of `path`: milliseconds and the answer."""
    started = time.perf_counter()
    answer = client.get(path, headers=headers)
    return (time.perf_counter() - started) * 1000, answer


def measure(data_dir: Path, args: argparse.Namespace) -> dict:
    from fastapi.testclient import TestClient

    from app.product import create_product_app
    from app.runtime import build_runtime
    from tests.support import PASSWORD, load_people
    from tests.support_desk import desk_batch

    runtime = build_runtime(harness.embedded_settings(data_dir))
    try:
        load_people(runtime)
        per_batch, rest = divmod(args.entries, args.batches)
        letters = []
        for number in range(args.batches):
            size = per_batch + (1 if number < rest else 0)
            letters += desk_batch(runtime, size, f"stapel-{number + 1:03}.pdf").documents
        client = TestClient(create_product_app(runtime))
        login = client.post("/api/auth/login", json={"login": DESK, "password": PASSWORD})
        assert login.status_code == 200, login.text
        figures: dict[str, dict[str, float]] = {}
        statuses: dict[str, int] = {}
        tags = {}
        for name, path in LISTS.items():
            drawn, answer = _timed(client, path)
            assert answer.status_code == 200, answer.text
            tags[name] = answer.headers["etag"]
            figures[f"{name}: first ask, drawn"] = {"median_ms": drawn, "p95_ms": drawn}
            times = []
            for turn in range(args.warmup + args.polls):
                took, answer = _timed(client, path, **{"If-None-Match": tags[name], **BACKGROUND})
                status = answer.status_code
                statuses[f"{name}: unchanged asks answered {status}"] = (
                    statuses.get(f"{name}: unchanged asks answered {status}", 0) + 1
                )
                if turn >= args.warmup:
                    times.append(took)
            times.sort()
            figures[f"{name}: unchanged ask"] = {
                "median_ms": statistics.median(times),
                "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
            }
        decided = client.post(
            f"/api/documents/{letters[0]}/qa", json={"decision": "approve", "counted_pages": 1}
        )
        assert decided.status_code == 200, decided.text
        for name, path in LISTS.items():
            took, answer = _timed(client, path, **{"If-None-Match": tags[name], **BACKGROUND})
            status = answer.status_code
            statuses[f"{name}: ask after a decision answered {status}"] = 1
            figures[f"{name}: ask after a decision, drawn"] = {"median_ms": took, "p95_ms": took}
        return {"entries": len(letters), "figures": figures, "statuses": statuses}
    finally:
        runtime.close()


def baseline_figures(result: dict) -> list[harness.Figure]:
    found = [harness.Figure("letters waiting for the check", result["entries"], "", "same")]
    for label, count in sorted(result["statuses"].items()):
        found.append(harness.Figure(label, count, "", "same"))
    for label, figure in result["figures"].items():
        names = ("median_ms", "p95_ms") if "unchanged" in label else ("median_ms",)
        for name in names:
            found.append(harness.Figure(f"{label}, {name[:-3]}", figure[name], "ms"))
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline:
        return harness.compare(__file__, argv, args, baseline_figures)
    root = harness.use_product()
    print(
        f"{args.entries} letters in {args.batches} batches; product code in {root}; "
        f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        flush=True,
    )
    scratch = Path(tempfile.mkdtemp(prefix="bench-desk-poll-", dir=args.work_dir))
    try:
        result = measure(scratch / "data", args)
    finally:
        harness.remove(scratch, keep=args.keep)
    for label, figure in result["figures"].items():
        print(f"{label:<46} median {figure['median_ms']:8.2f} ms   p95 {figure['p95_ms']:8.2f} ms")
    for label, count in sorted(result["statuses"].items()):
        print(f"{label:<46} {count}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
