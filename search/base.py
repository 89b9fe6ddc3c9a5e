"""The SearchIndex port, and the query and snippet logic both adapters share."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Protocol

import tantivy

from records.access import CLEARING as CLEARING_ACCESS
from records.identifiers import BG_NUMBER_PATTERN, find_bg_numbers
from storage.base import BackendState


@dataclass(frozen=True)
class IndexedDocument:
    document_id: str
    source_name: str
    received_at: datetime
    pages: list[str]
    bg_number: str | None = None
    doc_type: str | None = None

    @property
    def access(self) -> str:
        return self.bg_number or CLEARING_ACCESS

    @property
    def identifiers(self) -> list[str]:
        found = find_bg_numbers("\n".join(self.pages))
        if self.bg_number and self.bg_number not in found:
            found.insert(0, self.bg_number)
        return found


@dataclass(frozen=True)
class SearchQuery:
    text: str
    # The access keys (BG numbers, or CLEARING_ACCESS) the user may see; the index filters on them.
    allowed: frozenset[str]
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class SearchHit:
    document_id: str
    bg_number: str | None
    doc_type: str | None
    source_name: str
    page: int
    snippet: str
    score: float


@dataclass
class SearchResult:
    total: int
    hits: list[SearchHit] = field(default_factory=list)


class SearchIndex(Protocol):
    name: str

    def index(self, document: IndexedDocument) -> None:
        """Add or replace the document; indexing the same document twice leaves one entry."""

    def delete(self, document_id: str) -> None: ...

    def search(self, query: SearchQuery) -> SearchResult: ...

    def ping(self) -> BackendState: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ParsedQuery:
    words: list[str]
    phrases: list[list[str]]
    identifiers: list[str]

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases or self.identifiers)


_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\S+")


def parse_query(text: str) -> ParsedQuery:
    """Split what a caseworker typed into identifiers, quoted phrases and plain words."""
    identifiers = find_bg_numbers(text)
    rest = BG_NUMBER_PATTERN.sub(" ", text)
    phrases: list[list[str]] = []
    words: list[str] = []
    for quoted in _PHRASE.findall(rest):
        phrase = _WORD.findall(quoted)
        if len(phrase) > 1:
            phrases.append(phrase)
        else:
            words.extend(phrase)
    words.extend(_WORD.findall(_PHRASE.sub(" ", rest)))
    return ParsedQuery(words=words, phrases=phrases, identifiers=identifiers)


@lru_cache(maxsize=1)
def german_analyzer() -> tantivy.TextAnalyzer:
    """Lower case, accents folded, German Snowball stems: `Müller`, `Mueller` and `Muller` meet."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(60))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("german"))
        .build()
    )


def analyze(text: str) -> list[str]:
    return german_analyzer().analyze(text)


SNIPPET_WORDS = 24


def best_page_snippet(pages: list[str], parsed: ParsedQuery) -> tuple[int, str]:
    """The page (1-based) where most query terms occur, and an HTML snippet with them marked."""
    wanted = {term for word in parsed.words for term in analyze(word)}
    wanted |= {term for phrase in parsed.phrases for word in phrase for term in analyze(word)}
    wanted_ids = set(parsed.identifiers)
    best_page, best_hits, best_words = 1, -1, list[tuple[str, bool]]()
    for number, page in enumerate(pages, start=1):
        id_spans = [
            m.span()
            for m in BG_NUMBER_PATTERN.finditer(page)
            if f"{m.group(1)}BG{m.group(2)}" in wanted_ids
        ]
        marked = []
        hits = 0
        for token in _TOKEN.finditer(page):
            start, end = token.span()
            hit = bool(wanted.intersection(analyze(token.group()))) or any(
                start < id_end and id_start < end for id_start, id_end in id_spans
            )
            hits += hit
            marked.append((token.group(), hit))
        if hits > best_hits:
            best_page, best_hits, best_words = number, hits, marked
    return best_page, _render_snippet(best_words)


def _render_snippet(words: list[tuple[str, bool]]) -> str:
    if not words:
        return ""
    first = next((i for i, (_, hit) in enumerate(words) if hit), 0)
    start = max(0, first - SNIPPET_WORDS // 3)
    window = words[start : start + SNIPPET_WORDS]
    parts = [f"<mark>{html.escape(w)}</mark>" if hit else html.escape(w) for w, hit in window]
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + SNIPPET_WORDS < len(words) else ""
    return prefix + " ".join(parts) + suffix
