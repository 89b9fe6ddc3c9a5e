"""Master-data drafts hold the raw CSV of every household: they are removed a set number of
days after they were applied (or uploaded and left), and the removal is audited (issue 17)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from core.db import transaction, utcnow
from records.housekeeping import DRAFTS_ACTION, prune_import_drafts
from records.models import AuditEvent, ImportDraft
from tests.support import cli_env, make_settings, migrated_sessions, run_cli

CSV = b"bg_nummer;name\n95401BG0000001;M\xc3\xbcller\n"


def add_draft(sessions, name: str, created_days_ago: int, applied_days_ago: int | None) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with transaction(sessions) as session:
        session.add(
            ImportDraft(
                kind="households",
                filename=name,
                content=CSV,
                sha256=hashlib.sha256(CSV).hexdigest(),
                created_at=now - timedelta(days=created_days_ago),
                applied_at=(
                    now - timedelta(days=applied_days_ago) if applied_days_ago is not None else None
                ),
            )
        )


def names(sessions) -> list[str]:  # type: ignore[no-untyped-def]
    with transaction(sessions, read_only=True) as session:
        return sorted(session.scalars(select(ImportDraft.filename)))


def test_applied_and_abandoned_drafts_go_after_their_period(
    database_url: str, tmp_path: Path
) -> None:
    engine, sessions = migrated_sessions(database_url)
    add_draft(sessions, "applied-long-ago.csv", 40, 30)
    add_draft(sessions, "applied-recently.csv", 40, 3)  # uploaded long ago, applied lately
    add_draft(sessions, "left-long-ago.csv", 30, None)
    add_draft(sessions, "preview-today.csv", 0, None)
    settings = make_settings(tmp_path / "data", database_url=database_url)
    assert settings.import_draft_keep_days == 14

    report = prune_import_drafts(sessions, settings)

    assert report.removed == 2
    assert names(sessions) == ["applied-recently.csv", "preview-today.csv"]
    with transaction(sessions, read_only=True) as session:
        audited = session.scalars(
            select(AuditEvent).where(AuditEvent.action == DRAFTS_ACTION)
        ).one()
        assert audited.details == {"removed": 2, "keep_days": 14}
    # Nothing due: nothing removed, no audit row.
    assert prune_import_drafts(sessions, settings).removed == 0
    engine.dispose()


def test_the_command_removes_the_drafts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'eakte.db'}"
    engine, sessions = migrated_sessions(url)
    add_draft(sessions, "applied-long-ago.csv", 40, 30)
    engine.dispose()
    env = cli_env(tmp_path / "cli-data", EAKTE_DATABASE_URL=url, EAKTE_IMPORT_DRAFT_KEEP_DAYS="7")
    result = run_cli(env, "records", "housekeeping", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 entfernt" in result.stdout and "nach 7 Tagen" in result.stdout
    assert names(migrated_sessions(url)[1]) == []


def test_serve_removes_the_drafts_in_its_housekeeping_round(tmp_path: Path) -> None:
    import threading

    from records.housekeeping import run_scheduled
    from storage import open_blob_store

    url = f"sqlite:///{tmp_path / 'eakte.db'}"
    engine, sessions = migrated_sessions(url)
    add_draft(sessions, "applied-long-ago.csv", 40, 30)
    settings = make_settings(tmp_path / "data", database_url=url)
    stop = threading.Event()
    stop.set()  # one round, then stop
    run_scheduled(sessions, settings, open_blob_store(settings), stop)
    assert names(sessions) == []
    engine.dispose()
