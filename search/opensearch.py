"""The OpenSearch adapter: the production index, with the German analysis chain."""

from __future__ import annotations

import contextlib
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError, OpenSearchException, RequestError

from records.errors import BackendUnavailable
from search.base import (
    IndexedDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    best_page_snippet,
    parse_query,
)
from storage.base import BackendState

INDEX_SETTINGS: dict[str, Any] = {
    "settings": {
        "index": {"number_of_shards": 1, "number_of_replicas": 0},
        "analysis": {
            "filter": {"german_snowball": {"type": "snowball", "language": "German2"}},
            "analyzer": {
                # The same chain as the embedded index: lower case, accents folded, German stems.
                "german_text": {
                    "tokenizer": "standard",
                    "filter": ["lowercase", "asciifolding", "german_snowball"],
                }
            },
        },
    },
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "document_id": {"type": "keyword"},
            "bg_number": {"type": "keyword"},
            "access": {"type": "keyword"},
            "doc_type": {"type": "keyword"},
            "identifiers": {"type": "keyword"},
            "source_name": {"type": "keyword"},
            "received_at": {"type": "date"},
            "text": {"type": "text", "analyzer": "german_text"},
        },
    },
}


class OpenSearchIndex:
    name = "opensearch"

    def __init__(
        self,
        url: str,
        index: str,
        *,
        user: str | None = None,
        password: str | None = None,
        verify_certs: bool = True,
    ) -> None:
        self.index_name = index
        self.client = OpenSearch(
            hosts=[url],
            http_auth=(user, password) if user and password else None,
            verify_certs=verify_certs,
            timeout=30,
            max_retries=2,
            retry_on_timeout=True,
        )
        self._ready = False

    def ensure_index(self) -> None:
        if self._ready:
            return
        try:
            if not self.client.indices.exists(index=self.index_name):
                self.client.indices.create(index=self.index_name, body=INDEX_SETTINGS)
        except RequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        except OpenSearchException as exc:
            raise BackendUnavailable(f"OpenSearch nicht erreichbar: {exc}") from exc
        self._ready = True

    def index(self, document: IndexedDocument) -> None:
        self.ensure_index()
        body = {
            "document_id": document.document_id,
            "bg_number": document.bg_number,
            "access": document.access,
            "doc_type": document.doc_type,
            "identifiers": document.identifiers,
            "source_name": document.source_name,
            "received_at": document.received_at.isoformat(),
            "text": list(document.pages),
        }
        try:
            # The document id is the entry id, so indexing again replaces instead of duplicating;
            # an immediate refresh makes the change visible to the very next search.
            self.client.index(
                index=self.index_name, id=document.document_id, body=body, refresh=True
            )
        except OpenSearchException as exc:
            raise BackendUnavailable(f"Indexieren in OpenSearch fehlgeschlagen: {exc}") from exc

    def delete(self, document_id: str) -> None:
        self.ensure_index()
        with contextlib.suppress(NotFoundError):
            self.client.delete(index=self.index_name, id=document_id, refresh=True)

    def search(self, query: SearchQuery) -> SearchResult:
        if not query.allowed:
            return SearchResult(total=0)
        parsed = parse_query(query.text)
        if parsed.empty:
            return SearchResult(total=0)
        self.ensure_index()
        must: list[dict[str, Any]] = []
        must += [{"term": {"identifiers": identifier}} for identifier in parsed.identifiers]
        if parsed.words:
            must.append({"match": {"text": {"query": " ".join(parsed.words), "operator": "and"}}})
        must += [{"match_phrase": {"text": " ".join(phrase)}} for phrase in parsed.phrases]
        body = {
            "query": {
                "bool": {"must": must, "filter": [{"terms": {"access": sorted(query.allowed)}}]}
            },
            "from": query.offset,
            "size": query.limit,
            "track_total_hits": True,
        }
        try:
            response = self.client.search(index=self.index_name, body=body)
        except OpenSearchException as exc:
            raise BackendUnavailable(f"Suche in OpenSearch fehlgeschlagen: {exc}") from exc
        hits = []
        for raw in response["hits"]["hits"]:
            source = raw["_source"]
            page, snippet = best_page_snippet(source.get("text") or [], parsed)
            hits.append(
                SearchHit(
                    document_id=source["document_id"],
                    bg_number=source.get("bg_number"),
                    doc_type=source.get("doc_type"),
                    source_name=source.get("source_name", ""),
                    page=page,
                    snippet=snippet,
                    score=float(raw.get("_score") or 0.0),
                )
            )
        return SearchResult(total=int(response["hits"]["total"]["value"]), hits=hits)

    def ping(self) -> BackendState:
        try:
            health = self.client.cluster.health(index=self.index_name if self._ready else None)
        except Exception as exc:  # noqa: BLE001 - health reports any failure
            return BackendState("opensearch", False, f"{type(exc).__name__}: {exc}"[:300])
        status = health.get("status", "unknown")
        return BackendState("opensearch", status in ("green", "yellow"), f"Cluster {status}")

    def close(self) -> None:
        self.client.close()
