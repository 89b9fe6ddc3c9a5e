"""What a health check reports about one backend (database, blob store, search index)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeState:
    """One node of a backend (an OpenSearch node, a MinIO endpoint, a PostgreSQL host)."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class BackendState:
    backend: str
    ok: bool
    detail: str = ""
    # issue 20: every node the product is configured with (a cluster shows which is gone).
    nodes: tuple[NodeState, ...] = ()
