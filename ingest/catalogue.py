"""The document-type catalogue in force, its drafts, and the preview before saving (issue 16).

In force is the highest version saved by the administration (records.catalogue), else the
configured file (settings.doctypes_file), else the product's own. Every process keeps the
parsed catalogue and asks the database for the highest version number: the pipeline for each
job (it passes its session), pages at most every `catalogue_check_seconds`.

A draft is the whole TOML text. The form of one type changes only that type's name, target
and phrases in the text (comments and everything else stay as written); the TOML view edits
the text itself. Nothing is saved that the catalogue's own parser refuses, and nothing without
the preview: it re-reads the last letters' stored text with the catalogue in force and with
the draft (the product's classifier, ingest.recognition.doctypes.classify) and lists the
letters whose type would change, by id, date, channel and page count only.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import re
import threading
import time
import tomllib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db import read_session
from core.errors import InvalidInput
from ingest.recognition import Catalogue, DocTypeRule, catalogue_problems, parse_catalogue
from ingest.recognition.doctypes import DEFAULT_CATALOGUE, classify
from ingest.recognition.text import ParsedDocument
from records import catalogue as versions
from records.access import Gate
from records.models import CatalogueVersion

# --- the catalogue in force ------------------------------------------------------------------


@dataclass(frozen=True)
class InForce:
    number: int  # the saved version; 0: the file
    text: str
    catalogue: Catalogue


_lock = threading.Lock()
# By database and file: (when the version number was last asked for, monotonic; the catalogue).
_in_force: dict[tuple[str, str, float], tuple[float, InForce]] = {}

Source = Session | sessionmaker[Session] | None


def _file(settings: Settings) -> Path:
    return Path(settings.doctypes_file) if settings.doctypes_file else DEFAULT_CATALOGUE


def _key(settings: Settings) -> tuple[str, str, float]:
    path = _file(settings)
    return (settings.resolved_database_url, str(path), path.stat().st_mtime)


def _load(session: Session, number: int) -> InForce:
    row = versions.version(session, number)
    assert row is not None
    label = f"Dokumentarten-Katalog Version {number}"
    return InForce(number, row.content, parse_catalogue(row.content, label, f"Version {number}"))


def in_force(settings: Settings, source: Source = None) -> InForce:
    """The catalogue in force. With a session, the version number is asked for now (the
    pipeline, per job); with a session factory, when the last look is older than
    `catalogue_check_seconds`; without either, the one this process knows (else the file)."""
    key = _key(settings)
    now = time.monotonic()
    with _lock:
        known = _in_force.get(key)
    if known is not None and (
        source is None
        or (not isinstance(source, Session) and now - known[0] < settings.catalogue_check_seconds)
    ):
        return known[1]
    if source is None:
        current, now = _load_file(settings), float("-inf")  # asked for at the next chance
    elif isinstance(source, Session):
        current = _refreshed(source, settings, known)
    else:
        # A read session: the caller may be inside a write transaction of its own (indexing a
        # document asks for its type's name), and SQLite's write lock is taken then.
        with read_session(source) as session:
            current = _refreshed(session, settings, known)
    with _lock:
        _in_force[key] = (now, current)
    return current


def _load_file(settings: Settings) -> InForce:
    path = _file(settings)
    text = text_of_file(settings)
    return InForce(0, text, parse_catalogue(text, f"Dokumentarten-Katalog {path}", str(path)))


def _refreshed(
    session: Session, settings: Settings, known: tuple[float, InForce] | None
) -> InForce:
    number = versions.latest_number(session)
    if known is not None and known[1].number == number:
        return known[1]
    if number == 0:
        return _load_file(settings)
    return _load(session, number)


def forget() -> None:
    """Drop what this process knows (after a save, the next look reads the new version)."""
    with _lock:
        _in_force.clear()


# --- drafts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeDraft:
    """One type as its form sends it: phrases one per line, a line either plain text (one
    point) or as in the TOML file, { text = "...", weight = 4 }."""

    code: str
    name: str
    target: str
    phrases: str


def phrase_lines(rule: DocTypeRule) -> str:
    """A type's phrases as its form shows them."""
    lines = []
    for term in rule.terms:
        if term.kind != "phrase":
            continue
        if term.weight == 1.0:
            lines.append(term.text)
        else:
            lines.append(f"{{ text = {_string(term.text)}, weight = {_weight(term.weight)} }}")
    return "\n".join(lines)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def _weight(value: float) -> str:
    return f"{value:g}"


