"""The embedded search index (Tantivy): no server, one folder, or memory only for tests."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import tantivy

from core.health import BackendState
from search.analysis import analyze, compound_key, german_analyzer, plain_analyzer
from search.base import (
    CLEARING_ACCESS,
    COMPOUND_BOOST,
    FACET_FIELDS,
    FACET_SIZES,
    FUZZY_BOOST,
    PREFIX_EXPANSIONS,
    STORED_AS_IS,
    IndexedDocument,
    ParsedQuery,
    SearchQuery,
    SearchResult,
    TypeNames,
    WordPlan,
    facet_buckets,
    make_hit,
    no_type_names,
    prepare,
    searchable,
    snippet_context,
    wants_fuzzy,
)

log = logging.getLogger(__name__)

_WRITER_HEAP = 50_000_000
_BULK_WRITER_HEAP = 200_000_000
# Up to this many values a filter is a disjunction of single terms, beyond it a term set.
_FEW_TERMS = 16


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("document_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("access", tokenizer_name="raw")
    for keyword in ("bg_number", "doc_type", "receipt_year"):
        builder.add_text_field(keyword, stored=True, fast=True, tokenizer_name="raw")
    builder.add_text_field("direction", stored=True, tokenizer_name="raw")
    builder.add_text_field("status", stored=True, tokenizer_name="raw")
    builder.add_text_field("identifiers", tokenizer_name="raw")
    builder.add_text_field("source_name", stored=True, tokenizer_name="raw")
    builder.add_date_field("received_at", stored=True, indexed=True, fast=True)
    builder.add_date_field("receipt_date", stored=True, indexed=True, fast=True)
    builder.add_date_field("indexed_at", indexed=True, fast=True)
    builder.add_text_field("text", stored=True, tokenizer_name="de")
    builder.add_text_field("notes", stored=True, tokenizer_name="de")
    builder.add_text_field("type_name", tokenizer_name="de")
    builder.add_text_field("compound", tokenizer_name="de", index_option="freq")
    builder.add_text_field("plain", tokenizer_name="plain", index_option="freq")
    return builder.build()


def _hit_count(found: tantivy.SearchResult) -> int:
    """How many entries a search made with `count=True` matched."""
    # tantivy's stub leaves out `SearchResult.count`, which the extension has (the number of
    # matches when the search counted them, else None).
    count: int | None = found.count  # type: ignore[attr-defined]
    return count or 0


def _phrase_query(schema: tantivy.Schema, field: str, words: list[str]) -> tantivy.Query:
    """The words in this order, next to each other, in the field."""
    # phrase_query takes words or (position, word) pairs; a list of only words is a valid one.
    positioned: list[str | tuple[int, str]] = list(words)
    return tantivy.Query.phrase_query(schema, field, positioned)


def _day(value: date) -> datetime:
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


class EmbeddedSearchIndex:
    name = "embedded"

    def __init__(self, path: Path | None, *, type_names: TypeNames = no_type_names) -> None:
        """`path=None` keeps the index in memory (tests); otherwise it lives in that folder.
        `type_names` gives the German name of a document type, searched with its documents."""
        self.path = path
        self.type_names = type_names
        self.schema = _schema()
        if path is None:
            self._index = tantivy.Index(self.schema)
        else:
            self._index = self._open(path)
        self._index.register_tokenizer("de", german_analyzer())
        self._index.register_tokenizer("plain", plain_analyzer())
        self._lock = threading.Lock()
        # The content of meta.json the reader was last reloaded at (see `_reload`).
        self._loaded: bytes | None = None
        self._access: dict[frozenset[str], tantivy.Query] = {}

    def _open(self, path: Path) -> tantivy.Index:
        path.mkdir(parents=True, exist_ok=True)
        try:
            return tantivy.Index(self.schema, path=str(path))
        except ValueError as exc:
            # An index written by an older version: the index is derived data, so it starts
            # afresh and `eakte reindex` fills it again from the database.
            log.warning("Suchindex %s hat ein älteres Schema (%s); neu angelegt – bitte "
                        "`eakte reindex` ausführen.", path, exc)  # fmt: skip
            with _process_lock(path):
                for child in path.iterdir():
                    if child.name == ".eakte-writer.lock":
                        continue
                    if child.is_dir():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
            return tantivy.Index(self.schema, path=str(path))

    @contextmanager
    def _writer(self, heap: int = _WRITER_HEAP) -> Iterator[tantivy.IndexWriter]:
        # Tantivy allows one writer per index; web app and workers are separate processes, so
        # they take turns through a file lock and hold the writer only for one change.
        with self._lock, _process_lock(self.path):
            writer = self._index.writer(heap, 1)
            try:
                yield writer
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
        self._index.reload()

    def _reload(self) -> None:
        """Make every commit visible to the next search, also those of other processes.

        meta.json describes the whole state of the index (segments, deletions, opstamp), so the
        reader is reloaded only when its content changed: reading a few kilobytes is much
        cheaper than a reload. Commits of this object reload in `_writer`.
        """
        if self.path is None:
            return
        try:
            meta = (self.path / "meta.json").read_bytes()
        except FileNotFoundError:
            self._index.reload()
            return
        if meta != self._loaded:
            self._index.reload()
            self._loaded = meta

    def _entry(self, document: IndexedDocument, now: datetime) -> tantivy.Document:
        prepared = prepare(document, self.type_names)
        entry = tantivy.Document(
            **{name: getattr(document, name) for name in STORED_AS_IS},
            receipt_date=_day(document.receipt_day),
            receipt_year=prepared.year,
            indexed_at=now,
            text=prepared.pages or [""],
            plain=(prepared.pages + prepared.notes) or [""],
            type_name=prepared.type_name,
        )
        for note in prepared.notes:
            entry.add_text("notes", note)
        if document.bg_number:
            entry.add_text("bg_number", document.bg_number)
        if document.doc_type:
            entry.add_text("doc_type", document.doc_type)
        for identifier in prepared.identifiers:
            entry.add_text("identifiers", identifier)
        for compound in prepared.compounds:
            entry.add_text("compound", compound)
        return entry

    def index(self, document: IndexedDocument) -> None:
        self.index_many([document], heap=_WRITER_HEAP)

    def index_many(self, documents: list[IndexedDocument], *, heap: int = _BULK_WRITER_HEAP) -> int:
        if not documents:
            return 0
        now = datetime.now(UTC)
        entries = [(d.document_id, self._entry(d, now)) for d in documents]
        with self._writer(heap) as writer:
            for document_id, entry in entries:
                writer.delete_documents_by_term("document_id", document_id)
                writer.add_document(entry)
        return len(entries)

    def delete(self, document_id: str) -> None:
        with self._writer() as writer:
            writer.delete_documents_by_term("document_id", document_id)

    def delete_indexed_before(self, moment: datetime) -> int:
        # Tantivy indexes dates to the second: entries of `moment`'s own second are kept.
        cutoff = moment.replace(microsecond=0)
        stale = tantivy.Query.range_query(
            self.schema, "indexed_at", tantivy.FieldType.Date, None, cutoff, include_upper=False
        )
        self._index.reload()
        found = _hit_count(self._index.searcher().search(stale, limit=1, count=True))
        if found:
            with self._writer() as writer:
                writer.delete_documents_by_query(stale)
        return found

    def count(self) -> int:
        self._index.reload()
        return int(self._index.searcher().num_docs)

    def contains(self, document_id: str) -> bool:
        self._index.reload()
        query = tantivy.Query.term_query(self.schema, "document_id", document_id)
        return _hit_count(self._index.searcher().search(query, limit=1, count=True)) > 0

    # --- search ---------------------------------------------------------------------------

    def _word_query(self, plan: WordPlan, *, fuzzy: bool) -> tantivy.Query:
        schema = self.schema
        ways: list[tuple[tantivy.Occur, tantivy.Query]] = [
            (tantivy.Occur.Should, tantivy.Query.term_query(schema, "text", plan.term)),
            (tantivy.Occur.Should, tantivy.Query.term_query(schema, "notes", plan.term)),
            (tantivy.Occur.Should, tantivy.Query.term_query(schema, "type_name", plan.term)),
        ]
        if plan.parts:
            # Inside a longer compound; and the parts written apart (`Widerspruchs-Bescheid`).
            key = analyze(compound_key(plan.parts))
            if key:
                inside = tantivy.Query.term_query(schema, "compound", key[0])
                ways.append(
                    (tantivy.Occur.Should, tantivy.Query.boost_query(inside, COMPOUND_BOOST))
                )
            apart = [t for part in plan.parts for t in analyze(part)]
            if len(apart) > 1:
                phrase = _phrase_query(schema, "text", apart)
                ways.append(
                    (tantivy.Occur.Should, tantivy.Query.boost_query(phrase, COMPOUND_BOOST))
                )
        if fuzzy and plan.fuzziness and plan.plain:
            slip = tantivy.Query.fuzzy_term_query(
                schema, "plain", plan.plain, plan.fuzziness, True, False
            )
            ways.append((tantivy.Occur.Should, tantivy.Query.boost_query(slip, FUZZY_BOOST)))
        return tantivy.Query.boolean_query(ways)

    def _prefix_query(self, prefix: str) -> tantivy.Query:
        """Words of the pages and notes starting with the prefix, at most PREFIX_EXPANSIONS of
        them (the first in the term dictionary's order, as OpenSearch's `max_expansions`)."""
        words = self._expansions(prefix)
        if not words:
            return tantivy.Query.empty_query()
        each = [tantivy.Query.term_query(self.schema, "plain", word) for word in words]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in each])

    def _expansions(self, prefix: str) -> list[str]:
        found = self._index.searcher().terms_with_prefix("plain", prefix, limit=PREFIX_EXPANSIONS)
        return [term for term, _ in found]

    def _filters(self, query: SearchQuery) -> list[tantivy.Query]:
        schema = self.schema
        filters = [self._access_filter(query.allowed)]
        if query.doc_types:
            types = sorted(query.doc_types)
            filters.append(self._any_of("doc_type", types))
        if query.direction:
            filters.append(tantivy.Query.term_query(schema, "direction", query.direction))
        if query.statuses:
            statuses = sorted(query.statuses)
            filters.append(self._any_of("status", statuses))
        if query.receipt_from or query.receipt_to:
            filters.append(
                tantivy.Query.range_query(
                    schema,
                    "receipt_date",
                    tantivy.FieldType.Date,
                    _day(query.receipt_from) if query.receipt_from else None,
                    _day(query.receipt_to) if query.receipt_to else None,
                )
            )
        return filters

    def _any_of(self, field: str, values: Iterable[str]) -> tantivy.Query:
        """Documents with one of the values in a keyword field."""
        keys = sorted(values)
        if len(keys) > _FEW_TERMS:
            return tantivy.Query.term_set_query(self.schema, field, keys)
        # A term set scans the field's whole term dictionary (about 1 ms for the 10,000
        # households of the benchmark); a few single terms are looked up directly.
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, field, k)) for k in keys]
        )

    def _access_filter(self, allowed: frozenset[str]) -> tantivy.Query:
        """The permission filter, kept for the last permission sets asked."""
        if len(allowed) <= _FEW_TERMS:
            return self._any_of("access", allowed)
        cached = self._access.get(allowed)
        if cached is None:
            cached = self._any_of("access", allowed)
            if len(self._access) >= 256:
                self._access.clear()
            self._access[allowed] = cached
        return cached

    def _query(self, query: SearchQuery, parsed: ParsedQuery, *, fuzzy: bool) -> tantivy.Query:
        schema = self.schema
        must: list[tantivy.Query] = []
        for identifier in parsed.identifiers:
            must.append(tantivy.Query.term_query(schema, "identifiers", identifier))
        for plan in parsed.plans:
            must.append(self._word_query(plan, fuzzy=fuzzy))
        for phrase in parsed.phrases:
            terms = [t for word in phrase for t in analyze(word)]
            if not terms:
                continue
            either = [
                (
                    tantivy.Occur.Should,
                    _phrase_query(schema, field, terms)
                    if len(terms) > 1
                    else tantivy.Query.term_query(schema, field, terms[0]),
                )
                for field in ("text", "notes", "type_name")
            ]
            must.append(tantivy.Query.boolean_query(either))
        for prefix in parsed.prefixes:
            must.append(self._prefix_query(prefix))
        # The filters take part in the query itself (not applied to its results), without score.
        clauses = [(tantivy.Occur.Must, q) for q in must]
        clauses += [
            (tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0))
            for f in self._filters(query)
        ]
        return tantivy.Query.boolean_query(clauses)

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = searchable(query)
        return SearchResult(total=0) if parsed is None else self._search(query, parsed)

    def _search(self, query: SearchQuery, parsed: ParsedQuery) -> SearchResult:
        self._reload()
        searcher = self._index.searcher()
        combined = self._query(query, parsed, fuzzy=False)
        facets: dict[str, dict[str, int]] = {}
        if query.facets:
            # Facets first: their aggregation (which runs without the GIL) also says how many
            # documents match and in which of the permitted files they are. The hits are then
            # looked for within those files only - usually a few of the 50-500 a caseworker may
            # see, so the permission filter of the second pass is a handful of terms instead of
            # a term set over the whole access dictionary. Same documents, same scores (the
            # filter does not score), same total.
            facets, total, files = self._facets(searcher, combined, query)
            fuzzy = wants_fuzzy(parsed, total)
            if fuzzy:
                combined = self._query(query, parsed, fuzzy=True)
                facets, total, files = self._facets(searcher, combined, query)
            if not total:
                return SearchResult(total=0)
            combined = self._query(replace(query, allowed=files), parsed, fuzzy=fuzzy)
            found = searcher.search(combined, limit=query.limit, offset=query.offset, count=True)
        else:
            found = searcher.search(combined, limit=query.limit, offset=query.offset, count=True)
            fuzzy = wants_fuzzy(parsed, _hit_count(found))
            if fuzzy:
                combined = self._query(query, parsed, fuzzy=True)
                found = searcher.search(
                    combined, limit=query.limit, offset=query.offset, count=True
                )
        hits = []
        context = snippet_context(parsed, fuzzy=fuzzy)
        for score, address in found.hits:
            stored = searcher.doc(address)
            hits.append(make_hit(stored.get_first, stored.get_all, float(score), parsed, context))
        total = _hit_count(found)
        return SearchResult(total=total, hits=hits, facets=facets if total else {})

    def _facets(
        self, searcher: tantivy.Searcher, combined: tantivy.Query, query: SearchQuery
    ) -> tuple[dict[str, dict[str, int]], int, frozenset[str]]:
        """Facet counts, number of matching documents, and the access keys among them."""
        # Terms aggregations over the fast fields, run on the very query of the hits (so within
        # the access filter); sizes cover every value that can occur, so counts are exact and
        # every household with a match has its bucket.
        sizes = {
            "doc_type": 1000,
            "year": 1000,
            "household": max(len(query.allowed), FACET_SIZES["household"]),
        }
        spec = {
            name: {"terms": {"field": FACET_FIELDS[name], "size": size, "segment_size": size}}
            for name, size in sizes.items()
        }
        result = searcher.aggregate(combined, spec)
        buckets = {
            name: [(b["key"], int(b["doc_count"])) for b in result[name]["buckets"]]
            for name in sizes
        }
        # Every document has one year of receipt; a document's access key is its household,
        # or the clearing key for documents without one.
        total = sum(n for _, n in buckets["year"])
        files = {key for key, _ in buckets["household"]} & query.allowed
        files |= {CLEARING_ACCESS} & query.allowed
        counted = {name: facet_buckets(name, values) for name, values in buckets.items()}
        return counted, total, frozenset(files)

    def ping(self) -> BackendState:
        try:
            docs = self.count()
        except Exception as exc:  # noqa: BLE001 - health reports any failure
            return BackendState("embedded", False, f"{type(exc).__name__}: {exc}"[:300])
        where = str(self.path) if self.path else "Arbeitsspeicher"
        return BackendState("embedded", True, f"{docs} Dokumente, {where}")

    def close(self) -> None:
        pass


@contextmanager
def _process_lock(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    fd = os.open(path / ".eakte-writer.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
