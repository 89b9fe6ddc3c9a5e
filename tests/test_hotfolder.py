"""The hot folder: complete files are taken, bad ones quarantined with a reason, none lost."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ingest.hotfolder import HotFolder
from ingest.intake import accept_file
from records.db import transaction
from records.models import ScanBatch
from records.runtime import Runtime
from tests.support import sample


def batches(runtime: Runtime) -> list[tuple[str, str]]:
    with transaction(runtime.sessions) as session:
        return [(b.source_name, b.channel) for b in session.scalars(select(ScanBatch))]


def test_file_is_taken_only_once_it_stops_growing(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    folder = tmp_path / "scanner"
    folder.mkdir()
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    content = sample("docs/0003.pdf").read_bytes()
    target = folder / "Stapel 0815.pdf"
    target.write_bytes(content[: len(content) // 2])
    assert hot.scan_once() == []  # first sight: not known to be complete
    target.write_bytes(content)
    assert hot.scan_once() == []  # it grew: still being written
    assert hot.scan_once() == [(target, "accepted")]
    assert (folder / "erledigt" / "Stapel 0815.pdf").read_bytes() == content
    assert not target.exists()
    assert batches(sqlite_runtime) == [("Stapel 0815.pdf", "hotfolder")]


def test_unacceptable_file_is_quarantined_with_a_german_reason(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    folder = tmp_path / "scanner"
    folder.mkdir()
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    broken = sample("docs/0003.pdf").read_bytes()[:20_000]
    (folder / "kaputt.pdf").write_bytes(broken)
    (folder / "kaputt.pdf.part").write_bytes(b"still arriving")
    (folder / ".versteckt.pdf").write_bytes(b"%PDF-")
    hot.scan_once()
    assert hot.scan_once() == [(folder / "kaputt.pdf", "quarantined")]
    kept = folder / "quarantaene" / "kaputt.pdf"
    assert kept.read_bytes() == broken
    reason = (folder / "quarantaene" / "kaputt.pdf.grund.txt").read_text(encoding="utf-8")
    assert "Grund: Die PDF-Datei ist unvollständig (abgeschnitten)" in reason
    assert (folder / "kaputt.pdf.part").exists() and (folder / ".versteckt.pdf").exists()
    assert batches(sqlite_runtime) == []


def test_file_accepted_before_a_crash_is_not_handed_in_twice(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    folder = tmp_path / "scanner"
    folder.mkdir()
    scan = folder / "brief.pdf"
    scan.write_bytes(sample("docs/0005.pdf").read_bytes())
    # The watcher accepted the file and died before it could move it away.
    accept_file(sqlite_runtime, scan, scan.name, None, channel="hotfolder")
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    hot.scan_once()
    assert hot.scan_once() == [(scan, "accepted")]
    assert (folder / "erledigt" / "brief.pdf").exists()
    assert batches(sqlite_runtime) == [("brief.pdf", "hotfolder")]


def test_same_name_twice_keeps_both_files(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    folder = tmp_path / "scanner"
    folder.mkdir()
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    for source in ("docs/0006.pdf", "docs/0007.pdf"):
        (folder / "scan.pdf").write_bytes(sample(source).read_bytes())
        hot.scan_once()
        hot.scan_once()
    done = sorted(p.name for p in (folder / "erledigt").iterdir())
    assert done == ["scan-1.pdf", "scan.pdf"]
    assert len(batches(sqlite_runtime)) == 2
