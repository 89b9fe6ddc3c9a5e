"""Digital text is never rasterised and read again.

E-mail bodies and text attachments become pages with a real text layer, born-digital PDF pages
keep their text, and neither is OCR'd; images and scanned pages still are, page by page. OCR
is counted at the pipeline's one entry point (`ingest.pipeline.read_page`, wrapped so that the
real tesseract still runs) and in what the pages record (no OCR confidence).
"""

from __future__ import annotations

import io
import json
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pikepdf
import pytest
from fpdf import FPDF
from fpdf.enums import TextMode
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

import ingest.pipeline
from core.db import transaction
from ingest.email_pdf.convert import email_to_pdf
from ingest.email_pdf.parse import sender_address
from ingest.intake import original_key
from ingest.textlayer import PageContent, page_contents
from records.models import Document, InboxItem, Page
from records.runtime import Runtime
from storage import read_bytes
from tests.support import client_for, client_mail, digital_pdf, load_people, work_until_idle

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BG_NUMBER = "95403BG6577899"  # Stefan Koch, caseworker lsb.95403.1 (sample master data)
LETTER_LINES = [
    "Stadtwerke Nordfriesland GmbH",
    "Jahresabrechnung Fernwärme 2026 für Osterende 112",
    "Sehr geehrter Herr Koch, die Abschlagszahlung beträgt künftig 84,00 Euro.",
    "Guthaben aus der Abrechnung: 112,35 Euro, überwiesen auf Ihr Konto.",
]


class OcrCounter:
    """The pipeline's OCR entry point, counted; the real tesseract still reads every page."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = ingest.pipeline.read_page

        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(ingest.pipeline, "read_page", counted)


@pytest.fixture
def ocr(sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> OcrCounter:
    """The sample staff and households loaded, and the pipeline's OCR calls counted."""
    load_people(sqlite_runtime)
    return OcrCounter(monkeypatch)


def scan_image(lines: list[str]) -> Image.Image:
    """A page as a scanner delivers it: text only as pixels, 200 dpi gray."""
    image = Image.new("L", (1654, 2339), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 34)
    for number, line in enumerate(lines):
        draw.text((160, 240 + 70 * number), line, font=font, fill=0)
    return image


