"""Document types from their wording, by an editable catalogue (doctypes.toml)."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from core.text import fold_umlauts
from ingest.recognition.evidence import Evidence
from ingest.recognition.text import (
    Line,
    ParsedDocument,
    allowed_distance,
    fold,
    snippet,
    word_skeleton,
)

DEFAULT_CATALOGUE = Path(__file__).with_name("doctypes.toml")

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_FUZZY_FACTOR = 0.9  # a phrase read with OCR errors counts a little less
_SKELETON_FACTOR = 0.95
_SKELETON_MIN_LENGTH = 6  # shorter words would meet other words in the reduced alphabet
_FUZZY_MIN_LENGTH = 10
_SATURATION = 4  # points of a type level off at this many times min_score


@dataclass(frozen=True)
class Term:
    kind: str  # "phrase" or "pattern"
    text: str  # as written in the catalogue
    weight: float
    label: str
    regex: re.Pattern[str] = field(compare=False, repr=False)
    skeleton: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    fuzzy: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class DocTypeRule:
    code: str
    name: str
    target: str  # "caseworker", "case_manager" or "team:<Team name>"
    phrases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    weight: float = 1.0
    terms: tuple[Term, ...] = ()
    min_score: float | None = None  # stricter than the catalogue's, for types that cost much
    min_margin: float = 0.0  # a type that wins by less than this share gives way
    # Strong evidence the type cannot do without (an objection needs the writer's own
    # declaration); without one of these the type is never chosen, whatever its points.
    requires: tuple[Term, ...] = ()

    @property
    def team(self) -> str | None:
        return self.target.split(":", 1)[1] if self.target.startswith("team:") else None


@dataclass(frozen=True)
class Boilerplate:
    """Standard wording of other senders (a remedy notice, a form field) that is no evidence
    for the listed types: the sentence it stands in (or only the match) is blanked for them."""

    regex: re.Pattern[str]
    types: tuple[str, ...]
    scope: str = "sentence"  # "sentence" or "match"


@dataclass(frozen=True)
class SenderKind:
    """Who writes, read from the letterhead (the first lines of page 1): a kind of sender that
    never writes the listed types (a health insurer writes no doctor's sick note)."""

    code: str
    name: str
    letterhead: tuple[Term, ...]
    topics: tuple[Term, ...]  # if given, one of them must appear anywhere as well
    excludes: tuple[str, ...]
    points: tuple[tuple[str, float], ...] = ()  # evidence for the types this sender writes
    # Types this sender writes whose mention without proof leaves the type to the desk: a
    # lawyer's letter that speaks of an objection but whose declaration cannot be read (a stamp
    # over it, a fax) is neither sent to the objections office nor filed as something else.
    doubt: tuple[str, ...] = ()
    # What speaks of such a type as settled or past ("der Widerspruch wurde zurückgewiesen",
    # "Widerspruchsbescheid vom …"): where one of these is in the letter, the mention alone
    # leaves no doubt, and the letter is typed by its other evidence.
    settled: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class Catalogue:
    types: tuple[DocTypeRule, ...]
    fallback: str = "sonstiges"
    min_score: float = 3.0
    source: str = ""
    lexicon: _Lexicon | None = field(default=None, compare=False, repr=False)
    boilerplate: tuple[Boilerplate, ...] = ()
    boilerplate_unless: tuple[re.Pattern[str], ...] = ()
    senders: tuple[SenderKind, ...] = ()

    def min_score_of(self, code: str) -> float:
        rule = self.rule(code)
        if rule is not None and rule.min_score is not None:
            return rule.min_score
        return self.min_score

    def rule(self, code: str) -> DocTypeRule | None:
        return next((rule for rule in self.types if rule.code == code), None)

    def known_rule(self, code: str) -> DocTypeRule:
        """The rule of a code taken from this catalogue's own types."""
        rule = self.rule(code)
        if rule is None:
            raise KeyError(f"document type {code!r} is not in the catalogue {self.source!r}")
        return rule

    def words(self) -> _Lexicon:
        """The catalogue's own long words, to read OCR-damaged words back for the patterns."""
        if self.lexicon is not None:
            return self.lexicon
        found: set[str] = set()
        for rule in self.types:
            for term in rule.terms + rule.requires:
                source = (
                    term.text if term.kind == "phrase" else fold_umlauts(term.text, style="base")
                )
                found.update(re.findall(r"[a-z]{6,}", fold(source)))
        for entry in self.boilerplate:
            found.update(re.findall(r"[a-z]{6,}", entry.regex.pattern))
        lexicon = _Lexicon(found)
        object.__setattr__(self, "lexicon", lexicon)
        return lexicon


class _Lexicon:
    """Words a catalogue uses, and how to map an OCR-damaged word onto one of them."""

    def __init__(self, words: set[str]) -> None:
        self.words = frozenset(words)
        self.choices = sorted(words)
        by_skeleton: dict[str, set[str]] = {}
        for word in words:
            by_skeleton.setdefault(word_skeleton(word), set()).add(word)
        self.by_skeleton = {k: next(iter(v)) for k, v in by_skeleton.items() if len(v) == 1}
        self._cache: dict[str, str] = {}

    def correct(self, word: str) -> str:
        if len(word) < 6 or word in self.words or not word.isalpha():
            return word
        if word in self._cache:
            return self._cache[word]
        fixed = self.by_skeleton.get(word_skeleton(word))
        if fixed is None:
            limit = allowed_distance(len(word))
            found = process.extract(
                word, self.choices, scorer=Levenshtein.distance, score_cutoff=limit, limit=2
            )
            # Only an unambiguous nearest word; otherwise leave the word as read.
            if found and (len(found) == 1 or found[0][1] < found[1][1]):
                fixed = found[0][0]
        result = fixed or word
        if len(self._cache) < 50_000:
            self._cache[word] = result
        return result

    def correct_text(self, text: str) -> str:
        return re.sub(r"[a-z]{6,}", lambda m: self.correct(m.group(0)), text)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


def _phrase_term(text: str, weight: float) -> Term:
    words = re.findall(r"[a-z0-9*]+", fold(text))
    if not words or not any(w.strip("*") for w in words):
        raise ValueError(f"die Formulierung „{text}“ enthält keine Wörter")
    regex = _phrase_regex(words)
    plain = " ".join(words)
    length = len(plain.replace(" ", "").replace("*", ""))
    skeleton_words = word_skeleton(plain).split(" ")
    skeleton = _phrase_regex(skeleton_words) if length >= _SKELETON_MIN_LENGTH else None
    fuzzy = word_skeleton(plain) if "*" not in plain and length >= _FUZZY_MIN_LENGTH else None
    return Term("phrase", text, weight, text, regex, skeleton, fuzzy)


def _phrase_regex(words: list[str]) -> re.Pattern[str]:
    body = " ".join(
        re.escape(w.rstrip("*")) + ("[a-z0-9]*" if w.endswith("*") else "") for w in words
    )
    return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])")


