"""The SearchIndex port, and the query and snippet logic both adapters share."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Protocol

from rapidfuzz import process
from rapidfuzz.distance import OSA

from core.dates import local_date
from core.health import BackendState
from core.text import fold_umlauts
from search.analysis import (
    analyze,
    compound_key,
    compound_parts,
    compound_runs,
    compound_values,
    fuzziness,
    nfc,
    plain,
)
from search.identifiers import find_identifiers, identifier_values, may_contain

# The access key of documents that belong to no household yet (the clearing inbox's).
CLEARING_ACCESS = "clearing"
# A note on a whole file (Vermerk zur Akte) is an entry of its own, under this prefix and the
# note's id, with the household's access key, direction and status FILE_NOTE_KIND; a hit on it
# opens the E-Akte.
FILE_NOTE_PREFIX = "vermerk-"
FILE_NOTE_KIND = "vermerk"


def file_note_key(note_id: int) -> str:
    return f"{FILE_NOTE_PREFIX}{note_id}"


# Weights of the ways a word may match: as typed (its stem, weight 1), inside a compound word,
# or with an OCR slip. Both adapters use them.
COMPOUND_BOOST = 0.6
FUZZY_BOOST = 0.3
# OCR slips are looked for only when the words as written find fewer documents than this: for
# a common word, slips would add documents ranked below hundreds of exact ones (and cost time),
# while for a rare name or word the slipped spelling may be the one letter sought.
FUZZY_BELOW = 20
# A trailing `*` (`Nebenkosten*`) finds the words starting with what precedes it, from this many
# letters on, and at most this many different words per prefix (both adapters): a short prefix
# cannot make a search walk the whole vocabulary.
MIN_PREFIX = 3
PREFIX_EXPANSIONS = 50
# Facet buckets returned at most, largest first.
FACET_SIZES = {"doc_type": 50, "year": 50, "household": 100}
# The facets and the stored field each one counts, in both adapters.
FACET_FIELDS = {"doc_type": "doc_type", "year": "receipt_year", "household": "bg_number"}
# The fields an index stores as the document has them (both adapters).
STORED_AS_IS = ("document_id", "access", "source_name", "direction", "status", "received_at")


@dataclass(frozen=True)
class IndexedDocument:
    document_id: str
    source_name: str
    received_at: datetime
    pages: list[str]
    bg_number: str | None = None
    doc_type: str | None = None
    # The date of receipt that counts; without one, the local day the scan arrived.
    receipt_date: date | None = None
    direction: str = "in"
    # Identifiers known from the database besides the text, e.g. the court file reference.
    known_identifiers: tuple[str, ...] = ()
    # Where the document stands, as `eakte documents` says: "routed" (open in an inbox),
    # "clearing" or "done".
    status: str = "routed"
    # The notes (Vermerke) on the document, searchable with it.
    notes: tuple[str, ...] = ()

    @property
    def access(self) -> str:
        return self.bg_number or CLEARING_ACCESS

    @property
    def receipt_day(self) -> date:
        return self.receipt_date or local_date(self.received_at)


# The German name of a document type by its code (the type catalogue's), searched with the
# documents of that type: `Nebenkostenabrechnung` finds them whatever their wording.
TypeNames = Callable[[str], str | None]


def no_type_names(code: str) -> str | None:
    return None


@dataclass(frozen=True)
class IndexEntry:
    """What both adapters store for a document, computed once by the shared analysis."""

    document: IndexedDocument
    pages: list[str]
    notes: list[str]
    identifiers: list[str]
    compounds: list[str]
    type_name: str

    @property
    def year(self) -> str:
        return str(self.document.receipt_day.year)


def prepare(document: IndexedDocument, type_names: TypeNames = no_type_names) -> IndexEntry:
    pages = [nfc(page) for page in document.pages]
    notes = [nfc(note) for note in document.notes]
    # The household's own number belongs to each of its documents, printed on it or not.
    known = [document.bg_number or "", *document.known_identifiers, *notes]
    identifiers = identifier_values("\n".join(known)) + identifier_values("\n".join(pages))
    return IndexEntry(
        document=document,
        pages=pages,
        notes=notes,
        identifiers=list(dict.fromkeys(identifiers)),
        compounds=compound_values(pages + notes),
        type_name=nfc((type_names(document.doc_type) if document.doc_type else None) or ""),
    )


@dataclass(frozen=True)
class SearchQuery:
    text: str
    # The access keys (BG numbers, or CLEARING_ACCESS) the user may see; the index filters on them.
    # Callers narrow it for filters by household or team: it is the only household filter.
    allowed: frozenset[str]
    limit: int = 20
    offset: int = 0
    doc_types: frozenset[str] = frozenset()
    receipt_from: date | None = None
    receipt_to: date | None = None
    direction: str | None = None
    # Document states ("routed", "clearing", "done"); empty: all.
    statuses: frozenset[str] = frozenset()
    # Count hits per document type, year of receipt and household, inside the same query.
    facets: bool = False


@dataclass(frozen=True)
class SearchHit:
    document_id: str
    bg_number: str | None
    doc_type: str | None
    source_name: str
    page: int
    snippet: str
    score: float
    receipt_date: date | None = None
    direction: str = "in"
    status: str = "routed"

    @property
    def file_note(self) -> bool:
        """A note on the household's file, not a document."""
        return self.document_id.startswith(FILE_NOTE_PREFIX)


