"""External programs: a missing program or language pack is the installation's fault, told to the
administration and waited out; a page the programs refuse is an unreadable page.

Real tesseract and poppler throughout: a language pack goes missing by pointing tesseract at a
tessdata folder without it (TESSDATA_PREFIX), a program by a PATH without it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select, update

from core.db import transaction, utcnow
from core.errors import Outcome, ToolUnavailable, UnreadablePage
from ingest.intake import accept_file
from ingest.ocr import ocr_page, rasterise_pdf_page
from ingest.programs import probe_tools, run_program
from ingest.textlayer import page_contents
from ingest.worker import run_one
from records.jobs import claim_next
from records.models import Document, DroppedPage, Job, ScanBatch
from records.runtime import Runtime
from tests.support import REPO, add_admin, client_for, sample, work_until_idle

TIMEOUT = 60


def _installed_tessdata() -> Path:
    env = {k: v for k, v in os.environ.items() if k != "TESSDATA_PREFIX"}
    listing = subprocess.run(
        ["tesseract", "--list-langs"], capture_output=True, text=True, check=True, env=env
    ).stdout
    found = re.search(r'"([^"]+)"', listing.splitlines()[0])
    assert found, listing
    return Path(found[1])


def _tessdata_with(folder: Path, *languages: str, configs: bool = True) -> Path:
    """A tessdata folder holding only these language packs (and, with configs, what tesseract
    needs to write a PDF)."""
    folder.mkdir(parents=True, exist_ok=True)
    installed = _installed_tessdata()
    if configs and not (folder / "configs").exists():
        shutil.copytree(installed / "configs", folder / "configs")
        shutil.copy(installed / "pdf.ttf", folder)
    for language in languages:
        shutil.copy(installed / f"{language}.traineddata", folder)
    return folder


@pytest.fixture
def without_eng(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tesseract as installed, but the English language pack (the default deu+eng) missing."""
    folder = _tessdata_with(tmp_path / "tessdata", "deu", "osd")
    monkeypatch.setenv("TESSDATA_PREFIX", str(folder))
    return folder


@pytest.fixture
def without_programs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.fixture
def letter_image(tmp_path: Path) -> Path:
    image = Image.new("L", (1200, 300), 255)
    ImageDraw.Draw(image).text((40, 120), "Widerspruch gegen den Bescheid", fill=0)
    path = tmp_path / "letter.png"
    image.save(path)
    return path


def test_a_language_pack_that_is_missing_is_a_configuration_error_not_an_unreadable_page(
    without_eng: Path, letter_image: Path, tmp_path: Path
) -> None:
    # tesseract itself reads on with German alone and says nothing but a warning.
    with pytest.raises(ToolUnavailable) as missing:
        ocr_page(letter_image, tmp_path / "ocr", "deu+eng", TIMEOUT, 200)
    assert not isinstance(missing.value, UnreadablePage)
    assert missing.value.outcome is Outcome.CONFIGURATION
    assert missing.value.details["missing_languages"] == ["eng"]
    assert "Sprachpakete eng" in missing.value.message
    # Only German asked for: read as usual.
    assert "Widerspruch" in ocr_page(letter_image, tmp_path / "ocr", "deu", TIMEOUT, 200).text


def test_a_tessdata_folder_without_what_a_pdf_needs_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, letter_image: Path
) -> None:
    folder = _tessdata_with(tmp_path / "td", "deu", "eng", "osd", configs=False)
    monkeypatch.setenv("TESSDATA_PREFIX", str(folder))
    with pytest.raises(ToolUnavailable, match="tessdata-Ordner ist unvollständig"):
        ocr_page(letter_image, tmp_path / "ocr", "deu+eng", TIMEOUT, 200)


def test_orientation_detection_without_its_data_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, letter_image: Path
) -> None:
    monkeypatch.setenv("TESSDATA_PREFIX", str(_tessdata_with(tmp_path / "td", "deu", "eng")))
    with pytest.raises(ToolUnavailable) as missing:
        run_program(["tesseract", str(letter_image), "stdout", "--psm", "0"], TIMEOUT)
    assert missing.value.details["missing_languages"] == ["osd"]


def test_a_missing_program_is_a_configuration_error(
    without_programs: None, letter_image: Path, tmp_path: Path
) -> None:
    with pytest.raises(ToolUnavailable, match="Das Programm tesseract fehlt"):
        ocr_page(letter_image, tmp_path / "ocr", "deu", TIMEOUT, 200)
    with pytest.raises(ToolUnavailable, match="fehlt oder lässt sich nicht starten"):
        rasterise_pdf_page(sample("docs/0001.pdf"), 1, 100, tmp_path / "page.pgm", TIMEOUT)
    with pytest.raises(ToolUnavailable, match="Das Programm pdfimages fehlt"):
        run_program(["pdfimages", "-list", str(sample("docs/0001.pdf"))], TIMEOUT)
    # Not "every page is a scan": the look into the PDF's pages could not even start.
    with pytest.raises(ToolUnavailable, match="Das Programm prlimit fehlt"):
        page_contents(sample("docs/0001.pdf"), TIMEOUT)


