"""The embedded search index (Tantivy): no server, one folder, or memory only for tests."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tantivy

from search.base import (
    IndexedDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    analyze,
    best_page_snippet,
    german_analyzer,
    parse_query,
)
from storage.base import BackendState

_WRITER_HEAP = 50_000_000


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for keyword in ("document_id", "bg_number", "access", "doc_type", "identifiers", "source_name"):
        builder.add_text_field(keyword, stored=True, tokenizer_name="raw")
    builder.add_date_field("received_at", stored=True, indexed=True, fast=True)
    builder.add_text_field("text", stored=True, tokenizer_name="de")
    return builder.build()


class EmbeddedSearchIndex:
    name = "embedded"

    def __init__(self, path: Path | None) -> None:
        """`path=None` keeps the index in memory (tests); otherwise it lives in that folder."""
        self.path = path
        self.schema = _schema()
        if path is None:
            self._index = tantivy.Index(self.schema)
        else:
            path.mkdir(parents=True, exist_ok=True)
            self._index = tantivy.Index(self.schema, path=str(path))
        self._index.register_tokenizer("de", german_analyzer())
        self._lock = threading.Lock()

    @contextmanager
    def _writer(self) -> Iterator[tantivy.IndexWriter]:
        # Tantivy allows one writer per index; web app and workers are separate processes, so
        # they take turns through a file lock and hold the writer only for one change.
        with self._lock, _process_lock(self.path):
            writer = self._index.writer(_WRITER_HEAP, 1)
            try:
                yield writer
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()

    def index(self, document: IndexedDocument) -> None:
        entry = tantivy.Document(
            document_id=document.document_id,
            bg_number=document.bg_number or "",
            access=document.access,
            doc_type=document.doc_type or "",
            source_name=document.source_name,
            received_at=document.received_at,
            text=list(document.pages) or [""],
        )
        for identifier in document.identifiers:
            entry.add_text("identifiers", identifier)
        with self._writer() as writer:
            writer.delete_documents_by_term("document_id", document.document_id)
            writer.add_document(entry)

    def delete(self, document_id: str) -> None:
        with self._writer() as writer:
            writer.delete_documents_by_term("document_id", document_id)

    def search(self, query: SearchQuery) -> SearchResult:
        if not query.allowed:
            return SearchResult(total=0)
        parsed = parse_query(query.text)
        if parsed.empty:
            return SearchResult(total=0)
        must: list[tantivy.Query] = [
            tantivy.Query.term_set_query(self.schema, "access", sorted(query.allowed))
        ]
        for identifier in parsed.identifiers:
            must.append(tantivy.Query.term_query(self.schema, "identifiers", identifier))
        for word in parsed.words:
            terms = analyze(word)
            if terms:
                must.append(
                    tantivy.Query.boolean_query(
                        [
                            (tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "text", t))
                            for t in terms
                        ]
                    )
                )
        for phrase in parsed.phrases:
            terms = [t for word in phrase for t in analyze(word)]
            if len(terms) > 1:
                must.append(tantivy.Query.phrase_query(self.schema, "text", terms))
            elif terms:
                must.append(tantivy.Query.term_query(self.schema, "text", terms[0]))
        combined = tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in must])
        self._index.reload()
        searcher = self._index.searcher()
        found = searcher.search(combined, limit=query.limit, offset=query.offset, count=True)
        hits = []
        for score, address in found.hits:
            stored = searcher.doc(address)
            page, snippet = best_page_snippet(stored.get_all("text"), parsed)
            hits.append(
                SearchHit(
                    document_id=stored.get_first("document_id"),
                    bg_number=stored.get_first("bg_number") or None,
                    doc_type=stored.get_first("doc_type") or None,
                    source_name=stored.get_first("source_name"),
                    page=page,
                    snippet=snippet,
                    score=float(score),
                )
            )
        return SearchResult(total=int(found.count or 0), hits=hits)

    def ping(self) -> BackendState:
        try:
            self._index.reload()
            docs = self._index.searcher().num_docs
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