@dataclass
class SearchResult:
    total: int
    hits: list[SearchHit] = field(default_factory=list)
    # {"doc_type": {code: n}, "year": {"2026": n}, "household": {bg_number: n}}
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class SearchIndex(Protocol):
    name: str

    def index(self, document: IndexedDocument) -> None:
        """Add or replace the document; indexing the same document twice leaves one entry."""

    def index_many(self, documents: list[IndexedDocument]) -> int:
        """Add or replace many documents in one write; returns how many."""

    def delete(self, document_id: str) -> None: ...

    def delete_indexed_before(self, moment: datetime) -> int:
        """Remove every entry last written before `moment`; returns how many (reindex)."""

    def count(self) -> int: ...

    def contains(self, document_id: str) -> bool:
        """Whether an entry with this id is in the index (`eakte verify` after a destruction)."""

    def search(self, query: SearchQuery) -> SearchResult: ...

    def ping(self) -> BackendState: ...

    def close(self) -> None: ...


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WordPlan:
    """One typed word and every way a document may contain it."""

    word: str
    term: str | None  # the stem in `text`
    plain: str | None  # the folded spelling in `plain`, for OCR slips
    parts: tuple[str, ...]  # compound parts, for `compound`
    fuzziness: int


@lru_cache(maxsize=10_000)
def plan_word(word: str) -> WordPlan:
    terms = analyze(word)
    spellings = plain(word)
    spelling = spellings[0] if spellings else None
    return WordPlan(
        word=word,
        term=terms[0] if terms else None,
        plain=spelling,
        parts=compound_parts(word),
        fuzziness=fuzziness(spelling) if spelling else 0,
    )


@dataclass(frozen=True)
class ParsedQuery:
    words: list[str]
    phrases: list[list[str]]
    identifiers: list[str]
    # Folded spellings (as the `plain` analysis writes them) typed with a trailing `*`.
    prefixes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases or self.identifiers or self.prefixes)

    @property
    def plans(self) -> list[WordPlan]:
        return [plan for plan in map(plan_word, self.words) if plan.term]


_PHRASE = re.compile(r'["„“”]([^"„“”]*)["„“”]')
_PREFIX = re.compile(r"([^\W_]+)\*")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_TOKEN = re.compile(r"\S+")


