"""What a process of the product needs at hand: settings, database, blob store, search index.

Built once per process (web app, worker, command) by app.runtime.build_runtime; nothing
connects at import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from records.runtime_settings import OverrideCache
from search import SearchIndex
from storage import BackendState, BlobStore

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    # The settings from the environment; `settings` adds what the administration changed at
    # run time (records.runtime_settings), so readers follow a change without a restart.
    configured: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    index: SearchIndex
    overrides: OverrideCache = field(default_factory=OverrideCache)

    @property
    def settings(self) -> Settings:
        return self.overrides.effective(self.sessions, self.configured)

    @settings.setter
    def settings(self, value: Settings) -> None:
        self.configured = value
        self.overrides.forget()

    def database_state(self) -> BackendState:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - health reports any failure
            return BackendState(self.engine.dialect.name, False, f"{type(exc).__name__}"[:300])
        version = ".".join(str(part) for part in self.engine.dialect.server_version_info or ())
        return BackendState(self.engine.dialect.name, True, f"Version {version}" if version else "")

    def close(self) -> None:
        self.index.close()
        self.overrides.close()
        self.engine.dispose()
