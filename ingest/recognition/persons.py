"""Where a member's name and a household's address stand on the paper, and which names are
printed at all (for learned aliases).

Everything here compares skeletons (text.name_key) so that umlauts, transliterations and the
usual OCR confusions meet, and tolerates a few edits more for long names than for short ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from ingest.recognition.master import Address, MasterData, Person
from ingest.recognition.text import (
    Line,
    ParsedDocument,
    Token,
    allowed_distance,
    fold,
    name_key,
    street_key,
)

# Words that introduce a person on the same line: a third party (landlord, employer, doctor,
# lawyer, clerk) or the person the letter is about.
_CUES = re.compile(
    r"\b(?:(?P<third>vermieter\w*|hausverwaltung\w*|verwalter\w*|arbeitgeber\w*|geschaftsfuhr\w*"
    r"|sachbearbeit\w*|ansprechpartner\w*|bearbeiter\w*|rechtsanw\w*|kanzlei|notar\w*|richter\w*"
    r"|vorsitzend\w*|urkundsbeamt\w*|praxis|arzt|arztin|facharzt\w*|dr med|steuerberat\w*"
    r"|bevollmachtigt\w*|betreuer\w*|im auftrag|gez|gmbh|ohg|e ?v)"
    r"|(?P<subject>mieter\w*|name|vorname|familienname|nachname|herrn?|frau|kontoinhaber\w*"
    r"|antragstell\w*|versichert\w*|patient\w*|arbeitnehmer\w*|beschaftigt\w*|leistungsberecht\w*"
    r"|klager\w*|rechtsstreit|sache|betreff|betr|mandant\w*|kind|sohn|tochter|ehefrau"
    r"|ehemann|partner\w*))\b"
)


@dataclass
class NameMatch:
    last: Token
    first: Token | None
    last_distance: int
    first_distance: int | None
    strict: bool  # both names within the tolerance for clean print
    third_party: bool  # introduced as landlord, employer, doctor, lawyer...
    line: Line
    half_strict: bool = False  # at least one of the two names read within that tolerance

    @property
    def full(self) -> bool:
        return self.first is not None


@dataclass
class AddressFinding:
    street: Line | None = None  # street and house number
    street_only: Line | None = None
    postcode: Line | None = None
    town: Line | None = None

    @property
    def full(self) -> bool:
        return self.street is not None and (self.postcode is not None or self.town is not None)

    @property
    def any(self) -> bool:
        return any((self.street, self.street_only, self.postcode, self.town))


# --- finding names ------------------------------------------------------------------------------


def _is_third_party(doc: ParsedDocument, token: Token) -> bool:
    line = doc.lines[token.line]
    prefix = fold(line.text[: token.start])
    last = None
    for match in _CUES.finditer(prefix):
        last = match
    return last is not None and last.group("third") is not None


_LABEL_KEYS = frozenset(
    name_key(word)
    for word in (
        "vorname",
        "vornamen",
        "name",
        "nachname",
        "familienname",
        "rufname",
        "geb",
        "geborene",
        "geborener",
        "dr",
        "prof",
        "herr",
        "herrn",
        "frau",
    )
)


_AND_KEYS = frozenset({name_key("und"), name_key("u")})


def _first_name_slots(
    doc: ParsedDocument, index: int, span: int = 1
) -> list[tuple[Token, list[str]]]:
    """Tokens that may hold the first name of the last name at `index`, with the keys to try.

    Beside it ("Ali Wolf", "Wolf, Ali"), split in two beside it ("Hans Peter Wolf", "N odine"),
    or one word away when that word is a label ("Wagner Vorname Ayşe") or a second given name
    ("Ali Hassan Wolf"); never across another person's label ("Anna Müller, Vermieter Thomas").
    """
    tokens = doc.tokens
    last = tokens[index]
    end = index + span - 1

    def usable(j: int, lines: int) -> bool:
        return (
            0 <= j < len(tokens)
            and not index <= j <= end
            and tokens[j].page == last.page
            and bool(tokens[j].key)
            and abs(tokens[j].line - last.line) <= lines
        )

    def bridge(middle: Token, token: Token) -> bool:
        if middle.key in _LABEL_KEYS:
            return True
        return (
            middle.text[:1].isupper()
            and middle.line == last.line == token.line
            and _CUES.fullmatch(fold(middle.text)) is None
        )

    slots: list[tuple[Token, list[str]]] = []
    for j in (index - 1, end + 1):
        if usable(j, 1):
            slots.append((tokens[j], [tokens[j].key]))
    for a, b in ((index - 2, index - 1), (end + 1, end + 2)):
        if usable(a, 1) and usable(b, 1) and tokens[a].line == tokens[b].line:
            slots.append((tokens[a], [tokens[a].key + tokens[b].key]))
    for j, middle in ((index - 2, index - 1), (end + 2, end + 1)):
        if usable(j, 2) and usable(middle, 2) and bridge(tokens[middle], tokens[j]):
            slots.append((tokens[j], [tokens[j].key]))
    # A couple under one last name: "Kai und Maren Thomsen", "Kai u. Maren Thomsen".
    j, joint, other = index - 3, index - 2, index - 1
    if (
        usable(j, 0)
        and usable(joint, 0)
        and usable(other, 0)
        and tokens[joint].key in _AND_KEYS
        and tokens[other].text[:1].isupper()
        and tokens[j].text[:1].isupper()
    ):
        slots.append((tokens[j], [tokens[j].key]))
    return slots


def _first_name_near(
    doc: ParsedDocument, person: Person, index: int, span: int = 1
) -> tuple[Token | None, int | None]:
    best: tuple[Token | None, int | None] = (None, None)
    targets = (person.first_key, *person.first_parts)
    for token, keys in _first_name_slots(doc, index, span):
        for key in keys:
            for target in targets:
                limit = allowed_distance(len(target), lenient=True)
                distance = Levenshtein.distance(target, key, score_cutoff=limit)
                if distance > limit:
                    continue
                if best[1] is None or distance < best[1]:
                    best = (token, distance)
    return best


def find_name(doc: ParsedDocument, person: Person) -> NameMatch | None:
    """Where the member's name stands on the paper, the best occurrence first."""
    if not person.last_key:
        return None
    limit = allowed_distance(len(person.last_key), lenient=True)
    hits = [
        (distance, index, span)
        for span, keys in ((1, doc.token_keys), (2, doc.pair_keys))
        for _choice, distance, index in process.extract(
            person.last_key, keys, scorer=Levenshtein.distance, score_cutoff=limit, limit=None
        )
    ]
    # One half of a double name on the paper ("Lorenzen-Thomsen" for Lorenzen), read cleanly.
    strict_limit = allowed_distance(len(person.last_key))
    for index, part in hyphen_parts(doc):
        distance = Levenshtein.distance(person.last_key, part, score_cutoff=strict_limit)
        if distance <= strict_limit:
            hits.append((distance, index, 1))
    best: NameMatch | None = None
    best_rank: tuple[int, ...] | None = None
    strict_first_seen = strict_last_seen = False
    for last_distance, index, span in hits:
        token = doc.tokens[index]
        if not token.key:
            continue
        first, first_distance = _first_name_near(doc, person, index, span)
        strict_last = last_distance <= allowed_distance(len(person.last_key))
        strict_first = (
            first is not None
            and first_distance is not None
            and (
                first_distance <= allowed_distance(len(person.first_key))
                or any(first_distance <= allowed_distance(len(p)) for p in person.first_parts)
            )
        )
        strict = strict_last and (first is None or strict_first)
        if first is not None:
            strict_first_seen |= strict_first
            strict_last_seen |= strict_last
        opening = first if first is not None and first.index < index else token
        third_party = _is_third_party(doc, opening)
        match = NameMatch(
            token,
            first,
            int(last_distance),
            first_distance,
            strict,
            third_party,
            doc.lines[token.line],
            half_strict=strict_last or strict_first,
        )
        rank = (
            0 if first is not None else 1,
            0 if not third_party else 1,
            0 if strict else 1,
            int(last_distance) + (first_distance or 0),
            span,
        )
        if best_rank is None or rank < best_rank:
            best, best_rank = match, rank
    read_cleanly_once = strict_first_seen and strict_last_seen
    if best is not None and best.full and not best.strict and read_cleanly_once:
        # "Nadine Scbmift" at the top and "Nadiue Schmitt" below: each name read cleanly once.
        best.strict = True
    return best