def parse_query(text: str) -> ParsedQuery:
    """Split what a caseworker typed into identifiers, quoted phrases and plain words."""
    text = nfc(text)
    found = find_identifiers(text)
    identifiers = list(dict.fromkeys(item.value for item in found))
    rest = list(text)
    for item in found:
        rest[item.start : item.end] = " " * (item.end - item.start)
    remaining = "".join(rest)
    prefixes = [plain(typed)[0] for typed in _PREFIX.findall(remaining) if _is_prefix(typed)]
    # A shorter prefix counts as the word itself.
    remaining = _PREFIX.sub(lambda m: " " if _is_prefix(m[1]) else m[1], remaining)
    phrases: list[list[str]] = []
    words: list[str] = []
    for quoted in _PHRASE.findall(remaining):
        phrase = _WORD.findall(quoted)
        if len(phrase) > 1:
            phrases.append(phrase)
        else:
            words.extend(phrase)
    words.extend(_WORD.findall(_PHRASE.sub(" ", remaining)))
    return ParsedQuery(
        words=list(dict.fromkeys(words)),
        phrases=phrases,
        identifiers=identifiers,
        prefixes=list(dict.fromkeys(prefixes)),
    )


def _is_prefix(typed: str) -> bool:
    folded = plain(typed)
    return len(folded) == 1 and len(folded[0]) >= MIN_PREFIX


# --- snippets -----------------------------------------------------------------------------------

SNIPPET_WORDS = 24


_ASCII_NO_LETTERS = re.compile(r"[^A-Za-z]*")
_DIGITS = re.compile(r"[0-9]+")


@lru_cache(maxsize=300_000)
def _features(word: str) -> tuple[tuple[str, ...], frozenset[str], tuple[str, ...]]:
    """A whitespace-separated word of a page: its stems, runs of compound parts (see
    `compound_runs`) and folded spellings."""
    if word.isascii() and _ASCII_NO_LETTERS.fullmatch(word):
        # Amounts, numbers, dates (most words seen only once): the analysis keeps their digit
        # runs as they are, as the tokenizer splits at everything else and case, accents and
        # stems do not touch digits; computed here without the analyzers.
        digits = tuple(run for run in _DIGITS.findall(word) if len(run) < 60)
        return digits, frozenset(), digits
    pieces = _WORD.findall(word)
    runs = frozenset(t for piece in pieces for run in compound_runs(piece) for t in analyze(run))
    return tuple(analyze(word)), runs, tuple(plain(word))


class _Wanted:
    """What marks a word as a hit for one query, with the verdicts on words seen so far."""

    def __init__(self, parsed: ParsedQuery, *, fuzzy: bool = True) -> None:
        plans = parsed.plans
        terms = {plan.term for plan in plans if plan.term}
        terms |= {t for phrase in parsed.phrases for word in phrase for t in analyze(word)}
        self.terms = frozenset(terms)
        # Compared as the index compares them: stems of the runs of parts.
        self.parts = frozenset(t for p in plans if p.parts for t in analyze(compound_key(p.parts)))
        slips = plans if fuzzy else []
        self.fuzzy = tuple((p.plain, p.fuzziness) for p in slips if p.plain and p.fuzziness)
        self.identifiers = frozenset(parsed.identifiers)
        self.prefixes = tuple(parsed.prefixes)
        self.verdicts: dict[str, bool] = {}

    def judge(self, words: list[str]) -> dict[str, bool]:
        """Verdicts on the words, computed once per distinct word and query."""
        verdicts = self.verdicts
        fresh = list(set(words).difference(verdicts))
        if not fresh:
            return verdicts
        features = list(map(_features, fresh))
        disjoint = self.terms.isdisjoint
        flags = [not disjoint(stems) for stems, _, _ in features]
        if self.parts:
            for index, (_, runs, _) in enumerate(features):
                if runs and not flags[index]:
                    flags[index] = not self.parts.isdisjoint(runs)
        if self.prefixes:
            for index, (_, _, spellings) in enumerate(features):
                if not flags[index]:
                    flags[index] = any(s.startswith(self.prefixes) for s in spellings)
        verdicts.update(zip(fresh, flags, strict=True))
        if self.fuzzy:
            # Spelling -> the words with it (`Scholz` and `Scholz,`), compared with each fuzzy
            # target in one call.
            undecided: dict[str, list[str]] = {}
            for index, (_, _, spellings) in enumerate(features):
                if not flags[index]:
                    for spelling in spellings:
                        undecided.setdefault(spelling, []).append(fresh[index])
            for target, distance in self.fuzzy:
                close = process.extract(
                    target, list(undecided), scorer=OSA.distance, score_cutoff=distance, limit=None
                )
                for spelling, _, _ in close:
                    for word in undecided[spelling]:
                        verdicts[word] = True
        return verdicts


