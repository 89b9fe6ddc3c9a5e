"""Page images and OCR with the external programs pdftoppm and tesseract.

Each page is a plain function from input files to output files, so pages run in parallel, one
tesseract per core with OMP_THREAD_LIMIT=1, and every program runs with a timeout.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ingest.validation import PDF, TIFF


class UnreadablePage(Exception):
    """A page that the external programs cannot read: retrying will not help."""


class Cancelled(Exception):
    """The job was given up while its pages were being read."""


@dataclass(frozen=True)
class PageText:
    number: int
    text: str
    confidence: float | None


def run_program(args: list[str], timeout: int) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout, check=True, env=env)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"{args[0]} lief länger als {timeout} s") from None
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip()[-300:]
        raise UnreadablePage(f"{args[0]} meldet einen Fehler: {detail}") from None


def render_pdf_page(pdf: Path, number: int, dpi: int, out_dir: Path, timeout: int) -> Path:
    prefix = out_dir / f"page-{number:05d}"
    run_program(
        ["pdftoppm", "-r", str(dpi), "-gray", "-f", str(number), "-l", str(number),
         "-singlefile", str(pdf), str(prefix)],
        timeout,
    )
    return prefix.with_suffix(".pgm")


def extract_image_frame(image_file: Path, number: int, out_dir: Path) -> Path:
    target = out_dir / f"page-{number:05d}.pgm"
    with Image.open(image_file) as image:
        image.seek(number - 1)
        image.convert("L").save(target)
    return target


def ocr_image(image: Path, languages: str, timeout: int) -> tuple[str, float | None]:
    result = run_program(["tesseract", str(image), "stdout", "-l", languages, "tsv"], timeout)
    return parse_tsv(result.stdout.decode("utf-8", "replace"))


def parse_tsv(tsv: str) -> tuple[str, float | None]:
    """Text in reading order (lines, blank line between paragraphs) and the mean word confidence."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        word = (row.get("text") or "").strip()
        if row.get("level") != "5" or not word:
            continue
        key = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        lines.setdefault(key, []).append(word)
        confidence = float(row["conf"])
        if confidence >= 0:
            confidences.append(confidence)
    text_lines = []
    previous: tuple[int, int] | None = None
    for (block, par, _line), words in lines.items():
        if previous is not None and previous != (block, par):
            text_lines.append("")
        text_lines.append(" ".join(words))
        previous = (block, par)
    mean = round(sum(confidences) / len(confidences), 1) if confidences else None
    return "\n".join(text_lines), mean


def read_pages(
    source: Path,
    content_type: str,
    page_count: int,
    work_dir: Path,
    *,
    languages: str,
    dpi: int,
    timeout: int,
    processes: int,
    still_wanted: Callable[[], bool] = lambda: True,
) -> list[PageText]:
    """OCR every page of a PDF or image file, pages in parallel."""

    def one_page(number: int) -> PageText:
        if not still_wanted():
            raise Cancelled()
        if content_type == PDF:
            image = render_pdf_page(source, number, dpi, work_dir, timeout)
        elif content_type == TIFF:
            image = extract_image_frame(source, number, work_dir)
        else:
            image = source
        try:
            text, confidence = ocr_image(image, languages, timeout)
        finally:
            if image != source:
                image.unlink(missing_ok=True)
        return PageText(number, text, confidence)

    with ThreadPoolExecutor(max_workers=max(1, processes)) as pool:
        return list(pool.map(one_page, range(1, page_count + 1)))
