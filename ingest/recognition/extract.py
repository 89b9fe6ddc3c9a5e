"""Identifiers in OCR text: household (BG) numbers, social court file references, dates."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import Levenshtein

from core.dates import MONTH_WORDS, local_today
from core.text import fold_umlauts
from ingest.recognition.text import Line, ParsedDocument, fold

# --- BG numbers -------------------------------------------------------------------------------

# What OCR makes of a digit; each maps back to the digit it most likely was.
_DIGIT_LIKE = r"0-9OoQDIl|!\]\[SZBGb"
_TO_DIGIT = str.maketrans("OoQDIl|![]SZBGb", "000011111152866")
_D = f"[{_DIGIT_LIKE}]"
_OFFICE = rf"{_D}(?: ?{_D}){{4}}"
_SERIAL = rf"{_D}(?: ?{_D}){{6}}"
_SEP = r"[ ]*[-/._:]{0,2}[ ]*"
# "BG" as printed and as OCR reads it: 8G, B6, BC, 86, "B G"; a stray stroke glued to its left
# (a fold, a speck, the B's own stem) comes through as 1, I, l or |: "43201 1BG3159967".
_BG_TOKEN = r"(?:[1Il|]?[B8] ?[G6C]|bg|Bg)"
_BG_FORM = re.compile(
    rf"(?<![0-9A-Za-z])(?P<office>{_OFFICE}){_SEP}(?P<token>{_BG_TOKEN}){_SEP}"
    rf"(?P<serial>{_SERIAL})(?![0-9])"
)
# After a label the "BG" may be missing: "BG-Nr.: 95401/0012345", "Ihr Zeichen 95401 0012345".
_LABEL = (
    r"(?:bg[- ]?(?:nr|nummer|no)|nummer der bedarfsgemeinschaft|bedarfsgemeinschaft(?:s?-?nummer"
    r"|s?-?nr)?|(?:ihr|mein|unser)(?:e)? zeichen|ihr az|aktenzeichen|gesch(?:ä|ae|a)ftszeichen"
    r"|kundennummer"
    r"|kunden-nr)"
)
# "BG" read as one, two or three glyphs between clean digit groups: "3510255181921" for
# 35102BG5181921, "3510356570648]" for 35103BG5706481, "432138569038250" for 43213BG9038250
# (B as 8, G as 56). The run's length fixes where the groups end. Like every candidate it counts
# only if the number exists, or is one digit off a household whose person is on the paper.
_GLYPH_FORM = re.compile(
    r"(?<![0-9A-Za-z])(?P<office>\d{5})(?P<token>[5S8B6G]|[58B][56GC]|[58B][56G][6G])"
    r"(?P<serial>[\d\]|]{7})(?![0-9\]|])"
)
_LABELLED_FORM = re.compile(
    rf"(?i:{_LABEL})\.?[ ]*(?:\([^)]{{0,30}}\))?[ ]*[:.]?[ ]*(?P<office>{_OFFICE})"
    rf"[ ]*[-/._:]{{0,3}}[ ]*(?P<serial>{_SERIAL})(?![0-9])"
)


# A row of boxes read character by character: "3 5 1 0 2 B G 5 1 8 1 9 2 1", "3|5|1|0|2",
# "0 1 . 0 2 . 2 0 2 6". The walls of the boxes come through as |, [, ], ! or /, or as I and l
# standing between every two characters. Ordinary text never has six single characters in a
# row, so only such runs are read this way.
_BOX_WALL = r"[|\[\]!/]"
_BOX_GAP = rf"(?:[ ]*{_BOX_WALL}[ ]*|[ ]+)"
_BOX_RUN = re.compile(
    rf"(?<![^\s|\[\]!/])[0-9A-Za-z.]{{1,2}}(?:{_BOX_GAP}[0-9A-Za-z.]{{1,2}}){{5,}}"
    r"(?![^\s|\[\]!/])"
)
_BOX_TOKEN = re.compile(r"[0-9A-Za-z.]{1,2}")
_BOX_FORM = re.compile(rf"(?P<office>{_D}{{5}})(?P<token>B[G6]|8[G6])(?P<serial>{_D}{{7}})")
MIN_BOX_CHARACTERS = 6


def box_runs(text: str) -> list[tuple[int, str]]:
    """Rows of boxes in a line of text: (offset in the line, characters joined)."""
    runs = []
    for match in _BOX_RUN.finditer(text):
        tokens = _BOX_TOKEN.findall(match.group(0))
        # "3 I 5 I 1 I 0": walls read as I or l between all characters
        if len(tokens) >= 2 * MIN_BOX_CHARACTERS - 1 and all(t in ("I", "l") for t in tokens[1::2]):
            tokens = tokens[0::2]
        singles = sum(len(t) == 1 for t in tokens)
        if len(tokens) < MIN_BOX_CHARACTERS or singles < 0.6 * len(tokens):
            continue
        runs.append((match.start(), "".join(tokens)))
    return runs


@dataclass(frozen=True)
class FoundNumber:
    value: str  # normalised: 95401BG0012345
    page: int
    line: int
    raw: str


def _digits(group: str) -> str:
    return group.replace(" ", "").translate(_TO_DIGIT)


def _real_digits(group: str) -> int:
    return sum(ch.isdigit() for ch in group)


def find_bg_candidates(doc: ParsedDocument) -> list[FoundNumber]:
    """Every string that reads as a BG number after undoing OCR confusions, in order."""
    found: list[FoundNumber] = []
    seen: set[tuple[str, int]] = set()
    for line in doc.lines:
        matches = [
            match
            for pattern in (_BG_FORM, _LABELLED_FORM, _GLYPH_FORM)
            for match in pattern.finditer(line.text)
        ]
        # Characters read box by box, joined: a number in boxes may run straight on into the
        # boxes beside it (a date), so there it ends where its seven digits end.
        for _offset, joined in box_runs(line.text):
            for pattern in (_BG_FORM, _BOX_FORM):
                matches.extend(pattern.finditer(joined))
        for match in matches:
            office, serial = match.group("office"), match.group("serial")
            # Mostly letters is a word, not a misread number.
            if _real_digits(office) < 3 or _real_digits(serial) < 5:
                continue
            value = f"{_digits(office)}BG{_digits(serial)}"
            if not re.fullmatch(r"\d{5}BG\d{7}", value) or (value, line.page) in seen:
                continue
            seen.add((value, line.page))
            found.append(FoundNumber(value, line.page, line.number, match.group(0).strip()))
    return found


def one_substitution_away(value: str, known: Container[str]) -> list[str]:
    """Existing numbers that differ from `value` in exactly one digit."""
    digits = value.replace("BG", "")
    hits = []
    for position, original in enumerate(digits):
        for replacement in "0123456789":
            if replacement == original:
                continue
            candidate = digits[:position] + replacement + digits[position + 1 :]
            number = f"{candidate[:5]}BG{candidate[5:]}"
            if number in known:
                hits.append(number)
    return hits


# --- Social court file references ---------------------------------------------------------------

_COURT_REFERENCE = re.compile(
    r"(?<![a-z0-9])(?P<court>[sl5])\s?(?P<chamber>\d{1,3})\s?"
    r"(?P<register>as|al|so|ay|kr|ka|r|u|p|eg|sb|vg|bk)\s?(?P<number>\d{1,5})\s?[/|]\s?"
    r"(?P<year>\d{2})(?:\s?(?P<suffix>b\s?er|er|wa|ko))?(?![a-z0-9])"
)


def find_court_references(doc: ParsedDocument) -> list[str]:
    """Social court file references, normalised: "S 12 AS 345/26", "S 3 AS 1234/25 ER"."""
    found: dict[str, None] = {}
    for line in doc.lines:
        for match in _COURT_REFERENCE.finditer(line.folded):
            court = "L" if match.group("court") == "l" else "S"
            reference = (
                f"{court} {int(match.group('chamber'))} {match.group('register').upper()} "
                f"{int(match.group('number'))}/{match.group('year')}"
            )
            if match.group("suffix"):
                reference += " " + match.group("suffix").upper().replace(" ", "")
                reference = reference.replace(" BER", " B ER")
            found.setdefault(reference, None)
    return list(found)


# --- Dates --------------------------------------------------------------------------------------

# Read from folded text (no umlauts); date stamps print English abbreviations too ("30. OCT 2026").
_MONTHS = {fold_umlauts(word, style="base"): n for word, n in MONTH_WORDS.items()} | {
    "oct": 10,
    "dec": 12,
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NUMERIC_DATE = re.compile(
    r"(?<![\d.])(?P<d>[0-3]?\d) ?\. ?(?P<m>[01]?\d) ?\. ?(?P<y>(?:19|20)\d{2}|\d{2})(?![\d])"
)
_WORD_DATE = re.compile(
    rf"(?<![\d.])(?P<d>[0-3]?\d) ?\.? ?(?P<m>{_MONTH_NAMES})\b\.? ?(?P<y>(?:19|20)\d{{2}}|\d{{2}})"
    r"(?!\d)"
)
_ISO_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?!\d)")

_BIRTH_CUE = re.compile(
    r"(?:\bgeb\b\.?|\bgeboren\b|\bgeburtsdatum\b|\bgeb\.? ?-?datum\b|\bgeburtstag\b|\*)"
    r" ?(?:am|den)? ?[:.]? ?$"
)
_BIRTH_LABEL_LINE = re.compile(
    r"(?:\bgeb\b\.?|\bgeboren\b|\bgeburtsdatum\b|\bgeb\.? ?-?datum\b)(?: ?(?:am|den))? ?[:.]? ?$"
)
_STAMP_CUE = re.compile(r"\b(?:eingegangen|eingang|eing|posteingang|posteing|eingangsstempel)\b")
_LETTER_LABEL = re.compile(r"(?:\bdatum\b|\bden\b) ?[:.]? ?$")
_PLACE_AND_DATE = re.compile(r"^[a-z][a-z .\-/()']{1,40}, ?(?:den )?$")
_REFERENCE_CUE = re.compile(r"\b(?:vom|seit|bis|ab|zum|bis zum|am|einschlie\w*)\b ?[:.]? ?$")


@dataclass(frozen=True)
class FoundDate:
    value: date
    page: int
    line: int
    text: str
    context: str  # "birth", "stamp", "letter", "reference", "other"
    alone: bool  # nothing else on the line


def _year(text: str) -> int:
    year = int(text)
    if year >= 100:
        return year
    return 2000 + year if year <= 40 else 1900 + year


def _stamp_cue_near(doc: ParsedDocument, line: Line, prefix: str) -> bool:
    if _STAMP_CUE.search(prefix) or _looks_like_stamp_word(prefix):
        return True
    for back in (1, 2):
        number = line.number - back
        if number < 0 or doc.lines[number].page != line.page:
            break
        if _STAMP_CUE.search(doc.lines[number].folded) or _looks_like_stamp_word(
            doc.lines[number].folded
        ):
            return True
    # A stamp beside the sender's address is read line by line with the address, so its word
    # ("EINGEGANGEN") may come after its date; only a line that is nothing but that word counts.
    for ahead in (1, 2):
        number = line.number + ahead
        if number >= len(doc.lines) or doc.lines[number].page != line.page:
            break
        if _STAMP_WORD_LINE.match(doc.lines[number].folded):
            return True
    return False


_STAMP_WORD_LINE = re.compile(r"^\W*(?:eingegangen|eingang|posteingang|e[i1l]ngegangen)\W*$")


def _looks_like_stamp_word(text: str) -> bool:
    """A received stamp read with errors ("E1NGEGANGEN", "Eingegengen")."""
    for word in re.findall(r"[a-z0-9]{9,13}", text):
        if Levenshtein.distance(word.replace("1", "i"), "eingegangen", score_cutoff=2) <= 2:
            return True
    return False


# A run of digits, dots and the letters OCR puts for digits: "l7.02.1969", "1g.04.2003".
_DATE_LIKE = re.compile(
    r"(?<![a-z0-9])[0-9oilsbgz|]{1,4}(?: ?\. ?[0-9oilsbgz|]{1,4}){1,2}\.?(?![a-z0-9])"
)
_LOWER_TO_DIGIT = str.maketrans("oilsbgz|", "01156621")


def digits_restored(text: str) -> str:
    """Folded text with OCR letters inside number groups turned back into digits.

    Only runs that are mostly digits and hold a dot change, and every character maps to one, so
    offsets stay valid.
    """

    def restore(match: re.Match[str]) -> str:
        run = match.group(0)
        return run.translate(_LOWER_TO_DIGIT) if _real_digits(run) >= 3 else run

    return _DATE_LIKE.sub(restore, text)


# A date in eight boxes, joined: "01022026", "01.02.2026".
_BOX_DATE = re.compile(r"(?<!\d)(?P<d>[0-3]\d)\.?(?P<m>[01]\d)\.?(?P<y>(?:19|20)\d{2})(?!\d)")


def _box_dates(line: Line) -> list[tuple[int, re.Match[str]]]:
    """Dates written into boxes on the line: (offset of the boxes in the line, match)."""
    found = []
    for offset, joined in box_runs(line.text):
        # A household number in the same row of boxes is no part of a date.
        text = _BOX_FORM.sub("#", joined)
        if _real_digits(text) < 0.6 * len(text):
            continue
        for match in _BOX_DATE.finditer(text.translate(_TO_DIGIT)):
            found.append((offset, match))
    return found


# Boxes packed into one word or groups: "01022026", "01 02 2026". Without dots that is a date
# only under a label that asks for one, on the line itself or on the row of labels above it.
_PACKED_DATE = re.compile(
    r"(?<![\w.,/-])(?P<d>[0-3]\d) ?(?P<m>[01]\d) ?(?P<y>(?:19|20)\d{2})(?![\w.,/-])"
)
_BIRTH_LABEL_WORD = re.compile(r"\b(?:geburtsdatum|geboren|geb)\b")
_DATE_LABEL_WORD = re.compile(r"(?:datum|\bseit\b|\bab\b|\bvom\b|\bbis\b|\bgilt ab\b)")


def _packed_date_context(doc: ParsedDocument, line: Line, prefix: str) -> str | None:
    context = _date_context(doc, line, prefix)
    if context != "other":
        return context
    previous = doc.lines[line.number - 1] if line.number > 0 else None
    if previous is None or previous.page != line.page:
        return None
    if _BIRTH_LABEL_WORD.search(previous.folded):
        return "birth"
    if _DATE_LABEL_WORD.search(previous.folded):
        return "reference"
    return None


def find_dates(doc: ParsedDocument) -> list[FoundDate]:
    found = []
    for line in doc.lines:
        for offset, match in _box_dates(line):
            try:
                value = date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
            except ValueError:
                continue
            prefix = fold(line.text[:offset]).rstrip()
            context = _date_context(doc, line, prefix)
            found.append(FoundDate(value, line.page, line.number, match.group(0), context, False))
        text = digits_restored(line.folded)
        for match in _PACKED_DATE.finditer(text):
            try:
                value = date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
            except ValueError:
                continue
            packed_context = _packed_date_context(doc, line, text[: match.start()].rstrip())
            if packed_context is not None:
                alone = not text[: match.start()].strip() and not text[match.end() :].strip(" .")
                found.append(
                    FoundDate(value, line.page, line.number, match.group(0), packed_context, alone)
                )
        for pattern in (_NUMERIC_DATE, _WORD_DATE, _ISO_DATE):
            for match in pattern.finditer(text):
                month_text = match.group("m")
                month = int(month_text) if month_text.isdigit() else _MONTHS[month_text]
                try:
                    value = date(_year(match.group("y")), month, int(match.group("d")))
                except ValueError:
                    continue
                prefix = text[: match.start()].rstrip()
                alone = not prefix and not text[match.end() :].strip(" .")
                context = _date_context(doc, line, prefix)
                found.append(
                    FoundDate(value, line.page, line.number, match.group(0), context, alone)
                )
    found.sort(key=lambda d: (d.line, d.text))
    return found


def _looks_like_birth_label(text: str) -> bool:
    """ "Geburtsdatum" read with errors ("Geburtsdafum", "Gebnrtsdatum") at the end of `text`."""
    words = re.findall(r"[a-z0-9]+", text)
    if not words:
        return False
    last = words[-1]
    return 10 <= len(last) <= 14 and Levenshtein.distance(last, "geburtsdatum") <= 2


def _date_context(doc: ParsedDocument, line: Line, prefix: str) -> str:
    if _BIRTH_CUE.search(prefix) or _looks_like_birth_label(prefix):
        return "birth"
    previous = doc.lines[line.number - 1] if line.number > 0 else None
    if (
        not prefix
        and previous is not None
        and previous.page == line.page
        and (_BIRTH_LABEL_LINE.search(previous.folded) or _looks_like_birth_label(previous.folded))
    ):
        return "birth"
    if _LETTER_LABEL.search(prefix) or _PLACE_AND_DATE.match(prefix + " "):
        return "letter"
    if _stamp_cue_near(doc, line, prefix):
        return "stamp"
    if _REFERENCE_CUE.search(prefix):
        return "reference"
    return "other"


def letter_date(dates: list[FoundDate]) -> date | None:
    """The date the letter was written: "Husum, 2. November 2026", "Datum: 09.11.2026"."""
    for candidate in dates:
        if candidate.context == "letter":
            return candidate.value
    # A date standing alone near the top of the first page, as in many letterheads; not one
    # far older than the other dates (an unlabelled birth date in a form).
    first_page = [d for d in dates if d.page == 1]
    top = first_page[0].line if first_page else 0
    for candidate in first_page:
        if candidate.context != "other" or not candidate.alone or candidate.line - top >= 25:
            continue
        others = [d.value for d in dates if d is not candidate and d.context != "birth"]
        reference = max(others, default=local_today())
        if abs((reference - candidate.value).days) <= 366:
            return candidate.value
    return None


def received_date(dates: list[FoundDate]) -> date | None:
    for candidate in dates:
        if candidate.context == "stamp":
            return candidate.value
    return None


_POSTCODE = re.compile(r"(?<![\w,.])(?:D-)?([0-9OoIlSB]{5})(?![\w,])")


def postcodes(doc: ParsedDocument) -> dict[str, list[Line]]:
    """Five-digit postcodes on each line, OCR letters turned back into digits ("2S832")."""
    found: dict[str, list[Line]] = {}
    for line in doc.lines:
        for match in _POSTCODE.finditer(line.text):
            group = match.group(1)
            if _real_digits(group) < 4:
                continue
            found.setdefault(group.translate(_TO_DIGIT), []).append(line)
    return found


# --- Checkboxes -----------------------------------------------------------------------------------

TICKED_MARK = "☒"  # put into the page text by ingest.forms before a ticked box's label
EMPTY_MARK = "☐"
_CHECKBOX = re.compile(r"([☒☐])\s*([^☒☐]*)")


@dataclass(frozen=True)
class FoundCheckbox:
    label: str  # the words after the box, up to the next box or the end of the line
    ticked: bool
    page: int
    line: int


def find_checkboxes(doc: ParsedDocument) -> list[FoundCheckbox]:
    """The checkboxes of a form and their state, as the form reader marked them in the text:
    "☒ ja ☐ nein" gives ("ja", ticked) and ("nein", not ticked)."""
    found = []
    for line in doc.lines:
        for match in _CHECKBOX.finditer(line.text):
            label = " ".join(match.group(2).split()[:6])
            found.append(
                FoundCheckbox(label, match.group(1) == TICKED_MARK, line.page, line.number)
            )
    return found


def ticked_options(doc: ParsedDocument) -> list[str]:
    """Labels of the ticked boxes, in reading order."""
    return [box.label for box in find_checkboxes(doc) if box.ticked and box.label]
