"""The court's administrative file as a folder for the court's mailbox (issue 18, court18):
XJustiz 0005005 checked against the schemas, PDFs as stored, limits of the mailbox, refusals."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from core.db import transaction
from core.errors import InvalidInput
from records import court_folder, xjustiz
from records.models import Appeal, AuditEvent, Document, FileExport, Note
from records.runtime import Runtime
from records.xdomea_documents import pdfa_version
from storage.base import read_bytes
from tests.support import OWN, pages_client_for
from tests.support_court18 import XJUSTIZ_DIR, case_with_appeal, make_folder
from tests.support_pdf import failed_rules, verapdf

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
    runtime: Runtime, tmp_path: Path
) -> None:
    """On both backend sets: SQLite, local folder and embedded index; PostgreSQL, MinIO and
    OpenSearch (marked services)."""
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
    # A decision the job centre sent was never scanned paper: no scan date.
    assert by_id[docs["decision"]][1].find("x:scan", NS) is None
    pdf_name = objection.findtext("x:datei/x:dateiname", namespaces=NS)
    assert objection.xpath("x:datei[2]/x:dateiname.bezugsdatei/text()", namespaces=NS) == [pdf_name]
    # The sender's name folded into DIN 91379 (a character outside it is not refused).
    assert objection.findtext("x:absenderAnzeigename", namespaces=NS).startswith("Łukasz Nguy")
    # The PDFs are the stored renditions, byte for byte; the withheld one is not there.
    names = archive.namelist()
    with transaction(runtime.sessions, read_only=True) as session:
        for ident in (docs["decision"], docs["objection"], docs["court"]):
            document = session.get(Document, uuid.UUID(ident))
            name = by_id[ident][1].findtext("x:datei/x:dateiname", namespaces=NS)
            assert hashlib.sha256(archive.read(name)).hexdigest() == document.pdf_sha256
    assert b"Verdienstabrechnung Oktober" not in archive.read(sheet)
    assert len(names) == len(set(names)) == 1 + 3 * 2 + 1
    for name in names:
        assert court_folder.FILE_NAME.match(name), name
    assert sorted(names)[0].startswith("001_")


def _all_documents(runtime: Runtime, record: FileExport) -> list[tuple[int, int, str]]:
    """(part, of parts, document id) of every document in every part's message, checked."""
    found = []
    for archive in _zips(runtime, record):
        xml = archive.read("xjustiz_nachricht.xml")
        assert xjustiz.check_bytes(xml, XJUSTIZ_DIR) == []
        root = etree.fromstring(xml)
        process = root.find("x:nachrichtenkopf/x:nachrichtenuebergreifenderProzess", NS)
        number = int(process.findtext("x:nachrichtenNummer", namespaces=NS))
        count = int(process.findtext("x:nachrichtenAnzahl", namespaces=NS))
        listed = set()
        for document in root.iter(f"{{{xjustiz.NS}}}dokument"):
            found.append((number, count, document.findtext("x:identifikation/x:id", namespaces=NS)))
            listed.update(document.xpath(".//x:dateiname/text()", namespaces=NS))
        # Each part carries exactly the files its message names.
        assert set(archive.namelist()) == listed | {"xjustiz_nachricht.xml"}
    return found


