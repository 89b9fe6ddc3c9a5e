"""Full-text search over the documents: the SearchIndex port and its adapters."""

from __future__ import annotations

from core.config import Settings
from search.base import (
    CLEARING_ACCESS,
    FILE_NOTE_KIND,
    IndexedDocument,
    SearchHit,
    SearchIndex,
    SearchQuery,
    SearchResult,
    TypeNames,
    file_note_key,
    no_type_names,
)


def open_search_index(settings: Settings, type_names: TypeNames = no_type_names) -> SearchIndex:
    """The configured index; `type_names` gives a document type's German name by its code."""
    if settings.search_index == "embedded":
        from search.embedded import EmbeddedSearchIndex

        return EmbeddedSearchIndex(settings.index_dir, type_names=type_names)
    from search.opensearch import OpenSearchIndex

    password = settings.opensearch_password
    return OpenSearchIndex(
        settings.opensearch_urls,
        settings.opensearch_index,
        user=settings.opensearch_user,
        password=password.get_secret_value() if password else None,
        verify_certs=settings.opensearch_verify_certs,
        ca_certs=str(settings.opensearch_ca_certs) if settings.opensearch_ca_certs else None,
        type_names=type_names,
        replicas=settings.opensearch_replicas,
    )


__all__ = [
    "CLEARING_ACCESS",
    "FILE_NOTE_KIND",
    "IndexedDocument",
    "SearchHit",
    "SearchIndex",
    "SearchQuery",
    "SearchResult",
    "TypeNames",
    "file_note_key",
    "open_search_index",
]
