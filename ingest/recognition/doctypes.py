"""Document types from their wording, by an editable catalogue (doctypes.toml)."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

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
_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U", "ß": "ss"})


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

    def words(self) -> _Lexicon:
        """The catalogue's own long words, to read OCR-damaged words back for the patterns."""
        if self.lexicon is not None:
            return self.lexicon
        found: set[str] = set()
        for rule in self.types:
            for term in rule.terms:
                source = term.text if term.kind == "phrase" else term.text.translate(_UMLAUTS)
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
        regex = re.compile(pattern.translate(_UMLAUTS), re.IGNORECASE)
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
        }
        if unknown:
            raise ValueError(f"unbekannte Angabe(n): {', '.join(sorted(unknown))}")
        phrases, patterns, terms = _terms(raw)
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
    )


def _regex(pattern: object, what: str) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise ValueError(f"{what}: „regex“ fehlt")
    try:
        return re.compile(pattern.translate(_UMLAUTS), re.IGNORECASE)
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
        unknown = set(entry) - {"code", "name", "letterhead", "topics", "excludes"}
        if unknown:
            raise ValueError(f"{what}: unbekannte Angabe(n): {', '.join(sorted(unknown))}")
        excludes = entry.get("excludes")
        if not isinstance(excludes, list) or any(t not in codes for t in excludes):
            raise ValueError(f"{what}: „excludes“ muss eingetragene Dokumentarten nennen")
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
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{label} nicht gefunden.") from None
    except UnicodeDecodeError:
        raise ValueError(f"{label} ist nicht in UTF-8 gespeichert.") from None
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
        str(source),
        boilerplate=boilerplate,
        boilerplate_unless=boilerplate_unless,
        senders=senders,
    )


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


def _masked_lines(
    doc: ParsedDocument, catalogue: Catalogue, code: str, lexicon: _Lexicon
) -> dict[int, str]:
    """Folded text of the lines where boilerplate (no evidence for `code`) is blanked out."""
    entries = [entry for entry in catalogue.boilerplate if code in entry.types]
    masked: dict[int, str] = {}
    if not entries:
        return masked
    for number in range(1, len(doc.pages) + 1):
        lines = [line for line in doc.lines if line.page == number]
        starts, plain = [], ""
        for line in lines:
            starts.append(len(plain))
            plain += line.folded + " "
        blank = bytearray(len(plain))
        for sentence in _SENTENCE.finditer(plain):
            text = sentence.group(0)
            corrected = lexicon.correct_text(text)
            # An objection that quotes the deadline wording is still the writer's objection.
            if any(u.search(text) or u.search(corrected) for u in catalogue.boilerplate_unless):
                continue
            for entry in entries:
                spans = [m.span() for m in entry.regex.finditer(text)]
                if not spans and entry.regex.search(corrected):
                    spans = [(0, len(text))]  # read back from OCR damage: offsets differ
                if spans and entry.scope == "sentence":
                    spans = [(0, len(text))]
                for start, end in spans:
                    for i in range(sentence.start() + start, sentence.start() + end):
                        blank[i] = 1
        if not any(blank):
            continue
        for line, start in zip(lines, starts, strict=True):
            part = blank[start : start + len(line.folded)]
            if any(part):
                masked[line.number] = "".join(
                    " " if part[i] else ch for i, ch in enumerate(line.folded)
                )
    return masked


def _sender(
    doc: ParsedDocument, catalogue: Catalogue, pages: list[_PageText]
) -> tuple[SenderKind, Line] | None:
    head: list[Line] = []
    for line in [line for line in doc.lines if line.page == 1][:_LETTERHEAD_LINES]:
        if _LETTERHEAD_END.match(line.folded):
            break  # ... above the subject and the salutation, where the writer names others
        head.append(line)
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


def _saturated(points: float, catalogue: Catalogue) -> float:
    """Points with diminishing returns: past a few strong phrases a document is not "more" of
    its type, so a long attachment (three pages of bank statements behind an objection) does
    not outvote the letter, and the type's weight (its priority) decides."""
    if points <= 0:
        return points
    ceiling = _SATURATION * catalogue.min_score
    return ceiling * (1 - math.exp(-points / ceiling))


def classify(doc: ParsedDocument, catalogue: Catalogue) -> TypeDecision:
    lexicon = catalogue.words()
    pages = _page_texts(doc, lexicon)
    sender = _sender(doc, catalogue, pages)
    excluded = set(sender[0].excludes) if sender is not None else set()
    points: dict[str, float] = {}
    scores: dict[str, float] = {}
    hits: dict[str, list[_Hit]] = {}
    for rule in catalogue.types:
        masked = _masked_lines(doc, catalogue, rule.code, lexicon)
        rule_pages = _page_texts(doc, lexicon, masked) if masked else pages
        found = [hit for term in rule.terms if (hit := _find(term, rule_pages)) is not None]
        points[rule.code] = sum(h.term.weight * h.factor for h in found)
        scores[rule.code] = round(rule.weight * _saturated(points[rule.code], catalogue), 2)
        hits[rule.code] = found
    notes: list[Evidence] = []
    if sender is not None:
        kind, line = sender
        ruled_out = [c for c in excluded if points.get(c, 0) > 0]
        if ruled_out:
            names = ", ".join(f"„{_name(catalogue, c)}“" for c in sorted(ruled_out))
            notes.append(
                Evidence(
                    "sender",
                    line.page,
                    line.text,
                    f"Absender ist {kind.name} („{snippet(line.text)}“); das Schreiben ist "
                    f"darum nicht {names}",
                )
            )
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
        rule = catalogue.rule(leader)
        assert rule is not None
        runner_up = max((scores[c] for c in scores if c != leader and c not in excluded), default=0)
        modest = points[leader] < 2 * catalogue.min_score_of(leader)
        narrow = (scores[leader] - runner_up) / scores[leader] < rule.min_margin
        if rule.min_margin and modest and narrow:
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
        return TypeDecision(catalogue.fallback, round(confidence, 2), evidence, scores)
    best_code = max(eligible, key=lambda c: scores[c])
    best = scores[best_code]
    second = max((scores[c] for c in scores if c != best_code and c not in excluded), default=0.0)
    rule = catalogue.rule(best_code)
    assert rule is not None
    margin = (best - max(second, 0.0)) / best
    strength = 1 - math.exp(-points[best_code] / (2 * catalogue.min_score))
    confidence = round(0.5 * margin + 0.5 * strength, 2)
    top = sorted(hits[best_code], key=lambda h: h.term.weight * h.factor, reverse=True)
    evidence = [_type_evidence(rule, hit) for hit in top[:3] if hit.term.weight > 0]
    return TypeDecision(best_code, confidence, evidence + notes, scores)


def _name(catalogue: Catalogue, code: str) -> str:
    rule = catalogue.rule(code)
    return rule.name if rule is not None else code


def _type_evidence(rule: DocTypeRule, hit: _Hit) -> Evidence:
    read = " (trotz Lesefehlern erkannt)" if hit.factor < 1.0 else ""
    what = "Formulierung" if hit.term.kind == "phrase" else "Merkmal"
    return Evidence(
        hit.term.kind,
        hit.page,
        hit.line.text,
        f"{what} „{hit.term.label}“ auf Seite {hit.page}{read} („{snippet(hit.line.text)}“)",
    )
