"""The court's administrative file as a folder for the court's mailbox (issue 18, court18):
XJustiz 0005005 checked against the schemas, PDFs as stored, limits of the mailbox, refusals."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from core.db import transaction
from core.errors import InvalidInput
from records import court_folder, xjustiz
from records.models import AuditEvent, Document, FileExport, Note
from records.runtime import Runtime
from storage.base import read_bytes
from tests.support_court18 import XJUSTIZ_DIR, case_with_appeal, make_folder

NS = {"x": xjustiz.NS}


def _zips(runtime: Runtime, record: FileExport) -> list[zipfile.ZipFile]:
    return [
        zipfile.ZipFile(io.BytesIO(read_bytes(runtime.blobs, part["key"])))
        for part in record.parts or []
    ]


def _message(archive: zipfile.ZipFile) -> etree._Element:
    return etree.fromstring(archive.read("xjustiz_nachricht.xml"))


def _codes(root: etree._Element, path: str) -> list[str]:
    return [e.text for e in root.xpath(path + "/code", namespaces=NS)]


def test_court_folder_is_a_valid_0005005_with_classes_parts_scans_and_withheld(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    runtime = sqlite_runtime
    docs, appeal = case_with_appeal(runtime, tmp_path)
    record = make_folder(
        runtime,
        appeal,
        document_ids=[docs["decision"], docs["payslip"], docs["objection"], docs["court"]],
        withheld={docs["payslip"]: "Schutz Dritter (§ 25 Abs. 3 SGB X)"},
    )
    assert record.form == "xjustiz" and len(record.parts or []) == 1
    (archive,) = _zips(runtime, record)
    xml = archive.read("xjustiz_nachricht.xml")
    assert xjustiz.check_bytes(xml, XJUSTIZ_DIR) == []
    root = etree.fromstring(xml)
    assert etree.QName(root).localname == "nachricht.gds.uebermittlungSchriftgutobjekte.0005005"
    akte = root.find("x:schriftgutobjekte/x:akte", NS)
    assert _codes(akte, "x:xjustiz.fachspezifischeDaten/x:aktentyp") == ["018"]
    references = akte.xpath(".//x:aktenzeichen.freitext/text()", namespaces=NS)
    assert references == ["S 20 AS 54/26", "95401BG1231743"]
    court = root.find("x:nachrichtenkopf/x:auswahl_empfaenger/x:empfaenger.gericht", NS)
    assert court.get("listVersionID") == "3.6"  # the GDS.Gerichte.xml shipped
    documents = akte.findall(".//x:dokument", NS)
    data = [d.find("x:xjustiz.fachspezifischeDaten", NS) for d in documents]
    # In file order: decision (Bescheid), pay slip, court letter, objection.
    classes = [_codes(d, "x:dokumentklasse")[0] for d in data]
    ids = [d.findtext("x:identifikation/x:id", namespaces=NS) for d in documents]
    by_id = dict(zip(ids, zip(classes, data, strict=True), strict=True))
    assert by_id[docs["decision"]][0] == "017"
    assert by_id[docs["objection"]][0] == "018"
    assert by_id[docs["court"]][0] == "003"
    assert by_id[docs["payslip"]][0] == "001"
    assert {d.find("x:dokumentklasse", NS).get("listVersionID") for d in data} == {"1.4"}
    # akteneinsicht=false only on the withheld pay slip, which names no sender and no PDF.
    held = [ident for ident, (_, d) in by_id.items() if d.find("x:akteneinsicht", NS) is not None]
    assert held == [docs["payslip"]]
    assert by_id[docs["payslip"]][1].findtext("x:akteneinsicht", namespaces=NS) == "false"
    payslip = by_id[docs["payslip"]][1]
    assert payslip.find("x:absenderAnzeigename", NS) is None
    assert _codes(payslip, "x:datei/x:bestandteil") == ["001"]
    sheet = payslip.findtext("x:datei/x:dateiname", namespaces=NS)
    assert sheet.endswith("_Fehlblatt.pdf")
    # Every other document: its PDF (001) and its Transfervermerk (006) referring to it.
    objection = by_id[docs["objection"]][1]
    assert _codes(objection, "x:datei/x:bestandteil") == ["001", "006"]
    assert objection.findtext("x:scan/x:scanDatum", namespaces=NS)
    pdf_name = objection.findtext("x:datei/x:dateiname", namespaces=NS)
    assert objection.xpath("x:datei[2]/x:dateiname.bezugsdatei/text()", namespaces=NS) == [
        pdf_name
    ]
    # The sender's name folded into DIN 91379 (a character outside it is not refused).
    assert objection.findtext("x:absenderAnzeigename", namespaces=NS).startswith("Łukasz Nguy")
    # The PDFs are the stored renditions, byte for byte; the withheld one is not there.
    names = archive.namelist()
    with transaction(runtime.sessions, read_only=True) as session:
        for ident in (docs["decision"], docs["objection"], docs["court"]):
            document = session.get(Document, __import__("uuid").UUID(ident))
            name = by_id[ident][1].findtext("x:datei/x:dateiname", namespaces=NS)
            assert hashlib.sha256(archive.read(name)).hexdigest() == document.pdf_sha256
    assert b"Verdienstabrechnung Oktober" not in archive.read(sheet)
    assert len(names) == len(set(names)) == 1 + 3 * 2 + 1
    for name in names:
        assert court_folder.FILE_NAME.match(name), name
    assert sorted(names)[0].startswith("001_")
