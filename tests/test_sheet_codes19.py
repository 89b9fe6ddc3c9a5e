"""The codes on return sheets and cover sheets (records/sheet_codes.py): what the product
issues it reads back, however a scanner spells it; a forged or altered code routes nothing."""

from __future__ import annotations

import zxingcpp

from pdf.barcodes import code128_image, qr_image
from records.sheet_codes import SheetCode, household_code, parse_code, request_code

SECRET = "a-secret-of-the-job-centre-long-enough"
BG = "95401BG5662133"


def test_a_request_code_names_the_request_and_the_household() -> None:
    code = request_code(SECRET, 4711, BG)
    assert code.startswith(f"EAKTE-ANF-4711-{BG}-")
    assert parse_code(SECRET, code) == SheetCode("request", BG, 4711)
    assert parse_code(SECRET, " " + code.lower().replace("-", "- ", 2)) == SheetCode(
        "request", BG, 4711
    )


def test_a_cover_sheet_code_names_the_household() -> None:
    assert parse_code(SECRET, household_code(SECRET, BG)) == SheetCode("household", BG)


def test_a_forged_or_altered_code_is_not_accepted() -> None:
    genuine = request_code(SECRET, 4711, BG)
    other_household = genuine.replace(BG, "95401BG5662134")
    other_request = genuine.replace("-4711-", "-4712-")
    assert parse_code(SECRET, other_household) is None
    assert parse_code(SECRET, other_request) is None
    assert parse_code("another-job-centres-secret-key-000", genuine) is None
    assert parse_code(SECRET, "PATCHT") is None
    assert parse_code(SECRET, f"EAKTE-BG-{BG}-000000000000") is None


def test_both_barcodes_read_back_as_the_code() -> None:
    code = request_code(SECRET, 12, BG)
    for image in (qr_image(code), code128_image(code)):
        assert [found.text for found in zxingcpp.read_barcodes(image)] == [code]