def _pattern_term(pattern: str, weight: float, label: str) -> Term:
    try:
        regex = re.compile(fold_umlauts(pattern, style="base"), re.IGNORECASE)
    except re.error as error:
        raise ValueError(
            f"das Muster „{pattern}“ ist kein gültiger regulärer Ausdruck ({error})"
        ) from None
    return Term("pattern", pattern, weight, label or pattern, regex)


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} muss eine Zahl sein, nicht „{value}“")
    return float(value)


def _terms(raw: dict[str, object]) -> tuple[list[str], list[str], list[Term]]:
    phrases: list[str] = []
    patterns: list[str] = []
    terms: list[Term] = []
    raw_phrases = raw.get("phrases", [])
    if not isinstance(raw_phrases, list):
        raise ValueError("„phrases“ muss eine Liste sein")
    for entry in raw_phrases:
        if isinstance(entry, str):
            text, weight = entry, 1.0
        elif isinstance(entry, dict) and isinstance(entry.get("text"), str):
            text = entry["text"]
            weight = _number(entry.get("weight", 1.0), f"Das Gewicht von „{text}“")
        else:
            raise ValueError(
                f'Formulierung {entry!r} ist weder Text noch {{ text = "...", weight = ... }}'
            )
        phrases.append(text)
        terms.append(_phrase_term(text, weight))
    raw_patterns = raw.get("patterns", [])
    if not isinstance(raw_patterns, list):
        raise ValueError("„patterns“ muss eine Liste sein")
    for entry in raw_patterns:
        if isinstance(entry, str):
            pattern, weight, label = entry, 1.0, ""
        elif isinstance(entry, dict) and isinstance(entry.get("regex"), str):
            pattern = entry["regex"]
            weight = _number(entry.get("weight", 1.0), f"Das Gewicht von „{pattern}“")
            label = str(entry.get("label", ""))
        else:
            raise ValueError(
                f'Muster {entry!r} ist weder Text noch {{ regex = "...", weight = ... }}'
            )
        patterns.append(pattern)
        terms.append(_pattern_term(pattern, weight, label))
    return phrases, patterns, terms


def _rule(raw: object, position: int) -> DocTypeRule:
    if not isinstance(raw, dict):
        raise ValueError(f"Eintrag {position} unter [[types]] ist keine Tabelle")
    code = raw.get("code")
    where = f"Dokumentart „{code}“" if isinstance(code, str) else f"Dokumentart Nr. {position}"
    try:
        if not isinstance(code, str) or not _CODE.match(code):
            raise ValueError(
                "„code“ fehlt oder ist ungültig (erlaubt: Kleinbuchstaben, Ziffern, Unterstrich)"
            )
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("„name“ fehlt")
        target = raw.get("target")
        valid_team = isinstance(target, str) and target.startswith("team:") and target[5:].strip()
        if target not in ("caseworker", "case_manager") and not valid_team:
            raise ValueError(
                f"„target“ ist „{target}“; erlaubt sind „caseworker“, „case_manager“ oder "
                "„team:<Name des Teams>“"
            )
        weight = _number(raw.get("weight", 1.0), "„weight“")
        if weight <= 0:
            raise ValueError("„weight“ muss größer als 0 sein")
        min_score = raw.get("min_score")
        if min_score is not None:
            min_score = _number(min_score, "„min_score“")
            if min_score <= 0:
                raise ValueError("„min_score“ muss größer als 0 sein")
        min_margin = _number(raw.get("min_margin", 0.0), "„min_margin“")
        if not 0 <= min_margin < 1:
            raise ValueError("„min_margin“ muss zwischen 0 und 1 liegen")
        unknown = set(raw) - {
            "code",
            "name",
            "target",
            "weight",
            "phrases",
            "patterns",
            "min_score",
            "min_margin",
            "requires",
        }
        if unknown:
            raise ValueError(f"unbekannte Angabe(n): {', '.join(sorted(unknown))}")
        phrases, patterns, terms = _terms(raw)
        requires = _requires(raw.get("requires", []))
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    assert isinstance(target, str)
    return DocTypeRule(
        code=code,
        name=name.strip(),
        target=target.strip(),
        phrases=tuple(phrases),
        patterns=tuple(patterns),
        weight=weight,
        terms=tuple(terms),
        min_score=min_score,
        min_margin=min_margin,
        requires=requires,
    )


