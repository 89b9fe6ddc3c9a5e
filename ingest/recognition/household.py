"""Which household a document belongs to: numbers, names, birth dates, addresses, aliases.

Misrouting discloses social data, so every rule here prefers the clearing inbox: a household is
decided only when two independent facts on the paper point to it (a valid BG number and one of
its members; or a member's full name and birth date or full address), and no other household is
supported as well. A printed number and a person that point to different households, or a
number one digit off an existing one, are a conflict for the clearing desk: both households are
offered and the reason says which evidence pointed where.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from email.utils import parseaddr

from core.dates import local_today
from ingest.recognition.evidence import Evidence
from ingest.recognition.extract import FoundDate, FoundNumber, one_substitution_away
from ingest.recognition.ibans import FoundIban
from ingest.recognition.master import HouseholdRecord, MasterData, Person
from ingest.recognition.persons import (
    AddressFinding,
    NameMatch,
    alias_keys_of,
    candidates_by_address,
    candidates_by_name,
    find_address,
    find_name,
    normalise_bg_key,
    printed_names,
)
from ingest.recognition.text import Line, ParsedDocument, allowed_distance, snippet
from records.iban import normalise_email

# A household is decided at this confidence or above; below, the document goes to clearing.
ROUTE_THRESHOLD = 0.85

# Confidence of each combination of facts (see _assess).
CONF_BG_AND_NAME = 0.99
CONF_BG_AND_OTHER = 0.96
CONF_NAME_BIRTH_STREET = 0.97
CONF_NAME_BIRTH = 0.93
CONF_NAME_ADDRESS = 0.90
CONF_WEAK_NAME_BIRTH_ADDRESS = 0.87
CONF_HALF_NAME_BIRTH = 0.86
CONF_ALIAS_AND_SECOND = 0.87
CONF_MEDIUM = 0.60
CONF_NAME_ONLY = 0.40
CONF_TRACE = 0.20


@dataclass
class PersonFinding:
    person: Person
    name: NameMatch | None = None
    birth: FoundDate | None = None
    birth_conflict: FoundDate | None = None
    # The first name printed with another member's last name ("Maren Thomsen" for Maren
    # Lorenzen, partner of Kai Thomsen): the couple's common name in daily life.
    borrowed: bool = False

    @property
    def full_strict(self) -> bool:
        n = self.name
        return n is not None and n.full and n.strict and not n.third_party

    @property
    def full_half_strict(self) -> bool:
        n = self.name
        return n is not None and n.full and n.half_strict and not n.third_party

    @property
    def full_lenient(self) -> bool:
        n = self.name
        return n is not None and n.full and not n.third_party

    @property
    def surname(self) -> bool:
        n = self.name
        # Capitalised, so "wie lange" is not Frau Lange.
        return (
            n is not None
            and not n.third_party
            and n.last.text[:1].isupper()
            and n.last_distance <= allowed_distance(len(self.person.last_key))
        )


@dataclass
class HouseholdFinding:
    bg_number: str
    household: HouseholdRecord
    persons: list[PersonFinding] = field(default_factory=list)
    address: AddressFinding = field(default_factory=AddressFinding)
    numbers: list[FoundNumber] = field(default_factory=list)  # printed exactly
    near_numbers: list[FoundNumber] = field(default_factory=list)  # one digit off
    ibans: list[FoundIban] = field(default_factory=list)  # a member's account on the paper
    emails: list[str] = field(default_factory=list)  # the e-mail came from a member's address
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (key, kind "plz"/"str")
    person_confidence: float = 0.0
    person_strong: bool = False
    best: PersonFinding | None = None

    @property
    def household_persons(self) -> list[Person]:
        return [pf.person for pf in self.persons]

    @property
    def keyed(self) -> bool:
        """A strong key points here: a printed number, a member's IBAN or e-mail address."""
        return bool(self.numbers or self.ibans or self.emails)

    @property
    def named_cleanly(self) -> bool:
        """A member's first and last name read within the tolerance for clean print."""
        return any(p.full_strict and p.birth_conflict is None for p in self.persons)

    @property
    def corroborated_by_name(self) -> bool:
        return any(p.full_lenient and p.birth_conflict is None for p in self.persons)

    @property
    def corroborated(self) -> bool:
        return (
            self.corroborated_by_name
            or any(p.surname or p.birth is not None for p in self.persons)
            or self.address.street is not None
        )


@dataclass
class HouseholdDecision:
    bg_number: str | None
    confidence: float
    evidence: list[Evidence]
    clearing_reason: str | None
    person: str | None
    candidates: list[str]


# --- the decision -------------------------------------------------------------------------------


