"""IBANs and e-mail addresses as master data keys: normalised and checked, pure functions."""

from __future__ import annotations

import re

# Lengths of the IBANs of Germany and its neighbours (and of where many clients bank).
IBAN_LENGTHS = {
    "AT": 20,
    "BE": 16,
    "BG": 22,
    "CH": 21,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "ES": 24,
    "FR": 27,
    "GB": 22,
    "GR": 27,
    "HR": 21,
    "HU": 28,
    "IT": 27,
    "LT": 20,
    "LU": 20,
    "NL": 18,
    "PL": 28,
    "PT": 25,
    "RO": 24,
    "SE": 24,
    "SK": 24,
    "TR": 26,
    "UA": 29,
}
_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_EMAIL_SHAPE = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z]{2,}")


def compact_iban(value: str) -> str:
    """ "de89 3704 0044 0532 0130 00" -> "DE89370400440532013000" (not checked)."""
    return re.sub(r"[\s\-.]", "", value).upper()


def iban_checksum_ok(iban: str) -> bool:
    """ISO 13616 check: the rearranged IBAN read as a number leaves 1 when divided by 97."""
    if not _IBAN_SHAPE.fullmatch(iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def normalise_iban(value: str) -> str | None:
    """The compact IBAN when `value` is a valid one, else None."""
    iban = compact_iban(value)
    return iban if iban_checksum_ok(iban) else None


def format_iban(iban: str) -> str:
    """ "DE89370400440532013000" -> "DE89 3704 0044 0532 0130 00" (for people to read)."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def normalise_email(value: str) -> str | None:
    """The address in lower case when `value` looks like one e-mail address, else None."""
    address = value.strip().strip("<>").strip().lower()
    return address if _EMAIL_SHAPE.fullmatch(address) else None
