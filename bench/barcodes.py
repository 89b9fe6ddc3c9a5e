"""Barcode benchmark (issue 19): how many of 200 generated return sheets the pipeline reads.

Each sheet carries a signed code of a random request id and BG number (records.sheet_codes,
with a key of this run), printed as the letter's last page prints it (QR code and Code 128,
tests/support_replies19.sheet_page), and is "scanned": rendered at 200 and at 300 dpi, turned
by a random skew in [-5°, 5°], one in four upside down (180° on top), with grey speckles and
JPEG artefacts. The product's reader is the pipeline's own step, ingest.prepare.analyse_page
with the code check the pipeline passes (records.sheet_codes.parse_code): a sheet counts as
read when the page is a separator carrying exactly its code. A further set of sheets with
codes signed by another key (forged) must not be read as sheets (goal: none).

    .venv/bin/python bench/barcodes.py                  # 200 sheets, seed 19
    .venv/bin/python bench/barcodes.py --sheets 50 --seed 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.prepare import analyse_page  # noqa: E402
from records.sheet_codes import parse_code, request_code  # noqa: E402
from tests.support_replies19 import scanned, sheet_page  # noqa: E402

DPIS = (200, 300)
MAX_SKEW = 5.0


def _bg(rng: random.Random) -> str:
    return f"{rng.randint(10000, 99999)}BG{rng.randint(0, 9_999_999):07d}"


def run(sheets: int, forged: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    key = secrets.token_hex(16)
    read: Counter[str] = Counter()
    total: Counter[str] = Counter()
    forged_read = 0
    seconds: list[float] = []
    failures: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-barcodes-") as work:
        path = Path(work) / "page.png"

        def reader(text: str) -> bool:
            return parse_code(key, text) is not None

        for number in range(sheets + forged):
            fake = number >= sheets
            code = request_code(
                secrets.token_hex(16) if fake else key, rng.randint(1, 999_999), _bg(rng)
            )
            skew = rng.uniform(-MAX_SKEW, MAX_SKEW)
            upside_down = rng.random() < 0.25
            for dpi in DPIS:
                page = scanned(sheet_page(code, dpi), rng, skew=skew, upside_down=upside_down)
                page.save(path, dpi=(dpi, dpi))
                started = time.perf_counter()
                plan = analyse_page(path, 30, accept_code=reader)
                seconds.append(time.perf_counter() - started)
                if fake:
                    forged_read += plan.sheet_code is not None
                    continue
                condition = f"{dpi} dpi, {'upside down' if upside_down else 'upright'}"
                total[condition] += 1
                if plan.sheet_code == code:
                    read[condition] += 1
                    read[f"{dpi} dpi"] += 1
                else:
                    failures.append(
                        {"dpi": dpi, "skew": round(skew, 2), "upside_down": upside_down}
                    )
    return {
        "sheets": sheets,
        "seed": seed,
        "read": {f"{dpi} dpi": read[f"{dpi} dpi"] for dpi in DPIS},
        "by_condition": {c: f"{read[c]}/{total[c]}" for c in sorted(total)},
        "forged_sheets": forged,
        "forged_read_as_sheets": forged_read,
        "median_seconds_per_page": sorted(seconds)[len(seconds) // 2] if seconds else 0.0,
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheets", type=int, default=200)
    parser.add_argument("--forged", type=int, default=20)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.sheets, args.forged, args.seed)
    for label, count in result["read"].items():  # type: ignore[attr-defined]
        print(f"{label}: {count} of {args.sheets} return sheets read")
    for label, share in result["by_condition"].items():  # type: ignore[attr-defined]
        print(f"  {label}: {share}")
    print(f"forged codes read as sheets: {result['forged_read_as_sheets']} of {args.forged}")
    print(f"median seconds a page (analyse_page): {result['median_seconds_per_page']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
