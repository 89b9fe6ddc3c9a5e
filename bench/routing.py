"""Routing benchmark: the product's recognition and routing against the truth of a folder.

Drives the product only through its command line, in a fresh temporary data folder with the
embedded defaults (SQLite, local blob store, embedded index):

    python -m app.cli migrate
    python -m app.cli import staff FOLDER/staff.csv
    python -m app.cli import households FOLDER/households.csv
    python -m app.cli ingest FOLDER/docs/*.pdf --wait
    python -m app.cli documents --json

and compares every document with `truth.jsonl`: correctly routed, misrouted, sent to clearing,
failed; per document type (and per identification case and scan level where the truth has
them); the household number found where it is printed; document type accuracy; every page
accounted for. FOLDER is in the format of ../shared/samples; `--generate N` writes one with
tests/lettergen.py first.

    .venv/bin/python bench/routing.py                         # the 40 samples
    .venv/bin/python bench/routing.py --generate 300 --seed 7 # 300 generated letters
    .venv/bin/python bench/routing.py --score-only docs.json --folder F   # no product run
    .venv/bin/python bench/routing.py --generate 150 --seed 9 --baseline main~5
        # the same letters through an earlier commit too: before and after in one run
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDER = ROOT.parent / "shared" / "samples"

GOAL_CORRECT = 0.95
GOAL_MISROUTED = 0.005
GOAL_BG_HIT = 0.99
# Truth cases whose printed household number is not the sender's own (tests/lettergen.py).
CONFLICT_CASES = frozenset({"foreign_bg", "near_bg"})

OUTCOMES = ("correct", "misrouted", "clearing", "failed", "missing")
# Settings that would point the product at real services or another data folder.
NOT_INHERITED = (
    "EAKTE_DATABASE_URL",
    "EAKTE_BLOB_STORE",
    "EAKTE_SEARCH_INDEX",
    "EAKTE_HOT_FOLDER",
    "EAKTE_DATA_DIR",
    "EAKTE_DEMO",
    "EAKTE_SECRET_KEY",
)


# ------------------------------------------------------------------------------------------
# Scoring (pure functions: truth records and the product's `documents --json` output)


def inbox_key(inbox: object) -> tuple[str, str | None] | None:
    """("user", login), ("team", name), ("clearing", None); None if there is no inbox."""
    if not isinstance(inbox, dict) or not inbox.get("kind"):
        return None
    kind = str(inbox["kind"])
    if kind == "user":
        return (kind, str(inbox.get("user")))
    if kind == "team":
        return (kind, str(inbox.get("team")))
    return (kind, None)


def describe_inbox(inbox: object) -> str:
    key = inbox_key(inbox)
    if key is None:
        return "no inbox"
    return key[0] if key[1] is None else f"{key[0]} {key[1]}"


def _failed(doc: dict) -> bool:
    status = str(doc.get("status") or "").lower()
    return "fail" in status or "error" in status


def classify(truth: dict, docs: list[dict]) -> tuple[str, str]:
    """The outcome of one letter and why. A letter the product split into several documents
    counts with its worst document (misrouted > clearing > correct)."""
    if not docs:
        return "missing", "no document from this file"
    if any(_failed(d) for d in docs):
        return "failed", f"status {', '.join(str(d.get('status')) for d in docs)}"
    expected = inbox_key(truth["expected_inbox"])
    results = []
    for doc in docs:
        got = inbox_key(doc.get("inbox"))
        if got is None:
            results.append(("failed", f"not routed (status {doc.get('status')})"))
        elif got[0] == "clearing":
            if expected is not None and expected[0] == "clearing":
                results.append(("correct", ""))
            else:
                results.append(("clearing", "sent to clearing"))
        elif expected is None or expected[0] == "clearing":
            results.append(("misrouted", "routed although it must go to clearing"))
        elif got != expected:
            results.append(("misrouted", "wrong inbox"))
        elif truth.get("bg_number") and doc.get("bg_number") != truth["bg_number"]:
            results.append(("misrouted", f"right inbox, household {doc.get('bg_number')}"))
        else:
            results.append(("correct", ""))
    order = {"failed": 0, "misrouted": 1, "clearing": 2, "correct": 3}
    outcome, reason = min(results, key=lambda r: order[r[0]])
    if len(docs) > 1:
        reason = f"{reason} (split into {len(docs)} documents)".strip()
    return outcome, reason


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _scan_level(truth: dict) -> str | None:
    levels = [d.get("level") for d in truth.get("degradation") or [] if isinstance(d, dict)]
    levels = [lv for lv in levels if isinstance(lv, int)]
    return f"level {max(levels)}" if levels else None


def _scan_kind(truth: dict) -> str | None:
    kind = truth.get("scan_kind")
    return str(kind) if kind else None


def _conflict_offered(truth: dict, docs: list[dict]) -> bool | None:
    """For a letter whose printed number points elsewhere than its sender: is it in clearing
    with both households offered? None for other letters."""
    if truth.get("case") not in CONFLICT_CASES or not truth.get("bg_number"):
        return None
    wanted = {str(truth["bg_number"])}
    printed = "".join(str(truth.get("printed_bg") or "").split())
    if truth.get("case") == "foreign_bg" and printed:  # the number of another household
        wanted.add(printed)
    for doc in docs:
        if inbox_key(doc.get("inbox")) != ("clearing", None):
            return False
        offered = {str(c) for c in doc.get("candidates") or []}
        if not wanted <= offered:
            return False
    return bool(docs)


def _bg_read(truth: dict, docs: list[dict]) -> bool:
    """The sender's own household number is among the numbers read on the pages."""
    wanted = str(truth.get("bg_number") or "")
    return any(
        str(found[0]) == wanted for d in docs for found in d.get("bg_numbers_found") or [] if found
    ) or any(str(d.get("bg_number")) == wanted for d in docs)


