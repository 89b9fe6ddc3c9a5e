"""Full-text search over the documents: the SearchIndex port and its adapters."""

from __future__ import annotations

from core.config import Settings
from search.base import (
    CLEARING_ACCESS,
    IndexedDocument,
    SearchHit,
    SearchIndex,
    SearchQuery,
    SearchResult,
)


def open_search_index(settings: Settings) -> SearchIndex:
    if settings.search_index == "embedded":
        from search.embedded import EmbeddedSearchIndex

        return EmbeddedSearchIndex(settings.index_dir)
    from search.opensearch import OpenSearchIndex

    password = settings.opensearch_password
    return OpenSearchIndex(
        settings.opensearch_url,
        settings.opensearch_index,
        user=settings.opensearch_user,
        password=password.get_secret_value() if password else None,
        verify_certs=settings.opensearch_verify_certs,
        ca_certs=str(settings.opensearch_ca_certs) if settings.opensearch_ca_certs else None,
    )


__all__ = [
    "CLEARING_ACCESS",
    "IndexedDocument",
    "SearchHit",
    "SearchIndex",
    "SearchQuery",
    "SearchResult",
    "open_search_index",
]