def _requires(raw: object) -> tuple[Term, ...]:
    """Strong evidence of a type: { regex = "...", label = "..." } in the running text of a
    page, or { line = "...", label = "..." } matching a whole line (a subject line)."""
    if not isinstance(raw, list):
        raise ValueError("„requires“ muss eine Liste sein")
    found = []
    for entry in raw:
        if not isinstance(entry, dict) or not (
            isinstance(entry.get("regex"), str) or isinstance(entry.get("line"), str)
        ):
            raise ValueError(
                f'Bedingung {entry!r} ist weder {{ regex = "...", label = "..." }} noch '
                '{ line = "...", label = "..." }'
            )
        unknown = set(entry) - {"regex", "line", "label"}
        if unknown:
            raise ValueError(f"Bedingung {entry!r}: unbekannte Angabe(n): {', '.join(unknown)}")
        kind = "pattern" if "regex" in entry else "line"
        pattern = str(entry["regex"] if kind == "pattern" else entry["line"])
        term = _pattern_term(pattern, 1.0, str(entry.get("label", "")))
        if kind == "line":
            term = Term("line", term.text, 1.0, term.label, term.regex)
        found.append(term)
    return tuple(found)


def _regex(pattern: object, what: str) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise ValueError(f"{what}: „regex“ fehlt")
    try:
        return re.compile(fold_umlauts(pattern, style="base"), re.IGNORECASE)
    except re.error as error:
        raise ValueError(
            f"{what}: das Muster „{pattern}“ ist kein gültiger regulärer Ausdruck ({error})"
        ) from None


def _boilerplate(raw: object, codes: list[str]) -> tuple[Boilerplate, ...]:
    if not isinstance(raw, list):
        raise ValueError("„boilerplate“ muss eine Liste sein")
    found = []
    for position, entry in enumerate(raw, start=1):
        what = f"Textbaustein Nr. {position}"
        if not isinstance(entry, dict):
            raise ValueError(f'{what} ist nicht {{ regex = "...", types = [...] }}')
        unknown = set(entry) - {"regex", "types", "scope"}
        if unknown:
            raise ValueError(f"{what}: unbekannte Angabe(n): {', '.join(sorted(unknown))}")
        types = entry.get("types")
        if not isinstance(types, list) or not types or any(t not in codes for t in types):
            raise ValueError(f"{what}: „types“ muss eingetragene Dokumentarten nennen")
        scope = entry.get("scope", "sentence")
        if scope not in ("sentence", "match"):
            raise ValueError(f"{what}: „scope“ ist „sentence“ oder „match“")
        found.append(Boilerplate(_regex(entry.get("regex"), what), tuple(types), scope))
    return tuple(found)


def _phrases(raw: object, what: str) -> tuple[Term, ...]:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise ValueError(f"{what} muss eine Liste von Formulierungen sein")
    return tuple(_phrase_term(p, 1.0) for p in raw)


