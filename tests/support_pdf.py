"""What the PDF tests share: veraPDF, the Aktenauszug header of the export tests, and sample
scans OCR'd by tesseract as the worker does (tests/test_aktenauszug.py, test_archive_pdf.py,
test_pdfua.py)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from records.aktenauszug import ExportHeader
from tests.support import SAMPLES

OCR_TIMEOUT = 120
BG = "95401BG0012345"

HEADER = ExportHeader(
    bg_number=BG,
    household_name="Kowalski, Andreas",
    purpose="Akteneinsicht (§ 25 SGB X)",
    recipient="Rechtsanwältin Schäfer, Kiel, Az. 17/26",
    legal_basis="§ 25 SGB X",
    created_by="Özdemir, Ayşe",
    created_at=datetime(2026, 11, 5, 9, 41, 7, tzinfo=UTC),  # 10:41 in Kiel
    job_centre="Jobcenter Kiel",
)
REASON = "Schutz Dritter (§ 25 Abs. 3 SGB X)"


def verapdf() -> Path:
    value = os.environ.get("EAKTE_VERAPDF")
    if not value:
        message = "EAKTE_VERAPDF is not set: scripts/test.sh installs veraPDF and exports it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return Path(value)


@dataclass(frozen=True)
class Scan:
    sample: str
    dpi: int
    bilevel: bool
    upside_down: bool
    text: tuple[str, ...]  # what pdftotext must find on the page


# 0002 is bilevel and upside down; the worker turns such pages before OCR, so does this test.
SCANS = (
    Scan("0003.pdf", 200, False, False, ("Nadine Schmitt", "Widerspruch gegen den Bescheid")),
    Scan("0004.pdf", 300, False, False, ("Reinigungsdienst", "Verdienstabrechnung Oktober 2026")),
    Scan("0002.pdf", 200, True, True, ("Hausverwaltung Petersen", "Betriebskostenabrechnung")),
)


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"OMP_THREAD_LIMIT": "1"}
    return subprocess.run(args, capture_output=True, text=True, timeout=OCR_TIMEOUT, env=env)


def ocr_page(scan: Scan, work: Path) -> Path:
    """tesseract's one-page PDF of a sample scan, made as the worker makes it.

    The worker hands tesseract 8-bit gray; the bilevel scan goes in as 1-bit instead, so that
    the CCITT G4 image tesseract then writes is covered as well.
    """
    base = work / Path(scan.sample).stem
    colour = "-mono" if scan.bilevel else "-gray"
    source = SAMPLES / "docs" / scan.sample
    rendered = run(["pdftoppm", "-r", str(scan.dpi), colour, "-singlefile", str(source), str(base)])
    assert rendered.returncode == 0, rendered.stderr
    image = base.with_suffix(".pbm" if scan.bilevel else ".pgm")
    if scan.upside_down:
        with Image.open(image) as page:
            page.rotate(180).save(image)
    read = run(["tesseract", str(image), str(base), "-l", "deu+eng", "--dpi", str(scan.dpi), "pdf"])
    assert read.returncode == 0, read.stderr
    return base.with_suffix(".pdf")


def failed_rules(flavour: str, *pdfs: Path) -> dict[Path, list[str]]:
    """veraPDF's verdict per file: the failed rules ("clause-test: description")."""
    result = subprocess.run(
        [str(verapdf()), "--flavour", flavour, "--format", "json", *map(str, pdfs)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    verdicts = {}
    for job in json.loads(result.stdout)["report"]["jobs"]:
        assert "taskException" not in job, job.get("taskException")
        (validation,) = job["validationResult"]
        failed = [
            f"{rule['clause']}-{rule['testNumber']}: {rule['description']}"
            for rule in validation["details"]["ruleSummaries"]
            if rule["status"] == "failed"
        ]
        assert validation["compliant"] == (not failed)
        verdicts[Path(job["itemDetails"]["name"]).resolve()] = failed
    return verdicts