def score(truth: list[dict], documents: list[dict]) -> dict:
    """Compare the product's documents with the truth; returns every figure and every row."""
    by_source: dict[str, list[dict]] = defaultdict(list)
    for doc in documents:
        by_source[Path(str(doc.get("source") or "")).name].append(doc)
    known = {Path(t["file"]).name for t in truth}
    rows = []
    for t in truth:
        name = Path(t["file"]).name
        docs = by_source.get(name, [])
        outcome, reason = classify(t, docs)
        pages = sum(int(d.get("pages") or 0) for d in docs)
        bg_values = sorted({str(d.get("bg_number")) for d in docs}) if docs else []
        rows.append(
            {
                "file": name,
                "doc_type": t["doc_type"],
                "case": t.get("case"),
                "scan": _scan_level(t),
                "scan_kind": _scan_kind(t),
                "conflict_offered": _conflict_offered(t, docs),
                "bg_read": bool(docs) and _bg_read(t, docs),
                "outcome": outcome,
                "reason": reason,
                "expected_inbox": t["expected_inbox"],
                "inbox": [d.get("inbox") for d in docs],
                "product_reason": [d.get("reason") or d.get("error") for d in docs],
                "truth_bg_number": t.get("bg_number"),
                "bg_number": [d.get("bg_number") for d in docs],
                "bg_on_paper": bool(t.get("bg_on_paper")),
                "bg_hit": bool(docs) and bg_values == [str(t.get("bg_number"))],
                "truth_doc_type": t["doc_type"],
                "product_doc_type": [d.get("doc_type") for d in docs],
                "doc_type_ok": bool(docs) and all(d.get("doc_type") == t["doc_type"] for d in docs),
                "truth_pages": int(t["pages"]),
                "pages": pages,
                "pages_ok": pages == int(t["pages"]),
            }
        )

    def summarise(selected: list[dict]) -> dict:
        n = len(selected)
        counts = {o: sum(r["outcome"] == o for r in selected) for o in OUTCOMES}
        present = [r for r in selected if r["outcome"] != "missing"]
        return {
            "n": n,
            **counts,
            **{f"{o}_rate": _rate(counts[o], n) for o in OUTCOMES},
            "doc_type_ok": sum(r["doc_type_ok"] for r in present),
            "doc_type_rate": _rate(sum(r["doc_type_ok"] for r in present), len(present)),
        }

    def grouped(key: str) -> dict[str, dict]:
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            if r[key] is not None:
                groups[str(r[key])].append(r)
        return {k: summarise(v) for k, v in sorted(groups.items())}

    bg_rows = [r for r in rows if r["bg_on_paper"] and r["truth_bg_number"]]
    bg_hits = sum(r["bg_hit"] for r in bg_rows)
    bg_read = sum(r["bg_read"] for r in bg_rows)
    conflicts = [r for r in rows if r["conflict_offered"] is not None]
    return {
        "by_scan_kind": grouped("scan_kind"),
        "bg_read": {"n": len(bg_rows), "hits": bg_read, "rate": _rate(bg_read, len(bg_rows))},
        "conflicts": {
            "n": len(conflicts),
            "offered": sum(bool(r["conflict_offered"]) for r in conflicts),
        },
        "overall": summarise(rows),
        "by_doc_type": grouped("doc_type"),
        "by_case": grouped("case"),
        "by_scan": grouped("scan"),
        "bg": {"n": len(bg_rows), "hits": bg_hits, "rate": _rate(bg_hits, len(bg_rows))},
        "pages": {
            "documents_ok": sum(r["pages_ok"] for r in rows),
            "documents": len(rows),
            "truth_pages": sum(r["truth_pages"] for r in rows),
            "product_pages": sum(r["pages"] for r in rows),
            "all_accounted": all(r["pages_ok"] for r in rows),
        },
        "unmatched_documents": sorted(name for name in by_source if name not in known),
        "rows": rows,
    }