def _senders(raw: object, codes: list[str]) -> tuple[SenderKind, ...]:
    if not isinstance(raw, list):
        raise ValueError("„senders“ muss eine Liste sein ([[senders]])")
    found = []
    for position, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
            raise ValueError(f"Absenderart Nr. {position}: „code“ fehlt")
        what = f"Absenderart „{entry['code']}“"
        unknown = set(entry) - {
            "code",
            "name",
            "letterhead",
            "topics",
            "excludes",
            "points",
            "doubt",
            "settled",
        }
        if unknown:
            raise ValueError(f"{what}: unbekannte Angabe(n): {', '.join(sorted(unknown))}")
        excludes = entry.get("excludes", [])
        if not isinstance(excludes, list) or any(t not in codes for t in excludes):
            raise ValueError(f"{what}: „excludes“ muss eingetragene Dokumentarten nennen")
        points = entry.get("points", {})
        if not isinstance(points, dict) or any(t not in codes for t in points):
            raise ValueError(f"{what}: „points“ muss eingetragene Dokumentarten nennen")
        if set(points) & set(excludes):
            raise ValueError(f"{what}: eine Art steht unter „points“ und „excludes“")
        doubt = entry.get("doubt", [])
        if not isinstance(doubt, list) or any(t not in codes for t in doubt):
            raise ValueError(f"{what}: „doubt“ muss eingetragene Dokumentarten nennen")
        if set(doubt) & set(excludes):
            raise ValueError(f"{what}: eine Art steht unter „doubt“ und „excludes“")
        settled = entry.get("settled", [])
        if not isinstance(settled, list):
            raise ValueError(f"{what}: „settled“ muss eine Liste regulärer Ausdrücke sein")
        letterhead = _phrases(entry.get("letterhead"), f"{what}: „letterhead“")
        if not letterhead:
            raise ValueError(f"{what}: „letterhead“ ist leer")
        found.append(
            SenderKind(
                entry["code"],
                str(entry.get("name", entry["code"])),
                letterhead,
                _phrases(entry.get("topics", []), f"{what}: „topics“"),
                tuple(excludes),
                tuple(
                    (code, _number(value, f"{what}: „points“")) for code, value in points.items()
                ),
                tuple(doubt),
                tuple(_regex(pattern, f"{what}: „settled“") for pattern in settled),
            )
        )
    return tuple(found)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The document-type catalogue; None reads the shipped default.

    Raises ValueError with a German message that names the file and the mistake.
    """
    source = Path(path) if path is not None else DEFAULT_CATALOGUE
    label = f"Dokumentarten-Katalog {source}"
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{label} nicht gefunden.") from None
    except UnicodeDecodeError:
        raise ValueError(f"{label} ist nicht in UTF-8 gespeichert.") from None
    return parse_catalogue(text, label, str(source))


def parse_catalogue(text: str, label: str, source: str) -> Catalogue:
    """A catalogue from its TOML text (a file's or a version saved by the administration);
    `label` names it in the German error, `source` in `Catalogue.source`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{label} ist fehlerhaft (TOML-Syntax): {error}") from None
    try:
        raw_types = data.get("types")
        if not isinstance(raw_types, list) or not raw_types:
            raise ValueError("es ist keine Dokumentart ([[types]]) eingetragen")
        rules = tuple(_rule(raw, position) for position, raw in enumerate(raw_types, start=1))
        codes = [rule.code for rule in rules]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"der Code „{duplicates[0]}“ ist mehrfach vergeben")
        fallback = data.get("fallback", "sonstiges")
        if fallback not in codes:
            raise ValueError(
                f"die Ersatzart „{fallback}“ (fallback) ist nicht als Dokumentart eingetragen"
            )
        min_score = _number(data.get("min_score", 3.0), "„min_score“")
        if min_score <= 0:
            raise ValueError("„min_score“ muss größer als 0 sein")
        unknown = set(data) - {
            "types",
            "fallback",
            "min_score",
            "boilerplate",
            "boilerplate_unless",
            "senders",
        }
        if unknown:
            raise ValueError(f"unbekannte Angabe(n): {', '.join(sorted(unknown))}")
        boilerplate = _boilerplate(data.get("boilerplate", []), codes)
        unless = data.get("boilerplate_unless", [])
        if not isinstance(unless, list):
            raise ValueError("„boilerplate_unless“ muss eine Liste sein")
        boilerplate_unless = tuple(_regex(u, "boilerplate_unless") for u in unless)
        senders = _senders(data.get("senders", []), codes)
    except ValueError as error:
        raise ValueError(f"{label}: {error}.") from None
    return Catalogue(
        rules,
        str(fallback),
        min_score,
        source,
        boilerplate=boilerplate,
        boilerplate_unless=boilerplate_unless,
        senders=senders,
    )


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TYPES_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*types[ \t]*\]\]", re.MULTILINE)


