"""Barcode benchmark (issue 19): how many of 200 generated return sheets the pipeline reads.

Each sheet is the product's own: a request letter built by pdf.request_letter.
build_request_letter (no database: a random request id, BG number, person, address, items of
the catalogue in force by default, deadline; one letter in five a reminder), whose last page
is the return sheet with the signed code (records.sheet_codes.request_code, with a key of
this run) as QR code and Code 128. That page is rasterised as a scanner would see the paper,
at 200 and at 300 dpi (pdftoppm through pdf2image), then "scanned": turned by a random skew in
[-5°, 5°], one in four upside down (180° on top), grey speckles and JPEG artefacts
(tests/support_replies19.scanned). The product's reader is the pipeline's own step,
ingest.prepare.analyse_page with the code check the pipeline passes (records.sheet_codes.
parse_code): a sheet counts as read when the page is a separator carrying exactly its code.
Further letters whose codes are signed by another key (forged) must not be read as sheets
(goal: none).

    .venv/bin/python bench/barcodes.py                  # 200 sheets + 20 forged, seed 19
    .venv/bin/python bench/barcodes.py --sheets 50 --seed 3 --json out.json
"""

from __future__ import annotations

import argparse
import io
import json
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pikepdf
from pdf2image import convert_from_bytes
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import Settings  # noqa: E402
from core.dates import LOCAL_TZ  # noqa: E402
from ingest.prepare import analyse_page  # noqa: E402
from pdf.request_letter import LetterItem, RequestLetter, build_request_letter  # noqa: E402
from records.request_catalogue import load_request_catalogue  # noqa: E402
from records.requests import default_period, period_text, words  # noqa: E402
from records.sheet_codes import parse_code, request_code  # noqa: E402
from tests.support_replies19 import scanned  # noqa: E402

DPIS = (200, 300)
MAX_SKEW = 5.0
FIRST = ("Natalia", "Jens", "Ayşe", "Sönke", "Marta", "Ole", "Dragana", "Hauke", "Lea", "Piotr")
LAST = ("Huber", "Christiansen", "Yılmaz", "Petersen", "Nowak", "Jensen", "Schmitz", "Ćosić")
STREETS = ("Königsberger Straße", "Am Binnenhafen", "Süderstraße", "Norderweg", "Schloßgang")
TOWNS = ("25813 Husum", "25899 Niebüll", "25980 Sylt", "25832 Tönning", "25840 Friedrichstadt")


def _bg(rng: random.Random) -> str:
    return f"{rng.randint(10000, 99999)}BG{rng.randint(0, 9_999_999):07d}"


def letter_of(rng: random.Random, key: str, request_id: int, bg_number: str) -> bytes:
    """A request letter as the product writes it (records.requests._letter, without the
    database): the catalogue's items with their periods, the configured warning."""
    defaults = Settings.model_fields
    catalogue = list(load_request_catalogue().values())
    today = date(2026, 12, 7) + timedelta(days=rng.randint(0, 60))
    due = today + timedelta(days=14)
    items = [
        LetterItem(entry.label, period_text(default_period(today)) if entry.period else "")
        for entry in rng.sample(catalogue, rng.randint(1, min(5, len(catalogue))))
    ]
    person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    reminder = rng.random() < 0.2
    return build_request_letter(
        RequestLetter(
            job_centre="Jobcenter Nordfriesland",
            person=person,
            address=[f"{rng.choice(STREETS)} {rng.randint(1, 120)}", rng.choice(TOWNS)],
            letter_date=today,
            bg_number=bg_number,
            request_id=request_id,
            items=items,
            due_on=due,
            due_words=words(due),
            warning=str(defaults["request_warning_text"].default).replace("{frist}", words(due)),
            requester="Laura Carstensen",
            code=request_code(key, request_id, bg_number),
            created_at=datetime(today.year, today.month, today.day, 9, 0, tzinfo=LOCAL_TZ),
            reminder=reminder,
            reminder_of=today - timedelta(days=21) if reminder else None,
        )
    )


def return_sheet(data: bytes, dpi: int) -> Image.Image:
    """The letter's last page (the return sheet) as greyscale pixels at `dpi`."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        last = len(pdf.pages)
    (page,) = convert_from_bytes(data, dpi=dpi, first_page=last, last_page=last, grayscale=True)
    return page.convert("L")


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
            request_id, bg_number = rng.randint(1, 999_999), _bg(rng)
            data = letter_of(rng, secrets.token_hex(16) if fake else key, request_id, bg_number)
            code = request_code(key, request_id, bg_number)
            skew = rng.uniform(-MAX_SKEW, MAX_SKEW)
            upside_down = rng.random() < 0.25
            for dpi in DPIS:
                page = scanned(return_sheet(data, dpi), rng, skew=skew, upside_down=upside_down)
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
                        {
                            "request_id": request_id,
                            "dpi": dpi,
                            "skew": round(skew, 2),
                            "upside_down": upside_down,
                        }
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