def _pct(value: float | None) -> str:
    return "    –  " if value is None else f"{100 * value:6.1f} %"


def _goal(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def format_report(result: dict, *, title: str = "") -> str:
    lines = []
    if title:
        lines += [title, ""]
    header = (
        f"{'':36} {'n':>5} {'correct':>9} {'misrouted':>9} {'clearing':>9} {'failed':>9}"
        f" {'missing':>9} {'doc type':>9}"
    )

    def table(name: str, groups: dict[str, dict]) -> None:
        if not groups:
            return
        lines.append(header.replace(" " * 36, f"{name:36}", 1))
        for label, s in groups.items():
            lines.append(
                f"{label:36} {s['n']:5d} {_pct(s['correct_rate'])} {_pct(s['misrouted_rate'])}"
                f" {_pct(s['clearing_rate'])} {_pct(s['failed_rate'])} {_pct(s['missing_rate'])}"
                f" {_pct(s['doc_type_rate'])}"
            )
        lines.append("")

    table("all documents", {"all": result["overall"]})
    table("by document type", result["by_doc_type"])
    if len(result["by_case"]) > 1:
        table("by identification (truth `case`)", result["by_case"])
    if len(result["by_scan"]) > 1:
        table("by scan degradation (worst page)", result["by_scan"])
    if len(result.get("by_scan_kind") or {}) > 1:
        table("by kind of scan", result["by_scan_kind"])

    overall = result["overall"]
    bg = result["bg"]
    pages = result["pages"]
    lines.append(
        f"BG number found where printed: {bg['hits']}/{bg['n']} = {_pct(bg['rate']).strip()}"
    )
    read = result.get("bg_read")
    if read:
        lines.append(
            f"BG number read where printed (routed or offered): {read['hits']}/{read['n']} = "
            f"{_pct(read['rate']).strip()}"
        )
    conflicts = result.get("conflicts")
    if conflicts and conflicts["n"]:
        lines.append(
            f"Conflicting numbers in clearing with both candidates: "
            f"{conflicts['offered']}/{conflicts['n']}"
        )
    lines.append(
        f"Every page accounted for: {'yes' if pages['all_accounted'] else 'NO'} "
        f"({pages['documents_ok']}/{pages['documents']} files with the right page count; "
        f"{pages['product_pages']} pages in documents, {pages['truth_pages']} in the truth)"
    )
    if result["unmatched_documents"]:
        lines.append(f"Documents from unknown files: {', '.join(result['unmatched_documents'])}")
    correct_ok = (overall["correct_rate"] or 0) >= GOAL_CORRECT
    misrouted_ok = (overall["misrouted_rate"] or 0) <= GOAL_MISROUTED
    bg_ok = bg["rate"] is None or bg["rate"] >= GOAL_BG_HIT
    lines.append(
        f"Goals: correct >= {GOAL_CORRECT:.0%}: {_goal(correct_ok)}; misrouted <= "
        f"{GOAL_MISROUTED:.1%}: {_goal(misrouted_ok)}; BG number >= {GOAL_BG_HIT:.0%}: "
        f"{_goal(bg_ok)}"
    )
    if not result["pages"]["product_pages"] and result["rows"]:
        lines.append("WARNING: the product listed no documents for these files at all.")
    problems = [r for r in result["rows"] if r["outcome"] != "correct"]
    if problems:
        lines += ["", "Not correct (misrouted first):"]
        order = {"misrouted": 0, "failed": 1, "missing": 2, "clearing": 3}
        for r in sorted(problems, key=lambda r: (order[r["outcome"]], r["file"])):
            got = "; ".join(describe_inbox(i) for i in r["inbox"]) or "–"
            case = f" [{r['case']}]" if r["case"] else ""
            lines.append(
                f"  {r['file']:10} {r['outcome']:9} {r['doc_type']:34}{case} expected "
                f"{describe_inbox(r['expected_inbox'])}, got {got}"
                f"{' (' + r['reason'] + ')' if r['reason'] else ''}"
            )
            said = "; ".join(str(x) for x in r["product_reason"] if x)
            if said:
                lines.append(f"  {'':10} product: {said}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# Running the product


def load_truth(folder: Path) -> list[dict]:
    with (folder / "truth.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def python_executable() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def product_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(
        EAKTE_DATA_DIR=str(data_dir),
        EAKTE_DEMO="false",
        EAKTE_SECRET_KEY="bench-routing-" + secrets.token_hex(16),
        OMP_THREAD_LIMIT="1",
    )
    return env


def cli(
    args: list[str],
    env: dict[str, str],
    *,
    timeout: float,
    check: bool = True,
    quiet: bool = False,
    root: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    from harness import cli_module  # bench/ is on the path when this runs as a script

    command = [python_executable(), "-m", cli_module(root), *args]
    shown = " ".join(args[:3]) + (" ..." if len(args) > 3 else "")
    if not quiet:
        print(f"$ python -m app.cli {shown}", file=sys.stderr, flush=True)
    done = subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-20:])
        raise SystemExit(
            f"python -m app.cli {shown} failed with exit code {done.returncode}:\n{tail}"
        )
    return done


def run_product(
    folder: Path, data_dir: Path, *, separate_worker: bool, timeout: float, root: Path = ROOT
) -> tuple[list[dict], dict]:
    """Run the product whose code lies in `root` (this checkout, or a baseline's) on `folder`."""
    env = product_env(data_dir)

    files = sorted(str(p) for p in (folder / "docs").glob("*.pdf"))
    if not files:
        raise SystemExit(f"no PDFs in {folder / 'docs'}")
    cli(["migrate"], env, timeout=300, root=root)
    cli(["import", "staff", str(folder / "staff.csv")], env, timeout=300, root=root)
    cli(["import", "households", str(folder / "households.csv")], env, timeout=300, root=root)
    started = time.perf_counter()
    if separate_worker:
        cli(["ingest", *files], env, timeout=timeout, root=root)
        worker = cli(["worker", "--until-idle"], env, timeout=timeout, check=False, root=root)
        exit_code = worker.returncode
    else:
        ingest = cli(["ingest", *files, "--wait"], env, timeout=timeout, check=False, root=root)
        exit_code = ingest.returncode
        if exit_code not in (0, 1):
            tail = "\n".join((ingest.stderr or ingest.stdout).strip().splitlines()[-20:])
            raise SystemExit(f"ingest --wait failed with exit code {exit_code}:\n{tail}")
    seconds = time.perf_counter() - started
    listed = cli(["documents", "--json"], env, timeout=300, root=root)
    try:
        documents = json.loads(listed.stdout)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"`documents --json` did not print JSON: {exc}") from None
    if not isinstance(documents, list):
        raise SystemExit("`documents --json` must print a JSON array")
    return documents, {"seconds": seconds, "files": len(files), "exit_code": exit_code}


