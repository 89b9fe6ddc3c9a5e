"""Digital text benchmark: an e-mail and a born-digital PDF through the worker, before and after.

Two inputs, made here and the same on every run:

  mail   an HTML e-mail (script, style and a remote image in the markup, never fetched) with an
         inline PNG that shows text, and a ~600 KB plain-text attachment (a bank export), about
         843 KB in all, like the public test file that became a 259-page OCR job;
  pdf    a 12-page born-digital PDF: a letter's text drawn with an embedded font on every page.

Each is handed in (ingest.intake.accept_file) to a fresh embedded runtime (SQLite, local blob
store, embedded index) and ingest.worker.run_worker(until_idle=True) is timed end to end, once
with the product at a git ref (--baseline, default 4c7c592, `main` when this work began; checked
out with `git worktree add` into a temporary folder) and once with the working tree, in the same
run and with the same Python environment. Each run is a child process with the tree's folder as
its working directory and import path. OCR is counted at the pipeline's entry point
(ingest.pipeline.read_page, ocr_page in older trees, wrapped; tesseract still runs), CPU
seconds include the child processes (pdftoppm, tesseract, ...).

Run from the repository root:
    .venv/bin/python bench/email_digital.py
    .venv/bin/python bench/email_digital.py --baseline main --only pdf
"""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEFAULT_BASELINE = "4c7c592"

# The child: runs one input through one tree's worker and prints its figures as JSON.
CHILD = r"""
import json, resource, sys, tempfile, threading, time
from pathlib import Path

import ingest.pipeline
from ingest.intake import accept_file
from ingest.worker import run_worker
from core.config import Settings
from core.db import transaction
from records.models import Page, ScanBatch
from app.runtime import build_runtime
from sqlalchemy import func, select

source, cores = Path(sys.argv[1]), int(sys.argv[2])
calls = [0]
entry = "read_page" if hasattr(ingest.pipeline, "read_page") else "ocr_page"
real = getattr(ingest.pipeline, entry)


def counted(*args, **kwargs):
    calls[0] += 1
    return real(*args, **kwargs)


setattr(ingest.pipeline, entry, counted)
with tempfile.TemporaryDirectory(prefix="bench-digital-") as data:
    settings = Settings(
        demo=False,
        secret_key="bench-secret-key-0123456789",
        data_dir=Path(data),
        ocr_processes=cores,
        qa_required=False,
    )
    runtime = build_runtime(settings)
    batch, _ = accept_file(runtime, source, source.name, None, channel="cli")
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run_worker(runtime, threading.Event(), until_idle=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before))
    with transaction(runtime.sessions) as session:
        status = session.get(ScanBatch, batch.id).status
        pages = session.scalar(select(func.count(Page.id)))
    runtime.close()
print(json.dumps({"status": status, "pages": pages, "ocr": calls[0], "seconds": seconds,
                  "cpu": cpu}))
"""


# --- the inputs -------------------------------------------------------------------------------


def receipt_png() -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1654, 700), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 34)
    for number, line in enumerate(
        ["Quittung Nr. 4711", "Mietzahlung Dezember 2026", "Betrag 450,00 Euro erhalten"]
    ):
        draw.text((160, 160 + 70 * number), line, font=font, fill=0)
    # a grey stamp of paper texture, as a photo of a receipt has; the same on every run
    rng = random.Random(7)
    texture = bytes(rng.randint(200, 255) for _ in range(500 * 60))
    image.paste(Image.frombytes("L", (500, 60), texture), (1000, 520))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(200, 200))
    return buffer.getvalue()


def bank_export(size: int) -> str:
    """A CSV bank export of about `size` bytes, the same on every run."""
    rng = random.Random(13)
    purposes = ["Miete", "Strom", "Lebensmittel", "Gehalt", "Kindergeld", "Versicherung"]
    rows = ["Buchungstag;Verwendungszweck;Betrag;Saldo"]
    total = 0
    balance = 1_000_00
    while total < size:
        amount = rng.randint(-90_000, 60_000)
        balance += amount
        day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        row = (
            f"{day};{rng.choice(purposes)} Ref. {rng.randint(10**5, 10**6 - 1)};"
            f"{amount / 100:.2f};{balance / 100:.2f}".replace(".", ",")
        )
        rows.append(row)
        total += len(row) + 1
    return "\n".join(rows) + "\n"


