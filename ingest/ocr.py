"""tesseract and pdftoppm per page, and what they return.

Each function is a plain function from input files to output files, so pages run in parallel,
one tesseract per core with OMP_THREAD_LIMIT=1; every program runs with a timeout, and its
failures are told apart by ingest.programs (missing tool or language: configuration; the page:
unreadable). tesseract is called through pytesseract, pdftoppm through pdf2image.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from pdf2image import convert_from_path
from PIL import Image

from core.errors import ToolUnavailable, UnreadablePage
from ingest.programs import (
    ONE_THREAD,
    poppler_errors,
    pytesseract_module,
    require_tesseract_languages,
    tesseract_errors,
)

# pytesseract starts tesseract with this process's environment.
os.environ.update(ONE_THREAD)


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


def ocr_page(image: Path, out_base: Path, languages: str, timeout: int, dpi: int) -> OcrResult:
    """One tesseract run gives both the words with boxes and the page as searchable PDF."""
    require_tesseract_languages(languages)
    tesseract = pytesseract_module().pytesseract
    with tesseract_errors(timeout):
        tesseract.run_tesseract(
            str(image),
            str(out_base),
            extension="pdf tsv",
            lang=languages,
            config=f"--dpi {dpi} -c {tesseract.EXTENTION_TO_CONFIG['tsv']}",
            timeout=timeout,
        )
    tsv, pdf = out_base.with_suffix(".tsv"), out_base.with_suffix(".pdf")
    if not (tsv.exists() and pdf.exists()):
        # Without its configs folder and pdf.ttf, tesseract takes "pdf" for a config file it
        # cannot open, writes plain text instead, and exits with 0.
        raise ToolUnavailable(
            "tesseract hat die Seite nicht als PDF geschrieben: sein tessdata-Ordner ist "
            "unvollständig (configs, pdf.ttf).",
            program="tesseract",
        )
    result = parse_tsv(tsv.read_text(encoding="utf-8", errors="replace"))
    tsv.unlink(missing_ok=True)
    result.pdf = pdf
    return result


def rasterise_pdf_page(pdf: Path, number: int, dpi: int, target: Path, timeout: int) -> Path:
    """Page `number` (1-based) of `pdf` rendered by pdftoppm as 8-bit grayscale `target`
    (a .pgm file name)."""
    with poppler_errors("pdftoppm", timeout):
        paths = convert_from_path(
            pdf,
            dpi=dpi,
            output_folder=target.parent,
            first_page=number,
            last_page=number,
            single_file=True,
            output_file=target.stem,
            grayscale=True,
            paths_only=True,
            timeout=timeout,
        )
    if not target.exists():
        # pdftoppm exits without a page when it cannot render it; pdf2image does not check.
        raise UnreadablePage(f"Seite {number}: pdftoppm hat kein Bild erzeugt ({paths})")
    return target


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