def format_comparison(before: dict, after: dict, *, ref: str) -> str:
    """Before and after on the same letters: the headline figures and every changed letter."""

    def figures(result: dict) -> list[str]:
        o = result["overall"]
        bg, read = result["bg"], result.get("bg_read") or {}
        conflicts = result.get("conflicts") or {}
        return [
            f"{o['correct']}/{o['n']} = {_pct(o['correct_rate']).strip()}",
            f"{o['misrouted']}",
            f"{o['clearing']}",
            f"{o['failed'] + o['missing']}",
            f"{_pct(o['doc_type_rate']).strip()}",
            f"{bg['hits']}/{bg['n']}",
            f"{read.get('hits', '–')}/{read.get('n', '–')}",
            f"{conflicts.get('offered', '–')}/{conflicts.get('n', '–')}",
        ]

    labels = [
        "correct",
        "misrouted",
        "clearing",
        "failed or missing",
        "document type right",
        "BG number: routed to it",
        "BG number: read on the page",
        "conflicts offered both",
    ]
    lines = [f"Before ({ref}) and after (this checkout) on the same letters:", ""]
    lines.append(f"{'':30} {'before':>16} {'after':>16}")
    for label, b, a in zip(labels, figures(before), figures(after), strict=True):
        lines.append(f"{label:30} {b:>16} {a:>16}")
    old = {r["file"]: r for r in before["rows"]}
    changed = [
        (old[r["file"]], r)
        for r in after["rows"]
        if r["file"] in old and old[r["file"]]["outcome"] != r["outcome"]
    ]
    if changed:
        lines += ["", "Letters whose outcome changed:"]
        for b, a in changed:
            case = f" [{a['case']}]" if a["case"] else ""
            lines.append(
                f"  {a['file']:10} {a['doc_type']:34}{case} {b['outcome']} -> {a['outcome']}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Routing benchmark: correctly routed, misrouted and clearing rates of the "
        "product on a folder of scanned letters with truth (format of ../shared/samples).",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        default=DEFAULT_FOLDER,
        help=f"folder with staff.csv, households.csv, docs/, truth.jsonl "
        f"(default {DEFAULT_FOLDER})",
    )
    parser.add_argument(
        "--generate",
        type=int,
        metavar="N",
        help="generate N letters with tests/lettergen.py into a temporary "
        "folder and benchmark those instead",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed for --generate (default 1)")
    parser.add_argument(
        "--households",
        type=int,
        default=300,
        help="households in generated master data (default 300)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="also write every figure and every document's result as JSON",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary data folder (and the generated letters)",
    )
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="run `ingest` without --wait, then `worker --until-idle`",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=4 * 3600,
        help="seconds the processing may take (default 4 h)",
    )
    parser.add_argument(
        "--score-only",
        type=Path,
        metavar="DOCS_JSON",
        help="do not run the product; score this saved `documents --json` output against --folder",
    )
    parser.add_argument(
        "--baseline",
        metavar="GIT_REF",
        help="also run the product as it was at this commit on the same letters and print "
        "before and after side by side",
    )
    args = parser.parse_args(argv)

    temp_dirs: list[Path] = []
    try:
        folder = args.folder
        if args.generate:
            sys.path.insert(0, str(ROOT))
            from tests.lettergen import generate

            folder = Path(tempfile.mkdtemp(prefix="eakte-letters-"))
            temp_dirs.append(folder)
            started = time.perf_counter()
            generate(folder, args.generate, args.seed, households=args.households)
            print(
                f"generated {args.generate} letters (seed {args.seed}) in "
                f"{time.perf_counter() - started:.1f} s: {folder}",
                file=sys.stderr,
            )
        truth = load_truth(folder)
        run: dict = {}
        if args.score_only:
            documents = json.loads(args.score_only.read_text(encoding="utf-8"))
        else:
            data_dir = Path(tempfile.mkdtemp(prefix="eakte-bench-routing-"))
            temp_dirs.append(data_dir)
            documents, run = run_product(
                folder, data_dir, separate_worker=args.separate_worker, timeout=args.timeout
            )
            if args.keep:
                (data_dir / "documents.json").write_text(
                    json.dumps(documents, ensure_ascii=False, indent=1), encoding="utf-8"
                )
        result = score(truth, documents)
        before = None
        if args.baseline and not args.score_only:
            from harness import checkout

            baseline_data = Path(tempfile.mkdtemp(prefix="eakte-bench-baseline-"))
            temp_dirs.append(baseline_data)
            with checkout(args.baseline) as baseline_root:
                print(f"baseline {args.baseline}: {baseline_root}", file=sys.stderr)
                old_documents, _ = run_product(
                    folder,
                    baseline_data,
                    separate_worker=args.separate_worker,
                    timeout=args.timeout,
                    root=baseline_root,
                )
            before = score(truth, old_documents)
        pages = sum(int(t["pages"]) for t in truth)
        title = f"Routing benchmark: {len(truth)} documents, {pages} pages from {folder}"
        if run:
            title += (
                f"\nProduct: ingest and processing {run['seconds']:.1f} s "
                f"({pages / max(run['seconds'], 1e-9):.2f} pages/s), "
                f"exit code {run['exit_code']}"
            )
        print(format_report(result, title=title))
        if before is not None:
            print()
            print(format_comparison(before, result, ref=args.baseline))
        if args.json:
            payload = {"folder": str(folder), "run": run, **result}
            if before is not None:
                payload["baseline"] = {"ref": args.baseline, **before}
            args.json.write_text(
                json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8"
            )
    finally:
        for path in temp_dirs:
            if args.keep:
                print(f"kept {path}", file=sys.stderr)
            else:
                shutil.rmtree(path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