def scanned_pdf(pages: list[list[str]]) -> bytes:
    images = [scan_image(lines) for lines in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def ocr_layer_pdf(lines: list[str], tmp_path: Path) -> bytes:
    """A scan with an invisible text layer over it, as OCR programs write them."""
    image = tmp_path / "scan.png"
    scan_image(lines).save(image, dpi=(200, 200))
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVu", "", FONT)
    pdf.add_page()
    pdf.image(str(image), x=0, y=0, w=pdf.w, h=pdf.h)
    pdf.text_mode = TextMode.INVISIBLE
    pdf.set_font("DejaVu", "", 11)
    for number, line in enumerate(lines):
        pdf.text(60, 90 + 22 * number, line)
    return bytes(pdf.output())


def joined(*parts: bytes) -> bytes:
    out = pikepdf.new()
    opened = [pikepdf.open(io.BytesIO(part)) for part in parts]
    for document in opened:
        out.pages.extend(document.pages)
    buffer = io.BytesIO()
    out.save(buffer)
    for document in opened:
        document.close()
    return buffer.getvalue()


def long_text(pages: int) -> str:
    """About `pages` pages of a CSV export: 48 lines (a page's worth) of ~58 characters each."""
    rows = ["Datum;Verwendungszweck;Betrag;Saldo"]
    for number in range(pages * 48):
        rows.append(f"2026-{number % 12 + 1:02d}-{number % 28 + 1:02d};Buchung {number:06d};")
        rows[-1] += f"-{number % 500},{number % 100:02d};{10_000 - number},00 Euro Kontostand"
    return "\n".join(rows) + "\n"


def objection_mail(attachment: str, inline_image: bytes | None = None) -> EmailMessage:
    message = client_mail(
        "Stefan Koch <S.Koch@Example.ORG>",
        f"Unterlagen zur Bedarfsgemeinschaft {BG_NUMBER}",
        "Tue, 01 Dec 2026 09:30:00 +0100",
        "<html><head><script>document.location='https://evil.example/'</script>"
        "<style>p{color:red}</style></head><body>"
        "<p>Sehr geehrte Damen und Herren,</p>"
        f"<p>anbei die <b>Kontoumsätze</b> für meine Bedarfsgemeinschaft {BG_NUMBER}.</p>"
        "<p><img src='https://tracker.example/pixel.gif' alt='Logo'>"
        "<img src='cid:beleg@example'></p>"
        "<p>Mit freundlichen Grüßen<br>Stefan Koch, Osterende 112, 25938 Wyk auf Föhr</p>"
        "</body></html>",
        subtype="html",
    )
    if inline_image is not None:
        message.add_related(inline_image, "image", "png", cid="<beleg@example>")
    message.add_attachment(attachment, subtype="plain", filename="kontoumsaetze.txt")
    return message


def receipt_png() -> bytes:
    image = scan_image(["Quittung Nr. 4711", "Mietzahlung Dezember 2026", "Betrag 450,00 Euro"])
    buffer = io.BytesIO()
    image.crop((0, 0, 1654, 800)).save(buffer, "PNG", dpi=(200, 200))
    return buffer.getvalue()


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "check.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def upload(runtime: Runtime, name: str, data: bytes) -> list[Page]:
    desk = client_for(runtime, "post.1")
    handed_in = desk.post("/api/documents", files={"file": (name, data)})
    assert handed_in.status_code == 201, handed_in.text
    work_until_idle(runtime)
    batch = desk.get(f"/api/batches/{handed_in.json()['id']}").json()
    assert batch["status"] == "processed", batch
    with transaction(runtime.sessions) as session:
        pages = list(session.scalars(select(Page).order_by(Page.document_id, Page.number)))
        session.expunge_all()
    return pages


# --- e-mails ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_e_mail_text_is_taken_from_its_text_layer_and_found_with_no_ocr(
    sqlite_runtime: Runtime, ocr: OcrCounter, tmp_path: Path
) -> None:
    attachment = long_text(12)
    message = objection_mail(attachment, receipt_png())

    pages = upload(sqlite_runtime, "unterlagen.eml", bytes(message))

    # The e-mail page, the inline image, five pages of the attachment (summarised).
    assert len(pages) == 7
    image_page = pages[1]
    text_pages = [pages[0], *pages[2:]]
    assert all(page.confidence is None for page in text_pages)
    assert image_page.confidence is not None and "Quittung" in image_page.text
    assert ocr.calls == 1  # only the image was read by OCR
    body = text_pages[0].text
    assert f"anbei die Kontoumsätze für meine Bedarfsgemeinschaft {BG_NUMBER}." in body
    assert "evil.example" not in body and "color" not in body and "tracker" not in body
    assert "Buchung 000000;" in text_pages[1].text
    assert "weitere" in text_pages[5].text and "nicht dargestellt" in text_pages[5].text

    # Word boxes from the text layer, on the page image the viewer shows.
    blobs = sqlite_runtime.blobs
    words = json.loads(read_bytes(blobs, text_pages[0].words_key))
    [word] = [w for w in words if w["text"] == "Kontoumsätze"]
    assert 0 < word["left"] < word["left"] + word["width"] <= text_pages[0].width
    assert 0 < word["top"] < word["top"] + word["height"] <= text_pages[0].height

    # The caseworker finds the letter by a word of its body, the archive PDF holds the text.
    with transaction(sqlite_runtime.sessions) as session:
        [item] = session.scalars(select(InboxItem)).all()
        login = item.user.login if item.user else None
        document = session.get(Document, text_pages[0].document_id)
        pdf_key = document.pdf_key
    assert login == "lsb.95403.1"
    caseworker = client_for(sqlite_runtime, login)
    hits = caseworker.get("/api/search", params={"q": "Kontoumsätze"}).json()["hits"]
    assert [hit["page"] for hit in hits] == [1]
    archived = pdftotext(read_bytes(blobs, pdf_key), tmp_path)
    assert "Kontoumsätze" in archived and "Buchung 000001;" in archived

    # The attachment itself is kept whole, under the address printed on its last page.
    sha256 = text_pages[5].text.split("SHA-256")[1].split()[0].strip(").")
    assert read_bytes(blobs, original_key(sha256)) == attachment.encode()