def test_split_by_file_count_gives_numbered_parts_each_valid_together_complete(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    runtime = sqlite_runtime
    docs, appeal = case_with_appeal(runtime, tmp_path)
    everything = [docs["decision"], docs["payslip"], docs["objection"], docs["court"]]
    # Two documents of two files each, plus the XML, fit in five files.
    record = make_folder(runtime, appeal, document_ids=everything, max_files=5)
    parts = record.parts or []
    assert [p["name"].rsplit("_", 4)[1:] for p in parts] == [
        ["Teil", "01", "von", "02.zip"],
        ["Teil", "02", "von", "02.zip"],
    ]
    assert all(len(p["files"]) <= 5 for p in parts)
    found = _all_documents(runtime, record)
    assert [(n, m) for n, m, _ in found] == [(1, 2), (1, 2), (2, 2), (2, 2)]
    assert sorted(ident for _, _, ident in found) == sorted(everything)


def test_split_by_size_and_a_document_too_large_is_refused(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    runtime = sqlite_runtime
    docs, appeal = case_with_appeal(runtime, tmp_path)
    everything = [docs["decision"], docs["payslip"], docs["objection"], docs["court"]]
    (whole,) = _zips(runtime, make_folder(runtime, appeal, document_ids=everything))
    groups: dict[str, int] = {}
    for info in whole.infolist():
        if info.filename[:3].isdigit():
            groups[info.filename[:3]] = groups.get(info.filename[:3], 0) + info.file_size
    largest = max(groups.values())
    # Room for the largest document and a little more: not for all four.
    limit = court_folder.XML_RESERVE + 2 * court_folder.XML_PER_DOCUMENT + largest + 1
    assert limit < sum(groups.values())
    record = make_folder(runtime, appeal, document_ids=everything, max_bytes=limit)
    parts = record.parts or []
    assert len(parts) >= 2
    found = _all_documents(runtime, record)
    assert sorted(ident for _, _, ident in found) == sorted(everything)
    assert [n for n, _, _ in found] == sorted(n for n, _, _ in found)  # file order kept
    for archive in _zips(runtime, record):
        assert sum(info.file_size for info in archive.infolist()) <= limit

    with transaction(runtime.sessions, read_only=True) as session:
        before = session.scalar(select(func.count()).select_from(FileExport))
    with pytest.raises(InvalidInput) as refused:
        make_folder(runtime, appeal, document_ids=everything, max_bytes=limit - 2 - largest // 2)
    assert "zu groß für eine Nachricht an das Gericht" in refused.value.message
    with transaction(runtime.sessions, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(FileExport)) == before


def test_missing_schemas_and_an_unknown_court_are_refused_in_german_nothing_recorded(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    runtime = sqlite_runtime
    _docs, appeal = case_with_appeal(runtime, tmp_path)
    with pytest.raises(xjustiz.SchemasMissing) as missing:
        make_folder(runtime, appeal, xjustiz_dir=tmp_path / "nirgends")
    assert "EAKTE_XJUSTIZ_DIR" in missing.value.message
    assert "nicht mit dem Produkt ausgeliefert" in missing.value.message

    with transaction(runtime.sessions) as session:
        record = session.get(Appeal, appeal)
        record.court = "Sozialgericht  SCHLESWIG "  # case and spaces do not matter
    assert make_folder(runtime, appeal).form == "xjustiz"
    with transaction(runtime.sessions) as session:
        session.get(Appeal, appeal).court = "Sozialgericht Entenhausen"
    with pytest.raises(InvalidInput) as unknown:
        make_folder(runtime, appeal)
    assert "Sozialgericht Entenhausen" in unknown.value.message
    assert "Gericht laut XJustiz-Verzeichnis" in unknown.value.message
    with transaction(runtime.sessions, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(FileExport)) == 1
    # The court chosen from the list in the form instead; the appeal keeps its name.
    code = dict((name, code) for code, name in xjustiz.social_courts(XJUSTIZ_DIR))
    chosen = make_folder(runtime, appeal, court_code=code["Sozialgericht Schleswig"])
    (archive,) = _zips(runtime, chosen)
    root = _message(archive)
    assert _codes(root, "x:nachrichtenkopf/x:auswahl_empfaenger/x:empfaenger.gericht") == [
        code["Sozialgericht Schleswig"]
    ]
    with pytest.raises(InvalidInput):
        make_folder(runtime, appeal, court_code="Z9999")
    with transaction(runtime.sessions, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(FileExport)) == 2
        notes = select(func.count()).select_from(Note).where(Note.text.contains("XJustiz"))
        assert session.scalar(notes) == 2
        assert session.get(Appeal, appeal).court == "Sozialgericht Entenhausen"


def _valid_message() -> bytes:
    import uuid
    from datetime import UTC, date, datetime

    header = xjustiz.MessageHeader(
        message_id=str(uuid.uuid4()),
        process_id=str(uuid.uuid4()),
        file_id=str(uuid.uuid4()),
        created_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        job_centre="Jobcenter Kreis Nordfriesland",
        court_code=xjustiz.court_code(XJUSTIZ_DIR, "Sozialgericht Schleswig"),
        court_reference="S 20 AS 54/26",
        bg_number="95401BG1231743",
        file_title="Verwaltungsakte 95401BG1231743",
    )
    document = xjustiz.MessageDocument(
        id=str(uuid.uuid4()),
        number=1,
        doc_type="bescheid",
        title="1. Bescheid vom 10.10.2026",
        letter_date=date(2026, 10, 10),
        received_at=None,
        scanned_on=None,
        sender=None,
        files=(xjustiz.MessageFile("001_Bescheid_2026-10-10.pdf", "001"),),
    )
    return xjustiz.checked(xjustiz.build_message(header, [document], XJUSTIZ_DIR), XJUSTIZ_DIR)


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        # the file's type missing
        (lambda x: _drop(x, "aktentyp"), "erwartet wird: aktentyp"),
        (lambda x: _drop(x, "schriftgutobjekte"), "fehlt ein Pflichtelement"),
        # a part type the list does not have
        (lambda x: re.sub(rb"(<tns:bestandteil>\s*<code>)001", rb"\g<1>099", x),
         "kein zulässiger Wert"),
        # a document class the list does not have
        (lambda x: x.replace(b"<code>017</code>", b"<code>999</code>"),
         "kein Code der Liste GDS.Dokumentklasse"),
        # a court's code list version that is not the one shipped
        (lambda x: x.replace(b'listVersionID="3.6"', b'listVersionID="3.5"', 1),
         "ausgeliefert ist Version 3.6"),
        # an unknown court code
        (lambda x: x.replace(b"<code>X6078</code>", b"<code>Z9999</code>", 1),
         "kein Code der Liste GDS.Gerichte"),
        # akteneinsicht only as the schema fixes it
        (lambda x: re.sub(rb"(</tns:anzeigename>\s*)(<tns:datei>)",
                          rb"\1<tns:akteneinsicht>true</tns:akteneinsicht>\2", x),
         "festen Wert"),
        (lambda x: x[:-40], "kein wohlgeformtes XML"),
    ],
)  # fmt: skip
def test_broken_messages_are_refused_with_german_reasons(broken, reason: str) -> None:
    message = _valid_message()
    assert xjustiz.check_bytes(message, XJUSTIZ_DIR) == []
    changed = broken(message)
    assert changed != message
    problems = xjustiz.check_bytes(changed, XJUSTIZ_DIR)
    assert problems and any(reason in problem for problem in problems), problems
    if reason != "kein wohlgeformtes XML":  # the builder's own check refuses it as well
        with pytest.raises(xjustiz.MessageRefused) as refused:
            xjustiz.checked(etree.fromstring(changed), XJUSTIZ_DIR)
        assert "abgewiesen" in refused.value.message


def _drop(xml: bytes, name: str) -> bytes:
    root = etree.fromstring(xml)
    for element in list(root.iter(f"{{{xjustiz.NS}}}{name}")):
        element.getparent().remove(element)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def test_recorded_in_the_file_and_the_audit_log_and_parts_download(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    runtime = sqlite_runtime
    docs, appeal = case_with_appeal(runtime, tmp_path)
    record = make_folder(runtime, appeal)
    with transaction(runtime.sessions, read_only=True) as session:
        event = session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "export.created", AuditEvent.object_id == str(record.id)
            )
        )
        assert event.details["form"] == "xjustiz"
        assert event.details["parts"][0]["sha256"] == record.sha256
        note = session.scalar(select(Note).where(Note.text.contains("XJustiz")))
        assert f"Nr. {record.id}" in note.text and record.sha256 in note.text
    office = pages_client_for(runtime, "ws.1")
    page = office.get(f"/akte/95401BG1231743/aktenauszug/{record.id}/teil/1")
    assert page.status_code == 200, page.text[:3000]
    assert hashlib.sha256(page.content).hexdigest() == record.sha256
    assert "Teil_01_von_01.zip" in page.headers["content-disposition"]
    assert office.get(f"/akte/95401BG1231743/aktenauszug/{record.id}/teil/2").status_code == 404
    # The JSON API lists the folder with its parts and no PDF, and serves the same zip.
    listed = office.get("/api/households/95401BG1231743/exports").json()
    [entry] = [e for e in listed["exports"] if e["id"] == record.id]
    assert (entry["form"], entry["pdf_url"]) == ("xjustiz", None)
    [part] = entry["parts"]
    assert (part["number"], part["sha256"]) == (1, record.sha256)
    zipped = office.get(part["url"])
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    assert hashlib.sha256(zipped.content).hexdigest() == record.sha256
    assert "no-store" in zipped.headers["cache-control"]
    stranger = pages_client_for(runtime, "lsb.95403.1")
    assert stranger.get(f"/akte/95401BG1231743/aktenauszug/{record.id}/teil/1").status_code in (
        403,
        404,
    )


def test_the_page_offers_the_court_folder_for_an_appeal_and_lists_its_parts(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    runtime = sqlite_runtime
    docs, appeal = case_with_appeal(runtime, tmp_path)
    office = pages_client_for(runtime, "ws.1")
    address = f"/akte/{OWN}/aktenauszug?klage={appeal}"
    form = office.get(address).text
    assert "Ordner für das elektronische Gerichtspostfach (XJustiz)" in form
    # The social courts of GDS.Gerichte to choose from, should the appeal's name not be found.
    assert "Gericht laut XJustiz-Verzeichnis" in form and ">Landessozialgericht" in form
    assert (
        "Ordner für das elektronische Gerichtspostfach"
        not in office.get(f"/akte/{OWN}/aktenauszug").text
    )  # the whole file: no court, no folder
    sent = office.post(
        address,
        data={
            "scope": f"appeal:{appeal}",
            "form": "xjustiz",
            "recipient": "Sozialgericht Schleswig, Az. S 20 AS 54/26",
            "legal_basis": "sgg_104",
            "include": [docs["decision"], docs["court"], docs["objection"]],
        },
    )
    assert sent.status_code == 200, sent.text
    assert "Ordner für das Gerichtspostfach Nr." in sent.text
    links = re.findall(r'href="([^"]+/teil/\d+)"', sent.text)
    assert links and all(link.startswith(f"/akte/{OWN}/aktenauszug/") for link in links)
    part = office.get(links[0])
    assert part.status_code == 200 and part.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(part.content))
    assert xjustiz.check_bytes(archive.read("xjustiz_nachricht.xml"), XJUSTIZ_DIR) == []
    # The history names the form.
    assert "Ordner für das elektronische Gerichtspostfach (XJustiz)" in office.get(address).text

    # Without the schemas: refused at the form's field, in German, nothing recorded.
    runtime.settings.xjustiz_dir = tmp_path / "fehlt"
    refused = office.post(
        address,
        data={"scope": f"appeal:{appeal}", "form": "xjustiz", "include": [docs["court"]]},
    )
    assert refused.status_code == 422
    assert "EAKTE_XJUSTIZ_DIR" in refused.text and 'id="export-form-error"' in refused.text
    with transaction(runtime.sessions, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(FileExport)) == 1


def test_transfervermerk_and_fehlblatt_are_pdfa(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    verapdf()  # skips (fails in CI) before any work when veraPDF is missing
    runtime = sqlite_runtime
    docs, appeal = case_with_appeal(runtime, tmp_path)
    record = make_folder(
        runtime,
        appeal,
        document_ids=[docs["payslip"], docs["court"]],
        withheld={docs["payslip"]: "Schutz Dritter (§ 25 Abs. 3 SGB X)"},
    )
    (archive,) = _zips(runtime, record)
    made = [n for n in archive.namelist() if n.endswith(("_Transfervermerk.pdf", "_Fehlblatt.pdf"))]
    assert len(made) == 2
    for name in made:
        path = tmp_path / name
        path.write_bytes(archive.read(name))
        claimed = pdfa_version(path)
        assert claimed is not None, name
        flavour = claimed.removeprefix("PDF/A-")
        failed = failed_rules(flavour, path)[path.resolve()]
        assert failed == [], f"{name}: " + "\n".join(failed)


def test_every_part_of_a_court_folder_is_destroyed_with_the_file(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    from records.destruction import _file_work
    from records.models import Household

    runtime = sqlite_runtime
    docs, appeal = case_with_appeal(runtime, tmp_path)
    record = make_folder(runtime, appeal, document_ids=list(docs.values()), max_files=5)
    keys = [part["key"] for part in record.parts or []]
    assert len(keys) == 2
    with transaction(runtime.sessions, read_only=True) as session:
        household = session.scalar(select(Household).where(Household.bg_number == OWN))
        documents = list(session.scalars(select(Document).where(Document.household == household)))
        work = _file_work(session, household, documents)
    assert set(keys) <= set(work["blobs"])


def test_file_names_keep_to_the_mailbox_rules_for_any_title() -> None:
    from datetime import date

    titles = ["Änderungsbescheid (Kosten der Unterkunft) – Łódź/Ærø: " * 5, "", "§§ ///", "Ü"]
    names = []
    for number, title in enumerate(titles, 1):
        stem = court_folder.file_stem(number, title, date(2026, 10, 1))
        for name in (f"{stem}.pdf", f"{stem}_Transfervermerk.pdf", f"{stem}_Fehlblatt.pdf"):
            assert court_folder.FILE_NAME.match(name), name
            assert len(name) <= court_folder.MAX_NAME
            names.append(name)
    assert len(set(names)) == len(names)
    assert names[0].startswith("001_Aenderungsbescheid_Kosten_der_Unterkunft_Lodz_Aero_")
    assert names[0].endswith("_2026-10-01.pdf")
    assert names[3] == "002_Dokument_2026-10-01.pdf"
