"""`eakte handover import`: taking over another authority's 0401 (issue 18)."""

from __future__ import annotations

from app.handover_cli import handover_app  # noqa: F401
