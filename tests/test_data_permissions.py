"""The data directory is the product's alone: folders 0700, files 0600, stored blobs 0400,
whatever the umask of the shell that started it."""

from __future__ import annotations

import io
import logging
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.runtime import build_runtime
from core.errors import ConfigurationError
from ingest.intake import accept_file
from search.base import IndexedDocument
from storage.local import LocalBlobStore
from tests.support import make_settings, sample


@pytest.fixture
def shell_umask() -> Iterator[None]:
    """The umask of a usual login shell, which makes files 0644 and folders 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    """The permission bits of the folder and of everything in it, by path relative to it."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(top) / name
            found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def wrong_modes(root: Path) -> dict[str, str]:
    """Everything whose mode is not the private one it should have."""
    wrong = {}
    for name, mode in modes(root).items():
        path = root / name
        if path.is_dir():
            wanted = 0o700
        elif name.startswith("blobs/") and not Path(name).name.startswith((".write", ".incoming")):
            wanted = 0o400
        else:
            wanted = 0o600
        if mode != wanted:
            wrong[name] = oct(mode)
    return wrong


def fill(runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A stored scan with its job, and a document in the index."""
    scan = tmp_path / "brief.pdf"
    scan.write_bytes(sample("docs/0004.pdf").read_bytes())
    accept_file(runtime, scan, scan.name, None, channel="upload")
    runtime.index.index(
        IndexedDocument(
            document_id="d1",
            source_name="brief.pdf",
            received_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
            pages=["Widerspruch gegen den Bescheid"],
        )
    )


def test_new_data_directory_is_private_whatever_the_umask(
    shell_umask: None, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    runtime = build_runtime(make_settings(data))
    try:
        fill(runtime, tmp_path)
        found = modes(data)
        assert found["."] == 0o700
        assert found["eakte.db"] == 0o600
        assert any(name.startswith("index/") for name in found)
        stored = [n for n in found if n.startswith("blobs/originals/")]
        assert stored and all(found[n] in (0o400, 0o700) for n in stored)
        assert wrong_modes(data) == {}
    finally:
        runtime.close()
    assert wrong_modes(data) == {}  # the SQLite write-ahead log and shared memory included


def test_blob_store_keeps_objects_read_only_for_the_product_alone(
    shell_umask: None, tmp_path: Path
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("renditions/abc/a1/page-0001.jpg", io.BytesIO(b"page"))
    found = modes(tmp_path / "blobs")
    assert found["renditions/abc/a1/page-0001.jpg"] == 0o400
    assert found["renditions/abc/a1/page-0001.jpg.meta.json"] == 0o400
    assert found["."] == found["renditions"] == found["renditions/abc/a1"] == 0o700


def test_data_directory_left_open_by_an_earlier_version_is_repaired_at_start(
    shell_umask: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    runtime = build_runtime(make_settings(data))
    fill(runtime, tmp_path)
    runtime.close()
    # What the product left before it made its data private: 0755 folders, 0644 files,
    # 0444 blobs.
    (data / ".eakte-private").unlink()
    for name, _mode in modes(data).items():
        path = data / name
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o444 if name.startswith("blobs/") else 0o644)
    assert wrong_modes(data) != {}
    with caplog.at_level(logging.WARNING, logger="storage.permissions"):
        runtime = build_runtime(make_settings(data))
    runtime.close()
    assert wrong_modes(data) == {}
    [warning] = [r.getMessage() for r in caplog.records if r.name == "storage.permissions"]
    assert "made" in warning and "private" in warning
    # Once repaired, a file put in later with open modes is still behind the private folder,
    # and what lies directly in the data directory is checked at every start.
    (data / "eakte.db").chmod(0o644)
    build_runtime(make_settings(data)).close()
    assert modes(data)["eakte.db"] == 0o600


def test_data_directory_that_is_a_file_is_refused_in_german(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("kein Ordner")
    with pytest.raises(ConfigurationError) as refused:
        build_runtime(make_settings(data))
    assert refused.value.message == f"Der Datenordner {data} ist kein Ordner."


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another account")
def test_data_directory_of_another_account_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    os.chown(data, 65534, 65534)
    with pytest.raises(ConfigurationError) as refused:
        build_runtime(make_settings(data))
    assert "gehört nicht dem Benutzer, unter dem die E-Akte läuft" in refused.value.message
    assert not (data / "eakte.db").exists()