def test_long_text_attachment_is_summarised_with_a_note_and_kept_whole(tmp_path: Path) -> None:
    attachment = long_text(250)
    assert 600_000 < len(attachment.encode()) < 720_000
    eml = tmp_path / "mail.eml"
    eml.write_bytes(bytes(objection_mail(attachment)))
    kept = tmp_path / "kept"
    kept.mkdir()

    summary = email_to_pdf(
        eml, tmp_path / "mail.pdf", text_attachment_pages=5, keep_dir=kept, max_pages=50
    )

    assert summary.pages == 1 + 5
    [entry] = summary.attachments
    assert entry.pages == 5 and entry.sha256 is not None
    assert entry.note.startswith("gekürzt: 5 von ") and entry.note.endswith(" Seiten dargestellt")
    assert (kept / entry.sha256).read_bytes() == attachment.encode()
    text = pdftotext((tmp_path / "mail.pdf").read_bytes(), tmp_path)
    flat = " ".join(text.split())
    assert "nicht dargestellt; das Original liegt als Anlage bei" in flat
    left_out = int(flat.split("… weitere ")[1].split()[0])
    assert 230 <= left_out <= 260
    assert f"SHA-256 {entry.sha256}" in flat
    # The e-mail page lists it as shortened, the first rows are there, the last are not.
    assert "kontoumsaetze.txt (Text, " in flat and "gekürzt: 5 von" in flat
    assert "Buchung 000000;" in flat and f"Buchung {250 * 48 - 1:06d};" not in flat
    # without a limit (as before) the same e-mail would be hundreds of pages
    assert email_to_pdf(eml, tmp_path / "all.pdf", max_pages=1000).pages > 200