def catalogue_problems(text: str) -> list[str]:
    """What is wrong with a catalogue's TOML text, in German, one entry per problem; with the
    line (and column) where the TOML parser names one, and the line of a faulty [[types]]
    table. Empty: the text is a catalogue `parse_catalogue` reads."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        at = _TOML_AT.search(message)
        if at is None:
            return [f"Die TOML-Syntax ist fehlerhaft: {message}."]
        detail = message[: at.start()]
        return [f"Zeile {at[1]}, Spalte {at[2]}: Die TOML-Syntax ist fehlerhaft ({detail})."]
    problems = []
    raw_types = data.get("types")
    if isinstance(raw_types, list):
        headers = [text.count("\n", 0, m.start()) + 1 for m in _TYPES_HEADER.finditer(text)]
        for position, raw in enumerate(raw_types, start=1):
            try:
                _rule(raw, position)
            except ValueError as error:
                line = headers[position - 1] if position <= len(headers) else None
                problems.append(f"Zeile {line}: {error}." if line else f"{error}.")
    if problems:
        return problems
    try:
        parse_catalogue(text, "Katalog", "Entwurf")
    except ValueError as error:
        message = str(error).removeprefix("Katalog: ")
        return [message[:1].upper() + message[1:]]
    return []


# --- classification -----------------------------------------------------------------------------


@dataclass
class _PageText:
    page: int
    words: str  # " a b c " over all lines of the page
    plain: str  # folded lines joined by spaces
    corrected: str  # plain, with OCR-damaged words read back onto the catalogue's words
    skeleton: str  # words with OCR look-alikes merged
    words_starts: list[int]
    plain_starts: list[int]
    corrected_starts: list[int]
    skeleton_starts: list[int]
    lines: list[Line]

    def line_at(self, offset: int, starts: list[int]) -> Line:
        index = 0
        for i, start in enumerate(starts):
            if start > offset:
                break
            index = i
        return self.lines[index]


_SENTENCE = re.compile(r"\S.*?(?:[.!?](?=\s)|$)")
_LETTERHEAD_LINES = 10  # the sender's name stands in the first lines of page 1 ...
_LETTERHEAD_END = re.compile(r"^\s*(?:sehr geehrte|guten tag|hallo|liebe|betreff|betr\b)")
_TO_US = re.compile(r"\bjobcenter\b|\bjob-center\b")
_RECIPIENT = re.compile(r"^\s*(?:an\b|z\. ?hd\b|zu handen\b)")
_CLOSING = re.compile(
    r"^\s*(?:mit (?:den )?freundlichen grussen|freundliche grusse|hochachtungsvoll)"
)
_SIGNED_BY = re.compile(r"^\s*(?:ihre?|i\. ?a\.|im auftrag)\b")
_TITLE_LINES = 15  # a form or a pay slip has no salutation: its title stands in these lines
_TITLE_FACTOR = 1.3  # the subject or title says what a letter is ...
_LATER_PAGE_FACTOR = 0.8  # ... more than the wording on its later pages (enclosures, notices)
_ENCLOSURE_FACTOR = 0.5  # a type only on later pages, behind a first page that names another
_REQUIRED_POINTS = 3.0  # what a type's strong evidence (see `requires`) counts itself


def _masks(
    doc: ParsedDocument, catalogue: Catalogue, lexicon: _Lexicon
) -> dict[str, dict[int, str]]:
    """Per type: folded text of the lines where boilerplate (no evidence for that type) is
    blanked out. Each sentence is read (and read back from OCR damage) once for all types."""
    codes = sorted({code for entry in catalogue.boilerplate for code in entry.types})
    found: dict[str, dict[int, str]] = {code: {} for code in codes}
    if not codes:
        return found
    for number in range(1, len(doc.pages) + 1):
        lines = [line for line in doc.lines if line.page == number]
        starts, plain = [], ""
        for line in lines:
            starts.append(len(plain))
            plain += line.folded + " "
        blanks = {code: bytearray(len(plain)) for code in codes}
        for sentence in _SENTENCE.finditer(plain):
            text = sentence.group(0)
            corrected = lexicon.correct_text(text)
            # An objection that quotes the deadline wording is still the writer's objection.
            if any(u.search(text) or u.search(corrected) for u in catalogue.boilerplate_unless):
                continue
            for entry in catalogue.boilerplate:
                spans = [m.span() for m in entry.regex.finditer(text)]
                if not spans and entry.regex.search(corrected):
                    spans = [(0, len(text))]  # read back from OCR damage: offsets differ
                if spans and entry.scope == "sentence":
                    spans = [(0, len(text))]
                for code in entry.types:
                    for begin, stop in spans:
                        blanks[code][sentence.start() + begin : sentence.start() + stop] = (
                            b"\x01" * (stop - begin)
                        )
        for code, blank in blanks.items():
            if not any(blank):
                continue
            for line, begin in zip(lines, starts, strict=True):
                part = blank[begin : begin + len(line.folded)]
                if any(part):
                    found[code][line.number] = "".join(
                        " " if part[i] else ch for i, ch in enumerate(line.folded)
                    )
    return found


def _head_lines(doc: ParsedDocument) -> list[Line]:
    """Lines that say who writes: the letterhead (the first lines of page 1, above the subject
    and the salutation, and above the job centre's own address in a letter written to us) and
    a closing that names the sender ("Ihre Familienkasse")."""
    page_one = [line for line in doc.lines if line.page == 1]
    head: list[Line] = []
    for line in page_one[:_LETTERHEAD_LINES]:
        if _LETTERHEAD_END.match(line.folded):
            break  # ... above the subject and the salutation, where the writer names others
        if _TO_US.search(line.folded):
            break  # the address block of a letter to the job centre: the writer stood above
        if _RECIPIENT.match(line.folded):
            continue
        head.append(line)
    for index, line in enumerate(page_one):
        if _CLOSING.match(line.folded):
            head.extend(
                follow
                for follow in page_one[index + 1 : index + 4]
                if _SIGNED_BY.match(follow.folded)
            )
    return head


def _sender(
    doc: ParsedDocument, catalogue: Catalogue, pages: list[_PageText]
) -> tuple[SenderKind, Line] | None:
    head = _head_lines(doc)
    for kind in catalogue.senders:
        for line in head:
            words = " " + _words(line.text) + " "
            skeleton = " " + word_skeleton(_words(line.text)) + " "
            if not any(
                t.regex.search(words) or (t.skeleton is not None and t.skeleton.search(skeleton))
                for t in kind.letterhead
            ):
                continue
            if kind.topics and not any(_find(t, pages) for t in kind.topics):
                break
            return kind, line
    return None


def _page_texts(
    doc: ParsedDocument, lexicon: _Lexicon, masked: dict[int, str] | None = None
) -> list[_PageText]:
    masked = masked or {}
    pages: list[_PageText] = []
    for number in range(1, len(doc.pages) + 1):
        lines = [line for line in doc.lines if line.page == number]
        words, plain, corrected, skeleton = " ", "", "", " "
        words_starts: list[int] = []
        plain_starts: list[int] = []
        corrected_starts: list[int] = []
        skeleton_starts: list[int] = []
        for line in lines:
            folded = masked.get(line.number, line.folded)
            if line.number in masked:
                line_words = " ".join(re.findall(r"[a-z0-9]+", folded))
            else:
                line_words = _words(line.text)
            words_starts.append(len(words))
            words += line_words + " "
            skeleton_starts.append(len(skeleton))
            skeleton += word_skeleton(line_words) + " "
            plain_starts.append(len(plain))
            plain += folded + " "
            corrected_starts.append(len(corrected))
            corrected += lexicon.correct_text(folded) + " "
        pages.append(
            _PageText(
                number,
                words,
                plain,
                corrected,
                skeleton,
                words_starts,
                plain_starts,
                corrected_starts,
                skeleton_starts,
                lines,
            )
        )
    return pages


@dataclass
class _Hit:
    term: Term
    page: int
    line: Line
    factor: float


def _fuzzy_find(phrase: str, text: str) -> tuple[float, int] | None:
    cutoff = 90 if len(phrase) < 16 else 86
    offset = 0
    for _ in range(3):
        rest = text[offset:]
        if len(rest) < len(phrase) - 2:
            return None
        found = fuzz.partial_ratio_alignment(phrase, rest, score_cutoff=cutoff)
        if found is None or found.score < cutoff:
            return None
        start, end = offset + found.dest_start, offset + found.dest_end
        # The match must be whole words (one stray letter either side is OCR noise).
        if not (_boundary_before(text, start) and _boundary_after(text, end)):
            offset = end
            continue
        # OCR rarely loses a word's first letter, but a different first letter is often a
        # different word: "die Bescheinigung" is not "Mietbescheinigung".
        if phrase[0] not in text[start : start + 2]:
            offset = end
            continue
        return found.score / 100, start
    return None


def _boundary_before(text: str, start: int) -> bool:
    return start <= 1 or " " in (text[start], text[start - 1], text[start - 2])


def _boundary_after(text: str, end: int) -> bool:
    return end >= len(text) - 1 or " " in (text[end - 1], text[end], text[end + 1])


def _find(term: Term, pages: list[_PageText]) -> _Hit | None:
    for page in pages:
        if term.kind == "pattern":
            match = term.regex.search(page.plain)
            if match:
                return _Hit(term, page.page, page.line_at(match.start(), page.plain_starts), 1.0)
            continue
        match = term.regex.search(page.words)
        if match:
            return _Hit(term, page.page, page.line_at(match.start(), page.words_starts), 1.0)
    if term.kind == "pattern":
        for page in pages:
            if page.corrected == page.plain:
                continue
            match = term.regex.search(page.corrected)
            if match:
                line = page.line_at(match.start(), page.corrected_starts)
                return _Hit(term, page.page, line, _FUZZY_FACTOR)
    if term.kind == "phrase" and term.skeleton is not None:
        for page in pages:
            match = term.skeleton.search(page.skeleton)
            if match:
                line = page.line_at(match.start(), page.skeleton_starts)
                return _Hit(term, page.page, line, _SKELETON_FACTOR)
    if term.kind == "phrase" and term.fuzzy is not None:
        for page in pages:
            found = _fuzzy_find(term.fuzzy, page.skeleton)
            if found is not None:
                line = page.line_at(found[1], page.skeleton_starts)
                return _Hit(term, page.page, line, _FUZZY_FACTOR * found[0])
    return None


@dataclass
class TypeDecision:
    code: str
    confidence: float
    evidence: list[Evidence]
    scores: dict[str, float]
    # Why the desk must decide the type (see SenderKind.doubt); None when the rules decided.
    in_doubt: str | None = None


def _saturated(points: float, catalogue: Catalogue) -> float:
    """Points with diminishing returns: past a few strong phrases a document is not "more" of
    its type, so a long attachment (three pages of bank statements behind an objection) does
    not outvote the letter, and the type's weight (its priority) decides."""
    if points <= 0:
        return points
    ceiling = _SATURATION * catalogue.min_score
    return ceiling * (1 - math.exp(-points / ceiling))


def _title_lines(doc: ParsedDocument) -> set[int]:
    """Line numbers of page 1's head: up to the salutation (a letter's subject stands above
    it), or the first lines of a form; and any line that begins with "Betreff"."""
    found: set[int] = set()
    page_one = [line for line in doc.lines if line.page == 1]
    salutation = next(
        (i for i, line in enumerate(page_one) if _SALUTATION.match(line.folded)), None
    )
    limit = salutation if salutation is not None else _TITLE_LINES
    found.update(line.number for line in page_one[:limit])
    found.update(line.number for line in page_one if _SUBJECT.match(line.folded))
    return found


_SALUTATION = re.compile(r"^\s*(?:sehr geehrte|guten tag|hallo|liebe)")
_SUBJECT = re.compile(r"^\s*(?:betreff|betr\b|betrifft)")


def _place_factor(hit: _Hit, title: set[int]) -> float:
    if hit.term.weight <= 0:
        return 1.0
    if hit.page == 1 and hit.line.number in title:
        return _TITLE_FACTOR
    return 1.0 if hit.page == 1 else _LATER_PAGE_FACTOR


def _required(
    rule: DocTypeRule,
    doc: ParsedDocument,
    pages: list[_PageText],
    masked: dict[int, str],
    lexicon: _Lexicon,
) -> _Hit | None:
    """The first strong evidence of `rule` outside boilerplate: a declaration in the running
    text or a whole (subject) line; as printed first, then read back from OCR damage."""
    keys = _key_words(rule)
    for attempt in ("printed", "corrected", "repaired"):
        factor = 1.0 if attempt == "printed" else _FUZZY_FACTOR
        for term in rule.requires:
            if term.kind == "line":
                for line in doc.lines:
                    text = masked.get(line.number, line.folded).strip()
                    if attempt != "printed":
                        text = lexicon.correct_text(text)
                    if attempt == "repaired":
                        text = _repair(text, keys)
                    if text and term.regex.search(text):
                        return _Hit(term, line.page, line, factor)
                continue
            for page in pages:
                if attempt == "printed":
                    text, starts = page.plain, page.plain_starts
                else:
                    text, starts = page.corrected, page.corrected_starts
                    if attempt == "repaired":
                        # Same length word for word: short words OCR damaged ("lcge lch")
                        # are read back onto the few words the strong evidence is made of.
                        text = _repair(text, keys)
                    elif text == page.plain:
                        continue
                match = term.regex.search(text)
                if match:
                    return _Hit(term, page.page, page.line_at(match.start(), starts), factor)
    return None


def _key_words(rule: DocTypeRule) -> dict[str, str]:
    """The words of a type's strong evidence, by their OCR skeleton (unambiguous ones only)."""
    found: dict[str, set[str]] = {}
    for term in rule.requires:
        for word in re.findall(
            r"(?<![\\(?])[a-z]{2,}", fold_umlauts(term.text, style="base").lower()
        ):
            found.setdefault(word_skeleton(word), set()).add(word)
    return {key: next(iter(words)) for key, words in found.items() if len(words) == 1}


def _repair(text: str, keys: dict[str, str]) -> str:
    """Short words read back onto the key words by their OCR skeleton; a long key word OCR
    split in two ("wide rspruch") or read with one more slip is joined and read back too."""
    tokens = re.findall(r"[a-z0-9]+|[^a-z0-9]+", text)
    out: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if not token[0].isalnum():
            out.append(token)
            index += 1
            continue
        key = keys.get(word_skeleton(token))
        if key is not None and len(key) == len(token):
            out.append(key)
            index += 1
            continue
        joined = None
        if index + 2 < len(tokens) and tokens[index + 1] == " " and tokens[index + 2][0].isalnum():
            joined = _long_key(token + tokens[index + 2], keys)
        if joined is not None:
            out.append(joined)
            index += 3
            continue
        out.append(_long_key(token, keys) or token)
        index += 1
    return "".join(out)


def _long_key(word: str, keys: dict[str, str]) -> str | None:
    if len(word) < 8:
        return None
    skeleton = word_skeleton(word)
    if skeleton in keys and len(keys[skeleton]) >= 8:
        return keys[skeleton]
    close = [
        key
        for sk, key in keys.items()
        # One letter misread, never one more or less: "widerspruchs" stays another word.
        if len(key) >= 8 and len(sk) == len(skeleton) and Levenshtein.distance(sk, skeleton) == 1
    ]
    return close[0] if len(close) == 1 else None


def classify(doc: ParsedDocument, catalogue: Catalogue) -> TypeDecision:
    decision, points, proof, sender = _classify(doc, catalogue)
    if sender is None:
        return decision
    kind, _line = sender
    if kind.settled:
        text = fold(" ".join(line.text for line in doc.lines))
        if any(pattern.search(text) for pattern in kind.settled):
            return decision
    for code in kind.doubt:
        if code != decision.code and proof.get(code) is None and points.get(code, 0.0) > 0:
            decision.in_doubt = (
                f"Absender ist {kind.name} und das Schreiben spricht von "
                f"„{_name(catalogue, code)}“, eine eindeutige Erklärung ist aber nicht lesbar; "
                "bitte die Dokumentart festlegen"
            )
            break
    return decision


def _classify(
    doc: ParsedDocument, catalogue: Catalogue
) -> tuple[
    TypeDecision,
    dict[str, float],
    dict[str, _Hit | None],
    tuple[SenderKind, Line] | None,
]:
    lexicon = catalogue.words()
    pages = _page_texts(doc, lexicon)
    sender = _sender(doc, catalogue, pages)
    excluded = set(sender[0].excludes) if sender is not None else set()
    bonus = dict(sender[0].points) if sender is not None else {}
    title = _title_lines(doc)
    points: dict[str, float] = {}
    scores: dict[str, float] = {}
    hits: dict[str, list[_Hit]] = {}
    proof: dict[str, _Hit | None] = {}
    discounted: dict[str, Line] = {}  # boilerplate that would have decided the type
    masks = _masks(doc, catalogue, lexicon)
    for rule in catalogue.types:
        masked = masks.get(rule.code, {})
        rule_pages = _page_texts(doc, lexicon, masked) if masked else pages
        found = [hit for term in rule.terms if (hit := _find(term, rule_pages)) is not None]
        points[rule.code] = sum(
            h.term.weight * h.factor * _place_factor(h, title) for h in found
        ) + bonus.get(rule.code, 0.0)
        scores[rule.code] = round(rule.weight * _saturated(points[rule.code], catalogue), 2)
        hits[rule.code] = found
        if rule.requires:
            proof[rule.code] = _required(rule, doc, rule_pages, masked, lexicon)
            declared = proof[rule.code]
            if declared is not None:
                # The strong evidence is itself evidence ("Betreff: Widerspruch" and a reason).
                points[rule.code] += _REQUIRED_POINTS * declared.factor
                scores[rule.code] = round(rule.weight * _saturated(points[rule.code], catalogue), 2)
        if masked:
            unmasked = [hit for term in rule.terms if (hit := _find(term, pages)) is not None]
            before = sum(h.term.weight * h.factor * _place_factor(h, title) for h in unmasked)
            if before >= catalogue.min_score_of(rule.code) > points[rule.code] or (
                rule.requires
                and proof[rule.code] is None
                and _required(rule, doc, pages, {}, lexicon) is not None
            ):
                discounted[rule.code] = doc.lines[min(masked)]
    # The first page says what the letter is: when its head (title, subject) names a type
    # clearly, a type found only on later pages (statements behind a renewal application)
    # describes the enclosures, not the letter.
    anchored = [
        code
        for code, found in hits.items()
        if code not in excluded
        and sum(
            h.term.weight * h.factor * _TITLE_FACTOR
            for h in found
            if h.page == 1 and h.line.number in title and h.term.weight > 0
        )
        >= catalogue.min_score_of(code)
    ]
    if anchored:
        for rule in catalogue.types:
            code = rule.code
            if code in anchored or not hits[code] or any(h.page == 1 for h in hits[code]):
                continue
            scores[code] = round(scores[code] * _ENCLOSURE_FACTOR, 2)
    notes: list[Evidence] = []
    if sender is not None:
        kind, line = sender
        ruled_out = [c for c in excluded if points.get(c, 0) > 0]
        supported = [c for c in bonus if c not in excluded]
        detail = f"Absender ist {kind.name} („{snippet(line.text)}“)"
        if ruled_out:
            names = ", ".join(f"„{_name(catalogue, c)}“" for c in sorted(ruled_out))
            detail += f"; das Schreiben ist darum nicht {names}"
        elif supported:
            names = ", ".join(f"„{_name(catalogue, c)}“" for c in sorted(supported))
            detail += f"; das spricht für {names}"
        notes.append(Evidence("sender", line.page, line.text, detail))
    for code, line in discounted.items():
        if code in excluded:
            continue
        notes.append(
            Evidence(
                "boilerplate",
                line.page,
                line.text,
                f"Textbaustein auf Seite {line.page} („{snippet(line.text)}“) – etwa eine "
                f"Rechtsbehelfsbelehrung einer anderen Stelle oder ein Formularfeld – zählt "
                f"nicht für „{_name(catalogue, code)}“",
            )
        )
    unproven = {code for code, hit in proof.items() if hit is None and code not in excluded}
    for code in sorted(unproven):
        if points[code] >= catalogue.min_score_of(code):
            rule = catalogue.known_rule(code)
            needed = " oder ".join(f"„{t.label}“" for t in rule.requires[:2])
            notes.append(
                Evidence(
                    "phrase",
                    None,
                    "",
                    f"Nicht „{rule.name}“: es fehlt ein sicherer Hinweis ({needed}); "
                    "die bloße Erwähnung genügt nicht",
                )
            )
    excluded |= unproven
    eligible = [
        code
        for code in scores
        if code != catalogue.fallback
        and code not in excluded
        and points[code] >= catalogue.min_score_of(code)
    ]
    # A type that costs much when wrong (the objections office sees the whole file) must win
    # clearly when its own evidence is modest; otherwise the next type decides. Plain, strong
    # wording (an objection with bank statements behind it) keeps its type.
    dropped: set[str] = set()
    while eligible:
        leader = max(eligible, key=lambda c: scores[c])
        rule = catalogue.known_rule(leader)
        runner_up = max((scores[c] for c in scores if c != leader and c not in excluded), default=0)
        modest = points[leader] < 2 * catalogue.min_score_of(leader)
        narrow = (scores[leader] - runner_up) / scores[leader] < rule.min_margin
        # The type's own strong evidence (an objection's declaration) needs no margin.
        if rule.min_margin and modest and narrow and proof.get(leader) is None:
            notes.append(
                Evidence(
                    "phrase",
                    None,
                    "",
                    f"„{rule.name}“ nur knapp vor einer anderen Art; daher nicht „{rule.name}“",
                )
            )
            eligible.remove(leader)
            dropped.add(leader)
            continue
        break
    if not eligible:
        evidence = notes
        weak = [
            c
            for c in scores
            if c != catalogue.fallback and c not in excluded | dropped and points[c] > 0
        ]
        if weak:
            code = max(weak, key=lambda c: points[c])
            evidence.append(
                Evidence(
                    "phrase",
                    None,
                    "",
                    f"Nur schwache Hinweise auf „{_name(catalogue, code)}“ ({points[code]:.1f} "
                    f"Punkte, nötig sind {catalogue.min_score_of(code):g}); daher "
                    f"„{_name(catalogue, catalogue.fallback)}“",
                )
            )
        best_points = max((points[c] for c in weak), default=0.0)
        confidence = 0.5 + 0.3 * (1 - min(best_points, catalogue.min_score) / catalogue.min_score)
        return (
            TypeDecision(catalogue.fallback, round(confidence, 2), evidence, scores),
            points,
            proof,
            sender,
        )
    best_code = max(eligible, key=lambda c: scores[c])
    best = scores[best_code]
    second = max((scores[c] for c in scores if c != best_code and c not in excluded), default=0.0)
    rule = catalogue.known_rule(best_code)
    margin = (best - max(second, 0.0)) / best
    strength = 1 - math.exp(-points[best_code] / (2 * catalogue.min_score))
    confidence = round(0.5 * margin + 0.5 * strength, 2)
    top = sorted(
        hits[best_code],
        key=lambda h: h.term.weight * h.factor * _place_factor(h, title),
        reverse=True,
    )
    evidence = [_type_evidence(rule, hit) for hit in top[:3] if hit.term.weight > 0]
    declared = proof.get(best_code)
    if declared is not None:
        evidence.insert(0, _type_evidence(rule, declared))
    return TypeDecision(best_code, confidence, evidence + notes, scores), points, proof, sender


def _name(catalogue: Catalogue, code: str) -> str:
    rule = catalogue.rule(code)
    return rule.name if rule is not None else code


def _type_evidence(rule: DocTypeRule, hit: _Hit) -> Evidence:
    read = " (trotz Lesefehlern erkannt)" if hit.factor < 1.0 else ""
    what = {"phrase": "Formulierung", "pattern": "Merkmal", "line": "Betreffzeile"}[hit.term.kind]
    if hit.term in rule.requires and hit.term.kind == "pattern":
        what = "Erklärung"
    return Evidence(
        hit.term.kind,
        hit.page,
        hit.line.text,
        f"{what} „{hit.term.label}“ auf Seite {hit.page}{read} („{snippet(hit.line.text)}“)",
    )
