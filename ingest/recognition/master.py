"""A snapshot of the households and their members, indexed for recognition."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from ingest.recognition.text import house_number_key, name_key, street_key


@dataclass(frozen=True)
class MemberRecord:
    last_name: str
    first_name: str
    birth_date: date | None
    iban: str | None = None  # compact, checked at import ("DE89370400440532013000")
    email: str | None = None  # lower case


@dataclass(frozen=True)
class HouseholdRecord:
    bg_number: str
    street: str
    postcode: str
    town: str
    members: tuple[MemberRecord, ...]
    active: bool = True


@dataclass(slots=True, eq=False)
class Person:
    """A member as recognition compares it: keys of the names, and the household."""

    household: HouseholdRecord
    member: MemberRecord
    last_key: str
    first_key: str
    first_parts: tuple[str, ...]

    @property
    def display_name(self) -> str:
        return f"{self.member.first_name} {self.member.last_name}".strip()


@dataclass(slots=True)
class Address:
    street_key: str
    street_words: tuple[str, ...]  # the street name's words, as street keys
    number: str | None
    postcode: str
    town_keys: tuple[str, ...]  # the town's words, as name keys

    @property
    def town_key(self) -> str:
        return "".join(self.town_keys)


_STREET_AND_NUMBER = re.compile(
    r"^(?P<street>.*?)[\s,]*(?P<number>\d+\s*[a-zA-Z]?(?:\s*[-/]\s*\d+\s*[a-zA-Z]?)?)\s*$"
)


def split_street(street: str) -> tuple[str, str | None]:
    """ "Theodor-Storm-Straße 89" -> ("Theodor-Storm-Straße", "89")."""
    match = _STREET_AND_NUMBER.match(street.strip())
    if not match or not match.group("street"):
        return street.strip(), None
    return match.group("street"), house_number_key(match.group("number"))


_BG_NOISE = re.compile(r"[\s\-/]")
_NAME_PARTS = re.compile(r"[\s\-]+")


def normalise_bg(value: str) -> str:
    if value.isalnum():
        return value.upper()
    return _BG_NOISE.sub("", value).upper()


@lru_cache(maxsize=100_000)
def _first_name_keys(first_name: str) -> tuple[str, tuple[str, ...]]:
    parts = tuple(k for k in map(name_key, _NAME_PARTS.split(first_name)) if k)
    return name_key(first_name), parts


@lru_cache(maxsize=100_000)
def _street_words(street: str) -> tuple[str, ...]:
    return tuple(k for k in map(street_key, street.split()) if k)


@lru_cache(maxsize=100_000)
def _town_keys(town: str) -> tuple[str, ...]:
    return tuple(k for k in map(name_key, town.split()) if k)


def _deletions(key: str) -> set[str]:
    return {key[:i] + key[i + 1 :] for i in range(len(key))}


class MasterData:
    """Households and members with lookup indexes by number, name, birth date and address.

    Built once per batch by the caller; every lookup is a dictionary access, so a document costs
    the same with 50 or 50,000 households.
    """

    def __init__(self, households: Iterable[HouseholdRecord]) -> None:
        self.households: dict[str, HouseholdRecord] = {}
        self.persons_by_bg: dict[str, list[Person]] = {}
        self.addresses: dict[str, Address] = {}
        self.persons_by_last: dict[str, list[Person]] = defaultdict(list)
        self.first_keys_by_last: dict[str, dict[str, list[Person]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.last_by_deletion: dict[str, set[str]] = defaultdict(set)
        self.persons_by_birth: dict[date, list[Person]] = defaultdict(list)
        self.streets_by_postcode: dict[str, dict[str, list[str]]] = defaultdict(
            lambda: defaultdict(list)
        )
        # Strong keys besides the number (issue 13): the account the benefit is paid to, and the
        # e-mail address a member writes from. One key may belong to several households (a
        # shared account after a separation); recognition then sees a conflict, never a choice.
        self.persons_by_iban: dict[str, list[Person]] = defaultdict(list)
        self.persons_by_email: dict[str, list[Person]] = defaultdict(list)
        persons_by_last = self.persons_by_last
        first_keys_by_last = self.first_keys_by_last
        persons_by_birth = self.persons_by_birth
        for household in households:
            bg_number = normalise_bg(household.bg_number)
            self.households[bg_number] = household
            street, number = split_street(household.street)
            address = Address(
                street_key=street_key(street),
                street_words=_street_words(street),
                number=number,
                postcode=household.postcode.strip(),
                town_keys=_town_keys(household.town),
            )
            self.addresses[bg_number] = address
            if address.street_key:
                self.streets_by_postcode[address.postcode][address.street_key].append(bg_number)
            persons = []
            for member in household.members:
                first_key, first_parts = _first_name_keys(member.first_name)
                last_key = name_key(member.last_name)
                person = Person(household, member, last_key, first_key, first_parts)
                persons.append(person)
                if last_key:
                    persons_by_last[last_key].append(person)
                    firsts = first_keys_by_last[last_key]
                    firsts[first_key].append(person)
                    for part in first_parts:
                        if part != first_key:
                            firsts[part].append(person)
                if member.birth_date is not None:
                    persons_by_birth[member.birth_date].append(person)
                if member.iban:
                    self.persons_by_iban[member.iban.replace(" ", "").upper()].append(person)
                if member.email:
                    self.persons_by_email[member.email.strip().lower()].append(person)
            self.persons_by_bg[bg_number] = persons
        for key in self.persons_by_last:
            if len(key) >= 5:
                for variant in _deletions(key):
                    self.last_by_deletion[variant].add(key)

    def __len__(self) -> int:
        return len(self.households)

    def __contains__(self, bg_number: object) -> bool:
        return bg_number in self.households

    def household(self, bg_number: str) -> HouseholdRecord | None:
        return self.households.get(bg_number)

    def last_names_near(self, key: str) -> set[str]:
        """Known last-name keys at most one edit away from `key` (exact for short keys)."""
        found = set()
        if key in self.persons_by_last:
            found.add(key)
        if len(key) < 4:
            return found
        found |= self.last_by_deletion.get(key, set())  # an extra letter in the master
        for variant in _deletions(key):
            if variant in self.persons_by_last and len(variant) >= 5:
                found.add(variant)  # an extra letter on paper
            found |= self.last_by_deletion.get(variant, set())  # one letter replaced
        return {k for k in found if len(k) >= 5 or k == key}
