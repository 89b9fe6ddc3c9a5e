"""The court's administrative file as an XJustiz 3.5.1 message `0005005`
(nachricht.gds.uebermittlungSchriftgutobjekte): building it with lxml and checking it against
the schemas and code lists in `settings.xjustiz_dir` before anything leaves.

The XJustiz schemas are not shipped with the product (their licence is not stated where they
are published); without them no court folder is released (`SchemasMissing`, naming the setting
EAKTE_XJUSTIZ_DIR).

What the schema does not check and this module does:
- code lists of "Typ 3" (GDS.Dokumentklasse, GDS.Gerichte) are plain tokens in the schema: their
  values and `listVersionID` are checked against GDS.Dokumentklasse.xml / GDS.Gerichte.xml next
  to the schemas (the versions written are those of the lists shipped there);
- strings of the Grunddatensatz are DIN 91379 types: a name with a character outside them is
  folded (NFC, then without its accents; what still does not fit becomes `?`), never refused.
  Whether a character fits is asked of the schema's own type, once per character.

Fixed values of the schema are written as the schema fixes them: `akteneinsicht` is only ever
`false` and stands only on withheld documents; `ersetzenderScan` states that the paper was
scanned to replace it (TR-RESISCAN).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from core.errors import InvalidInput
from records.xdomea import german_problem, parse_xml

NS = "http://www.xjustiz.de"
ROOT = "nachricht.gds.uebermittlungSchriftgutobjekte.0005005"
SCHEMA_FILE = "xjustiz_0005_nachrichten_3_1.xsd"
DIN_SCHEMA = "din-norm-91379-datatypes.xsd"
DIN_NS = "urn:xoev-de:kosit:xoev:datentyp:din-91379_2022-08"
XJUSTIZ_VERSION = "3.5.1"
CODE_LIST = "urn:xoev-de:xjustiz:codeliste:"
DOCUMENT_CLASSES_FILE = "GDS.Dokumentklasse.xml"
COURTS_FILE = "GDS.Gerichte.xml"
PRODUCT_NAME = "E-Akte Jobcenter"
PRODUCT_VERSION = "1.0"

# GDS.Aktentyp 018 Behördenakte; GDS.Bestandteiltyp 001 Original, 006 Transfervermerk.
FILE_TYPE_AUTHORITY = "018"
PART_ORIGINAL = "001"
PART_TRANSFER_NOTE = "006"

# Our document types (ingest/recognition/doctypes.toml) -> GDS.Dokumentklasse. Evidence sent in
# by clients (pay slips, statements, certificates) is none of the list's kinds of letter: 001.
DOCUMENT_CLASSES: dict[str, str] = {
    "bescheid": "017",  # Bescheid
    "widerspruch": "018",  # Einspruch / Widerspruch (Behörde)
    "widerspruchsbescheid": "019",  # Einspruchs- / Widerspruchsbescheid
    "klage": "003",  # Klage / Antrag (the court's letters come with the statement of claim)
    "weiterbewilligungsantrag": "016",  # Antrag (Behörde)
    "antrag": "016",
    "veraenderungsmitteilung": "015",  # Schreiben
    "sonstiges": "015",  # Sonstiger Schriftverkehr: Schreiben
    "vermerk": "009",  # Vermerk
    "gutachten": "013",  # Gutachten
    "nebenkostenabrechnung": "001",
    "kontoauszug": "001",
    "verdienstabrechnung": "001",
    "mietbescheinigung": "001",
    "arbeitsunfaehigkeitsbescheinigung": "001",
    "eigenbemuehungen": "001",
}
OTHER_CLASS = "001"  # Andere / Sonstige

MISSING_HINT = (
    "Die XJustiz-Schemata (Version 3.5.1) liegen nicht vor: {path}. Sie werden nicht mit dem "
    "Produkt ausgeliefert. Bitte die Schemata und Codelisten dort ablegen oder die Einstellung "
    "EAKTE_XJUSTIZ_DIR auf ihr Verzeichnis setzen; ohne sie wird kein Ordner für das Gericht "
    "freigegeben."
)


class SchemasMissing(InvalidInput, code="xjustiz_missing"):
    """The XJustiz schemas are not where `settings.xjustiz_dir` says."""


class MessageRefused(InvalidInput, code="xjustiz_refused"):
    """An XJustiz message that is not sent: the German list of problems."""

    def __init__(self, problems: list[str], what: str = "Die Nachricht") -> None:
        self.problems = problems
        super().__init__(f"{what} wurde abgewiesen: " + " ".join(problems[:10]))


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


# schemas and code lists ---------------------------------------------------------------------


def require_schemas(xjustiz_dir: Path) -> Path:
    """The directory, checked to hold the message schema and both code lists."""
    needed = (SCHEMA_FILE, DIN_SCHEMA, DOCUMENT_CLASSES_FILE, COURTS_FILE)
    missing = [name for name in needed if not (xjustiz_dir / name).is_file()]
    if missing:
        raise SchemasMissing(MISSING_HINT.format(path=xjustiz_dir / missing[0]))
    return xjustiz_dir


@dataclass(frozen=True)
class CodeList:
    """A genericode list as shipped: its URI, version and codes with their values."""

    uri: str
    version: str
    values: dict[str, str]


@lru_cache(maxsize=8)
def code_list(path: Path) -> CodeList:
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    identification = tree.find("Identification")
    if identification is None:
        raise SchemasMissing(MISSING_HINT.format(path=path))
    values: dict[str, str] = {}
    for row in tree.iter("Row"):
        cells = {
            value.get("ColumnRef"): value.findtext("SimpleValue") or ""
            for value in row.iter("Value")
        }
        if cells.get("code"):
            values[cells["code"]] = cells.get("wert", "")
    return CodeList(
        uri=identification.findtext("CanonicalUri") or "",
        version=identification.findtext("Version") or "",
        values=values,
    )


def document_classes(xjustiz_dir: Path) -> CodeList:
    return code_list(require_schemas(xjustiz_dir) / DOCUMENT_CLASSES_FILE)


def courts(xjustiz_dir: Path) -> CodeList:
    return code_list(require_schemas(xjustiz_dir) / COURTS_FILE)


def _name_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


@lru_cache(maxsize=8)
def _courts_by_name(path: Path) -> dict[str, str]:
    return {_name_key(value): key for key, value in code_list(path).values.items()}


def court_code(xjustiz_dir: Path, court_name: str) -> str:
    """The GDS.Gerichte code of a court named as the appeal records it (case and spaces do not
    matter); a name the list does not know is refused, asking to correct it."""
    found = _courts_by_name(require_schemas(xjustiz_dir) / COURTS_FILE).get(_name_key(court_name))
    if found is None:
        raise InvalidInput(
            f"Das Gericht „{court_name}“ steht nicht im XJustiz-Gerichtsverzeichnis "
            "(Codeliste GDS.Gerichte). Bitte das Gericht unter „Gericht laut "
            "XJustiz-Verzeichnis“ wählen; der Name bei der Klage bleibt, wie er ist.",
            code="court",
        )
    return found


def social_courts(xjustiz_dir: Path) -> list[tuple[str, str]]:
    """(code, name) of the social courts of GDS.Gerichte, by name: what the form offers when
    the court recorded at an appeal is not found by its name. Empty without the schemas."""
    try:
        listed = courts(xjustiz_dir)
    except SchemasMissing:
        return []
    found = [(code, name) for code, name in listed.values.items() if "ozialgericht" in name]
    return sorted(found, key=lambda entry: entry[1])


def chosen_court(xjustiz_dir: Path, code: str) -> str:
    """A court code chosen in the form, checked against GDS.Gerichte."""
    if code not in courts(xjustiz_dir).values:
        raise InvalidInput(
            "Das gewählte Gericht steht nicht im XJustiz-Gerichtsverzeichnis.", code="court"
        )
    return code


def document_class(doc_type: str | None) -> str:
    return DOCUMENT_CLASSES.get(doc_type or "", OTHER_CLASS)


# DIN 91379 ----------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _din_schema(xjustiz_dir: Path, kind: str) -> etree.XMLSchema:
    """A tiny schema of one element of the DIN 91379 type `kind`, from the shipped types."""
    location = (xjustiz_dir / DIN_SCHEMA).resolve().as_uri()
    source = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:din="{DIN_NS}"><xs:import namespace="{DIN_NS}" schemaLocation="{location}"/>'
        f'<xs:element name="v" type="din:datatype{kind}"/></xs:schema>'
    )
    return etree.XMLSchema(etree.fromstring(source.encode()))


_DIN_LOCK = threading.Lock()


@lru_cache(maxsize=4096)
def _allowed(xjustiz_dir: Path, kind: str, char: str) -> bool:
    element = etree.Element("v")
    try:
        element.text = char
    except ValueError:  # control characters lxml refuses
        return False
    with _DIN_LOCK:
        return bool(_din_schema(xjustiz_dir, kind).validate(element))


def din_text(text: str, xjustiz_dir: Path, kind: str = "C") -> str:
    """`text` in the DIN 91379 type `kind` ("C" or "D"): NFC, and a character outside the type
    folded to its base letters (accents dropped), else `?`. Never refused."""
    folded = []
    for char in unicodedata.normalize("NFC", text):
        if _allowed(xjustiz_dir, kind, char):
            folded.append(char)
            continue
        base = [
            part
            for part in unicodedata.normalize("NFKD", char)
            if not unicodedata.combining(part) and _allowed(xjustiz_dir, kind, part)
        ]
        folded.append("".join(base) or ("" if unicodedata.combining(char) else "?"))
    return "".join(folded)


# building -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageFile:
    """A file of a document as the message names it."""

    name: str
    part: str  # GDS.Bestandteiltyp
    refers_to: str | None = None  # the file a Transfervermerk belongs to


@dataclass(frozen=True)
class MessageDocument:
    """One document of the file; a withheld one carries no sender and only its Fehlblatt."""

    id: str  # UUID
    number: int  # position in the file (1-based)
    doc_type: str | None
    title: str
    letter_date: date | None
    received_at: datetime | None  # incoming mail only
    scanned_on: date | None
    sender: str | None
    files: tuple[MessageFile, ...]
    withheld: bool = False


@dataclass(frozen=True)
class MessageHeader:
    message_id: str  # UUID, new per part
    process_id: str  # UUID, shared by the parts of one export
    file_id: str  # UUID of the file (akte) in every part
    created_at: datetime
    job_centre: str
    court_code: str
    court_reference: str
    bg_number: str
    file_title: str
    part: int = 1
    parts: int = 1


class _Builder:
    def __init__(self, xjustiz_dir: Path) -> None:
        self.dir = xjustiz_dir
        self.classes = document_classes(xjustiz_dir)
        self.courts = courts(xjustiz_dir)

    def sub(self, parent: Any, name: str, text: object = None, kind: str | None = None) -> Any:
        child = etree.SubElement(parent, q(name))
        if isinstance(text, datetime):
            child.text = text.astimezone(UTC).replace(microsecond=0).isoformat()
        elif isinstance(text, date):
            child.text = text.isoformat()
        elif isinstance(text, bool):
            child.text = "true" if text else "false"
        elif text is not None:
            child.text = din_text(str(text), self.dir, kind) if kind else str(text)
        return child

    def fixed_code(self, parent: Any, name: str, value: str) -> Any:
        """A code of a "Typ 1" list: its URI and version are fixed in the schema (omitted)."""
        element = self.sub(parent, name)
        etree.SubElement(element, "code").text = value
        return element

    def listed_code(self, parent: Any, name: str, value: str, listed: CodeList) -> Any:
        element = self.sub(parent, name)
        element.set("listURI", listed.uri)
        element.set("listVersionID", listed.version)
        etree.SubElement(element, "code").text = value
        return element

    def court(self, parent: Any, name: str, value: str) -> Any:
        return self.listed_code(parent, name, value, self.courts)

    def reference(self, parent: Any, name: str, text: str, station: Any) -> None:
        element = self.sub(parent, name)
        chooser = self.sub(element, "auswahl_az.vergebendeStation")
        station(chooser)
        choice = self.sub(element, "auswahl_aktenzeichen")
        self.sub(choice, "aktenzeichen.freitext", text, "C")


def build_message(
    header: MessageHeader, documents: Sequence[MessageDocument], xjustiz_dir: Path
) -> Any:
    """The 0005005 message of one part: head (sender, court, part N of M), the proceedings'
    court and reference, and the file (type 018) with its documents and their files."""
    build = _Builder(require_schemas(xjustiz_dir))
    root = etree.Element(q(ROOT), nsmap={"tns": NS})
    head = build.sub(root, "nachrichtenkopf")
    head.set("xjustizVersion", XJUSTIZ_VERSION)
    build.sub(head, "aktenzeichen.absender", header.bg_number, "C")
    build.sub(head, "aktenzeichen.empfaenger", header.court_reference, "C")
    build.sub(head, "erstellungszeitpunkt", header.created_at)
    build.sub(build.sub(head, "auswahl_absender"), "absender.sonstige", header.job_centre, "D")
    build.court(build.sub(head, "auswahl_empfaenger"), "empfaenger.gericht", header.court_code)
    build.sub(head, "eigeneNachrichtenID", header.message_id)
    process = build.sub(head, "nachrichtenuebergreifenderProzess")
    build.sub(process, "prozessID", header.process_id)
    build.sub(process, "nachrichtenNummer", header.part)
    build.sub(process, "nachrichtenAnzahl", header.parts)
    maker = build.sub(head, "herstellerinformation")
    build.sub(maker, "nameDesProdukts", PRODUCT_NAME, "D")
    build.sub(maker, "version", PRODUCT_VERSION, "C")

    proceedings = build.sub(build.sub(root, "grunddaten"), "verfahrensdaten")
    instance = build.sub(proceedings, "instanzdaten")
    build.court(build.sub(instance, "auswahl_instanzbehoerde"), "gericht", header.court_code)
    build.reference(
        instance,
        "aktenzeichen",
        header.court_reference,
        lambda chooser: build.court(chooser, "gericht", header.court_code),
    )

    objects = build.sub(root, "schriftgutobjekte")
    akte = build.sub(objects, "akte")
    identification = build.sub(akte, "identifikation")
    build.sub(identification, "id", header.file_id)
    build.sub(identification, "nummerImUebergeordnetenContainer", 1)
    data = build.sub(akte, "xjustiz.fachspezifischeDaten")
    build.fixed_code(data, "aktentyp", FILE_TYPE_AUTHORITY)
    title = header.file_title
    if header.parts > 1:
        title += f" (Teil {header.part} von {header.parts})"
    build.sub(data, "anzeigename", title, "C")
    build.reference(
        data,
        "aktenzeichen",
        header.court_reference,
        lambda chooser: build.court(chooser, "gericht", header.court_code),
    )
    build.reference(
        data,
        "aktenzeichen",
        header.bg_number,
        lambda chooser: build.sub(chooser, "sonstige", header.job_centre, "D"),
    )
    build.sub(data, "erstellungszeitpunktAkteVersand", header.created_at)
    content = build.sub(data, "inhalt")
    for document in documents:
        _document(build, content, document)
    return root


def _document(build: _Builder, parent: Any, document: MessageDocument) -> None:
    element = build.sub(parent, "dokument")
    identification = build.sub(element, "identifikation")
    build.sub(identification, "id", document.id)
    build.sub(identification, "nummerImUebergeordnetenContainer", document.number)
    if document.received_at is not None:
        build.sub(element, "posteingangsdatum", document.received_at)
    if document.letter_date is not None:
        build.sub(element, "datumDesSchreibens", document.letter_date)
    data = build.sub(element, "xjustiz.fachspezifischeDaten")
    build.listed_code(data, "dokumentklasse", document_class(document.doc_type), build.classes)
    build.sub(data, "anzeigename", document.title, "C")
    if document.withheld:
        build.sub(data, "akteneinsicht", False)
    if document.scanned_on is not None and not document.withheld:
        scan = build.sub(data, "scan")
        build.sub(scan, "scanDatum", document.scanned_on)
        build.sub(scan, "ersetzenderScan", True)
    if document.sender and not document.withheld:
        build.sub(data, "absenderAnzeigename", document.sender, "D")
    for file in document.files:
        entry = build.sub(data, "datei")
        build.sub(entry, "dateiname", file.name, "C")
        build.fixed_code(entry, "bestandteil", file.part)
        if file.refers_to:
            build.sub(entry, "dateiname.bezugsdatei", file.refers_to, "C")


def serialize(root: Any) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# validating ---------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _schema(path: Path) -> etree.XMLSchema:
    """The compiled message schema, once per process and path."""
    return etree.XMLSchema(etree.parse(str(path)))


# XMLSchema keeps its error_log on the instance: concurrent validations would mix them up.
_VALIDATING = threading.Lock()

_XJUSTIZ_ROOT = re.compile(r"„[^“]*“ ist keine xdomea-3\.0\.0-Nachricht\.")


def validate(document: Any, xjustiz_dir: Path) -> list[str]:
    """The German problems of a message: the schema first, then the code lists the schema does
    not enumerate (values and list versions). Empty when valid."""
    schema = _schema(require_schemas(xjustiz_dir) / SCHEMA_FILE)
    tree = document if isinstance(document, etree._ElementTree) else document.getroottree()
    with _VALIDATING:
        valid = schema.validate(tree)
        entries = [] if valid else [(entry.line, entry.message) for entry in schema.error_log]
    problems = [
        _XJUSTIZ_ROOT.sub("ist keine XJustiz-3.5.1-Nachricht.", german_problem(line, message))
        for line, message in entries
    ]
    root = tree.getroot()
    checks = (
        ("dokumentklasse", document_classes(xjustiz_dir), "GDS.Dokumentklasse"),
        ("empfaenger.gericht", courts(xjustiz_dir), "GDS.Gerichte"),
        ("gericht", courts(xjustiz_dir), "GDS.Gerichte"),
    )
    for name, listed, label in checks:
        for element in root.iter(q(name)):
            value = (element.findtext("code") or "").strip()
            version = element.get("listVersionID")
            line = element.sourceline or 0
            if value not in listed.values:
                problems.append(
                    f"Zeile {line}: „{value}“ ist für „{name}“ kein Code der Liste {label}."
                )
            if version != listed.version:
                problems.append(
                    f"Zeile {line}: „{name}“ nennt die Version „{version or ''}“ der Liste "
                    f"{label}; ausgeliefert ist Version {listed.version}."
                )
    return problems


def checked(root: Any, xjustiz_dir: Path) -> bytes:
    """The message serialised, after it passed `validate` (re-read from its bytes, so line
    numbers are those of the file); MessageRefused otherwise: nothing leaves."""
    xml = serialize(root)
    problems = validate(parse_xml(xml), xjustiz_dir)
    if problems:
        raise MessageRefused(problems, what="Die erzeugte XJustiz-Nachricht")
    return xml


def check_bytes(xml: bytes, xjustiz_dir: Path) -> list[str]:
    """The German problems of a message given as bytes (a broken XML is one problem)."""
    try:
        parsed = parse_xml(xml)
    except InvalidInput as refused:
        return [str(refused)]
    return validate(parsed, xjustiz_dir)