def _phrases(lines: str) -> tuple[list[str], list[str]]:
    """The phrases of a form as TOML values, and the problems (German, by line)."""
    values, problems = [], []
    for number, line in enumerate(lines.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if not line.startswith("{"):
            values.append(_string(line))
            continue
        try:
            entry = tomllib.loads(f"x = {line}")["x"]
        except tomllib.TOMLDecodeError:
            entry = None
        text, weight = (entry.get("text"), entry.get("weight", 1)) if entry else (None, None)
        if not isinstance(text, str) or isinstance(weight, bool):
            weight = None
        if not isinstance(weight, int | float):
            problems.append(
                f"Formulierung in Zeile {number}: bitte als Text oder als "
                '{ text = "...", weight = 4 } schreiben.'
            )
            continue
        values.append(f"{{ text = {_string(str(text))}, weight = {_weight(float(weight))} }}")
    return values, problems


_HEADER = re.compile(r"^[ \t]*\[", re.MULTILINE)
_TYPES_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*types[ \t]*\]\]", re.MULTILINE)


def _key_line(block: str, key: str) -> re.Match[str] | None:
    return re.search(rf"^{key}\s*=.*$", block, re.MULTILINE)


def _value_end(text: str, start: int) -> int:
    """Where the TOML value starting at `start` (after "key =") ends: after its closing
    bracket for an array, at the end of the line otherwise."""
    depth, index, quote = 0, start, ""
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            index = text.find("\n", index)
            if index < 0:
                return len(text)
            continue
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index + 1
        elif char == "\n" and depth == 0:
            return index
        index += 1
    return len(text)


def _set(block: str, key: str, value: str, after: str) -> str:
    """The block with `key = value`, replacing the key's value or adding it after `after`."""
    found = _key_line(block, key)
    if found is not None:
        start = block.index("=", found.start()) + 1
        end = _value_end(block, start)
        return f"{block[: found.start()]}{key} = {value}{block[end:]}"
    anchor = _key_line(block, after)
    at = _value_end(block, block.index("=", anchor.start()) + 1) if anchor else len(block)
    return f"{block[:at]}\n{key} = {value}{block[at:]}"


def with_type(text: str, draft: TypeDraft) -> str:
    """The catalogue's text with this type's name, target and phrases as the form says (a new
    type appended when its code is not there yet). Raises InvalidInput (German) when the form
    or the result is wrong."""
    values, problems = _phrases(draft.phrases)
    code, name, target = draft.code.strip(), draft.name.strip(), draft.target.strip()
    if not name:
        problems.insert(0, "Bitte einen Namen angeben.")
    if problems:
        raise InvalidInput(" ".join(problems), code="catalogue_form")
    phrases = "[\n" + "".join(f"    {v},\n" for v in values) + "]" if values else "[]"
    try:
        raw_types = tomllib.loads(text).get("types", [])
    except tomllib.TOMLDecodeError:
        raise InvalidInput(
            "Der Katalog ist fehlerhaft; bitte in der TOML-Ansicht bearbeiten.",
            code="catalogue_invalid",
        ) from None
    codes = [entry.get("code") for entry in raw_types if isinstance(entry, dict)]
    if code in codes:
        headers = [m.start() for m in _TYPES_HEADER.finditer(text)]
        start = headers[codes.index(code)]
        following = _HEADER.search(text, text.index("\n", start) + 1)
        end = following.start() if following else len(text)
        block = text[start:end]
        block = _set(block, "name", _string(name), "code")
        block = _set(block, "target", _string(target), "name")
        block = _set(block, "phrases", phrases, "target")
        result = text[:start] + block + text[end:]
    else:
        added = (
            f"\n[[types]]\ncode = {_string(code)}\nname = {_string(name)}\n"
            f"target = {_string(target)}\nphrases = {phrases}\n"
        )
        result = text.rstrip("\n") + "\n" + added
    return result


# --- checking, the preview and saving -----------------------------------------------------------


def draft_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def draft_problems(text: str, session: Session | None = None) -> list[str]:
    """What is wrong with a draft (German, with lines where known); with a session, also a
    type dropped that stored documents carry."""
    problems = catalogue_problems(text)
    if problems or session is None:
        return problems
    codes = {rule.code for rule in parse_catalogue(text, "Entwurf", "Entwurf").types}
    return [
        f"Die Dokumentart „{code}“ fehlt im Entwurf, abgelegte Dokumente tragen sie aber; "
        "bitte nicht entfernen (der Name darf sich ändern)."
        for code in sorted(versions.codes_in_use(session) - codes)
    ]