def _fmt(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _assess(finding: HouseholdFinding) -> None:
    """Confidence that the person on the paper belongs to this household (numbers aside)."""
    address = finding.address
    best_conf, best_person, strong = 0.0, None, False
    for pf in finding.persons:
        birth = pf.birth is not None
        conflict = pf.birth_conflict is not None and not birth
        if conflict:
            conf = CONF_TRACE if pf.name else 0.0
        elif pf.borrowed:
            # Only the household's own address or the member's birth date with it make the
            # borrowed name this member's (a namesake elsewhere is checked in _choose).
            if birth and (address.full or address.street):
                conf = CONF_NAME_BIRTH
            elif address.full:
                conf = CONF_WEAK_NAME_BIRTH_ADDRESS
            elif birth or address.any:
                conf = CONF_MEDIUM
            else:
                conf = CONF_TRACE
        elif pf.full_strict and birth and address.street:
            conf = CONF_NAME_BIRTH_STREET
        elif pf.full_strict and birth:
            conf = CONF_NAME_BIRTH
        elif pf.full_strict and address.full:
            conf = CONF_NAME_ADDRESS
        elif birth and (
            (pf.full_half_strict and (address.full or address.street))
            or ((pf.full_lenient or pf.surname) and address.full)
        ):
            conf = CONF_WEAK_NAME_BIRTH_ADDRESS
        elif pf.full_half_strict and birth:
            conf = CONF_HALF_NAME_BIRTH
        elif (pf.full_lenient and (birth or address.any)) or (
            pf.surname and (birth or address.full)
        ):
            conf = CONF_MEDIUM
        elif pf.full_strict:
            conf = CONF_NAME_ONLY
        elif pf.name is not None or birth:
            conf = CONF_TRACE
        else:
            conf = 0.0
        if conf > best_conf:
            best_conf, best_person = conf, pf
    if finding.aliases and best_conf < CONF_ALIAS_AND_SECOND:
        births = any(pf.birth is not None for pf in finding.persons)
        for _key, kind in finding.aliases:
            second = births or (
                address.street is not None if kind == "plz" else bool(address.postcode)
            )
            if second:
                best_conf = CONF_ALIAS_AND_SECOND
                break
            best_conf = max(best_conf, CONF_MEDIUM)
    if best_conf == 0.0 and address.any:
        best_conf = CONF_TRACE
    strong = best_conf >= ROUTE_THRESHOLD
    finding.person_confidence = best_conf
    finding.person_strong = strong
    finding.best = best_person


def _person_evidence(finding: HouseholdFinding) -> list[Evidence]:
    evidence: list[Evidence] = []
    best = finding.best
    persons = [best] if best is not None else []
    persons += [
        p for p in finding.persons if p is not best and (p.full_lenient or p.birth is not None)
    ]
    for pf in persons[:3]:
        name = pf.person.display_name
        if pf.name is not None:
            line = pf.name.line
            read = line.text
            if pf.name.first is not None and pf.name.first.line != line.number:
                read = f"{read} … {pf.name.first.text}"
            quality = "" if pf.name.strict else ", unsicher gelesen"
            what = "Name" if pf.name.full else "Nachname"
            shown = name if pf.name.full else pf.person.member.last_name
            if pf.borrowed:
                what = "Vorname"
                quality = " mit dem Nachnamen eines anderen Mitglieds der Bedarfsgemeinschaft"
            evidence.append(
                Evidence(
                    "name",
                    line.page,
                    read,
                    f"{what} „{shown}“ auf Seite {line.page}{quality} („{snippet(read)}“)",
                )
            )
        if pf.birth is not None:
            line_text = pf.birth.text
            evidence.append(
                Evidence(
                    "birth_date",
                    pf.birth.page,
                    line_text,
                    f"Geburtsdatum {_fmt(pf.birth.value)} von {name} auf Seite {pf.birth.page}",
                )
            )
    address = finding.address
    if address.any:
        household = finding.household
        parts = []
        if address.street is not None:
            parts.append("Straße und Hausnummer")
        elif address.street_only is not None:
            parts.append("Straße (ohne passende Hausnummer)")
        if address.postcode is not None:
            parts.append("Postleitzahl")
        if address.town is not None:
            parts.append("Ort")
        address_line = address.street or address.street_only or address.postcode or address.town
        assert address_line is not None  # address.any: one of them was found
        evidence.append(
            Evidence(
                "address",
                address_line.page,
                address_line.text,
                f"Anschrift „{household.street}, {household.postcode} {household.town}“: "
                f"{', '.join(parts)} auf Seite {address_line.page} gefunden",
            )
        )
    unique: dict[str, Evidence] = {}
    for item in evidence:
        unique.setdefault(item.detail, item)
    evidence = list(unique.values())
    for key, _kind in finding.aliases[:2]:
        evidence.append(
            Evidence(
                "alias",
                None,
                key,
                f"Gelernte Zuordnung aus einer früheren Ablage von Hand („{key}“)",
            )
        )
    return evidence


def _number_evidence(finding: HouseholdFinding) -> list[Evidence]:
    evidence = []
    for number in finding.numbers[:2]:
        evidence.append(
            Evidence(
                "bg_number",
                number.page,
                number.raw,
                f"BG-Nummer {number.value} auf Seite {number.page} („{number.raw}“)",
            )
        )
    for iban in finding.ibans[:2]:
        slips = ", OCR-Lesefehler bei gültiger Prüfziffer korrigiert" if iban.corrected else ""
        evidence.append(
            Evidence(
                "iban",
                iban.page,
                iban.raw,
                f"IBAN {iban.shown} auf Seite {iban.page} ist das Konto von "
                f"{_account_holders(finding, iban)} laut Stammdaten ({finding.bg_number}{slips})",
            )
        )
    for email in finding.emails[:1]:
        evidence.append(
            Evidence(
                "email",
                None,
                email,
                f"Absenderadresse {email} gehört laut Stammdaten zu "
                f"{_email_owners(finding, email)} ({finding.bg_number})",
            )
        )
    for number in finding.near_numbers[:2]:
        evidence.append(
            Evidence(
                "bg_number",
                number.page,
                number.raw,
                f"BG-Nummer „{number.raw}“ auf Seite {number.page} steht so nicht in den "
                f"Stammdaten; sie weicht in einer Ziffer von {finding.bg_number} ab",
            )
        )
    return evidence


def _account_holders(finding: HouseholdFinding, iban: FoundIban) -> str:
    owners = [p.display_name for p in finding.household_persons if p.member.iban == iban.value]
    return ", ".join(owners[:2]) or _names_of(finding)


def _email_owners(finding: HouseholdFinding, email: str) -> str:
    owners = [
        p.display_name for p in finding.household_persons if (p.member.email or "").lower() == email
    ]
    return ", ".join(owners[:2]) or _names_of(finding)


def _names_of(finding: HouseholdFinding) -> str:
    if finding.best is not None:
        return finding.best.person.display_name
    return ", ".join(p.person.display_name for p in finding.persons[:2])


def _listing(findings: list[HouseholdFinding]) -> str:
    return ", ".join(f"{f.bg_number} ({_names_of(f)})" for f in findings[:4])


def decide(
    doc: ParsedDocument,
    master: MasterData,
    numbers: list[FoundNumber],
    dates: list[FoundDate],
    postcode_lines: dict[str, list[Line]],
    aliases: Mapping[str, str] | None = None,
    ibans: list[FoundIban] | None = None,
    sender_address: str | None = None,
) -> HouseholdDecision:
    findings: dict[str, HouseholdFinding] = {}

    def finding_for(bg_number: str) -> HouseholdFinding:
        if bg_number not in findings:
            findings[bg_number] = HouseholdFinding(bg_number, master.households[bg_number])
        return findings[bg_number]

    # Numbers: exact ones, then those one digit away from exactly one existing number.
    unknown_numbers: list[FoundNumber] = []
    ambiguous_numbers: list[FoundNumber] = []
    for number in numbers:
        if number.value not in master.households:
            number = _read_back(number, master)
        if number.value in master.households:
            finding_for(number.value).numbers.append(number)
            continue
        near = one_substitution_away(number.value, master.households)
        if len(near) == 1:
            finding_for(near[0]).near_numbers.append(number)
        elif near:
            ambiguous_numbers.append(number)
        else:
            unknown_numbers.append(number)

    # Accounts and sender addresses the master data holds: strong keys like a number.
    for iban in ibans or ():
        for bg_number in _households_of(master.persons_by_iban.get(iban.value, ())):
            finding_for(bg_number).ibans.append(iban)
    email = _sender_key(sender_address)
    if email is not None:
        for bg_number in _households_of(master.persons_by_email.get(email, ())):
            finding_for(bg_number).emails.append(email)

    # People: by name, by birth date, by address, by learned aliases.
    reference_year = max(
        (d.value.year for d in dates if d.context != "birth"), default=local_today().year
    )
    birth_dates = {d.value: d for d in dates if d.context == "birth"}
    plausible = {
        d.value: d
        for d in dates
        if d.context not in ("birth", "stamp", "letter") and d.value.year <= reference_year - 2
    }
    for bg_number in candidates_by_name(doc, master):
        finding_for(bg_number)
    for day in list(birth_dates) + list(plausible):
        for person in master.persons_by_birth.get(day, ()):
            finding_for(normalise_bg_key(person.household.bg_number))
    for bg_number in candidates_by_address(doc, master, postcode_lines):
        finding_for(bg_number)
    if aliases:
        for key in alias_keys_of(doc, postcode_lines):
            target = aliases.get(key)
            if target is not None and normalise_bg_key(target) in master.households:
                kind = "plz" if "|plz:" in key else "str"
                finding_for(normalise_bg_key(target)).aliases.append((key, kind))

    # Evidence for every member of every household in question.
    for bg_number, finding in findings.items():
        finding.address = find_address(doc, master.addresses[bg_number], postcode_lines)
        persons = master.persons_by_bg[bg_number]
        for person in persons:
            pf = PersonFinding(person, name=find_name(doc, person))
            if pf.name is None or not (pf.name.full and pf.name.strict):
                borrowed = _borrowed_name(doc, person, persons)
                if borrowed is not None:
                    pf.name, pf.borrowed = borrowed, True
            born = person.member.birth_date
            if born is not None:
                pf.birth = birth_dates.get(born) or plausible.get(born)
                if pf.birth is None and pf.name is not None:
                    pf.birth_conflict = _birth_date_beside(doc, pf.name, dates)
            finding.persons.append(pf)
        _assess(finding)

    return _choose(findings, unknown_numbers, ambiguous_numbers, doc)


def _borrowed_name(doc: ParsedDocument, person: Person, persons: list[Person]) -> NameMatch | None:
    """The member's first name beside another member's last name, both read cleanly."""
    for last_key in dict.fromkeys(p.last_key for p in persons):
        if not last_key or last_key == person.last_key:
            continue
        proxy = Person(
            person.household, person.member, last_key, person.first_key, person.first_parts
        )
        name = find_name(doc, proxy)
        if name is not None and name.full and name.strict and not name.third_party:
            return name
    return None


def _households_of(persons: list[Person] | tuple[()]) -> list[str]:
    return list(dict.fromkeys(normalise_bg_key(p.household.bg_number) for p in persons))


def _sender_key(sender_address: str | None) -> str | None:
    """The bare address of a From header ("Anna Wolf <Anna.Wolf@Example.org>"), lower case."""
    if not sender_address:
        return None
    _name, address = parseaddr(sender_address)
    return normalise_email(address or sender_address)


# The digits an OCR letter in a printed number may have been. extract.py reads each letter as
# its most likely digit ("S" as 5); where that reading exists nowhere, the other readings are
# tried, so that "95401BG12345S7" for 95401BG1234587 is the household's own number.
_GLYPH_DIGITS = {
    "S": "58",
    "s": "58",
    "B": "83",
    "Z": "27",
    "z": "27",
    "G": "60",
    "b": "6",
    "O": "0",
    "o": "0",
    "Q": "0",
    "D": "0",
    "I": "17",
    "l": "17",
    "|": "17",
    "!": "1",
    "]": "1",
    "[": "1",
}
_NUMBER_NOISE = re.compile(r"[\s\-/._:]")


def _glyph_positions(number: FoundNumber) -> list[str] | None:
    """The glyphs printed for the 12 digits of `number.value`, or None if they cannot be lined
    up with certainty (then no other reading is tried)."""
    compact = _NUMBER_NOISE.sub("", number.raw)
    digits = number.value.replace("BG", "")
    serial = compact[-7:]
    for office in (compact[:5], compact[-12:-7], compact[-14:-9]):
        glyphs = office + serial
        if len(glyphs) == 12 and all(
            (g == d) or (d in _GLYPH_DIGITS.get(g, "")) for g, d in zip(glyphs, digits, strict=True)
        ):
            return list(glyphs)
    return None


def _read_back(number: FoundNumber, master: MasterData) -> FoundNumber:
    """`number` read again where OCR letters allow another digit; returned unchanged unless
    exactly one other reading is an existing household number."""
    glyphs = _glyph_positions(number)
    if glyphs is None:
        return number
    options = [tuple(_GLYPH_DIGITS[g]) if g in _GLYPH_DIGITS else (g,) for g in glyphs]
    if sum(len(o) > 1 for o in options) > 4:
        return number
    readings = {
        f"{''.join(c[:5])}BG{''.join(c[5:])}" for c in itertools.product(*options)
    } & master.households.keys()
    if len(readings) != 1:
        return number
    return FoundNumber(readings.pop(), number.page, number.line, number.raw)


def _birth_date_beside(
    doc: ParsedDocument, name: NameMatch, dates: list[FoundDate]
) -> FoundDate | None:
    """A birth date printed with the name (same line or up to two lines below it), which is not
    the member's: the letter is about another person of that name."""
    line = max(name.line.number, name.first.line if name.first is not None else 0)
    for found in dates:
        if (
            found.context == "birth"
            and found.page == name.line.page
            and 0 <= found.line - line <= 2
        ):
            return found
    return None


def _clearing(
    reason: str, evidence: list[Evidence], candidates: list[HouseholdFinding], confidence: float
) -> HouseholdDecision:
    # The most likely member, as a proposal for the desk (never a decision).
    named = [f.best for f in candidates if f.best is not None and f.best.full_lenient]
    return HouseholdDecision(
        bg_number=None,
        confidence=round(confidence, 2),
        evidence=evidence,
        clearing_reason=reason,
        person=named[0].person.display_name if named else None,
        candidates=[f.bg_number for f in candidates[:5]],
    )


def _routed(
    finding: HouseholdFinding, confidence: float, extra: list[Evidence]
) -> HouseholdDecision:
    evidence = _number_evidence(finding) + _person_evidence(finding) + extra
    person = finding.best.person.display_name if finding.best is not None else None
    if person is None:
        named = [p for p in finding.persons if p.full_lenient]
        person = named[0].person.display_name if named else None
    return HouseholdDecision(
        bg_number=finding.bg_number,
        confidence=round(confidence, 2),
        evidence=evidence,
        clearing_reason=None,
        person=person,
        candidates=[finding.bg_number],
    )


def _same_person(a: HouseholdFinding, b: HouseholdFinding) -> bool:
    if a.best is None or b.best is None:
        return False
    x, y = a.best.person, b.best.person
    return (
        x.last_key == y.last_key
        and x.first_key == y.first_key
        and x.member.birth_date is not None
        and x.member.birth_date == y.member.birth_date
    )


def _inactive(finding: HouseholdFinding, evidence: list[Evidence]) -> HouseholdDecision:
    return _clearing(
        f"Die Bedarfsgemeinschaft {finding.bg_number} ({_names_of(finding)}) ist in den "
        "Stammdaten nicht mehr aktiv; bitte die zuständige Akte von Hand bestimmen.",
        evidence,
        [finding],
        finding.person_confidence,
    )


def _facts(finding: HouseholdFinding) -> str:
    """Which facts about the person point to this household: "Name, Geburtsdatum und Anschrift"."""
    best = finding.best
    parts = []
    if best is not None and best.name is not None:
        parts.append("Name" if best.name.full else "Nachname")
    if best is not None and best.birth is not None:
        parts.append("Geburtsdatum")
    if finding.address.street is not None or finding.address.full:
        parts.append("Anschrift")
    if finding.aliases:
        parts.append("eine gelernte Zuordnung")
    if not parts:
        return "Die Angaben zur Person passen"
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} und {parts[-1]}"
    return f"{listed} {'passt' if len(parts) == 1 else 'passen'}"