def hyphen_parts(doc: ParsedDocument) -> list[tuple[int, str]]:
    """(token index, key) of each half of a double name ("Lorenzen-Thomsen") on the paper."""
    parts = []
    for token in doc.tokens:
        if "-" in token.text and token.text[:1].isupper():
            for half in token.text.split("-"):
                key = name_key(half)
                if len(key) >= 4 and half[:1].isupper():
                    parts.append((token.index, key))
    return parts


def candidates_by_name(doc: ParsedDocument, master: MasterData) -> set[str]:
    """Households with a member whose last name, and a first name beside it, are on the paper."""
    found: set[str] = set()
    positions: dict[tuple[str, int], list[int]] = {}
    for span, keys in ((1, doc.token_keys), (2, doc.pair_keys)):
        for index, key in enumerate(keys):
            if len(key) >= 2:
                positions.setdefault((key, span), []).append(index)
    for index, key in hyphen_parts(doc):
        positions.setdefault((key, 1), []).append(index)
    for (key, span), indexes in positions.items():
        for last_key in master.last_names_near(key):
            if Levenshtein.distance(last_key, key) > allowed_distance(len(last_key)):
                continue
            firsts = master.first_keys_by_last[last_key]
            for index in indexes:
                for person in _first_names_beside(doc, index, firsts, span):
                    found.add(normalise_bg_key(person.household.bg_number))
    return found