def test_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Stefan Koch <s.koch@example.org>"
    message["To"] = "jobcenter@example.org"
    message["Subject"] = "Kontoauszüge und Quittung"
    message["Date"] = "Tue, 01 Dec 2026 09:30:00 +0100"
    message["Message-ID"] = "<bench-digital@example.org>"
    message.set_content(
        "<html><head><script>alert(1)</script><style>p{color:red}</style></head><body>"
        "<p>Sehr geehrte Damen und Herren,</p><p>anbei meine <b>Kontoauszüge</b> der letzten "
        "zwölf Monate und die Quittung über die Miete.</p>"
        "<p><img src='https://tracker.example/p.gif' alt=''><img src='cid:quittung'></p>"
        "<p>Mit freundlichen Grüßen<br>Stefan Koch</p></body></html>",
        subtype="html",
    )
    message.add_related(receipt_png(), "image", "png", cid="<quittung>")
    message.add_attachment(
        bank_export(600_000), subtype="plain", filename="umsaetze.csv", cte="base64"
    )
    return bytes(message)


WORDS = (
    "Bescheid über Leistungen zur Sicherung des Lebensunterhalts nach dem Zweiten Buch "
    "Sozialgesetzbuch Bedarfsgemeinschaft Kosten der Unterkunft und Heizung Regelbedarf "
    "Mehrbedarf Einkommen Anrechnung Bewilligungszeitraum monatlich Euro"
)


def digital_pdf(pages: int = 12) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    pdf.add_font("DejaVu", "", FONT)
    rng = random.Random(12)
    words = WORDS.split()
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("DejaVu", "", 14)
        pdf.text(60, 70, f"Abrechnung der Nebenkosten 2026 – Seite {number} von {pages}")
        pdf.set_font("DejaVu", "", 10.5)
        for line in range(48):
            pdf.text(60, 110 + 14.5 * line, " ".join(rng.choice(words) for _ in range(11)))
    return bytes(pdf.output())


# --- running ----------------------------------------------------------------------------------


def run_tree(tree: Path, source: Path, cores: int) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(source), str(cores)],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/local/bin:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode != 0:
        raise SystemExit(f"run in {tree} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git ref of BEFORE")
    parser.add_argument("--only", choices=["mail", "pdf"], help="one input only")
    parser.add_argument("--cores", type=int, default=2, help="ocr_processes of both runs")
    parser.add_argument("--keep", type=Path, help="also write the inputs into this folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-email-digital-") as temporary:
        work = Path(temporary)
        inputs = {
            "mail": ("kontoauszuege.eml", test_mail()),
            "pdf": ("nebenkosten.pdf", digital_pdf()),
        }
        if args.only:
            inputs = {args.only: inputs[args.only]}
        files = {}
        for key, (name, data) in inputs.items():
            files[key] = work / name
            files[key].write_bytes(data)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                (args.keep / name).write_bytes(data)
        baseline = work / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(baseline), args.baseline],
            cwd=REPO,
            check=True,
        )
        try:
            rows = []
            for key, path in files.items():
                before = run_tree(baseline, path, args.cores)
                after = run_tree(REPO, path, args.cores)
                rows.append((key, path, before, after))
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(baseline)], cwd=REPO, check=False
            )
        print(f"baseline {args.baseline} against the working tree, ocr_processes={args.cores}")
        print(f"{'input':<28} {'':<7} {'status':<10} {'pages':>6} {'OCR':>5} ", end="")
        print(f"{'s':>8} {'CPU s':>8}")
        for key, path, before, after in rows:
            size = path.stat().st_size / 1024
            label = f"{key} ({size:.0f} KB)"
            for name, figures in (("before", before), ("after", after)):
                print(
                    f"{label:<28} {name:<7} {figures['status']:<10} {figures['pages']:>6} "
                    f"{figures['ocr']:>5} {figures['seconds']:>8.1f} {figures['cpu']:>8.1f}"
                )
                label = ""
            ratio = before["seconds"] / after["seconds"] if after["seconds"] else float("inf")
            cpu = before["cpu"] / after["cpu"] if after["cpu"] else float("inf")
            print(f"{'':<28} ratio   before/after: {ratio:.1f}x time, {cpu:.1f}x CPU")


if __name__ == "__main__":
    main()
