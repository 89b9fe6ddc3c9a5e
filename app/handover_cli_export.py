"""`eakte handover export` and the receiving side's answers (0402/0403): written by the
hand-over (issue 18)."""

from __future__ import annotations

from app.handover_cli import handover_app  # noqa: F401