def _first_names_beside(
    doc: ParsedDocument, index: int, firsts: Mapping[str, list[Person]], span: int = 1
) -> list[Person]:
    found: list[Person] = []
    choices = list(firsts)
    for _token, keys in _first_name_slots(doc, index, span):
        for key in keys:
            if len(key) < 2:
                continue
            if key in firsts:
                found.extend(firsts[key])
                continue
            limit = allowed_distance(len(key), lenient=True)
            if limit == 0:
                continue
            for choice, _distance, _ in process.extract(
                key, choices, scorer=Levenshtein.distance, score_cutoff=limit, limit=None
            ):
                if Levenshtein.distance(choice, key) <= allowed_distance(len(choice), lenient=True):
                    found.extend(firsts[choice])
    return found


def normalise_bg_key(value: str) -> str:
    return re.sub(r"[\s\-/]", "", value).upper()


# --- addresses ----------------------------------------------------------------------------------


def _number_on_line(number: str, line: Line) -> bool:
    digits = re.match(r"\d+", number)
    if digits is None:
        return False
    suffix = number[digits.end() :]
    pattern = re.compile(rf"(?<![\d]){digits.group(0)}(?:\s?{re.escape(suffix)})?(?![\d])")
    if pattern.search(line.folded):
        return True
    # "13S" for 135, "l2" for 12: the house number read with OCR letters.
    restored = _HOUSE_NUMBER_LIKE.sub(lambda m: m.group(0).translate(_TO_DIGIT_LOWER), line.folded)
    return restored != line.folded and pattern.search(restored) is not None


def _number_at(doc: ParsedDocument, number: str, line: Line) -> bool:
    """The house number on the street's line, or opening the next line of running text where
    the street name ended a line ("wohnhaft Mühlenweg" / "51, 27472 Cuxhaven")."""
    if _number_on_line(number, line):
        return True
    following = line.number + 1
    if following >= len(doc.lines) or doc.lines[following].page != line.page:
        return False
    digits = re.match(r"\d+", number)
    if digits is None:
        return False
    suffix = re.escape(number[digits.end() :])
    opening = re.compile(rf"\s*{digits.group(0)}(?:\s?{suffix})?(?![\d])")
    return opening.match(doc.lines[following].folded) is not None


_HOUSE_NUMBER_LIKE = re.compile(
    r"(?<![a-z0-9])(?=[oilsbgz|]*\d)[0-9oilsbgz|]{1,4}(?=[a-h]?(?![a-z0-9]))"
)
_TO_DIGIT_LOWER = str.maketrans("oilsbgz|", "01156621")


_LONG_STREET = 8  # shorter street names are compared word by word ("Am Markt" not in "Marktweg")


