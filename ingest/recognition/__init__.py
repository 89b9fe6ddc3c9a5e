"""Recognition of scanned mail: household (BG), document type, dates and court references.

Pure functions: page texts and a snapshot of the master data in, a decision with its evidence
out. No database, no files except the document-type catalogue.
"""

from ingest.recognition.core import Recognition, alias_keys, recognise
from ingest.recognition.doctypes import (
    DEFAULT_CATALOGUE,
    Catalogue,
    DocTypeRule,
    Term,
    catalogue_problems,
    load_catalogue,
    parse_catalogue,
)
from ingest.recognition.evidence import Evidence
from ingest.recognition.household import ROUTE_THRESHOLD
from ingest.recognition.master import HouseholdRecord, MasterData, MemberRecord

__all__ = [
    "DEFAULT_CATALOGUE",
    "ROUTE_THRESHOLD",
    "Catalogue",
    "DocTypeRule",
    "Evidence",
    "HouseholdRecord",
    "MasterData",
    "MemberRecord",
    "Recognition",
    "Term",
    "alias_keys",
    "catalogue_problems",
    "load_catalogue",
    "parse_catalogue",
    "recognise",
]
