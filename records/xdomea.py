"""xdomea 3.0.0 messages of the Aussonderung (offer to the public archive, 05xx) and of the
Abgabe (handing a file to another authority, 04xx): building them with lxml, checking them
against the schemas shipped in records/standards/xdomea, and reading incoming messages from
their zip containers safely.

Conventions of the standard that the schema alone does not spell out (see the README,
"Aussonderung an das Archiv"):
- the namespace prefix is `xdomea`; the `code` (and `name`) children of code elements are
  unqualified; booleans with a fixed value (`Importbestaetigung`) are written `1`;
- a message travels as `<ProzessID>_<root name>.zip` holding `<ProzessID>_<root name>.xml` and,
  for a 0503, the primary documents flat next to it, each named `<UUID>_<Betreff>.<ext>`;
- all messages of one run share the ProzessID.

Incoming zips are read with caps on the number and size of entries before anything is
extracted; directories, absolute paths, `..`, duplicate names and files the message does not
name are refused, and the XML is parsed without DTDs, entities or network access. Every
problem is reported in German with its line number.
"""

from __future__ import annotations

import io
import re
import threading
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from core.errors import InvalidInput
from core.text import fold_umlauts

NS = "urn:xoev-de:xdomea:schema:3.0.0"
NSMAP = {"xdomea": NS}
CODE_LIST = "urn:xoev-de:xdomea:codeliste:"
# Message type -> its name in the Nachrichtentyp code list; the root element adds the number.
MESSAGE_NAMES: dict[str, str] = {
    "0501": "Aussonderung.Anbieteverzeichnis",
    "0502": "Aussonderung.Bewertungsverzeichnis",
    "0503": "Aussonderung.Aussonderung",
    "0504": "Aussonderung.AnbietungEmpfangBestaetigen",
    "0505": "Aussonderung.BewertungEmpfangBestaetigen",
    "0506": "Aussonderung.AussonderungImportBestaetigen",
    "0507": "Aussonderung.AussonderungEmpfangBestaetigen",
    "0401": "Abgabe.Abgabe",
    "0402": "Abgabe.ImportBestaetigen",
    "0403": "Abgabe.EmpfangBestaetigen",
}
MESSAGE_LABELS: dict[str, str] = {
    "0501": "Anbieteverzeichnis (0501)",
    "0502": "Bewertungsverzeichnis (0502)",
    "0503": "Aussonderung (0503)",
    "0504": "Empfangsbestätigung des Anbieteverzeichnisses (0504)",
    "0505": "Empfangsbestätigung der Bewertung (0505)",
    "0506": "Importbestätigung (0506)",
    "0507": "Empfangsbestätigung der Aussonderung (0507)",
    "0401": "Abgabe (0401)",
    "0402": "Importbestätigung der Abgabe (0402)",
    "0403": "Empfangsbestätigung der Abgabe (0403)",
}
PRODUCT_NAME = "E-Akte Jobcenter"
PRODUCT_VERSION = "1.0"

# Caps on an incoming zip, checked on its directory before anything is read.
MAX_ENTRIES = 2000
MAX_ENTRY_BYTES = 200 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_XML_BYTES = 50 * 1024 * 1024
UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
DATEINAME = re.compile(r"^[0-9a-fA-F-]{36}(_[^/\\]+)?\.[A-Za-z0-9]+$")
ZIP_NAME = re.compile(rf"^({UUID_PATTERN})_((?:Aussonderung|Abgabe)\.[A-Za-z]+\.(0[45]\d\d))\.zip$")


class MessageRefused(InvalidInput, code="xdomea_refused"):
    """An xdomea message that is not taken (or not sent): the German list of problems."""

    def __init__(self, problems: list[str], what: str = "Die Nachricht") -> None:
        self.problems = problems
        super().__init__(f"{what} wurde abgewiesen: " + " ".join(problems[:10]))


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def root_name(msg_type: str) -> str:
    return f"{MESSAGE_NAMES[msg_type]}.{msg_type}"


def message_file_name(process_id: uuid.UUID, msg_type: str, suffix: str = "zip") -> str:
    return f"{process_id}_{root_name(msg_type)}.{suffix}"


# building ---------------------------------------------------------------------------------


