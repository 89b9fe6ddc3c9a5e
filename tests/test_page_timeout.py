"""A program that runs past its timeout on one page: that page is set aside as unreadable with
the reason, and the batch goes on (ingest.pipeline._read_page_safely). The runner turns the
timeout into ProgramTimeout, an UnreadablePage of the error family, so no separate catch of
TimeoutError is needed."""

from __future__ import annotations

from pathlib import Path

from ingest.pipeline import PageOutcome, _read_page_safely
from ingest.programs import run_program
from ingest.slots import PageSlots


def test_a_page_whose_program_times_out_is_set_aside_as_unreadable(tmp_path: Path) -> None:
    def read() -> PageOutcome:
        # A real program past a real timeout, as tesseract or pdftoppm on a pathological page.
        run_program(["sleep", "30"], 1)
        raise AssertionError("sleep 30 ended within its timeout of 1 s")

    outcome = _read_page_safely(read, 7, 300, PageSlots(tmp_path / "slots", 1), lambda: True)

    assert outcome.source_page == 7
    assert outcome.dropped == "unreadable"
    assert outcome.dpi == 300
    assert not outcome.oversize
    assert outcome.detail == "sleep lief länger als 1 s"
