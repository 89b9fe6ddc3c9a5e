"""The hot folder: complete files are taken, bad ones quarantined with a reason, none lost."""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import transaction
from ingest.hotfolder import HotFolder
from ingest.intake import accept_file
from records.models import ScanBatch
from records.runtime import Runtime
from tests.support import sample


def batches(runtime: Runtime) -> list[tuple[str, str]]:
    with transaction(runtime.sessions) as session:
        return [(b.source_name, b.channel) for b in session.scalars(select(ScanBatch))]


def _copy_sample(folder: Path, name: str, source: str) -> Path:
    """A copy of the sample `source` named `name` in `folder` (made if missing)."""
    folder.mkdir(exist_ok=True)
    copy = folder / name
    copy.write_bytes(sample(source).read_bytes())
    return copy


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
    scan = _copy_sample(folder, "brief.pdf", "docs/0005.pdf")
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


# --- nothing in the hot folder is followed through a link -------------------------------------


def scan_twice(hot: HotFolder) -> list[tuple[Path, str]]:
    """A file is taken on its second sighting (settle time 0)."""
    return hot.scan_once() + hot.scan_once()


def test_symbolic_link_to_a_stored_document_is_not_ingested(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    # Another household's letter, handed in at the desk and stored in the blob store.
    letter = _copy_sample(tmp_path, "brief.pdf", "docs/0004.pdf")
    batch, _job = accept_file(sqlite_runtime, letter, letter.name, None, channel="upload")
    stored = sqlite_runtime.settings.blob_dir / batch.original_key
    content, mode = stored.read_bytes(), stored.stat().st_mode
    folder = tmp_path / "scanner"
    folder.mkdir()
    (folder / "scan.pdf").symlink_to(stored)
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    assert scan_twice(hot) == [(folder / "scan.pdf", "refused")]
    assert batches(sqlite_runtime) == [("brief.pdf", "upload")]
    assert stored.read_bytes() == content and stored.stat().st_mode == mode
    # The link itself, unfollowed, waits in quarantine with a German reason.
    kept = folder / "quarantaene" / "scan.pdf"
    assert kept.is_symlink() and os.readlink(kept) == str(stored)
    reason = (folder / "quarantaene" / "scan.pdf.grund.txt").read_text(encoding="utf-8")
    assert "Grund: Der Eintrag ist eine symbolische Verknüpfung." in reason
    assert not (folder / "scan.pdf").is_symlink()


def test_hard_link_to_a_file_elsewhere_is_not_ingested(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    private = _copy_sample(tmp_path / "elsewhere", "fremd.pdf", "docs/0005.pdf")
    folder = tmp_path / "scanner"
    folder.mkdir()
    os.link(private, folder / "fremd.pdf")
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    assert scan_twice(hot) == [(folder / "fremd.pdf", "refused")]
    assert batches(sqlite_runtime) == []
    assert private.read_bytes() == sample("docs/0005.pdf").read_bytes()
    reason = (folder / "quarantaene" / "fremd.pdf.grund.txt").read_text(encoding="utf-8")
    assert "harte Verknüpfung" in reason


def test_link_named_like_a_reason_file_is_never_written_through(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    victim = tmp_path / "wichtig.txt"
    victim.write_text("unverändert\n", encoding="utf-8")
    folder = tmp_path / "scanner"
    (folder / "quarantaene").mkdir(parents=True)
    (folder / "quarantaene" / "kaputt.pdf.grund.txt").symlink_to(victim)
    (folder / "quarantaene" / "kaputt-1.pdf").symlink_to(victim)
    broken = sample("docs/0003.pdf").read_bytes()[:20_000]
    (folder / "kaputt.pdf").write_bytes(broken)
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    assert scan_twice(hot) == [(folder / "kaputt.pdf", "quarantined")]
    assert victim.read_text(encoding="utf-8") == "unverändert\n"
    # The scan and its reason take the first name pair that was free.
    assert (folder / "quarantaene" / "kaputt-2.pdf").read_bytes() == broken
    reason = (folder / "quarantaene" / "kaputt-2.pdf.grund.txt").read_text(encoding="utf-8")
    assert "Grund: Die PDF-Datei ist unvollständig" in reason
    assert not (folder / "quarantaene" / "kaputt-1.pdf.grund.txt").exists()


def test_done_folder_that_is_a_link_stops_the_hot_folder(
    sqlite_runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = tmp_path / "scanner"
    folder.mkdir()
    (folder / "erledigt").symlink_to(elsewhere)
    scan = _copy_sample(folder, "brief.pdf", "docs/0005.pdf")
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    with caplog.at_level(logging.ERROR, logger="ingest.hotfolder"):
        assert scan_twice(hot) == []
    assert list(elsewhere.iterdir()) == []
    assert scan.exists() and batches(sqlite_runtime) == []
    [message] = [r.getMessage() for r in caplog.records if r.name == "ingest.hotfolder"]
    assert "kein echter Ordner" in message


def test_pipe_is_refused_without_being_opened(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    folder = tmp_path / "scanner"
    folder.mkdir()
    os.mkfifo(folder / "scan.pdf")
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    outcome: list[list[tuple[Path, str]]] = []
    # Opening a pipe that nobody writes to would block the watcher for good.
    passes = threading.Thread(target=lambda: outcome.append(scan_twice(hot)), daemon=True)
    passes.start()
    passes.join(60)
    if passes.is_alive():  # unblock the watcher so that the test run can end
        os.close(os.open(folder / "scan.pdf", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("the hot folder blocked on a pipe")
    assert outcome == [[(folder / "scan.pdf", "refused")]]
    assert stat.S_ISFIFO((folder / "quarantaene" / "scan.pdf").lstat().st_mode)
    reason = (folder / "quarantaene" / "scan.pdf.grund.txt").read_text(encoding="utf-8")
    assert "keine gewöhnliche Datei" in reason
    assert batches(sqlite_runtime) == []


def test_newline_in_a_file_name_stays_on_one_log_line(
    sqlite_runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "scanner"
    folder.mkdir()
    name = "Stapel\nERROR ingest: Grund: alles gut.pdf"
    (folder / name).write_bytes(sample("docs/0003.pdf").read_bytes()[:20_000])
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    with caplog.at_level(logging.INFO, logger="ingest.hotfolder"):
        assert scan_twice(hot) == [(folder / name, "quarantined")]
    [message] = [r.getMessage() for r in caplog.records if r.name == "ingest.hotfolder"]
    assert "\n" not in message and "Stapel\\nERROR ingest" in message
    [kept] = [p for p in (folder / "quarantaene").iterdir() if not p.name.endswith(".grund.txt")]
    assert kept.name == "StapelERROR ingest: Grund: alles gut.pdf"
    reason = (folder / "quarantaene" / f"{kept.name}.grund.txt").read_text(encoding="utf-8")
    lines = reason.splitlines()
    assert len(lines) == 3 and lines[0] == "Datei: Stapel\\nERROR ingest: Grund: alles gut.pdf"
    assert lines[2].startswith("Grund: Die PDF-Datei ist unvollständig")


def test_overlong_name_is_quarantined_under_a_shorter_one(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    folder = tmp_path / "scanner"
    folder.mkdir()
    name = "Ä" * 124 + ".pdf"  # 252 bytes: no room left for ".grund.txt"
    (folder / name).write_bytes(b"kein Scan")
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    assert scan_twice(hot) == [(folder / name, "quarantined")]
    names = sorted(p.name for p in (folder / "quarantaene").iterdir())
    assert len(names) == 2 and all(len(n.encode()) <= 255 for n in names)
    assert names[0].startswith("ÄÄÄ") and names[0].endswith(".pdf")
    assert names[1] == names[0] + ".grund.txt"
    assert list(folder.glob("*.pdf")) == []


def test_done_folder_on_another_file_system_gets_a_copy_and_links_stay_put(
    sqlite_runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real_link = os.link

    def across_devices(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("dst_dir_fd") is not None:  # the hot folder's moves, not the blob store's
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        return real_link(*args, **kwargs)

    monkeypatch.setattr(os, "link", across_devices)
    folder = tmp_path / "scanner"
    folder.mkdir()
    content = sample("docs/0006.pdf").read_bytes()
    (folder / "brief.pdf").write_bytes(content)
    (folder / "verweis.pdf").symlink_to(tmp_path / "irgendwo.pdf")
    hot = HotFolder(sqlite_runtime, folder, settle_seconds=0)
    with caplog.at_level(logging.WARNING, logger="ingest.hotfolder"):
        assert sorted(scan_twice(hot)) == [
            (folder / "brief.pdf", "accepted"),
            (folder / "verweis.pdf", "refused"),
        ]
        assert scan_twice(hot) == []  # reported once
    assert (folder / "erledigt" / "brief.pdf").read_bytes() == content
    assert not (folder / "brief.pdf").exists()
    # A link cannot be copied without following it: it stays, and no reason file is left over.
    assert (folder / "verweis.pdf").is_symlink()
    assert list((folder / "quarantaene").iterdir()) == []
    [warning] = [r.getMessage() for r in caplog.records if r.name == "ingest.hotfolder"]
    assert "verweis.pdf refused (symbolic link) and left in place" in warning