def _keys_said(finding: HouseholdFinding) -> str:
    """ "BG-Nummer … auf Seite 2 und IBAN … auf Seite 1 gehören zum Haushalt von … (…)"."""
    parts = []
    if finding.numbers:
        number = finding.numbers[0]
        parts.append(f"BG-Nummer {number.value} auf Seite {number.page}")
    if finding.ibans:
        iban = finding.ibans[0]
        parts.append(f"IBAN {iban.shown} auf Seite {iban.page}")
    if finding.emails:
        parts.append(f"die Absenderadresse {finding.emails[0]}")
    verb = "gehört" if len(parts) == 1 else "gehören"
    return (
        f"{' und '.join(parts)} {verb} zum Haushalt von {_names_of(finding)} ({finding.bg_number})"
    )


def _conflict_reason(
    number: FoundNumber | None, pointed: HouseholdFinding, persons: list[HouseholdFinding]
) -> str:
    """Which evidence pointed where, for strong keys (number, IBAN, e-mail address) and a
    person that disagree."""
    if number is None or number.value == pointed.bg_number:
        said = _keys_said(pointed)
    else:
        said = (
            f"BG-Nummer {number.value} auf Seite {number.page} steht nicht in den Stammdaten "
            f"und weicht in einer Ziffer von {pointed.bg_number} ({_names_of(pointed)}) ab"
        )
    other = [f for f in persons if f is not pointed]
    if other:
        told = "; ".join(
            f"{_facts(f)} zum Haushalt von {_names_of(f)} ({f.bg_number})" for f in other[:3]
        )
        return f"{said}; {told} – bitte in der Klärung entscheiden."
    return (
        f"{said}; {_facts(pointed)} zu diesem Haushalt, die gedruckte Nummer aber nicht – "
        "bitte in der Klärung entscheiden."
    )