def test_a_page_the_programs_refuse_is_still_an_unreadable_page(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n kein Bild")
    with pytest.raises(UnreadablePage) as refused:
        ocr_page(broken, tmp_path / "ocr", "deu+eng", TIMEOUT, 200)
    assert refused.value.outcome is Outcome.PAGE
    with pytest.raises(UnreadablePage):
        run_program(["pdfimages", "-list", str(broken)], TIMEOUT)


def test_a_pdf_page_is_rasterised_in_grey_at_the_resolution_asked_for(tmp_path: Path) -> None:
    target = rasterise_pdf_page(sample("docs/0001.pdf"), 1, 100, tmp_path / "p-1.pgm", TIMEOUT)
    with Image.open(target) as page:
        assert page.mode == "L"
        assert abs(page.width - round(8.27 * 100)) <= 2  # A4 at 100 dpi
    with pytest.raises(UnreadablePage):
        rasterise_pdf_page(tmp_path / "p-1.pgm", 1, 100, tmp_path / "p-2.pgm", TIMEOUT)


def test_the_probe_names_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = probe_tools("deu+eng")
    assert installed.ok and installed.problems == []
    assert {"deu", "eng", "osd"} <= set(installed.languages)
    assert installed.tesseract and installed.poppler

    monkeypatch.setenv("TESSDATA_PREFIX", str(_tessdata_with(tmp_path / "td", "deu")))
    partial = probe_tools("deu+eng")
    assert not partial.ok
    assert partial.missing_languages == ["eng", "osd"]

    monkeypatch.setenv("PATH", str(tmp_path))
    nothing = probe_tools("deu+eng")
    assert not nothing.ok
    assert {"tesseract", "pdftoppm", "pdfimages", "pdftotext"} <= set(nothing.missing_programs)


def test_a_batch_waits_for_a_missing_language_pack_and_is_read_once_it_is_installed(
    sqlite_runtime: Runtime, without_eng: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = sqlite_runtime
    batch, _ = accept_file(runtime, sample("docs/0001.pdf"), "0001.pdf", None)
    with caplog.at_level(logging.INFO, logger="ingest"):
        # The worker says at start that OCR cannot run, and does not wait for the job to end.
        assert work_until_idle(runtime) == 1
    assert any(
        r.levelno == logging.ERROR and "Texterkennung nicht möglich" in r.getMessage()
        for r in caplog.records
    )
    with transaction(runtime.sessions) as session:
        job = session.scalars(select(Job)).one()
        stored = session.get(ScanBatch, batch.id)
        assert stored is not None
        # Not failed, no attempt used up, no page set aside as unreadable: the desk reads why.
        assert (job.state, job.attempts) == ("queued", 0)
        assert job.not_before > utcnow() + timedelta(seconds=60)
        assert "Sprachpakete eng" in (job.last_error or "")
        assert stored.status != "failed"
        assert "Die Verarbeitung wartet auf die Administration" in (stored.status_message or "")
        assert session.scalars(select(DroppedPage)).all() == []

    _tessdata_with(without_eng, "eng")  # the administration installs the pack
    with transaction(runtime.sessions) as session:
        session.execute(update(Job).values(not_before=utcnow()))  # its wait is over
    assert work_until_idle(runtime) == 1
    with transaction(runtime.sessions) as session:
        stored = session.get(ScanBatch, batch.id)
        assert stored is not None and stored.status == "processed"
        assert stored.status_message is None
        [document] = session.scalars(select(Document)).all()
        assert document.status == "processed"


def test_a_job_that_raises_gets_the_outcome_of_its_error(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
    batch, _ = accept_file(runtime, sample("docs/0001.pdf"), "0001.pdf", None)
    with transaction(runtime.sessions) as session:
        session.execute(update(Job).values(kind="gibt-es-nicht"))
    job = claim_next(runtime.sessions, "test", 60)
    assert job is not None
    assert run_one(runtime, job) is Outcome.PERMANENT
    with transaction(runtime.sessions) as session:
        assert session.get(Job, job.id).state == "failed"  # type: ignore[union-attr]


def test_health_reports_the_programs_to_the_administration(
    sqlite_runtime: Runtime, without_eng: Path
) -> None:
    add_admin(sqlite_runtime)
    answer = client_for(sqlite_runtime, "admin").get("/health")
    # A web app runs without OCR programs: the load balancer's status stays as it is.
    assert answer.status_code == 200
    tools = answer.json()["tools"]
    assert tools["ok"] is False
    assert tools["missing_languages"] == ["eng"]
    assert any("eng" in problem for problem in tools["problems"])
    assert "tools" not in client_for(sqlite_runtime).get("/health").json()


def test_the_child_that_looks_into_each_pdf_does_not_load_the_ocr_libraries() -> None:
    """It starts once per PDF; pytesseract would bring numpy with it (0.2 s each time)."""
    code = "import sys, ingest.textlayer; print('pytesseract' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip() == "False"
