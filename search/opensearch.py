"""The OpenSearch adapter: the production index, with the German analysis chain."""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import (
    NotFoundError,
    OpenSearchException,
    RequestError,
    TransportError,
)

from core.errors import BackendUnavailable, ConfigurationError
from core.health import BackendState, NodeState
from search.analysis import compound_key
from search.base import (
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

# A search that finds no started shard is tried again after these pauses (1.5 s in all): a
# shard is briefly not searchable right after its index was created by another process (seen
# with several web processes starting together: "all shards failed" although the cluster's
# health already said green) and while a node of a cluster restarts.
_SHARD_RETRY_PAUSES = (0.1, 0.2, 0.4, 0.8)


def _shards_not_ready(exc: OpenSearchException) -> bool:
    return isinstance(exc, TransportError) and exc.status_code == 503


# Raised whenever the mapping or the analysis changes; an index with another version is rebuilt
# empty (it is derived data) and `eakte reindex` fills it again.
SCHEMA_VERSION = 5

# The same chains as the embedded index (search/analysis.py): split at everything that is not a
# letter or digit (Tantivy's simple tokenizer), lower case, accents folded, and for `text` the
# Snowball German2 stems (Tantivy's "german" stemmer gives the same terms, `mueller` -> `mull`).
_SPLIT = {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}
INDEX_SETTINGS: dict[str, Any] = {
    "settings": {
        "index": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"},
        "analysis": {
            "tokenizer": {"letters_digits": _SPLIT},
            "filter": {
                "german_snowball": {"type": "snowball", "language": "German2"},
                "not_too_long": {"type": "length", "max": 59},
            },
            "analyzer": {
                "german_text": {
                    "tokenizer": "letters_digits",
                    "filter": ["not_too_long", "lowercase", "asciifolding", "german_snowball"],
                },
                "plain_text": {
                    "tokenizer": "letters_digits",
                    "filter": ["not_too_long", "lowercase", "asciifolding"],
                },
            },
        },
    },
    "mappings": {
        "dynamic": "strict",
        "_meta": {"schema_version": SCHEMA_VERSION},
        "_source": {"excludes": ["compound"]},
        "properties": {
            "document_id": {"type": "keyword"},
            "bg_number": {"type": "keyword"},
            "access": {"type": "keyword"},
            "doc_type": {"type": "keyword"},
            "direction": {"type": "keyword"},
            "status": {"type": "keyword"},
            "identifiers": {"type": "keyword"},
            "source_name": {"type": "keyword", "index": False},
            "received_at": {"type": "date"},
            "receipt_date": {"type": "date", "format": "strict_date"},
            "receipt_year": {"type": "keyword"},
            "indexed_at": {"type": "date"},
            "text": {
                "type": "text",
                "analyzer": "german_text",
                # Pages are separate values: a phrase never runs from one page into the next.
                "fields": {
                    "plain": {"type": "text", "analyzer": "plain_text", "index_options": "freqs"}
                },
            },
            "notes": {
                "type": "text",
                "analyzer": "german_text",
                "fields": {
                    "plain": {"type": "text", "analyzer": "plain_text", "index_options": "freqs"}
                },
            },
            "compound": {"type": "text", "analyzer": "german_text", "index_options": "freqs"},
            "type_name": {"type": "text", "analyzer": "german_text"},
        },
    },
}


def entry_source(
    document: IndexedDocument, now: datetime, type_names: TypeNames = no_type_names
) -> dict[str, Any]:
    """The stored entry of a document (`_source`), computed by the shared analysis."""
    prepared = prepare(document, type_names)
    source: dict[str, Any] = {name: getattr(document, name) for name in STORED_AS_IS}
    return source | {
        "bg_number": document.bg_number,
        "doc_type": document.doc_type,
        "identifiers": prepared.identifiers,
        "received_at": document.received_at.isoformat(),
        "receipt_date": document.receipt_day.isoformat(),
        "receipt_year": prepared.year,
        "indexed_at": now.isoformat(),
        "text": prepared.pages,
        "notes": prepared.notes,
        "compound": prepared.compounds,
        "type_name": prepared.type_name,
    }


def index_settings(replicas: int) -> dict[str, Any]:
    """INDEX_SETTINGS with `replicas` copies of the shard besides the primary."""
    body = copy.deepcopy(INDEX_SETTINGS)
    body["settings"]["index"]["number_of_replicas"] = replicas
    return body


def cluster_hosts(url: str | Sequence[str]) -> list[str]:
    """The node URLs of a comma-separated setting (or a list), each once, in the given order."""
    parts = url.split(",") if isinstance(url, str) else list(url)
    hosts = list(dict.fromkeys(part.strip().rstrip("/") for part in parts if part.strip()))
    if not hosts:
        raise ConfigurationError("EAKTE_OPENSEARCH_URL nennt keinen Server")
    return hosts


def _values(source: dict[str, Any], name: str) -> list[str]:
    return list(source.get(name) or [])


class OpenSearchIndex:
    name = "opensearch"

    def __init__(
        self,
        url: str | Sequence[str],
        index: str,
        *,
        user: str | None = None,
        password: str | None = None,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        type_names: TypeNames = no_type_names,
        replicas: int = 0,
    ) -> None:
        self.index_name = index
        self.type_names = type_names
        self.replicas = replicas
        self.hosts = cluster_hosts(url)
        # Every node of a cluster: a request that finds one dead (refused, timed out, 502-504)
        # is sent to the next; the dead one is left alone for a while, then tried again.
        self.client = OpenSearch(
            hosts=self.hosts,
            http_auth=(user, password) if user and password else None,
            verify_certs=verify_certs,
            ca_certs=ca_certs,
            timeout=30,
            max_retries=max(2, len(self.hosts)),
            retry_on_timeout=True,
        )
        self._ready = False

    def ensure_index(self) -> None:
        if self._ready:
            return
        try:
            if self.client.indices.exists(index=self.index_name):
                mapping = self.client.indices.get_mapping(index=self.index_name)
                meta = next(iter(mapping.values()))["mappings"].get("_meta") or {}
                if meta.get("schema_version") != SCHEMA_VERSION:
                    log.warning(
                        "OpenSearch-Index %s hat ein älteres Schema; neu angelegt – bitte "
                        "`eakte reindex` ausführen.",
                        self.index_name,
                    )
                    self.client.indices.delete(index=self.index_name)
            if not self.client.indices.exists(index=self.index_name):
                self.client.indices.create(
                    index=self.index_name, body=index_settings(self.replicas)
                )
            else:
                self._keep_replicas()
        except RequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        except OpenSearchException as exc:
            raise BackendUnavailable(f"OpenSearch nicht erreichbar: {exc}") from exc
        self._wait_for_shards()
        self._ready = True

    def _wait_for_shards(self) -> None:
        """Until the index's primary shard is started: a process that finds the index just
        created by another one (several web processes and workers start together) would
        otherwise search it too early and get "all shards failed" (seen in bench/load.py)."""
        try:
            # `timeout` is OpenSearch's wait; the client's own keyword would be the socket's.
            health = self.client.cluster.health(
                index=self.index_name,
                wait_for_status="yellow",
                params={"timeout": "30s"},
                request_timeout=35,
            )
        except OpenSearchException as exc:
            raise BackendUnavailable(f"OpenSearch nicht erreichbar: {exc}") from exc
        if health.get("timed_out"):
            raise BackendUnavailable(f"OpenSearch-Index {self.index_name} ist nicht bereit.")

    def _keep_replicas(self) -> None:
        """An index made before EAKTE_OPENSEARCH_REPLICAS changed gets the configured number
        (a dynamic setting: the cluster copies or drops shards in the background)."""
        current = self.client.indices.get_settings(
            index=self.index_name, name="index.number_of_replicas"
        )
        found = next(iter(current.values()))["settings"]["index"]["number_of_replicas"]
        if int(found) != self.replicas:
            self.client.indices.put_settings(
                index=self.index_name, body={"index": {"number_of_replicas": self.replicas}}
            )

    def _body(self, document: IndexedDocument, now: datetime) -> dict[str, Any]:
        return entry_source(document, now, self.type_names)

    def index(self, document: IndexedDocument) -> None:
        self.ensure_index()
        body = self._body(document, datetime.now(UTC))
        try:
            # The document id is the entry id, so indexing again replaces instead of duplicating;
            # an immediate refresh makes the change visible to the very next search.
            self.client.index(
                index=self.index_name, id=document.document_id, body=body, refresh=True
            )
        except OpenSearchException as exc:
            raise BackendUnavailable(f"Indexieren in OpenSearch fehlgeschlagen: {exc}") from exc

    def index_many(self, documents: list[IndexedDocument], *, refresh: bool = True) -> int:
        if not documents:
            return 0
        self.ensure_index()
        now = datetime.now(UTC)
        actions = [
            {"_index": self.index_name, "_id": d.document_id, "_source": self._body(d, now)}
            for d in documents
        ]
        try:
            done, errors = helpers.bulk(
                self.client, actions, refresh=refresh, raise_on_error=False, chunk_size=500
            )
        except OpenSearchException as exc:
            raise BackendUnavailable(f"Indexieren in OpenSearch fehlgeschlagen: {exc}") from exc
        if errors:
            raise BackendUnavailable(
                f"Indexieren in OpenSearch fehlgeschlagen: {len(errors)} Fehler, z. B. {errors[0]}"
            )
        return int(done)

    def delete(self, document_id: str) -> None:
        self.ensure_index()
        with contextlib.suppress(NotFoundError):
            self.client.delete(index=self.index_name, id=document_id, refresh=True)

    def delete_indexed_before(self, moment: datetime) -> int:
        self.ensure_index()
        # To the second, as the embedded index: entries of `moment`'s own second are kept.
        # Scroll and bulk delete rather than _delete_by_query, which needs the reindex module.
        cutoff = moment.replace(microsecond=0).isoformat()
        stale = {"query": {"range": {"indexed_at": {"lt": cutoff}}}, "_source": False}
        try:
            self.client.indices.refresh(index=self.index_name)
            actions = (
                {"_op_type": "delete", "_index": self.index_name, "_id": hit["_id"]}
                for hit in helpers.scan(self.client, query=stale, index=self.index_name, size=1000)
            )
            done, errors = helpers.bulk(
                self.client, actions, refresh=True, raise_on_error=False, chunk_size=1000
            )
        except OpenSearchException as exc:
            raise BackendUnavailable(f"Löschen in OpenSearch fehlgeschlagen: {exc}") from exc
        missing = [e for e in errors if next(iter(e.values())).get("status") != 404]
        if missing:
            raise BackendUnavailable(f"Löschen in OpenSearch fehlgeschlagen: {missing[0]}")
        return int(done)

    def count(self) -> int:
        self.ensure_index()
        self.client.indices.refresh(index=self.index_name)
        return int(self.client.count(index=self.index_name)["count"])

    def contains(self, document_id: str) -> bool:
        self.ensure_index()
        return bool(self.client.exists(index=self.index_name, id=document_id))

    # --- search ---------------------------------------------------------------------------

    @staticmethod
    def _word_query(plan: WordPlan, *, fuzzy: bool) -> dict[str, Any]:
        ways: list[dict[str, Any]] = [
            {"match": {"text": {"query": plan.word}}},
            {"match": {"notes": {"query": plan.word}}},
            {"match": {"type_name": {"query": plan.word}}},
        ]
        if plan.parts:
            # Inside a longer compound; and the parts written apart (`Widerspruchs-Bescheid`).
            inside = {"query": compound_key(plan.parts), "boost": COMPOUND_BOOST}
            ways.append({"match": {"compound": inside}})
            if len(plan.parts) > 1:
                apart = {"query": " ".join(plan.parts), "boost": COMPOUND_BOOST}
                ways.append({"match_phrase": {"text": apart}})
        if fuzzy and plan.fuzziness:
            slip = {
                "query": plan.word,
                "fuzziness": plan.fuzziness,
                "prefix_length": 0,
                "max_expansions": 1000,
                "fuzzy_transpositions": True,
                "boost": FUZZY_BOOST,
            }
            ways.append({"match": {"text.plain": slip}})
            ways.append({"match": {"notes.plain": slip}})
        return {"bool": {"should": ways, "minimum_should_match": 1}}

    @staticmethod
    def _filters(query: SearchQuery) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = [{"terms": {"access": sorted(query.allowed)}}]
        if query.doc_types:
            filters.append({"terms": {"doc_type": sorted(query.doc_types)}})
        if query.direction:
            filters.append({"term": {"direction": query.direction}})
        if query.statuses:
            filters.append({"terms": {"status": sorted(query.statuses)}})
        if query.receipt_from or query.receipt_to:
            bounds: dict[str, str] = {}
            if query.receipt_from:
                bounds["gte"] = query.receipt_from.isoformat()
            if query.receipt_to:
                bounds["lte"] = query.receipt_to.isoformat()
            filters.append({"range": {"receipt_date": bounds}})
        return filters

    def _query(self, query: SearchQuery, parsed: ParsedQuery, *, fuzzy: bool) -> dict[str, Any]:
        must: list[dict[str, Any]] = []
        must += [{"term": {"identifiers": identifier}} for identifier in parsed.identifiers]
        must += [self._word_query(plan, fuzzy=fuzzy) for plan in parsed.plans]
        must += [
            {
                "bool": {
                    "should": [
                        {"match_phrase": {field: " ".join(phrase)}}
                        for field in ("text", "notes", "type_name")
                    ],
                    "minimum_should_match": 1,
                }
            }
            for phrase in parsed.phrases
        ]
        # Words starting with a prefix, at most PREFIX_EXPANSIONS of them per field.
        capped = {"rewrite": f"top_terms_{PREFIX_EXPANSIONS}"}
        must += [
            {
                "bool": {
                    "should": [
                        {"prefix": {field: {"value": prefix} | capped}}
                        for field in ("text.plain", "notes.plain")
                    ],
                    "minimum_should_match": 1,
                }
            }
            for prefix in parsed.prefixes
        ]
        # The access filter is part of the query: hits, total and facets never see other files.
        return {"bool": {"must": must, "filter": self._filters(query)}}

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = searchable(query)
        if parsed is None:
            return SearchResult(total=0)
        self.ensure_index()
        response = self._search(query, parsed, fuzzy=False)
        total = int(response["hits"]["total"]["value"])
        fuzzy = wants_fuzzy(parsed, total)
        if fuzzy:
            response = self._search(query, parsed, fuzzy=True)
            total = int(response["hits"]["total"]["value"])
        hits = []
        context = snippet_context(parsed, fuzzy=fuzzy)
        for raw in response["hits"]["hits"]:
            source: dict[str, Any] = raw["_source"]
            score = float(raw.get("_score") or 0.0)
            hits.append(make_hit(source.get, partial(_values, source), score, parsed, context))
        facets: dict[str, dict[str, int]] = {}
        if query.facets and total:
            aggregations = response.get("aggregations") or {}
            facets = {
                name: facet_buckets(
                    name,
                    [(b["key"], int(b["doc_count"])) for b in aggregations[name]["buckets"]],
                )
                for name in FACET_FIELDS
            }
        return SearchResult(total=total, hits=hits, facets=facets)

    def _search(self, query: SearchQuery, parsed: ParsedQuery, *, fuzzy: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "query": self._query(query, parsed, fuzzy=fuzzy),
            "from": query.offset,
            "size": query.limit,
            "track_total_hits": True,
            # The whole stored source (without `compound`, left out of it by the mapping): a
            # list of fields to return would make OpenSearch parse and rebuild each hit's source
            # (measured: 2-4 ms of a query).
            "_source": True,
        }
        if query.facets:
            body["aggs"] = {
                name: {"terms": {"field": field, "size": FACET_SIZES[name]}}
                for name, field in FACET_FIELDS.items()
            }
        for pause in (*_SHARD_RETRY_PAUSES, None):
            try:
                return self.client.search(index=self.index_name, body=body)
            except OpenSearchException as exc:
                if pause is None or not _shards_not_ready(exc):
                    raise BackendUnavailable(f"Suche in OpenSearch fehlgeschlagen: {exc}") from exc
                time.sleep(pause)
        raise AssertionError("unreachable")  # the last pass returns or raises

    def ping(self) -> BackendState:
        try:
            health = self.client.cluster.health(index=self.index_name if self._ready else None)
        except Exception as exc:  # noqa: BLE001 - health reports any failure
            return BackendState("opensearch", False, f"{type(exc).__name__}: {exc}"[:300])
        status = health.get("status", "unknown")
        detail = f"Cluster {status}"
        if len(self.hosts) > 1:
            # A cluster: how many nodes are in it (a lost one shows before the index turns red).
            detail += f", {health.get('number_of_nodes', '?')} Knoten"
        return BackendState(
            "opensearch", status in ("green", "yellow"), detail, nodes=self._nodes()
        )

    def _nodes(self) -> tuple[NodeState, ...]:
        """Every configured host: the node answering there (name, roles, heap) or "fehlt"."""
        try:
            rows = self.client.cat.nodes(
                format="json", h="name,http_address,node.role,cluster_manager,heap.percent"
            )
        except Exception:  # noqa: BLE001 - health reports what it can
            rows = []
        by_address = {str(row.get("http_address", "")): row for row in rows}
        nodes = []
        for host in self.hosts:
            address = urlsplit(host).netloc.rsplit("@", 1)[-1]
            row = by_address.get(address)
            if row is None:
                nodes.append(NodeState(address, False, "nicht im Cluster oder nicht erreichbar"))
                continue
            manager = ", Cluster-Manager" if row.get("cluster_manager") == "*" else ""
            detail = f"Knoten {row.get('name')}{manager}, Heap {row.get('heap.percent')} %"
            nodes.append(NodeState(address, True, detail))
        return tuple(nodes)

    def close(self) -> None:
        self.client.close()