def _street_on_line(doc: ParsedDocument, address: Address, line: Line) -> bool:
    key = address.street_key
    if not key:
        return False
    if len(key) < _LONG_STREET:
        words = doc.street_words_of(line)
        size = len(address.street_words)
        return any(
            all(
                Levenshtein.distance(want, got) <= allowed_distance(len(want))
                for want, got in zip(address.street_words, words[i : i + size], strict=True)
            )
            for i in range(len(words) - size + 1)
        )
    line_key = doc.street_key_of(line)
    if key in line_key:
        return True
    limit = allowed_distance(len(key))
    if len(line_key) < len(key) - limit:
        return False
    return _fuzzy_contains(key, line_key, limit)


def _fuzzy_contains(key: str, text: str, limit: int) -> bool:
    """Whether `text` holds `key` with at most `limit` edits."""
    found = fuzz.partial_ratio_alignment(key, text, score_cutoff=70)
    if found is None:
        return False
    start, end = found.dest_start, found.dest_end
    for a in (start - 1, start, start + 1):
        for b in (end - 1, end, end + 1):
            inside = 0 <= a < b <= len(text)
            if inside and Levenshtein.distance(key, text[a:b], score_cutoff=limit) <= limit:
                return True
    return False


def find_address(
    doc: ParsedDocument, address: Address, postcodes: dict[str, list[Line]]
) -> AddressFinding:
    finding = AddressFinding()
    if address.postcode in postcodes:
        finding.postcode = postcodes[address.postcode][0]
    for line in doc.lines:
        if finding.street is None and _street_on_line(doc, address, line):
            if address.number is None or _number_at(doc, address.number, line):
                finding.street = line
            elif finding.street_only is None:
                finding.street_only = line
        if finding.town is None and address.town_keys:
            keys = [t.key for t in _line_tokens(doc, line)]
            if _town_on_line(address, keys):
                finding.town = line
    if finding.street is None:
        finding.street = _street_across_lines(doc, address)
    return finding


def _street_across_lines(doc: ParsedDocument, address: Address) -> Line | None:
    """The line that ends a street name begun on the line before, with the house number
    ("… die Wohnung Zum" / "Sportplatz 65 in 21745 Hemmoor"): running text wraps anywhere."""
    key = address.street_key
    if not key or address.number is None:
        return None
    limit = allowed_distance(len(key))
    for first, second in zip(doc.lines, doc.lines[1:], strict=False):
        if first.page != second.page or not _number_on_line(address.number, second):
            continue
        tail, head = first.text.split()[-3:], second.text.split()[:3]
        for k in range(1, len(tail) + 1):
            for m in range(1, len(head) + 1):
                joined = street_key(" ".join(tail[-k:] + head[:m]))
                if joined.startswith(key[:2]) and (
                    joined == key or Levenshtein.distance(key, joined, score_cutoff=limit) <= limit
                ):
                    return second
    return None


def _line_tokens(doc: ParsedDocument, line: Line) -> list[Token]:
    return doc.line_tokens[line.number]


def _town_on_line(address: Address, keys: list[str]) -> bool:
    size = len(address.town_keys)
    for start in range(len(keys) - size + 1):
        if tuple(keys[start : start + size]) == address.town_keys:
            return True
    town = address.town_key
    if len(town) >= 6:
        compact = "".join(keys)
        return town in compact or _fuzzy_contains(town, compact, 1)
    return False


def candidates_by_address(
    doc: ParsedDocument, master: MasterData, postcodes: dict[str, list[Line]]
) -> set[str]:
    """Households whose street and house number stand near their postcode on the paper."""
    found: set[str] = set()
    for postcode, lines in postcodes.items():
        streets = master.streets_by_postcode.get(postcode)
        if not streets:
            continue
        keys = list(streets)
        for anchor in lines:
            for number in range(max(0, anchor.number - 3), min(len(doc.lines), anchor.number + 1)):
                line = doc.lines[number]
                if line.page != anchor.page:
                    continue
                line_key = doc.street_key_of(line)
                if len(line_key) < 3:
                    continue
                matches = [k for k in keys if k and k in line_key]
                if not matches and len(line_key) >= 7:
                    matches = [
                        k
                        for k, _s, _i in process.extract(
                            line_key, keys, scorer=fuzz.partial_ratio, score_cutoff=85, limit=5
                        )
                        if len(k) >= _LONG_STREET
                    ]
                for key in matches:
                    for bg_number in streets[key]:
                        address = master.addresses[bg_number]
                        if not _street_on_line(doc, address, line):
                            continue
                        if address.number is None or _number_at(doc, address.number, line):
                            found.add(bg_number)
    return found


