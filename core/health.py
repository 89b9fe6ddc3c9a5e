"""What a health check reports about one backend (database, blob store, search index)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackendState:
    backend: str
    ok: bool
    detail: str = ""
