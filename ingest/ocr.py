"""External programs (tesseract) and what they return, per page.

Each function is a plain function from input files to output files, so pages run in parallel,
one tesseract per core with OMP_THREAD_LIMIT=1; every program runs with a timeout.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image


class UnreadablePage(Exception):
    """A page that the external programs cannot read: retrying will not help."""


class Cancelled(Exception):
    """The job was given up while its pages were being read."""


@dataclass(frozen=True)
class Word:
    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float


@dataclass
class OcrResult:
    text: str
    confidence: float | None
    words: list[Word] = field(default_factory=list)
    pdf: Path | None = None


def run_program(args: list[str], timeout: int) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout, check=True, env=env)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"{args[0]} lief länger als {timeout} s") from None
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip()[-300:]
        raise UnreadablePage(f"{args[0]} meldet einen Fehler: {detail}") from None


def ocr_page(image: Path, out_base: Path, languages: str, timeout: int, dpi: int) -> OcrResult:
    """One tesseract run gives both the words with boxes and the page as searchable PDF."""
    run_program(
        ["tesseract", str(image), str(out_base), "-l", languages, "--dpi", str(dpi), "pdf", "tsv"],
        timeout,
    )
    tsv = out_base.with_suffix(".tsv")
    result = parse_tsv(tsv.read_text(encoding="utf-8", errors="replace"))
    tsv.unlink(missing_ok=True)
    result.pdf = out_base.with_suffix(".pdf")
    return result


def parse_tsv(tsv: str) -> OcrResult:
    """Text in reading order (lines; a blank line between paragraphs), words, mean confidence."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    words: list[Word] = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        key = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        lines.setdefault(key, []).append(text)
        words.append(
            Word(
                text,
                int(row["left"]),
                int(row["top"]),
                int(row["width"]),
                int(row["height"]),
                float(row["conf"]),
            )
        )
    text_lines = []
    previous: tuple[int, int] | None = None
    for (block, par, _line), line_words in lines.items():
        if previous is not None and previous != (block, par):
            text_lines.append("")
        text_lines.append(" ".join(line_words))
        previous = (block, par)
    confidences = [w.confidence for w in words if w.confidence >= 0]
    mean = round(sum(confidences) / len(confidences), 1) if confidences else None
    return OcrResult("\n".join(text_lines), mean, words)


def image_colour(image_file: Path, number: int) -> str:
    with Image.open(image_file) as image:
        image.seek(number - 1)
        return {"1": "bilevel", "L": "gray", "LA": "gray", "I;16": "gray"}.get(image.mode, "colour")