def _identifier_words(page: str, wanted: _Wanted) -> list[int]:
    """Indexes (in `page.split()`) of the words that make up a wanted identifier."""
    if not wanted.identifiers or not may_contain(page, wanted.identifiers):
        return []
    return [
        index
        for item in find_identifiers(page)
        if item.value in wanted.identifiers
        for index in range(_word_at(page, item.start), _word_at(page, item.end - 1) + 1)
    ]


def _word_at(page: str, position: int) -> int:
    """Index (in `page.split()`) of the word at or after a character position."""
    before = page[:position]
    inside = (
        position > 0 and not before[-1].isspace() and not page[position : position + 1].isspace()
    )
    return len(before.split()) - (1 if inside else 0)


_CHUNK = 64


# An identifier on a page counts as much as this many occurrences of query words: it is the
# more specific part of a query such as `DE14 2175 … Kontoauszug`.
IDENTIFIER_WEIGHT = 5


def _fold_page(page: str) -> str:
    return fold_umlauts(page.lower(), style="base")


def _judged_hits(text: str, wanted: _Wanted) -> int:
    words = text.split()
    verdicts = wanted.judge(words)
    return sum(map(verdicts.__getitem__, words))


def best_page_snippet(
    pages: list[str],
    parsed: ParsedQuery,
    wanted: _Wanted | None = None,
    notes: list[str] | tuple[str, ...] = (),
) -> tuple[int, str]:
    """The page (1-based) where most query terms occur, and an HTML snippet with them marked.

    Pages are ranked by how often the query's stems occur in their folded text (cheap, and close
    enough: a stem is the beginning of its word forms) and by the identifiers on them; only when
    no page has any (a match through a compound or an OCR slip) are all words judged. When the
    words are only in a note (Vermerk) on the document, the snippet shows the note. On the
    chosen page words are judged up to the first hit and around it. Pass one
    `snippet_context(parsed)` for all hits of a query: each distinct word is judged once.
    """
    if not pages and not notes:
        return 1, ""
    wanted = wanted or _Wanted(parsed)
    scores = []
    for page in pages:
        folded = _fold_page(page)
        score = sum(folded.count(term) for term in (*wanted.terms, *wanted.prefixes))
        if wanted.identifiers and may_contain(page, wanted.identifiers):
            score += IDENTIFIER_WEIGHT
        scores.append(score)
    if pages and not any(scores):
        scores = [_judged_hits(page, wanted) for page in pages]
    if notes and not any(scores):
        for note in notes:
            words = note.split()
            marked = set(_identifier_words(note, wanted))
            if marked or _judged_hits(note, wanted):
                return 1, "Vermerk: " + _snippet(words, wanted, marked)
    if not pages:
        return 1, ""
    number = scores.index(max(scores)) + 1
    page = pages[number - 1]
    return number, _snippet(page.split(), wanted, set(_identifier_words(page, wanted)))


# Verdicts kept per query (the same words asked again, by this or another caseworker, are not
# judged again), up to this many words each; then the query's context starts afresh.
_VERDICTS_KEPT = 50_000

# A query's words, phrases, identifiers and whether OCR slips are searched: what a context keys on.
_ContextKey = tuple[
    tuple[str, ...], tuple[tuple[str, ...], ...], tuple[str, ...], tuple[str, ...], bool
]


def snippet_context(parsed: ParsedQuery, *, fuzzy: bool = True) -> _Wanted:
    """What the snippets of one query's hits mark; `fuzzy` when OCR slips were searched too.

    The context, with the verdicts on the words judged so far, is shared by every search with
    the same words, phrases and identifiers: a verdict depends on nothing else.
    """
    key: _ContextKey = (
        tuple(parsed.words),
        tuple(tuple(phrase) for phrase in parsed.phrases),
        tuple(parsed.identifiers),
        tuple(parsed.prefixes),
        fuzzy,
    )
    wanted = _shared_context(key)
    if len(wanted.verdicts) > _VERDICTS_KEPT:
        # Searches still using the old context finish with it; later ones get a fresh one.
        _shared_context.cache_clear()
        wanted = _shared_context(key)
    return wanted


