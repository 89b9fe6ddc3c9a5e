"""What a process of the product needs at hand: settings, database, blob store, search index.

Built once per process (web app, worker, command) from the settings; nothing connects at import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from records.config import Settings
from records.db import make_engine, make_session_factory
from records.db_roles import migrate_database
from search import SearchIndex, open_search_index
from storage import BackendState, BlobStore, make_data_dir_private, open_blob_store

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    index: SearchIndex

    def database_state(self) -> BackendState:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - health reports any failure
            return BackendState(self.engine.dialect.name, False, f"{type(exc).__name__}"[:300])
        return BackendState(self.engine.dialect.name, True)

    def close(self) -> None:
        self.index.close()
        self.engine.dispose()


def build_runtime(settings: Settings, *, migrate_schema: bool = True) -> Runtime:
    make_data_dir_private(settings)
    engine = make_engine(
        settings.resolved_database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    if migrate_schema:
        migrate_database(settings, engine)
    blobs = open_blob_store(settings)
    index = open_search_index(settings)
    return Runtime(settings, engine, make_session_factory(engine), blobs, index)