def _choose(
    findings: dict[str, HouseholdFinding],
    unknown_numbers: list[FoundNumber],
    ambiguous_numbers: list[FoundNumber],
    doc: ParsedDocument,
) -> HouseholdDecision:
    ranked = sorted(
        findings.values(),
        key=lambda f: (f.keyed, f.person_confidence, bool(f.near_numbers)),
        reverse=True,
    )
    strong = [f for f in ranked if f.person_strong]
    notes = [
        Evidence(
            "bg_number",
            n.page,
            n.raw,
            f"BG-Nummer {n.value} auf Seite {n.page} („{n.raw}“) steht nicht in den Stammdaten",
        )
        for n in unknown_numbers[:2]
    ] + [
        Evidence(
            "bg_number",
            n.page,
            n.raw,
            f"BG-Nummer „{n.raw}“ auf Seite {n.page} steht nicht in den Stammdaten und ähnelt "
            "mehreren vorhandenen Nummern",
        )
        for n in ambiguous_numbers[:2]
    ]

    # 1. A strong key that exists: a printed number, a member's IBAN or e-mail address.
    keyed = [f for f in ranked if f.keyed]
    if keyed:
        with_person = [f for f in keyed if f.corroborated_by_name or f.person_strong]
        # An IBAN or sender address is a member's own: it never stands beside another
        # household's key as a mere mention, so any disagreement goes to the desk.
        by_account = [f for f in keyed if f.ibans or f.emails]
        if len(keyed) > 1:
            if by_account and (len(with_person) != 1 or by_account != with_person):
                first, rest = keyed[0], keyed[1:]
                return _clearing(
                    f"{_keys_said(first)}; "
                    + "; ".join(_keys_said(f) for f in rest[:3])
                    + " – bitte in der Klärung entscheiden.",
                    [e for f in keyed for e in _number_evidence(f) + _person_evidence(f)] + notes,
                    keyed,
                    0.5,
                )
            if len(with_person) != 1:
                listing = ", ".join(f.bg_number for f in keyed)
                return _clearing(
                    f"Mehrere BG-Nummern im Schreiben ({listing}); die genannte Person passt "
                    "nicht eindeutig zu einer davon.",
                    [e for f in keyed for e in _number_evidence(f)] + notes,
                    keyed,
                    0.5,
                )
            chosen = with_person[0]
        else:
            chosen = keyed[0]
        others = [f for f in strong if f is not chosen]
        if not chosen.corroborated:
            what = "BG-Nummer" if chosen.numbers else "IBAN" if chosen.ibans else "Absenderadresse"
            reason = (
                f"{what} der Bedarfsgemeinschaft {chosen.bg_number} gefunden, aber keine Person "
                "dieser Bedarfsgemeinschaft (Name, Geburtsdatum oder Anschrift) im Schreiben "
                "erkannt."
            )
            if chosen.numbers:
                reason = (
                    f"BG-Nummer {chosen.bg_number} gefunden, aber keine Person dieser "
                    "Bedarfsgemeinschaft (Name, Geburtsdatum oder Anschrift) im Schreiben erkannt."
                )
            if others:
                reason = _conflict_reason(None, chosen, others)
            return _clearing(
                reason,
                _number_evidence(chosen) + [e for o in others for e in _person_evidence(o)] + notes,
                [chosen, *others],
                0.5,
            )
        # Without the number printed exactly, a number one digit off the household's own (or
        # off another's) is a second key that disagrees with the IBAN or address (issue 13).
        slipped = [f for f in ranked if f.near_numbers and not f.numbers]
        if not chosen.numbers and (slipped or ambiguous_numbers):
            if slipped:
                pointed = slipped[0]
                number = pointed.near_numbers[0]
                said = (
                    f"BG-Nummer {number.value} auf Seite {number.page} steht nicht in den "
                    f"Stammdaten und weicht in einer Ziffer von {pointed.bg_number} "
                    f"({_names_of(pointed)}) ab"
                )
            else:
                number = ambiguous_numbers[0]
                pointed = chosen
                said = (
                    f"BG-Nummer {number.value} auf Seite {number.page} steht nicht in den "
                    "Stammdaten und ähnelt mehreren vorhandenen Nummern"
                )
            candidates = [chosen, *(f for f in slipped if f is not chosen)]
            candidates += [f for f in others if f not in candidates]
            return _clearing(
                f"{said}; {_keys_said(chosen)} – bitte in der Klärung entscheiden.",
                [e for f in candidates for e in _number_evidence(f) + _person_evidence(f)] + notes,
                candidates,
                0.5,
            )
        # Which person evidence may contradict a printed number: a strong match (name with
        # birth date or full address, >= ROUTE_THRESHOLD) of another household always does,
        # since it alone would decide a household (issue 13: two strong facts that disagree
        # go to the desk). A name alone does not: namesakes are common and a name-only match
        # is never enough to file a letter, so it must not unsettle a number that the
        # household's own member confirms.
        if not (chosen.corroborated_by_name or chosen.person_strong):
            # Only a last name, birth date or street backs the number: a full name that points
            # to another household with more than the name alone outweighs it.
            others += [
                f
                for f in ranked
                if f is not chosen
                and f not in others
                and f.person_confidence >= CONF_MEDIUM
                and f.named_cleanly
            ]
        if others:
            return _clearing(
                _conflict_reason(None, chosen, others),
                _number_evidence(chosen) + [e for o in others for e in _person_evidence(o)],
                [chosen, *others],
                0.5,
            )
        if not chosen.household.active:
            return _inactive(chosen, _number_evidence(chosen) + _person_evidence(chosen))
        if chosen.corroborated_by_name or chosen.person_strong:
            confidence = CONF_BG_AND_NAME
        else:
            confidence = CONF_BG_AND_OTHER
        if len(keyed) > 1:
            confidence -= 0.05
        return _routed(chosen, confidence, notes)

    # 2. A number one digit off an existing one, backed by the person.
    near = [f for f in ranked if f.near_numbers and (f.named_cleanly or f.person_strong)]
    near_rejected = [f for f in ranked if f.near_numbers and f not in near]
    for f in near_rejected:
        notes.append(
            Evidence(
                "bg_number",
                f.near_numbers[0].page,
                f.near_numbers[0].raw,
                f"BG-Nummer „{f.near_numbers[0].raw}“ steht nicht in den Stammdaten; die ähnliche "
                f"Nummer {f.bg_number} wird nicht angenommen, weil deren Personen im Schreiben "
                "nicht genannt sind",
            )
        )
    # A number that is one digit off an existing one is a conflict, not a confirmation: the
    # sender may have copied another household's number with a slip, or the number may be the
    # person's own with a wrong digit; either way the paper holds two facts that disagree, and
    # filing it in either household could be wrong (issue 13). So it never routes: with a
    # person that is named cleanly or matched strongly, the letter goes to clearing with the
    # number's household and the person's household both offered and the reason saying which
    # evidence pointed where. (A number printed exactly elsewhere in the letter is handled
    # above: then the near one is only a misread repetition.)
    pointing = near + [f for f in near_rejected if strong]
    if pointing:
        persons = [f for f in strong if f not in pointing] or near
        chosen = pointing[0]
        candidates = [*persons, *(f for f in pointing if f not in persons)]
        return _clearing(
            _conflict_reason(chosen.near_numbers[0], chosen, persons),
            _number_evidence(chosen) + [e for f in candidates for e in _person_evidence(f)] + notes,
            candidates,
            0.5,
        )

    # 3. The person alone.
    if len(strong) > 1:
        active = [f for f in strong if f.household.active]
        moved = len(active) == 1 and all(
            _same_person(active[0], f) for f in strong if f not in active
        )
        confidence = active[0].person_confidence - 0.02 if moved else 0.0
        if moved and confidence >= ROUTE_THRESHOLD:
            chosen = active[0]
            note = Evidence(
                "name",
                None,
                "",
                "Dieselbe Person steht auch in einer nicht mehr aktiven Bedarfsgemeinschaft ("
                + ", ".join(f.bg_number for f in strong if f is not chosen)
                + ")",
            )
            return _routed(chosen, confidence, [*notes, note])
        return _clearing(
            f"Namensgleichheit: die Angaben im Schreiben passen zu mehreren "
            f"Bedarfsgemeinschaften ({_listing(strong)}).",
            [e for f in strong for e in _person_evidence(f)] + notes,
            strong,
            0.5,
        )
    if len(strong) == 1:
        chosen = strong[0]
        if chosen.best is not None and chosen.best.borrowed:
            namesakes = [f for f in ranked if f is not chosen and f.named_cleanly]
            if namesakes:
                return _clearing(
                    f"Der Name im Schreiben gehört in {_listing(namesakes)} einer Person; "
                    f"Vorname und Anschrift passen zu {_names_of(chosen)} ({chosen.bg_number}), "
                    "deren Nachname aber anders lautet – bitte in der Klärung entscheiden.",
                    [e for f in [chosen, *namesakes] for e in _person_evidence(f)] + notes,
                    [chosen, *namesakes],
                    0.5,
                )
        # A number close to several households, one of them the person's own: still a number
        # one digit off the person's own, so the desk decides (see stage 2).
        slip = next(
            (n for n in ambiguous_numbers if one_substitution_away(n.value, {chosen.bg_number})),
            None,
        )
        if slip is not None:
            return _clearing(
                f"BG-Nummer {slip.value} auf Seite {slip.page} steht nicht in den Stammdaten "
                f"und weicht in einer Ziffer von {chosen.bg_number} ({_names_of(chosen)}) und "
                f"weiteren Nummern ab; {_facts(chosen)} zum Haushalt von {_names_of(chosen)} "
                f"({chosen.bg_number}) – bitte in der Klärung entscheiden.",
                _person_evidence(chosen) + notes,
                [chosen],
                0.5,
            )
        if not chosen.household.active:
            return _inactive(chosen, _person_evidence(chosen) + notes)
        confidence = chosen.person_confidence - (0.02 if unknown_numbers else 0.0)
        if confidence >= ROUTE_THRESHOLD:
            return _routed(chosen, confidence, notes)

    # 4. Clearing: say what was found and what was missing.
    return _clearing(
        _weak_reason(ranked, unknown_numbers, ambiguous_numbers, doc),
        [e for f in ranked[:3] for e in _person_evidence(f)] + notes,
        [f for f in ranked if f.person_confidence >= CONF_NAME_ONLY] or ranked[:3],
        ranked[0].person_confidence if ranked else 0.0,
    )


