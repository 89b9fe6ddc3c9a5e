"""What a process of the product needs at hand: settings, database, blob store, search index.

Built once per process (web app, worker, command) by app.runtime.build_runtime; nothing
connects at import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import URL, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from core.config import Settings
from core.health import NodeState
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
        return BackendState(
            self.engine.dialect.name,
            True,
            f"Version {version}" if version else "",
            nodes=database_hosts(self.engine.url),
        )

    def close(self) -> None:
        self.index.close()
        self.overrides.close()
        self.engine.dispose()


def database_hosts(url: URL) -> tuple[NodeState, ...]:
    """A PostgreSQL host list (`?host=a:p&host=b:p`, issue 20): each host asked once, briefly,
    whether it answers and whether it is the primary (writes) or a standby. One host, or
    SQLite: nothing to list beyond the backend itself."""
    hosts = url.query.get("host")
    if url.get_backend_name() != "postgresql" or not isinstance(hosts, tuple) or len(hosts) < 2:
        return ()
    nodes = []
    for entry in hosts:
        name, _, port = entry.partition(":")
        single = url.difference_update_query(["host", "target_session_attrs"]).set(
            host=name, port=int(port) if port else None
        )
        engine = create_engine(single, poolclass=NullPool, connect_args={"connect_timeout": 2})
        try:
            with engine.connect() as connection:
                standby = connection.execute(text("SELECT pg_is_in_recovery()")).scalar()
        except Exception as exc:  # noqa: BLE001 - health reports any failure
            nodes.append(NodeState(entry, False, f"nicht erreichbar ({type(exc).__name__})"))
            continue
        finally:
            engine.dispose()
        nodes.append(
            NodeState(entry, True, "Standby (liest mit)" if standby else "Primär (schreibt)")
        )
    return tuple(nodes)
