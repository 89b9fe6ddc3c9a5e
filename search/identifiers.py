"""Identifiers that must be found exactly, however they are spaced or written.

The same finder runs over the letters at index time and over what a caseworker types, and both
sides normalise to one spelling that goes into the `identifiers` keyword field:

- BG numbers: `95401 BG 0012345`, `95401-BG-0012345` -> `95401BG0012345`;
- IBANs: `DE14 2175 0000 4630 9328 54` -> `DE14217500004630932854` (German ones by their form,
  others only with a valid check number, so words are not taken for account numbers);
- social court file references: `S 12 AS 345/26`, `S12AS345/26`, `s 12 as 345 / 26 ER`
  -> `S12AS345/26` (the suffix such as ER is left out, so the main case finds its urgent one);
- dates: `09.11.2026`, `9.11.2026`, `9. November 2026`, `2026-11-09`, `09.11.26` -> `2026-11-09`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from core.dates import MONTH_WORDS


@dataclass(frozen=True)
class FoundIdentifier:
    kind: str  # "bg_number", "iban", "court_reference" or "date"
    value: str
    start: int
    end: int


# The patterns are tried only where a number begins (a digit after a non-digit) and, for IBANs,
# two letters before it: a letter is mostly words, and trying every position is what costs.
_NUMBER_START = re.compile(r"(?<![0-9])[0-9]")
_IBAN = re.compile(r"([A-Za-z]{2})(\d{2})((?:[ ]?[0-9A-Za-z]){11,30})")
# Lengths of the IBANs of the countries our clients bank in most; others need the check number.
_IBAN_LENGTHS = {
    "DE": 22, "AT": 20, "CH": 21, "NL": 18, "BE": 16, "LU": 20, "FR": 27, "IT": 27, "ES": 24,
    "PL": 28, "DK": 18, "SE": 24, "CZ": 24, "RO": 24, "BG": 22, "HR": 21, "GR": 27, "PT": 25,
    "TR": 26, "LT": 20, "LV": 21, "EE": 20, "HU": 28, "SK": 24, "SI": 19, "IE": 22, "FI": 18,
    "NO": 15, "GB": 22,
}  # fmt: skip
_MONTH_WORDS = "|".join(sorted(MONTH_WORDS, key=len, reverse=True))
# One pattern for everything that begins with a digit; the court letter (S or L) before the
# chamber number is checked in `_court_letter`.
_FROM_DIGIT = re.compile(
    r"(?P<bg_number>(\d{5})[\s\-/]{0,3}[Bb][Gg][\s\-/]{0,3}(\d{7})(?![0-9]))"
    r"|(?P<court_reference>(\d{1,3})[ ]?"
    r"(?i:(AS|AL|AY|SO|KR|KA|KG|KN|KS|KP|BK|EG|SB|VG|VS|VH|VJ|AR|R|U|P))"
    r"[ ]?(\d{1,5})[ ]?/[ ]?(\d{2})(?![0-9]))"
    r"|(?P<dmy>(\d{1,2})\.[ ]?(\d{1,2})\.[ ]?(\d{4}|\d{2})(?![0-9]))"
    r"|(?P<ymd>(\d{4})-(\d{2})-(\d{2})(?![0-9]))"
    r"|(?P<dMy>(\d{1,2})\.?[ ]?(?i:(" + _MONTH_WORDS + r"))\.?[ ]?(\d{4})(?![0-9]))"
)
_GROUPS = {"bg_number": 2, "court_reference": 4, "dmy": 3, "ymd": 3, "dMy": 3}
_WORDLIKE = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def find_identifiers(text: str) -> list[FoundIdentifier]:
    """Every identifier in the text with its span, in order of appearance."""
    found: list[FoundIdentifier] = []
    done = 0
    for number in _NUMBER_START.finditer(text):
        position = number.start()
        if position < done:
            continue
        item = None
        country = text[position - 2 : position] if position >= 2 else ""
        if country.isascii() and country.isalpha():
            iban = _IBAN.match(text, position - 2)
            if iban is not None and not _glued(text, position - 2):
                item = _iban(text, iban.start(), iban.end(), iban.groups())
        if item is None:
            match = _FROM_DIGIT.match(text, position)
            if match is not None:
                item = _identifier(text, match)
        if item is not None:
            found.append(item)
            done = item.end
    return found


def _glued(text: str, start: int) -> bool:
    return start > 0 and text[start - 1] in _WORDLIKE


def _identifier(text: str, match: re.Match[str]) -> FoundIdentifier | None:
    kind = match.lastgroup
    assert kind is not None
    start = match.start()
    # The groups inside the kind's named group (group number g is groups()[g - 1]).
    first = match.re.groupindex[kind]
    groups = match.groups()[first : first + _GROUPS[kind]]
    if kind == "bg_number":
        if _glued(text, start):
            return None
        return FoundIdentifier(kind, f"{groups[0]}BG{groups[1]}", start, match.end())
    if kind == "court_reference":
        court = _court_letter(text, start)
        if court is None:
            return None
        chamber, register, number, year = groups
        value = f"{court[0]}{int(chamber)}{register.upper()}{int(number)}/{year}"
        return FoundIdentifier(kind, value, court[1], match.end())
    if kind == "dmy" and start > 0 and text[start - 1] == ".":
        return None
    iso_date = _date(groups, kind)
    return FoundIdentifier("date", iso_date, start, match.end()) if iso_date else None


def _court_letter(text: str, start: int) -> tuple[str, int] | None:
    """The court letter before the chamber number (`S 12`, `L12`) and where it begins."""
    at = start - 1
    if at >= 0 and text[at] == " ":
        at -= 1
    if at < 0 or text[at] not in "SsLl":
        return None
    if at > 0 and (text[at - 1].isalnum()):
        return None
    return text[at].upper(), at


_COURT_HEAD = re.compile(r"^[A-Z]+\d+[A-Z]+")
_MONTH_NAMES = {
    month: [name.upper() for name, number in MONTH_WORDS.items() if number == month]
    for month in range(1, 13)
}


@lru_cache(maxsize=10_000)
def _traces(value: str) -> tuple[str, ...]:
    """What an identifier leaves in a text once spaces are gone and letters are upper case."""
    if len(value) == 14 and value[5:7] == "BG":
        return (value[7:],)  # the serial number, however the office part is written
    if "/" in value:
        return (_COURT_HEAD.sub("", value),)  # "345/26" of S12AS345/26
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        month, day = int(value[5:7]), int(value[8:])
        days = {f"{day}.", f"{day:02d}."}
        months = {f"{month}.", f"{month:02d}."}
        found = [d + m for d in days for m in months]
        named = [d + name for d in days for name in _MONTH_NAMES.get(month, [])]
        return (*found, value, *named)
    return (value,)


def may_contain(text: str, values: frozenset[str]) -> bool:
    """A quick test that rules out most texts before `find_identifiers` runs over them."""
    compact = text.replace(" ", "").upper()
    return any(trace and trace in compact for value in values for trace in _traces(value))


def identifier_values(text: str) -> list[str]:
    """The normalised identifiers of the text, in order, without repeats."""
    return list(dict.fromkeys(item.value for item in find_identifiers(text)))


def _iban(text: str, start: int, end: int, groups: tuple[str, ...]) -> FoundIdentifier | None:
    country = groups[0].upper()
    compact = (country + groups[1] + groups[2].replace(" ", "")).upper()
    length = _IBAN_LENGTHS.get(country)
    lengths = [length] if length else range(min(len(compact), 34), 14, -1)
    for size in lengths:
        if len(compact) < size:
            continue
        value = compact[:size]
        german = country == "DE" and value[2:].isdigit()
        if german or _iban_checks(value):
            # The span ends after the `size`-th letter or digit of the match.
            seen, stop = 0, end
            for position in range(start, end):
                if text[position] != " ":
                    seen += 1
                    if seen == size:
                        stop = position + 1
                        break
            return FoundIdentifier("iban", value, start, stop)
    return None


def _iban_checks(value: str) -> bool:
    if not value[2:4].isdigit():
        return False
    digits = "".join(str(int(ch, 36)) for ch in value[4:] + value[:4])
    return int(digits) % 97 == 1


def _date(groups: tuple[str, ...], order: str) -> str | None:
    try:
        if order == "ymd":
            year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
        elif order == "dMy":
            day, month, year = int(groups[0]), MONTH_WORDS[groups[1].lower()], int(groups[2])
        else:
            day, month, year = int(groups[0]), int(groups[1]), int(groups[2])
            if len(groups[2]) == 2:
                # Two-digit years: letters of this century, birth dates of the last one.
                year += 2000 if year < 70 else 1900
        return date(year, month, day).isoformat()
    except (ValueError, KeyError):
        return None
