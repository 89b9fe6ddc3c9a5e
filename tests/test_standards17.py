"""The xdomea schemas ship with the product unchanged (records/standards)."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
from lxml import etree

from core.config import REPO_DIR

SHIPPED = REPO_DIR / "records" / "standards" / "xdomea"
OFFICIAL = REPO_DIR.parent / "shared" / "standards" / "xdomea"


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.mark.skipif(not OFFICIAL.is_dir(), reason="no official copy beside the repository")
def test_shipped_schemas_equal_the_official_copy() -> None:
    assert _files(SHIPPED) == _files(OFFICIAL)
    for name in _files(OFFICIAL):
        assert filecmp.cmp(SHIPPED / name, OFFICIAL / name, shallow=False), name


def test_shipped_schema_compiles_with_its_licence_beside_it() -> None:
    assert (SHIPPED / "LICENSE-repository.md").is_file()
    schema = etree.XMLSchema(etree.parse(str(SHIPPED / "xdomea-3.0.0" / "xdomea.xsd")))
    message = etree.fromstring(
        b"<xdomea:Aussonderung.AnbietungEmpfangBestaetigen.0504 "
        b'xmlns:xdomea="urn:xoev-de:xdomea:schema:3.0.0"/>'
    )
    assert not schema.validate(message)  # a message without its head is refused
