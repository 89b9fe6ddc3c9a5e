"""The composition root's wiring: the runtime of one process, built from the settings.

The settings choose the adapters (SQLite or PostgreSQL, local folder or S3, embedded index or
OpenSearch); this is the one place that puts them together.
"""

from __future__ import annotations

from functools import partial

from core.config import Settings
from core.db import make_engine, make_session_factory
from ingest.catalogue import Source
from ingest.filing import catalogue_for
from records.db_roles import migrate_database
from records.runtime import Runtime
from records.runtime_settings import OverrideCache
from search import open_search_index
from storage import make_data_dir_private, open_blob_store


def build_runtime(settings: Settings, *, migrate_schema: bool = True) -> Runtime:
    make_data_dir_private(settings)
    engine = make_engine(
        settings.resolved_database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    if migrate_schema:
        migrate_database(settings, engine)
    blobs = open_blob_store(settings)
    sessions = make_session_factory(engine)
    index = open_search_index(settings, type_names=partial(type_name, settings, sessions))
    overrides = OverrideCache(settings.resolved_database_url)
    return Runtime(settings, engine, sessions, blobs, index, overrides)


def type_name(settings: Settings, sessions: Source, code: str) -> str | None:
    """The German name of a document type in the catalogue in force (searched with its
    documents), read again when the administration saved a new version."""
    catalogue = catalogue_for(settings, sessions)
    return next((rule.name for rule in catalogue.types if rule.code == code), None)
