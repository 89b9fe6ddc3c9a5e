"""File names as scanners and browsers send them become safe, readable source names."""

from __future__ import annotations

import pytest

from ingest.validation import safe_source_name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Scan Oktober.pdf", "Scan Oktober.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Scans\\Stapel 1.tif", "Stapel 1.tif"),
        ("Ant\x00rag\x07\n.pdf", "Antrag.pdf"),
        ("Widerspruch Müller–Öztürk.pdf", "Widerspruch Müller–Öztürk.pdf"),
        ("", "unbenannt"),
        (None, "unbenannt"),
        ("..", "unbenannt"),
        ("x" * 300 + ".pdf", "x" * 200),
    ],
)
def test_source_names_lose_folders_and_control_characters(given: str | None, expected: str) -> None:
    assert safe_source_name(given) == expected