def sub(parent: Any, name: str, text: object = None) -> Any:
    """A child in the xdomea namespace; `text` as written (dates as ISO, booleans as given)."""
    child = etree.SubElement(parent, q(name))
    if text is not None:
        child.text = text.isoformat() if isinstance(text, date | datetime) else str(text)
    return child


def code(parent: Any, name: str, value: str, code_list: str, version: str) -> Any:
    """A code element: the unqualified `code` child, with its list's URI and version."""
    element = sub(parent, name)
    element.set("listURI", CODE_LIST + code_list)
    element.set("listVersionID", version)
    etree.SubElement(element, "code").text = value
    return element


@dataclass(frozen=True)
class Parties:
    sender: str  # the job centre
    recipient: str  # the archive


def new_message(
    msg_type: str,
    process_id: uuid.UUID,
    created: datetime,
    parties: Parties,
) -> tuple[Any, Any]:
    """The root and its head (NkBasisType up to SendendesSystem); the caller adds the head's
    extension (Empfangsbestaetigung, Importbestaetigung ...) and the body."""
    root = etree.Element(q(root_name(msg_type)), nsmap=NSMAP)
    head = sub(root, "Kopf")
    sub(head, "ProzessID", process_id)
    kind = code(head, "Nachrichtentyp", msg_type, "nachrichtentyp", "2.0")
    etree.SubElement(kind, "name").text = MESSAGE_NAMES[msg_type]
    sub(head, "Erstellungszeitpunkt", created.replace(microsecond=0))
    for role, name in (("Absender", parties.sender), ("Empfaenger", parties.recipient)):
        sub(sub(sub(head, role), "Institution"), "Name", name)
    system = sub(head, "SendendesSystem")
    sub(system, "Produktname", PRODUCT_NAME)
    sub(system, "Version", PRODUCT_VERSION)
    return root, head


def serialize(root: Any) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# validating -------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _schema(path: Path) -> etree.XMLSchema:
    """The compiled schema, once per process and path (about 25 ms)."""
    return etree.XMLSchema(etree.parse(str(path)))


# XMLSchema keeps its error_log on the instance: concurrent validations would mix them up.
_VALIDATING = threading.Lock()


def schema_path(standards_dir: Path) -> Path:
    return standards_dir / "xdomea" / "xdomea-3.0.0" / "xdomea.xsd"


def validate(document: Any, standards_dir: Path) -> list[str]:
    """The German problems of a parsed message against xdomea.xsd; empty when valid."""
    schema = _schema(schema_path(standards_dir))
    tree = document if isinstance(document, etree._ElementTree) else document.getroottree()
    with _VALIDATING:
        if schema.validate(tree):
            return []
        entries = [(entry.line, entry.message) for entry in schema.error_log]
    return [german_problem(line, message) for line, message in entries]


def _local(text: str) -> str:
    """Element names without their namespace: `{urn:...}Betreff` -> `Betreff`."""
    return re.sub(r"\{[^}]*\}", "", text)


_PROBLEMS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"Element '([^']+)': This element is not expected\. Expected is \(? ?(.*?) ?\)?\.$"
        ),
        "Element „{0}“ ist an dieser Stelle nicht erlaubt; erwartet wird: {1}.",
    ),
    (
        re.compile(r"Element '([^']+)': This element is not expected\.$"),
        "Element „{0}“ ist an dieser Stelle nicht erlaubt.",
    ),
    (
        re.compile(
            r"Element '([^']+)': Missing child element\(s\)\. Expected is \(? ?(.*?) ?\)?\.$"
        ),
        "In „{0}“ fehlt ein Pflichtelement: {1}.",
    ),
    (
        re.compile(r"Element '([^']+)'.*\[facet 'enumeration'\] The value '([^']*)'"),
        "„{1}“ ist für „{0}“ kein zulässiger Wert.",
    ),
    (
        re.compile(r"Element '([^']+)'.*\[facet 'pattern'\] The value '([^']*)'"),
        "„{1}“ hat für „{0}“ nicht das vorgeschriebene Format.",
    ),
    (
        re.compile(
            r"Element '([^']+)'.*The (?:actual )?value '([^']*)'"
            r" does not match the fixed value constraint '([^']*)'"
        ),
        "„{0}“ muss den festen Wert „{2}“ haben, nicht „{1}“.",
    ),
    (
        re.compile(
            r"Element '([^']+)': '([^']*)'"
            r" is not a valid value of the (?:atomic|local atomic) type '?([^'.]*)'?"
        ),
        "„{1}“ ist für „{0}“ kein gültiger Wert ({2}).",
    ),
    (
        re.compile(r"Element '([^']+)': No matching global declaration available"),
        "„{0}“ ist keine xdomea-3.0.0-Nachricht.",
    ),
    (
        re.compile(r"Element '([^']+)', attribute '([^']+)': The attribute '[^']+' is not allowed"),
        "Attribut „{1}“ ist bei „{0}“ nicht erlaubt.",
    ),
    (
        re.compile(r"Element '([^']+)': The attribute '([^']+)' is required but missing"),
        "Bei „{0}“ fehlt das Pflichtattribut „{1}“.",
    ),
]


