"""recognise(): household, document type and dates of one scanned document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from ingest.recognition.doctypes import Catalogue, classify
from ingest.recognition.evidence import Evidence
from ingest.recognition.extract import (
    find_bg_candidates,
    find_court_references,
    find_dates,
    letter_date,
    postcodes,
    received_date,
)
from ingest.recognition.household import decide
from ingest.recognition.ibans import find_ibans
from ingest.recognition.master import MasterData
from ingest.recognition.persons import alias_keys_of, normalise_bg_key
from ingest.recognition.text import ParsedDocument


@dataclass
class Recognition:
    bg_number: str | None  # the household decided on, or None (clearing)
    household_confidence: float
    household_evidence: list[Evidence]
    clearing_reason: str | None
    doc_type: str
    type_confidence: float
    type_evidence: list[Evidence]
    bg_numbers_found: list[tuple[str, int, bool]]  # (normalised, page, exists in master data)
    court_references: list[str]
    letter_date: date | None
    received_date: date | None
    person: str | None  # the matched member; in clearing, the most likely one (a proposal)
    candidates: list[str] = field(default_factory=list)  # households worth a look at the desk

    def as_json(self) -> dict[str, object]:
        return {
            "bg_number": self.bg_number,
            "household_confidence": self.household_confidence,
            "household_evidence": [e.as_json() for e in self.household_evidence],
            "clearing_reason": self.clearing_reason,
            "doc_type": self.doc_type,
            "type_confidence": self.type_confidence,
            "type_evidence": [e.as_json() for e in self.type_evidence],
            # [value, page, valid] triples, as in the dataclass.
            "bg_numbers_found": [list(found) for found in self.bg_numbers_found],
            "court_references": list(self.court_references),
            "letter_date": self.letter_date.isoformat() if self.letter_date else None,
            "received_date": self.received_date.isoformat() if self.received_date else None,
            "person": self.person,
            "candidates": list(self.candidates),
        }


def recognise(
    pages: list[str],
    master: MasterData,
    catalogue: Catalogue,
    *,
    aliases: Mapping[str, str] | None = None,
    sender_address: str | None = None,
) -> Recognition:
    """Recognise household, document type and dates of one document from its page texts.

    `aliases` maps keys from `alias_keys` to the BG number a person at the desk chose; they
    support a household but never decide one alone. `sender_address` is the From address of a
    document that came by e-mail: where the master data holds it, it is strong evidence like a
    printed household number (and, like one, needs a person of that household on the paper).
    """
    doc = ParsedDocument.from_pages(pages)
    numbers = find_bg_candidates(doc)
    dates = find_dates(doc)
    postcode_lines = postcodes(doc)
    household = decide(
        doc,
        master,
        numbers,
        dates,
        postcode_lines,
        aliases,
        ibans=find_ibans(doc),
        sender_address=sender_address,
    )
    doc_type = classify(doc, catalogue)
    found: dict[tuple[str, int], bool] = {}
    for number in numbers:
        found.setdefault((number.value, number.page), number.value in master.households)
    bg_number, clearing_reason = household.bg_number, household.clearing_reason
    candidates = list(household.candidates)
    if doc_type.in_doubt:
        # The type decides who sees the letter (the objections office sees the whole file):
        # when it is in doubt, the desk decides, with the household found offered first.
        if bg_number is not None:
            clearing_reason = f"Haushalt {bg_number} erkannt, aber {doc_type.in_doubt}"
            candidates = [bg_number, *(c for c in candidates if c != bg_number)]
            bg_number = None
        else:
            clearing_reason = f"{(clearing_reason or '').rstrip('. ')}; {doc_type.in_doubt}"
    return Recognition(
        bg_number=bg_number,
        household_confidence=household.confidence,
        household_evidence=household.evidence,
        clearing_reason=clearing_reason,
        doc_type=doc_type.code,
        type_confidence=doc_type.confidence,
        type_evidence=doc_type.evidence,
        bg_numbers_found=[(value, page, valid) for (value, page), valid in found.items()],
        court_references=find_court_references(doc),
        letter_date=letter_date(dates),
        received_date=received_date(dates),
        person=household.person,
        candidates=candidates,
    )


def alias_keys(pages: list[str], master: MasterData, bg_number: str | None = None) -> list[str]:
    """Keys under which a document's printed names can be remembered for a household.

    Called after a person at the desk filed the document by hand. Each key pairs a printed name
    with a postcode or street near it; with `bg_number`, only keys whose address part belongs to
    that household are returned (so a landlord's or employer's address is not learned).
    """
    doc = ParsedDocument.from_pages(pages)
    keys = alias_keys_of(doc, postcodes(doc))
    if bg_number is None:
        return keys
    address = master.addresses.get(normalise_bg_key(bg_number))
    if address is None:
        return []
    own = {f"plz:{address.postcode}", f"str:{address.street_key}"}
    return [key for key in keys if key.rsplit("|", 1)[-1] in own]
