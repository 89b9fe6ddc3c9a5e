"""The barcode benchmark (bench/barcodes.py, issue 19) on a few sheets: it builds the product's
own request letter, reads the return sheet of its last page at 200 and 300 dpi, skewed and
upside down, and accepts no forged code."""

from __future__ import annotations

import importlib.util
import io
import random
import subprocess
from pathlib import Path
from types import ModuleType

import pikepdf
import pytest

from pdf.request_letter import SHEET_TITLE

ROOT = Path(__file__).resolve().parent.parent


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_barcodes", ROOT / "bench" / "barcodes.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _bench()


def test_the_sheet_is_the_last_page_of_the_products_letter(bench: ModuleType) -> None:
    data = bench.letter_of(random.Random(1), "k" * 32, 4711, "95401BG7267253")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        last = len(pdf.pages)
    assert last >= 2
    text = subprocess.run(
        ["pdftotext", "-f", str(last), "-l", str(last), "-", "-"],
        input=data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert SHEET_TITLE in text and "Anforderung Nr. 4711 · BG-Nummer 95401BG7267253" in text
    assert bench.return_sheet(data, 200).size == (1654, 2339)  # A4 at 200 dpi
    assert bench.return_sheet(data, 300).size == (2481, 3508)


def test_four_sheets_are_all_read_and_no_forged_code_accepted(bench: ModuleType) -> None:
    # Seed 7 draws one of the four upside down (one in four, as the full run).
    result = bench.run(4, 2, 7)
    assert result["read"] == {"200 dpi": 4, "300 dpi": 4}, result["failures"]
    conditions = result["by_condition"]
    assert any("upside down" in c for c in conditions), conditions
    assert result["forged_read_as_sheets"] == 0
    assert result["failures"] == []