def german_problem(line: int, message: str) -> str:
    """One libxml2 schema error in German, with its line; unknown kinds keep the original."""
    text = _local(message.strip()).replace("Expected is one of (", "Expected is (")
    for pattern, german in _PROBLEMS:
        found = pattern.search(text)
        if found:
            return f"Zeile {line}: " + german.format(*found.groups())
    return f"Zeile {line}: Schemafehler: {text}"


# reading ----------------------------------------------------------------------------------


def parse_xml(data: bytes) -> Any:
    """An XML document parsed without DTDs, entity expansion or network access; a DTD of
    its own (the way an entity bomb comes) is refused."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        tree = etree.parse(io.BytesIO(data), parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        raise MessageRefused([f"Zeile {line}: Die Datei ist kein wohlgeformtes XML."]) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise MessageRefused(
            ["Die Nachricht enthält eine DTD (Dokumenttyp-Deklaration); das ist nicht erlaubt."]
        )
    return tree


@dataclass
class IncomingMessage:
    msg_type: str
    process_id: uuid.UUID
    tree: Any
    xml_name: str
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def root(self) -> Any:
        return self.tree.getroot()


def _entry_problems(infos: list[zipfile.ZipInfo]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    if len(infos) > MAX_ENTRIES:
        return [f"Das Archiv enthält {len(infos)} Einträge; erlaubt sind höchstens {MAX_ENTRIES}."]
    total = 0
    for info in infos:
        name = info.filename
        shown = name[:200]
        if info.is_dir() or name.endswith("/"):
            problems.append(
                f"Das Archiv enthält ein Verzeichnis („{shown}“); erlaubt sind nur Dateien."
            )
        elif name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
            problems.append(f"Der Eintrag „{shown}“ hat einen absoluten Pfad.")
        elif ".." in re.split(r"[/\\]", name):
            problems.append(f"Der Eintrag „{shown}“ verweist mit „..“ aus dem Archiv heraus.")
        elif "/" in name or "\\" in name:
            problems.append(
                f"Der Eintrag „{shown}“ liegt in einem Unterordner; erlaubt sind nur"
                f" Dateien im Stamm."
            )
        if name in seen:
            problems.append(f"Der Eintrag „{shown}“ kommt mehrfach vor.")
        seen.add(name)
        if info.file_size > MAX_ENTRY_BYTES:
            problems.append(f"Der Eintrag „{shown}“ ist zu groß ({info.file_size} Bytes).")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        problems.append(f"Das Archiv ist entpackt zu groß ({total} Bytes).")
    return problems


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """An entry's bytes, never more than `cap` (a zip may state a smaller size than it holds)."""
    with archive.open(info) as stream:
        data = stream.read(cap + 1)
    if len(data) > cap:
        raise MessageRefused([f"Der Eintrag „{info.filename[:200]}“ ist zu groß."])
    return data