def test_e_mail_pages_carry_real_text_in_an_embedded_font(tmp_path: Path) -> None:
    eml = tmp_path / "mail.eml"
    eml.write_bytes(bytes(objection_mail("Miete Januar: 450,00 €\nÄnderung ab März\n")))
    target = tmp_path / "mail.pdf"
    email_to_pdf(eml, target)
    assert [content.digital for content in page_contents(target)] == [True, True]
    fonts = subprocess.run(
        ["pdffonts", str(target)], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()[2:]
    assert fonts and all(" yes yes yes " in line for line in fonts)  # embedded, subset, unicode
    text = pdftotext(target.read_bytes(), tmp_path)
    assert "Miete Januar: 450,00 €" in text and "Änderung ab März" in text


def test_sender_address_is_the_from_address_in_lower_case(tmp_path: Path) -> None:
    eml = tmp_path / "mail.eml"
    eml.write_bytes(bytes(objection_mail("x")))
    assert sender_address(eml) == "s.koch@example.org"
    eml.write_bytes(
        b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <Juergen.Mueller@Beispiel.DE>\r\n"
        b"Date: Tue, 01 Dec 2026 09:30:00 +0100\r\nSubject: x\r\n\r\nText\r\n"
    )
    assert sender_address(eml) == "juergen.mueller@beispiel.de"
    eml.write_bytes(b"From: ohne Adresse\r\nDate: Tue, 01 Dec 2026\r\nTo: a@b.de\r\n\r\nText")
    assert sender_address(eml) is None
    eml.write_bytes(b"%PDF-1.7\n")
    assert sender_address(eml) is None


# --- PDFs -------------------------------------------------------------------------------------


def test_page_contents_tell_drawn_text_from_scans_and_ocr_layers(tmp_path: Path) -> None:
    path = tmp_path / "mixed.pdf"
    path.write_bytes(
        joined(
            digital_pdf([LETTER_LINES]),
            scanned_pdf([LETTER_LINES]),
            ocr_layer_pdf(LETTER_LINES, tmp_path),
        )
    )
    digital, scan, layered = page_contents(path)
    assert digital.digital and digital.image_share == 0
    assert not scan.digital and scan.image_share > 0.9 and scan.visible_text == 0
    assert not layered.digital and layered.hidden_text > 100 and layered.visible_text == 0


@pytest.mark.slow
def test_born_digital_pdf_keeps_its_text_with_no_ocr(
    sqlite_runtime: Runtime, ocr: OcrCounter, tmp_path: Path
) -> None:
    lines = [[f"{line} (Seite {number})" for line in LETTER_LINES] for number in (1, 2, 3)]

    pages = upload(sqlite_runtime, "abrechnung.pdf", digital_pdf(lines))

    assert ocr.calls == 0
    assert [page.text for page in pages] == ["\n".join(page) for page in lines]
    assert all(page.confidence is None and page.image_key for page in pages)
    with transaction(sqlite_runtime.sessions) as session:
        document = session.get(Document, pages[0].document_id)
        pdf_key = document.pdf_key
    archived = pdftotext(read_bytes(sqlite_runtime.blobs, pdf_key), tmp_path)
    assert "Guthaben aus der Abrechnung: 112,35 Euro" in archived


@pytest.mark.slow
def test_pdf_with_fonts_not_embedded_keeps_its_text_and_the_archive_embeds_one(
    sqlite_runtime: Runtime, ocr: OcrCounter, tmp_path: Path
) -> None:
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)  # one of the standard 14 fonts: never embedded
    for number, line in enumerate(["Kontoauszug Nr. 12/2026", "Gutschrift Miete 450,00 EUR"]):
        pdf.text(60, 90 + 22 * number, line)
    source = bytes(pdf.output())
    assert page_contents_of(source, tmp_path)[0].fonts_embedded is False

    [page] = upload(sqlite_runtime, "kontoauszug.pdf", source)

    assert ocr.calls == 0 and page.confidence is None
    assert " ".join(page.text.split()) == "Kontoauszug Nr. 12/2026 Gutschrift Miete 450,00 EUR"
    with transaction(sqlite_runtime.sessions) as session:
        pdf_key = session.get(Document, page.document_id).pdf_key
    archive = tmp_path / "archive.pdf"
    archive.write_bytes(read_bytes(sqlite_runtime.blobs, pdf_key))
    assert "Gutschrift Miete 450,00 EUR" in pdftotext(archive.read_bytes(), tmp_path)
    fonts = subprocess.run(
        ["pdffonts", str(archive)], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()[2:]
    assert fonts and all(" yes yes yes " in line for line in fonts)


def page_contents_of(data: bytes, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "contents.pdf"
    path.write_bytes(data)
    return page_contents(path)


@pytest.mark.slow
def test_scanned_pdf_and_one_with_an_ocr_layer_are_still_read_by_ocr(
    sqlite_runtime: Runtime, ocr: OcrCounter, tmp_path: Path
) -> None:
    data = joined(scanned_pdf([LETTER_LINES]), ocr_layer_pdf(LETTER_LINES, tmp_path))

    pages = upload(sqlite_runtime, "scan.pdf", data)

    assert ocr.calls == 2
    assert all(page.confidence is not None for page in pages)
    assert all("Jahresabrechnung" in page.text for page in pages)


@pytest.mark.slow
def test_mixed_pdf_is_decided_page_by_page(sqlite_runtime: Runtime, ocr: OcrCounter) -> None:
    scanned = ["Anlage: Quittung Nr. 4711", "Mietzahlung Dezember 2026", "Betrag 450,00 Euro"]
    data = joined(digital_pdf([LETTER_LINES]), scanned_pdf([scanned]), digital_pdf([scanned]))

    pages = upload(sqlite_runtime, "gemischt.pdf", data)

    assert ocr.calls == 1
    assert [page.confidence is None for page in pages] == [True, False, True]
    assert pages[0].text == "\n".join(LETTER_LINES)
    assert "Quittung" in pages[1].text and "Mietzahlung" in pages[1].text
    assert pages[2].text == "\n".join(scanned)


def test_a_pdf_that_cannot_be_looked_into_is_read_by_ocr(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(digital_pdf([LETTER_LINES])[:400])  # qpdf recovers an empty page
    assert not any(content.digital for content in page_contents(damaged))
    damaged.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    assert page_contents(damaged) == []
    assert ingest.pipeline._page_contents(damaged, 2, 60) == [PageContent(0, 0, 1.0)] * 2