@lru_cache(maxsize=1_000)
def _shared_context(key: _ContextKey) -> _Wanted:
    words, phrases, identifiers, prefixes, fuzzy = key
    parsed = ParsedQuery(list(words), [list(p) for p in phrases], list(identifiers), list(prefixes))
    return _Wanted(parsed, fuzzy=fuzzy)


def _snippet(words: list[str], wanted: _Wanted, marked: set[int]) -> str:
    """The words around the first hit, hits marked; `marked` holds identifier word indexes."""
    if not words:
        return ""
    first = min(marked, default=len(words))
    for chunk in range(0, first, _CHUNK):
        part = words[chunk : min(first, chunk + _CHUNK)]
        verdicts = wanted.judge(part)
        hit = next((i for i, word in enumerate(part) if verdicts[word]), None)
        if hit is not None:
            first = chunk + hit
            break
    if first >= len(words):
        first = 0  # nothing to mark: the page's beginning
    start = max(0, first - SNIPPET_WORDS // 3)
    shown = words[start : start + SNIPPET_WORDS]
    verdicts = wanted.judge(shown)
    window = [
        (word, verdicts[word] or start + offset in marked) for offset, word in enumerate(shown)
    ]
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + SNIPPET_WORDS < len(words) else ""
    return prefix + _render_window(window) + suffix


_NEEDS_ESCAPE = re.compile(r"[&<>\"']")


def _render_window(window: list[tuple[str, bool]]) -> str:
    escape = html.escape if _NEEDS_ESCAPE.search(" ".join(w for w, _ in window)) else _same
    return " ".join(f"<mark>{escape(w)}</mark>" if hit else escape(w) for w, hit in window)


def _same(word: str) -> str:
    return word


def facet_buckets(name: str, buckets: list[tuple[str, int]]) -> dict[str, int]:
    """Largest first (ties by key), at most FACET_SIZES[name], without empty keys."""
    ordered = sorted(((k, n) for k, n in buckets if k and n), key=lambda kv: (-kv[1], kv[0]))
    return dict(ordered[: FACET_SIZES[name]])


def searchable(query: SearchQuery) -> ParsedQuery | None:
    """The parsed query, or None when it can match nothing (no permitted file, no terms)."""
    if not query.allowed:
        return None
    parsed = parse_query(query.text)
    if parsed.empty or not (
        parsed.identifiers or parsed.plans or parsed.phrases or parsed.prefixes
    ):
        return None
    return parsed


def wants_fuzzy(parsed: ParsedQuery, total: int) -> bool:
    """Whether to search again with OCR slips allowed: few hits and a word that may slip."""
    return total < FUZZY_BELOW and any(p.fuzziness for p in parsed.plans)


def make_hit(
    first: Callable[[str], Any],
    every: Callable[[str], list[str]],
    score: float,
    parsed: ParsedQuery,
    context: _Wanted,
) -> SearchHit:
    """The hit an adapter read back, with its best page and snippet. `first(field)` gives a
    stored field's value (None when absent), `every(field)` all values of a list field.
    Entries from before direction and status were stored read as incoming and routed."""
    document_id = first("document_id")
    if not document_id:
        raise RuntimeError("Eintrag im Suchindex ohne Feld 'document_id': Index neu aufbauen")
    receipt = first("receipt_date")
    if isinstance(receipt, str):
        receipt = datetime.fromisoformat(receipt)
    page, snippet = best_page_snippet(every("text"), parsed, context, every("notes"))
    return SearchHit(
        document_id=str(document_id),
        bg_number=first("bg_number") or None,
        doc_type=first("doc_type") or None,
        source_name=str(first("source_name") or ""),
        page=page,
        snippet=snippet,
        score=score,
        receipt_date=receipt.date() if receipt else None,
        direction=first("direction") or "in",
        status=first("status") or "routed",
    )
