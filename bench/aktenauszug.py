"""Aktenauszug benchmark: size and build time of the file export of a generated household.

The household's file is made of the sample scans (`../shared/samples/docs`, in the order of
`truth.jsonl`): the pages of each are merged into its archive PDF with
`ingest.archive_pdf.write_pdfa` as the worker does (without OCR: the text layer is not what is
measured here), two documents of every twelve are withheld, the senders carry names with
diacritics (Yılmaz, Wiśniewski, Ștefan). Then `records.aktenauszug.build_export` writes the
export, once to warm up and `--repeat` times timed.

Printed: pages, the export's size, the documents' sizes, the export's own bytes (cover,
contents, placeholders, stamps, fonts, outline: export minus documents), the embedded font
programs as stored, the median build time, and whether pdftotext finds the names as written.

    .venv/bin/python bench/aktenauszug.py
    .venv/bin/python bench/aktenauszug.py --documents 40 --repeat 5 --json aktenauszug.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pikepdf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest.archive_pdf import write_pdfa  # noqa: E402
from records.aktenauszug import ExportHeader, ExportItem, build_export  # noqa: E402

SAMPLES = REPO.parent / "shared" / "samples"
NAMES = ("Yılmaz", "Wiśniewski", "Ștefan", "Müller", "Łukasz")
HEADER = ExportHeader(
    bg_number="95401BG0012345",
    household_name="Kowalski, Andreas",
    purpose="Übersendung der Verwaltungsakte an das Sozialgericht",
    recipient="Sozialgericht Schleswig, Az. S 12 AS 345/26",
    legal_basis="§ 104 SGG (Verwaltungsakte an das Gericht)",
    created_by="Özdemir, Ayşe",
    created_at=datetime(2026, 11, 5, 9, 41, 7, tzinfo=UTC),
    job_centre="Jobcenter Kreis Nordfriesland",
)


def household(samples: Path, count: int, work: Path) -> list[ExportItem]:
    truth = [json.loads(line) for line in (samples / "truth.jsonl").read_text().splitlines()]
    items = []
    for number, entry in enumerate(truth[:count], start=1):
        singles = []
        with pikepdf.open(samples / entry["file"]) as source:
            for index, page in enumerate(source.pages):
                with pikepdf.new() as one:
                    one.pages.append(page)
                    singles.append(work / f"{number:03d}-{index}.pdf")
                    one.save(singles[-1])
        document = work / f"document-{number:03d}.pdf"
        created = datetime(2026, 10, 1, tzinfo=UTC)
        write_pdfa(singles, document, title=entry["doc_type"], created=created)
        withheld = number % 12 in (5, 11)
        items.append(
            ExportItem(
                document_id=f"doc-{number}",
                title=entry["doc_type"].replace("_", " ").capitalize(),
                date=date(2026, 10, 1 + number % 28),
                sender=f"{entry['person']} (c/o {NAMES[number % len(NAMES)]})",
                pdf=None if withheld else document,
                withheld_reason="Schutz Dritter (§ 25 Abs. 3 SGB X)" if withheld else None,
            )
        )
    return items


def font_programs(path: Path) -> dict[str, int]:
    """Embedded font name -> bytes of its font program as stored (compressed)."""
    sizes = {}
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            for font in page.obj.get("/Resources", {}).get("/Font", {}).values():
                if font.get("/Subtype") != "/Type0":
                    continue
                descriptor = font.DescendantFonts[0].FontDescriptor
                program = descriptor.get("/FontFile2")
                if program is not None:
                    sizes[str(font.BaseFont)[1:]] = len(program.read_raw_bytes())
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--documents", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-aktenauszug-") as scratch:
        work = Path(scratch)
        items = household(args.samples, args.documents, work)
        target = work / "aktenauszug.pdf"
        build_export(items, HEADER, target)  # warm: fonts read once per process
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = build_export(items, HEADER, target)
            times.append(time.perf_counter() - started)
        documents = sum(item.pdf.stat().st_size for item in items if item.pdf)
        size = target.stat().st_size
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(target), "-"],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        figures = {
            "documents": len(items),
            "withheld": sum(1 for item in items if item.pdf is None),
            "pages": result.pages,
            "export_bytes": size,
            "documents_bytes": documents,
            "own_bytes": size - documents,
            "font_programs_bytes": font_programs(target),
            "build_seconds_median": round(statistics.median(times), 4),
            "names_extract_as_written": all(name in text for name in (*NAMES, "Özdemir, Ayşe")),
        }
    for key, value in figures.items():
        print(f"{key:26} {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