# --- aliases ------------------------------------------------------------------------------------

_TITLES = {"herr", "herrn", "frau", "dr", "prof", "med", "dipl", "ing"}
_NOT_A_NAME = re.compile(
    r"\b(?:jobcenter|agentur|postfach|gmbh|\w*verwaltung|\w*gericht|\w*sparkasse|\w*bank|praxis"
    r"|kreis|stadt|gemeinde|amt|\w*versicherung|\w*kasse|\w*dienst|hotel|firma|\w*rechnung"
    r"|datum|\w*bescheinigung|antrag|seite|betreff|\w*stra(?:ss|ß)e|\w*str|\w*weg|\w*platz"
    r"|\w*allee)\b",
    re.I,
)
_NAME_AFTER_CUE = re.compile(
    r"\b(?i:name|vorname|mieter(?:/in)?|mieterin|kontoinhaber(?:/in)?|herrn?|frau|herr/frau"
    r"|antragsteller(?:/in)?|versicherte[rn]?|patient(?:/in)?|arbeitnehmer(?:/in)?"
    r"|rechtsstreit|sache)\b[\s:,.]*"
    r"(?P<name>[A-ZÄÖÜ][\w'\-]+(?:,?[ ]+[A-ZÄÖÜ][\w'\-]+){1,3})"
)
_WORDS_ONLY = re.compile(r"^(?:[A-ZÄÖÜ][\w'\-]+,?[ ]+){1,3}[A-ZÄÖÜ][\w'\-]+$")
_POSTCODE_LINE = re.compile(r"^(?:D-)?\d{5} [A-ZÄÖÜ]")
_STREET_LINE = re.compile(r"^(?P<street>[^\d,]{3,40}?)[ ,]+(?P<number>\d{1,4}[ ]?[a-zA-Z]?)\b")


@dataclass(frozen=True)
class PrintedName:
    text: str
    key: str
    line: Line


def _name_key_of(text: str) -> str:
    words = [name_key(w) for w in re.split(r"[\s,]+", text)]
    return " ".join(sorted(w for w in words if w and w not in _TITLES))


def printed_names(doc: ParsedDocument) -> list[PrintedName]:
    """Person names as written, found by their labels or at the head of an address block."""
    names: dict[str, PrintedName] = {}
    for line in doc.lines:
        for match in _NAME_AFTER_CUE.finditer(line.text):
            text = match.group("name").strip(" ,")
            if _NOT_A_NAME.search(text):
                continue
            key = _name_key_of(text)
            if " " in key:
                names.setdefault(key, PrintedName(text, key, line))
        following = [
            doc.lines[n]
            for n in range(line.number + 1, min(line.number + 3, len(doc.lines)))
            if doc.lines[n].page == line.page
        ]
        if (
            _WORDS_ONLY.match(line.text)
            and not _NOT_A_NAME.search(line.text)
            and following
            and (_STREET_LINE.match(following[0].text) or _POSTCODE_LINE.match(following[0].text))
        ):
            key = _name_key_of(line.text)
            if " " in key:
                names.setdefault(key, PrintedName(line.text, key, line))
    return list(names.values())


def alias_keys_of(doc: ParsedDocument, postcode_lines: dict[str, list[Line]]) -> list[str]:
    """Keys of (printed name, postcode) and (printed name, street) near each printed name."""
    keys: dict[str, None] = {}
    for printed in printed_names(doc):
        start = printed.line.number
        near = [
            doc.lines[n]
            for n in range(start, min(start + 4, len(doc.lines)))
            if doc.lines[n].page == printed.line.page
        ]
        for line in near:
            for postcode, lines in postcode_lines.items():
                if line in lines:
                    keys.setdefault(f"name:{printed.key}|plz:{postcode}", None)
            street = _STREET_LINE.match(line.text)
            if street and line is not printed.line:
                key = street_key(street.group("street"))
                if len(key) >= 4:
                    keys.setdefault(f"name:{printed.key}|str:{key}", None)
    return list(keys)
