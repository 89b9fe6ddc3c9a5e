"""Identifiers of the domain as they appear in text, normalised to one spelling."""

from __future__ import annotations

import re

# A BG number: 5-digit office, "BG", 7 digits; people and scanners write it with spaces or dashes.
BG_NUMBER_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])(\d{5})[\s\-/]{0,3}BG[\s\-/]{0,3}(\d{7})(?![0-9])", re.I
)


def find_bg_numbers(text: str) -> list[str]:
    """All BG numbers in the text, normalised (`95401BG0012345`), in order, without repeats."""
    seen: dict[str, None] = {}
    for match in BG_NUMBER_PATTERN.finditer(text):
        seen.setdefault(f"{match.group(1)}BG{match.group(2)}", None)
    return list(seen)


def normalize_bg_number(value: str) -> str | None:
    """The normalised BG number if the whole value is one, else None."""
    found = BG_NUMBER_PATTERN.fullmatch(value.strip())
    return f"{found.group(1)}BG{found.group(2)}" if found else None
