"""What the barcodes of the return sheet (Rücksendeblatt) of a request for documents and of a
household's cover sheet (Deckblatt for documents handed in at the counter) say, and how a code
read at scanning is checked (issue 19).

A code names the request and the household, or the household alone, and carries a tag: the
first 12 hex digits of an HMAC-SHA256 over its content with the product's secret key. Anyone
can print a barcode, and the documents behind a sheet are filed without clearing, so a code
the product did not issue (a forged or altered sheet in a letter) must not route anything: it
is not accepted, and the page is read as an ordinary page.

    EAKTE-ANF-<request id>-<BG number>-<tag>    return sheet of a request
    EAKTE-BG-<BG number>-<tag>                  cover sheet of a household

Both are printed as a QR code and as a Code 128 (the scanner's software or ours reads either).
Spaces and case do not matter when a code is read back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

REQUEST_PREFIX = "EAKTE-ANF"
HOUSEHOLD_PREFIX = "EAKTE-BG"
TAG_LENGTH = 12
_BG = r"\d{5}BG\d{7}"
_REQUEST = re.compile(rf"^EAKTE-ANF-(\d{{1,12}})-({_BG})-([0-9A-F]{{{TAG_LENGTH}}})$")
_HOUSEHOLD = re.compile(rf"^EAKTE-BG-({_BG})-([0-9A-F]{{{TAG_LENGTH}}})$")


@dataclass(frozen=True)
class SheetCode:
    kind: Literal["request", "household"]
    bg_number: str
    request_id: int | None = None


def _tag(secret: str, content: str) -> str:
    digest = hmac.new(secret.encode(), content.encode(), hashlib.sha256).hexdigest()
    return digest[:TAG_LENGTH].upper()


def request_code(secret: str, request_id: int, bg_number: str) -> str:
    content = f"{REQUEST_PREFIX}-{request_id}-{bg_number}"
    return f"{content}-{_tag(secret, content)}"


def household_code(secret: str, bg_number: str) -> str:
    content = f"{HOUSEHOLD_PREFIX}-{bg_number}"
    return f"{content}-{_tag(secret, content)}"


def parse_code(secret: str, text: str) -> SheetCode | None:
    """The sheet a code read at scanning names, or None: not ours, or its tag does not match
    (forged or altered)."""
    normalised = re.sub(r"\s+", "", text).upper()
    if match := _REQUEST.match(normalised):
        number, bg, tag = match.groups()
        content = f"{REQUEST_PREFIX}-{int(number)}-{bg}"
        if hmac.compare_digest(_tag(secret, content), tag):
            return SheetCode("request", bg, int(number))
        return None
    if match := _HOUSEHOLD.match(normalised):
        bg, tag = match.groups()
        if hmac.compare_digest(_tag(secret, f"{HOUSEHOLD_PREFIX}-{bg}"), tag):
            return SheetCode("household", bg)
    return None