def _weak_reason(
    ranked: list[HouseholdFinding],
    unknown_numbers: list[FoundNumber],
    ambiguous_numbers: list[FoundNumber],
    doc: ParsedDocument,
) -> str:
    parts = []
    if unknown_numbers:
        listing = ", ".join(dict.fromkeys(n.value for n in unknown_numbers))
        parts.append(f"BG-Nummer {listing} steht nicht in den Stammdaten.")
    if ambiguous_numbers:
        parts.append(
            f"BG-Nummer „{ambiguous_numbers[0].raw}“ ist nicht lesbar genug (ähnelt mehreren "
            "vorhandenen Nummern)."
        )
    named = [f for f in ranked if f.named_cleanly]
    unsure = [f for f in ranked if f.corroborated_by_name and f not in named]
    birth_conflicts = [
        (f, pf)
        for f in ranked
        for pf in f.persons
        if pf.full_lenient and pf.birth_conflict is not None and pf.birth is None
    ]
    if birth_conflicts and not named:
        f, pf = birth_conflicts[0]
        conflict = pf.birth_conflict
        assert conflict is not None
        parts.append(
            f"Der Name „{pf.person.display_name}“ ({f.bg_number}) ist erkannt, das "
            f"Geburtsdatum im Schreiben ({_fmt(conflict.value)}) gehört aber nicht zu dieser "
            "Person."
        )
    elif len(named) > 1:
        parts.append(
            f"Namensgleichheit: der Name passt zu mehreren Bedarfsgemeinschaften "
            f"({_listing(named)}); Geburtsdatum oder Anschrift unterscheiden sie nicht."
        )
    elif named:
        f = named[0]
        if f.address.any:
            parts.append(
                f"Der Name „{_names_of(f)}“ ({f.bg_number}) und Teile der Anschrift sind "
                "erkannt; für eine sichere Zuordnung fehlen Geburtsdatum oder Straße mit "
                "Hausnummer."
            )
        else:
            parts.append(
                f"Nur der Name „{_names_of(f)}“ ({f.bg_number}) ist erkannt; Geburtsdatum oder "
                "Anschrift fehlen, das reicht nicht für eine sichere Zuordnung."
            )
    elif unsure:
        parts.append(
            f"Ein Name ist nur unsicher lesbar (ähnlich: {_listing(unsure)}); das reicht nicht "
            "für eine sichere Zuordnung."
        )
    elif any(f.aliases for f in ranked):
        parts.append(
            "Eine gelernte Zuordnung passt, aber ein zweites Merkmal (Anschrift oder "
            "Geburtsdatum) fehlt."
        )
    else:
        printed = [p.text for p in printed_names(doc)][:2]
        if printed:
            shown = ", ".join(f"„{p}“" for p in printed)
            parts.append(
                f"Keine Person aus den Stammdaten erkannt (genannt: {shown}); unbekannter "
                "Absender oder nicht lesbarer Name."
            )
        else:
            parts.append(
                "Keine Person aus den Stammdaten und keine gültige BG-Nummer erkannt "
                "(unbekannter Absender oder nicht lesbar)."
            )
    return " ".join(parts)