def checked(text: str, session: Session | None = None) -> Catalogue:
    """The draft as a catalogue; InvalidInput with the German list of its problems."""
    problems = draft_problems(text, session)
    if problems:
        raise InvalidInput(
            "Der Entwurf ist fehlerhaft und wurde nicht gespeichert: " + " ".join(problems),
            code="catalogue_invalid",
            problems=problems,
        )
    return parse_catalogue(text, "Entwurf", "Entwurf")


@dataclass(frozen=True)
class Change:
    """A letter whose type or target inbox the draft would change: what the administration
    may see of it."""

    id: uuid.UUID
    received_at: datetime
    channel: str | None
    page_count: int
    before: str  # the type's code with the catalogue in force
    after: str  # with the draft
    before_target: str
    after_target: str


@dataclass(frozen=True)
class Preview:
    base: int  # the version in force it was made against
    hash: str  # of the draft
    letters: int
    unchanged: int
    changes: list[Change]
    to_fallback: int  # letters that newly fall back to the catalogue's fallback type

    def counts(self) -> dict[str, int]:
        return {
            "letters": self.letters,
            "unchanged": self.unchanged,
            "changed": len(self.changes),
            "to_fallback": self.to_fallback,
        }


def _target(catalogue: Catalogue, code: str) -> str:
    rule = catalogue.rule(code)
    return rule.target if rule is not None else "caseworker"


def preview(gate: Gate, settings: Settings, text: str) -> Preview:
    """What the draft would change on the last letters (settings.catalogue_preview_letters)."""
    draft = checked(text, gate.session)
    current = in_force(settings, gate.session)
    letters = versions.last_letters(gate, settings.catalogue_preview_letters)
    changes = []
    to_fallback = 0
    for letter in letters:
        parsed = ParsedDocument.from_pages(letter.pages)
        before = classify(parsed, current.catalogue).code
        after = classify(parsed, draft).code
        # A type kept whose inbox the draft changes moves the letter as well.
        if before == after and _target(current.catalogue, before) == _target(draft, after):
            continue
        if after == draft.fallback and before != current.catalogue.fallback:
            to_fallback += 1
        changes.append(
            Change(
                letter.id,
                letter.received_at,
                letter.channel,
                letter.page_count,
                before,
                after,
                _target(current.catalogue, before),
                _target(draft, after),
            )
        )
    return Preview(
        current.number,
        draft_hash(text),
        len(letters),
        len(letters) - len(changes),
        changes,
        to_fallback,
    )


def token(settings: Settings, login: str, base: int, text_hash: str, counts: dict[str, int]) -> str:
    """Proof that `login` saw the preview of exactly this draft (its hash) against this base
    version, with these counts (they go into the audit row)."""
    message = f"{login}|{base}|{text_hash}|{json.dumps(counts, sort_keys=True)}"
    key = settings.secret_key.get_secret_value().encode("utf-8")
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def save(
    gate: Gate,
    settings: Settings,
    text: str,
    comment: str,
    base: int,
    counts: dict[str, int],
    proof: str,
) -> CatalogueVersion:
    """Save the draft as the next version, if the preview was seen for exactly this draft
    (`proof` from `token`) and nobody saved another version since; audited with the counts."""
    comment = comment.strip()
    checked(text, gate.session)
    expected = token(settings, gate.user.login, base, draft_hash(text), counts)
    if not hmac.compare_digest(expected, proof):
        raise InvalidInput(
            "Bitte zuerst die Vorschau für genau diesen Entwurf ansehen.", code="catalogue_preview"
        )
    if not comment:
        raise InvalidInput("Bitte einen Kommentar zur Änderung angeben.", code="catalogue_comment")
    if versions.latest_number(gate.session) != base:
        raise InvalidInput(
            "Inzwischen wurde eine andere Version gespeichert. Bitte die Vorschau erneut ansehen.",
            code="catalogue_stale",
        )
    row = versions.save(gate, text, comment[:500], base=base, **counts)
    forget()
    return row


# --- versions and differences -------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "remove", "same", "hunk"
    text: str


def diff(before: str, after: str) -> list[DiffLine]:
    """The lines that differ between two catalogue texts, with three lines around each."""
    lines = []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        kind = {"@": "hunk", "+": "add", "-": "remove"}.get(line[:1], "same")
        lines.append(DiffLine(kind, line[1:] if kind != "hunk" else line))
    return lines


def text_of_file(settings: Settings) -> str:
    """The configured file's text (or the product's): in force before any version was saved."""
    return _file(settings).read_text(encoding="utf-8")


def text_of(session: Session, settings: Settings, number: int) -> str | None:
    """The text of a saved version; 0: the file."""
    if number == 0:
        return text_of_file(settings)
    row = versions.version(session, number)
    return row.content if row is not None else None