def read_message_zip(data: bytes, filename: str, standards_dir: Path) -> IncomingMessage:
    """An incoming message zip, checked: its name, its entries, the XML against the schema, the
    ProzessID of the name against the head's, the primary documents it names. Raises
    MessageRefused with every problem found."""
    base = Path(filename).name
    named = ZIP_NAME.match(base)
    if named is None:
        raise MessageRefused(
            [
                f"Der Dateiname „{base[:200]}“ entspricht nicht dem Muster "
                "„<ProzessID>_<Prozess>.<Nachricht>.<Nummer>.zip“ (etwa "
                "„…_Abgabe.Abgabe.0401.zip“)."
            ]
        )
    process_text, root, msg_type = named.groups()
    if msg_type not in MESSAGE_NAMES or root != root_name(msg_type):
        raise MessageRefused([f"„{root}“ ist keine bekannte xdomea-Nachricht."])
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise MessageRefused(["Die Datei ist kein gültiges ZIP-Archiv."]) from None
    with archive:
        infos = archive.infolist()
        problems = _entry_problems(infos)
        if problems:
            raise MessageRefused(problems)
        xml_name = f"{process_text}_{root}.xml"
        by_name = {info.filename: info for info in infos}
        if xml_name not in by_name:
            raise MessageRefused([f"Das Archiv enthält die Nachricht „{xml_name}“ nicht."])
        tree = parse_xml(_read_capped(archive, by_name[xml_name], MAX_XML_BYTES))
        element = tree.getroot()
        if element.tag != q(root):
            raise MessageRefused(
                [
                    f"Das Wurzelelement „{_local(str(element.tag))[:100]}“ passt nicht zur"
                    f" Nachricht „{root}“."
                ]
            )
        problems = validate(tree, standards_dir)
        if problems:
            raise MessageRefused(problems)
        head_id = element.findtext(f"{q('Kopf')}/{q('ProzessID')}") or ""
        problems = []
        if head_id.strip().lower() != process_text.lower():
            problems.append(
                f"Die ProzessID im Dateinamen ({process_text}) ist nicht die im Kopf"
                f" der Nachricht ({head_id.strip()})."
            )
        named_files = [(found.text or "").strip() for found in element.iter(q("Dateiname"))]
        for name in named_files:
            if not DATEINAME.match(name):
                problems.append(f"Der Dateiname „{name[:200]}“ ist nicht zulässig.")
        for extra in sorted(set(by_name) - {xml_name} - set(named_files)):
            problems.append(
                f"Das Archiv enthält die Datei „{extra[:200]}“, die die Nachricht nicht nennt."
            )
        for missing in sorted(set(named_files) - set(by_name)):
            problems.append(f"Die Datei „{missing[:200]}“ fehlt im Archiv.")
        if problems:
            raise MessageRefused(problems)
        files = {
            name: _read_capped(archive, by_name[name], MAX_ENTRY_BYTES) for name in set(named_files)
        }
    return IncomingMessage(msg_type, uuid.UUID(process_text), tree, xml_name, files)


# writing ----------------------------------------------------------------------------------


def write_message_zip(
    out_dir: Path,
    msg_type: str,
    process_id: uuid.UUID,
    root: Any,
    standards_dir: Path,
    files: Iterable[tuple[str, bytes | Path]] = (),
) -> Path:
    """The message checked against the schema (MessageRefused if it is not valid: nothing
    leaves) and written as `<ProzessID>_<root name>.zip` into `out_dir`. A file given as a
    Path is copied from disk (stored as it is: PDFs are compressed already), so a 0503 of
    many files never lies in memory."""
    xml = serialize(root)
    problems = validate(parse_xml(xml), standards_dir)
    if problems:
        raise MessageRefused(problems, what="Die erzeugte Nachricht")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / message_file_name(process_id, msg_type)
    partial = target.with_suffix(".zip.part")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(message_file_name(process_id, msg_type, "xml"), xml)
            for name, content in files:
                if not DATEINAME.match(name):
                    raise ValueError(f"not an xdomea file name: {name!r}")
                if isinstance(content, Path):
                    archive.write(content, name, compress_type=zipfile.ZIP_STORED)
                else:
                    archive.writestr(name, content)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def safe_subject(text: str, limit: int = 60) -> str:
    """A Betreff as part of a file name: ASCII letters (umlauts spelled out), digits, `-`;
    the rest `_`."""
    text = fold_umlauts(text, style="spelled")
    cleaned = re.sub(r"[^0-9A-Za-z-]+", "_", text).strip("_")
    return cleaned[:limit] or "Dokument"
